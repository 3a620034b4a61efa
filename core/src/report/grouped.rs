//! Grouped usage reports (`usagebook report --by ...`): requests, errors,
//! tokens by kind and cost, per day, month, bridge, model or provider,
//! with a totals row, over any store usagebook writes:
//!
//! - an event log (`--log`): every request event, exact;
//! - a tracker directory (`--dir`): its lifetime history, kept per hour per
//!   bridge (plus the events logged after the last snapshot, exact), so
//!   days in a zone whose offset is not a whole number of hours are exact
//!   only to the hour (a note says so);
//! - the ledger's SQLite database (`--db`): its commits (requests, tokens,
//!   settled cost) and adjusts (cost corrections), read-only.
//!
//! Groups: `bridge` as recorded; `provider` and `model` as recorded, else
//! taken from a bridge id of the form `provider/model`; else `unknown`.
//! Rows are sorted by key. Reading a log never fails on a bad line: blank,
//! malformed and duplicate lines are skipped and counted (E3, E5).
//!
//! Cost (U6): a request of an event log that carries its own `cost_usd`
//! costs that; one that does not is priced from its tokens and model with
//! a price registry (the bundled LiteLLM snapshot unless told otherwise).
//! A request neither recorded nor priced is *unpriced*: counted per row,
//! left out of the sums and named in a note, never $0 (U3).

use crate::error::{Error, Result};
use crate::eventlog::{rfc3339, LineCounts, LineOutcome, Tokens};
use crate::pricing::PriceRegistry;
use crate::report::zone::{self, DayCache, Zone};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What rows a report has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Day,
    Month,
    Bridge,
    Model,
    Provider,
    /// The device of a git sync repository's events (`report --git`):
    /// only [`crate::gitsync::report`] produces it.
    Device,
}

impl GroupBy {
    pub const ALL: [GroupBy; 5] = [
        GroupBy::Day,
        GroupBy::Month,
        GroupBy::Bridge,
        GroupBy::Model,
        GroupBy::Provider,
    ];

    pub fn parse(s: &str) -> Result<GroupBy> {
        GroupBy::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "cannot group by {s:?}: use one of day, month, bridge, model, provider (or subject for an event log's records)"
                ))
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Day => "day",
            GroupBy::Month => "month",
            GroupBy::Bridge => "bridge",
            GroupBy::Model => "model",
            GroupBy::Provider => "provider",
            GroupBy::Device => "device",
        }
    }
}

/// What to report: grouping, time window `[since, until)` (UTC ns) and the
/// zone days and months are taken in.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub by: GroupBy,
    pub since_ns: Option<i64>,
    pub until_ns: Option<i64>,
    pub zone: Zone,
}

impl Query {
    pub fn new(by: GroupBy) -> Self {
        Query {
            by,
            since_ns: None,
            until_ns: None,
            zone: Zone::Utc,
        }
    }

    fn admits(&self, ts_ns: i64) -> bool {
        self.since_ns.is_none_or(|s| ts_ns >= s) && self.until_ns.is_none_or(|u| ts_ns < u)
    }
}

/// The sums of one row (or of the totals row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sums {
    pub requests: u64,
    pub errors: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub reasoning_tokens: u64,
    /// Part of `input_tokens`: read from the prompt cache.
    pub cache_read_tokens: u64,
    /// Part of `input_tokens`: written to the prompt cache.
    pub cache_write_tokens: u64,
    pub total_tokens: u64,
    /// Sum of the known costs, nano-USD.
    pub cost_nano_usd: i128,
    /// Requests whose cost is known; the others are unpriced.
    pub priced_requests: u64,
    /// Latest request time (UTC ns).
    pub last_ns: Option<i64>,
}

impl Sums {
    fn merge(&mut self, o: &Sums) {
        self.requests = self.requests.saturating_add(o.requests);
        self.errors = self.errors.saturating_add(o.errors);
        self.input_tokens = self.input_tokens.saturating_add(o.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(o.output_tokens);
        self.reasoning_tokens = self.reasoning_tokens.saturating_add(o.reasoning_tokens);
        self.cache_read_tokens = self.cache_read_tokens.saturating_add(o.cache_read_tokens);
        self.cache_write_tokens = self.cache_write_tokens.saturating_add(o.cache_write_tokens);
        self.total_tokens = self.total_tokens.saturating_add(o.total_tokens);
        self.cost_nano_usd = self.cost_nano_usd.saturating_add(o.cost_nano_usd);
        self.priced_requests = self.priced_requests.saturating_add(o.priced_requests);
        self.last_ns = self.last_ns.max(o.last_ns);
    }

    /// Requests with no known cost.
    pub fn unpriced_requests(&self) -> u64 {
        self.requests - self.priced_requests.min(self.requests)
    }

    /// The cost, `None` when no request of the row has a known cost.
    pub fn cost_nano(&self) -> Option<i128> {
        (self.priced_requests > 0 || self.cost_nano_usd != 0).then_some(self.cost_nano_usd)
    }
}

/// One row: its key (`2025-01-04`, `2025-01`, a bridge, model or provider)
/// and its sums.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub key: String,
    pub sums: Sums,
}

/// Which store a report read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreKind {
    /// An event log file.
    Log,
    /// A tracker's base directory.
    Dir,
    /// The ledger database.
    Db,
}

impl StoreKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            StoreKind::Log => "log",
            StoreKind::Dir => "dir",
            StoreKind::Db => "db",
        }
    }
}

/// A grouped report.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupedReport {
    pub query: Query,
    pub store: StoreKind,
    /// The file or directory read.
    pub path: PathBuf,
    /// False when it does not exist (the report is then empty).
    pub exists: bool,
    pub rows: Vec<Row>,
    pub total: Sums,
    /// Lines of an event log: read, blank, malformed, duplicate.
    pub lines: LineCounts,
    /// Events of an event log that are not requests (seed-004 subject
    /// events, kinds this version does not know): see `--by subject`.
    pub other_events: u64,
    /// Everything worth telling the reader: skipped lines, approximate
    /// days, unpriced requests, what a tracker's recovery would repair.
    pub notes: Vec<String>,
}

impl GroupedReport {
    pub fn is_empty(&self) -> bool {
        self.total.requests == 0
    }
}

/// One request (or an hour of them) going into a report.
#[derive(Debug, Clone, Copy)]
pub struct Sample<'a> {
    pub ts_ns: i64,
    pub bridge: Option<&'a str>,
    pub provider: Option<&'a str>,
    pub model: Option<&'a str>,
    pub sums: Sums,
}

