//! `NativeLedger`: the budget ledger (L1–L12) as a napi-rs class, behind the
//! facade's `Ledger` (`ledger.js`). Every behaviour is
//! `usagebook_core::ledger`'s; this module converts and picks threads:
//!
//! - calls that never wait (best-effort writes, reserves and reads, health)
//!   run on the JS thread;
//! - calls that wait for the writer thread (strict reserves and reads,
//!   `sync` writes, flush, close) are `AsyncTask`s on the libuv pool, so the
//!   event loop keeps running.
//!
//! Events cross as the core's snake_case JSON (the facade converts the
//! caller's camelCase object), holds as JSON. A `BudgetExceeded` error has
//! the code `USAGEBOOK_BUDGET_EXCEEDED` and its message is the JSON of its
//! fields, which the facade turns into a `BudgetExceededError`.

use crate::errors::{guard, to_napi};
use crate::pricing::NativePrices;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde_json::{json, Value};
use std::sync::Arc;
use usagebook_core::ledger::money::nano_to_usd;
use usagebook_core::ledger::{
    BudgetMode, Hold, Ledger, LedgerEvent, LedgerOptions, PriceRegistry, Scope,
};
use usagebook_core::Error;

pub(crate) const BUDGET_EXCEEDED: &str = "USAGEBOOK_BUDGET_EXCEEDED";
pub(crate) const RATE_LIMITED: &str = "USAGEBOOK_RATE_LIMITED";

type JsResult<T> = napi::Result<T, String>;

/// A core error for JS; `BudgetExceeded` carries its fields as JSON.
fn ledger_err(e: Error) -> napi::Error<String> {
    match e {
        Error::BudgetExceeded(ref b) => napi::Error::new(
            BUDGET_EXCEEDED.to_string(),
            json!({
                "message": e.to_string(),
                "scope": b.scope,
                "window": b.window,
                "limit": nano_to_usd(b.limit_nusd),
                "spent": nano_to_usd(b.spent_nusd),
                "reserved": nano_to_usd(b.reserved_nusd),
                "requested": nano_to_usd(b.requested_nusd),
                "resetAtMs": b.reset_at_ms,
            })
            .to_string(),
        ),
        Error::RateLimited(ref r) => napi::Error::new(
            RATE_LIMITED.to_string(),
            json!({
                "message": e.to_string(),
                "scope": r.scope,
                "limit": r.limit,
                "windowS": r.window_s,
                "current": r.current,
                "maximum": r.maximum,
                "requested": r.requested,
                "retryAfterS": r.retry_after_s,
            })
            .to_string(),
        ),
        e => to_napi(e),
    }
}

fn now_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The facade's event JSON as a core event. `usage` may be in any provider
/// SDK's shape (nested details, strings such as `service_tier`, a whole
/// response): it is read by the core's one adapter first, so the event is
/// validated in the canonical vocabulary (`input`, `output`, `cache_read`,
/// ...), and a response's `model` fills a missing one. A usage with no
/// token field the core knows is refused naming its keys.
/// An event from the facade's JSON. The core reads its usage in any SDK
/// shape (a whole response's `model` fills a missing one) before checking it.
fn event(json: &str) -> JsResult<LedgerEvent> {
    LedgerEvent::from_json_str(json, now_s()).map_err(ledger_err)
}

fn hold_json(h: &Hold) -> String {
    json!({
        "traceId": h.trace_id,
        "eventId": h.event_id,
        "provider": h.provider,
        "model": h.model,
        "profileId": h.profile_id,
        "amountUsd": nano_to_usd(h.amount_nusd),
        "expiresAtMs": h.expires_ms,
    })
    .to_string()
}

fn scope(s: &str) -> JsResult<Scope> {
    Scope::parse(s).map_err(ledger_err)
}

/// What a task does on the pool.
enum Op {
    /// Waits for the writer's acknowledgement of an event queued on the JS
    /// thread (so it keeps its place among the caller's writes).
    Ack(crossbeam_channel::Receiver<usagebook_core::Result<()>>),
    /// A strict-mode `precheck_hold` event: the core waits for the writer.
    Hold(Box<LedgerEvent>),
    /// The reservation as the core's JSON request (R1 token fields too).
    Reserve(String),
    Query {
        scope: Scope,
        profile_id: Option<String>,
        reserved: bool,
    },
    Flush,
    Close,
    /// The Prometheus exposition (reads the database).
    Metrics,
    /// Already failed on the JS thread (the facade rejects with it).
    Failed(napi::Error<String>),
}

