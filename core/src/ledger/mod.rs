//! The budget ledger (L1–L12): event-sourced holds, commits, cancels and
//! adjusts on SQLite, with strict and best-effort budgets and pricing.
//!
//! Callers touch memory only (best effort) or wait for the single writer
//! thread (strict prechecks, `sync` writes); one writer thread owns the one
//! SQLite connection of this process (L3). See docs/ledger.md.

pub mod accounts;
pub mod day;
pub mod db;
pub mod event;
mod json;
pub mod money;
pub mod pricing;
pub mod rate;
mod writer;

pub use accounts::Scope;
pub use event::{EventStatus, EventType, LedgerEvent};
pub use json::reserve_json;
pub use pricing::PriceRegistry;

use crate::clock::{SharedClock, SystemClock};
use crate::error::{BudgetExceeded, Error, Result};
use crate::telemetry::observe::{self, CallRecord, CallSource};
use accounts::{Accounts, OpenHold};
use crossbeam_channel::{unbounded, Sender};
use day::DayWindow;
use parking_lot::Mutex;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use writer::{Ack, LCmd, LedgerWriter};

/// L7 / L8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BudgetMode {
    /// Prechecks answer from memory; writes never wait for disk.
    #[default]
    BestEffort,
    /// Check-and-reserve is one database transaction, atomic across
    /// threads and processes, and durable before the call returns.
    StrictBudget,
}

impl BudgetMode {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "best_effort" => Ok(BudgetMode::BestEffort),
            "strict_budget" => Ok(BudgetMode::StrictBudget),
            other => Err(Error::invalid(format!(
                "mode must be \"best_effort\" or \"strict_budget\", got {other:?}"
            ))),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetMode::BestEffort => "best_effort",
            BudgetMode::StrictBudget => "strict_budget",
        }
    }
}

#[derive(Debug, Clone)]
pub struct LedgerOptions {
    pub mode: BudgetMode,
    /// Flush when this many events are queued (L3).
    pub batch_size: usize,
    /// ... or when the oldest queued event is this old.
    pub flush_interval_ms: u64,
    /// Daily budget for scope `"all"`, nano-USD.
    pub daily_budget_nusd: Option<i64>,
    /// IANA name of the timezone whose days `spend_today` counts (X3).
    pub timezone: String,
    /// Holds expire after this long (L9).
    pub hold_ttl_ms: i64,
    /// Prices for commits without an actual cost; `None` = the bundled
    /// LiteLLM snapshot (a registry given here is used as it is: overlay it
    /// on `PriceRegistry::bundled()` to extend the snapshot).
    pub prices: Option<Arc<PriceRegistry>>,
    /// Strict mode refuses a commit on an unpriced model with no estimate
    /// (it would count $0); `true` lets it through, flagged in health.
    pub allow_unpriced: bool,
    /// How long `close` may take to drain the queue (L4).
    pub close_deadline_ms: u64,
    /// Rate limits and whether to wait on them (R1–R3).
    pub rate: rate::RateOptions,
    /// `otlp` (O2): export this process's commits as OTLP/HTTP metrics
    /// (needs the cargo feature `otlp`; docs/telemetry.md).
    pub otlp: Option<crate::telemetry::OtlpOptions>,
}

impl Default for LedgerOptions {
    fn default() -> Self {
        LedgerOptions {
            mode: BudgetMode::BestEffort,
            batch_size: 100,
            flush_interval_ms: 200,
            daily_budget_nusd: None,
            timezone: "UTC".into(),
            hold_ttl_ms: 900_000,
            prices: None,
            allow_unpriced: false,
            close_deadline_ms: 30_000,
            rate: rate::RateOptions::default(),
            otlp: None,
        }
    }
}

/// An open reservation, as `reserve` returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct Hold {
    pub trace_id: String,
    pub event_id: String,
    pub provider: String,
    pub model: String,
    pub profile_id: Option<String>,
    pub amount_nusd: i64,
    pub expires_ms: i64,
}

/// A reservation: what `reserve` takes (R1 adds the token estimate).
#[derive(Debug, Clone, Default)]
pub struct ReserveRequest<'a> {
    pub trace_id: &'a str,
    pub provider: &'a str,
    pub model: &'a str,
    pub estimate_nusd: i64,
    pub profile_id: Option<&'a str>,
    /// Tokens the request sends (counted under `tpm`).
    pub input_tokens: Option<u64>,
    /// The most it may generate (`max_tokens`): the expected output.
    pub max_tokens: Option<u64>,
    /// Or the whole token estimate, instead of input + expected output.
    pub estimate_tokens: Option<u64>,
}