/// Folds samples into rows.
#[derive(Debug)]
pub struct Aggregator {
    query: Query,
    days: DayCache,
    by_num: BTreeMap<i64, Sums>,
    by_text: HashMap<Box<str>, Sums, std::hash::BuildHasherDefault<KeyHasher>>,
    /// Requests left out by `--since` / `--until`.
    pub outside_window: u64,
}

impl Aggregator {
    pub fn new(query: Query) -> Self {
        Aggregator {
            days: DayCache::new(query.zone),
            query,
            by_num: BTreeMap::new(),
            by_text: HashMap::default(),
            outside_window: 0,
        }
    }

    pub fn add(&mut self, s: &Sample<'_>) {
        if !self.query.admits(s.ts_ns) {
            self.outside_window += s.sums.requests;
            return;
        }
        let text: Cow<'_, str> = match self.query.by {
            GroupBy::Day => {
                let d = self.days.day(s.ts_ns);
                return self.by_num.entry(d).or_default().merge(&s.sums);
            }
            GroupBy::Month => {
                let m = zone::month_of_day(self.days.day(s.ts_ns));
                return self.by_num.entry(m).or_default().merge(&s.sums);
            }
            GroupBy::Bridge | GroupBy::Device => bridge_key(s),
            GroupBy::Model => Cow::Borrowed(model_key(s)),
            GroupBy::Provider => Cow::Borrowed(provider_key(s)),
        };
        match self.by_text.get_mut(text.as_ref()) {
            Some(sums) => sums.merge(&s.sums),
            None => {
                self.by_text.insert(text.into(), s.sums);
            }
        }
    }

    /// Rows sorted by key, and the totals.
    pub fn finish(self) -> (Vec<Row>, Sums) {
        let mut rows: Vec<Row> = match self.query.by {
            GroupBy::Day => self
                .by_num
                .into_iter()
                .map(|(d, sums)| Row {
                    key: zone::format_day(d),
                    sums,
                })
                .collect(),
            GroupBy::Month => self
                .by_num
                .into_iter()
                .map(|(m, sums)| Row {
                    key: zone::format_month(m),
                    sums,
                })
                .collect(),
            _ => self
                .by_text
                .into_iter()
                .map(|(k, sums)| Row {
                    key: k.into(),
                    sums,
                })
                .collect(),
        };
        rows.sort_by(|a, b| a.key.cmp(&b.key));
        let mut total = Sums::default();
        for r in &rows {
            total.merge(&r.sums);
        }
        (rows, total)
    }
}

/// FNV-1a over group keys: a handful of short keys looked up once per
/// event, where SipHash's DoS resistance buys nothing.
#[derive(Default)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0 ^ 0xcbf2_9ce4_8422_2325;
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// `provider/model` bridge ids split into their parts.
fn split_bridge(bridge: &str) -> Option<(&str, &str)> {
    let (p, m) = bridge.split_once('/')?;
    (!p.is_empty() && !m.is_empty() && !p.contains(' ')).then_some((p, m))
}

fn bridge_key<'a>(s: &Sample<'a>) -> Cow<'a, str> {
    match (s.bridge, s.provider, s.model) {
        (Some(b), _, _) if !b.is_empty() => Cow::Borrowed(b),
        (_, Some(p), Some(m)) => Cow::Owned(format!("{p}/{m}")),
        (_, Some(x), None) | (_, None, Some(x)) => Cow::Borrowed(x),
        _ => Cow::Borrowed("unknown"),
    }
}

fn provider_key<'a>(s: &Sample<'a>) -> &'a str {
    match s.provider.filter(|p| !p.is_empty()) {
        Some(p) => p,
        None => match s.bridge.and_then(split_bridge) {
            Some((p, _)) => p,
            None => s.bridge.filter(|b| !b.is_empty()).unwrap_or("unknown"),
        },
    }
}

fn model_key<'a>(s: &Sample<'a>) -> &'a str {
    match s.model.filter(|m| !m.is_empty()) {
        Some(m) => m,
        None => s
            .bridge
            .and_then(split_bridge)
            .map_or("unknown", |(_, m)| m),
    }
}

/// The provider of a request as the reports group it.
pub fn provider_of<'a>(bridge: Option<&'a str>, provider: Option<&'a str>) -> &'a str {
    provider_key(&Sample {
        ts_ns: 0,
        bridge,
        provider,
        model: None,
        sums: Sums::default(),
    })
}

/// The model of a request as the reports group it.
pub fn model_of<'a>(bridge: Option<&'a str>, model: Option<&'a str>) -> &'a str {
    model_key(&Sample {
        ts_ns: 0,
        bridge,
        provider: None,
        model,
        sums: Sums::default(),
    })
}

// ------------------------------------------------------------------ prices

/// The prices a report computes the cost of a request with when the
/// request carries none, and how its notes name them.
#[derive(Debug, Clone)]
pub struct Prices {
    pub registry: Arc<PriceRegistry>,
    /// e.g. `the bundled LiteLLM prices (litellm 1.110.2)`.
    pub source: String,
}

impl Prices {
    /// The snapshot of LiteLLM's map bundled with this build (U5).
    pub fn bundled() -> Prices {
        // `litellm 1.110.2: <file> ...` -> `litellm 1.110.2`.
        let version: Vec<&str> = crate::pricing::BUNDLED_SOURCE
            .split([':', '\n'])
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .take(2)
            .collect();
        Prices {
            registry: PriceRegistry::bundled(),
            source: format!("the bundled LiteLLM prices ({})", version.join(" ")),
        }
    }

    /// A user's price file (LiteLLM's format) over the bundled prices: a
    /// model in both takes the file's entries.
    pub fn bundled_with_file(path: &Path) -> Result<Prices> {
        let file = PriceRegistry::load_file(path)?;
        Ok(Prices {
            registry: Arc::new(PriceRegistry::bundled().overlaid(&file)),
            source: format!("{} over the bundled LiteLLM prices", path.display()),
        })
    }
}

/// The provider a request's price is looked up under: as recorded, else
/// the `provider/` of a `provider/model` bridge id, else none.
fn pricing_provider<'a>(bridge: Option<&'a str>, provider: Option<&'a str>) -> Option<&'a str> {
    provider
        .filter(|p| !p.is_empty())
        .or_else(|| bridge.and_then(split_bridge).map(|(p, _)| p))
}

