//! The in-memory state every tracker shares: interned bridge names, the
//! bounded list of retained logs, and O(1) running totals (T2–T5).
//! Persistence never lives here; the file tracker wraps this with a writer.

use crate::error::{Error, Result};
use crate::model::{NewUsageLog, Usage, UsageLog, UsageStats, UsageStatus};
use crate::totals::{LogRecord, Totals};
use rustc_hash::FxHashMap as HashMap;
use std::collections::VecDeque;
use std::sync::Arc;

/// Bridge ids are stored once; logs carry a `u32` index.
#[derive(Debug, Default, Clone)]
pub(crate) struct Interner {
    names: Vec<Arc<str>>,
    ids: HashMap<Arc<str>, u32>,
}

impl Interner {
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        // 2^31 distinct names would take over 100 GB before we got here.
        assert!(
            self.names.len() < crate::totals::MAX_BRIDGES,
            "more than 2^31 distinct bridge ids"
        );
        let id = self.names.len() as u32;
        let arc: Arc<str> = Arc::from(name);
        self.names.push(arc.clone());
        self.ids.insert(arc, id);
        id
    }

    pub fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    pub fn name(&self, id: u32) -> &Arc<str> {
        &self.names[id as usize]
    }

    pub fn names(&self) -> &[Arc<str>] {
        &self.names
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct TrackerState {
    pub interner: Interner,
    per_bridge: Vec<Totals>,
    overall: Totals,
    pub ring: VecDeque<LogRecord>,
    pub max_logs: usize,
    /// The sequence number the next log gets (T2: never reused).
    pub next_seq: u64,
}

impl TrackerState {
    pub fn new(max_logs: usize) -> Self {
        TrackerState {
            interner: Interner::default(),
            per_bridge: Vec::new(),
            overall: Totals::default(),
            ring: VecDeque::new(),
            max_logs,
            next_seq: 1,
        }
    }

    /// Stamps and records a validated log; returns the stored record.
    pub fn record(&mut self, log: &NewUsageLog<'_>, now_ms: i64) -> LogRecord {
        let rec = self.stamp(log, now_ms);
        self.apply(rec);
        rec
    }

    /// Gives a log its id (sequence number) and timestamp without recording
    /// it yet, so a journal can take it first.
    pub fn stamp(&mut self, log: &NewUsageLog<'_>, now_ms: i64) -> LogRecord {
        let bridge = self.intern(log.bridge_id);
        let seq = self.next_seq;
        self.next_seq += 1;
        LogRecord::new(seq, now_ms, bridge, &log.usage, log.duration_ms, log.status)
    }

    /// What [`Self::stamp_interned`] refuses, checked without stamping (a
    /// batch is checked whole before any of it is recorded).
    #[inline]
    pub fn check_interned(
        &self,
        bridge: u32,
        usage: &Usage,
        duration_ms: Option<f64>,
    ) -> Result<()> {
        if bridge as usize >= self.interner.len() {
            return Err(Error::invalid(format!(
                "bridge handle {bridge} was not returned by intern_bridge"
            )));
        }
        if let Some(d) = duration_ms {
            if !d.is_finite() || d < 0.0 {
                return Err(Error::invalid(format!(
                    "durationMs must be a finite number >= 0, got {d}"
                )));
            }
        }
        usage.validate()
    }

    /// [`Self::stamp`] for a bridge already interned (the bindings' fast
    /// path: the host resolves a name once, then passes its index). Refuses
    /// an unknown index, a negative / non-finite duration or parts that do
    /// not fit ([`Usage::validate`]) (X1).
    #[inline]
    pub fn stamp_interned(
        &mut self,
        bridge: u32,
        usage: Usage,
        duration_ms: Option<f64>,
        status: UsageStatus,
        now_ms: i64,
    ) -> Result<LogRecord> {
        self.check_interned(bridge, &usage, duration_ms)?;
        Ok(self.stamp_checked(bridge, &usage, duration_ms, status, now_ms))
    }

    /// [`Self::stamp_interned`] for a log [`Self::check_interned`] passed
    /// (a batch checks every log first, then stamps them).
    #[inline]
    pub fn stamp_checked(
        &mut self,
        bridge: u32,
        usage: &Usage,
        duration_ms: Option<f64>,
        status: UsageStatus,
        now_ms: i64,
    ) -> LogRecord {
        debug_assert!(self.check_interned(bridge, usage, duration_ms).is_ok());
        let seq = self.next_seq;
        self.next_seq += 1;
        LogRecord::new(seq, now_ms, bridge, usage, duration_ms, status)
    }

    /// Records an already-stamped log (replay after a restart).
    #[inline]
    pub fn apply(&mut self, rec: LogRecord) {
        self.next_seq = self.next_seq.max(rec.seq.saturating_add(1));
        self.per_bridge[rec.bridge() as usize].add(&rec);
        self.overall.add(&rec);
        self.retain(rec);
    }

    /// Puts a log in the retained list without counting it (it is already
    /// in the totals, e.g. restored from the log file after a snapshot).
    #[inline]
    pub fn retain(&mut self, rec: LogRecord) {
        let len = self.ring.len();
        if len >= self.max_logs {
            self.ring.pop_front();
        } else if len == self.ring.capacity() {
            // Grow by doubling, but never past `maxLogs`: a full ring holds
            // exactly its logs (PERFORMANCE.md: <= 64 bytes a retained log).
            let want = len.saturating_mul(2).max(8).min(self.max_logs);
            self.ring.reserve_exact(want - len);
        }
        self.ring.push_back(rec);
    }

    pub fn intern(&mut self, name: &str) -> u32 {
        let id = self.interner.intern(name);
        if self.per_bridge.len() <= id as usize {
            self.per_bridge.resize(id as usize + 1, Totals::default());
        }
        id
    }

    /// Replaces every total (after a dated clear or a snapshot load).
    pub fn set_totals(&mut self, per_bridge: Vec<Totals>) {
        let mut overall = Totals::default();
        for t in &per_bridge {
            overall.merge(t);
        }
        self.per_bridge = per_bridge;
        self.per_bridge
            .resize(self.interner.len(), Totals::default());
        self.overall = overall;
    }

    pub fn stats(&self, bridge_id: Option<&str>) -> UsageStats {
        match bridge_id.filter(|b| !b.is_empty()) {
            None => self.overall.to_stats(),
            Some(b) => match self.interner.get(b) {
                Some(id) => self.per_bridge[id as usize].to_stats(),
                None => UsageStats::default(),
            },
        }
    }

    /// Stats of every bridge with a request (or an error), by name.
    pub fn bridge_stats(&self) -> Vec<(String, UsageStats)> {
        self.interner
            .names()
            .iter()
            .zip(&self.per_bridge)
            .filter(|(_, t)| !t.is_empty())
            .map(|(n, t)| (n.to_string(), t.to_stats()))
            .collect()
    }

    pub fn to_log(&self, r: &LogRecord) -> UsageLog {
        record_to_log(r, self.interner.names())
    }

    /// Retained logs, oldest first; all of them, or one bridge's (T3).
    pub fn logs(&self, bridge_id: Option<&str>) -> Vec<UsageLog> {
        match bridge_id.filter(|b| !b.is_empty()) {
            None => self.ring.iter().map(|r| self.to_log(r)).collect(),
            Some(b) => match self.interner.get(b) {
                Some(id) => self
                    .ring
                    .iter()
                    .filter(|r| r.bridge() == id)
                    .map(|r| self.to_log(r))
                    .collect(),
                None => Vec::new(),
            },
        }
    }

    /// Removes retained logs with `ts < cutoff` and returns them.
    pub fn take_retained_before(&mut self, cutoff_ms: i64) -> Vec<LogRecord> {
        let mut dropped = Vec::new();
        self.ring.retain(|r| {
            let keep = r.ts_ms >= cutoff_ms;
            if !keep {
                dropped.push(*r);
            }
            keep
        });
        dropped
    }

    /// `clearLogs()` without a date: logs and totals go (T5); ids do not
    /// restart (T2).
    pub fn clear_all(&mut self) {
        self.ring.clear();
        let n = self.per_bridge.len();
        self.per_bridge = vec![Totals::default(); n];
        self.overall = Totals::default();
    }
}

/// A record as callers see it, with its bridge name from `names`.
pub(crate) fn record_to_log(r: &LogRecord, names: &[Arc<str>]) -> UsageLog {
    UsageLog {
        seq: r.seq,
        bridge_id: names[r.bridge() as usize].to_string(),
        timestamp_ms: r.ts_ms,
        usage: r.usage(),
        duration_ms: r.duration(),
        status: r.status(),
    }
}
