//! One event of the log (E2): an LLM request (`event: "request"`) or a
//! seed-004 subject event (`use`, `resident_exposure`). Enum values this
//! version does not know (an `event`, `source` or `status` written by a
//! newer or older tool) are kept as they are, and so are unknown top-level
//! fields: reading a line and writing it back loses nothing.

use crate::error::{Error, Result};
use crate::eventlog::{id, rfc3339};
use crate::usage::TokenUsage;
use serde_json::{Map, Value};
use uuid::Uuid;

/// `event`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// One LLM / API request: bridge, model, tokens, status, cost.
    Request,
    /// Seed 004: records explicitly read.
    Use,
    /// Seed 004: records injected into a model call as resident context.
    ResidentExposure,
    /// Anything else, kept verbatim.
    Other(String),
}

impl EventKind {
    pub fn parse(s: &str) -> Self {
        match s {
            "request" => EventKind::Request,
            "use" => EventKind::Use,
            "resident_exposure" => EventKind::ResidentExposure,
            other => EventKind::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            EventKind::Request => "request",
            EventKind::Use => "use",
            EventKind::ResidentExposure => "resident_exposure",
            EventKind::Other(s) => s,
        }
    }
}

/// `source` of a seed-004 event (PascalCase). Newer versions of that tool
/// dropped two of these; old files still have them, and values we do not
/// know are kept.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    MemoryRead,
    KnowledgeRef,
    WorkflowInvoke,
    ResidentInjection,
    Other(String),
}

impl Source {
    pub fn parse(s: &str) -> Self {
        match s {
            "MemoryRead" => Source::MemoryRead,
            "KnowledgeRef" => Source::KnowledgeRef,
            "WorkflowInvoke" => Source::WorkflowInvoke,
            "ResidentInjection" => Source::ResidentInjection,
            other => Source::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Source::MemoryRead => "MemoryRead",
            Source::KnowledgeRef => "KnowledgeRef",
            Source::WorkflowInvoke => "WorkflowInvoke",
            Source::ResidentInjection => "ResidentInjection",
            Source::Other(s) => s,
        }
    }
}

/// `status` of a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Status {
    Success,
    Error,
    Other(String),
}

impl Status {
    pub fn parse(s: &str) -> Self {
        match s {
            "success" => Status::Success,
            "error" => Status::Error,
            other => Status::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Status::Success => "success",
            Status::Error => "error",
            Status::Other(s) => s,
        }
    }
}

/// Tokens of a request by kind, in the one usage vocabulary (U1):
/// `input` counts every input token (cache reads and writes included),
/// `output` every output token (reasoning included); the others are parts
/// of those. `total` is kept as given, never recomputed (T2).
///
/// In a line they are `input, output, reasoning, cache_read, cache_write,
/// total`; lines written before cache writes were recorded have `cached`
/// (cache reads) instead, which is read as `cache_read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tokens {
    pub input: u64,
    pub output: u64,
    pub reasoning: u64,
    /// Part of `input`: read from the prompt cache.
    pub cache_read: u64,
    /// Part of `input`: written to the prompt cache.
    pub cache_write: u64,
    pub total: u64,
}

impl Tokens {
    /// The tokens of a call as the usage vocabulary reads them; `total`
    /// is the provider's, else input + output.
    pub fn from_usage(u: &TokenUsage) -> Tokens {
        Tokens {
            input: u.input,
            output: u.output,
            reasoning: u.reasoning,
            cache_read: u.cache_read,
            cache_write: u.cache_write,
            total: u.total(),
        }
    }

    /// The usage these tokens describe, for pricing; `None` when the parts
    /// exceed their totals (tokens recorded under another convention,
    /// which a price would misread).
    pub fn to_usage(&self) -> Option<TokenUsage> {
        let parts = self.cache_read.checked_add(self.cache_write)?;
        if parts > self.input || self.reasoning > self.output {
            return None;
        }
        Some(TokenUsage {
            input: self.input,
            output: self.output,
            cache_read: self.cache_read,
            cache_write: self.cache_write,
            reasoning: self.reasoning,
            total: Some(self.total),
            ..TokenUsage::default()
        })
    }
}

/// A record a seed-004 event is about: `(kind, slug)` is the subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSnapshot {
    pub kind: String,
    pub slug: String,
    pub file_bytes: u64,
    /// `ceil(file_bytes / 4)` when built by [`RecordSnapshot::from_bytes`].
    pub file_tokens_estimate: u64,
}

