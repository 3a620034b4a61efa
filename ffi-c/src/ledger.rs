//! `usagebook_ledger` and `usagebook_hold`: the budget ledger (L1–L12)
//! through opaque handles. Everything it does is `usagebook_core::ledger`;
//! this module converts C strings, USD doubles and JSON text, and keeps one
//! flag per hold handle so a hold is settled (committed or cancelled) at
//! most once through it.
//!
//! Threads: a ledger may be used from several threads at once by every
//! function except `usagebook_ledger_close`; a hold may be settled from any
//! thread (two racing settles: one wins, the other is refused), but
//! `usagebook_hold_free` must not race with other calls on that hold.

use crate::args::{opt_str_arg, out_arg, owned_c_string, ref_arg, str_arg};
use crate::status::{usagebook_status, FfiError};
use serde_json::{json, Map, Value};
use std::ffi::c_char;
use std::sync::atomic::{AtomicBool, Ordering};
use usagebook_core::ledger::money::{nano_to_usd, usd_to_nano};
use usagebook_core::ledger::{Hold, Ledger, LedgerEvent, LedgerOptions, Scope};
use usagebook_core::timefmt::format_iso_ms;
use usagebook_core::{Clock, SystemClock};

/// A budget ledger on one SQLite file. Open it with
/// `usagebook_ledger_open`, release it with `usagebook_ledger_close`
/// (exactly once; use-after-close cannot be detected).
pub struct usagebook_ledger {
    inner: Ledger,
}

/// An open reservation returned by `usagebook_ledger_reserve`. Settle it
/// with `usagebook_ledger_commit` or `usagebook_ledger_cancel` (once), and
/// release the handle with `usagebook_hold_free` either way.
pub struct usagebook_hold {
    hold: Hold,
    /// Set while a commit or cancel is in flight and once one succeeded.
    settled: AtomicBool,
}

/// Turns a hold's settled flag on for the duration of `settle`; a failed
/// settle (nothing was recorded) turns it off again so the caller may retry
/// or cancel.
fn settle_once(
    hold: &usagebook_hold,
    settle: impl FnOnce(&Hold) -> Result<(), FfiError>,
) -> Result<(), FfiError> {
    if hold
        .settled
        .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        return Err(FfiError::invalid(format!(
            "invalid argument: hold for trace {:?} is already settled (committed or cancelled); a hold settles once",
            hold.hold.trace_id
        )));
    }
    let r = settle(&hold.hold);
    if r.is_err() {
        hold.settled.store(false, Ordering::Release);
    }
    r
}

/// A scope argument: NULL is `"all"`.
///
/// # Safety
/// `p` is NULL or NUL-terminated.
unsafe fn scope_arg(p: *const c_char) -> Result<Scope, FfiError> {
    // SAFETY: forwarded contract.
    match unsafe { opt_str_arg(p, "scope") }? {
        None => Ok(Scope::All),
        Some(s) => Ok(Scope::parse(s)?),
    }
}

/// `usage_json`: NULL is `{}`; otherwise a JSON object.
fn usage_map(text: Option<&str>) -> Result<Map<String, Value>, FfiError> {
    let Some(text) = text else {
        return Ok(Map::new());
    };
    match serde_json::from_str(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(FfiError::invalid(format!(
            "invalid argument: usage_json must be a JSON object, got {other}"
        ))),
        Err(e) => Err(FfiError::invalid(format!(
            "invalid argument: usage_json is not valid JSON: {e}"
        ))),
    }
}

