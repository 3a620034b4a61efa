//! usagebook core: every behaviour of the usage tracker lives here; the C,
//! Python and Node bindings only convert types, errors and threads.
//!
//! Requirement IDs (T, X, ...) refer to `REQUIREMENTS.md`; see
//! `docs/ARCHITECTURE.md` for how an event flows from the call to disk.

pub mod claude_code;
pub mod cliproxy;
pub mod clock;
pub mod error;
pub mod eventlog;
pub mod export;
pub mod file_tracker;
pub mod gitsync;
pub mod health;
pub mod import;
pub mod ledger;
pub mod limits;
pub mod model;
pub mod options;
pub mod pricing;
pub mod report;
pub mod rollup;
mod state;
pub mod store;
pub mod telemetry;
pub mod timefmt;
mod totals;
pub mod tracker;
pub mod usage;
mod writer;

pub use clock::{Clock, FnClock, ManualClock, SharedClock, SystemClock};
pub use error::{BudgetExceeded, Error, Result};
pub use file_tracker::FileBackedTracker;
pub use health::Health;
pub use model::{
    NewUsageLog, NewUsageLogOwned, Usage, UsageLog, UsageStats, UsageStatus, MAX_PART_TOKENS,
};
pub use options::{Durability, TrackerOptions};
pub use pricing::{Cost, CostItem, PriceRegistry};
pub use report::Report;
pub use tracker::{InMemoryTracker, InternedLog, NoOpTracker, UsageTracker};
pub use usage::{TokenUsage, UsageShape};

/// The crate version, shared by every binding (B5).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
