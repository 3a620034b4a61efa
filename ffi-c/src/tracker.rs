//! `usagebook_tracker`: the opaque handle over any core tracker (file-backed,
//! in-memory, no-op; T12) and the functions on it (T1–T11, X2).
//!
//! Threads: a handle may be used from several threads at once by every
//! function except `usagebook_tracker_close`, which frees it and must not
//! race with any other call on the same handle.

use crate::args::{bridge_filter, opt_str_arg, out_arg, owned_c_string, ref_arg, str_arg};
use crate::status::{usagebook_status, FfiError};
use serde_json::Value;
use std::ffi::{c_char, c_void};
use std::sync::Arc;
use usagebook_core::{
    FileBackedTracker, FnClock, InMemoryTracker, NewUsageLog, NewUsageLogOwned, NoOpTracker,
    SharedClock, SystemClock, TrackerOptions, Usage, UsageStatus, UsageTracker,
};

/// A usage tracker. Create one with `usagebook_tracker_open*`, release it
/// with `usagebook_tracker_close` (exactly once; the handle is invalid
/// afterwards and use-after-close cannot be detected).
pub struct usagebook_tracker {
    inner: Box<dyn UsageTracker>,
}

/// `status` of a tracked log (T1). Functions take it as
/// `usagebook_usage_status`, a `uint32_t`; values other than these two are
/// refused with `USAGEBOOK_INVALID_ARGUMENT`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum usagebook_usage_status {
    USAGEBOOK_USAGE_SUCCESS = 0,
    USAGEBOOK_USAGE_ERROR = 1,
}

/// The raw integer form of [`usagebook_usage_status`] (any value C passes is
/// defined behaviour). The header spells it `usagebook_usage_status`.
pub type usagebook_usage_status_code = u32;

/// `LlmBridgeUsageStats` (T1, T4): lifetime totals, not trimmed by `maxLogs`.
///
/// The last three fields (the part sums) were added in 0.1 after the first
/// header: a program compiled against a header without them must be
/// recompiled, or the library writes past its struct (CHANGELOG.md).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct usagebook_stats {
    pub total_requests: u64,
    /// Every input token, cache reads and writes included.
    pub prompt_tokens: u64,
    /// Every output token, reasoning included.
    pub completion_tokens: u64,
    pub total_tokens: u64,
    pub error_count: u64,
    /// `total_tokens / total_requests`, unrounded; 0 when there is nothing.
    pub average_tokens_per_request: f64,
    /// Epoch milliseconds (UTC) of the latest log; -1 when there is none.
    pub last_used_at_ms: i64,
    /// Part of `prompt_tokens`: tokens read from the prompt cache.
    pub cache_read_tokens: u64,
    /// Part of `prompt_tokens`: tokens written to the prompt cache.
    pub cache_write_tokens: u64,
    /// Part of `completion_tokens`: reasoning tokens.
    pub reasoning_tokens: u64,
}

/// A host-supplied clock: returns "now" in milliseconds since the Unix epoch
/// (UTC). It is called with the `ctx` given at open, from the calling thread
/// and from the tracker's writer thread, so it must be thread-safe, must not
/// call back into usagebook, and must not throw, longjmp or unwind. It and
/// `ctx` must stay valid until `usagebook_tracker_close` returns.
pub type usagebook_clock_fn = Option<unsafe extern "C" fn(ctx: *mut c_void) -> i64>;

fn handle_out(
    out: *mut *mut usagebook_tracker,
    tracker: Box<dyn UsageTracker>,
) -> Result<(), FfiError> {
    let raw = Box::into_raw(Box::new(usagebook_tracker { inner: tracker }));
    // SAFETY: `out` was checked non-NULL by `out_arg` before any work.
    unsafe { *out = raw };
    Ok(())
}

/// Wraps a C clock in the core's `FnClock`. The context pointer travels as
/// an exposed address because the clock must be `Send + Sync`; the caller
/// promised it is usable from any thread.
fn c_clock(now_ms: usagebook_clock_fn, ctx: *mut c_void) -> Result<SharedClock, FfiError> {
    let f = now_ms.ok_or_else(|| {
        FfiError::new(
            usagebook_status::USAGEBOOK_NULL_ARGUMENT,
            "now_ms must not be NULL",
        )
    })?;
    let addr = ctx.expose_provenance();
    Ok(Arc::new(FnClock(move || {
        // SAFETY: the open contract: `f` and `ctx` stay valid and callable
        // from any thread until the tracker is closed.
        unsafe { f(std::ptr::with_exposed_provenance_mut::<c_void>(addr)) }
    })))
}

