//! The rollup archive (issue 11 #10): closed days leave the snapshot for
//! files of their own, so a flush and an open cost the same whatever the
//! history; totals, reports, clears and recovery stay exact.

use std::path::Path;
use std::sync::Arc;
use usagebook_core::{
    FileBackedTracker, ManualClock, NewUsageLog, TrackerOptions, Usage, UsageTracker,
};

const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;
/// 2025-01-04T00:00:00Z.
const D0: i64 = 1_735_948_800_000;

fn opts() -> TrackerOptions {
    TrackerOptions {
        persist_logs: true,
        flush_every_n_logs: 1_000_000,
        ..TrackerOptions::default()
    }
}

fn open(dir: &Path, clock: &Arc<ManualClock>) -> FileBackedTracker {
    FileBackedTracker::open_with_clock(dir, opts(), clock.clone()).unwrap()
}

fn day_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.join("llm-usage/rollups"))
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn snapshot(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("llm-usage/usage-stats.json")).unwrap()).unwrap()
}

/// Ten days of 24 hourly calls on 3 bridges, a flush each hour.
fn ten_days(dir: &Path, clock: &Arc<ManualClock>) -> FileBackedTracker {
    let t = open(dir, clock);
    for h in 0..240 {
        clock.set(D0 + h * HOUR + 60_000);
        for b in ["a", "b", "c"] {
            t.track(&NewUsageLog::new(b, Usage::new(10, 5, 15)))
                .unwrap();
        }
        t.flush().unwrap();
    }
    t
}

/// One call of bridge `a` made on day 2 (closed, archived), tracked now,
/// as an import does.
fn late_call_on_day_2(t: &FileBackedTracker) {
    let id = t.intern_bridge("a").unwrap();
    t.track_interned_batch(&[usagebook_core::InternedLog {
        bridge: id,
        usage: Usage::new(1, 1, 2),
        duration_ms: None,
        status: usagebook_core::UsageStatus::Success,
        timestamp_ms: D0 + DAY + 5 * HOUR,
    }])
    .unwrap();
}

#[test]
fn t5_closed_days_leave_the_snapshot_and_totals_stay_exact() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(D0));
    let t = ten_days(dir.path(), &clock);
    let s = t.stats(None).unwrap();
    assert_eq!((s.total_requests, s.total_tokens), (720, 720 * 15));
    // Nine closed days in files, one file each (the newest generation);
    // the snapshot holds only today's 24 hours of each bridge.
    let files = day_files(dir.path());
    let days: std::collections::BTreeSet<&str> = files.iter().map(|f| &f[..10]).collect();
    assert_eq!(days.len(), 9, "{files:?}");
    assert_eq!(days.first(), Some(&"2025-01-04"));
    let snap = snapshot(dir.path());
    assert_eq!(snap["formatVersion"], 3);
    assert_eq!(snap["rollups"]["a"].as_array().unwrap().len(), 24);
    assert_eq!(snap["perBridge"]["a"]["totalRequests"], 240);
    assert_eq!(snap["archive"]["totals"]["a"][1], 216);
    t.close().unwrap();

    // Reopen: exact, and the report (which reads the day files) agrees.
    let t = open(dir.path(), &clock);
    assert_eq!(t.stats(Some("b")).unwrap().total_requests, 240);
    t.close().unwrap();
    let r = usagebook_core::report::read(dir.path()).unwrap();
    assert_eq!(r.total.total_requests, 720);
    assert!(r.notes.is_empty(), "{:?}", r.notes);
    let h = usagebook_core::report::read_history(dir.path()).unwrap();
    let first_day = h
        .entries
        .iter()
        .filter(|e| e.ts_ms >= D0 && e.ts_ms < D0 + DAY)
        .map(|e| e.requests)
        .sum::<u64>();
    assert_eq!(first_day, 72, "hour detail of an archived day is kept");
}

#[test]
fn t5_late_events_for_a_closed_day_are_merged_into_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(D0));
    let t = ten_days(dir.path(), &clock);
    // An import of a call made on day 2.
    late_call_on_day_2(&t);
    t.flush().unwrap();
    t.close().unwrap();
    let h = usagebook_core::report::read_history(dir.path()).unwrap();
    let day2: u64 = h
        .entries
        .iter()
        .filter(|e| e.bridge == "a" && e.ts_ms >= D0 + DAY && e.ts_ms < D0 + 2 * DAY)
        .map(|e| e.requests)
        .sum();
    assert_eq!(day2, 25);
    let t = open(dir.path(), &clock);
    assert_eq!(t.stats(Some("a")).unwrap().total_requests, 241);
    t.close().unwrap();
}

