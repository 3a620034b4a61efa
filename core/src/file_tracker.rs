//! The file-backed tracker (T6–T11): the in-memory state of `state`, made
//! durable by one background writer thread (`writer`). Callers only touch
//! memory (plus, in `process`/`power` mode, a memory-mapped journal).

use crate::clock::{SharedClock, SystemClock};
use crate::error::{Error, Result};
use crate::gitsync::{GitSync, MergedStats, SegmentWriter, SyncReport, SyncStatus};
use crate::health::Health;
use crate::model::{validate_bridge_id, NewUsageLog, Usage, UsageLog, UsageStats, UsageStatus};
use crate::options::{Durability, TrackerOptions};
use crate::rollup::Rollups;
use crate::state::TrackerState;
use crate::store::archive::Archive;
use crate::store::journal::{self, Journal, JournalRecord};
use crate::store::lock::DirLock;
use crate::store::snapshot::{self, ArchiveRef, LoadError, SnapshotData};
use crate::store::{atomic, jsonl, Layout};
use crate::telemetry::observe::{self, CallRecord};
use crate::totals::{LogRecord, Totals};
use crate::tracker::{InternedLog, UsageTracker};
use crate::writer::{Cmd, Writer, WriterStart};
use crossbeam_channel::{unbounded, Sender};
use parking_lot::{Condvar, Mutex};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// State shared by callers and the writer thread.
pub(crate) struct Shared {
    pub inner: Mutex<Inner>,
    pub durable: Mutex<DurableState>,
    pub durable_cv: Condvar,
    pub clock: SharedClock,
    pub opts: TrackerOptions,
    pub layout: Layout,
    /// The git sync of this tracker (`gitSync` option, enabled).
    pub git: Option<Arc<GitSync>>,
}

pub(crate) struct Inner {
    pub state: TrackerState,
    /// Recorded, not yet taken by the writer.
    pub pending: Vec<LogRecord>,
    pub journal: Option<Journal>,
    pub closed: bool,
    pub last_flush_ms: Option<i64>,
    pub flush_count: u64,
    pub last_error: Option<String>,
    pub recovery: Vec<String>,
}

/// Power mode: every seq below `synced_below` is fsynced.
pub(crate) struct DurableState {
    pub synced_below: u64,
    pub error: Option<String>,
}

/// A tracker whose totals (and, with `persistLogs`, logs) survive restarts.
pub struct FileBackedTracker {
    shared: Arc<Shared>,
    cmd: Sender<Cmd>,
    writer: Mutex<Option<JoinHandle<()>>>,
    /// Released at close, so a new tracker can open the directory at once.
    lock: Mutex<Option<DirLock>>,
    /// The periodic sync thread and what stops it.
    git_timer: Mutex<Option<(Sender<()>, JoinHandle<()>)>>,
    /// This tracker's share of the process's OTLP exporter (the `otlp`
    /// option), released at close.
    otlp: Mutex<Option<crate::telemetry::OtlpGuard>>,
}

impl FileBackedTracker {
    /// Opens (or creates) `<base_dir>/llm-usage`, recovering what a previous
    /// run left (T9, T10). Fails with [`Error::Locked`] if another tracker
    /// owns the directory (T11).
    pub fn open(base_dir: impl AsRef<Path>, opts: TrackerOptions) -> Result<Self> {
        Self::open_with_clock(base_dir, opts, Arc::new(SystemClock))
    }

