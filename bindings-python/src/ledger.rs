//! The budget ledger (L1–L12) as Python objects: `Ledger`, `LedgerEvent`
//! and `Hold`. Every behaviour is `usagebook_core::ledger`'s; this module
//! converts USD floats to nano-USD and back (L11), Python values to the
//! events' JSON maps, core errors to exceptions (`BudgetExceeded` with its
//! fields), and keeps one flag per `Hold` so it is settled once (as the C
//! ABI does). The `usagebook` facade subclasses `Ledger` and `Hold` to add
//! the asyncio methods.
//!
//! Threads and the GIL: the classes are frozen and the core ledger is
//! `Sync`. Calls that wait for the writer thread (strict prechecks and
//! reads, `sync` writes, flush, close, open) release the GIL; best-effort
//! calls touch memory only and keep it. Core threads never call Python
//! while they hold a core lock: the `_clock` hook is read on the calling
//! thread at each call (the writer uses the value last read), and
//! completions (`_write_event_then`, `_start_background`) run with no lock
//! held.

use crate::convert::{self, describe};
use crate::errors::{self, blocking, core, guard, invalid};
use crate::exit_registry::ExitRegistry;
use parking_lot::Mutex;
use pyo3::basic::CompareOp;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyString};
use pyo3::IntoPyObjectExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use usagebook_core::ledger::event::new_event_id;
use usagebook_core::ledger::money::{nano_to_usd, usd_to_nano};
use usagebook_core::ledger::{
    BudgetMode, EventStatus, EventType, Hold as CoreHold, Ledger as CoreLedger,
    LedgerEvent as CoreEvent, LedgerOptions, Scope,
};
use usagebook_core::{Clock, ManualClock, SharedClock, SystemClock};

// ---- arguments ----