/// # Safety
/// String arguments are NULL or NUL-terminated; `out` is NULL or writable.
unsafe fn open_file(
    base_dir: *const c_char,
    options_json: *const c_char,
    clock: SharedClock,
    out: *mut *mut usagebook_tracker,
) -> Result<(), FfiError> {
    let out = out_arg(out, "out")?;
    // SAFETY: forwarded contract.
    let base_dir = unsafe { str_arg(base_dir, "base_dir") }?;
    // SAFETY: forwarded contract.
    let options = unsafe { opt_str_arg(options_json, "options_json") }?;
    let opts = TrackerOptions::from_json(options)?;
    let tracker = FileBackedTracker::open_with_clock(base_dir, opts, clock)?;
    handle_out(out, Box::new(tracker))
}

/// In-memory trackers take only `maxLogs`: the other T6 options are about
/// files and flushing, and accepting them silently would suggest they act.
fn memory_max_logs(options: Option<&str>) -> Result<usize, FfiError> {
    let text = match options.map(str::trim) {
        None | Some("") | Some("null") => return Ok(TrackerOptions::default().max_logs),
        Some(t) => t,
    };
    let v: Value = serde_json::from_str(text).map_err(|e| {
        FfiError::invalid(format!("invalid argument: options are not valid JSON: {e}"))
    })?;
    let obj = v
        .as_object()
        .ok_or_else(|| FfiError::invalid("invalid argument: options must be a JSON object"))?;
    if let Some((key, _)) = obj
        .iter()
        .find(|(k, v)| k.as_str() != "maxLogs" && !v.is_null())
    {
        return Err(FfiError::invalid(format!(
            "invalid argument: option {key:?} is not accepted by an in-memory tracker, which takes only maxLogs"
        )));
    }
    Ok(TrackerOptions::from_json(Some(text))?.max_logs)
}

/// # Safety
/// `options_json` is NULL or NUL-terminated; `out` is NULL or writable.
unsafe fn open_memory(
    options_json: *const c_char,
    clock: SharedClock,
    out: *mut *mut usagebook_tracker,
) -> Result<(), FfiError> {
    let out = out_arg(out, "out")?;
    // SAFETY: forwarded contract.
    let options = unsafe { opt_str_arg(options_json, "options_json") }?;
    let tracker = InMemoryTracker::with_clock(memory_max_logs(options)?, clock)?;
    handle_out(out, Box::new(tracker))
}

/// Opens (or creates) the file-backed tracker of `<base_dir>/llm-usage`
/// (T6–T11), recovering what a previous run left. `options_json` is NULL,
/// "" or a JSON object of T6 options (`flushIntervalMs`, `flushEveryNLogs`,
/// `persistLogs`, `maxLogs`, `maxLogBytes`, `durability`), `gitSync` and
/// `otlp` (`true` or `{"endpoint", "headers", "intervalMs", ...}`: export
/// this process's calls as OTLP/HTTP metrics, docs/telemetry.md; a library
/// built without the cargo feature `otlp` refuses it); an unknown key
/// or a wrong type is `USAGEBOOK_INVALID_ARGUMENT`. A directory already
/// owned by another open tracker, in this process or another, gives
/// `USAGEBOOK_LOCKED`. On success `*out` is a handle the caller must pass
/// to `usagebook_tracker_close` (its final flush is what makes the last
/// events durable, T8).
///
/// # Safety
/// `base_dir` and `options_json` are NULL or NUL-terminated strings; `out`
/// is NULL or points to writable storage for a handle.
#[no_mangle]
pub unsafe extern "C" fn usagebook_tracker_open(
    base_dir: *const c_char,
    options_json: *const c_char,
    out: *mut *mut usagebook_tracker,
) -> usagebook_status {
    ffi_guard!({
        // SAFETY: forwarded contract.
        unsafe { open_file(base_dir, options_json, Arc::new(SystemClock), out) }
    })
}

/// As `usagebook_tracker_open`, with time read from `now_ms(ctx)` instead of
/// the system clock (for simulations, replays and tests). See
/// `usagebook_clock_fn` for what the callback must guarantee; in
/// particular the writer thread calls it too.
///
/// # Safety
/// As `usagebook_tracker_open`; `now_ms` and `ctx` satisfy the contract of
/// `usagebook_clock_fn` until the tracker is closed.
#[no_mangle]
pub unsafe extern "C" fn usagebook_tracker_open_with_clock(
    base_dir: *const c_char,
    options_json: *const c_char,
    now_ms: usagebook_clock_fn,
    ctx: *mut c_void,
    out: *mut *mut usagebook_tracker,
) -> usagebook_status {
    ffi_guard!({
        let clock = c_clock(now_ms, ctx)?;
        // SAFETY: forwarded contract.
        unsafe { open_file(base_dir, options_json, clock, out) }
    })
}