/// A ledger call that waits, on the libuv pool. Resolves to
/// `["", resultJson]` or `[code, message]` (napi-rs tasks can only reject
/// with their generic status codes).
pub struct LedgerWork {
    ledger: Arc<Ledger>,
    op: Option<Op>,
}

impl Task for LedgerWork {
    type Output = Vec<String>;
    type JsValue = Vec<String>;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let ledger = &self.ledger;
        let op = self.op.take();
        let res: JsResult<String> = guard(|| {
            let r = match op {
                None => return Ok("null".into()),
                Some(Op::Failed(e)) => return Err(e),
                Some(Op::Ack(rx)) => rx
                    .recv()
                    .unwrap_or(Err(Error::Closed))
                    .map(|()| "null".into()),
                Some(Op::Hold(ev)) => ledger.write_event(*ev, true).map(|()| "null".into()),
                Some(Op::Reserve(request)) => {
                    usagebook_core::ledger::reserve_json(ledger, &request).map(|h| hold_json(&h))
                }
                Some(Op::Query {
                    scope,
                    profile_id,
                    reserved,
                }) => {
                    let p = profile_id.as_deref();
                    if reserved {
                        ledger.reserved_today(&scope, p)
                    } else {
                        ledger.spend_today(&scope, p)
                    }
                    .map(|n| Value::from(nano_to_usd(n)).to_string())
                }
                Some(Op::Flush) => ledger.flush().map(|()| "null".into()),
                Some(Op::Close) => ledger.close().map(|()| "null".into()),
                Some(Op::Metrics) => ledger.metrics_text().map(|t| Value::String(t).to_string()),
            };
            r.map_err(ledger_err)
        });
        Ok(match res {
            Ok(v) => vec![String::new(), v],
            Err(e) => vec![e.status.clone(), e.reason.clone()],
        })
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        Ok(output)
    }
}

/// One core ledger. Created by `open`; the facade's `Ledger` owns it.
#[napi]
pub struct NativeLedger {
    ledger: Arc<Ledger>,
}

#[napi]
impl NativeLedger {
    /// `new Ledger(path, options)`: `optionsJson` in the core's camelCase
    /// keys (`mode`, `batchSize`, `flushIntervalMs`, `dailyBudgetUsd`,
    /// `timezone`, `holdTtlS`, `pricesPath`, `allowUnpriced`,
    /// `closeDeadlineMs`); `pricesJson` a LiteLLM price table given inline,
    /// or `prices` a `Prices` registry. Either is overlaid on the bundled
    /// snapshot, as `pricesPath` is (its models win).
    #[napi(factory, catch_unwind)]
    pub fn open(
        path: String,
        options_json: Option<String>,
        prices_json: Option<String>,
        prices: Option<&NativePrices>,
    ) -> Result<NativeLedger, String> {
        guard(|| {
            let mut opts = LedgerOptions::from_json(options_json.as_deref()).map_err(ledger_err)?;
            if let Some(p) = prices_json {
                let own = PriceRegistry::from_litellm_json(&p).map_err(ledger_err)?;
                opts.prices = Some(Arc::new(PriceRegistry::bundled().overlaid(&own)));
            }
            if let Some(p) = prices {
                opts.prices = Some(p.reg.clone());
            }
            let ledger = Ledger::open(&path, opts).map_err(ledger_err)?;
            Ok(NativeLedger {
                ledger: Arc::new(ledger),
            })
        })
    }

