//! The Prometheus exposition (O1) of a tracker and of a ledger on real
//! SQLite files: golden files, `promtool check metrics` (Debian's
//! `prometheus` package; required when USAGEBOOK_REQUIRE_TOOLS is set, as
//! in CI), true totals shared by two ledgers on one file, and the
//! cardinality bound. Run with `UPDATE_GOLDEN=1` to rewrite
//! core/tests/golden/*.prom after an intended change.

use serde_json::{json, Map, Value};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use usagebook_core::ledger::money::usd_to_nano;
use usagebook_core::ledger::{EventStatus, EventType, Ledger, LedgerEvent, LedgerOptions};
use usagebook_core::telemetry::{tracker_metrics_text, MetricsOptions, OTHER};
use usagebook_core::{InMemoryTracker, ManualClock, NewUsageLog, Usage, UsageStatus, UsageTracker};

const T0_MS: i64 = 1_772_366_400_000; // 2026-03-01T12:00:00Z

fn usd(x: f64) -> i64 {
    usd_to_nano(x, "test").unwrap()
}

fn usage(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

/// `promtool check metrics` over `text`: parse errors and lint problems
/// (counter names, units, HELP) fail the test.
pub fn promtool_check(text: &str) {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            assert!(
                std::env::var_os("USAGEBOOK_REQUIRE_TOOLS").is_none(),
                "promtool is required here (apt-get install prometheus): {e}"
            );
            eprintln!("promtool not found ({e}): skipping its check (CI installs it)");
            return;
        }
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}\n--- text:\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn golden(name: &str, text: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, text).unwrap();
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    assert_eq!(text, want, "differs from {name}");
}

/// The value of the one sample whose line starts with `series` + " ".
fn value(text: &str, series: &str) -> f64 {
    let hits: Vec<f64> = text
        .lines()
        .filter_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(hits.len(), 1, "{series} in:\n{text}");
    hits[0]
}

fn write_calls(l: &Ledger, clock: &ManualClock) {
    // A priced commit after a hold (the bundled price of gpt-4o).
    let h = l.reserve("t1", "openai", "gpt-4o", usd(0.5), None).unwrap();
    l.commit(
        &h,
        usage(json!({"prompt_tokens": 1000, "completion_tokens": 200,
                     "prompt_tokens_details": {"cached_tokens": 300},
                     "completion_tokens_details": {"reasoning_tokens": 50}})),
        None,
        false,
    )
    .unwrap();
    clock.advance(1000);
    // An error with its actual cost given (Anthropic's shape).
    let mut e = LedgerEvent::new(
        EventType::Commit,
        "t2",
        "anthropic",
        "claude-sonnet-4-5",
        clock.now_ms_for_test() as f64 / 1000.0,
    );
    e.status = EventStatus::Error;
    e.cost_actual_nusd = Some(usd(0.0125));
    e.usage = usage(json!({"input_tokens": 10, "output_tokens": 0,
                           "cache_creation_input_tokens": 2000}));
    l.write_event(e, false).unwrap();
    // A hold left open, and an adjust.
    l.reserve("t3", "openai", "gpt-4o-mini", usd(0.25), None)
        .unwrap();
    let mut adj = LedgerEvent::new(
        EventType::Adjust,
        "t1",
        "openai",
        "gpt-4o",
        clock.now_ms_for_test() as f64 / 1000.0,
    );
    adj.cost_actual_nusd = Some(usd(0.001));
    l.write_event(adj, false).unwrap();
    l.flush().unwrap();
}

trait NowForTest {
    fn now_ms_for_test(&self) -> i64;
}
impl NowForTest for ManualClock {
    fn now_ms_for_test(&self) -> i64 {
        use usagebook_core::Clock;
        self.now_ms()
    }
}

