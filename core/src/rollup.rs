//! Hourly rollups: the lifetime history that totals are made of (T4, T5).
//!
//! Every log ever recorded is folded into the bucket of its (bridge, hour).
//! The retained log list can be trimmed by `maxLogs` without touching the
//! totals, and `clearLogs(olderThan)` can still remove history that is no
//! longer in the list, at hour granularity.

use crate::totals::{LogRecord, Totals};
use rustc_hash::FxHashMap as HashMap;

pub const HOUR_MS: i64 = 3_600_000;

pub fn hour_of(ts_ms: i64) -> i64 {
    ts_ms.div_euclid(HOUR_MS) * HOUR_MS
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Rollups {
    buckets: HashMap<(u32, i64), Totals>,
}

impl Rollups {
    pub fn add(&mut self, r: &LogRecord) {
        self.buckets
            .entry((r.bridge(), hour_of(r.ts_ms)))
            .or_default()
            .add(r);
    }

    /// Adds a whole bucket, as read from a snapshot.
    pub fn add_bucket(&mut self, bridge: u32, hour_ms: i64, t: Totals) {
        self.buckets
            .entry((bridge, hour_of(hour_ms)))
            .or_default()
            .merge(&t);
    }

    /// Removes one retained log exactly.
    pub fn remove_exact(&mut self, r: &LogRecord) {
        let key = (r.bridge(), hour_of(r.ts_ms));
        if let Some(b) = self.buckets.get_mut(&key) {
            b.sub(r);
            if b.is_empty() {
                self.buckets.remove(&key);
            }
        }
    }

    /// Drops every bucket whose whole hour lies before `cutoff_ms`. The hour
    /// that contains the cutoff is kept: we never drop anything at or after
    /// the cutoff (T5, "keeps >=").
    pub fn drop_hours_before(&mut self, cutoff_ms: i64) {
        self.buckets
            .retain(|&(_, hour), _| hour.saturating_add(HOUR_MS) > cutoff_ms);
    }

    /// Buckets of hours before `ms`, sorted by (bridge, hour).
    pub fn before(&self, ms: i64) -> Vec<(u32, i64, Totals)> {
        let mut v: Vec<_> = self
            .buckets
            .iter()
            .filter(|(&(_, h), _)| h < ms)
            .map(|(&(b, h), &t)| (b, h, t))
            .collect();
        v.sort_by_key(|&(b, h, _)| (b, h));
        v
    }

    /// Drops the buckets of hours before `ms` (once they are archived).
    pub fn remove_before(&mut self, ms: i64) {
        self.buckets.retain(|&(_, h), _| h >= ms);
    }

    pub fn clear(&mut self) {
        self.buckets.clear();
    }

    /// Per-bridge sums, indexed by bridge id.
    pub fn per_bridge(&self, bridges: usize) -> Vec<Totals> {
        let mut out = vec![Totals::default(); bridges];
        for (&(b, _), t) in &self.buckets {
            if let Some(slot) = out.get_mut(b as usize) {
                slot.merge(t);
            }
        }
        out
    }

    /// Buckets sorted by (bridge, hour), for snapshots.
    pub fn sorted(&self) -> Vec<(u32, i64, Totals)> {
        let mut v: Vec<_> = self.buckets.iter().map(|(&(b, h), &t)| (b, h, t)).collect();
        v.sort_by_key(|&(b, h, _)| (b, h));
        v
    }
}
