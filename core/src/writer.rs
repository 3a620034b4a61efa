//! The background writer of a file-backed tracker: the only code that does
//! I/O after open (T8). It drains the pending logs, folds them into its own
//! hourly rollups (so callers never wait for a snapshot copy), appends the
//! JSONL log, writes the snapshot, fsyncs the journal for `power` mode and
//! collects journal segments that snapshots cover.

use crate::error::Result;
use crate::file_tracker::Shared;
use crate::gitsync::SegmentWriter;
use crate::options::Durability;
use crate::rollup::Rollups;
use crate::state::record_to_log;
use crate::store::archive::{day_of, Archive, Bucket};
use crate::store::snapshot::ArchiveRef;
use crate::store::{atomic, jsonl, snapshot};
use crate::totals::LogRecord;
use crate::totals::Totals;
use crate::tracker::clear_state;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) enum Cmd {
    /// Enough logs are pending, or a power-mode caller waits for fsync.
    Wake,
    Flush(Sender<Result<()>>),
    Clear(Option<i64>, Sender<Result<()>>),
    Tick(Sender<Result<()>>),
    Close(Sender<Result<()>>),
}

pub(crate) struct WriterStart {
    pub shared: Arc<Shared>,
    pub rx: Receiver<Cmd>,
    pub rollups: Rollups,
    pub archive: Archive,
    pub log_lines: u64,
    pub log_bytes: u64,
    pub segments: Option<SegmentWriter>,
}

/// Day files written for an archive generation its snapshot has not
/// committed yet.
struct Staged {
    generation: u64,
    totals: Vec<Totals>,
    days: Vec<i64>,
}

pub(crate) struct Writer {
    shared: Arc<Shared>,
    rx: Receiver<Cmd>,
    /// Hourly rollups of the days not archived yet.
    rollups: Rollups,
    /// Closed days, in files of their own (`store::archive`).
    archive: Archive,
    /// The writer's copy of the interned bridge names (append-only).
    names: Vec<Arc<str>>,
    /// The previous batch's buffer, swapped back in to avoid reallocating.
    spare: Vec<LogRecord>,
    appender: Option<jsonl::Appender>,
    /// JSONL lines taken from `pending` but not yet written (kept on error).
    unwritten: String,
    log_lines: u64,
    log_bytes: u64,
    /// A snapshot is owed even if nothing new is pending (after an error).
    dirty: bool,
    last_flush: Instant,
    last_flush_clock_ms: i64,
    /// Watermark of the snapshot before the current one: journal records
    /// below it are covered even if the current snapshot is lost.
    prev_watermark: u64,
    /// This device's git segments (`gitSync`).
    segments: Option<SegmentWriter>,
}

impl Writer {
    pub fn new(s: WriterStart) -> Self {
        let now = s.shared.clock.now_ms();
        let appender = s
            .shared
            .opts
            .persist_logs
            .then(|| jsonl::Appender::new(s.shared.layout.logs()));
        Writer {
            shared: s.shared,
            rx: s.rx,
            rollups: s.rollups,
            archive: s.archive,
            names: Vec::new(),
            spare: Vec::new(),
            appender,
            unwritten: String::new(),
            log_lines: s.log_lines,
            log_bytes: s.log_bytes,
            dirty: false,
            last_flush: Instant::now(),
            last_flush_clock_ms: now,
            prev_watermark: 0,
            segments: s.segments,
        }
    }

    pub fn run(mut self) {
        let interval = Duration::from_millis(self.shared.opts.flush_interval_ms);
        let manual = self.shared.clock.is_manual();
        loop {
            let cmd = if manual {
                self.rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
            } else {
                let wait = interval.saturating_sub(self.last_flush.elapsed());
                self.rx.recv_timeout(wait)
            };
            match cmd {
                Ok(Cmd::Wake) => {
                    if self.shared.opts.durability == Durability::Power {
                        self.group_commit();
                    }
                    let pending = self.shared.inner.lock().pending.len() as u64;
                    if pending >= self.checkpoint_every() {
                        // Errors are kept in health and retried next time.
                        let _ = self.flush(false);
                    }
                }
                Ok(Cmd::Flush(ack)) => {
                    let _ = ack.send(self.flush(true));
                }
                Ok(Cmd::Tick(ack)) => {
                    let due = self.shared.clock.now_ms() - self.last_flush_clock_ms
                        >= self.shared.opts.flush_interval_ms as i64;
                    let pending = self.shared.inner.lock().pending.len() as u64;
                    let res = if due || pending >= self.checkpoint_every() {
                        self.flush(false)
                    } else {
                        Ok(())
                    };
                    let _ = ack.send(res);
                }
                Ok(Cmd::Clear(cutoff, ack)) => {
                    let _ = ack.send(self.clear(cutoff));
                }
                Ok(Cmd::Close(ack)) => {
                    let res = self.flush(false);
                    let _ = ack.send(res);
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.flush(false);
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = self.flush(false);
                    return;
                }
            }
        }
    }

