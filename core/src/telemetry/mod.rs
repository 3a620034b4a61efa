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
//! - [`otlp_options`] are the options of the OTLP/HTTP exporter, and
//!   `otlp` (cargo feature `otlp`) is the exporter itself, for Rust and C
//!   hosts.
//!
//! docs/telemetry.md lists every metric.

pub mod exposition;
pub mod ledger_scan;
pub mod observe;
#[cfg(feature = "otlp")]
pub mod otlp;
pub mod otlp_options;
pub mod prom;

pub use exposition::{
    ledger_metrics_text, tracker_dir_metrics_text, tracker_metrics_text, MetricsOptions, OTHER,
};
pub use ledger_scan::LedgerScan;
pub use observe::{CallRecord, CallSource};
pub use otlp_options::OtlpOptions;

/// What a tracker or a ledger opened with the `otlp` option holds: its
/// share of the process's exporter, dropped at close (the exporter's last
/// holder exports a last time).
pub(crate) struct OtlpGuard {
    #[cfg(feature = "otlp")]
    _exporter: otlp::OtlpExporter,
}

/// Starts (or joins) the process's OTLP exporter for a tracker's or a
/// ledger's `otlp` option.
pub(crate) fn attach_otlp(o: &OtlpOptions) -> crate::error::Result<OtlpGuard> {
    #[cfg(feature = "otlp")]
    {
        Ok(OtlpGuard {
            _exporter: otlp::OtlpExporter::install(o.clone())?,
        })
    }
    #[cfg(not(feature = "otlp"))]
    {
        let _ = o;
        Err(crate::error::Error::invalid(
            "option otlp: this usagebook was built without its OTLP exporter; \
             build it with the cargo feature `otlp` (usagebook-core/otlp, or `--features otlp` \
             of usagebook-ffi for the C library), or drop the option; Python and Node \
             record through their own OpenTelemetry SDK with usagebook.otel / usagebook/otel",
        ))
    }
}
