//! Per-call observation (O2): every call a tracker records and every
//! ledger commit or adjust is reported, normalised, to the observers
//! subscribed in this process. The bindings' OpenTelemetry integrations
//! and the optional OTLP exporter subscribe here, so each process reports
//! its own increments and a total is never multiplied by the number of
//! processes sharing a store.
//!
//! With no observer subscribed a call costs one relaxed atomic load. An
//! observer runs on the thread that made the call, after every lock of the
//! tracker or ledger is released; a panicking observer is caught and
//! never fails the call.

use parking_lot::RwLock;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallSource {
    Tracker,
    Ledger,
}

impl CallSource {
    pub fn as_str(self) -> &'static str {
        match self {
            CallSource::Tracker => "tracker",
            CallSource::Ledger => "ledger",
        }
    }
}

/// One observed call, in the one usage vocabulary (inclusive input and
/// output, cache and reasoning parts).
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    pub source: CallSource,
    /// `"commit"` or `"adjust"` for the ledger, `"track"` for a tracker.
    pub event: &'static str,
    /// The tracker's bridge id (`None` for the ledger).
    pub bridge: Option<String>,
    /// The ledger event's provider; for a tracker, what the reports take
    /// from a `provider/model` bridge id (else the bridge id).
    pub provider: String,
    pub model: String,
    pub error: bool,
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    pub reasoning: u64,
    /// What the call added to spend, USD (the ledger only).
    pub cost_usd: Option<f64>,
    /// `"provider"` when the caller gave the actual cost, `"local"` when
    /// usagebook priced it (or, unpriced, counted its estimate).
    pub cost_source: Option<&'static str>,
    /// False when the cost is an estimate for a model with no price.
    pub priced: bool,
}

impl CallRecord {
    /// The record as JSON, with the field names the bindings use.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "source": self.source.as_str(),
            "event": self.event,
            "bridge": self.bridge,
            "provider": self.provider,
            "model": self.model,
            "error": self.error,
            "input": self.input,
            "output": self.output,
            "cacheRead": self.cache_read,
            "cacheWrite": self.cache_write,
            "reasoning": self.reasoning,
            "costUsd": self.cost_usd,
            "costSource": self.cost_source,
            "priced": self.priced,
        })
    }

    pub(crate) fn from_tracker(bridge: &str, u: &crate::model::Usage, error: bool) -> Self {
        use crate::report::grouped::{model_of, provider_of};
        CallRecord {
            source: CallSource::Tracker,
            event: "track",
            bridge: Some(bridge.to_string()),
            provider: provider_of(Some(bridge), None).to_string(),
            model: model_of(Some(bridge), None).to_string(),
            error,
            input: u.prompt_tokens,
            output: u.completion_tokens,
            cache_read: u.cache_read_tokens,
            cache_write: u.cache_write_tokens,
            reasoning: u.reasoning_tokens,
            cost_usd: None,
            cost_source: None,
            priced: true,
        }
    }
}

pub type Observer = Arc<dyn Fn(&CallRecord) + Send + Sync>;

static OBSERVERS: RwLock<Vec<(u64, Observer)>> = RwLock::new(Vec::new());
static ACTIVE: AtomicUsize = AtomicUsize::new(0);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Adds an observer; the id unsubscribes it.
pub fn subscribe(f: Observer) -> u64 {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let mut list = OBSERVERS.write();
    list.push((id, f));
    ACTIVE.store(list.len(), Ordering::Release);
    id
}

/// Removes an observer; false if the id was not subscribed.
pub fn unsubscribe(id: u64) -> bool {
    let mut list = OBSERVERS.write();
    let before = list.len();
    list.retain(|(i, _)| *i != id);
    ACTIVE.store(list.len(), Ordering::Release);
    list.len() != before
}

/// True when at least one observer is subscribed.
#[inline]
pub fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed) != 0
}

/// Reports a call to every observer (call only when [`active`], and with
/// no lock held).
pub fn notify(rec: &CallRecord) {
    let list: Vec<Observer> = OBSERVERS.read().iter().map(|(_, f)| f.clone()).collect();
    for f in list {
        let _ = catch_unwind(AssertUnwindSafe(|| f(rec)));
    }
}

/// [`notify`] for each log of a batch, bridges named by `names`.
pub(crate) fn notify_batch(names: &[Arc<str>], logs: &[crate::tracker::InternedLog]) {
    for l in logs {
        if let Some(name) = names.get(l.bridge as usize) {
            notify(&CallRecord::from_tracker(
                name,
                &l.usage,
                l.status == crate::UsageStatus::Error,
            ));
        }
    }
}

#[cfg(test)]
pub(crate) static TEST_LOCK: parking_lot::Mutex<()> = parking_lot::Mutex::new(());

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Usage;
    use crate::{InMemoryTracker, NewUsageLog, UsageTracker};
    use parking_lot::Mutex;

    #[test]
    fn o2_observers_see_each_tracked_call_once_and_can_leave() {
        let _g = TEST_LOCK.lock();
        let seen: Arc<Mutex<Vec<CallRecord>>> = Arc::default();
        let s = seen.clone();
        let id = subscribe(Arc::new(move |r: &CallRecord| s.lock().push(r.clone())));
        subscribe(Arc::new(|_: &CallRecord| panic!("a broken observer")));
        let t = InMemoryTracker::new(10).unwrap();
        let u = Usage {
            prompt_tokens: 100,
            completion_tokens: 20,
            total_tokens: 120,
            cache_read_tokens: 30,
            cache_write_tokens: 0,
            reasoning_tokens: 5,
        };
        t.track(&NewUsageLog::new("openai/gpt-4o", u)).unwrap();
        let h = t.intern_bridge("b").unwrap();
        t.track_interned(h, u, None, crate::UsageStatus::Error)
            .unwrap();
        let got = seen.lock().clone();
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].provider.as_str(), got[0].model.as_str()),
            ("openai", "gpt-4o")
        );
        assert_eq!(
            (
                got[0].input,
                got[0].output,
                got[0].cache_read,
                got[0].reasoning
            ),
            (100, 20, 30, 5)
        );
        assert!(!got[0].error && got[1].error);
        assert_eq!(got[1].bridge.as_deref(), Some("b"));
        assert!(unsubscribe(id));
        let list: Vec<u64> = OBSERVERS.read().iter().map(|(i, _)| *i).collect();
        for i in list {
            unsubscribe(i);
        }
        t.track(&NewUsageLog::new("b", u)).unwrap();
        assert_eq!(seen.lock().len(), 2);
        assert!(!active());
    }
}
