//! Model prices (L12, U4): LiteLLM's `model_prices_and_context_window.json`
//! read exactly as it ships, priced the way `litellm.cost_per_token` prices
//! it (docs/pricing.md lists every rule and every known difference).
//!
//! A key of the file is a model name, `@` and all. Effective dates, our
//! extension, live inside an entry (`"usagebook_model"` names the model the
//! entry is a dated price of, `"usagebook_effective_from"` the instant), so
//! they cannot collide with a real model name.
//!
//! A model the registry does not know is *unpriced*: flagged, never $0.

mod bundled;
mod cost;

pub use bundled::{build_snapshot, SOURCE as BUNDLED_SOURCE};
pub use cost::{Cost, CostItem};

use crate::error::{Error, Result};
use crate::usage::TokenUsage;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// One model's entry: every `*cost*` field of the file as a rate in USD,
/// plus what LiteLLM reads besides (provider, mode, tiered pricing).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelPrice {
    /// The key in the file.
    pub key: String,
    pub provider: Option<String>,
    pub mode: Option<String>,
    /// `field -> USD per unit`, e.g. `input_cost_per_token`.
    pub rates: HashMap<String, f64>,
    /// `tiered_pricing`: `(lo, hi, rates)` by prompt size.
    pub tiers: Vec<Tier>,
    /// `off_peak_pricing`, as given (DeepSeek); see docs/pricing.md.
    pub off_peak: Option<Value>,
    /// The numbers of `provider_specific_entry`: Anthropic's regional
    /// (`us: 1.1`) and `fast` multipliers.
    pub multipliers: HashMap<String, f64>,
    /// Effective from (epoch ms); `i64::MIN` = always.
    pub from_ms: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tier {
    pub lo: f64,
    pub hi: f64,
    pub rates: HashMap<String, f64>,
}

impl ModelPrice {
    pub fn rate(&self, field: &str) -> Option<f64> {
        self.rates.get(field).copied()
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceRegistry {
    /// By exact key: the entries of that model, sorted by `from_ms`.
    models: HashMap<String, Vec<ModelPrice>>,
    /// Lower-cased key -> exact key, for the case-insensitive fallback.
    folded: HashMap<String, String>,
}

/// Largest price of one unit (token, image, second, ...): $1,000,000. Any
/// count times it stays finite, so a cost is never infinite (and never
/// then clamped to $0).
pub const MAX_RATE_USD: f64 = 1e6;

fn rate_of(v: &Value, key: &str, field: &str) -> Result<Option<f64>> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.is_finite() && (0.0..=MAX_RATE_USD).contains(&f) => Ok(Some(f)),
            _ => Err(Error::invalid(format!(
                "price file: {key}.{field} must be a number from 0 to {MAX_RATE_USD:e}, got {n}"
            ))),
        },
        // LiteLLM's file has a few non-numeric `*cost*` fields (objects
        // keyed by size, strings); they are not rates and are not read.
        _ => Ok(None),
    }
}