impl RecordSnapshot {
    /// The snapshot of a record's content (E3's token estimate).
    pub fn from_bytes(kind: impl Into<String>, slug: impl Into<String>, bytes: &[u8]) -> Self {
        RecordSnapshot {
            kind: kind.into(),
            slug: slug.into(),
            file_bytes: bytes.len() as u64,
            file_tokens_estimate: estimate_tokens(bytes.len() as u64),
        }
    }
}

/// `ceil(bytes / 4)` (E3).
pub fn estimate_tokens(bytes: u64) -> u64 {
    bytes.div_ceil(4)
}

/// One line of the event log.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// UUIDv7 (E2); the dedup key of replays and merges (E5).
    pub id: Uuid,
    /// UTC, nanoseconds since the epoch.
    pub occurred_at_ns: i64,
    pub kind: EventKind,
    // Seed 004 subject events.
    pub segment_id: Option<String>,
    pub source: Option<Source>,
    pub records: Vec<RecordSnapshot>,
    // Requests.
    pub bridge: Option<String>,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub tokens: Option<Tokens>,
    pub status: Option<Status>,
    pub duration_ms: Option<f64>,
    /// Integer nano-USD (L11); `None` when the cost is not known.
    pub cost_nano_usd: Option<i64>,
    /// Top-level fields this version does not know, written back as read.
    pub extra: Map<String, Value>,
}