    pub fn open_with_clock(
        base_dir: impl AsRef<Path>,
        opts: TrackerOptions,
        clock: SharedClock,
    ) -> Result<Self> {
        opts.validate()?;
        let base_dir = base_dir.as_ref();
        if base_dir.as_os_str().is_empty() {
            return Err(Error::invalid("baseDir must be a non-empty path"));
        }
        let layout = Layout::new(base_dir);
        std::fs::create_dir_all(&layout.root)
            .map_err(|e| Error::io(format!("creating {}", layout.root.display()), e))?;
        let lock = DirLock::acquire(&layout.lock(), base_dir)?;
        let otlp = match &opts.otlp {
            Some(o) => Some(crate::telemetry::attach_otlp(o)?),
            None => None,
        };
        let mut recovered = recover(&layout, &opts, clock.now_ms())?;
        let git = match opts.git_sync.as_ref().filter(|g| g.enabled) {
            Some(cfg) => Some(Arc::new(GitSync::open(
                cfg.clone(),
                &layout.root.join("git-device-id"),
            )?)),
            None => None,
        };
        let mut segments = git.as_ref().map(|g| {
            SegmentWriter::new(
                g.device_dir(),
                &g.device,
                g.cfg.segment_max_bytes,
                g.cfg.segment_max_age,
                opts.durability != Durability::Interval,
            )
        });
        if let Some(seg) = segments.as_mut() {
            if let Err(e) = seg.append_logs(&recovered.replayed) {
                recovered.notes.push(format!(
                    "replayed events not written to the git segments yet ({e}); retried at the next flush"
                ));
            }
        }
        let journal = match opts.durability {
            Durability::Interval => None,
            _ => Some(Journal::create(&layout.journal_dir())?),
        };
        let next_seq = recovered.state.next_seq;
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                state: recovered.state,
                pending: Vec::new(),
                journal,
                closed: false,
                last_flush_ms: recovered.wrote_snapshot.then(|| clock.now_ms()),
                flush_count: 0,
                last_error: None,
                recovery: recovered.notes,
            }),
            durable: Mutex::new(DurableState {
                synced_below: next_seq,
                error: None,
            }),
            durable_cv: Condvar::new(),
            clock,
            opts,
            layout,
            git: git.clone(),
        });
        let (tx, rx) = unbounded();
        let writer = Writer::new(WriterStart {
            shared: shared.clone(),
            rx,
            rollups: recovered.rollups,
            archive: recovered.archive,
            log_lines: recovered.log_lines,
            log_bytes: recovered.log_bytes,
            segments,
        });
        let handle = std::thread::Builder::new()
            .name("usagebook-writer".into())
            .spawn(move || writer.run())
            .map_err(|e| Error::io("starting the writer thread", e))?;
        let git_timer = match git.filter(|g| !g.cfg.sync_interval.is_zero()) {
            Some(g) => {
                let (stop, stopped) = crossbeam_channel::bounded::<()>(1);
                let interval = g.cfg.sync_interval;
                let h = std::thread::Builder::new()
                    .name("usagebook-gitsync".into())
                    .spawn(move || {
                        while let Err(crossbeam_channel::RecvTimeoutError::Timeout) =
                            stopped.recv_timeout(interval)
                        {
                            // Errors and offline spells are kept in the
                            // sync status; the next interval retries.
                            let _ = g.sync(Some(interval.max(Duration::from_secs(120))));
                        }
                    })
                    .map_err(|e| Error::io("starting the git sync thread", e))?;
                Some((stop, h))
            }
            None => None,
        };
        Ok(FileBackedTracker {
            shared,
            cmd: tx,
            writer: Mutex::new(Some(handle)),
            lock: Mutex::new(Some(lock)),
            git_timer: Mutex::new(git_timer),
            otlp: Mutex::new(otlp),
        })
    }

    fn git(&self) -> Result<&Arc<GitSync>> {
        self.shared.git.as_ref().ok_or_else(|| {
            Error::invalid("this tracker has no git sync: open it with the gitSync option")
        })
    }

    /// Flushes (so every event tracked so far is in this device's
    /// segments), then syncs the repository at once (issue 13).
    pub fn sync_now(&self) -> Result<SyncReport> {
        let git = self.git()?.clone();
        self.flush()?;
        git.sync(None)
    }

    /// Cross-device stats: every device's events in the repository (as of
    /// the last sync), deduplicated, with per-device and per-bridge totals.
    pub fn merged_stats(&self) -> Result<MergedStats> {
        if self.shared.inner.lock().closed {
            return Err(Error::Closed);
        }
        self.git()?.merged_stats()
    }

    /// The git sync's state; `None` without `gitSync`.
    pub fn git_status(&self) -> Option<SyncStatus> {
        self.shared.git.as_ref().map(|g| g.status())
    }

    /// Asks the writer to apply its flush policy now, judged by the injected
    /// clock, and waits for it. With a [`crate::ManualClock`] this is how
    /// tests make interval flushes happen deterministically.
    pub fn tick(&self) -> Result<()> {
        self.request(Cmd::Tick)
    }

    pub fn options(&self) -> &TrackerOptions {
        &self.shared.opts
    }

    pub fn dir(&self) -> &Path {
        &self.shared.layout.root
    }

    fn request(&self, make: impl FnOnce(Sender<Result<()>>) -> Cmd) -> Result<()> {
        if self.shared.inner.lock().closed {
            return Err(Error::Closed);
        }
        self.send_and_wait(make)
    }

    fn send_and_wait(&self, make: impl FnOnce(Sender<Result<()>>) -> Cmd) -> Result<()> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        self.cmd.send(make(tx)).map_err(|_| {
            Error::io(
                "the writer thread has stopped",
                std::io::Error::other("writer gone"),
            )
        })?;
        rx.recv().map_err(|_| {
            Error::io(
                "the writer thread has stopped",
                std::io::Error::other("writer gone"),
            )
        })?
    }

    /// See [`crate::InMemoryTracker::intern_bridge`].
    pub fn intern_bridge(&self, bridge_id: &str) -> Result<u32> {
        validate_bridge_id(bridge_id)?;
        let mut g = self.shared.inner.lock();
        if g.closed {
            return Err(Error::Closed);
        }
        Ok(g.state.intern(bridge_id))
    }

    /// See [`crate::InMemoryTracker::track_interned`]: `track` without
    /// the bridge name, same stamping, journal and flush policy.
    pub fn track_interned(
        &self,
        bridge: u32,
        usage: Usage,
        duration_ms: Option<f64>,
        status: UsageStatus,
    ) -> Result<()> {
        let now = self.shared.clock.now_ms();
        let mut g = self.shared.inner.lock();
        if g.closed {
            return Err(Error::Closed);
        }
        let inner = &mut *g;
        let rec = inner
            .state
            .stamp_interned(bridge, usage, duration_ms, status, now)?;
        if let Some(j) = inner.journal.as_mut() {
            // Journal first: if it cannot take the record, nothing is recorded.
            j.append(&rec, inner.state.interner.name(bridge))?;
        }
        inner.state.apply(rec);
        inner.pending.push(rec);
        let pending = inner.pending.len() as u64;
        let observed = observe::active().then(|| inner.state.interner.name(bridge).clone());
        drop(g);
        let res = self.after_record(rec.seq, pending);
        if let Some(name) = observed {
            observe::notify(&CallRecord::from_tracker(
                &name,
                &usage,
                status == UsageStatus::Error,
            ));
        }
        res
    }

    /// Records `logs` in order under one lock, each with its own timestamp
    /// (see [`InternedLog`]). The batch is checked whole first; in the
    /// journal modes a journal failure stops it at that log (the ones
    /// before it are recorded) and is returned. `power` returns once the
    /// whole batch is fsynced.
    pub fn track_interned_batch(&self, logs: &[InternedLog]) -> Result<()> {
        let mut g = self.shared.inner.lock();
        if g.closed {
            return Err(Error::Closed);
        }
        let inner = &mut *g;
        for l in logs {
            inner
                .state
                .check_interned(l.bridge, &l.usage, l.duration_ms)?;
        }
        let before = inner.pending.len() as u64;
        let mut last_seq = None;
        let mut failed = None;
        for l in logs {
            let rec = inner.state.stamp_checked(
                l.bridge,
                &l.usage,
                l.duration_ms,
                l.status,
                l.timestamp_ms,
            );
            if let Some(j) = inner.journal.as_mut() {
                if let Err(e) = j.append(&rec, inner.state.interner.name(l.bridge)) {
                    failed = Some(e);
                    break;
                }
            }
            inner.state.apply(rec);
            inner.pending.push(rec);
            last_seq = Some(rec.seq);
        }
        let after = inner.pending.len() as u64;
        let observed = observe::active().then(|| inner.state.interner.names().to_vec());
        drop(g);
        if let Some(names) = &observed {
            // Only the logs recorded before a journal failure.
            observe::notify_batch(names, &logs[..(after - before) as usize]);
        }
        let res = match last_seq {
            Some(seq) => self.after_records(seq, before, after),
            None => Ok(()),
        };
        match failed {
            Some(e) => Err(e),
            None => res,
        }
    }

    /// After a record is in memory: wake the writer at the flush trigger,
    /// or wait for the group fsync in `power` mode (T8, X5).
    fn after_record(&self, seq: u64, pending: u64) -> Result<()> {
        self.after_records(seq, pending - 1, pending)
    }

    /// [`Self::after_record`] for records that took the pending count from
    /// `before` to `after`, the last one being `seq`.
    fn after_records(&self, seq: u64, before: u64, after: u64) -> Result<()> {
        let opts = &self.shared.opts;
        match opts.durability {
            Durability::Power => {
                let _ = self.cmd.send(Cmd::Wake);
                self.wait_durable(seq)
            }
            _ => {
                let trigger = opts.flush_trigger();
                if before < trigger && after >= trigger {
                    let _ = self.cmd.send(Cmd::Wake);
                }
                Ok(())
            }
        }
    }

    fn wait_durable(&self, seq: u64) -> Result<()> {
        let mut d = self.shared.durable.lock();
        loop {
            if d.synced_below > seq {
                return Ok(());
            }
            if let Some(e) = &d.error {
                return Err(Error::io(
                    "fsync of the journal failed; the event is recorded in memory but may not survive power loss",
                    std::io::Error::other(e.clone()),
                ));
            }
            self.shared
                .durable_cv
                .wait_for(&mut d, std::time::Duration::from_millis(100));
        }
    }
}

