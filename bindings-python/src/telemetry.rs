//! The per-call observer of `usagebook.otel` (O2): one Python callable
//! subscribed to the core's observers. The core says what a call is and
//! what it counted (tokens by part, provider, model, cost); this only
//! hands each record to Python as a dict, with the GIL taken for it.

use crate::errors::guard;
use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::Arc;
use usagebook_core::telemetry::observe::{self, CallRecord};

static SUBSCRIPTION: Mutex<Option<u64>> = Mutex::new(None);

fn to_dict<'py>(py: Python<'py>, r: &CallRecord) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("source", r.source.as_str())?;
    d.set_item("event", r.event)?;
    d.set_item("bridge", r.bridge.as_deref())?;
    d.set_item("provider", &r.provider)?;
    d.set_item("model", &r.model)?;
    d.set_item("error", r.error)?;
    d.set_item("input", r.input)?;
    d.set_item("output", r.output)?;
    d.set_item("cache_read", r.cache_read)?;
    d.set_item("cache_write", r.cache_write)?;
    d.set_item("reasoning", r.reasoning)?;
    d.set_item("cost_usd", r.cost_usd)?;
    d.set_item("cost_source", r.cost_source)?;
    d.set_item("priced", r.priced)?;
    Ok(d)
}

/// Sets (or, with `None`, removes) the one callable every tracked call and
/// ledger commit of this process is reported to, as a dict.
#[pyfunction]
#[pyo3(signature = (callback))]
pub fn _set_call_observer(callback: Option<Py<PyAny>>) -> PyResult<()> {
    guard(|| {
        let mut sub = SUBSCRIPTION.lock();
        if let Some(id) = sub.take() {
            observe::unsubscribe(id);
        }
        if let Some(cb) = callback {
            let cb = Arc::new(cb);
            *sub = Some(observe::subscribe(Arc::new(move |r: &CallRecord| {
                // The caller may have released the GIL (a blocking track or
                // a ledger write); take it for the callback. A failing
                // callback is reported as unraisable, never to the caller.
                let _ = Python::try_attach(|py| {
                    let res = to_dict(py, r).and_then(|d| cb.call1(py, (d,)).map(|_| ()));
                    if let Err(e) = res {
                        e.write_unraisable(py, None);
                    }
                });
            })));
        }
        Ok(())
    })
}
