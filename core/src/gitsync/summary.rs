//! Per-device monthly summaries (issue 13): `<device>/<yyyy-mm>/summary.json`,
//! written only by that device, for months before the current one. A
//! summary holds the totals (overall and per bridge) and the event ids of
//! the segments it lists, each with the byte length it covers, so that
//! [`read_stats`] can take the summary instead of parsing those segments.
//!
//! A summary is used only while every segment it lists still has exactly
//! the length it covers; otherwise (a late event appended to a past month's
//! segment) the month is read from its segments, and the device's next sync
//! writes the summary again. Segments of the month it does not list (a
//! replay after a crash, written later) are read as usual, deduplicated
//! against the summary's ids. Reports that need every event (by day, by
//! model, the CLIProxyAPI export) still read the segments.

use super::merged::{self, MergedStats};
use crate::error::{Error, Result};
use crate::eventlog::{self, Event, EventKind, LineCounts, LineOutcome};
use crate::model::UsageStats;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

pub const SUMMARY_FILE: &str = "summary.json";
const VERSION: u64 = 1;

/// What a summary covers and holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub device: String,
    pub month: String,
    /// Segment file names and the byte length covered.
    pub segments: Vec<(String, u64)>,
    /// Every event id of those bytes (of any kind), for deduplication.
    pub ids: Vec<u128>,
    pub total: UsageStats,
    pub bridges: BTreeMap<String, UsageStats>,
    pub counts: LineCounts,
}

/// The `.jsonl` segments of a month directory, sorted, with their lengths.
fn segments_of(month_dir: &Path) -> Result<Vec<(String, PathBuf, u64)>> {
    let mut out = Vec::new();
    let rd = match std::fs::read_dir(month_dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io(format!("reading {}", month_dir.display()), e)),
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "jsonl") {
            if let (Some(name), Ok(md)) = (p.file_name().and_then(|n| n.to_str()), e.metadata()) {
                out.push((name.to_string(), p.clone(), md.len()));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn add_counts(a: &mut LineCounts, b: &LineCounts) {
    a.lines += b.lines;
    a.blank += b.blank;
    a.malformed += b.malformed;
    a.duplicates += b.duplicates;
    a.incomplete_tail_bytes += b.incomplete_tail_bytes;
}

/// Adds the totals `b` to `a` (sums; latest `lastUsedAt`).
pub fn add_stats(a: &mut UsageStats, b: &UsageStats) {
    a.total_requests += b.total_requests;
    a.prompt_tokens = a.prompt_tokens.saturating_add(b.prompt_tokens);
    a.completion_tokens = a.completion_tokens.saturating_add(b.completion_tokens);
    a.total_tokens = a.total_tokens.saturating_add(b.total_tokens);
    a.cache_read_tokens = a.cache_read_tokens.saturating_add(b.cache_read_tokens);
    a.cache_write_tokens = a.cache_write_tokens.saturating_add(b.cache_write_tokens);
    a.reasoning_tokens = a.reasoning_tokens.saturating_add(b.reasoning_tokens);
    a.error_count += b.error_count;
    a.last_used_at_ms = match (a.last_used_at_ms, b.last_used_at_ms) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    };
    a.average_tokens_per_request = if a.total_requests == 0 {
        0.0
    } else {
        a.total_tokens as f64 / a.total_requests as f64
    };
}

/// A month's segments as read: the new events, each segment's name and
/// the length read, and what was skipped.
type SegmentsRead = (Vec<Event>, Vec<(String, u64)>, LineCounts);

/// Parses the segments' bytes (read once: what is summarised is exactly
/// what was read), each event once.
fn read_segments(
    files: &[(String, PathBuf, u64)],
    seen: &mut HashSet<u128>,
) -> Result<SegmentsRead> {
    let mut events = Vec::new();
    let mut covered = Vec::new();
    let mut counts = LineCounts::default();
    for (name, path, _) in files {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
        };
        let c = eventlog::scan_bytes(&bytes, |line| match Event::from_line(line) {
            Ok(e) if seen.insert(e.id.as_u128()) => {
                events.push(e);
                LineOutcome::Good
            }
            Ok(_) => LineOutcome::Duplicate,
            Err(_) => LineOutcome::Malformed,
        });
        add_counts(&mut counts, &c);
        covered.push((name.clone(), bytes.len() as u64));
    }
    Ok((events, covered, counts))
}

