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

pub use bundled::SOURCE as BUNDLED_SOURCE;
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

fn rate_of(v: &Value, key: &str, field: &str) -> Result<Option<f64>> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.is_finite() && f >= 0.0 => Ok(Some(f)),
            _ => Err(Error::invalid(format!(
                "price file: {key}.{field} must be a number >= 0, got {n}"
            ))),
        },
        // LiteLLM's file has a few non-numeric `*cost*` fields (objects
        // keyed by size, strings); they are not rates and are not read.
        _ => Ok(None),
    }
}

fn rates_of(o: &Map<String, Value>, key: &str) -> Result<HashMap<String, f64>> {
    let mut rates = HashMap::new();
    for (field, v) in o {
        if field.contains("cost") || field.ends_with("_per_token") {
            if let Some(r) = rate_of(v, key, field)? {
                rates.insert(field.clone(), r);
            }
        }
    }
    Ok(rates)
}

fn parse_entry(key: &str, spec: &Map<String, Value>) -> Result<(String, ModelPrice)> {
    let str_field = |f: &str| spec.get(f).and_then(Value::as_str).map(str::to_string);
    let mut tiers = Vec::new();
    if let Some(t) = spec.get("tiered_pricing") {
        let list = t.as_array().ok_or_else(|| {
            Error::invalid(format!("price file: {key}.tiered_pricing must be a list"))
        })?;
        for (i, item) in list.iter().enumerate() {
            let o = item.as_object().ok_or_else(|| {
                Error::invalid(format!(
                    "price file: {key}.tiered_pricing[{i}] must be an object"
                ))
            })?;
            let range = o.get("range").and_then(Value::as_array);
            let bound = |j: usize| range.and_then(|r| r.get(j)).and_then(Value::as_f64);
            let (Some(lo), Some(hi)) = (bound(0), bound(1)) else {
                return Err(Error::invalid(format!(
                    "price file: {key}.tiered_pricing[{i}].range must be [lo, hi]"
                )));
            };
            tiers.push(Tier {
                lo,
                hi,
                rates: rates_of(o, key)?,
            });
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
            off_peak: spec.get("off_peak_pricing").filter(|v| v.is_object()).cloned(),
            from_ms,
        },
    ))
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
        self.folded
            .entry(model.to_lowercase())
            .or_insert_with(|| model.to_string());
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
            out.folded
                .entry(model.to_lowercase())
                .or_insert_with(|| model.clone());
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

    /// The entry in force at `ts_ms`, tried in LiteLLM's order: the
    /// `provider/model` key first, then the bare name when its
    /// `litellm_provider` is the caller's provider, then the bare name, each
    /// exactly and then case-insensitively.
    pub fn lookup(&self, provider: Option<&str>, model: &str, ts_ms: i64) -> Option<&ModelPrice> {
        let provider = provider.map(str::to_lowercase).filter(|p| !p.is_empty());
        let mut candidates: Vec<String> = Vec::new();
        if let Some(p) = &provider {
            if !model.to_lowercase().starts_with(&format!("{p}/")) {
                candidates.push(format!("{p}/{model}"));
            }
        }
        candidates.push(model.to_string());
        if let Some((prefix, rest)) = model.split_once('/') {
            // `azure/gpt-4o` without an azure entry: the bare name, but only
            // if the prefix really is a provider of some entry.
            if provider.is_none() || provider.as_deref() == Some(prefix) {
                candidates.push(rest.to_string());
            }
        }
        for exact in [true, false] {
            for name in &candidates {
                let found = if exact {
                    self.at(name, ts_ms)
                } else {
                    self.folded
                        .get(&name.to_lowercase())
                        .and_then(|k| self.at(k, ts_ms))
                };
                if found.is_some() {
                    return found;
                }
            }
        }
        None
    }

    /// Prices one call's usage (U4). `priced` is false when no entry was
    /// found: the cost is then unknown, never $0.
    pub fn cost(&self, provider: Option<&str>, model: &str, usage: &TokenUsage, ts_ms: i64) -> Cost {
        match self.lookup(provider, model, ts_ms) {
            Some(p) => cost::price(p, provider, usage, ts_ms),
            None => Cost::unpriced(),
        }
    }
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
            Error::invalid("model must be a non-empty string (or pass a whole response with its model)")
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
