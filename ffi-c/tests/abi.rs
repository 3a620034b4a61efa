//! The C ABI called from Rust (the C and C++ programs in tests/c do the
//! same from C): statuses, last error, out-parameters untouched on failure,
//! clock injection, lock and recovery through handles (B1, T2–T11, X1).

use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr;
use std::sync::atomic::{AtomicI64, Ordering};
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

unsafe extern "C" fn clock(ctx: *mut c_void) -> i64 {
    unsafe { &*(ctx as *const AtomicI64) }.load(Ordering::SeqCst)
}

fn take_string(p: *mut c_char) -> String {
    let s = unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned();
    unsafe { usagebook_string_free(p) };
    s
}

#[test]
fn x1_null_and_bad_utf8_are_errors_and_outputs_stay_untouched() {
    unsafe {
        let mut t: *mut usagebook_tracker = ptr::null_mut();
        assert_eq!(
            usagebook_tracker_open_in_memory(ptr::null(), ptr::null_mut()),
            USAGEBOOK_NULL_ARGUMENT
        );
        assert!(last_error().contains("out"), "{}", last_error());
        assert_eq!(
            usagebook_tracker_open(ptr::null(), ptr::null(), &mut t),
            USAGEBOOK_NULL_ARGUMENT
        );
        assert!(last_error().contains("base_dir"));
        assert!(t.is_null());
        let bad = b"op\xffenai\0";
        assert_eq!(
            usagebook_tracker_open_in_memory(ptr::null(), &mut t),
            USAGEBOOK_OK
        );
        assert_eq!(last_error(), "");
        let r = usagebook_tracker_track(t, bad.as_ptr() as *const c_char, 1, 1, 2, -1, 0);
        assert_eq!(r, USAGEBOOK_INVALID_UTF8);
        assert!(last_error().contains("bridge_id"), "{}", last_error());
        assert_eq!(
            usagebook_tracker_track(t, c("a").as_ptr(), 1, 1, 2, -1, 7),
            USAGEBOOK_INVALID_ARGUMENT
        );
        assert!(last_error().contains("status"));
        assert_eq!(
            usagebook_tracker_track(t, c("").as_ptr(), 1, 1, 2, -1, 0),
            USAGEBOOK_INVALID_ARGUMENT
        );
        let mut stats = usagebook_stats {
            total_requests: 99,
            ..Default::default()
        };
        assert_eq!(
            usagebook_tracker_stats(ptr::null(), ptr::null(), &mut stats),
            USAGEBOOK_NULL_ARGUMENT
        );
        assert_eq!(stats.total_requests, 99, "not written on failure");
        assert_eq!(
            usagebook_tracker_stats(t, bad.as_ptr() as *const c_char, &mut stats),
            USAGEBOOK_INVALID_UTF8
        );
        assert_eq!(stats.total_requests, 99);
        assert_eq!(
            usagebook_tracker_stats(t, ptr::null(), &mut stats),
            USAGEBOOK_OK
        );
        assert_eq!(stats.total_requests, 0, "the refused logs recorded nothing");
        assert_eq!(stats.last_used_at_ms, -1);
        let mut s: *mut c_char = ptr::null_mut();
        assert_eq!(
            usagebook_tracker_logs_json(t, ptr::null(), ptr::null_mut()),
            USAGEBOOK_NULL_ARGUMENT
        );
        assert_eq!(
            usagebook_tracker_track_json(t, c("{\"bridgeId\":").as_ptr()),
            USAGEBOOK_INVALID_ARGUMENT
        );
        assert!(last_error().contains("JSON"), "{}", last_error());
        assert_eq!(
            usagebook_tracker_logs_json(t, ptr::null(), &mut s),
            USAGEBOOK_OK
        );
        assert_eq!(take_string(s), "[]");
        assert_eq!(usagebook_tracker_close(t), USAGEBOOK_OK);
        assert_eq!(usagebook_tracker_close(ptr::null_mut()), USAGEBOOK_OK);
        usagebook_string_free(ptr::null_mut());
    }
}

