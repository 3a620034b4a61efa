//! `usagebook demo`: a realistic, reproducible workload recorded through a
//! real `FileBackedTracker` (with `persistLogs`), with a restart in the
//! middle, and a check that every total survived it (T9).

use crate::Failure;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use usagebook_core::report::grouped::{self, GroupBy, Query};
use usagebook_core::report::render::{self, OutputFormat};
use usagebook_core::{
    report, FileBackedTracker, NewUsageLog, TrackerOptions, Usage, UsageStats, UsageStatus,
    UsageTracker,
};

/// One simulated model endpoint.
struct Bridge {
    id: &'static str,
    /// Relative share of the traffic.
    weight: u64,
    prompt: (u64, u64),
    completion: (u64, u64),
    /// Latency: fixed part plus per generated token, in ms.
    base_ms: f64,
    per_token_ms: f64,
    /// Errors per thousand requests.
    errors_per_mille: u64,
}

const BRIDGES: [Bridge; 3] = [
    Bridge {
        id: "openai/gpt-4o",
        weight: 5,
        prompt: (150, 6_000),
        completion: (40, 1_200),
        base_ms: 350.0,
        per_token_ms: 12.0,
        errors_per_mille: 20,
    },
    Bridge {
        id: "anthropic/claude-sonnet-4-5",
        weight: 3,
        prompt: (400, 12_000),
        completion: (80, 1_800),
        base_ms: 500.0,
        per_token_ms: 15.0,
        errors_per_mille: 30,
    },
    Bridge {
        id: "ollama/llama3.1",
        weight: 2,
        prompt: (60, 2_500),
        completion: (20, 700),
        base_ms: 80.0,
        per_token_ms: 28.0,
        errors_per_mille: 50,
    },
];

/// xorshift64*: tiny, deterministic, good enough for a demo.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // Mix the seed so that 0 and small seeds still give a busy state.
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// Skewed towards `lo`: most requests are short, a few are long.
    fn skewed(&mut self, (lo, hi): (u64, u64)) -> u64 {
        let u = self.unit();
        lo + ((hi - lo) as f64 * u * u) as u64
    }
}

struct Event {
    bridge: &'static str,
    usage: Usage,
    duration_ms: f64,
    status: UsageStatus,
}

fn next_event(rng: &mut Rng) -> Event {
    let total_weight: u64 = BRIDGES.iter().map(|b| b.weight).sum();
    let mut pick = rng.below(total_weight);
    let b = BRIDGES
        .iter()
        .find(|b| {
            if pick < b.weight {
                true
            } else {
                pick -= b.weight;
                false
            }
        })
        .unwrap_or(&BRIDGES[0]);
    let prompt = rng.skewed(b.prompt);
    let failed = rng.below(1000) < b.errors_per_mille;
    // A failed call is billed for its prompt only and fails fast-ish.
    let completion = if failed { 0 } else { rng.skewed(b.completion) };
    let jitter = 0.8 + 0.4 * rng.unit();
    let duration = (b.base_ms + b.per_token_ms * completion as f64) * jitter;
    Event {
        bridge: b.id,
        usage: Usage::new(prompt, completion, prompt + completion),
        duration_ms: (duration * 10.0).round() / 10.0,
        status: if failed {
            UsageStatus::Error
        } else {
            UsageStatus::Success
        },
    }
}

/// The counters we can predict exactly (timestamps come from the clock).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    requests: u64,
    prompt: u64,
    completion: u64,
    total: u64,
    errors: u64,
}

impl Counts {
    fn of(s: &UsageStats) -> Self {
        Counts {
            requests: s.total_requests,
            prompt: s.prompt_tokens,
            completion: s.completion_tokens,
            total: s.total_tokens,
            errors: s.error_count,
        }
    }
    fn add(&mut self, e: &Event) {
        self.requests += 1;
        self.prompt += e.usage.prompt_tokens;
        self.completion += e.usage.completion_tokens;
        self.total += e.usage.total_tokens;
        self.errors += u64::from(e.status == UsageStatus::Error);
    }
}

type Expected = BTreeMap<String, Counts>;

fn track_phase(
    t: &FileBackedTracker,
    rng: &mut Rng,
    n: u64,
    expected: &mut Expected,
) -> Result<u64, Failure> {
    let mut errors = 0;
    for _ in 0..n {
        let e = next_event(rng);
        t.track(&NewUsageLog {
            bridge_id: e.bridge,
            usage: e.usage,
            duration_ms: Some(e.duration_ms),
            status: e.status,
        })?;
        errors += u64::from(e.status == UsageStatus::Error);
        expected.entry(e.bridge.to_string()).or_default().add(&e);
    }
    Ok(errors)
}