impl Event {
    fn blank(kind: EventKind) -> Self {
        let ns = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64);
        Event {
            id: id::new_v7(),
            occurred_at_ns: ns,
            kind,
            segment_id: None,
            source: None,
            records: Vec::new(),
            bridge: None,
            provider: None,
            model: None,
            tokens: None,
            status: None,
            duration_ms: None,
            cost_nano_usd: None,
            extra: Map::new(),
        }
    }

    /// A request happening now, with a fresh UUIDv7.
    pub fn request(bridge: impl Into<String>, tokens: Tokens, status: Status) -> Self {
        Event {
            bridge: Some(bridge.into()),
            tokens: Some(tokens),
            status: Some(status),
            ..Event::blank(EventKind::Request)
        }
    }

    /// A seed-004 subject event happening now (`use` or
    /// `resident_exposure`).
    pub fn subject(
        kind: EventKind,
        segment_id: impl Into<String>,
        source: Source,
        records: Vec<RecordSnapshot>,
    ) -> Self {
        Event {
            segment_id: Some(segment_id.into()),
            source: Some(source),
            records,
            ..Event::blank(kind)
        }
    }

    /// The JSON line, without the newline. Seed-004 events come out in the
    /// seed's own field order (`id, occurred_at, segment_id, event, source,
    /// records`), so a seed line read and written back is unchanged.
    pub fn to_line(&self) -> String {
        serde_json::to_string(&self.to_json()).unwrap_or_default()
    }

    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), Value::String(self.id.to_string()));
        m.insert(
            "occurred_at".into(),
            Value::String(rfc3339::format_ns(self.occurred_at_ns)),
        );
        if let Some(s) = &self.segment_id {
            m.insert("segment_id".into(), Value::String(s.clone()));
        }
        m.insert("event".into(), Value::String(self.kind.as_str().into()));
        if let Some(s) = &self.source {
            m.insert("source".into(), Value::String(s.as_str().into()));
        }
        // Seed-shaped events (with a source) always carry `records`.
        let subject = matches!(self.kind, EventKind::Use | EventKind::ResidentExposure);
        if subject || self.source.is_some() || !self.records.is_empty() {
            let recs = self
                .records
                .iter()
                .map(|r| {
                    let mut o = Map::new();
                    o.insert("kind".into(), Value::String(r.kind.clone()));
                    o.insert("slug".into(), Value::String(r.slug.clone()));
                    o.insert("file_bytes".into(), Value::from(r.file_bytes));
                    o.insert(
                        "file_tokens_estimate".into(),
                        Value::from(r.file_tokens_estimate),
                    );
                    Value::Object(o)
                })
                .collect();
            m.insert("records".into(), Value::Array(recs));
        }
        let mut put = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                m.insert(k.into(), Value::String(v.clone()));
            }
        };
        put("bridge", &self.bridge);
        put("provider", &self.provider);
        put("model", &self.model);
        if let Some(t) = &self.tokens {
            let mut o = Map::new();
            o.insert("input".into(), Value::from(t.input));
            o.insert("output".into(), Value::from(t.output));
            o.insert("reasoning".into(), Value::from(t.reasoning));
            o.insert("cache_read".into(), Value::from(t.cache_read));
            o.insert("cache_write".into(), Value::from(t.cache_write));
            o.insert("total".into(), Value::from(t.total));
            m.insert("tokens".into(), Value::Object(o));
        }
        if let Some(s) = &self.status {
            m.insert("status".into(), Value::String(s.as_str().into()));
        }
        if let Some(d) = self.duration_ms {
            m.insert("duration_ms".into(), float(d));
        }
        if let Some(c) = self.cost_nano_usd {
            m.insert("cost_usd".into(), float(nano_to_usd(c)));
        }
        for (k, v) in &self.extra {
            m.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Value::Object(m)
    }

    /// Reads one line. The error names what was wrong.
    pub fn from_line(line: &[u8]) -> Result<Event> {
        let v: Value =
            serde_json::from_slice(line).map_err(|e| Error::invalid(format!("not JSON: {e}")))?;
        Event::from_json(v)
    }

    pub fn from_json(v: Value) -> Result<Event> {
        let Value::Object(mut o) = v else {
            return Err(Error::invalid("an event must be a JSON object"));
        };
        let id = match o.shift_remove("id") {
            Some(Value::String(s)) => Uuid::try_parse(&s)
                .map_err(|_| Error::invalid(format!("id {s:?} is not a UUID")))?,
            _ => return Err(Error::invalid("id is missing or not a string")),
        };
        let occurred_at_ns = match o.shift_remove("occurred_at") {
            Some(Value::String(s)) => rfc3339::parse_ns(&s)
                .ok_or_else(|| Error::invalid(format!("occurred_at {s:?} is not RFC 3339")))?,
            _ => return Err(Error::invalid("occurred_at is missing or not a string")),
        };
        let kind = match o.shift_remove("event") {
            Some(Value::String(s)) => EventKind::parse(&s),
            _ => return Err(Error::invalid("event is missing or not a string")),
        };
        let segment_id = opt_string(&mut o, "segment_id")?;
        let source = opt_string(&mut o, "source")?.map(|s| Source::parse(&s));
        let records = match o.shift_remove("records") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a.into_iter().map(record).collect::<Result<Vec<_>>>()?,
            Some(_) => return Err(Error::invalid("records must be an array")),
        };
        let bridge = opt_string(&mut o, "bridge")?;
        let provider = opt_string(&mut o, "provider")?;
        let model = opt_string(&mut o, "model")?;
        let tokens = match o.shift_remove("tokens") {
            None | Some(Value::Null) => None,
            Some(Value::Object(t)) => {
                // `cached` is the name cache reads had before cache writes
                // were recorded; both are checked, `cache_read` wins.
                let cached = uint(&t, "tokens.cached")?;
                let cache_read = match t.get("cache_read") {
                    None | Some(Value::Null) => cached,
                    Some(_) => uint(&t, "tokens.cache_read")?,
                };
                Some(Tokens {
                    input: uint(&t, "tokens.input")?,
                    output: uint(&t, "tokens.output")?,
                    reasoning: uint(&t, "tokens.reasoning")?,
                    cache_read,
                    cache_write: uint(&t, "tokens.cache_write")?,
                    total: uint(&t, "tokens.total")?,
                })
            }
            Some(_) => return Err(Error::invalid("tokens must be an object")),
        };
        let status = opt_string(&mut o, "status")?.map(|s| Status::parse(&s));
        let duration_ms = opt_f64(&mut o, "duration_ms")?;
        let cost_nano_usd = opt_f64(&mut o, "cost_usd")?.map(usd_to_nano);
        Ok(Event {
            id,
            occurred_at_ns,
            kind,
            segment_id,
            source,
            records,
            bridge,
            provider,
            model,
            tokens,
            status,
            duration_ms,
            cost_nano_usd,
            extra: o,
        })
    }

    /// Epoch milliseconds of `occurred_at`.
    pub fn occurred_at_ms(&self) -> i64 {
        self.occurred_at_ns.div_euclid(1_000_000)
    }
}

