//! The Prometheus exposition of a tracker's and a ledger's figures (O1).
//!
//! Cardinality is bounded: at most [`MetricsOptions::top`] bridges (for a
//! tracker) or (provider, model) pairs (for a ledger) get their own
//! series, ranked by lifetime requests, then by name; the rest are summed
//! under the label value [`OTHER`], and
//! `usagebook_metrics_folded_keys` says how many were folded. Lifetime
//! ranks move slowly, so a series rarely moves in or out of `_other`.
//! Every metric is listed in docs/telemetry.md.

use super::ledger_scan::{HoldTotals, KeyTotals, LedgerFigures};
use super::prom::{Kind, Writer};
use crate::health::Health;
use crate::ledger::money::nano_to_usd;
use crate::ledger::LedgerHealth;
use crate::model::UsageStats;
use crate::tracker::UsageTracker;
use crate::Result;
use std::collections::BTreeMap;
use std::path::Path;

/// The label value series past the bound are summed under.
pub const OTHER: &str = "_other";

/// The most series a key may be given (`--top` and the bindings' bound).
pub const MAX_TOP: usize = 10_000;

#[derive(Debug, Clone)]
pub struct MetricsOptions {
    /// Bridges, or (provider, model) pairs, with their own series.
    pub top: usize,
    /// The ledger's daily budget for scope `all`, nano-USD (for the
    /// remaining-budget gauge).
    pub daily_budget_nusd: Option<i64>,
    /// The IANA timezone whose day "today" is.
    pub timezone: String,
}

impl Default for MetricsOptions {
    fn default() -> Self {
        MetricsOptions {
            top: 50,
            daily_budget_nusd: None,
            timezone: "UTC".into(),
        }
    }
}

impl MetricsOptions {
    pub fn validate(&self) -> Result<()> {
        if self.top == 0 || self.top > MAX_TOP {
            return Err(crate::Error::invalid(format!(
                "top must be between 1 and {MAX_TOP}, got {}",
                self.top
            )));
        }
        crate::ledger::day::parse_tz(&self.timezone).map(|_| ())
    }
}

const TOKEN_TYPES: [&str; 5] = ["input", "output", "cache_read", "cache_write", "reasoning"];

fn build_info(w: &mut Writer) {
    w.family(
        "usagebook_build_info",
        Kind::Gauge,
        "The usagebook version that wrote this exposition (always 1).",
    );
    w.sample("usagebook_build_info", &[("version", crate::VERSION)], 1.0);
}

fn folded(w: &mut Writer, what: &str, n: usize) {
    w.family(
        "usagebook_metrics_folded_keys",
        Kind::Gauge,
        "Keys past the series bound, summed under the label value _other.",
    );
    w.sample("usagebook_metrics_folded_keys", &[("key", what)], n as f64);
}

/// Keeps the `top` largest by `rank` (then by key), folding the rest.
fn bound<K: Ord + Clone, V: Clone>(
    items: Vec<(K, V)>,
    top: usize,
    rank: impl Fn(&V) -> u64,
    other: K,
    merge: impl Fn(&mut V, &V),
) -> (Vec<(K, V)>, usize) {
    if items.len() <= top {
        return (items, 0);
    }
    let mut items = items;
    items.sort_by(|a, b| rank(&b.1).cmp(&rank(&a.1)).then_with(|| a.0.cmp(&b.0)));
    let rest = items.split_off(top);
    let n = rest.len();
    let mut acc = rest[0].1.clone();
    for (_, v) in &rest[1..] {
        merge(&mut acc, v);
    }
    items.push((other, acc));
    items.sort_by(|a, b| a.0.cmp(&b.0));
    (items, n)
}

// ------------------------------------------------------------------ tracker

/// The exposition of a running tracker: its lifetime totals (a tracker
/// directory has one owner, so these are the true totals) and its writer.
pub fn tracker_metrics_text<T: UsageTracker + ?Sized>(
    t: &T,
    opts: &MetricsOptions,
) -> Result<String> {
    opts.validate()?;
    let stats = t.bridge_stats()?;
    let mut w = Writer::new();
    build_info(&mut w);
    tracker_totals(&mut w, stats, opts.top);
    tracker_health(&mut w, &t.health());
    Ok(w.finish())
}

