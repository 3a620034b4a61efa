//! Claude Code session logs (FORMATS-EXTERNAL §7, E6), read the way
//! `ccusage` reads them, so that day and month reports agree with it on
//! the same files (tests/ccusage/ checks it against the real package).
//!
//! A directory is read recursively for `*.jsonl` files (Claude Code keeps
//! them as `~/.claude/projects/<project>/<session>.jsonl`; given a config
//! directory with a `projects/` inside, that is what is read). Names
//! starting with `.` are skipped, as ccusage's glob skips them. A line
//! that carries usage is one whose `message.usage` is an object (Claude
//! Code writes it on `assistant` lines); it becomes one request event:
//!
//! - tokens from `message.usage` in Anthropic's shape
//!   ([`TokenUsage::read`]: `input_tokens` excludes the cache reads and
//!   writes, our `input` includes them), `input_tokens` and
//!   `output_tokens` required (ccusage requires them too);
//! - `model` = `message.model`, provider `anthropic`, bridge `claude-code`,
//!   the time = `timestamp`; `costUSD`, when given, is the recorded cost
//!   (ccusage's default `auto` mode uses it as well, and prices the rest
//!   from tokens, which `usagebook report` does);
//! - `message.id`, `requestId`, `sessionId` and the project directory are
//!   kept under `claude_code`.
//!
//! **Duplicates.** Claude Code logs one API message several times
//! (streaming snapshots, one line per content block, resumed sessions).
//! As ccusage does, files are read in the order of their earliest
//! `timestamp` (files without one last), and a line whose `message.id` and
//! `requestId` pair was already seen is a duplicate: the first is kept.
//! Lines lacking either are never duplicates of anything.
//!
//! **Synthetic messages** (`message.model == "<synthetic>"`: messages
//! Claude Code makes up itself, with zero usage, never sent to the API)
//! are left out. ccusage leaves them out of its models and per-model
//! breakdowns; it adds their (zero) tokens to its day totals, so totals
//! still agree.
//!
//! **Ids.** A line with both ids gets the UUIDv7 derived from the pair and
//! its time (the first copy's); one without, the id derived from its whole
//! text and how many identical lines came before it. Either way the same
//! files always give the same ids, so a second import adds nothing.

use crate::error::{Error, Result};
use crate::eventlog::{id, rfc3339, Event, EventKind, Status, Tokens};
use crate::usage::TokenUsage;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// The bridge of every imported event.
pub const BRIDGE: &str = "claude-code";
/// The provider of every imported event.
pub const PROVIDER: &str = "anthropic";
/// The model of Claude Code's own made-up messages.
pub const SYNTHETIC_MODEL: &str = "<synthetic>";

/// A directory (or one file) of Claude Code logs as events.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Each API message once, in the order read.
    pub events: Vec<Event>,
    /// `*.jsonl` files read.
    pub files: u64,
    pub blank: u64,
    /// Lines that are not JSON objects, and usage lines that cannot be
    /// read (a token count or the time missing or wrong).
    pub malformed: u64,
    /// Lines without usage: user, summary, system, ... lines.
    pub no_usage: u64,
    /// `<synthetic>` messages, left out.
    pub synthetic: u64,
    /// Further copies of a message already read (same `message.id` and
    /// `requestId`).
    pub duplicates: u64,
    /// The first malformed line: `path:line: what is wrong`.
    pub first_error: Option<String>,
}

impl Parsed {
    /// Non-blank lines read.
    pub fn lines(&self) -> u64 {
        self.events.len() as u64 + self.malformed + self.no_usage + self.synthetic + self.duplicates
    }
}

/// `message.id:requestId`, ccusage's dedup key; `None` when either is
/// missing (such a line is never a duplicate).
pub fn dedup_key(message_id: Option<&str>, request_id: Option<&str>) -> Option<String> {
    match (message_id, request_id) {
        (Some(m), Some(r)) if !m.is_empty() && !r.is_empty() => Some(format!("{m}:{r}")),
        _ => None,
    }
}

/// The dedup key of an event this module made (from its `claude_code`).
pub fn event_key(e: &Event) -> Option<String> {
    let cc = e.extra.get("claude_code")?;
    dedup_key(
        cc.get("message_id").and_then(Value::as_str),
        cc.get("request_id").and_then(Value::as_str),
    )
}

// ------------------------------------------------------------ one line

