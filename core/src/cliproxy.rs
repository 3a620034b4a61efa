//! The CLIProxyAPI usage statistics format (seed 003's `usage.json`, G6):
//! a snapshot of per-API, per-model request details, and its export
//! wrapper `{"version": 1, "exported_at": "<RFC 3339>", "usage": snapshot}`.
//!
//! Reading turns each detail into a request [`Event`]: `bridge` is the API
//! name, `model` the model, `failed` the status, `latency_ms` the duration,
//! and `source`, `auth_index` and any other detail fields go under
//! `cliproxy` so an export gives them back. The file's counters are
//! ignored (they are rebuilt from the details). Each detail's id is derived
//! from the G6 dedup key, so a detail already imported is skipped.

use crate::error::{Error, Result};
use crate::eventlog::{id, rfc3339, Event, EventKind, Status, Tokens};
use crate::report::grouped::model_of;
use crate::report::zone::Zone;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The details of a CLIProxyAPI file as events, with what was skipped.
#[derive(Debug, Default)]
pub struct Parsed {
    pub events: Vec<Event>,
    /// Details that are not objects or have no valid timestamp.
    pub malformed: u64,
    /// Details under a blank API name (CLIProxyAPI skips those too).
    pub blank_api: u64,
}

/// A detail's `total_tokens`, where 0 means input+output+reasoning, or if
/// that is 0 too, input+output+reasoning+cached.
pub fn normalized_total(t: &Tokens) -> u64 {
    if t.total != 0 {
        return t.total;
    }
    let sum = t.input.saturating_add(t.output).saturating_add(t.reasoning);
    if sum != 0 {
        sum
    } else {
        sum.saturating_add(t.cache_read)
    }
}

/// The G6 dedup key:
/// `api|model|timestamp (UTC, RFC3339Nano)|source|auth_index|failed|input|output|reasoning|cached|total`.
#[allow(clippy::too_many_arguments)]
pub fn dedup_key(
    api: &str,
    model: &str,
    ts_ns: i64,
    source: &str,
    auth_index: &str,
    failed: bool,
    t: &Tokens,
) -> String {
    format!(
        "{api}|{model}|{}|{source}|{auth_index}|{failed}|{}|{}|{}|{}|{}",
        rfc3339::format_go_nano(ts_ns),
        t.input,
        t.output,
        t.reasoning,
        t.cache_read,
        t.total
    )
}

/// Parses an export (`version` 0 or 1; anything else is refused) or a
/// bare snapshot.
pub fn parse(text: &str) -> Result<Parsed> {
    let v: Value = serde_json::from_str(text).map_err(|e| {
        Error::invalid(format!(
            "not a CLIProxyAPI usage export (invalid JSON: {e})"
        ))
    })?;
    let Value::Object(root) = v else {
        return Err(Error::invalid(
            "not a CLIProxyAPI usage export: the file is not a JSON object",
        ));
    };
    let snapshot = if let Some(usage) = root.get("usage") {
        match root.get("version") {
            None | Some(Value::Null) => {}
            Some(Value::Number(n)) if n.as_u64() == Some(0) || n.as_u64() == Some(1) => {}
            Some(other) => {
                return Err(Error::invalid(format!(
                    "unsupported CLIProxyAPI export version {other}: versions 0 and 1 are supported"
                )))
            }
        }
        usage
    } else if root.contains_key("apis") {
        &Value::Object(root.clone())
    } else {
        return Err(Error::invalid(
            "not a CLIProxyAPI usage export: no \"usage\" (export) or \"apis\" (snapshot) key",
        ));
    };
    let mut out = Parsed::default();
    let Some(apis) = snapshot.get("apis").and_then(Value::as_object) else {
        return Ok(out);
    };
    for (api, a) in apis {
        let models = a.get("models").and_then(Value::as_object);
        let count = || {
            models.map_or(0, |m| {
                m.values()
                    .filter_map(|x| x.get("details").and_then(Value::as_array))
                    .map(|d| d.len() as u64)
                    .sum()
            })
        };
        if api.trim().is_empty() {
            out.blank_api += count();
            continue;
        }
        for (model, m) in models.into_iter().flatten() {
            let model = if model.trim().is_empty() {
                "unknown"
            } else {
                model
            };
            let details = m.get("details").and_then(Value::as_array);
            for d in details.into_iter().flatten() {
                match detail(api, model, d) {
                    Some(e) => out.events.push(e),
                    None => out.malformed += 1,
                }
            }
        }
    }
    Ok(out)
}

