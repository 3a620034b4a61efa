//! The JSON forms of ledger events and options, for hosts that speak JSON
//! (the C ABI, the CLI). Money is USD floats here, nano-USD inside (L11).

use crate::error::{Error, Result};
use crate::ledger::event::{new_event_id, EventStatus, EventType, LedgerEvent};
use crate::ledger::money::{nano_to_usd, usd_to_nano};
use crate::ledger::{BudgetMode, LedgerOptions, PriceRegistry};
use serde_json::{json, Map, Value};
use std::sync::Arc;

fn opt_str(o: &Map<String, Value>, key: &str) -> Result<Option<String>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(Error::invalid(format!("{key} must be a string, got {v}"))),
    }
}

fn opt_f64(o: &Map<String, Value>, key: &str) -> Result<Option<f64>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(v) => Err(Error::invalid(format!("{key} must be a number, got {v}"))),
    }
}

fn opt_map(o: &Map<String, Value>, key: &str) -> Result<Map<String, Value>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(v) => Err(Error::invalid(format!("{key} must be an object, got {v}"))),
    }
}

impl LedgerEvent {
    /// Reads `{"event_type","trace_id","provider","model","usage"?,
    /// "cost_est_usd"?,"cost_actual_usd"?,"status"?,"timing"?,"timestamp"?,
    /// "profile_id"?,"id"?}`; a missing timestamp is `now_s`.
    pub fn from_json_str(text: &str, now_s: f64) -> Result<LedgerEvent> {
        let v: Value = serde_json::from_str(text)
            .map_err(|e| Error::invalid(format!("event is not valid JSON: {e}")))?;
        let o = v
            .as_object()
            .ok_or_else(|| Error::invalid("event must be a JSON object"))?;
        let req = |k: &str| -> Result<String> {
            opt_str(o, k)?.ok_or_else(|| Error::invalid(format!("{k} is missing")))
        };
        let ev = LedgerEvent {
            id: opt_str(o, "id")?.unwrap_or_else(new_event_id),
            event_type: EventType::parse(&req("event_type")?),
            trace_id: req("trace_id")?,
            provider: opt_str(o, "provider")?.unwrap_or_default(),
            model: opt_str(o, "model")?.unwrap_or_default(),
            usage: opt_map(o, "usage")?,
            cost_est_nusd: usd_to_nano(opt_f64(o, "cost_est_usd")?.unwrap_or(0.0), "cost_est_usd")?,
            cost_actual_nusd: opt_f64(o, "cost_actual_usd")?
                .map(|x| usd_to_nano(x, "cost_actual_usd"))
                .transpose()?,
            status: EventStatus::parse(&opt_str(o, "status")?.unwrap_or_else(|| "ok".into())),
            timing: opt_map(o, "timing")?,
            timestamp: opt_f64(o, "timestamp")?.unwrap_or(now_s),
            profile_id: opt_str(o, "profile_id")?,
        };
        // Any provider SDK's usage (nested details and all) becomes the one
        // vocabulary before the flat-number check.
        let mut ev = ev;
        ev.normalize_usage()?;
        ev.validate()?;
        Ok(ev)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "event_type": self.event_type.as_str(),
            "trace_id": self.trace_id,
            "provider": self.provider,
            "model": self.model,
            "usage": self.usage,
            "cost_est_usd": nano_to_usd(self.cost_est_nusd),
            "cost_actual_usd": self.cost_actual_nusd.map(nano_to_usd),
            "status": self.status.as_str(),
            "timing": self.timing,
            "timestamp": self.timestamp,
            "profile_id": self.profile_id,
        })
    }
}

/// Seconds (a number >= 0, at most 366 days) as milliseconds.
pub(crate) fn seconds_ms(k: &str, v: &Value) -> Result<i64> {
    match v.as_f64() {
        Some(s) if s.is_finite() && (0.0..=366.0 * 86_400.0).contains(&s) => {
            Ok((s * 1000.0).round() as i64)
        }
        _ => Err(Error::invalid(format!(
            "option {k} must be a number of seconds >= 0 and at most 366 days, got {v}"
        ))),
    }
}

