//! Issue 11 #10: flush and open cost must not grow with history. Builds
//! tracker directories with 100 bridges and one call per bridge per hour
//! for one day, one year and two years (closed days go to the rollup
//! archive), then times a flush of 100 new calls and an open; and times an
//! open with a 1 MB and a 1 GB log (`--quick`: 100 MB). The short history
//! is the baseline of the same run. Prints a Markdown table.
//! Run: `cargo bench -p usagebook-core --bench history` (`-- --quick`).

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use usagebook_core::{
    FileBackedTracker, InternedLog, ManualClock, TrackerOptions, Usage, UsageStatus, UsageTracker,
};

const HOUR: i64 = 3_600_000;
/// 2025-01-01T00:00:00Z.
const START: i64 = 1_735_689_600_000;
const BRIDGES: usize = 100;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn opts() -> TrackerOptions {
    TrackerOptions {
        flush_every_n_logs: 10_000_000,
        flush_interval_ms: 3_600_000,
        ..TrackerOptions::default()
    }
}

/// `days` of history; returns the clock (at the end of it).
fn build(dir: &Path, days: i64) -> Arc<ManualClock> {
    let clock = Arc::new(ManualClock::new(START));
    let t = FileBackedTracker::open_with_clock(dir, opts(), clock.clone()).unwrap();
    let ids: Vec<u32> = (0..BRIDGES)
        .map(|b| t.intern_bridge(&format!("provider-{b}/model")).unwrap())
        .collect();
    for h in 0..days * 24 {
        let ts = START + h * HOUR + 60_000;
        let batch: Vec<InternedLog> = ids
            .iter()
            .map(|&bridge| InternedLog {
                bridge,
                usage: Usage::new(1000, 200, 1200),
                duration_ms: Some(900.0),
                status: UsageStatus::Success,
                timestamp_ms: ts,
            })
            .collect();
        t.track_interned_batch(&batch).unwrap();
        if h % 24 == 23 {
            clock.set(ts + HOUR);
            t.flush().unwrap();
        }
    }
    t.close().unwrap();
    clock
}

fn dir_bytes(dir: &Path) -> u64 {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let m = e.metadata().unwrap();
        n += if m.is_dir() {
            dir_bytes(&e.path())
        } else {
            m.len()
        };
    }
    n
}

struct Row {
    what: String,
    flush_ms: f64,
    open_ms: f64,
    snapshot_kb: f64,
    dir_mb: f64,
}

fn history_row(days: i64, label: &str) -> Row {
    let dir = tempfile::tempdir().unwrap();
    let clock = build(dir.path(), days);
    let t = FileBackedTracker::open_with_clock(dir.path(), opts(), clock.clone()).unwrap();
    let ids: Vec<u32> = (0..BRIDGES)
        .map(|b| t.intern_bridge(&format!("provider-{b}/model")).unwrap())
        .collect();
    let mut flushes = Vec::new();
    for _ in 0..9 {
        for &b in &ids {
            t.track_interned(b, Usage::new(10, 2, 12), None, UsageStatus::Success)
                .unwrap();
        }
        let t0 = Instant::now();
        t.flush().unwrap();
        flushes.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    t.close().unwrap();
    let mut opens = Vec::new();
    for _ in 0..5 {
        let t0 = Instant::now();
        let t = FileBackedTracker::open_with_clock(dir.path(), opts(), clock.clone()).unwrap();
        opens.push(t0.elapsed().as_secs_f64() * 1e3);
        assert_eq!(
            t.stats(None).unwrap().total_requests,
            (days * 24 * BRIDGES as i64 + 9 * BRIDGES as i64) as u64
        );
        t.close().unwrap();
    }
    let snap = std::fs::metadata(dir.path().join("llm-usage/usage-stats.json"))
        .unwrap()
        .len();
    Row {
        what: format!("{label}, {BRIDGES} bridges"),
        flush_ms: median(flushes),
        open_ms: median(opens),
        snapshot_kb: snap as f64 / 1e3,
        dir_mb: dir_bytes(dir.path()) as f64 / 1e6,
    }
}

/// A log of about `bytes` (whole lines, in order) that a snapshot already
/// counts, as two years of `persistLogs` leave it.
fn log_row(bytes: u64, label: &str) -> Row {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("llm-usage");
    std::fs::create_dir_all(&root).unwrap();
    let mut w =
        std::io::BufWriter::new(std::fs::File::create(root.join("usage-logs.jsonl")).unwrap());
    let (mut written, mut seq) = (0u64, 0u64);
    while written < bytes {
        seq += 1;
        let ts = START + seq as i64 * 1000;
        let line = format!(
            "{{\"id\":\"llm_log_{seq}_{ts}\",\"timestamp\":\"2025-01-01T00:00:00.000Z\",\"bridgeId\":\"openai/gpt-4o\",\"usage\":{{\"promptTokens\":1000,\"completionTokens\":200,\"totalTokens\":1200}},\"durationMs\":900,\"status\":\"success\"}}\n"
        );
        w.write_all(line.as_bytes()).unwrap();
        written += line.len() as u64;
    }
    w.flush().unwrap();
    drop(w);
    // The snapshot that counts them all.
    let snap = format!(
        "{{\"formatVersion\":1,\"perBridge\":{{}},\"updatedAt\":\"2025-01-01T00:00:00.000Z\",\"nextSeq\":{},\"rollups\":{{\"openai/gpt-4o\":[[{START},{seq},{},{},{},0,{START}]]}}}}",
        seq + 1,
        seq * 1000,
        seq * 200,
        seq * 1200
    );
    std::fs::write(root.join("usage-stats.json"), snap).unwrap();
    let o = TrackerOptions {
        persist_logs: true,
        ..opts()
    };
    // One open: closing would roll the file down to the retained logs.
    let t0 = Instant::now();
    let t = FileBackedTracker::open(dir.path(), o).unwrap();
    let open_ms = t0.elapsed().as_secs_f64() * 1e3;
    assert_eq!(t.stats(None).unwrap().total_requests, seq);
    assert_eq!(t.logs(None).unwrap().len(), (seq as usize).min(10_000));
    std::mem::forget(t);
    Row {
        what: format!("{label} log ({seq} lines), persistLogs"),
        flush_ms: f64::NAN,
        open_ms,
        snapshot_kb: f64::NAN,
        dir_mb: dir_bytes(dir.path()) as f64 / 1e6,
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let mut rows = vec![
        history_row(1, "1 day"),
        history_row(365, "1 year"),
        history_row(730, "2 years"),
    ];
    rows.push(log_row(1 << 20, "1 MB"));
    if quick {
        rows.push(log_row(100 << 20, "100 MB"));
    } else {
        rows.push(log_row(1 << 30, "1 GB"));
    }
    println!(
        "| history | flush (median, ms) | open (median, ms) | snapshot (KB) | directory (MB) |"
    );
    println!("|---|---|---|---|---|");
    let f = |x: f64, p: usize| {
        if x.is_nan() {
            String::new()
        } else {
            format!("{x:.p$}")
        }
    };
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} |",
            r.what,
            f(r.flush_ms, 2),
            f(r.open_ms, 1),
            f(r.snapshot_kb, 1),
            f(r.dir_mb, 1)
        );
    }
}
