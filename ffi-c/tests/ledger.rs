//! The ledger through the C ABI, called from Rust (tests/c/test_ledger.c
//! does the same from C): statuses and messages, outputs untouched on
//! failure, holds settled once, strict budgets, reopen (B1, L1–L9).

use serde_json::Value;
use std::ffi::{c_char, CStr, CString};
use std::ptr;
use usagebook::*;
use usagebook_status::*;

fn last_error() -> String {
    unsafe { CStr::from_ptr(usagebook_last_error_message()) }
        .to_str()
        .unwrap()
        .to_owned()
}

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

fn take_json(p: *mut c_char) -> Value {
    let s = unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned();
    unsafe { usagebook_string_free(p) };
    serde_json::from_str(&s).unwrap()
}

const BAD: &[u8] = b"op\xffenai\0";

fn bad() -> *const c_char {
    BAD.as_ptr() as *const c_char
}

unsafe fn open(path: &CString, opts: &str) -> *mut usagebook_ledger {
    let mut l = ptr::null_mut();
    let s = unsafe { usagebook_ledger_open(path.as_ptr(), c(opts).as_ptr(), &mut l) };
    assert_eq!(s, USAGEBOOK_OK, "{}", last_error());
    l
}

unsafe fn spend(l: *mut usagebook_ledger, scope: Option<&str>) -> f64 {
    let scope = scope.map(c);
    let mut out = -1.0;
    let s = unsafe {
        usagebook_ledger_spend_today(
            l,
            scope.as_ref().map_or(ptr::null(), |s| s.as_ptr()),
            ptr::null(),
            &mut out,
        )
    };
    assert_eq!(s, USAGEBOOK_OK, "{}", last_error());
    out
}

unsafe fn reserved(l: *mut usagebook_ledger) -> f64 {
    let mut out = -1.0;
    let s = unsafe { usagebook_ledger_reserved_today(l, ptr::null(), ptr::null(), &mut out) };
    assert_eq!(s, USAGEBOOK_OK, "{}", last_error());
    out
}

unsafe fn reserve(
    l: *mut usagebook_ledger,
    trace: &str,
    usd: f64,
) -> (usagebook_status, *mut usagebook_hold) {
    let mut h = ptr::null_mut();
    let s = unsafe {
        usagebook_ledger_reserve(
            l,
            c(trace).as_ptr(),
            c("openai").as_ptr(),
            c("gpt-4o").as_ptr(),
            usd,
            ptr::null(),
            &mut h,
        )
    };
    (s, h)
}

