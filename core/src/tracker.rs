//! The `LlmBridgeUsageTracker` interface (T1) and its in-memory and no-op
//! implementations (T12). The file-backed one is in `file_tracker`.

use crate::clock::{SharedClock, SystemClock};
use crate::error::{Error, Result};
use crate::health::Health;
use crate::model::{validate_bridge_id, NewUsageLog, Usage, UsageLog, UsageStats, UsageStatus};
use crate::rollup::{hour_of, Rollups};
use crate::state::TrackerState;
use crate::telemetry::observe::{self, CallRecord};
use crate::totals::{LogRecord, Totals};
use parking_lot::Mutex;
use std::sync::Arc;

/// What every tracker offers, whatever it stores to. All methods take
/// `&self`: trackers are shared between threads (and bindings) in an `Arc`.
pub trait UsageTracker: Send + Sync {
    /// Records one log, stamping id and timestamp (T2). Invalid input is
    /// refused with [`Error::InvalidArgument`] and records nothing.
    fn track(&self, log: &NewUsageLog<'_>) -> Result<()>;
    /// Retained logs, oldest first (T3).
    fn logs(&self, bridge_id: Option<&str>) -> Result<Vec<UsageLog>>;
    /// Lifetime stats of one bridge, or of all when `None` or empty (T4).
    fn stats(&self, bridge_id: Option<&str>) -> Result<UsageStats>;
    /// `clearLogs(olderThan?)` (T5); `None` clears everything.
    fn clear_logs(&self, older_than_ms: Option<i64>) -> Result<()>;
    /// Writes everything pending and returns when it is on disk (T8).
    fn flush(&self) -> Result<()>;
    /// Final flush, then every further call fails with [`Error::Closed`].
    /// Closing twice is fine.
    fn close(&self) -> Result<()>;
    /// Last flush, queue depth, pending bytes, last error (X2).
    fn health(&self) -> Health;
    /// Lifetime stats of every bridge with a request, by bridge id (what
    /// the metrics exposition shows, O1).
    fn bridge_stats(&self) -> Result<Vec<(String, UsageStats)>> {
        Ok(Vec::new())
    }
    /// The Prometheus text exposition of this tracker (O1; docs/telemetry.md).
    fn metrics_text(&self) -> Result<String> {
        crate::telemetry::tracker_metrics_text(self, &crate::telemetry::MetricsOptions::default())
    }
    /// Flush, then sync the git repository at once (`gitSync`, issue 13).
    /// Trackers without git sync refuse.
    fn git_sync_now(&self) -> Result<crate::gitsync::SyncReport> {
        Err(crate::error::Error::invalid(
            "this tracker has no git sync: open a file-backed tracker with the gitSync option",
        ))
    }
    /// Every device's events in the git repository (as of the last sync),
    /// with per-device and per-bridge totals (issue 13).
    fn git_merged_stats(&self) -> Result<crate::gitsync::MergedStats> {
        Err(crate::error::Error::invalid(
            "this tracker has no git sync: open a file-backed tracker with the gitSync option",
        ))
    }
}

/// One log for `track_interned_batch`: the bridge as a handle from
/// `intern_bridge`, the fields as scalars, and the timestamp the host
/// stamped when its `trackUsage` was called (T2: the host's "now", as the
/// seed's `Date.now()`). Bindings queue these and record them in batches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InternedLog {
    pub bridge: u32,
    pub usage: Usage,
    pub duration_ms: Option<f64>,
    pub status: UsageStatus,
    /// Epoch milliseconds, UTC.
    pub timestamp_ms: i64,
}

struct Memory {
    state: TrackerState,
    rollups: Rollups,
    closed: bool,
}

/// Keeps everything in memory: lifetime totals survive the `maxLogs` cap
/// (the seed's version shrank them), nothing survives the process.
pub struct InMemoryTracker {
    inner: Mutex<Memory>,
    clock: SharedClock,
}

impl InMemoryTracker {
    pub fn new(max_logs: usize) -> Result<Self> {
        Self::with_clock(max_logs, Arc::new(SystemClock))
    }

