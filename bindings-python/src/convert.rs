//! Python values in and out: usage objects, arguments, datetimes, JSON.
//!
//! Every check here only converts and names the Python argument in its
//! message; what the values mean is decided by the core.

use crate::errors::invalid;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyType};
use serde_json::Value;
use std::borrow::Cow;
use usagebook_core::{Usage, UsageStatus};

/// `repr(obj)` for messages, bounded so a huge object cannot flood a log.
pub fn describe(obj: &Bound<'_, PyAny>) -> String {
    let type_name = obj
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into());
    let mut repr = obj
        .repr()
        .map(|r| r.to_string())
        .unwrap_or_else(|_| "<unrepresentable>".into());
    if repr.len() > 80 {
        let mut cut = 77;
        while !repr.is_char_boundary(cut) {
            cut -= 1;
        }
        repr.truncate(cut);
        repr.push_str("...");
    }
    format!("{repr} ({type_name})")
}

/// An `int` that is not a `bool` (bool is an int subclass in Python, and
/// `True` tokens are a bug, not a count).
#[inline]
pub(crate) fn is_int(v: &Bound<'_, PyAny>) -> bool {
    v.is_exact_instance_of::<PyInt>()
        || (v.is_instance_of::<PyInt>() && !v.is_instance_of::<PyBool>())
}

/// A `str` as UTF-8, or `InvalidArgumentError` naming `field`: a lone
/// surrogate (`"\ud800"`) has no UTF-8 form, and Python's own
/// `UnicodeEncodeError` would name no field (issue 11 #11).
pub fn text<'a>(s: &'a Bound<'_, PyString>, field: &str) -> PyResult<Cow<'a, str>> {
    s.to_cow().map_err(|_| {
        let at = s
            .to_string_lossy()
            .chars()
            .position(|c| c == '\u{fffd}')
            .map_or(String::new(), |i| format!(" at index {i}"));
        invalid(format!(
            "{field} is not valid Unicode: it holds a lone surrogate{at}"
        ))
    })
}

/// A non-empty `str` bridge id.
#[inline]
pub fn bridge_id<'a>(obj: &'a Bound<'_, PyAny>) -> PyResult<Cow<'a, str>> {
    match obj.cast::<PyString>() {
        Ok(s) => {
            let s = text(s, "bridge_id")?;
            if s.is_empty() {
                return Err(invalid("bridge_id must be a non-empty str"));
            }
            Ok(s)
        }
        Err(_) => Err(invalid(format!(
            "bridge_id must be a non-empty str, got {}",
            describe(obj)
        ))),
    }
}

/// An optional bridge filter: `None` or a `str` (`""` means all, T3).
pub fn bridge_filter<'a>(obj: Option<&'a Bound<'_, PyAny>>) -> PyResult<Option<Cow<'a, str>>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) => match o.cast::<PyString>() {
            Ok(s) => Ok(Some(text(s, "bridge_id")?)),
            Err(_) => Err(invalid(format!(
                "bridge_id must be a str or None, got {}",
                describe(o)
            ))),
        },
    }
}

/// `duration_ms`: `None`, or a finite `int`/`float` >= 0.
pub struct DurationArg(pub Option<f64>);

impl<'a, 'py> FromPyObject<'a, 'py> for DurationArg {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let obj = &*obj;
        if obj.is_none() {
            return Ok(DurationArg(None));
        }
        let d = if obj.is_exact_instance_of::<PyFloat>() || (obj.is_instance_of::<PyFloat>()) {
            obj.extract::<f64>()?
        } else if is_int(obj) {
            obj.extract::<f64>()
                .map_err(|_| invalid(format!("duration_ms is too large: {}", describe(obj))))?
        } else {
            return Err(invalid(format!(
                "duration_ms must be an int or float >= 0 (milliseconds) or None, got {}",
                describe(obj)
            )));
        };
        if !d.is_finite() || d < 0.0 {
            return Err(invalid(format!(
                "duration_ms must be a finite number >= 0, got {}",
                describe(obj)
            )));
        }
        Ok(DurationArg(Some(d)))
    }
}