fn record(v: Value) -> Result<RecordSnapshot> {
    let Value::Object(o) = v else {
        return Err(Error::invalid("records[] must be objects"));
    };
    let s = |k: &str| match o.get(k) {
        Some(Value::String(s)) => Ok(s.clone()),
        _ => Err(Error::invalid(format!("records[].{k} must be a string"))),
    };
    Ok(RecordSnapshot {
        kind: s("kind")?,
        slug: s("slug")?,
        file_bytes: uint(&o, "file_bytes")?,
        file_tokens_estimate: uint(&o, "file_tokens_estimate")?,
    })
}

fn opt_string(o: &mut Map<String, Value>, k: &str) -> Result<Option<String>> {
    match o.shift_remove(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Error::invalid(format!("{k} must be a string"))),
    }
}

fn opt_f64(o: &mut Map<String, Value>, k: &str) -> Result<Option<f64>> {
    match o.shift_remove(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f) if f.is_finite() => Ok(Some(f)),
            _ => Err(Error::invalid(format!("{k} must be a finite number"))),
        },
        Some(_) => Err(Error::invalid(format!("{k} must be a number"))),
    }
}

fn uint(o: &Map<String, Value>, k: &str) -> Result<u64> {
    let name = k.rsplit('.').next().unwrap_or(k);
    match o.get(name) {
        None => Ok(0),
        Some(v) => v
            .as_u64()
            .ok_or_else(|| Error::invalid(format!("{k} must be a non-negative integer"))),
    }
}

