//! Regression tests for what the fuzz targets in fuzz/ found (docs/fuzzing.md,
//! issue 11), each reading its input from core/tests/fuzz-inputs/. All
//! seven findings are fixed; each test failed before its fix.

use std::path::{Path, PathBuf};
use usagebook_core::eventlog::Event;
use usagebook_core::store::Layout;
use usagebook_core::{
    FileBackedTracker, NewUsageLog, PriceRegistry, TokenUsage, TrackerOptions, Usage, UsageTracker,
};

fn input(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-inputs")
        .join(name)
}

fn read(name: &str) -> String {
    std::fs::read_to_string(input(name)).unwrap()
}

fn persist() -> TrackerOptions {
    TrackerOptions {
        persist_logs: true,
        ..TrackerOptions::default()
    }
}

/// Opens, closes and reopens `base`: the totals must not change.
fn reopen_keeps_totals(base: &Path, opts: TrackerOptions) {
    let t = FileBackedTracker::open(base, opts.clone()).unwrap();
    let first = t.stats(None).unwrap();
    t.close().unwrap();
    drop(t);
    let t = FileBackedTracker::open(base, opts).unwrap();
    let second = t.stats(None).unwrap();
    t.close().unwrap();
    assert_eq!(second, first, "totals changed across close and reopen");
}

/// F1: a token count above `i64::MAX` (accepted: counts are u64) is
/// written into the snapshot's rollups as a u64, and read back with
/// `as_i64`, so the next open finds the row "malformed", moves the snapshot
/// and then its backup aside as corrupt and recovers only what the log
/// file or journal still has: without `persistLogs`, everything is lost.
#[test]
fn f1_count_above_i64_max_survives_reopen() {
    // Through the API: one call with totalTokens = 2^63.
    let dir = tempfile::tempdir().unwrap();
    let t = FileBackedTracker::open(dir.path(), TrackerOptions::default()).unwrap();
    t.track(&NewUsageLog::new(
        "openai",
        Usage {
            prompt_tokens: 1,
            completion_tokens: 1,
            total_tokens: 1 << 63,
            ..Usage::default()
        },
    ))
    .unwrap();
    let before = t.stats(None).unwrap();
    t.close().unwrap();
    drop(t);
    let t = FileBackedTracker::open(dir.path(), TrackerOptions::default()).unwrap();
    assert_eq!(
        t.stats(None).unwrap(),
        before,
        "the event was lost at reopen"
    );
    t.close().unwrap();
    drop(t);
    // And from the fuzz input: a log line with such a count.
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path());
    std::fs::create_dir_all(&layout.root).unwrap();
    std::fs::write(layout.logs(), read("f1-count-above-i64-max.jsonl")).unwrap();
    let opts = TrackerOptions::default();
    reopen_keeps_totals(dir.path(), opts);
}

/// F2: a log id (or journal record) with sequence number `u64::MAX`, or a
/// snapshot `nextSeq` of `u64::MAX`, overflows `seq + 1` / `next_seq += 1`
/// (core/src/state.rs): a panic in a build with overflow checks (this test,
/// any debug build of a binding), a wrap in release, where the event is
/// counted again at every open (issue 11 item 11).
#[test]
fn f2_sequence_number_u64_max_opens_and_counts_once() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path());
    std::fs::create_dir_all(&layout.root).unwrap();
    std::fs::write(layout.logs(), read("f2-seq-u64-max.jsonl")).unwrap();
    reopen_keeps_totals(dir.path(), persist());

    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path());
    std::fs::create_dir_all(&layout.root).unwrap();
    std::fs::write(layout.stats(), read("f2-next-seq-u64-max.json")).unwrap();
    // Opening it is fine; the first event then overflows the counter.
    if let Ok(t) = FileBackedTracker::open(dir.path(), TrackerOptions::default()) {
        let _ = t.track(&NewUsageLog::new(
            "openai",
            Usage {
                prompt_tokens: 1,
                completion_tokens: 1,
                total_tokens: 2,
                ..Usage::default()
            },
        ));
        t.close().unwrap();
    }
}