/// A USD amount (`int` or `float`) as nano-USD; the core rounds and names
/// the field (L11).
fn usd_arg(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<i64> {
    let x = convert::number(obj, name)?;
    core(|| usd_to_nano(x, name))
}

/// `rate_limits=[{"scope": "provider:openai", "rpm": 500, ...}]`, read by
/// the core (same names and checks as every binding).
fn rate_limits_arg(v: &Bound<'_, PyAny>) -> PyResult<Vec<usagebook_core::ledger::rate::RateLimit>> {
    let json = convert::py_to_json(v, "rate_limits")?;
    core(|| usagebook_core::ledger::rate::limits_from_json(&json))
}

fn seconds_arg(v: &Bound<'_, PyAny>, name: &str) -> PyResult<i64> {
    let s = convert::number(v, name)?;
    if !s.is_finite() || !(0.0..=366.0 * 86_400.0).contains(&s) {
        return Err(invalid(format!(
            "{name} must be a number of seconds >= 0 and at most 366 days, got {}",
            describe(v)
        )));
    }
    Ok((s * 1000.0).round() as i64)
}

fn bool_arg(obj: Option<&Bound<'_, PyAny>>, name: &str, default: bool) -> PyResult<bool> {
    match obj {
        Some(o) if !o.is_none() => o
            .cast::<PyBool>()
            .map(|b| b.is_true())
            .map_err(|_| invalid(format!("{name} must be a bool, got {}", describe(o)))),
        _ => Ok(default),
    }
}

fn event_arg(ev: &Bound<'_, PyAny>) -> PyResult<CoreEvent> {
    match ev.cast::<PyLedgerEvent>() {
        Ok(e) => Ok(e.get().0.clone()),
        Err(_) => Err(invalid(format!(
            "ev must be a usagebook.LedgerEvent, got {}",
            describe(ev)
        ))),
    }
}

fn scope_arg(scope: Option<&Bound<'_, PyAny>>) -> PyResult<Scope> {
    match scope {
        Some(s) if !s.is_none() => {
            let text = convert::string(s, "scope")?;
            core(|| Scope::parse(&text))
        }
        _ => Ok(Scope::All),
    }
}

fn system_now_s() -> f64 {
    SystemClock.now_ms() as f64 / 1000.0
}

// ---- LedgerEvent ----

/// One ledger event (L1): a hold, commit, cancel or adjust. Built freely;
/// validated when written, with an error naming the field (L5).
#[pyclass(frozen, module = "usagebook", name = "LedgerEvent")]
pub struct PyLedgerEvent(pub CoreEvent);

#[pymethods]
impl PyLedgerEvent {
    #[new]
    #[pyo3(
        signature = (event_type, trace_id, provider, model, usage = None, cost_est_usd = None, cost_actual_usd = None, status = None, timing = None, timestamp = None, profile_id = None, id = None),
        text_signature = "(event_type, trace_id, provider, model, usage=None, cost_est_usd=0.0, cost_actual_usd=None, status='ok', timing=None, timestamp=None, profile_id=None, id=None)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn new(
        event_type: &Bound<'_, PyAny>,
        trace_id: &Bound<'_, PyAny>,
        provider: &Bound<'_, PyAny>,
        model: &Bound<'_, PyAny>,
        usage: Option<&Bound<'_, PyAny>>,
        cost_est_usd: Option<&Bound<'_, PyAny>>,
        cost_actual_usd: Option<&Bound<'_, PyAny>>,
        status: Option<&Bound<'_, PyAny>>,
        timing: Option<&Bound<'_, PyAny>>,
        timestamp: Option<&Bound<'_, PyAny>>,
        profile_id: Option<&Bound<'_, PyAny>>,
        id: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        guard(|| {
            let timestamp = match timestamp {
                Some(t) if !t.is_none() => timestamp_arg(t)?,
                _ => system_now_s(),
            };
            let mut ev = CoreEvent::new(
                EventType::parse(&convert::string(event_type, "event_type")?),
                &convert::string(trace_id, "trace_id")?,
                &convert::string(provider, "provider")?,
                &convert::string(model, "model")?,
                timestamp,
            );
            ev.usage = convert::usage_json(usage, "usage")?;
            ev.timing = convert::json_map(timing, "timing")?;
            if let Some(c) = cost_est_usd.filter(|c| !c.is_none()) {
                ev.cost_est_nusd = usd_arg(c, "cost_est_usd")?;
            }
            if let Some(c) = cost_actual_usd.filter(|c| !c.is_none()) {
                ev.cost_actual_nusd = Some(usd_arg(c, "cost_actual_usd")?);
            }
            if let Some(s) = status.filter(|s| !s.is_none()) {
                ev.status = EventStatus::parse(&convert::string(s, "status")?);
            }
            ev.profile_id = convert::opt_string(profile_id, "profile_id")?;
            ev.id = convert::opt_string(id, "id")?.unwrap_or_else(new_event_id);
            Ok(PyLedgerEvent(ev))
        })
    }

    /// Idempotency key: a UUIDv7 unless given.
    #[getter]
    fn id(&self) -> &str {
        &self.0.id
    }
    #[getter]
    fn event_type(&self) -> &str {
        self.0.event_type.as_str()
    }
    #[getter]
    fn trace_id(&self) -> &str {
        &self.0.trace_id
    }
    #[getter]
    fn provider(&self) -> &str {
        &self.0.provider
    }
    #[getter]
    fn model(&self) -> &str {
        &self.0.model
    }
    /// A copy of the usage map.
    #[getter]
    fn usage<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::json_to_py(py, &serde_json::Value::Object(self.0.usage.clone()))
    }
    #[getter]
    fn cost_est_usd(&self) -> f64 {
        nano_to_usd(self.0.cost_est_nusd)
    }
    #[getter]
    fn cost_actual_usd(&self) -> Option<f64> {
        self.0.cost_actual_nusd.map(nano_to_usd)
    }
    #[getter]
    fn status(&self) -> &str {
        self.0.status.as_str()
    }
    /// A copy of the timing map.
    #[getter]
    fn timing<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::json_to_py(py, &serde_json::Value::Object(self.0.timing.clone()))
    }
    /// Epoch seconds.
    #[getter]
    fn timestamp(&self) -> f64 {
        self.0.timestamp
    }
    #[getter]
    fn profile_id(&self) -> Option<&str> {
        self.0.profile_id.as_deref()
    }

    /// The event's JSON form, money in USD (as the C ABI reads it).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::json_to_py(py, &self.0.to_json())
    }

    fn __richcmp__(&self, other: &Bound<'_, PyAny>, op: CompareOp) -> Py<PyAny> {
        let py = other.py();
        let Ok(o) = other.cast::<PyLedgerEvent>() else {
            return py.NotImplemented();
        };
        let r = match op {
            CompareOp::Eq => self.0 == o.get().0,
            CompareOp::Ne => self.0 != o.get().0,
            _ => return py.NotImplemented(),
        };
        PyBool::new(py, r).to_owned().into_any().unbind()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let r = |v: &serde_json::Value| -> PyResult<String> {
            Ok(convert::json_to_py(py, v)?.repr()?.to_string())
        };
        let j = self.0.to_json();
        let fields = [
            "event_type",
            "trace_id",
            "provider",
            "model",
            "usage",
            "cost_est_usd",
            "cost_actual_usd",
            "status",
            "timing",
            "timestamp",
            "profile_id",
            "id",
        ];
        let parts: PyResult<Vec<String>> = fields
            .iter()
            .map(|k| Ok(format!("{k}={}", r(&j[*k])?)))
            .collect();
        Ok(format!("LedgerEvent({})", parts?.join(", ")))
    }
}