impl UsageTracker for FileBackedTracker {
    fn git_sync_now(&self) -> Result<SyncReport> {
        FileBackedTracker::sync_now(self)
    }

    fn git_merged_stats(&self) -> Result<MergedStats> {
        FileBackedTracker::merged_stats(self)
    }

    fn track(&self, log: &NewUsageLog<'_>) -> Result<()> {
        log.validate()?;
        let now = self.shared.clock.now_ms();
        let mut g = self.shared.inner.lock();
        if g.closed {
            return Err(Error::Closed);
        }
        let inner = &mut *g;
        let rec = inner.state.stamp(log, now);
        if let Some(j) = inner.journal.as_mut() {
            // Journal first: if it cannot take the record, nothing is recorded.
            j.append(&rec, log.bridge_id)?;
        }
        inner.state.apply(rec);
        inner.pending.push(rec);
        let pending = inner.pending.len() as u64;
        drop(g);
        let res = self.after_record(rec.seq, pending);
        if observe::active() {
            observe::notify(&CallRecord::from_tracker(
                log.bridge_id,
                &log.usage,
                log.status == UsageStatus::Error,
            ));
        }
        res
    }

    fn logs(&self, bridge_id: Option<&str>) -> Result<Vec<UsageLog>> {
        let g = self.shared.inner.lock();
        if g.closed {
            return Err(Error::Closed);
        }
        Ok(g.state.logs(bridge_id))
    }

