//! Imports of hand-written fixtures (tests/fixtures, written from the
//! formats' descriptions), their idempotence (E5, G6), their round trips
//! through the matching export, and the reports over what was imported
//! (E3, E4, X3).

use std::path::{Path, PathBuf};
use usagebook_core::eventlog::{read_events, rfc3339, subject, Event};
use usagebook_core::export::{self, ExportFormat};
use usagebook_core::import::{self, ImportFormat, ImportSummary};
use usagebook_core::report::grouped::{self, GroupBy, Query};
use usagebook_core::report::zone::Zone;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn ns(s: &str) -> i64 {
    rfc3339::parse_ns(s).unwrap()
}

fn import_twice(format: ImportFormat, file: &Path, log: &Path) -> ImportSummary {
    let first = import::import(format, file, log).unwrap();
    let again = import::import(format, file, log).unwrap();
    assert_eq!(again.added, 0, "a second import adds nothing: {again:?}");
    assert_eq!(again.skipped, first.added + first.skipped, "{again:?}");
    first
}

/// Exports `log` in `format`, imports the export into a fresh log, and
/// checks that it holds the same events (same ids).
fn round_trip(log: &Path, export_as: ExportFormat, import_as: ImportFormat) -> Vec<Event> {
    let mut events = read_events(log).unwrap().events;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export");
    let text = export::export(&events, export_as, Zone::parse("Asia/Tokyo").unwrap(), 0);
    std::fs::write(&file, text).unwrap();
    let fresh = dir.path().join("fresh.jsonl");
    let s = import::import(import_as, &file, &fresh).unwrap();
    assert_eq!(s.added, events.len() as u64, "{s:?}");
    assert_eq!((s.skipped, s.malformed), (0, 0), "{s:?}");
    let mut back = read_events(&fresh).unwrap().events;
    assert_eq!(back.len(), events.len());
    // The CLIProxyAPI form groups by API and model: compare in id order.
    events.sort_by_key(|e| e.id);
    back.sort_by_key(|e| e.id);
    for (a, b) in events.iter().zip(&back) {
        assert_eq!(a.id, b.id);
        assert_eq!(a.occurred_at_ns, b.occurred_at_ns);
        assert_eq!(a.tokens, b.tokens);
        assert_eq!(a.status, b.status);
        assert_eq!(a.bridge, b.bridge);
        assert_eq!(a.duration_ms, b.duration_ms);
    }
    // Importing the export into the original log adds nothing either.
    let s = import::import(import_as, &file, log).unwrap();
    assert_eq!(s.added, 0, "{s:?}");
    back
}

#[test]
fn e4_seed_004_events_import_as_they_are_and_report_the_seeds_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("events.jsonl");
    let s = import_twice(ImportFormat::Events, &fixture("yoi-events.jsonl"), &log);
    assert_eq!(
        s,
        ImportSummary {
            added: 7,
            skipped: 1,
            malformed: 1,
            blank: 1,
            ignored: 0,
            ..ImportSummary::default()
        }
    );
    assert_eq!(s.describe(), "added 7, skipped 1; skipped 1 malformed line");

    // The seed's worked example (FORMATS-EXTERNAL §2), plus the others.
    let r = subject::from_log(&log, None, None).unwrap();
    let by = |kind: &str, slug: &str| {
        r.records
            .iter()
            .find(|x| x.kind == kind && x.slug == slug)
            .unwrap()
            .clone()
    };
    let alpha = by("decision", "alpha");
    assert_eq!(alpha.use_count, 1);
    assert_eq!(alpha.source_breakdown.len(), 1);
    assert_eq!(alpha.source_breakdown["MemoryRead"], 1);
    assert_eq!(alpha.resident_exposure_count, 0);
    assert_eq!(alpha.last_used_at_ns, Some(ns("2026-05-11T03:04:05Z")));
    let policy = by("knowledge", "policy");
    assert_eq!(policy.use_count, 2);
    assert_eq!(policy.source_breakdown.len(), 1);
    assert_eq!(policy.source_breakdown["KnowledgeRef"], 2);
    assert_eq!(policy.resident_exposure_count, 1);
    assert_eq!(policy.estimated_tokens_per_injection, 2);
    assert_eq!(policy.estimated_total_resident_exposure_tokens, 2);
    // The +09:00 use and the later one: last use is the max instant.
    assert_eq!(policy.last_used_at_ns, Some(ns("2026-05-11T03:20:00.5Z")));
    // A resident-only record has zero uses.
    let summary = by("summary", "summary");
    assert_eq!(summary.use_count, 0);
    assert_eq!(summary.last_used_at_ns, None);
    assert_eq!(summary.resident_exposure_count, 1);
    assert_eq!(summary.estimated_total_resident_exposure_tokens, 501);
    let kinds: Vec<(&str, &str)> = r
        .records
        .iter()
        .map(|x| (x.kind.as_str(), x.slug.as_str()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("decision", "alpha"),
            ("knowledge", "policy"),
            ("request", "ship-it"),
            ("summary", "summary"),
            ("workflow", "release")
        ]
    );

    // Round trip: the JSONL export is the fixture's good lines, byte for
    // byte except the times, which are written in UTC with 0, 3, 6 or 9
    // fraction digits (the seed's own form).
    let exported = export::export(
        &read_events(&log).unwrap().events,
        ExportFormat::Jsonl,
        Zone::Utc,
        0,
    );
    let original = std::fs::read_to_string(fixture("yoi-events.jsonl")).unwrap();
    let mut want: Vec<String> = original
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| {
            l.replace("2026-05-11T12:10:00+09:00", "2026-05-11T03:10:00Z")
                .replace("03:20:00.5Z", "03:20:00.500Z")
        })
        .collect();
    want.pop(); // the duplicate
    assert_eq!(exported.lines().collect::<Vec<_>>(), want);
    round_trip(&log, ExportFormat::Jsonl, ImportFormat::Events);
}

