//! File-backed tracker behaviour (T6–T11, X2, X5) on real temp directories.
//! Timing is deterministic: a ManualClock plus `tick()`, never sleeps.

use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use usagebook_core::{
    Durability, Error, FileBackedTracker, ManualClock, NewUsageLog, TrackerOptions, Usage,
    UsageStatus, UsageTracker,
};

const T0: i64 = 1_736_000_000_000;

fn opts() -> TrackerOptions {
    TrackerOptions {
        flush_interval_ms: 1_000,
        flush_every_n_logs: 1_000_000,
        ..TrackerOptions::default()
    }
}

fn open(dir: &Path, o: TrackerOptions, clock: &ManualClock) -> FileBackedTracker {
    FileBackedTracker::open_with_clock(dir, o, Arc::new(clock.clone())).unwrap()
}

fn track(t: &dyn UsageTracker, bridge: &str, p: u64, c: u64, status: UsageStatus) {
    t.track(&NewUsageLog {
        bridge_id: bridge,
        usage: Usage::new(p, c, p + c),
        duration_ms: Some(10.0),
        status,
    })
    .unwrap();
}

fn ok(t: &dyn UsageTracker, bridge: &str, p: u64) {
    track(t, bridge, p, 1, UsageStatus::Success)
}

fn stats_file(dir: &Path) -> Option<Value> {
    let p = dir.join("llm-usage/usage-stats.json");
    std::fs::read(p)
        .ok()
        .map(|b| serde_json::from_slice(&b).unwrap())
}

fn log_lines(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("llm-usage/usage-logs.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn t8_flushes_after_n_logs() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let t = open(
        dir.path(),
        TrackerOptions {
            flush_every_n_logs: 3,
            ..opts()
        },
        &clock,
    );
    ok(&t, "a", 1);
    ok(&t, "a", 1);
    t.tick().unwrap();
    assert!(stats_file(dir.path()).is_none(), "flushed before N logs");
    ok(&t, "a", 1);
    t.tick().unwrap(); // barrier: the writer has handled the wake-up
    let s = stats_file(dir.path()).expect("no snapshot after N logs");
    assert_eq!(s["perBridge"]["a"]["totalRequests"], 3);
    t.close().unwrap();
}

#[test]
fn t8_flushes_on_interval_by_the_injected_clock() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let t = open(dir.path(), opts(), &clock);
    ok(&t, "a", 1);
    t.tick().unwrap();
    assert!(stats_file(dir.path()).is_none());
    clock.advance(999);
    t.tick().unwrap();
    assert!(
        stats_file(dir.path()).is_none(),
        "flushed before the interval"
    );
    clock.advance(1);
    t.tick().unwrap();
    assert_eq!(
        stats_file(dir.path()).unwrap()["perBridge"]["a"]["totalRequests"],
        1
    );
    assert_eq!(t.health().flush_count, 1);
    assert_eq!(t.health().last_flush_ms, Some(T0 + 1000));
}

#[test]
fn t8_flush_and_close_write_everything() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let t = open(dir.path(), opts(), &clock);
    ok(&t, "a", 1);
    t.flush().unwrap();
    assert_eq!(
        stats_file(dir.path()).unwrap()["perBridge"]["a"]["totalRequests"],
        1
    );
    ok(&t, "a", 1);
    t.close().unwrap();
    assert_eq!(
        stats_file(dir.path()).unwrap()["perBridge"]["a"]["totalRequests"],
        2
    );
    // After close every call fails clearly; closing again is fine.
    assert!(matches!(t.flush(), Err(Error::Closed)));
    assert!(matches!(t.stats(None), Err(Error::Closed)));
    let e = t
        .track(&NewUsageLog::new("a", Usage::default()))
        .unwrap_err();
    assert!(matches!(e, Error::Closed));
    t.close().unwrap();
}

