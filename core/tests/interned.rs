//! The bindings' fast path: `intern_bridge` once, then `track_interned`
//! (or `track_interned_batch`) with scalars. It must behave exactly like
//! `track` (T2, T4, T9, X1).

use std::path::Path;
use std::sync::Arc;
use usagebook_core::{
    Durability, Error, FileBackedTracker, InMemoryTracker, InternedLog, ManualClock, NewUsageLog,
    NoOpTracker, TrackerOptions, Usage, UsageStatus, UsageTracker,
};

const T0: i64 = 1_736_000_000_000;

fn usage(p: u64, c: u64) -> Usage {
    Usage::new(p, c, p + c)
}

fn memory(clock: &ManualClock, max_logs: usize) -> InMemoryTracker {
    InMemoryTracker::with_clock(max_logs, Arc::new(clock.clone())).unwrap()
}

#[test]
fn t2_track_interned_matches_track() {
    let clock = ManualClock::new(T0);
    let (slow, fast) = (memory(&clock, 3), memory(&clock, 3));
    let a = fast.intern_bridge("a").unwrap();
    let b = fast.intern_bridge("b").unwrap();
    assert_eq!(
        fast.intern_bridge("a").unwrap(),
        a,
        "interning is idempotent"
    );
    let steps = [
        ("a", a, 10, 5, Some(120.0), UsageStatus::Success),
        ("b", b, 1, 2, None, UsageStatus::Error),
        ("a", a, 7, 0, Some(0.5), UsageStatus::Success),
        ("a", a, 3, 3, None, UsageStatus::Error),
    ];
    for (i, (name, handle, p, c, d, s)) in steps.into_iter().enumerate() {
        clock.set(T0 + i as i64);
        slow.track(&NewUsageLog {
            bridge_id: name,
            usage: usage(p, c),
            duration_ms: d,
            status: s,
        })
        .unwrap();
        fast.track_interned(handle, usage(p, c), d, s).unwrap();
    }
    for bridge in [None, Some("a"), Some("b"), Some("zzz")] {
        assert_eq!(slow.logs(bridge).unwrap(), fast.logs(bridge).unwrap());
        assert_eq!(slow.stats(bridge).unwrap(), fast.stats(bridge).unwrap());
    }
    // Handles survive clearLogs; ids keep counting (T2).
    fast.clear_logs(None).unwrap();
    fast.track_interned(a, usage(1, 1), None, UsageStatus::Success)
        .unwrap();
    assert_eq!(fast.logs(None).unwrap()[0].seq, 5);
}

#[test]
fn x1_bad_handle_duration_or_name_records_nothing() {
    let clock = ManualClock::new(T0);
    let t = memory(&clock, 10);
    assert!(matches!(
        t.intern_bridge(""),
        Err(Error::InvalidArgument(m)) if m.contains("bridgeId")
    ));
    let a = t.intern_bridge("a").unwrap();
    let e = t
        .track_interned(a + 1, usage(1, 1), None, UsageStatus::Success)
        .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    for d in [-1.0, f64::NAN, f64::INFINITY] {
        let e = t
            .track_interned(a, usage(1, 1), Some(d), UsageStatus::Success)
            .unwrap_err();
        assert!(e.to_string().contains("durationMs"), "{e}");
    }
    assert_eq!(t.stats(None).unwrap().total_requests, 0);
    t.track_interned(a, usage(1, 1), None, UsageStatus::Success)
        .unwrap();
    assert_eq!(t.logs(None).unwrap()[0].seq, 1, "a refused call uses no id");
    t.close().unwrap();
    assert!(matches!(t.intern_bridge("a"), Err(Error::Closed)));
    assert!(matches!(
        t.track_interned(a, usage(1, 1), None, UsageStatus::Success),
        Err(Error::Closed)
    ));
}

#[test]
fn t12_noop_interned_records_nothing_but_still_validates() {
    let t = NoOpTracker::new();
    let h = t.intern_bridge("a").unwrap();
    t.track_interned(h, usage(1, 1), None, UsageStatus::Success)
        .unwrap();
    assert!(t.intern_bridge("").is_err());
    assert!(t
        .track_interned(h, usage(1, 1), Some(-1.0), UsageStatus::Success)
        .is_err());
    assert_eq!(t.stats(None).unwrap().total_requests, 0);
}