/// Opens (creating or migrating) the ledger database at `path` (L1, L3):
/// loads today's spend and the open holds, expires holds left by an earlier
/// run (L9) and starts the writer thread. `options_json` is NULL, "" or a
/// JSON object of `mode` ("best_effort" | "strict_budget"), `batchSize`
/// (100), `flushIntervalMs` (200), `dailyBudgetUsd` (none), `timezone`
/// ("UTC"), `holdTtlS` (900), `pricesPath` (a LiteLLM price file),
/// `closeDeadlineMs` (30000), `otlp` (OTLP/HTTP metrics, as for
/// `usagebook_tracker_open`); an unknown key or a wrong type is
/// `USAGEBOOK_INVALID_ARGUMENT` naming it. On success `*out` is a handle
/// the caller must pass to `usagebook_ledger_close`.
///
/// # Safety
/// `path` and `options_json` are NULL or NUL-terminated; `out` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn usagebook_ledger_open(
    path: *const c_char,
    options_json: *const c_char,
    out: *mut *mut usagebook_ledger,
) -> usagebook_status {
    ffi_guard!({
        let out = out_arg(out, "out")?;
        // SAFETY: forwarded contract.
        let path = unsafe { str_arg(path, "path") }?;
        // SAFETY: forwarded contract.
        let options = unsafe { opt_str_arg(options_json, "options_json") }?;
        let opts = LedgerOptions::from_json(options)?;
        let inner = Ledger::open(path, opts)?;
        let raw = Box::into_raw(Box::new(usagebook_ledger { inner }));
        // SAFETY: checked non-NULL; the caller's contract makes it writable.
        unsafe { out.write(raw) };
        Ok(())
    })
}

/// Writes one ledger event given as JSON (L1, L2): `{"event_type":
/// "precheck_hold" | "commit" | "cancel" | "adjust", "trace_id", "provider",
/// "model", "usage"?, "cost_est_usd"?, "cost_actual_usd"?, "status"?,
/// "timing"?, "timestamp"? (epoch seconds; default now), "profile_id"?,
/// "id"?}`. An invalid event is `USAGEBOOK_INVALID_ARGUMENT` naming the
/// field and records nothing (L5); a `precheck_hold` past the daily budget
/// is `USAGEBOOK_BUDGET_EXCEEDED`. Returns once the event is queued, or,
/// when `sync` is true, once it is committed to the database (L3).
///
/// # Safety
/// `l` is NULL or an open ledger; `event_json` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn usagebook_ledger_write_event_json(
    l: *mut usagebook_ledger,
    event_json: *const c_char,
    sync: bool,
) -> usagebook_status {
    ffi_guard!({
        // SAFETY: forwarded contract.
        let l = unsafe { ref_arg(l, "l") }?;
        // SAFETY: forwarded contract.
        let text = unsafe { str_arg(event_json, "event_json") }?;
        // The ledger runs on the system clock, so "now" is the same here.
        let now_s = SystemClock.now_ms() as f64 / 1000.0;
        let ev = LedgerEvent::from_json_str(text, now_s)?;
        Ok(l.inner.write_event(ev, sync)?)
    })
}

/// Reserves `estimate_usd` for a trace (L6, L7): refused with
/// `USAGEBOOK_BUDGET_EXCEEDED` (the message names scope, window, limit,
/// spent, reserved and reset time) if spent + reserved + estimate would
/// pass `dailyBudgetUsd`; reaching it exactly is allowed. In strict mode
/// the check and the hold are one transaction, durable when this returns.
/// `profile_id` NULL means none. On success `*out` is a hold the caller
/// settles with `usagebook_ledger_commit` or `usagebook_ledger_cancel` and
/// frees with `usagebook_hold_free`.
///
/// # Safety
/// `l` is NULL or an open ledger; strings are NULL or NUL-terminated; `out`
/// is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn usagebook_ledger_reserve(
    l: *mut usagebook_ledger,
    trace_id: *const c_char,
    provider: *const c_char,
    model: *const c_char,
    estimate_usd: f64,
    profile_id: *const c_char,
    out: *mut *mut usagebook_hold,
) -> usagebook_status {
    ffi_guard!({
        // SAFETY: forwarded contract.
        let l = unsafe { ref_arg(l, "l") }?;
        let out = out_arg(out, "out")?;
        // SAFETY: forwarded contract (each string below).
        let trace_id = unsafe { str_arg(trace_id, "trace_id") }?;
        // SAFETY: as above.
        let provider = unsafe { str_arg(provider, "provider") }?;
        // SAFETY: as above.
        let model = unsafe { str_arg(model, "model") }?;
        // SAFETY: as above.
        let profile_id = unsafe { opt_str_arg(profile_id, "profile_id") }?;
        let estimate = usd_to_nano(estimate_usd, "estimate_usd")?;
        let hold = l
            .inner
            .reserve(trace_id, provider, model, estimate, profile_id)?;
        let raw = Box::into_raw(Box::new(usagebook_hold {
            hold,
            settled: AtomicBool::new(false),
        }));
        // SAFETY: checked non-NULL; the caller's contract makes it writable.
        unsafe { out.write(raw) };
        Ok(())
    })
}