#[test]
fn t9_reload_gives_equal_stats_and_logs() {
    for durability in [Durability::Interval, Durability::Process, Durability::Power] {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(T0);
        let o = TrackerOptions {
            persist_logs: true,
            durability,
            ..opts()
        };
        let t = open(dir.path(), o.clone(), &clock);
        for i in 0..50u64 {
            clock.advance(7);
            let status = if i % 5 == 0 {
                UsageStatus::Error
            } else {
                UsageStatus::Success
            };
            track(
                &t,
                ["openai", "anthropic", "local"][i as usize % 3],
                i,
                2 * i,
                status,
            );
            if i == 20 {
                t.flush().unwrap();
            }
        }
        let before: Vec<_> = [None, Some("openai"), Some("anthropic"), Some("local")]
            .iter()
            .map(|b| t.stats(*b).unwrap())
            .collect();
        let logs_before = t.logs(None).unwrap();
        t.close().unwrap();
        drop(t);
        let t2 = open(dir.path(), o, &clock);
        let after: Vec<_> = [None, Some("openai"), Some("anthropic"), Some("local")]
            .iter()
            .map(|b| t2.stats(*b).unwrap())
            .collect();
        assert_eq!(before, after, "{durability:?}");
        assert_eq!(logs_before, t2.logs(None).unwrap(), "{durability:?}");
        assert_eq!(before[0].total_requests, 50);
        assert_eq!(before[0].error_count, 10);
        // Ids continue after a restart (T2).
        clock.advance(1);
        ok(&t2, "openai", 1);
        assert_eq!(t2.logs(None).unwrap().last().unwrap().seq, 51);
    }
}

#[test]
fn t9_events_after_the_snapshot_are_replayed_once() {
    // Hand-made crash state: the snapshot counts logs 1–2 (nextSeq 3); the
    // log file has 1–4, so 3 and 4 were written after it.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("llm-usage");
    std::fs::create_dir_all(&root).unwrap();
    let hour = T0 / 3_600_000 * 3_600_000;
    let snapshot = serde_json::json!({
        "formatVersion": 1, "perBridge": {}, "updatedAt": "2025-01-04T14:13:20.000Z",
        "nextSeq": 3,
        "rollups": {"a": [[hour, 2, 2, 2, 4, 0, T0 + 1]]}
    });
    std::fs::write(root.join("usage-stats.json"), snapshot.to_string()).unwrap();
    let mut lines = String::new();
    for seq in 1..=4 {
        lines.push_str(&format!(
            "{{\"id\":\"llm_log_{seq}_{ts}\",\"timestamp\":\"{iso}\",\"bridgeId\":\"a\",\"usage\":{{\"promptTokens\":1,\"completionTokens\":1,\"totalTokens\":2}},\"status\":\"success\"}}\n",
            ts = T0 + seq as i64 - 1,
            iso = usagebook_core::timefmt::format_iso_ms(T0 + seq as i64 - 1)
        ));
    }
    std::fs::write(root.join("usage-logs.jsonl"), &lines).unwrap();
    let clock = ManualClock::new(T0 + 100);
    let o = TrackerOptions {
        persist_logs: true,
        ..opts()
    };
    let t = open(dir.path(), o.clone(), &clock);
    let s = t.stats(Some("a")).unwrap();
    assert_eq!(s.total_requests, 4, "replayed twice or not at all");
    assert_eq!(s.total_tokens, 8);
    assert_eq!(s.last_used_at_ms, Some(T0 + 3));
    assert_eq!(t.logs(None).unwrap().len(), 4);
    assert!(t.health().recovery.iter().any(|n| n.contains("replayed 2")));
    t.close().unwrap();
    // And again: the recovery snapshot moved the watermark.
    let t = open(dir.path(), o, &clock);
    assert_eq!(t.stats(None).unwrap().total_requests, 4);
    assert_eq!(log_lines(dir.path()).len(), 4);
}