    fn checkpoint_every(&self) -> u64 {
        self.shared.opts.flush_trigger()
    }

    /// Power mode: one fdatasync for every caller waiting right now.
    fn group_commit(&mut self) {
        let (files, target) = {
            let g = self.shared.inner.lock();
            match &g.journal {
                Some(j) => (j.files_to_sync(), g.state.next_seq),
                None => return,
            }
        };
        // Wake-ups from callers an earlier sync already covered cost nothing.
        if self.shared.durable.lock().synced_below >= target {
            return;
        }
        let mut error = None;
        for f in files {
            if let Err(e) = f.sync_data() {
                error = Some(format!("fdatasync of the journal: {e}"));
            }
        }
        let mut d = self.shared.durable.lock();
        match error {
            None => {
                d.synced_below = d.synced_below.max(target);
                d.error = None;
            }
            Some(e) => d.error = Some(e),
        }
        drop(d);
        self.shared.durable_cv.notify_all();
    }

    /// Copies bridge names interned since the last call (cheap: `Arc`s).
    fn sync_names(&mut self, state: &crate::state::TrackerState) {
        let all = state.interner.names();
        if all.len() > self.names.len() {
            self.names.extend_from_slice(&all[self.names.len()..]);
        }
    }

    /// Folds a drained batch into the rollups and the JSONL text to write.
    /// Runs without the tracker lock.
    fn take_pending(&mut self, batch: &[LogRecord]) {
        for r in batch {
            self.rollups.add(r);
            if self.appender.is_some() {
                jsonl::encode_line(&mut self.unwritten, &record_to_log(r, &self.names));
            }
        }
    }

    /// The batch into this device's git segments (no git, no network: the
    /// sync thread commits and pushes). Lines that could not be written
    /// are kept and retried at the next flush.
    fn append_segments(&mut self, batch: &[LogRecord]) -> Result<()> {
        let Some(seg) = self.segments.as_mut() else {
            return Ok(());
        };
        if batch.is_empty() && !seg.has_unwritten() {
            return Ok(());
        }
        let logs: Vec<crate::model::UsageLog> = batch
            .iter()
            .map(|r| record_to_log(r, &self.names))
            .collect();
        seg.append_logs(&logs)
    }

    fn flush(&mut self, force: bool) -> Result<()> {
        // Only an O(1) swap happens under the lock; callers never wait on
        // encoding or I/O.
        let (batch, watermark) = {
            let shared = self.shared.clone();
            let mut g = shared.inner.lock();
            let batch = std::mem::replace(&mut g.pending, std::mem::take(&mut self.spare));
            self.sync_names(&g.state);
            (batch, g.state.next_seq)
        };
        if batch.is_empty() && !force && !self.dirty && self.unwritten.is_empty() {
            self.spare = batch;
            self.mark_flushed_clock();
            return Ok(());
        }
        self.take_pending(&batch);
        let seg = self.append_segments(&batch);
        self.spare = batch;
        self.spare.clear();
        self.dirty = true;
        let res = self.write_out(watermark, None).and(seg);
        self.finish(res, watermark)
    }

