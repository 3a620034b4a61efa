//! `PriceRegistry::from_litellm_json` (L12): a LiteLLM price file, or an
//! error. A file it accepts prices every model it loaded, for a call with
//! every kind of token, through the entry's own provider and each provider
//! with a formula of its own, to a finite cost >= 0 (never NaN, infinite or
//! negative), and every plain entry is found by its own name.
#![no_main]
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use usagebook_core::PriceRegistry;
use usagebook_fuzz::{check_cost, fixed_usage, known_bad_price_entry, plain_usage};

/// 2026-01-01T00:00Z (a Thursday), and 17:00 the same day (inside the
/// usual off-peak windows).
const TS: [i64; 2] = [1_767_225_600_000, 1_767_225_600_000 + 17 * 3_600_000];
const PROVIDERS: [&str; 10] = [
    "openai",
    "anthropic",
    "bedrock",
    "perplexity",
    "dashscope",
    "vertex_ai",
    "xai",
    "fireworks_ai",
    "deepseek",
    "gemini",
];
/// Bounds the work of one input (a file of thousands of models).
const MAX_MODELS: usize = 48;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(reg) = PriceRegistry::from_litellm_json(text) else {
        return;
    };
    let Ok(Value::Object(file)) = serde_json::from_str::<Value>(text) else {
        panic!("an accepted price file is not a JSON object");
    };
    let usages = [fixed_usage(), plain_usage()];
    // Open findings F3/F4 (docs/fuzzing.md): a file with such an entry is
    // priced (a panic still counts) but its costs are not checked; a model
    // may be priced through another entry, so the whole file is exempt.
    let known = file
        .values()
        .any(|v| v.as_object().is_some_and(known_bad_price_entry));
    for (key, spec) in file
        .iter()
        .filter(|(k, _)| *k != "sample_spec")
        .take(MAX_MODELS)
    {
        let Value::Object(spec) = spec else { continue };
        let model = spec
            .get("usagebook_model")
            .and_then(Value::as_str)
            .unwrap_or(key);
        let own = spec.get("litellm_provider").and_then(Value::as_str);
        let mut providers: Vec<Option<&str>> = vec![None, own];
        providers.extend(PROVIDERS.iter().map(|p| Some(*p)));
        for ts in TS {
            for p in &providers {
                for u in &usages {
                    for calls in [1, 7] {
                        let c = reg.cost_of_calls(*p, model, u, calls, ts);
                        if known {
                            continue;
                        }
                        check_cost(&c, &format!("{key} via {p:?} at {ts}, {calls} call(s)"));
                    }
                }
            }
            if !spec.contains_key("usagebook_model")
                && !spec.contains_key("usagebook_effective_from")
            {
                let c = reg.cost(None, key, &plain_usage(), ts);
                assert!(
                    c.priced,
                    "{key}: an entry of the file is not found by its own name"
                );
            }
        }
    }
});
