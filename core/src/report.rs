//! Read-only reports over a tracker directory (T4, T7, T9).
//!
//! A report shows the totals a tracker opened on the directory would show,
//! computed the way recovery computes them (snapshot or its backup, plus the
//! JSONL log and journal records past the snapshot's watermark, each event
//! once), but without the lock and without writing anything: it works while
//! an application owns the directory, and it never repairs, truncates or
//! moves a file. What recovery would have repaired is reported in `notes`.

mod fastline;
pub mod grouped;
pub mod render;
pub mod zone;

use crate::error::{Error, Result};
use crate::model::{UsageStats, UsageStatus};
use crate::store::archive;
use crate::store::snapshot::{self, LoadError, SnapshotData};
use crate::store::{journal, jsonl, Layout};
use crate::totals::Totals;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Which snapshot file a report started from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotSource {
    /// `usage-stats.json`.
    Primary,
    /// `usage-stats.json.bak`, because the primary was missing or unreadable.
    Backup,
    /// No usable snapshot: everything comes from the log and the journal.
    None,
}

/// Lifetime stats of a tracker directory, as of the moment it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The `<baseDir>/llm-usage` directory that was read.
    pub dir: PathBuf,
    /// False when that directory does not exist (the report is then empty).
    pub exists: bool,
    /// Per-bridge stats, sorted by bridge id; bridges with no requests are
    /// left out, as in the snapshot.
    pub per_bridge: Vec<(String, UsageStats)>,
    /// Stats over every bridge.
    pub total: UsageStats,
    pub snapshot: SnapshotSource,
    /// Events logged after the snapshot (by a running tracker, or one that
    /// was not closed) and counted from the log or the journal.
    pub replayed: u64,
    /// Valid lines in `usage-logs.jsonl`.
    pub log_lines: u64,
    /// Anything unusual: an unreadable snapshot, malformed lines, a torn tail.
    pub notes: Vec<String>,
}

impl Report {
    /// True when nothing was ever recorded (or the directory is missing).
    pub fn is_empty(&self) -> bool {
        self.total.total_requests == 0
    }

    /// Stats of one bridge; `None` if it has none.
    pub fn bridge(&self, bridge_id: &str) -> Option<&UsageStats> {
        self.per_bridge
            .iter()
            .find(|(b, _)| b == bridge_id)
            .map(|(_, s)| s)
    }

    /// `{"perBridge": {<bridgeId>: stats}, "total": stats}` with the T1
    /// stats JSON of [`UsageStats::to_json`].
    pub fn to_json(&self) -> Value {
        let mut pb = Map::new();
        for (name, s) in &self.per_bridge {
            pb.insert(name.clone(), s.to_json());
        }
        let mut m = Map::new();
        m.insert("perBridge".into(), Value::Object(pb));
        m.insert("total".into(), self.total.to_json());
        Value::Object(m)
    }
}

/// Reads the tracker directory under `base_dir` (the same `baseDir` a
/// tracker is opened with). A missing directory gives an empty report.
pub fn read(base_dir: impl AsRef<Path>) -> Result<Report> {
    read_history(base_dir).map(History::into_report)
}

/// One piece of a tracker directory's history: an hour of one bridge from
/// the snapshot's rollups (`hourly`, `ts_ms` the hour's start), or one
/// event replayed from the log or the journal (`ts_ms` its time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub bridge: String,
    pub ts_ms: i64,
    pub hourly: bool,
    pub requests: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    pub errors: u64,
    pub last_used_ms: Option<i64>,
    /// Parts of `prompt_tokens`: cache reads and cache writes.
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    /// Part of `completion_tokens`.
    pub reasoning_tokens: u64,
}

/// Everything a tracker directory knows, as hourly buckets plus the events
/// past the snapshot: what the grouped reports (by day, month, bridge, ...)
/// are built from. Same reading rules as [`read`].
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    pub dir: PathBuf,
    pub exists: bool,
    /// Snapshot buckets sorted by bridge then hour, then replayed events.
    pub entries: Vec<HistoryEntry>,
    pub snapshot: SnapshotSource,
    pub replayed: u64,
    pub log_lines: u64,
    pub notes: Vec<String>,
}