#[test]
fn t6_persist_logs_false_writes_no_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let t = open(dir.path(), opts(), &clock);
    ok(&t, "a", 1);
    t.close().unwrap();
    assert!(!dir.path().join("llm-usage/usage-logs.jsonl").exists());
    // Without persisted logs a restart restores totals, not logs (T9).
    let t = open(dir.path(), opts(), &clock);
    assert_eq!(t.stats(None).unwrap().total_requests, 1);
    assert!(t.logs(None).unwrap().is_empty());
}

#[test]
fn t7_log_rolls_over_the_count_cap_and_keeps_totals() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let o = TrackerOptions {
        persist_logs: true,
        max_logs: 10,
        flush_every_n_logs: 7,
        ..opts()
    };
    let t = open(dir.path(), o.clone(), &clock);
    for i in 0..100 {
        clock.advance(1);
        ok(&t, "a", i);
        t.tick().unwrap();
        assert!(
            log_lines(dir.path()).len() <= 10 + 2 + 7,
            "log file grew past the cap"
        );
    }
    t.close().unwrap();
    let lines = log_lines(dir.path());
    assert!(lines.len() <= 12, "{} lines", lines.len());
    assert!(lines.last().unwrap().contains("llm_log_100_"));
    let t = open(dir.path(), o, &clock);
    assert_eq!(t.stats(None).unwrap().total_requests, 100);
    let logs = t.logs(None).unwrap();
    assert_eq!(logs.len(), 10);
    assert_eq!(logs.first().unwrap().seq, 91);
}

#[test]
fn t7_log_rolls_over_the_byte_cap() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let o = TrackerOptions {
        persist_logs: true,
        max_log_bytes: Some(2_000),
        flush_every_n_logs: 5,
        ..opts()
    };
    let t = open(dir.path(), o, &clock);
    for i in 0..200 {
        ok(&t, "a", i);
    }
    t.close().unwrap();
    let size = std::fs::metadata(dir.path().join("llm-usage/usage-logs.jsonl"))
        .unwrap()
        .len();
    assert!(size <= 2_000 + 5 * 200, "{size} bytes");
    assert!(log_lines(dir.path())
        .last()
        .unwrap()
        .contains("llm_log_200_"));
}

#[test]
fn t5_clear_logs_is_persisted_across_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let o = TrackerOptions {
        persist_logs: true,
        ..opts()
    };
    let t = open(dir.path(), o.clone(), &clock);
    ok(&t, "a", 1);
    clock.advance(10);
    ok(&t, "a", 2);
    clock.advance(10);
    ok(&t, "b", 3);
    t.clear_logs(Some(T0 + 10)).unwrap();
    assert_eq!(t.stats(None).unwrap().total_requests, 2);
    t.close().unwrap();
    let t = open(dir.path(), o.clone(), &clock);
    assert_eq!(t.stats(None).unwrap().total_requests, 2);
    assert_eq!(t.stats(Some("a")).unwrap().prompt_tokens, 2);
    assert_eq!(t.logs(None).unwrap().len(), 2);
    assert_eq!(log_lines(dir.path()).len(), 2);
    t.clear_logs(None).unwrap();
    t.close().unwrap();
    let t = open(dir.path(), o, &clock);
    assert_eq!(t.stats(None).unwrap().total_requests, 0);
    assert!(t.stats(None).unwrap().last_used_at_ms.is_none());
    assert!(t.logs(None).unwrap().is_empty());
    ok(&t, "a", 1);
    assert_eq!(t.logs(None).unwrap()[0].seq, 4, "ids restarted after clear");
}

#[test]
fn t5_dated_clear_removes_rolled_out_history_by_the_hour() {
    let clock = ManualClock::new(T0);
    let t = usagebook_core::InMemoryTracker::with_clock(2, Arc::new(clock.clone())).unwrap();
    let h = 3_600_000;
    ok(&t, "a", 1); // hour 0, rolled out below
    clock.advance(2 * h);
    ok(&t, "a", 2); // hour 2, rolled out below
    clock.advance(2 * h);
    ok(&t, "a", 3); // hour 4
    ok(&t, "a", 4); // hour 4
    assert_eq!(t.stats(None).unwrap().total_requests, 4);
    t.clear_logs(Some(T0 + 3 * h)).unwrap();
    let s = t.stats(None).unwrap();
    assert_eq!(s.total_requests, 2);
    assert_eq!(s.prompt_tokens, 7);
}

