//! Telemetry (O1, O2): the Prometheus text exposition of a tracker's and a
//! ledger's figures, and the per-call observations the OpenTelemetry
//! integrations of the bindings (and the optional OTLP exporter) record.
//!
//! - [`prom`] writes the text format 0.0.4 (families, labels, escaping).
//! - [`exposition`] renders a tracker's or a ledger's figures with a bound
//!   on label values (top N plus `_other`).
//! - [`ledger_scan`] reads a ledger database's true totals, shared by every
//!   process writing it, incrementally (only events past the last read).
//! - [`observe`] is the per-process list of observers every tracked call
//!   and every ledger commit is reported to, normalised (tokens by part,
//!   provider, model, cost).
//!
//! docs/telemetry.md lists every metric.

pub mod exposition;
pub mod ledger_scan;
pub mod observe;
pub mod prom;

pub use exposition::{
    ledger_metrics_text, tracker_dir_metrics_text, tracker_metrics_text, MetricsOptions, OTHER,
};
pub use ledger_scan::LedgerScan;
pub use observe::{CallRecord, CallSource};
