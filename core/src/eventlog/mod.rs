//! The append-only JSONL event log (seed 004; E1–E5): one event a line,
//! UUIDv7 ids, RFC 3339 UTC times. It holds LLM requests (what `usagebook
//! import` brings in from other tools, and what hosts record directly) and
//! the seed's subject events (`use`, `resident_exposure`), read by the
//! grouped reports (`crate::report::grouped`) and the per-subject report
//! ([`subject`]).
//!
//! Writers need no lock: each event is one `write(2)` of its line and the
//! newline to a file opened with `O_APPEND`, so the kernel places every
//! line at the end, whole, even with several processes appending at once
//! (E1; `tests/eventlog_processes.rs` checks it with four). Readers skip
//! blank and malformed lines and count them, never fail on them, and drop
//! a second copy of an id (E3, E5).
//!
//! See docs/FORMATS.md, "Event log".

pub mod event;
pub mod id;
pub mod rfc3339;
pub mod subject;
pub mod synced;

pub use event::{Event, EventKind, RecordSnapshot, Source, Status, Tokens};
pub use synced::EventLogOptions;

use crate::error::{Error, Result};
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// An open event log, for appending; with the `gitSync` option
/// ([`EventLog::open_with`]) also this device's segments of a git
/// repository.
pub struct EventLog {
    path: PathBuf,
    file: File,
    git: Option<synced::GitPart>,
}

impl std::fmt::Debug for EventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLog")
            .field("path", &self.path)
            .field("git_sync", &self.git.is_some())
            .finish()
    }
}

impl EventLog {
    /// Opens (creating it and its parent directories if needed) the log
    /// at `path` for appending.
    pub fn open(path: impl AsRef<Path>) -> Result<EventLog> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::io(format!("opening event log {}", path.display()), e))?;
        Ok(EventLog {
            path,
            file,
            git: None,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one event: its line and the newline in one `write` (E1).
    /// With `gitSync`, the event also goes to this device's segment; if
    /// that fails the error is returned (the log has the event; appending
    /// it again is harmless, readers keep one copy of an id, E5) and the
    /// segment line is retried at the next append or sync.
    pub fn append(&self, event: &Event) -> Result<()> {
        let mut line = event.to_line();
        line.push('\n');
        self.append_raw(line.as_bytes())?;
        match &self.git {
            Some(g) => g.append(event),
            None => Ok(()),
        }
    }

    /// One `write` of whole lines. `write_all` issues a single `write(2)`
    /// whenever the kernel takes the whole buffer, which it does for a
    /// regular file unless the disk is full (and then the reader skips the
    /// torn line).
    fn append_raw(&self, bytes: &[u8]) -> Result<()> {
        (&self.file)
            .write_all(bytes)
            .map_err(|e| Error::io(format!("appending to {}", self.path.display()), e))
    }

    /// fsyncs the data appended so far.
    pub fn sync(&self) -> Result<()> {
        self.file
            .sync_data()
            .map_err(|e| Error::io(format!("syncing {}", self.path.display()), e))
    }
}

/// Appends one event to the log at `path` (opening and closing it).
pub fn append_event(path: impl AsRef<Path>, event: &Event) -> Result<()> {
    EventLog::open(path)?.append(event)
}

/// What a read met besides good lines: all of it skipped, none of it fatal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineCounts {
    /// Non-blank lines seen (good, malformed and duplicate).
    pub lines: u64,
    pub blank: u64,
    pub malformed: u64,
    /// Lines whose id an earlier line already had (E5).
    pub duplicates: u64,
    /// Bytes of a last line without a newline that did not parse: a write
    /// in progress or a torn tail. Not counted as malformed.
    pub incomplete_tail_bytes: u64,
}

impl LineCounts {
    /// Human notes for what was skipped (`skipped 3 malformed lines`).
    pub fn notes(&self) -> Vec<String> {
        let mut v = Vec::new();
        let plural = |n: u64| if n == 1 { "" } else { "s" };
        if self.malformed > 0 {
            v.push(format!(
                "skipped {} malformed line{}",
                self.malformed,
                plural(self.malformed)
            ));
        }
        if self.duplicates > 0 {
            v.push(format!(
                "skipped {} duplicate event{} (same id)",
                self.duplicates,
                plural(self.duplicates)
            ));
        }
        if self.incomplete_tail_bytes > 0 {
            v.push(format!(
                "skipped an incomplete last line ({} bytes): a write in progress or a torn tail",
                self.incomplete_tail_bytes
            ));
        }
        v
    }
}

/// What a line handler says about a non-blank line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineOutcome {
    Good,
    Malformed,
    Duplicate,
}

/// Streams the lines of `path` to `on_line` in file order, in chunks (a
/// log of any size reads in bounded memory). Blank lines are counted and
/// not passed on. A last line without a newline is passed on too (files
/// written by hand often lack it); if it is malformed it counts as an
/// incomplete tail instead. A missing file reads as empty: `Ok(None)`.
pub fn scan_lines(
    path: &Path,
    mut on_line: impl FnMut(&[u8]) -> LineOutcome,
) -> Result<Option<LineCounts>> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(format!("opening {}", path.display()), e)),
    };
    const CHUNK: usize = 4 << 20;
    let mut counts = LineCounts::default();
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK);
    let mut eof = false;
    while !eof {
        let start = buf.len();
        buf.resize(start + CHUNK, 0);
        let n = loop {
            match file.read(&mut buf[start..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
            }
        };
        buf.truncate(start + n);
        eof = n == 0;
        let mut pos = 0;
        while let Some(i) = memchr::memchr(b'\n', &buf[pos..]) {
            let line = &buf[pos..pos + i];
            pos += i + 1;
            count(&mut counts, line, &mut on_line, false);
        }
        if eof && pos < buf.len() {
            let line = &buf[pos..];
            pos = buf.len();
            count(&mut counts, line, &mut on_line, true);
        }
        buf.drain(..pos);
    }
    Ok(Some(counts))
}

