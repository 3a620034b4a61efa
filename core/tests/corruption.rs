//! Corrupted inputs (T10): recovery never destroys data and never fails on
//! damage it can work around; it refuses only what it must not touch.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use usagebook_core::{
    Durability, Error, FileBackedTracker, ManualClock, NewUsageLog, TrackerOptions, Usage,
    UsageTracker,
};

const T0: i64 = 1_736_000_000_000;

fn o() -> TrackerOptions {
    TrackerOptions {
        persist_logs: true,
        flush_every_n_logs: 1_000_000,
        ..TrackerOptions::default()
    }
}

fn open(dir: &Path, opts: TrackerOptions) -> Result<FileBackedTracker, Error> {
    FileBackedTracker::open_with_clock(dir, opts, Arc::new(ManualClock::new(T0 + 1_000_000)))
}

fn track_n(t: &dyn UsageTracker, n: u64) {
    for i in 0..n {
        t.track(&NewUsageLog::new("a", Usage::new(i, 1, i + 1)))
            .unwrap();
    }
}

/// 10 logs, then a flush (snapshot 1, becomes the backup), 5 more, a flush
/// (snapshot 2), 3 more and close (snapshot 3). 18 logs in the JSONL file.
fn populated() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let t = open(dir.path(), o()).unwrap();
    track_n(&t, 10);
    t.flush().unwrap();
    track_n(&t, 5);
    t.flush().unwrap();
    track_n(&t, 3);
    t.close().unwrap();
    dir
}

fn p(dir: &Path, name: &str) -> PathBuf {
    dir.join("llm-usage").join(name)
}