fn open(dir: &Path, durability: Durability, clock: &ManualClock) -> FileBackedTracker {
    let opts = TrackerOptions {
        flush_interval_ms: 1_000,
        flush_every_n_logs: 2,
        persist_logs: true,
        durability,
        ..TrackerOptions::default()
    };
    FileBackedTracker::open_with_clock(dir, opts, Arc::new(clock.clone())).unwrap()
}

#[test]
fn t9_file_backed_interned_survives_reopen_in_every_mode() {
    for durability in [Durability::Interval, Durability::Process, Durability::Power] {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(T0);
        let t = open(dir.path(), durability, &clock);
        let a = t.intern_bridge("openai").unwrap();
        let b = t.intern_bridge("anthropic").unwrap();
        for i in 0..5u64 {
            clock.set(T0 + i as i64);
            let (h, s) = if i % 2 == 0 {
                (a, UsageStatus::Success)
            } else {
                (b, UsageStatus::Error)
            };
            t.track_interned(h, usage(i, 1), Some(i as f64), s).unwrap();
        }
        let (logs, stats) = (t.logs(None).unwrap(), t.stats(None).unwrap());
        assert_eq!(stats.total_requests, 5);
        assert_eq!(stats.error_count, 2);
        t.close().unwrap();
        let again = open(dir.path(), durability, &clock);
        assert_eq!(again.logs(None).unwrap(), logs, "{durability:?}");
        assert_eq!(again.stats(None).unwrap(), stats, "{durability:?}");
        assert_eq!(
            again.stats(Some("anthropic")).unwrap().total_requests,
            2,
            "{durability:?}"
        );
        again.close().unwrap();
    }
}

#[test]
fn t8_interned_tracks_wake_the_writer_at_flush_every_n() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let t = open(dir.path(), Durability::Interval, &clock);
    let a = t.intern_bridge("a").unwrap();
    t.track_interned(a, usage(1, 1), None, UsageStatus::Success)
        .unwrap();
    t.track_interned(a, usage(1, 1), None, UsageStatus::Success)
        .unwrap();
    // flushEveryNLogs = 2: the writer was woken; no clock movement needed.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    // The queue empties when the writer takes the batch; the flush count
    // moves once the batch is on disk: wait for the latter.
    while t.health().flush_count == 0 {
        assert!(std::time::Instant::now() < deadline, "writer never flushed");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(t.health().flush_count, 1);
    assert_eq!(t.health().queue_depth, 0);
    t.close().unwrap();
    assert!(matches!(t.intern_bridge("a"), Err(Error::Closed)));
}

fn batch_of(handles: &[u32]) -> Vec<InternedLog> {
    handles
        .iter()
        .enumerate()
        .map(|(i, &h)| InternedLog {
            bridge: h,
            usage: usage(i as u64 + 1, 2),
            duration_ms: (i % 2 == 0).then_some(i as f64 * 10.0),
            status: if i % 3 == 2 {
                UsageStatus::Error
            } else {
                UsageStatus::Success
            },
            timestamp_ms: T0 + i as i64 * 7,
        })
        .collect()
}

#[test]
fn t2_batch_matches_one_track_per_log_at_the_hosts_timestamps() {
    let clock = ManualClock::new(0);
    let (slow, fast) = (memory(&clock, 4), memory(&clock, 4));
    let (a, b) = (
        fast.intern_bridge("a").unwrap(),
        fast.intern_bridge("b").unwrap(),
    );
    let batch = batch_of(&[a, b, a, a, b, a]);
    for l in &batch {
        clock.set(l.timestamp_ms);
        let name = if l.bridge == a { "a" } else { "b" };
        slow.track(&NewUsageLog {
            bridge_id: name,
            usage: l.usage,
            duration_ms: l.duration_ms,
            status: l.status,
        })
        .unwrap();
    }
    clock.set(0); // the batch carries its own timestamps
    fast.track_interned_batch(&batch[..2]).unwrap();
    fast.track_interned_batch(&batch[2..]).unwrap();
    for bridge in [None, Some("a"), Some("b")] {
        assert_eq!(slow.logs(bridge).unwrap(), fast.logs(bridge).unwrap());
        assert_eq!(slow.stats(bridge).unwrap(), fast.stats(bridge).unwrap());
    }
}

