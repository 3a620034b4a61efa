//! `usagebook import`, `export` and the report's error cases, run as the
//! built binary on real files.

use std::path::Path;
use std::process::{Command, Output};

fn usagebook(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_usagebook"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("running usagebook")
}

fn ok(args: &[&str]) -> (String, String) {
    let o = usagebook(args);
    let (out, err) = (
        String::from_utf8(o.stdout).unwrap(),
        String::from_utf8(o.stderr).unwrap(),
    );
    assert!(o.status.success(), "usagebook {args:?}: {err}");
    (out, err)
}

fn fails(args: &[&str], code: i32) -> String {
    let o = usagebook(args);
    assert_eq!(o.status.code(), Some(code), "usagebook {args:?}");
    String::from_utf8(o.stderr).unwrap()
}

fn fixture(name: &str) -> String {
    format!("../core/tests/fixtures/{name}")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn import_prints_added_and_skipped_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("usage-events.jsonl");
    let t7 = fixture("tracker-usage-logs.jsonl");
    let args = ["import", "--from", "tracker-log", &t7, "--into", s(&log)];
    let (out, _) = ok(&args);
    assert!(
        out.ends_with(": added 5, skipped 0; skipped 1 malformed line\n"),
        "{out}"
    );
    let (out, _) = ok(&args);
    assert!(
        out.ends_with(": added 0, skipped 5; skipped 1 malformed line\n"),
        "{out}"
    );
    let cp = fixture("cliproxy-export-v1.json");
    let (out, _) = ok(&["import", "--from", "cliproxy", &cp, "--into", s(&log)]);
    assert!(out.contains("added 4, skipped 1"), "{out}");
    let yoi = fixture("yoi-events.jsonl");
    let (out, _) = ok(&["import", "--from", "events", &yoi, "--into", s(&log)]);
    assert!(out.contains("added 7, skipped 1"), "{out}");

    // The report reads it back.
    let (out, _) = ok(&["report", "--log", s(&log), "--by", "month"]);
    let row = |key: &str| -> Vec<String> {
        let l = out.lines().find(|l| l.starts_with(key)).unwrap();
        l.split_whitespace().map(String::from).collect()
    };
    assert_eq!(row("2025-01")[1], "5", "{out}");
    assert_eq!(row("2025-03")[1], "4", "{out}");
    assert_eq!(row("TOTAL")[1], "9", "{out}");
    assert!(out.contains("7 non-request event(s)"), "{out}");
    let (out, _) = ok(&["report", "--log", s(&log), "--by", "subject"]);
    assert!(out.contains("knowledge  policy"), "{out}");
}

#[test]
fn every_format_exports_and_imports_back() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.jsonl");
    let cp = fixture("cliproxy-export-v1.json");
    ok(&["import", "--from", "cliproxy", &cp, "--into", s(&log)]);
    for (export, import) in [
        ("jsonl", "events"),
        ("tracker-log", "tracker-log"),
        ("cliproxy", "cliproxy"),
    ] {
        let file = dir.path().join(format!("out.{export}"));
        let (_, err) = ok(&[
            "export",
            "--log",
            s(&log),
            "--format",
            export,
            "--out",
            s(&file),
        ]);
        assert!(err.contains("exported 4 event(s)"), "{err}");
        let fresh = dir.path().join(format!("fresh-{export}.jsonl"));
        let (out, _) = ok(&["import", "--from", import, s(&file), "--into", s(&fresh)]);
        assert!(out.contains("added 4, skipped 0"), "{export}: {out}");
    }
    // The cliproxy export of the first log, imported into it: nothing new.
    let file = dir.path().join("out.cliproxy");
    let (out, _) = ok(&["import", "--from", "cliproxy", s(&file), "--into", s(&log)]);
    assert!(out.contains("added 0, skipped 4"), "{out}");
    // CSV to stdout: a header and one row an event.
    let (out, _) = ok(&["export", "--log", s(&log), "--format", "csv"]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("id,occurred_at,event,bridge,provider,model,"));
    assert_eq!(lines.len(), 5);
}

