//! `usage-stats.json` (T7): per-bridge stats in the seed's shape, plus what
//! exact recovery needs: a format version, the next sequence number (the
//! replay watermark, T9), the hourly rollups of recent days (T5), the
//! totals of the days kept in the rollup archive (`store::archive`) and a
//! checksum over the whole document.

use crate::error::Error;
use crate::timefmt;
use crate::totals::Totals;
use serde_json::{json, Map, Value};
use std::path::Path;

/// The newest version this usagebook reads and writes. Version 3 adds the
/// `archive` section (closed days live in `rollups/`, only their totals
/// here); it is written only once a day has been archived. Version 2 rollup
/// rows may carry the three parts; a snapshot with neither is written as
/// version 1, as before, so older readers keep reading it.
pub const FORMAT_VERSION: u64 = 3;
const VERSION_WITH_PARTS: u64 = 2;
/// The version of a snapshot without parts or archive.
const VERSION_WITHOUT_PARTS: u64 = 1;

/// What a snapshot holds, with bridges by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SnapshotData {
    /// Every log with a lower sequence number is counted in here.
    pub next_seq: u64,
    /// (bridge, hour start ms, totals of that hour): the recent hours.
    pub(crate) buckets: Vec<(String, i64, Totals)>,
    /// The rollup archive generation this snapshot commits (0: none).
    pub archive_generation: u64,
    /// Totals of every archived hour, per bridge.
    pub(crate) archived: Vec<(String, Totals)>,
}

/// The archive as a snapshot records it: its generation and its totals by
/// bridge index.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ArchiveRef<'a> {
    pub generation: u64,
    pub totals: &'a [Totals],
}

/// One rollup row: hour, requests, prompt, completion, total, errors, last
/// use, then the three parts when `with_parts`.
pub(crate) fn row(hour: i64, t: &Totals, with_parts: bool) -> Value {
    let mut row = vec![
        json!(hour),
        json!(t.requests),
        json!(t.prompt),
        json!(t.completion),
        json!(t.total),
        json!(t.errors),
        json!(t.last_used_ms.unwrap_or(hour)),
    ];
    if with_parts {
        row.extend([
            json!(t.cache_read),
            json!(t.cache_write),
            json!(t.reasoning),
        ]);
    }
    Value::Array(row)
}

/// Reads a row written by [`row`]. `None` for a malformed or impossible
/// row: no sequence of calls gives more errors than requests, or tokens
/// without a request (fuzz finding F5).
pub(crate) fn parse_row(row: &Value, parts_allowed: bool) -> Option<(i64, Totals)> {
    // hour and last use are epoch ms (i64); the counts are u64 and may be
    // above i64::MAX (a usage of 2^63 tokens is accepted, so it must read
    // back, not make the snapshot "corrupt").
    let a = row.as_array()?;
    let parts_len = match a.len() {
        7 => 0,
        10 if parts_allowed => 3,
        _ => return None,
    };
    let int = |i: usize| a[i].as_i64();
    let count = |i: usize| a[i].as_u64();
    let mut parts = [0u64; 3];
    for (j, part) in parts.iter_mut().enumerate().take(parts_len) {
        *part = count(7 + j)?;
    }
    let t = Totals {
        requests: count(1)?,
        prompt: count(2)?,
        completion: count(3)?,
        total: count(4)?,
        errors: count(5)?,
        last_used_ms: Some(int(6)?),
        cache_read: parts[0],
        cache_write: parts[1],
        reasoning: parts[2],
    };
    possible(&t).then_some((int(0)?, t))
}

/// Totals that some sequence of calls can give.
pub(crate) fn possible(t: &Totals) -> bool {
    t.errors <= t.requests
        && (t.requests > 0
            || t.prompt == 0
                && t.completion == 0
                && t.total == 0
                && t.cache_read == 0
                && t.cache_write == 0
                && t.reasoning == 0)
}

const SEAL: &[u8] = b",\"checksum\":\"crc32:";

/// Appends `"checksum":"crc32:xxxxxxxx"` to a compact JSON object: the CRC
/// of the document as it reads without that member.
pub fn seal(mut doc: Vec<u8>) -> Vec<u8> {
    let crc = crc32fast::hash(&doc);
    if doc.last() == Some(&b'}') {
        doc.pop();
        doc.extend_from_slice(SEAL);
        doc.extend_from_slice(format!("{crc:08x}\"}}").as_bytes());
    }
    doc
}

