//! The usage model of T1: what a caller records, what a log looks like, and
//! the stats we report. Field names of the JSON forms are exact (T1, T7).

use crate::error::{Error, Result};
use crate::timefmt;
use serde_json::{Map, Value};

/// `status` of a log (T1). Stored as one byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum UsageStatus {
    Success = 0,
    Error = 1,
}

impl UsageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UsageStatus::Success => "success",
            UsageStatus::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "success" => Ok(UsageStatus::Success),
            "error" => Ok(UsageStatus::Error),
            other => Err(Error::invalid(format!(
                "status must be \"success\" or \"error\", got {other:?}"
            ))),
        }
    }

    pub(crate) fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(UsageStatus::Success),
            1 => Some(UsageStatus::Error),
            _ => None,
        }
    }
}

/// `LlmUsage` (T1) plus the detail the tracker keeps (issue 9). The T1
/// counts keep their meaning: `prompt_tokens` counts every input token
/// (cache reads and writes included), `completion_tokens` every output
/// token (reasoning included), `total_tokens` is kept as given, never
/// recomputed (T2). The other three are *parts* of those counts, 0 when the
/// provider did not report them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    /// Part of `prompt_tokens`: read from the prompt cache.
    pub cache_read_tokens: u64,
    /// Part of `prompt_tokens`: written to the prompt cache (every TTL).
    pub cache_write_tokens: u64,
    /// Part of `completion_tokens`: reasoning ("thinking") tokens.
    pub reasoning_tokens: u64,
}

/// The largest part count one call may carry: a retained log keeps each
/// part in 32 bits (PERFORMANCE.md: <= 64 bytes a log).
pub const MAX_PART_TOKENS: u64 = u32::MAX as u64;

impl Usage {
    /// The T1 counts, no parts.
    pub const fn new(prompt_tokens: u64, completion_tokens: u64, total_tokens: u64) -> Self {
        Usage {
            prompt_tokens,
            completion_tokens,
            total_tokens,
            cache_read_tokens: 0,
            cache_write_tokens: 0,
            reasoning_tokens: 0,
        }
    }

    /// True when any part is not zero.
    #[inline]
    pub fn has_parts(&self) -> bool {
        (self.cache_read_tokens | self.cache_write_tokens | self.reasoning_tokens) != 0
    }

    /// Checks the parts (X1): each fits in 32 bits, and they do not exceed
    /// the counts they are parts of. A T1-only usage passes at once.
    #[inline]
    pub fn validate(&self) -> Result<()> {
        if !self.has_parts() {
            return Ok(());
        }
        self.validate_parts()
    }

    #[cold]
    fn validate_parts(&self) -> Result<()> {
        for (name, v) in [
            ("cacheReadTokens", self.cache_read_tokens),
            ("cacheWriteTokens", self.cache_write_tokens),
            ("reasoningTokens", self.reasoning_tokens),
        ] {
            if v > MAX_PART_TOKENS {
                return Err(Error::invalid(format!(
                    "usage.{name} must be at most {MAX_PART_TOKENS} (the tokens of one call), got {v}"
                )));
            }
        }
        // Both fit in 32 bits, so the sum cannot overflow.
        if self.cache_read_tokens + self.cache_write_tokens > self.prompt_tokens {
            return Err(Error::invalid(format!(
                "usage.cacheReadTokens ({}) plus usage.cacheWriteTokens ({}) exceed usage.promptTokens ({}), which counts every input token",
                self.cache_read_tokens, self.cache_write_tokens, self.prompt_tokens
            )));
        }
        if self.reasoning_tokens > self.completion_tokens {
            return Err(Error::invalid(format!(
                "usage.reasoningTokens ({}) exceed usage.completionTokens ({}), which counts every output token",
                self.reasoning_tokens, self.completion_tokens
            )));
        }
        Ok(())
    }
}

/// What a caller records: a log without `id` and `timestamp` (T1, T2).
#[derive(Debug, Clone, PartialEq)]
pub struct NewUsageLog<'a> {
    pub bridge_id: &'a str,
    pub usage: Usage,
    /// Milliseconds; `None` when unknown.
    pub duration_ms: Option<f64>,
    pub status: UsageStatus,
}

impl<'a> NewUsageLog<'a> {
    pub fn new(bridge_id: &'a str, usage: Usage) -> Self {
        NewUsageLog {
            bridge_id,
            usage,
            duration_ms: None,
            status: UsageStatus::Success,
        }
    }