/// What a line of a session log is.
#[derive(Debug)]
pub enum Line {
    /// An API message with usage.
    Usage(Box<Message>),
    /// A line without usage (user, summary, ...).
    NoUsage,
    /// A `<synthetic>` message.
    Synthetic,
    /// Not a JSON object, or usage that cannot be read: why.
    Malformed(String),
}

/// An API message read from a line.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub ts_ns: i64,
    pub model: Option<String>,
    pub tokens: Tokens,
    pub cost_usd: Option<f64>,
    pub message_id: Option<String>,
    pub request_id: Option<String>,
    pub session_id: Option<String>,
    pub api_error: bool,
}

/// The top level of a line: only what is read; everything else (tool
/// results, content) is skipped without being built.
#[derive(Deserialize)]
struct RawLine {
    #[serde(default)]
    timestamp: Option<Value>,
    #[serde(default)]
    message: Option<RawMessageField>,
    #[serde(default, rename = "requestId")]
    request_id: Option<Value>,
    #[serde(default, rename = "sessionId")]
    session_id: Option<Value>,
    #[serde(default, rename = "costUSD")]
    cost_usd: Option<Value>,
    #[serde(default, rename = "isApiErrorMessage")]
    api_error: Option<Value>,
}

#[derive(Deserialize, Default)]
struct RawMessage {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    model: Option<Value>,
    #[serde(default)]
    usage: Option<Value>,
}

/// `message`: an object read as [`RawMessage`]; anything else (a string
/// in some line types) is no message at all.
struct RawMessageField(Option<RawMessage>);

impl<'de> Deserialize<'de> for RawMessageField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawMessageField;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                RawMessage::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|m| RawMessageField(Some(m)))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(RawMessageField(None))
            }
            fn visit_str<E>(self, _: &str) -> std::result::Result<Self::Value, E> {
                Ok(RawMessageField(None))
            }
            fn visit_bool<E>(self, _: bool) -> std::result::Result<Self::Value, E> {
                Ok(RawMessageField(None))
            }
            fn visit_i64<E>(self, _: i64) -> std::result::Result<Self::Value, E> {
                Ok(RawMessageField(None))
            }
            fn visit_u64<E>(self, _: u64) -> std::result::Result<Self::Value, E> {
                Ok(RawMessageField(None))
            }
            fn visit_f64<E>(self, _: f64) -> std::result::Result<Self::Value, E> {
                Ok(RawMessageField(None))
            }
            fn visit_unit<E>(self) -> std::result::Result<Self::Value, E> {
                Ok(RawMessageField(None))
            }
        }
        d.deserialize_any(V)
    }
}

fn text(v: &Option<Value>, what: &str) -> std::result::Result<Option<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("{what} must be a string, got {other}")),
    }
}

/// Reads one line.
pub fn parse_line(line: &[u8]) -> Line {
    parse_line_and_time(line).0
}

/// The line, and the time of any line with a valid `timestamp` (ccusage
/// sorts files by the earliest one, whatever the line's type).
fn parse_line_and_time(line: &[u8]) -> (Line, Option<i64>) {
    if line.trim_ascii_start().first() != Some(&b'{') {
        let why = match serde_json::from_slice::<IgnoredAny>(line) {
            Ok(_) => "not a JSON object".into(),
            Err(e) => format!("not JSON: {e}"),
        };
        return (Line::Malformed(why), None);
    }
    let raw: RawLine = match serde_json::from_slice(line) {
        Ok(r) => r,
        Err(e) => return (Line::Malformed(format!("not JSON: {e}")), None),
    };
    let ts = match &raw.timestamp {
        Some(Value::String(s)) => rfc3339::parse_ns(s),
        _ => None,
    };
    let usage = match &raw.message {
        Some(RawMessageField(Some(m))) => match &m.usage {
            None | Some(Value::Null) => None,
            Some(u) => Some((m, u)),
        },
        _ => None,
    };
    let Some((msg, usage)) = usage else {
        return (Line::NoUsage, ts);
    };
    let line = match message(&raw, &msg.id, &msg.model, usage) {
        Ok(Some(m)) => Line::Usage(Box::new(m)),
        Ok(None) => Line::Synthetic,
        Err(why) => Line::Malformed(why),
    };
    (line, ts)
}