#[test]
fn t2_t3_t4_injected_clock_stamps_ids_and_timestamps() {
    let now = AtomicI64::new(1_736_000_000_000);
    let ctx = &now as *const AtomicI64 as *mut c_void;
    unsafe {
        let mut t = ptr::null_mut();
        assert_eq!(
            usagebook_tracker_open_in_memory_with_clock(
                c("{\"maxLogs\":2}").as_ptr(),
                Some(clock),
                ctx,
                &mut t
            ),
            USAGEBOOK_OK
        );
        assert_eq!(
            usagebook_tracker_track(t, c("openai").as_ptr(), 10, 5, 15, 120, 0),
            USAGEBOOK_OK
        );
        now.store(1_736_000_000_001, Ordering::SeqCst);
        let log = c(
            r#"{"bridgeId":"anthropic","usage":{"promptTokens":7,"completionTokens":3,"totalTokens":11},"status":"error"}"#,
        );
        assert_eq!(usagebook_tracker_track_json(t, log.as_ptr()), USAGEBOOK_OK);
        now.store(1_736_000_000_002, Ordering::SeqCst);
        assert_eq!(
            usagebook_tracker_track(t, c("openai").as_ptr(), 1, 1, 2, -1, 1),
            USAGEBOOK_OK
        );
        let mut st = usagebook_stats::default();
        assert_eq!(
            usagebook_tracker_stats(t, c("").as_ptr(), &mut st),
            USAGEBOOK_OK
        );
        assert_eq!(
            (st.total_requests, st.total_tokens, st.error_count),
            (3, 28, 2),
            "maxLogs trims logs, not totals"
        );
        assert_eq!(st.last_used_at_ms, 1_736_000_000_002);
        assert!((st.average_tokens_per_request - 28.0 / 3.0).abs() < 1e-12);
        let mut s = ptr::null_mut();
        assert_eq!(
            usagebook_tracker_logs_json(t, c("openai").as_ptr(), &mut s),
            USAGEBOOK_OK
        );
        assert_eq!(
            take_string(s),
            r#"[{"id":"llm_log_3_1736000000002","timestamp":"2025-01-04T14:13:20.002Z","bridgeId":"openai","usage":{"promptTokens":1,"completionTokens":1,"totalTokens":2},"status":"error"}]"#
        );
        assert_eq!(usagebook_tracker_clear_logs(t, -1), USAGEBOOK_OK);
        assert_eq!(
            usagebook_tracker_stats(t, ptr::null(), &mut st),
            USAGEBOOK_OK
        );
        assert_eq!(st.total_requests, 0);
        assert_eq!(usagebook_tracker_close(t), USAGEBOOK_OK);
    }
}

#[test]
fn t12_in_memory_options_take_only_max_logs() {
    unsafe {
        let mut t = ptr::null_mut();
        for (opts, named) in [
            ("{\"persistLogs\":true}", "persistLogs"),
            ("{\"maxLogs\":0}", "maxLogs"),
            ("{\"maxLogs\":\"3\"}", "maxLogs"),
            ("[1]", "object"),
            ("{", "JSON"),
        ] {
            assert_eq!(
                usagebook_tracker_open_in_memory(c(opts).as_ptr(), &mut t),
                USAGEBOOK_INVALID_ARGUMENT,
                "{opts}"
            );
            assert!(last_error().contains(named), "{opts}: {}", last_error());
            assert!(t.is_null());
        }
        assert_eq!(
            usagebook_tracker_open_in_memory(
                c("{\"maxLogs\":5,\"flushIntervalMs\":null}").as_ptr(),
                &mut t
            ),
            USAGEBOOK_OK
        );
        assert_eq!(usagebook_tracker_close(t), USAGEBOOK_OK);
    }
}

#[test]
fn t9_t11_file_tracker_lock_close_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let base = c(dir.path().to_str().unwrap());
    unsafe {
        let (mut a, mut b) = (ptr::null_mut(), ptr::null_mut());
        assert_eq!(
            usagebook_tracker_open(base.as_ptr(), c("{\"flushEvery\":1}").as_ptr(), &mut a),
            USAGEBOOK_INVALID_ARGUMENT
        );
        assert!(last_error().contains("flushEvery"), "{}", last_error());
        assert_eq!(
            usagebook_tracker_open(base.as_ptr(), c("{\"persistLogs\":true}").as_ptr(), &mut a),
            USAGEBOOK_OK
        );
        assert_eq!(
            usagebook_tracker_open(base.as_ptr(), ptr::null(), &mut b),
            USAGEBOOK_LOCKED
        );
        assert!(last_error().contains("locked"), "{}", last_error());
        assert!(b.is_null());
        assert_eq!(
            usagebook_tracker_track(a, c("openai").as_ptr(), 10, 5, 15, 3, 0),
            USAGEBOOK_OK
        );
        assert_eq!(usagebook_tracker_flush(a), USAGEBOOK_OK);
        let mut h = ptr::null_mut();
        assert_eq!(usagebook_tracker_health_json(a, &mut h), USAGEBOOK_OK);
        let health: serde_json::Value = serde_json::from_str(&take_string(h)).unwrap();
        assert_eq!(health["kind"], "file");
        assert_eq!(usagebook_tracker_close(a), USAGEBOOK_OK);
        assert_eq!(
            usagebook_tracker_open(base.as_ptr(), c("{\"persistLogs\":true}").as_ptr(), &mut b),
            USAGEBOOK_OK
        );
        let mut st = usagebook_stats::default();
        assert_eq!(
            usagebook_tracker_stats(b, c("openai").as_ptr(), &mut st),
            USAGEBOOK_OK
        );
        assert_eq!((st.total_requests, st.total_tokens), (1, 15));
        assert_eq!(usagebook_tracker_close(b), USAGEBOOK_OK);
    }
}