/// X2 for the ledger.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LedgerHealth {
    pub mode: &'static str,
    pub path: PathBuf,
    pub closed: bool,
    pub queue_depth: u64,
    pub events_written: u64,
    pub batches: u64,
    pub duplicates: u64,
    pub rejected: u64,
    pub expired_holds: u64,
    pub open_holds: u64,
    /// Commits settled without a price (at their estimate, maybe $0).
    pub unpriced_commits: u64,
    /// What those commits counted, nano-USD.
    pub unpriced_spend_nusd: i64,
    pub last_commit_ms: Option<i64>,
    pub last_error: Option<String>,
    pub schema_version: u64,
    /// Reservations refused by a rate limit (R3), waits and retries (R2).
    pub rate_limited: u64,
    pub rate_limit_waits: u64,
    /// What opening found worth saying (an empty database file, ...).
    pub notes: Vec<String>,
}

impl LedgerHealth {
    pub fn to_json(&self) -> Value {
        json!({
            "mode": self.mode,
            "path": self.path.display().to_string(),
            "closed": self.closed,
            "queueDepth": self.queue_depth,
            "eventsWritten": self.events_written,
            "batches": self.batches,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "expiredHolds": self.expired_holds,
            "openHolds": self.open_holds,
            "unpricedCommits": self.unpriced_commits,
            "unpricedSpendUsd": crate::ledger::money::nano_to_usd(self.unpriced_spend_nusd),
            "lastCommitAt": self.last_commit_ms.map(crate::timefmt::format_iso_ms),
            "lastError": self.last_error,
            "schemaVersion": self.schema_version,
            "rateLimited": self.rate_limited,
            "rateLimitWaits": self.rate_limit_waits,
            "notes": self.notes,
        })
    }
}

pub(crate) struct LShared {
    pub accounts: Mutex<Accounts>,
    pub health: Mutex<LedgerHealth>,
    pub opts: LedgerOptions,
    pub tz: day::TimeZone,
    pub clock: SharedClock,
    /// The rate options in force (changeable on an open ledger).
    pub rates: Mutex<rate::RateOptions>,
    /// What each open reservation counted under rate limits, by trace: its
    /// commit (from any binding, by `commit` or a written event) corrects
    /// the tokens to the actual count, its cancel to none.
    pub rate_marks: Mutex<std::collections::HashMap<String, rate::RateMark>>,
}

impl LShared {
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
    pub fn today(&self) -> DayWindow {
        day::day_window(self.tz, self.now_ms())
    }
}

/// The input and output tokens of a (normalised) ledger usage.
fn usage_tokens(usage: &Map<String, Value>) -> (u64, u64) {
    if usage.is_empty() {
        return (0, 0);
    }
    match crate::usage::TokenUsage::read(&Value::Object(usage.clone())) {
        Ok(r) => (r.usage.input, r.usage.output),
        Err(_) => (0, 0),
    }
}

fn check_waits(r: &rate::RateOptions) -> Result<()> {
    if r.max_wait_ms < 0 || r.max_wait_ms > crate::limits::MAX_HOLD_TTL_MS {
        return Err(Error::invalid(
            "max_wait_timeout_s must be >= 0 and at most 366 days",
        ));
    }
    if r.retry_budget_ms < 0 || r.retry_budget_ms > crate::limits::MAX_HOLD_TTL_MS {
        return Err(Error::invalid(
            "retry_budget_s must be >= 0 and at most 366 days",
        ));
    }
    Ok(())
}

/// What a commit or an adjust reports to the observers (O2).
fn observed_call(ev: &LedgerEvent, spend: i64, priced: bool, given: bool) -> Option<CallRecord> {
    let event = match ev.event_type {
        EventType::Commit => "commit",
        EventType::Adjust => "adjust",
        _ => return None,
    };
    Some(CallRecord {
        source: CallSource::Ledger,
        event,
        bridge: None,
        provider: ev.provider.clone(),
        model: ev.model.clone(),
        error: ev.status == EventStatus::Error,
        input: ev.usage_u64("input"),
        output: ev.usage_u64("output"),
        cache_read: ev.usage_u64("cache_read"),
        cache_write: ev.usage_u64("cache_write"),
        reasoning: ev.usage_u64("reasoning"),
        cost_usd: Some(money::nano_to_usd(spend)),
        cost_source: Some(if given { "provider" } else { "local" }),
        priced,
    })
}