    /// Checks what the type system cannot (X1): an empty bridge id, a
    /// negative / non-finite duration or parts that do not fit (see
    /// [`Usage::validate`]) are refused and nothing is recorded.
    pub fn validate(&self) -> Result<()> {
        validate_bridge_id(self.bridge_id)?;
        if let Some(d) = self.duration_ms {
            if !d.is_finite() || d < 0.0 {
                return Err(Error::invalid(format!(
                    "durationMs must be a finite number >= 0, got {d}"
                )));
            }
        }
        self.usage.validate()
    }
}

pub fn validate_bridge_id(bridge_id: &str) -> Result<()> {
    if bridge_id.is_empty() {
        return Err(Error::invalid("bridgeId must be a non-empty string"));
    }
    crate::limits::check_name("bridgeId", bridge_id)
}

/// A recorded log as callers see it: an owned copy (T3).
#[derive(Debug, Clone, PartialEq)]
pub struct UsageLog {
    /// Sequence number, unique for the tracker's whole life (T2).
    pub seq: u64,
    pub bridge_id: String,
    /// Epoch milliseconds, UTC.
    pub timestamp_ms: i64,
    pub usage: Usage,
    pub duration_ms: Option<f64>,
    pub status: UsageStatus,
}

impl UsageLog {
    /// `llm_log_<n>_<epoch ms>` (T2), formatted on demand: never stored.
    pub fn id(&self) -> String {
        format_log_id(self.seq, self.timestamp_ms)
    }

    /// The JSON line form a JS host writes with `JSON.stringify` (T7).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), Value::String(self.id()));
        m.insert(
            "timestamp".into(),
            Value::String(timefmt::format_iso_ms(self.timestamp_ms)),
        );
        m.insert("bridgeId".into(), Value::String(self.bridge_id.clone()));
        m.insert("usage".into(), usage_json(&self.usage));
        if let Some(d) = self.duration_ms {
            m.insert("durationMs".into(), number(d));
        }
        m.insert("status".into(), Value::String(self.status.as_str().into()));
        Value::Object(m)
    }

    /// Reads one T7 line back. The sequence number is recovered from the id.
    /// A line is history, not a call: its parts are read as they are (see
    /// [`NewUsageLogOwned::read_json_map`]).
    pub fn from_json(v: &Value) -> Result<UsageLog> {
        let o = v
            .as_object()
            .ok_or_else(|| Error::invalid("a log must be a JSON object"))?;
        let id = o
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::invalid("id must be a string"))?;
        let (seq, _) = parse_log_id(id)
            .ok_or_else(|| Error::invalid(format!("id {id:?} is not llm_log_<n>_<ms>")))?;
        let ts = o
            .get("timestamp")
            .and_then(Value::as_str)
            .and_then(timefmt::parse_iso_ms)
            .ok_or_else(|| Error::invalid("timestamp must be an ISO-8601 string"))?;
        let new = NewUsageLogOwned::read_json_map(o)?;
        Ok(UsageLog {
            seq,
            bridge_id: new.bridge_id,
            timestamp_ms: ts,
            usage: new.usage,
            duration_ms: new.duration_ms,
            status: new.status,
        })
    }
}