/// `status`: `"success"` or `"error"`.
pub struct StatusArg(pub UsageStatus);

impl<'a, 'py> FromPyObject<'a, 'py> for StatusArg {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let py = obj.py();
        let obj = &*obj;
        // Literals in Python code are interned, so the common case is an
        // identity check.
        if obj.is(intern!(py, "success")) {
            return Ok(StatusArg(UsageStatus::Success));
        }
        if obj.is(intern!(py, "error")) {
            return Ok(StatusArg(UsageStatus::Error));
        }
        if let Ok(s) = obj.cast::<PyString>() {
            match &*text(s, "status")? {
                "success" => return Ok(StatusArg(UsageStatus::Success)),
                "error" => return Ok(StatusArg(UsageStatus::Error)),
                _ => {}
            }
        }
        Err(invalid(format!(
            "status must be \"success\" or \"error\", got {}",
            describe(obj)
        )))
    }
}

pub(crate) fn collections_mapping(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    static MAPPING: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    MAPPING.import(py, "collections.abc", "Mapping")
}

#[inline]
fn token(v: &Bound<'_, PyAny>, name: &str) -> PyResult<u64> {
    if is_int(v) {
        if let Ok(n) = v.extract::<u64>() {
            return Ok(n);
        }
    }
    Err(invalid(format!(
        "usage.{name} must be an int >= 0 (not a bool, float or None), got {}",
        describe(v)
    )))
}

const PROMPT: [&str; 3] = ["prompt_tokens", "promptTokens", "input_tokens"];
const COMPLETION: [&str; 3] = ["completion_tokens", "completionTokens", "output_tokens"];
const TOTAL: [&str; 2] = ["total_tokens", "totalTokens"];

/// Reads token counts from whatever usage shape the host has (B3):
///
/// - OpenAI (`prompt_tokens`, `completion_tokens`, `total_tokens`), as a
///   dict or the SDK's usage object;
/// - Anthropic (`input_tokens`, `output_tokens`; total = their sum when
///   there is no `total_tokens`), likewise;
/// - the camelCase keys of T1 (`promptTokens`, ...).
///
/// The first name present wins, in that order. A present field must be an
/// `int >= 0`: `None`, `bool`, `float`, negative are refused.
pub fn usage(u: &Bound<'_, PyAny>) -> PyResult<Usage> {
    let py = u.py();
    let names: [&Bound<'_, PyString>; 8] = [
        intern!(py, "prompt_tokens"),
        intern!(py, "promptTokens"),
        intern!(py, "input_tokens"),
        intern!(py, "completion_tokens"),
        intern!(py, "completionTokens"),
        intern!(py, "output_tokens"),
        intern!(py, "total_tokens"),
        intern!(py, "totalTokens"),
    ];
    if let Ok(d) = u.cast_exact::<PyDict>() {
        if let Some(found) = scan_small_dict(d, &names) {
            // Only the plain names, nothing else: the fast path.
            return resolve(u, found);
        }
    } else if u.is_none() {
        return Err(invalid(
            "usage is required: a mapping, a provider SDK's usage or response object, or promptTokens/completionTokens/totalTokens",
        ));
    }
    // Everything else (SDK objects, details, Anthropic cache tokens, whole
    // responses) is read by the core's one adapter.
    let map = usage_json(Some(u), "usage")?;
    let read =
        usagebook_core::TokenUsage::read(&Value::Object(map)).map_err(crate::errors::from_core)?;
    Ok(read.usage.to_tracker())
}

