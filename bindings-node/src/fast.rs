//! The per-event path in raw N-API (PERFORMANCE.md: `trackUsage` >= 3x the
//! seed JS tracker, `getUsageStats` >= 100x).
//!
//! napi-rs's generic method dispatch (argument checks, class identity,
//! borrow tracking) costs several times a whole core `track`, so these
//! functions are plain N-API callbacks. They exchange numbers through two
//! `Float64Array`s the facade allocates once per tracker and keeps private:
//!
//! - `track()`: reads `scratch[0..6]` = `[handle, prompt, completion, total,
//!   durationMs (NaN = absent), status]` and records the log now (the
//!   `process` and `power` modes: recorded before return). Status 0 is
//!   success, 1 error; 2 and 3 are the same with parts, read from
//!   `scratch[6..9]` = `[cacheRead, cacheWrite, reasoning]`.
//! - `drain(n)`: records the first `n` logs queued in `queue`, 7 numbers
//!   each: the 6 above plus the timestamp the facade stamped at the call
//!   (`Date.now()`, as the seed did). One core lock per batch. A queued log
//!   with status 2 or 3 has its parts at `parts[3 * i..3 * i + 3]`: a T1-only
//!   log writes and reads exactly what it did before parts.
//! - `stats(bridgeId?)`: writes `scratch[0..10]` = `[totalRequests,
//!   promptTokens, completionTokens, totalTokens, averageTokensPerRequest,
//!   lastUsedAt ms (NaN = absent), errorCount, cacheReadTokens,
//!   cacheWriteTokens, reasoningTokens]`.
//!
//! Each function owns strong references to the arrays, so their memory
//! lives as long as the function; V8 never moves an `ArrayBuffer`'s backing
//! store, and the arrays are never handed to user code (so never detached).

use crate::errors::{self, panic_message};
use crate::native::Native;
use napi::sys;
use std::cell::RefCell;
use std::ffi::{c_void, CString};
use std::ptr;
use std::sync::Arc;
use usagebook_core::{InternedLog, Usage, UsageStatus};

/// Length of the scratch array, in f64s.
pub(crate) const SCRATCH_LEN: usize = 10;
/// Numbers per queued log.
pub(crate) const QUEUED_LEN: usize = 7;
/// Numbers per queued log in the parts array.
pub(crate) const PARTS_LEN: usize = 3;

struct Ctx {
    native: Arc<Native>,
    /// `drain`'s decoded batch, reused (only touched on the JS thread).
    batch: RefCell<Vec<InternedLog>>,
    scratch: *mut f64,
    queue: *const f64,
    parts: *const f64,
    /// Capacity of `queue` (and `parts`), in logs.
    queue_logs: usize,
    refs: [sys::napi_ref; 3],
}

fn check(status: sys::napi_status, what: &str) -> napi::Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::new(
            napi::Status::GenericFailure,
            format!("N-API call failed while {what} (status {status})"),
        ))
    }
}

/// The data and length of a `Float64Array`, or an error naming `what`.
unsafe fn f64_array(
    env: sys::napi_env,
    v: sys::napi_value,
    what: &str,
) -> napi::Result<(*mut f64, usize)> {
    let mut is_typed = false;
    check(sys::napi_is_typedarray(env, v, &mut is_typed), what)?;
    let (mut kind, mut len, mut data) = (0, 0usize, ptr::null_mut::<c_void>());
    if is_typed {
        check(
            sys::napi_get_typedarray_info(
                env,
                v,
                &mut kind,
                &mut len,
                &mut data,
                ptr::null_mut(),
                ptr::null_mut(),
            ),
            what,
        )?;
    }
    if !is_typed || kind != sys::TypedarrayType::float64_array {
        return Err(napi::Error::new(
            napi::Status::InvalidArg,
            format!("{what} must be a Float64Array"),
        ));
    }
    Ok((data.cast(), len))
}

