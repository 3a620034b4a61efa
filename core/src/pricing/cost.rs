//! The price of one call: `litellm.cost_per_token`'s rules (litellm
//! 1.110.2, docs/pricing.md) applied to our inclusive usage. Plain double
//! arithmetic as LiteLLM does it; the ledger rounds the sum to nano-USD.

use super::{ModelPrice, Tier};
use crate::usage::TokenUsage;
use chrono::{Datelike, TimeZone, Timelike};
use serde_json::{json, Map, Value};

/// One line of a cost: which price, how many units, how much.
#[derive(Debug, Clone, PartialEq)]
pub struct CostItem {
    /// The price file's field, e.g. `cache_read_input_token_cost`.
    pub price: String,
    pub units: f64,
    /// USD per unit.
    pub unit_usd: f64,
    pub usd: f64,
}

/// What a call cost. `usd` is LiteLLM's float; `nusd` the integer
/// nano-USD the ledger adds up (L11).
#[derive(Debug, Clone, PartialEq)]
pub struct Cost {
    pub usd: f64,
    /// Of `usd`: the input side (LiteLLM's `prompt_cost`).
    pub input_usd: f64,
    /// Of `usd`: the output side (LiteLLM's `completion_cost`).
    pub output_usd: f64,
    pub nusd: i64,
    pub priced: bool,
    /// The price file's key that priced it.
    pub model_key: Option<String>,
    pub items: Vec<CostItem>,
}

impl Cost {
    pub fn unpriced() -> Cost {
        Cost {
            usd: 0.0,
            input_usd: 0.0,
            output_usd: 0.0,
            nusd: 0,
            priced: false,
            model_key: None,
            items: Vec::new(),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "usd": self.usd,
            "input_usd": self.input_usd,
            "output_usd": self.output_usd,
            "priced": self.priced,
            "model": self.model_key,
            "items": self.items.iter().map(|i| json!({
                "price": i.price, "units": i.units, "unit_usd": i.unit_usd, "usd": i.usd,
            })).collect::<Vec<_>>(),
        })
    }
}

/// A resolved rate and the field it came from (for the line items).
#[derive(Debug, Clone, PartialEq)]
struct Rate {
    usd: f64,
    field: String,
}

impl Rate {
    fn new(usd: f64, field: impl Into<String>) -> Rate {
        Rate {
            usd,
            field: field.into(),
        }
    }
}

/// Service tiers and the suffix of their price fields.
fn tier_suffix(tier: Option<&str>) -> Option<&'static str> {
    match tier?.to_ascii_lowercase().as_str() {
        "flex" => Some("flex"),
        "balanced" => Some("balanced"),
        "priority" | "fast" => Some("priority"),
        "ultrafast" => Some("ultrafast"),
        _ => None,
    }
}

/// Every service-tier suffix LiteLLM knows, longest first (so `_ultrafast`
/// is matched before `_fast`).
const ALL_TIER_SUFFIXES: [&str; 6] = [
    "_ultrafast",
    "_balanced",
    "_priority",
    "_auto",
    "_flex",
    "_fast",
];

fn tkey(base: &str, tier: Option<&str>) -> String {
    match tier_suffix(tier) {
        Some(s) => format!("{base}_{s}"),
        None => base.to_string(),
    }
}

struct Model<'a> {
    p: &'a ModelPrice,
    /// Calls the usage sums (1 for one call): thresholds and tiers are
    /// chosen by one call's size, the average.
    calls: u64,
    /// Overrides of rates (Fireworks' default cache-read discount).
    extra: Vec<(String, f64)>,
    off_peak_extra: Option<f64>,
}

impl<'a> Model<'a> {
    fn raw(&self, key: &str) -> Option<f64> {
        if let Some((_, v)) = self.extra.iter().find(|(k, _)| k == key) {
            return Some(*v);
        }
        match key {
            // Missing token prices are 0 in LiteLLM's model info.
            "input_cost_per_token" | "output_cost_per_token" => {
                Some(self.p.rate(key).unwrap_or(0.0))
            }
            _ => self.p.rate(key),
        }
    }