fn number(d: f64) -> Value {
    if d.fract() == 0.0 && d.abs() < 9.0e15 {
        Value::from(d as i64)
    } else {
        serde_json::Number::from_f64(d)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

/// The `usage` of a T7 line: the T1 counts, then each part only when it is
/// not zero (a T1-only log is byte for byte what it was before parts).
pub(crate) fn usage_json(u: &Usage) -> Value {
    let mut m = Map::new();
    m.insert("promptTokens".into(), Value::from(u.prompt_tokens));
    m.insert("completionTokens".into(), Value::from(u.completion_tokens));
    m.insert("totalTokens".into(), Value::from(u.total_tokens));
    for (k, v) in [
        ("cacheReadTokens", u.cache_read_tokens),
        ("cacheWriteTokens", u.cache_write_tokens),
        ("reasoningTokens", u.reasoning_tokens),
    ] {
        if v != 0 {
            m.insert(k.into(), Value::from(v));
        }
    }
    Value::Object(m)
}

pub fn format_log_id(seq: u64, ts_ms: i64) -> String {
    format!("llm_log_{seq}_{ts_ms}")
}

pub fn parse_log_id(id: &str) -> Option<(u64, i64)> {
    let rest = id.strip_prefix("llm_log_")?;
    let (n, ms) = rest.split_once('_')?;
    let seq: u64 = n.parse().ok()?;
    (seq <= crate::limits::MAX_SEQ).then_some(())?;
    Some((seq, ms.parse().ok()?))
}

/// An owned [`NewUsageLog`], parsed from the JSON a host hands us
/// (`{"bridgeId","usage":{...},"durationMs"?,"status"}`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewUsageLogOwned {
    pub bridge_id: String,
    pub usage: Usage,
    pub duration_ms: Option<f64>,
    pub status: UsageStatus,
}

impl NewUsageLogOwned {
    pub fn as_new(&self) -> NewUsageLog<'_> {
        NewUsageLog {
            bridge_id: &self.bridge_id,
            usage: self.usage,
            duration_ms: self.duration_ms,
            status: self.status,
        }
    }

    pub fn from_json_str(s: &str) -> Result<Self> {
        let v: Value = serde_json::from_str(s)
            .map_err(|e| Error::invalid(format!("log is not valid JSON: {e}")))?;
        let o = v
            .as_object()
            .ok_or_else(|| Error::invalid("log must be a JSON object"))?;
        Self::from_json_map(o)
    }

    /// Parses and checks a log to record, as `track` checks it: T1 parts
    /// must fit ([`Usage::validate`]).
    pub fn from_json_map(o: &Map<String, Value>) -> Result<Self> {
        let log = Self::read_json_map(o)?;
        log.usage.validate()?;
        Ok(log)
    }

    /// Parses a log without checking T1 parts against their totals: for
    /// reading history (a T7 line another program wrote, an export of an
    /// event log whose counts came from elsewhere), which is kept as it
    /// is. Types and the bridge id are still checked.
    pub fn read_json_map(o: &Map<String, Value>) -> Result<Self> {
        let bridge_id = match o.get("bridgeId") {
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(Error::invalid("bridgeId must be a string")),
            None => return Err(Error::invalid("bridgeId is missing")),
        };
        validate_bridge_id(&bridge_id)?;
        let usage = match o.get("usage") {
            // Not T1's camelCase: any provider SDK's usage (U2).
            Some(v @ Value::Object(u)) if !u.contains_key("promptTokens") => {
                crate::usage::TokenUsage::from_value(v)?.to_tracker()
            }
            Some(Value::Object(u)) => Usage {
                prompt_tokens: token_field(u, "promptTokens")?,
                completion_tokens: token_field(u, "completionTokens")?,
                total_tokens: token_field(u, "totalTokens")?,
                cache_read_tokens: part_field(u, "cacheReadTokens")?,
                cache_write_tokens: part_field(u, "cacheWriteTokens")?,
                reasoning_tokens: part_field(u, "reasoningTokens")?,
            },
            Some(_) => return Err(Error::invalid("usage must be an object")),
            None => return Err(Error::invalid("usage is missing")),
        };
        let duration_ms = match o.get("durationMs") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => {
                let d = n.as_f64().unwrap_or(f64::NAN);
                if !d.is_finite() || d < 0.0 {
                    return Err(Error::invalid(format!(
                        "durationMs must be a number >= 0, got {n}"
                    )));
                }
                Some(d)
            }
            Some(other) => {
                return Err(Error::invalid(format!(
                    "durationMs must be a number, got {other}"
                )))
            }
        };
        let status = match o.get("status") {
            None => UsageStatus::Success,
            Some(Value::String(s)) => UsageStatus::parse(s)?,
            Some(other) => {
                return Err(Error::invalid(format!(
                    "status must be \"success\" or \"error\", got {other}"
                )))
            }
        };
        Ok(NewUsageLogOwned {
            bridge_id,
            usage,
            duration_ms,
            status,
        })
    }
}

fn token_field(u: &Map<String, Value>, name: &str) -> Result<u64> {
    match u.get(name) {
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| {
            Error::invalid(format!(
                "usage.{name} must be a non-negative integer, got {n}"
            ))
        }),
        Some(other) => Err(Error::invalid(format!(
            "usage.{name} must be a non-negative integer, got {other}"
        ))),
        None => Err(Error::invalid(format!("usage.{name} is missing"))),
    }
}

/// An optional part count: absent or `null` is 0.
fn part_field(u: &Map<String, Value>, name: &str) -> Result<u64> {
    match u.get(name) {
        None | Some(Value::Null) => Ok(0),
        Some(_) => token_field(u, name),
    }
}

/// `LlmBridgeUsageStats` (T1, T4), plus the sums of the parts.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct UsageStats {
    pub total_requests: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    /// Sum of the logs' cache reads (part of `prompt_tokens`).
    pub cache_read_tokens: u64,
    /// Sum of the logs' cache writes (part of `prompt_tokens`).
    pub cache_write_tokens: u64,
    /// Sum of the logs' reasoning tokens (part of `completion_tokens`).
    pub reasoning_tokens: u64,
    /// `total_tokens / total_requests`, unrounded; 0 when empty.
    pub average_tokens_per_request: f64,
    /// Absent (not null) when nothing was recorded.
    pub last_used_at_ms: Option<i64>,
    pub error_count: u64,
}

