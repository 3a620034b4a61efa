//! Golden outputs of `usagebook report` for every `--format` and grouping,
//! over the hand-written fixtures in core/tests/fixtures. Run with
//! `UPDATE_GOLDEN=1` to rewrite cli/tests/golden/ after an intended change
//! (and review the diff).

use std::path::Path;
use std::process::{Command, Output};

const EVENTS: &str = "../core/tests/fixtures/usagebook-events.jsonl";
const YOI: &str = "../core/tests/fixtures/yoi-events.jsonl";

fn usagebook(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_usagebook"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("running usagebook")
}

fn golden(name: &str, args: &[&str]) -> String {
    let o = usagebook(args);
    let stderr = String::from_utf8(o.stderr).unwrap();
    assert!(o.status.success(), "{args:?}: {stderr}");
    let out = String::from_utf8(o.stdout).unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &out).unwrap();
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    assert_eq!(
        out,
        want,
        "usagebook {} differs from {name}",
        args.join(" ")
    );
    if name.ends_with(".table") {
        check_table(&out);
    }
    if name.ends_with(".csv") {
        check_csv(&out);
        // Notes go to stderr so the CSV stays clean.
        assert!(!out.contains("skipped"), "{out}");
    }
    if name.ends_with(".json") {
        serde_json::from_str::<serde_json::Value>(&out).expect("valid JSON");
    }
    stderr
}

/// Within 80 columns, and every row's fields line up with the rule under
/// the header: text columns start where their dashes start, numbers end
/// where they end.
fn check_table(text: &str) {
    let lines: Vec<&str> = text.lines().collect();
    for l in &lines {
        assert!(l.chars().count() <= 80, "wider than 80 columns: {l:?}");
    }
    let rule_at = lines.iter().position(|l| l.starts_with("--")).unwrap();
    let rule = lines[rule_at];
    let header = lines[rule_at - 1];
    let spans: Vec<(usize, usize)> = {
        let mut v = Vec::new();
        let mut start = None;
        for (i, c) in rule.char_indices().chain([(rule.len(), ' ')]) {
            match (c == '-', start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    v.push((s, i));
                    start = None;
                }
                _ => {}
            }
        }
        v
    };
    // The totals row ends the table; without one, the notes after it are
    // the first lines with no two-space gap.
    let end_of_table = lines.iter().position(|l| l.starts_with("TOTAL")).unwrap_or(
        rule_at
            + lines[rule_at + 1..]
                .iter()
                .take_while(|l| l.contains("  "))
                .count(),
    );
    let rows: Vec<&str> = lines[rule_at + 1..=end_of_table]
        .iter()
        .copied()
        .filter(|l| !l.starts_with("--"))
        .collect();
    for (c, &(s, e)) in spans.iter().enumerate() {
        let cells: Vec<&str> = rows
            .iter()
            .chain([&header])
            .map(|l| l.get(s..e.min(l.len())).unwrap_or(""))
            .collect();
        // A column is aligned when all its cells start at its dashes
        // (text) or all end there (numbers).
        let all_left = cells.iter().all(|c| !c.starts_with(' '));
        let all_right = cells.iter().all(|c| c.len() == e - s && !c.ends_with(' '));
        assert!(
            all_left || all_right,
            "column {c} is not aligned: {cells:?}"
        );
        for l in rows.iter().chain([&header]) {
            // Nothing between columns but spaces.
            if c + 1 < spans.len() {
                let gap = l.get(e..spans[c + 1].0).unwrap_or("");
                assert!(gap.trim().is_empty(), "{l:?}: {gap:?} between columns");
            }
        }
    }
}

/// Every row has the header's number of fields (quoted commas allowed).
fn check_csv(text: &str) {
    let fields = |l: &str| {
        let mut n = 1;
        let mut quoted = false;
        for c in l.chars() {
            match c {
                '"' => quoted = !quoted,
                ',' if !quoted => n += 1,
                _ => {}
            }
        }
        n
    };
    let mut lines = text.lines();
    let n = fields(lines.next().unwrap());
    for l in lines {
        assert_eq!(fields(l), n, "{l:?}");
    }
    assert!(text.ends_with('\n'));
}

#[test]
fn report_by_day_in_each_format() {
    golden(
        "report-day.table",
        &["report", "--log", EVENTS, "--by", "day"],
    );
    golden(
        "report-day.json",
        &["report", "--log", EVENTS, "--by", "day", "--format", "json"],
    );
    let stderr = golden(
        "report-day.csv",
        &["report", "--log", EVENTS, "--by", "day", "--format", "csv"],
    );
    assert!(
        stderr.contains("usagebook: note: skipped 1 malformed line"),
        "{stderr}"
    );
    // --json is --format json.
    let a = usagebook(&["report", "--log", EVENTS, "--by", "day", "--json"]);
    let b = usagebook(&["report", "--log", EVENTS, "--by", "day", "--format", "json"]);
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn report_by_every_key() {
    golden(
        "report-month.table",
        &["report", "--log", EVENTS, "--by", "month"],
    );
    golden("report-bridge.table", &["report", "--log", EVENTS]);
    golden(
        "report-model.table",
        &["report", "--log", EVENTS, "--by", "model"],
    );
    golden(
        "report-provider.csv",
        &[
            "report", "--log", EVENTS, "--by", "provider", "--format", "csv",
        ],
    );
}

#[test]
fn x3_report_days_in_another_time_zone_and_within_dates() {
    golden(
        "report-day-berlin.table",
        &[
            "report",
            "--log",
            EVENTS,
            "--by",
            "day",
            "--tz",
            "Europe/Berlin",
        ],
    );
    golden(
        "report-day-berlin.csv",
        &[
            "report",
            "--log",
            EVENTS,
            "--by",
            "day",
            "--tz",
            "Europe/Berlin",
            "--format",
            "csv",
        ],
    );
    golden(
        "report-window.table",
        &[
            "report",
            "--log",
            EVENTS,
            "--by",
            "day",
            "--since",
            "2025-01-05",
            "--until",
            "2025-01-31",
        ],
    );
}

#[test]
fn e3_report_by_subject_in_each_format() {
    golden(
        "subject.table",
        &["report", "--log", YOI, "--by", "subject"],
    );
    golden(
        "subject.json",
        &[
            "report", "--log", YOI, "--by", "subject", "--format", "json",
        ],
    );
    golden(
        "subject.csv",
        &["report", "--log", YOI, "--by", "subject", "--format", "csv"],
    );
}

#[test]
fn e6_claude_code_logs_imported_then_reported_with_cache_columns_and_cost() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("events.jsonl");
    let log = log.to_str().unwrap();
    let o = usagebook(&[
        "import",
        "--from",
        "claude-code",
        "../core/tests/fixtures/claude-code",
        "--into",
        log,
    ]);
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(o.status.success(), "{out}");
    assert!(
        out.ends_with(": added 5, skipped 1; skipped 1 malformed line; left out 1 synthetic message (model <synthetic>); 4 lines without usage (user, summary, ...); read 2 files\n"),
        "{out}"
    );
    golden(
        "claude-code-day.table",
        &["report", "--log", log, "--by", "day"],
    );
    golden(
        "claude-code-model.table",
        &["report", "--log", log, "--by", "model"],
    );
    golden(
        "claude-code-model.csv",
        &["report", "--log", log, "--by", "model", "--format", "csv"],
    );
}