#[test]
fn t5_clear_logs_reaches_into_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(D0));
    let t = ten_days(dir.path(), &clock);
    // Everything before day 3 noon goes: 2.5 days of 72 a day.
    t.clear_logs(Some(D0 + 2 * DAY + 12 * HOUR)).unwrap();
    let left = 720 - 72 * 2 - 36;
    assert_eq!(t.stats(None).unwrap().total_requests, left);
    t.close().unwrap();
    let t = open(dir.path(), &clock);
    assert_eq!(t.stats(None).unwrap().total_requests, left);
    let r = usagebook_core::report::read(dir.path()).unwrap();
    assert_eq!(r.total.total_requests, left);
    t.clear_logs(None).unwrap();
    assert_eq!(t.stats(None).unwrap().total_requests, 0);
    t.close().unwrap();
    let t = open(dir.path(), &clock);
    assert_eq!(t.stats(None).unwrap().total_requests, 0);
    assert_eq!(
        usagebook_core::report::read(dir.path())
            .unwrap()
            .total
            .total_requests,
        0
    );
    t.close().unwrap();
}

#[test]
fn t10_a_day_file_written_before_a_crash_without_its_snapshot_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(D0));
    let t = ten_days(dir.path(), &clock);
    t.close().unwrap();
    let snap = snapshot(dir.path());
    let generation = snap["archive"]["generation"].as_u64().unwrap();
    // A file of the next generation, as a crash between the day file and
    // the snapshot leaves it: claims 1000 requests on day 1.
    let rollups = dir.path().join("llm-usage/rollups");
    let committed = day_files(dir.path())
        .into_iter()
        .find(|f| f.starts_with("2025-01-04"))
        .unwrap();
    let text = std::fs::read_to_string(rollups.join(&committed)).unwrap();
    std::fs::write(
        rollups.join(format!("2025-01-04.g{:010}.json", generation + 1)),
        text.replace(",24,", ",1000,"),
    )
    .unwrap();
    let t = open(dir.path(), &clock);
    assert_eq!(t.stats(None).unwrap().total_requests, 720);
    t.close().unwrap();
    assert_eq!(
        usagebook_core::report::read(dir.path())
            .unwrap()
            .total
            .total_requests,
        720
    );
    assert!(!day_files(dir.path())
        .iter()
        .any(|f| f.contains(&format!("g{:010}", generation + 1)) && f.starts_with("2025-01-04")));
}

#[test]
fn t10_a_damaged_snapshot_falls_back_to_the_backup_plus_replay_with_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(D0));
    let t = ten_days(dir.path(), &clock);
    t.close().unwrap();
    // One digit of a count changed: valid JSON, wrong totals, caught by the
    // checksum.
    let p = dir.path().join("llm-usage/usage-stats.json");
    let text = std::fs::read_to_string(&p).unwrap();
    let damaged = text.replacen("\"totalRequests\":240", "\"totalRequests\":241", 1);
    assert_ne!(text, damaged);
    std::fs::write(&p, damaged).unwrap();
    let t = open(dir.path(), &clock);
    assert_eq!(t.stats(None).unwrap().total_requests, 720);
    let notes = t.health().recovery.join("; ");
    assert!(
        notes.contains("checksum") && notes.contains(".bak"),
        "{notes}"
    );
    t.close().unwrap();
}

/// Found by the tracker_dir fuzz target: one damaged day file made every
/// flush that needed that day fail, so `close` failed for good. Now the
/// file is moved aside (T10), health says so, totals stay exact and the
/// tracker keeps flushing.
#[test]
fn t10_a_damaged_day_file_is_moved_aside_and_the_tracker_keeps_flushing() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(D0));
    ten_days(dir.path(), &clock).close().unwrap();
    let rollups = dir.path().join("llm-usage/rollups");
    let day2 = day_files(dir.path())
        .into_iter()
        .find(|f| f.starts_with("2025-01-05"))
        .unwrap();
    let text = std::fs::read_to_string(rollups.join(&day2)).unwrap();
    std::fs::write(rollups.join(&day2), &text[..text.len() / 2]).unwrap();

    let t = open(dir.path(), &clock);
    // A late call on the damaged day: its file must be read to merge it.
    late_call_on_day_2(&t);
    t.flush().unwrap();
    let h = t.health();
    assert!(
        h.recovery.iter().any(|n| n.contains("moved aside")),
        "{:?}",
        h.recovery
    );
    assert_eq!(t.stats(Some("a")).unwrap().total_requests, 241);
    t.close().unwrap();
    let aside: Vec<String> = std::fs::read_dir(&rollups)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1, "the damaged file is kept aside");
    let t = open(dir.path(), &clock);
    assert_eq!(t.stats(None).unwrap().total_requests, 721);
    t.close().unwrap();
}