/// Creates `{track, drain, stats}` over `scratch` (a `Float64Array` of at
/// least [`SCRATCH_LEN`]), `queue` (whole logs of [`QUEUED_LEN`]) and
/// `parts` ([`PARTS_LEN`] numbers for each log `queue` holds).
///
/// # Safety
/// `env`, `scratch`, `queue` and `parts` must be valid for the current
/// callback scope.
pub(crate) unsafe fn bind(
    env: sys::napi_env,
    native: Arc<Native>,
    scratch: sys::napi_value,
    queue: sys::napi_value,
    parts: sys::napi_value,
) -> napi::Result<sys::napi_value> {
    let (scratch_data, scratch_len) = f64_array(env, scratch, "scratch")?;
    let (queue_data, queue_len) = f64_array(env, queue, "queue")?;
    let (parts_data, parts_len) = f64_array(env, parts, "parts")?;
    let queue_logs = queue_len / QUEUED_LEN;
    if scratch_len < SCRATCH_LEN || queue_logs == 0 || parts_len < queue_logs * PARTS_LEN {
        return Err(napi::Error::new(
            napi::Status::InvalidArg,
            "scratch, queue or parts is too short".to_string(),
        ));
    }
    let mut obj = ptr::null_mut();
    check(sys::napi_create_object(env, &mut obj), "creating FastPath")?;
    let fns: [(&std::ffi::CStr, sys::napi_callback); 3] = [
        (c"track", Some(track_cb)),
        (c"drain", Some(drain_cb)),
        (c"stats", Some(stats_cb)),
    ];
    for (name, cb) in fns {
        let mut refs = [ptr::null_mut(); 3];
        for (r, v) in refs.iter_mut().zip([scratch, queue, parts]) {
            check(
                sys::napi_create_reference(env, v, 1, r),
                "referencing the shared arrays",
            )?;
        }
        let ctx = Box::into_raw(Box::new(Ctx {
            native: native.clone(),
            batch: RefCell::new(Vec::new()),
            scratch: scratch_data,
            queue: queue_data,
            parts: parts_data,
            queue_logs,
            refs,
        }));
        let mut f = ptr::null_mut();
        let made = sys::napi_create_function(
            env,
            name.as_ptr(),
            name.to_bytes().len() as isize,
            cb,
            ctx.cast(),
            &mut f,
        );
        // The function owns its context: freed when the function is collected.
        let wrapped = if made == sys::Status::napi_ok {
            sys::napi_wrap(
                env,
                f,
                ctx.cast(),
                Some(finalize),
                ptr::null_mut(),
                ptr::null_mut(),
            )
        } else {
            made
        };
        if wrapped != sys::Status::napi_ok {
            finalize(env, ctx.cast(), ptr::null_mut());
            check(wrapped, "creating a FastPath function")?;
        }
        check(
            sys::napi_set_named_property(env, obj, name.as_ptr(), f),
            "building FastPath",
        )?;
    }
    Ok(obj)
}

unsafe extern "C" fn finalize(env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    let ctx = Box::from_raw(data.cast::<Ctx>());
    for r in ctx.refs {
        sys::napi_delete_reference(env, r);
    }
    // Dropping the last `Arc<Native>` of a file tracker closes it (final
    // flush): never let a panic from there unwind into Node.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(ctx)));
}

unsafe fn throw(env: sys::napi_env, code: &str, msg: &str, type_error: bool) {
    let code = CString::new(code).unwrap_or_default();
    let msg = CString::new(msg.replace('\0', " ")).unwrap_or_default();
    if type_error {
        sys::napi_throw_type_error(env, code.as_ptr(), msg.as_ptr());
    } else {
        sys::napi_throw_error(env, code.as_ptr(), msg.as_ptr());
    }
}

unsafe fn throw_core(env: sys::napi_env, e: &usagebook_core::Error) {
    let code = errors::code(e);
    throw(env, code, &e.to_string(), code == errors::INVALID_ARGUMENT);
}

/// The callback's context; `argv` receives up to `argv.len()` arguments.
unsafe fn ctx_of<'a>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
    argv: &mut [sys::napi_value],
) -> Option<&'a Ctx> {
    let mut argc = argv.len();
    let mut data = ptr::null_mut();
    let argv_ptr = if argv.is_empty() {
        ptr::null_mut()
    } else {
        argv.as_mut_ptr()
    };
    let status = sys::napi_get_cb_info(env, info, &mut argc, argv_ptr, ptr::null_mut(), &mut data);
    if status != sys::Status::napi_ok || data.is_null() {
        return None;
    }
    Some(&*data.cast::<Ctx>())
}

/// A token count as JS numbers carry it: an integer in 0..=2^53-1.
fn count(x: f64, field: &str) -> Result<u64, String> {
    // `as` saturates and maps NaN to 0; the round trip is exact only for
    // integers in range (cheaper than `fract`, a libm call here).
    let n = x as u64;
    if n as f64 == x && n <= 9_007_199_254_740_991 {
        Ok(n)
    } else {
        Err(format!(
            "usage.{field} must be a non-negative integer, got {x}"
        ))
    }
}