    fn stats(&self, bridge_id: Option<&str>) -> Result<UsageStats> {
        let g = self.shared.inner.lock();
        if g.closed {
            return Err(Error::Closed);
        }
        Ok(g.state.stats(bridge_id))
    }

    fn bridge_stats(&self) -> Result<Vec<(String, UsageStats)>> {
        let g = self.shared.inner.lock();
        if g.closed {
            return Err(Error::Closed);
        }
        Ok(g.state.bridge_stats())
    }

    fn clear_logs(&self, older_than_ms: Option<i64>) -> Result<()> {
        self.request(|ack| Cmd::Clear(older_than_ms, ack))
    }

    fn flush(&self) -> Result<()> {
        self.request(Cmd::Flush)
    }

    fn close(&self) -> Result<()> {
        {
            let mut g = self.shared.inner.lock();
            if g.closed {
                return Ok(());
            }
            g.closed = true;
        }
        let res = self.send_and_wait(Cmd::Close);
        if let Some(h) = self.writer.lock().take() {
            let _ = h.join();
        }
        if let Some((stop, h)) = self.git_timer.lock().take() {
            let _ = stop.send(());
            let _ = h.join();
        }
        if let Some(g) = &self.shared.git {
            // The final, bounded sync (G3). Offline or failed, the events
            // stay in the local segments and commits for the next run.
            let _ = g.sync(Some(g.cfg.close_timeout));
        }
        self.lock.lock().take();
        // The exporter's last holder exports what this tracker recorded.
        self.otlp.lock().take();
        res
    }

