//! The exception hierarchy and the one place core errors and panics become
//! Python exceptions.
//!
//! `InvalidArgumentError` is both a `UsagebookError` and a `ValueError`,
//! which `create_exception!` cannot express (one base only), so the classes
//! are made at import with `type(name, bases, namespace)`.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use usagebook_core::{BudgetExceeded, Error};

/// The read-only attributes of `BudgetExceeded`, each a property over the
/// instance attribute `_<name>` set when the error is raised.
const BUDGET_FIELDS: [(&str, &str); 7] = [
    ("scope", "The budget's scope, e.g. \"all\"."),
    ("window", "The budget's window, e.g. \"day\"."),
    ("limit", "The budget, USD."),
    (
        "spent",
        "Settled spend in the window when the hold was refused, USD.",
    ),
    ("reserved", "What open holds reserved then, USD."),
    ("requested", "The refused hold's estimate, USD."),
    (
        "reset_at",
        "When the window resets (the next local midnight): a tz-aware UTC datetime.",
    ),
];

/// The read-only attributes of `RateLimited` (R3).
const RATE_FIELDS: [(&str, &str); 7] = [
    (
        "scope",
        "The refusing limit's scope, e.g. \"provider:openai\".",
    ),
    ("limit", "Which limit refused: \"rpm\", \"tpm\" or \"rpd\"."),
    ("window_s", "The limit's window in seconds (60 or 86400)."),
    ("current", "The count in the window without this request."),
    ("maximum", "The limit."),
    (
        "requested",
        "What this request would add (1, or its tokens).",
    ),
    (
        "retry_after_s",
        "Seconds until the request fits, or None if it never can.",
    ),
];

struct Classes {
    base: Py<PyType>,
    invalid: Py<PyType>,
    locked: Py<PyType>,
    closed: Py<PyType>,
    storage: Py<PyType>,
    budget: Py<PyType>,
    rate: Py<PyType>,
}

/// A class whose read-only properties read the instance attributes
/// `_<name>` set when the error is raised.
fn with_fields(py: Python<'_>, class: Py<PyType>, fields: &[(&str, &str)]) -> PyResult<Py<PyType>> {
    let attrgetter = py.import("operator")?.getattr("attrgetter")?;
    let property = py.import("builtins")?.getattr("property")?;
    for (name, doc) in fields {
        let getter = attrgetter.call1((format!("_{name}"),))?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("doc", doc)?;
        class
            .bind(py)
            .setattr(*name, property.call((getter,), Some(&kwargs))?)?;
    }
    Ok(class)
}

static CLASSES: PyOnceLock<Classes> = PyOnceLock::new();

fn make_class(
    py: Python<'_>,
    name: &str,
    bases: Bound<'_, PyTuple>,
    doc: &str,
) -> PyResult<Py<PyType>> {
    let ns = PyDict::new(py);
    // Users see and catch them as `usagebook.X`; pickling finds them there.
    ns.set_item("__module__", "usagebook")?;
    ns.set_item("__doc__", doc)?;
    let class = py.get_type::<PyType>().call1((name, bases, ns))?;
    Ok(class.cast_into::<PyType>()?.unbind())
}

/// Creates the classes and adds them to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let classes = CLASSES.get_or_try_init(py, || -> PyResult<Classes> {
        let exception = py.get_type::<pyo3::exceptions::PyException>();
        let value_error = py.get_type::<pyo3::exceptions::PyValueError>();
        let base = make_class(
            py,
            "UsagebookError",
            PyTuple::new(py, [exception])?,
            "Base class of every error usagebook raises, internal errors (Rust panics) included.",
        )?;
        let sub = |name: &str, doc: &str| {
            make_class(py, name, PyTuple::new(py, [base.bind(py).clone()])?, doc)
        };
        Ok(Classes {
            invalid: make_class(
                py,
                "InvalidArgumentError",
                PyTuple::new(py, [base.bind(py).clone(), value_error])?,
                "An argument was refused (the message names it); nothing was recorded.",
            )?,
            locked: sub(
                "LockedError",
                "Another tracker, in this or another process, owns the directory.",
            )?,
            closed: sub("ClosedError", "The tracker or ledger was closed.")?,
            storage: sub(
                "StorageError",
                "Reading or writing the tracker's files failed (the message says which and why).",
            )?,
            budget: with_fields(
                py,
                sub(
                    "BudgetExceeded",
                    "A hold was refused: spent + reserved + requested would pass the ledger's daily budget. Nothing was recorded.",
                )?,
                &BUDGET_FIELDS,
            )?,
            rate: with_fields(
                py,
                sub(
                    "RateLimited",
                    "A reservation was refused by a rate limit (rpm, tpm or rpd of a scope). Nothing was recorded and no limit's slot was taken; retry after retry_after_s.",
                )?,
                &RATE_FIELDS,
            )?,
            base,
        })
    })?;
    m.add("UsagebookError", classes.base.bind(py))?;
    m.add("InvalidArgumentError", classes.invalid.bind(py))?;
    m.add("LockedError", classes.locked.bind(py))?;
    m.add("ClosedError", classes.closed.bind(py))?;
    m.add("StorageError", classes.storage.bind(py))?;
    m.add("BudgetExceeded", classes.budget.bind(py))?;
    m.add("RateLimited", classes.rate.bind(py))?;
    Ok(())
}

#[derive(Clone, Copy)]
enum Kind {
    Base,
    Invalid,
    Locked,
    Closed,
    Storage,
}

