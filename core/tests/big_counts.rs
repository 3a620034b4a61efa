//! A token count above i64::MAX is accepted (counts are u64), so it must
//! survive a restart: the snapshot wrote it as u64 and read it back as
//! i64, called the row malformed and moved snapshot and backup aside
//! (found by fuzzing: one call wiped the tracker's history).

use usagebook_core::{FileBackedTracker, NewUsageLog, TrackerOptions, Usage, UsageTracker};

#[test]
fn x_counts_above_i64_max_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let big = 1u64 << 63;
    {
        let t = FileBackedTracker::open(dir.path(), TrackerOptions::default()).unwrap();
        t.track(&NewUsageLog::new(
            "openai/gpt-4o",
            Usage {
                prompt_tokens: big,
                completion_tokens: 1,
                total_tokens: big + 1,
                ..Usage::default()
            },
        ))
        .unwrap();
        t.close().unwrap();
    }
    for _ in 0..2 {
        let t = FileBackedTracker::open(dir.path(), TrackerOptions::default()).unwrap();
        let s = t.stats(None).unwrap();
        assert_eq!(s.total_requests, 1, "history lost across the restart");
        assert_eq!(s.prompt_tokens, big);
        assert_eq!(s.total_tokens, big + 1);
        assert!(t.health().recovery.is_empty(), "{:?}", t.health().recovery);
        t.close().unwrap();
    }
}