/// One log's numbers: `s` as in `track()`, `parts` its three parts (read
/// only when the status code says there are parts).
fn read_track(s: &[f64], parts: &[f64]) -> Result<(u32, Usage, Option<f64>, UsageStatus), String> {
    let handle = s[0];
    if handle as u32 as f64 != handle {
        return Err(format!("bridge handle must be a u32, got {handle}"));
    }
    let mut usage = Usage::new(
        count(s[1], "promptTokens")?,
        count(s[2], "completionTokens")?,
        count(s[3], "totalTokens")?,
    );
    let duration = if s[4].is_nan() { None } else { Some(s[4]) };
    let (status, with_parts) = match s[5] {
        0.0 => (UsageStatus::Success, false),
        1.0 => (UsageStatus::Error, false),
        2.0 => (UsageStatus::Success, true),
        3.0 => (UsageStatus::Error, true),
        other => return Err(format!("status code must be 0 to 3, got {other}")),
    };
    if with_parts {
        usage.cache_read_tokens = count(parts[0], "cacheReadTokens")?;
        usage.cache_write_tokens = count(parts[1], "cacheWriteTokens")?;
        usage.reasoning_tokens = count(parts[2], "reasoningTokens")?;
    }
    Ok((handle as u32, usage, duration, status))
}

unsafe extern "C" fn track_cb(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let Some(ctx) = ctx_of(env, info, &mut []) else {
        throw(env, errors::PANIC, "track: bad callback context", false);
        return ptr::null_mut();
    };
    let scratch = std::slice::from_raw_parts(ctx.scratch, SCRATCH_LEN);
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let (bridge, usage, duration, status) = match read_track(scratch, &scratch[6..9]) {
            Ok(v) => v,
            Err(msg) => return Err(usagebook_core::Error::invalid(msg)),
        };
        ctx.native.track_interned(bridge, usage, duration, status)
    }));
    match res {
        Ok(Ok(())) => {}
        Ok(Err(e)) => throw_core(env, &e),
        Err(p) => throw(env, errors::PANIC, &panic_message(&*p), false),
    }
    ptr::null_mut()
}

fn read_queued(q: &[f64], parts: &[f64]) -> Result<InternedLog, String> {
    let (bridge, usage, duration_ms, status) = read_track(q, parts)?;
    let ts = q[6];
    if ts as i64 as f64 != ts || ts.abs() > 8.64e15 {
        return Err(format!("timestamp must be an integer of ms, got {ts}"));
    }
    Ok(InternedLog {
        bridge,
        usage,
        duration_ms,
        status,
        timestamp_ms: ts as i64,
    })
}

unsafe extern "C" fn drain_cb(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let mut argv = [ptr::null_mut(); 1];
    let Some(ctx) = ctx_of(env, info, &mut argv) else {
        throw(env, errors::PANIC, "drain: bad callback context", false);
        return ptr::null_mut();
    };
    let mut n = -1.0;
    if argv[0].is_null() || sys::napi_get_value_double(env, argv[0], &mut n) != sys::Status::napi_ok
    {
        n = -1.0;
    }
    if !(0.0..=ctx.queue_logs as f64).contains(&n) || n.fract() != 0.0 {
        throw(
            env,
            errors::INVALID_ARGUMENT,
            &format!("drain: count must be 0..={}", ctx.queue_logs),
            true,
        );
        return ptr::null_mut();
    }
    let queue = std::slice::from_raw_parts(ctx.queue, n as usize * QUEUED_LEN);
    let parts = std::slice::from_raw_parts(ctx.parts, n as usize * PARTS_LEN);
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut fresh = Vec::new();
        let mut reused = ctx.batch.try_borrow_mut();
        let logs = match reused.as_mut() {
            Ok(v) => &mut **v,
            Err(_) => &mut fresh,
        };
        logs.clear();
        for (q, p) in queue
            .chunks_exact(QUEUED_LEN)
            .zip(parts.chunks_exact(PARTS_LEN))
        {
            logs.push(read_queued(q, p).map_err(usagebook_core::Error::invalid)?);
        }
        ctx.native.track_interned_batch(logs)
    }));
    match res {
        Ok(Ok(())) => {}
        Ok(Err(e)) => throw_core(env, &e),
        Err(p) => throw(env, errors::PANIC, &panic_message(&*p), false),
    }
    ptr::null_mut()
}

