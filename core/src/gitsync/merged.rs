//! The merged view (G2): every device's events in the repository's working
//! tree, deduplicated by event id. Lines that do not parse are skipped and
//! counted; a last line without its newline (a write in progress, a kill
//! mid-append) is tolerated.

use crate::error::{Error, Result};
use crate::eventlog::{self, Event, EventKind, LineCounts, Status};
use crate::model::UsageStats;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// Every device's events, once each.
#[derive(Debug, Default)]
pub struct MergedView {
    /// In (device, segment, line) order.
    pub events: Vec<Event>,
    /// Device of each event (the directory it was found in), same order.
    pub devices: Vec<String>,
    pub segments: u64,
    pub counts: LineCounts,
}

/// `<repo>/<root>/devices/*/*/*.jsonl`, sorted.
pub fn segment_files(repo: &Path, root: &Path) -> Result<Vec<(String, PathBuf)>> {
    let devices = repo.join(super::devices_dir(root));
    let mut out = Vec::new();
    let list = |p: &Path| -> Result<Vec<PathBuf>> {
        match std::fs::read_dir(p) {
            Ok(rd) => {
                let mut v: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
                v.sort();
                Ok(v)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(Error::io(format!("reading {}", p.display()), e)),
        }
    };
    for dev in list(&devices)? {
        if !dev.is_dir() {
            continue;
        }
        let Some(name) = dev.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
            continue;
        };
        for month in list(&dev)? {
            if !month.is_dir() {
                continue;
            }
            for f in list(&month)? {
                if f.extension().is_some_and(|x| x == "jsonl") {
                    out.push((name.clone(), f));
                }
            }
        }
    }
    Ok(out)
}

/// Reads the merged view of the usage root `root` in the working tree of
/// `repo`.
pub fn read(repo: &Path, root: &Path) -> Result<MergedView> {
    let mut v = MergedView::default();
    let mut seen: HashSet<u128> = HashSet::new();
    for (device, f) in segment_files(repo, root)? {
        let r = eventlog::read_events(&f)?;
        v.segments += 1;
        v.counts.lines += r.counts.lines;
        v.counts.blank += r.counts.blank;
        v.counts.malformed += r.counts.malformed;
        v.counts.duplicates += r.counts.duplicates;
        v.counts.incomplete_tail_bytes += r.counts.incomplete_tail_bytes;
        for e in r.events {
            if seen.insert(e.id.as_u128()) {
                v.events.push(e);
                v.devices.push(device.clone());
            } else {
                v.counts.duplicates += 1;
            }
        }
    }
    Ok(v)
}

/// Cross-device stats: the totals, and the same per device and per bridge.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MergedStats {
    pub total: UsageStats,
    pub devices: BTreeMap<String, UsageStats>,
    pub bridges: BTreeMap<String, UsageStats>,
    pub segments: u64,
    pub notes: Vec<String>,
}

/// Adds one request event to `s` (T4 sums, latest `lastUsedAt`).
pub fn add_event(s: &mut UsageStats, e: &Event) {
    let t = e.tokens.unwrap_or_default();
    s.total_requests += 1;
    s.prompt_tokens = s.prompt_tokens.saturating_add(t.input);
    s.completion_tokens = s.completion_tokens.saturating_add(t.output);
    s.total_tokens = s.total_tokens.saturating_add(t.total);
    s.cache_read_tokens = s.cache_read_tokens.saturating_add(t.cache_read);
    s.cache_write_tokens = s.cache_write_tokens.saturating_add(t.cache_write);
    s.reasoning_tokens = s.reasoning_tokens.saturating_add(t.reasoning);
    if e.status == Some(Status::Error) {
        s.error_count += 1;
    }
    let ms = e.occurred_at_ms();
    s.last_used_at_ms = Some(s.last_used_at_ms.map_or(ms, |l| l.max(ms)));
    s.average_tokens_per_request = s.total_tokens as f64 / s.total_requests as f64;
}