/// The call the price files are checked with: every kind of token, a
/// service tier, fast mode and a region (as fuzz/src/lib.rs `fixed_usage`).
fn rich_usage() -> TokenUsage {
    TokenUsage {
        input: 300_000,
        output: 20_000,
        cache_read: 100_000,
        cache_write: 50_000,
        reasoning: 4_000,
        service_tier: Some("priority".into()),
        inference_geo: Some("us".into()),
        speed: Some("fast".into()),
        ..TokenUsage::default()
    }
}

/// A price file is refused, or prices its model to a finite cost >= 0.
fn prices_sanely(name: &str) {
    let Ok(reg) = PriceRegistry::from_litellm_json(&read(name)) else {
        return;
    };
    for ts in [1_767_225_600_000, 1_767_225_600_000 + 17 * 3_600_000] {
        let c = reg.cost(None, "m", &rich_usage(), ts);
        assert!(
            c.usd.is_finite() && c.usd >= 0.0,
            "{name}: the price file was accepted and prices a call at {} USD: {c:?}",
            c.usd
        );
        for i in &c.items {
            assert!(i.unit_usd.is_finite() && i.unit_usd >= 0.0, "{name}: {i:?}");
        }
    }
}

/// F3: `provider_specific_entry` multipliers and `off_peak_pricing` rates
/// (numbers, or strings parsed as numbers) are used without the check
/// every other rate gets (`rate_of`: finite and >= 0), so an accepted price
/// file can price a call negative or NaN (and its nano-USD clamp to 0).
#[test]
fn f3_multipliers_and_off_peak_rates_are_validated() {
    prices_sanely("f3-negative-multiplier.json");
    prices_sanely("f3-off-peak-negative.json");
    prices_sanely("f3-off-peak-nan-string.json");
}

/// F4: every rate is finite, but rate x tokens need not be: a rate of 1e308
/// prices 300k tokens at `inf` USD, `priced: true`, and 0 nano-USD.
#[test]
fn f4_a_huge_rate_is_refused_or_priced_finite() {
    prices_sanely("f4-huge-rate.json");
}

/// F5: the snapshot decoder takes rollup rows as they are: a row with more
/// errors than requests, or tokens without requests, gives stats no
/// sequence of calls can give (no checksum either: issue 11 item 6).
#[test]
fn f5_impossible_snapshot_rows_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path());
    std::fs::create_dir_all(&layout.root).unwrap();
    std::fs::write(layout.stats(), read("f5-snapshot-impossible-rows.json")).unwrap();
    let t = FileBackedTracker::open(dir.path(), TrackerOptions::default()).unwrap();
    let s = t.stats(None).unwrap();
    assert!(s.error_count <= s.total_requests, "{s:?}");
    let idle = t.stats(Some("idle")).unwrap();
    assert!(
        idle.total_requests > 0 || idle.total_tokens == 0,
        "{idle:?}"
    );
    t.close().unwrap();
}

/// F6: fields of an event-log line this version does not know are "written
/// back as read", but `Event::from_json` takes the known ones out with
/// serde_json's `Map::remove`, which under `preserve_order` is a
/// `swap_remove`: the unknown ones come back in another order, and a line
/// written, read and written again changes.
#[test]
fn f6_unknown_event_fields_keep_their_order() {
    for line in read("f6-unknown-fields-order.jsonl").lines() {
        let once = Event::from_line(line.as_bytes()).unwrap().to_line();
        let twice = Event::from_line(once.as_bytes()).unwrap().to_line();
        assert_eq!(twice, once, "writing an event-log line is not stable");
    }
}

/// F7 (minor): serde_json is built without `float_roundtrip`, so a float
/// it writes in shortest form can read back one ULP off: a ledger event's
/// usage extra (here `1.7044444444444443e55`) comes back from its own JSON
/// form as another number. The same holds for timings, timestamps, costs
/// and durations in every JSON form.
#[test]
fn f7_json_floats_round_trip() {
    let text = read("f7-float-roundtrip-ledger-event.json");
    let ev = usagebook_core::ledger::LedgerEvent::from_json_str(&text, 1_767_225_600.0).unwrap();
    let back =
        usagebook_core::ledger::LedgerEvent::from_json_str(&ev.to_json().to_string(), 0.0).unwrap();
    assert_eq!(back, ev, "an event's JSON form reads back another event");
}