/// [`usagebook_ledger_reserve`] from a JSON request, with the tokens rate
/// limits count (R1): `{"traceId", "provider", "model", "estimateUsd",
/// "profileId"?, "inputTokens"?, "maxTokens"?, "estimateTokens"?}`. `tpm`
/// counts `estimateTokens`, else `inputTokens` plus `maxTokens` (else
/// 1024). A rate limit's refusal is `USAGEBOOK_RATE_LIMITED`; with
/// `waitOnRateLimit` the call blocks for the wait first (at most
/// `maxWaitTimeoutS` a wait, `retryBudgetS` in all).
///
/// # Safety
/// `l` is NULL or an open ledger; `request_json` is NULL or NUL-terminated;
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn usagebook_ledger_reserve_json(
    l: *mut usagebook_ledger,
    request_json: *const c_char,
    out: *mut *mut usagebook_hold,
) -> usagebook_status {
    ffi_guard!({
        // SAFETY: forwarded contract.
        let l = unsafe { ref_arg(l, "l") }?;
        let out = out_arg(out, "out")?;
        // SAFETY: forwarded contract.
        let text = unsafe { str_arg(request_json, "request_json") }?;
        let hold = usagebook_core::ledger::reserve_json(&l.inner, text)?;
        let raw = Box::into_raw(Box::new(usagebook_hold {
            hold,
            settled: AtomicBool::new(false),
        }));
        // SAFETY: checked non-NULL; the caller's contract makes it writable.
        unsafe { out.write(raw) };
        Ok(())
    })
}

/// Replaces the ledger's rate limits (R1) with a JSON list
/// `[{"scope": "provider:openai", "rpm": 500, "tpm": 200000, "rpd": 10000}]`
/// (`[]`: none).
///
/// # Safety
/// `l` is NULL or an open ledger; `limits_json` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn usagebook_ledger_set_rate_limits(
    l: *mut usagebook_ledger,
    limits_json: *const c_char,
) -> usagebook_status {
    ffi_guard!({
        // SAFETY: forwarded contract.
        let l = unsafe { ref_arg(l, "l") }?;
        // SAFETY: forwarded contract.
        let text = unsafe { str_arg(limits_json, "limits_json") }?;
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            usagebook_core::Error::invalid(format!("limits_json is not valid JSON: {e}"))
        })?;
        let limits = usagebook_core::ledger::rate::limits_from_json(&v)?;
        Ok(l.inner.set_rate_limits(limits)?)
    })
}