impl LedgerOptions {
    /// camelCase options: `mode`, `batchSize`, `flushIntervalMs`,
    /// `dailyBudgetUsd`, `timezone`, `holdTtlS`, `pricesPath`,
    /// `closeDeadlineMs`. `None`/empty/`null` = defaults; unknown keys and
    /// wrong types are errors naming them.
    pub fn from_json(text: Option<&str>) -> Result<LedgerOptions> {
        let mut o = LedgerOptions::default();
        let t = match text.map(str::trim) {
            None | Some("") | Some("null") => return Ok(o),
            Some(t) => t,
        };
        let v: Value = serde_json::from_str(t)
            .map_err(|e| Error::invalid(format!("options are not valid JSON: {e}")))?;
        let m = v
            .as_object()
            .ok_or_else(|| Error::invalid("options must be a JSON object"))?;
        let uint = |k: &str, v: &Value| {
            v.as_u64().ok_or_else(|| {
                Error::invalid(format!(
                    "option {k} must be a non-negative integer, got {v}"
                ))
            })
        };
        for (k, val) in m {
            if val.is_null() {
                continue;
            }
            match k.as_str() {
                "mode" => {
                    o.mode = BudgetMode::parse(val.as_str().ok_or_else(|| {
                        Error::invalid(format!("option mode must be a string, got {val}"))
                    })?)?
                }
                "batchSize" => o.batch_size = uint(k, val)? as usize,
                "flushIntervalMs" => o.flush_interval_ms = uint(k, val)?,
                "closeDeadlineMs" => o.close_deadline_ms = uint(k, val)?,
                "holdTtlS" => {
                    let s = val.as_f64().ok_or_else(|| {
                        Error::invalid(format!("option holdTtlS must be a number, got {val}"))
                    })?;
                    o.hold_ttl_ms = (s * 1000.0).round() as i64;
                }
                "dailyBudgetUsd" => {
                    let usd = val.as_f64().ok_or_else(|| {
                        Error::invalid(format!("option dailyBudgetUsd must be a number, got {val}"))
                    })?;
                    o.daily_budget_nusd = Some(usd_to_nano(usd, "dailyBudgetUsd")?);
                }
                "timezone" => {
                    o.timezone = val
                        .as_str()
                        .ok_or_else(|| Error::invalid(format!("option timezone must be a string, got {val}")))?
                        .to_string()
                }
                "pricesPath" => {
                    let p = val
                        .as_str()
                        .ok_or_else(|| Error::invalid(format!("option pricesPath must be a string, got {val}")))?;
                    let own = PriceRegistry::load_file(std::path::Path::new(p))?;
                    o.prices = Some(Arc::new(PriceRegistry::bundled().overlaid(&own)));
                }
                "allowUnpriced" => {
                    o.allow_unpriced = val.as_bool().ok_or_else(|| {
                        Error::invalid(format!("option allowUnpriced must be a boolean, got {val}"))
                    })?
                }
                "rateLimits" => o.rate.limits = super::rate::limits_from_json(val)?,
                "waitOnRateLimit" => {
                    o.rate.wait = val.as_bool().ok_or_else(|| {
                        Error::invalid(format!("option waitOnRateLimit must be a boolean, got {val}"))
                    })?
                }
                "maxWaitTimeoutS" => o.rate.max_wait_ms = seconds_ms(k, val)?,
                "retryBudgetS" => o.rate.retry_budget_ms = seconds_ms(k, val)?,
                "otlp" => o.otlp = crate::telemetry::OtlpOptions::from_json(val)?,
                other => {
                    return Err(Error::invalid(format!(
                        "unknown ledger option {other:?}; known: mode, batchSize, flushIntervalMs, dailyBudgetUsd, timezone, holdTtlS, pricesPath, allowUnpriced, closeDeadlineMs, rateLimits, waitOnRateLimit, maxWaitTimeoutS, retryBudgetS, otlp"
                    )))
                }
            }
        }
        Ok(o)
    }
}

