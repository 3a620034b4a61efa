//! The usagebook C ABI (B1): opaque tracker, ledger and hold handles,
//! `usagebook_status` codes, a thread-local last-error message, and owned
//! strings freed by `usagebook_string_free`. The header
//! `include/usagebook.h` is generated from this crate by `cargo xtask
//! gen-header` (pinned cbindgen).
//!
//! Conventions (model: rustls-ffi), checked by `tests/guard.rs`:
//! - every exported body runs inside `ffi_guard!` or `ffi_guard_value!`,
//!   which catch panics (`USAGEBOOK_PANIC`) and record the last error;
//! - NULL pointers and invalid UTF-8 are errors, never `unwrap` or lossy;
//! - out-parameters are written only when the call returns `USAGEBOOK_OK`.
//!
//! No behaviour lives here: everything is `usagebook_core`; this crate only
//! converts pointers, strings, errors and panics.

#![allow(non_camel_case_types)]

#[macro_use]
mod guard;
mod args;
mod ledger;
mod status;
mod tracker;
mod version;

pub use args::usagebook_string_free;
pub use guard::usagebook_last_error_message;
pub use ledger::*;
pub use status::{usagebook_status, usagebook_status_code, usagebook_status_str};
pub use tracker::*;
pub use version::usagebook_version;