/// Opens an in-memory tracker (T12): lifetime totals survive the `maxLogs`
/// cap; nothing survives the process. `options_json` is NULL, "" or
/// `{"maxLogs": n}` (n >= 1, default 10000); any other option, even a
/// valid file-tracker one, is `USAGEBOOK_INVALID_ARGUMENT` naming the key.
///
/// # Safety
/// `options_json` is NULL or NUL-terminated; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn usagebook_tracker_open_in_memory(
    options_json: *const c_char,
    out: *mut *mut usagebook_tracker,
) -> usagebook_status {
    ffi_guard!({
        // SAFETY: forwarded contract.
        unsafe { open_memory(options_json, Arc::new(SystemClock), out) }
    })
}

/// As `usagebook_tracker_open_in_memory`, with time read from `now_ms(ctx)`
/// (see `usagebook_clock_fn`).
///
/// # Safety
/// As `usagebook_tracker_open_in_memory`; `now_ms` and `ctx` satisfy the
/// contract of `usagebook_clock_fn` until the tracker is closed.
#[no_mangle]
pub unsafe extern "C" fn usagebook_tracker_open_in_memory_with_clock(
    options_json: *const c_char,
    now_ms: usagebook_clock_fn,
    ctx: *mut c_void,
    out: *mut *mut usagebook_tracker,
) -> usagebook_status {
    ffi_guard!({
        let clock = c_clock(now_ms, ctx)?;
        // SAFETY: forwarded contract.
        unsafe { open_memory(options_json, clock, out) }
    })
}

/// Opens a tracker that records nothing and reports empty stats (T12). It
/// still refuses invalid logs, like the others.
///
/// # Safety
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn usagebook_tracker_open_noop(
    out: *mut *mut usagebook_tracker,
) -> usagebook_status {
    ffi_guard!({
        let out = out_arg(out, "out")?;
        handle_out(out, Box::new(NoOpTracker::new()))
    })
}

/// Records one log (T2): the tracker stamps its id and timestamp.
/// `total_tokens` is kept as given. `duration_ms < 0` means absent. `status`
/// is `USAGEBOOK_USAGE_SUCCESS` or `USAGEBOOK_USAGE_ERROR`; anything else, or
/// an empty `bridge_id`, is `USAGEBOOK_INVALID_ARGUMENT` and records nothing.
///
/// # Safety
/// `t` is NULL or an open handle; `bridge_id` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn usagebook_tracker_track(
    t: *mut usagebook_tracker,
    bridge_id: *const c_char,
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
    duration_ms: i64,
    status: usagebook_usage_status_code,
) -> usagebook_status {
    ffi_guard!({
        // SAFETY: forwarded contract.
        let t = unsafe { ref_arg(t, "t") }?;
        // SAFETY: forwarded contract.
        let bridge_id = unsafe { str_arg(bridge_id, "bridge_id") }?;
        let status = match status {
            0 => UsageStatus::Success,
            1 => UsageStatus::Error,
            other => {
                return Err(FfiError::invalid(format!(
                    "invalid argument: status must be USAGEBOOK_USAGE_SUCCESS (0) or USAGEBOOK_USAGE_ERROR (1), got {other}"
                )))
            }
        };
        let log = NewUsageLog {
            bridge_id,
            usage: Usage::new(prompt_tokens, completion_tokens, total_tokens),
            duration_ms: (duration_ms >= 0).then_some(duration_ms as f64),
            status,
        };
        Ok(t.inner.track(&log)?)
    })
}

/// Records one log given as the JSON a host passes to `trackUsage` (T1):
/// `{"bridgeId": "...", "usage": {"promptTokens": n, "completionTokens": n,
/// "totalTokens": n}, "durationMs": n (optional), "status": "success" |
/// "error" (optional, default "success")}`. `usage` may also carry the
/// parts `cacheReadTokens`, `cacheWriteTokens` and `reasoningTokens`, or be
/// any provider SDK's usage JSON (OpenAI, Anthropic, Gemini, Bedrock, a
/// whole response), whose cache and reasoning counts are kept as those
/// parts. Invalid JSON or fields are `USAGEBOOK_INVALID_ARGUMENT` naming
/// the field; nothing is recorded.
///
/// # Safety
/// `t` is NULL or an open handle; `log_json` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn usagebook_tracker_track_json(
    t: *mut usagebook_tracker,
    log_json: *const c_char,
) -> usagebook_status {
    ffi_guard!({
        // SAFETY: forwarded contract.
        let t = unsafe { ref_arg(t, "t") }?;
        // SAFETY: forwarded contract.
        let json = unsafe { str_arg(log_json, "log_json") }?;
        let log = NewUsageLogOwned::from_json_str(json)?;
        Ok(t.inner.track(&log.as_new())?)
    })
}

