//! `usage-logs.jsonl` (T7): one log a line in the JS host's JSON form.
//! Appends are one `write` of whole lines; a torn or garbage tail is saved
//! aside and truncated (T10); malformed lines elsewhere are skipped and
//! counted, never fatal.

use crate::error::{Error, Result};
use crate::model::UsageLog;
use crate::timefmt;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Default)]
pub struct LoadedLogs {
    /// Valid lines in file order.
    pub logs: Vec<UsageLog>,
    /// Malformed lines skipped (not counting a truncated tail).
    pub malformed: usize,
    /// Where a torn or garbage tail was saved before truncating, if any.
    pub tail_saved_to: Option<PathBuf>,
    pub line_count: u64,
    pub byte_len: u64,
    /// Bytes of a torn or garbage tail left out (saved aside by [`load`],
    /// only skipped by [`read_only`]).
    pub skipped_tail_bytes: u64,
}

/// Reads every valid log. A missing file is an empty log. A torn tail is
/// saved aside and truncated, so only the owner of the directory may call
/// this; readers without the lock use [`read_only`].
pub fn load(path: &Path, now_ms: i64) -> Result<LoadedLogs> {
    scan(path, Some(now_ms))
}

/// Reads every valid log exactly as [`load`] does, but never writes: a torn
/// tail (or a line a live writer is still appending) is skipped and left in
/// place. For reports taken while a tracker owns the directory.
pub fn read_only(path: &Path) -> Result<LoadedLogs> {
    scan(path, None)
}

/// `repair_at`: `Some(now_ms)` saves a torn tail aside and truncates it.
fn scan(path: &Path, repair_at: Option<i64>) -> Result<LoadedLogs> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(LoadedLogs::default()),
        Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
    };
    let mut out = LoadedLogs::default();
    let mut good_end = 0usize; // byte offset just past the last valid line
    let mut pending_bad = 0usize; // malformed lines after the last valid one
    let mut start = 0usize;
    while start < bytes.len() {
        let (line, next, complete) = match memchr_newline(&bytes[start..]) {
            Some(i) => (&bytes[start..start + i], start + i + 1, true),
            None => (&bytes[start..], bytes.len(), false),
        };
        let parsed = if complete { parse_line(line) } else { None };
        match parsed {
            Some(log) => {
                out.logs.push(log);
                out.malformed += pending_bad;
                pending_bad = 0;
                good_end = next;
            }
            None if line.iter().all(u8::is_ascii_whitespace) && complete => {}
            None => pending_bad += 1,
        }
        start = next;
    }
    let torn_tail = good_end < bytes.len() && pending_bad > 0;
    if torn_tail {
        out.skipped_tail_bytes = (bytes.len() - good_end) as u64;
    }
    if let (true, Some(now_ms)) = (torn_tail, repair_at) {
        // Torn or garbage tail: keep a copy, then cut the file back to the
        // last good line so later appends start on a clean line.
        let aside = crate::store::atomic::with_suffix(path, &format!(".tail-{now_ms}"));
        std::fs::write(&aside, &bytes[good_end..])
            .map_err(|e| Error::io(format!("saving torn tail to {}", aside.display()), e))?;
        let f = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        f.set_len(good_end as u64)
            .and_then(|_| f.sync_all())
            .map_err(|e| Error::io(format!("truncating torn tail of {}", path.display()), e))?;
        out.tail_saved_to = Some(aside);
        out.byte_len = good_end as u64;
    } else {
        out.byte_len = bytes.len() as u64;
    }
    out.line_count = (out.logs.len() + out.malformed) as u64;
    Ok(out)
}