/// Usage as the provider SDKs return it: an OpenAI Chat Completions
/// response and an Anthropic Messages usage (whose `input_tokens` leaves
/// out the cache), priced with the bundled LiteLLM prices.
fn sdk_call(rng: &mut Rng, i: u64) -> (&'static str, &'static str, serde_json::Value) {
    let prompt = 2_000 + rng.below(30_000);
    let cached = prompt * rng.below(80) / 100;
    let out = 200 + rng.below(1_500);
    if i.is_multiple_of(2) {
        let v = serde_json::json!({"model": "gpt-4o-2024-08-06", "object": "chat.completion",
            "usage": {"prompt_tokens": prompt, "completion_tokens": out, "total_tokens": prompt + out,
                "prompt_tokens_details": {"cached_tokens": cached}}});
        ("openai", "gpt-4o", v)
    } else {
        let written = (prompt - cached) / 2;
        let v = serde_json::json!({"input_tokens": prompt - cached - written, "output_tokens": out,
            "cache_read_input_tokens": cached, "cache_creation_input_tokens": written});
        ("anthropic", "claude-sonnet-4-5", v)
    }
}

/// A strict daily budget on the budget ledger (`<dir>/ledger.db`): calls
/// are reserved, committed with their SDK usage (priced as LiteLLM prices
/// them) until a reservation would pass the budget and is refused.
fn budget_phase(out: &mut impl Write, dir: &Path, rng: &mut Rng) -> Result<(), Failure> {
    use usagebook_core::ledger::money::{nano_to_usd, usd_to_nano};
    use usagebook_core::ledger::{BudgetMode, Ledger, LedgerOptions, Scope};
    let path = dir.join("ledger.db");
    // Today's earlier demo runs already spent some: the budget is $0.25 on
    // top of that, so every run shows a refusal.
    let earlier = {
        let l = Ledger::open(&path, LedgerOptions::default())?;
        let s = l.spend_today(&Scope::All, None)?;
        l.close()?;
        s
    };
    let budget = earlier + usd_to_nano(0.25, "budget")?;
    let opts = LedgerOptions {
        mode: BudgetMode::StrictBudget,
        daily_budget_nusd: Some(budget),
        ..LedgerOptions::default()
    };
    let l = Ledger::open(&path, opts)?;
    writeln!(
        out,
        "budget: strict daily budget ${:.4} on {} (${:.4} spent today before this run)",
        nano_to_usd(budget),
        path.display(),
        nano_to_usd(earlier)
    )?;
    // Above what one of these calls can cost, so spend stays within the
    // budget: a hold reserves the worst case, the commit settles the truth.
    let estimate = usd_to_nano(0.15, "estimate")?;
    for i in 0.. {
        let (provider, model, usage) = sdk_call(rng, i);
        let trace = format!("demo-{}-{i}", std::process::id());
        match l.reserve(&trace, provider, model, estimate, None) {
            Ok(hold) => {
                let before = l.spend_today(&Scope::All, None)?;
                let map = usage.as_object().cloned().unwrap_or_default();
                l.commit(&hold, map, None, false)?;
                let cost = l.spend_today(&Scope::All, None)? - before;
                writeln!(
                    out,
                    "  call {}: {model:<17} reserved $0.15, cost ${:.6}",
                    i + 1,
                    nano_to_usd(cost)
                )?;
            }
            Err(usagebook_core::Error::BudgetExceeded(b)) => {
                writeln!(
                    out,
                    "  call {}: refused: spent ${:.6} + reserved ${:.6} + requested ${:.6} > budget ${:.6}",
                    i + 1,
                    nano_to_usd(b.spent_nusd),
                    nano_to_usd(b.reserved_nusd),
                    nano_to_usd(b.requested_nusd),
                    nano_to_usd(b.limit_nusd)
                )?;
                break;
            }
            Err(e) => return Err(e.into()),
        }
    }
    writeln!(
        out,
        "budget: ${:.6} spent today; `usagebook report --db {}` shows it by model",
        nano_to_usd(l.spend_today(&Scope::All, None)?),
        path.display()
    )?;
    l.close()?;
    Ok(())
}

/// Everything a tracker shows, per bridge (by the expected bridge list) and
/// overall.
fn snapshot_view(t: &FileBackedTracker, expected: &Expected) -> Result<Vec<UsageStats>, Failure> {
    let mut v = Vec::with_capacity(expected.len() + 1);
    for b in expected.keys() {
        v.push(t.stats(Some(b))?);
    }
    v.push(t.stats(None)?);
    Ok(v)
}

