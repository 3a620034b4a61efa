//! Runs the built `usagebook` binary on real temp directories.

use std::path::Path;
use std::process::{Command, Output};
use usagebook_core::{FileBackedTracker, NewUsageLog, TrackerOptions, Usage, UsageTracker};

fn usagebook(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_usagebook"))
        .args(args)
        .output()
        .expect("running usagebook")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn demo(dir: &Path, events: &str) -> String {
    let o = usagebook(&["demo", "--dir", dir.to_str().unwrap(), "--events", events]);
    assert!(
        o.status.success(),
        "demo failed: {}{}",
        stdout(&o),
        stderr(&o)
    );
    stdout(&o)
}

fn report(dir: &Path, json: bool) -> Output {
    let mut args = vec!["report", "--dir", dir.to_str().unwrap()];
    if json {
        args.push("--json");
    }
    usagebook(&args)
}

fn report_json(dir: &Path) -> serde_json::Value {
    let o = report(dir, true);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).expect("report --json prints JSON")
}

/// The table part of an output: from the header line on.
fn table(out: &str) -> Vec<&str> {
    let lines: Vec<&str> = out.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("bridge "))
        .unwrap_or_else(|| panic!("no table in:\n{out}"));
    // Up to the TOTAL row; the notes below it are not the table.
    let end = lines[start..]
        .iter()
        .position(|l| l.starts_with("TOTAL"))
        .map_or(lines.len(), |i| start + i + 1);
    lines[start..end].to_vec()
}

/// Start column of each whitespace-separated field, right edge of each
/// right-aligned one: what "lined up" means for this table.
fn field_edges(line: &str) -> Vec<(usize, usize)> {
    let mut edges = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices().chain([(line.len(), ' ')]) {
        match (c == ' ', start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                edges.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    edges
}

#[test]
fn t4_t9_demo_then_report_prints_an_aligned_table_within_80_columns() {
    let dir = tempfile::tempdir().unwrap();
    let out = demo(dir.path(), "600");
    assert!(out.contains("phase 1: 360 events"), "{out}");
    assert!(out.contains("totals after reopen match: yes"), "{out}");
    assert!(
        out.contains("totals on disk match what was tracked: yes"),
        "{out}"
    );
    // U6: the demo's ledger part spends against a strict budget until a
    // reservation is refused.
    assert!(out.contains("budget: strict daily budget $0.2500"), "{out}");
    assert!(out.contains(": refused: spent $"), "{out}");

    let o = report(dir.path(), false);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    // The demo ends with exactly the table `report` prints.
    assert!(out.ends_with(&text), "demo:\n{out}\nreport:\n{text}");

    let lines = table(&text);
    // header, rule, 3 bridges, rule, totals
    assert_eq!(lines.len(), 7, "{text}");
    for bridge in [
        "openai/gpt-4o",
        "anthropic/claude-sonnet-4-5",
        "ollama/llama3.1",
    ] {
        assert_eq!(
            lines.iter().filter(|l| l.starts_with(bridge)).count(),
            1,
            "one row for {bridge}:\n{text}"
        );
    }
    assert!(lines[6].starts_with("TOTAL"), "{text}");
    assert_lined_up(&lines);
}

/// Every line within 80 columns, and the columns line up: every row has
/// its fields where the rule's dashes are (text starts there, numbers end
/// there). The last column may be a "YYYY-MM-DD HH:MM" time.
fn assert_lined_up(lines: &[&str]) {
    for l in lines {
        assert!(l.chars().count() <= 80, "wider than 80 columns: {l:?}");
    }
    let rule = field_edges(lines[1]);
    let n = rule.len();
    let last_used = lines[0].contains("last used");
    for l in lines[2..].iter().filter(|l| !l.starts_with('-')) {
        let f = field_edges(l);
        let expected = if last_used && !l.ends_with(" -") {
            n + 1
        } else {
            n
        };
        assert_eq!(f.len(), expected, "{l:?}");
        assert_eq!(f[0].0, rule[0].0, "{l:?}");
        let numeric = if last_used { n - 1 } else { n };
        for c in 1..numeric {
            assert_eq!(f[c].1, rule[c].1, "column {c} of {l:?}");
        }
        if last_used {
            assert_eq!(f[n - 1].0, rule[n - 1].0, "{l:?}");
        }
    }
    let header = field_edges(lines[0]);
    assert_eq!(header[0].0, rule[0].0);
}

#[test]
fn t4_report_json_equals_the_totals_the_demo_printed() {
    let dir = tempfile::tempdir().unwrap();
    let out = demo(dir.path(), "300");
    let v = report_json(dir.path());
    let total = &v["total"];
    assert_eq!(total["requests"], 300);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let sum = |k: &str| rows.iter().map(|s| s[k].as_u64().unwrap()).sum::<u64>();
    for k in [
        "requests",
        "errors",
        "input_tokens",
        "output_tokens",
        "total_tokens",
    ] {
        assert_eq!(sum(k), total[k].as_u64().unwrap(), "{k}");
    }
    // The TOTAL row the demo printed shows the same numbers (requests and
    // errors exactly; tokens abbreviated to fit the cost column).
    let row = table(&out)
        .into_iter()
        .find(|l| l.starts_with("TOTAL"))
        .unwrap()
        .to_string();
    let fields: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(fields[1], total["requests"].to_string());
    assert_eq!(fields[2], total["errors"].to_string());
    assert!(total["last_used_at"].as_str().unwrap().ends_with('Z'));
    // U6: every bridge is `provider/model`, priced with the bundled prices
    // (ollama models are listed at $0), shown in the table's last column.
    assert_eq!(total["unpriced_requests"], 0);
    let cost = total["cost_usd"].as_f64().unwrap();
    assert!(cost > 0.1, "{total}");
    assert_eq!(
        fields.last().unwrap().parse::<f64>().unwrap(),
        (cost * 100.0).round() / 100.0
    );

    // A second demo adds to the data and says so.
    let out = demo(dir.path(), "100");
    assert!(out.contains("already has 300 requests"), "{out}");
    assert_eq!(report_json(dir.path())["total"]["requests"], 400);
}

#[test]
fn report_on_a_missing_directory_is_a_clear_empty_report() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("not-there");
    let o = report(&missing, false);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("no usage data") && text.contains("does not exist"),
        "{text}"
    );

    let v = report_json(&missing);
    assert_eq!(v["rows"], serde_json::json!([]));
    assert_eq!(v["exists"], false);
    assert_eq!(v["total"]["requests"], 0);
    assert_eq!(v["total"]["last_used_at"], serde_json::Value::Null);
    assert!(!missing.exists(), "report must not create the directory");
}

