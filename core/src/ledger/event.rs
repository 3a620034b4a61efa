//! `LedgerEvent` (L1): immutable, event-sourced records of holds, commits,
//! cancels and adjusts. Validated at `write_event` (L5); unknown types and
//! statuses read back from old data are kept as they are.

use crate::error::{Error, Result};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventType {
    PrecheckHold,
    Commit,
    Cancel,
    Adjust,
    /// A reservation waited for a rate limit (R2): scope, limit and the
    /// wait in `timing`.
    RateLimitWait,
    /// ... and was tried again after its wait.
    RateLimitRetry,
    /// Read from a database written by another version; never written by us.
    Other(String),
}

impl EventType {
    pub fn parse(s: &str) -> Self {
        match s {
            "precheck_hold" => EventType::PrecheckHold,
            "commit" => EventType::Commit,
            "cancel" => EventType::Cancel,
            "adjust" => EventType::Adjust,
            "rate_limit_wait" => EventType::RateLimitWait,
            "rate_limit_retry" => EventType::RateLimitRetry,
            other => EventType::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            EventType::PrecheckHold => "precheck_hold",
            EventType::Commit => "commit",
            EventType::Cancel => "cancel",
            EventType::Adjust => "adjust",
            EventType::RateLimitWait => "rate_limit_wait",
            EventType::RateLimitRetry => "rate_limit_retry",
            EventType::Other(s) => s,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventStatus {
    Ok,
    Error,
    Cancelled,
    Other(String),
}

impl EventStatus {
    pub fn parse(s: &str) -> Self {
        match s {
            "ok" => EventStatus::Ok,
            "error" => EventStatus::Error,
            "cancelled" => EventStatus::Cancelled,
            other => EventStatus::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            EventStatus::Ok => "ok",
            EventStatus::Error => "error",
            EventStatus::Cancelled => "cancelled",
            EventStatus::Other(s) => s,
        }
    }
}

/// One ledger event, money in nano-USD (L11).
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerEvent {
    /// Idempotency key: a second event with the same id is ignored.
    pub id: String,
    pub event_type: EventType,
    pub trace_id: String,
    pub provider: String,
    pub model: String,
    /// Open map: `tokens_in`, `tokens_out`, `cached_tokens`,
    /// `reasoning_tokens`, `images`, `audio_seconds`, ...
    pub usage: Map<String, Value>,
    pub cost_est_nusd: i64,
    /// For an adjust, the correction (may be negative).
    pub cost_actual_nusd: Option<i64>,
    pub status: EventStatus,
    /// `ttft_ms`, `total_ms`, ...
    pub timing: Map<String, Value>,
    /// Epoch seconds (float), as in the seed.
    pub timestamp: f64,
    pub profile_id: Option<String>,
}

pub fn new_event_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

impl LedgerEvent {
    /// An event with defaults: a fresh UUIDv7 id, status ok, no usage.
    pub fn new(
        event_type: EventType,
        trace_id: &str,
        provider: &str,
        model: &str,
        timestamp: f64,
    ) -> Self {
        LedgerEvent {
            id: new_event_id(),
            event_type,
            trace_id: trace_id.to_string(),
            provider: provider.to_string(),
            model: model.to_string(),
            usage: Map::new(),
            cost_est_nusd: 0,
            cost_actual_nusd: None,
            status: EventStatus::Ok,
            timing: Map::new(),
            timestamp,
            profile_id: None,
        }
    }

    /// Rewrites `usage` in the one usage vocabulary (U1, U2): any provider
    /// SDK's shape (or a whole response) becomes `input`, `output`,
    /// `cache_read`, ... A non-empty usage with no token count we know is
    /// an error naming its keys; an empty one means "no usage given".
    pub fn normalize_usage(&mut self) -> Result<()> {
        if self.usage.is_empty() {
            return Ok(());
        }
        let read = crate::usage::TokenUsage::read(&Value::Object(std::mem::take(&mut self.usage)))?;
        if self.model.is_empty() {
            if let Some(m) = read.model {
                self.model = m;
            }
        }
        if let Value::Object(m) = read.usage.to_json() {
            self.usage = m;
        }
        Ok(())
    }

    /// Write-time validation (L5): the error names the field.
    pub fn validate(&self) -> Result<()> {
        if self.id.is_empty() {
            return Err(Error::invalid("id must be a non-empty string"));
        }
        if let EventType::Other(t) = &self.event_type {
            return Err(Error::invalid(format!(
                "event_type must be precheck_hold, commit, cancel, adjust, rate_limit_wait or rate_limit_retry, got {t:?}"
            )));
        }
        let rate_event = matches!(
            self.event_type,
            EventType::RateLimitWait | EventType::RateLimitRetry
        );
        // A rate-limit event's status names its limit and scope.
        if let (EventStatus::Other(s), false) = (&self.status, rate_event) {
            return Err(Error::invalid(format!(
                "status must be ok, error or cancelled, got {s:?}"
            )));
        }
        if self.trace_id.is_empty() {
            return Err(Error::invalid("trace_id must be a non-empty string"));
        }
        if matches!(self.event_type, EventType::PrecheckHold | EventType::Commit) {
            if self.provider.is_empty() {
                return Err(Error::invalid("provider must be a non-empty string"));
            }
            if self.model.is_empty() {
                return Err(Error::invalid("model must be a non-empty string"));
            }
        }
        use crate::limits::{check_name, MAX_EVENT_NUSD, MAX_TIMESTAMP_S};
        check_name("id", &self.id)?;
        check_name("trace_id", &self.trace_id)?;
        check_name("provider", &self.provider)?;
        check_name("model", &self.model)?;
        if let Some(p) = &self.profile_id {
            check_name("profile_id", p)?;
        }
        if self.cost_est_nusd < 0 {
            return Err(Error::invalid("cost_est_usd must be >= 0"));
        }
        let max_usd = crate::ledger::money::nano_to_usd(MAX_EVENT_NUSD);
        for (field, v) in [
            ("cost_est_usd", Some(self.cost_est_nusd)),
            ("cost_actual_usd", self.cost_actual_nusd),
        ] {
            if v.is_some_and(|n| n.unsigned_abs() > MAX_EVENT_NUSD as u64) {
                return Err(Error::invalid(format!(
                    "{field} must be at most {max_usd} USD for one event, got {}",
                    crate::ledger::money::nano_to_usd(v.unwrap_or(0))
                )));
            }
        }
        if let Some(a) = self.cost_actual_nusd {
            if a < 0 && self.event_type != EventType::Adjust {
                return Err(Error::invalid(
                    "cost_actual_usd must be >= 0 (only an adjust may be negative)",
                ));
            }
        }
        if !self.timestamp.is_finite() || self.timestamp <= 0.0 {
            return Err(Error::invalid(format!(
                "timestamp must be positive epoch seconds, got {}",
                self.timestamp
            )));
        }
        if self.timestamp > MAX_TIMESTAMP_S {
            return Err(Error::invalid(format!(
                "timestamp is epoch seconds; {} looks like milliseconds (the maximum is {MAX_TIMESTAMP_S:e} s, the year 5138)",
                self.timestamp
            )));
        }
        for (k, v) in &self.usage {
            if matches!(k.as_str(), "service_tier" | "inference_geo" | "speed") && v.is_string() {
                continue;
            }
            match v.as_f64() {
                Some(x) if x.is_finite() && x >= 0.0 => {}
                _ => {
                    return Err(Error::invalid(format!(
                        "usage.{k} must be a number >= 0, got {v}"
                    )))
                }
            }
        }
        for (k, v) in &self.timing {
            if !v.is_number() && !v.is_null() {
                return Err(Error::invalid(format!(
                    "timing.{k} must be a number, got {v}"
                )));
            }
        }
        Ok(())
    }

    pub fn ts_ms(&self) -> i64 {
        (self.timestamp * 1000.0).round() as i64
    }

    pub fn usage_u64(&self, key: &str) -> u64 {
        self.usage
            .get(key)
            .and_then(Value::as_f64)
            .map_or(0, |v| v.max(0.0) as u64)
    }

    pub fn usage_f64(&self, key: &str) -> f64 {
        self.usage.get(key).and_then(Value::as_f64).unwrap_or(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l5_validation_names_the_field() {
        let ok = LedgerEvent::new(EventType::Commit, "t", "p", "m", 1.0);
        ok.validate().unwrap();
        type Mutation = Box<dyn Fn(&mut LedgerEvent)>;
        let cases: Vec<(Mutation, &str)> = vec![
            (
                Box::new(|e| e.event_type = EventType::Other("bogus".into())),
                "event_type",
            ),
            (
                Box::new(|e| e.status = EventStatus::Other("meh".into())),
                "status",
            ),
            (Box::new(|e| e.trace_id.clear()), "trace_id"),
            (Box::new(|e| e.model.clear()), "model"),
            (Box::new(|e| e.cost_est_nusd = -1), "cost_est_usd"),
            (
                Box::new(|e| e.cost_actual_nusd = Some(-1)),
                "cost_actual_usd",
            ),
            (Box::new(|e| e.timestamp = f64::NAN), "timestamp"),
            (
                Box::new(|e| {
                    e.usage.insert("tokens_in".into(), Value::from(-3));
                }),
                "usage.tokens_in",
            ),
            (
                Box::new(|e| {
                    e.usage.insert("tokens_in".into(), Value::from("many"));
                }),
                "usage.tokens_in",
            ),
        ];
        for (mutate, field) in cases {
            let mut e = ok.clone();
            mutate(&mut e);
            let err = e.validate().unwrap_err().to_string();
            assert!(err.contains(field), "{field}: {err}");
        }
        let mut adj = LedgerEvent::new(EventType::Adjust, "t", "", "", 1.0);
        adj.cost_actual_nusd = Some(-5);
        adj.validate().unwrap();
    }

    #[test]
    fn l1_ids_are_uuid_v7() {
        let id = new_event_id();
        assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 7);
    }
}