/// `timestamp`: epoch seconds (`int`/`float`) or a tz-aware `datetime`.
fn timestamp_arg(t: &Bound<'_, PyAny>) -> PyResult<f64> {
    if let Ok(x) = convert::number(t, "timestamp") {
        return Ok(x);
    }
    if t.hasattr("utcoffset")? && t.hasattr("timestamp")? {
        return Ok(convert::datetime_to_ms(t, "timestamp")? as f64 / 1000.0);
    }
    Err(invalid(format!(
        "timestamp must be epoch seconds (int or float), a tz-aware datetime or None, got {}",
        describe(t)
    )))
}

// ---- Ledger ----

/// Ledgers still open, closed at interpreter exit (L4: the queue is never
/// lost on shutdown).
static OPEN_LEDGERS: ExitRegistry<CoreLedger> = ExitRegistry::new();

/// Closes (drains the queue, stops the writer) every ledger still open.
/// The facade registers it with `atexit`.
#[pyfunction]
pub fn _close_all_ledgers(py: Python<'_>) -> PyResult<()> {
    OPEN_LEDGERS.close_all(py, |l| l.close())
}

/// The `_clock` testing hook: the callable is read on the calling thread at
/// each call into the ledger (GIL held, no core lock held) and the core
/// reads the value last seen, so a core thread never needs the GIL for the
/// time.
struct HookClock {
    read: Py<PyAny>,
    now: ManualClock,
}

/// The budget ledger on one SQLite file (L1–L12). The facade's
/// `usagebook.Ledger` adds `reserve` and the asyncio methods.
#[pyclass(frozen, subclass, module = "usagebook._native", name = "Ledger")]
pub struct PyLedger {
    inner: Arc<CoreLedger>,
    clock: Option<HookClock>,
}

impl Drop for PyLedger {
    fn drop(&mut self) {
        // Drain and join the writer with the GIL released: the writer may
        // need it to complete an asyncio future.
        let l = self.inner.clone();
        let _ = Python::try_attach(|py| py.detach(|| catch_unwind(AssertUnwindSafe(|| l.close()))));
    }
}

impl PyLedger {
    /// Reads the `_clock` hook, if any.
    fn tick(&self, py: Python<'_>) -> PyResult<()> {
        if let Some(c) = &self.clock {
            c.now.set(read_clock(py, &c.read)?);
        }
        Ok(())
    }

    fn strict(&self) -> bool {
        self.inner.options().mode == BudgetMode::StrictBudget
    }

    /// Whether writing `ev` may wait for the writer thread.
    fn write_blocks(&self, ev: &CoreEvent, sync: bool) -> bool {
        sync || (self.strict() && ev.event_type == EventType::PrecheckHold)
    }

    fn today(
        &self,
        py: Python<'_>,
        scope: Option<&Bound<'_, PyAny>>,
        profile_id: Option<&Bound<'_, PyAny>>,
        reserved: bool,
    ) -> PyResult<f64> {
        guard(|| {
            self.tick(py)?;
            let scope = scope_arg(scope)?;
            let profile = convert::opt_string(profile_id, "profile_id")?;
            let l = &self.inner;
            let run = || {
                if reserved {
                    l.reserved_today(&scope, profile.as_deref())
                } else {
                    l.spend_today(&scope, profile.as_deref())
                }
            };
            // Strict reads the database after a flush; best effort reads
            // memory and never waits (L8).
            let nusd = if self.strict() {
                blocking(py, run)?
            } else {
                core(run)?
            };
            Ok(nano_to_usd(nusd))
        })
    }
}

fn read_clock(py: Python<'_>, f: &Py<PyAny>) -> PyResult<i64> {
    let v = f.call0(py)?;
    v.extract::<i64>(py).map_err(|_| {
        invalid(format!(
            "_clock must return epoch milliseconds as an int, got {}",
            describe(v.bind(py))
        ))
    })
}

