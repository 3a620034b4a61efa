//! `NativeTracker`: one core tracker as a napi-rs class. Everything except
//! the per-event path (see `fast`) goes through here.

use crate::errors::{guard, invalid, to_napi};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::Arc;
use usagebook_core::{
    FileBackedTracker, InMemoryTracker, InternedLog, ManualClock, NoOpTracker, SharedClock,
    SystemClock, TrackerOptions, Usage, UsageStatus, UsageTracker,
};

type JsResult<T> = napi::Result<T, String>;

/// The three trackers of T12. An enum rather than `dyn UsageTracker` so the
/// interned fast path (inherent methods) is reachable. It is built once per
/// tracker, inside the `Arc` of [`Native`], and never moved: the size of
/// its largest variant costs nothing, and boxing it would add a pointer
/// chase to every call.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Core {
    Memory(InMemoryTracker),
    File(FileBackedTracker),
    NoOp(NoOpTracker),
}

pub(crate) struct Native {
    pub core: Core,
    /// Set only by the testing factories: time moves when the test says.
    pub clock: Option<ManualClock>,
}

impl Native {
    pub fn tracker(&self) -> &dyn UsageTracker {
        match &self.core {
            Core::Memory(t) => t,
            Core::File(t) => t,
            Core::NoOp(t) => t,
        }
    }

    pub fn intern(&self, bridge_id: &str) -> usagebook_core::Result<u32> {
        match &self.core {
            Core::Memory(t) => t.intern_bridge(bridge_id),
            Core::File(t) => t.intern_bridge(bridge_id),
            Core::NoOp(t) => t.intern_bridge(bridge_id),
        }
    }

    pub fn track_interned(
        &self,
        bridge: u32,
        usage: Usage,
        duration_ms: Option<f64>,
        status: UsageStatus,
    ) -> usagebook_core::Result<()> {
        match &self.core {
            Core::Memory(t) => t.track_interned(bridge, usage, duration_ms, status),
            Core::File(t) => t.track_interned(bridge, usage, duration_ms, status),
            Core::NoOp(t) => t.track_interned(bridge, usage, duration_ms, status),
        }
    }

    pub fn track_interned_batch(&self, logs: &[InternedLog]) -> usagebook_core::Result<()> {
        match &self.core {
            Core::Memory(t) => t.track_interned_batch(logs),
            Core::File(t) => t.track_interned_batch(logs),
            Core::NoOp(t) => t.track_interned_batch(logs),
        }
    }
}

fn clock_for(manual_clock_ms: Option<f64>) -> JsResult<(SharedClock, Option<ManualClock>)> {
    match manual_clock_ms {
        None => Ok((Arc::new(SystemClock), None)),
        Some(ms) if ms.is_finite() => {
            let clock = ManualClock::new(ms as i64);
            Ok((Arc::new(clock.clone()), Some(clock)))
        }
        Some(ms) => Err(invalid(format!(
            "the testing clock must be a finite number of ms, got {ms}"
        ))),
    }
}

fn options(json: Option<String>) -> Result<TrackerOptions, String> {
    TrackerOptions::from_json(json.as_deref()).map_err(to_napi)
}

/// `getUsageLogs` as columns: building 10k JS objects field by field
/// through N-API is slow, so the facade builds them in JS from these.
#[napi(object)]
pub struct LogColumns {
    /// Ids (`llm_log_<n>_<ms>`, formatted by the core), joined by `\n`.
    pub ids: String,
    /// The distinct bridge ids of this result; `data` refers to them by index.
    pub bridges: Vec<String>,
    /// Per log, 10 numbers: bridge index, timestamp ms, prompt, completion,
    /// total tokens, duration ms (NaN when absent), status (0 success, 1
    /// error), cache read, cache write and reasoning tokens.
    pub data: Float64Array,
}

/// Flush or close on the libuv pool: these wait for the writer and disk.
/// Resolves to `null`, or to `[code, message]` that the facade rejects with
/// (napi-rs tasks can only reject with their generic status codes).
pub struct Work {
    native: Arc<Native>,
    close: bool,
}

impl Task for Work {
    type Output = Option<Vec<String>>;
    type JsValue = Option<Vec<String>>;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let tracker = self.native.tracker();
        let res = guard(|| {
            if self.close {
                tracker.close().map_err(to_napi)
            } else {
                tracker.flush().map_err(to_napi)
            }
        });
        Ok(res.err().map(|e| vec![e.status.clone(), e.reason.clone()]))
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        Ok(output)
    }
}

/// A git sync (`syncNow`) or a read of the merged view (`getMergedStats`)
/// on the libuv pool: both run git or read every device's files (issue 13).
/// Resolves to `["", json]`, or to `[code, message]` that the facade
/// rejects with.
pub struct GitWork {
    native: Arc<Native>,
    sync: bool,
}

