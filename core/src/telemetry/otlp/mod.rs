//! The OTLP/HTTP metrics exporter for Rust and C hosts (O2, cargo feature
//! `otlp`; docs/telemetry.md "OTLP/HTTP exporter").
//!
//! It subscribes to [`super::observe`], so it sees every call this process
//! tracks and every ledger commit it makes, aggregates them in memory into
//! the same instruments the Python and Node integrations record
//! (`gen_ai.client.token.usage`, `usagebook.client.cost`, optionally
//! `gen_ai.client.inference.usage.*`), and one background thread POSTs
//! them as OTLP/JSON every interval, on [`OtlpExporter::flush`] and at
//! shutdown. No async runtime: the thread blocks on `ureq`.
//!
//! Temporality is cumulative over this process's own increments since the
//! exporter started (a stable start time, a `service.instance.id` per
//! exporter): N processes sharing a ledger send N streams whose sum is the
//! true total, and a failed export loses nothing, the next one carries it.
//! Failures never reach a tracked call: the observer only adds to memory,
//! the thread retries a bounded number of times and keeps the error in
//! [`OtlpHealth`].

mod encode;

use super::observe::{self, CallRecord, CallSource};
use super::otlp_options::{OtlpOptions, ResolvedOtlp};
use crate::error::{Error, Result};
use crossbeam_channel::{bounded, unbounded, Receiver, RecvTimeoutError, Sender};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub(crate) const SCHEMA_URL: &str = "https://opentelemetry.io/schemas/1.41.0";
/// The GenAI conventions' advice for `gen_ai.client.token.usage` (as in
/// the Python and Node integrations).
pub(crate) const TOKEN_BUCKETS: [f64; 14] = [
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0, 67108864.0,
];
const USAGE_COUNTERS: [(&str, &str, &str); 5] = [
    (
        "input",
        "gen_ai.client.inference.usage.input_tokens",
        "Input tokens used, cache reads and writes included.",
    ),
    (
        "output",
        "gen_ai.client.inference.usage.output_tokens",
        "Output tokens used, reasoning included.",
    ),
    (
        "cache_read",
        "gen_ai.client.inference.usage.cache_read.input_tokens",
        "Input tokens read from the prompt cache.",
    ),
    (
        "cache_write",
        "gen_ai.client.inference.usage.cache_write.input_tokens",
        "Input tokens written to the prompt cache.",
    ),
    (
        "reasoning",
        "gen_ai.client.inference.usage.reasoning.output_tokens",
        "Output tokens spent on reasoning.",
    ),
];
/// Attempts per export (one try and two retries), for transport errors
/// and the statuses the OTLP spec calls retryable.
const ATTEMPTS: u32 = 3;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum AttrValue {
    Str(String),
    Bool(bool),
}

/// Sorted by key, so one set of attributes is one series.
pub(crate) type Attrs = Vec<(String, AttrValue)>;

#[derive(Debug, Clone, Default)]
pub(crate) struct Hist {
    pub count: u64,
    pub sum: u64,
    pub min: u64,
    pub max: u64,
    pub buckets: [u64; TOKEN_BUCKETS.len() + 1],
}

impl Hist {
    fn record(&mut self, v: u64) {
        if self.count == 0 || v < self.min {
            self.min = v;
        }
        self.max = self.max.max(v);
        self.count += 1;
        self.sum = self.sum.saturating_add(v);
        // Bucket i holds (bound[i-1], bound[i]]; the last one the rest.
        let i = TOKEN_BUCKETS
            .iter()
            .position(|b| v as f64 <= *b)
            .unwrap_or(TOKEN_BUCKETS.len());
        self.buckets[i] += 1;
    }
}

/// This process's cumulative increments since the exporter started.
#[derive(Debug, Clone, Default)]
pub(crate) struct Aggregates {
    pub tokens: BTreeMap<Attrs, Hist>,
    pub usage_counters: Vec<(&'static str, &'static str, BTreeMap<Attrs, u64>)>,
    pub cost: BTreeMap<Attrs, f64>,
}

fn with(base: &Attrs, extra: &[(&str, AttrValue)]) -> Attrs {
    let mut a = base.clone();
    a.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    a.sort();
    a
}

fn s(v: &str) -> AttrValue {
    AttrValue::Str(v.to_string())
}

impl Aggregates {
    fn new(cfg: &ResolvedOtlp) -> Self {
        let mut a = Aggregates::default();
        if cfg.inference_usage_counters {
            a.usage_counters = USAGE_COUNTERS
                .iter()
                .map(|(_, name, help)| (*name, *help, BTreeMap::new()))
                .collect();
        }
        a
    }