/// The exposition of a tracker directory read from disk, as `usagebook
/// report --dir` reads it (read-only, without the lock, while its owner
/// runs): the totals, and what the reader had to say about the files.
pub fn tracker_dir_metrics_text(
    base_dir: impl AsRef<Path>,
    opts: &MetricsOptions,
) -> Result<String> {
    opts.validate()?;
    let r = crate::report::read(base_dir)?;
    let mut w = Writer::new();
    build_info(&mut w);
    tracker_totals(&mut w, r.per_bridge, opts.top);
    w.family(
        "usagebook_tracker_store_replayed_events",
        Kind::Gauge,
        "Events past the snapshot, counted from the log or the journal (a tracker is running or was not closed).",
    );
    w.sample(
        "usagebook_tracker_store_replayed_events",
        &[],
        r.replayed as f64,
    );
    w.family(
        "usagebook_tracker_store_notes",
        Kind::Gauge,
        "Problems reading the tracker directory (an unreadable snapshot, malformed lines, a torn tail).",
    );
    w.sample("usagebook_tracker_store_notes", &[], r.notes.len() as f64);
    Ok(w.finish())
}

fn tracker_totals(w: &mut Writer, stats: Vec<(String, UsageStats)>, top: usize) {
    let (rows, n) = bound(
        stats,
        top,
        |s| s.total_requests,
        OTHER.to_string(),
        |a, b| {
            a.total_requests += b.total_requests;
            a.error_count += b.error_count;
            a.prompt_tokens = a.prompt_tokens.saturating_add(b.prompt_tokens);
            a.completion_tokens = a.completion_tokens.saturating_add(b.completion_tokens);
            a.cache_read_tokens = a.cache_read_tokens.saturating_add(b.cache_read_tokens);
            a.cache_write_tokens = a.cache_write_tokens.saturating_add(b.cache_write_tokens);
            a.reasoning_tokens = a.reasoning_tokens.saturating_add(b.reasoning_tokens);
        },
    );
    let name = "usagebook_tracker_requests_total";
    w.family(
        name,
        Kind::Counter,
        "Calls recorded, per bridge (lifetime).",
    );
    for (b, s) in &rows {
        w.sample(name, &[("bridge", b)], s.total_requests as f64);
    }
    let name = "usagebook_tracker_errors_total";
    w.family(
        name,
        Kind::Counter,
        "Calls recorded with status error, per bridge.",
    );
    for (b, s) in &rows {
        w.sample(name, &[("bridge", b)], s.error_count as f64);
    }
    let name = "usagebook_tracker_tokens_total";
    w.family(
        name,
        Kind::Counter,
        "Tokens per bridge and type: input and output are inclusive totals (GenAI conventions); cache_read and cache_write are parts of input, reasoning of output.",
    );
    for (b, s) in &rows {
        let v = [
            s.prompt_tokens,
            s.completion_tokens,
            s.cache_read_tokens,
            s.cache_write_tokens,
            s.reasoning_tokens,
        ];
        for (ty, v) in TOKEN_TYPES.iter().zip(v) {
            w.sample(name, &[("bridge", b), ("type", ty)], v as f64);
        }
    }
    folded(w, "bridge", n);
}

fn tracker_health(w: &mut Writer, h: &Health) {
    let g = |w: &mut Writer, name: &str, help: &str, v: f64| {
        w.family(name, Kind::Gauge, help);
        w.sample(name, &[], v);
    };
    g(
        w,
        "usagebook_tracker_up",
        "1 while the tracker is open and its writer has no error, else 0.",
        f64::from(u8::from(!h.closed && h.last_error.is_none())),
    );
    g(
        w,
        "usagebook_tracker_queue_depth",
        "Calls recorded in memory, not yet written by the writer.",
        h.queue_depth as f64,
    );
    g(
        w,
        "usagebook_tracker_pending_bytes",
        "Approximate bytes those pending calls take on disk.",
        h.pending_bytes as f64,
    );
    g(
        w,
        "usagebook_tracker_retained_logs",
        "Logs kept in memory (at most maxLogs).",
        h.retained_logs as f64,
    );
    let name = "usagebook_tracker_flushes_total";
    w.family(
        name,
        Kind::Counter,
        "Flushes the writer completed in this process.",
    );
    w.sample(name, &[], h.flush_count as f64);
    if let Some(ms) = h.last_flush_ms {
        g(
            w,
            "usagebook_tracker_last_flush_timestamp_seconds",
            "When the writer last completed a flush (epoch seconds).",
            ms as f64 / 1000.0,
        );
    }
}

// ------------------------------------------------------------------- ledger

/// What a running ledger adds to the database's figures: its own writer.
pub struct LedgerProcess<'a> {
    pub health: &'a LedgerHealth,
}

