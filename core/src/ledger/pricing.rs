//! The model price registry (L12): per-token (input, output, cached,
//! reasoning), per-image and per-second prices with effective dates;
//! `cost_actual` is derived from usage when the caller gives none. A model
//! the registry does not know is *unpriced*: flagged, never silently $0.
//!
//! Reads LiteLLM's `model_prices_and_context_window.json` format
//! (FORMATS-EXTERNAL.md §4). As an extension, a key `model@DATE` (RFC 3339
//! date or date-time) is that model's price from that instant on.

use crate::error::{Error, Result};
use crate::ledger::event::LedgerEvent;
use serde_json::Value;
use std::collections::HashMap;

/// femto-USD (1e-15) per unit: exact enough for $0.01 per million tokens.
const FEMTO_PER_USD: f64 = 1e15;

/// Prices of one model, in femto-USD per unit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Price {
    pub input_per_token: i64,
    pub output_per_token: i64,
    /// Cached (cache-read) input tokens; `None` = charged as input.
    pub cached_input_per_token: Option<i64>,
    /// Reasoning tokens (counted inside `tokens_out`); `None` = as output.
    pub reasoning_per_token: Option<i64>,
    pub per_image: i64,
    pub per_second: i64,
}

/// The cost of one event's usage and whether a price was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Costed {
    pub nusd: i64,
    pub priced: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceRegistry {
    /// Per model name: (effective from epoch ms, price), sorted by time.
    models: HashMap<String, Vec<(i64, Price)>>,
}

fn femto(v: Option<&Value>, key: &str, model: &str) -> Result<i64> {
    match v {
        None | Some(Value::Null) => Ok(0),
        Some(x) => match x.as_f64() {
            Some(f) if f.is_finite() && f >= 0.0 => Ok((f * FEMTO_PER_USD).round() as i64),
            _ => Err(Error::invalid(format!(
                "price file: {model}.{key} must be a number >= 0, got {x}"
            ))),
        },
    }
}