impl Task for GitWork {
    type Output = Vec<String>;
    type JsValue = Vec<String>;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let tracker = self.native.tracker();
        let res = guard(|| {
            if self.sync {
                tracker.git_sync_now().map(|r| r.to_json().to_string())
            } else {
                tracker.git_merged_stats().map(|m| m.to_json().to_string())
            }
            .map_err(to_napi)
        });
        Ok(match res {
            Ok(json) => vec![String::new(), json],
            Err(e) => vec![e.status.clone(), e.reason.clone()],
        })
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        Ok(output)
    }
}

/// One core tracker. Created by the factories; the facade owns it.
#[napi]
pub struct NativeTracker {
    native: Arc<Native>,
}

#[napi]
impl NativeTracker {
    /// `new FileBackedLlmUsageTracker(baseDir, options)`: opens and recovers
    /// `<baseDir>/llm-usage` (T9, T10); `USAGEBOOK_LOCKED` if another tracker
    /// owns it (T11). `manualClockMs` is the testing hook.
    #[napi(factory, catch_unwind)]
    pub fn open_file(
        base_dir: String,
        options_json: Option<String>,
        manual_clock_ms: Option<f64>,
    ) -> Result<NativeTracker, String> {
        guard(|| {
            let opts = options(options_json)?;
            let (clock, manual) = clock_for(manual_clock_ms)?;
            let t = FileBackedTracker::open_with_clock(&base_dir, opts, clock).map_err(to_napi)?;
            Ok(Self::wrap(Core::File(t), manual))
        })
    }

    /// `new InMemoryLlmUsageTracker(options)`: only `maxLogs` matters.
    #[napi(factory, catch_unwind)]
    pub fn memory(
        options_json: Option<String>,
        manual_clock_ms: Option<f64>,
    ) -> Result<NativeTracker, String> {
        guard(|| {
            let opts = options(options_json)?;
            let (clock, manual) = clock_for(manual_clock_ms)?;
            let t = InMemoryTracker::with_clock(opts.max_logs, clock).map_err(to_napi)?;
            Ok(Self::wrap(Core::Memory(t), manual))
        })
    }

    #[napi(factory, catch_unwind)]
    pub fn noop() -> NativeTracker {
        Self::wrap(Core::NoOp(NoOpTracker::new()), None)
    }

    fn wrap(core: Core, clock: Option<ManualClock>) -> NativeTracker {
        NativeTracker {
            native: Arc::new(Native { core, clock }),
        }
    }