impl History {
    /// Folds the history into per-bridge and overall stats.
    pub fn into_report(self) -> Report {
        let mut per: BTreeMap<String, Totals> = BTreeMap::new();
        for e in &self.entries {
            per.entry(e.bridge.clone()).or_default().merge(&Totals {
                requests: e.requests,
                prompt: e.prompt_tokens,
                completion: e.completion_tokens,
                total: e.total_tokens,
                errors: e.errors,
                last_used_ms: e.last_used_ms,
                cache_read: e.cache_read_tokens,
                cache_write: e.cache_write_tokens,
                reasoning: e.reasoning_tokens,
            });
        }
        let mut report = Report {
            dir: self.dir,
            exists: self.exists,
            per_bridge: Vec::new(),
            total: UsageStats::default(),
            snapshot: self.snapshot,
            replayed: self.replayed,
            log_lines: self.log_lines,
            notes: self.notes,
        };
        let mut overall = Totals::default();
        for (name, t) in per {
            if t.is_empty() {
                continue;
            }
            overall.merge(&t);
            report.per_bridge.push((name, t.to_stats()));
        }
        report.total = overall.to_stats();
        report
    }
}

/// The history of the tracker directory under `base_dir`. A missing
/// directory gives an empty history.
///
/// A running tracker replaces files while we read: if the snapshot changed
/// during the read, or a file disappeared under us (a journal segment
/// collected after a newer snapshot), the read starts over, so the events
/// between two snapshots are never missed.
pub fn read_history(base_dir: impl AsRef<Path>) -> Result<History> {
    let layout = Layout::new(base_dir.as_ref());
    let mut attempts = 0;
    loop {
        attempts += 1;
        let last_try = attempts >= 20;
        match read_once(&layout) {
            Err(Error::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound && !last_try => {}
            Ok((_, started_from)) if !last_try && watermark_now(&layout) != started_from => {}
            other => return other.map(|(history, _)| history),
        }
    }
}

/// The watermark of the primary snapshot as it is now, if readable.
fn watermark_now(layout: &Layout) -> Option<u64> {
    snapshot::load(&layout.stats()).ok().map(|s| s.next_seq)
}

/// The history, and the primary snapshot's watermark it started from.
fn read_once(layout: &Layout) -> Result<(History, Option<u64>)> {
    let mut history = History {
        dir: layout.root.clone(),
        exists: layout.root.is_dir(),
        entries: Vec::new(),
        snapshot: SnapshotSource::None,
        replayed: 0,
        log_lines: 0,
        notes: Vec::new(),
    };
    if !history.exists {
        return Ok((history, None));
    }
    let notes = &mut history.notes;
    // The snapshot is read first: the writer appends the log before it
    // replaces the snapshot, so every event the snapshot does not count is
    // in the log (or the journal) we read after it.
    let primary = load_snapshot(&layout.stats(), notes)?;
    let started_from = primary.as_ref().map(|s| s.next_seq);
    let (snap, source) = match primary {
        Some(s) => (s, SnapshotSource::Primary),
        None => match load_snapshot(&layout.stats_backup(), notes)? {
            Some(s) => {
                if layout.stats().exists() {
                    notes.push("used usage-stats.json.bak instead".into());
                }
                (s, SnapshotSource::Backup)
            }
            None => (SnapshotData::default(), SnapshotSource::None),
        },
    };
    history.snapshot = source;
    let watermark = snap.next_seq.max(1);
    // Closed days live in the rollup archive the snapshot commits.
    let mut archived = Vec::new();
    if snap.archive_generation > 0 {
        let (hours, bad) = archive::read_committed(&layout.rollups_dir(), snap.archive_generation)?;
        for why in bad {
            notes.push(format!("{why}; that day's hours are left out"));
        }
        archived = hours;
    }
    for (name, hour, t) in snap.buckets.iter().chain(&archived) {
        history.entries.push(HistoryEntry {
            bridge: name.clone(),
            ts_ms: *hour,
            hourly: true,
            requests: t.requests,
            prompt_tokens: t.prompt,
            completion_tokens: t.completion,
            total_tokens: t.total,
            errors: t.errors,
            last_used_ms: t.last_used_ms,
            cache_read_tokens: t.cache_read,
            cache_write_tokens: t.cache_write,
            reasoning_tokens: t.reasoning,
        });
    }

    let logs = jsonl::read_only(&layout.logs())?;
    history.log_lines = logs.logs.len() as u64;
    if logs.malformed > 0 {
        notes.push(format!(
            "skipped {} malformed lines in usage-logs.jsonl",
            logs.malformed
        ));
    }
    if logs.skipped_tail_bytes > 0 {
        notes.push(format!(
            "skipped an incomplete last line of usage-logs.jsonl ({} bytes): a write in progress or a torn tail",
            logs.skipped_tail_bytes
        ));
    }
    let journal::JournalRead {
        records: jrecs,
        damaged,
    } = journal::read_all(&layout.journal_dir())?;
    if !damaged.is_empty() {
        notes.push(format!(
            "{} journal segment(s) had damaged records; the intact records were counted",
            damaged.len()
        ));
    }

    // Each event past the watermark once, the log's copy first (T9).
    let mut seen = BTreeSet::new();
    let replay_log = logs.logs.iter().filter(|l| l.seq >= watermark).map(|l| {
        (
            l.seq,
            l.bridge_id.as_str(),
            l.timestamp_ms,
            l.usage,
            l.status,
        )
    });
    let replay_journal = jrecs
        .iter()
        .filter(|r| r.seq >= watermark)
        .map(|r| (r.seq, r.bridge.as_str(), r.ts_ms, r.usage(), r.status));
    for (seq, bridge, ts_ms, u, status) in replay_log.chain(replay_journal) {
        if seen.insert(seq) {
            history.entries.push(HistoryEntry {
                bridge: bridge.to_string(),
                ts_ms,
                hourly: false,
                requests: 1,
                prompt_tokens: u.prompt_tokens,
                completion_tokens: u.completion_tokens,
                total_tokens: u.total_tokens,
                errors: u64::from(status == UsageStatus::Error),
                last_used_ms: Some(ts_ms),
                // Capped as recovery caps them (a retained log keeps 32 bits).
                cache_read_tokens: u64::from(crate::totals::part32(u.cache_read_tokens)),
                cache_write_tokens: u64::from(crate::totals::part32(u.cache_write_tokens)),
                reasoning_tokens: u64::from(crate::totals::part32(u.reasoning_tokens)),
            });
        }
    }
    history.replayed = seen.len() as u64;
    Ok((history, started_from))
}

/// Like recovery's loader, but an unreadable snapshot is only reported,
/// never moved aside.
fn load_snapshot(path: &Path, notes: &mut Vec<String>) -> Result<Option<SnapshotData>> {
    match snapshot::load(path) {
        Ok(s) => Ok(Some(s)),
        Err(LoadError::Missing) => Ok(None),
        Err(LoadError::Fatal(e)) => Err(e),
        Err(LoadError::Corrupt(why)) => {
            notes.push(why);
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::model::{NewUsageLog, Usage, UsageLog, UsageStatus};
    use crate::options::{Durability, TrackerOptions};
    use crate::tracker::UsageTracker;
    use crate::FileBackedTracker;
    use std::sync::Arc;

    const T0: i64 = 1_736_000_000_000;

    fn new_log(bridge: &str, n: u64, status: UsageStatus) -> NewUsageLog<'_> {
        NewUsageLog {
            bridge_id: bridge,
            usage: Usage::new(n, 2 * n, 3 * n),
            duration_ms: Some(10.0),
            status,
        }
    }

    fn open(dir: &Path, clock: &ManualClock, opts: TrackerOptions) -> FileBackedTracker {
        FileBackedTracker::open_with_clock(dir, opts, Arc::new(clock.clone())).unwrap()
    }

    fn persist() -> TrackerOptions {
        TrackerOptions {
            persist_logs: true,
            ..TrackerOptions::default()
        }
    }

    fn track_some(t: &FileBackedTracker, clock: &ManualClock, n: u64) {
        for i in 0..n {
            let (b, s) = match i % 3 {
                0 => ("openai", UsageStatus::Success),
                1 => ("anthropic", UsageStatus::Success),
                _ => ("local", UsageStatus::Error),
            };
            t.track(&new_log(b, i + 1, s)).unwrap();
            clock.advance(1_000);
        }
    }

    /// What a tracker shows, per bridge and overall.
    fn tracker_view(t: &FileBackedTracker) -> (Vec<(String, UsageStats)>, UsageStats) {
        let per = ["anthropic", "local", "openai"]
            .iter()
            .map(|b| (b.to_string(), t.stats(Some(b)).unwrap()))
            .filter(|(_, s)| s.total_requests > 0)
            .collect();
        (per, t.stats(None).unwrap())
    }

    /// Every file under `dir` with its bytes: a report must change none.
    fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut out = BTreeMap::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    out.insert(p.clone(), std::fs::read(&p).unwrap());
                }
            }
        }
        out
    }

    #[test]
    fn missing_directory_is_an_empty_report() {
        let dir = tempfile::tempdir().unwrap();
        let r = read(dir.path().join("nope")).unwrap();
        assert!(!r.exists);
        assert!(r.is_empty());
        assert_eq!(
            serde_json::to_string(&r.to_json()).unwrap(),
            r#"{"perBridge":{},"total":{"totalRequests":0,"promptTokens":0,"completionTokens":0,"totalTokens":0,"cacheReadTokens":0,"cacheWriteTokens":0,"reasoningTokens":0,"averageTokensPerRequest":0,"errorCount":0}}"#
        );
        assert!(
            !dir.path().join("nope").exists(),
            "a report creates nothing"
        );
    }

    #[test]
    fn t9_report_after_close_equals_what_the_tracker_showed() {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(T0);
        let t = open(dir.path(), &clock, persist());
        track_some(&t, &clock, 10);
        let (per, total) = tracker_view(&t);
        t.close().unwrap();
        let r = read(dir.path()).unwrap();
        assert_eq!(r.per_bridge, per);
        assert_eq!(r.total, total);
        assert_eq!(r.total.total_requests, 10);
        assert_eq!(r.total.error_count, 3);
        assert_eq!(r.snapshot, SnapshotSource::Primary);
        assert_eq!(r.replayed, 0);
        assert_eq!(r.log_lines, 10);
        assert_eq!(r.bridge("local").unwrap().last_used_at_ms, Some(T0 + 8_000));
        assert!(r.notes.is_empty(), "{:?}", r.notes);
    }

    #[test]
    fn t11_report_works_while_a_tracker_holds_the_lock_and_writes_nothing() {
        // Process durability: unflushed events are only in the journal.
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(T0);
        let opts = TrackerOptions {
            durability: Durability::Process,
            ..persist()
        };
        let t = open(dir.path(), &clock, opts);
        track_some(&t, &clock, 4);
        t.flush().unwrap();
        track_some(&t, &clock, 5);
        let before = files(dir.path());
        let r = read(dir.path()).unwrap();
        assert_eq!(files(dir.path()), before);
        let (per, total) = tracker_view(&t);
        assert_eq!(r.per_bridge, per);
        assert_eq!(r.total, total);
        assert_eq!(r.replayed, 5);
        t.close().unwrap();
    }

    #[test]
    fn t9_t10_report_agrees_with_recovery_and_repairs_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(T0);
        let t = open(dir.path(), &clock, persist());
        track_some(&t, &clock, 6);
        t.close().unwrap();
        // Events a crashed writer logged after the snapshot, a duplicate of
        // one of them, garbage, and a torn tail.
        let layout = Layout::new(dir.path());
        let mut text = std::fs::read_to_string(layout.logs()).unwrap();
        for seq in [7, 8, 8] {
            let l = UsageLog {
                seq,
                bridge_id: "late".into(),
                timestamp_ms: T0 + 60_000,
                usage: Usage::new(5, 5, 10),
                duration_ms: None,
                status: UsageStatus::Success,
            };
            jsonl::encode_line(&mut text, &l);
        }
        text.push_str("not json\n{\"id\":\"llm_log_9_");
        std::fs::write(layout.logs(), &text).unwrap();
        let before = files(dir.path());

        let r = read(dir.path()).unwrap();
        assert_eq!(files(dir.path()), before, "a report repairs nothing");
        assert_eq!(r.replayed, 2);
        assert_eq!(r.bridge("late").unwrap().total_requests, 2);
        assert_eq!(r.total.total_requests, 8);
        assert_eq!(r.notes.len(), 1, "{:?}", r.notes);
        assert!(r.notes[0].contains("incomplete last line"), "{:?}", r.notes);

        let t = open(dir.path(), &clock, persist());
        assert_eq!(t.stats(None).unwrap(), r.total);
        assert_eq!(t.stats(Some("late")).unwrap(), *r.bridge("late").unwrap());
        t.close().unwrap();
    }

    #[test]
    fn t10_unreadable_snapshot_falls_back_to_the_backup_without_moving_it() {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(T0);
        let t = open(dir.path(), &clock, persist());
        track_some(&t, &clock, 3);
        t.flush().unwrap();
        track_some(&t, &clock, 3);
        t.close().unwrap();
        let layout = Layout::new(dir.path());
        assert!(layout.stats_backup().exists());
        std::fs::write(layout.stats(), b"{ garbage").unwrap();
        let r = read(dir.path()).unwrap();
        assert_eq!(r.snapshot, SnapshotSource::Backup);
        assert_eq!(r.total.total_requests, 6, "backup plus log replay");
        assert!(
            r.notes.iter().any(|n| n.contains("not valid JSON")),
            "{:?}",
            r.notes
        );
        assert_eq!(std::fs::read(layout.stats()).unwrap(), b"{ garbage");
    }

    #[test]
    fn newer_format_is_an_error_not_a_guess() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        std::fs::create_dir_all(&layout.root).unwrap();
        std::fs::write(
            layout.stats(),
            br#"{"formatVersion":99,"perBridge":{},"rollups":{}}"#,
        )
        .unwrap();
        let e = read(dir.path()).unwrap_err();
        assert!(
            matches!(e, Error::UnsupportedFormat { found: 99, .. }),
            "{e}"
        );
    }

    #[test]
    fn reports_taken_while_a_tracker_writes_are_consistent_and_never_fail() {
        for persist_logs in [true, false] {
            concurrent_reads(persist_logs);
        }
    }

    fn concurrent_reads(persist_logs: bool) {
        // Real clock and small batches: the writer appends, snapshots and
        // collects journal segments while we read.
        let dir = tempfile::tempdir().unwrap();
        let opts = TrackerOptions {
            flush_every_n_logs: 25,
            durability: Durability::Process,
            persist_logs,
            ..TrackerOptions::default()
        };
        let t = Arc::new(FileBackedTracker::open(dir.path(), opts).unwrap());
        let writer = {
            let t = t.clone();
            std::thread::spawn(move || {
                for i in 0..2_000u64 {
                    t.track(&new_log("busy", i % 7 + 1, UsageStatus::Success))
                        .unwrap();
                }
            })
        };
        let mut last = 0;
        while !writer.is_finished() {
            let r = read(dir.path()).unwrap();
            let n = r.total.total_requests;
            assert!(n >= last && n <= 2_000, "went from {last} to {n}");
            assert_eq!(r.per_bridge.len(), (n > 0) as usize);
            last = n;
        }
        writer.join().unwrap();
        assert_eq!(read(dir.path()).unwrap().total, t.stats(None).unwrap());
        t.close().unwrap();
    }
}
