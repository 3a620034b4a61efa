//! `usagebook import`: usage recorded by other tools into an event log.
//!
//! Every import goes into an **event log file** (`--into PATH`, created if
//! missing), never into a tracker directory: a tracker stamps each event
//! with the time it is tracked (T2), so its API cannot take history, and
//! its files belong to the process that holds its lock (T11). `usagebook
//! report --log PATH` reads the imported events back.
//!
//! Imports are idempotent (E5, G6): every event has an id (its own UUID in
//! an event log; otherwise a UUIDv7 derived from the item's time and dedup
//! key), and an event whose id the log already has is skipped. Importers
//! take an exclusive lock on the log for the duration, so two imports of
//! the same file at once cannot both add it; plain appenders need no lock.

use crate::cliproxy;
use crate::error::{Error, Result};
use crate::eventlog::{self, id, Event, EventLog, LineOutcome, Status, Tokens};
use crate::model::NewUsageLogOwned;
use crate::timefmt;
use serde_json::Value;
use std::collections::HashSet;
use std::path::Path;

/// `--from FORMAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    /// usagebook's event log, which reads seed 004's `events.jsonl` as it
    /// is (E4).
    Events,
    /// `LlmBridgeUsageLog` JSON lines (T7), e.g. a tracker's
    /// `usage-logs.jsonl` or a JS host's log.
    TrackerLog,
    /// The CLIProxyAPI usage export (`{version, exported_at, usage}`, G6).
    CliProxy,
}

/// Every format name and what it reads; shown when a name is wrong.
pub const FORMATS: [(&str, &str); 3] = [
    (
        "events",
        "usagebook event log / seed 004 events.jsonl (one event a line)",
    ),
    (
        "tracker-log",
        "LlmBridgeUsageLog JSON lines (a tracker's usage-logs.jsonl)",
    ),
    (
        "cliproxy",
        "CLIProxyAPI usage export {version: 0|1, exported_at, usage}",
    ),
];

impl ImportFormat {
    pub fn parse(s: &str) -> Result<ImportFormat> {
        match s {
            "events" => Ok(ImportFormat::Events),
            "tracker-log" => Ok(ImportFormat::TrackerLog),
            "cliproxy" => Ok(ImportFormat::CliProxy),
            other => Err(Error::invalid(format!(
                "unknown import format {other:?}; the formats are:\n{}",
                list(&FORMATS)
            ))),
        }
    }
}

