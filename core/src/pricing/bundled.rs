//! The bundled price snapshot: LiteLLM's map at the version named in
//! `core/prices/SOURCE`, cut to the fields pricing reads and gzipped (about
//! 80 KB). Refresh it with `cargo xtask refresh-prices FILE` (docs/pricing.md).

use super::PriceRegistry;
use std::io::Read;
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

#[cfg(test)]
mod tests {
    #[test]
    fn u6_bundled_snapshot_loads_thousands_of_models() {
        let r = super::registry();
        assert!(r.len() > 4000, "{}", r.len());
        assert!(r.lookup(Some("openai"), "gpt-4o", 0).is_some());
        assert!(super::SNAPSHOT.len() < 1_000_000);
    }
}