/// The price fields LiteLLM's `get_model_info` keeps (its `ModelInfo`
/// type); every other field of an entry never affects its cost, so we do
/// not read it either. Keys ending `_above_<N>[k]_tokens[_batches]` are kept
/// too (see [`is_threshold_field`]).
const KEPT: &[&str] = &[
    "annotation_cost_per_page",
    "annotation_cost_per_page_batches",
    "cache_creation_input_token_cost",
    "cache_creation_input_token_cost_above_12hr",
    "cache_creation_input_token_cost_above_12hr_above_272k_tokens",
    "cache_creation_input_token_cost_above_12hr_above_272k_tokens_batches",
    "cache_creation_input_token_cost_above_12hr_above_272k_tokens_flex",
    "cache_creation_input_token_cost_above_12hr_above_272k_tokens_priority",
    "cache_creation_input_token_cost_above_12hr_above_272k_tokens_ultrafast",
    "cache_creation_input_token_cost_above_12hr_batches",
    "cache_creation_input_token_cost_above_12hr_flex",
    "cache_creation_input_token_cost_above_12hr_priority",
    "cache_creation_input_token_cost_above_12hr_ultrafast",
    "cache_creation_input_token_cost_above_1hr",
    "cache_creation_input_token_cost_above_200k_tokens",
    "cache_creation_input_token_cost_above_200k_tokens_batches",
    "cache_creation_input_token_cost_above_272k_tokens",
    "cache_creation_input_token_cost_above_272k_tokens_batches",
    "cache_creation_input_token_cost_above_272k_tokens_flex",
    "cache_creation_input_token_cost_above_272k_tokens_priority",
    "cache_creation_input_token_cost_above_272k_tokens_ultrafast",
    "cache_creation_input_token_cost_batches",
    "cache_creation_input_token_cost_flex",
    "cache_creation_input_token_cost_priority",
    "cache_creation_input_token_cost_ultrafast",
    "cache_read_input_audio_token_cost",
    "cache_read_input_audio_token_cost_batches",
    "cache_read_input_audio_token_cost_flex",
    "cache_read_input_audio_token_cost_priority",
    "cache_read_input_image_token_cost",
    "cache_read_input_token_cost",
    "cache_read_input_token_cost_above_200k_tokens",
    "cache_read_input_token_cost_above_200k_tokens_batches",
    "cache_read_input_token_cost_above_200k_tokens_priority",
    "cache_read_input_token_cost_above_272k_tokens",
    "cache_read_input_token_cost_above_272k_tokens_batches",
    "cache_read_input_token_cost_above_272k_tokens_flex",
    "cache_read_input_token_cost_above_272k_tokens_priority",
    "cache_read_input_token_cost_above_272k_tokens_ultrafast",
    "cache_read_input_token_cost_above_512k_tokens",
    "cache_read_input_token_cost_balanced",
    "cache_read_input_token_cost_batches",
    "cache_read_input_token_cost_flex",
    "cache_read_input_token_cost_priority",
    "cache_read_input_token_cost_ultrafast",
    "citation_cost_per_token",
    "cost_per_second",
    "explicit_cache_read_input_token_cost",
    "fedramp_uplift_multiplier",
    "google_maps_grounding_cost_per_query",
    "input_cost_per_audio_per_second",
    "input_cost_per_audio_token",
    "input_cost_per_audio_token_above_200k_tokens",
    "input_cost_per_audio_token_above_200k_tokens_batches",
    "input_cost_per_audio_token_above_200k_tokens_flex",
    "input_cost_per_audio_token_above_200k_tokens_priority",
    "input_cost_per_audio_token_batches",
    "input_cost_per_audio_token_flex",
    "input_cost_per_audio_token_priority",
    "input_cost_per_character",
    "input_cost_per_image",
    "input_cost_per_image_token",
    "input_cost_per_image_token_batches",
    "input_cost_per_query",
    "input_cost_per_second",
    "input_cost_per_text_message",
    "input_cost_per_token",
    "input_cost_per_token_above_128k_tokens",
    "input_cost_per_token_above_200k_tokens",
    "input_cost_per_token_above_200k_tokens_batches",
    "input_cost_per_token_above_200k_tokens_flex",
    "input_cost_per_token_above_200k_tokens_priority",
    "input_cost_per_token_above_272k_tokens",
    "input_cost_per_token_above_272k_tokens_batches",
    "input_cost_per_token_above_272k_tokens_flex",
    "input_cost_per_token_above_272k_tokens_priority",
    "input_cost_per_token_above_272k_tokens_ultrafast",
    "input_cost_per_token_above_512k_tokens",
    "input_cost_per_token_balanced",
    "input_cost_per_token_batches",
    "input_cost_per_token_flex",
    "input_cost_per_token_priority",
    "input_cost_per_token_ultrafast",
    "input_cost_per_video_per_second",
    "input_cost_per_video_token",
    "input_cost_per_video_token_batches",
    "ocr_cost_per_credit",
    "ocr_cost_per_page",
    "ocr_cost_per_page_batches",
    "output_cost_per_audio_token",
    "output_cost_per_character",
    "output_cost_per_character_above_128k_tokens",
    "output_cost_per_image",
    "output_cost_per_image_1K",
    "output_cost_per_image_2K",
    "output_cost_per_image_token",
    "output_cost_per_image_token_batches",
    "output_cost_per_image_token_priority",
    "output_cost_per_pixel",
    "output_cost_per_reasoning_token",
    "output_cost_per_reasoning_token_flex",
    "output_cost_per_reasoning_token_priority",
    "output_cost_per_second",
    "output_cost_per_second_1080p",
    "output_cost_per_second_2k",
    "output_cost_per_second_480p",
    "output_cost_per_second_4k",
    "output_cost_per_second_720p",
    "output_cost_per_second_768p",
    "output_cost_per_token",
    "output_cost_per_token_above_128k_tokens",
    "output_cost_per_token_above_200k_tokens",
    "output_cost_per_token_above_200k_tokens_batches",
    "output_cost_per_token_above_200k_tokens_flex",
    "output_cost_per_token_above_200k_tokens_priority",
    "output_cost_per_token_above_272k_tokens",
    "output_cost_per_token_above_272k_tokens_batches",
    "output_cost_per_token_above_272k_tokens_flex",
    "output_cost_per_token_above_272k_tokens_priority",
    "output_cost_per_token_above_272k_tokens_ultrafast",
    "output_cost_per_token_above_512k_tokens",
    "output_cost_per_token_balanced",
    "output_cost_per_token_batches",
    "output_cost_per_token_flex",
    "output_cost_per_token_priority",
    "output_cost_per_token_ultrafast",
    "output_cost_per_video_per_second",
    "output_cost_per_video_token",
    "regional_endpoint_uplift_multiplier",
    "regional_processing_uplift_multiplier_eu",
    "regional_processing_uplift_multiplier_us",
    "search_context_cost_per_query",
    "search_queries_cost_per_query",
];

