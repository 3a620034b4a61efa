//! `usage-stats.json` (T7): per-bridge stats in the seed's shape, plus what
//! exact recovery needs: a format version, the next sequence number (the
//! replay watermark, T9) and the hourly rollups (T5).

use crate::error::Error;
use crate::timefmt;
use crate::totals::Totals;
use serde_json::{json, Map, Value};
use std::path::Path;

pub const FORMAT_VERSION: u64 = 1;

/// What a snapshot holds, with bridges by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SnapshotData {
    /// Every log with a lower sequence number is counted in here.
    pub next_seq: u64,
    /// (bridge, hour start ms, totals of that hour).
    pub(crate) buckets: Vec<(String, i64, Totals)>,
}

/// Serialises a snapshot. `buckets` must be sorted by bridge then hour.
pub(crate) fn encode(
    names: &[std::sync::Arc<str>],
    buckets: &[(u32, i64, Totals)],
    next_seq: u64,
    now_ms: i64,
) -> Vec<u8> {
    let mut per_bridge: Vec<Totals> = vec![Totals::default(); names.len()];
    let mut rollups: Vec<Vec<Value>> = vec![Vec::new(); names.len()];
    for &(b, hour, t) in buckets {
        per_bridge[b as usize].merge(&t);
        rollups[b as usize].push(json!([
            hour,
            t.requests,
            t.prompt,
            t.completion,
            t.total,
            t.errors,
            t.last_used_ms.unwrap_or(hour)
        ]));
    }
    let mut pb = Map::new();
    let mut ru = Map::new();
    for (i, name) in names.iter().enumerate() {
        if per_bridge[i].is_empty() {
            continue;
        }
        pb.insert(name.to_string(), per_bridge[i].to_stats().to_json());
        ru.insert(
            name.to_string(),
            Value::Array(std::mem::take(&mut rollups[i])),
        );
    }
    let doc = json!({
        "formatVersion": FORMAT_VERSION,
        "perBridge": pb,
        "updatedAt": timefmt::format_iso_ms(now_ms),
        "nextSeq": next_seq,
        "rollups": ru,
    });
    serde_json::to_vec(&doc).unwrap_or_default()
}

/// Why a snapshot file could not be used.
#[derive(Debug)]
pub enum LoadError {
    Missing,
    /// Unreadable: garbage, empty, truncated. The caller moves it aside.
    Corrupt(String),
    /// Written by a newer usagebook: refuse to open, touch nothing.
    Fatal(Error),
}

pub fn load(path: &Path) -> std::result::Result<SnapshotData, LoadError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(LoadError::Missing),
        Err(e) => {
            return Err(LoadError::Fatal(Error::io(
                format!("reading {}", path.display()),
                e,
            )))
        }
    };
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|e| LoadError::Corrupt(format!("{} is not valid JSON: {e}", path.display())))?;
    decode(&v, path)
}

fn decode(v: &Value, path: &Path) -> std::result::Result<SnapshotData, LoadError> {
    let corrupt = |what: &str| LoadError::Corrupt(format!("{}: {what}", path.display()));
    let obj = v.as_object().ok_or_else(|| corrupt("not a JSON object"))?;
    let version = match obj.get("formatVersion") {
        None => 0, // a snapshot written by the seed's JS tracker
        Some(x) => x
            .as_u64()
            .ok_or_else(|| corrupt("formatVersion is not an integer"))?,
    };
    if version > FORMAT_VERSION {
        return Err(LoadError::Fatal(Error::UnsupportedFormat {
            path: path.to_path_buf(),
            found: version,
            supported: FORMAT_VERSION,
        }));
    }
    let per_bridge = obj
        .get("perBridge")
        .and_then(Value::as_object)
        .ok_or_else(|| corrupt("perBridge is missing"))?;
    let mut data = SnapshotData {
        next_seq: obj.get("nextSeq").and_then(Value::as_u64).unwrap_or(1),
        buckets: Vec::new(),
    };
    if version == 0 {
        // Only totals are known: one bucket at the hour of last use.
        for (name, s) in per_bridge {
            let t = stats_to_totals(s)
                .ok_or_else(|| corrupt(&format!("perBridge.{name} is malformed")))?;
            let hour = t.last_used_ms.unwrap_or(0);
            data.buckets.push((name.clone(), hour, t));
        }
        return Ok(data);
    }
    let rollups = obj
        .get("rollups")
        .and_then(Value::as_object)
        .ok_or_else(|| corrupt("rollups are missing"))?;
    for (name, rows) in rollups {
        let rows = rows
            .as_array()
            .ok_or_else(|| corrupt("rollups entry is not an array"))?;
        for row in rows {
            let r: Option<Vec<i64>> = row
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_i64).collect());
            match r.as_deref() {
                Some([hour, req, p, c, t, e, last]) if *req >= 0 => data.buckets.push((
                    name.clone(),
                    *hour,
                    Totals {
                        requests: *req as u64,
                        prompt: *p as u64,
                        completion: *c as u64,
                        total: *t as u64,
                        errors: *e as u64,
                        last_used_ms: Some(*last),
                    },
                )),
                _ => return Err(corrupt(&format!("rollups.{name} has a malformed row"))),
            }
        }
    }
    Ok(data)
}

fn stats_to_totals(s: &Value) -> Option<Totals> {
    let n = |k: &str| s.get(k).and_then(Value::as_u64);
    Some(Totals {
        requests: n("totalRequests")?,
        prompt: n("promptTokens").unwrap_or(0),
        completion: n("completionTokens").unwrap_or(0),
        total: n("totalTokens").unwrap_or(0),
        errors: n("errorCount").unwrap_or(0),
        last_used_ms: s
            .get("lastUsedAt")
            .and_then(Value::as_str)
            .and_then(timefmt::parse_iso_ms),
    })
}
