//! This device's append-only segments:
//! `<repo>/<root>/devices/<device>/<yyyy-mm>/<segment-id>.jsonl`.
//!
//! A segment belongs to one writer (one open tracker): its id is a fresh
//! UUIDv7, so not even two processes with the same device id write the same
//! file. It is sealed, and a new one started, when a write would pass
//! `max_bytes`, when it is `max_age` old, when the month of the events
//! changes, and whenever a writer starts (a torn last line left by a crash
//! stays the last line of its segment, which readers tolerate).

use crate::error::{Error, Result};
use crate::eventlog::{id, Event, Status, Tokens};
use crate::model::UsageLog;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The event a tracker log becomes in a segment. Its id is derived from the
/// device and everything the log says (sequence number, time, bridge,
/// counts), so a log written twice (a crash between the segment append and
/// the snapshot, then a journal replay) is one event in the merged view.
pub fn event_of_log(log: &UsageLog, device: &str) -> Event {
    let u = &log.usage;
    let key = format!(
        "gitsync|{device}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{:?}",
        log.seq,
        log.timestamp_ms,
        log.bridge_id,
        u.prompt_tokens,
        u.completion_tokens,
        u.total_tokens,
        u.cache_read_tokens,
        u.cache_write_tokens,
        u.reasoning_tokens,
        log.status.as_str(),
        log.duration_ms
    );
    let mut e = Event::request(
        log.bridge_id.clone(),
        Tokens {
            input: u.prompt_tokens,
            output: u.completion_tokens,
            reasoning: u.reasoning_tokens,
            cache_read: u.cache_read_tokens,
            cache_write: u.cache_write_tokens,
            total: u.total_tokens,
        },
        Status::parse(log.status.as_str()),
    );
    e.id = id::derived_v7(log.timestamp_ms, &key);
    e.occurred_at_ns = log.timestamp_ms.saturating_mul(1_000_000);
    e.duration_ms = log.duration_ms;
    e.extra.insert("device".into(), device.into());
    e.extra.insert("tracker_log_id".into(), log.id().into());
    e
}

/// `yyyy-mm` (UTC) of an event time.
pub fn month_of_ns(ns: i64) -> String {
    let days = ns.div_euclid(86_400_000_000_000);
    let (y, m, _) = crate::eventlog::rfc3339::civil_from_days(days);
    format!("{y:04}-{m:02}")
}

struct Open {
    month: String,
    path: PathBuf,
    file: File,
    bytes: u64,
    opened: Instant,
}

/// Appends this device's events to its segments.
pub struct SegmentWriter {
    /// `<repo>/<root>/devices/<device>`.
    dir: PathBuf,
    device: String,
    max_bytes: u64,
    max_age: Duration,
    sync_data: bool,
    current: Option<Open>,
    /// Lines not written yet (kept after an error, retried next time).
    unwritten: Vec<(String, String)>,
    /// Segments sealed by this writer.
    pub sealed: u64,
}

impl SegmentWriter {
    pub fn new(
        device_dir: impl Into<PathBuf>,
        device: &str,
        max_bytes: u64,
        max_age: Duration,
        sync_data: bool,
    ) -> Self {
        SegmentWriter {
            dir: device_dir.into(),
            device: device.to_string(),
            max_bytes: max_bytes.max(1),
            max_age,
            sync_data,
            current: None,
            unwritten: Vec::new(),
            sealed: 0,
        }
    }

    pub fn device(&self) -> &str {
        &self.device
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Queues the tracker logs (as events) and writes every queued line.
    pub fn append_logs<'a>(&mut self, logs: impl IntoIterator<Item = &'a UsageLog>) -> Result<()> {
        for l in logs {
            let e = event_of_log(l, &self.device);
            let mut line = e.to_line();
            line.push('\n');
            self.unwritten.push((month_of_ns(e.occurred_at_ns), line));
        }
        self.write_pending()
    }

    /// Queues events as they are (their `device` field is set) and writes.
    pub fn append_events(&mut self, events: &[Event]) -> Result<()> {
        for e in events {
            let mut e = e.clone();
            e.extra.insert("device".into(), self.device.clone().into());
            let mut line = e.to_line();
            line.push('\n');
            self.unwritten.push((month_of_ns(e.occurred_at_ns), line));
        }
        self.write_pending()
    }