/// Lifetime stats (T4) of one bridge, or of all when `bridge_id` is NULL or
/// "". Written to `*out` only on success.
///
/// # Safety
/// `t` is NULL or an open handle; `bridge_id` is NULL or NUL-terminated;
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn usagebook_tracker_stats(
    t: *const usagebook_tracker,
    bridge_id: *const c_char,
    out: *mut usagebook_stats,
) -> usagebook_status {
    ffi_guard!({
        // SAFETY: forwarded contract.
        let t = unsafe { ref_arg(t, "t") }?;
        let out = out_arg(out, "out")?;
        // SAFETY: forwarded contract.
        let bridge = unsafe { bridge_filter(bridge_id) }?;
        let s = t.inner.stats(bridge)?;
        let stats = usagebook_stats {
            total_requests: s.total_requests,
            prompt_tokens: s.prompt_tokens,
            completion_tokens: s.completion_tokens,
            total_tokens: s.total_tokens,
            error_count: s.error_count,
            average_tokens_per_request: s.average_tokens_per_request,
            last_used_at_ms: s.last_used_at_ms.unwrap_or(-1),
            cache_read_tokens: s.cache_read_tokens,
            cache_write_tokens: s.cache_write_tokens,
            reasoning_tokens: s.reasoning_tokens,
        };
        // SAFETY: checked non-NULL; the caller's contract makes it writable.
        unsafe { out.write(stats) };
        Ok(())
    })
}

/// The retained logs (T3) of one bridge, or of all when `bridge_id` is NULL
/// or "", oldest first, as a JSON array of T7 lines (`id`, `timestamp` as
/// ISO-8601 with milliseconds and `Z`, `bridgeId`, `usage`, `durationMs`
/// when known, `status`). On success `*out_json` is a new string the caller
/// frees with `usagebook_string_free`.
///
/// # Safety
/// `t` is NULL or an open handle; `bridge_id` is NULL or NUL-terminated;
/// `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn usagebook_tracker_logs_json(
    t: *const usagebook_tracker,
    bridge_id: *const c_char,
    out_json: *mut *mut c_char,
) -> usagebook_status {
    ffi_guard!({
        // SAFETY: forwarded contract.
        let t = unsafe { ref_arg(t, "t") }?;
        let out = out_arg(out_json, "out_json")?;
        // SAFETY: forwarded contract.
        let bridge = unsafe { bridge_filter(bridge_id) }?;
        let logs: Vec<Value> = t.inner.logs(bridge)?.iter().map(|l| l.to_json()).collect();
        let s = owned_c_string(Value::Array(logs).to_string())?;
        // SAFETY: checked non-NULL; the caller's contract makes it writable.
        unsafe { out.write(s) };
        Ok(())
    })
}

/// `clearLogs` (T5): `older_than_ms < 0` clears every log and the totals;
/// otherwise drops logs with a timestamp before `older_than_ms` (epoch ms;
/// logs at exactly that time are kept) and removes them from the totals.
///
/// # Safety
/// `t` is NULL or an open handle.
#[no_mangle]
pub unsafe extern "C" fn usagebook_tracker_clear_logs(
    t: *mut usagebook_tracker,
    older_than_ms: i64,
) -> usagebook_status {
    ffi_guard!({
        // SAFETY: forwarded contract.
        let t = unsafe { ref_arg(t, "t") }?;
        Ok(t.inner
            .clear_logs((older_than_ms >= 0).then_some(older_than_ms))?)
    })
}

/// Writes everything pending and returns when it is on disk (T8). A no-op
/// for in-memory and no-op trackers.
///
/// # Safety
/// `t` is NULL or an open handle.
#[no_mangle]
pub unsafe extern "C" fn usagebook_tracker_flush(t: *mut usagebook_tracker) -> usagebook_status {
    ffi_guard!({
        // SAFETY: forwarded contract.
        let t = unsafe { ref_arg(t, "t") }?;
        Ok(t.inner.flush()?)
    })
}