    /// `get_cost_per_unit`: the field, else (for a service-tier field) the
    /// field without its tier suffix, else `default`.
    fn unit(&self, key: &str, default: Option<Rate>) -> Option<Rate> {
        if let Some(v) = self.raw(key) {
            return Some(Rate::new(v, key));
        }
        if let Some(s) = ALL_TIER_SUFFIXES.iter().find(|s| key.contains(*s)) {
            let base = key.replacen(s, "", usize::MAX);
            if let Some(v) = self.raw(&base) {
                return Some(Rate::new(v, base));
            }
        }
        default
    }

    fn off_peak(&self, ts_ms: i64) -> Option<&'a Map<String, Value>> {
        let op = self.p.off_peak.as_ref()?.as_object()?;
        is_off_peak(op, ts_ms).then_some(op)
    }

    fn off_peak_rate(&self, op: Option<&Map<String, Value>>, key: &str) -> Option<Rate> {
        if key == "cache_read_input_token_cost" {
            if let Some(v) = self.off_peak_extra {
                if op.is_some_and(|o| !o.contains_key(key)) {
                    return Some(Rate::new(v, "off_peak_pricing.cache_read_input_token_cost"));
                }
            }
        }
        let v = op?.get(key)?;
        if v.is_boolean() {
            return None;
        }
        v.as_f64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .map(|x| Rate::new(x, format!("off_peak_pricing.{key}")))
    }
}

fn tier_rate(t: &Tier, key: &str, fallback: Option<&str>) -> Rate {
    if let Some(v) = t.rates.get(key) {
        return Rate::new(*v, format!("tiered_pricing.{key}"));
    }
    match fallback {
        None => Rate::new(0.0, format!("tiered_pricing.{key}")),
        Some(f) => Rate::new(
            t.rates.get(f).copied().unwrap_or(0.0),
            format!("tiered_pricing.{f}"),
        ),
    }
}

/// `tiered_pricing`: the tier with `lo < input <= hi`, else the last one;
/// only a tier with an input price counts.
fn select_tier(p: &ModelPrice, input: u64) -> Option<&Tier> {
    if p.tiers.is_empty() || input == 0 {
        return None;
    }
    let mut tiers: Vec<&Tier> = p.tiers.iter().collect();
    tiers.sort_by(|a, b| a.lo.total_cmp(&b.lo));
    let x = input as f64;
    let t = tiers
        .iter()
        .find(|t| t.lo < x && x <= t.hi)
        .copied()
        .unwrap_or(tiers[tiers.len() - 1]);
    t.rates.contains_key("input_cost_per_token").then_some(t)
}

/// `N` of `..._above_<N>[k]_tokens...`.
fn threshold_of(key: &str) -> Option<(f64, String)> {
    let after = key.rsplit_once("_above_")?.1;
    let t = after.split("_tokens").next()?;
    let (num, mul) = match t.strip_suffix('k') {
        Some(n) => (n, 1000.0),
        None => (t, 1.0),
    };
    let n: f64 = num.parse().ok()?;
    Some((n * mul, t.to_string()))
}

struct Rates {
    input: Rate,
    output: Rate,
    cache_read: Rate,
    cache_write: Rate,
    cache_write_1h: Rate,
    cache_write_12h: Rate,
}

const RATE_PREFIXES: [&str; 4] = [
    "input_cost_per_token",
    "output_cost_per_token",
    "cache_read_input_token_cost",
    "cache_creation_input_token_cost",
];
const TTL_1H: &str = "cache_creation_input_token_cost_above_1hr";
const TTL_12H: &str = "cache_creation_input_token_cost_above_12hr";

