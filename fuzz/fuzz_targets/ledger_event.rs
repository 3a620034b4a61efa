//! `LedgerEvent::from_json_str` (L1, L5): an event that validates, or an
//! error naming the field. An accepted event's JSON form reads back equal.
#![no_main]
use libfuzzer_sys::fuzz_target;
use usagebook_core::ledger::LedgerEvent;
use usagebook_core::TokenUsage;
use usagebook_fuzz::check_usage;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(ev) = LedgerEvent::from_json_str(text, 1_767_225_600.0) else {
        return;
    };
    ev.validate().expect("an accepted event validates");
    assert!(ev.cost_est_nusd >= 0);
    if !ev.usage.is_empty() {
        // Stored usage is the canonical vocabulary and reads as such.
        let u = TokenUsage::read(&serde_json::Value::Object(ev.usage.clone()))
            .unwrap_or_else(|e| panic!("stored usage {:?} does not read: {e}", ev.usage));
        check_usage(&u.usage, "stored usage");
    }
    let json = ev.to_json().to_string();
    let back = LedgerEvent::from_json_str(&json, 0.0)
        .unwrap_or_else(|e| panic!("the JSON form {json} of an accepted event is refused: {e}"));
    if back != ev {
        // F7 (open, minor): floats may read back one ULP off.
        assert!(
            usagebook_fuzz::json_eq(&back.to_json(), &ev.to_json()),
            "the JSON form {json} reads back another event: {back:?}"
        );
    }
});