/// A completion callback handed to the core: called once with the result,
/// from whichever thread completes it. If the core drops it uncalled after
/// the call that took it returned (an event still in the channel when the
/// writer stopped), it reports `ClosedError`, so an awaiting future always
/// settles; dropped during that call (the call failed at once and raises
/// instead), it says nothing and the caller learns it from `Slot`.
struct Done {
    cb: Option<Py<PyAny>>,
    slot: Arc<Mutex<Slot>>,
}

#[derive(Default)]
struct Slot {
    returned: bool,
    orphaned: bool,
}

fn call_done(cb: Py<PyAny>, res: std::thread::Result<usagebook_core::Result<()>>) {
    let _ = Python::try_attach(|py| {
        let err = errors::outcome(res).map(|e| e.into_value(py).into_any());
        if let Err(e) = cb.call1(py, (err,)) {
            e.write_unraisable(py, Some(cb.bind(py)));
        }
        drop(cb);
    });
}

impl Done {
    fn call(mut self, res: usagebook_core::Result<()>) {
        if let Some(cb) = self.cb.take() {
            call_done(cb, Ok(res));
        }
    }
}

impl Drop for Done {
    fn drop(&mut self) {
        let Some(cb) = self.cb.take() else { return };
        let mut s = self.slot.lock();
        if s.returned {
            drop(s);
            call_done(cb, Ok(Err(usagebook_core::Error::Closed)));
        } else {
            s.orphaned = true;
            drop(s);
            let _ = Python::try_attach(|_| drop(cb));
        }
    }
}

/// Runs `f` on a new thread, then calls `done(None)` or `done(exception)`
/// from it (with no core lock held).
fn spawn_then(
    what: &str,
    f: impl FnOnce() -> usagebook_core::Result<()> + Send + 'static,
    done: Py<PyAny>,
) -> PyResult<()> {
    std::thread::Builder::new()
        .name("usagebook-async".into())
        .spawn(move || {
            let res = catch_unwind(AssertUnwindSafe(f));
            call_done(done, res);
        })
        .map_err(|e| {
            errors::from_core(usagebook_core::Error::io(
                format!("starting a thread for {what}"),
                e,
            ))
        })?;
    Ok(())
}