/// `_get_token_base_cost`: the rates in force for this prompt size,
/// service tier and time.
fn base_rates(
    m: &Model<'_>,
    prompt: u64,
    tier: Option<&str>,
    ts_ms: i64,
    inclusive: bool,
) -> Rates {
    let op = m.off_peak(ts_ms);
    let apply_op = |r: Rate, key: &str| m.off_peak_rate(op, key).unwrap_or(r);
    if let Some(t) = select_tier(m.p, prompt) {
        let output = if t.rates.contains_key("output_cost_per_token") {
            tier_rate(t, "output_cost_per_token", None)
        } else {
            m.unit("output_cost_per_token", None)
                .unwrap_or(Rate::new(0.0, "output_cost_per_token"))
        };
        let cache_write = apply_op(
            tier_rate(
                t,
                "cache_creation_input_token_cost",
                Some("input_cost_per_token"),
            ),
            "cache_creation_input_token_cost",
        );
        let ttl = |k: &str| {
            if t.rates.contains_key(k) {
                tier_rate(t, k, None)
            } else {
                cache_write.clone()
            }
        };
        let (cache_write_1h, cache_write_12h) = (ttl(TTL_1H), ttl(TTL_12H));
        return Rates {
            input: apply_op(
                tier_rate(t, "input_cost_per_token", None),
                "input_cost_per_token",
            ),
            output: apply_op(output, "output_cost_per_token"),
            cache_read: apply_op(
                tier_rate(
                    t,
                    "cache_read_input_token_cost",
                    Some("input_cost_per_token"),
                ),
                "cache_read_input_token_cost",
            ),
            cache_write,
            cache_write_1h,
            cache_write_12h,
        };
    }
    let zero = |k: &str| Rate::new(0.0, k);
    let mut input = m
        .unit(&tkey("input_cost_per_token", tier), None)
        .unwrap_or_else(|| zero("input_cost_per_token"));
    let mut output = m
        .unit(&tkey("output_cost_per_token", tier), None)
        .unwrap_or_else(|| zero("output_cost_per_token"));
    if output.usd == 0.0 {
        if let Some(r) = m.unit("output_cost_per_image_token", None) {
            output = r;
        }
    }
    let mut cache_write = m.unit(&tkey("cache_creation_input_token_cost", tier), None);
    let mut cache_read = m.unit(&tkey("cache_read_input_token_cost", tier), None);
    let mut ttl_keys = [tkey(TTL_1H, tier), tkey(TTL_12H, tier)];

    // Context thresholds: every `<rate>_above_N_tokens` field (tier-suffixed
    // ones only for the call's tier), lowest first; each one the prompt
    // passes replaces the rates it has.
    let suffix = tier_suffix(tier).map(|s| format!("_{s}"));
    let mut keys: Vec<(f64, String)> = m
        .p
        .rates
        .keys()
        .filter(|k| {
            RATE_PREFIXES
                .iter()
                .any(|p| k.starts_with(p) && k[p.len()..].starts_with("_above_"))
                && k.contains("_tokens")
                && (!(ALL_TIER_SUFFIXES.iter().any(|s| k.ends_with(s)) || k.ends_with("_batches"))
                    || suffix.as_deref().is_some_and(|s| k.ends_with(s)))
        })
        .filter_map(|k| threshold_of(k).map(|(n, _)| (n, k.clone())))
        .collect();
    keys.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    let p = prompt as f64;
    for (n, key) in keys {
        let Some((_, ts)) = threshold_of(&key) else {
            continue;
        };
        if !(p > n || (inclusive && p == n)) {
            continue;
        }
        let above = |base: &str| tkey(&format!("{base}_above_{ts}_tokens"), tier);
        input = m
            .unit(&above("input_cost_per_token"), Some(input.clone()))
            .unwrap_or(input);
        output = m
            .unit(&above("output_cost_per_token"), Some(output.clone()))
            .unwrap_or(output);
        cache_write = m
            .unit(
                &above("cache_creation_input_token_cost"),
                cache_write.clone(),
            )
            .or(cache_write);
        for (i, base) in [TTL_1H, TTL_12H].into_iter().enumerate() {
            let ttl_above = above(base);
            if m.raw(&ttl_above).is_some() {
                ttl_keys[i] = ttl_above;
            }
        }
        cache_read = m
            .unit(&above("cache_read_input_token_cost"), cache_read.clone())
            .or(cache_read);
    }
    let input_for_missing = m
        .off_peak_rate(op, "input_cost_per_token")
        .unwrap_or_else(|| input.clone());
    let cache_read = cache_read.unwrap_or_else(|| input_for_missing.clone());
    let cache_write = cache_write.unwrap_or(input_for_missing);
    let input = apply_op(input, "input_cost_per_token");
    let output = apply_op(output, "output_cost_per_token");
    let cache_read = apply_op(cache_read, "cache_read_input_token_cost");
    let cache_write = apply_op(cache_write, "cache_creation_input_token_cost");
    let cache_write_1h = m
        .unit(&ttl_keys[0], None)
        .unwrap_or_else(|| cache_write.clone());
    let cache_write_12h = m
        .unit(&ttl_keys[1], None)
        .unwrap_or_else(|| cache_write.clone());
    Rates {
        input,
        output,
        cache_read,
        cache_write,
        cache_write_1h,
        cache_write_12h,
    }
}