/// `..._above_<digits>[k]_tokens` or `..._above_<digits>[k]_tokens_batches`.
fn is_threshold_field(field: &str) -> bool {
    let f = field.strip_suffix("_batches").unwrap_or(field);
    let Some(f) = f.strip_suffix("_tokens") else {
        return false;
    };
    let Some(pos) = f.rfind("_above_") else {
        return false;
    };
    let n = &f[pos + 7..];
    let n = n.strip_suffix('k').unwrap_or(n);
    !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
}

fn is_rate_field(field: &str) -> bool {
    KEPT.contains(&field) || is_threshold_field(field)
}

fn rates_of(o: &Map<String, Value>, key: &str) -> Result<HashMap<String, f64>> {
    let mut rates = HashMap::new();
    for (field, v) in o {
        if is_rate_field(field) || field.starts_with("usagebook_") && field.contains("cost") {
            if let Some(r) = rate_of(v, key, field)? {
                rates.insert(field.clone(), r);
            }
        }
    }
    Ok(rates)
}

fn parse_entry(key: &str, spec: &Map<String, Value>) -> Result<(String, ModelPrice)> {
    let str_field = |f: &str| spec.get(f).and_then(Value::as_str).map(str::to_string);
    // `tiered_pricing` by prompt size; LiteLLM reads only entries with a
    // `[lo, hi]` token range (other lists, e.g. per-query search tiers, are
    // not token tiers and are skipped as LiteLLM skips them).
    let mut tiers = Vec::new();
    if let Some(list) = spec.get("tiered_pricing").and_then(Value::as_array) {
        for item in list {
            let Some(o) = item.as_object() else { continue };
            let range = o.get("range").and_then(Value::as_array);
            let bound = |j: usize| range.and_then(|r| r.get(j)).and_then(Value::as_f64);
            if let (Some(lo), Some(hi)) = (bound(0), bound(1)) {
                let mut rates = HashMap::new();
                for (field, v) in o {
                    if field != "range" {
                        if let Some(r) = rate_of(v, key, field)? {
                            rates.insert(field.clone(), r);
                        }
                    }
                }
                tiers.push(Tier { lo, hi, rates });
            }
        }
    }
    let model = str_field("usagebook_model").unwrap_or_else(|| key.to_string());
    let from_ms = match spec.get("usagebook_effective_from") {
        None | Some(Value::Null) => i64::MIN,
        Some(Value::String(s)) => {
            let full = if s.len() == 10 {
                format!("{s}T00:00:00Z")
            } else {
                s.clone()
            };
            crate::timefmt::parse_iso_ms(&full).ok_or_else(|| {
                Error::invalid(format!(
                    "price file: {key}.usagebook_effective_from: {s:?} is not an RFC 3339 date"
                ))
            })?
        }
        Some(v) => {
            return Err(Error::invalid(format!(
            "price file: {key}.usagebook_effective_from must be an RFC 3339 date string, got {v}"
        )))
        }
    };
    Ok((
        model,
        ModelPrice {
            key: key.to_string(),
            provider: str_field("litellm_provider"),
            mode: str_field("mode"),
            rates: rates_of(spec, key)?,
            tiers,
            off_peak: off_peak_of(spec, key)?,
            multipliers: multipliers_of(spec, key)?,
            from_ms,
        },
    ))
}

/// `off_peak_pricing`, its rates checked as every other rate (LiteLLM also
/// reads numeric strings: they must parse to a valid rate too).
fn off_peak_of(spec: &Map<String, Value>, key: &str) -> Result<Option<Value>> {
    let Some(op) = spec.get("off_peak_pricing").and_then(Value::as_object) else {
        return Ok(None);
    };
    for (field, v) in op {
        if !field.contains("cost") {
            continue;
        }
        let x = match v {
            Value::String(t) => t
                .trim()
                .parse::<f64>()
                .ok()
                .map(Value::from)
                .unwrap_or(Value::Null),
            other => other.clone(),
        };
        if v.is_string() && x.is_null() {
            return Err(Error::invalid(format!(
                "price file: {key}.off_peak_pricing.{field} must be a number, got {v}"
            )));
        }
        rate_of(&x, key, &format!("off_peak_pricing.{field}"))?;
    }
    Ok(Some(Value::Object(op.clone())))
}

/// `provider_specific_entry`'s numbers (multipliers): finite, 0 to 1000.
fn multipliers_of(spec: &Map<String, Value>, key: &str) -> Result<HashMap<String, f64>> {
    let mut out = HashMap::new();
    let Some(m) = spec
        .get("provider_specific_entry")
        .and_then(Value::as_object)
    else {
        return Ok(out);
    };
    for (k, v) in m {
        let Some(x) = v.as_f64() else { continue };
        if !(x.is_finite() && (0.0..=1000.0).contains(&x)) {
            return Err(Error::invalid(format!(
                "price file: {key}.provider_specific_entry.{k} must be a multiplier from 0 to 1000, got {v}"
            )));
        }
        out.insert(k.clone(), x);
    }
    Ok(out)
}