fn float(d: f64) -> Value {
    if d.fract() == 0.0 && d.abs() < 9.0e15 {
        Value::from(d as i64)
    } else {
        serde_json::Number::from_f64(d)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

/// USD at the JSON edge to integer nano-USD (L11), rounded.
pub fn usd_to_nano(usd: f64) -> i64 {
    (usd * 1e9).round().clamp(i64::MIN as f64, i64::MAX as f64) as i64
}

/// Integer nano-USD to USD, exact in the integer part.
pub fn nano_to_usd(nano: i64) -> f64 {
    (nano / 1_000_000_000) as f64 + (nano % 1_000_000_000) as f64 / 1e9
}

/// Nano-USD as a plain decimal (`0.001234`, `12`): exact, no float.
pub fn format_usd(nano: i128) -> String {
    let neg = nano < 0;
    let a = nano.unsigned_abs();
    let (whole, frac) = (a / 1_000_000_000, a % 1_000_000_000);
    let mut s = format!("{}{whole}", if neg { "-" } else { "" });
    if frac != 0 {
        let f = format!("{frac:09}");
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_A: &str = r#"{"id":"01a21073-32ea-7686-99db-a76c4f4df3a8","occurred_at":"2026-11-25T02:05:14.858732423Z","segment_id":"session-a","event":"resident_exposure","source":"ResidentInjection","records":[{"kind":"knowledge","slug":"policy","file_bytes":8,"file_tokens_estimate":2}]}"#;
    const SEED_B: &str = r#"{"id":"01a21073-32ea-7686-99db-a76c4f4df3a9","occurred_at":"2026-05-11T03:04:05Z","segment_id":"session-a","event":"use","source":"MemoryRead","records":[{"kind":"decision","slug":"alpha","file_bytes":4,"file_tokens_estimate":1}]}"#;

    #[test]
    fn e4_seed_lines_read_and_write_back_byte_for_byte() {
        for line in [SEED_A, SEED_B] {
            let e = Event::from_line(line.as_bytes()).unwrap();
            assert_eq!(e.to_line(), line);
        }
        let e = Event::from_line(SEED_B.as_bytes()).unwrap();
        assert_eq!(e.kind, EventKind::Use);
        assert_eq!(e.source, Some(Source::MemoryRead));
        assert_eq!(e.records[0].slug, "alpha");
    }

    #[test]
    fn e2_unknown_enum_values_and_fields_are_preserved() {
        let line = r#"{"id":"01a21073-32ea-7686-99db-a76c4f4df3a9","occurred_at":"2026-05-11T03:04:05Z","segment_id":"s","event":"prefetch","source":"VectorSearch","records":[],"future":{"x":[1,2]}}"#;
        let e = Event::from_line(line.as_bytes()).unwrap();
        assert_eq!(e.kind, EventKind::Other("prefetch".into()));
        assert_eq!(e.source, Some(Source::Other("VectorSearch".into())));
        assert_eq!(e.extra["future"]["x"][1], 2);
        assert_eq!(e.to_line(), line);
        let line = r#"{"id":"01a21073-32ea-7686-99db-a76c4f4df3a9","occurred_at":"2026-05-11T03:04:05Z","event":"request","bridge":"b","tokens":{"input":1,"output":2,"reasoning":0,"cache_read":0,"cache_write":0,"total":3},"status":"cancelled"}"#;
        let e = Event::from_line(line.as_bytes()).unwrap();
        assert_eq!(e.status, Some(Status::Other("cancelled".into())));
        assert_eq!(e.to_line(), line);
    }

    #[test]
    fn u1_old_cached_is_read_as_cache_reads_and_written_under_the_new_names() {
        let old = r#"{"id":"01a21073-32ea-7686-99db-a76c4f4df3a9","occurred_at":"2025-01-04T09:15:00Z","event":"request","bridge":"b","tokens":{"input":1200,"output":300,"reasoning":0,"cached":200,"total":1500}}"#;
        let e = Event::from_line(old.as_bytes()).unwrap();
        let t = e.tokens.unwrap();
        assert_eq!((t.cache_read, t.cache_write), (200, 0));
        assert_eq!(
            e.to_line(),
            old.replace(r#""cached":200"#, r#""cache_read":200,"cache_write":0"#)
        );
        // The new names win over the old one; both are checked.
        let both = old.replace(
            r#""cached":200"#,
            r#""cached":200,"cache_read":150,"cache_write":50"#,
        );
        let t = Event::from_line(both.as_bytes()).unwrap().tokens.unwrap();
        assert_eq!((t.cache_read, t.cache_write), (150, 50));
        let bad = old.replace(r#""cached":200"#, r#""cached":-1,"cache_read":150"#);
        let err = Event::from_line(bad.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("tokens.cached"), "{err}");
        // Tokens and the usage vocabulary map both ways.
        let u = t.to_usage().unwrap();
        assert_eq!(
            (u.input, u.cache_read, u.cache_write, u.total()),
            (1200, 150, 50, 1500)
        );
        assert_eq!(Tokens::from_usage(&u), t);
        let over = Tokens {
            input: 10,
            cache_read: 11,
            ..Tokens::default()
        };
        assert!(over.to_usage().is_none());
    }

    #[test]
    fn e2_request_events_have_v7_ids_and_utc_times() {
        let mut e = Event::request("openai/gpt-4o", Tokens::default(), Status::Success);
        assert_eq!(e.id.get_version_num(), 7);
        e.occurred_at_ns = rfc3339::parse_ns("2025-01-04T23:13:20.5+09:00").unwrap();
        e.cost_nano_usd = Some(1_234_500);
        e.duration_ms = Some(120.0);
        let v = e.to_json();
        assert_eq!(v["occurred_at"], "2025-01-04T14:13:20.500Z");
        assert_eq!(v["cost_usd"], 0.0012345);
        assert_eq!(v["duration_ms"], 120);
        let back = Event::from_line(e.to_line().as_bytes()).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn x1_bad_lines_are_refused_with_the_field_named() {
        for (line, field) in [
            (
                r#"{"occurred_at":"2026-05-11T03:04:05Z","event":"use"}"#,
                "id",
            ),
            (
                r#"{"id":"nope","occurred_at":"2026-05-11T03:04:05Z","event":"use"}"#,
                "id",
            ),
            (
                r#"{"id":"01a21073-32ea-7686-99db-a76c4f4df3a9","occurred_at":"May 11","event":"use"}"#,
                "occurred_at",
            ),
            (
                r#"{"id":"01a21073-32ea-7686-99db-a76c4f4df3a9","occurred_at":"2026-05-11T03:04:05Z"}"#,
                "event",
            ),
            (
                r#"{"id":"01a21073-32ea-7686-99db-a76c4f4df3a9","occurred_at":"2026-05-11T03:04:05Z","event":"request","tokens":{"input":-1}}"#,
                "tokens.input",
            ),
            ("[1,2]", "object"),
            ("{", "JSON"),
        ] {
            let err = Event::from_line(line.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(field), "{line}: {err}");
        }
    }

    #[test]
    fn money_is_exact() {
        assert_eq!(format_usd(1_234_500), "0.0012345");
        assert_eq!(format_usd(12_000_000_000), "12");
        assert_eq!(format_usd(-1_500_000_000), "-1.5");
        assert_eq!(usd_to_nano(0.0012345), 1_234_500);
        assert_eq!(estimate_tokens(4), 1);
        assert_eq!(estimate_tokens(5), 2);
        assert_eq!(estimate_tokens(0), 0);
    }
}