/// The first name found for each field, with its index in the name list.
struct Found<'py> {
    prompt: Option<(usize, Bound<'py, PyAny>)>,
    completion: Option<(usize, Bound<'py, PyAny>)>,
    total: Option<(usize, Bound<'py, PyAny>)>,
}

/// The fast path for the common case, a small dict whose keys are the
/// interned names (string literals and attribute names are interned): one
/// pass over its entries comparing pointers, instead of up to eight hash
/// lookups. Returns `None` (use lookups) when a key is not one of ours by
/// identity, since an equal string that is not interned could still match.
#[inline]
fn scan_small_dict<'py>(
    d: &Bound<'py, PyDict>,
    names: &[&Bound<'py, PyString>; 8],
) -> Option<Found<'py>> {
    if d.len() > 8 {
        return None;
    }
    let mut slots: [*mut pyo3::ffi::PyObject; 8] = [std::ptr::null_mut(); 8];
    let mut pos: pyo3::ffi::Py_ssize_t = 0;
    let mut key: *mut pyo3::ffi::PyObject = std::ptr::null_mut();
    let mut value: *mut pyo3::ffi::PyObject = std::ptr::null_mut();
    // SAFETY: `d` is a live dict and we hold the GIL; PyDict_Next hands out
    // borrowed references that stay valid while `d` is not mutated, and
    // nothing below runs Python code before we take our own references.
    while unsafe { pyo3::ffi::PyDict_Next(d.as_ptr(), &mut pos, &mut key, &mut value) } != 0 {
        let i = names.iter().position(|n| n.as_ptr() == key)?;
        slots[i] = value;
    }
    let py = d.py();
    let take = |range: std::ops::Range<usize>| {
        range.clone().find(|&i| !slots[i].is_null()).map(|i| {
            // SAFETY: a borrowed reference from the dict, still alive; we
            // take a new strong reference.
            (i - range.start, unsafe {
                Bound::from_borrowed_ptr(py, slots[i])
            })
        })
    };
    Some(Found {
        prompt: take(0..3),
        completion: take(3..6),
        total: take(6..8),
    })
}

fn resolve(u: &Bound<'_, PyAny>, found: Found<'_>) -> PyResult<Usage> {
    let (pi, pv) = found.prompt.ok_or_else(|| missing(u, "prompt"))?;
    let prompt = token(&pv, PROMPT[pi])?;
    let (ci, cv) = found.completion.ok_or_else(|| missing(u, "completion"))?;
    let completion = token(&cv, COMPLETION[ci])?;
    // Anthropic's usage has no total: it is the sum of input and output.
    let anthropic = pi == 2 && ci == 2;
    let total = match found.total {
        Some((_, v)) if anthropic && v.is_none() => None,
        Some((ti, v)) => Some(token(&v, TOTAL[ti])?),
        None => None,
    };
    let total = match total {
        Some(t) => t,
        None if anthropic => prompt.checked_add(completion).ok_or_else(|| {
            invalid("usage.input_tokens + usage.output_tokens does not fit in 64 bits")
        })?,
        None => {
            return Err(invalid(format!(
                "usage.total_tokens (or totalTokens) is missing from {}",
                describe(u)
            )))
        }
    };
    Ok(Usage::new(prompt, completion, total))
}

fn missing(u: &Bound<'_, PyAny>, what: &str) -> PyErr {
    let names = match what {
        "prompt" => "prompt_tokens, promptTokens or input_tokens",
        _ => "completion_tokens, completionTokens or output_tokens",
    };
    invalid(format!(
        "usage must be a mapping or an object with {names}; got {}",
        describe(u)
    ))
}

/// An option that must be an `int >= min` (not a bool); `None` = default.
pub fn uint_option(
    name: &str,
    obj: Option<&Bound<'_, PyAny>>,
    default: u64,
    min: u64,
) -> PyResult<u64> {
    let obj = match obj {
        None => return Ok(default),
        Some(o) if o.is_none() => return Ok(default),
        Some(o) => o,
    };
    match obj.extract::<u64>() {
        Ok(v) if is_int(obj) && v >= min => Ok(v),
        _ => Err(invalid(format!(
            "{name} must be an int >= {min}, got {}",
            describe(obj)
        ))),
    }
}

// ---- datetimes ----

struct DateTimeApi {
    datetime: Py<PyType>,
    utc: Py<PyAny>,
    epoch: Py<PyAny>,
}

fn datetime_api(py: Python<'_>) -> PyResult<&DateTimeApi> {
    static API: PyOnceLock<DateTimeApi> = PyOnceLock::new();
    API.get_or_try_init(py, || {
        let m = py.import("datetime")?;
        let datetime = m.getattr("datetime")?.cast_into::<PyType>()?;
        let utc = m.getattr("timezone")?.getattr("utc")?;
        let epoch = datetime.call1((1970, 1, 1, 0, 0, 0, 0, &utc))?;
        Ok(DateTimeApi {
            datetime: datetime.unbind(),
            utc: utc.unbind(),
            epoch: epoch.unbind(),
        })
    })
}

/// Epoch milliseconds to a tz-aware UTC `datetime`.
pub fn datetime_from_ms(py: Python<'_>, ms: i64) -> PyResult<Bound<'_, PyAny>> {
    use chrono::{Datelike, Timelike};
    let api = datetime_api(py)?;
    let dt = chrono::DateTime::from_timestamp_millis(ms).ok_or_else(|| {
        pyo3::exceptions::PyOverflowError::new_err(format!("timestamp {ms} ms is out of range"))
    })?;
    api.datetime.bind(py).call1((
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.nanosecond() / 1000,
        api.utc.bind(py),
    ))
}

/// A tz-aware `datetime` to epoch milliseconds, rounded up: a log at `t` ms
/// is older than `dt` exactly when `t < ceil(dt)`, so sub-millisecond
/// cut-offs keep `clear_logs(older_than)` exact (T5). Naive datetimes are
/// refused: we cannot know which zone they mean.
pub fn datetime_to_ms(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<i64> {
    let py = obj.py();
    let api = datetime_api(py)?;
    if !obj.is_instance(api.datetime.bind(py))? {
        return Err(invalid(format!(
            "{name} must be a datetime or None, got {}",
            describe(obj)
        )));
    }
    let offset = obj.call_method0(intern!(py, "utcoffset"))?;
    if offset.is_none() {
        return Err(invalid(format!(
            "{name} is a naive datetime ({}); pass a tz-aware one, e.g. datetime.now(timezone.utc) or dt.replace(tzinfo=timezone.utc)",
            describe(obj)
        )));
    }
    let delta = obj.call_method1(intern!(py, "__sub__"), (api.epoch.bind(py),))?;
    let days: i64 = delta.getattr(intern!(py, "days"))?.extract()?;
    let secs: i64 = delta.getattr(intern!(py, "seconds"))?.extract()?;
    let micros: i64 = delta.getattr(intern!(py, "microseconds"))?.extract()?;
    let total_us = (days as i128 * 86_400 + secs as i128) * 1_000_000 + micros as i128;
    let ms = total_us.div_euclid(1000) + i128::from(total_us.rem_euclid(1000) != 0);
    i64::try_from(ms).map_err(|_| invalid(format!("{name} is out of range")))
}

// ---- JSON ----

/// A JSON value as plain Python objects (dicts keep the key order).
pub fn json_to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(a) => {
            let list = PyList::empty(py);
            for item in a {
                list.append(json_to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(o) => {
            let dict = PyDict::new(py);
            for (k, item) in o {
                dict.set_item(k, json_to_py(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

/// A Python value as JSON, for the ledger's open maps (`usage`, `timing`)
/// and price dicts: `None`, `bool`, `int`, finite `float`, `str`, mappings
/// with `str` keys, lists and tuples. `path` names the value in errors
/// (`usage.tokens_in`). What the values must be is the core's to check.
pub fn py_to_json(obj: &Bound<'_, PyAny>, path: &str) -> PyResult<Value> {
    py_to_json_at(obj, path, 0)
}

/// Deepest nesting converted; deeper values are refused with an error
/// instead of recursing until the C stack overflows.
const MAX_JSON_DEPTH: usize = 64;

fn py_to_json_at(obj: &Bound<'_, PyAny>, path: &str, depth: usize) -> PyResult<Value> {
    let py = obj.py();
    if depth > MAX_JSON_DEPTH {
        return Err(invalid(format!(
            "{path} is nested deeper than {MAX_JSON_DEPTH} levels"
        )));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::from(u));
        }
        let f: f64 = obj.extract()?;
        return serde_json::Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| invalid(format!("{path} is too large: {}", describe(obj))));
    }
    if obj.is_instance_of::<PyFloat>() {
        let f: f64 = obj.extract()?;
        return serde_json::Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| {
                invalid(format!(
                    "{path} must be a finite number, got {}",
                    describe(obj)
                ))
            });
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(text(s, path)?.into_owned()));
    }
    if obj.is_instance_of::<PyDict>() || obj.is_instance(collections_mapping(py)?)? {
        return Ok(Value::Object(json_object_at(obj, path, depth)?));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<pyo3::types::PyTuple>() {
        let mut out = Vec::new();
        for (i, item) in obj.try_iter()?.enumerate() {
            out.push(py_to_json_at(&item?, &format!("{path}[{i}]"), depth + 1)?);
        }
        return Ok(Value::Array(out));
    }
    Err(invalid(format!(
        "{path} must be a JSON value (None, bool, int, float, str, list or mapping), got {}",
        describe(obj)
    )))
}

/// A mapping with `str` keys as a JSON object.
fn json_object(obj: &Bound<'_, PyAny>, path: &str) -> PyResult<serde_json::Map<String, Value>> {
    json_object_at(obj, path, 0)
}

fn json_object_at(
    obj: &Bound<'_, PyAny>,
    path: &str,
    depth: usize,
) -> PyResult<serde_json::Map<String, Value>> {
    let mut out = serde_json::Map::new();
    let mut put = |k: &Bound<'_, PyAny>, v: &Bound<'_, PyAny>| -> PyResult<()> {
        let key = k
            .cast::<PyString>()
            .map_err(|_| invalid(format!("{path} keys must be str, got {}", describe(k))))
            .and_then(|k| text(k, &format!("a key of {path}")).map(Cow::into_owned))?;
        let value = py_to_json_at(v, &format!("{path}.{key}"), depth + 1)?;
        out.insert(key, value);
        Ok(())
    };
    if let Ok(d) = obj.cast::<PyDict>() {
        for (k, v) in d.iter() {
            put(&k, &v)?;
        }
    } else {
        for item in obj.call_method0(intern!(obj.py(), "items"))?.try_iter()? {
            let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
            put(&k, &v)?;
        }
    }
    Ok(out)
}

/// An optional open map (`usage`, `timing`): `None` is empty; otherwise a
/// mapping with `str` keys.
pub fn json_map(
    obj: Option<&Bound<'_, PyAny>>,
    name: &str,
) -> PyResult<serde_json::Map<String, Value>> {
    match obj {
        None => Ok(serde_json::Map::new()),
        Some(o) if o.is_none() => Ok(serde_json::Map::new()),
        Some(o)
            if o.is_instance_of::<PyDict>() || o.is_instance(collections_mapping(o.py())?)? =>
        {
            json_object(o, name)
        }
        Some(o) => Err(invalid(format!(
            "{name} must be a mapping or None, got {}",
            describe(o)
        ))),
    }
}

/// A usage value in any form a host has it (U2): a dict or mapping (the
/// SDKs' JSON, `model_dump()` output), a pydantic model (the OpenAI,
/// Anthropic and LiteLLM SDK objects: read with `model_dump()`), any object
/// with `to_dict()` (google-genai, protobuf wrappers) or with attributes
/// (`vars()`), or a whole response object. `None` is "no usage". What the
/// fields mean is the core's to decide (`usagebook_core::usage`).
pub fn usage_json(
    obj: Option<&Bound<'_, PyAny>>,
    name: &str,
) -> PyResult<serde_json::Map<String, Value>> {
    let Some(o) = obj.filter(|o| !o.is_none()) else {
        return Ok(serde_json::Map::new());
    };
    let py = o.py();
    if o.is_instance_of::<PyDict>() || o.is_instance(collections_mapping(py)?)? {
        return json_object(o, name);
    }
    for method in [intern!(py, "model_dump"), intern!(py, "to_dict")] {
        if let Some(f) = o.getattr_opt(method)? {
            if f.is_callable() {
                let d = f.call0()?;
                if d.is_instance_of::<PyDict>() || d.is_instance(collections_mapping(py)?)? {
                    return json_object(&d, name);
                }
            }
        }
    }
    // Any other object (dataclasses, __slots__, properties): the attributes
    // the core's adapters know, nested objects read the same way.
    if let Some(m) = attrs_json(o, name, 0)? {
        return Ok(m);
    }
    Err(invalid(format!(
        "{name} must be a mapping, a provider SDK's usage or response object, or None, got {}",
        describe(o)
    )))
}

/// An object's known usage attributes as a JSON object; `None` when it has
/// none of them.
fn attrs_json(
    o: &Bound<'_, PyAny>,
    path: &str,
    depth: usize,
) -> PyResult<Option<serde_json::Map<String, Value>>> {
    if depth > 8 {
        return Err(invalid(format!("{path} is nested deeper than 8 levels")));
    }
    let py = o.py();
    let mut out = serde_json::Map::new();
    for attr in usagebook_core::usage::attribute_names() {
        let Some(v) = o.getattr_opt(PyString::new(py, attr))? else {
            continue;
        };
        let sub = format!("{path}.{attr}");
        let is_plain = v.is_none()
            || v.is_instance_of::<PyBool>()
            || v.is_instance_of::<PyInt>()
            || v.is_instance_of::<PyFloat>()
            || v.is_instance_of::<PyString>()
            || v.is_instance_of::<PyDict>()
            || v.is_instance_of::<PyList>()
            || v.is_instance(collections_mapping(py)?)?;
        let value = if is_plain {
            py_to_json_at(&v, &sub, depth + 1)?
        } else if let Some(d) = v
            .getattr_opt(intern!(py, "model_dump"))?
            .filter(|f| f.is_callable())
        {
            py_to_json_at(&d.call0()?, &sub, depth + 1)?
        } else {
            match attrs_json(&v, &sub, depth + 1)? {
                Some(m) => Value::Object(m),
                None => continue, // not a usage part (a method, an enum, ...)
            }
        };
        out.insert(attr.to_string(), value);
    }
    Ok((!out.is_empty()).then_some(out))
}

/// A number argument: an `int` (not a bool) or a `float`.
pub fn number(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<f64> {
    if obj.is_instance_of::<PyFloat>() || is_int(obj) {
        if let Ok(f) = obj.extract::<f64>() {
            return Ok(f);
        }
    }
    Err(invalid(format!(
        "{name} must be an int or float, got {}",
        describe(obj)
    )))
}

/// A `str` argument.
pub fn string(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<String> {
    match obj.cast::<PyString>() {
        Ok(s) => Ok(text(s, name)?.into_owned()),
        Err(_) => Err(invalid(format!(
            "{name} must be a str, got {}",
            describe(obj)
        ))),
    }
}

/// An optional `str` argument: `None` or a `str`.
pub fn opt_string(obj: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Option<String>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) => match o.cast::<PyString>() {
            Ok(s) => Ok(Some(text(s, name)?.into_owned())),
            Err(_) => Err(invalid(format!(
                "{name} must be a str or None, got {}",
                describe(o)
            ))),
        },
    }
}