/// Health (X2) as a JSON object: `kind`, `closed`, `durability`,
/// `lastFlushAt`, `flushCount`, `queueDepth`, `pendingBytes`,
/// `retainedLogs`, `lastError`, `recovery`. On success `*out_json` is a new
/// string the caller frees with `usagebook_string_free`.
///
/// # Safety
/// `t` is NULL or an open handle; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn usagebook_tracker_health_json(
    t: *const usagebook_tracker,
    out_json: *mut *mut c_char,
) -> usagebook_status {
    ffi_guard!({
        // SAFETY: forwarded contract.
        let t = unsafe { ref_arg(t, "t") }?;
        let out = out_arg(out_json, "out_json")?;
        let s = owned_c_string(t.inner.health().to_json().to_string())?;
        // SAFETY: checked non-NULL; the caller's contract makes it writable.
        unsafe { out.write(s) };
        Ok(())
    })
}

/// Writes the Prometheus text exposition (format 0.0.4) of the tracker
/// to `*out_text` (O1; docs/telemetry.md): requests, errors and tokens by
/// type per bridge (at most 50 bridges, the rest summed under `_other`),
/// and the writer's health. Free the string with `usagebook_string_free`.
///
/// # Safety
/// `t` is an open tracker handle; `out_text` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn usagebook_tracker_metrics_text(
    t: *const usagebook_tracker,
    out_text: *mut *mut c_char,
) -> usagebook_status {
    ffi_guard!({
        // SAFETY: forwarded contract.
        let t = unsafe { ref_arg(t, "t") }?;
        let out = out_arg(out_text, "out_text")?;
        let s = owned_c_string(t.inner.metrics_text()?)?;
        // SAFETY: checked non-NULL; the caller's contract makes it writable.
        unsafe { out.write(s) };
        Ok(())
    })
}

/// Flushes, then syncs the tracker's git repository at once (the
/// `gitSync` option of the options JSON; docs/git-sync.md): commit this
/// device's segments, fetch, merge, push (never forced). On success
/// `*out_json` (if not NULL) is a new string `{"committed", "pushed",
/// "offline", "rejected", "ahead", ...}` to free with
/// `usagebook_string_free`; being offline is not an error (`"offline":
/// true`, local commits kept). A tracker without `gitSync` gives
/// `USAGEBOOK_INVALID_ARGUMENT`.
///
/// # Safety
/// `t` is an open tracker handle; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn usagebook_tracker_sync(
    t: *const usagebook_tracker,
    out_json: *mut *mut c_char,
) -> usagebook_status {
    ffi_guard!({
        // SAFETY: forwarded contract.
        let t = unsafe { ref_arg(t, "t") }?;
        let report = t.inner.git_sync_now()?;
        if !out_json.is_null() {
            let s = owned_c_string(report.to_json().to_string())?;
            // SAFETY: non-NULL; the caller's contract makes it writable.
            unsafe { out_json.write(s) };
        }
        Ok(())
    })
}

/// Writes the merged cross-device stats of the tracker's git repository
/// (as of the last sync) to `*out_json`: `{"total": stats, "devices":
/// {device id: stats}, "bridges": {bridge id: stats}, "segments": n,
/// "notes": [...]}`, each stats in the form of `usagebook_tracker_stats`.
/// Free it with `usagebook_string_free`.
///
/// # Safety
/// `t` is an open tracker handle; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn usagebook_tracker_merged_stats(
    t: *const usagebook_tracker,
    out_json: *mut *mut c_char,
) -> usagebook_status {
    ffi_guard!({
        // SAFETY: forwarded contract.
        let t = unsafe { ref_arg(t, "t") }?;
        let out = out_arg(out_json, "out_json")?;
        let s = owned_c_string(t.inner.git_merged_stats()?.to_json().to_string())?;
        // SAFETY: checked non-NULL; the caller's contract makes it writable.
        unsafe { out.write(s) };
        Ok(())
    })
}

/// Closes and frees the tracker: final flush, stops the writer thread and
/// joins it, releases the directory lock (T8). Returns the status of the
/// close (a failed final flush is reported, e.g. `USAGEBOOK_IO_ERROR`), but
/// the handle is freed whatever it returns, also after earlier errors:
/// never use it again (use-after-close cannot be detected). NULL is a no-op
/// returning `USAGEBOOK_OK`. C callers must call this; nothing flushes at
/// process exit for them.
///
/// # Safety
/// `t` is NULL or an open handle not used by any other thread during or
/// after this call.
#[no_mangle]
pub unsafe extern "C" fn usagebook_tracker_close(t: *mut usagebook_tracker) -> usagebook_status {
    ffi_guard!({
        if t.is_null() {
            return Ok(());
        }
        // SAFETY: the handle came from `handle_out` and is not used again.
        let handle = unsafe { Box::from_raw(t) };
        Ok(handle.inner.close()?)
    })
}