#[test]
fn t7_tracker_logs_import_idempotently_and_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("events.jsonl");
    let s = import_twice(
        ImportFormat::TrackerLog,
        &fixture("tracker-usage-logs.jsonl"),
        &log,
    );
    assert_eq!(
        s,
        ImportSummary {
            added: 5,
            skipped: 0,
            malformed: 1,
            blank: 1,
            ignored: 0,
            ..ImportSummary::default()
        }
    );
    let r = grouped::from_log(&log, &Query::new(GroupBy::Bridge)).unwrap();
    assert_eq!(r.total.requests, 5);
    assert_eq!(r.total.errors, 1);
    assert_eq!(r.total.input_tokens, 1337);
    assert_eq!(r.total.output_tokens, 328);
    assert_eq!(r.total.total_tokens, 1665);
    let keys: Vec<_> = r.rows.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(
        keys,
        vec!["anthropic/claude-3-5-sonnet", "local/llama-3.1", "openai"]
    );
    // The T7 export gives the original lines back (same ids, same times).
    let events = read_events(&log).unwrap().events;
    let t7 = export::export(&events, ExportFormat::TrackerLog, Zone::Utc, 0);
    let first = t7.lines().next().unwrap();
    assert_eq!(
        first,
        r#"{"id":"llm_log_1_1736000000000","timestamp":"2025-01-04T14:13:20.000Z","bridgeId":"openai","usage":{"promptTokens":10,"completionTokens":5,"totalTokens":15},"durationMs":120,"status":"success"}"#
    );
    round_trip(&log, ExportFormat::TrackerLog, ImportFormat::TrackerLog);
    round_trip(&log, ExportFormat::Jsonl, ImportFormat::Events);
}

