//! `usagebook._native`: the Python binding of `usagebook-core`, bound
//! directly (not through the C ABI). It only converts: Python arguments to
//! core types, core results to Python objects, core errors and Rust panics
//! to the `UsagebookError` hierarchy, and blocking calls to GIL-free ones.
//! Every behaviour is the core's. The `usagebook` package (python/) is the
//! public facade over it.

mod convert;
mod errors;
mod exit_registry;
mod gitsync;
mod ledger;
mod model;
mod pricing;
mod telemetry;
mod tracker;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add_class::<model::PyUsage>()?;
    m.add_class::<model::PyUsageLog>()?;
    m.add_class::<model::PyUsageStats>()?;
    m.add_class::<tracker::Tracker>()?;
    m.add_class::<tracker::FileBacked>()?;
    m.add_class::<tracker::InMemory>()?;
    m.add_class::<tracker::NoOp>()?;
    m.add_class::<ledger::PyLedger>()?;
    m.add_class::<ledger::PyLedgerEvent>()?;
    m.add_class::<ledger::PyHold>()?;
    m.add_class::<pricing::PyPrices>()?;
    m.add_function(wrap_pyfunction!(pricing::_cost_json, m)?)?;
    m.add_function(wrap_pyfunction!(tracker::_close_all, m)?)?;
    m.add_function(wrap_pyfunction!(ledger::_close_all_ledgers, m)?)?;
    m.add_function(wrap_pyfunction!(tracker::_panic_for_tests, m)?)?;
    m.add_function(wrap_pyfunction!(telemetry::_set_call_observer, m)?)?;
    // One version for every package (B5): the workspace's.
    m.add("__version__", usagebook_core::VERSION)?;
    Ok(())
}
