//! The `git_sync=` option and the git sync results (issue 13; G1–G6).
//! Only conversion: the snake_case keys of the Python mapping become the
//! core's camelCase `gitSync` object, which the core parses and checks;
//! the core's reports and merged stats become dicts. Every behaviour is
//! in `usagebook_core::gitsync`.

use crate::convert::{self, describe};
use crate::errors::{self, invalid};
use crate::model::PyUsageStats;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use serde_json::{Map, Value};
use usagebook_core::gitsync::{GitSyncConfig, MergedStats, SyncReport, SyncStatus};

/// Python key → the core's key, in the order the docs list them.
const KEYS: &[(&str, &str)] = &[
    ("enabled", "enabled"),
    ("path", "path"),
    ("sync_interval", "syncInterval"),
    ("repo_dir", "repoDir"),
    ("remote", "remote"),
    ("branch", "branch"),
    ("device_id", "deviceId"),
    ("segment_max_bytes", "segmentMaxBytes"),
    ("segment_max_age", "segmentMaxAge"),
    ("close_timeout", "closeTimeout"),
];

const DURATIONS: &[&str] = &["sync_interval", "segment_max_age", "close_timeout"];
const PATHS: &[&str] = &["repo_dir", "remote", "path"];

fn known() -> String {
    KEYS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
}

/// The core's messages name the camelCase keys; a Python caller wrote the
/// snake_case ones.
fn python_names(msg: &str) -> String {
    let mut m = msg.to_string();
    for (py, js) in KEYS {
        m = m.replace(&format!("gitSync.{js}"), &format!("git_sync.{py}"));
    }
    m.replace("option gitSync", "option git_sync")
}

/// A `datetime.timedelta` as the core's duration string (`"1500ms"`).
fn timedelta_ms(v: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    let td = v.py().import("datetime")?.getattr("timedelta")?;
    if !v.is_instance(&td)? {
        return Ok(None);
    }
    let secs: f64 = v.call_method0("total_seconds")?.extract()?;
    if !secs.is_finite() || secs < 0.0 {
        return Err(invalid(format!(
            "a git_sync duration must not be negative, got {}",
            describe(v)
        )));
    }
    Ok(Some(format!("{}ms", (secs * 1000.0).round() as u64)))
}

/// `git_sync={"repo_dir": ..., "remote": ..., "branch": "main",
/// "sync_interval": "15m", "device_id": ..., "path": ..., "enabled": True}`
/// as the core's config. `None` = no git sync. Paths may be `os.PathLike`;
/// durations are strings (`"30s"`, `"15m"`, `"0m"`) or `timedelta`s.
pub fn git_sync_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<GitSyncConfig>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    let py = obj.py();
    let mapping = py.import("collections.abc")?.getattr("Mapping")?;
    if !obj.is_instance(&mapping)? {
        return Err(invalid(format!(
            "git_sync must be a mapping such as {{\"repo_dir\": ..., \"remote\": ...}} or None, got {}",
            describe(obj)
        )));
    }
    let fspath = py.import("os")?.getattr("fspath")?;
    let pathlike = py.import("os")?.getattr("PathLike")?;
    let mut out = Map::new();
    for item in obj.call_method0("items")?.try_iter()? {
        let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
        // `text`, not `to_str`: the CPython 3.9 abi3 wheel has no `to_str`,
        // and a lone surrogate is refused naming the option.
        let key: String = crate::convert::text(
            k.cast::<PyString>()
                .map_err(|_| invalid(format!("git_sync keys must be str, got {}", describe(&k))))?,
            "a git_sync key",
        )?
        .into_owned();
        let Some((_, core_key)) = KEYS.iter().find(|(p, _)| *p == key) else {
            return Err(invalid(format!(
                "unknown option git_sync.{key}; known: {}",
                known()
            )));
        };
        let name = format!("git_sync.{key}");
        let value = if PATHS.contains(&key.as_str()) && v.is_instance(&pathlike)? {
            let p = fspath.call1((&v,))?;
            convert::py_to_json(&p, &name)?
        } else if let Some(ms) = DURATIONS
            .contains(&key.as_str())
            .then(|| timedelta_ms(&v))
            .transpose()?
            .flatten()
        {
            Value::String(ms)
        } else {
            convert::py_to_json(&v, &name)?
        };
        out.insert((*core_key).to_string(), value);
    }
    if !out.contains_key("repoDir") {
        return Err(invalid(
            "option git_sync.repo_dir is required: the working tree of the usage repository",
        ));
    }
    GitSyncConfig::from_json(&Value::Object(out))
        .map(Some)
        .map_err(|e| match e {
            usagebook_core::Error::InvalidArgument(m) => invalid(python_names(&m)),
            other => errors::from_core(other),
        })
}

/// `sync_now()`'s result.
pub fn report_to_py<'py>(py: Python<'py>, r: &SyncReport) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("committed", r.committed)?;
    d.set_item("pushed", r.pushed)?;
    d.set_item("offline", r.offline)?;
    d.set_item("rejected", r.rejected)?;
    d.set_item("ahead", r.ahead)?;
    d.set_item("removed_locks", r.removed_locks.clone())?;
    d.set_item("offline_reason", r.offline_reason.clone())?;
    Ok(d)
}

/// The `git_sync` entry of `health()`.
pub fn status_to_py<'py>(py: Python<'py>, s: &SyncStatus) -> PyResult<Bound<'py, PyDict>> {
    let at = |ms: Option<i64>| ms.map(|ms| convert::datetime_from_ms(py, ms)).transpose();
    let d = PyDict::new(py);
    d.set_item("device_id", &s.device)?;
    d.set_item("syncs", s.syncs)?;
    d.set_item("failures", s.failures)?;
    d.set_item("last_sync_at", at(s.last_sync_ms)?)?;
    d.set_item("last_ok_at", at(s.last_ok_ms)?)?;
    d.set_item("last_error", s.last_error.clone())?;
    d.set_item("pending_commits", s.pending_commits)?;
    d.set_item("offline", s.last.as_ref().is_some_and(|r| r.offline))?;
    Ok(d)
}

/// `merged_stats()`: the core's form, `{"total": UsageStats, "devices":
/// {id: UsageStats}, "bridges": {id: UsageStats}, "segments": n, "notes":
/// [...]}`.
pub fn merged_to_py<'py>(py: Python<'py>, m: MergedStats) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("total", PyUsageStats(m.total))?;
    let map = |src: std::collections::BTreeMap<String, usagebook_core::UsageStats>| {
        let out = PyDict::new(py);
        for (k, v) in src {
            out.set_item(k, PyUsageStats(v))?;
        }
        Ok::<_, PyErr>(out)
    };
    d.set_item("devices", map(m.devices)?)?;
    d.set_item("bridges", map(m.bridges)?)?;
    d.set_item("segments", m.segments)?;
    d.set_item("notes", m.notes)?;
    Ok(d)
}