    fn health(&self) -> Health {
        let g = self.shared.inner.lock();
        let pending_bytes = g
            .pending
            .iter()
            .map(|r| 150 + g.state.interner.name(r.bridge()).len() as u64)
            .sum();
        Health {
            kind: "file",
            closed: g.closed,
            durability: Some(self.shared.opts.durability.as_str()),
            last_flush_ms: g.last_flush_ms,
            flush_count: g.flush_count,
            queue_depth: g.pending.len() as u64,
            pending_bytes,
            retained_logs: g.state.ring.len() as u64,
            last_error: g.last_error.clone(),
            recovery: g.recovery.clone(),
            git_sync: self.git_status(),
        }
    }
}

impl Drop for FileBackedTracker {
    /// A tracker dropped without `close()` still gets its final flush.
    fn drop(&mut self) {
        let _ = self.close();
    }
}

struct Recovered {
    state: TrackerState,
    rollups: Rollups,
    archive: Archive,
    notes: Vec<String>,
    wrote_snapshot: bool,
    log_lines: u64,
    log_bytes: u64,
    /// Events replayed from the log file or the journal (not in a snapshot
    /// yet): they also go to the git segments (idempotent by event id).
    replayed: Vec<UsageLog>,
}

/// Loads a snapshot, moving an unreadable one aside (T10).
fn load_snapshot_file(
    path: &Path,
    now_ms: i64,
    notes: &mut Vec<String>,
) -> Result<Option<SnapshotData>> {
    match snapshot::load(path) {
        Ok(s) => Ok(Some(s)),
        Err(LoadError::Missing) => Ok(None),
        Err(LoadError::Fatal(e)) => Err(e),
        Err(LoadError::Corrupt(why)) => {
            let aside = atomic::move_aside(path, now_ms)?;
            notes.push(format!("{why}; moved aside to {}", aside.display()));
            Ok(None)
        }
    }
}