/// [`scan_lines`] over bytes already read (a segment read once, so that
/// what is counted is exactly those bytes).
pub fn scan_bytes(buf: &[u8], mut on_line: impl FnMut(&[u8]) -> LineOutcome) -> LineCounts {
    let mut counts = LineCounts::default();
    let mut pos = 0;
    while let Some(i) = memchr::memchr(b'\n', &buf[pos..]) {
        count(&mut counts, &buf[pos..pos + i], &mut on_line, false);
        pos += i + 1;
    }
    if pos < buf.len() {
        count(&mut counts, &buf[pos..], &mut on_line, true);
    }
    counts
}

fn count(
    counts: &mut LineCounts,
    line: &[u8],
    on_line: &mut impl FnMut(&[u8]) -> LineOutcome,
    last_unterminated: bool,
) {
    if line.iter().all(u8::is_ascii_whitespace) {
        if !last_unterminated {
            counts.blank += 1;
        }
        return;
    }
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    counts.lines += 1;
    match on_line(line) {
        LineOutcome::Good => {}
        LineOutcome::Duplicate => counts.duplicates += 1,
        LineOutcome::Malformed if last_unterminated => {
            counts.lines -= 1;
            counts.incomplete_tail_bytes = line.len() as u64;
        }
        LineOutcome::Malformed => counts.malformed += 1,
    }
}

/// Every event of a log, in file order, each id once (E5).
#[derive(Debug, Clone, Default)]
pub struct ReadEvents {
    /// False when the file does not exist (the log is then empty).
    pub exists: bool,
    pub events: Vec<Event>,
    pub counts: LineCounts,
}

/// Reads the whole log. A missing file is an empty log.
pub fn read_events(path: impl AsRef<Path>) -> Result<ReadEvents> {
    let mut events = Vec::new();
    let mut seen = HashSet::new();
    let counts = scan_lines(path.as_ref(), |line| match Event::from_line(line) {
        Ok(e) if seen.insert(e.id) => {
            events.push(e);
            LineOutcome::Good
        }
        Ok(_) => LineOutcome::Duplicate,
        Err(_) => LineOutcome::Malformed,
    })?;
    Ok(ReadEvents {
        exists: counts.is_some(),
        events,
        counts: counts.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(n: u64) -> Event {
        Event::request(
            format!("b{n}"),
            Tokens {
                input: n,
                output: 1,
                total: n + 1,
                ..Tokens::default()
            },
            Status::Success,
        )
    }

    #[test]
    fn e1_appends_whole_lines_and_reads_them_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/events.jsonl");
        let log = EventLog::open(&p).unwrap();
        let evs: Vec<Event> = (0..5).map(ev).collect();
        for e in &evs {
            log.append(e).unwrap();
        }
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text.lines().count(), 5);
        assert!(text.ends_with('\n'));
        let r = read_events(&p).unwrap();
        assert!(r.exists);
        assert_eq!(r.events, evs);
        assert_eq!(r.counts.lines, 5);
        assert!(r.counts.notes().is_empty());
    }

    #[test]
    fn e3_blank_and_malformed_lines_are_skipped_and_counted_e5_duplicates_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("events.jsonl");
        let (a, b) = (ev(1), ev(2));
        let text = format!(
            "{}\n\n   \nnot json\n{}\n{{\"id\":1}}\r\n{}\n{{\"half\":",
            a.to_line(),
            b.to_line(),
            a.to_line()
        );
        std::fs::write(&p, text).unwrap();
        let r = read_events(&p).unwrap();
        assert_eq!(r.events, vec![a, b]);
        assert_eq!(r.counts.blank, 2);
        assert_eq!(r.counts.malformed, 2);
        assert_eq!(r.counts.duplicates, 1);
        assert_eq!(r.counts.incomplete_tail_bytes, 8);
        assert_eq!(r.counts.lines, 5);
        assert_eq!(
            r.counts.notes(),
            vec![
                "skipped 2 malformed lines",
                "skipped 1 duplicate event (same id)",
                "skipped an incomplete last line (8 bytes): a write in progress or a torn tail"
            ]
        );
    }

    #[test]
    fn a_last_line_without_newline_is_read_and_a_missing_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("events.jsonl");
        let a = ev(1);
        std::fs::write(&p, a.to_line()).unwrap();
        assert_eq!(read_events(&p).unwrap().events, vec![a]);
        let r = read_events(dir.path().join("none.jsonl")).unwrap();
        assert!(!r.exists);
        assert!(r.events.is_empty());
    }

    #[test]
    fn long_logs_read_across_chunk_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("events.jsonl");
        let log = EventLog::open(&p).unwrap();
        let mut e = ev(7);
        e.extra.insert("pad".into(), "x".repeat(3000).into());
        for _ in 0..3000 {
            e.id = id::new_v7();
            log.append(&e).unwrap();
        }
        let r = read_events(&p).unwrap();
        assert_eq!(r.events.len(), 3000);
        assert_eq!(
            r.counts,
            LineCounts {
                lines: 3000,
                ..LineCounts::default()
            }
        );
    }
}