/// A reservation as JSON (C and Node): `{"traceId", "provider", "model",
/// "estimateUsd", "profileId"?, "inputTokens"?, "maxTokens"?,
/// "estimateTokens"?}`; unknown keys and wrong types are errors naming
/// them.
pub fn reserve_json(l: &super::Ledger, text: &str) -> Result<super::Hold> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| Error::invalid(format!("the reservation is not valid JSON: {e}")))?;
    let m = v
        .as_object()
        .ok_or_else(|| Error::invalid("the reservation must be a JSON object"))?;
    const KEYS: [&str; 8] = [
        "traceId",
        "provider",
        "model",
        "estimateUsd",
        "profileId",
        "inputTokens",
        "maxTokens",
        "estimateTokens",
    ];
    if let Some(k) = m.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(Error::invalid(format!(
            "unknown reservation field {}; known: {}",
            crate::limits::quote(k),
            KEYS.join(", ")
        )));
    }
    let text_of = |k: &str| -> Result<&str> {
        m.get(k)
            .and_then(Value::as_str)
            .ok_or_else(|| Error::invalid(format!("{k} must be a string")))
    };
    let count = |k: &str| -> Result<Option<u64>> {
        match m.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| Error::invalid(format!("{k} must be an integer >= 0, got {v}"))),
        }
    };
    let usd = m
        .get("estimateUsd")
        .and_then(Value::as_f64)
        .ok_or_else(|| Error::invalid("estimateUsd must be a number"))?;
    let profile = match m.get("profileId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => return Err(Error::invalid("profileId must be a string")),
    };
    l.reserve_with(&super::ReserveRequest {
        trace_id: text_of("traceId")?,
        provider: text_of("provider")?,
        model: text_of("model")?,
        estimate_nusd: usd_to_nano(usd, "estimate_usd")?,
        profile_id: profile,
        input_tokens: count("inputTokens")?,
        max_tokens: count("maxTokens")?,
        estimate_tokens: count("estimateTokens")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l1_event_json_roundtrip_and_defaults() {
        let ev = LedgerEvent::from_json_str(
            r#"{"event_type":"commit","trace_id":"t","provider":"openai","model":"gpt-4o","usage":{"tokens_in":3},"cost_actual_usd":0.04}"#,
            1_736_000_000.5,
        )
        .unwrap();
        assert_eq!(ev.timestamp, 1_736_000_000.5);
        assert_eq!(ev.cost_actual_nusd, Some(40_000_000));
        assert_eq!(ev.status, EventStatus::Ok);
        assert_eq!(uuid::Uuid::parse_str(&ev.id).unwrap().get_version_num(), 7);
        let back = LedgerEvent::from_json_str(&ev.to_json().to_string(), 0.0).unwrap();
        assert_eq!(back, ev);
        for (bad, field) in [
            (r#"{"trace_id":"t"}"#, "event_type"),
            (r#"{"event_type":"commit"}"#, "trace_id"),
            (r#"{"event_type":"refund","trace_id":"t"}"#, "event_type"),
            (
                r#"{"event_type":"commit","trace_id":"t","provider":"p","model":"m","cost_est_usd":"1"}"#,
                "cost_est_usd",
            ),
            (
                r#"{"event_type":"commit","trace_id":"t","provider":"p","model":"m","usage":[1]}"#,
                "usage",
            ),
        ] {
            let e = LedgerEvent::from_json_str(bad, 1.0)
                .unwrap_err()
                .to_string();
            assert!(e.contains(field), "{bad}: {e}");
        }
    }

    #[test]
    fn ledger_options_json() {
        let o = LedgerOptions::from_json(Some(
            r#"{"mode":"strict_budget","batchSize":5,"flushIntervalMs":50,"dailyBudgetUsd":2.5,"timezone":"Asia/Tokyo","holdTtlS":1.5}"#,
        ))
        .unwrap();
        assert_eq!(o.mode, BudgetMode::StrictBudget);
        assert_eq!(o.daily_budget_nusd, Some(2_500_000_000));
        assert_eq!(o.hold_ttl_ms, 1500);
        let e = LedgerOptions::from_json(Some(r#"{"budget":1}"#))
            .unwrap_err()
            .to_string();
        assert!(e.contains("budget"));
        let e = LedgerOptions::from_json(Some(r#"{"mode":"yolo"}"#))
            .unwrap_err()
            .to_string();
        assert!(e.contains("mode"));
    }
}