/// Checks a [`seal`]. `Ok(true)`: sealed and intact; `Ok(false)`: no
/// checksum (a file of an older version); `Err`: the checksum does not match.
pub fn check_seal(bytes: &[u8]) -> std::result::Result<bool, String> {
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    let bytes = &bytes[..end];
    let tail = SEAL.len() + 8 + 2;
    if bytes.len() < tail || &bytes[bytes.len() - tail..bytes.len() - 10] != SEAL {
        return Ok(false);
    }
    let hex = &bytes[bytes.len() - 10..bytes.len() - 2];
    let want = std::str::from_utf8(hex)
        .ok()
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .ok_or("the checksum is not 8 hex digits")?;
    let mut body = bytes[..bytes.len() - tail].to_vec();
    body.push(b'}');
    if crc32fast::hash(&body) != want || &bytes[bytes.len() - 2..] != b"\"}" {
        return Err("the checksum does not match the content".into());
    }
    Ok(true)
}

/// Serialises a snapshot. `buckets` must be sorted by bridge then hour;
/// `archive.totals` is indexed like `names`.
pub(crate) fn encode(
    names: &[std::sync::Arc<str>],
    buckets: &[(u32, i64, Totals)],
    next_seq: u64,
    now_ms: i64,
    archive: ArchiveRef<'_>,
) -> Vec<u8> {
    let mut per_bridge: Vec<Totals> = vec![Totals::default(); names.len()];
    let mut rollups: Vec<Vec<Value>> = vec![Vec::new(); names.len()];
    let with_parts = buckets.iter().any(|(_, _, t)| t.has_parts())
        || archive.totals.iter().any(Totals::has_parts);
    for &(b, hour, t) in buckets {
        per_bridge[b as usize].merge(&t);
        rollups[b as usize].push(row(hour, &t, t.has_parts()));
    }
    let mut archived = Map::new();
    for (i, t) in archive.totals.iter().enumerate().take(names.len()) {
        if !t.is_empty() {
            per_bridge[i].merge(t);
            archived.insert(names[i].to_string(), row(0, t, true));
        }
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
    let archiving = archive.generation > 0;
    let version = if archiving {
        FORMAT_VERSION
    } else if with_parts {
        VERSION_WITH_PARTS
    } else {
        VERSION_WITHOUT_PARTS
    };
    let mut doc = json!({
        "formatVersion": version,
        "perBridge": pb,
        "updatedAt": timefmt::format_iso_ms(now_ms),
        "nextSeq": next_seq,
        "rollups": ru,
    });
    if archiving {
        doc["archive"] = json!({
            "generation": archive.generation,
            "totals": archived,
        });
    }
    seal(serde_json::to_vec(&doc).unwrap_or_default())
}

/// Why a snapshot file could not be used.
#[derive(Debug)]
pub enum LoadError {
    Missing,
    /// Unreadable: garbage, empty, truncated, a checksum that does not
    /// match. The caller moves it aside.
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
    let sealed = check_seal(&bytes)
        .map_err(|why| LoadError::Corrupt(format!("{}: {why}", path.display())))?;
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|e| LoadError::Corrupt(format!("{} is not valid JSON: {e}", path.display())))?;
    decode(&v, path, sealed)
}