/// Prices the requests that carry no cost, remembering the models it
/// could not price (a miss is looked up once per model, not per request).
struct Pricer<'a> {
    registry: &'a PriceRegistry,
    /// provider ("" for none) -> models with no entry at any time.
    never: HashMap<Box<str>, HashSet<Box<str>>>,
    /// Requests priced here.
    computed: u64,
    /// `(model, provider)` -> requests of it left unpriced.
    unpriced: BTreeMap<(String, String), u64>,
}

impl<'a> Pricer<'a> {
    fn new(registry: &'a PriceRegistry) -> Self {
        Pricer {
            registry,
            never: HashMap::new(),
            computed: 0,
            unpriced: BTreeMap::new(),
        }
    }

    /// The cost of one request in nano-USD, `None` when unpriced.
    fn price(
        &mut self,
        bridge: Option<&str>,
        provider: Option<&str>,
        model: Option<&str>,
        tokens: Option<&Tokens>,
        ts_ns: i64,
    ) -> Option<i64> {
        self.price_calls(bridge, provider, model, tokens, 1, ts_ns)
    }

    /// The cost of `calls` requests summed in `tokens` (a tracker's hourly
    /// history), `None` when unpriced.
    fn price_calls(
        &mut self,
        bridge: Option<&str>,
        provider: Option<&str>,
        model: Option<&str>,
        tokens: Option<&Tokens>,
        calls: u64,
        ts_ns: i64,
    ) -> Option<i64> {
        let model = model_of(bridge, model);
        let provider = pricing_provider(bridge, provider);
        let usage = tokens.and_then(Tokens::to_usage);
        let known = model != "unknown"
            && !self
                .never
                .get(provider.unwrap_or(""))
                .is_some_and(|m| m.contains(model));
        if let (true, Some(usage)) = (known, &usage) {
            let cost = self.registry.cost_of_calls(
                provider,
                model,
                usage,
                calls,
                ts_ns.div_euclid(1_000_000),
            );
            if cost.priced {
                self.computed += calls;
                return Some(cost.nusd);
            }
            if self.registry.lookup(provider, model, i64::MAX).is_none() {
                self.never
                    .entry(provider.unwrap_or("").into())
                    .or_default()
                    .insert(model.into());
            }
        }
        let why = if usage.is_none() && model != "unknown" {
            if tokens.is_none() {
                format!("{model}, no tokens")
            } else {
                format!("{model}, cache tokens above input")
            }
        } else if model == "unknown" {
            match bridge {
                Some(b) => format!("bridge {b} (names no model)"),
                None => "requests with no model".to_string(),
            }
        } else {
            model.to_string()
        };
        *self
            .unpriced
            .entry((why, provider.unwrap_or("").to_string()))
            .or_default() += calls;
        None
    }

    /// The note on where computed costs came from.
    fn source_note(&self, prices: &Prices, notes: &mut Vec<String>) {
        if self.computed > 0 {
            notes.push(format!(
                "cost of {} request(s) without a recorded cost computed from {}",
                self.computed, prices.source
            ));
        }
    }

    /// The note on what had no price.
    fn unpriced_note(&self, notes: &mut Vec<String>) {
        if !self.unpriced.is_empty() {
            const SHOWN: usize = 6;
            let mut list: Vec<String> = self
                .unpriced
                .iter()
                .take(SHOWN)
                .map(|((model, provider), n)| {
                    if provider.is_empty() {
                        format!("{model}: {n}")
                    } else {
                        format!("{model} ({provider}): {n}")
                    }
                })
                .collect();
            if self.unpriced.len() > SHOWN {
                list.push(format!("and {} more models", self.unpriced.len() - SHOWN));
            }
            notes.push(format!("no price for: {}", list.join(", ")));
        }
    }
}

// ---------------------------------------------------------------- event log

/// A line of the event log as a report reads it: borrowed from the read
/// buffer, no JSON tree, unknown fields skipped. It checks what
/// [`crate::eventlog::Event::from_line`] checks, so a line is malformed
/// for a report exactly when it is for an import.
#[derive(serde::Deserialize)]
struct View<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    occurred_at: Cow<'a, str>,
    #[serde(borrow)]
    event: Cow<'a, str>,
    #[serde(borrow, default)]
    segment_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    source: Option<Cow<'a, str>>,
    #[serde(default)]
    records: Option<Vec<ViewRecord<'a>>>,
    #[serde(borrow, default)]
    bridge: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    provider: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    model: Option<Cow<'a, str>>,
    #[serde(default)]
    tokens: Option<ViewTokens>,
    #[serde(borrow, default)]
    status: Option<Cow<'a, str>>,
    #[serde(default)]
    duration_ms: Option<f64>,
    #[serde(default)]
    cost_usd: Option<f64>,
}

#[derive(serde::Deserialize)]
struct ViewRecord<'a> {
    #[serde(borrow)]
    #[allow(dead_code)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    #[allow(dead_code)]
    slug: Cow<'a, str>,
    #[serde(default)]
    #[allow(dead_code)]
    file_bytes: u64,
    #[serde(default)]
    #[allow(dead_code)]
    file_tokens_estimate: u64,
}

#[derive(serde::Deserialize, Default)]
struct ViewTokens {
    #[serde(default)]
    input: u64,
    #[serde(default)]
    output: u64,
    #[serde(default)]
    reasoning: u64,
    /// The old name of `cache_read` (see [`Tokens`]).
    #[serde(default)]
    cached: u64,
    #[serde(default)]
    cache_read: Option<u64>,
    #[serde(default)]
    cache_write: u64,
    #[serde(default)]
    total: u64,
}

impl ViewTokens {
    fn tokens(&self) -> Tokens {
        Tokens {
            input: self.input,
            output: self.output,
            reasoning: self.reasoning,
            cache_read: self.cache_read.unwrap_or(self.cached),
            cache_write: self.cache_write,
            total: self.total,
        }
    }
}

fn request_sums(t: &Tokens, error: bool, cost: Option<i64>, ts_ns: i64) -> Sums {
    Sums {
        requests: 1,
        errors: u64::from(error),
        input_tokens: t.input,
        output_tokens: t.output,
        reasoning_tokens: t.reasoning,
        cache_read_tokens: t.cache_read,
        cache_write_tokens: t.cache_write,
        total_tokens: t.total,
        cost_nano_usd: cost.map_or(0, i128::from),
        priced_requests: u64::from(cost.is_some()),
        last_ns: Some(ts_ns),
    }
}