impl PriceRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a price effective from `from_ms` (use `i64::MIN` for "always").
    pub fn insert(&mut self, model: &str, from_ms: i64, price: Price) {
        let v = self.models.entry(model.to_string()).or_default();
        v.retain(|(t, _)| *t != from_ms);
        v.push((from_ms, price));
        v.sort_by_key(|(t, _)| *t);
    }

    pub fn from_litellm_json(text: &str) -> Result<Self> {
        let v: Value = serde_json::from_str(text)
            .map_err(|e| Error::invalid(format!("price file is not valid JSON: {e}")))?;
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
            let (model, from_ms) = match key.split_once('@') {
                None => (key.as_str(), i64::MIN),
                Some((m, date)) => {
                    let full = if date.len() == 10 {
                        format!("{date}T00:00:00Z")
                    } else {
                        date.to_string()
                    };
                    let ms = crate::timefmt::parse_iso_ms(&full).ok_or_else(|| {
                        Error::invalid(format!(
                            "price file: {key}: {date:?} is not an RFC 3339 date"
                        ))
                    })?;
                    (m, ms)
                }
            };
            let g = |k: &str| femto(spec.get(k), k, key);
            let opt = |k: &str| -> Result<Option<i64>> {
                if spec.get(k).is_some_and(|x| !x.is_null()) {
                    g(k).map(Some)
                } else {
                    Ok(None)
                }
            };
            let price = Price {
                input_per_token: g("input_cost_per_token")?,
                output_per_token: g("output_cost_per_token")?,
                cached_input_per_token: opt("cache_read_input_token_cost")?,
                reasoning_per_token: opt("output_cost_per_reasoning_token")?,
                per_image: g("output_cost_per_image")? + g("input_cost_per_image")?,
                per_second: g("input_cost_per_second")? + g("output_cost_per_second")?,
            };
            reg.insert(model, from_ms, price);
        }
        Ok(reg)
    }

    pub fn load_file(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading price file {}", path.display()), e))?;
        Self::from_litellm_json(&text)
    }

    pub fn len(&self) -> usize {
        self.models.len()
    }

    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }

    /// The price in force at `ts_ms`: by model name, then `provider/model`,
    /// then the model name without a `provider/` prefix.
    pub fn lookup(&self, provider: &str, model: &str, ts_ms: i64) -> Option<&Price> {
        let candidates = [
            Some(model.to_string()),
            Some(format!("{}/{model}", provider.to_lowercase())),
            model.split_once('/').map(|(_, m)| m.to_string()),
        ];
        for name in candidates.into_iter().flatten() {
            if let Some(v) = self.models.get(&name) {
                if let Some((_, p)) = v.iter().rev().find(|(t, _)| *t <= ts_ms) {
                    return Some(p);
                }
            }
        }
        None
    }

    /// Prices an event's usage (L12).
    pub fn cost(&self, ev: &LedgerEvent) -> Costed {
        let Some(p) = self.lookup(&ev.provider, &ev.model, ev.ts_ms()) else {
            return Costed {
                nusd: 0,
                priced: false,
            };
        };
        let tin = ev.usage_u64("tokens_in") as i128;
        let cached = (ev
            .usage_u64("cached_tokens")
            .max(ev.usage_u64("tokens_cached")) as i128)
            .min(tin);
        let tout = ev.usage_u64("tokens_out") as i128;
        let reasoning = (ev.usage_u64("reasoning_tokens") as i128).min(tout);
        let images = ev.usage_u64("images") as i128;
        let seconds = ev.usage_f64("audio_seconds").max(ev.usage_f64("seconds"));
        let mut f: i128 = (tin - cached) * p.input_per_token as i128
            + cached * p.cached_input_per_token.unwrap_or(p.input_per_token) as i128
            + images * p.per_image as i128;
        match p.reasoning_per_token {
            Some(r) => f += (tout - reasoning) * p.output_per_token as i128 + reasoning * r as i128,
            None => f += tout * p.output_per_token as i128,
        }
        f += (seconds * p.per_second as f64).round() as i128;
        // femto -> nano, rounded half up.
        let nusd = (f + 500_000) / 1_000_000;
        Costed {
            nusd: nusd.clamp(0, i64::MAX as i128) as i64,
            priced: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::event::{EventType, LedgerEvent};

    const SAMPLE: &str = r#"{
      "sample_spec": {"input_cost_per_token": 0, "litellm_provider": "one of ..."},
      "gpt-4o": {"input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05,
                 "cache_read_input_token_cost": 1.25e-06, "litellm_provider": "openai", "mode": "chat"},
      "gpt-4o@2026-01-01": {"input_cost_per_token": 2e-06, "output_cost_per_token": 8e-06},
      "o3": {"input_cost_per_token": 2e-06, "output_cost_per_token": 8e-06,
             "output_cost_per_reasoning_token": 4e-06},
      "dall-e-3": {"output_cost_per_image": 0.04, "mode": "image_generation"},
      "whisper-1": {"input_cost_per_second": 0.0001, "mode": "audio_transcription"},
      "gemini/gemini-2.0-flash": {"input_cost_per_token": 1e-07, "output_cost_per_token": 4e-07}
    }"#;

    fn ev(provider: &str, model: &str, ts: f64, usage: serde_json::Value) -> LedgerEvent {
        let mut e = LedgerEvent::new(EventType::Commit, "t", provider, model, ts);
        e.usage = usage.as_object().unwrap().clone();
        e
    }

    #[test]
    fn l12_token_image_second_and_cached_prices() {
        let r = PriceRegistry::from_litellm_json(SAMPLE).unwrap();
        assert!(r.lookup("x", "sample_spec", 0).is_none());
        // 1000 in (200 cached) + 500 out on gpt-4o before 2026:
        // 800*2.5e-6 + 200*1.25e-6 + 500*1e-5 = 0.002 + 0.00025 + 0.005 = $0.00725
        let c = r.cost(&ev(
            "openai",
            "gpt-4o",
            1.7e9,
            serde_json::json!({"tokens_in": 1000, "cached_tokens": 200, "tokens_out": 500}),
        ));
        assert_eq!(
            c,
            Costed {
                nusd: 7_250_000,
                priced: true
            }
        );
        // Effective dates: from 2026-01-01 the new price applies.
        let c = r.cost(&ev(
            "openai",
            "gpt-4o",
            1.8e9,
            serde_json::json!({"tokens_in": 1000, "tokens_out": 500}),
        ));
        assert_eq!(c.nusd, 6_000_000);
        // Reasoning tokens at their own price, inside tokens_out.
        let c = r.cost(&ev(
            "openai",
            "o3",
            1.7e9,
            serde_json::json!({"tokens_in": 0, "tokens_out": 100, "reasoning_tokens": 60}),
        ));
        assert_eq!(c.nusd, 40 * 8_000 + 60 * 4_000);
        assert_eq!(
            r.cost(&ev(
                "openai",
                "dall-e-3",
                1.7e9,
                serde_json::json!({"images": 2})
            ))
            .nusd,
            80_000_000
        );
        assert_eq!(
            r.cost(&ev(
                "openai",
                "whisper-1",
                1.7e9,
                serde_json::json!({"audio_seconds": 15.5})
            ))
            .nusd,
            1_550_000
        );
        // provider/model keys are found from provider + model.
        assert!(
            r.cost(&ev(
                "gemini",
                "gemini-2.0-flash",
                1.7e9,
                serde_json::json!({"tokens_in": 10})
            ))
            .priced
        );
    }

    #[test]
    fn l12_unknown_model_is_unpriced_not_free() {
        let r = PriceRegistry::from_litellm_json(SAMPLE).unwrap();
        let c = r.cost(&ev(
            "acme",
            "mystery-1",
            1.7e9,
            serde_json::json!({"tokens_in": 10}),
        ));
        assert!(!c.priced);
    }

    #[test]
    fn bad_price_files_are_refused_with_the_field() {
        let e = PriceRegistry::from_litellm_json(r#"{"m": {"input_cost_per_token": "cheap"}}"#)
            .unwrap_err();
        assert!(e.to_string().contains("m.input_cost_per_token"), "{e}");
        assert!(PriceRegistry::from_litellm_json("[]").is_err());
        let e = PriceRegistry::from_litellm_json(r#"{"m@someday": {}}"#).unwrap_err();
        assert!(e.to_string().contains("someday"));
    }
}