impl MergedView {
    pub fn stats(&self) -> MergedStats {
        let mut m = MergedStats {
            segments: self.segments,
            notes: self.counts.notes(),
            ..MergedStats::default()
        };
        for (e, d) in self.events.iter().zip(&self.devices) {
            if e.kind != EventKind::Request {
                continue;
            }
            add_event(&mut m.total, e);
            add_event(m.devices.entry(d.clone()).or_default(), e);
            let b = e.bridge.clone().unwrap_or_else(|| "unknown".into());
            add_event(m.bridges.entry(b).or_default(), e);
        }
        m
    }
}

impl MergedStats {
    /// `{"total": stats, "devices": {id: stats}, "bridges": {id: stats},
    /// "segments": n, "notes": [...]}` with the T4 stats form.
    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("total".into(), self.total.to_json());
        let map = |m: &BTreeMap<String, UsageStats>| {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
        };
        o.insert("devices".into(), map(&self.devices));
        o.insert("bridges".into(), map(&self.bridges));
        o.insert("segments".into(), self.segments.into());
        o.insert(
            "notes".into(),
            Value::Array(self.notes.iter().map(|n| n.clone().into()).collect()),
        );
        Value::Object(o)
    }
}

/// The grouped report of the merged view (`usagebook report --git`), by
/// day, month, bridge, model, provider, or device. Requests are priced as
/// an event log's are.
pub fn report(
    repo: &Path,
    root: &Path,
    query: &crate::report::grouped::Query,
    prices: &crate::report::grouped::Prices,
) -> Result<crate::report::grouped::GroupedReport> {
    use crate::report::grouped::{self, GroupBy, Row, StoreKind};
    let view = read(repo, root)?;
    if !repo.is_dir() {
        return Err(Error::invalid(format!(
            "{} does not exist (a git sync repository's working tree)",
            repo.display()
        )));
    }
    let tmp = std::env::temp_dir().join(format!(
        "usagebook-report-{}-{}.jsonl",
        std::process::id(),
        uuid::Uuid::now_v7()
    ));
    let write = |events: &mut dyn Iterator<Item = &Event>| -> Result<()> {
        let mut text = String::new();
        for e in events {
            text.push_str(&e.to_line());
            text.push('\n');
        }
        std::fs::write(&tmp, text).map_err(|e| Error::io(format!("writing {}", tmp.display()), e))
    };
    let by_device = query.by == GroupBy::Device;
    let mut r = if by_device {
        let mut q = query.clone();
        q.by = GroupBy::Bridge;
        let mut devices: Vec<&String> = view.devices.iter().collect();
        devices.sort();
        devices.dedup();
        let mut rows = Vec::new();
        let mut notes = Vec::new();
        for d in devices {
            write(
                &mut view
                    .events
                    .iter()
                    .zip(&view.devices)
                    .filter(|(_, x)| *x == d)
                    .map(|(e, _)| e),
            )?;
            let part = grouped::from_log_priced(&tmp, &q, prices)?;
            if part.total.requests > 0 {
                rows.push(Row {
                    key: d.clone(),
                    sums: part.total,
                });
            }
            for n in &part.notes {
                if !notes.contains(n) {
                    notes.push(n.clone());
                }
            }
        }
        write(&mut view.events.iter())?;
        let mut all = grouped::from_log_priced(&tmp, &q, prices)?;
        all.rows = rows;
        all.query.by = GroupBy::Device;
        all
    } else {
        write(&mut view.events.iter())?;
        grouped::from_log_priced(&tmp, query, prices)?
    };
    let _ = std::fs::remove_file(&tmp);
    r.store = StoreKind::Log;
    r.path = repo.to_path_buf();
    r.exists = true;
    r.lines = view.counts;
    let mut notes = view.counts.notes();
    notes.retain(|n| !r.notes.contains(n));
    r.notes.splice(0..0, notes);
    Ok(r)
}