/// The rate of reasoning tokens (`_resolve_billed_reasoning_rate`).
fn reasoning_rate(m: &Model<'_>, prompt: u64, tier: Option<&str>, out: &Rate, ts_ms: i64) -> Rate {
    let op = m.off_peak(ts_ms);
    if let Some(r) = m.off_peak_rate(op, "output_cost_per_reasoning_token") {
        return r;
    }
    if let Some(t) = select_tier(m.p, prompt) {
        if t.rates.contains_key("output_cost_per_reasoning_token")
            || t.rates.contains_key("output_cost_per_token")
        {
            return tier_rate(
                t,
                "output_cost_per_reasoning_token",
                Some("output_cost_per_token"),
            );
        }
    }
    let k = tkey("output_cost_per_reasoning_token", tier);
    if m.raw(&k).is_some() {
        if let Some(r) = m.unit(&k, None) {
            return r;
        }
    }
    let ko = tkey("output_cost_per_token", tier);
    if ko != "output_cost_per_token" && m.raw(&ko).is_some() {
        return out.clone();
    }
    m.unit("output_cost_per_reasoning_token", None)
        .unwrap_or_else(|| out.clone())
}

struct Lines {
    input: Vec<CostItem>,
    output: Vec<CostItem>,
}

impl Lines {
    fn push(v: &mut Vec<CostItem>, units: f64, r: &Rate) {
        if units != 0.0 {
            v.push(CostItem {
                price: r.field.clone(),
                units,
                unit_usd: r.usd,
                usd: units * r.usd,
            });
        }
    }
    fn inp(&mut self, units: u64, r: &Rate) {
        Self::push(&mut self.input, units as f64, r);
    }
    fn out(&mut self, units: u64, r: &Rate) {
        Self::push(&mut self.output, units as f64, r);
    }
}

