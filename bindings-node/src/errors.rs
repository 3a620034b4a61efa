//! Core errors as JS errors with a stable `code` (the C ABI's status names).

use usagebook_core::Error;

pub(crate) const INVALID_ARGUMENT: &str = "USAGEBOOK_INVALID_ARGUMENT";
pub(crate) const PANIC: &str = "USAGEBOOK_PANIC";

/// The stable `code` of a core error. The facade turns
/// `USAGEBOOK_INVALID_ARGUMENT` into a `TypeError`.
pub(crate) fn code(e: &Error) -> &'static str {
    match e {
        Error::InvalidArgument(_) => INVALID_ARGUMENT,
        Error::Locked(_) => "USAGEBOOK_LOCKED",
        Error::Closed => "USAGEBOOK_CLOSED",
        Error::Io { .. } => "USAGEBOOK_IO_ERROR",
        Error::UnsupportedFormat { .. } => "USAGEBOOK_UNSUPPORTED_FORMAT",
        // Variants trackers never return (ledger budgets) and future ones.
        _ => "USAGEBOOK_ERROR",
    }
}

/// A core error as the napi-rs error a `#[napi]` function returns: a JS
/// `Error` whose `code` is [`code`].
pub(crate) fn to_napi(e: Error) -> napi::Error<String> {
    napi::Error::new(code(&e).to_string(), e.to_string())
}

pub(crate) fn invalid(msg: impl Into<String>) -> napi::Error<String> {
    napi::Error::new(INVALID_ARGUMENT.to_string(), msg.into())
}

pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("internal error in usagebook (please report it): {what}")
}

/// Runs `f`, turning a Rust panic into a `USAGEBOOK_PANIC` error so it never
/// unwinds into Node (X1).
pub(crate) fn guard<T>(f: impl FnOnce() -> napi::Result<T, String>) -> napi::Result<T, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => Err(napi::Error::new(PANIC.to_string(), panic_message(&*p))),
    }
}
