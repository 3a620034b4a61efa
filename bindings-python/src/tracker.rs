//! The tracker classes. `Tracker` holds any core tracker and has every
//! method; `FileBackedTracker`, `InMemoryTracker` and `NoOpTracker` only add
//! constructors (T6, T12). The `usagebook` facade subclasses them to add the
//! asyncio methods.
//!
//! Threads: the classes are frozen and the core trackers are `Sync`, so one
//! object may be used from any number of Python threads. Calls that can
//! block (open, flush, close, clear, track in `power` mode) release the GIL.

use crate::convert::{self, DurationArg, StatusArg};
use crate::errors::{self, blocking, core, guard, invalid};
use crate::exit_registry::ExitRegistry;
use crate::model::{PyUsageLog, PyUsageStats};
use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Arc;
use usagebook_core::{
    Durability, FileBackedTracker as CoreFile, FnClock, InMemoryTracker as CoreMemory,
    NoOpTracker as CoreNoOp, SharedClock, SystemClock, TrackerOptions, Usage, UsageStatus,
    UsageTracker,
};

/// File-backed trackers still open, for the final flush at interpreter exit
/// (T8).
static OPEN_FILE_TRACKERS: ExitRegistry<CoreFile> = ExitRegistry::new();

fn register_open(t: &Arc<CoreFile>) {
    OPEN_FILE_TRACKERS.register(t);
}

/// Closes (final flush, writer joined, lock released) every file-backed
/// tracker still open. The facade registers it with `atexit`.
#[pyfunction]
pub fn _close_all(py: Python<'_>) -> PyResult<()> {
    OPEN_FILE_TRACKERS.close_all(py, |t| t.close())
}

/// A clock read from a Python callable returning epoch milliseconds (the
/// `_clock` testing hook), wired to the core's `FnClock`. If the callable
/// fails, the error is reported as unraisable and the system clock is used.
fn python_clock(f: Py<PyAny>) -> SharedClock {
    Arc::new(FnClock(move || {
        Python::try_attach(|py| match f.call0(py).and_then(|v| v.extract::<i64>(py)) {
            Ok(ms) => Some(ms),
            Err(e) => {
                e.write_unraisable(py, Some(f.bind(py)));
                None
            }
        })
        .flatten()
        .unwrap_or_else(|| usagebook_core::Clock::now_ms(&SystemClock))
    }))
}

fn clock_arg(clock: Option<Bound<'_, PyAny>>) -> PyResult<SharedClock> {
    match clock {
        None => Ok(Arc::new(SystemClock)),
        Some(c) if c.is_none() => Ok(Arc::new(SystemClock)),
        Some(c) if c.is_callable() => Ok(python_clock(c.unbind())),
        Some(c) => Err(invalid(format!(
            "_clock must be a callable returning epoch milliseconds, got {}",
            convert::describe(&c)
        ))),
    }
}

/// The core tracker behind a Python object. Concrete types, not a trait
/// object: the hot path uses their `intern_bridge`/`track_interned`.
enum Core {
    File(Arc<CoreFile>),
    Memory(Arc<CoreMemory>),
    NoOp(Arc<CoreNoOp>),
}

impl Core {
    fn tracker(&self) -> &dyn UsageTracker {
        match self {
            Core::File(t) => &**t,
            Core::Memory(t) => &**t,
            Core::NoOp(t) => &**t,
        }
    }

    fn shared(&self) -> Arc<dyn UsageTracker> {
        match self {
            Core::File(t) => t.clone(),
            Core::Memory(t) => t.clone(),
            Core::NoOp(t) => t.clone(),
        }
    }

    fn intern_bridge(&self, bridge_id: &str) -> usagebook_core::Result<u32> {
        match self {
            Core::File(t) => t.intern_bridge(bridge_id),
            Core::Memory(t) => t.intern_bridge(bridge_id),
            Core::NoOp(t) => t.intern_bridge(bridge_id),
        }
    }

