//! Running sums that stats are read from in O(1) (T4).

use crate::model::{UsageStats, UsageStatus};

/// One recorded log, compact: 56 bytes, the bridge as an interned index and
/// the id formatted only when asked for (PERFORMANCE.md: <= 64 bytes a log).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LogRecord {
    pub seq: u64,
    pub ts_ms: i64,
    pub prompt: u64,
    pub completion: u64,
    pub total: u64,
    /// NaN when absent; keeps the record at 56 bytes.
    pub duration_ms: f64,
    pub bridge: u32,
    pub status: UsageStatus,
}

impl LogRecord {
    pub fn duration(&self) -> Option<f64> {
        if self.duration_ms.is_nan() {
            None
        } else {
            Some(self.duration_ms)
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
}

impl Totals {
    pub fn add(&mut self, r: &LogRecord) {
        self.requests = self.requests.saturating_add(1);
        self.prompt = self.prompt.saturating_add(r.prompt);
        self.completion = self.completion.saturating_add(r.completion);
        self.total = self.total.saturating_add(r.total);
        if r.status == UsageStatus::Error {
            self.errors = self.errors.saturating_add(1);
        }
        self.last_used_ms = Some(self.last_used_ms.map_or(r.ts_ms, |m| m.max(r.ts_ms)));
    }

    /// Removes one log's contribution. `last_used_ms` cannot be un-maxed, so
    /// it stays unless nothing is left (callers recompute where exactness
    /// matters).
    pub fn sub(&mut self, r: &LogRecord) {
        self.requests = self.requests.saturating_sub(1);
        self.prompt = self.prompt.saturating_sub(r.prompt);
        self.completion = self.completion.saturating_sub(r.completion);
        self.total = self.total.saturating_sub(r.total);
        if r.status == UsageStatus::Error {
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
        self.errors = self.errors.saturating_add(o.errors);
        self.last_used_ms = match (self.last_used_ms, o.last_used_ms) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }

    pub fn is_empty(&self) -> bool {
        self.requests == 0
    }

    pub fn to_stats(self) -> UsageStats {
        UsageStats {
            total_requests: self.requests,
            prompt_tokens: self.prompt,
            completion_tokens: self.completion,
            total_tokens: self.total,
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
    }
}
