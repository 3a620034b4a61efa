//! Helpers shared by the fuzz targets: splitting one input into several
//! files, a scratch tracker directory per process, and the invariants more
//! than one target checks. See docs/fuzzing.md.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use usagebook_core::eventlog::Tokens;
use usagebook_core::{Cost, TokenUsage, UsageStats};

/// Findings of these fuzzers, all fixed in core now (docs/fuzzing.md lists
/// each, with its regression test in core/tests/fuzz_regressions.rs). The
/// filters below let an input that hits one pass when
/// `USAGEBOOK_FUZZ_LENIENT=1` is set (to look for new bugs on an old
/// build); by default every invariant is checked.
pub fn strict() -> bool {
    static S: OnceLock<bool> = OnceLock::new();
    *S.get_or_init(|| std::env::var_os("USAGEBOOK_FUZZ_LENIENT").is_none_or(|v| v != "1"))
}

/// F3 (open): a price file's `provider_specific_entry` multipliers and
/// `off_peak_pricing` rates are not validated as the other rates are
/// (negative, `"NaN"`, `"-1"` strings), and a finite rate can be large
/// enough that rate x tokens is infinite (F4): such an entry prices to a
/// negative, NaN or infinite cost. True when `spec` has any of these.
pub fn known_bad_price_entry(spec: &serde_json::Map<String, serde_json::Value>) -> bool {
    use serde_json::Value;
    if strict() {
        return false;
    }
    let bad_multiplier = spec
        .get("provider_specific_entry")
        .and_then(Value::as_object)
        .is_some_and(|m| m.values().any(|v| v.as_f64().is_some_and(|x| x < 0.0)));
    let bad_off_peak = spec
        .get("off_peak_pricing")
        .and_then(Value::as_object)
        .is_some_and(|o| {
            o.values().any(|v| match v {
                Value::Number(n) => n.as_f64().is_some_and(|x| x < 0.0),
                Value::String(s) => s.trim().parse::<f64>().is_ok(),
                _ => false,
            })
        });
    has_huge_number(&Value::Object(spec.clone())) || bad_multiplier || bad_off_peak
}

/// F4 (open): any number in `v` above 1e100 in magnitude. A rate that
/// large, or a usage with that many `seconds`, can price a call at `inf`.
pub fn has_huge_number(v: &serde_json::Value) -> bool {
    use serde_json::Value;
    if strict() {
        return false;
    }
    match v {
        Value::Number(n) => n.as_f64().is_some_and(|x| x.abs() > 1e100),
        Value::Array(a) => a.iter().any(has_huge_number),
        Value::Object(o) => o.values().any(has_huge_number),
        _ => false,
    }
}

/// The line that separates the parts of a multi-part input (a model name
/// and a usage and a price file; a snapshot and a log and a journal). The
/// seed corpora contain it, so libFuzzer keeps it.
pub const SEP: &[u8] = b"\n--8<--\n";

