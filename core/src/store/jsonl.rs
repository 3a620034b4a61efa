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
    let region = parse_region(&bytes);
    finish(path, &bytes, 0, region, repair_at)
}

/// Reads only the end of the log: every line from the last `keep` logs
/// below `watermark` on (the logs a restart retains, and every log the
/// snapshot does not count yet). Opening costs O(`maxLogs`), not the
/// size of the file (issue 11 #10). The log is written in sequence order,
/// so once `keep` lines below the watermark (and at least one) are in
/// hand, everything before them is older still. A torn tail is handled
/// as [`load`] does; `line_count` is exact when the whole file was read,
/// an estimate from the mean line length otherwise.
pub fn load_tail(path: &Path, watermark: u64, keep: usize, now_ms: i64) -> Result<LoadedLogs> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(LoadedLogs::default()),
        Err(e) => return Err(Error::io(format!("opening {}", path.display()), e)),
    };
    let ctx = |e| Error::io(format!("reading {}", path.display()), e);
    let len = f.metadata().map_err(ctx)?.len();
    // About what `keep` lines take, so one read usually suffices.
    let mut chunk: u64 = (256u64 << 10).max((keep as u64 + 1).saturating_mul(256));
    loop {
        let start = len.saturating_sub(chunk);
        let mut bytes = Vec::with_capacity((len - start) as usize);
        f.seek(SeekFrom::Start(start)).map_err(ctx)?;
        (&mut f)
            .take(len - start)
            .read_to_end(&mut bytes)
            .map_err(ctx)?;
        // Past a cut, the first (partial) line belongs to the part not read.
        let skip = if start == 0 {
            0
        } else {
            match memchr_newline(&bytes) {
                Some(i) => i + 1,
                None => bytes.len(),
            }
        };
        let region = parse_region(&bytes[skip..]);
        let below = region.logs.iter().filter(|l| l.seq < watermark).count();
        if start == 0 || below >= keep.max(1) {
            let base = start + skip as u64;
            let parsed = (region.logs.len() + region.malformed) as u64;
            let mut out = finish(path, &bytes[skip..], base, region, Some(now_ms))?;
            if base > 0 && parsed > 0 {
                let mean = (len - base) / parsed;
                out.line_count = parsed + base / mean.max(1);
            }
            return Ok(out);
        }
        chunk = chunk.saturating_mul(4);
    }
}

/// What one pass over whole lines found.
struct Region {
    logs: Vec<UsageLog>,
    malformed: usize,
    /// Offset just past the last valid line.
    good_end: usize,
    /// Malformed lines after the last valid one (a torn or garbage tail).
    pending_bad: usize,
}

fn parse_region(bytes: &[u8]) -> Region {
    let mut r = Region {
        logs: Vec::with_capacity(bytes.len() / 160),
        malformed: 0,
        good_end: 0,
        pending_bad: 0,
    };
    let mut start = 0usize;
    while start < bytes.len() {
        let (line, next, complete) = match memchr_newline(&bytes[start..]) {
            Some(i) => (&bytes[start..start + i], start + i + 1, true),
            None => (&bytes[start..], bytes.len(), false),
        };
        let parsed = if complete { parse_line(line) } else { None };
        match parsed {
            Some(log) => {
                r.logs.push(log);
                r.malformed += r.pending_bad;
                r.pending_bad = 0;
                r.good_end = next;
            }
            None if line.iter().all(u8::is_ascii_whitespace) && complete => {}
            None => r.pending_bad += 1,
        }
        start = next;
    }
    r
}