/// The exposition of a ledger: the database's true totals (`figures`, the
/// same in every process sharing it) and, for a running ledger, this
/// process's writer.
pub fn ledger_metrics_text(
    figures: &LedgerFigures,
    process: Option<LedgerProcess<'_>>,
    opts: &MetricsOptions,
) -> Result<String> {
    opts.validate()?;
    let mut w = Writer::new();
    build_info(&mut w);
    let usd = |n: i64| nano_to_usd(n);
    let (rows, n_keys) = bound(
        {
            // Keys with only open holds are ranked too (with no requests).
            let mut all = figures.keys.clone();
            for k in figures.holds.keys() {
                all.entry(k.clone()).or_default();
            }
            all.into_iter().collect()
        },
        opts.top,
        |t: &KeyTotals| t.requests,
        (OTHER.to_string(), OTHER.to_string()),
        KeyTotals::merge,
    );
    let kept: std::collections::BTreeSet<&(String, String)> = rows
        .iter()
        .map(|(k, _)| k)
        .filter(|k| k.0 != OTHER)
        .collect();
    let pm = |k: &(String, String)| [("provider", k.0.clone()), ("model", k.1.clone())];
    let labels = |l: &[(&'static str, String)]| -> Vec<(&'static str, String)> { l.to_vec() };
    let emit =
        |w: &mut Writer, name: &str, kind: Kind, help: &str, f: &dyn Fn(&KeyTotals) -> f64| {
            w.family(name, kind, help);
            for (k, t) in &rows {
                let l = labels(&pm(k));
                let l: Vec<(&str, &str)> = l.iter().map(|(a, b)| (*a, b.as_str())).collect();
                w.sample(name, &l, f(t));
            }
        };
    emit(
        &mut w,
        "usagebook_ledger_requests_total",
        Kind::Counter,
        "Commits (settled calls) in the ledger database, per provider and model, from every process.",
        &|t| t.requests as f64,
    );
    emit(
        &mut w,
        "usagebook_ledger_errors_total",
        Kind::Counter,
        "Commits with status error, per provider and model.",
        &|t| t.errors as f64,
    );
    let name = "usagebook_ledger_tokens_total";
    w.family(
        name,
        Kind::Counter,
        "Tokens committed per provider, model and type: input and output are inclusive totals (GenAI conventions); cache_read and cache_write are parts of input, reasoning of output.",
    );
    for (k, t) in &rows {
        let v = [t.input, t.output, t.cache_read, t.cache_write, t.reasoning];
        for (ty, v) in TOKEN_TYPES.iter().zip(v) {
            w.sample(
                name,
                &[("provider", &k.0), ("model", &k.1), ("type", ty)],
                v as f64,
            );
        }
    }
    emit(
        &mut w,
        "usagebook_ledger_spend_usd_total",
        Kind::Counter,
        "Spend settled by commits and adjusts, USD, per provider and model (a negative adjust lowers it).",
        &|t| usd(t.spend_nusd),
    );
    emit(
        &mut w,
        "usagebook_ledger_unpriced_spend_usd_total",
        Kind::Counter,
        "The part of that spend settled without a price (at an estimate), USD.",
        &|t| usd(t.unpriced_nusd),
    );
    folded(&mut w, "provider_model", n_keys);

    let name = "usagebook_ledger_events_total";
    w.family(
        name,
        Kind::Counter,
        "Events in the ledger database, per event type.",
    );
    for (ty, n) in &figures.events {
        w.sample(name, &[("type", ty)], *n as f64);
    }

    // Today's spend per scope: `all` and `unpriced` always, provider and
    // model scopes of the kept keys, the rest folded per kind.
    let name = "usagebook_ledger_spend_today_usd";
    w.family(
        name,
        Kind::Gauge,
        "Spend since the start of today (in the ledger's timezone), USD, per budget scope.",
    );
    let mut today: BTreeMap<String, i64> = BTreeMap::new();
    today.insert("all".into(), 0);
    for (scope, n) in &figures.spend_today {
        let keep = match scope.split_once(':') {
            Some(("provider", p)) => kept.iter().any(|k| k.0 == p),
            Some(("model", m)) => kept.iter().any(|k| k.1 == m),
            _ => true,
        };
        let key = match (keep, scope.split_once(':')) {
            (false, Some((kind, _))) => format!("{kind}:{OTHER}"),
            _ => scope.clone(),
        };
        *today.entry(key).or_default() += n;
    }
    for (scope, n) in &today {
        w.sample(name, &[("scope", scope)], usd(*n));
    }
    let spent_all = figures.spend_today.get("all").copied().unwrap_or(0);

    let mut holds: BTreeMap<(String, String), HoldTotals> = BTreeMap::new();
    for (k, h) in &figures.holds {
        let key = if kept.contains(k) {
            k.clone()
        } else {
            (OTHER.to_string(), OTHER.to_string())
        };
        let e = holds.entry(key).or_default();
        e.count += h.count;
        e.amount_nusd += h.amount_nusd;
    }
    let name = "usagebook_ledger_open_holds";
    w.family(
        name,
        Kind::Gauge,
        "Unexpired open holds (reservations), per provider and model.",
    );
    for (k, h) in &holds {
        w.sample(name, &[("provider", &k.0), ("model", &k.1)], h.count as f64);
    }
    let name = "usagebook_ledger_reserved_usd";
    w.family(
        name,
        Kind::Gauge,
        "USD reserved by those holds, per provider and model.",
    );
    for (k, h) in &holds {
        w.sample(
            name,
            &[("provider", &k.0), ("model", &k.1)],
            usd(h.amount_nusd),
        );
    }
    let reserved_all: i64 = figures.holds.values().map(|h| h.amount_nusd).sum();
    if let Some(b) = opts.daily_budget_nusd {
        let name = "usagebook_ledger_daily_budget_usd";
        w.family(name, Kind::Gauge, "The daily budget, USD.");
        w.sample(name, &[("scope", "all")], usd(b));
        let name = "usagebook_ledger_budget_remaining_usd";
        w.family(
            name,
            Kind::Gauge,
            "What is left of today's budget after spend and open reservations, USD (negative when over).",
        );
        w.sample(name, &[("scope", "all")], usd(b - spent_all - reserved_all));
    }
    if let Some(ts) = figures.last_event_s {
        let name = "usagebook_ledger_last_event_timestamp_seconds";
        w.family(
            name,
            Kind::Gauge,
            "When the newest event in the database happened (epoch seconds), from any process.",
        );
        w.sample(name, &[], ts);
    }
    let name = "usagebook_ledger_unreadable_events";
    w.family(
        name,
        Kind::Gauge,
        "Events whose usage or cost could not be read (not summed).",
    );
    w.sample(name, &[], figures.unreadable as f64);
    if let Some(p) = process {
        ledger_health(&mut w, p.health);
    }
    Ok(w.finish())
}

fn ledger_health(w: &mut Writer, h: &LedgerHealth) {
    let name = "usagebook_ledger_writer_up";
    w.family(
        name,
        Kind::Gauge,
        "1 while this process's ledger is open and its writer has no error, else 0.",
    );
    w.sample(
        name,
        &[],
        f64::from(u8::from(!h.closed && h.last_error.is_none())),
    );
    let name = "usagebook_ledger_writer_queue_depth";
    w.family(
        name,
        Kind::Gauge,
        "Events this process queued, not yet committed to the database.",
    );
    w.sample(name, &[], h.queue_depth as f64);
    for (name, help, v) in [
        (
            "usagebook_ledger_writer_events_written_total",
            "Events this process's writer committed.",
            h.events_written,
        ),
        (
            "usagebook_ledger_writer_batches_total",
            "Transactions this process's writer committed.",
            h.batches,
        ),
        (
            "usagebook_ledger_writer_duplicates_total",
            "Events ignored because their id was already in the database.",
            h.duplicates,
        ),
        (
            "usagebook_ledger_writer_rejected_total",
            "Events the writer could not commit.",
            h.rejected,
        ),
        (
            "usagebook_ledger_writer_expired_holds_total",
            "Holds this process expired.",
            h.expired_holds,
        ),
        (
            "usagebook_ledger_writer_rate_limited_total",
            "Reservations of this process refused by a rate limit (R3).",
            h.rate_limited,
        ),
        (
            "usagebook_ledger_writer_rate_limit_waits_total",
            "Waits of this process's reservations for a rate limit (R2).",
            h.rate_limit_waits,
        ),
    ] {
        w.family(name, Kind::Counter, help);
        w.sample(name, &[], v as f64);
    }
    if let Some(ms) = h.last_commit_ms {
        let name = "usagebook_ledger_writer_last_commit_timestamp_seconds";
        w.family(
            name,
            Kind::Gauge,
            "When this process's writer last committed (epoch seconds).",
        );
        w.sample(name, &[], ms as f64 / 1000.0);
    }
}