/// Settles `hold` as spent (L6): spend becomes `cost_actual_usd`, or, when
/// it is negative or NaN, the cost of `usage_json` at the model's price
/// (L12), or, for an unpriced model, the hold's estimate; the reservation
/// is released. `usage_json` is NULL (`{}`) or any provider SDK's usage (or
/// whole response) as JSON: OpenAI, Anthropic, Gemini, Bedrock, LiteLLM,
/// `{"input": n, "output": n, ...}` or the older `tokens_in`/`tokens_out`.
/// Returns once the commit is queued (`usagebook_ledger_flush` makes it
/// durable). A hold already committed or cancelled is
/// `USAGEBOOK_INVALID_ARGUMENT` ("already settled"); a failed commit
/// leaves the hold open. The hold is still freed with
/// `usagebook_hold_free`.
///
/// # Safety
/// `l` is NULL or an open ledger (the one that reserved the hold, or one
/// reopened on the same file); `hold` is NULL or a live hold;
/// `usage_json` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn usagebook_ledger_commit(
    l: *mut usagebook_ledger,
    hold: *mut usagebook_hold,
    usage_json: *const c_char,
    cost_actual_usd: f64,
) -> usagebook_status {
    ffi_guard!({
        // SAFETY: forwarded contract.
        let l = unsafe { ref_arg(l, "l") }?;
        // SAFETY: forwarded contract.
        let hold = unsafe { ref_arg(hold, "hold") }?;
        // SAFETY: forwarded contract.
        let usage = usage_map(unsafe { opt_str_arg(usage_json, "usage_json") }?)?;
        let cost = if cost_actual_usd.is_nan() || cost_actual_usd < 0.0 {
            None
        } else {
            Some(usd_to_nano(cost_actual_usd, "cost_actual_usd")?)
        };
        settle_once(hold, |h| Ok(l.inner.commit(h, usage, cost, false)?))
    })
}

/// Releases `hold` without spend. A hold already committed or cancelled is
/// `USAGEBOOK_INVALID_ARGUMENT` ("already settled"). Returns once the
/// cancel is queued. The hold is still freed with `usagebook_hold_free`.
///
/// # Safety
/// As `usagebook_ledger_commit`.
#[no_mangle]
pub unsafe extern "C" fn usagebook_ledger_cancel(
    l: *mut usagebook_ledger,
    hold: *mut usagebook_hold,
) -> usagebook_status {
    ffi_guard!({
        // SAFETY: forwarded contract.
        let l = unsafe { ref_arg(l, "l") }?;
        // SAFETY: forwarded contract.
        let hold = unsafe { ref_arg(hold, "hold") }?;
        settle_once(hold, |h| Ok(l.inner.cancel(h, false)?))
    })
}

/// Frees a hold handle. NULL is a no-op. Freeing does not settle: a hold
/// never committed or cancelled keeps reserving its amount until it
/// expires (`holdTtlS`, L9).
///
/// # Safety
/// `hold` is NULL or a hold from `usagebook_ledger_reserve` not freed yet
/// and not used by another thread during or after this call.
#[no_mangle]
pub unsafe extern "C" fn usagebook_hold_free(hold: *mut usagebook_hold) {
    ffi_guard_value!((), {
        if !hold.is_null() {
            // SAFETY: it came from `Box::into_raw` in `usagebook_ledger_reserve`.
            drop(unsafe { Box::from_raw(hold) });
        }
    })
}

/// The hold as a JSON object: `trace_id`, `event_id`, `provider`, `model`,
/// `profile_id` (or null), `amount_usd`, `expires_at` (ISO-8601 UTC with
/// milliseconds), `expires_at_ms` (epoch ms) and `settled` (true once
/// committed or cancelled through this handle). On success `*out_json` is a
/// new string the caller frees with `usagebook_string_free`.
///
/// # Safety
/// `hold` is NULL or a live hold; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn usagebook_hold_info_json(
    hold: *const usagebook_hold,
    out_json: *mut *mut c_char,
) -> usagebook_status {
    ffi_guard!({
        // SAFETY: forwarded contract.
        let h = unsafe { ref_arg(hold, "hold") }?;
        let out = out_arg(out_json, "out_json")?;
        let settled = h.settled.load(Ordering::Acquire);
        let h = &h.hold;
        let info = json!({
            "trace_id": h.trace_id,
            "event_id": h.event_id,
            "provider": h.provider,
            "model": h.model,
            "profile_id": h.profile_id,
            "amount_usd": nano_to_usd(h.amount_nusd),
            "expires_at": format_iso_ms(h.expires_ms),
            "expires_at_ms": h.expires_ms,
            "settled": settled,
        });
        let s = owned_c_string(info.to_string())?;
        // SAFETY: checked non-NULL; the caller's contract makes it writable.
        unsafe { out.write(s) };
        Ok(())
    })
}