#[test]
fn x1_null_utf8_bad_options_and_events_are_errors_and_outputs_stay_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = c(dir.path().join("l.db").to_str().unwrap());
    unsafe {
        let sentinel = 0x5e57usize as *mut usagebook_ledger;
        let mut l = sentinel;
        assert_eq!(
            usagebook_ledger_open(ptr::null(), ptr::null(), &mut l),
            USAGEBOOK_NULL_ARGUMENT
        );
        assert!(last_error().contains("path"), "{}", last_error());
        assert_eq!(
            usagebook_ledger_open(path.as_ptr(), ptr::null(), ptr::null_mut()),
            USAGEBOOK_NULL_ARGUMENT
        );
        assert_eq!(
            usagebook_ledger_open(bad(), ptr::null(), &mut l),
            USAGEBOOK_INVALID_UTF8
        );
        assert_eq!(
            usagebook_ledger_open(path.as_ptr(), bad(), &mut l),
            USAGEBOOK_INVALID_UTF8
        );
        assert!(last_error().contains("options_json"), "{}", last_error());
        assert_eq!(
            usagebook_ledger_open(path.as_ptr(), c("{\"budget\":1}").as_ptr(), &mut l),
            USAGEBOOK_INVALID_ARGUMENT
        );
        assert!(last_error().contains("\"budget\""), "{}", last_error());
        assert_eq!(
            usagebook_ledger_open(path.as_ptr(), c("{\"mode\":\"yolo\"}").as_ptr(), &mut l),
            USAGEBOOK_INVALID_ARGUMENT
        );
        assert!(last_error().contains("mode"), "{}", last_error());
        assert_eq!(
            usagebook_ledger_open(c("").as_ptr(), ptr::null(), &mut l),
            USAGEBOOK_INVALID_ARGUMENT
        );
        assert_eq!(l, sentinel, "out written on failure");

        let l = open(&path, "");
        for (ev, field) in [
            ("{", "JSON"),
            (r#"{"trace_id":"t"}"#, "event_type"),
            (
                r#"{"event_type":"commit","trace_id":"t","provider":"p","model":"m","cost_actual_usd":"1"}"#,
                "cost_actual_usd",
            ),
            (
                r#"{"event_type":"commit","trace_id":"t","provider":"p","model":"m","usage":{"tokens_in":-1}}"#,
                "usage.tokens_in",
            ),
        ] {
            assert_eq!(
                usagebook_ledger_write_event_json(l, c(ev).as_ptr(), false),
                USAGEBOOK_INVALID_ARGUMENT,
                "{ev}"
            );
            assert!(last_error().contains(field), "{ev}: {}", last_error());
        }
        assert_eq!(
            usagebook_ledger_write_event_json(l, ptr::null(), false),
            USAGEBOOK_NULL_ARGUMENT
        );
        assert_eq!(
            usagebook_ledger_write_event_json(ptr::null_mut(), c("{}").as_ptr(), false),
            USAGEBOOK_NULL_ARGUMENT
        );
        assert_eq!(
            usagebook_ledger_write_event_json(l, bad(), false),
            USAGEBOOK_INVALID_UTF8
        );

        let hs = 0x5e57usize as *mut usagebook_hold;
        let mut h = hs;
        let (gpt, oa, t) = (c("gpt-4o"), c("openai"), c("t"));
        for (trace, prov, model, usd, status) in [
            (
                ptr::null(),
                oa.as_ptr(),
                gpt.as_ptr(),
                0.1,
                USAGEBOOK_NULL_ARGUMENT,
            ),
            (
                t.as_ptr(),
                ptr::null(),
                gpt.as_ptr(),
                0.1,
                USAGEBOOK_NULL_ARGUMENT,
            ),
            (
                t.as_ptr(),
                oa.as_ptr(),
                ptr::null(),
                0.1,
                USAGEBOOK_NULL_ARGUMENT,
            ),
            (t.as_ptr(), bad(), gpt.as_ptr(), 0.1, USAGEBOOK_INVALID_UTF8),
            (
                t.as_ptr(),
                oa.as_ptr(),
                gpt.as_ptr(),
                f64::NAN,
                USAGEBOOK_INVALID_ARGUMENT,
            ),
            (
                t.as_ptr(),
                oa.as_ptr(),
                gpt.as_ptr(),
                -1.0,
                USAGEBOOK_INVALID_ARGUMENT,
            ),
        ] {
            assert_eq!(
                usagebook_ledger_reserve(l, trace, prov, model, usd, ptr::null(), &mut h),
                status
            );
        }
        assert_eq!(h, hs, "hold written on failure");
        assert_eq!(
            usagebook_ledger_reserve(l, t.as_ptr(), oa.as_ptr(), gpt.as_ptr(), 0.1, bad(), &mut h),
            USAGEBOOK_INVALID_UTF8
        );
        assert!(last_error().contains("profile_id"), "{}", last_error());
        assert_eq!(h, hs);

        let mut usd = 42.0;
        assert_eq!(
            usagebook_ledger_spend_today(l, c("team:x").as_ptr(), ptr::null(), &mut usd),
            USAGEBOOK_INVALID_ARGUMENT
        );
        assert!(last_error().contains("scope"), "{}", last_error());
        assert_eq!(
            usagebook_ledger_reserved_today(l, ptr::null(), bad(), &mut usd),
            USAGEBOOK_INVALID_UTF8
        );
        assert_eq!(
            usagebook_ledger_spend_today(l, ptr::null(), ptr::null(), ptr::null_mut()),
            USAGEBOOK_NULL_ARGUMENT
        );
        assert_eq!(usd, 42.0, "out written on failure");
        assert_eq!(reserved(l), 0.0, "refused holds reserved nothing");
        assert_eq!(
            usagebook_ledger_flush(ptr::null_mut()),
            USAGEBOOK_NULL_ARGUMENT
        );
        assert_eq!(usagebook_ledger_close(l), USAGEBOOK_OK);
        assert_eq!(usagebook_ledger_close(ptr::null_mut()), USAGEBOOK_OK);
        usagebook_hold_free(ptr::null_mut());
    }
}

