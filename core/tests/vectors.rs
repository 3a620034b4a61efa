//! Runs every `tests/vectors/*.json` scenario against the core (B4).
//! The same files run through the C ABI (tests/c) and later the bindings.

use serde_json::Value;
use std::sync::Arc;
use usagebook_core::{
    Error, InMemoryTracker, ManualClock, NewUsageLogOwned, NoOpTracker, UsageTracker,
};

fn vectors_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")
}

fn error_kind(e: &Error) -> &'static str {
    match e {
        Error::InvalidArgument(_) => "invalid_argument",
        Error::Locked(_) => "locked",
        Error::Closed => "closed",
        Error::Io { .. } => "io",
        Error::UnsupportedFormat { .. } => "unsupported_format",
        Error::BudgetExceeded(_) => "budget_exceeded",
        Error::RateLimited(_) => "rate_limited",
    }
}

fn assert_stats_eq(got: &Value, want: &Value, ctx: &str) {
    let (g, w) = (got.as_object().unwrap(), want.as_object().unwrap());
    let mut gk: Vec<_> = g.keys().collect();
    let mut wk: Vec<_> = w.keys().collect();
    gk.sort();
    wk.sort();
    assert_eq!(gk, wk, "{ctx}: stats keys");
    for (k, wv) in w {
        let gv = &g[k];
        if k == "averageTokensPerRequest" {
            let (a, b) = (gv.as_f64().unwrap(), wv.as_f64().unwrap());
            assert!((a - b).abs() < 1e-9, "{ctx}: {k} {a} != {b}");
        } else {
            assert_eq!(gv, wv, "{ctx}: {k}");
        }
    }
}

fn run(path: &std::path::Path) {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let clock = ManualClock::new(0);
    let max_logs = v["options"]["maxLogs"].as_u64().unwrap_or(10_000) as usize;
    let tracker: Box<dyn UsageTracker> = match v["tracker"].as_str().unwrap_or("memory") {
        "memory" => {
            Box::new(InMemoryTracker::with_clock(max_logs, Arc::new(clock.clone())).unwrap())
        }
        "noop" => Box::new(NoOpTracker::new()),
        other => panic!("{name}: unknown tracker {other}"),
    };
    for (i, step) in v["steps"].as_array().unwrap().iter().enumerate() {
        let ctx = format!("{name} step {i}");
        if let Some(at) = step["at"].as_i64() {
            clock.set(at);
        }
        let bridge = step["bridgeId"].as_str();
        match step["op"].as_str().unwrap() {
            "track" => {
                let res = NewUsageLogOwned::from_json_str(&step["log"].to_string())
                    .and_then(|l| tracker.track(&l.as_new()));
                match (step.get("error").and_then(Value::as_str), res) {
                    (None, Ok(())) => {}
                    (Some(kind), Err(e)) => assert_eq!(error_kind(&e), kind, "{ctx}: {e}"),
                    (want, got) => panic!("{ctx}: expected {want:?}, got {got:?}"),
                }
            }
            "clear" => tracker.clear_logs(step["olderThan"].as_i64()).unwrap(),
            "close" => tracker.close().unwrap(),
            "stats" | "logs" if step.get("error").is_some() => {
                let err = match step["op"].as_str() {
                    Some("stats") => tracker.stats(bridge).err(),
                    _ => tracker.logs(bridge).err(),
                };
                let err = err.unwrap_or_else(|| panic!("{ctx}: expected an error"));
                assert_eq!(error_kind(&err), step["error"], "{ctx}: {err}");
            }
            "stats" => {
                let got = tracker.stats(bridge).unwrap().to_json();
                assert_stats_eq(&got, &step["expect"], &ctx);
            }
            "logs" => {
                let got: Vec<Value> = tracker
                    .logs(bridge)
                    .unwrap()
                    .iter()
                    .map(|l| l.to_json())
                    .collect();
                assert_eq!(Value::Array(got), step["expect"], "{ctx}");
            }
            other => panic!("{ctx}: unknown op {other}"),
        }
    }
}

#[test]
fn b4_every_vector_passes_against_the_core() {
    let mut files: Vec<_> = std::fs::read_dir(vectors_dir())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "vectors missing: {files:?}");
    for f in &files {
        run(f);
    }
}