/// Ids seen so far; UUIDs are already well mixed, so hashing is one
/// multiply.
#[derive(Default)]
struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.0 = ((v as u64) ^ ((v >> 64) as u64)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type IdSet = HashSet<u128, std::hash::BuildHasherDefault<IdHasher>>;

/// The grouped report of the event log at `path`, requests without a cost
/// of their own priced with the bundled prices. A missing file is an empty
/// report.
pub fn from_log(path: impl AsRef<Path>, query: &Query) -> Result<GroupedReport> {
    from_log_priced(path, query, &Prices::bundled())
}

/// [`from_log`] with the given prices.
pub fn from_log_priced(
    path: impl AsRef<Path>,
    query: &Query,
    prices: &Prices,
) -> Result<GroupedReport> {
    let path = path.as_ref();
    let mut agg = Aggregator::new(query.clone());
    let mut pricer = Pricer::new(&prices.registry);
    // Sized for the file (lines are ~200 bytes) so it never rehashes.
    let size_hint = std::fs::metadata(path).map_or(0, |m| m.len() / 160) as usize;
    let mut seen = IdSet::with_capacity_and_hasher(size_hint.min(1 << 24), Default::default());
    let mut other_events = 0u64;
    let counts = crate::eventlog::scan_lines(path, |line| {
        if let Some(r) = super::fastline::parse(line) {
            if !seen.insert(r.id) {
                return LineOutcome::Duplicate;
            }
            let tokens = r.tokens.map(
                |[input, output, reasoning, cache_read, cache_write, total]| Tokens {
                    input,
                    output,
                    reasoning,
                    cache_read,
                    cache_write,
                    total,
                },
            );
            let cost = match r.cost_usd {
                Some(usd) => Some(crate::eventlog::event::usd_to_nano(usd)),
                // Left out by --since/--until: not priced, not named.
                None if !query.admits(r.ts_ns) => None,
                None => pricer.price(r.bridge, r.provider, r.model, tokens.as_ref(), r.ts_ns),
            };
            agg.add(&Sample {
                ts_ns: r.ts_ns,
                bridge: r.bridge,
                provider: r.provider,
                model: r.model,
                sums: request_sums(&tokens.unwrap_or_default(), r.error, cost, r.ts_ns),
            });
            return LineOutcome::Good;
        }
        let Ok(v) = serde_json::from_slice::<View<'_>>(line) else {
            return LineOutcome::Malformed;
        };
        let Ok(id) = uuid::Uuid::try_parse(&v.id) else {
            return LineOutcome::Malformed;
        };
        let Some(ts_ns) = rfc3339::parse_ns(&v.occurred_at) else {
            return LineOutcome::Malformed;
        };
        let _ = (&v.segment_id, &v.source, &v.records, v.duration_ms);
        if !seen.insert(id.as_u128()) {
            return LineOutcome::Duplicate;
        }
        if v.event != "request" {
            other_events += 1;
            return LineOutcome::Good;
        }
        let tokens = v.tokens.as_ref().map(ViewTokens::tokens);
        let (bridge, provider, model) = (
            v.bridge.as_deref(),
            v.provider.as_deref(),
            v.model.as_deref(),
        );
        let cost = match v.cost_usd {
            Some(usd) => Some(crate::eventlog::event::usd_to_nano(usd)),
            None if !query.admits(ts_ns) => None,
            None => pricer.price(bridge, provider, model, tokens.as_ref(), ts_ns),
        };
        let error = v.status.as_deref() == Some("error");
        agg.add(&Sample {
            ts_ns,
            bridge,
            provider,
            model,
            sums: request_sums(&tokens.unwrap_or_default(), error, cost, ts_ns),
        });
        LineOutcome::Good
    })?;
    let outside = agg.outside_window;
    let (rows, total) = agg.finish();
    let lines = counts.unwrap_or_default();
    let mut notes = lines.notes();
    if other_events > 0 {
        notes.push(format!(
            "{other_events} non-request event(s) (records used or exposed, or kinds this version does not know) are not in this table: see --by subject"
        ));
    }
    pricer.source_note(prices, &mut notes);
    finish_notes(&mut notes, &total, outside);
    pricer.unpriced_note(&mut notes);
    Ok(GroupedReport {
        query: query.clone(),
        store: StoreKind::Log,
        path: path.to_path_buf(),
        exists: counts.is_some(),
        rows,
        total,
        lines,
        other_events,
        notes,
    })
}

fn finish_notes(notes: &mut Vec<String>, total: &Sums, outside: u64) {
    if outside > 0 {
        notes.push(format!(
            "{outside} request(s) outside --since/--until left out"
        ));
    }
    if total.priced_requests > 0 && total.unpriced_requests() > 0 {
        notes.push(format!(
            "cost known for {} of {} requests; the cost column sums those only",
            total.priced_requests, total.requests
        ));
    }
}

// ---------------------------------------------------- tracker directories

/// The grouped report of the tracker directory under `base_dir` (its
/// `llm-usage/` history). A missing directory is an empty report.
pub fn from_dir(base_dir: impl AsRef<Path>, query: &Query) -> Result<GroupedReport> {
    from_dir_priced(base_dir, query, &Prices::bundled())
}

