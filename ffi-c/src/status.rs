//! `usagebook_status`: the result of every fallible call, and the mapping
//! from core errors to it. Numbers are part of the ABI: never reuse or
//! renumber one; add new codes at the end.

use std::ffi::{c_char, CStr};
use usagebook_core::Error;

/// The result of a usagebook call. `USAGEBOOK_OK` (0) is success; any other
/// value is a failure explained by `usagebook_last_error_message()`.
///
/// Fixed-width (`uint32_t`) so the ABI does not depend on the C compiler's
/// enum size (e.g. `-fshort-enums`). The numbers never change.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum usagebook_status {
    /// Success.
    USAGEBOOK_OK = 0,
    /// A required pointer argument was NULL.
    USAGEBOOK_NULL_ARGUMENT = 1,
    /// A string argument was not valid UTF-8.
    USAGEBOOK_INVALID_UTF8 = 2,
    /// An argument was refused (bad JSON, unknown option, empty bridge id,
    /// out-of-range value); the last error message names it.
    USAGEBOOK_INVALID_ARGUMENT = 3,
    /// A file operation failed; the message names the file.
    USAGEBOOK_IO_ERROR = 4,
    /// Another tracker, in this or another process, owns the directory (T11).
    USAGEBOOK_LOCKED = 5,
    /// The tracker was closed.
    USAGEBOOK_CLOSED = 6,
    /// A file was written by a newer usagebook; it was left untouched.
    USAGEBOOK_UNSUPPORTED_FORMAT = 7,
    /// A bug: Rust code panicked. The panic was caught at the boundary; the
    /// message says where. The process keeps running.
    USAGEBOOK_PANIC = 8,
    /// A ledger hold would exceed the budget; the message names scope,
    /// window, limit, spent, reserved and reset time (L7).
    USAGEBOOK_BUDGET_EXCEEDED = 9,
    /// A ledger rate limit refused the reservation (R3); the message names
    /// the scope, the limit (rpm, tpm or rpd), its window, the count and
    /// `retry after <seconds> s` (or that it can never fit).
    USAGEBOOK_RATE_LIMITED = 10,
}

/// The raw integer form of [`usagebook_status`]. Functions that take a status
/// from C take this, so that an out-of-range value is not undefined behaviour.
/// The header spells it `usagebook_status` (renamed by cbindgen.toml).
pub type usagebook_status_code = u32;

/// A failure on its way to C: the status and the message stored as the
/// thread's last error.
#[derive(Debug)]
pub(crate) struct FfiError {
    pub status: usagebook_status,
    pub message: String,
}

impl FfiError {
    pub fn new(status: usagebook_status, message: impl Into<String>) -> Self {
        FfiError {
            status,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(usagebook_status::USAGEBOOK_INVALID_ARGUMENT, message)
    }
}

impl From<Error> for FfiError {
    fn from(e: Error) -> Self {
        use usagebook_status::*;
        let status = match &e {
            Error::InvalidArgument(_) => USAGEBOOK_INVALID_ARGUMENT,
            Error::Locked(_) => USAGEBOOK_LOCKED,
            Error::Closed => USAGEBOOK_CLOSED,
            Error::Io { .. } => USAGEBOOK_IO_ERROR,
            Error::UnsupportedFormat { .. } => USAGEBOOK_UNSUPPORTED_FORMAT,
            Error::BudgetExceeded(_) => USAGEBOOK_BUDGET_EXCEEDED,
            Error::RateLimited(_) => USAGEBOOK_RATE_LIMITED,
        };
        FfiError::new(status, e.to_string())
    }
}

fn describe(code: u32) -> &'static CStr {
    use usagebook_status::*;
    const TABLE: [(usagebook_status, &CStr); 11] = [
        (USAGEBOOK_OK, c"USAGEBOOK_OK: success"),
        (
            USAGEBOOK_NULL_ARGUMENT,
            c"USAGEBOOK_NULL_ARGUMENT: a required pointer argument was NULL",
        ),
        (
            USAGEBOOK_INVALID_UTF8,
            c"USAGEBOOK_INVALID_UTF8: a string argument was not valid UTF-8",
        ),
        (
            USAGEBOOK_INVALID_ARGUMENT,
            c"USAGEBOOK_INVALID_ARGUMENT: an argument was refused",
        ),
        (
            USAGEBOOK_IO_ERROR,
            c"USAGEBOOK_IO_ERROR: a file operation failed",
        ),
        (
            USAGEBOOK_LOCKED,
            c"USAGEBOOK_LOCKED: the usage directory is owned by another tracker",
        ),
        (USAGEBOOK_CLOSED, c"USAGEBOOK_CLOSED: the tracker is closed"),
        (
            USAGEBOOK_UNSUPPORTED_FORMAT,
            c"USAGEBOOK_UNSUPPORTED_FORMAT: a file was written by a newer usagebook",
        ),
        (
            USAGEBOOK_PANIC,
            c"USAGEBOOK_PANIC: internal error (a Rust panic was caught)",
        ),
        (
            USAGEBOOK_BUDGET_EXCEEDED,
            c"USAGEBOOK_BUDGET_EXCEEDED: the hold would exceed the budget",
        ),
        (
            USAGEBOOK_RATE_LIMITED,
            c"USAGEBOOK_RATE_LIMITED: a rate limit refused the reservation",
        ),
    ];
    TABLE
        .iter()
        .find(|(s, _)| *s as u32 == code)
        .map(|(_, d)| *d)
        .unwrap_or(c"unknown usagebook_status")
}

/// A static, NUL-terminated description of `status` (never NULL, never to
/// be freed). Unknown values give "unknown usagebook_status".
#[no_mangle]
pub extern "C" fn usagebook_status_str(status: usagebook_status_code) -> *const c_char {
    ffi_guard_value!(c"unknown usagebook_status".as_ptr(), {
        describe(status).as_ptr()
    })
}