    /// `"best_effort"` or `"strict_budget"`.
    #[napi(getter)]
    pub fn mode(&self) -> &'static str {
        self.ledger.options().mode.as_str()
    }

    fn strict(&self) -> bool {
        self.ledger.options().mode == BudgetMode::StrictBudget
    }

    fn task(&self, op: Op) -> AsyncTask<LedgerWork> {
        AsyncTask::new(LedgerWork {
            ledger: self.ledger.clone(),
            op: Some(op),
        })
    }

    /// Queues an event (best effort: returns once it is queued and counted
    /// in memory). A strict-mode hold waits for the writer here.
    #[napi(catch_unwind)]
    pub fn write_event(&self, event_json: String) -> Result<(), String> {
        guard(|| {
            let ev = event(&event_json)?;
            self.ledger.write_event(ev, false).map_err(ledger_err)
        })
    }

    /// Queues an event now and resolves once its batch is committed
    /// (with everything queued before it).
    #[napi(ts_return_type = "Promise<[string, string]>")]
    pub fn write_event_sync(&self, event_json: String) -> AsyncTask<LedgerWork> {
        let op = match guard(|| event(&event_json)) {
            Err(e) => Op::Failed(e),
            Ok(ev)
                if self.strict()
                    && ev.event_type == usagebook_core::ledger::EventType::PrecheckHold =>
            {
                Op::Hold(Box::new(ev))
            }
            Ok(ev) => {
                let (tx, rx) = crossbeam_channel::bounded(1);
                let queued = guard(|| {
                    self.ledger
                        .write_event_then(
                            ev,
                            true,
                            Box::new(move |r| {
                                let _ = tx.send(r);
                            }),
                        )
                        .map_err(ledger_err)
                });
                match queued {
                    Ok(()) => Op::Ack(rx),
                    Err(e) => Op::Failed(e),
                }
            }
        };
        self.task(op)
    }

    /// Best effort without rate limits: the hold as JSON, from memory, on
    /// this thread. `requestJson` as the core's `reserve_json` reads it.
    #[napi(catch_unwind)]
    pub fn reserve(&self, request_json: String) -> Result<String, String> {
        guard(|| {
            usagebook_core::ledger::reserve_json(&self.ledger, &request_json)
                .map(|h| hold_json(&h))
                .map_err(ledger_err)
        })
    }

    /// Strict, or under rate limits: check-and-hold in one transaction on
    /// the writer (maybe after a rate-limit wait), on the pool.
    #[napi(ts_return_type = "Promise<[string, string]>")]
    pub fn reserve_async(&self, request_json: String) -> AsyncTask<LedgerWork> {
        self.task(Op::Reserve(request_json))
    }

    /// The rate limits in force, as JSON (R1).
    #[napi(catch_unwind)]
    pub fn rate_limits_json(&self) -> String {
        usagebook_core::ledger::rate::limits_to_json(&self.ledger.rate_limits()).to_string()
    }

    /// Replaces the rate limits of the open ledger (R1).
    #[napi(catch_unwind)]
    pub fn set_rate_limits(&self, limits_json: String) -> Result<(), String> {
        guard(|| {
            let v: Value = serde_json::from_str(&limits_json).map_err(|e| {
                ledger_err(Error::invalid(format!(
                    "rateLimits are not valid JSON: {e}"
                )))
            })?;
            let limits = usagebook_core::ledger::rate::limits_from_json(&v).map_err(ledger_err)?;
            self.ledger.set_rate_limits(limits).map_err(ledger_err)
        })
    }

    /// Best effort: today's spend (or reservations) in USD from memory.
    #[napi(catch_unwind)]
    pub fn query(
        &self,
        scope_name: String,
        profile_id: Option<String>,
        reserved: bool,
    ) -> Result<f64, String> {
        guard(|| {
            let s = scope(&scope_name)?;
            let p = profile_id.as_deref();
            if reserved {
                self.ledger.reserved_today(&s, p)
            } else {
                self.ledger.spend_today(&s, p)
            }
            .map(nano_to_usd)
            .map_err(ledger_err)
        })
    }

    /// Strict: the same from the database after a flush, on the pool.
    #[napi(ts_return_type = "Promise<[string, string]>")]
    pub fn query_async(
        &self,
        scope_name: String,
        profile_id: Option<String>,
        reserved: bool,
    ) -> AsyncTask<LedgerWork> {
        let op = match scope(&scope_name) {
            Ok(scope) => Op::Query {
                scope,
                profile_id,
                reserved,
            },
            Err(e) => Op::Failed(e),
        };
        self.task(op)
    }

    /// Commits everything queued, on the pool.
    #[napi(ts_return_type = "Promise<[string, string]>")]
    pub fn flush(&self) -> AsyncTask<LedgerWork> {
        self.task(Op::Flush)
    }

    /// The Prometheus text exposition (O1), read on the pool.
    #[napi(ts_return_type = "Promise<[string, string]>")]
    pub fn metrics_text(&self) -> AsyncTask<LedgerWork> {
        self.task(Op::Metrics)
    }

    /// Drains the queue and stops the writer, on the pool.
    #[napi(ts_return_type = "Promise<[string, string]>")]
    pub fn close(&self) -> AsyncTask<LedgerWork> {
        self.task(Op::Close)
    }

    /// The same on the calling thread, for process exit.
    #[napi(catch_unwind)]
    pub fn close_sync(&self) -> Result<(), String> {
        guard(|| self.ledger.close().map_err(ledger_err))
    }

    /// X2 health as the core's JSON.
    #[napi(catch_unwind)]
    pub fn health_json(&self) -> String {
        self.ledger.health().to_json().to_string()
    }
}