impl PriceRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// The prices bundled with this build (a pinned copy of LiteLLM's map,
    /// see core/prices/SOURCE), parsed once per process.
    pub fn bundled() -> Arc<PriceRegistry> {
        bundled::registry()
    }

    /// Adds (or replaces, same model and instant) one entry.
    pub fn insert(&mut self, model: &str, price: ModelPrice) {
        let v = self.models.entry(model.to_string()).or_default();
        v.retain(|p| p.from_ms != price.from_ms);
        v.push(price);
        v.sort_by_key(|p| p.from_ms);
        // As LiteLLM's lower-cased map: on equal lower-cased keys the later
        // key of the file wins.
        self.folded.insert(model.to_lowercase(), model.to_string());
    }

    pub fn from_litellm_json(text: &str) -> Result<Self> {
        let v: Value = serde_json::from_str(text)
            .map_err(|e| Error::invalid(format!("price file is not valid JSON: {e}")))?;
        Self::from_litellm_value(&v)
    }

    pub fn from_litellm_value(v: &Value) -> Result<Self> {
        let obj = v
            .as_object()
            .ok_or_else(|| Error::invalid("price file must be a JSON object keyed by model"))?;
        let mut reg = PriceRegistry::new();
        for (key, spec) in obj {
            if key == "sample_spec" {
                continue;
            }
            let Some(spec) = spec.as_object() else {
                continue;
            };
            let (model, price) = parse_entry(key, spec)?;
            reg.insert(&model, price);
        }
        Ok(reg)
    }

    pub fn load_file(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading price file {}", path.display()), e))?;
        Self::from_litellm_json(&text)
    }

    /// This registry with `over`'s entries added; a model in both takes
    /// `over`'s entries (a user's `prices=` overrides the bundled map).
    pub fn overlaid(&self, over: &PriceRegistry) -> PriceRegistry {
        let mut out = self.clone();
        for (model, entries) in &over.models {
            out.models.insert(model.clone(), entries.clone());
            out.folded.insert(model.to_lowercase(), model.clone());
        }
        out
    }

    pub fn len(&self) -> usize {
        self.models.len()
    }

    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }

    fn at(&self, name: &str, ts_ms: i64) -> Option<&ModelPrice> {
        let v = self.models.get(name)?;
        v.iter().rev().find(|p| p.from_ms <= ts_ms)
    }

    /// The exact key, else the key equal ignoring case.
    fn key_of(&self, name: &str) -> Option<&str> {
        if self.models.contains_key(name) {
            return self.models.get_key_value(name).map(|(k, _)| k.as_str());
        }
        self.folded.get(&name.to_lowercase()).map(String::as_str)
    }

    /// The entry in force at `ts_ms` for a call to `model` through
    /// `provider`, found the way `litellm.cost_per_token` finds it
    /// (docs/pricing.md): `provider/model` before the bare name, the bare
    /// name only when its `litellm_provider` matches, then the name without
    /// a dated suffix; each exactly and then ignoring case. Without a
    /// provider, the first path segment of `model` is taken as one.
    pub fn lookup(&self, provider: Option<&str>, model: &str, ts_ms: i64) -> Option<&ModelPrice> {
        let provider = provider.filter(|p| !p.is_empty());
        let Some(p) = provider else {
            // No provider: the name as given, then without a provider prefix.
            for name in [Some(model), model.split_once('/').map(|(_, m)| m)]
                .into_iter()
                .flatten()
            {
                if let Some(k) = self.key_of(name) {
                    return self.at(k, ts_ms);
                }
            }
            return None;
        };
        let mut model = model;
        let dup = format!("{p}/");
        while model.starts_with(&dup) && model[dup.len()..].starts_with(&dup) {
            model = &model[dup.len()..];
        }
        // cost_per_token's own pick of the name among exact keys.
        let with_provider = if model.starts_with(&dup) {
            model.to_string()
        } else {
            format!("{p}/{model}")
        };
        let picked: String = if self.models.contains_key(&with_provider) {
            with_provider
        } else if self.models.contains_key(model) {
            model.to_string()
        } else if let Some((_, rest)) = model
            .split_once('/')
            .filter(|(_, r)| self.models.contains_key(*r))
        {
            rest.to_string()
        } else {
            model.to_string()
        };
        // get_model_info's candidates, each checked against the provider.
        let candidates: Vec<String> = match picked.strip_prefix(&dup) {
            Some(split) => {
                let stripped = strip_version(split, p);
                vec![
                    picked.clone(),
                    split.to_string(),
                    format!("{p}/{stripped}"),
                    stripped,
                    format!("{p}/{picked}"),
                ]
            }
            None => {
                let stripped = strip_version(&picked, p);
                vec![
                    format!("{p}/{picked}"),
                    picked.clone(),
                    format!("{p}/{stripped}"),
                    stripped,
                ]
            }
        };
        for c in &candidates {
            if let Some(k) = self.key_of(c) {
                if let Some(e) = self.at(k, ts_ms) {
                    if provider_matches(e.provider.as_deref(), p) {
                        return Some(e);
                    }
                }
            }
        }
        None
    }

    /// Prices one call's usage (U4). `priced` is false when no entry was
    /// found: the cost is then unknown, never $0.
    pub fn cost(
        &self,
        provider: Option<&str>,
        model: &str,
        usage: &TokenUsage,
        ts_ms: i64,
    ) -> Cost {
        self.cost_of_calls(provider, model, usage, 1, ts_ms)
    }

    /// The cost of `calls` calls whose usage is summed in `usage` (a
    /// tracker's hourly history): billed as [`PriceRegistry::cost`] bills
    /// one call, with context thresholds and tiers chosen by the average
    /// call. Exact when every call is on the same side of each threshold
    /// (always for models without context prices).
    pub fn cost_of_calls(
        &self,
        provider: Option<&str>,
        model: &str,
        usage: &TokenUsage,
        calls: u64,
        ts_ms: i64,
    ) -> Cost {
        let provider = provider.filter(|p| !p.is_empty()).map(str::to_lowercase);
        match self.lookup(provider.as_deref(), model, ts_ms) {
            Some(p) => {
                // The provider decides the formula (LiteLLM dispatches on it);
                // without one, the entry's own.
                let via = provider.as_deref().or(p.provider.as_deref());
                cost::price(p, via, usage, calls, ts_ms)
            }
            None => Cost::unpriced(),
        }
    }
}

