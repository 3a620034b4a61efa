//! Criterion micro-benchmarks of the core tracker, each next to the seed
//! algorithm measured in the same run. Run: `cargo bench -p usagebook-core --bench tracker`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use usagebook_core::{
    FileBackedTracker, InMemoryTracker, NewUsageLog, TrackerOptions, Usage, UsageTracker,
};

#[path = "seed_baseline.rs"]
mod seed_baseline;
use seed_baseline::SeedTracker;

const BRIDGES: [&str; 4] = ["openai", "anthropic", "local", "azure"];

fn log(i: u64) -> NewUsageLog<'static> {
    NewUsageLog::new(
        BRIDGES[(i % 4) as usize],
        Usage::new(i % 500, i % 300, i % 500 + i % 300),
    )
}

fn bench_track(c: &mut Criterion) {
    let mut g = c.benchmark_group("track");
    let t = InMemoryTracker::new(10_000).unwrap();
    for i in 0..20_000 {
        t.track(&log(i)).unwrap();
    }
    let mut i = 0u64;
    g.bench_function("usagebook_at_cap", |b| {
        b.iter(|| {
            i += 1;
            t.track(black_box(&log(i))).unwrap()
        })
    });
    let mut seed = SeedTracker::default();
    for i in 0..20_000 {
        seed.track(BRIDGES[i % 4], 1, 1, 0);
    }
    g.bench_function("seed_at_cap", |b| {
        b.iter(|| {
            i += 1;
            seed.track(
                BRIDGES[(i % 4) as usize],
                i % 500,
                i % 300,
                1_736_000_000_000,
            )
        })
    });
    g.finish();
}

fn bench_stats(c: &mut Criterion) {
    let mut g = c.benchmark_group("stats_10k_logs");
    let t = InMemoryTracker::new(10_000).unwrap();
    let mut seed = SeedTracker::default();
    for i in 0..10_000u64 {
        t.track(&log(i)).unwrap();
        seed.track(
            BRIDGES[(i % 4) as usize],
            i % 500,
            i % 300,
            1_736_000_000_000 + i as i64,
        );
    }
    g.bench_function("usagebook_one_bridge", |b| {
        b.iter(|| t.stats(black_box(Some("openai"))).unwrap())
    });
    g.bench_function("usagebook_all", |b| {
        b.iter(|| t.stats(black_box(None)).unwrap())
    });
    g.bench_function("seed_one_bridge", |b| {
        b.iter(|| seed.stats(black_box(Some("openai"))))
    });
    g.bench_function("seed_all", |b| b.iter(|| seed.stats(black_box(None))));
    g.finish();
}

fn bench_snapshot(c: &mut Criterion) {
    // A month of hourly history for 10 bridges: 7 200 rollup buckets.
    let dir = tempfile::tempdir().unwrap();
    let clock = usagebook_core::ManualClock::new(1_736_000_000_000);
    let opts = TrackerOptions {
        flush_every_n_logs: 1_000_000_000,
        ..TrackerOptions::default()
    };
    let t =
        FileBackedTracker::open_with_clock(dir.path(), opts, std::sync::Arc::new(clock.clone()))
            .unwrap();
    let names: Vec<String> = (0..10).map(|i| format!("bridge-{i}")).collect();
    for _hour in 0..720 {
        for n in &names {
            t.track(&NewUsageLog::new(n, Usage::new(1, 1, 2))).unwrap();
        }
        clock.advance(3_600_000);
    }
    t.flush().unwrap();
    let mut g = c.benchmark_group("snapshot");
    g.sample_size(20);
    g.bench_function("flush_one_event_7200_buckets", |b| {
        b.iter(|| {
            t.track(&log(1)).unwrap();
            t.flush().unwrap()
        })
    });
    g.finish();
    t.close().unwrap();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(300))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = bench_track, bench_stats, bench_snapshot
}
criterion_main!(benches);