#[test]
fn g6_cliproxy_export_imports_deduplicated_on_its_key_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("events.jsonl");
    let s = import_twice(
        ImportFormat::CliProxy,
        &fixture("cliproxy-export-v1.json"),
        &log,
    );
    // Four details; the fifth repeats the fourth at the same instant (another
    // offset, another latency: not part of the key); one has no valid time;
    // one is under a blank API name.
    assert_eq!(
        s,
        ImportSummary {
            added: 4,
            skipped: 1,
            malformed: 1,
            blank: 0,
            ignored: 1,
            ..ImportSummary::default()
        }
    );
    assert_eq!(
        s.describe(),
        "added 4, skipped 1; skipped 1 malformed line; ignored 1 detail with a blank API name"
    );
    let events = read_events(&log).unwrap().events;
    let models: Vec<_> = events.iter().map(|e| e.model.clone().unwrap()).collect();
    assert_eq!(
        models,
        vec!["gpt-4o", "gpt-4o", "unknown", "claude-sonnet-4"]
    );
    assert_eq!(
        events[0].occurred_at_ns,
        ns("2025-03-01T22:30:00.123456789Z")
    );
    assert_eq!(events[1].duration_ms, Some(830.0));
    assert_eq!(events[1].extra["cliproxy"]["request_id"], "req_01");

    let mut q = Query::new(GroupBy::Day);
    let r = grouped::from_log(&log, &q).unwrap();
    assert_eq!(r.total.requests, 4);
    assert_eq!(r.total.errors, 1);
    assert_eq!(r.total.input_tokens, 2110);
    assert_eq!(r.total.output_tokens, 550);
    assert_eq!(r.total.reasoning_tokens, 250);
    assert_eq!(r.total.cache_read_tokens, 1027);
    // total_tokens of 0 normalized: 10 and 7 and 2750.
    assert_eq!(r.total.total_tokens, 150 + 10 + 7 + 2750);
    let days = |r: &grouped::GroupedReport| -> Vec<(String, u64)> {
        r.rows
            .iter()
            .map(|r| (r.key.clone(), r.sums.requests))
            .collect()
    };
    assert_eq!(
        days(&r),
        vec![("2025-03-01".into(), 2), ("2025-03-02".into(), 2)]
    );
    // X3: in Berlin (UTC+1) 23:30Z is already the next day.
    q.zone = Zone::parse("Europe/Berlin").unwrap();
    assert_eq!(
        days(&grouped::from_log(&log, &q).unwrap()),
        vec![("2025-03-01".into(), 1), ("2025-03-02".into(), 3)]
    );

    round_trip(&log, ExportFormat::CliProxy, ImportFormat::CliProxy);
    round_trip(&log, ExportFormat::Jsonl, ImportFormat::Events);

    // The export's counters are rebuilt from the details.
    let v: serde_json::Value = serde_json::from_str(&export::export(
        &events,
        ExportFormat::CliProxy,
        Zone::parse("+01:00").unwrap(),
        ns("2025-03-02T08:00:00Z"),
    ))
    .unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["exported_at"], "2025-03-02T09:00:00+01:00");
    let u = &v["usage"];
    assert_eq!(u["total_requests"], 4);
    assert_eq!(u["failure_count"], 1);
    assert_eq!(u["total_tokens"], 2917);
    assert_eq!(u["requests_by_day"]["2025-03-02"], 3);
    assert_eq!(u["tokens_by_hour"]["09"], 2750);
    let d = &u["apis"]["POST /v1/messages"]["models"]["claude-sonnet-4"]["details"][0];
    assert_eq!(d["timestamp"], "2025-03-02T09:15:00.500+01:00");
    assert_eq!(d["auth_id"], "a-7");
    assert_eq!(d["latency_ms"], 4100);
}

#[test]
fn g6_version_0_is_accepted_and_other_versions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("events.jsonl");
    let s = import_twice(
        ImportFormat::CliProxy,
        &fixture("cliproxy-export-v0.json"),
        &log,
    );
    assert_eq!((s.added, s.skipped), (1, 0));
    let e = import::import(
        ImportFormat::CliProxy,
        &fixture("cliproxy-export-v2.json"),
        &log,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("unsupported CLIProxyAPI export version 2") && e.contains("0 and 1"),
        "{e}"
    );
    assert_eq!(read_events(&log).unwrap().events.len(), 1, "nothing added");
}

#[test]
fn imports_of_different_formats_merge_into_one_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("all.jsonl");
    import::import(
        ImportFormat::TrackerLog,
        &fixture("tracker-usage-logs.jsonl"),
        &log,
    )
    .unwrap();
    import::import(
        ImportFormat::CliProxy,
        &fixture("cliproxy-export-v1.json"),
        &log,
    )
    .unwrap();
    import::import(ImportFormat::Events, &fixture("yoi-events.jsonl"), &log).unwrap();
    let r = grouped::from_log(&log, &Query::new(GroupBy::Month)).unwrap();
    let months: Vec<_> = r
        .rows
        .iter()
        .map(|r| (r.key.as_str(), r.sums.requests))
        .collect();
    assert_eq!(months, vec![("2025-01", 5), ("2025-03", 4)]);
    assert_eq!(r.other_events, 7);
    assert_eq!(r.lines.malformed, 0);
}
