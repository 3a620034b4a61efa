//! Ledger throughput against raw batched SQLite inserts measured in the
//! same run (goal: >= 50%), the latency of a best-effort `write_event`, and
//! strict reservations per second with two rate limits against the same
//! reservations without limits (R1).
//! Run: `cargo bench -p usagebook-core --bench ledger` (`-- --quick`;
//! `-- rate` for the rate-limit row alone).

use rusqlite::{params, Connection};
use std::time::Instant;
use usagebook_core::ledger::{EventType, Ledger, LedgerEvent, LedgerOptions};

fn event(i: u64) -> LedgerEvent {
    let mut e = LedgerEvent::new(
        EventType::Commit,
        &format!("trace-{i}"),
        "openai",
        "gpt-4o",
        1.9e9 + i as f64 * 1e-3,
    );
    e.usage.insert("tokens_in".into(), (i % 1000).into());
    e.usage.insert("tokens_out".into(), (i % 300).into());
    e.cost_actual_nusd = Some(1_000 + (i % 1000) as i64);
    e
}

/// Raw limit: the same rows (JSON columns included) inserted with prepared
/// statements, 100 to a transaction, WAL, synchronous NORMAL.
fn raw(n: u64) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let c = Connection::open(dir.path().join("raw.db")).unwrap();
    c.pragma_update(None, "journal_mode", "WAL").unwrap();
    c.pragma_update(None, "synchronous", "NORMAL").unwrap();
    c.execute_batch(
        "CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, event_type TEXT, trace_id TEXT, provider TEXT, model TEXT, profile_id TEXT, usage TEXT, cost TEXT, status TEXT, timing TEXT, timestamp REAL);
         CREATE INDEX t ON events(timestamp); CREATE INDEX tr ON events(trace_id);",
    )
    .unwrap();
    let evs: Vec<LedgerEvent> = (0..n).map(event).collect();
    let s = Instant::now();
    for chunk in evs.chunks(100) {
        let tx = c.unchecked_transaction().unwrap();
        {
            let mut st = tx
                .prepare_cached("INSERT INTO events (id, event_type, trace_id, provider, model, profile_id, usage, cost, status, timing, timestamp) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)")
                .unwrap();
            for e in chunk {
                st.execute(params![
                    e.id,
                    "commit",
                    e.trace_id,
                    e.provider,
                    e.model,
                    e.profile_id,
                    serde_json::Value::Object(e.usage.clone()).to_string(),
                    r#"{"actual_nusd":1000}"#,
                    "ok",
                    "{}",
                    e.timestamp
                ])
                .unwrap();
            }
        }
        tx.commit().unwrap();
    }
    n as f64 / s.elapsed().as_secs_f64()
}

/// The ledger: best-effort writes from one thread, then close (drain).
fn ledger(n: u64) -> (f64, Vec<u64>) {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(dir.path().join("l.db"), LedgerOptions::default()).unwrap();
    let evs: Vec<LedgerEvent> = (0..n).map(event).collect();
    let mut lat = Vec::with_capacity(n as usize);
    let s = Instant::now();
    for e in evs {
        let t = Instant::now();
        l.write_event(e, false).unwrap();
        lat.push(t.elapsed().as_nanos() as u64);
    }
    l.close().unwrap();
    (n as f64 / s.elapsed().as_secs_f64(), lat)
}

/// Strict reservations (each committed at once, as a caller would) per
/// second, with or without two rate limits too high to refuse any.
fn reserves(n: u64, limited: bool) -> f64 {
    use usagebook_core::ledger::rate::{RateLimit, RateOptions};
    use usagebook_core::ledger::{BudgetMode, ReserveRequest};
    let dir = tempfile::tempdir().unwrap();
    let mut o = LedgerOptions {
        mode: BudgetMode::StrictBudget,
        daily_budget_nusd: Some(1_000_000_000_000),
        ..LedgerOptions::default()
    };
    if limited {
        o.rate = RateOptions {
            limits: vec![
                RateLimit {
                    scope: "provider:openai".into(),
                    rpm: Some(u64::MAX / 4),
                    tpm: Some(u64::MAX / 4),
                    rpd: None,
                },
                RateLimit {
                    scope: "all".into(),
                    rpm: None,
                    tpm: None,
                    rpd: Some(u64::MAX / 4),
                },
            ],
            ..RateOptions::default()
        };
    }
    let l = Ledger::open(dir.path().join("r.db"), o).unwrap();
    let s = Instant::now();
    for i in 0..n {
        let trace = format!("t{i}");
        let h = l
            .reserve_with(&ReserveRequest {
                trace_id: &trace,
                provider: "openai",
                model: "gpt-4o",
                estimate_nusd: 1_000,
                estimate_tokens: Some(500),
                ..ReserveRequest::default()
            })
            .unwrap();
        l.commit(&h, serde_json::Map::new(), Some(1_000), false)
            .unwrap();
    }
    let rate = n as f64 / s.elapsed().as_secs_f64();
    l.close().unwrap();
    rate
}

fn rate_row(quick: bool) {
    let n = if quick { 1_000 } else { 5_000 };
    let mut plain = Vec::new();
    let mut limited = Vec::new();
    for _ in 0..3 {
        plain.push(reserves(n, false));
        limited.push(reserves(n, true));
    }
    plain.sort_by(|a, b| a.partial_cmp(b).unwrap());
    limited.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "| strict reserve + commit/s with 2 rate limits ({n}) | without limits: {:.0}/s | {:.0}/s | {:.0}% | checks cost little next to the transaction | {} |",
        plain[1],
        limited[1],
        100.0 * limited[1] / plain[1],
        if limited[1] >= 0.5 * plain[1] { "yes" } else { "**no**" }
    );
}

fn main() {
    // `cargo test --all-targets` runs bench binaries too, without
    // `--bench` and in a debug build: measuring is `cargo bench`'s job.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("benchmark skipped: run it with `cargo bench`");
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    if std::env::args().any(|a| a == "rate") {
        println!("| what | baseline (same run) | usagebook | ratio | goal | met |");
        println!("|---|---|---|---|---|---|");
        rate_row(quick);
        return;
    }
    let n = if quick { 20_000 } else { 100_000 };
    let mut raws = Vec::new();
    let mut ours = Vec::new();
    let mut lats = Vec::new();
    for _ in 0..3 {
        raws.push(raw(n));
        let (r, l) = ledger(n);
        ours.push(r);
        lats.extend(l);
    }
    raws.sort_by(|a, b| a.partial_cmp(b).unwrap());
    ours.sort_by(|a, b| a.partial_cmp(b).unwrap());
    lats.sort_unstable();
    let p = |q: f64| lats[((lats.len() as f64 * q) as usize).min(lats.len() - 1)];
    let (raw, ours) = (raws[1], ours[1]);
    println!("| what | baseline (same run) | usagebook | ratio | goal | met |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| ledger events/s ({n} commits, best effort, through close) | raw batched inserts: {:.0}k/s | {:.0}k/s | {:.0}% | >= 50% | {} |",
        raw / 1e3,
        ours / 1e3,
        100.0 * ours / raw,
        if ours >= 0.5 * raw { "yes" } else { "**no**" }
    );
    println!(
        "| best-effort write_event latency | | p50 {} ns, p99 {} ns, p99.9 {} ns | | never waits for I/O | {} |",
        p(0.5),
        p(0.99),
        p(0.999),
        if p(0.99) < 50_000 { "yes" } else { "**no**" }
    );
    rate_row(quick);
}