#[test]
fn x1_one_bad_log_refuses_the_whole_batch() {
    let clock = ManualClock::new(T0);
    let t = memory(&clock, 10);
    let a = t.intern_bridge("a").unwrap();
    let mut batch = batch_of(&[a, a, a]);
    batch[2].duration_ms = Some(-5.0);
    assert!(t.track_interned_batch(&batch).is_err());
    batch[2].duration_ms = None;
    batch[1].bridge = 99;
    assert!(t.track_interned_batch(&batch).is_err());
    assert_eq!(t.stats(None).unwrap().total_requests, 0);
    // The no-op tracker has no handles to check, but still checks values.
    let mut bad_duration = batch_of(&[0, 0]);
    bad_duration[1].duration_ms = Some(f64::NAN);
    assert!(NoOpTracker::new()
        .track_interned_batch(&bad_duration)
        .is_err());
    let dir = tempfile::tempdir().unwrap();
    let f = open(dir.path(), Durability::Interval, &clock);
    assert!(f.track_interned_batch(&batch).is_err());
    assert_eq!(f.stats(None).unwrap().total_requests, 0);
    assert_eq!(f.health().queue_depth, 0);
    f.close().unwrap();
    assert!(matches!(
        f.track_interned_batch(&batch_of(&[a])),
        Err(Error::Closed)
    ));
}

#[test]
fn t9_file_backed_batches_survive_reopen_and_wake_the_writer() {
    for durability in [Durability::Interval, Durability::Process, Durability::Power] {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(T0);
        // flushEveryNLogs = 2: a batch of 3 jumps over the trigger and must
        // still wake the writer (interval mode).
        let t = open(dir.path(), durability, &clock);
        let (a, b) = (t.intern_bridge("a").unwrap(), t.intern_bridge("b").unwrap());
        t.track_interned_batch(&batch_of(&[a, b, a])).unwrap();
        if durability == Durability::Interval {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while t.health().flush_count == 0 {
                assert!(std::time::Instant::now() < deadline, "writer never woke");
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
        t.track_interned_batch(&[]).unwrap();
        let (logs, stats) = (t.logs(None).unwrap(), t.stats(None).unwrap());
        assert_eq!(stats.total_requests, 3);
        assert_eq!(stats.last_used_at_ms, Some(T0 + 14));
        t.close().unwrap();
        let again = open(dir.path(), durability, &clock);
        assert_eq!(again.logs(None).unwrap(), logs, "{durability:?}");
        assert_eq!(again.stats(None).unwrap(), stats, "{durability:?}");
        again.close().unwrap();
    }
}

#[test]
fn t5_batched_history_clears_by_the_hour_like_single_tracks() {
    // 15 (bridge, hour) keys in one batch, more than the batch folds at once,
    // and a cap of 4 so a dated clear reaches history only the rollups keep.
    const HOUR: i64 = 3_600_000;
    let clock = ManualClock::new(0);
    let (slow, fast) = (memory(&clock, 4), memory(&clock, 4));
    let names = ["a", "b", "c"];
    let handles: Vec<u32> = names
        .iter()
        .map(|n| fast.intern_bridge(n).unwrap())
        .collect();
    let batch: Vec<InternedLog> = (0..30)
        .map(|i| InternedLog {
            bridge: handles[i % 3],
            usage: usage(i as u64, 1),
            duration_ms: None,
            status: if i % 4 == 0 {
                UsageStatus::Error
            } else {
                UsageStatus::Success
            },
            timestamp_ms: T0 + (i as i64 % 5) * HOUR + i as i64,
        })
        .collect();
    for (i, l) in batch.iter().enumerate() {
        clock.set(l.timestamp_ms);
        slow.track(&NewUsageLog {
            bridge_id: names[i % 3],
            usage: l.usage,
            duration_ms: None,
            status: l.status,
        })
        .unwrap();
    }
    fast.track_interned_batch(&batch).unwrap();
    for cutoff in [T0 + 2 * HOUR + HOUR / 2, T0 + 4 * HOUR] {
        slow.clear_logs(Some(cutoff)).unwrap();
        fast.clear_logs(Some(cutoff)).unwrap();
        for bridge in [None, Some("a"), Some("b"), Some("c")] {
            assert_eq!(slow.stats(bridge).unwrap(), fast.stats(bridge).unwrap());
            assert_eq!(slow.logs(bridge).unwrap(), fast.logs(bridge).unwrap());
        }
    }
    assert!(fast.stats(None).unwrap().total_requests > 0);
}
