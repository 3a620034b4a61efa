//! Usage in any provider SDK's shape and the price function (U2, U4), for
//! the facade's `trackUsage` slow path, `cost()` and `Prices`.
//!
//! What a usage value means is `usagebook_core::usage`'s to decide (one
//! adapter for every binding); this module only carries JSON across.

use crate::errors::{guard, invalid, to_napi};
use napi::bindgen_prelude::Result;
use napi_derive::napi;
use serde_json::Value;
use std::sync::Arc;
use usagebook_core::pricing::cost_of_value;
use usagebook_core::{PriceRegistry, TokenUsage};

type JsResult<T> = napi::Result<T, String>;

/// The largest integer a JS number holds exactly.
const MAX_SAFE: u64 = 9_007_199_254_740_991;

fn parse(json: &str, what: &str) -> JsResult<Value> {
    serde_json::from_str(json).map_err(|e| invalid(format!("{what} is not valid JSON: {e}")))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `trackUsage`'s slow path: a usage in any shape the core reads (OpenAI
/// Chat and Responses, Anthropic, Gemini, Bedrock, a whole response, T1
/// camelCase with parts) as what the tracker records: `[promptTokens,
/// completionTokens, totalTokens, cacheReadTokens, cacheWriteTokens,
/// reasoningTokens]` (inclusive input, output, total, then the parts),
/// checked as `track` checks them. A value with no token field the core
/// knows is a `USAGEBOOK_INVALID_ARGUMENT` naming its keys.
#[napi(catch_unwind)]
pub fn tracker_counts(usage_json: String) -> Result<Vec<f64>, String> {
    guard(|| {
        let v = parse(&usage_json, "usage")?;
        let u = TokenUsage::read(&v).map_err(to_napi)?.usage.to_tracker();
        u.validate().map_err(to_napi)?;
        let counts = [
            ("promptTokens", u.prompt_tokens),
            ("completionTokens", u.completion_tokens),
            ("totalTokens", u.total_tokens),
            ("cacheReadTokens", u.cache_read_tokens),
            ("cacheWriteTokens", u.cache_write_tokens),
            ("reasoningTokens", u.reasoning_tokens),
        ];
        for (field, n) in counts {
            if n > MAX_SAFE {
                return Err(invalid(format!(
                    "usage: {field} would be {n}, more than a JS number holds exactly"
                )));
            }
        }
        Ok(counts.iter().map(|&(_, n)| n as f64).collect())
    })
}

/// A price registry: the bundled LiteLLM snapshot, or the caller's LiteLLM
/// table (inline or a file) overlaid on it (its models win).
#[napi]
pub struct NativePrices {
    pub(crate) reg: Arc<PriceRegistry>,
}

#[napi]
impl NativePrices {
    /// The bundled snapshot (parsed once per process).
    #[napi(factory, catch_unwind)]
    pub fn bundled() -> NativePrices {
        NativePrices {
            reg: PriceRegistry::bundled(),
        }
    }

    /// A table in LiteLLM's format (JSON text), overlaid on the snapshot.
    #[napi(factory, catch_unwind)]
    pub fn from_json(prices_json: String) -> Result<NativePrices, String> {
        guard(|| {
            let own = PriceRegistry::from_litellm_json(&prices_json).map_err(to_napi)?;
            Ok(NativePrices {
                reg: Arc::new(PriceRegistry::bundled().overlaid(&own)),
            })
        })
    }

    /// A LiteLLM price file, overlaid on the snapshot.
    #[napi(factory, catch_unwind)]
    pub fn from_path(path: String) -> Result<NativePrices, String> {
        guard(|| {
            let own = PriceRegistry::load_file(std::path::Path::new(&path)).map_err(to_napi)?;
            Ok(NativePrices {
                reg: Arc::new(PriceRegistry::bundled().overlaid(&own)),
            })
        })
    }

    /// How many models it prices.
    #[napi(getter)]
    pub fn size(&self) -> u32 {
        self.reg.len() as u32
    }

    /// The cost of one call as the core's JSON (`{usd, input_usd,
    /// output_usd, priced, model, items: [{price, units, unit_usd, usd}]}`).
    /// `model` empty: the response's own `model`. `at_ms`: when the call
    /// was made (dated prices and off-peak hours depend on it); absent = now.
    #[napi(catch_unwind)]
    pub fn cost_json(
        &self,
        model: String,
        usage_json: String,
        provider: Option<String>,
        at_ms: Option<f64>,
    ) -> Result<String, String> {
        guard(|| {
            let usage = parse(&usage_json, "usage")?;
            let provider = provider.as_deref().filter(|p| !p.is_empty());
            let at = match at_ms {
                None => now_ms(),
                Some(ms) if ms.is_finite() && ms.abs() <= 8.64e15 => ms.round() as i64,
                Some(ms) => return Err(invalid(format!("at must be a valid Date, got {ms}"))),
            };
            let c =
                cost_of_value(&model, &usage, provider, Some(&self.reg), at).map_err(to_napi)?;
            Ok(c.to_json().to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u2_tracker_counts_are_inclusive_and_unknown_usage_names_its_keys() {
        let anthropic = r#"{"input_tokens":200,"output_tokens":50,"cache_creation_input_tokens":5000,"cache_read_input_tokens":1000}"#;
        assert_eq!(
            tracker_counts(anthropic.into()).unwrap(),
            vec![6200.0, 50.0, 6250.0, 1000.0, 5000.0, 0.0]
        );
        let t1 = r#"{"promptTokens":10,"completionTokens":5,"totalTokens":15,"cacheReadTokens":4,"reasoningTokens":2}"#;
        assert_eq!(
            tracker_counts(t1.into()).unwrap(),
            vec![10.0, 5.0, 15.0, 4.0, 0.0, 2.0]
        );
        let e = tracker_counts(
            r#"{"promptTokens":10,"completionTokens":5,"totalTokens":15,"reasoningTokens":6}"#
                .into(),
        )
        .unwrap_err();
        assert_eq!(e.status, crate::errors::INVALID_ARGUMENT);
        assert!(e.reason.contains("reasoning"), "{}", e.reason);
        let huge = r#"{"promptTokens":5000000000,"completionTokens":0,"totalTokens":0,"cacheReadTokens":4294967296}"#;
        let e = tracker_counts(huge.into()).unwrap_err();
        assert!(e.reason.contains("cacheReadTokens"), "{}", e.reason);
        let e = tracker_counts(r#"{"tokens":5,"cost":1}"#.into()).unwrap_err();
        assert_eq!(e.status, crate::errors::INVALID_ARGUMENT);
        assert!(e.reason.contains("tokens, cost"), "{}", e.reason);
        let big = r#"{"prompt_tokens":9007199254740992,"completion_tokens":0}"#;
        assert!(tracker_counts(big.into()).is_err());
    }

    #[test]
    fn u4_cost_json_with_the_bundled_and_overlaid_prices() {
        let usage = r#"{"prompt_tokens":1000,"completion_tokens":500,"prompt_tokens_details":{"cached_tokens":200}}"#;
        let c: Value = serde_json::from_str(
            &NativePrices::bundled()
                .cost_json("gpt-4o".into(), usage.into(), Some("openai".into()), None)
                .unwrap(),
        )
        .unwrap();
        assert!((c["usd"].as_f64().unwrap() - 0.00725).abs() < 1e-12, "{c}");
        let own =
            NativePrices::from_json(r#"{"acme-1":{"input_cost_per_token":1e-6}}"#.into()).unwrap();
        assert_eq!(own.size(), NativePrices::bundled().size() + 1);
        let c: Value = serde_json::from_str(
            &own.cost_json("acme-1".into(), usage.into(), None, Some(0.0))
                .unwrap(),
        )
        .unwrap();
        assert_eq!(c["priced"], true);
        assert!(NativePrices::from_json("[]".into()).is_err());
        assert!(own
            .cost_json("acme-1".into(), usage.into(), None, Some(f64::NAN))
            .is_err());
    }
}