    /// The Python integration's `_Recorder.__call__`, as aggregation.
    fn record(&mut self, cfg: &ResolvedOtlp, rec: &CallRecord) {
        match rec.source {
            CallSource::Tracker if !cfg.tracker => return,
            CallSource::Ledger if !cfg.ledger => return,
            _ => {}
        }
        let mut base: Attrs = vec![
            ("gen_ai.operation.name".into(), s(&cfg.operation_name)),
            ("gen_ai.provider.name".into(), s(&rec.provider)),
            ("gen_ai.request.model".into(), s(&rec.model)),
        ];
        if rec.error {
            base.push(("error.type".into(), s("_OTHER")));
        }
        // An adjust corrects a cost; it is no call.
        if rec.event != "adjust" {
            let mut token_base = base.clone();
            if let Some(b) = &rec.bridge {
                token_base.push(("usagebook.bridge".into(), s(b)));
            }
            for (kind, v) in [("input", rec.input), ("output", rec.output)] {
                let key = with(&token_base, &[("gen_ai.token.type", s(kind))]);
                self.tokens.entry(key).or_default().record(v);
            }
            if !self.usage_counters.is_empty() {
                let key = with(&token_base, &[("gen_ai.token.modality", s("unknown"))]);
                let parts = [
                    rec.input,
                    rec.output,
                    rec.cache_read,
                    rec.cache_write,
                    rec.reasoning,
                ];
                for ((_, _, series), v) in self.usage_counters.iter_mut().zip(parts) {
                    let n = series.entry(key.clone()).or_default();
                    *n = n.saturating_add(v);
                }
            }
        }
        // A counter only grows: a refund stays in the ledger's figures.
        if let Some(cost) = rec.cost_usd.filter(|c| *c >= 0.0) {
            let key = with(
                &base,
                &[
                    ("gen_ai.usage.cost.currency", s("USD")),
                    (
                        "gen_ai.usage.cost.source",
                        s(rec.cost_source.unwrap_or("local")),
                    ),
                    ("usagebook.priced", AttrValue::Bool(rec.priced)),
                ],
            );
            *self.cost.entry(key).or_default() += cost;
        }
    }
}

/// How the exports went.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OtlpHealth {
    pub endpoint: String,
    /// Exports the receiver accepted.
    pub exports_ok: u64,
    /// Exports that failed after their retries.
    pub exports_failed: u64,
    /// Retried attempts, over all exports.
    pub retries: u64,
    /// The last export's error (`None` once one succeeds again); a partial
    /// success the receiver reports is kept here too.
    pub last_error: Option<String>,
    /// When the receiver last accepted an export, Unix ms.
    pub last_success_unix_ms: Option<u64>,
    /// The last export failed.
    pub failing: bool,
}

struct Shared {
    cfg: ResolvedOtlp,
    agg: Mutex<Aggregates>,
    health: Mutex<OtlpHealth>,
    instance_id: String,
    start_unix_nano: u64,
    agent: ureq::Agent,
}

enum Ctl {
    Flush(Sender<std::result::Result<(), String>>),
    Shutdown,
}