    fn clear(&mut self, cutoff: Option<i64>) -> Result<()> {
        // Clearing works on the whole history: the archived days come back
        // into memory (read before taking the lock), and every one of them
        // is rewritten with what is left (O(history), as clearing is).
        let mut archived = Vec::new();
        let days = self.archive.days();
        let now = self.shared.clock.now_ms();
        for &day in &days {
            archived.extend(self.archive.read_day(day, now)?);
        }
        let (watermark, kept) = {
            let shared = self.shared.clone();
            let mut g = shared.inner.lock();
            let batch = std::mem::take(&mut g.pending);
            for r in &batch {
                self.rollups.add(r);
            }
            self.sync_names(&g.state);
            // Cleared or not, they were tracked: other devices see them.
            let _ = self.append_segments(&batch);
            let inner = &mut *g;
            for (name, hour, t) in &archived {
                let id = inner.state.intern(name);
                self.rollups.add_bucket(id, *hour, *t);
            }
            self.archive.totals.clear();
            self.archive.rewrite.extend(days);
            self.sync_names(&inner.state);
            clear_state(&mut inner.state, &mut self.rollups, cutoff);
            let mut text = String::new();
            if self.appender.is_some() {
                for r in &inner.state.ring {
                    jsonl::encode_line(&mut text, &inner.state.to_log(r));
                }
            }
            (inner.state.next_seq, text)
        };
        self.unwritten.clear();
        self.dirty = true;
        let res = self.write_out(watermark, Some(kept));
        self.finish(res, watermark)
    }

    /// JSONL first (so a snapshot never counts a log the file lacks), then
    /// the snapshot, then journal garbage collection.
    fn write_out(&mut self, watermark: u64, rewrite: Option<String>) -> Result<()> {
        if let Some(app) = self.appender.as_mut() {
            if let Some(text) = rewrite {
                app.rewrite(&text)?;
                self.log_lines = text.lines().count() as u64;
                self.log_bytes = text.len() as u64;
            } else if !self.unwritten.is_empty() {
                let cap = self.shared.opts.max_log_bytes;
                if cap.is_some_and(|c| self.log_bytes + self.unwritten.len() as u64 > c) {
                    // Appending would pass maxLogBytes: the file is rewritten
                    // with the newest retained logs instead, so the cap holds
                    // at every moment, not only after the batch (issue 11 #9).
                    self.roll(watermark)?;
                    self.unwritten.clear();
                } else {
                    app.append(&self.unwritten)?;
                    self.log_lines += self.unwritten.lines().count() as u64;
                    self.log_bytes += self.unwritten.len() as u64;
                    self.unwritten.clear();
                }
            }
            if let Some(app) = self.appender.as_mut() {
                if self.shared.opts.durability != Durability::Interval {
                    app.sync()?;
                }
            }
            self.roll_if_needed(watermark)?;
        }
        let now = self.shared.clock.now_ms();
        let today = day_of(now);
        let staged = self.stage_closed_days(today)?;
        let (recent, archive) = match &staged {
            Some(st) => (
                self.rollups
                    .sorted()
                    .into_iter()
                    .filter(|&(_, h, _)| h >= today)
                    .collect(),
                ArchiveRef {
                    generation: st.generation,
                    totals: &st.totals,
                },
            ),
            None => (
                self.rollups.sorted(),
                ArchiveRef {
                    generation: self.archive.generation,
                    totals: &self.archive.totals,
                },
            ),
        };
        let bytes = snapshot::encode(&self.names, &recent, watermark, now, archive);
        atomic::replace_file(
            &self.shared.layout.stats(),
            &bytes,
            Some(&self.shared.layout.stats_backup()),
        )?;
        if let Some(st) = staged {
            // The snapshot committed the staged days.
            self.rollups.remove_before(today);
            self.archive.totals = st.totals;
            self.archive.committed(st.generation, &st.days);
        }
        let covered = self.prev_watermark;
        self.prev_watermark = watermark;
        let mut g = self.shared.inner.lock();
        if let Some(j) = g.journal.as_mut() {
            j.collect_garbage(covered)?;
        }
        Ok(())
    }