/// The generic formula (`generic_cost_per_token`).
fn generic(
    m: &Model<'_>,
    u: &TokenUsage,
    tier: Option<&str>,
    ts_ms: i64,
    inclusive: bool,
    reasoning_as_output: bool,
) -> Lines {
    let mut l = Lines {
        input: Vec::new(),
        output: Vec::new(),
    };
    let per_call = u.input / m.calls;
    let r = base_rates(m, per_call, tier, ts_ms, inclusive);
    // Input: text, cache reads, modality tokens, cache writes, then units.
    let text = u
        .input
        .saturating_sub(u.cache_read)
        .saturating_sub(u.cache_write)
        .saturating_sub(u.input_audio)
        .saturating_sub(u.input_image);
    let by_chars = u.characters > 0 && m.raw("input_cost_per_character").is_some();
    if !by_chars {
        l.inp(text, &r.input);
    }
    l.inp(u.cache_read, &r.cache_read);
    if u.input_audio > 0 {
        let k = tkey("input_cost_per_audio_token", tier);
        let rate = m.unit(&k, None).unwrap_or_else(|| r.input.clone());
        l.inp(u.input_audio, &rate);
    }
    if u.input_image > 0 {
        let k = tkey("input_cost_per_image_token", tier);
        let rate = m.unit(&k, None).unwrap_or_else(|| r.input.clone());
        l.inp(u.input_image, &rate);
    }
    let one_hour = u.cache_write_1h.min(u.cache_write);
    let twelve_hours = u.cache_write_12h.min(u.cache_write - one_hour);
    l.inp(u.cache_write - one_hour - twelve_hours, &r.cache_write);
    l.inp(one_hour, &r.cache_write_1h);
    l.inp(twelve_hours, &r.cache_write_12h);
    if by_chars {
        l.inp(
            u.characters,
            &m.unit("input_cost_per_character", None).unwrap(),
        );
    }
    // Output: text, audio, reasoning at its own rate.
    let breakdown = u.reasoning > 0 || u.output_audio > 0;
    if !breakdown || reasoning_as_output && u.output_audio == 0 {
        l.out(u.output, &r.output);
    } else {
        let reasoning = if reasoning_as_output { 0 } else { u.reasoning };
        let text = u
            .output
            .saturating_sub(reasoning)
            .saturating_sub(u.output_audio);
        l.out(text, &r.output);
        if u.output_audio > 0 {
            let rate = m
                .unit("output_cost_per_audio_token", None)
                .unwrap_or_else(|| r.output.clone());
            l.out(u.output_audio, &rate);
        }
        if reasoning > 0 {
            l.out(
                reasoning,
                &reasoning_rate(m, per_call, tier, &r.output, ts_ms),
            );
        }
    }
    l
}

/// Perplexity's own calculator: cache writes are plain input; no
/// thresholds or cache TTLs.
fn perplexity(m: &Model<'_>, u: &TokenUsage, ts_ms: i64) -> Lines {
    let op = m.off_peak(ts_ms);
    let input = m
        .off_peak_rate(op, "input_cost_per_token")
        .unwrap_or_else(|| m.unit("input_cost_per_token", None).unwrap());
    let output = m
        .off_peak_rate(op, "output_cost_per_token")
        .unwrap_or_else(|| m.unit("output_cost_per_token", None).unwrap());
    let cache_read = m
        .off_peak_rate(op, "cache_read_input_token_cost")
        .or_else(|| m.unit("cache_read_input_token_cost", None))
        .unwrap_or_else(|| input.clone());
    let mut l = Lines {
        input: Vec::new(),
        output: Vec::new(),
    };
    let cached = u.cache_read.min(u.input);
    l.inp(u.input - cached, &input);
    l.inp(cached, &cache_read);
    match m.unit("output_cost_per_reasoning_token", None) {
        Some(rr) if u.reasoning > 0 => {
            l.out(u.output.saturating_sub(u.reasoning), &output);
            l.out(u.reasoning, &rr);
        }
        _ => l.out(u.output, &output),
    }
    l
}