struct Inner {
    options: OtlpOptions,
    shared: Arc<Shared>,
    tx: Sender<Ctl>,
    thread: Mutex<Option<JoinHandle<()>>>,
    observer: u64,
    stopped: std::sync::atomic::AtomicBool,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Inner {
    fn stop(&self) {
        self.stopped
            .store(true, std::sync::atomic::Ordering::Release);
        observe::unsubscribe(self.observer);
        let _ = self.tx.send(Ctl::Shutdown);
        if let Some(t) = self.thread.lock().take() {
            // The last export ends within ATTEMPTS timeouts and backoffs.
            let _ = t.join();
        }
    }
}

/// The process's OTLP exporter. Clones share it; the last one dropped (or
/// [`OtlpExporter::shutdown`]) stops recording, exports a last time and
/// ends the thread.
#[derive(Clone)]
pub struct OtlpExporter {
    inner: Arc<Inner>,
}

/// The one exporter of this process, while someone holds it.
static CURRENT: Mutex<Option<Weak<Inner>>> = Mutex::new(None);

fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

impl OtlpExporter {
    /// Starts this process's exporter, or returns the running one when it
    /// was started with the same options (a tracker and a ledger of one
    /// process share it; one exporter means each call is counted once). A
    /// running exporter with other options is an error.
    pub fn install(options: OtlpOptions) -> Result<OtlpExporter> {
        let mut cur = CURRENT.lock();
        let running = cur
            .as_ref()
            .and_then(Weak::upgrade)
            .filter(|i| !i.stopped.load(std::sync::atomic::Ordering::Acquire));
        if let Some(inner) = running {
            if inner.options == options {
                return Ok(OtlpExporter { inner });
            }
            return Err(Error::invalid(format!(
                "an OTLP exporter with other options is already running in this process (endpoint {}); \
                 give every tracker and ledger the same otlp options, or shut the first exporter down",
                inner.shared.cfg.endpoint
            )));
        }
        let cfg = options.resolve(|k| std::env::var(k).ok())?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_millis(cfg.timeout_ms)))
            .http_status_as_error(false)
            .user_agent(concat!("usagebook/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let shared = Arc::new(Shared {
            agg: Mutex::new(Aggregates::new(&cfg)),
            health: Mutex::new(OtlpHealth {
                endpoint: cfg.endpoint.clone(),
                ..Default::default()
            }),
            instance_id: uuid::Uuid::now_v7().to_string(),
            start_unix_nano: unix_nanos(),
            agent,
            cfg,
        });
        let (tx, rx) = unbounded();
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("usagebook-otlp".into())
            .spawn(move || run(thread_shared, rx))
            .map_err(|e| Error::invalid(format!("cannot start the OTLP exporter thread: {e}")))?;
        let obs_shared = shared.clone();
        let observer = observe::subscribe(Arc::new(move |rec: &CallRecord| {
            obs_shared.agg.lock().record(&obs_shared.cfg, rec);
        }));
        let inner = Arc::new(Inner {
            options,
            shared,
            tx,
            thread: Mutex::new(Some(thread)),
            observer,
            stopped: Default::default(),
        });
        *cur = Some(Arc::downgrade(&inner));
        Ok(OtlpExporter { inner })
    }

    /// Exports now and waits for the outcome (after its retries).
    pub fn flush(&self) -> Result<()> {
        let (ack, done) = bounded(1);
        self.inner
            .tx
            .send(Ctl::Flush(ack))
            .map_err(|_| Error::Closed)?;
        match done.recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Error::invalid(format!("OTLP export failed: {e}"))),
            Err(_) => Err(Error::Closed),
        }
    }

    /// Stops recording and exports a last time, for every clone.
    pub fn shutdown(&self) {
        self.inner.stop();
    }

    pub fn health(&self) -> OtlpHealth {
        self.inner.shared.health.lock().clone()
    }

    /// Where it exports, after the environment was read.
    pub fn config(&self) -> &ResolvedOtlp {
        &self.inner.shared.cfg
    }

    /// This exporter's `service.instance.id`.
    pub fn instance_id(&self) -> &str {
        &self.inner.shared.instance_id
    }
}

fn run(shared: Arc<Shared>, rx: Receiver<Ctl>) {
    let interval = Duration::from_millis(shared.cfg.interval_ms);
    let mut next = Instant::now() + interval;
    loop {
        match rx.recv_deadline(next) {
            Ok(Ctl::Flush(ack)) => {
                let _ = ack.send(export(&shared, ATTEMPTS));
            }
            Ok(Ctl::Shutdown) | Err(RecvTimeoutError::Disconnected) => {
                // One attempt: a collector that is down must not hold a
                // tracker's close for the retries' timeouts.
                let _ = export(&shared, 1);
                // Later flushes get Closed from their dropped ack.
                return;
            }
            Err(RecvTimeoutError::Timeout) => {
                let _ = export(&shared, ATTEMPTS);
                next = Instant::now() + interval;
            }
        }
    }
}

fn export(shared: &Shared, attempts: u32) -> std::result::Result<(), String> {
    let snapshot = shared.agg.lock().clone();
    let res = encode::Resource {
        service_name: &shared.cfg.service_name,
        instance_id: &shared.instance_id,
        start_unix_nano: shared.start_unix_nano,
    };
    let Some(body) = encode::export_request(&res, &snapshot, unix_nanos()) else {
        return Ok(());
    };
    let body = body.to_string();
    let mut outcome = Err(String::new());
    for attempt in 0..attempts {
        if attempt > 0 {
            shared.health.lock().retries += 1;
            std::thread::sleep(Duration::from_millis(200 * 4u64.pow(attempt - 1)));
        }
        let (result, retryable) = post(shared, &body);
        outcome = result;
        if outcome.is_ok() || !retryable {
            break;
        }
    }
    let mut h = shared.health.lock();
    let was_failing = h.failing;
    match &outcome {
        Ok(()) => {
            h.exports_ok += 1;
            h.last_success_unix_ms = Some(unix_nanos() / 1_000_000);
            h.failing = false;
        }
        Err(e) => {
            h.exports_failed += 1;
            h.last_error = Some(e.clone());
            h.failing = true;
        }
    }
    // One line on standard error when exports start failing and one when
    // they work again (as the OTel SDKs' internal logs do), not one per
    // interval: a C host has no other place to see it.
    match (&outcome, was_failing) {
        (Err(e), false) => eprintln!(
            "usagebook: OTLP export failed, tracking goes on and the next export carries these totals: {e}"
        ),
        (Ok(()), true) => eprintln!("usagebook: OTLP export to {} works again", shared.cfg.endpoint),
        _ => {}
    }
    outcome
}

