//! The health call (X2): what a host shows on a status page.

use serde_json::{json, Value};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Health {
    /// `"memory"`, `"noop"` or `"file"`.
    pub kind: &'static str,
    pub closed: bool,
    pub durability: Option<&'static str>,
    /// Epoch ms of the last successful flush.
    pub last_flush_ms: Option<i64>,
    pub flush_count: u64,
    /// Logs recorded in memory but not yet written by the writer.
    pub queue_depth: u64,
    /// Approximate bytes those pending logs take on disk.
    pub pending_bytes: u64,
    pub retained_logs: u64,
    pub last_error: Option<String>,
    /// What recovery found at open: replayed events, files moved aside.
    pub recovery: Vec<String>,
    /// The git sync's state (last sync, last error, failures in a row,
    /// local commits not pushed yet); `None` without `gitSync` (issue 13).
    pub git_sync: Option<crate::gitsync::SyncStatus>,
}

impl Health {
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "kind": self.kind,
            "closed": self.closed,
            "durability": self.durability,
            "lastFlushAt": self.last_flush_ms.map(crate::timefmt::format_iso_ms),
            "flushCount": self.flush_count,
            "queueDepth": self.queue_depth,
            "pendingBytes": self.pending_bytes,
            "retainedLogs": self.retained_logs,
            "lastError": self.last_error,
            "recovery": self.recovery,
        });
        // Only for trackers with git sync: the health of the others keeps
        // its shape.
        if let Some(g) = &self.git_sync {
            v["gitSync"] = g.health_json();
        }
        v
    }
}