fn stats_of<'a>(
    events: impl Iterator<Item = &'a Event>,
) -> (UsageStats, BTreeMap<String, UsageStats>) {
    let mut total = UsageStats::default();
    let mut bridges: BTreeMap<String, UsageStats> = BTreeMap::new();
    for e in events.filter(|e| e.kind == EventKind::Request) {
        merged::add_event(&mut total, e);
        let b = e.bridge.clone().unwrap_or_else(|| "unknown".into());
        merged::add_event(bridges.entry(b).or_default(), e);
    }
    (total, bridges)
}

/// Builds the summary of a month directory of `device` from its segments.
pub fn build(device: &str, month: &str, month_dir: &Path) -> Result<Summary> {
    let files = segments_of(month_dir)?;
    let mut seen = HashSet::new();
    let (events, segments, counts) = read_segments(&files, &mut seen)?;
    let (total, bridges) = stats_of(events.iter());
    Ok(Summary {
        device: device.into(),
        month: month.into(),
        segments,
        ids: events.iter().map(|e| e.id.as_u128()).collect(),
        total,
        bridges,
        counts,
    })
}

/// `[requests, prompt, completion, total, cacheRead, cacheWrite,
/// reasoning, errors, lastUsedAtMs | null]`.
fn stats_to_json(s: &UsageStats) -> Value {
    json!([
        s.total_requests,
        s.prompt_tokens,
        s.completion_tokens,
        s.total_tokens,
        s.cache_read_tokens,
        s.cache_write_tokens,
        s.reasoning_tokens,
        s.error_count,
        s.last_used_at_ms
    ])
}

fn stats_from_json(v: &Value) -> Option<UsageStats> {
    let a = v.as_array().filter(|a| a.len() == 9)?;
    let n = |i: usize| a[i].as_u64();
    let mut s = UsageStats {
        total_requests: n(0)?,
        prompt_tokens: n(1)?,
        completion_tokens: n(2)?,
        total_tokens: n(3)?,
        cache_read_tokens: n(4)?,
        cache_write_tokens: n(5)?,
        reasoning_tokens: n(6)?,
        error_count: n(7)?,
        last_used_at_ms: if a[8].is_null() {
            None
        } else {
            Some(a[8].as_i64()?)
        },
        ..UsageStats::default()
    };
    add_stats(&mut s, &UsageStats::default());
    Some(s)
}

impl Summary {
    pub fn to_json(&self) -> Value {
        let mut ids = String::with_capacity(self.ids.len() * 32);
        for id in &self.ids {
            ids.push_str(&format!("{id:032x}"));
        }
        json!({
            "version": VERSION,
            "device": self.device,
            "month": self.month,
            "segments": self.segments.iter().map(|(n, b)| json!([n, b])).collect::<Vec<_>>(),
            "total": stats_to_json(&self.total),
            "bridges": self.bridges.iter().map(|(k, v)| (k.clone(), stats_to_json(v))).collect::<Map<_, _>>(),
            "lines": [self.counts.lines, self.counts.blank, self.counts.malformed, self.counts.duplicates, self.counts.incomplete_tail_bytes],
            "ids": ids,
        })
    }

    /// `None` for anything this version does not read (a reader then reads
    /// the segments: a summary only ever makes reads faster).
    pub fn from_json(v: &Value) -> Option<Summary> {
        if v.get("version")?.as_u64()? != VERSION {
            return None;
        }
        let segments = v
            .get("segments")?
            .as_array()?
            .iter()
            .map(|s| Some((s.get(0)?.as_str()?.to_string(), s.get(1)?.as_u64()?)))
            .collect::<Option<Vec<_>>>()?;
        let hex = v.get("ids")?.as_str()?;
        if hex.len() % 32 != 0 {
            return None;
        }
        let ids = (0..hex.len() / 32)
            .map(|i| u128::from_str_radix(hex.get(i * 32..i * 32 + 32)?, 16).ok())
            .collect::<Option<Vec<_>>>()?;
        let bridges = v
            .get("bridges")?
            .as_object()?
            .iter()
            .map(|(k, s)| Some((k.clone(), stats_from_json(s)?)))
            .collect::<Option<BTreeMap<_, _>>>()?;
        let l = v.get("lines")?.as_array().filter(|l| l.len() == 5)?;
        let c = |i: usize| l[i].as_u64();
        Some(Summary {
            device: v.get("device")?.as_str()?.to_string(),
            month: v.get("month")?.as_str()?.to_string(),
            segments,
            ids,
            total: stats_from_json(v.get("total")?)?,
            bridges,
            counts: LineCounts {
                lines: c(0)?,
                blank: c(1)?,
                malformed: c(2)?,
                duplicates: c(3)?,
                incomplete_tail_bytes: c(4)?,
            },
        })
    }
}