/// Reads a JS string argument; short ids (the common case) need no heap.
unsafe fn read_string(env: sys::napi_env, v: sys::napi_value) -> Option<String> {
    let mut stack = [0u8; 256];
    let mut len = 0usize;
    let st =
        sys::napi_get_value_string_utf8(env, v, stack.as_mut_ptr().cast(), stack.len(), &mut len);
    if st != sys::Status::napi_ok {
        return None;
    }
    if len + 1 < stack.len() {
        return Some(String::from_utf8_lossy(&stack[..len]).into_owned());
    }
    // Possibly truncated: ask for the length, then read it whole.
    sys::napi_get_value_string_utf8(env, v, ptr::null_mut(), 0, &mut len);
    let mut heap = vec![0u8; len + 1];
    sys::napi_get_value_string_utf8(env, v, heap.as_mut_ptr().cast(), heap.len(), &mut len);
    heap.truncate(len);
    String::from_utf8(heap).ok()
}

unsafe extern "C" fn stats_cb(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let mut argv = [ptr::null_mut(); 1];
    let Some(ctx) = ctx_of(env, info, &mut argv) else {
        throw(env, errors::PANIC, "stats: bad callback context", false);
        return ptr::null_mut();
    };
    let mut ty = sys::ValueType::napi_undefined;
    if !argv[0].is_null() {
        sys::napi_typeof(env, argv[0], &mut ty);
    }
    let bridge = match ty {
        sys::ValueType::napi_undefined | sys::ValueType::napi_null => None,
        sys::ValueType::napi_string => match read_string(env, argv[0]) {
            Some(s) => Some(s),
            None => {
                throw(
                    env,
                    errors::INVALID_ARGUMENT,
                    "bridgeId could not be read",
                    true,
                );
                return ptr::null_mut();
            }
        },
        _ => {
            throw(
                env,
                errors::INVALID_ARGUMENT,
                "bridgeId must be a string",
                true,
            );
            return ptr::null_mut();
        }
    };
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ctx.native.tracker().stats(bridge.as_deref())
    }));
    match res {
        Ok(Ok(s)) => {
            let out = std::slice::from_raw_parts_mut(ctx.scratch, SCRATCH_LEN);
            out[0] = s.total_requests as f64;
            out[1] = s.prompt_tokens as f64;
            out[2] = s.completion_tokens as f64;
            out[3] = s.total_tokens as f64;
            out[4] = s.average_tokens_per_request;
            out[5] = s.last_used_at_ms.map_or(f64::NAN, |ms| ms as f64);
            out[6] = s.error_count as f64;
            out[7] = s.cache_read_tokens as f64;
            out[8] = s.cache_write_tokens as f64;
            out[9] = s.reasoning_tokens as f64;
        }
        Ok(Err(e)) => throw_core(env, &e),
        Err(p) => throw(env, errors::PANIC, &panic_message(&*p), false),
    }
    ptr::null_mut()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x1_scratch_values_are_checked_again_natively() {
        let ok = [3.0, 10.0, 5.0, 15.0, f64::NAN, 1.0, 0.0, 0.0, 0.0, 0.0];
        // Parts are only read when the status code says so.
        let junk = [f64::NAN; 3];
        let (h, u, d, s) = read_track(&ok, &junk).unwrap();
        assert_eq!((h, u.total_tokens, d, s), (3, 15, None, UsageStatus::Error));
        assert!(!u.has_parts());
        for (i, bad) in [(1, -1.0), (2, 1.5), (3, f64::NAN), (0, -1.0), (5, 4.0)] {
            let mut v = ok;
            v[i] = bad;
            assert!(read_track(&v, &junk).is_err(), "index {i} = {bad}");
        }
        let mut with = ok;
        with[5] = 2.0;
        let (_, u, _, s) = read_track(&with, &[4.0, 2.0, 1.0]).unwrap();
        assert_eq!(
            (
                u.cache_read_tokens,
                u.cache_write_tokens,
                u.reasoning_tokens,
                s
            ),
            (4, 2, 1, UsageStatus::Success)
        );
        with[5] = 3.0;
        assert_eq!(
            read_track(&with, &[0.0, 0.0, 5.0]).unwrap().3,
            UsageStatus::Error
        );
        let e = read_track(&with, &[0.0, -1.0, 0.0]).unwrap_err();
        assert!(e.contains("cacheWriteTokens"), "{e}");
        assert!(read_track(&with, &junk).is_err());
        assert_eq!(
            count(9_007_199_254_740_991.0, "x"),
            Ok(9_007_199_254_740_991)
        );
        assert!(count(9_007_199_254_740_992.0, "x").is_err());
        let mut q = [0.0, 1.0, 2.0, 3.0, 4.5, 0.0, 1_736_000_000_000.0];
        assert_eq!(
            read_queued(&q, &junk).unwrap().timestamp_ms,
            1_736_000_000_000
        );
        for bad in [f64::NAN, 1.5, f64::INFINITY] {
            q[6] = bad;
            assert!(read_queued(&q, &junk).is_err(), "{bad}");
        }
    }
}