fn detail(api: &str, model: &str, d: &Value) -> Option<Event> {
    let o = d.as_object()?;
    let ts_ns = rfc3339::parse_ns(o.get("timestamp")?.as_str()?)?;
    let text = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let (source, auth_index) = (text("source"), text("auth_index"));
    let tok = o.get("tokens").and_then(Value::as_object);
    let n = |k: &str| {
        tok.and_then(|t| t.get(k))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    let mut tokens = Tokens {
        input: n("input_tokens"),
        output: n("output_tokens"),
        reasoning: n("reasoning_tokens"),
        cache_read: n("cached_tokens"),
        cache_write: 0,
        total: n("total_tokens"),
    };
    tokens.total = normalized_total(&tokens);
    let failed = o.get("failed").and_then(Value::as_bool).unwrap_or(false);
    let key = dedup_key(api, model, ts_ns, &source, &auth_index, failed, &tokens);
    let mut extra = Map::new();
    for (k, v) in o {
        if !matches!(k.as_str(), "timestamp" | "tokens" | "failed" | "latency_ms") {
            extra.insert(k.clone(), v.clone());
        }
    }
    let mut top = Map::new();
    top.insert("cliproxy".into(), Value::Object(extra));
    Some(Event {
        id: id::derived_v7(ts_ns.div_euclid(1_000_000), &key),
        occurred_at_ns: ts_ns,
        kind: EventKind::Request,
        segment_id: None,
        source: None,
        records: Vec::new(),
        bridge: Some(api.to_string()),
        provider: None,
        model: Some(model.to_string()),
        tokens: Some(tokens),
        status: Some(if failed {
            Status::Error
        } else {
            Status::Success
        }),
        duration_ms: o.get("latency_ms").and_then(Value::as_f64),
        cost_nano_usd: None,
        extra: top,
    })
}

#[derive(Default)]
struct Counter {
    requests: u64,
    tokens: u64,
}

/// The export `{"version": 1, "exported_at", "usage"}` of the request
/// events, days and hours of the counters in `zone` (CLIProxyAPI uses the
/// writer's local time), detail timestamps at that zone's offset.
pub fn export(events: &[Event], zone: Zone, exported_at_ns: i64) -> Value {
    let (mut total, mut ok, mut failed_n, mut tokens_n) = (0u64, 0u64, 0u64, 0u64);
    // api -> model -> (counter, details)
    let mut apis: BTreeMap<String, BTreeMap<String, (Counter, Vec<Value>)>> = BTreeMap::new();
    let mut by_day: BTreeMap<String, Counter> = BTreeMap::new();
    let mut by_hour: BTreeMap<String, Counter> = BTreeMap::new();
    for e in events.iter().filter(|e| e.kind == EventKind::Request) {
        let api = e.bridge.clone().unwrap_or_else(|| "unknown".into());
        let model = model_of(e.bridge.as_deref(), e.model.as_deref()).to_string();
        let t = e.tokens.unwrap_or_default();
        let t_total = normalized_total(&t);
        let failed = e.status == Some(Status::Error);
        let cp = e.extra.get("cliproxy").and_then(Value::as_object);
        let mut d = Map::new();
        let off = zone.offset_at(e.occurred_at_ns);
        d.insert(
            "timestamp".into(),
            rfc3339::format_ns_at_offset(e.occurred_at_ns, off).into(),
        );
        for k in ["source", "auth_index"] {
            let v = cp
                .and_then(|c| c.get(k))
                .cloned()
                .unwrap_or_else(|| "".into());
            d.insert(k.into(), v);
        }
        let mut tk = Map::new();
        tk.insert("input_tokens".into(), t.input.into());
        tk.insert("output_tokens".into(), t.output.into());
        tk.insert("reasoning_tokens".into(), t.reasoning.into());
        tk.insert("cached_tokens".into(), t.cache_read.into());
        tk.insert("total_tokens".into(), t_total.into());
        d.insert("tokens".into(), Value::Object(tk));
        d.insert("failed".into(), failed.into());
        if let Some(ms) = e.duration_ms {
            d.insert("latency_ms".into(), (ms.round() as i64).into());
        }
        for (k, v) in cp.into_iter().flatten() {
            d.entry(k.clone()).or_insert_with(|| v.clone());
        }
        let slot = apis.entry(api).or_default().entry(model).or_default();
        slot.0.requests += 1;
        slot.0.tokens = slot.0.tokens.saturating_add(t_total);
        slot.1.push(Value::Object(d));
        total += 1;
        tokens_n = tokens_n.saturating_add(t_total);
        if failed {
            failed_n += 1;
        } else {
            ok += 1;
        }
        let local = rfc3339::format_local(e.occurred_at_ns, off, false);
        for (map, key) in [(&mut by_day, &local[..10]), (&mut by_hour, &local[11..13])] {
            let c = map.entry(key.to_string()).or_default();
            c.requests += 1;
            c.tokens = c.tokens.saturating_add(t_total);
        }
    }
    let mut apis_json = Map::new();
    for (api, models) in apis {
        let (mut req, mut tok) = (0u64, 0u64);
        let mut mj = Map::new();
        for (model, (c, details)) in models {
            req += c.requests;
            tok = tok.saturating_add(c.tokens);
            mj.insert(
                model,
                serde_json::json!({"total_requests": c.requests, "total_tokens": c.tokens, "details": details}),
            );
        }
        apis_json.insert(
            api,
            serde_json::json!({"total_requests": req, "total_tokens": tok, "models": mj}),
        );
    }
    let counts = |m: &BTreeMap<String, Counter>, f: fn(&Counter) -> u64| -> Value {
        Value::Object(m.iter().map(|(k, c)| (k.clone(), f(c).into())).collect())
    };
    serde_json::json!({
        "version": 1,
        "exported_at": rfc3339::format_ns_at_offset(exported_at_ns, zone.offset_at(exported_at_ns)),
        "usage": {
            "total_requests": total,
            "success_count": ok,
            "failure_count": failed_n,
            "total_tokens": tokens_n,
            "apis": apis_json,
            "requests_by_day": counts(&by_day, |c| c.requests),
            "requests_by_hour": counts(&by_hour, |c| c.requests),
            "tokens_by_day": counts(&by_day, |c| c.tokens),
            "tokens_by_hour": counts(&by_hour, |c| c.tokens),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g6_total_tokens_zero_is_normalized() {
        let t = |i, o, r, c, tot| Tokens {
            input: i,
            output: o,
            reasoning: r,
            cache_read: c,
            cache_write: 0,
            total: tot,
        };
        assert_eq!(normalized_total(&t(1, 2, 3, 4, 50)), 50);
        assert_eq!(normalized_total(&t(1, 2, 3, 4, 0)), 6);
        assert_eq!(normalized_total(&t(0, 0, 0, 4, 0)), 4);
    }

    #[test]
    fn g6_key_uses_utc_rfc3339nano_and_ignores_latency() {
        let ts = rfc3339::parse_ns("2025-03-01T10:00:00.500+01:00").unwrap();
        let k = dedup_key(
            "POST /v1/chat",
            "gpt",
            ts,
            "me@x",
            "0",
            false,
            &Tokens {
                input: 1,
                output: 2,
                reasoning: 0,
                cache_read: 0,
                cache_write: 0,
                total: 3,
            },
        );
        assert_eq!(
            k,
            "POST /v1/chat|gpt|2025-03-01T09:00:00.5Z|me@x|0|false|1|2|0|0|3"
        );
        let d = |lat: u64| {
            serde_json::json!({"timestamp": "2025-03-01T10:00:00.5+01:00", "source": "me@x",
                "auth_index": "0", "tokens": {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3},
                "failed": false, "latency_ms": lat})
        };
        let a = detail("POST /v1/chat", "gpt", &d(10)).unwrap();
        let b = detail("POST /v1/chat", "gpt", &d(99)).unwrap();
        assert_eq!(a.id, b.id);
        assert_eq!(a.id, id::derived_v7(ts / 1_000_000, &k));
    }

    #[test]
    fn g6_versions_other_than_0_and_1_are_refused() {
        for v in ["0", "1"] {
            let text = format!(
                r#"{{"version": {v}, "exported_at": "2025-01-01T00:00:00Z", "usage": {{"apis": {{}}}}}}"#
            );
            assert!(parse(&text).is_ok(), "{v}");
        }
        for v in ["2", "\"1\"", "-1"] {
            let text = format!(
                r#"{{"version": {v}, "exported_at": "2025-01-01T00:00:00Z", "usage": {{}}}}"#
            );
            let e = parse(&text).unwrap_err().to_string();
            assert!(
                e.contains("unsupported CLIProxyAPI export version"),
                "{v}: {e}"
            );
            assert!(e.contains("0 and 1"), "{e}");
        }
        let e = parse("[]").unwrap_err().to_string();
        assert!(e.contains("not a CLIProxyAPI usage export"), "{e}");
    }
}