/// DashScope (Alibaba) tiers: one tier by the whole input, every token at
/// that tier's rates.
fn dashscope(m: &Model<'_>, u: &TokenUsage, ts_ms: i64) -> Lines {
    let text = u
        .input
        .saturating_sub(u.cache_read)
        .saturating_sub(u.cache_write);
    let total_in = (text + u.cache_read + u.cache_write) / m.calls;
    let inp = m.unit("input_cost_per_token", None).unwrap();
    let or_input = |k: &str| {
        m.unit(k, None)
            .unwrap_or_else(|| Rate::new(inp.usd, "input_cost_per_token"))
    };
    let mut i = inp.clone();
    let mut cr = or_input("cache_read_input_token_cost");
    let mut cc = or_input("cache_creation_input_token_cost");
    let mut o = m.unit("output_cost_per_token", None).unwrap();
    let mut rr = m.unit("output_cost_per_reasoning_token", None);
    let tier = if total_in > 0 && !m.p.tiers.is_empty() {
        let mut tiers: Vec<&Tier> = m.p.tiers.iter().collect();
        tiers.sort_by(|a, b| a.lo.total_cmp(&b.lo));
        let x = total_in as f64;
        Some(
            tiers
                .iter()
                .find(|t| t.lo < x && x <= t.hi)
                .copied()
                .unwrap_or(tiers[tiers.len() - 1]),
        )
    } else {
        None
    };
    if let Some(t) = tier {
        let has_out = t.rates.contains_key("output_cost_per_token");
        i = tier_rate(t, "input_cost_per_token", None);
        cr = tier_rate(
            t,
            "cache_read_input_token_cost",
            Some("input_cost_per_token"),
        );
        cc = tier_rate(
            t,
            "cache_creation_input_token_cost",
            Some("input_cost_per_token"),
        );
        if has_out {
            o = tier_rate(t, "output_cost_per_token", None);
        }
        rr = if t.rates.contains_key("output_cost_per_reasoning_token") {
            Some(tier_rate(t, "output_cost_per_reasoning_token", None))
        } else if has_out {
            None
        } else {
            rr
        };
    }
    let op = m.off_peak(ts_ms);
    i = m.off_peak_rate(op, "input_cost_per_token").unwrap_or(i);
    o = m.off_peak_rate(op, "output_cost_per_token").unwrap_or(o);
    cr = m
        .off_peak_rate(op, "cache_read_input_token_cost")
        .unwrap_or(cr);
    cc = m
        .off_peak_rate(op, "cache_creation_input_token_cost")
        .unwrap_or(cc);
    if let Some(r) = m.off_peak_rate(op, "output_cost_per_reasoning_token") {
        rr = Some(r);
    }
    let rr = rr.unwrap_or_else(|| o.clone());
    let mut l = Lines {
        input: Vec::new(),
        output: Vec::new(),
    };
    l.inp(text, &i);
    l.inp(u.cache_read, &cr);
    l.inp(u.cache_write, &cc);
    l.out(u.output.saturating_sub(u.reasoning), &o);
    l.out(u.reasoning, &rr);
    l
}

/// Vertex AI models with a 128k price: each side at one rate, switching
/// when that side's own count passes 128k.
fn vertex_128k(m: &Model<'_>, u: &TokenUsage) -> Lines {
    let mut l = Lines {
        input: Vec::new(),
        output: Vec::new(),
    };
    let side = |n: u64, above: &str, base: &str| match m.unit(above, None) {
        Some(r) if n / m.calls > 128_000 => r,
        _ => m.unit(base, None).unwrap(),
    };
    l.inp(
        u.input,
        &side(
            u.input,
            "input_cost_per_token_above_128k_tokens",
            "input_cost_per_token",
        ),
    );
    l.out(
        u.output,
        &side(
            u.output,
            "output_cost_per_token_above_128k_tokens",
            "output_cost_per_token",
        ),
    );
    l
}

/// Prices that are not per token: seconds (transcription, speech,
/// provisioned throughput) and generated images.
fn units(m: &Model<'_>, u: &TokenUsage, l: &mut Lines) {
    if u.seconds > 0.0 {
        let rate = [
            "output_cost_per_second",
            "input_cost_per_second",
            "cost_per_second",
        ]
        .into_iter()
        .find_map(|k| m.p.rate(k).filter(|r| *r > 0.0).map(|r| Rate::new(r, k)));
        if let Some(r) = rate {
            // The duration is billed once, at the first price that applies
            // (LiteLLM: output per second, else input per second).
            if r.field == "output_cost_per_second" {
                Lines::push(&mut l.output, u.seconds, &r);
            } else {
                Lines::push(&mut l.input, u.seconds, &r);
            }
        }
    }
    if u.images > 0 {
        if let Some(r) = m.p.rate("output_cost_per_image") {
            Lines::push(
                &mut l.output,
                u.images as f64,
                &Rate::new(r, "output_cost_per_image"),
            );
        } else if let Some(r) = m.p.rate("input_cost_per_image") {
            Lines::push(
                &mut l.input,
                u.images as f64,
                &Rate::new(r, "input_cost_per_image"),
            );
        }
    }
}