/// # Safety
/// As `usagebook_ledger_spend_today`.
unsafe fn today(
    l: *const usagebook_ledger,
    scope: *const c_char,
    profile_id: *const c_char,
    out_usd: *mut f64,
    reserved: bool,
) -> Result<(), FfiError> {
    // SAFETY: forwarded contract.
    let l = unsafe { ref_arg(l, "l") }?;
    let out = out_arg(out_usd, "out_usd")?;
    // SAFETY: forwarded contract.
    let scope = unsafe { scope_arg(scope) }?;
    // SAFETY: forwarded contract.
    let profile = unsafe { opt_str_arg(profile_id, "profile_id") }?;
    let nusd = if reserved {
        l.inner.reserved_today(&scope, profile)?
    } else {
        l.inner.spend_today(&scope, profile)?
    };
    // SAFETY: checked non-NULL; the caller's contract makes it writable.
    unsafe { out.write(nano_to_usd(nusd)) };
    Ok(())
}

/// Settled spend (USD) since the start of today in the ledger's timezone
/// (L6): commits and adjusts, not open holds. `scope` is NULL or "all",
/// "provider:<name>" or "model:<name>"; `profile_id` NULL means every
/// profile. Best effort answers from memory; strict commits what is queued
/// first. Written to `*out_usd` only on success.
///
/// # Safety
/// `l` is NULL or an open ledger; strings are NULL or NUL-terminated;
/// `out_usd` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn usagebook_ledger_spend_today(
    l: *mut usagebook_ledger,
    scope: *const c_char,
    profile_id: *const c_char,
    out_usd: *mut f64,
) -> usagebook_status {
    ffi_guard!({
        // SAFETY: forwarded contract.
        unsafe { today(l, scope, profile_id, out_usd, false) }
    })
}

/// What open, unexpired holds reserve now (USD), reported apart from
/// spend. Arguments as `usagebook_ledger_spend_today`.
///
/// # Safety
/// As `usagebook_ledger_spend_today`.
#[no_mangle]
pub unsafe extern "C" fn usagebook_ledger_reserved_today(
    l: *mut usagebook_ledger,
    scope: *const c_char,
    profile_id: *const c_char,
    out_usd: *mut f64,
) -> usagebook_status {
    ffi_guard!({
        // SAFETY: forwarded contract.
        unsafe { today(l, scope, profile_id, out_usd, true) }
    })
}

/// Commits everything queued; returns when it is in the database.
///
/// # Safety
/// `l` is NULL or an open ledger.
#[no_mangle]
pub unsafe extern "C" fn usagebook_ledger_flush(l: *mut usagebook_ledger) -> usagebook_status {
    ffi_guard!({
        // SAFETY: forwarded contract.
        let l = unsafe { ref_arg(l, "l") }?;
        Ok(l.inner.flush()?)
    })
}

/// Health (X2) as a JSON object: `mode`, `path`, `closed`, `queueDepth`,
/// `eventsWritten`, `batches`, `duplicates`, `rejected`, `expiredHolds`,
/// `openHolds`, `lastCommitAt`, `lastError`, `schemaVersion`. On success
/// `*out_json` is a new string the caller frees with
/// `usagebook_string_free`.
///
/// # Safety
/// `l` is NULL or an open ledger; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn usagebook_ledger_health_json(
    l: *const usagebook_ledger,
    out_json: *mut *mut c_char,
) -> usagebook_status {
    ffi_guard!({
        // SAFETY: forwarded contract.
        let l = unsafe { ref_arg(l, "l") }?;
        let out = out_arg(out_json, "out_json")?;
        let s = owned_c_string(l.inner.health().to_json().to_string())?;
        // SAFETY: checked non-NULL; the caller's contract makes it writable.
        unsafe { out.write(s) };
        Ok(())
    })
}