    pub fn has_unwritten(&self) -> bool {
        !self.unwritten.is_empty()
    }

    fn write_pending(&mut self) -> Result<()> {
        if self.unwritten.is_empty() {
            return Ok(());
        }
        let lines = std::mem::take(&mut self.unwritten);
        let mut i = 0;
        let mut res = Ok(());
        while i < lines.len() {
            // One write per run of lines of the same month that fits.
            let month = lines[i].0.clone();
            let mut buf = String::new();
            let mut j = i;
            while j < lines.len() && lines[j].0 == month {
                if !buf.is_empty() && (buf.len() + lines[j].1.len()) as u64 > self.max_bytes {
                    break;
                }
                buf.push_str(&lines[j].1);
                j += 1;
            }
            if let Err(e) = self.write_run(&month, buf.as_bytes()) {
                res = Err(e);
                break;
            }
            i = j;
        }
        if res.is_err() {
            self.unwritten = lines[i..].to_vec();
        }
        res
    }

    fn write_run(&mut self, month: &str, bytes: &[u8]) -> Result<()> {
        let seal = match &self.current {
            None => true,
            Some(c) => {
                c.month != month
                    || (c.bytes > 0 && c.bytes + bytes.len() as u64 > self.max_bytes)
                    || c.opened.elapsed() >= self.max_age
            }
        };
        if seal {
            if self.current.take().is_some() {
                self.sealed += 1;
            }
            let dir = self.dir.join(month);
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
            let path = dir.join(format!("{}.jsonl", uuid::Uuid::now_v7()));
            let file = OpenOptions::new()
                .create_new(true)
                .append(true)
                .open(&path)
                .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
            self.current = Some(Open {
                month: month.to_string(),
                path,
                file,
                bytes: 0,
                opened: Instant::now(),
            });
        }
        let c = self.current.as_mut().expect("opened above");
        c.file
            .write_all(bytes)
            .map_err(|e| Error::io(format!("appending to {}", c.path.display()), e))?;
        if self.sync_data {
            c.file
                .sync_data()
                .map_err(|e| Error::io(format!("fsync of {}", c.path.display()), e))?;
        }
        c.bytes += bytes.len() as u64;
        Ok(())
    }

    /// The segment being written, if any.
    pub fn current_path(&self) -> Option<&Path> {
        self.current.as_ref().map(|c| c.path.as_path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Usage, UsageStatus};

    fn log(seq: u64, ts: i64) -> UsageLog {
        UsageLog {
            seq,
            bridge_id: "openai/gpt-4o".into(),
            timestamp_ms: ts,
            usage: Usage {
                prompt_tokens: 10,
                completion_tokens: 5,
                total_tokens: 15,
                ..Usage::default()
            },
            duration_ms: Some(12.0),
            status: UsageStatus::Success,
        }
    }

    #[test]
    fn g2_segments_are_sealed_by_size_and_month() {
        let d = tempfile::tempdir().unwrap();
        let mut w = SegmentWriter::new(d.path(), "dev1", 600, Duration::from_secs(3600), false);
        let jan = 1_767_225_600_000; // 2026-01-01
        let logs: Vec<UsageLog> = (0..6).map(|i| log(i, jan + i as i64)).collect();
        w.append_logs(&logs).unwrap();
        let feb = jan + 31 * 86_400_000;
        w.append_logs(&[log(7, feb)]).unwrap();
        let jan_files = std::fs::read_dir(d.path().join("2026-01")).unwrap().count();
        assert!(jan_files >= 2, "{jan_files}");
        assert_eq!(
            std::fs::read_dir(d.path().join("2026-02")).unwrap().count(),
            1
        );
        // The same log gives the same event id.
        assert_eq!(
            event_of_log(&logs[0], "dev1").id,
            event_of_log(&logs[0], "dev1").id
        );
        assert_ne!(
            event_of_log(&logs[0], "dev1").id,
            event_of_log(&logs[0], "dev2").id
        );
    }
}
