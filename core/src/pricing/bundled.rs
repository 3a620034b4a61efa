//! The bundled price snapshot: LiteLLM's map at the version named in
//! `core/prices/SOURCE`, cut to the fields pricing reads and gzipped (about
//! 80 KB). Refresh it with `cargo xtask refresh-prices FILE` (docs/pricing.md).

use super::PriceRegistry;
use crate::error::{Error, Result};
use serde_json::{Map, Value};
use std::io::{Read, Write};
use std::sync::{Arc, OnceLock};

static SNAPSHOT: &[u8] = include_bytes!("../../prices/litellm-prices.json.gz");

/// Where the snapshot came from, e.g. `litellm 1.110.2 ...`.
pub const SOURCE: &str = include_str!("../../prices/SOURCE");

pub(super) fn registry() -> Arc<PriceRegistry> {
    static REG: OnceLock<Arc<PriceRegistry>> = OnceLock::new();
    REG.get_or_init(|| {
        let mut text = String::new();
        flate2::read::GzDecoder::new(SNAPSHOT)
            .read_to_string(&mut text)
            .expect("the bundled price snapshot is valid gzip (checked by a test)");
        Arc::new(
            PriceRegistry::from_litellm_json(&text)
                .expect("the bundled price snapshot parses (checked by a test)"),
        )
    })
    .clone()
}

/// Builds a snapshot from LiteLLM's file as it ships: every entry with
/// only the fields pricing reads (the rates LiteLLM's model info keeps,
/// `litellm_provider`, `mode`, `tiered_pricing`, `off_peak_pricing`),
/// compact JSON, gzipped. `cargo xtask refresh-prices FILE` writes it.
pub fn build_snapshot(litellm_json: &str) -> Result<Vec<u8>> {
    let v: Value = serde_json::from_str(litellm_json)
        .map_err(|e| Error::invalid(format!("price file is not valid JSON: {e}")))?;
    // Refuse what the registry would refuse, before writing anything.
    PriceRegistry::from_litellm_value(&v)?;
    let obj = v
        .as_object()
        .ok_or_else(|| Error::invalid("price file must be a JSON object keyed by model"))?;
    let mut out = Map::new();
    for (key, spec) in obj {
        let Some(spec) = spec.as_object().filter(|_| key != "sample_spec") else {
            continue;
        };
        let kept: Map<String, Value> = spec
            .iter()
            .filter(|(f, _)| {
                super::is_rate_field(f)
                    || matches!(
                        f.as_str(),
                        "litellm_provider"
                            | "mode"
                            | "tiered_pricing"
                            | "off_peak_pricing"
                            | "provider_specific_entry"
                    )
                    || f.starts_with("usagebook_")
            })
            .map(|(f, x)| (f.clone(), x.clone()))
            .collect();
        out.insert(key.clone(), Value::Object(kept));
    }
    let text = serde_json::to_vec(&Value::Object(out)).expect("JSON values serialize");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&text)
        .and_then(|_| gz.finish())
        .map_err(|e| Error::io("compressing the price snapshot", e))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    #[test]
    fn u5_a_snapshot_rebuilt_from_the_snapshot_prices_the_same() {
        let mut text = String::new();
        flate2::read::GzDecoder::new(super::SNAPSHOT)
            .read_to_string(&mut text)
            .unwrap();
        let again = super::build_snapshot(&text).unwrap();
        let mut back = String::new();
        flate2::read::GzDecoder::new(&again[..])
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(
            super::PriceRegistry::from_litellm_json(&back).unwrap(),
            *super::registry()
        );
    }

    #[test]
    fn u5_bundled_snapshot_loads_thousands_of_models() {
        let r = super::registry();
        assert!(r.len() > 4000, "{}", r.len());
        assert!(r.lookup(Some("openai"), "gpt-4o", 0).is_some());
        assert!(super::SNAPSHOT.len() < 1_000_000);
    }
}
