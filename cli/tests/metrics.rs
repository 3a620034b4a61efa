//! `usagebook metrics` (O1): the exposition of a ledger database and of a
//! tracker directory, a golden file, promtool, and `--listen` scraped by a
//! real HTTP client while another ledger keeps writing.

use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use usagebook_core::ledger::money::usd_to_nano;
use usagebook_core::ledger::{EventType, Ledger, LedgerEvent, LedgerOptions};

const T0_MS: i64 = 1_772_366_400_000; // 2026-03-01T12:00:00Z

fn usagebook(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_usagebook"))
        .args(args)
        .output()
        .expect("running usagebook")
}

fn commit(l: &Ledger, trace: &str, model: &str, cost: f64, input: u64, output: u64) {
    let mut e = LedgerEvent::new(
        EventType::Commit,
        trace,
        "openai",
        model,
        T0_MS as f64 / 1000.0,
    );
    e.cost_actual_nusd = Some(usd_to_nano(cost, "test").unwrap());
    e.usage = json!({"input": input, "output": output})
        .as_object()
        .unwrap()
        .clone();
    l.write_event(e, true).unwrap();
}

fn promtool_check(text: &str) {
    use std::io::Write;
    let Ok(mut child) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        assert!(
            std::env::var_os("USAGEBOOK_REQUIRE_TOOLS").is_none(),
            "promtool is required here (apt-get install prometheus)"
        );
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "promtool: {out:?}\n{text}");
}

fn value(text: &str, series: &str) -> f64 {
    let v: Vec<f64> = text
        .lines()
        .filter_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(v.len(), 1, "{series}:\n{text}");
    v[0]
}

#[test]
fn o1_metrics_db_golden_and_promtool() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    let l = Ledger::open(&db, LedgerOptions::default()).unwrap();
    commit(&l, "a", "gpt-4o", 0.02, 1000, 100);
    commit(&l, "b", "gpt-4o", 0.03, 2000, 300);
    commit(&l, "c", "gpt-4o-mini", 0.001, 50, 5);
    l.close().unwrap();
    let db_s = db.to_str().unwrap();
    let now = T0_MS.to_string();
    let args = [
        "metrics",
        "--db",
        db_s,
        "--now-ms",
        &now,
        "--daily-budget-usd",
        "1",
    ];
    let o = usagebook(&args);
    assert!(o.status.success(), "{o:?}");
    let text = String::from_utf8(o.stdout).unwrap();
    promtool_check(&text);
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/metrics-db.prom");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    assert_eq!(text, std::fs::read_to_string(&path).unwrap());
    assert_eq!(
        value(
            &text,
            "usagebook_ledger_budget_remaining_usd{scope=\"all\"}"
        ),
        0.949
    );
    // No writer in this process: no writer gauges.
    assert!(!text.contains("usagebook_ledger_writer_"));
    // --top 1 folds gpt-4o-mini into _other.
    let o = usagebook(&["metrics", "--db", db_s, "--now-ms", &now, "--top", "1"]);
    let text = String::from_utf8(o.stdout).unwrap();
    promtool_check(&text);
    assert_eq!(
        value(
            &text,
            "usagebook_ledger_requests_total{provider=\"_other\",model=\"_other\"}"
        ),
        1.0
    );
    // A missing database is an error, not an empty exposition.
    let o = usagebook(&[
        "metrics",
        "--db",
        dir.path().join("nope.db").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no ledger database"),
        "{o:?}"
    );
}

#[test]
fn o1_metrics_dir_matches_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    assert!(usagebook(&["demo", "--dir", d, "--events", "200"])
        .status
        .success());
    let o = usagebook(&["metrics", "--dir", d]);
    assert!(o.status.success(), "{o:?}");
    let text = String::from_utf8(o.stdout).unwrap();
    promtool_check(&text);
    let report = usagebook_core::report::read(d).unwrap();
    assert!(report.per_bridge.len() >= 2);
    for (bridge, s) in &report.per_bridge {
        let b = format!("bridge=\"{bridge}\"");
        assert_eq!(
            value(&text, &format!("usagebook_tracker_requests_total{{{b}}}")),
            s.total_requests as f64
        );
        assert_eq!(
            value(&text, &format!("usagebook_tracker_errors_total{{{b}}}")),
            s.error_count as f64
        );
        assert_eq!(
            value(
                &text,
                &format!("usagebook_tracker_tokens_total{{{b},type=\"output\"}}")
            ),
            s.completion_tokens as f64
        );
    }
    let o = usagebook(&[
        "metrics",
        "--dir",
        dir.path().join("none").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
}

struct Kill(std::process::Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn o1_listen_serves_metrics_to_a_real_client_with_live_totals() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    let l = Ledger::open(&db, LedgerOptions::default()).unwrap();
    commit(&l, "a", "gpt-4o", 0.02, 1000, 100);
    let mut child = Kill(
        Command::new(env!("CARGO_BIN_EXE_usagebook"))
            .args([
                "metrics",
                "--db",
                db.to_str().unwrap(),
                "--listen",
                "127.0.0.1:0",
            ])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("usagebook: serving ")
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_string();
    let scrape = || {
        let mut r = ureq::get(&url).call().unwrap();
        let ct = r
            .headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(ct, "text/plain; version=0.0.4; charset=utf-8");
        r.body_mut().read_to_string().unwrap()
    };
    let first = scrape();
    promtool_check(&first);
    let gpt = "usagebook_ledger_requests_total{provider=\"openai\",model=\"gpt-4o\"}";
    assert_eq!(value(&first, gpt), 1.0);
    // This process keeps writing; the next scrape sees it.
    commit(&l, "b", "gpt-4o", 0.03, 2000, 300);
    let second = scrape();
    assert_eq!(value(&second, gpt), 2.0);
    assert_eq!(
        value(
            &second,
            "usagebook_ledger_spend_usd_total{provider=\"openai\",model=\"gpt-4o\"}"
        ),
        0.05
    );
    let other = url.replace("/metrics", "/other");
    match ureq::get(&other).call() {
        Err(ureq::Error::StatusCode(404)) => {}
        r => panic!("{other}: {r:?}"),
    }
    l.close().unwrap();
}