#[test]
fn l6_hold_commit_cancel_and_settling_twice_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = c(dir.path().join("l.db").to_str().unwrap());
    unsafe {
        let l = open(&path, r#"{"mode":"best_effort"}"#);
        let (s, h) = reserve(l, "trace-1", 0.10);
        assert_eq!(s, USAGEBOOK_OK);
        assert!((reserved(l) - 0.10).abs() < 1e-12);
        let mut out = ptr::null_mut();
        assert_eq!(usagebook_hold_info_json(h, &mut out), USAGEBOOK_OK);
        let info = take_json(out);
        assert_eq!(info["trace_id"], "trace-1");
        assert_eq!(info["amount_usd"], 0.1);
        assert_eq!(info["settled"], false);
        assert!(info["profile_id"].is_null());
        assert!(info["event_id"].as_str().is_some_and(|s| !s.is_empty()));
        assert!(info["expires_at"].as_str().unwrap().ends_with('Z'));

        // A refused commit (bad usage) leaves the hold open and unsettled.
        assert_eq!(
            usagebook_ledger_commit(l, h, c("[1]").as_ptr(), 0.04),
            USAGEBOOK_INVALID_ARGUMENT
        );
        assert!(last_error().contains("usage_json"), "{}", last_error());
        assert_eq!(
            usagebook_ledger_commit(l, h, c("{\"tokens_in\":-3}").as_ptr(), 0.04),
            USAGEBOOK_INVALID_ARGUMENT
        );
        assert!(last_error().contains("usage.tokens_in"), "{}", last_error());
        assert_eq!(
            usagebook_ledger_commit(l, h, ptr::null(), f64::INFINITY),
            USAGEBOOK_INVALID_ARGUMENT
        );
        assert!(last_error().contains("cost_actual_usd"), "{}", last_error());
        assert_eq!(
            usagebook_ledger_commit(l, ptr::null_mut(), ptr::null(), 0.04),
            USAGEBOOK_NULL_ARGUMENT
        );
        assert_eq!(spend(l, None), 0.0);

        assert_eq!(
            usagebook_ledger_commit(l, h, c("{\"tokens_in\":3}").as_ptr(), 0.04),
            USAGEBOOK_OK
        );
        assert_eq!(spend(l, None), 0.04);
        assert_eq!(spend(l, Some("all")), 0.04);
        assert_eq!(spend(l, Some("provider:openai")), 0.04);
        assert_eq!(spend(l, Some("model:gpt-4o")), 0.04);
        assert_eq!(spend(l, Some("model:other")), 0.0);
        assert_eq!(reserved(l), 0.0);
        for again in [
            usagebook_ledger_commit(l, h, ptr::null(), 0.04),
            usagebook_ledger_cancel(l, h),
        ] {
            assert_eq!(again, USAGEBOOK_INVALID_ARGUMENT);
            assert!(last_error().contains("already settled"), "{}", last_error());
        }
        assert_eq!(spend(l, None), 0.04, "a refused second settle adds nothing");
        assert_eq!(usagebook_hold_info_json(h, &mut out), USAGEBOOK_OK);
        assert_eq!(take_json(out)["settled"], true);
        usagebook_hold_free(h);

        let (s, h2) = reserve(l, "trace-2", 0.30);
        assert_eq!(s, USAGEBOOK_OK);
        assert_eq!(usagebook_ledger_cancel(l, h2), USAGEBOOK_OK);
        assert_eq!(spend(l, None), 0.04);
        assert_eq!(reserved(l), 0.0);
        assert_eq!(usagebook_ledger_cancel(l, h2), USAGEBOOK_INVALID_ARGUMENT);
        usagebook_hold_free(h2);

        // A negative or NaN actual cost means "derive": unpriced, the
        // hold's estimate is spent.
        let (_, h3) = reserve(l, "trace-3", 0.25);
        assert_eq!(
            usagebook_ledger_commit(l, h3, ptr::null(), f64::NAN),
            USAGEBOOK_OK
        );
        assert_eq!(spend(l, None), 0.29);
        usagebook_hold_free(h3);

        // Two threads settle one hold: exactly one wins.
        let (_, h4) = reserve(l, "trace-4", 0.01);
        let (la, ha) = (l as usize, h4 as usize);
        let wins: Vec<usagebook_status> = (0..2)
            .map(|i| {
                std::thread::spawn(move || {
                    let (l, h) = (la as *mut usagebook_ledger, ha as *mut usagebook_hold);
                    if i == 0 {
                        usagebook_ledger_commit(l, h, ptr::null(), 0.01)
                    } else {
                        usagebook_ledger_cancel(l, h)
                    }
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect();
        assert_eq!(
            wins.iter().filter(|s| **s == USAGEBOOK_OK).count(),
            1,
            "{wins:?}"
        );
        usagebook_hold_free(h4);
        assert_eq!(usagebook_ledger_close(l), USAGEBOOK_OK);
    }
}

#[test]
fn l7_strict_budget_refuses_past_the_limit_and_equality_passes() {
    let dir = tempfile::tempdir().unwrap();
    let path = c(dir.path().join("strict.db").to_str().unwrap());
    let opts = r#"{"mode":"strict_budget","dailyBudgetUsd":1.0}"#;
    unsafe {
        let l = open(&path, opts);
        let (s, h) = reserve(l, "a", 0.9);
        assert_eq!(s, USAGEBOOK_OK, "{}", last_error());
        assert_eq!(
            usagebook_ledger_commit(l, h, ptr::null(), 0.9),
            USAGEBOOK_OK
        );
        usagebook_hold_free(h);
        let sentinel = 0x5e57usize as *mut usagebook_hold;
        let mut refused = sentinel;
        let s = usagebook_ledger_reserve(
            l,
            c("b").as_ptr(),
            c("openai").as_ptr(),
            c("gpt-4o").as_ptr(),
            0.2,
            ptr::null(),
            &mut refused,
        );
        assert_eq!(s, USAGEBOOK_BUDGET_EXCEEDED);
        assert_eq!(refused, sentinel);
        let msg = last_error();
        for part in [
            "all",
            "day",
            "1.0",
            "spent $0.9",
            "reserved $0",
            "resets at",
        ] {
            assert!(msg.contains(part), "{part}: {msg}");
        }
        let (s, h) = reserve(l, "c", 0.1);
        assert_eq!(s, USAGEBOOK_OK, "0.9 + 0.1 == 1.0 passes: {}", last_error());
        assert_eq!(usagebook_ledger_cancel(l, h), USAGEBOOK_OK);
        usagebook_hold_free(h);
        // A sync event is durable on return; close then reopen keeps spend.
        let ev = c(
            r#"{"event_type":"adjust","trace_id":"a","provider":"openai","model":"gpt-4o","cost_actual_usd":-0.05}"#,
        );
        assert_eq!(
            usagebook_ledger_write_event_json(l, ev.as_ptr(), true),
            USAGEBOOK_OK,
            "{}",
            last_error()
        );
        assert_eq!(spend(l, None), 0.85);
        let mut out = ptr::null_mut();
        assert_eq!(usagebook_ledger_health_json(l, &mut out), USAGEBOOK_OK);
        let health = take_json(out);
        assert_eq!(health["mode"], "strict_budget");
        assert_eq!(health["closed"], false);
        assert_eq!(usagebook_ledger_flush(l), USAGEBOOK_OK);
        assert_eq!(usagebook_ledger_close(l), USAGEBOOK_OK);

        let l = open(&path, opts);
        assert_eq!(spend(l, None), 0.85);
        assert_eq!(reserved(l), 0.0);
        assert_eq!(
            usagebook_ledger_health_json(ptr::null(), &mut out),
            USAGEBOOK_NULL_ARGUMENT
        );
        assert_eq!(
            usagebook_ledger_health_json(l, ptr::null_mut()),
            USAGEBOOK_NULL_ARGUMENT
        );
        assert_eq!(usagebook_ledger_close(l), USAGEBOOK_OK);
    }
}