pub(super) fn price(
    p: &ModelPrice,
    provider: Option<&str>,
    u: &TokenUsage,
    calls: u64,
    ts_ms: i64,
) -> Cost {
    let mut m = Model {
        p,
        calls: calls.max(1),
        extra: Vec::new(),
        off_peak_extra: None,
    };
    let tier = u.service_tier.as_deref();
    let prov = provider.unwrap_or("");
    // Fireworks bills cache reads at half the input price when the map
    // gives no cache-read price (a rule in LiteLLM's code, not its map).
    if prov == "fireworks_ai" && p.rate("cache_read_input_token_cost").is_none() {
        if let Some(i) = p.rate("input_cost_per_token") {
            m.extra
                .push(("cache_read_input_token_cost".into(), i * 0.5));
            if let Some(op) = p.off_peak.as_ref().and_then(Value::as_object) {
                if !op.contains_key("cache_read_input_token_cost") {
                    let oi = op.get("input_cost_per_token").and_then(Value::as_f64);
                    m.off_peak_extra = Some(oi.map_or(i * 0.5, |x| x * 0.5));
                }
            }
        }
    }
    let mut l = match prov {
        "lemonade" => Lines {
            input: Vec::new(),
            output: Vec::new(),
        },
        "perplexity" => perplexity(&m, u, ts_ms),
        "dashscope" | "qwencloud" | "qwen_ai_platform" => dashscope(&m, u, ts_ms),
        "vertex_ai"
            if p.rate("input_cost_per_token_above_128k_tokens").is_some()
                || p.rate("output_cost_per_token_above_128k_tokens").is_some() =>
        {
            vertex_128k(&m, u)
        }
        // xAI: thresholds from the threshold itself on, reasoning at the
        // output price, no service tiers.
        "xai" => generic(&m, u, None, ts_ms, true, true),
        // These providers' calculators take no service tier.
        "deepseek" | "tencent" | "fireworks_ai" => generic(&m, u, None, ts_ms, false, false),
        _ => generic(&m, u, tier, ts_ms, false, false),
    };
    units(&m, u, &mut l);
    let mut input_usd: f64 = l.input.iter().map(|i| i.usd).sum();
    let mut output_usd: f64 = l.output.iter().map(|i| i.usd).sum();
    // Anthropic (fast mode, regional serving) and Bedrock (regional) scale
    // every token type by the model's `provider_specific_entry` multiplier.
    let mut multiply = |name: &str, x: f64| {
        if x != 1.0 {
            input_usd *= x;
            output_usd *= x;
            l.input.push(CostItem {
                price: format!("provider_specific_entry.{name}"),
                units: 0.0,
                unit_usd: x,
                usd: 0.0,
            });
        }
    };
    if prov == "anthropic" && u.speed.as_deref() == Some("fast") {
        multiply("fast", p.multipliers.get("fast").copied().unwrap_or(1.0));
    }
    if matches!(prov, "anthropic" | "bedrock") {
        if let Some(geo) = u
            .inference_geo
            .as_deref()
            .map(str::to_ascii_lowercase)
            .filter(|g| g != "global" && g != "not_available")
        {
            multiply(&geo, p.multipliers.get(&geo).copied().unwrap_or(1.0));
        }
    }
    let usd = input_usd + output_usd;
    let mut items = l.input;
    items.extend(l.output);
    Cost {
        usd,
        input_usd,
        output_usd,
        nusd: usd_to_nusd(usd),
        priced: true,
        model_key: Some(p.key.clone()),
        items,
    }
}

fn usd_to_nusd(usd: f64) -> i64 {
    let n = (usd * 1e9).round();
    if n.is_finite() {
        n.clamp(0.0, i64::MAX as f64) as i64
    } else {
        0
    }
}