impl UsageStats {
    /// The JSON form: `lastUsedAt` is absent, not null, when empty (T4).
    /// The part sums are always there, after the T1 token counts.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("totalRequests".into(), Value::from(self.total_requests));
        m.insert("promptTokens".into(), Value::from(self.prompt_tokens));
        m.insert(
            "completionTokens".into(),
            Value::from(self.completion_tokens),
        );
        m.insert("totalTokens".into(), Value::from(self.total_tokens));
        m.insert(
            "cacheReadTokens".into(),
            Value::from(self.cache_read_tokens),
        );
        m.insert(
            "cacheWriteTokens".into(),
            Value::from(self.cache_write_tokens),
        );
        m.insert("reasoningTokens".into(), Value::from(self.reasoning_tokens));
        m.insert(
            "averageTokensPerRequest".into(),
            number(self.average_tokens_per_request),
        );
        if let Some(ms) = self.last_used_at_ms {
            m.insert(
                "lastUsedAt".into(),
                Value::String(timefmt::format_iso_ms(ms)),
            );
        }
        m.insert("errorCount".into(), Value::from(self.error_count));
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t2_log_id_roundtrip() {
        assert_eq!(
            format_log_id(7, 1_736_000_000_000),
            "llm_log_7_1736000000000"
        );
        assert_eq!(
            parse_log_id("llm_log_7_1736000000000"),
            Some((7, 1_736_000_000_000))
        );
        assert_eq!(parse_log_id("llm_log_x_1"), None);
    }

    #[test]
    fn t7_line_matches_js_json_stringify() {
        let log = UsageLog {
            seq: 1,
            bridge_id: "openai".into(),
            timestamp_ms: 1_736_000_000_000,
            usage: Usage::new(10, 5, 15),
            duration_ms: Some(120.0),
            status: UsageStatus::Success,
        };
        assert_eq!(
            serde_json::to_string(&log.to_json()).unwrap(),
            r#"{"id":"llm_log_1_1736000000000","timestamp":"2025-01-04T14:13:20.000Z","bridgeId":"openai","usage":{"promptTokens":10,"completionTokens":5,"totalTokens":15},"durationMs":120,"status":"success"}"#
        );
        assert_eq!(UsageLog::from_json(&log.to_json()).unwrap(), log);
    }

    #[test]
    fn t7_parts_are_written_next_to_t1_when_not_zero() {
        let mut log = UsageLog {
            seq: 2,
            bridge_id: "anthropic".into(),
            timestamp_ms: 1_736_000_000_000,
            usage: Usage {
                cache_read_tokens: 1000,
                cache_write_tokens: 5000,
                ..Usage::new(6200, 50, 6250)
            },
            duration_ms: None,
            status: UsageStatus::Success,
        };
        assert_eq!(
            serde_json::to_string(&log.to_json()).unwrap(),
            r#"{"id":"llm_log_2_1736000000000","timestamp":"2025-01-04T14:13:20.000Z","bridgeId":"anthropic","usage":{"promptTokens":6200,"completionTokens":50,"totalTokens":6250,"cacheReadTokens":1000,"cacheWriteTokens":5000},"status":"success"}"#
        );
        assert_eq!(UsageLog::from_json(&log.to_json()).unwrap(), log);
        log.usage.reasoning_tokens = 20;
        let v = log.to_json();
        assert_eq!(v["usage"]["reasoningTokens"], 20);
        assert_eq!(UsageLog::from_json(&v).unwrap(), log);
    }

