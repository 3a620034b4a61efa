//! The `otlp` key of the options JSON over the C ABI (O2). Without the
//! cargo feature it is a clear error naming the feature; with it
//! (`cargo test -p usagebook-ffi --features otlp --test otlp`) a tracker's
//! calls reach a real OTLP/HTTP receiver when the tracker closes.

use std::ffi::{CStr, CString};
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

#[cfg(not(feature = "otlp"))]
#[test]
fn o2_otlp_option_without_the_feature_says_how_to_get_it() {
    let dir = tempfile::tempdir().unwrap();
    let base = c(dir.path().to_str().unwrap());
    let opts = c(r#"{"otlp": {"endpoint": "http://127.0.0.1:9/v1/metrics"}}"#);
    unsafe {
        let mut t = ptr::null_mut();
        assert_eq!(
            usagebook_tracker_open(base.as_ptr(), opts.as_ptr(), &mut t),
            USAGEBOOK_INVALID_ARGUMENT
        );
        assert!(t.is_null());
        let e = last_error();
        assert!(e.contains("feature `otlp`"), "{e}");
        let db = c(dir.path().join("l.db").to_str().unwrap());
        let mut l = ptr::null_mut();
        assert_eq!(
            usagebook_ledger_open(db.as_ptr(), opts.as_ptr(), &mut l),
            USAGEBOOK_INVALID_ARGUMENT
        );
        assert!(last_error().contains("feature `otlp`"), "{}", last_error());
        // A wrong key inside is named, feature or not.
        let bad = c(r#"{"otlp": {"intervalMS": 5}}"#);
        assert_eq!(
            usagebook_tracker_open(base.as_ptr(), bad.as_ptr(), &mut t),
            USAGEBOOK_INVALID_ARGUMENT
        );
        assert!(last_error().contains("otlp.intervalMS"), "{}", last_error());
    }
}

#[cfg(feature = "otlp")]
#[test]
fn o2_c_tracker_exports_its_calls_at_close() {
    let server = std::sync::Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
    let port = server.server_addr().to_ip().unwrap().port();
    let s = server.clone();
    let receiver = std::thread::spawn(move || {
        let mut req = s.recv().unwrap();
        let mut body = String::new();
        req.as_reader().read_to_string(&mut body).unwrap();
        let _ = req.respond(tiny_http::Response::from_string("{}"));
        body
    });
    let dir = tempfile::tempdir().unwrap();
    let base = c(dir.path().to_str().unwrap());
    let opts = c(&format!(
        r#"{{"otlp": {{"endpoint": "http://127.0.0.1:{port}/v1/metrics", "intervalMs": 3600000}}}}"#
    ));
    unsafe {
        let mut t = ptr::null_mut();
        assert_eq!(
            usagebook_tracker_open(base.as_ptr(), opts.as_ptr(), &mut t),
            USAGEBOOK_OK,
            "{}",
            last_error()
        );
        let bridge = c("openai/gpt-4o");
        for _ in 0..2 {
            assert_eq!(
                usagebook_tracker_track(t, bridge.as_ptr(), 40, 2, 42, 0, 0),
                USAGEBOOK_OK
            );
        }
        assert_eq!(usagebook_tracker_close(t), USAGEBOOK_OK);
    }
    let body: serde_json::Value = serde_json::from_str(&receiver.join().unwrap()).unwrap();
    let metrics = &body["resourceMetrics"][0]["scopeMetrics"][0]["metrics"];
    let hist = metrics
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "gen_ai.client.token.usage")
        .expect("the token histogram");
    let input =
        hist["histogram"]["dataPoints"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| {
                p["attributes"].as_array().unwrap().iter().any(|kv| {
                    kv["key"] == "gen_ai.token.type" && kv["value"]["stringValue"] == "input"
                })
            })
            .unwrap();
    assert_eq!(input["count"], "2");
    assert_eq!(input["sum"], 80.0);
}