fn new_err(kind: Kind, msg: String) -> PyErr {
    Python::attach(|py| match CLASSES.get(py) {
        Some(c) => {
            let class = match kind {
                Kind::Base => &c.base,
                Kind::Invalid => &c.invalid,
                Kind::Locked => &c.locked,
                Kind::Closed => &c.closed,
                Kind::Storage => &c.storage,
            };
            PyErr::from_type(class.bind(py).clone(), msg)
        }
        // Unreachable: the module's init creates the classes.
        None => pyo3::exceptions::PyRuntimeError::new_err(msg),
    })
}

/// `InvalidArgumentError(msg)`: the caller passed something we refuse.
pub fn invalid(msg: impl Into<String>) -> PyErr {
    new_err(Kind::Invalid, msg.into())
}

/// Maps a core error to its exception class.
pub fn from_core(e: Error) -> PyErr {
    match e {
        Error::InvalidArgument(msg) => new_err(Kind::Invalid, msg),
        Error::Locked(_) => new_err(Kind::Locked, e.to_string()),
        Error::Closed => new_err(Kind::Closed, e.to_string()),
        Error::Io { .. } | Error::UnsupportedFormat { .. } => new_err(Kind::Storage, e.to_string()),
        Error::BudgetExceeded(ref b) => budget_err(b, e.to_string()),
        Error::RateLimited(ref r) => rate_err(r, e.to_string()),
        // Kinds the tracker never produces (the core's error grows with its
        // other features): the base class, with the core's message.
        #[allow(unreachable_patterns)]
        _ => new_err(Kind::Base, e.to_string()),
    }
}

/// `BudgetExceeded(msg)` with its attributes in USD and `reset_at` as a
/// tz-aware datetime (money is nano-USD in the core, L11).
fn budget_err(b: &BudgetExceeded, msg: String) -> PyErr {
    use usagebook_core::ledger::money::nano_to_usd;
    Python::attach(|py| {
        let Some(c) = CLASSES.get(py) else {
            return pyo3::exceptions::PyRuntimeError::new_err(msg);
        };
        let err = PyErr::from_type(c.budget.bind(py).clone(), msg);
        let v = err.value(py);
        let fill = || -> PyResult<()> {
            v.setattr("_scope", &b.scope)?;
            v.setattr("_window", &b.window)?;
            v.setattr("_limit", nano_to_usd(b.limit_nusd))?;
            v.setattr("_spent", nano_to_usd(b.spent_nusd))?;
            v.setattr("_reserved", nano_to_usd(b.reserved_nusd))?;
            v.setattr("_requested", nano_to_usd(b.requested_nusd))?;
            v.setattr(
                "_reset_at",
                crate::convert::datetime_from_ms(py, b.reset_at_ms)?,
            )?;
            Ok(())
        };
        match fill() {
            Ok(()) => err,
            Err(e) => e,
        }
    })
}

fn rate_err(r: &usagebook_core::ledger::rate::RateLimited, msg: String) -> PyErr {
    Python::attach(|py| {
        let Some(c) = CLASSES.get(py) else {
            return pyo3::exceptions::PyRuntimeError::new_err(msg);
        };
        let err = PyErr::from_type(c.rate.bind(py).clone(), msg);
        let v = err.value(py);
        let fill = || -> PyResult<()> {
            v.setattr("_scope", &r.scope)?;
            v.setattr("_limit", r.limit)?;
            v.setattr("_window_s", r.window_s)?;
            v.setattr("_current", r.current)?;
            v.setattr("_maximum", r.maximum)?;
            v.setattr("_requested", r.requested)?;
            v.setattr("_retry_after_s", r.retry_after_s)?;
            Ok(())
        };
        match fill() {
            Ok(()) => err,
            Err(e) => e,
        }
    })
}

fn panic_message(payload: Box<dyn Any + Send>) -> String {
    let what = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    };
    format!("internal error in usagebook (please report it): {what}")
}

/// Runs a binding body: a panic becomes `UsagebookError`, never PyO3's
/// `PanicException` (a `BaseException` that `except Exception` would miss).
#[inline]
pub fn guard<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => Err(new_err(Kind::Base, panic_message(payload))),
    }
}

/// A core call that cannot block: runs with the GIL held, panics caught.
#[inline]
pub fn core<T>(f: impl FnOnce() -> usagebook_core::Result<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r.map_err(from_core),
        Err(payload) => Err(new_err(Kind::Base, panic_message(payload))),
    }
}

/// A core call that may block (disk, the writer thread, an fsync): the GIL
/// is released while it runs so other Python threads and the event loop go
/// on. `f` must not touch Python objects.
#[inline]
pub fn blocking<T: Send>(
    py: Python<'_>,
    f: impl FnOnce() -> usagebook_core::Result<T> + Send,
) -> PyResult<T> {
    let res = py.detach(|| catch_unwind(AssertUnwindSafe(f)));
    match res {
        Ok(r) => r.map_err(from_core),
        Err(payload) => Err(new_err(Kind::Base, panic_message(payload))),
    }
}

/// Result of a core call made off the Python thread, as the exception to
/// hand to a callback (or `None`).
pub fn outcome(res: std::thread::Result<usagebook_core::Result<()>>) -> Option<PyErr> {
    match res {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(from_core(e)),
        Err(payload) => Some(new_err(Kind::Base, panic_message(payload))),
    }
}