/// Differences between what was shown/expected and what is shown now.
fn differences(before: &[UsageStats], after: &[UsageStats], expected: &Expected) -> Vec<String> {
    let mut overall = Counts::default();
    for c in expected.values() {
        overall.requests += c.requests;
        overall.prompt += c.prompt;
        overall.completion += c.completion;
        overall.total += c.total;
        overall.errors += c.errors;
    }
    let wanted = expected
        .iter()
        .map(|(name, c)| (name.as_str(), *c))
        .chain([("all bridges", overall)]);
    let mut diffs = Vec::new();
    for (i, (name, want)) in wanted.enumerate() {
        let found = Counts::of(&after[i]);
        if found != want {
            diffs.push(format!("{name}: expected {want:?}, found {found:?}"));
        } else if before[i] != after[i] {
            diffs.push(format!("{name}: was {:?}, now {:?}", before[i], after[i]));
        }
    }
    diffs
}

fn yes_no(diffs: &[String]) -> &'static str {
    if diffs.is_empty() {
        "yes"
    } else {
        "NO"
    }
}

pub fn run(
    out: &mut impl Write,
    dir: &Path,
    events: u64,
    seed: u64,
    git_sync: Option<usagebook_core::gitsync::GitSyncConfig>,
) -> Result<(), Failure> {
    let opts = TrackerOptions {
        persist_logs: true,
        git_sync,
        ..TrackerOptions::default()
    };
    let start = std::time::Instant::now();
    let existing = report::read(dir)?;
    let mut expected: Expected = existing
        .per_bridge
        .iter()
        .map(|(b, s)| (b.clone(), Counts::of(s)))
        .collect();
    writeln!(
        out,
        "demo: {events} events into {} (persistLogs: true, seed {seed})",
        existing.dir.display()
    )?;
    if !existing.is_empty() {
        writeln!(
            out,
            "the directory already has {} requests over {} bridges: adding to them",
            existing.total.total_requests,
            existing.per_bridge.len()
        )?;
    }

    let mut rng = Rng::new(seed);
    let phase1 = events * 3 / 5;
    let phase2 = events - phase1;

    let t = FileBackedTracker::open(dir, opts.clone())?;
    let errors1 = track_phase(&t, &mut rng, phase1, &mut expected)?;
    writeln!(
        out,
        "phase 1: {phase1} events over {} bridges, {errors1} errors",
        BRIDGES.len()
    )?;
    let before = snapshot_view(&t, &expected)?;
    t.close()?;
    drop(t);
    writeln!(
        out,
        "restart: closed the tracker (final flush) and reopened it"
    )?;
    let t = FileBackedTracker::open(dir, opts)?;
    for note in t.health().recovery {
        writeln!(out, "  recovery: {note}")?;
    }
    let after = snapshot_view(&t, &expected)?;
    let diffs = differences(&before, &after, &expected);
    writeln!(out, "totals after reopen match: {}", yes_no(&diffs))?;
    if !diffs.is_empty() {
        return Err(Failure::Message(format!(
            "totals after the restart differ from what was tracked: {}",
            diffs.join("; ")
        )));
    }

    let errors2 = track_phase(&t, &mut rng, phase2, &mut expected)?;
    writeln!(out, "phase 2: {phase2} events, {errors2} errors")?;
    let before = snapshot_view(&t, &expected)?;
    t.close()?;
    drop(t);

    let final_report = report::read(dir)?;
    let mut on_disk: Vec<UsageStats> = expected
        .keys()
        .map(|b| final_report.bridge(b).copied().unwrap_or_default())
        .collect();
    on_disk.push(final_report.total);
    let mut diffs = differences(&before, &on_disk, &expected);
    if final_report.per_bridge.len() != expected.len() {
        diffs.push(format!(
            "{} bridges on disk, {} expected",
            final_report.per_bridge.len(),
            expected.len()
        ));
    }
    writeln!(
        out,
        "closed: totals on disk match what was tracked: {}",
        yes_no(&diffs)
    )?;
    if !diffs.is_empty() {
        return Err(Failure::Message(format!(
            "totals on disk differ from what was tracked: {}",
            diffs.join("; ")
        )));
    }
    budget_phase(out, dir, &mut rng)?;
    writeln!(
        out,
        "done in {} ms; `usagebook report --dir {}` shows:",
        start.elapsed().as_millis(),
        dir.display()
    )?;
    writeln!(out)?;
    let table = grouped::from_dir(dir, &Query::new(GroupBy::Bridge))?;
    write!(out, "{}", render::grouped(&table, OutputFormat::Table))?;
    Ok(())
}