fn message(
    raw: &RawLine,
    id: &Option<Value>,
    model: &Option<Value>,
    usage: &Value,
) -> std::result::Result<Option<Message>, String> {
    let model = text(model, "message.model")?;
    if model.as_deref() == Some(SYNTHETIC_MODEL) {
        return Ok(None);
    }
    let Value::Object(u) = usage else {
        return Err(format!("message.usage must be an object, got {usage}"));
    };
    for k in ["input_tokens", "output_tokens"] {
        if !u.get(k).is_some_and(Value::is_number) {
            return Err(format!("message.usage.{k} is missing or not a number"));
        }
    }
    let read = TokenUsage::read(usage).map_err(|e| format!("message.{}", strip(e)))?;
    let ts_ns = match &raw.timestamp {
        Some(Value::String(s)) => rfc3339::parse_ns(s)
            .ok_or_else(|| format!("timestamp {s:?} is not an RFC 3339 time"))?,
        _ => return Err("timestamp is missing or not a string".into()),
    };
    let cost_usd = match &raw.cost_usd {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f) if f.is_finite() && f >= 0.0 => Some(f),
            _ => return Err(format!("costUSD must be a number >= 0, got {n}")),
        },
        Some(other) => return Err(format!("costUSD must be a number, got {other}")),
    };
    Ok(Some(Message {
        ts_ns,
        model,
        tokens: Tokens::from_usage(&read.usage),
        cost_usd,
        message_id: text(id, "message.id")?,
        request_id: text(&raw.request_id, "requestId")?,
        session_id: text(&raw.session_id, "sessionId")?,
        api_error: raw.api_error == Some(Value::Bool(true)),
    }))
}

fn strip(e: Error) -> String {
    match e {
        Error::InvalidArgument(m) => m,
        other => other.to_string(),
    }
}

/// The event of a message: `key` is what its id is derived from.
pub fn event(m: &Message, project: Option<&str>, key: &str) -> Event {
    let mut cc = Map::new();
    let mut put = |k: &str, v: Option<&str>| {
        if let Some(v) = v {
            cc.insert(k.into(), Value::String(v.to_string()));
        }
    };
    put("message_id", m.message_id.as_deref());
    put("request_id", m.request_id.as_deref());
    put("session_id", m.session_id.as_deref());
    put("project", project);
    let mut extra = Map::new();
    extra.insert("claude_code".into(), Value::Object(cc));
    Event {
        id: id::derived_v7(m.ts_ns.div_euclid(1_000_000), key),
        occurred_at_ns: m.ts_ns,
        kind: EventKind::Request,
        segment_id: None,
        source: None,
        records: Vec::new(),
        bridge: Some(BRIDGE.into()),
        provider: Some(PROVIDER.into()),
        model: m.model.clone(),
        tokens: Some(m.tokens),
        status: Some(if m.api_error {
            Status::Error
        } else {
            Status::Success
        }),
        duration_ms: None,
        cost_nano_usd: m.cost_usd.map(crate::eventlog::event::usd_to_nano),
        extra,
    }
}

// ------------------------------------------------------------ the files

/// One file read: its messages in line order and its earliest time.
struct FileRead {
    path: PathBuf,
    project: Option<String>,
    earliest_ns: Option<i64>,
    /// `(message, the line's text when it has no dedup key)`.
    messages: Vec<(Message, Option<Vec<u8>>)>,
}