    pub fn with_clock(max_logs: usize, clock: SharedClock) -> Result<Self> {
        if max_logs == 0 {
            return Err(Error::invalid("option maxLogs must be >= 1"));
        }
        Ok(InMemoryTracker {
            inner: Mutex::new(Memory {
                state: TrackerState::new(max_logs),
                rollups: Rollups::default(),
                closed: false,
            }),
            clock,
        })
    }

    /// Resolves a bridge id to the handle [`Self::track_interned`] takes.
    /// Handles stay valid for the tracker's life (also across `clearLogs`).
    pub fn intern_bridge(&self, bridge_id: &str) -> Result<u32> {
        validate_bridge_id(bridge_id)?;
        Ok(self.open_inner()?.state.intern(bridge_id))
    }

    /// [`UsageTracker::track`] with the bridge given by its handle and the
    /// fields as scalars: what a binding calls per event without building
    /// a string. Same stamping and validation (T2, X1).
    pub fn track_interned(
        &self,
        bridge: u32,
        usage: Usage,
        duration_ms: Option<f64>,
        status: UsageStatus,
    ) -> Result<()> {
        let now = self.clock.now_ms();
        let mut g = self.open_inner()?;
        let rec = g
            .state
            .stamp_interned(bridge, usage, duration_ms, status, now)?;
        g.state.apply(rec);
        g.rollups.add(&rec);
        let observed = observe::active().then(|| g.state.interner.name(bridge).clone());
        drop(g);
        if let Some(name) = observed {
            observe::notify(&CallRecord::from_tracker(
                &name,
                &usage,
                status == UsageStatus::Error,
            ));
        }
        Ok(())
    }

    /// Records `logs` in order under one lock, each with its own timestamp
    /// and the next id. All or nothing: one invalid log refuses the batch.
    pub fn track_interned_batch(&self, logs: &[InternedLog]) -> Result<()> {
        let mut g = self.open_inner()?;
        let observed = observe::active().then(|| g.state.interner.names().to_vec());
        let Memory { state, rollups, .. } = &mut *g;
        for l in logs {
            state.check_interned(l.bridge, &l.usage, l.duration_ms)?;
        }
        let mut hours = HourBatch::default();
        for l in logs {
            let rec =
                state.stamp_checked(l.bridge, &l.usage, l.duration_ms, l.status, l.timestamp_ms);
            state.apply(rec);
            hours.add(&rec, rollups);
        }
        hours.finish(rollups);
        drop(g);
        if let Some(names) = observed {
            observe::notify_batch(&names, logs);
        }
        Ok(())
    }

    fn open_inner(&self) -> Result<parking_lot::MutexGuard<'_, Memory>> {
        let g = self.inner.lock();
        if g.closed {
            return Err(Error::Closed);
        }
        Ok(g)
    }
}

impl UsageTracker for InMemoryTracker {
    fn track(&self, log: &NewUsageLog<'_>) -> Result<()> {
        log.validate()?;
        let now = self.clock.now_ms();
        let mut g = self.open_inner()?;
        let rec = g.state.record(log, now);
        g.rollups.add(&rec);
        drop(g);
        if observe::active() {
            observe::notify(&CallRecord::from_tracker(
                log.bridge_id,
                &log.usage,
                log.status == UsageStatus::Error,
            ));
        }
        Ok(())
    }

    fn logs(&self, bridge_id: Option<&str>) -> Result<Vec<UsageLog>> {
        Ok(self.open_inner()?.state.logs(bridge_id))
    }

    fn stats(&self, bridge_id: Option<&str>) -> Result<UsageStats> {
        Ok(self.open_inner()?.state.stats(bridge_id))
    }

    fn bridge_stats(&self) -> Result<Vec<(String, UsageStats)>> {
        Ok(self.open_inner()?.state.bridge_stats())
    }

    fn clear_logs(&self, older_than_ms: Option<i64>) -> Result<()> {
        let mut g = self.open_inner()?;
        let Memory { state, rollups, .. } = &mut *g;
        clear_state(state, rollups, older_than_ms);
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        self.open_inner().map(|_| ())
    }

    fn close(&self) -> Result<()> {
        self.inner.lock().closed = true;
        Ok(())
    }

    fn health(&self) -> Health {
        let g = self.inner.lock();
        Health {
            kind: "memory",
            closed: g.closed,
            retained_logs: g.state.ring.len() as u64,
            ..Health::default()
        }
    }
}

