//! The Node addon behind the npm package `usagebook` (B2).
//!
//! Every behaviour lives in `usagebook-core`; this crate only converts
//! types, errors and threads. The JS facade (`index.js`) reads the caller's
//! objects in JS and calls in here with scalars, so the per-event path never
//! walks a JS object from Rust (PERFORMANCE.md):
//!
//! - `NativeTracker` (napi-rs class): open, intern, logs, clear, flush and
//!   close (Promises on the libuv pool), health, and the testing clock.
//! - `fast` (raw N-API): `track()` and `stats()` read and write a small
//!   `Float64Array` shared with the facade; napi-rs's generic method
//!   dispatch costs more than the whole tracker call, so these two bypass it.
//! - `NativeLedger` (napi-rs class): the budget ledger; calls that wait for
//!   its writer are Promises on the libuv pool.
//! - `pricing`: usage in any provider SDK's shape through the core's one
//!   adapter (`trackUsage`'s slow path), and the price function
//!   (`NativePrices`, behind `cost()` and `Prices`).
//!
//! - `telemetry`: the per-call observer behind `usagebook/otel` (O2).
//!
//! N-API only (no V8 API), so one build serves Node and Electron.

mod errors;
mod fast;
mod ledger;
mod native;
mod pricing;
mod telemetry;

pub use ledger::NativeLedger;
pub use native::{LogColumns, NativeTracker};
pub use pricing::{tracker_counts, NativePrices};
pub use telemetry::set_call_observer;

/// The package version, the crate version (B5).
#[napi_derive::napi]
pub const VERSION: &str = usagebook_core::VERSION;
