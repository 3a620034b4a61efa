//! Checked conversions between C and Rust: arguments (NULL and invalid
//! UTF-8 are errors naming the argument, X1; never `unwrap` or lossy) and
//! the owned strings handed back to C with their one deallocator.

use crate::status::{usagebook_status, FfiError};
use std::ffi::{c_char, CStr, CString};

fn null(name: &str) -> FfiError {
    FfiError::new(
        usagebook_status::USAGEBOOK_NULL_ARGUMENT,
        format!("{name} must not be NULL"),
    )
}

/// A required string argument.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn str_arg<'a>(p: *const c_char, name: &str) -> Result<&'a str, FfiError> {
    if p.is_null() {
        return Err(null(name));
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    let bytes = unsafe { CStr::from_ptr(p) };
    bytes.to_str().map_err(|e| {
        FfiError::new(
            usagebook_status::USAGEBOOK_INVALID_UTF8,
            format!(
                "{name} is not valid UTF-8 (invalid byte at offset {})",
                e.valid_up_to()
            ),
        )
    })
}

/// An optional string argument: NULL is `None`.
///
/// # Safety
/// As [`str_arg`].
pub(crate) unsafe fn opt_str_arg<'a>(
    p: *const c_char,
    name: &str,
) -> Result<Option<&'a str>, FfiError> {
    if p.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded contract.
        unsafe { str_arg(p, name) }.map(Some)
    }
}

/// A bridge-id filter: NULL or "" mean "all bridges" (T3, T4).
///
/// # Safety
/// As [`str_arg`].
pub(crate) unsafe fn bridge_filter<'a>(p: *const c_char) -> Result<Option<&'a str>, FfiError> {
    // SAFETY: forwarded contract.
    Ok(unsafe { opt_str_arg(p, "bridge_id") }?.filter(|s| !s.is_empty()))
}

/// A required pointer to an object the caller owns.
///
/// # Safety
/// `p` is NULL or points to a live `T` that outlives `'a`.
pub(crate) unsafe fn ref_arg<'a, T>(p: *const T, name: &str) -> Result<&'a T, FfiError> {
    // SAFETY: the caller's contract.
    unsafe { p.as_ref() }.ok_or_else(|| null(name))
}

/// Checks an out-parameter before any work is done, so a NULL one fails
/// without side effects.
pub(crate) fn out_arg<T>(p: *mut T, name: &str) -> Result<*mut T, FfiError> {
    if p.is_null() {
        Err(null(name))
    } else {
        Ok(p)
    }
}

/// Hands a string to C; C frees it with `usagebook_string_free`.
pub(crate) fn owned_c_string(s: String) -> Result<*mut c_char, FfiError> {
    CString::new(s).map(CString::into_raw).map_err(|_| {
        FfiError::new(
            usagebook_status::USAGEBOOK_PANIC,
            "internal error: an output string contained a NUL byte",
        )
    })
}

/// Frees a string returned by usagebook (`*_json` out-parameters). NULL is
/// a no-op. Freeing any other pointer, or the same one twice, is undefined
/// behaviour.
///
/// # Safety
/// `s` is NULL or a string usagebook returned and that was not freed yet.
#[no_mangle]
pub unsafe extern "C" fn usagebook_string_free(s: *mut c_char) {
    ffi_guard_value!((), {
        if !s.is_null() {
            // SAFETY: it came from `CString::into_raw` in `owned_c_string`.
            drop(unsafe { CString::from_raw(s) });
        }
    })
}