/// Writes the Prometheus text exposition (format 0.0.4) of the ledger to
/// `*out_text` (O1; docs/telemetry.md): the database's totals, the same in
/// every process sharing the file (requests, errors, tokens by type,
/// spend per provider and model; today's spend per scope, open holds,
/// remaining daily budget), and this process's writer. Free the string
/// with `usagebook_string_free`.
///
/// # Safety
/// `l` is an open ledger handle; `out_text` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn usagebook_ledger_metrics_text(
    l: *const usagebook_ledger,
    out_text: *mut *mut c_char,
) -> usagebook_status {
    ffi_guard!({
        // SAFETY: forwarded contract.
        let l = unsafe { ref_arg(l, "l") }?;
        let out = out_arg(out_text, "out_text")?;
        let s = owned_c_string(l.inner.metrics_text()?)?;
        // SAFETY: checked non-NULL; the caller's contract makes it writable.
        unsafe { out.write(s) };
        Ok(())
    })
}

/// Closes and frees the ledger: drains the queue into the database (within
/// `closeDeadlineMs`, L4), stops the writer thread and joins it. Returns
/// the status of the drain, but the handle is freed whatever it returns:
/// never use it again. NULL is a no-op returning `USAGEBOOK_OK`. Hold
/// handles are not freed by it (free each with `usagebook_hold_free`); an
/// unsettled hold stays open in the database until it expires (L9).
///
/// # Safety
/// `l` is NULL or an open ledger not used by any other thread during or
/// after this call.
#[no_mangle]
pub unsafe extern "C" fn usagebook_ledger_close(l: *mut usagebook_ledger) -> usagebook_status {
    ffi_guard!({
        if l.is_null() {
            return Ok(());
        }
        // SAFETY: the handle came from `usagebook_ledger_open` and is not
        // used again.
        let handle = unsafe { Box::from_raw(l) };
        Ok(handle.inner.close()?)
    })
}

/// The price function on its own (U4): the cost of one call's usage.
/// `model`: the model name (NULL or "" to take it from a whole response
/// passed as `usage_json`); `usage_json`: any provider SDK's usage or
/// response as JSON (OpenAI, Anthropic, Gemini, Bedrock, LiteLLM, the
/// tracker's camelCase); `provider`: NULL or e.g. "azure" (looked up as
/// `provider/model` first); `prices_json`: NULL for the bundled LiteLLM
/// snapshot, or a LiteLLM-format price map overlaid on it. On success
/// `*out_json` is `{"usd": n, "priced": bool, "model": "key"|null,
/// "items": [{"price", "units", "unit_usd", "usd"}]}`, a new string the
/// caller frees with `usagebook_string_free`. An unpriced model is
/// `"priced": false` (never a silent $0); an unrecognised usage is
/// `USAGEBOOK_INVALID_ARGUMENT` naming its keys.
///
/// # Safety
/// The strings are NULL or NUL-terminated; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn usagebook_cost_json(
    model: *const c_char,
    usage_json: *const c_char,
    provider: *const c_char,
    prices_json: *const c_char,
    out_json: *mut *mut c_char,
) -> usagebook_status {
    ffi_guard!({
        // SAFETY: forwarded contract.
        let model = unsafe { opt_str_arg(model, "model") }?.unwrap_or("");
        // SAFETY: forwarded contract.
        let usage = unsafe { str_arg(usage_json, "usage_json") }?;
        // SAFETY: forwarded contract.
        let provider = unsafe { opt_str_arg(provider, "provider") }?;
        // SAFETY: forwarded contract.
        let prices = unsafe { opt_str_arg(prices_json, "prices_json") }?;
        let out = out_arg(out_json, "out_json")?;
        let now = SystemClock.now_ms();
        let text = usagebook_core::pricing::cost_json(model, usage, provider, prices, now)?;
        let s = owned_c_string(text)?;
        // SAFETY: checked non-NULL; the caller's contract makes it writable.
        unsafe { out.write(s) };
        Ok(())
    })
}