#[test]
fn report_on_an_empty_tracker_directory_says_nothing_was_recorded() {
    let dir = tempfile::tempdir().unwrap();
    FileBackedTracker::open(dir.path(), TrackerOptions::default())
        .unwrap()
        .close()
        .unwrap();
    let o = report(dir.path(), false);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("no usage recorded"), "{}", stdout(&o));
}

#[test]
fn t11_report_works_while_a_tracker_holds_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let t = FileBackedTracker::open(
        dir.path(),
        TrackerOptions {
            persist_logs: true,
            ..TrackerOptions::default()
        },
    )
    .unwrap();
    for i in 0..5u64 {
        t.track(&NewUsageLog::new(
            "held/bridge",
            Usage::new(10 + i, 5, 15 + i),
        ))
        .unwrap();
    }
    t.flush().unwrap();
    // The lock really is held: a demo on the same directory is refused.
    let o = usagebook(&[
        "demo",
        "--dir",
        dir.path().to_str().unwrap(),
        "--events",
        "5",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.starts_with("usagebook: ") && err.contains("locked"),
        "{err}"
    );

    let v = report_json(dir.path());
    assert_eq!(v["rows"][0]["key"], "held/bridge");
    assert_eq!(v["rows"][0]["requests"], 5);
    assert_eq!(v["total"]["input_tokens"], 60);
    assert_eq!(v["total"]["total_tokens"], 85);
    let o = report(dir.path(), false);
    assert!(o.status.success());
    assert!(stdout(&o).contains("held/bridge"), "{}", stdout(&o));
    // And the tracker still works after being read.
    assert_eq!(t.stats(None).unwrap().total_requests, 5);
    t.close().unwrap();
}

#[test]
fn bad_arguments_get_clap_errors() {
    let o = usagebook(&["report"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--dir"), "{}", stderr(&o));
    let o = usagebook(&["demo", "--dir", "/tmp/x", "--events", "many"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--events"), "{}", stderr(&o));
    let o = usagebook(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn runtime_errors_print_one_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    // A snapshot from a newer usagebook is refused, not guessed at.
    let root = dir.path().join("llm-usage");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("usage-stats.json"),
        r#"{"formatVersion":99,"perBridge":{},"rollups":{}}"#,
    )
    .unwrap();
    let o = report(dir.path(), false);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.starts_with("usagebook: ") && err.contains("format version 99"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}
