//! Running sums that stats are read from in O(1) (T4).

use crate::model::{Usage, UsageStats, UsageStatus};

/// Top bit of [`LogRecord`]'s bridge word: set for `status: "error"`.
const ERROR_BIT: u32 = 1 << 31;

/// The most bridges a tracker can intern: the index shares its word with
/// the status bit.
pub(crate) const MAX_BRIDGES: usize = ERROR_BIT as usize;

/// One recorded log, compact: 64 bytes, the bridge as an interned index and
/// the id formatted only when asked for (PERFORMANCE.md: <= 64 bytes a log).
///
/// Layout: six 8-byte fields (seq, time, the three T1 counts, duration),
/// then four 4-byte words: the bridge index with the status in its top bit,
/// and the three parts. A part of one call fits in 32 bits (larger ones are
/// refused at `track`, [`crate::Usage::validate`]); the sums in [`Totals`]
/// are 64-bit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LogRecord {
    pub seq: u64,
    pub ts_ms: i64,
    pub prompt: u64,
    pub completion: u64,
    pub total: u64,
    /// NaN when absent.
    pub duration_ms: f64,
    /// Bridge index in the low 31 bits, [`ERROR_BIT`] for an error.
    bridge_status: u32,
    pub cache_read: u32,
    pub cache_write: u32,
    pub reasoning: u32,
}

/// A part as a record keeps it. Validated input always fits; a part read
/// back from a file written by someone else is capped rather than wrapped.
#[inline]
pub(crate) fn part32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

impl LogRecord {
    #[inline(always)]
    pub fn new(
        seq: u64,
        ts_ms: i64,
        bridge: u32,
        usage: &Usage,
        duration_ms: Option<f64>,
        status: UsageStatus,
    ) -> Self {
        debug_assert!((bridge as usize) < MAX_BRIDGES);
        let error = if status == UsageStatus::Error {
            ERROR_BIT
        } else {
            0
        };
        LogRecord {
            seq,
            ts_ms,
            prompt: usage.prompt_tokens,
            completion: usage.completion_tokens,
            total: usage.total_tokens,
            duration_ms: duration_ms.unwrap_or(f64::NAN),
            bridge_status: (bridge & !ERROR_BIT) | error,
            cache_read: part32(usage.cache_read_tokens),
            cache_write: part32(usage.cache_write_tokens),
            reasoning: part32(usage.reasoning_tokens),
        }
    }

    #[inline]
    pub fn bridge(&self) -> u32 {
        self.bridge_status & !ERROR_BIT
    }

    #[inline]
    pub fn status(&self) -> UsageStatus {
        if self.bridge_status & ERROR_BIT != 0 {
            UsageStatus::Error
        } else {
            UsageStatus::Success
        }
    }

    #[inline]
    fn is_error(&self) -> bool {
        self.bridge_status & ERROR_BIT != 0
    }

    /// True when any part is not zero.
    #[inline]
    pub fn has_parts(&self) -> bool {
        (self.cache_read | self.cache_write | self.reasoning) != 0
    }

    pub fn duration(&self) -> Option<f64> {
        if self.duration_ms.is_nan() {
            None
        } else {
            Some(self.duration_ms)
        }
    }

    /// The T1 counts and the parts, as callers see them.
    pub fn usage(&self) -> Usage {
        Usage {
            prompt_tokens: self.prompt,
            completion_tokens: self.completion,
            total_tokens: self.total,
            cache_read_tokens: u64::from(self.cache_read),
            cache_write_tokens: u64::from(self.cache_write),
            reasoning_tokens: u64::from(self.reasoning),
        }
    }
}

/// Lifetime sums for one bridge, one hour bucket, or everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Totals {
    pub requests: u64,
    pub prompt: u64,
    pub completion: u64,
    pub total: u64,
    pub errors: u64,
    pub last_used_ms: Option<i64>,
    /// Sums of the parts (of `prompt`, `prompt` and `completion`).
    pub cache_read: u64,
    pub cache_write: u64,
    pub reasoning: u64,
}

impl Totals {
    #[inline]
    pub fn add(&mut self, r: &LogRecord) {
        self.requests = self.requests.saturating_add(1);
        self.prompt = self.prompt.saturating_add(r.prompt);
        self.completion = self.completion.saturating_add(r.completion);
        self.total = self.total.saturating_add(r.total);
        if r.has_parts() {
            self.add_parts(r);
        }
        if r.is_error() {
            self.errors = self.errors.saturating_add(1);
        }
        self.last_used_ms = Some(self.last_used_ms.map_or(r.ts_ms, |m| m.max(r.ts_ms)));
    }

    fn add_parts(&mut self, r: &LogRecord) {
        self.cache_read = self.cache_read.saturating_add(u64::from(r.cache_read));
        self.cache_write = self.cache_write.saturating_add(u64::from(r.cache_write));
        self.reasoning = self.reasoning.saturating_add(u64::from(r.reasoning));
    }