/// [`from_dir`] with the given prices. A tracker records no model: a
/// bridge named `provider/model` (e.g. `openai/gpt-4o`) is priced as that
/// model, other bridges are unpriced (marked, never $0). History kept per
/// hour is priced per hour, thresholds chosen by the average call.
pub fn from_dir_priced(
    base_dir: impl AsRef<Path>,
    query: &Query,
    prices: &Prices,
) -> Result<GroupedReport> {
    let history = crate::report::read_history(base_dir)?;
    let mut agg = Aggregator::new(query.clone());
    let mut pricer = Pricer::new(&prices.registry);
    let mut hourly_used = false;
    for e in &history.entries {
        let ts_ns = e.ts_ms.saturating_mul(1_000_000);
        hourly_used |= e.hourly;
        let tokens = Tokens {
            input: e.prompt_tokens,
            output: e.completion_tokens,
            reasoning: e.reasoning_tokens,
            cache_read: e.cache_read_tokens,
            cache_write: e.cache_write_tokens,
            total: e.total_tokens,
        };
        let cost = if query.admits(ts_ns) && e.requests > 0 {
            pricer.price_calls(
                Some(&e.bridge),
                None,
                None,
                Some(&tokens),
                e.requests,
                ts_ns,
            )
        } else {
            None
        };
        agg.add(&Sample {
            ts_ns,
            bridge: Some(&e.bridge),
            provider: None,
            model: None,
            sums: Sums {
                requests: e.requests,
                errors: e.errors,
                input_tokens: e.prompt_tokens,
                output_tokens: e.completion_tokens,
                reasoning_tokens: e.reasoning_tokens,
                cache_read_tokens: e.cache_read_tokens,
                cache_write_tokens: e.cache_write_tokens,
                total_tokens: e.total_tokens,
                cost_nano_usd: cost.map_or(0, i128::from),
                priced_requests: if cost.is_some() { e.requests } else { 0 },
                last_ns: e.last_used_ms.map(|ms| ms.saturating_mul(1_000_000)),
            },
        });
    }
    let outside = agg.outside_window;
    let (rows, total) = agg.finish();
    let mut notes = history.notes.clone();
    let time_based = matches!(query.by, GroupBy::Day | GroupBy::Month)
        || query.since_ns.is_some()
        || query.until_ns.is_some();
    if hourly_used && time_based {
        let whole_hours = match query.zone {
            Zone::Utc => true,
            Zone::Fixed(s) => s % 3600 == 0,
            Zone::Named(_) => false,
        };
        let not_hour = |b: Option<i64>| b.is_some_and(|ns| ns.rem_euclid(3_600_000_000_000) != 0);
        if !whole_hours || not_hour(query.since_ns) || not_hour(query.until_ns) {
            notes.push(
                "a tracker directory keeps its history per hour: each hour is counted at its start, so days and bounds that do not fall on whole UTC hours are exact to the hour"
                    .into(),
            );
        }
    }
    pricer.source_note(prices, &mut notes);
    finish_notes(&mut notes, &total, outside);
    pricer.unpriced_note(&mut notes);
    Ok(GroupedReport {
        query: query.clone(),
        store: StoreKind::Dir,
        path: history.dir,
        exists: history.exists,
        rows,
        total,
        lines: LineCounts::default(),
        other_events: 0,
        notes,
    })
}

// ------------------------------------------------------- ledger database