/// Folds a batch into the hourly rollups with one map update per (bridge,
/// hour) instead of one per log: a batch rarely spans more than a few.
/// Merging a bucket's sum is the same as adding its logs one by one.
#[derive(Default)]
struct HourBatch {
    keys: [(u32, i64); 8],
    sums: [Totals; 8],
    len: usize,
}

impl HourBatch {
    fn add(&mut self, rec: &LogRecord, rollups: &mut Rollups) {
        let key = (rec.bridge(), hour_of(rec.ts_ms));
        if let Some(i) = self.keys[..self.len].iter().position(|k| *k == key) {
            self.sums[i].add(rec);
        } else if self.len < self.keys.len() {
            self.keys[self.len] = key;
            self.sums[self.len] = Totals::default();
            self.sums[self.len].add(rec);
            self.len += 1;
        } else {
            rollups.add(rec);
        }
    }

    fn finish(self, rollups: &mut Rollups) {
        for (&(bridge, hour), sum) in self.keys.iter().zip(&self.sums).take(self.len) {
            rollups.add_bucket(bridge, hour, *sum);
        }
    }
}

/// `clearLogs` on state plus rollups, shared by every tracker (T5).
pub(crate) fn clear_state(
    state: &mut TrackerState,
    rollups: &mut Rollups,
    older_than: Option<i64>,
) {
    match older_than {
        None => {
            state.clear_all();
            rollups.clear();
        }
        Some(cutoff) => {
            for r in state.take_retained_before(cutoff) {
                rollups.remove_exact(&r);
            }
            rollups.drop_hours_before(cutoff);
            state.set_totals(rollups.per_bridge(state.interner.len()));
        }
    }
}

/// Records nothing and always reports empty stats (T12). Like every
/// tracker, it refuses calls after `close()` (issue 11 #11: Python's took
/// them, Node's refused).
#[derive(Debug, Default)]
pub struct NoOpTracker {
    closed: std::sync::atomic::AtomicBool,
}

impl NoOpTracker {
    pub fn new() -> Self {
        Self::default()
    }

    fn open(&self) -> Result<()> {
        if self.closed.load(std::sync::atomic::Ordering::Acquire) {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    /// Same contract as [`InMemoryTracker::intern_bridge`]; every handle is 0.
    pub fn intern_bridge(&self, bridge_id: &str) -> Result<u32> {
        self.open()?;
        validate_bridge_id(bridge_id).map(|_| 0)
    }

    /// Records nothing; bad input is still refused.
    pub fn track_interned(
        &self,
        _bridge: u32,
        usage: Usage,
        duration_ms: Option<f64>,
        _status: UsageStatus,
    ) -> Result<()> {
        self.open()?;
        match duration_ms {
            Some(d) if !d.is_finite() || d < 0.0 => Err(Error::invalid(format!(
                "durationMs must be a finite number >= 0, got {d}"
            ))),
            _ => usage.validate(),
        }
    }

    /// Records nothing; bad input is still refused.
    pub fn track_interned_batch(&self, logs: &[InternedLog]) -> Result<()> {
        for l in logs {
            self.track_interned(l.bridge, l.usage, l.duration_ms, l.status)?;
        }
        Ok(())
    }
}

impl UsageTracker for NoOpTracker {
    fn track(&self, log: &NewUsageLog<'_>) -> Result<()> {
        self.open()?;
        // Same contract as the others: bad input is still refused.
        log.validate()
    }
    fn logs(&self, _: Option<&str>) -> Result<Vec<UsageLog>> {
        self.open().map(|_| Vec::new())
    }
    fn stats(&self, _: Option<&str>) -> Result<UsageStats> {
        self.open().map(|_| UsageStats::default())
    }
    fn clear_logs(&self, _: Option<i64>) -> Result<()> {
        self.open()
    }
    fn flush(&self) -> Result<()> {
        self.open()
    }
    fn close(&self) -> Result<()> {
        self.closed
            .store(true, std::sync::atomic::Ordering::Release);
        Ok(())
    }
    fn health(&self) -> Health {
        Health {
            kind: "noop",
            closed: self.closed.load(std::sync::atomic::Ordering::Acquire),
            ..Health::default()
        }
    }
}