/// `bytes` is the file from offset `base` to its end.
fn finish(
    path: &Path,
    bytes: &[u8],
    base: u64,
    r: Region,
    repair_at: Option<i64>,
) -> Result<LoadedLogs> {
    let mut out = LoadedLogs {
        line_count: (r.logs.len() + r.malformed) as u64,
        logs: r.logs,
        malformed: r.malformed,
        ..LoadedLogs::default()
    };
    let good_end = r.good_end;
    let torn_tail = good_end < bytes.len() && r.pending_bad > 0;
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
        f.set_len(base + good_end as u64)
            .and_then(|_| f.sync_all())
            .map_err(|e| Error::io(format!("truncating torn tail of {}", path.display()), e))?;
        out.tail_saved_to = Some(aside);
        out.byte_len = base + good_end as u64;
    } else {
        out.byte_len = base + bytes.len() as u64;
    }
    Ok(out)
}

fn memchr_newline(b: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', b)
}

/// The T7 line as serde reads it, borrowing from the buffer: replaying a
/// million lines must not build a JSON tree per line.
#[derive(serde::Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    id: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    timestamp: std::borrow::Cow<'a, str>,
    #[serde(rename = "bridgeId")]
    bridge_id: String,
    usage: LineUsage,
    #[serde(rename = "durationMs", default)]
    duration_ms: Option<f64>,
    #[serde(borrow, default)]
    status: Option<std::borrow::Cow<'a, str>>,
}

#[derive(serde::Deserialize)]
struct LineUsage {
    #[serde(rename = "promptTokens")]
    prompt: u64,
    #[serde(rename = "completionTokens")]
    completion: u64,
    #[serde(rename = "totalTokens")]
    total: u64,
    /// The parts: absent (every line written before them, and every line
    /// whose part is 0) or `null` is 0.
    #[serde(rename = "cacheReadTokens", default)]
    cache_read: Option<u64>,
    #[serde(rename = "cacheWriteTokens", default)]
    cache_write: Option<u64>,
    #[serde(rename = "reasoningTokens", default)]
    reasoning: Option<u64>,
}

fn parse_line(line: &[u8]) -> Option<UsageLog> {
    parse_canonical(line).or_else(|| parse_general(line))
}

/// Reads a line byte by byte in exactly the shape [`encode_line`] writes
/// (and `JSON.stringify` gives): about ten times faster than serde, which
/// is what keeps a 1M-line replay under a second. Any other shape (other
/// key order, escapes, whitespace) returns `None` and goes to serde.
fn parse_canonical(line: &[u8]) -> Option<UsageLog> {
    struct Cur<'a>(&'a [u8]);
    impl<'a> Cur<'a> {
        fn lit(&mut self, s: &[u8]) -> Option<()> {
            self.0 = self.0.strip_prefix(s)?;
            Some(())
        }
        fn uint(&mut self) -> Option<u64> {
            let n = self.0.iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 || n > 19 || (n > 1 && self.0[0] == b'0') {
                return None;
            }
            let v = std::str::from_utf8(&self.0[..n]).ok()?.parse().ok()?;
            self.0 = &self.0[n..];
            Some(v)
        }
        fn until_quote(&mut self) -> Option<&'a [u8]> {
            let i = memchr::memchr(b'"', self.0)?;
            let (s, rest) = self.0.split_at(i);
            if s.contains(&b'\\') {
                return None;
            }
            self.0 = &rest[1..];
            Some(s)
        }
    }
    let mut c = Cur(line);
    c.lit(b"{\"id\":\"llm_log_")?;
    let seq = c.uint().filter(|&s| s <= crate::limits::MAX_SEQ)?;
    c.lit(b"_")?;
    let _id_ms = c.uint()?;
    c.lit(b"\",\"timestamp\":\"")?;
    let ts = timefmt::parse_iso_ms(std::str::from_utf8(c.until_quote()?).ok()?)?;
    c.lit(b",\"bridgeId\":\"")?;
    let bridge = std::str::from_utf8(c.until_quote()?).ok()?;
    c.lit(b",\"usage\":{\"promptTokens\":")?;
    let prompt = c.uint()?;
    c.lit(b",\"completionTokens\":")?;
    let completion = c.uint()?;
    c.lit(b",\"totalTokens\":")?;
    let total = c.uint()?;
    // The parts, each only when not zero, in the order encode_line writes.
    let mut parts = [0u64; 3];
    for (i, key) in [
        &b",\"cacheReadTokens\":"[..],
        b",\"cacheWriteTokens\":",
        b",\"reasoningTokens\":",
    ]
    .into_iter()
    .enumerate()
    {
        if c.lit(key).is_some() {
            parts[i] = c.uint()?;
        }
    }
    c.lit(b"}")?;
    let mut duration_ms = None;
    if c.lit(b",\"durationMs\":").is_some() {
        let n =
            c.0.iter()
                .take_while(|b| b.is_ascii_digit() || **b == b'.')
                .count();
        let d: f64 = std::str::from_utf8(&c.0[..n]).ok()?.parse().ok()?;
        c.0 = &c.0[n..];
        duration_ms = Some(d);
    }
    c.lit(b",\"status\":\"")?;
    let status = match c.until_quote()? {
        b"success" => crate::model::UsageStatus::Success,
        b"error" => crate::model::UsageStatus::Error,
        _ => return None,
    };
    c.lit(b"}")?;
    if !c.0.iter().all(u8::is_ascii_whitespace) || bridge.is_empty() {
        return None;
    }
    Some(UsageLog {
        seq,
        bridge_id: bridge.to_string(),
        timestamp_ms: ts,
        usage: crate::model::Usage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: total,
            cache_read_tokens: parts[0],
            cache_write_tokens: parts[1],
            reasoning_tokens: parts[2],
        },
        duration_ms,
        status,
    })
}