/// LiteLLM's name stripping: a dated `-YYYY-MM-DD` suffix, or `-N` for
/// Vertex, Gemini and Databricks, or the fine-tune suffix of `ft:` names.
fn strip_version(name: &str, provider: &str) -> String {
    let b = name.as_bytes();
    if matches!(provider, "vertex_ai" | "gemini" | "databricks") {
        let digits = b.iter().rev().take_while(|c| c.is_ascii_digit()).count();
        if digits > 0 && b.len() > digits && b[b.len() - digits - 1] == b'-' {
            return name[..b.len() - digits - 1].to_string();
        }
        return name.to_string();
    }
    if matches!(provider, "bedrock" | "bedrock_converse") {
        return name.to_string();
    }
    if name.contains("ft:") {
        // Drop the last three `:segment`s.
        let mut end = name.len();
        for _ in 0..3 {
            match name[..end].rfind(':') {
                Some(i) => end = i,
                None => return name.to_string(),
            }
        }
        return name[..end].to_string();
    }
    let n = b.len();
    let dated = n > 11
        && b[n - 11] == b'-'
        && b[n - 6] == b'-'
        && b[n - 3] == b'-'
        && [1, 2, 3, 4, 6, 7, 9, 10]
            .iter()
            .all(|&i| b[n - 11 + i].is_ascii_digit());
    if dated {
        name[..n - 11].to_string()
    } else {
        name.to_string()
    }
}

/// LiteLLM's check that an entry belongs to the caller's provider.
fn provider_matches(entry: Option<&str>, p: &str) -> bool {
    let Some(e) = entry else { return true };
    e == p
        || (p == "vertex_ai" && e.starts_with("vertex_ai"))
        || (p == "fireworks_ai" && e.starts_with("fireworks_ai"))
        || (p.starts_with("bedrock") && e.starts_with("bedrock"))
        || matches!(p, "litellm_proxy" | "github" | "nadir")
        || (p == "azure_ai" && matches!(e, "azure" | "openai"))
}

/// The price function on its own, as every binding exposes it (U4):
/// `usage` in any shape [`TokenUsage::read`] knows (a whole response too,
/// whose `model` is used when `model` is empty); `prices` = `None` for the
/// bundled snapshot. An unrecognised usage is an error, never $0.
pub fn cost_of_value(
    model: &str,
    usage: &Value,
    provider: Option<&str>,
    prices: Option<&PriceRegistry>,
    ts_ms: i64,
) -> Result<Cost> {
    let read = TokenUsage::read(usage)?;
    let model = if model.is_empty() {
        read.model.clone().ok_or_else(|| {
            Error::invalid(
                "model must be a non-empty string (or pass a whole response with its model)",
            )
        })?
    } else {
        model.to_string()
    };
    let bundled;
    let reg = match prices {
        Some(p) => p,
        None => {
            bundled = PriceRegistry::bundled();
            &bundled
        }
    };
    Ok(reg.cost(provider, &model, &read.usage, ts_ms))
}

