//! The panic boundary (model: rustls-ffi `ffi_panic_boundary!`) and the
//! thread-local last error. Every exported function's whole body is one
//! `ffi_guard!` or `ffi_guard_value!` call; `tests/guard.rs` checks that.

use crate::status::{usagebook_status, FfiError};
use std::any::Any;
use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs the body of a status-returning export: `Ok(())` becomes
/// `USAGEBOOK_OK` (and clears the last error), `Err` its status (and sets the
/// last error), a panic `USAGEBOOK_PANIC`. Early `return Ok(())` /
/// `return Err(..)` and `?` work inside the body.
macro_rules! ffi_guard {
    ($body:block) => {
        $crate::guard::run(move || -> ::std::result::Result<(), $crate::status::FfiError> { $body })
    };
}

/// Runs the body of an export that returns a plain value (a static string,
/// nothing): a panic gives `$on_panic` and sets the last error. The last
/// error is otherwise left alone, so reading it does not clear it.
macro_rules! ffi_guard_value {
    ($on_panic:expr, $body:block) => {
        $crate::guard::run_value($on_panic, move || $body)
    };
}

thread_local! {
    /// The message of the last status-returning call on this thread; empty
    /// after a success.
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

pub(crate) fn run(f: impl FnOnce() -> Result<(), FfiError>) -> usagebook_status {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => {
            clear_last_error();
            usagebook_status::USAGEBOOK_OK
        }
        Ok(Err(e)) => {
            set_last_error(&e.message);
            e.status
        }
        Err(payload) => {
            set_last_error(&panic_message(payload));
            usagebook_status::USAGEBOOK_PANIC
        }
    }
}

pub(crate) fn run_value<T>(on_panic: T, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(payload) => {
            set_last_error(&panic_message(payload));
            on_panic
        }
    }
}

fn panic_message(payload: Box<dyn Any + Send>) -> String {
    let what = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a non-string panic payload".to_owned()
    };
    // Dropping a payload runs foreign code; if that panics too, leak it.
    std::mem::forget(payload);
    format!("internal error: usagebook panicked ({what}); please report this bug")
}

fn set_last_error(msg: &str) {
    // A message cannot hold NUL in C; keep it readable instead of dropping it.
    let c = CString::new(msg.replace('\0', "\\0")).unwrap_or_default();
    let _ = LAST_ERROR.try_with(|e| *e.borrow_mut() = c);
}

fn clear_last_error() {
    let _ = LAST_ERROR.try_with(|e| {
        if let Ok(mut e) = e.try_borrow_mut() {
            if !e.as_bytes().is_empty() {
                *e = CString::default();
            }
        }
    });
}

/// The message of the last failed call on this thread, NUL-terminated; the
/// empty string when the last status-returning call succeeded (or none was
/// made). Never NULL; owned by the library: do not free it. Valid until the
/// next usagebook call on the same thread.
#[no_mangle]
pub extern "C" fn usagebook_last_error_message() -> *const c_char {
    ffi_guard_value!(c"".as_ptr(), {
        LAST_ERROR
            .try_with(|e| e.borrow().as_ptr())
            .unwrap_or(c"".as_ptr())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn last() -> String {
        unsafe { CStr::from_ptr(usagebook_last_error_message()) }
            .to_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn b1_panic_is_caught_and_reported() {
        let status = ffi_guard!({
            let v: Vec<u8> = Vec::new();
            let _ = v[3];
            Ok(())
        });
        assert_eq!(status, usagebook_status::USAGEBOOK_PANIC);
        assert!(last().contains("panicked"), "{}", last());
        let v = ffi_guard_value!(7, { panic!("boom") });
        assert_eq!(v, 7);
        assert!(last().contains("boom"), "{}", last());
    }

    #[test]
    fn b1_success_clears_and_error_sets_last_error() {
        let s = ffi_guard!({ Err(FfiError::invalid("bad thing")) });
        assert_eq!(s, usagebook_status::USAGEBOOK_INVALID_ARGUMENT);
        assert_eq!(last(), "bad thing");
        assert_eq!(last(), "bad thing", "reading does not clear it");
        assert_eq!(ffi_guard!({ Ok(()) }), usagebook_status::USAGEBOOK_OK);
        assert_eq!(last(), "");
        let s = ffi_guard!({ Err(FfiError::invalid("has\0nul")) });
        assert_eq!(s, usagebook_status::USAGEBOOK_INVALID_ARGUMENT);
        assert_eq!(last(), "has\\0nul");
    }
}