    /// Removes one log's contribution. `last_used_ms` cannot be un-maxed, so
    /// it stays unless nothing is left (callers recompute where exactness
    /// matters).
    pub fn sub(&mut self, r: &LogRecord) {
        self.requests = self.requests.saturating_sub(1);
        self.prompt = self.prompt.saturating_sub(r.prompt);
        self.completion = self.completion.saturating_sub(r.completion);
        self.total = self.total.saturating_sub(r.total);
        self.cache_read = self.cache_read.saturating_sub(u64::from(r.cache_read));
        self.cache_write = self.cache_write.saturating_sub(u64::from(r.cache_write));
        self.reasoning = self.reasoning.saturating_sub(u64::from(r.reasoning));
        if r.is_error() {
            self.errors = self.errors.saturating_sub(1);
        }
        if self.requests == 0 {
            *self = Totals::default();
        }
    }

    pub fn merge(&mut self, o: &Totals) {
        self.requests = self.requests.saturating_add(o.requests);
        self.prompt = self.prompt.saturating_add(o.prompt);
        self.completion = self.completion.saturating_add(o.completion);
        self.total = self.total.saturating_add(o.total);
        self.cache_read = self.cache_read.saturating_add(o.cache_read);
        self.cache_write = self.cache_write.saturating_add(o.cache_write);
        self.reasoning = self.reasoning.saturating_add(o.reasoning);
        self.errors = self.errors.saturating_add(o.errors);
        self.last_used_ms = match (self.last_used_ms, o.last_used_ms) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }

    pub fn is_empty(&self) -> bool {
        self.requests == 0
    }

    /// True when any part sum is not zero.
    pub fn has_parts(&self) -> bool {
        (self.cache_read | self.cache_write | self.reasoning) != 0
    }

    pub fn to_stats(self) -> UsageStats {
        UsageStats {
            total_requests: self.requests,
            prompt_tokens: self.prompt,
            completion_tokens: self.completion,
            total_tokens: self.total,
            cache_read_tokens: self.cache_read,
            cache_write_tokens: self.cache_write,
            reasoning_tokens: self.reasoning,
            average_tokens_per_request: if self.requests == 0 {
                0.0
            } else {
                self.total as f64 / self.requests as f64
            },
            last_used_at_ms: if self.requests == 0 {
                None
            } else {
                self.last_used_ms
            },
            error_count: self.errors,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_per_retained_log_is_at_most_64_bytes() {
        assert!(std::mem::size_of::<LogRecord>() <= 64);
        assert_eq!(std::mem::size_of::<LogRecord>(), 64);
    }

    #[test]
    fn status_rides_in_the_bridge_word() {
        let u = Usage {
            cache_read_tokens: 7,
            cache_write_tokens: 8,
            reasoning_tokens: 2,
            ..Usage::new(20, 3, 23)
        };
        let top = (MAX_BRIDGES - 1) as u32;
        for (bridge, status) in [
            (0, UsageStatus::Success),
            (0, UsageStatus::Error),
            (top, UsageStatus::Success),
            (top, UsageStatus::Error),
        ] {
            let r = LogRecord::new(1, 2, bridge, &u, None, status);
            assert_eq!((r.bridge(), r.status()), (bridge, status));
            assert_eq!(r.usage(), u);
            assert_eq!(r.duration(), None);
        }
    }

    #[test]
    fn t4_parts_are_summed_and_removed_like_the_t1_counts() {
        let mut t = Totals::default();
        let a = LogRecord::new(
            1,
            10,
            0,
            &Usage {
                cache_read_tokens: u32::MAX as u64,
                reasoning_tokens: 1,
                ..Usage::new(u32::MAX as u64 + 5, 1, 0)
            },
            Some(1.0),
            UsageStatus::Success,
        );
        let b = LogRecord::new(
            2,
            20,
            0,
            &Usage {
                cache_read_tokens: 3,
                cache_write_tokens: 4,
                ..Usage::new(9, 2, 11)
            },
            None,
            UsageStatus::Error,
        );
        t.add(&a);
        t.add(&b);
        let s = t.to_stats();
        assert_eq!(
            (
                s.cache_read_tokens,
                s.cache_write_tokens,
                s.reasoning_tokens
            ),
            (u32::MAX as u64 + 3, 4, 1)
        );
        assert_eq!(s.error_count, 1);
        assert!(t.has_parts());
        t.sub(&a);
        assert_eq!((t.cache_read, t.cache_write, t.reasoning), (3, 4, 0));
        let mut m = Totals::default();
        m.merge(&t);
        m.merge(&t);
        assert_eq!((m.cache_read, m.cache_write, m.reasoning), (6, 8, 0));
    }
}
