//! The library version (B5). The header's `USAGEBOOK_VERSION*` macros are
//! written by `cargo xtask gen-header` from the same Cargo version;
//! `tests/header.rs` checks they match.

use std::ffi::{c_char, CStr};

const VERSION_NUL: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(s) => s,
        Err(_) => panic!("the crate version contains a NUL byte"),
    };

/// The version of the library actually loaded, e.g. "0.1.0": compare it
/// with `USAGEBOOK_VERSION` to detect a header/library mismatch. Static;
/// never NULL, never to be freed.
#[no_mangle]
pub extern "C" fn usagebook_version() -> *const c_char {
    ffi_guard_value!(VERSION_NUL.as_ptr(), { VERSION_NUL.as_ptr() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b5_loaded_version_is_cargos() {
        let loaded = unsafe { CStr::from_ptr(usagebook_version()) };
        assert_eq!(loaded.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