/// `data` cut at each [`SEP`], into at most `n` parts (the last one keeps
/// any further separators).
pub fn parts(data: &[u8], n: usize) -> Vec<&[u8]> {
    let mut out = Vec::with_capacity(n);
    let mut rest = data;
    while out.len() + 1 < n {
        match find(rest, SEP) {
            Some(i) => {
                out.push(&rest[..i]);
                rest = &rest[i + SEP.len()..];
            }
            None => break,
        }
    }
    out.push(rest);
    while out.len() < n {
        out.push(&[]);
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A directory of this process's own for files a target writes, on tmpfs
/// when there is one (the tracker fsyncs; on tmpfs that costs nothing).
/// Emptied on every call.
pub fn scratch(name: &str) -> PathBuf {
    static BASE: OnceLock<PathBuf> = OnceLock::new();
    let base = BASE.get_or_init(|| {
        let root = if Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let b = root.join(format!("usagebook-fuzz-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&b);
        b
    });
    let d = base.join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("creating the scratch directory");
    d
}

/// The one call every price is checked against: some of every kind of
/// token and unit, a service tier, Anthropic's fast mode and a region, so
/// that every rate of an entry takes part.
pub fn fixed_usage() -> TokenUsage {
    TokenUsage {
        input: 300_000,
        output: 20_000,
        cache_read: 100_000,
        cache_write: 50_000,
        cache_write_1h: 10_000,
        cache_write_12h: 5_000,
        reasoning: 4_000,
        input_audio: 2_000,
        output_audio: 1_000,
        input_image: 3_000,
        images: 2,
        seconds: 12.5,
        characters: 1_500,
        total: None,
        service_tier: Some("priority".into()),
        inference_geo: Some("us".into()),
        speed: Some("fast".into()),
        other: Default::default(),
    }
}

/// A plain call (no tier, no fast mode, no region), priced too.
pub fn plain_usage() -> TokenUsage {
    TokenUsage {
        input: 1_000,
        output: 500,
        cache_read: 200,
        reasoning: 100,
        ..TokenUsage::default()
    }
}

/// Parts never exceed the totals they belong to (U1).
pub fn check_usage(u: &TokenUsage, what: &str) {
    let cache = u.cache_read.checked_add(u.cache_write);
    assert!(
        cache.is_some_and(|c| c <= u.input),
        "{what}: cache_read {} + cache_write {} > input {}",
        u.cache_read,
        u.cache_write,
        u.input
    );
    assert!(
        u.cache_write_1h.saturating_add(u.cache_write_12h) <= u.cache_write,
        "{what}: 1h {} + 12h {} cache writes > cache_write {}",
        u.cache_write_1h,
        u.cache_write_12h,
        u.cache_write
    );
    assert!(
        u.reasoning <= u.output,
        "{what}: reasoning {} > output {}",
        u.reasoning,
        u.output
    );
    assert!(
        u.seconds.is_finite() && u.seconds >= 0.0,
        "{what}: seconds {}",
        u.seconds
    );
}

/// Event tokens made from a read usage keep its parts within its totals.
pub fn check_tokens(t: &Tokens, what: &str) {
    assert!(
        t.cache_read.saturating_add(t.cache_write) <= t.input,
        "{what}: tokens {t:?}: cache parts exceed input"
    );
    assert!(
        t.reasoning <= t.output,
        "{what}: tokens {t:?}: reasoning exceeds output"
    );
}

/// A cost is a finite amount >= 0 in every field, and its nano-USD agree
/// with its USD (L11).
pub fn check_cost(c: &Cost, what: &str) {
    for (name, x) in [
        ("usd", c.usd),
        ("input_usd", c.input_usd),
        ("output_usd", c.output_usd),
    ] {
        assert!(
            x.is_finite() && x >= 0.0,
            "{what}: cost.{name} = {x} (must be finite and >= 0): {c:?}"
        );
    }
    assert!(c.nusd >= 0, "{what}: cost.nusd = {} < 0", c.nusd);
    for i in &c.items {
        assert!(
            i.usd.is_finite() && i.usd >= 0.0 && i.unit_usd.is_finite() && i.unit_usd >= 0.0,
            "{what}: line item {i:?} is not a finite amount >= 0"
        );
    }
    if !c.priced {
        assert!(
            c.usd == 0.0 && c.nusd == 0 && c.items.is_empty(),
            "{what}: unpriced cost with an amount: {c:?}"
        );
    } else if c.usd < 9.0e9 {
        // Below i64::MAX nano-USD the integer is the rounded float.
        let want = (c.usd * 1e9).round() as i64;
        assert!(
            (c.nusd - want).abs() <= 1,
            "{what}: cost.nusd {} is not cost.usd {} in nano-USD",
            c.nusd,
            c.usd
        );
    }
}

/// What a tracker's stats must satisfy whatever it recovered.
pub fn check_stats(s: &UsageStats, what: &str) {
    assert!(
        s.error_count <= s.total_requests,
        "{what}: {} errors > {} requests",
        s.error_count,
        s.total_requests
    );
    assert!(
        s.average_tokens_per_request.is_finite() && s.average_tokens_per_request >= 0.0,
        "{what}: average {}",
        s.average_tokens_per_request
    );
    if s.total_requests == 0 {
        assert_eq!(s.total_tokens, 0, "{what}: tokens without requests: {s:?}");
    }
}

/// Journal segments (core/src/store/journal.rs): 16-byte header, then
/// `[u32 len][u32 crc32(payload)][payload]` records.
pub const JOURNAL_MAGIC: &[u8; 8] = b"UBJRNL01";

/// A segment whose records are the fuzzer's payloads with correct lengths
/// and checksums, so that it reaches the record decoder (a random
/// checksum almost never matches): `data` is read as `[u16 len][payload]`
/// pairs; a short last pair is appended raw, as a torn tail.
pub fn framed_segment(data: &[u8]) -> Vec<u8> {
    let mut seg = Vec::with_capacity(16 + data.len() * 2);
    seg.extend_from_slice(JOURNAL_MAGIC);
    seg.extend_from_slice(&[0; 8]);
    let mut rest = data;
    while rest.len() >= 2 {
        let len = u16::from_le_bytes([rest[0], rest[1]]) as usize;
        let Some(payload) = rest.get(2..2 + len) else {
            break;
        };
        seg.extend_from_slice(&(len as u32).to_le_bytes());
        seg.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
        seg.extend_from_slice(payload);
        rest = &rest[2 + len..];
    }
    seg.extend_from_slice(rest);
    seg
}

/// Opens a tracker directory the fuzzer wrote, and checks what a damaged
/// directory may cost: `open` returns `Ok` or `Err`, never panics (the
/// fuzzer's time-out catches a hang). When it opens: the stats are
/// consistent; one more event is recorded and counted once; after close
/// and reopen the totals are the same (nothing lost, nothing counted
/// twice), and a third open changes nothing either.
///
/// Known open findings (see [`strict`]): F1, a count above `i64::MAX` makes
/// the next snapshot unreadable, so totals change at the next open; F2, a
/// sequence number or `nextSeq` near `u64::MAX` overflows (a panic in this
/// build, a wrap in release); F5, the snapshot decoder takes rows with more
/// errors than requests (or tokens without requests) as they are.
pub fn exercise_tracker(base: &Path, opts: usagebook_core::TrackerOptions) {
    use usagebook_core::{FileBackedTracker, NewUsageLog, Usage, UsageStatus, UsageTracker};
    if !strict() && near_max_seq(base) {
        return; // F2
    }
    let Ok(t) = FileBackedTracker::open(base, opts.clone()) else {
        return;
    };
    let before = t.stats(None).expect("stats of an open tracker");
    let f1 = !strict() && above_i64(&before);
    let f5 = !strict() && !stats_ok(&before);
    if !f5 {
        check_stats(&before, "after open");
    }
    let logs = t.logs(None).expect("logs of an open tracker");
    assert!(
        logs.len() <= opts.max_logs,
        "{} logs retained, maxLogs {}",
        logs.len(),
        opts.max_logs
    );
    let mut log = NewUsageLog::new(
        "fuzz-bridge",
        Usage {
            prompt_tokens: 3,
            completion_tokens: 4,
            total_tokens: 7,
            ..Usage::default()
        },
    );
    log.status = UsageStatus::Error;
    t.track(&log).expect("tracking into a recovered directory");
    let after = t.stats(None).unwrap();
    if !f5 {
        check_stats(&after, "after one event");
    }
    assert_eq!(
        after.total_requests,
        before.total_requests.saturating_add(1),
        "one event, counted {before:?} -> {after:?}"
    );
    assert_eq!(after.error_count, before.error_count.saturating_add(1));
    t.close().expect("close");
    drop(t);
    let f1 = f1 || !strict() && above_i64(&after);
    if f1 {
        // F1: the snapshot just written does not read back; the reopen may
        // even fail (when the backup it falls back to is refused).
        if let Ok(t) = FileBackedTracker::open(base, opts) {
            let _ = t.close();
        }
        return;
    }
    let t = FileBackedTracker::open(base, opts.clone()).expect("reopening what we closed");
    let again = t.stats(None).unwrap();
    assert_eq!(again, after, "totals changed across close and reopen");
    t.close().unwrap();
    drop(t);
    let t = FileBackedTracker::open(base, opts).expect("a third open");
    assert_eq!(
        t.stats(None).unwrap(),
        after,
        "totals changed at a third open"
    );
    t.close().unwrap();
}

fn above_i64(s: &UsageStats) -> bool {
    let big = |x: u64| x > i64::MAX as u64;
    big(s.total_requests) || big(s.prompt_tokens) || big(s.completion_tokens) || big(s.total_tokens)
}

fn stats_ok(s: &UsageStats) -> bool {
    s.error_count <= s.total_requests && (s.total_requests > 0 || s.total_tokens == 0)
}

/// F2: the largest sequence number in a tracker directory (snapshot
/// `nextSeq`, log ids, journal records) is within a few of `u64::MAX`.
pub fn near_max_seq(base: &Path) -> bool {
    use usagebook_core::store::{journal, Layout};
    let near = |s: u64| s >= u64::MAX - 16;
    let layout = Layout::new(base);
    for snap in [layout.stats(), layout.stats_backup()] {
        if let Ok(b) = std::fs::read(&snap) {
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&b) {
                if v.get("nextSeq")
                    .and_then(serde_json::Value::as_u64)
                    .is_some_and(near)
                {
                    return true;
                }
            }
        }
    }
    if let Ok(b) = std::fs::read(layout.logs()) {
        for line in b.split(|&c| c == b'\n') {
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) {
                let id = v
                    .get("id")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("");
                if usagebook_core::model::parse_log_id(id).is_some_and(|(s, _)| near(s)) {
                    return true;
                }
            }
        }
    }
    journal::read_all(&layout.journal_dir()).is_ok_and(|r| r.records.iter().any(|r| near(r.seq)))
}

/// F7 (open, minor): serde_json is built without its `float_roundtrip`
/// feature, so a float written by serde_json (shortest form) can read back
/// one ULP off. In the default mode two JSON values are equal when they
/// differ only so; [`strict`] asks for exact equality.
pub fn json_eq(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    if strict() {
        return a == b;
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            _ if x == y => true,
            (Some(p), Some(q)) if x.is_f64() || y.is_f64() => {
                p == q || (p - q).abs() <= 4.0 * f64::EPSILON * p.abs().max(q.abs())
            }
            _ => false,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}