#[pymethods]
impl PyLedger {
    #[new]
    #[pyo3(
        signature = (path, *, mode = None, batch_size = None, flush_interval_ms = None, daily_budget_usd = None, timezone = None, hold_ttl_s = None, prices = None, allow_unpriced = None, rate_limits = None, wait_on_rate_limit = None, max_wait_timeout_s = None, retry_budget_s = None, _clock = None),
        text_signature = "(path, *, mode='best_effort', batch_size=100, flush_interval_ms=200, daily_budget_usd=None, timezone='UTC', hold_ttl_s=900, prices=None, allow_unpriced=False, rate_limits=None, wait_on_rate_limit=False, max_wait_timeout_s=60, retry_budget_s=90, _clock=None)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        path: &Bound<'_, PyAny>,
        mode: Option<&Bound<'_, PyAny>>,
        batch_size: Option<&Bound<'_, PyAny>>,
        flush_interval_ms: Option<&Bound<'_, PyAny>>,
        daily_budget_usd: Option<&Bound<'_, PyAny>>,
        timezone: Option<&Bound<'_, PyAny>>,
        hold_ttl_s: Option<&Bound<'_, PyAny>>,
        prices: Option<&Bound<'_, PyAny>>,
        allow_unpriced: Option<&Bound<'_, PyAny>>,
        rate_limits: Option<&Bound<'_, PyAny>>,
        wait_on_rate_limit: Option<&Bound<'_, PyAny>>,
        max_wait_timeout_s: Option<&Bound<'_, PyAny>>,
        retry_budget_s: Option<&Bound<'_, PyAny>>,
        _clock: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        guard(|| {
            let path: PathBuf = path.extract().map_err(|_| {
                invalid(format!(
                    "path must be a str or os.PathLike, got {}",
                    describe(path)
                ))
            })?;
            let d = LedgerOptions::default();
            let mut opts = LedgerOptions {
                batch_size: convert::uint_option("batch_size", batch_size, d.batch_size as u64, 1)?
                    .try_into()
                    .map_err(|_| invalid("batch_size is too large"))?,
                flush_interval_ms: convert::uint_option(
                    "flush_interval_ms",
                    flush_interval_ms,
                    d.flush_interval_ms,
                    1,
                )?,
                ..d
            };
            if let Some(m) = mode.filter(|m| !m.is_none()) {
                let text = convert::string(m, "mode").map_err(|_| {
                    invalid(format!(
                        "mode must be \"best_effort\" or \"strict_budget\", got {}",
                        describe(m)
                    ))
                })?;
                opts.mode = core(|| BudgetMode::parse(&text))?;
            }
            if let Some(b) = daily_budget_usd.filter(|b| !b.is_none()) {
                opts.daily_budget_nusd = Some(usd_arg(b, "daily_budget_usd")?);
            }
            if let Some(tz) = timezone.filter(|t| !t.is_none()) {
                opts.timezone = convert::string(tz, "timezone")?;
            }
            if let Some(t) = hold_ttl_s.filter(|t| !t.is_none()) {
                let s = convert::number(t, "hold_ttl_s")?;
                if !s.is_finite() || s <= 0.0 {
                    return Err(invalid(format!(
                        "hold_ttl_s must be a number > 0 (seconds), got {}",
                        describe(t)
                    )));
                }
                opts.hold_ttl_ms = (s * 1000.0).round().max(1.0) as i64;
            }
            opts.prices = crate::pricing::prices_arg(py, prices)?;
            opts.allow_unpriced = bool_arg(allow_unpriced, "allow_unpriced", false)?;
            if let Some(l) = rate_limits.filter(|l| !l.is_none()) {
                opts.rate.limits = rate_limits_arg(l)?;
            }
            opts.rate.wait = bool_arg(wait_on_rate_limit, "wait_on_rate_limit", false)?;
            if let Some(s) = max_wait_timeout_s.filter(|s| !s.is_none()) {
                opts.rate.max_wait_ms = seconds_arg(s, "max_wait_timeout_s")?;
            }
            if let Some(s) = retry_budget_s.filter(|s| !s.is_none()) {
                opts.rate.retry_budget_ms = seconds_arg(s, "retry_budget_s")?;
            }
            let (clock, hook): (SharedClock, Option<HookClock>) = match _clock {
                Some(c) if !c.is_none() => {
                    if !c.is_callable() {
                        return Err(invalid(format!(
                            "_clock must be a callable returning epoch milliseconds, got {}",
                            describe(c)
                        )));
                    }
                    let read = c.clone().unbind();
                    let now = ManualClock::new(read_clock(py, &read)?);
                    (Arc::new(now.clone()), Some(HookClock { read, now }))
                }
                _ => (Arc::new(SystemClock), None),
            };
            let inner = Arc::new(blocking(py, move || {
                CoreLedger::open_with_clock(&path, opts, clock)
            })?);
            OPEN_LEDGERS.register(&inner);
            Ok(PyLedger { inner, clock: hook })
        })
    }

    /// `"best_effort"` or `"strict_budget"`.
    #[getter]
    fn mode(&self) -> &'static str {
        self.inner.options().mode.as_str()
    }

    /// The rate limits in force, as `rate_limits=` takes them (R1).
    #[getter]
    fn rate_limits<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v = usagebook_core::ledger::rate::limits_to_json(&self.inner.rate_limits());
        convert::json_to_py(py, &v)
    }

    /// Replaces the rate limits of the open ledger (R1); `[]` removes them.
    #[pyo3(text_signature = "($self, limits)")]
    fn set_rate_limits(&self, limits: &Bound<'_, PyAny>) -> PyResult<()> {
        guard(|| {
            let l = rate_limits_arg(limits)?;
            core(|| self.inner.set_rate_limits(l))
        })
    }

    /// The daily budget in USD, or `None`.
    #[getter]
    fn daily_budget_usd(&self) -> Option<f64> {
        self.inner.options().daily_budget_nusd.map(nano_to_usd)
    }

    /// The IANA timezone whose days `spend_today` counts.
    #[getter]
    fn timezone(&self) -> &str {
        &self.inner.options().timezone
    }

    /// Writes one event (L2). Returns once it is queued and counted in
    /// memory, or with `sync=True` once its batch is committed (with every
    /// event queued before it). An invalid event raises
    /// `InvalidArgumentError` naming the field and records nothing (L5); a
    /// `precheck_hold` past the daily budget raises `BudgetExceeded`.
    #[pyo3(signature = (ev, sync = None), text_signature = "(self, ev, sync=False)")]
    fn write_event(
        &self,
        py: Python<'_>,
        ev: &Bound<'_, PyAny>,
        sync: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        guard(|| {
            self.tick(py)?;
            let ev = event_arg(ev)?;
            let sync = bool_arg(sync, "sync", false)?;
            if self.write_blocks(&ev, sync) {
                blocking(py, || self.inner.write_event(ev, sync))
            } else {
                core(|| self.inner.write_event(ev, false))
            }
        })
    }

    /// `write_event` for event loops: errors found at once (validation,
    /// budget) are raised; the result of the write reaches `done(None)` or
    /// `done(exception)` later, from a usagebook thread (after the commit
    /// when `sync`), or at once. Never waits.
    fn _write_event_then(
        &self,
        py: Python<'_>,
        ev: &Bound<'_, PyAny>,
        sync: &Bound<'_, PyAny>,
        done: Py<PyAny>,
    ) -> PyResult<()> {
        guard(|| {
            self.tick(py)?;
            let ev = event_arg(ev)?;
            let sync = bool_arg(Some(sync), "sync", false)?;
            if !sync && self.write_blocks(&ev, false) {
                // A strict precheck waits for the writer's transaction: run
                // it off the calling thread.
                let l = self.inner.clone();
                return spawn_then("awrite_event", move || l.write_event(ev, false), done);
            }
            let slot = Arc::new(Mutex::new(Slot::default()));
            let cb = done.clone_ref(py);
            let d = Done {
                cb: Some(done),
                slot: slot.clone(),
            };
            let res = core(|| {
                self.inner
                    .write_event_then(ev, sync, Box::new(move |r| d.call(r)))
            });
            let orphaned = {
                let mut s = slot.lock();
                s.returned = true;
                s.orphaned
            };
            res?;
            if orphaned {
                call_done(cb, Ok(Err(usagebook_core::Error::Closed)));
            }
            Ok(())
        })
    }

    /// Settled spend (USD) since the start of today in the ledger's
    /// timezone (L6): commits and adjusts, not open holds. `scope` is
    /// `"all"`, `"provider:<name>"` or `"model:<name>"`; `profile_id`
    /// narrows to one profile. Best effort reads memory (never waits);
    /// strict reads the database after committing what is queued.
    #[pyo3(
        signature = (scope = None, profile_id = None),
        text_signature = "(self, scope='all', profile_id=None)"
    )]
    fn spend_today(
        &self,
        py: Python<'_>,
        scope: Option<&Bound<'_, PyAny>>,
        profile_id: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<f64> {
        self.today(py, scope, profile_id, false)
    }

    /// What open, unexpired holds reserve now (USD), apart from spend.
    #[pyo3(
        signature = (scope = None, profile_id = None),
        text_signature = "(self, scope='all', profile_id=None)"
    )]
    fn reserved_today(
        &self,
        py: Python<'_>,
        scope: Option<&Bound<'_, PyAny>>,
        profile_id: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<f64> {
        self.today(py, scope, profile_id, true)
    }

    /// Commits everything queued; returns when it is in the database.
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        guard(|| {
            self.tick(py)?;
            blocking(py, || self.inner.flush())
        })
    }

    /// Drains the queue into the database (L4) and stops the writer; later
    /// writes raise `ClosedError`. Closing twice is fine.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        guard(|| blocking(py, || self.inner.close()))
    }

    /// The Prometheus text exposition (format 0.0.4): the database's
    /// totals, the same in every process sharing the file, and this
    /// process's writer (O1; docs/telemetry.md).
    fn metrics_text(&self, py: Python<'_>) -> PyResult<String> {
        guard(|| blocking(py, || self.inner.metrics_text()))
    }

    /// Queue depth, events written, batches, duplicates, rejected, expired
    /// and open holds, last commit, last error, schema version (X2).
    fn health<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        guard(|| {
            let h = self.inner.health();
            let d = PyDict::new(py);
            d.set_item("mode", h.mode)?;
            d.set_item("path", h.path.display().to_string())?;
            d.set_item("closed", h.closed)?;
            d.set_item("queue_depth", h.queue_depth)?;
            d.set_item("events_written", h.events_written)?;
            d.set_item("batches", h.batches)?;
            d.set_item("duplicates", h.duplicates)?;
            d.set_item("rejected", h.rejected)?;
            d.set_item("expired_holds", h.expired_holds)?;
            d.set_item("open_holds", h.open_holds)?;
            d.set_item("unpriced_commits", h.unpriced_commits)?;
            d.set_item("unpriced_spend_usd", nano_to_usd(h.unpriced_spend_nusd))?;
            d.set_item(
                "last_commit_at",
                h.last_commit_ms
                    .map(|ms| convert::datetime_from_ms(py, ms))
                    .transpose()?,
            )?;
            d.set_item("last_error", h.last_error)?;
            d.set_item("schema_version", h.schema_version)?;
            d.set_item("notes", h.notes)?;
            d.set_item("rate_limited", h.rate_limited)?;
            d.set_item("rate_limit_waits", h.rate_limit_waits)?;
            Ok(d)
        })
    }

    /// Runs `flush` (`op="flush"`) or `close` (`op="close"`) on a new thread
    /// and then calls `done(None)` or `done(exception)` from it; the
    /// facade's `aflush`/`aclose` complete their future from `done`.
    fn _start_background(&self, py: Python<'_>, op: &str, done: Py<PyAny>) -> PyResult<()> {
        guard(|| {
            self.tick(py)?;
            let l = self.inner.clone();
            match op {
                "flush" => spawn_then("aflush", move || l.flush(), done),
                "close" => spawn_then("aclose", move || l.close(), done),
                other => Err(invalid(format!(
                    "op must be \"flush\" or \"close\", got {other:?}"
                ))),
            }
        })
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!(
            "Ledger({:?}, mode={:?})",
            self.inner.health().path.display().to_string(),
            self.mode()
        )
    }
}