/// Rebuilds state from snapshot (or its backup) plus everything logged
/// after it, counting each event once (T9).
fn recover(layout: &Layout, opts: &TrackerOptions, now_ms: i64) -> Result<Recovered> {
    let mut notes = Vec::new();
    let primary = load_snapshot_file(&layout.stats(), now_ms, &mut notes)?;
    let from_primary = primary.is_some();
    let snap = match primary {
        Some(s) => Some(s),
        None => {
            let bak = load_snapshot_file(&layout.stats_backup(), now_ms, &mut notes)?;
            if bak.is_some() {
                notes.push("snapshot restored from usage-stats.json.bak".into());
            }
            bak
        }
    };
    let snap = snap.unwrap_or_else(|| SnapshotData {
        next_seq: 1,
        ..SnapshotData::default()
    });
    let watermark = snap.next_seq.max(1);

    let mut state = TrackerState::new(opts.max_logs);
    let mut rollups = Rollups::default();
    for (name, hour, t) in &snap.buckets {
        let id = state.intern(name);
        rollups.add_bucket(id, *hour, *t);
    }
    let mut archived: Vec<Totals> = Vec::new();
    for (name, t) in &snap.archived {
        let id = state.intern(name) as usize;
        if archived.len() <= id {
            archived.resize(id + 1, Totals::default());
        }
        archived[id].merge(t);
    }
    // Closed days stay in their files: only their totals are read here.
    let archive = Archive::open(layout.rollups_dir(), snap.archive_generation, archived)?;
    state.next_seq = watermark;
    state.set_totals(with_archived(
        rollups.per_bridge(state.interner.len()),
        &archive.totals,
    ));

    // Only the end of the log: the logs to retain and those past the
    // watermark (open costs O(maxLogs), whatever the file's size).
    let keep = if opts.persist_logs { opts.max_logs } else { 0 };
    let logs = jsonl::load_tail(&layout.logs(), watermark, keep, now_ms)?;
    if logs.malformed > 0 {
        notes.push(format!(
            "skipped {} malformed lines in usage-logs.jsonl",
            logs.malformed
        ));
    }
    if let Some(p) = &logs.tail_saved_to {
        notes.push(format!(
            "torn tail of usage-logs.jsonl saved to {} and truncated",
            p.display()
        ));
    }
    let journal::JournalRead {
        records: jrecs,
        damaged,
    } = journal::read_all(&layout.journal_dir())?;
    let old_segments = journal::list_segments(&layout.journal_dir())?;

    if opts.persist_logs {
        // Logs the snapshot already counts: retained, not counted again.
        let before: Vec<&UsageLog> = logs.logs.iter().filter(|l| l.seq < watermark).collect();
        let skip = before.len().saturating_sub(opts.max_logs);
        for l in &before[skip..] {
            let rec = record_of_log(&mut state, l);
            state.retain(rec);
        }
    }
    // Everything logged at or after the watermark, once each, in seq order.
    // The log file is usually already in order and the journal usually
    // empty, so this stays a linear pass for a million-line replay.
    let mut replay: Vec<LogRecord> = logs
        .logs
        .iter()
        .filter(|l| l.seq >= watermark)
        .map(|l| record_of_log(&mut state, l))
        .collect();
    let from_file = replay.len();
    let file_seqs: HashSet<u64> = if jrecs.is_empty() {
        HashSet::new()
    } else {
        replay.iter().map(|r| r.seq).collect()
    };
    for r in jrecs.iter().filter(|r| r.seq >= watermark) {
        if !file_seqs.contains(&r.seq) {
            replay.push(record_of_journal(&mut state, r));
        }
    }
    if !replay.is_sorted_by_key(|r| r.seq) {
        replay.sort_by_key(|r| r.seq);
    }
    replay.dedup_by_key(|r| r.seq);
    let mut log_lines = logs.line_count;
    let mut log_bytes = logs.byte_len;
    if opts.persist_logs && replay.len() > from_file {
        let mut text = String::new();
        for rec in replay.iter().filter(|r| !file_seqs.contains(&r.seq)) {
            jsonl::encode_line(&mut text, &state.to_log(rec));
            log_lines += 1;
        }
        log_bytes += text.len() as u64;
        jsonl::Appender::new(layout.logs()).append(&text)?;
    }
    for rec in &replay {
        state.apply(*rec);
        rollups.add(rec);
    }
    if !replay.is_empty() {
        notes.push(format!(
            "replayed {} events logged after the last snapshot",
            replay.len()
        ));
    }
    let wrote_snapshot = !replay.is_empty() || !from_primary && !snap.buckets.is_empty();
    if wrote_snapshot {
        let bytes = snapshot::encode(
            state.interner.names(),
            &rollups.sorted(),
            state.next_seq,
            now_ms,
            ArchiveRef {
                generation: archive.generation,
                totals: &archive.totals,
            },
        );
        atomic::replace_file(&layout.stats(), &bytes, Some(&layout.stats_backup()))?;
    }
    // Every journal record is now below the watermark of a durable
    // snapshot. A damaged segment is kept aside, never deleted (T10).
    for (_, p) in old_segments {
        if damaged.contains(&p) {
            let aside = atomic::move_aside(&p, now_ms)?;
            notes.push(format!(
                "journal segment {} had damaged records; the intact ones were kept and the segment moved aside to {}",
                p.display(),
                aside.display()
            ));
        } else {
            let _ = std::fs::remove_file(p);
        }
    }
    let replayed = if opts.git_sync.as_ref().is_some_and(|g| g.enabled) {
        replay.iter().map(|r| state.to_log(r)).collect()
    } else {
        Vec::new()
    };
    Ok(Recovered {
        state,
        rollups,
        archive,
        notes,
        wrote_snapshot,
        log_lines,
        log_bytes,
        replayed,
    })
}

/// Per-bridge totals of the recent rollups plus the archived ones.
pub(crate) fn with_archived(mut recent: Vec<Totals>, archived: &[Totals]) -> Vec<Totals> {
    for (slot, t) in recent.iter_mut().zip(archived) {
        slot.merge(t);
    }
    recent
}

fn record_of_log(state: &mut TrackerState, l: &UsageLog) -> LogRecord {
    let bridge = state.intern(&l.bridge_id);
    LogRecord::new(
        l.seq,
        l.timestamp_ms,
        bridge,
        &l.usage,
        l.duration_ms,
        l.status,
    )
}

fn record_of_journal(state: &mut TrackerState, r: &JournalRecord) -> LogRecord {
    let bridge = state.intern(&r.bridge);
    let duration = (!r.duration_ms.is_nan()).then_some(r.duration_ms);
    LogRecord::new(r.seq, r.ts_ms, bridge, &r.usage(), duration, r.status)
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<FileBackedTracker>();
    let _: Option<PathBuf> = None;
}
