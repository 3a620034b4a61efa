//! Everything on disk for one tracker directory (T7, T10, T11). The layout
//! is the seed's, plus a backup snapshot, a journal and a lock file:
//!
//! ```text
//! <baseDir>/llm-usage/
//!   usage-stats.json       snapshot (T7), replaced atomically
//!   usage-stats.json.bak   the previous snapshot (T10)
//!   usage-logs.jsonl       one log a line, only with persistLogs (T7)
//!   journal/seg-*.ubj      write-ahead journal for process/power durability
//!   rollups/<day>.g<n>.json hourly rollups of closed days (store::archive)
//!   .lock                  exclusive lock of the owning tracker (T11)
//! ```
//! See docs/FORMATS.md for each file's versioned format.

pub mod archive;
pub mod atomic;
pub mod journal;
pub mod jsonl;
pub mod lock;
pub mod snapshot;

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
}

impl Layout {
    pub fn new(base_dir: &Path) -> Self {
        Layout {
            root: base_dir.join("llm-usage"),
        }
    }
    pub fn stats(&self) -> PathBuf {
        self.root.join("usage-stats.json")
    }
    pub fn stats_backup(&self) -> PathBuf {
        self.root.join("usage-stats.json.bak")
    }
    pub fn logs(&self) -> PathBuf {
        self.root.join("usage-logs.jsonl")
    }
    pub fn journal_dir(&self) -> PathBuf {
        self.root.join("journal")
    }
    pub fn rollups_dir(&self) -> PathBuf {
        self.root.join("rollups")
    }
    pub fn lock(&self) -> PathBuf {
        self.root.join(".lock")
    }
}
