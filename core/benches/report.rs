//! Issue 6 speed goal: a report over 1M events runs at no less than half
//! the rate of merely reading and parsing the same lines with serde_json,
//! measured in the same run (medians of rounds). Exits 1 if a report is
//! below half of the `serde_json::Value` baseline.
//!
//! Run: `cargo bench -p usagebook-core --bench report`
//! (`-- --events N --rounds R` to change the size).

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;
use usagebook_core::eventlog::{self, id, rfc3339, Event, LineOutcome, Status, Tokens};
use usagebook_core::report::grouped::{self, GroupBy, Query};
use usagebook_core::report::zone::Zone;

const BRIDGES: [&str; 6] = [
    "openai/gpt-4o",
    "openai/o3",
    "anthropic/claude-sonnet-4",
    "anthropic/claude-haiku",
    "google/gemini-2.5-pro",
    "local/llama-3.1-8b",
];

/// 1M request events over ~60 days, in time order, as a host writes them.
fn generate(path: &Path, n: u64) {
    let mut text = String::with_capacity(n as usize * 260);
    let start = rfc3339::parse_ns("2025-01-01T00:00:00Z").unwrap();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let step = 60 * 86_400 * 1_000_000_000 / n as i64;
    for i in 0..n {
        let r = next();
        let input = 50 + r % 8_000;
        let output = 10 + (r >> 16) % 2_000;
        let reasoning = if r % 5 == 0 { (r >> 32) % 3_000 } else { 0 };
        let cached = if r % 3 == 0 { input / 2 } else { 0 };
        let mut e = Event::request(
            BRIDGES[(r >> 40) as usize % BRIDGES.len()],
            Tokens {
                input,
                output,
                reasoning,
                cache_read: cached,
                cache_write: 0,
                total: input + output + reasoning,
            },
            if r % 97 == 0 {
                Status::Error
            } else {
                Status::Success
            },
        );
        e.occurred_at_ns = start + i as i64 * step + (r % 1_000_000) as i64;
        e.id = id::derived_v7(e.occurred_at_ms(), &i.to_string());
        e.duration_ms = Some((r % 20_000) as f64 / 10.0);
        if r % 4 != 0 {
            e.cost_nano_usd = Some((input * 2_500 + output * 10_000) as i64);
        }
        text.push_str(&e.to_line());
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // `cargo test --all-targets` runs bench binaries too, without
    // `--bench` and in a debug build: measuring is `cargo bench`'s job.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("benchmark skipped: run it with `cargo bench`");
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: u64| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let n = arg("--events", 1_000_000);
    let rounds = arg("--rounds", 5) as usize;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let t = Instant::now();
    generate(&path, n);
    let bytes = std::fs::metadata(&path).unwrap().len();
    eprintln!(
        "generated {n} events ({:.0} MB) in {:.1} s",
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    // Baselines: the same chunked line reader, then serde_json on each
    // line: into a `Value` (what "parse the lines" usually means), and
    // into `IgnoredAny` (validation only, no allocation: the floor).
    let value = || {
        let mut count = 0u64;
        eventlog::scan_lines(&path, |line| {
            let v: serde_json::Value = serde_json::from_slice(line).unwrap();
            count += black_box(&v).is_object() as u64;
            LineOutcome::Good
        })
        .unwrap();
        assert_eq!(count, n);
    };
    let ignored = || {
        let mut count = 0u64;
        eventlog::scan_lines(&path, |line| {
            serde_json::from_slice::<serde::de::IgnoredAny>(line).unwrap();
            count += 1;
            LineOutcome::Good
        })
        .unwrap();
        assert_eq!(count, n);
    };
    let berlin = Zone::parse("Europe/Berlin").unwrap();
    let report = |by: GroupBy, zone: Zone| {
        let q = Query {
            zone,
            ..Query::new(by)
        };
        let r = grouped::from_log(&path, &q).unwrap();
        assert_eq!(r.total.requests, n);
        black_box(r);
    };
    type Case<'a> = (&'a str, Box<dyn Fn() + 'a>);
    let cases: Vec<Case> = vec![
        ("baseline: serde_json::Value per line", Box::new(value)),
        (
            "baseline: serde_json IgnoredAny per line",
            Box::new(ignored),
        ),
        (
            "report --by day --tz Europe/Berlin",
            Box::new(move || report(GroupBy::Day, berlin)),
        ),
        (
            "report --by bridge",
            Box::new(move || report(GroupBy::Bridge, Zone::Utc)),
        ),
        (
            "report --by model",
            Box::new(move || report(GroupBy::Model, Zone::Utc)),
        ),
    ];
    // `--only TEXT`: run just the cases whose name contains it (profiling).
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    if let Some(only) = only {
        for (name, f) in cases.iter().filter(|(n, _)| n.contains(only.as_str())) {
            let t = Instant::now();
            for _ in 0..rounds {
                f();
            }
            println!(
                "{name}: {:.3} s a round",
                t.elapsed().as_secs_f64() / rounds as f64
            );
        }
        return;
    }
    // Warm the page cache, then interleave the cases round by round so
    // that noise from other processes spreads over all of them.
    cases[0].1();
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    for _ in 0..rounds {
        for (i, (_, f)) in cases.iter().enumerate() {
            let t = Instant::now();
            f();
            times[i].push(t.elapsed().as_secs_f64());
        }
    }
    let rates: Vec<f64> = times.into_iter().map(|t| n as f64 / median(t)).collect();
    println!(
        "| {n} events ({:.0} MB), median of {rounds} rounds | events/s | vs Value baseline | vs IgnoredAny baseline |",
        bytes as f64 / 1e6
    );
    println!("|---|---:|---:|---:|");
    let mut ok = true;
    for (i, (name, _)) in cases.iter().enumerate() {
        let (a, b) = (rates[i] / rates[0], rates[i] / rates[1]);
        println!("| {name} | {:.2} M | {a:.2}x | {b:.2}x |", rates[i] / 1e6);
        if i >= 2 && a < 0.5 {
            ok = false;
        }
    }
    println!(
        "\ngoal: every report >= 0.5x the Value baseline: {}",
        if ok { "met" } else { "NOT MET" }
    );
    if !ok {
        std::process::exit(1);
    }
}