fn without_writer(text: &str) -> String {
    let mut out = String::new();
    for l in text.lines() {
        if !l.contains("usagebook_ledger_writer_") {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

#[test]
fn o1_ledger_exposition_golden_promtool_and_true_totals_in_two_ledgers() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    let clock = ManualClock::new(T0_MS);
    let o = LedgerOptions {
        daily_budget_nusd: Some(usd(10.0)),
        ..LedgerOptions::default()
    };
    let a = Ledger::open_with_clock(&db, o.clone(), Arc::new(clock.clone())).unwrap();
    let b = Ledger::open_with_clock(&db, o, Arc::new(clock.clone())).unwrap();
    write_calls(&a, &clock);
    let text_a = a.metrics_text().unwrap();
    promtool_check(&text_a);
    golden("ledger.prom", &without_writer(&text_a));

    // The numbers, asserted (not only golden): tokens by part, errors.
    let gpt = "provider=\"openai\",model=\"gpt-4o\"";
    assert_eq!(
        value(
            &text_a,
            &format!("usagebook_ledger_requests_total{{{gpt}}}")
        ),
        1.0
    );
    for (ty, n) in [
        ("input", 1000.0),
        ("output", 200.0),
        ("cache_read", 300.0),
        ("reasoning", 50.0),
    ] {
        assert_eq!(
            value(
                &text_a,
                &format!("usagebook_ledger_tokens_total{{{gpt},type=\"{ty}\"}}")
            ),
            n
        );
    }
    let claude = "provider=\"anthropic\",model=\"claude-sonnet-4-5\"";
    assert_eq!(
        value(
            &text_a,
            &format!("usagebook_ledger_errors_total{{{claude}}}")
        ),
        1.0
    );
    // Anthropic's input_tokens exclude cache writes; the exposition's input is inclusive.
    assert_eq!(
        value(
            &text_a,
            &format!("usagebook_ledger_tokens_total{{{claude},type=\"input\"}}")
        ),
        2010.0
    );
    assert_eq!(
        value(
            &text_a,
            &format!("usagebook_ledger_spend_usd_total{{{claude}}}")
        ),
        0.0125
    );
    let spent = a
        .spend_today(&usagebook_core::ledger::Scope::All, None)
        .unwrap();
    let reserved = a
        .reserved_today(&usagebook_core::ledger::Scope::All, None)
        .unwrap();
    assert_eq!(
        value(&text_a, "usagebook_ledger_spend_today_usd{scope=\"all\"}"),
        spent as f64 / 1e9
    );
    assert_eq!(
        value(
            &text_a,
            "usagebook_ledger_budget_remaining_usd{scope=\"all\"}"
        ),
        (usd(10.0) - spent - reserved) as f64 / 1e9
    );
    assert_eq!(
        value(
            &text_a,
            "usagebook_ledger_open_holds{provider=\"openai\",model=\"gpt-4o-mini\"}"
        ),
        1.0
    );
    assert_eq!(value(&text_a, "usagebook_ledger_writer_up"), 1.0);

    // The other ledger on the file wrote nothing itself, yet shows the same
    // totals: they are read from the database, not counted per process.
    let text_b = b.metrics_text().unwrap();
    assert_eq!(without_writer(&text_b), without_writer(&text_a));
    assert_eq!(
        value(&text_b, "usagebook_ledger_writer_events_written_total"),
        0.0
    );

    // Incremental: more events later are added once, not re-read twice.
    clock.advance(1000);
    let h = b.reserve("t4", "openai", "gpt-4o", usd(0.1), None).unwrap();
    b.commit(
        &h,
        usage(json!({"input": 5, "output": 7})),
        Some(usd(0.01)),
        true,
    )
    .unwrap();
    let text_a2 = a.metrics_text().unwrap();
    assert_eq!(
        value(
            &text_a2,
            &format!("usagebook_ledger_requests_total{{{gpt}}}")
        ),
        2.0
    );
    assert_eq!(
        value(
            &text_a2,
            &format!("usagebook_ledger_tokens_total{{{gpt},type=\"output\"}}")
        ),
        207.0
    );
    assert_eq!(
        without_writer(&b.metrics_text().unwrap()),
        without_writer(&text_a2)
    );
    a.close().unwrap();
    b.close().unwrap();
}

#[test]
fn o1_tracker_exposition_golden_and_the_series_bound() {
    let clock = ManualClock::new(T0_MS);
    let t = InMemoryTracker::with_clock(100, Arc::new(clock)).unwrap();
    let u = |p: u64, c: u64| Usage {
        prompt_tokens: p,
        completion_tokens: c,
        total_tokens: p + c,
        cache_read_tokens: p / 2,
        cache_write_tokens: 0,
        reasoning_tokens: c / 4,
    };
    for (bridge, n) in [
        ("openai/gpt-4o", 3),
        ("chat \"main\"", 2),
        ("a", 1),
        ("b", 1),
    ] {
        for i in 0..n {
            let mut log = NewUsageLog::new(bridge, u(100 * (i + 1), 40));
            if i == 1 {
                log.status = UsageStatus::Error;
            }
            t.track(&log).unwrap();
        }
    }
    let text = t.metrics_text().unwrap();
    promtool_check(&text);
    golden("tracker.prom", &text);
    let s = t.stats(Some("openai/gpt-4o")).unwrap();
    let b = "bridge=\"openai/gpt-4o\"";
    assert_eq!(
        value(&text, &format!("usagebook_tracker_requests_total{{{b}}}")),
        s.total_requests as f64
    );
    assert_eq!(
        value(&text, &format!("usagebook_tracker_errors_total{{{b}}}")),
        1.0
    );
    assert_eq!(
        value(
            &text,
            &format!("usagebook_tracker_tokens_total{{{b},type=\"input\"}}")
        ),
        s.prompt_tokens as f64
    );

    // top 2: the two busiest bridges keep their series, a and b are summed.
    let opts = MetricsOptions {
        top: 2,
        ..MetricsOptions::default()
    };
    let bounded = tracker_metrics_text(&t, &opts).unwrap();
    promtool_check(&bounded);
    assert_eq!(
        value(
            &bounded,
            &format!("usagebook_tracker_requests_total{{bridge=\"{OTHER}\"}}")
        ),
        2.0
    );
    assert_eq!(
        value(&bounded, "usagebook_metrics_folded_keys{key=\"bridge\"}"),
        2.0
    );
    assert!(!bounded.contains("bridge=\"a\""));
    assert_eq!(
        bounded.matches("usagebook_tracker_requests_total{").count(),
        3
    );
    assert!(tracker_metrics_text(
        &t,
        &MetricsOptions {
            top: 0,
            ..MetricsOptions::default()
        }
    )
    .is_err());
}