#[test]
fn t11_a_second_tracker_on_the_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let t = open(dir.path(), opts(), &clock);
    let err = FileBackedTracker::open(dir.path(), opts())
        .err()
        .expect("second open succeeded");
    assert!(matches!(err, Error::Locked(_)), "{err}");
    assert!(err.to_string().contains("locked"));
    t.close().unwrap();
    drop(t);
    FileBackedTracker::open(dir.path(), opts())
        .unwrap()
        .close()
        .unwrap();
}

/// Issue 11 #11: deleting `.lock` under an open tracker used to let a
/// second opener in (it made a new `.lock` and locked that).
#[test]
fn t11_a_deleted_lock_file_does_not_let_a_second_tracker_in() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let t = open(dir.path(), opts(), &clock);
    std::fs::remove_file(dir.path().join("llm-usage/.lock")).unwrap();
    let err = FileBackedTracker::open(dir.path(), opts())
        .err()
        .expect("a second tracker opened the directory");
    assert!(matches!(err, Error::Locked(_)), "{err}");
    t.close().unwrap();
    drop(t);
    FileBackedTracker::open(dir.path(), opts())
        .unwrap()
        .close()
        .unwrap();
}

#[test]
fn x2_health_reports_queue_and_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let t = open(
        dir.path(),
        TrackerOptions {
            durability: Durability::Process,
            ..opts()
        },
        &clock,
    );
    ok(&t, "a", 1);
    ok(&t, "a", 1);
    let h = t.health();
    assert_eq!(h.kind, "file");
    assert_eq!(h.durability, Some("process"));
    assert_eq!(h.queue_depth, 2);
    assert!(h.pending_bytes > 0);
    assert_eq!(h.last_flush_ms, None);
    t.flush().unwrap();
    let h = t.health();
    assert_eq!(h.queue_depth, 0);
    assert_eq!(h.last_flush_ms, Some(T0));
    assert!(h.last_error.is_none());
    assert_eq!(h.to_json()["durability"], "process");
}

#[test]
fn t1_reads_a_snapshot_written_by_the_seed_js_tracker() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("llm-usage");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("usage-stats.json"),
        r#"{"perBridge":{"openai":{"totalRequests":3,"promptTokens":30,"completionTokens":15,"totalTokens":45,"averageTokensPerRequest":15,"lastUsedAt":"2025-01-04T14:13:20.000Z","errorCount":1}},"updatedAt":"2025-01-04T14:13:21.000Z"}"#,
    )
    .unwrap();
    let clock = ManualClock::new(T0 + 5000);
    let t = open(dir.path(), opts(), &clock);
    let s = t.stats(Some("openai")).unwrap();
    assert_eq!(
        (s.total_requests, s.total_tokens, s.error_count),
        (3, 45, 1)
    );
    assert_eq!(s.last_used_at_ms, Some(T0));
}

#[test]
fn x1_bad_options_and_input_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let e = FileBackedTracker::open(
        dir.path(),
        TrackerOptions {
            max_logs: 0,
            ..opts()
        },
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("maxLogs"));
    let e = FileBackedTracker::open("", opts()).err().unwrap();
    assert!(e.to_string().contains("baseDir"));
    let clock = ManualClock::new(T0);
    let t = open(dir.path(), opts(), &clock);
    let e = t
        .track(&NewUsageLog::new("", Usage::default()))
        .unwrap_err();
    assert!(e.to_string().contains("bridgeId"));
    let mut bad = NewUsageLog::new("a", Usage::default());
    bad.duration_ms = Some(f64::NAN);
    assert!(t.track(&bad).is_err());
    assert_eq!(t.stats(None).unwrap().total_requests, 0);
}
