//! `Usage`, `UsageLog` and `UsageStats` as Python objects (T1): snake_case
//! attributes, tz-aware UTC datetimes, and `to_dict()` giving the camelCase
//! JSON form of T1/T7 exactly as the core writes it.

use crate::convert::{datetime_from_ms, json_to_py};
use pyo3::basic::CompareOp;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict};
use pyo3::IntoPyObjectExt;
use usagebook_core::{UsageLog as CoreLog, UsageStats as CoreStats};

/// Token counts of one call (`LlmUsage`, T1), and the parts the tracker
/// keeps: `prompt_tokens` counts every input token (cache reads and writes
/// included), `completion_tokens` every output token (reasoning included).
#[pyclass(frozen, eq, module = "usagebook", name = "Usage")]
#[derive(Clone, PartialEq, Eq)]
pub struct PyUsage(usagebook_core::Usage);

impl From<usagebook_core::Usage> for PyUsage {
    fn from(u: usagebook_core::Usage) -> Self {
        PyUsage(u)
    }
}

#[pymethods]
impl PyUsage {
    #[getter]
    fn prompt_tokens(&self) -> u64 {
        self.0.prompt_tokens
    }
    #[getter]
    fn completion_tokens(&self) -> u64 {
        self.0.completion_tokens
    }
    #[getter]
    fn total_tokens(&self) -> u64 {
        self.0.total_tokens
    }
    /// Part of `prompt_tokens`: tokens read from the prompt cache (0 when
    /// none were reported).
    #[getter]
    fn cache_read_tokens(&self) -> u64 {
        self.0.cache_read_tokens
    }
    /// Part of `prompt_tokens`: tokens written to the prompt cache.
    #[getter]
    fn cache_write_tokens(&self) -> u64 {
        self.0.cache_write_tokens
    }
    /// Part of `completion_tokens`: reasoning tokens.
    #[getter]
    fn reasoning_tokens(&self) -> u64 {
        self.0.reasoning_tokens
    }

    /// The `usage` of the T7 line: `{"promptTokens": .., "completionTokens":
    /// .., "totalTokens": ..}`, plus `cacheReadTokens`, `cacheWriteTokens`
    /// and `reasoningTokens` each when not zero.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let u = &self.0;
        let d = PyDict::new(py);
        d.set_item("promptTokens", u.prompt_tokens)?;
        d.set_item("completionTokens", u.completion_tokens)?;
        d.set_item("totalTokens", u.total_tokens)?;
        for (k, v) in [
            ("cacheReadTokens", u.cache_read_tokens),
            ("cacheWriteTokens", u.cache_write_tokens),
            ("reasoningTokens", u.reasoning_tokens),
        ] {
            if v != 0 {
                d.set_item(k, v)?;
            }
        }
        Ok(d)
    }

    fn __repr__(&self) -> String {
        let u = &self.0;
        format!(
            "Usage(prompt_tokens={}, completion_tokens={}, total_tokens={}, cache_read_tokens={}, cache_write_tokens={}, reasoning_tokens={})",
            u.prompt_tokens,
            u.completion_tokens,
            u.total_tokens,
            u.cache_read_tokens,
            u.cache_write_tokens,
            u.reasoning_tokens
        )
    }
}

/// One recorded call (`LlmBridgeUsageLog`, T1): a copy, never the
/// tracker's own state (T3).
#[pyclass(frozen, module = "usagebook", name = "UsageLog")]
pub struct PyUsageLog(pub CoreLog);

#[pymethods]
impl PyUsageLog {
    /// `llm_log_<n>_<epoch ms>` (T2).
    #[getter]
    fn id(&self) -> String {
        self.0.id()
    }

    #[getter]
    fn bridge_id(&self) -> &str {
        &self.0.bridge_id
    }

    /// When the call was recorded: a tz-aware UTC `datetime`.
    #[getter]
    fn timestamp<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        datetime_from_ms(py, self.0.timestamp_ms)
    }

    #[getter]
    fn usage(&self) -> PyUsage {
        self.0.usage.into()
    }

    #[getter]
    fn duration_ms(&self) -> Option<f64> {
        self.0.duration_ms
    }

    /// `"success"` or `"error"`.
    #[getter]
    fn status(&self) -> &'static str {
        self.0.status.as_str()
    }

    /// The T7 JSON form: camelCase keys, `timestamp` as ISO-8601 with
    /// milliseconds and `Z`, `durationMs` absent when unknown, each part
    /// in `usage` only when not zero.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.0.to_json())
    }

    fn __richcmp__(&self, other: &Bound<'_, PyAny>, op: CompareOp) -> Py<PyAny> {
        let o = other.cast::<PyUsageLog>().ok();
        compare(other.py(), &self.0, o.map(|o| &o.get().0), op)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let d = match self.0.duration_ms {
            Some(d) => py_repr(py, d)?,
            None => "None".into(),
        };
        Ok(format!(
            "UsageLog(id={}, bridge_id={}, timestamp={}, usage={}, duration_ms={d}, status={})",
            py_repr(py, self.0.id())?,
            py_repr(py, &self.0.bridge_id)?,
            py_repr(
                py,
                usagebook_core::timefmt::format_iso_ms(self.0.timestamp_ms)
            )?,
            PyUsage::from(self.0.usage).__repr__(),
            py_repr(py, self.0.status.as_str())?,
        ))
    }
}

