//! `TrackerOptions::from_json` (T6, X5): any text is options or an error.
//! Accepted options validate, and their JSON form reads back the same.
#![no_main]
use libfuzzer_sys::fuzz_target;
use usagebook_core::TrackerOptions;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(o) = TrackerOptions::from_json(Some(text)) else {
        return;
    };
    o.validate().expect("accepted options validate");
    assert!(o.flush_trigger() >= 1);
    let mut back = serde_json::json!({
        "flushIntervalMs": o.flush_interval_ms,
        "flushEveryNLogs": o.flush_every_n_logs,
        "persistLogs": o.persist_logs,
        "maxLogs": o.max_logs,
        "durability": o.durability.as_str(),
    });
    if let Some(b) = o.max_log_bytes {
        back["maxLogBytes"] = b.into();
    }
    let again =
        TrackerOptions::from_json(Some(&back.to_string())).expect("written back options read");
    assert_eq!(again, o, "options do not survive their own JSON form");
});
