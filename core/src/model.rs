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

/// `LlmUsage` (T1). `total_tokens` is kept as given, never recomputed (T2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
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

    /// Checks what the type system cannot (X1): an empty bridge id or a
    /// negative / non-finite duration is refused and nothing is recorded.
    pub fn validate(&self) -> Result<()> {
        validate_bridge_id(self.bridge_id)?;
        if let Some(d) = self.duration_ms {
            if !d.is_finite() || d < 0.0 {
                return Err(Error::invalid(format!(
                    "durationMs must be a finite number >= 0, got {d}"
                )));
            }
        }
        Ok(())
    }
}

pub fn validate_bridge_id(bridge_id: &str) -> Result<()> {
    if bridge_id.is_empty() {
        return Err(Error::invalid("bridgeId must be a non-empty string"));
    }
    Ok(())
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
        let new = NewUsageLogOwned::from_json_map(o)?;
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

pub(crate) fn usage_json(u: &Usage) -> Value {
    let mut m = Map::new();
    m.insert("promptTokens".into(), Value::from(u.prompt_tokens));
    m.insert("completionTokens".into(), Value::from(u.completion_tokens));
    m.insert("totalTokens".into(), Value::from(u.total_tokens));
    Value::Object(m)
}

pub fn format_log_id(seq: u64, ts_ms: i64) -> String {
    format!("llm_log_{seq}_{ts_ms}")
}

pub fn parse_log_id(id: &str) -> Option<(u64, i64)> {
    let rest = id.strip_prefix("llm_log_")?;
    let (n, ms) = rest.split_once('_')?;
    Some((n.parse().ok()?, ms.parse().ok()?))
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

    pub fn from_json_map(o: &Map<String, Value>) -> Result<Self> {
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

/// `LlmBridgeUsageStats` (T1, T4).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct UsageStats {
    pub total_requests: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    /// `total_tokens / total_requests`, unrounded; 0 when empty.
    pub average_tokens_per_request: f64,
    /// Absent (not null) when nothing was recorded.
    pub last_used_at_ms: Option<i64>,
    pub error_count: u64,
}

impl UsageStats {
    /// The JSON form: `lastUsedAt` is absent, not null, when empty (T4).
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
            usage: Usage {
                prompt_tokens: 10,
                completion_tokens: 5,
                total_tokens: 15,
            },
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
    }
}