#[test]
fn b1_status_strings_are_static_and_total() {
    for code in 0..=9u32 {
        let s = unsafe { CStr::from_ptr(usagebook_status_str(code)) }
            .to_str()
            .unwrap();
        assert!(s.starts_with("USAGEBOOK_"), "{code}: {s}");
    }
    let s = unsafe { CStr::from_ptr(usagebook_status_str(12345)) };
    assert_eq!(s.to_str().unwrap(), "unknown usagebook_status");
    assert_eq!(USAGEBOOK_PANIC as u32, 8, "status numbers are fixed");
    assert_eq!(USAGEBOOK_BUDGET_EXCEEDED as u32, 9);
}

#[test]
fn issue_9_track_json_keeps_the_parts_and_stats_sum_them() {
    unsafe {
        let mut t: *mut usagebook_tracker = ptr::null_mut();
        assert_eq!(
            usagebook_tracker_open_in_memory(ptr::null(), &mut t),
            USAGEBOOK_OK
        );
        for log in [
            // Anthropic: input_tokens excludes the cache reads and writes.
            r#"{"bridgeId":"anthropic","usage":{"input_tokens":200,"output_tokens":50,"cache_creation_input_tokens":5000,"cache_read_input_tokens":1000}}"#,
            r#"{"bridgeId":"openai","usage":{"prompt_tokens":1200,"completion_tokens":300,"total_tokens":1500,"prompt_tokens_details":{"cached_tokens":1000},"completion_tokens_details":{"reasoning_tokens":200}}}"#,
            r#"{"bridgeId":"openai","usage":{"promptTokens":10,"completionTokens":5,"totalTokens":15,"cacheWriteTokens":4}}"#,
        ] {
            assert_eq!(
                usagebook_tracker_track_json(t, c(log).as_ptr()),
                USAGEBOOK_OK,
                "{log}: {}",
                last_error()
            );
        }
        let bad = c(
            r#"{"bridgeId":"a","usage":{"promptTokens":1,"completionTokens":1,"totalTokens":2,"reasoningTokens":2}}"#,
        );
        assert_eq!(
            usagebook_tracker_track_json(t, bad.as_ptr()),
            USAGEBOOK_INVALID_ARGUMENT
        );
        assert!(last_error().contains("reasoningTokens"), "{}", last_error());
        let mut st = usagebook_stats::default();
        assert_eq!(
            usagebook_tracker_stats(t, ptr::null(), &mut st),
            USAGEBOOK_OK
        );
        assert_eq!(
            (st.total_requests, st.prompt_tokens, st.total_tokens),
            (3, 7410, 7765)
        );
        assert_eq!(
            (
                st.cache_read_tokens,
                st.cache_write_tokens,
                st.reasoning_tokens
            ),
            (2000, 5004, 200)
        );
        let mut s = ptr::null_mut();
        assert_eq!(
            usagebook_tracker_logs_json(t, c("anthropic").as_ptr(), &mut s),
            USAGEBOOK_OK
        );
        assert!(take_string(s).contains(
            r#""usage":{"promptTokens":6200,"completionTokens":50,"totalTokens":6250,"cacheReadTokens":1000,"cacheWriteTokens":5000}"#
        ));
        assert_eq!(std::mem::size_of::<usagebook_stats>(), 10 * 8);
        assert_eq!(usagebook_tracker_close(t), USAGEBOOK_OK);
    }
}