/// One attempt: the outcome, and whether another attempt may help.
fn post(shared: &Shared, body: &str) -> (std::result::Result<(), String>, bool) {
    let mut req = shared
        .agent
        .post(&shared.cfg.endpoint)
        .content_type("application/json");
    for (k, v) in &shared.cfg.headers {
        req = req.header(k, v);
    }
    let endpoint = &shared.cfg.endpoint;
    match req.send(body) {
        Err(e) => (Err(format!("POST {endpoint}: {e}")), true),
        Ok(resp) => {
            let status = resp.status().as_u16();
            let text = resp
                .into_body()
                .with_config()
                .limit(64 * 1024)
                .read_to_string()
                .unwrap_or_default();
            if (200..300).contains(&status) {
                // A partial success names what the receiver dropped.
                let rejected = serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|v| v.get("partialSuccess").cloned())
                    .filter(|p| {
                        p.get("rejectedDataPoints")
                            .is_some_and(|n| n != "0" && n != 0)
                    });
                shared.health.lock().last_error =
                    rejected.map(|p| format!("{endpoint} accepted the export partially: {p}"));
                (Ok(()), false)
            } else {
                let retryable = matches!(status, 429 | 502 | 503 | 504);
                let snippet: String = text.chars().take(300).collect();
                (
                    Err(format!("POST {endpoint}: HTTP {status} {snippet}")),
                    retryable,
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ResolvedOtlp {
        OtlpOptions {
            inference_usage_counters: true,
            ..OtlpOptions::new()
        }
        .resolve(|_| None)
        .unwrap()
    }

    fn rec(event: &'static str, input: u64, cost: Option<f64>) -> CallRecord {
        CallRecord {
            source: CallSource::Ledger,
            event,
            bridge: None,
            provider: "openai".into(),
            model: "gpt-4o".into(),
            error: false,
            input,
            output: 10,
            cache_read: 3,
            cache_write: 0,
            reasoning: 1,
            cost_usd: cost,
            cost_source: Some("local"),
            priced: true,
        }
    }

    #[test]
    fn o2_histogram_buckets_are_upper_inclusive() {
        let mut h = Hist::default();
        for v in [0, 1, 2, 4, 67108864, 67108865] {
            h.record(v);
        }
        assert_eq!(h.buckets[0], 2); // 0 and 1
        assert_eq!(h.buckets[1], 2); // 2 and 4
        assert_eq!(h.buckets[13], 1);
        assert_eq!(h.buckets[14], 1);
        assert_eq!((h.count, h.min, h.max), (6, 0, 67108865));
    }

    #[test]
    fn o2_adjust_adds_cost_not_tokens_and_refunds_are_skipped() {
        let c = cfg();
        let mut a = Aggregates::new(&c);
        a.record(&c, &rec("commit", 100, Some(0.5)));
        a.record(&c, &rec("adjust", 0, Some(0.25)));
        a.record(&c, &rec("adjust", 0, Some(-1.0)));
        assert_eq!(a.tokens.len(), 2);
        assert!(a.tokens.values().all(|h| h.count == 1));
        assert_eq!(a.cost.values().sum::<f64>(), 0.75);
        let cache = &a.usage_counters[2];
        assert_eq!(
            cache.0,
            "gen_ai.client.inference.usage.cache_read.input_tokens"
        );
        assert_eq!(cache.2.values().sum::<u64>(), 3);
        let off = ResolvedOtlp {
            ledger: false,
            ..c.clone()
        };
        let mut b = Aggregates::new(&off);
        b.record(&off, &rec("commit", 1, Some(1.0)));
        assert!(b.tokens.is_empty() && b.cost.is_empty());
    }
}