pub struct Ledger {
    shared: Arc<LShared>,
    tx: Sender<LCmd>,
    writer: Mutex<Option<JoinHandle<()>>>,
    /// The metrics reader (its own read-only connection), opened by the
    /// first `metrics_text`.
    metrics: Mutex<Option<crate::telemetry::LedgerScan>>,
    /// This ledger's share of the process's OTLP exporter (the `otlp`
    /// option), released at close.
    otlp: Mutex<Option<crate::telemetry::OtlpGuard>>,
}

fn closed_err() -> Error {
    Error::Closed
}

impl Ledger {
    pub fn open(path: impl AsRef<Path>, opts: LedgerOptions) -> Result<Ledger> {
        Self::open_with_clock(path, opts, Arc::new(SystemClock))
    }

    /// Opens (creating or migrating) the database, loads today's aggregates
    /// and the open holds (O(keys)), and expires orphaned holds (L9).
    pub fn open_with_clock(
        path: impl AsRef<Path>,
        opts: LedgerOptions,
        clock: SharedClock,
    ) -> Result<Ledger> {
        let path = path.as_ref();
        if path.as_os_str().is_empty() {
            return Err(Error::invalid("path must be a non-empty path"));
        }
        if opts.batch_size == 0 {
            return Err(Error::invalid("batch_size must be >= 1"));
        }
        if opts.flush_interval_ms == 0 {
            return Err(Error::invalid("flush_interval_ms must be >= 1"));
        }
        use crate::limits::{MAX_DAY_NUSD, MAX_HOLD_TTL_MS};
        if opts.hold_ttl_ms <= 0 || opts.hold_ttl_ms > MAX_HOLD_TTL_MS {
            return Err(Error::invalid(format!(
                "hold_ttl_s must be > 0 and at most {} (366 days), got {}",
                MAX_HOLD_TTL_MS / 1000,
                opts.hold_ttl_ms as f64 / 1000.0
            )));
        }
        if opts
            .daily_budget_nusd
            .is_some_and(|b| !(0..=MAX_DAY_NUSD).contains(&b))
        {
            return Err(Error::invalid(format!(
                "daily_budget_usd must be >= 0 and at most {} (the largest day usagebook sums), got {}",
                money::nano_to_usd(MAX_DAY_NUSD),
                money::nano_to_usd(opts.daily_budget_nusd.unwrap_or(0))
            )));
        }
        let tz = day::parse_tz(&opts.timezone)?;
        let mut notes = Vec::new();
        if std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == 0) {
            let wal = PathBuf::from(format!("{}-wal", path.display()));
            if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
                // The main file was emptied under its write-ahead log: what
                // the log holds cannot be applied to nothing. Refuse rather
                // than start over at spend 0.
                return Err(Error::io(
                    format!(
                        "opening ledger database {}: the file is empty but {} is not; the database was damaged (restore it from a backup, or move both files aside to start a new ledger)",
                        path.display(),
                        wal.display()
                    ),
                    std::io::Error::other("empty database file with a write-ahead log"),
                ));
            }
            notes.push(format!(
                "{} was an empty file: opened as a new ledger with no spend (if it held a ledger, restore it from a backup)",
                path.display()
            ));
        }
        let db = db::Db::open(path, opts.mode == BudgetMode::StrictBudget)?;
        let mut accounts = Accounts::default();
        let now = clock.now_ms();
        // Two days back covers "today" in every timezone.
        for (b, s, p, n) in db.load_spend_since(day::bucket_of(now - 2 * 86_400_000))? {
            accounts.load_bucket(b, s, p, n);
        }
        for h in db.load_holds()? {
            accounts.load_hold(h);
        }
        let health = LedgerHealth {
            mode: opts.mode.as_str(),
            path: path.to_path_buf(),
            schema_version: db.schema_version()?,
            notes,
            ..LedgerHealth::default()
        };
        for (i, l) in opts.rate.limits.iter().enumerate() {
            l.validate(&format!("rate_limits[{i}]"))?;
        }
        check_waits(&opts.rate)?;
        let shared = Arc::new(LShared {
            accounts: Mutex::new(accounts),
            health: Mutex::new(health),
            rates: Mutex::new(opts.rate.clone()),
            rate_marks: Mutex::new(Default::default()),
            opts,
            tz,
            clock,
        });
        let otlp = match &shared.opts.otlp {
            Some(o) => Some(crate::telemetry::attach_otlp(o)?),
            None => None,
        };
        let (tx, rx) = unbounded();
        let mut w = LedgerWriter::new(shared.clone(), db, rx);
        w.expire_holds()?; // orphaned holds from an earlier run (L9)
        let handle = std::thread::Builder::new()
            .name("usagebook-ledger".into())
            .spawn(move || w.run())
            .map_err(|e| Error::io("starting the ledger writer thread", e))?;
        Ok(Ledger {
            shared,
            tx,
            writer: Mutex::new(Some(handle)),
            metrics: Mutex::new(None),
            otlp: Mutex::new(otlp),
        })
    }

    pub fn options(&self) -> &LedgerOptions {
        &self.shared.opts
    }

    /// The Prometheus text exposition (O1; docs/telemetry.md): the
    /// database's totals, the same in every process sharing the file (what
    /// is committed: this process's queued events show once written), and
    /// this process's writer. Today and the remaining budget follow the
    /// ledger's timezone and daily budget.
    pub fn metrics_text(&self) -> Result<String> {
        self.metrics_text_with(&crate::telemetry::MetricsOptions {
            daily_budget_nusd: self.shared.opts.daily_budget_nusd,
            timezone: self.shared.opts.timezone.clone(),
            ..Default::default()
        })
    }

    /// [`Ledger::metrics_text`] with its series bound and budget given.
    pub fn metrics_text_with(&self, opts: &crate::telemetry::MetricsOptions) -> Result<String> {
        let health = self.health();
        let figures = {
            let mut g = self.metrics.lock();
            let scan = g.get_or_insert_with(|| crate::telemetry::LedgerScan::new(&health.path));
            scan.read(&opts.timezone, self.shared.now_ms())?
        };
        crate::telemetry::ledger_metrics_text(
            &figures,
            Some(crate::telemetry::exposition::LedgerProcess { health: &health }),
            opts,
        )
    }

    /// Settles what a commit or adjust adds to spend (L6, L12): the actual
    /// cost if given; else the cost of its usage at the model's price; else
    /// (unpriced) the open hold's estimate or the event's own estimate.
    fn settle(&self, ev: &mut LedgerEvent, accounts: &Accounts) -> Result<(i64, bool)> {
        match ev.event_type {
            EventType::Commit => {
                if let Some(a) = ev.cost_actual_nusd {
                    return Ok((a, true));
                }
                let bundled;
                let prices = match &self.shared.opts.prices {
                    Some(p) => p,
                    None => {
                        bundled = PriceRegistry::bundled();
                        &bundled
                    }
                };
                let c = pricing::cost_of(prices, ev);
                if c.priced {
                    ev.cost_actual_nusd = Some(c.nusd);
                    return Ok((c.nusd, true));
                }
                let fallback = accounts
                    .hold(&ev.trace_id)
                    .map_or(ev.cost_est_nusd, |h| h.amount_nusd.max(ev.cost_est_nusd));
                if fallback == 0
                    && self.shared.opts.mode == BudgetMode::StrictBudget
                    && !self.shared.opts.allow_unpriced
                {
                    return Err(Error::invalid(format!(
                        "model {:?} (provider {:?}) has no price and the commit has no estimate: it would count $0 against a strict budget; pass cost_actual_usd, reserve with an estimate, add the model to prices, or open the ledger with allow_unpriced",
                        ev.model, ev.provider
                    )));
                }
                let mut h = self.shared.health.lock();
                h.unpriced_commits += 1;
                h.unpriced_spend_nusd = h.unpriced_spend_nusd.saturating_add(fallback);
                Ok((fallback, false))
            }
            EventType::Adjust => Ok((ev.cost_actual_nusd.unwrap_or(0), true)),
            _ => Ok((0, true)),
        }
    }

    /// Writes an event (L2). Best effort: returns once it is queued (and
    /// counted in memory). A `precheck_hold` is checked against the budget
    /// first. `sync`: returns after the event's batch is committed.
    pub fn write_event(&self, ev: LedgerEvent, sync: bool) -> Result<()> {
        if sync {
            let (tx, rx) = crossbeam_channel::bounded(1);
            self.write_event_then(
                ev,
                true,
                Box::new(move |r| {
                    let _ = tx.send(r);
                }),
            )?;
            rx.recv().map_err(|_| closed_err())?
        } else {
            self.write_event_then(ev, false, Box::new(|_| {}))
        }
    }

    /// Like [`Ledger::write_event`], for event loops: validation and budget
    /// errors are returned at once; the commit result reaches `done` from
    /// the writer thread (at once when not `sync`).
    pub fn write_event_then(&self, ev: LedgerEvent, sync: bool, done: Ack) -> Result<()> {
        self.write_event_inner(ev, sync, done)
    }

    fn write_event_inner(&self, mut ev: LedgerEvent, sync: bool, done: Ack) -> Result<()> {
        ev.normalize_usage()?;
        ev.validate()?;
        if ev.event_type == EventType::PrecheckHold {
            let tokens = rate::reserved_tokens(None, Some(usage_tokens(&ev.usage).0), None);
            return self.reserve_waiting(ev, tokens, sync, done).map(|_| ());
        }
        let acc = self.shared.accounts.lock();
        if acc.closed {
            return Err(closed_err());
        }
        let given_cost = ev.cost_actual_nusd.is_some();
        let (spend, priced) = self.settle(&mut ev, &acc)?;
        self.check_day_bound(&acc, &ev, spend, 0)?;
        let mut eff = acc.effect(&ev, spend, priced, self.shared.opts.hold_ttl_ms);
        let mark = match ev.event_type {
            EventType::Commit | EventType::Cancel => {
                self.shared.rate_marks.lock().remove(&ev.trace_id)
            }
            _ => None,
        };
        if let Some(mark) = mark {
            let (input, output) = usage_tokens(&ev.usage);
            if ev.event_type == EventType::Cancel {
                // Not sent: its tokens are given back (the request stays
                // counted).
                eff.rate_reconcile = Some((mark, 0));
            } else if input + output > 0 {
                // No usage: nothing to correct the estimate with.
                eff.rate_reconcile = Some((mark, input.saturating_add(output)));
            }
        }
        let observed = observe::active()
            .then(|| observed_call(&ev, spend, priced, given_cost))
            .flatten();
        self.apply_and_queue(acc, ev, eff, sync, done)?;
        if let Some(rec) = observed {
            observe::notify(&rec);
        }
        Ok(())
    }

    /// Counts an event in memory and queues it for the writer, under the
    /// accounts lock so the queue order is the order of the counts. `done`
    /// runs after the commit when `sync`, else at once.
    fn apply_and_queue(
        &self,
        mut acc: parking_lot::MutexGuard<'_, Accounts>,
        ev: LedgerEvent,
        eff: accounts::Effect,
        sync: bool,
        done: Ack,
    ) -> Result<()> {
        acc.apply(&eff);
        let (ack, done_now) = if sync {
            (Some(done), None)
        } else {
            (None, Some(done))
        };
        self.shared.health.lock().queue_depth += 1;
        if self
            .tx
            .send(LCmd::Event {
                ev: Box::new(ev),
                eff: eff.clone(),
                ack,
            })
            .is_err()
        {
            acc.revert(&eff);
            self.shared.health.lock().queue_depth -= 1;
            return Err(closed_err());
        }
        drop(acc);
        if let Some(done) = done_now {
            done(Ok(()));
        }
        Ok(())
    }

    fn budget_error(&self, spent: i64, reserved: i64, requested: i64) -> Error {
        Error::BudgetExceeded(Box::new(BudgetExceeded {
            scope: "all".into(),
            window: "day".into(),
            limit_nusd: self.shared.opts.daily_budget_nusd.unwrap_or(0),
            spent_nusd: spent,
            reserved_nusd: reserved,
            requested_nusd: requested,
            reset_at_ms: self.shared.today().end_ms,
        }))
    }

    /// Refuses what would take a day's spend, or the open reservations,
    /// past [`crate::limits::MAX_DAY_NUSD`]: sums then always fit.
    fn check_day_bound(
        &self,
        acc: &Accounts,
        ev: &LedgerEvent,
        add_spend: i64,
        add_hold: i64,
    ) -> Result<()> {
        use crate::limits::MAX_DAY_NUSD;
        let day = day::day_window(self.shared.tz, ev.ts_ms());
        let spent = acc.spend(&Scope::All, None, &day);
        let reserved = acc.reserved(&Scope::All, None, self.shared.now_ms());
        let over = |a: i64, b: i64| (a as i128 + b as i128) > MAX_DAY_NUSD as i128;
        if add_spend > 0 && over(spent, add_spend) {
            return Err(Error::invalid(format!(
                "this event would take the day's spend past {} USD, the most usagebook sums in a day (spent {} USD, adding {} USD)",
                money::nano_to_usd(MAX_DAY_NUSD),
                money::nano_to_usd(spent),
                money::nano_to_usd(add_spend)
            )));
        }
        if add_hold > 0 && over(reserved, add_hold) {
            return Err(Error::invalid(format!(
                "this hold would take open reservations past {} USD (reserved {} USD, adding {} USD)",
                money::nano_to_usd(MAX_DAY_NUSD),
                money::nano_to_usd(reserved),
                money::nano_to_usd(add_hold)
            )));
        }
        Ok(())
    }

    /// A hold under the rate limits (R2): with `wait_on_rate_limit`, a
    /// refusal that can pass within `max_wait_timeout_s` (and, with the
    /// waits before it, within `retry_budget_s`) is a wait on the clock and
    /// a retry, each a `rate_limit_wait` / `rate_limit_retry` event.
    fn reserve_waiting(&self, ev: LedgerEvent, tokens: u64, sync: bool, done: Ack) -> Result<Hold> {
        let opts = self.shared.rates.lock().clone();
        let mut waited_ms = 0i64;
        let mut done = Some(done);
        loop {
            let attempt = self.hold_event(&ev, tokens, &opts.limits, sync, &mut done);
            let refusal = match attempt {
                Err(Error::RateLimited(r)) => r,
                other => return other,
            };
            let wait_ms = refusal
                .retry_after_s
                .map(|s| (s * 1000.0).ceil() as i64)
                .filter(|&w| {
                    opts.wait && w <= opts.max_wait_ms && waited_ms + w <= opts.retry_budget_ms
                });
            let Some(wait_ms) = wait_ms else {
                self.shared.health.lock().rate_limited += 1;
                return Err(Error::RateLimited(refusal));
            };
            self.rate_event(&ev, EventType::RateLimitWait, &refusal, wait_ms, waited_ms)?;
            self.shared.health.lock().rate_limit_waits += 1;
            self.shared.clock.sleep_ms(wait_ms.max(1));
            waited_ms += wait_ms.max(1);
            self.rate_event(&ev, EventType::RateLimitRetry, &refusal, wait_ms, waited_ms)?;
        }
    }

    /// A `rate_limit_wait` or `rate_limit_retry` event of the reservation
    /// `of`: its status names the limit and its scope (`rpm:provider:openai`),
    /// `timing` holds the numbers (window, count, maximum, wait).
    fn rate_event(
        &self,
        of: &LedgerEvent,
        kind: EventType,
        r: &rate::RateLimited,
        wait_ms: i64,
        waited_ms: i64,
    ) -> Result<()> {
        let mut ev = LedgerEvent::new(kind, &of.trace_id, &of.provider, &of.model, self.now_s());
        ev.profile_id = of.profile_id.clone();
        ev.status = EventStatus::Other(format!("{}:{}", r.limit, r.scope));
        let t = &mut ev.timing;
        t.insert("window_s".into(), Value::from(r.window_s));
        t.insert("current".into(), Value::from(r.current));
        t.insert("maximum".into(), Value::from(r.maximum));
        t.insert("wait_ms".into(), Value::from(wait_ms));
        t.insert("waited_ms".into(), Value::from(waited_ms));
        self.write_event(ev, false)
    }

    /// Replaces the rate limits of an open ledger (R1); a reservation in
    /// progress finishes under the limits it started with.
    pub fn set_rate_limits(&self, limits: Vec<rate::RateLimit>) -> Result<()> {
        for (i, l) in limits.iter().enumerate() {
            l.validate(&format!("rate_limits[{i}]"))?;
        }
        self.shared.rates.lock().limits = limits;
        Ok(())
    }

    /// The rate limits in force.
    pub fn rate_limits(&self) -> Vec<rate::RateLimit> {
        self.shared.rates.lock().limits.clone()
    }

    fn hold_event(
        &self,
        ev: &LedgerEvent,
        tokens: u64,
        all_limits: &[rate::RateLimit],
        sync: bool,
        done: &mut Option<Ack>,
    ) -> Result<Hold> {
        self.check_day_bound(&self.shared.accounts.lock(), ev, 0, ev.cost_est_nusd)?;
        let limits: Vec<rate::RateLimit> = all_limits
            .iter()
            .filter(|l| l.applies(&ev.provider, &ev.model, ev.profile_id.as_deref()))
            .cloned()
            .collect();
        let hold = Hold {
            trace_id: ev.trace_id.clone(),
            event_id: ev.id.clone(),
            provider: ev.provider.clone(),
            model: ev.model.clone(),
            profile_id: ev.profile_id.clone(),
            amount_nusd: ev.cost_est_nusd,
            expires_ms: ev.ts_ms().saturating_add(self.shared.opts.hold_ttl_ms),
        };
        let strict = self.shared.opts.mode == BudgetMode::StrictBudget;
        if !strict && limits.is_empty() {
            let acc = self.shared.accounts.lock();
            if acc.closed {
                return Err(closed_err());
            }
            self.best_effort_budget(&acc, hold.amount_nusd)?;
            let eff = acc.effect(ev, 0, true, self.shared.opts.hold_ttl_ms);
            let done = done.take().unwrap_or_else(|| Box::new(|_| {}));
            self.apply_and_queue(acc, ev.clone(), eff, sync, done)?;
            return Ok(hold);
        }
        if !strict {
            // Best effort: the budget from memory, the rate limits in the
            // database (one count for every process).
            self.best_effort_budget(&self.shared.accounts.lock(), hold.amount_nusd)?;
        }
        // The writer commits everything queued, then checks the budget
        // (strict) and the rate limits and holds, in one IMMEDIATE
        // transaction (L7, R1).
        let (tx, rx) = crossbeam_channel::bounded(1);
        let eff = self
            .shared
            .accounts
            .lock()
            .effect(ev, 0, true, self.shared.opts.hold_ttl_ms);
        let rate = (!limits.is_empty()).then_some((limits, tokens));
        self.tx
            .send(LCmd::Reserve {
                ev: Box::new(ev.clone()),
                eff,
                check_budget: strict,
                rate,
                ack: tx,
            })
            .map_err(|_| closed_err())?;
        match rx.recv().map_err(|_| closed_err())? {
            Ok(Ok(mark)) => {
                if let Some(m) = mark {
                    let mut marks = self.shared.rate_marks.lock();
                    // Marks of holds never settled age out with their buckets.
                    let stale = m.second_ms - 120_000;
                    if marks.len() > 1024 {
                        marks.retain(|_, old| old.second_ms >= stale);
                    }
                    marks.insert(ev.trace_id.clone(), m);
                }
                if let Some(d) = done.take() {
                    d(Ok(()));
                }
                Ok(hold)
            }
            Ok(Err(db::Refusal::Budget(spent, reserved))) => {
                Err(self.budget_error(spent, reserved, hold.amount_nusd))
            }
            Ok(Err(db::Refusal::Rate(r))) => Err(Error::RateLimited(r)),
            Err(e) => Err(e),
        }
    }

    fn best_effort_budget(&self, acc: &Accounts, amount_nusd: i64) -> Result<()> {
        if let Some(limit) = self.shared.opts.daily_budget_nusd {
            let now = self.shared.now_ms();
            let spent = acc.spend(&Scope::All, None, &self.shared.today());
            let reserved = acc.reserved(&Scope::All, None, now);
            if spent + reserved + amount_nusd > limit {
                return Err(self.budget_error(spent, reserved, amount_nusd));
            }
        }
        Ok(())
    }

    /// Reserves `estimate` for a trace (L6, L7): a `precheck_hold` event,
    /// refused with [`Error::BudgetExceeded`] if it would pass the daily
    /// budget. In strict mode it is durable when this returns.
    pub fn reserve(
        &self,
        trace_id: &str,
        provider: &str,
        model: &str,
        estimate_nusd: i64,
        profile_id: Option<&str>,
    ) -> Result<Hold> {
        if estimate_nusd < 0 {
            // Named as the bindings' argument, not the event's field.
            return Err(Error::invalid("estimate_usd must be >= 0"));
        }
        let mut ev = LedgerEvent::new(
            EventType::PrecheckHold,
            trace_id,
            provider,
            model,
            self.now_s(),
        );
        ev.cost_est_nusd = estimate_nusd;
        ev.profile_id = profile_id.map(str::to_string);
        ev.validate()?;
        let tokens = rate::reserved_tokens(None, None, None);
        self.reserve_waiting(ev, tokens, false, Box::new(|_| {}))
    }

    /// [`Ledger::reserve`] with the request's tokens, for rate limits (R1):
    /// `tpm` counts `estimate_tokens`, else `input_tokens` plus
    /// `max_tokens` (else [`rate::DEFAULT_OUTPUT_TOKENS`]).
    pub fn reserve_with(&self, r: &ReserveRequest<'_>) -> Result<Hold> {
        if r.estimate_nusd < 0 {
            return Err(Error::invalid("estimate_usd must be >= 0"));
        }
        let mut ev = LedgerEvent::new(
            EventType::PrecheckHold,
            r.trace_id,
            r.provider,
            r.model,
            self.now_s(),
        );
        ev.cost_est_nusd = r.estimate_nusd;
        ev.profile_id = r.profile_id.map(str::to_string);
        ev.validate()?;
        let tokens = rate::reserved_tokens(r.estimate_tokens, r.input_tokens, r.max_tokens);
        self.reserve_waiting(ev, tokens, false, Box::new(|_| {}))
    }

    fn now_s(&self) -> f64 {
        self.shared.now_ms() as f64 / 1000.0
    }

    /// Settles a hold: spend becomes the actual cost (given, or priced from
    /// `usage`), the reservation is released (L6).
    pub fn commit(
        &self,
        hold: &Hold,
        usage: Map<String, Value>,
        cost_actual_nusd: Option<i64>,
        sync: bool,
    ) -> Result<()> {
        let mut ev = LedgerEvent::new(
            EventType::Commit,
            &hold.trace_id,
            &hold.provider,
            &hold.model,
            self.now_s(),
        );
        ev.usage = usage;
        ev.cost_est_nusd = hold.amount_nusd;
        ev.cost_actual_nusd = cost_actual_nusd;
        ev.profile_id = hold.profile_id.clone();
        self.write_event(ev, sync)
    }

    /// Releases a hold without spend.
    pub fn cancel(&self, hold: &Hold, sync: bool) -> Result<()> {
        let mut ev = LedgerEvent::new(
            EventType::Cancel,
            &hold.trace_id,
            &hold.provider,
            &hold.model,
            self.now_s(),
        );
        ev.status = EventStatus::Cancelled;
        ev.profile_id = hold.profile_id.clone();
        self.write_event(ev, sync)
    }

    fn query(&self, scope: &Scope, profile: Option<&str>, reserved: bool) -> Result<i64> {
        if self.shared.opts.mode == BudgetMode::StrictBudget {
            let (tx, rx) = crossbeam_channel::bounded(1);
            self.tx
                .send(LCmd::Query {
                    scope: scope.clone(),
                    profile: profile.map(str::to_string),
                    reserved,
                    ack: tx,
                })
                .map_err(|_| closed_err())?;
            return rx.recv().map_err(|_| closed_err())?;
        }
        let acc = self.shared.accounts.lock();
        if acc.closed {
            return Err(closed_err());
        }
        Ok(if reserved {
            acc.reserved(scope, profile, self.shared.now_ms())
        } else {
            acc.spend(scope, profile, &self.shared.today())
        })
    }

    /// Settled spend since the start of today in the ledger's timezone
    /// (L6). Best effort: from memory, never waits for I/O (L8). Strict:
    /// from the database after committing everything queued.
    pub fn spend_today(&self, scope: &Scope, profile: Option<&str>) -> Result<i64> {
        self.query(scope, profile, false)
    }

    /// What open, unexpired holds reserve now (reported apart from spend).
    pub fn reserved_today(&self, scope: &Scope, profile: Option<&str>) -> Result<i64> {
        self.query(scope, profile, true)
    }

    /// Commits everything queued; returns when it is durable.
    pub fn flush(&self) -> Result<()> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        self.tx.send(LCmd::Flush(tx)).map_err(|_| closed_err())?;
        rx.recv().map_err(|_| closed_err())?
    }

    /// Drains the queue (bounded by `close_deadline_ms`, L4), stops the
    /// writer. Later calls fail with "closed"; closing twice is fine.
    pub fn close(&self) -> Result<()> {
        let Some(handle) = self.writer.lock().take() else {
            return Ok(());
        };
        // Every write that got in before this line is in the channel ahead
        // of `Close` and is drained; every later one is refused (L4).
        self.shared.accounts.lock().closed = true;
        let (tx, rx) = crossbeam_channel::bounded(1);
        let res = match self.tx.send(LCmd::Close(tx)) {
            Ok(()) => rx.recv().unwrap_or(Ok(())),
            Err(_) => Ok(()),
        };
        let _ = handle.join();
        self.shared.health.lock().closed = true;
        // The exporter's last holder exports what this ledger committed.
        self.otlp.lock().take();
        res
    }

    pub fn health(&self) -> LedgerHealth {
        let mut h = self.shared.health.lock().clone();
        h.open_holds = self.shared.accounts.lock().open_holds() as u64;
        h
    }

    /// The hold currently open for a trace, if any (this process's view).
    pub fn open_hold(&self, trace_id: &str) -> Option<Hold> {
        self.shared
            .accounts
            .lock()
            .hold(trace_id)
            .map(|h: &OpenHold| Hold {
                trace_id: h.trace_id.clone(),
                event_id: h.event_id.clone(),
                provider: h.provider.clone(),
                model: h.model.clone(),
                profile_id: (!h.profile_id.is_empty()).then(|| h.profile_id.clone()),
                amount_nusd: h.amount_nusd,
                expires_ms: h.expires_ms,
            })
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        let _ = self.close();
    }
}