    #[test]
    fn x1_parts_must_fit_and_stay_within_their_totals() {
        let ok = Usage {
            cache_read_tokens: 4,
            cache_write_tokens: 6,
            reasoning_tokens: 5,
            ..Usage::new(10, 5, 15)
        };
        ok.validate().unwrap();
        let cases = [
            (
                Usage {
                    cache_read_tokens: MAX_PART_TOKENS + 1,
                    ..Usage::new(u64::MAX, 0, 0)
                },
                "usage.cacheReadTokens must be at most 4294967295",
            ),
            (
                Usage {
                    cache_write_tokens: MAX_PART_TOKENS + 1,
                    ..Usage::new(u64::MAX, 0, 0)
                },
                "usage.cacheWriteTokens must be at most",
            ),
            (
                Usage {
                    reasoning_tokens: MAX_PART_TOKENS + 1,
                    ..Usage::new(0, u64::MAX, 0)
                },
                "usage.reasoningTokens must be at most",
            ),
            (
                Usage {
                    cache_write_tokens: 7,
                    ..ok
                },
                "exceed usage.promptTokens",
            ),
            (
                Usage {
                    reasoning_tokens: 6,
                    ..ok
                },
                "exceed usage.completionTokens",
            ),
        ];
        for (u, want) in cases {
            let e = u.validate().unwrap_err();
            assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
            assert!(e.to_string().contains(want), "{e}");
        }
        // A call is checked; history (a line someone else wrote) is read as it is.
        let v: Value = serde_json::from_str(
            r#"{"bridgeId":"a","usage":{"promptTokens":0,"completionTokens":1,"totalTokens":1,"cacheReadTokens":7}}"#,
        )
        .unwrap();
        let o = v.as_object().unwrap();
        assert!(NewUsageLogOwned::from_json_map(o).is_err());
        assert_eq!(
            NewUsageLogOwned::read_json_map(o)
                .unwrap()
                .usage
                .cache_read_tokens,
            7
        );
        let e = NewUsageLogOwned::from_json_str(
            r#"{"bridgeId":"a","usage":{"promptTokens":1,"completionTokens":1,"totalTokens":2,"cacheReadTokens":1.5}}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("usage.cacheReadTokens"), "{e}");
        let l = NewUsageLogOwned::from_json_str(
            r#"{"bridgeId":"a","usage":{"promptTokens":9,"completionTokens":4,"totalTokens":13,"cacheReadTokens":null,"cacheWriteTokens":3,"reasoningTokens":4}}"#,
        )
        .unwrap();
        assert_eq!(
            (
                l.usage.cache_read_tokens,
                l.usage.cache_write_tokens,
                l.usage.reasoning_tokens
            ),
            (0, 3, 4)
        );
    }

    #[test]
    fn u2_sdk_usage_in_a_log_keeps_its_parts() {
        let l = NewUsageLogOwned::from_json_str(
            r#"{"bridgeId":"openai","usage":{"prompt_tokens":1200,"completion_tokens":300,"total_tokens":1500,"prompt_tokens_details":{"cached_tokens":1000},"completion_tokens_details":{"reasoning_tokens":200}}}"#,
        )
        .unwrap();
        assert_eq!(
            l.usage,
            Usage {
                cache_read_tokens: 1000,
                reasoning_tokens: 200,
                ..Usage::new(1200, 300, 1500)
            }
        );
    }

    #[test]
    fn x1_bad_json_input_names_the_field() {
        let cases = [
            (
                r#"{"usage":{"promptTokens":1,"completionTokens":1,"totalTokens":2}}"#,
                "bridgeId",
            ),
            (
                r#"{"bridgeId":"","usage":{"promptTokens":1,"completionTokens":1,"totalTokens":2}}"#,
                "bridgeId",
            ),
            (
                r#"{"bridgeId":"a","usage":{"promptTokens":-1,"completionTokens":1,"totalTokens":2}}"#,
                "promptTokens",
            ),
            (
                r#"{"bridgeId":"a","usage":{"promptTokens":1.5,"completionTokens":1,"totalTokens":2}}"#,
                "promptTokens",
            ),
            (
                r#"{"bridgeId":"a","usage":{"promptTokens":1,"completionTokens":1}}"#,
                "totalTokens",
            ),
            (
                r#"{"bridgeId":"a","usage":{"promptTokens":1,"completionTokens":1,"totalTokens":2},"status":"ok"}"#,
                "status",
            ),
            (
                r#"{"bridgeId":"a","usage":{"promptTokens":1,"completionTokens":1,"totalTokens":2},"durationMs":-3}"#,
                "durationMs",
            ),
            (r#"{"bridgeId":"a""#, "JSON"),
        ];
        for (input, field) in cases {
            let err = NewUsageLogOwned::from_json_str(input)
                .unwrap_err()
                .to_string();
            assert!(err.contains(field), "{input}: {err}");
        }
    }

    #[test]
    fn t4_empty_stats_json_has_no_last_used_at() {
        let v = UsageStats::default().to_json();
        assert!(v.get("lastUsedAt").is_none());
        assert_eq!(v["averageTokensPerRequest"], 0);
        // The part sums are always there, next to the T1 counts.
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "totalRequests",
                "promptTokens",
                "completionTokens",
                "totalTokens",
                "cacheReadTokens",
                "cacheWriteTokens",
                "reasoningTokens",
                "averageTokensPerRequest",
                "errorCount"
            ]
        );
    }
}
