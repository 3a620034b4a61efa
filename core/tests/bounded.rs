//! Bounded cost (issue 11 #9, #10): the log's byte cap holds at every
//! moment, and opening reads only the end of the log.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use usagebook_core::{FileBackedTracker, NewUsageLog, TrackerOptions, Usage, UsageTracker};

fn log_path(dir: &Path) -> std::path::PathBuf {
    dir.join("llm-usage/usage-logs.jsonl")
}

/// Issue 11 #9: a 10 KB cap used to reach 16.5 MB while a large batch was
/// appended before the trim. A watcher samples the size while batches of
/// 20,000 logs are flushed.
#[test]
fn t7_max_log_bytes_holds_at_every_moment() {
    let dir = tempfile::tempdir().unwrap();
    let cap = 10_000u64;
    let t = FileBackedTracker::open(
        dir.path(),
        TrackerOptions {
            persist_logs: true,
            max_log_bytes: Some(cap),
            flush_every_n_logs: 1_000_000,
            flush_interval_ms: 3_600_000,
            ..TrackerOptions::default()
        },
    )
    .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let largest = Arc::new(AtomicU64::new(0));
    let samples = Arc::new(AtomicU64::new(0));
    let watcher = {
        let (stop, largest, samples) = (stop.clone(), largest.clone(), samples.clone());
        let path = log_path(dir.path());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Ok(m) = std::fs::metadata(&path) {
                    largest.fetch_max(m.len(), Ordering::Relaxed);
                    samples.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    for round in 0..3 {
        for i in 0..20_000u64 {
            t.track(&NewUsageLog::new("openai", Usage::new(i, round, i + round)))
                .unwrap();
        }
        t.flush().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    watcher.join().unwrap();
    assert!(
        samples.load(Ordering::Relaxed) > 10,
        "the watcher never saw the file"
    );
    let seen = largest.load(Ordering::Relaxed);
    assert!(
        seen <= cap,
        "the log reached {seen} bytes under a cap of {cap}"
    );
    assert!(
        seen > cap / 2,
        "the log stayed at {seen} bytes: nothing was written?"
    );
    assert_eq!(t.stats(None).unwrap().total_requests, 60_000);
    t.close().unwrap();
}

/// Issue 11 #10: opening used to parse the whole log (9.7 s and 2.1 GB for
/// 1.35 GB), even with `persistLogs: false`. Lines at the start of the file
/// that only a whole-file read would meet are never read now: garbage put
/// there goes unnoticed, while the totals and the retained logs are right.
#[test]
fn t9_open_reads_only_the_end_of_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let opts = TrackerOptions {
        persist_logs: true,
        max_logs: 100,
        // No roll: the file keeps all 20,000 lines.
        flush_every_n_logs: 1_000_000,
        ..TrackerOptions::default()
    };
    let t = FileBackedTracker::open(
        dir.path(),
        TrackerOptions {
            max_logs: 100_000,
            ..opts.clone()
        },
    )
    .unwrap();
    for i in 0..20_000u64 {
        t.track(&NewUsageLog::new("openai", Usage::new(i, 1, i + 1)))
            .unwrap();
    }
    t.close().unwrap();
    let path = log_path(dir.path());
    let mut text = "not a log line\n".repeat(1_000);
    text.push_str(&std::fs::read_to_string(&path).unwrap());
    std::fs::write(&path, text).unwrap();
    for persist in [true, false] {
        let t = FileBackedTracker::open(
            dir.path(),
            TrackerOptions {
                persist_logs: persist,
                ..opts.clone()
            },
        )
        .unwrap();
        let s = t.stats(None).unwrap();
        assert_eq!(s.total_requests, 20_000);
        let notes = t.health().recovery.join("; ");
        assert!(
            !notes.contains("malformed"),
            "the start of the log was read: {notes}"
        );
        if persist {
            let logs = t.logs(None).unwrap();
            assert_eq!(logs.len(), 100);
            assert_eq!(logs.last().unwrap().usage.prompt_tokens, 19_999);
        }
        t.close().unwrap();
    }
}

/// Events past the snapshot are still replayed from the end of the log.
#[test]
fn t9_events_past_the_snapshot_are_replayed_from_the_tail() {
    let dir = tempfile::tempdir().unwrap();
    // 10,000 retained while writing (no roll of the 8,000 lines), 10 at the
    // last open: it reads back to the 10th line below the watermark.
    let opts = TrackerOptions {
        persist_logs: true,
        flush_every_n_logs: 1_000_000,
        ..TrackerOptions::default()
    };
    let t = FileBackedTracker::open(dir.path(), opts.clone()).unwrap();
    for i in 0..5_000u64 {
        t.track(&NewUsageLog::new("a", Usage::new(i, 1, i + 1)))
            .unwrap();
    }
    t.close().unwrap();
    let snap = dir.path().join("llm-usage/usage-stats.json");
    let kept = std::fs::read(&snap).unwrap();
    // 3,000 more, then the snapshot taken back to the one of 5,000: the
    // log's last 3,000 lines are past its watermark.
    let t = FileBackedTracker::open(dir.path(), opts.clone()).unwrap();
    for i in 0..3_000u64 {
        t.track(&NewUsageLog::new("b", Usage::new(i, 1, i + 1)))
            .unwrap();
    }
    t.close().unwrap();
    std::fs::write(&snap, kept).unwrap();
    std::fs::remove_file(dir.path().join("llm-usage/usage-stats.json.bak")).unwrap();
    let t = FileBackedTracker::open(
        dir.path(),
        TrackerOptions {
            max_logs: 10,
            ..opts
        },
    )
    .unwrap();
    assert_eq!(t.stats(Some("a")).unwrap().total_requests, 5_000);
    assert_eq!(t.stats(Some("b")).unwrap().total_requests, 3_000);
    t.close().unwrap();
}