fn decode(v: &Value, path: &Path, sealed: bool) -> std::result::Result<SnapshotData, LoadError> {
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
    if version >= 3 && !sealed {
        return Err(corrupt("the checksum is missing"));
    }
    let per_bridge = obj
        .get("perBridge")
        .and_then(Value::as_object)
        .ok_or_else(|| corrupt("perBridge is missing"))?;
    let mut data = SnapshotData {
        next_seq: match obj.get("nextSeq") {
            None => 1,
            Some(n) => n
                .as_u64()
                .filter(|&n| n <= crate::limits::MAX_SEQ)
                .ok_or_else(|| corrupt("nextSeq is not a sequence number"))?,
        },
        ..SnapshotData::default()
    };
    if version == 0 {
        // Only totals are known: one bucket at the hour of last use.
        for (name, s) in per_bridge {
            let t = stats_to_totals(s)
                .filter(possible)
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
        for r in rows {
            let (hour, t) = parse_row(r, version >= VERSION_WITH_PARTS).ok_or_else(|| {
                corrupt(&format!("rollups.{name} has a malformed or impossible row"))
            })?;
            data.buckets.push((name.clone(), hour, t));
        }
    }
    if version >= 3 {
        let archive = obj
            .get("archive")
            .and_then(Value::as_object)
            .ok_or_else(|| corrupt("archive is missing"))?;
        data.archive_generation = archive
            .get("generation")
            .and_then(Value::as_u64)
            .filter(|&g| g > 0)
            .ok_or_else(|| corrupt("archive.generation is not a positive integer"))?;
        let totals = archive
            .get("totals")
            .and_then(Value::as_object)
            .ok_or_else(|| corrupt("archive.totals is missing"))?;
        for (name, r) in totals {
            let (_, t) = parse_row(r, true).ok_or_else(|| {
                corrupt(&format!("archive.totals.{name} is malformed or impossible"))
            })?;
            data.archived.push((name.clone(), t));
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
        cache_read: 0,
        cache_write: 0,
        reasoning: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn totals(parts: [u64; 3]) -> Totals {
        Totals {
            requests: 2,
            prompt: 6200,
            completion: 50,
            total: 6250,
            errors: 1,
            last_used_ms: Some(3_600_500),
            cache_read: parts[0],
            cache_write: parts[1],
            reasoning: parts[2],
        }
    }

    fn roundtrip(bytes: &[u8]) -> SnapshotData {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        std::fs::write(&p, bytes).unwrap();
        load(&p).unwrap()
    }

    #[test]
    fn t7_without_parts_the_snapshot_is_version_1_as_before() {
        let names: Vec<Arc<str>> = vec!["a".into()];
        let bytes = encode(
            &names,
            &[(0, 3_600_000, totals([0; 3]))],
            3,
            0,
            ArchiveRef::default(),
        );
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["formatVersion"], 1);
        assert_eq!(
            v["rollups"]["a"],
            json!([[3_600_000, 2, 6200, 50, 6250, 1, 3_600_500]])
        );
        // The stats carry the part sums, always.
        assert_eq!(v["perBridge"]["a"]["cacheReadTokens"], 0);
        let back = roundtrip(&bytes);
        assert_eq!(back.buckets, vec![("a".into(), 3_600_000, totals([0; 3]))]);
    }

    #[test]
    fn t9_parts_survive_a_version_2_snapshot() {
        let names: Vec<Arc<str>> = vec!["a".into(), "b".into()];
        let buckets = [
            (0, 3_600_000, totals([1000, 5000, 20])),
            (1, 0, totals([0; 3])),
        ];
        let bytes = encode(&names, &buckets, 9, 0, ArchiveRef::default());
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["formatVersion"], 2);
        assert_eq!(
            v["rollups"]["a"][0],
            json!([3_600_000, 2, 6200, 50, 6250, 1, 3_600_500, 1000, 5000, 20])
        );
        // Rows without parts stay 7 numbers long in a version 2 file.
        assert_eq!(v["rollups"]["b"][0].as_array().unwrap().len(), 7);
        assert_eq!(v["perBridge"]["a"]["cacheWriteTokens"], 5000);
        let back = roundtrip(&bytes);
        assert_eq!(back.next_seq, 9);
        assert_eq!(
            back.buckets,
            vec![
                ("a".into(), 3_600_000, totals([1000, 5000, 20])),
                ("b".into(), 0, totals([0; 3]))
            ]
        );
    }

    #[test]
    fn t10_a_version_1_file_with_parts_or_a_bad_row_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        for text in [
            r#"{"formatVersion":1,"perBridge":{},"rollups":{"a":[[0,1,1,1,2,0,0,1,0,0]]}}"#,
            r#"{"formatVersion":2,"perBridge":{},"rollups":{"a":[[0,1,1,1,2,0,0,1]]}}"#,
            r#"{"formatVersion":2,"perBridge":{},"rollups":{"a":[[0,1,1,1,2,0,0,-1,0,0]]}}"#,
        ] {
            std::fs::write(&p, text).unwrap();
            assert!(matches!(load(&p), Err(LoadError::Corrupt(_))), "{text}");
        }
        std::fs::write(&p, r#"{"formatVersion":4,"perBridge":{},"rollups":{}}"#).unwrap();
        assert!(matches!(load(&p), Err(LoadError::Fatal(_))));
    }
}