#[test]
fn wrong_format_names_are_errors_listing_the_formats() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.jsonl");
    let t7 = fixture("tracker-usage-logs.jsonl");
    let err = fails(&["import", "--from", "excel", &t7, "--into", s(&log)], 1);
    for f in ["events", "tracker-log", "cliproxy"] {
        assert!(err.contains(f), "{err}");
    }
    assert!(!log.exists(), "nothing written");
    let err = fails(&["export", "--log", &t7, "--format", "xml"], 1);
    assert!(err.contains("jsonl") && err.contains("csv"), "{err}");
    let err = fails(&["report", "--log", &t7, "--format", "xml"], 1);
    assert!(err.contains("table, json, csv"), "{err}");
    let err = fails(&["report", "--log", &t7, "--by", "week"], 1);
    assert!(err.contains("day, month, bridge, model, provider"), "{err}");
    let err = fails(&["report", "--log", &t7, "--tz", "Mars/Olympus"], 1);
    assert!(err.contains("unknown time zone"), "{err}");
    let err = fails(&["report", "--log", &t7, "--since", "yesterday"], 1);
    assert!(err.contains("YYYY-MM-DD"), "{err}");
    let v2 = fixture("cliproxy-export-v2.json");
    let err = fails(&["import", "--from", "cliproxy", &v2, "--into", s(&log)], 1);
    assert!(
        err.contains("unsupported CLIProxyAPI export version 2"),
        "{err}"
    );
    let err = fails(&["report", "--dir", s(dir.path()), "--by", "subject"], 1);
    assert!(err.contains("--log"), "{err}");
}

#[test]
fn ledger_databases_are_reported_and_missing_stores_are_empty_reports() {
    use usagebook_core::ledger::{EventType, Ledger, LedgerEvent, LedgerOptions};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    let l = Ledger::open(&db, LedgerOptions::default()).unwrap();
    for (trace, model, cost) in [("t1", "gpt-4o", 2_500_000), ("t2", "o3", 7_500_000)] {
        let mut e = LedgerEvent::new(EventType::Commit, trace, "openai", model, 1_736_000_000.0);
        e.usage.insert("tokens_in".into(), 1000.into());
        e.usage.insert("tokens_out".into(), 200.into());
        e.cost_actual_nusd = Some(cost);
        l.write_event(e, false).unwrap();
    }
    l.close().unwrap();
    let (out, _) = ok(&["report", "--db", s(&db), "--by", "provider"]);
    let total: Vec<&str> = out
        .lines()
        .find(|l| l.starts_with("TOTAL"))
        .unwrap()
        .split_whitespace()
        .collect();
    // TOTAL reqs errs input output total cost last-used
    assert_eq!(
        total[..7],
        ["TOTAL", "2", "0", "2000", "400", "2400", "0.0100"],
        "{out}"
    );
    let (out, _) = ok(&["report", "--db", s(&db), "--by", "day", "--format", "csv"]);
    assert!(
        out.contains("\n2025-01-04,2,0,2000,400,0,0,0,2400,0.01,0,"),
        "{out}"
    );
    let err = fails(&["export", "--db", s(&db), "--format", "jsonl"], 1);
    assert!(err.contains("report --db"), "{err}");
    let (out, _) = ok(&["report", "--db", s(&dir.path().join("none.db"))]);
    assert!(out.starts_with("no usage data:"), "{out}");

    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.jsonl");
    let (out, _) = ok(&["report", "--log", s(&missing), "--by", "day"]);
    assert!(
        out.starts_with("no usage data:") && out.contains("does not exist"),
        "{out}"
    );
    let (out, _) = ok(&["report", "--log", s(&missing), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["exists"], false);
    assert_eq!(v["total"]["requests"], 0);
    assert!(!missing.exists(), "a report creates nothing");
    // Store arguments: exactly one.
    let err = fails(&["report", "--by", "day"], 2);
    assert!(err.contains("--dir"), "{err}");
    let err = fails(&["report", "--log", "a", "--dir", "b"], 2);
    assert!(err.contains("cannot be used with"), "{err}");
}

#[test]
fn demo_csv_by_day_opens_cleanly_in_a_spreadsheet() {
    let dir = tempfile::tempdir().unwrap();
    ok(&["demo", "--dir", s(dir.path()), "--events", "200"]);
    let (out, err) = ok(&[
        "report",
        "--dir",
        s(dir.path()),
        "--by",
        "day",
        "--format",
        "csv",
    ]);
    // Notes go to stderr, never into the CSV: only the one on where the
    // computed costs come from.
    assert!(
        err.lines()
            .all(|l| l.contains("computed from the bundled LiteLLM")),
        "{err}"
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "day,requests,errors,input_tokens,output_tokens,reasoning_tokens,cache_read_tokens,cache_write_tokens,total_tokens,cost_usd,unpriced_requests,last_used"
    );
    assert!(lines.len() >= 3);
    for l in &lines {
        assert_eq!(l.split(',').count(), 12, "{l}");
        assert!(!l.contains('"'), "plain fields only: {l}");
    }
    let total: Vec<&str> = lines.last().unwrap().split(',').collect();
    assert_eq!(total[0], "TOTAL");
    assert_eq!(total[1], "200");
    // Every data row's day is a date a spreadsheet reads.
    for l in &lines[1..lines.len() - 1] {
        let day = l.split(',').next().unwrap();
        assert!(
            day.len() == 10 && day.as_bytes()[4] == b'-' && day.as_bytes()[7] == b'-',
            "{day}"
        );
    }
}

#[test]
fn e7_an_import_of_nothing_but_malformed_lines_fails_for_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("usage-events.jsonl");
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "garbage\n\n{\"truncated\": \n").unwrap();
    for format in ["events", "tracker-log", "claude-code"] {
        let err = fails(&["import", "--from", format, s(&bad), "--into", s(&log)], 1);
        assert!(
            err.starts_with("usagebook: ")
                && err.contains("nothing imported: all 2 of its non-blank lines are malformed")
                && err.contains(&format!("--from {format}")),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    let cp = dir.path().join("cp.json");
    std::fs::write(
        &cp,
        r#"{"version":1,"usage":{"apis":{"a":{"models":{"m":{"details":["x"]}}}}}}"#,
    )
    .unwrap();
    let err = fails(
        &["import", "--from", "cliproxy", s(&cp), "--into", s(&log)],
        1,
    );
    assert!(err.contains("request details are malformed"), "{err}");
    assert!(!log.exists(), "nothing written");
    // A directory without session logs is refused too, saying where they are.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let err = fails(
        &[
            "import",
            "--from",
            "claude-code",
            s(&empty),
            "--into",
            s(&log),
        ],
        1,
    );
    assert!(err.contains("no *.jsonl files"), "{err}");
    let err = fails(
        &[
            "import",
            "--from",
            "claude-code",
            s(&dir.path().join("none")),
            "--into",
            s(&log),
        ],
        1,
    );
    assert!(err.contains("none"), "{err}");
}

