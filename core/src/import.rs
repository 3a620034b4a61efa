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
//!
//! An import in which every non-blank line (or CLIProxyAPI detail) is
//! malformed is an error (E7) and writes nothing: it is most likely the
//! wrong file or the wrong `--from`, not "no usage".

use crate::claude_code;
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
    /// Claude Code session logs, a directory of them (E6).
    ClaudeCode,
}

/// Every format name and what it reads; shown when a name is wrong.
pub const FORMATS: [(&str, &str); 4] = [
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
    (
        "claude-code",
        "Claude Code session logs: a directory of *.jsonl (~/.claude/projects)",
    ),
];

impl ImportFormat {
    pub fn parse(s: &str) -> Result<ImportFormat> {
        match s {
            "events" => Ok(ImportFormat::Events),
            "tracker-log" => Ok(ImportFormat::TrackerLog),
            "cliproxy" => Ok(ImportFormat::CliProxy),
            "claude-code" => Ok(ImportFormat::ClaudeCode),
            other => Err(Error::invalid(format!(
                "unknown import format {other:?}; the formats are:\n{}",
                list(&FORMATS)
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ImportFormat::Events => "events",
            ImportFormat::TrackerLog => "tracker-log",
            ImportFormat::CliProxy => "cliproxy",
            ImportFormat::ClaudeCode => "claude-code",
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
    /// Claude Code: lines without usage (user, summary, ...).
    pub no_usage: u64,
    /// Claude Code: `<synthetic>` messages left out.
    pub synthetic: u64,
    /// Items that came more than once in the source (Claude Code's copies
    /// of one API message).
    pub duplicates: u64,
    /// Claude Code: files read.
    pub files: u64,
    /// Why the first malformed item was (`line 3: not JSON: ...`), when
    /// known.
    pub first_error: Option<String>,
}

impl Parsed {
    /// E7: items were met and every one of them was malformed.
    fn all_malformed(&self) -> bool {
        self.malformed > 0
            && self.events.is_empty()
            && self.ignored == 0
            && self.no_usage == 0
            && self.synthetic == 0
            && self.duplicates == 0
    }
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
    pub no_usage: u64,
    pub synthetic: u64,
    /// Files read (a directory import); 0 for a one-file format.
    pub files: u64,
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
        if self.synthetic > 0 {
            s.push_str(&format!(
                "; left out {} synthetic message{} (model <synthetic>)",
                self.synthetic,
                plural(self.synthetic)
            ));
        }
        if self.no_usage > 0 {
            s.push_str(&format!(
                "; {} line{} without usage (user, summary, ...)",
                self.no_usage,
                plural(self.no_usage)
            ));
        }
        if self.files > 0 {
            s.push_str(&format!("; read {} file{}", self.files, plural(self.files)));
        }
        s
    }
}

/// Reads `file` (for `claude-code` a directory, or one of its files) in
/// `format`. Unreadable lines are counted, not fatal, unless every line
/// is unreadable (E7); an unreadable file (or a CLIProxyAPI export of an
/// unsupported version) is an error.
pub fn parse_file(format: ImportFormat, file: &Path) -> Result<Parsed> {
    let parsed = parse_source(format, file)?;
    if parsed.all_malformed() {
        let n = parsed.malformed;
        let what = if format == ImportFormat::CliProxy {
            format!("all {n} of its request details are malformed")
        } else if n == 1 {
            "its only non-blank line is malformed".to_string()
        } else {
            format!("all {n} of its non-blank lines are malformed")
        };
        return Err(Error::invalid(format!(
            "{}: nothing imported: {what} for --from {}{}; is it the right file and format?",
            file.display(),
            format.as_str(),
            parsed
                .first_error
                .as_deref()
                .map_or(String::new(), |e| format!(" (first: {e})"))
        )));
    }
    Ok(parsed)
}

fn parse_source(format: ImportFormat, file: &Path) -> Result<Parsed> {
    let missing = |e: std::io::Error| Error::io(format!("reading {}", file.display()), e);
    match format {
        ImportFormat::CliProxy => {
            let text = std::fs::read_to_string(file).map_err(missing)?;
            let p = cliproxy::parse(&text)
                .map_err(|e| Error::invalid(format!("{}: {}", file.display(), strip(e))))?;
            Ok(Parsed {
                events: p.events,
                malformed: p.malformed,
                ignored: p.blank_api,
                ..Parsed::default()
            })
        }
        ImportFormat::ClaudeCode => {
            let p = claude_code::parse_path(file)?;
            Ok(Parsed {
                events: p.events,
                blank: p.blank,
                malformed: p.malformed,
                no_usage: p.no_usage,
                synthetic: p.synthetic,
                duplicates: p.duplicates,
                files: p.files,
                first_error: p.first_error,
                ..Parsed::default()
            })
        }
        ImportFormat::Events | ImportFormat::TrackerLog => {
            if !file.exists() {
                return Err(missing(std::io::ErrorKind::NotFound.into()));
            }
            let mut events = Vec::new();
            let mut first_error = None;
            let mut n = 0u64;
            let counts = eventlog::scan_lines(file, |line| {
                n += 1;
                let parsed = match format {
                    ImportFormat::Events => Event::from_line(line).map_err(strip),
                    _ => tracker_line(line)
                        .ok_or_else(|| "not an LlmBridgeUsageLog line".to_string()),
                };
                match parsed {
                    Ok(e) => {
                        events.push(e);
                        LineOutcome::Good
                    }
                    Err(why) => {
                        if first_error.is_none() {
                            first_error = Some(format!("non-blank line {n}: {why}"));
                        }
                        LineOutcome::Malformed
                    }
                }
            })?
            .unwrap_or_default();
            Ok(Parsed {
                events,
                blank: counts.blank,
                malformed: counts.malformed + u64::from(counts.incomplete_tail_bytes > 0),
                first_error,
                ..Parsed::default()
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
    // History: parts are kept as the line has them, even above their totals.
    let log = NewUsageLogOwned::read_json_map(o).ok()?;
    let ts_ms = timefmt::parse_iso_ms(o.get("timestamp")?.as_str()?)?;
    let log_id = match o.get("id") {
        Some(Value::String(s)) => s.clone(),
        None => String::new(),
        Some(_) => return None,
    };
    let u = log.usage;
    let mut key = format!(
        "tracker-log|{log_id}|{}|{ts_ms}|{}|{}|{}|{}|{:?}",
        log.bridge_id,
        u.prompt_tokens,
        u.completion_tokens,
        u.total_tokens,
        log.status.as_str(),
        log.duration_ms
    );
    if u.has_parts() {
        // Only lines with parts have them in the key: a line without keeps
        // the id it was always imported with.
        key.push_str(&format!(
            "|{}|{}|{}",
            u.cache_read_tokens, u.cache_write_tokens, u.reasoning_tokens
        ));
    }
    let mut e = Event::request(
        log.bridge_id,
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
    let claude = format == ImportFormat::ClaudeCode;
    let (mut have, mut keys) = existing(into, claude)?;
    let mut summary = ImportSummary {
        skipped: parsed.duplicates,
        malformed: parsed.malformed,
        blank: parsed.blank,
        ignored: parsed.ignored,
        no_usage: parsed.no_usage,
        synthetic: parsed.synthetic,
        files: parsed.files,
        ..ImportSummary::default()
    };
    for e in &parsed.events {
        // A Claude Code message already in the log under another copy's
        // time (so another id) is the same message: ccusage's key decides.
        let key = claude.then(|| claude_code::event_key(e)).flatten();
        let new_key = key.is_none_or(|k| keys.insert(k));
        if new_key && have.insert(e.id.as_u128()) {
            log.append(e)?;
            summary.added += 1;
        } else {
            summary.skipped += 1;
        }
    }
    drop(lock);
    Ok(summary)
}

/// Ids already in the log, and with `claude` the Claude Code dedup keys
/// of its events (bad lines are ignored here; a report counts them).
fn existing(path: &Path, claude: bool) -> Result<(HashSet<u128>, HashSet<String>)> {
    #[derive(serde::Deserialize)]
    struct Line<'a> {
        #[serde(borrow)]
        id: std::borrow::Cow<'a, str>,
        #[serde(default)]
        claude_code: Option<serde_json::Value>,
    }
    let mut ids = HashSet::new();
    let mut keys = HashSet::new();
    eventlog::scan_lines(path, |line| {
        let Ok(l) = serde_json::from_slice::<Line<'_>>(line) else {
            return LineOutcome::Malformed;
        };
        let Ok(u) = uuid::Uuid::try_parse(&l.id) else {
            return LineOutcome::Malformed;
        };
        ids.insert(u.as_u128());
        if let (true, Some(cc)) = (claude, l.claude_code) {
            let field = |k: &str| cc.get(k).and_then(Value::as_str);
            if let Some(k) = claude_code::dedup_key(field("message_id"), field("request_id")) {
                keys.insert(k);
            }
        }
        LineOutcome::Good
    })?;
    Ok((ids, keys))
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
    fn e7_an_import_where_every_line_is_malformed_fails_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log.jsonl");
        let bad = dir.path().join("bad.jsonl");
        std::fs::write(&bad, "not json\n\n{\"half\": 1\n").unwrap();
        for format in [
            ImportFormat::Events,
            ImportFormat::TrackerLog,
            ImportFormat::ClaudeCode,
        ] {
            let e = import(format, &bad, &log).unwrap_err().to_string();
            assert!(
                e.contains("nothing imported")
                    && e.contains("all 2 of its non-blank lines are malformed")
                    && e.contains(&format!("--from {}", format.as_str())),
                "{e}"
            );
            assert!(
                e.contains("not JSON") || e.contains("LlmBridgeUsageLog"),
                "{e}"
            );
            assert!(!log.exists(), "nothing written");
        }
        let cp = dir.path().join("cp.json");
        std::fs::write(
            &cp,
            r#"{"version":1,"usage":{"apis":{"a":{"models":{"m":{"details":[1,{"x":2}]}}}}}}"#,
        )
        .unwrap();
        let e = import(ImportFormat::CliProxy, &cp, &log)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("all 2 of its request details are malformed"),
            "{e}"
        );
        // Some good lines, or only blank ones: not an error.
        std::fs::write(&bad, "\n\n").unwrap();
        assert_eq!(import(ImportFormat::Events, &bad, &log).unwrap().added, 0);
        // Claude Code: lines without usage are not malformed.
        let cc = dir.path().join("projects/p");
        std::fs::create_dir_all(&cc).unwrap();
        std::fs::write(
            cc.join("s.jsonl"),
            "oops\n{\"type\":\"summary\",\"summary\":\"x\"}\n",
        )
        .unwrap();
        let s = import(ImportFormat::ClaudeCode, dir.path(), &log).unwrap();
        assert_eq!((s.added, s.malformed, s.no_usage, s.files), (0, 1, 1, 1));
    }

    #[test]
    fn e5_e6_claude_code_imports_are_idempotent_also_across_copies() {
        let dir = tempfile::tempdir().unwrap();
        let projects = dir.path().join("projects");
        let line = |ts: &str, out: u64| {
            format!(
                r#"{{"type":"assistant","timestamp":"{ts}","requestId":"req_1","sessionId":"s","message":{{"id":"msg_1","model":"claude-haiku-4-5-20251001","usage":{{"input_tokens":1,"output_tokens":{out},"cache_read_input_tokens":5}}}}}}"#
            )
        };
        std::fs::create_dir_all(projects.join("p")).unwrap();
        std::fs::write(
            projects.join("p/a.jsonl"),
            format!(
                "{}\n{}\n",
                line("2025-10-31T09:00:00.000Z", 7),
                line("2025-10-31T09:00:01.000Z", 7)
            ),
        )
        .unwrap();
        let log = dir.path().join("log.jsonl");
        let s = import(ImportFormat::ClaudeCode, &projects, &log).unwrap();
        assert_eq!((s.added, s.skipped, s.files), (1, 1, 1));
        assert!(s.describe().contains("read 1 file"), "{}", s.describe());
        let s = import(ImportFormat::ClaudeCode, &projects, &log).unwrap();
        assert_eq!((s.added, s.skipped), (0, 2));
        // A later file holding an earlier copy of the same message (a
        // resumed session): the message is still in the log once.
        std::fs::write(
            projects.join("p/b.jsonl"),
            line("2025-10-31T08:59:00.000Z", 7) + "\n",
        )
        .unwrap();
        let s = import(ImportFormat::ClaudeCode, &projects, &log).unwrap();
        assert_eq!((s.added, s.skipped, s.files), (0, 3, 2));
        let r = crate::eventlog::read_events(&log).unwrap();
        assert_eq!(r.events.len(), 1);
        assert_eq!(r.events[0].tokens.unwrap().input, 6);
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