    #[inline]
    fn track_interned(
        &self,
        bridge: u32,
        usage: Usage,
        duration_ms: Option<f64>,
        status: UsageStatus,
    ) -> usagebook_core::Result<()> {
        match self {
            Core::File(t) => t.track_interned(bridge, usage, duration_ms, status),
            Core::Memory(t) => t.track_interned(bridge, usage, duration_ms, status),
            Core::NoOp(t) => t.track_interned(bridge, usage, duration_ms, status),
        }
    }
}

/// Bridge-id `str` objects seen recently and their core handles. Bridge ids
/// are nearly always the same few string objects (constants, config), so an
/// identity match skips the UTF-8 conversion and the core's name lookup.
/// Entries hold a reference, so an address cannot be reused by another
/// string while it is cached.
struct BridgeCache {
    slots: Vec<(Py<PyString>, u32)>,
    next: usize,
}

const BRIDGE_CACHE_SLOTS: usize = 16;

/// The base of every tracker class: all of `LlmBridgeUsageTracker` (T1).
#[pyclass(frozen, subclass, module = "usagebook._native", name = "Tracker")]
pub struct Tracker {
    core: Core,
    /// `power` durability: `track` waits for an fsync, so it releases the GIL.
    track_blocks: bool,
    bridges: Mutex<BridgeCache>,
}

impl Drop for Tracker {
    fn drop(&mut self) {
        // The core closes a dropped file tracker (final flush, writer
        // joined); do it here with the GIL released, so that wait never
        // holds it.
        if let Core::File(f) = &self.core {
            let f = f.clone();
            let _ =
                Python::try_attach(|py| py.detach(|| catch_unwind(AssertUnwindSafe(|| f.close()))));
        }
    }
}

impl Tracker {
    fn new(core: Core, track_blocks: bool) -> Self {
        Tracker {
            core,
            track_blocks,
            bridges: Mutex::new(BridgeCache {
                slots: Vec::with_capacity(BRIDGE_CACHE_SLOTS),
                next: 0,
            }),
        }
    }

    fn inner(&self) -> &dyn UsageTracker {
        self.core.tracker()
    }

    /// The file-backed core (only `FileBackedTracker` objects have one).
    fn file(&self) -> PyResult<Arc<CoreFile>> {
        match &self.core {
            Core::File(t) => Ok(t.clone()),
            _ => Err(invalid("only a file-backed tracker has git sync")),
        }
    }

    /// The core handle of a bridge id, validating it (a non-empty `str`).
    #[inline]
    fn bridge_handle(&self, obj: &Bound<'_, PyAny>) -> PyResult<u32> {
        let ptr = obj.as_ptr();
        if let Some(&(_, h)) = self
            .bridges
            .lock()
            .slots
            .iter()
            .find(|(s, _)| s.as_ptr() == ptr)
        {
            return Ok(h);
        }
        let name = convert::bridge_id(obj)?;
        let handle = core(|| self.core.intern_bridge(&name))?;
        if let Ok(s) = obj.cast_exact::<PyString>() {
            let entry = (s.clone().unbind(), handle);
            let mut cache = self.bridges.lock();
            if cache.slots.len() < BRIDGE_CACHE_SLOTS {
                cache.slots.push(entry);
            } else {
                let i = cache.next;
                cache.slots[i] = entry;
                cache.next = (i + 1) % BRIDGE_CACHE_SLOTS;
            }
        }
        Ok(handle)
    }
}

