//! Ledger throughput against raw batched SQLite inserts measured in the
//! same run (goal: >= 50%), and the latency of a best-effort `write_event`.
//! Run: `cargo bench -p usagebook-core --bench ledger` (`-- --quick`).

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

fn main() {
    // `cargo test --all-targets` runs bench binaries too, without
    // `--bench` and in a debug build: measuring is `cargo bench`'s job.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("benchmark skipped: run it with `cargo bench`");
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
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
}