/// [`cost_of_value`] over JSON text, for the C ABI and the CLI: the
/// result as `{"usd", "priced", "model", "items": [...]}`.
pub fn cost_json(
    model: &str,
    usage_json: &str,
    provider: Option<&str>,
    prices_json: Option<&str>,
    ts_ms: i64,
) -> Result<String> {
    let usage: Value = serde_json::from_str(usage_json)
        .map_err(|e| Error::invalid(format!("usage is not valid JSON: {e}")))?;
    let own = prices_json
        .map(|p| PriceRegistry::from_litellm_json(p).map(|r| PriceRegistry::bundled().overlaid(&r)))
        .transpose()?;
    let c = cost_of_value(model, &usage, provider, own.as_ref(), ts_ms)?;
    Ok(c.to_json().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Entries written like LiteLLM's file (FORMATS-EXTERNAL.md §4).
    fn sample() -> PriceRegistry {
        PriceRegistry::from_litellm_value(&json!({
            "sample_spec": {"input_cost_per_token": 0, "litellm_provider": "one of ..."},
            "gpt-4o": {"input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05,
                "cache_read_input_token_cost": 1.25e-06, "input_cost_per_token_priority": 4.25e-06,
                "output_cost_per_token_priority": 1.7e-05, "litellm_provider": "openai", "mode": "chat"},
            "azure/gpt-4o": {"input_cost_per_token": 2.75e-06, "output_cost_per_token": 1.1e-05,
                "litellm_provider": "azure", "mode": "chat"},
            "claude-sonnet-4-5": {"input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
                "cache_creation_input_token_cost": 3.75e-06, "cache_creation_input_token_cost_above_1hr": 6e-06,
                "cache_read_input_token_cost": 3e-07,
                "input_cost_per_token_above_200k_tokens": 6e-06, "output_cost_per_token_above_200k_tokens": 2.25e-05,
                "litellm_provider": "anthropic", "mode": "chat"},
            "vertex_ai/claude-sonnet-4-5@20250929": {"input_cost_per_token": 3.3e-06,
                "output_cost_per_token": 1.65e-05, "litellm_provider": "vertex_ai-anthropic_models", "mode": "chat"},
            "o3": {"input_cost_per_token": 2e-06, "output_cost_per_token": 8e-06,
                "output_cost_per_reasoning_token": 4e-06, "litellm_provider": "openai", "mode": "chat"},
            "qwen-plus": {"input_cost_per_token": 4e-07, "output_cost_per_token": 1.2e-06,
                "tiered_pricing": [
                    {"input_cost_per_token": 4e-07, "output_cost_per_token": 1.2e-06, "range": [0, 256000.0]},
                    {"input_cost_per_token": 1.2e-06, "output_cost_per_token": 3.6e-06, "range": [256000.0, 1000000.0]}],
                "litellm_provider": "openrouter", "mode": "chat"},
            "whisper-1": {"input_cost_per_second": 0.0001, "output_cost_per_second": 0.0001,
                "litellm_provider": "openai", "mode": "audio_transcription"},
            "deepseek/deepseek-chat": {"input_cost_per_token": 2.8e-07, "output_cost_per_token": 4.2e-07,
                "off_peak_pricing": {"input_cost_per_token": 1.4e-07, "output_cost_per_token": 2.1e-07,
                    "hours_utc": "16:30-00:30"},
                "litellm_provider": "deepseek", "mode": "chat"},
            "gpt-4o-2026-dated": {"usagebook_model": "gpt-4o", "usagebook_effective_from": "2027-01-01",
                "input_cost_per_token": 2e-06, "output_cost_per_token": 8e-06, "litellm_provider": "openai"}
        }))
        .unwrap()
    }

    fn u(v: serde_json::Value) -> TokenUsage {
        TokenUsage::from_value(&v).unwrap()
    }

    const T2026: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1e-12)
    }

    #[test]
    fn l12_u4_openai_cache_reads_are_a_part_of_input() {
        let r = sample();
        // 1000 prompt tokens of which 200 cached, 500 out:
        // 800*2.5e-6 + 200*1.25e-6 + 500*1e-5 = $0.00725
        let c = r.cost(
            Some("openai"),
            "gpt-4o",
            &u(json!({"prompt_tokens": 1000,
            "completion_tokens": 500, "prompt_tokens_details": {"cached_tokens": 200}})),
            T2026,
        );
        assert!(c.priced && close(c.usd, 0.00725), "{c:?}");
        assert_eq!(c.nusd, 7_250_000);
        let names: Vec<&str> = c.items.iter().map(|i| i.price.as_str()).collect();
        assert_eq!(
            names,
            [
                "input_cost_per_token",
                "cache_read_input_token_cost",
                "output_cost_per_token"
            ]
        );
    }

    #[test]
    fn l12_u4_anthropic_cache_writes_with_the_one_hour_price() {
        let r = sample();
        // 200 plain + 4000 written (1000 of them for 1h) + 1000 read, 50 out.
        let c = r.cost(Some("anthropic"), "claude-sonnet-4-5", &u(json!({"input_tokens": 200,
            "output_tokens": 50, "cache_creation_input_tokens": 4000, "cache_read_input_tokens": 1000,
            "cache_creation": {"ephemeral_5m_input_tokens": 3000, "ephemeral_1h_input_tokens": 1000}})), T2026);
        let want = 200.0 * 3e-6 + 1000.0 * 3e-7 + 3000.0 * 3.75e-6 + 1000.0 * 6e-6 + 50.0 * 1.5e-5;
        assert!(close(c.usd, want), "{} vs {want}", c.usd);
    }

    #[test]
    fn l12_u4_context_threshold_switches_every_token_type() {
        let r = sample();
        let at = r.cost(
            Some("anthropic"),
            "claude-sonnet-4-5",
            &u(json!({"input": 200_000, "output": 10})),
            T2026,
        );
        assert!(
            close(at.usd, 200_000.0 * 3e-6 + 10.0 * 1.5e-5),
            "at the threshold: the lower price"
        );
        let above = r.cost(
            Some("anthropic"),
            "claude-sonnet-4-5",
            &u(json!({"input": 250_000, "output": 10})),
            T2026,
        );
        assert!(
            close(above.usd, 250_000.0 * 6e-6 + 10.0 * 2.25e-5),
            "{above:?}"
        );
        assert_eq!(
            above.items[0].price,
            "input_cost_per_token_above_200k_tokens"
        );
    }

    #[test]
    fn u6_summed_calls_choose_thresholds_by_the_average_call() {
        let r = sample();
        // Three calls of 100k input: not above 200k each, though 300k in all.
        let x = u(json!({"input": 300_000, "output": 30}));
        let c = r.cost_of_calls(Some("anthropic"), "claude-sonnet-4-5", &x, 3, T2026);
        assert!(close(c.usd, 300_000.0 * 3e-6 + 30.0 * 1.5e-5), "{c:?}");
        let one = r.cost(Some("anthropic"), "claude-sonnet-4-5", &x, T2026);
        assert!(close(one.usd, 300_000.0 * 6e-6 + 30.0 * 2.25e-5));
    }

    #[test]
    fn l12_u4_tiered_pricing_takes_one_tier_for_the_whole_call() {
        let r = sample();
        let c = r.cost(
            Some("openrouter"),
            "qwen-plus",
            &u(json!({"input": 300_000, "output": 1000})),
            T2026,
        );
        assert!(close(c.usd, 300_000.0 * 1.2e-6 + 1000.0 * 3.6e-6), "{c:?}");
    }

    #[test]
    fn l12_u4_service_tier_prices_fall_back_to_standard() {
        let r = sample();
        let mut x = u(json!({"input": 1000, "output": 100, "cache_read": 400}));
        x.service_tier = Some("priority".into());
        let c = r.cost(Some("openai"), "gpt-4o", &x, T2026);
        // No cache_read_input_token_cost_priority: the standard cache price.
        assert!(
            close(c.usd, 600.0 * 4.25e-6 + 400.0 * 1.25e-6 + 100.0 * 1.7e-5),
            "{c:?}"
        );
    }

    #[test]
    fn l12_u4_reasoning_at_its_own_price() {
        let r = sample();
        let c = r.cost(
            Some("openai"),
            "o3",
            &u(json!({"input": 0, "output": 100, "reasoning": 60})),
            T2026,
        );
        assert!(close(c.usd, 40.0 * 8e-6 + 60.0 * 4e-6));
    }

    #[test]
    fn l12_u4_seconds_are_billed_once() {
        let r = sample();
        let c = r.cost(
            Some("openai"),
            "whisper-1",
            &u(json!({"input": 0, "output": 0, "seconds": 90})),
            T2026,
        );
        assert!(close(c.usd, 0.009), "{c:?}");
    }

    #[test]
    fn l12_u4_off_peak_hours() {
        let r = sample();
        let x = u(json!({"input": 1000, "output": 1000}));
        let peak = r.cost(Some("deepseek"), "deepseek-chat", &x, T2026 + 8 * 3_600_000);
        let off = r.cost(
            Some("deepseek"),
            "deepseek-chat",
            &x,
            T2026 + 17 * 3_600_000,
        );
        assert!(close(peak.usd, 1000.0 * 2.8e-7 + 1000.0 * 4.2e-7));
        assert!(close(off.usd, 1000.0 * 1.4e-7 + 1000.0 * 2.1e-7), "{off:?}");
    }

    #[test]
    fn l12_u4_lookup_by_provider_model_case_and_at_sign() {
        let r = sample();
        let k = |p: Option<&str>, m: &str| r.lookup(p, m, T2026).map(|e| e.key.clone());
        assert_eq!(
            k(Some("azure"), "gpt-4o").as_deref(),
            Some("azure/gpt-4o"),
            "Azure's own price"
        );
        assert_eq!(
            k(Some("openai"), "GPT-4o").as_deref(),
            Some("gpt-4o"),
            "case-insensitive"
        );
        assert_eq!(
            k(Some("openai"), "gpt-4o-2024-08-06").as_deref(),
            Some("gpt-4o"),
            "dated name"
        );
        assert_eq!(k(None, "openai/gpt-4o").as_deref(), Some("gpt-4o"));
        assert_eq!(
            k(Some("vertex_ai"), "claude-sonnet-4-5@20250929").as_deref(),
            Some("vertex_ai/claude-sonnet-4-5@20250929"),
            "a key with @ is a model name"
        );
        // The bare name of another provider is not Azure's price.
        assert_eq!(k(Some("bedrock"), "o3"), None);
        assert!(
            !r.cost(Some("acme"), "mystery-1", &u(json!({"input": 1})), T2026)
                .priced
        );
    }

    #[test]
    fn l12_u4_anthropic_regional_and_fast_multipliers() {
        let r = PriceRegistry::from_litellm_value(&json!({"claude-opus-5": {
            "input_cost_per_token": 5e-06, "output_cost_per_token": 2.5e-05,
            "provider_specific_entry": {"us": 1.1, "fast": 2.0}, "litellm_provider": "anthropic"}}))
        .unwrap();
        let base = 1000.0 * 5e-6 + 100.0 * 2.5e-5;
        let c = |v: Value| r.cost(Some("anthropic"), "claude-opus-5", &u(v), T2026).usd;
        assert!(close(
            c(json!({"input_tokens": 1000, "output_tokens": 100})),
            base
        ));
        assert!(close(
            c(json!({"input_tokens": 1000, "output_tokens": 100, "inference_geo": "us"})),
            base * 1.1
        ));
        assert!(close(
            c(json!({"input_tokens": 1000, "output_tokens": 100, "speed": "fast"})),
            base * 2.0
        ));
        assert!(close(
            c(json!({"input_tokens": 1000, "output_tokens": 100, "inference_geo": "global"})),
            base
        ));
    }

    #[test]
    fn l12_effective_dates_live_inside_entries() {
        let r = sample();
        let x = u(json!({"input": 1000, "output": 0}));
        assert!(close(
            r.cost(Some("openai"), "gpt-4o", &x, T2026).usd,
            0.0025
        ));
        let later = 1_830_297_600_000; // 2028-01-01
        assert!(close(
            r.cost(Some("openai"), "gpt-4o", &x, later).usd,
            0.002
        ));
        let e = PriceRegistry::from_litellm_value(
            &json!({"m": {"usagebook_effective_from": "someday"}}),
        )
        .unwrap_err();
        assert!(e.to_string().contains("someday"), "{e}");
    }

    #[test]
    fn x_rates_that_would_make_a_cost_negative_nan_or_infinite_are_refused() {
        // Found by fuzzing: each priced a call at -$x, NaN or inf, which
        // the ledger then counted as $0.
        for (spec, field) in [
            (
                json!({"input_cost_per_token": 1e308}),
                "input_cost_per_token",
            ),
            (
                json!({"input_cost_per_token": 1e-6, "provider_specific_entry": {"us": -2}}),
                "provider_specific_entry.us",
            ),
            (
                json!({"input_cost_per_token": 1e-6, "off_peak_pricing": {"input_cost_per_token": -1e-6, "hours_utc": "00:00-00:00"}}),
                "off_peak_pricing.input_cost_per_token",
            ),
            (
                json!({"input_cost_per_token": 1e-6, "off_peak_pricing": {"input_cost_per_token": "NaN", "hours_utc": "00:00-00:00"}}),
                "off_peak_pricing.input_cost_per_token",
            ),
        ] {
            let e = PriceRegistry::from_litellm_value(&json!({"m": spec}))
                .unwrap_err()
                .to_string();
            assert!(e.contains(field), "{field}: {e}");
        }
    }

    #[test]
    fn bad_price_files_are_refused_with_the_field() {
        let e =
            PriceRegistry::from_litellm_json(r#"{"m": {"input_cost_per_token": -1}}"#).unwrap_err();
        assert!(e.to_string().contains("m.input_cost_per_token"), "{e}");
        assert!(PriceRegistry::from_litellm_json("[]").is_err());
        assert!(PriceRegistry::from_litellm_json("{").is_err());
    }

    #[test]
    fn u4_cost_json_names_unrecognised_usage() {
        let e = cost_json("gpt-4o", r#"{"tokens": 3}"#, None, None, T2026).unwrap_err();
        assert!(e.to_string().contains("tokens"), "{e}");
        let v: Value = serde_json::from_str(
            &cost_json(
                "",
                r#"{"model": "gpt-4o", "usage": {"prompt_tokens": 1000, "completion_tokens": 0}}"#,
                Some("openai"),
                None,
                T2026,
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(v["priced"], true);
        assert_eq!(v["model"], "gpt-4o");
    }
}