#[pymethods]
impl Tracker {
    /// Records one call (T2): `usage` is a mapping or an object with
    /// `prompt_tokens`/`completion_tokens`/`total_tokens` (OpenAI),
    /// `input_tokens`/`output_tokens` (Anthropic; total = sum) or the
    /// camelCase keys of T1. Bad input raises `InvalidArgumentError` and
    /// records nothing.
    #[pyo3(
        signature = (bridge_id, usage, *, duration_ms = DurationArg(None), status = StatusArg(usagebook_core::UsageStatus::Success)),
        text_signature = "(self, bridge_id, usage, *, duration_ms=None, status='success')"
    )]
    fn track_usage(
        &self,
        py: Python<'_>,
        bridge_id: &Bound<'_, PyAny>,
        usage: &Bound<'_, PyAny>,
        duration_ms: DurationArg,
        status: StatusArg,
    ) -> PyResult<()> {
        guard(|| {
            let bridge = self.bridge_handle(bridge_id)?;
            let usage = convert::usage(usage)?;
            let (d, s) = (duration_ms.0, status.0);
            if self.track_blocks {
                blocking(py, || self.core.track_interned(bridge, usage, d, s))
            } else {
                core(|| self.core.track_interned(bridge, usage, d, s))
            }
        })
    }

    /// Retained logs, oldest first; all when `bridge_id` is `None` or `""`,
    /// else those of exactly that bridge (T3).
    #[pyo3(signature = (bridge_id = None))]
    fn get_usage_logs<'py>(
        &self,
        py: Python<'py>,
        bridge_id: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        guard(|| {
            let filter = convert::bridge_filter(bridge_id)?;
            let logs = core(|| self.inner().logs(filter.as_deref()))?;
            PyList::new(py, logs.into_iter().map(PyUsageLog))
        })
    }

    /// Lifetime stats of one bridge, or of all when `bridge_id` is `None`
    /// or `""` (T4).
    #[pyo3(signature = (bridge_id = None))]
    fn get_usage_stats(&self, bridge_id: Option<&Bound<'_, PyAny>>) -> PyResult<PyUsageStats> {
        guard(|| {
            let filter = convert::bridge_filter(bridge_id)?;
            core(|| self.inner().stats(filter.as_deref())).map(PyUsageStats)
        })
    }

    /// Clears everything, or (with a tz-aware `datetime`) the logs older
    /// than it, and their share of the totals (T5).
    #[pyo3(signature = (older_than = None))]
    fn clear_logs(&self, py: Python<'_>, older_than: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        guard(|| {
            let cutoff = match older_than {
                Some(o) if !o.is_none() => Some(convert::datetime_to_ms(o, "older_than")?),
                _ => None,
            };
            blocking(py, || self.inner().clear_logs(cutoff))
        })
    }

    /// Writes everything pending and returns when it is on disk (T8).
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        guard(|| blocking(py, || self.inner().flush()))
    }

    /// Final flush; later calls raise `ClosedError`. Closing twice is fine.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        guard(|| blocking(py, || self.inner().close()))
    }

    /// The Prometheus text exposition (format 0.0.4) of this tracker:
    /// requests, errors and tokens by type per bridge, and the writer's
    /// health (O1; docs/telemetry.md).
    fn metrics_text(&self, py: Python<'_>) -> PyResult<String> {
        guard(|| blocking(py, || self.inner().metrics_text()))
    }

    /// Last flush, queue depth, pending bytes, last error (X2).
    fn health<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        guard(|| {
            let h = self.inner().health();
            let d = PyDict::new(py);
            d.set_item("kind", h.kind)?;
            d.set_item("closed", h.closed)?;
            d.set_item("durability", h.durability)?;
            d.set_item(
                "last_flush_at",
                h.last_flush_ms
                    .map(|ms| convert::datetime_from_ms(py, ms))
                    .transpose()?,
            )?;
            d.set_item("flush_count", h.flush_count)?;
            d.set_item("queue_depth", h.queue_depth)?;
            d.set_item("pending_bytes", h.pending_bytes)?;
            d.set_item("retained_logs", h.retained_logs)?;
            d.set_item("last_error", h.last_error)?;
            d.set_item("recovery", h.recovery)?;
            // `None` without git sync, so every tracker's health has the key.
            d.set_item(
                "git_sync",
                h.git_sync
                    .as_ref()
                    .map(|g| crate::gitsync::status_to_py(py, g))
                    .transpose()?,
            )?;
            Ok(d)
        })
    }

    /// Runs `flush` (`op="flush"`) or `close` (`op="close"`) off the calling
    /// thread and then calls `done(None)` or `done(exception)` from that
    /// thread. The facade's `aflush`/`aclose` complete their future from
    /// `done` with `loop.call_soon_threadsafe`, so the loop never waits.
    fn _start_background(&self, py: Python<'_>, op: &str, done: Py<PyAny>) -> PyResult<()> {
        guard(|| {
            let close = match op {
                "flush" => false,
                "close" => true,
                other => {
                    return Err(invalid(format!(
                        "op must be \"flush\" or \"close\", got {other:?}"
                    )))
                }
            };
            let inner = self.core.shared();
            let run = move || {
                catch_unwind(AssertUnwindSafe(|| {
                    if close {
                        inner.close()
                    } else {
                        inner.flush()
                    }
                }))
            };
            if !matches!(self.core, Core::File(_)) {
                // In-memory and no-op trackers never block: done at once.
                let err = errors::outcome(run()).map(|e| e.into_value(py).into_any());
                done.call1(py, (err,))?;
                return Ok(());
            }
            std::thread::Builder::new()
                .name("usagebook-async".into())
                .spawn(move || {
                    let res = run();
                    let _ = Python::try_attach(|py| {
                        let err = errors::outcome(res).map(|e| e.into_value(py).into_any());
                        if let Err(e) = done.call1(py, (err,)) {
                            e.write_unraisable(py, Some(done.bind(py)));
                        }
                    });
                })
                .map_err(|e| {
                    errors::from_core(usagebook_core::Error::io(
                        "starting a thread for aflush/aclose",
                        e,
                    ))
                })?;
            Ok(())
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
}

/// `FileBackedLlmUsageTracker` (T6–T11): totals (and, with `persist_logs`,
/// logs) in `<base_dir>/llm-usage`, surviving restarts and crashes.
#[pyclass(frozen, extends = Tracker, subclass, module = "usagebook._native", name = "FileBackedTracker")]
pub struct FileBacked;

#[pymethods]
impl FileBacked {
    #[new]
    #[pyo3(
        signature = (base_dir, *, flush_interval_ms = None, flush_every_n_logs = None, persist_logs = None, max_logs = None, durability = None, max_log_bytes = None, git_sync = None, _clock = None),
        text_signature = "(base_dir, *, flush_interval_ms=30000, flush_every_n_logs=100, persist_logs=False, max_logs=10000, durability='interval', max_log_bytes=None, git_sync=None, _clock=None)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        base_dir: &Bound<'_, PyAny>,
        flush_interval_ms: Option<&Bound<'_, PyAny>>,
        flush_every_n_logs: Option<&Bound<'_, PyAny>>,
        persist_logs: Option<&Bound<'_, PyAny>>,
        max_logs: Option<&Bound<'_, PyAny>>,
        durability: Option<&Bound<'_, PyAny>>,
        max_log_bytes: Option<&Bound<'_, PyAny>>,
        git_sync: Option<&Bound<'_, PyAny>>,
        _clock: Option<Bound<'_, PyAny>>,
    ) -> PyResult<PyClassInitializer<Self>> {
        guard(|| {
            let dir: PathBuf = base_dir.extract().map_err(|_| {
                invalid(format!(
                    "base_dir must be a str or os.PathLike, got {}",
                    convert::describe(base_dir)
                ))
            })?;
            let d = TrackerOptions::default();
            let opts = TrackerOptions {
                flush_interval_ms: convert::uint_option(
                    "flush_interval_ms",
                    flush_interval_ms,
                    d.flush_interval_ms,
                    1,
                )?,
                flush_every_n_logs: convert::uint_option(
                    "flush_every_n_logs",
                    flush_every_n_logs,
                    d.flush_every_n_logs,
                    1,
                )?,
                persist_logs: match persist_logs {
                    Some(p) if !p.is_none() => p
                        .cast::<pyo3::types::PyBool>()
                        .map(|b| b.is_true())
                        .map_err(|_| {
                            invalid(format!(
                                "persist_logs must be a bool, got {}",
                                convert::describe(p)
                            ))
                        })?,
                    _ => d.persist_logs,
                },
                max_logs: convert::uint_option("max_logs", max_logs, d.max_logs as u64, 1)?
                    .try_into()
                    .map_err(|_| invalid("max_logs is too large"))?,
                max_log_bytes: match max_log_bytes {
                    Some(b) if !b.is_none() => {
                        Some(convert::uint_option("max_log_bytes", Some(b), 0, 1)?)
                    }
                    _ => None,
                },
                durability: match durability {
                    Some(s) if !s.is_none() => {
                        let text: String = s.extract().map_err(|_| {
                            invalid(format!(
                                "durability must be \"interval\", \"process\" or \"power\", got {}",
                                convert::describe(s)
                            ))
                        })?;
                        Durability::parse(&text).map_err(errors::from_core)?
                    }
                    _ => d.durability,
                },
                git_sync: crate::gitsync::git_sync_arg(git_sync)?,
                // The wheel has no OTLP exporter: Python hosts use usagebook.otel.
                otlp: None,
            };
            let clock = clock_arg(_clock)?;
            let track_blocks = opts.durability == Durability::Power;
            let tracker = Arc::new(blocking(py, move || {
                CoreFile::open_with_clock(&dir, opts, clock)
            })?);
            register_open(&tracker);
            let base = Tracker::new(Core::File(tracker), track_blocks);
            Ok(PyClassInitializer::from(base).add_subclass(FileBacked))
        })
    }

    /// Flushes, then syncs the git repository at once (`git_sync`; issue
    /// 13): commits this device's files, fetches, merges, pushes (never
    /// forced). Offline it keeps the commit and says so in the result.
    fn sync_now<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyDict>> {
        let py = slf.py();
        guard(|| {
            let t = slf.as_super().get().file()?;
            let r = blocking(py, move || t.sync_now())?;
            crate::gitsync::report_to_py(py, &r)
        })
    }

    /// Every device's usage in the git repository, as of the last sync,
    /// deduplicated by event id: `{"total": UsageStats, "devices": {id:
    /// UsageStats}, "bridges": {id: UsageStats}, "segments": n, "notes":
    /// [...]}` (G2).
    fn merged_stats<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyDict>> {
        let py = slf.py();
        guard(|| {
            let t = slf.as_super().get().file()?;
            let m = blocking(py, move || t.merged_stats())?;
            crate::gitsync::merged_to_py(py, m)
        })
    }
}

/// `InMemoryLlmUsageTracker` (T12): lifetime totals survive the `max_logs`
/// cap; nothing survives the process.
#[pyclass(frozen, extends = Tracker, subclass, module = "usagebook._native", name = "InMemoryTracker")]
pub struct InMemory;

#[pymethods]
impl InMemory {
    #[new]
    #[pyo3(
        signature = (*, max_logs = None, _clock = None),
        text_signature = "(*, max_logs=10000, _clock=None)"
    )]
    fn new(
        max_logs: Option<&Bound<'_, PyAny>>,
        _clock: Option<Bound<'_, PyAny>>,
    ) -> PyResult<PyClassInitializer<Self>> {
        guard(|| {
            let max_logs: usize = convert::uint_option(
                "max_logs",
                max_logs,
                TrackerOptions::default().max_logs as u64,
                1,
            )?
            .try_into()
            .map_err(|_| invalid("max_logs is too large"))?;
            let clock = clock_arg(_clock)?;
            let t = core(|| CoreMemory::with_clock(max_logs, clock))?;
            Ok(
                PyClassInitializer::from(Tracker::new(Core::Memory(Arc::new(t)), false))
                    .add_subclass(InMemory),
            )
        })
    }
}

/// `NoOpLlmUsageTracker` (T12): validates, records nothing, reports empty
/// stats.
#[pyclass(frozen, extends = Tracker, subclass, module = "usagebook._native", name = "NoOpTracker")]
pub struct NoOp;

#[pymethods]
impl NoOp {
    #[new]
    #[pyo3(text_signature = "()")]
    fn new() -> PyClassInitializer<Self> {
        PyClassInitializer::from(Tracker::new(Core::NoOp(Arc::new(CoreNoOp::new())), false))
            .add_subclass(NoOp)
    }
}

/// Panics inside the binding's guard: lets the tests prove a Rust panic
/// reaches Python as `UsagebookError`. Not part of the API.
#[pyfunction]
pub fn _panic_for_tests(message: &str) -> PyResult<()> {
    guard(|| panic!("{message}"))
}
