//! `usagebook_cost_json` over the shared cost vectors (tests/vectors/cost,
//! U4): the same cases Python's `usagebook.cost` and Node's `cost()` run.

use serde_json::Value;
use std::ffi::{c_char, CStr, CString};
use std::ptr;
use usagebook::*;
use usagebook_status::*;

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

fn last_error() -> String {
    unsafe { CStr::from_ptr(usagebook_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

fn cost(
    model: Option<&str>,
    usage: &str,
    provider: Option<&str>,
) -> (usagebook_status, Option<Value>) {
    let model = model.map(c);
    let provider = provider.map(c);
    let usage = c(usage);
    let mut out: *mut c_char = ptr::null_mut();
    let s = unsafe {
        usagebook_cost_json(
            model.as_ref().map_or(ptr::null(), |m| m.as_ptr()),
            usage.as_ptr(),
            provider.as_ref().map_or(ptr::null(), |p| p.as_ptr()),
            ptr::null(),
            &mut out,
        )
    };
    if s != USAGEBOOK_OK {
        assert!(out.is_null(), "no output on failure");
        return (s, None);
    }
    let text = unsafe { CStr::from_ptr(out) }.to_str().unwrap().to_owned();
    unsafe { usagebook_string_free(out) };
    (s, Some(serde_json::from_str(&text).unwrap()))
}

#[test]
fn u4_shared_cost_vectors() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/cost");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let cases: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for case in cases {
            n += 1;
            let name = case["name"].as_str().unwrap();
            let (s, out) = cost(
                case["model"].as_str(),
                &case["usage"].to_string(),
                case["provider"].as_str(),
            );
            let expect = &case["expect"];
            if let Some(kind) = expect["error"].as_str() {
                assert_eq!(kind, "invalid_argument", "{name}");
                assert_eq!(s, USAGEBOOK_INVALID_ARGUMENT, "{name}");
                continue;
            }
            assert_eq!(s, USAGEBOOK_OK, "{name}: {}", last_error());
            let out = out.unwrap();
            assert_eq!(out["priced"], expect["priced"], "{name}");
            let (got, want) = (
                out["usd"].as_f64().unwrap(),
                expect["usd"].as_f64().unwrap(),
            );
            assert!(
                (got - want).abs() <= 1e-9 * want.abs() + 1e-15,
                "{name}: {got} vs {want}"
            );
            if !expect["model"].is_null() || expect.get("model").is_some() {
                assert_eq!(out["model"], expect["model"], "{name}");
            }
        }
    }
    assert!(n >= 10, "{n} cases");
}

#[test]
fn cost_json_null_and_bad_arguments_are_named() {
    let mut out: *mut c_char = ptr::null_mut();
    let s = unsafe {
        usagebook_cost_json(ptr::null(), ptr::null(), ptr::null(), ptr::null(), &mut out)
    };
    assert_eq!(s, USAGEBOOK_NULL_ARGUMENT);
    assert!(last_error().contains("usage_json"), "{}", last_error());
    let u = c(r#"{"prompt_tokens": 1, "completion_tokens": 1}"#);
    let s = unsafe {
        usagebook_cost_json(
            c("gpt-4o").as_ptr(),
            u.as_ptr(),
            ptr::null(),
            ptr::null(),
            ptr::null_mut(),
        )
    };
    assert_eq!(s, USAGEBOOK_NULL_ARGUMENT);
    let (s, _) = cost(Some("gpt-4o"), "{not json", None);
    assert_eq!(s, USAGEBOOK_INVALID_ARGUMENT);
    assert!(last_error().contains("usage"), "{}", last_error());
    // Own prices overlaid on the bundled snapshot.
    let prices =
        c(r#"{"my-model": {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}}"#);
    let usage = c(r#"{"input": 1000, "output": 1000}"#);
    let s = unsafe {
        usagebook_cost_json(
            c("my-model").as_ptr(),
            usage.as_ptr(),
            ptr::null(),
            prices.as_ptr(),
            &mut out,
        )
    };
    assert_eq!(s, USAGEBOOK_OK, "{}", last_error());
    let v: Value = serde_json::from_str(unsafe { CStr::from_ptr(out) }.to_str().unwrap()).unwrap();
    unsafe { usagebook_string_free(out) };
    assert!((v["usd"].as_f64().unwrap() - 0.003).abs() < 1e-12, "{v}");
}