fn aside_files(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir.join("llm-usage"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .collect()
}

#[test]
fn t10_garbage_snapshot_falls_back_to_backup_plus_log_replay() {
    let dir = populated();
    std::fs::write(p(dir.path(), "usage-stats.json"), b"\x00\x13garbage{{{").unwrap();
    let t = open(dir.path(), o()).unwrap();
    assert_eq!(t.stats(None).unwrap().total_requests, 18);
    let moved = aside_files(dir.path(), "usage-stats.json.corrupt-");
    assert_eq!(moved.len(), 1, "garbage was not kept aside");
    assert_eq!(std::fs::read(&moved[0]).unwrap(), b"\x00\x13garbage{{{");
    let notes = t.health().recovery.join("; ");
    assert!(
        notes.contains("moved aside") && notes.contains(".bak"),
        "{notes}"
    );
}

#[test]
fn t10_empty_snapshot_and_no_backup_rebuilds_from_the_log() {
    let dir = populated();
    std::fs::write(p(dir.path(), "usage-stats.json"), b"").unwrap();
    std::fs::remove_file(p(dir.path(), "usage-stats.json.bak")).unwrap();
    let t = open(dir.path(), o()).unwrap();
    assert_eq!(t.stats(None).unwrap().total_requests, 18);
    assert_eq!(
        aside_files(dir.path(), "usage-stats.json.corrupt-").len(),
        1
    );
}

#[test]
fn t10_truncated_log_tail_is_skipped_and_truncated() {
    let dir = populated();
    let logs = p(dir.path(), "usage-logs.jsonl");
    let mut bytes = std::fs::read(&logs).unwrap();
    let full = bytes.len();
    bytes.extend_from_slice(b"{\"id\":\"llm_log_19_1736");
    std::fs::write(&logs, &bytes).unwrap();
    let t = open(dir.path(), o()).unwrap();
    assert_eq!(t.stats(None).unwrap().total_requests, 18);
    assert_eq!(std::fs::metadata(&logs).unwrap().len(), full as u64);
    assert_eq!(aside_files(dir.path(), "usage-logs.jsonl.tail-").len(), 1);
    // Appends continue on a clean line.
    track_n(&t, 1);
    t.close().unwrap();
    let t = open(dir.path(), o()).unwrap();
    assert_eq!(t.stats(None).unwrap().total_requests, 19);
    assert_eq!(t.logs(None).unwrap().len(), 19);
}

#[test]
fn t10_half_written_temp_file_is_ignored() {
    let dir = populated();
    std::fs::write(
        p(dir.path(), "usage-stats.json.tmp"),
        b"{\"formatVersion\":1,\"perBr",
    )
    .unwrap();
    let t = open(dir.path(), o()).unwrap();
    assert_eq!(t.stats(None).unwrap().total_requests, 18);
    assert!(t.health().recovery.is_empty(), "{:?}", t.health().recovery);
    track_n(&t, 1);
    t.close().unwrap();
    assert_eq!(
        open(dir.path(), o())
            .unwrap()
            .stats(None)
            .unwrap()
            .total_requests,
        19
    );
}

#[test]
fn t10_snapshot_from_a_future_version_is_refused_and_left_untouched() {
    let dir = populated();
    let path = p(dir.path(), "usage-stats.json");
    let future = br#"{"formatVersion":99,"perBridge":{},"updatedAt":"2030-01-01T00:00:00.000Z"}"#;
    std::fs::write(&path, future).unwrap();
    let err = open(dir.path(), o()).err().expect("opened a future format");
    assert!(
        matches!(err, Error::UnsupportedFormat { found: 99, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("upgrade"));
    assert_eq!(std::fs::read(&path).unwrap(), future);
    // The lock was released on the failed open: fixing the file works.
    std::fs::remove_file(&path).unwrap();
    assert_eq!(
        open(dir.path(), o())
            .unwrap()
            .stats(None)
            .unwrap()
            .total_requests,
        18
    );
}

#[test]
fn t10_garbage_journal_segment_keeps_intact_records() {
    let dir = tempfile::tempdir().unwrap();
    let opts = TrackerOptions {
        durability: Durability::Process,
        ..o()
    };
    let t = open(dir.path(), opts.clone()).unwrap();
    track_n(&t, 4);
    t.close().unwrap();
    let jdir = dir.path().join("llm-usage/journal");
    std::fs::create_dir_all(&jdir).unwrap();
    std::fs::write(
        jdir.join("seg-0000000000000001.ubj"),
        b"not a journal at all",
    )
    .unwrap();
    let t = open(dir.path(), opts).unwrap();
    assert_eq!(t.stats(None).unwrap().total_requests, 4);
    assert!(t.health().recovery.join(" ").contains("journal"));
}

/// Copies a tracker directory that a live, idle tracker owns (its writer
/// waits on a manual clock, so nothing moves): what a `kill -9` would leave.
fn copy_of_live(dir: &Path) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    let st = std::process::Command::new("cp")
        .arg("-a")
        .arg(dir.join("llm-usage"))
        .arg(copy.path())
        .status()
        .unwrap();
    assert!(st.success());
    copy
}

/// Issue 11 #6: one flipped bit in a journal segment used to lose every
/// later record (0 of 100 recovered) and the segment was deleted. Now it
/// costs the one record it hit, and the segment is moved aside intact.
#[test]
fn t10_a_flipped_bit_in_the_journal_loses_one_record_and_the_segment_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let opts = TrackerOptions {
        durability: Durability::Process,
        persist_logs: false,
        ..o()
    };
    let t = open(dir.path(), opts.clone()).unwrap();
    track_n(&t, 100);
    let copy = copy_of_live(dir.path());
    std::mem::forget(t);
    let jdir = copy.path().join("llm-usage/journal");
    let seg = std::fs::read_dir(&jdir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "ubj"))
        .expect("a journal segment");
    let mut bytes = std::fs::read(&seg).unwrap();
    // Record 50 of 100: 16-byte header, records of 8 + 63 + 1 bytes.
    let rec = 16 + 49 * (8 + 63 + 1);
    bytes[rec + 8 + 17] ^= 0x04;
    std::fs::write(&seg, &bytes).unwrap();

    let t = open(copy.path(), opts).unwrap();
    let s = t.stats(None).unwrap();
    assert_eq!(s.total_requests, 99);
    // track_n's 50th log (i = 49) is the one lost.
    let all: u64 = (0..100u64).sum();
    assert_eq!(s.prompt_tokens, all - 49);
    let notes = t.health().recovery.join("; ");
    assert!(
        notes.contains("damaged records") && notes.contains("moved aside"),
        "{notes}"
    );
    let kept: Vec<PathBuf> = std::fs::read_dir(&jdir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".ubj.corrupt-"))
        .collect();
    assert_eq!(kept.len(), 1, "the damaged segment must be kept aside");
    assert_eq!(std::fs::read(&kept[0]).unwrap(), bytes);
    t.close().unwrap();
}