    /// `"memory"`, `"file"` or `"noop"`.
    #[napi(getter)]
    pub fn kind(&self) -> &'static str {
        match self.native.core {
            Core::Memory(_) => "memory",
            Core::File(_) => "file",
            Core::NoOp(_) => "noop",
        }
    }

    /// The file tracker's durability (X5); `null` for the others. The facade
    /// queues `trackUsage` calls only where a crash loses them anyway
    /// (`interval`, memory, no-op); `process` and `power` record each call
    /// before it returns.
    #[napi(getter)]
    pub fn durability(&self) -> Option<&'static str> {
        match &self.native.core {
            Core::File(t) => Some(t.options().durability.as_str()),
            _ => None,
        }
    }

    /// The handle `track()` takes for this bridge id.
    #[napi(catch_unwind)]
    pub fn intern(&self, bridge_id: String) -> Result<u32, String> {
        guard(|| self.native.intern(&bridge_id).map_err(to_napi))
    }

    /// The per-event functions over `scratch`, `queue` and `parts` (see
    /// `fast.rs`).
    #[napi(
        ts_args_type = "scratch: Float64Array, queue: Float64Array, parts: Float64Array",
        ts_return_type = "{ track(): void; drain(count: number): void; stats(bridgeId?: string | null): void }"
    )]
    pub fn bind_fast<'env>(
        &self,
        env: &'env Env,
        scratch: Unknown<'env>,
        queue: Unknown<'env>,
        parts: Unknown<'env>,
    ) -> Result<Unknown<'env>> {
        let raw = unsafe {
            crate::fast::bind(
                env.raw(),
                self.native.clone(),
                scratch.raw(),
                queue.raw(),
                parts.raw(),
            )?
        };
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), raw) })
    }

    /// Retained logs, oldest first (T3), as columns.
    #[napi(catch_unwind)]
    pub fn logs(&self, bridge_id: Option<String>) -> Result<LogColumns, String> {
        guard(|| {
            let logs = self
                .native
                .tracker()
                .logs(bridge_id.as_deref())
                .map_err(to_napi)?;
            let mut ids = String::with_capacity(logs.len() * 28);
            let mut bridges: Vec<String> = Vec::new();
            let mut data = Vec::with_capacity(logs.len() * 10);
            for (i, l) in logs.iter().enumerate() {
                if i > 0 {
                    ids.push('\n');
                }
                ids.push_str(&l.id());
                // Results are per bridge or few bridges: a linear scan from
                // the back beats hashing every log.
                let b = match bridges.iter().rposition(|b| *b == l.bridge_id) {
                    Some(b) => b,
                    None => {
                        bridges.push(l.bridge_id.clone());
                        bridges.len() - 1
                    }
                };
                data.extend_from_slice(&[
                    b as f64,
                    l.timestamp_ms as f64,
                    l.usage.prompt_tokens as f64,
                    l.usage.completion_tokens as f64,
                    l.usage.total_tokens as f64,
                    l.duration_ms.unwrap_or(f64::NAN),
                    l.status as u8 as f64,
                    l.usage.cache_read_tokens as f64,
                    l.usage.cache_write_tokens as f64,
                    l.usage.reasoning_tokens as f64,
                ]);
            }
            Ok(LogColumns {
                ids,
                bridges,
                data: Float64Array::new(data),
            })
        })
    }

    /// `clearLogs(olderThan?)` (T5). File-backed: returns when it is on disk.
    #[napi(catch_unwind)]
    pub fn clear(&self, older_than_ms: Option<f64>) -> Result<(), String> {
        guard(|| {
            let cutoff = match older_than_ms {
                None => None,
                Some(ms) if ms.is_finite() => Some(ms.ceil() as i64),
                Some(ms) => {
                    return Err(invalid(format!("olderThan must be a valid Date, got {ms}")))
                }
            };
            self.native.tracker().clear_logs(cutoff).map_err(to_napi)
        })
    }

    /// Everything pending on disk (T8), on the libuv pool.
    #[napi(ts_return_type = "Promise<[string, string] | null>")]
    pub fn flush(&self) -> AsyncTask<Work> {
        AsyncTask::new(Work {
            native: self.native.clone(),
            close: false,
        })
    }

    /// Final flush, writer joined, directory released (T8), on the pool.
    #[napi(ts_return_type = "Promise<[string, string] | null>")]
    pub fn close(&self) -> AsyncTask<Work> {
        AsyncTask::new(Work {
            native: self.native.clone(),
            close: true,
        })
    }

    /// Flush, then sync the git repository (`gitSync`), on the pool:
    /// `["", report json]` or `[code, message]`.
    #[napi(ts_return_type = "Promise<[string, string]>")]
    pub fn git_sync(&self) -> AsyncTask<GitWork> {
        AsyncTask::new(GitWork {
            native: self.native.clone(),
            sync: true,
        })
    }

    /// Every device's stats in the git repository, on the pool: `["",
    /// merged json]` or `[code, message]`.
    #[napi(ts_return_type = "Promise<[string, string]>")]
    pub fn git_merged_stats(&self) -> AsyncTask<GitWork> {
        AsyncTask::new(GitWork {
            native: self.native.clone(),
            sync: false,
        })
    }

    /// The same on the calling thread: the facade's final flush at process
    /// exit, where nothing asynchronous runs any more.
    #[napi(catch_unwind)]
    pub fn close_sync(&self) -> Result<(), String> {
        guard(|| self.native.tracker().close().map_err(to_napi))
    }

    /// The Prometheus text exposition (O1): from memory, nothing to wait for.
    #[napi(catch_unwind)]
    pub fn metrics_text(&self) -> napi::Result<String, String> {
        guard(|| self.native.tracker().metrics_text().map_err(to_napi))
    }

    /// X2 health as the core's JSON.
    #[napi(catch_unwind)]
    pub fn health_json(&self) -> String {
        self.native.tracker().health().to_json().to_string()
    }

    /// Testing: sets the manual clock (only trackers opened with one).
    #[napi(catch_unwind)]
    pub fn set_clock(&self, ms: f64) -> Result<(), String> {
        match &self.native.clock {
            Some(c) if ms.is_finite() => {
                c.set(ms as i64);
                Ok(())
            }
            Some(_) => Err(invalid(format!("clock must be a finite number, got {ms}"))),
            None => Err(invalid("this tracker has no testing clock")),
        }
    }

    /// Testing: has the writer apply its flush policy now, judged by the
    /// manual clock (interval flushes without sleeping).
    #[napi(catch_unwind)]
    pub fn tick(&self) -> Result<(), String> {
        guard(|| match &self.native.core {
            Core::File(t) => t.tick().map_err(to_napi),
            _ => Ok(()),
        })
    }
}