/// Lifetime totals of one bridge or of all (`LlmBridgeUsageStats`, T1, T4).
#[pyclass(frozen, module = "usagebook", name = "UsageStats")]
pub struct PyUsageStats(pub CoreStats);

#[pymethods]
impl PyUsageStats {
    #[getter]
    fn total_requests(&self) -> u64 {
        self.0.total_requests
    }
    #[getter]
    fn prompt_tokens(&self) -> u64 {
        self.0.prompt_tokens
    }
    #[getter]
    fn completion_tokens(&self) -> u64 {
        self.0.completion_tokens
    }
    #[getter]
    fn total_tokens(&self) -> u64 {
        self.0.total_tokens
    }
    /// Sum of the logs' cache reads (part of `prompt_tokens`).
    #[getter]
    fn cache_read_tokens(&self) -> u64 {
        self.0.cache_read_tokens
    }
    /// Sum of the logs' cache writes (part of `prompt_tokens`).
    #[getter]
    fn cache_write_tokens(&self) -> u64 {
        self.0.cache_write_tokens
    }
    /// Sum of the logs' reasoning tokens (part of `completion_tokens`).
    #[getter]
    fn reasoning_tokens(&self) -> u64 {
        self.0.reasoning_tokens
    }
    /// `total_tokens / total_requests`, unrounded; 0.0 when empty.
    #[getter]
    fn average_tokens_per_request(&self) -> f64 {
        self.0.average_tokens_per_request
    }
    /// The latest log's time (tz-aware UTC), `None` when there is nothing.
    #[getter]
    fn last_used_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.0
            .last_used_at_ms
            .map(|ms| datetime_from_ms(py, ms))
            .transpose()
    }
    #[getter]
    fn error_count(&self) -> u64 {
        self.0.error_count
    }

    /// The T1 JSON form: camelCase keys, `lastUsedAt` ISO-8601 and absent
    /// (not null) when there is nothing (T4); `cacheReadTokens`,
    /// `cacheWriteTokens` and `reasoningTokens` always.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.0.to_json())
    }

    fn __richcmp__(&self, other: &Bound<'_, PyAny>, op: CompareOp) -> Py<PyAny> {
        let o = other.cast::<PyUsageStats>().ok();
        compare(other.py(), &self.0, o.map(|o| &o.get().0), op)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let last = match self.0.last_used_at_ms {
            Some(ms) => py_repr(py, usagebook_core::timefmt::format_iso_ms(ms))?,
            None => "None".into(),
        };
        Ok(format!(
            "UsageStats(total_requests={}, prompt_tokens={}, completion_tokens={}, total_tokens={}, cache_read_tokens={}, cache_write_tokens={}, reasoning_tokens={}, average_tokens_per_request={}, last_used_at={last}, error_count={})",
            self.0.total_requests,
            self.0.prompt_tokens,
            self.0.completion_tokens,
            self.0.total_tokens,
            self.0.cache_read_tokens,
            self.0.cache_write_tokens,
            self.0.reasoning_tokens,
            py_repr(py, self.0.average_tokens_per_request)?,
            self.0.error_count
        ))
    }
}

/// `==` / `!=` between two objects of the same class; anything else is
/// `NotImplemented` (so Python falls back to identity).
fn compare<T: PartialEq>(py: Python<'_>, a: &T, b: Option<&T>, op: CompareOp) -> Py<PyAny> {
    let r = match (b, op) {
        (Some(b), CompareOp::Eq) => a == b,
        (Some(b), CompareOp::Ne) => a != b,
        _ => return py.NotImplemented(),
    };
    PyBool::new(py, r).to_owned().into_any().unbind()
}

/// Python's own `repr()` of a value, for `__repr__`s that read like Python.
fn py_repr<'py, T: IntoPyObject<'py>>(py: Python<'py>, v: T) -> PyResult<String> {
    Ok(v.into_bound_py_any(py)?.repr()?.to_string())
}