    /// Writes the files of the days before `today` that changed (closed
    /// days still in the rollups, or days a clear rewrote) for the next
    /// archive generation. Nothing in memory changes until the snapshot that
    /// commits them is durable.
    fn stage_closed_days(&mut self, today: i64) -> Result<Option<Staged>> {
        let closed = self.rollups.before(today);
        if closed.is_empty() && self.archive.rewrite.is_empty() {
            return Ok(None);
        }
        let generation = self.archive.generation + 1;
        let mut totals = self.archive.totals.clone();
        totals.resize(totals.len().max(self.names.len()), Totals::default());
        let mut by_day: BTreeMap<i64, Vec<Bucket>> = BTreeMap::new();
        for &day in &self.archive.rewrite {
            by_day.insert(day, Vec::new());
        }
        for &(b, hour, t) in &closed {
            totals[b as usize].merge(&t);
            by_day.entry(day_of(hour)).or_default().push((
                self.names[b as usize].to_string(),
                hour,
                t,
            ));
        }
        let mut days = Vec::with_capacity(by_day.len());
        for (day, new) in by_day {
            let mut hours: BTreeMap<(String, i64), Totals> = BTreeMap::new();
            if !self.archive.rewrite.contains(&day) {
                // Late events for a closed day: merged into its file.
                let now = self.shared.clock.now_ms();
                for (name, hour, t) in self.archive.read_day(day, now)? {
                    hours.entry((name, hour)).or_default().merge(&t);
                }
            }
            for (name, hour, t) in new {
                hours.entry((name, hour)).or_default().merge(&t);
            }
            let buckets: Vec<Bucket> = hours.into_iter().map(|((n, h), t)| (n, h, t)).collect();
            self.archive.write_day(day, generation, &buckets)?;
            days.push(day);
        }
        Ok(Some(Staged {
            generation,
            totals,
            days,
        }))
    }

    /// Over the count or byte cap, the file is rewritten with the newest
    /// retained logs (T7). Some slack (a quarter of the cap) keeps this from
    /// rewriting the file on every flush.
    fn roll_if_needed(&mut self, watermark: u64) -> Result<()> {
        let max_logs = self.shared.opts.max_logs as u64;
        let over_count = self.log_lines > max_logs + (max_logs / 4).max(1);
        let over_bytes = self
            .shared
            .opts
            .max_log_bytes
            .is_some_and(|cap| self.log_bytes > cap);
        if !over_count && !over_bytes {
            return Ok(());
        }
        self.roll(watermark)
    }

    /// Rewrites the file with the newest retained logs that fit in 3/4 of
    /// the byte cap (all retained ones without a cap).
    fn roll(&mut self, watermark: u64) -> Result<()> {
        // Copy the retained records under the lock, encode outside it.
        let records: Vec<LogRecord> = {
            let shared = self.shared.clone();
            let g = shared.inner.lock();
            self.sync_names(&g.state);
            g.state
                .ring
                .iter()
                .filter(|r| r.seq < watermark)
                .copied()
                .collect()
        };
        let lines: Vec<String> = records
            .iter()
            .map(|r| {
                let mut s = String::new();
                jsonl::encode_line(&mut s, &record_to_log(r, &self.names));
                s
            })
            .collect();
        // Newest first until the byte budget (3/4 of the cap) is used.
        let budget = self.shared.opts.max_log_bytes.map(|c| c - c / 4);
        let mut used = 0u64;
        let mut keep = 0usize;
        for l in lines.iter().rev() {
            if budget.is_some_and(|b| used + l.len() as u64 > b) {
                break;
            }
            used += l.len() as u64;
            keep += 1;
        }
        let text: String = lines[lines.len() - keep..].concat();
        if let Some(app) = self.appender.as_mut() {
            app.rewrite(&text)?;
        }
        self.log_lines = keep as u64;
        self.log_bytes = text.len() as u64;
        Ok(())
    }

    fn mark_flushed_clock(&mut self) {
        self.last_flush = Instant::now();
        self.last_flush_clock_ms = self.shared.clock.now_ms();
    }

    fn finish(&mut self, res: Result<()>, watermark: u64) -> Result<()> {
        self.mark_flushed_clock();
        let mut g = self.shared.inner.lock();
        g.recovery.append(&mut self.archive.damaged);
        match &res {
            Ok(()) => {
                self.dirty = false;
                g.last_flush_ms = Some(self.last_flush_clock_ms);
                g.flush_count += 1;
                g.last_error = None;
                drop(g);
                // A durable snapshot also makes power-mode events durable.
                let mut d = self.shared.durable.lock();
                d.synced_below = d.synced_below.max(watermark);
                drop(d);
                self.shared.durable_cv.notify_all();
            }
            Err(e) => g.last_error = Some(e.to_string()),
        }
        res
    }
}