/// The `*.jsonl` files under `root`, sorted by path; hidden names skipped;
/// symbolic links to files followed, to directories not (no loops).
fn jsonl_files(root: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let rd = std::fs::read_dir(root)
        .map_err(|e| Error::io(format!("reading directory {}", root.display()), e))?;
    for entry in rd {
        let entry =
            entry.map_err(|e| Error::io(format!("reading directory {}", root.display()), e))?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let ft = entry
            .file_type()
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        if ft.is_dir() {
            jsonl_files(&path, out)?;
        } else if path.extension().is_some_and(|x| x == "jsonl") && path.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

/// The directory whose files are read: `path/projects` when `path` is a
/// Claude config directory (has a `projects/` and is not one itself).
fn root_of(path: &Path) -> PathBuf {
    let projects = path.join("projects");
    if path.file_name().is_some_and(|n| n != "projects") && projects.is_dir() {
        projects
    } else {
        path.to_path_buf()
    }
}

/// Reads a directory of session logs (or one `.jsonl` file). A directory
/// without any `*.jsonl` file is an error (most likely the wrong one).
pub fn parse_path(path: &Path) -> Result<Parsed> {
    let meta =
        std::fs::metadata(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let (root, files) = if meta.is_dir() {
        let root = root_of(path);
        let mut files = Vec::new();
        jsonl_files(&root, &mut files)?;
        if files.is_empty() {
            return Err(Error::invalid(format!(
                "{}: no *.jsonl files in it or under it: Claude Code keeps its session logs in ~/.claude/projects (or $CLAUDE_CONFIG_DIR/projects)",
                root.display()
            )));
        }
        (root, files)
    } else {
        (
            path.parent().unwrap_or(Path::new("")).to_path_buf(),
            vec![path.to_path_buf()],
        )
    };
    let mut out = Parsed::default();
    let mut reads = Vec::with_capacity(files.len());
    for file in files {
        reads.push(read_file(&root, file, &mut out)?);
    }
    // ccusage's order: earliest timestamp first, files without one last.
    reads.sort_by(|a, b| {
        (a.earliest_ns.is_none(), a.earliest_ns, &a.path).cmp(&(
            b.earliest_ns.is_none(),
            b.earliest_ns,
            &b.path,
        ))
    });
    let mut seen: HashSet<String> = HashSet::new();
    let mut same_text: HashMap<u128, u64> = HashMap::new();
    for r in &reads {
        for (m, line) in &r.messages {
            let key = match dedup_key(m.message_id.as_deref(), m.request_id.as_deref()) {
                Some(k) => {
                    if !seen.insert(k.clone()) {
                        out.duplicates += 1;
                        continue;
                    }
                    format!("claude-code|{k}")
                }
                None => {
                    // No pair: never a duplicate; the n-th copy of the same
                    // text gets its own (stable) id.
                    let text = String::from_utf8_lossy(line.as_deref().unwrap_or_default());
                    let h = id::derived_v7(0, &text).as_u128();
                    let n = same_text.entry(h).or_default();
                    *n += 1;
                    format!("claude-code|line|{n}|{text}")
                }
            };
            out.events.push(event(m, r.project.as_deref(), &key));
        }
    }
    out.files = reads.len() as u64;
    Ok(out)
}

fn read_file(root: &Path, path: PathBuf, out: &mut Parsed) -> Result<FileRead> {
    let bytes =
        std::fs::read(&path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    // The project: the first directory under the root (a Claude project
    // directory), none for a file directly in it.
    let project = path.strip_prefix(root).ok().and_then(|rel| {
        let mut parts = rel.components();
        let first = parts.next()?;
        parts
            .next()
            .map(|_| first.as_os_str().to_string_lossy().into_owned())
    });
    let mut read = FileRead {
        path: path.clone(),
        project,
        earliest_ns: None,
        messages: Vec::new(),
    };
    let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    for (n, line) in lines.into_iter().enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            out.blank += 1;
            continue;
        }
        let (parsed, ts) = parse_line_and_time(line);
        if let Some(ts) = ts {
            read.earliest_ns = Some(read.earliest_ns.map_or(ts, |e| e.min(ts)));
        }
        match parsed {
            Line::Usage(m) => {
                let keyed = dedup_key(m.message_id.as_deref(), m.request_id.as_deref()).is_some();
                read.messages.push((*m, (!keyed).then(|| line.to_vec())));
            }
            Line::NoUsage => out.no_usage += 1,
            Line::Synthetic => out.synthetic += 1,
            Line::Malformed(why) => {
                out.malformed += 1;
                if out.first_error.is_none() {
                    out.first_error = Some(format!("{}:{}: {why}", path.display(), n + 1));
                }
            }
        }
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An assistant line as Claude Code writes it.
    fn assistant(
        ts: &str,
        msg: Option<&str>,
        req: Option<&str>,
        model: &str,
        usage: Value,
    ) -> String {
        let mut m = json!({"model": model, "role": "assistant", "type": "message",
            "content": [{"type": "text", "text": "hi"}], "usage": usage});
        if let Some(id) = msg {
            m["id"] = id.into();
        }
        let mut l = json!({"parentUuid": null, "isSidechain": false, "userType": "external",
            "cwd": "/home/u/proj", "sessionId": "s-1", "version": "2.0.14", "type": "assistant",
            "message": m, "uuid": "u-1", "timestamp": ts});
        if let Some(r) = req {
            l["requestId"] = r.into();
        }
        l.to_string()
    }

    fn usage(input: u64, output: u64, cache_write: u64, cache_read: u64) -> Value {
        json!({"input_tokens": input, "output_tokens": output,
            "cache_creation_input_tokens": cache_write, "cache_read_input_tokens": cache_read,
            "service_tier": "standard"})
    }

    fn write(dir: &Path, rel: &str, lines: &[String]) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, lines.join("\n") + "\n").unwrap();
    }

    #[test]
    fn e6_usage_lines_are_anthropic_requests_with_inclusive_input() {
        let mut l: Value = serde_json::from_str(&assistant(
            "2025-10-31T09:12:03.512Z",
            Some("msg_1"),
            Some("req_1"),
            "claude-sonnet-4-5-20250929",
            usage(3, 812, 5320, 9310),
        ))
        .unwrap();
        l["costUSD"] = json!(0.0123);
        let Line::Usage(m) = parse_line(l.to_string().as_bytes()) else {
            panic!("a usage line")
        };
        // Anthropic's input_tokens excludes the cache: ours includes it.
        assert_eq!(
            m.tokens,
            Tokens {
                input: 3 + 5320 + 9310,
                output: 812,
                reasoning: 0,
                cache_read: 9310,
                cache_write: 5320,
                total: 3 + 812 + 5320 + 9310,
            }
        );
        assert_eq!(m.model.as_deref(), Some("claude-sonnet-4-5-20250929"));
        assert_eq!(m.cost_usd, Some(0.0123));
        assert_eq!(m.session_id.as_deref(), Some("s-1"));
        let e = event(&m, Some("-home-u-proj"), "k");
        assert_eq!(e.bridge.as_deref(), Some(BRIDGE));
        assert_eq!(e.provider.as_deref(), Some(PROVIDER));
        assert_eq!(e.cost_nano_usd, Some(12_300_000));
        assert_eq!(
            e.occurred_at_ms(),
            rfc3339::parse_ns("2025-10-31T09:12:03.512Z").unwrap() / 1_000_000
        );
        assert_eq!(e.extra["claude_code"]["project"], "-home-u-proj");
        assert_eq!(event_key(&e).as_deref(), Some("msg_1:req_1"));
        // And back from the log line.
        let back = Event::from_line(e.to_line().as_bytes()).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn e6_other_lines_synthetic_messages_and_malformed_lines() {
        let user = json!({"type": "user", "timestamp": "2025-10-31T09:00:00.000Z",
            "message": {"role": "user", "content": "hello"}, "sessionId": "s-1"});
        let summary = json!({"type": "summary", "summary": "Fix the bug", "leafUuid": "u-9"});
        let string_message = json!({"type": "system", "message": "compacted"});
        assert!(matches!(
            parse_line(user.to_string().as_bytes()),
            Line::NoUsage
        ));
        assert!(matches!(
            parse_line(summary.to_string().as_bytes()),
            Line::NoUsage
        ));
        assert!(matches!(
            parse_line(string_message.to_string().as_bytes()),
            Line::NoUsage
        ));
        let synthetic = assistant(
            "2025-10-31T09:00:00.000Z",
            Some("m"),
            Some("r"),
            SYNTHETIC_MODEL,
            usage(0, 0, 0, 0),
        );
        assert!(matches!(parse_line(synthetic.as_bytes()), Line::Synthetic));
        for (line, why) in [
            ("{\"type\":\"assistant\",".to_string(), "not JSON"),
            ("[1,2]".to_string(), "not a JSON object"),
            (
                assistant(
                    "yesterday",
                    Some("m"),
                    Some("r"),
                    "claude-haiku-4-5",
                    usage(1, 1, 0, 0),
                ),
                "timestamp",
            ),
            (
                assistant(
                    "2025-10-31T09:00:00.000Z",
                    Some("m"),
                    Some("r"),
                    "claude-haiku-4-5",
                    json!({"output_tokens": 5}),
                ),
                "message.usage.input_tokens",
            ),
            (
                assistant(
                    "2025-10-31T09:00:00.000Z",
                    Some("m"),
                    Some("r"),
                    "claude-haiku-4-5",
                    json!({"input_tokens": -1, "output_tokens": 5}),
                ),
                "usage.input_tokens",
            ),
            (
                assistant(
                    "2025-10-31T09:00:00.000Z",
                    Some("m"),
                    Some("r"),
                    "claude-haiku-4-5",
                    json!("many"),
                ),
                "message.usage must be an object",
            ),
        ] {
            match parse_line(line.as_bytes()) {
                Line::Malformed(m) => assert!(m.contains(why), "{line}: {m}"),
                other => panic!("{line}: {other:?}"),
            }
        }
    }

    #[test]
    fn e6_copies_of_a_message_keep_the_first_in_ccusage_file_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("projects");
        // b.jsonl starts earlier than a.jsonl, so its copy is the first
        // even though a.jsonl sorts first by name.
        write(&root, "-p1/b.jsonl", &[
            json!({"type": "user", "timestamp": "2025-10-31T08:00:00.000Z", "message": {"role": "user", "content": "x"}}).to_string(),
            assistant("2025-10-31T09:05:00.000Z", Some("msg_A"), Some("req_A"), "claude-opus-4-5-20251101", usage(10, 10, 0, 0)),
        ]);
        write(
            &root,
            "-p1/a.jsonl",
            &[
                assistant(
                    "2025-10-31T10:00:00.000Z",
                    Some("msg_A"),
                    Some("req_A"),
                    "claude-opus-4-5-20251101",
                    usage(10, 99, 0, 0),
                ),
                assistant(
                    "2025-10-31T10:00:01.000Z",
                    Some("msg_A"),
                    Some("req_A"),
                    "claude-opus-4-5-20251101",
                    usage(10, 99, 0, 0),
                ),
                assistant(
                    "2025-10-31T10:01:00.000Z",
                    Some("msg_B"),
                    Some("req_B"),
                    "claude-opus-4-5-20251101",
                    usage(1, 2, 0, 0),
                ),
                // Without a requestId: never a duplicate, both copies count.
                assistant(
                    "2025-10-31T10:02:00.000Z",
                    Some("msg_C"),
                    None,
                    "claude-opus-4-5-20251101",
                    usage(1, 1, 0, 0),
                ),
                assistant(
                    "2025-10-31T10:02:00.000Z",
                    Some("msg_C"),
                    None,
                    "claude-opus-4-5-20251101",
                    usage(1, 1, 0, 0),
                ),
            ],
        );
        // A subagent's log deeper down, and a hidden directory ignored.
        write(
            &root,
            "-p2/s-2/subagents/agent-1.jsonl",
            &[assistant(
                "2025-11-01T00:00:00.000Z",
                Some("msg_D"),
                Some("req_D"),
                "claude-haiku-4-5-20251001",
                usage(5, 5, 100, 0),
            )],
        );
        write(
            &root,
            ".trash/x.jsonl",
            &[assistant(
                "2025-11-01T00:00:00.000Z",
                Some("msg_E"),
                Some("req_E"),
                "claude-haiku-4-5-20251001",
                usage(5, 5, 0, 0),
            )],
        );
        // Given the config directory, its projects/ is read.
        std::fs::write(dir.path().join("history.jsonl"), "{\"display\":\"x\"}\n").unwrap();
        let p = parse_path(dir.path()).unwrap();
        assert_eq!(p.files, 3);
        assert_eq!((p.duplicates, p.no_usage, p.malformed), (2, 1, 0));
        let outs: Vec<(u64, Option<String>)> = p
            .events
            .iter()
            .map(|e| {
                (
                    e.tokens.unwrap().output,
                    e.extra["claude_code"]["project"].as_str().map(String::from),
                )
            })
            .collect();
        assert_eq!(
            outs,
            vec![
                (10, Some("-p1".into())),
                (2, Some("-p1".into())),
                (1, Some("-p1".into())),
                (1, Some("-p1".into())),
                (5, Some("-p2".into())),
            ]
        );
        // E5: every id differs, and a second read gives the same ids.
        let ids: HashSet<_> = p.events.iter().map(|e| e.id).collect();
        assert_eq!(ids.len(), 5);
        let again = parse_path(&root).unwrap();
        assert_eq!(
            again.events.iter().map(|e| e.id).collect::<Vec<_>>(),
            p.events.iter().map(|e| e.id).collect::<Vec<_>>()
        );
        // One file can be read by itself too.
        let one = parse_path(&root.join("-p1/a.jsonl")).unwrap();
        assert_eq!((one.files, one.events.len(), one.duplicates), (1, 4, 1));
    }

    #[test]
    fn a_directory_without_session_logs_is_an_error_naming_where_they_are() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        let e = parse_path(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("no *.jsonl files") && e.contains("~/.claude/projects"),
            "{e}"
        );
        let e = parse_path(&dir.path().join("none"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("none"), "{e}");
    }
}
