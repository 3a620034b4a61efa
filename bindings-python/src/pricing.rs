//! `usagebook.cost` and `usagebook.Prices` (U4): the core's price function
//! with Python arguments. A `Prices` object holds a parsed registry, so a
//! caller pricing many calls parses its price file once.

use crate::convert::{self, describe};
use crate::errors::{blocking, core, guard, invalid};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;
use std::sync::Arc;
use usagebook_core::PriceRegistry;

/// A price registry: the bundled LiteLLM snapshot with the caller's
/// entries (a LiteLLM-format dict or file) overlaid.
#[pyclass(frozen, module = "usagebook._native", name = "Prices")]
pub struct PyPrices(pub Arc<PriceRegistry>);

#[pymethods]
impl PyPrices {
    /// `Prices(source=None)`: `None` = the bundled snapshot alone; a path or
    /// a dict in LiteLLM's format is overlaid on it (its models win).
    #[new]
    #[pyo3(signature = (source = None))]
    fn new(py: Python<'_>, source: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        guard(|| {
            Ok(PyPrices(
                prices_arg(py, source)?.unwrap_or_else(PriceRegistry::bundled),
            ))
        })
    }

    fn __len__(&self) -> usize {
        self.0.len()
    }

    fn __repr__(&self) -> String {
        format!("Prices({} models)", self.0.len())
    }
}

/// `prices`: `None`, a `Prices`, a path to a LiteLLM price file, or a dict
/// in that format, overlaid on the bundled snapshot (L12, U6).
pub fn prices_arg(
    py: Python<'_>,
    prices: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<Arc<PriceRegistry>>> {
    let Some(p) = prices.filter(|p| !p.is_none()) else {
        return Ok(None);
    };
    if let Ok(own) = p.cast::<PyPrices>() {
        return Ok(Some(own.get().0.clone()));
    }
    let own = if p.is_instance_of::<PyDict>() || p.is_instance(convert::collections_mapping(py)?)? {
        let v = convert::py_to_json(p, "prices")?;
        core(|| PriceRegistry::from_litellm_value(&v))?
    } else {
        let path: PathBuf = p.extract().map_err(|_| {
            invalid(format!(
                "prices must be None, a usagebook.Prices, a path (str or os.PathLike) to a LiteLLM price file, or a dict in that format, got {}",
                describe(p)
            ))
        })?;
        blocking(py, || PriceRegistry::load_file(&path))?
    };
    Ok(Some(Arc::new(PriceRegistry::bundled().overlaid(&own))))
}

/// The cost of one call as JSON text (`{"usd", "priced", "model",
/// "items"}`); the facade's `usagebook.cost` turns it into a `Cost`.
#[pyfunction]
#[pyo3(signature = (model, usage, provider = None, prices = None, at = None))]
pub fn _cost_json(
    py: Python<'_>,
    model: Option<&Bound<'_, PyAny>>,
    usage: &Bound<'_, PyAny>,
    provider: Option<&Bound<'_, PyAny>>,
    prices: Option<&Bound<'_, PyAny>>,
    at: Option<&Bound<'_, PyAny>>,
) -> PyResult<String> {
    guard(|| {
        let model = convert::opt_string(model, "model")?.unwrap_or_default();
        let provider = convert::opt_string(provider, "provider")?;
        if usage.is_none() {
            return Err(invalid(
                "usage is required: a provider SDK's usage or response (object or dict)",
            ));
        }
        let map = convert::usage_json(Some(usage), "usage")?;
        let reg = prices_arg(py, prices)?;
        // When the call was made: effective-dated prices and off-peak
        // windows depend on it. A tz-aware datetime; None = now.
        let now = match at.filter(|a| !a.is_none()) {
            Some(a) => convert::datetime_to_ms(a, "at")?,
            None => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64),
        };
        let c = core(|| {
            usagebook_core::pricing::cost_of_value(
                &model,
                &serde_json::Value::Object(map),
                provider.as_deref(),
                reg.as_deref(),
                now,
            )
        })?;
        Ok(c.to_json().to_string())
    })
}