// ---- Hold ----

/// An open reservation (L6): `Hold(ledger, *, trace_id, provider, model,
/// estimate_usd, profile_id=None)` reserves, as `ledger.reserve(...)` does.
/// Settle it once with `commit` or `cancel`; as a context manager it
/// cancels on exit if still open.
#[pyclass(frozen, subclass, module = "usagebook._native", name = "Hold")]
pub struct PyHold {
    ledger: Py<PyLedger>,
    hold: CoreHold,
    /// Set while a commit or cancel is in flight and once one succeeded.
    settled: AtomicBool,
}

impl PyHold {
    /// Turns the settled flag on for `settle`; a failed settle (nothing
    /// was recorded) turns it off again so the caller may retry or cancel.
    fn settle_once(&self, settle: impl FnOnce(&CoreHold) -> PyResult<()>) -> PyResult<()> {
        if self
            .settled
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(invalid(format!(
                "hold for trace {:?} is already settled (committed or cancelled); a hold settles once",
                self.hold.trace_id
            )));
        }
        let r = settle(&self.hold);
        if r.is_err() {
            self.settled.store(false, Ordering::Release);
        }
        r
    }
}

#[pymethods]
impl PyHold {
    #[new]
    #[pyo3(
        signature = (ledger, *, trace_id, provider, model, estimate_usd, profile_id = None, input_tokens = None, max_tokens = None, estimate_tokens = None),
        text_signature = "(ledger, *, trace_id, provider, model, estimate_usd, profile_id=None, input_tokens=None, max_tokens=None, estimate_tokens=None)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        ledger: &Bound<'_, PyAny>,
        trace_id: &Bound<'_, PyAny>,
        provider: &Bound<'_, PyAny>,
        model: &Bound<'_, PyAny>,
        estimate_usd: &Bound<'_, PyAny>,
        profile_id: Option<&Bound<'_, PyAny>>,
        input_tokens: Option<&Bound<'_, PyAny>>,
        max_tokens: Option<&Bound<'_, PyAny>>,
        estimate_tokens: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        guard(|| {
            let l = ledger.cast::<PyLedger>().map_err(|_| {
                invalid(format!(
                    "ledger must be a usagebook.Ledger, got {}",
                    describe(ledger)
                ))
            })?;
            let pl = l.get();
            pl.tick(py)?;
            let trace_id = convert::string(trace_id, "trace_id")?;
            let provider = convert::string(provider, "provider")?;
            let model = convert::string(model, "model")?;
            let estimate = usd_arg(estimate_usd, "estimate_usd")?;
            let profile = convert::opt_string(profile_id, "profile_id")?;
            let count = |v: Option<&Bound<'_, PyAny>>, name: &str| -> PyResult<Option<u64>> {
                match v.filter(|v| !v.is_none()) {
                    None => Ok(None),
                    Some(v) if convert::is_int(v) => v.extract::<u64>().map(Some).map_err(|_| {
                        invalid(format!("{name} must be an int >= 0, got {}", describe(v)))
                    }),
                    Some(v) => Err(invalid(format!(
                        "{name} must be an int >= 0, got {}",
                        describe(v)
                    ))),
                }
            };
            let request_tokens = (
                count(input_tokens, "input_tokens")?,
                count(max_tokens, "max_tokens")?,
                count(estimate_tokens, "estimate_tokens")?,
            );
            let run = || {
                pl.inner
                    .reserve_with(&usagebook_core::ledger::ReserveRequest {
                        trace_id: &trace_id,
                        provider: &provider,
                        model: &model,
                        estimate_nusd: estimate,
                        profile_id: profile.as_deref(),
                        input_tokens: request_tokens.0,
                        max_tokens: request_tokens.1,
                        estimate_tokens: request_tokens.2,
                    })
            };
            // Strict, or under rate limits: one IMMEDIATE transaction on the
            // writer thread (L7, R1), maybe a wait (R2): without the GIL.
            let hold = if pl.strict() || !pl.inner.rate_limits().is_empty() {
                blocking(py, run)?
            } else {
                core(run)?
            };
            Ok(PyHold {
                ledger: l.clone().unbind(),
                hold,
                settled: AtomicBool::new(false),
            })
        })
    }

    #[getter]
    fn trace_id(&self) -> &str {
        &self.hold.trace_id
    }
    /// The id of the hold's `precheck_hold` event.
    #[getter]
    fn event_id(&self) -> &str {
        &self.hold.event_id
    }
    #[getter]
    fn provider(&self) -> &str {
        &self.hold.provider
    }
    #[getter]
    fn model(&self) -> &str {
        &self.hold.model
    }
    #[getter]
    fn profile_id(&self) -> Option<&str> {
        self.hold.profile_id.as_deref()
    }
    /// What the hold reserves, USD.
    #[getter]
    fn amount_usd(&self) -> f64 {
        nano_to_usd(self.hold.amount_nusd)
    }
    /// When the hold expires if not settled (L9): a tz-aware UTC datetime.
    #[getter]
    fn expires_at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::datetime_from_ms(py, self.hold.expires_ms)
    }
    /// True once committed or cancelled through this object.
    #[getter]
    fn settled(&self) -> bool {
        self.settled.load(Ordering::Acquire)
    }

    /// Settles the hold as spent (L6): spend becomes `cost_actual_usd`, or
    /// the cost of `usage` at the model's price (L12), or, for an unpriced
    /// model, the estimate; the reservation is released. Queued, never
    /// waits. A second settle raises `InvalidArgumentError`.
    #[pyo3(
        signature = (usage = None, cost_actual_usd = None),
        text_signature = "(self, usage=None, cost_actual_usd=None)"
    )]
    fn commit(
        &self,
        py: Python<'_>,
        usage: Option<&Bound<'_, PyAny>>,
        cost_actual_usd: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        guard(|| {
            let l = self.ledger.get();
            l.tick(py)?;
            let usage = convert::usage_json(usage, "usage")?;
            let cost = match cost_actual_usd {
                Some(c) if !c.is_none() => Some(usd_arg(c, "cost_actual_usd")?),
                _ => None,
            };
            self.settle_once(|h| core(|| l.inner.commit(h, usage, cost, false)))
        })
    }

    /// Releases the hold without spend. Queued, never waits. A second
    /// settle raises `InvalidArgumentError`.
    fn cancel(&self, py: Python<'_>) -> PyResult<()> {
        guard(|| {
            let l = self.ledger.get();
            l.tick(py)?;
            self.settle_once(|h| core(|| l.inner.cancel(h, false)))
        })
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Cancels the hold if it is still open, whether the block raised or
    /// not (a hold left open would reserve its amount until it expires).
    /// An error while cancelling is raised only when the block did not
    /// raise.
    #[pyo3(signature = (*exc))]
    fn __exit__(&self, py: Python<'_>, exc: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        let raised = exc.len() > 0 && !exc.get_item(0)?.is_none();
        if self.settled() {
            return Ok(false);
        }
        match self.cancel(py) {
            Err(_) if raised => Ok(false),
            Err(e) if self.settled() && e.is_instance_of::<pyo3::exceptions::PyValueError>(py) => {
                Ok(false) // settled by another thread meanwhile
            }
            Err(e) => Err(e),
            Ok(()) => Ok(false),
        }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let s = |v: &str| -> PyResult<String> { Ok(PyString::new(py, v).repr()?.to_string()) };
        Ok(format!(
            "Hold(trace_id={}, provider={}, model={}, profile_id={}, amount_usd={}, settled={})",
            s(&self.hold.trace_id)?,
            s(&self.hold.provider)?,
            s(&self.hold.model)?,
            match &self.hold.profile_id {
                Some(p) => s(p)?,
                None => "None".into(),
            },
            nano_to_usd(self.hold.amount_nusd)
                .into_bound_py_any(py)?
                .repr()?,
            if self.settled() { "True" } else { "False" },
        ))
    }
}