pub(crate) fn list(formats: &[(&str, &str)]) -> String {
    formats
        .iter()
        .map(|(n, d)| format!("  {n:<12} {d}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A source file turned into events.
#[derive(Debug, Default)]
pub struct Parsed {
    pub events: Vec<Event>,
    pub blank: u64,
    /// Lines (or CLIProxyAPI details) that could not be read.
    pub malformed: u64,
    /// Items left out on purpose (CLIProxyAPI details under a blank API
    /// name).
    pub ignored: u64,
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub added: u64,
    /// Events the log already had (or that came twice in the file).
    pub skipped: u64,
    pub malformed: u64,
    pub blank: u64,
    pub ignored: u64,
}

impl ImportSummary {
    /// `added 3, skipped 2` plus whatever else was met.
    pub fn describe(&self) -> String {
        let mut s = format!("added {}, skipped {}", self.added, self.skipped);
        let plural = |n: u64| if n == 1 { "" } else { "s" };
        if self.malformed > 0 {
            s.push_str(&format!(
                "; skipped {} malformed line{}",
                self.malformed,
                plural(self.malformed)
            ));
        }
        if self.ignored > 0 {
            s.push_str(&format!(
                "; ignored {} detail{} with a blank API name",
                self.ignored,
                plural(self.ignored)
            ));
        }
        s
    }
}

/// Reads `file` in `format`. Unreadable lines are counted, not fatal; an
/// unreadable file (or a CLIProxyAPI export of an unsupported version) is
/// an error.
pub fn parse_file(format: ImportFormat, file: &Path) -> Result<Parsed> {
    let missing = |e: std::io::Error| Error::io(format!("reading {}", file.display()), e);
    match format {
        ImportFormat::CliProxy => {
            let text = std::fs::read_to_string(file).map_err(missing)?;
            let p = cliproxy::parse(&text)
                .map_err(|e| Error::invalid(format!("{}: {}", file.display(), strip(e))))?;
            Ok(Parsed {
                events: p.events,
                blank: 0,
                malformed: p.malformed,
                ignored: p.blank_api,
            })
        }
        ImportFormat::Events | ImportFormat::TrackerLog => {
            if !file.exists() {
                return Err(missing(std::io::ErrorKind::NotFound.into()));
            }
            let mut events = Vec::new();
            let counts = eventlog::scan_lines(file, |line| {
                let parsed = match format {
                    ImportFormat::Events => Event::from_line(line).ok(),
                    _ => tracker_line(line),
                };
                match parsed {
                    Some(e) => {
                        events.push(e);
                        LineOutcome::Good
                    }
                    None => LineOutcome::Malformed,
                }
            })?
            .unwrap_or_default();
            Ok(Parsed {
                events,
                blank: counts.blank,
                malformed: counts.malformed + u64::from(counts.incomplete_tail_bytes > 0),
                ignored: 0,
            })
        }
    }
}

fn strip(e: Error) -> String {
    match e {
        Error::InvalidArgument(m) => m,
        other => other.to_string(),
    }
}

/// One T7 line as a request event. Its id is derived from everything the
/// line says, so the same line always maps to the same event, and the
/// original `llm_log_...` id is kept as `tracker_log_id` for exports.
pub fn tracker_line(line: &[u8]) -> Option<Event> {
    let v: Value = serde_json::from_slice(line).ok()?;
    let o = v.as_object()?;
    let log = NewUsageLogOwned::from_json_map(o).ok()?;
    let ts_ms = timefmt::parse_iso_ms(o.get("timestamp")?.as_str()?)?;
    let log_id = match o.get("id") {
        Some(Value::String(s)) => s.clone(),
        None => String::new(),
        Some(_) => return None,
    };
    let key = format!(
        "tracker-log|{log_id}|{}|{ts_ms}|{}|{}|{}|{}|{:?}",
        log.bridge_id,
        log.usage.prompt_tokens,
        log.usage.completion_tokens,
        log.usage.total_tokens,
        log.status.as_str(),
        log.duration_ms
    );
    let mut e = Event::request(
        log.bridge_id,
        Tokens {
            input: log.usage.prompt_tokens,
            output: log.usage.completion_tokens,
            reasoning: 0,
            cached: 0,
            total: log.usage.total_tokens,
        },
        Status::parse(log.status.as_str()),
    );
    e.id = id::derived_v7(ts_ms, &key);
    e.occurred_at_ns = ts_ms.saturating_mul(1_000_000);
    e.duration_ms = log.duration_ms;
    if !log_id.is_empty() {
        e.extra.insert("tracker_log_id".into(), log_id.into());
    }
    Some(e)
}

/// Imports `file` (in `format`) into the event log at `into`.
pub fn import(format: ImportFormat, file: &Path, into: &Path) -> Result<ImportSummary> {
    if into.is_dir() {
        return Err(Error::invalid(format!(
            "--into {} is a directory: imports go into an event log file (e.g. {}); `usagebook report --log FILE` reads it",
            into.display(),
            into.join("usage-events.jsonl").display()
        )));
    }
    let parsed = parse_file(format, file)?;
    let log = EventLog::open(into)?;
    let lock = std::fs::File::open(into)
        .map_err(|e| Error::io(format!("opening {}", into.display()), e))?;
    lock.lock()
        .map_err(|e| Error::io(format!("locking {} for the import", into.display()), e))?;
    let mut have = existing_ids(into)?;
    let mut summary = ImportSummary {
        malformed: parsed.malformed,
        blank: parsed.blank,
        ignored: parsed.ignored,
        ..ImportSummary::default()
    };
    for e in &parsed.events {
        if have.insert(e.id.as_u128()) {
            log.append(e)?;
            summary.added += 1;
        } else {
            summary.skipped += 1;
        }
    }
    drop(lock);
    Ok(summary)
}

/// Ids already in the log (bad lines are ignored here; a report counts
/// them).
fn existing_ids(path: &Path) -> Result<HashSet<u128>> {
    #[derive(serde::Deserialize)]
    struct Id<'a> {
        #[serde(borrow)]
        id: std::borrow::Cow<'a, str>,
    }
    let mut ids = HashSet::new();
    eventlog::scan_lines(path, |line| {
        match serde_json::from_slice::<Id<'_>>(line)
            .ok()
            .and_then(|i| uuid::Uuid::try_parse(&i.id).ok())
        {
            Some(u) => {
                ids.insert(u.as_u128());
                LineOutcome::Good
            }
            None => LineOutcome::Malformed,
        }
    })?;
    Ok(ids)
}

/// Events of the retained logs of a tracker directory (its
/// `usage-logs.jsonl`, with `persistLogs`), as the `tracker-log` import
/// reads them: for exports from `--dir`. History older than the retained
/// logs exists only as hourly totals and is not in here.
pub fn tracker_dir_events(base_dir: &Path) -> Result<(Vec<Event>, eventlog::LineCounts)> {
    let layout = crate::store::Layout::new(base_dir);
    let mut events = Vec::new();
    let counts = eventlog::scan_lines(&layout.logs(), |line| match tracker_line(line) {
        Some(e) => {
            events.push(e);
            LineOutcome::Good
        }
        None => LineOutcome::Malformed,
    })?
    .unwrap_or_default();
    Ok((events, counts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_format_names_list_every_format() {
        let e = ImportFormat::parse("csv").unwrap_err().to_string();
        for (name, _) in FORMATS {
            assert!(e.contains(name), "{e}");
        }
        assert!(e.contains("\"csv\""), "{e}");
    }

    #[test]
    fn t7_lines_map_to_stable_request_events() {
        let line = br#"{"id":"llm_log_1_1736000000000","timestamp":"2025-01-04T14:13:20.000Z","bridgeId":"openai","usage":{"promptTokens":10,"completionTokens":5,"totalTokens":15},"durationMs":120,"status":"success"}"#;
        let a = tracker_line(line).unwrap();
        let b = tracker_line(line).unwrap();
        assert_eq!(a.id, b.id);
        assert_eq!(a.id.get_version_num(), 7);
        assert_eq!(a.occurred_at_ms(), 1_736_000_000_000);
        assert_eq!(a.bridge.as_deref(), Some("openai"));
        assert_eq!(a.tokens.unwrap().total, 15);
        assert_eq!(a.duration_ms, Some(120.0));
        assert_eq!(a.extra["tracker_log_id"], "llm_log_1_1736000000000");
        assert!(tracker_line(br#"{"id":"x","timestamp":"2025-01-04T14:13:20.000Z","bridgeId":"","usage":{"promptTokens":1,"completionTokens":1,"totalTokens":2}}"#).is_none());
    }

    #[test]
    fn into_a_directory_is_refused_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x.jsonl");
        std::fs::write(&f, "").unwrap();
        let e = import(ImportFormat::Events, &f, dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("is a directory") && e.contains("report --log"),
            "{e}"
        );
        let e = import(ImportFormat::Events, &dir.path().join("none"), &f)
            .unwrap_err()
            .to_string();
        assert!(e.contains("none"), "{e}");
    }
}