/// Whether `ts_ms` falls in an `off_peak_pricing` window: the daily
/// `hours_utc` windows, or a `windows` rule whose weekdays (ISO, 1 =
/// Monday, read in `weekday_timezone`, default UTC) include that day.
/// Windows are `HH:MM-HH:MM` UTC, start inclusive, end exclusive; one may
/// wrap past midnight and one whose start equals its end is the whole day.
fn is_off_peak(op: &Map<String, Value>, ts_ms: i64) -> bool {
    let Some(utc) = chrono::Utc.timestamp_millis_opt(ts_ms).single() else {
        return false;
    };
    let minute = utc.hour() * 60 + utc.minute();
    let second_of_day = minute * 60 + utc.second();
    let in_windows = |v: Option<&Value>| -> bool {
        let list: Vec<&str> = match v {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        list.iter().any(|w| {
            let Some((a, b)) = w.split_once('-') else {
                return false;
            };
            let hm = |s: &str| -> Option<u32> {
                let (h, m) = s.trim().split_once(':')?;
                let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
                (h < 24 && m < 60).then_some((h * 60 + m) * 60)
            };
            let (Some(start), Some(end)) = (hm(a), hm(b)) else {
                return false;
            };
            if start < end {
                start <= second_of_day && second_of_day < end
            } else {
                second_of_day >= start || second_of_day < end
            }
        })
    };
    if in_windows(op.get("hours_utc")) {
        return true;
    }
    let Some(rules) = op.get("windows").and_then(Value::as_array) else {
        return false;
    };
    let weekday = match op
        .get("weekday_timezone")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .and_then(crate::ledger::day::TimeZone::get)
    {
        Some(tz) => {
            let offset = chrono::Duration::seconds(i64::from(tz.offset_at(utc.timestamp())));
            let local = utc.naive_utc().checked_add_signed(offset);
            local
                .unwrap_or(utc.naive_utc())
                .weekday()
                .number_from_monday()
        }
        None => utc.weekday().number_from_monday(),
    };
    rules.iter().filter_map(Value::as_object).any(|rule| {
        let days_ok = match rule.get("weekdays") {
            None | Some(Value::Null) => true,
            Some(Value::Array(days)) => days.iter().any(|d| weekday_number(d) == Some(weekday)),
            _ => false,
        };
        days_ok && in_windows(rule.get("hours_utc"))
    })
}

fn weekday_number(v: &Value) -> Option<u32> {
    if let Some(n) = v.as_u64() {
        return (1..=7).contains(&n).then_some(n as u32);
    }
    let s = v.as_str()?.trim().to_ascii_lowercase();
    Some(match s.as_str() {
        "mon" | "monday" => 1,
        "tue" | "tues" | "tuesday" => 2,
        "wed" | "wednesday" => 3,
        "thu" | "thur" | "thurs" | "thursday" => 4,
        "fri" | "friday" => 5,
        "sat" | "saturday" => 6,
        "sun" | "sunday" => 7,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_peak_weekdays_are_read_in_the_weekday_timezone() {
        // 2025-01-04T23:30Z is a Saturday in UTC and already Sunday
        // 08:30 in Tokyo; the window is 23:00-24:00 UTC every Sunday.
        let ts = 1_736_033_400_000;
        let op = |tz: Value| {
            json!({
                "windows": [{"weekdays": ["sun"], "hours_utc": "23:00-00:00"}],
                "weekday_timezone": tz,
            })
            .as_object()
            .cloned()
            .unwrap()
        };
        assert!(is_off_peak(&op(json!("Asia/Tokyo")), ts));
        assert!(!is_off_peak(&op(json!("UTC")), ts));
        assert!(!is_off_peak(&op(Value::Null), ts));
        // An unknown zone reads weekdays in UTC, as before.
        assert!(!is_off_peak(&op(json!("Mars/Olympus")), ts));
        // New York (UTC-5) is still on Saturday.
        assert!(!is_off_peak(&op(json!("America/New_York")), ts));
    }
}