#[test]
fn u5_report_prices_takes_a_price_file_over_the_bundled_one() {
    let dir = tempfile::tempdir().unwrap();
    let prices = dir.path().join("prices.json");
    std::fs::write(
        &prices,
        r#"{"llama-3.1-8b": {"litellm_provider": "local", "input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}}"#,
    )
    .unwrap();
    let events = fixture("usagebook-events.jsonl");
    let (out, _) = ok(&[
        "report", "--log", &events, "--by", "model", "--format", "csv",
    ]);
    assert!(
        out.contains("\nllama-3.1-8b,1,0,600,250,0,0,0,850,,1,"),
        "{out}"
    );
    let (out, _) = ok(&[
        "report",
        "--log",
        &events,
        "--by",
        "model",
        "--format",
        "json",
        "--prices",
        s(&prices),
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let llama = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "llama-3.1-8b")
        .unwrap();
    // 600 x 1 + 250 x 2 micro-USD.
    assert_eq!(llama["cost_usd"], 0.0011);
    assert_eq!(llama["unpriced_requests"], 0);
    let notes = v["notes"].to_string();
    assert!(
        notes.contains("prices.json over the bundled LiteLLM prices"),
        "{notes}"
    );
    let err = fails(
        &["report", "--dir", s(dir.path()), "--prices", s(&prices)],
        1,
    );
    assert!(err.contains("--prices") && err.contains("--log"), "{err}");
    let err = fails(
        &[
            "report",
            "--log",
            &events,
            "--prices",
            s(&dir.path().join("none.json")),
        ],
        1,
    );
    assert!(err.contains("none.json"), "{err}");
}