fn parse_general(line: &[u8]) -> Option<UsageLog> {
    let l: Line<'_> = serde_json::from_slice(line).ok()?;
    let (seq, _) = crate::model::parse_log_id(&l.id)?;
    let status = match l.status.as_deref() {
        None | Some("success") => crate::model::UsageStatus::Success,
        Some("error") => crate::model::UsageStatus::Error,
        Some(_) => return None,
    };
    if l.bridge_id.is_empty() || l.duration_ms.is_some_and(|d| !d.is_finite() || d < 0.0) {
        return None;
    }
    Some(UsageLog {
        seq,
        bridge_id: l.bridge_id,
        timestamp_ms: timefmt::parse_iso_ms(&l.timestamp)?,
        usage: crate::model::Usage {
            prompt_tokens: l.usage.prompt,
            completion_tokens: l.usage.completion,
            total_tokens: l.usage.total,
            cache_read_tokens: l.usage.cache_read.unwrap_or(0),
            cache_write_tokens: l.usage.cache_write.unwrap_or(0),
            reasoning_tokens: l.usage.reasoning.unwrap_or(0),
        },
        duration_ms: l.duration_ms,
        status,
    })
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
    let u = &log.usage;
    let _ = write!(
        out,
        ",\"usage\":{{\"promptTokens\":{},\"completionTokens\":{},\"totalTokens\":{}",
        u.prompt_tokens, u.completion_tokens, u.total_tokens
    );
    if u.has_parts() {
        for (key, v) in [
            ("cacheReadTokens", u.cache_read_tokens),
            ("cacheWriteTokens", u.cache_write_tokens),
            ("reasoningTokens", u.reasoning_tokens),
        ] {
            if v != 0 {
                let _ = write!(out, ",\"{key}\":{v}");
            }
        }
    }
    out.push('}');
    if let Some(d) = log.duration_ms {
        out.push_str(",\"durationMs\":");
        if d.fract() == 0.0 && d.abs() < 9.0e15 {
            let _ = write!(out, "{}", d as i64);
        } else {
            out.push_str(&serde_json::to_string(&d).unwrap_or_else(|_| "null".into()));
        }
    }
    let _ = writeln!(out, ",\"status\":\"{}\"}}", log.status.as_str());
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
            usage: Usage::new(1, 2, 3),
            duration_ms: if seq.is_multiple_of(2) {
                Some(12.5)
            } else {
                None
            },
            status: UsageStatus::Error,
        }
    }

    #[test]
    fn canonical_fast_path_agrees_with_serde() {
        for seq in 1..6 {
            let mut l = log(seq);
            l.bridge_id = "openai".into();
            l.duration_ms = [None, Some(120.0), Some(0.25), Some(0.0), Some(1e3)][seq as usize - 1];
            let mut s = String::new();
            encode_line(&mut s, &l);
            let line = s.trim_end().as_bytes();
            assert_eq!(parse_canonical(line).as_ref(), Some(&l));
            assert_eq!(parse_general(line).as_ref(), Some(&l));
        }
        // Escapes and other key orders fall back to serde.
        let escaped = br#"{"id":"llm_log_1_5","timestamp":"1970-01-01T00:00:00.005Z","bridgeId":"a\"b","usage":{"promptTokens":1,"completionTokens":2,"totalTokens":3},"status":"error"}"#;
        assert!(parse_canonical(escaped).is_none());
        assert_eq!(parse_line(escaped).unwrap().bridge_id, "a\"b");
        let reordered = br#"{"bridgeId":"a","id":"llm_log_1_5","timestamp":"1970-01-01T00:00:00.005Z","usage":{"totalTokens":3,"promptTokens":1,"completionTokens":2}}"#;
        assert!(parse_canonical(reordered).is_none());
        assert_eq!(parse_line(reordered).unwrap().usage.total_tokens, 3);
        assert!(parse_line(br#"{"id":"llm_log_1_5","timestamp":"x","bridgeId":"a","usage":{"promptTokens":1,"completionTokens":2,"totalTokens":3}}"#).is_none());
    }

    /// `log(seq)` with parts: every combination of the three over seqs.
    fn log_with_parts(seq: u64) -> UsageLog {
        let mut l = log(seq);
        l.bridge_id = "anthropic".into();
        l.usage = Usage {
            cache_read_tokens: if seq & 1 != 0 { 1000 } else { 0 },
            cache_write_tokens: if seq & 2 != 0 { 5000 } else { 0 },
            reasoning_tokens: if seq & 4 != 0 { 40 } else { 0 },
            ..Usage::new(6200, 50, 6250)
        };
        l
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
        for seq in 0..8 {
            let l = log_with_parts(seq);
            let mut s = String::new();
            encode_line(&mut s, &l);
            assert_eq!(
                s,
                format!("{}\n", serde_json::to_string(&l.to_json()).unwrap())
            );
        }
    }

    #[test]
    fn parts_read_back_fast_and_slow_and_old_lines_have_none() {
        for seq in 0..8 {
            let l = log_with_parts(seq);
            let mut s = String::new();
            encode_line(&mut s, &l);
            let line = s.trim_end().as_bytes();
            assert_eq!(parse_canonical(line).as_ref(), Some(&l), "{s}");
            assert_eq!(parse_general(line).as_ref(), Some(&l), "{s}");
        }
        // A line as the previous version wrote it (FORMATS.md): no parts.
        let old = br#"{"id":"llm_log_4_1736000000000","timestamp":"2025-01-04T14:13:20.000Z","bridgeId":"openai","usage":{"promptTokens":10,"completionTokens":5,"totalTokens":15},"durationMs":120,"status":"success"}"#;
        let got = parse_canonical(old).unwrap();
        assert_eq!(got.usage, Usage::new(10, 5, 15));
        // Parts in another order or with null go to serde, same meaning.
        let other = br#"{"id":"llm_log_4_5","timestamp":"1970-01-01T00:00:00.005Z","bridgeId":"a","usage":{"promptTokens":10,"completionTokens":5,"totalTokens":15,"reasoningTokens":2,"cacheReadTokens":null,"cacheWriteTokens":3},"status":"success"}"#;
        assert!(parse_canonical(other).is_none());
        let got = parse_line(other).unwrap();
        assert_eq!(
            got.usage,
            Usage {
                cache_write_tokens: 3,
                reasoning_tokens: 2,
                ..Usage::new(10, 5, 15)
            }
        );
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