/// The summary of a month directory, if there is one this version reads,
/// of this device and month, and every segment it lists still has the
/// length it covers.
fn usable(
    month_dir: &Path,
    device: &str,
    month: &str,
    files: &[(String, PathBuf, u64)],
) -> Option<Summary> {
    let text = std::fs::read(month_dir.join(SUMMARY_FILE)).ok()?;
    let s = Summary::from_json(&serde_json::from_slice(&text).ok()?)?;
    if s.device != device || s.month != month {
        return None;
    }
    let ok = s
        .segments
        .iter()
        .all(|(name, len)| files.iter().any(|(n, _, l)| n == name && l == len));
    ok.then_some(s)
}

/// Writes (or rewrites) this device's summaries of the months before
/// `current_month` (`yyyy-mm`) whose summary is missing or no longer
/// matches the segments. Returns how many it wrote. Only the device's own
/// directory is touched; each file is replaced atomically.
pub fn write_summaries(device_dir: &Path, device: &str, current_month: &str) -> Result<u64> {
    let mut written = 0;
    let rd = match std::fs::read_dir(device_dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::io(format!("reading {}", device_dir.display()), e)),
    };
    let mut months: Vec<(String, PathBuf)> = rd
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| Some((e.file_name().to_str()?.to_string(), e.path())))
        .filter(|(m, _)| m.len() == 7 && m.as_str() < current_month)
        .collect();
    months.sort();
    for (month, dir) in months {
        let files = segments_of(&dir)?;
        if files.is_empty() {
            continue;
        }
        if let Some(s) = usable(&dir, device, &month, &files) {
            if s.segments.len() == files.len() {
                continue;
            }
        }
        let s = build(device, &month, &dir)?;
        let path = dir.join(SUMMARY_FILE);
        let tmp = dir.join(format!(".{SUMMARY_FILE}.tmp{}", std::process::id()));
        std::fs::write(&tmp, format!("{}\n", s.to_json()))
            .map_err(|e| Error::io(format!("writing {}", tmp.display()), e))?;
        std::fs::rename(&tmp, &path)
            .map_err(|e| Error::io(format!("replacing {}", path.display()), e))?;
        written += 1;
    }
    Ok(written)
}

/// The merged stats of the repository's working tree (the same as
/// `merged::read(..).stats()`), taking each usable summary instead of the
/// segments it covers.
pub fn read_stats(repo: &Path, root: &Path) -> Result<MergedStats> {
    let devices_dir = repo.join(super::devices_dir(root));
    let mut m = MergedStats::default();
    let mut counts = LineCounts::default();
    let mut seen: HashSet<u128> = HashSet::new();
    let mut dirs: Vec<PathBuf> = match std::fs::read_dir(&devices_dir) {
        Ok(rd) => rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::io(format!("reading {}", devices_dir.display()), e)),
    };
    dirs.sort();
    for dev in dirs {
        let Some(device) = dev.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
            continue;
        };
        let mut months: Vec<PathBuf> = std::fs::read_dir(&dev)
            .map_err(|e| Error::io(format!("reading {}", dev.display()), e))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        months.sort();
        let mut dev_total = UsageStats::default();
        for month_dir in months {
            let month = month_dir
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            let files = segments_of(&month_dir)?;
            let rest: Vec<(String, PathBuf, u64)> =
                match usable(&month_dir, &device, &month, &files) {
                    // An id another device's files already had (rare: the
                    // same event in two devices' files): read the segments, so
                    // the first copy wins as in the full read.
                    Some(s) if !s.ids.iter().any(|id| seen.contains(id)) => {
                        seen.extend(s.ids.iter().copied());
                        add_stats(&mut dev_total, &s.total);
                        for (b, st) in &s.bridges {
                            add_stats(m.bridges.entry(b.clone()).or_default(), st);
                        }
                        add_counts(&mut counts, &s.counts);
                        m.segments += s.segments.len() as u64;
                        files
                            .into_iter()
                            .filter(|(n, _, _)| !s.segments.iter().any(|(x, _)| x == n))
                            .collect()
                    }
                    _ => files,
                };
            let (events, covered, c) = read_segments(&rest, &mut seen)?;
            m.segments += covered.len() as u64;
            add_counts(&mut counts, &c);
            let (t, bridges) = stats_of(events.iter());
            add_stats(&mut dev_total, &t);
            for (b, st) in &bridges {
                add_stats(m.bridges.entry(b.clone()).or_default(), st);
            }
        }
        if dev_total.total_requests > 0 {
            add_stats(&mut m.total, &dev_total);
            m.devices.insert(device, dev_total);
        }
    }
    m.notes = counts.notes();
    Ok(m)
}