/// The grouped report of the ledger's SQLite database (L10), read-only:
/// each `commit` is a request (tokens from its `usage` in any shape
/// [`crate::usage::TokenUsage::read`] reads: the canonical `input`,
/// `output`, `cache_read`, ... the ledger stores, or its first vocabulary
/// `tokens_in`, `tokens_out`, `cached_tokens`, `reasoning_tokens`; total =
/// in + out unless given; errors from `status`), its cost the settled spend; an `adjust` adds its
/// correction to the cost. Holds and cancels are reservations, not spend:
/// counted as other events. A missing file is an empty report.
pub fn from_db(path: impl AsRef<Path>, query: &Query) -> Result<GroupedReport> {
    use rusqlite::{Connection, OpenFlags};
    let path = path.as_ref();
    let mut report = GroupedReport {
        query: query.clone(),
        store: StoreKind::Db,
        path: path.to_path_buf(),
        exists: path.is_file(),
        rows: Vec::new(),
        total: Sums::default(),
        lines: LineCounts::default(),
        other_events: 0,
        notes: Vec::new(),
    };
    if !report.exists {
        return Ok(report);
    }
    let err = |e: rusqlite::Error| {
        Error::io(
            format!("reading ledger database {}", path.display()),
            std::io::Error::other(e.to_string()),
        )
    };
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(err)?;
    conn.busy_timeout(std::time::Duration::from_millis(5000))
        .map_err(err)?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(err)?;
    let supported = crate::ledger::db::SCHEMA_VERSION;
    if version as u64 > supported {
        return Err(Error::UnsupportedFormat {
            path: path.to_path_buf(),
            found: version as u64,
            supported,
        });
    }
    if version == 0 {
        report
            .notes
            .push("the database has no ledger tables yet".into());
        return Ok(report);
    }
    let mut st = conn
        .prepare(
            "SELECT event_type, provider, model, usage, cost, status, timestamp, timing FROM events ORDER BY seq",
        )
        .map_err(err)?;
    let mut rows = st.query([]).map_err(err)?;
    let mut agg = Aggregator::new(query.clone());
    let (mut holds, mut bad, mut at_estimate) = (0u64, 0u64, 0u64);
    // Rate-limit waits (R2): how many, how long, by limit and scope.
    let mut waits: BTreeMap<String, (u64, i64)> = BTreeMap::new();
    while let Some(row) = rows.next().map_err(err)? {
        let kind: String = row.get(0).map_err(err)?;
        let request = match kind.as_str() {
            "commit" => true,
            "adjust" => false,
            "rate_limit_wait" => {
                let status: String = row.get(5).map_err(err)?;
                let timing: String = row.get(7).map_err(err)?;
                let ms = serde_json::from_str::<serde_json::Value>(&timing)
                    .ok()
                    .and_then(|t| t.get("wait_ms").and_then(serde_json::Value::as_i64))
                    .unwrap_or(0);
                let w = waits.entry(status).or_default();
                w.0 += 1;
                w.1 += ms;
                continue;
            }
            "rate_limit_retry" => continue,
            _ => {
                holds += 1;
                continue;
            }
        };
        let provider: String = row.get(1).map_err(err)?;
        let model: String = row.get(2).map_err(err)?;
        let usage: String = row.get(3).map_err(err)?;
        let cost: String = row.get(4).map_err(err)?;
        let status: String = row.get(5).map_err(err)?;
        let ts: f64 = row.get(6).map_err(err)?;
        let (Ok(usage), Ok(cost)) = (
            serde_json::from_str::<serde_json::Value>(&usage),
            serde_json::from_str::<serde_json::Value>(&cost),
        ) else {
            bad += 1;
            continue;
        };
        // Any usage shape the ledger ever stored (its first vocabulary,
        // `tokens_in`, or the canonical one it normalises to now); usage
        // with no count we know counts no tokens.
        let usage = crate::usage::TokenUsage::from_value(&usage).unwrap_or_default();
        let spend = cost.get("spend_nusd").and_then(serde_json::Value::as_i64);
        let priced = cost.get("priced").and_then(serde_json::Value::as_bool) == Some(true)
            || cost.get("actual_nusd").is_some_and(|v| !v.is_null());
        // What the ledger's budget counted, priced or not: a commit on an
        // unpriced model counts its estimate (L12), and so does this report
        // (U6: `report --db` equals `spend_today`), marked as unpriced.
        if request && !priced && spend.is_some() {
            at_estimate += 1;
        }
        let ts_ns = (ts * 1e9).round() as i64;
        let sums = if request {
            Sums {
                requests: 1,
                errors: u64::from(status == "error"),
                input_tokens: usage.input,
                output_tokens: usage.output,
                reasoning_tokens: usage.reasoning,
                cache_read_tokens: usage.cache_read,
                cache_write_tokens: usage.cache_write,
                total_tokens: usage.total(),
                cost_nano_usd: spend.map_or(0, i128::from),
                priced_requests: u64::from(priced && spend.is_some()),
                last_ns: Some(ts_ns),
            }
        } else {
            Sums {
                cost_nano_usd: spend.map_or(0, i128::from),
                ..Sums::default()
            }
        };
        agg.add(&Sample {
            ts_ns,
            bridge: None,
            provider: Some(&provider),
            model: Some(&model),
            sums,
        });
    }
    let outside = agg.outside_window;
    let (rows, total) = agg.finish();
    report.rows = rows;
    report.total = total;
    report.other_events = holds;
    if holds > 0 {
        report.notes.push(format!(
            "{holds} hold/cancel event(s) are reservations, not spend: not in this table"
        ));
    }
    if bad > 0 {
        report.notes.push(format!(
            "skipped {bad} event(s) with unreadable usage or cost JSON"
        ));
    }
    for (limit, (n, ms)) in &waits {
        report.notes.push(format!(
            "{n} reservation(s) waited {:.1} s in all for rate limit {limit} (rate_limit_wait events)",
            *ms as f64 / 1000.0
        ));
    }
    if at_estimate > 0 {
        report.notes.push(format!(
            "{at_estimate} commit(s) had no price: their cost is the estimate the budget counted (marked *)"
        ));
    }
    finish_notes(&mut report.notes, &report.total, outside);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eventlog::{Event, EventLog, Status, Tokens};

    fn ns(s: &str) -> i64 {
        rfc3339::parse_ns(s).unwrap()
    }

    fn req(at: &str, bridge: &str, input: u64, status: Status, cost: Option<i64>) -> Event {
        let mut e = Event::request(
            bridge,
            Tokens {
                input,
                output: 2 * input,
                reasoning: 1,
                cache_read: 0,
                cache_write: 0,
                total: 3 * input + 1,
            },
            status,
        );
        e.occurred_at_ns = ns(at);
        e.cost_nano_usd = cost;
        e
    }

    fn write(events: &[Event]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("events.jsonl");
        let log = EventLog::open(&p).unwrap();
        for e in events {
            log.append(e).unwrap();
        }
        (dir, p)
    }

    /// No prices at all: only recorded costs count.
    fn unpriced() -> Prices {
        Prices {
            registry: Arc::new(PriceRegistry::new()),
            source: "no prices".into(),
        }
    }

    fn keys(r: &GroupedReport) -> Vec<(&str, u64)> {
        r.rows
            .iter()
            .map(|r| (r.key.as_str(), r.sums.requests))
            .collect()
    }

    #[test]
    fn groups_by_every_key_with_totals() {
        let (_d, p) = write(&[
            req(
                "2025-01-04T10:00:00Z",
                "openai/gpt-4o",
                10,
                Status::Success,
                Some(1_000),
            ),
            req("2025-01-04T23:30:00Z", "openai/o3", 20, Status::Error, None),
            req(
                "2025-02-01T00:00:00Z",
                "anthropic/claude",
                5,
                Status::Success,
                Some(500),
            ),
            req("2025-02-02T00:00:00Z", "local", 1, Status::Success, None),
        ]);
        let mut q = Query::new(GroupBy::Day);
        let r = from_log_priced(&p, &q, &unpriced()).unwrap();
        assert_eq!(
            keys(&r),
            vec![("2025-01-04", 2), ("2025-02-01", 1), ("2025-02-02", 1)]
        );
        assert_eq!(r.total.requests, 4);
        assert_eq!(r.total.errors, 1);
        assert_eq!(r.total.input_tokens, 36);
        assert_eq!(r.total.output_tokens, 72);
        assert_eq!(r.total.reasoning_tokens, 4);
        assert_eq!(r.total.total_tokens, 112);
        assert_eq!(r.total.cost_nano(), Some(1_500));
        assert_eq!(r.total.unpriced_requests(), 2);
        assert_eq!(r.total.last_ns, Some(ns("2025-02-02T00:00:00Z")));
        assert!(r.notes.iter().any(|n| n.contains("cost known for 2 of 4")));
        q.by = GroupBy::Month;
        assert_eq!(
            keys(&from_log(&p, &q).unwrap()),
            vec![("2025-01", 2), ("2025-02", 2)]
        );
        q.by = GroupBy::Provider;
        assert_eq!(
            keys(&from_log(&p, &q).unwrap()),
            vec![("anthropic", 1), ("local", 1), ("openai", 2)]
        );
        q.by = GroupBy::Model;
        assert_eq!(
            keys(&from_log(&p, &q).unwrap()),
            vec![("claude", 1), ("gpt-4o", 1), ("o3", 1), ("unknown", 1)]
        );
        q.by = GroupBy::Bridge;
        let r = from_log_priced(&p, &q, &unpriced()).unwrap();
        assert_eq!(r.rows.len(), 4);
        assert_eq!(r.rows[0].sums.cost_nano(), Some(500));
        assert_eq!(r.rows[1].sums.cost_nano(), None, "local is unpriced");
    }

    #[test]
    fn u3_u6_requests_without_a_cost_are_priced_by_model_the_rest_counted() {
        let prices = Prices {
            registry: Arc::new(
                PriceRegistry::from_litellm_json(
                    r#"{"claude-x": {"litellm_provider": "anthropic", "input_cost_per_token": 1e-6,
                        "output_cost_per_token": 5e-6, "cache_read_input_token_cost": 1e-7,
                        "cache_creation_input_token_cost": 1.25e-6}}"#,
                )
                .unwrap(),
            ),
            source: "the test prices".into(),
        };
        let tokens = |input, cache_read, cache_write, output| Tokens {
            input,
            output,
            reasoning: 0,
            cache_read,
            cache_write,
            total: input + output,
        };
        let at = "2025-10-31T09:00:00Z";
        let claude = |t: Option<Tokens>, model: &str, cost: Option<i64>| {
            let mut e = req(at, "claude-code", 0, Status::Success, cost);
            e.provider = Some("anthropic".into());
            e.model = Some(model.into());
            e.tokens = t;
            e
        };
        let by_bridge = {
            let mut e = req(at, "anthropic/claude-x", 0, Status::Success, None);
            e.tokens = Some(tokens(1000, 600, 200, 100));
            e
        };
        let (_d, p) = write(&[
            // 200 plain input, 600 cache reads, 200 cache writes, 100 out.
            claude(Some(tokens(1000, 600, 200, 100)), "claude-x", None),
            // A recorded cost is kept as it is.
            claude(
                Some(tokens(1000, 600, 200, 100)),
                "claude-x",
                Some(500_000_000),
            ),
            claude(Some(tokens(10, 0, 0, 1)), "mystery", None),
            claude(Some(tokens(10, 11, 0, 1)), "claude-x", None),
            claude(None, "claude-x", None),
            by_bridge,
        ]);
        let r = from_log_priced(&p, &Query::new(GroupBy::Model), &prices).unwrap();
        let usage = tokens(1000, 600, 200, 100).to_usage().unwrap();
        let one = prices
            .registry
            .cost(Some("anthropic"), "claude-x", &usage, 0)
            .nusd;
        assert_eq!(
            one, 1_010_000,
            "200 x 1 + 600 x 0.1 + 200 x 1.25 + 100 x 5 micro-USD"
        );
        assert_eq!(keys(&r), vec![("claude-x", 5), ("mystery", 1)]);
        let x = &r.rows[0].sums;
        assert_eq!(x.cost_nano(), Some(500_000_000 + 2 * i128::from(one)));
        assert_eq!((x.priced_requests, x.unpriced_requests()), (3, 2));
        assert_eq!((x.cache_read_tokens, x.cache_write_tokens), (1811, 600));
        assert_eq!(r.rows[1].sums.cost_nano(), None);
        assert_eq!(r.total.unpriced_requests(), 3);
        let notes = r.notes.join("\n");
        assert!(
            notes.contains(
                "cost of 2 request(s) without a recorded cost computed from the test prices"
            ),
            "{notes}"
        );
        assert!(
            notes.contains("no price for: claude-x, cache tokens above input (anthropic): 1, claude-x, no tokens (anthropic): 1, mystery (anthropic): 1"),
            "{notes}"
        );
        assert!(notes.contains("cost known for 3 of 6 requests"), "{notes}");

        // By default a report prices with the bundled snapshot.
        let mut e = req(at, "openai/gpt-4o", 0, Status::Success, None);
        e.tokens = Some(tokens(1000, 400, 0, 100));
        let (_d, p) = write(&[e]);
        let r = from_log(&p, &Query::new(GroupBy::Day)).unwrap();
        let want = PriceRegistry::bundled().cost(
            Some("openai"),
            "gpt-4o",
            &tokens(1000, 400, 0, 100).to_usage().unwrap(),
            ns(at) / 1_000_000,
        );
        assert!(want.priced && want.nusd > 0);
        assert_eq!(r.total.cost_nano(), Some(i128::from(want.nusd)));
        assert!(
            r.notes[0].contains("the bundled LiteLLM prices (litellm "),
            "{:?}",
            r.notes
        );
    }

    #[test]
    fn x3_day_boundaries_move_with_the_time_zone() {
        let (_d, p) = write(&[
            req("2025-01-04T22:59:59Z", "a", 1, Status::Success, None),
            req("2025-01-04T23:00:00Z", "a", 1, Status::Success, None),
            req("2025-07-04T21:59:59Z", "a", 1, Status::Success, None),
            req("2025-07-04T22:00:00Z", "a", 1, Status::Success, None),
        ]);
        let mut q = Query::new(GroupBy::Day);
        assert_eq!(
            keys(&from_log(&p, &q).unwrap()),
            vec![("2025-01-04", 2), ("2025-07-04", 2)]
        );
        q.zone = Zone::parse("Europe/Berlin").unwrap();
        assert_eq!(
            keys(&from_log(&p, &q).unwrap()),
            vec![
                ("2025-01-04", 1),
                ("2025-01-05", 1),
                ("2025-07-04", 1),
                ("2025-07-05", 1)
            ]
        );
        // --since / --until are local dates, --until inclusive of its day.
        q.since_ns = Some(zone::parse_bound("2025-01-05", &q.zone, false).unwrap());
        q.until_ns = Some(zone::parse_bound("2025-07-04", &q.zone, true).unwrap());
        let r = from_log(&p, &q).unwrap();
        assert_eq!(keys(&r), vec![("2025-01-05", 1), ("2025-07-04", 1)]);
        assert!(r.notes.iter().any(|n| n.contains("2 request(s) outside")));
    }

    #[test]
    fn e3_e5_bad_lines_duplicates_and_missing_files_never_fail_a_report() {
        let a = req("2025-01-04T10:00:00Z", "a", 1, Status::Success, None);
        let mut subject = Event::subject(
            crate::eventlog::EventKind::Use,
            "s",
            crate::eventlog::Source::MemoryRead,
            vec![],
        );
        subject.occurred_at_ns = ns("2025-01-04T10:00:00Z");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("events.jsonl");
        let text = format!(
            "{}\n\nnot json\n{}\n{}\n{{\"id\":\"x\"}}\n{}\n",
            a.to_line(),
            a.to_line(),
            subject.to_line(),
            r#"{"id":"01a21073-32ea-7686-99db-a76c4f4df3a9","occurred_at":"2025-01-04T10:00:00Z","event":"request","tokens":{"input":-1}}"#
        );
        std::fs::write(&p, text).unwrap();
        let r = from_log(&p, &Query::new(GroupBy::Bridge)).unwrap();
        assert_eq!(r.total.requests, 1);
        assert_eq!(r.lines.malformed, 3);
        assert_eq!(r.lines.blank, 1);
        assert_eq!(r.lines.duplicates, 1);
        assert_eq!(r.other_events, 1);
        assert_eq!(r.notes[0], "skipped 3 malformed lines");
        // The same lines are malformed for an import.
        assert_eq!(crate::eventlog::read_events(&p).unwrap().counts, r.lines);

        let r = from_log(dir.path().join("missing.jsonl"), &Query::new(GroupBy::Day)).unwrap();
        assert!(!r.exists && r.is_empty() && r.notes.is_empty());
    }

    #[test]
    fn tracker_directories_report_their_hourly_history() {
        use crate::clock::ManualClock;
        use crate::{
            FileBackedTracker, NewUsageLog, TrackerOptions, Usage, UsageStatus, UsageTracker,
        };
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(ns("2025-01-04T23:30:00Z") / 1_000_000);
        let t = FileBackedTracker::open_with_clock(
            dir.path(),
            TrackerOptions::default(),
            std::sync::Arc::new(clock.clone()),
        )
        .unwrap();
        for (bridge, status) in [
            ("openai/gpt-4o", UsageStatus::Success),
            ("local", UsageStatus::Error),
        ] {
            t.track(&NewUsageLog {
                bridge_id: bridge,
                usage: Usage::new(10, 5, 15),
                duration_ms: None,
                status,
            })
            .unwrap();
            clock.advance(3_600_000);
        }
        t.close().unwrap();
        let mut q = Query::new(GroupBy::Day);
        let r = from_dir(dir.path(), &q).unwrap();
        assert_eq!(r.store, StoreKind::Dir);
        assert_eq!(keys(&r), vec![("2025-01-04", 1), ("2025-01-05", 1)]);
        assert_eq!(r.total.errors, 1);
        assert_eq!(r.total.input_tokens, 20);
        assert_eq!(r.total.output_tokens, 10);
        // U6: `openai/gpt-4o` is priced with the bundled prices
        // (10 x 2.5e-6 + 5 x 1e-5 USD); `local` names no model: unpriced.
        assert_eq!(r.total.cost_nano(), Some(75_000));
        assert_eq!(r.total.unpriced_requests(), 1);
        assert!(r.notes.iter().any(|n| n.contains("local")), "{:?}", r.notes);
        q.zone = Zone::parse("Asia/Kolkata").unwrap();
        let r = from_dir(dir.path(), &q).unwrap();
        assert_eq!(keys(&r), vec![("2025-01-05", 2)]);
        assert!(r.notes[0].contains("per hour"), "{:?}", r.notes);
        q.by = GroupBy::Provider;
        q.zone = Zone::Utc;
        assert_eq!(
            keys(&from_dir(dir.path(), &q).unwrap()),
            vec![("local", 1), ("openai", 1)]
        );
        let r = from_dir(dir.path().join("none"), &q).unwrap();
        assert!(!r.exists && r.is_empty());
        let r = from_db(dir.path().join("none.db"), &q).unwrap();
        assert!(!r.exists && r.is_empty());
    }

    #[test]
    fn tracker_directories_report_and_price_the_parts_they_keep() {
        use crate::{FileBackedTracker, NewUsageLog, TrackerOptions, Usage, UsageTracker};
        // The same calls, once with 800 of the 1000 input tokens read from
        // the cache: same token totals, the parts reported, a lower cost.
        let run = |cache_read: u64| {
            let dir = tempfile::tempdir().unwrap();
            let t = FileBackedTracker::open(dir.path(), TrackerOptions::default()).unwrap();
            for bridge in ["openai/gpt-4o", "local"] {
                let usage = Usage {
                    cache_read_tokens: cache_read,
                    cache_write_tokens: 100,
                    reasoning_tokens: 30,
                    ..Usage::new(1000, 50, 1050)
                };
                t.track(&NewUsageLog::new(bridge, usage)).unwrap();
            }
            t.close().unwrap();
            from_dir(dir.path(), &Query::new(GroupBy::Bridge)).unwrap()
        };
        let (cached, plain) = (run(800), run(0));
        let s = &cached.total;
        assert_eq!(
            (s.input_tokens, s.output_tokens, s.total_tokens),
            (2000, 100, 2100)
        );
        assert_eq!(
            (
                s.cache_read_tokens,
                s.cache_write_tokens,
                s.reasoning_tokens
            ),
            (1600, 200, 60)
        );
        assert_eq!(plain.total.cache_read_tokens, 0);
        let cost = |r: &GroupedReport| r.total.cost_nano().unwrap();
        assert!(
            cost(&cached) < cost(&plain),
            "{} vs {}",
            cost(&cached),
            cost(&plain)
        );
    }

    #[test]
    fn ledger_databases_report_commits_with_their_settled_cost() {
        use crate::ledger::{EventStatus, EventType, Ledger, LedgerEvent, LedgerOptions};
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ledger.db");
        let l = Ledger::open(&db, LedgerOptions::default()).unwrap();
        let t0 = ns("2025-01-04T23:30:00Z") as f64 / 1e9;
        let ev = |kind, trace: &str, model: &str, at: f64| {
            LedgerEvent::new(kind, trace, "openai", model, at)
        };
        let mut hold = ev(EventType::PrecheckHold, "t1", "gpt-4o", t0);
        hold.cost_est_nusd = 5_000;
        l.write_event(hold, false).unwrap();
        let mut c1 = ev(EventType::Commit, "t1", "gpt-4o", t0 + 1.0);
        c1.usage.insert("tokens_in".into(), 100.into());
        c1.usage.insert("tokens_out".into(), 40.into());
        c1.usage.insert("cached_tokens".into(), 30.into());
        c1.cost_actual_nusd = Some(4_000);
        l.write_event(c1, false).unwrap();
        let mut c2 = ev(EventType::Commit, "t2", "o3", t0 + 3_600.0);
        c2.usage.insert("tokens_in".into(), 10.into());
        c2.usage.insert("tokens_out".into(), 90.into());
        c2.usage.insert("reasoning_tokens".into(), 60.into());
        c2.status = EventStatus::Error;
        c2.cost_actual_nusd = Some(1_000);
        l.write_event(c2, false).unwrap();
        l.close().unwrap();

        let mut q = Query::new(GroupBy::Model);
        let r = from_db(&db, &q).unwrap();
        assert_eq!(r.store, StoreKind::Db);
        assert_eq!(keys(&r), vec![("gpt-4o", 1), ("o3", 1)]);
        assert_eq!(r.total.requests, 2);
        assert_eq!(r.total.errors, 1);
        assert_eq!(r.total.input_tokens, 110);
        assert_eq!(r.total.output_tokens, 130);
        assert_eq!(r.total.reasoning_tokens, 60);
        assert_eq!(r.total.cache_read_tokens, 30);
        assert_eq!(r.total.total_tokens, 240);
        assert_eq!(r.total.cost_nano(), Some(5_000));
        assert_eq!(r.other_events, 1);
        assert!(r.notes[0].contains("reservations"), "{:?}", r.notes);
        q.by = GroupBy::Day;
        assert_eq!(
            keys(&from_db(&db, &q).unwrap()),
            vec![("2025-01-04", 1), ("2025-01-05", 1)]
        );
        q.by = GroupBy::Bridge;
        assert_eq!(
            keys(&from_db(&db, &q).unwrap()),
            vec![("openai/gpt-4o", 1), ("openai/o3", 1)]
        );
    }

    #[test]
    fn wrong_group_names_list_the_choices() {
        let e = GroupBy::parse("week").unwrap_err().to_string();
        assert!(
            e.contains("\"week\"") && e.contains("day, month, bridge, model, provider"),
            "{e}"
        );
        for g in GroupBy::ALL {
            assert_eq!(GroupBy::parse(g.as_str()).unwrap(), g);
        }
    }
}