fn memchr_newline(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

fn parse_line(line: &[u8]) -> Option<UsageLog> {
    let v: serde_json::Value = serde_json::from_slice(line).ok()?;
    UsageLog::from_json(&v).ok()
}

/// Appends one log as a JSON line (T7) to `out`, written by hand for speed;
/// byte-for-byte what `JSON.stringify` gives.
pub fn encode_line(out: &mut String, log: &UsageLog) {
    use std::fmt::Write as _;
    let _ = write!(
        out,
        "{{\"id\":\"llm_log_{}_{}\",\"timestamp\":\"",
        log.seq, log.timestamp_ms
    );
    timefmt::write_iso_ms(out, log.timestamp_ms);
    out.push_str("\",\"bridgeId\":");
    out.push_str(&serde_json::to_string(&log.bridge_id).unwrap_or_else(|_| "\"\"".into()));
    let _ = write!(
        out,
        ",\"usage\":{{\"promptTokens\":{},\"completionTokens\":{},\"totalTokens\":{}}}",
        log.usage.prompt_tokens, log.usage.completion_tokens, log.usage.total_tokens
    );
    if let Some(d) = log.duration_ms {
        out.push_str(",\"durationMs\":");
        if d.fract() == 0.0 && d.abs() < 9.0e15 {
            let _ = write!(out, "{}", d as i64);
        } else {
            out.push_str(&serde_json::to_string(&d).unwrap_or_else(|_| "null".into()));
        }
    }
    let _ = write!(out, ",\"status\":\"{}\"}}\n", log.status.as_str());
}

/// An append handle: each call is one `write` of whole lines.
#[derive(Debug)]
pub struct Appender {
    path: PathBuf,
    file: Option<File>,
}

impl Appender {
    pub fn new(path: PathBuf) -> Self {
        Appender { path, file: None }
    }

    pub fn append(&mut self, text: &str) -> Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        if self.file.is_none() {
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .map_err(|e| Error::io(format!("opening {}", self.path.display()), e))?;
            self.file = Some(f);
        }
        let res = self.file.as_mut().map(|f| f.write_all(text.as_bytes()));
        if let Some(Err(e)) = res {
            self.file = None; // reopen next time; the caller keeps the lines
            return Err(Error::io(
                format!("appending to {}", self.path.display()),
                e,
            ));
        }
        Ok(())
    }

    pub fn sync(&mut self) -> Result<()> {
        if let Some(f) = &self.file {
            f.sync_data()
                .map_err(|e| Error::io(format!("syncing {}", self.path.display()), e))?;
        }
        Ok(())
    }

    /// Replaces the whole file atomically (rolling, clearLogs).
    pub fn rewrite(&mut self, text: &str) -> Result<()> {
        self.file = None;
        crate::store::atomic::replace_file(&self.path, text.as_bytes(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Usage, UsageStatus};

    fn log(seq: u64) -> UsageLog {
        UsageLog {
            seq,
            bridge_id: "a\"b".into(),
            timestamp_ms: 1_736_000_000_000 + seq as i64,
            usage: Usage {
                prompt_tokens: 1,
                completion_tokens: 2,
                total_tokens: 3,
            },
            duration_ms: if seq % 2 == 0 { Some(12.5) } else { None },
            status: UsageStatus::Error,
        }
    }

    #[test]
    fn t7_encode_line_equals_the_json_form() {
        for seq in 1..4 {
            let l = log(seq);
            let mut s = String::new();
            encode_line(&mut s, &l);
            assert_eq!(
                s,
                format!("{}\n", serde_json::to_string(&l.to_json()).unwrap())
            );
        }
    }

    #[test]
    fn t10_torn_tail_is_saved_aside_and_truncated_and_garbage_is_counted() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("l.jsonl");
        let mut s = String::new();
        encode_line(&mut s, &log(1));
        s.push_str("garbage\n\n");
        encode_line(&mut s, &log(2));
        let good_len = s.len();
        s.push_str("{\"id\":\"llm_log_3_17");
        std::fs::write(&p, &s).unwrap();
        let loaded = load(&p, 5).unwrap();
        assert_eq!(loaded.logs.len(), 2);
        assert_eq!(loaded.malformed, 1);
        let aside = loaded.tail_saved_to.unwrap();
        assert_eq!(
            std::fs::read_to_string(aside).unwrap(),
            "{\"id\":\"llm_log_3_17"
        );
        assert_eq!(std::fs::metadata(&p).unwrap().len(), good_len as u64);
    }

    #[test]
    fn t10_read_only_skips_a_torn_tail_and_leaves_the_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("l.jsonl");
        let mut s = String::new();
        encode_line(&mut s, &log(1));
        s.push_str("garbage\n");
        encode_line(&mut s, &log(2));
        s.push_str("{\"id\":\"llm_log_3_17");
        std::fs::write(&p, &s).unwrap();
        let loaded = read_only(&p).unwrap();
        assert_eq!(loaded.logs, vec![log(1), log(2)]);
        assert_eq!(loaded.malformed, 1);
        assert_eq!(loaded.skipped_tail_bytes, 19);
        assert!(loaded.tail_saved_to.is_none());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), s);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert_eq!(read_only(&dir.path().join("none")).unwrap().logs.len(), 0);
    }
}
