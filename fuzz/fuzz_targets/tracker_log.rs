//! Tracker log JSON (T1, T7): `NewUsageLogOwned::from_json_str` (what a
//! host hands `trackUsage`) and `UsageLog::from_json` (a line of
//! usage-logs.jsonl). An accepted log validates, and is written and read
//! back unchanged; tracking it in memory counts it once.
#![no_main]
use libfuzzer_sys::fuzz_target;
use usagebook_core::{InMemoryTracker, NewUsageLogOwned, UsageLog, UsageTracker};
use usagebook_fuzz::check_stats;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(new) = NewUsageLogOwned::from_json_str(text) {
        new.as_new().validate().expect("an accepted log validates");
        let log = UsageLog {
            seq: 7,
            bridge_id: new.bridge_id.clone(),
            timestamp_ms: 1_767_225_600_123,
            usage: new.usage,
            duration_ms: new.duration_ms,
            status: new.status,
        };
        let line = log.to_json();
        let back = UsageLog::from_json(&line)
            .unwrap_or_else(|e| panic!("the line {line} of an accepted log is refused: {e}"));
        if back != log {
            // F7 (open, minor): floats may read back one ULP off.
            assert!(
                usagebook_fuzz::json_eq(&back.to_json(), &line),
                "the line {line} reads back another log: {back:?}"
            );
        }
        let t = InMemoryTracker::new(10).unwrap();
        t.track(&new.as_new()).expect("an accepted log is tracked");
        let s = t.stats(None).unwrap();
        check_stats(&s, "in memory");
        assert_eq!(s.total_requests, 1);
        assert_eq!(s.prompt_tokens, new.usage.prompt_tokens);
        assert_eq!(s.total_tokens, new.usage.total_tokens);
    }
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
        if let Ok(log) = UsageLog::from_json(&v) {
            let line = log.to_json();
            let back = UsageLog::from_json(&line)
                .unwrap_or_else(|e| panic!("the line {line} of an accepted log is refused: {e}"));
            if back != log {
                assert!(
                    usagebook_fuzz::json_eq(&back.to_json(), &line),
                    "the line {line} reads back another log: {back:?}"
                );
            }
        }
    }
});
