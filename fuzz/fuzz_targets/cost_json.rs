//! `pricing::cost_json` (U4, the C ABI's and the CLI's price function):
//! input = model, separator, provider, separator, usage JSON, separator,
//! price file JSON (optional, overlaid on the bundled prices). Any input is
//! a cost or an error; a cost is JSON with a finite `usd` >= 0.
#![no_main]
use libfuzzer_sys::fuzz_target;
use usagebook_core::pricing::cost_json;
use usagebook_fuzz::{known_bad_price_entry, parts};

fuzz_target!(|data: &[u8]| {
    let p = parts(data, 4);
    let (Ok(model), Ok(provider), Ok(usage)) = (
        std::str::from_utf8(p[0]),
        std::str::from_utf8(p[1]),
        std::str::from_utf8(p[2]),
    ) else {
        return;
    };
    let prices = if p[3].is_empty() {
        None
    } else {
        match std::str::from_utf8(p[3]) {
            Ok(s) => Some(s),
            Err(_) => return,
        }
    };
    let provider = (!provider.is_empty()).then_some(provider);
    // Open findings F3/F4 (docs/fuzzing.md): computed, not checked.
    let known = prices
        .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
        .and_then(|v| {
            v.as_object().map(|o| {
                o.values()
                    .any(|e| e.as_object().is_some_and(known_bad_price_entry))
            })
        })
        .unwrap_or(false)
        || serde_json::from_str::<serde_json::Value>(usage)
            .is_ok_and(|u| usagebook_fuzz::has_huge_number(&u));
    // With a price file every call copies the bundled registry: two times.
    let times: &[i64] = if prices.is_some() {
        &[1_767_225_600_000, i64::MAX]
    } else {
        &[1_767_225_600_000, 0, i64::MIN, i64::MAX]
    };
    for &ts in times {
        let Ok(out) = cost_json(model, usage, provider, prices, ts) else {
            continue;
        };
        if known {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("cost_json gave {out:?}, not JSON: {e}"));
        let usd = v["usd"]
            .as_f64()
            .unwrap_or_else(|| panic!("no finite usd in {out}"));
        assert!(usd.is_finite() && usd >= 0.0, "usd {usd} in {out}");
        let priced = v["priced"].as_bool().expect("priced is a boolean");
        if !priced {
            assert_eq!(usd, 0.0, "unpriced with an amount: {out}");
        }
    }
});
