//! `LedgerOptions::from_json`: options or an error naming the key. A
//! `pricesPath` names a file to read; the fuzzer's paths are replaced by one
//! that does not exist (the read is the price-file target's business, and
//! `/dev/zero` would never end).
#![no_main]
use libfuzzer_sys::fuzz_target;
use usagebook_core::ledger::LedgerOptions;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let text = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(mut m)) if m.contains_key("pricesPath") => {
            if m["pricesPath"].is_string() {
                m.insert(
                    "pricesPath".into(),
                    "/nonexistent/usagebook-fuzz/prices.json".into(),
                );
            }
            serde_json::Value::Object(m).to_string()
        }
        _ => text.to_string(),
    };
    let Ok(o) = LedgerOptions::from_json(Some(&text)) else {
        return;
    };
    assert!(
        o.prices.is_none(),
        "a price file that does not exist was loaded"
    );
    let _ = (
        o.mode.as_str(),
        o.batch_size,
        o.flush_interval_ms,
        o.close_deadline_ms,
    );
    let _ = (
        o.daily_budget_nusd,
        &o.timezone,
        o.hold_ttl_ms,
        o.allow_unpriced,
    );
});
