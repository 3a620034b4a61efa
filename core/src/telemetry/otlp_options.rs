//! Options of the OTLP/HTTP exporter (O2, docs/telemetry.md "OTLP/HTTP
//! exporter"): what a Rust host passes to
//! [`crate::telemetry::otlp::OtlpExporter::install`], and the `otlp` key of
//! a tracker's or a ledger's options JSON. Compiled in every build, so a
//! library built without the `otlp` cargo feature still reads the key and
//! can say why it cannot act on it.

use crate::error::{Error, Result};
use serde_json::Value;

/// Where the default endpoint points: a collector on this machine, the
/// OTLP/HTTP port.
pub const DEFAULT_ENDPOINT: &str = "http://localhost:4318/v1/metrics";
/// The OTel SDKs' default export interval.
pub const DEFAULT_INTERVAL_MS: u64 = 60_000;
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;

/// What the exporter sends where. `None` fields fall back to the standard
/// environment variables, then to the OTel defaults.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OtlpOptions {
    /// The full metrics URL (used as it is, like
    /// `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`).
    pub endpoint: Option<String>,
    /// Extra request headers (e.g. an API key), over those of
    /// `OTEL_EXPORTER_OTLP_HEADERS` / `OTEL_EXPORTER_OTLP_METRICS_HEADERS`.
    pub headers: Vec<(String, String)>,
    /// Export period (`OTEL_METRIC_EXPORT_INTERVAL`, else 60 s).
    pub interval_ms: Option<u64>,
    /// Per-request timeout (`OTEL_EXPORTER_OTLP_TIMEOUT`, else 10 s).
    pub timeout_ms: Option<u64>,
    /// `service.name` of the resource (`OTEL_SERVICE_NAME`, else
    /// `unknown_service:<executable>`).
    pub service_name: Option<String>,
    /// `gen_ai.operation.name` (default `chat`).
    pub operation_name: Option<String>,
    /// Also the `gen_ai.client.inference.usage.*` counters.
    pub inference_usage_counters: bool,
    /// Record tracker calls (default true).
    pub tracker: bool,
    /// Record ledger commits and adjusts (default true).
    pub ledger: bool,
}

impl OtlpOptions {
    /// Every default: the environment decides the endpoint.
    pub fn new() -> Self {
        OtlpOptions {
            tracker: true,
            ledger: true,
            ..Default::default()
        }
    }

    /// Parses the `otlp` value of an options JSON: `true` (every default)
    /// or an object of `endpoint`, `headers` (object of strings),
    /// `intervalMs`, `timeoutMs`, `serviceName`, `operationName`,
    /// `inferenceUsageCounters`, `sources` (`["tracker", "ledger"]`).
    /// `false` is `None`: no exporter.
    pub fn from_json(v: &Value) -> Result<Option<Self>> {
        let mut o = OtlpOptions::new();
        let obj = match v {
            Value::Bool(false) | Value::Null => return Ok(None),
            Value::Bool(true) => return Ok(Some(o)),
            Value::Object(m) => m,
            other => {
                return Err(Error::invalid(format!(
                    "option otlp must be true, false or an object, got {other}"
                )))
            }
        };
        let string = |k: &str, v: &Value| -> Result<String> {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| Error::invalid(format!("option otlp.{k} must be a string, got {v}")))
        };
        let ms = |k: &str, v: &Value| -> Result<u64> {
            match v.as_u64() {
                Some(n) if n >= 1 => Ok(n),
                _ => Err(Error::invalid(format!(
                    "option otlp.{k} must be an integer number of milliseconds >= 1, got {v}"
                ))),
            }
        };
        for (k, val) in obj {
            if val.is_null() {
                continue;
            }
            match k.as_str() {
                "endpoint" => o.endpoint = Some(string(k, val)?),
                "serviceName" => o.service_name = Some(string(k, val)?),
                "operationName" => o.operation_name = Some(string(k, val)?),
                "intervalMs" => o.interval_ms = Some(ms(k, val)?),
                "timeoutMs" => o.timeout_ms = Some(ms(k, val)?),
                "inferenceUsageCounters" => {
                    o.inference_usage_counters = val.as_bool().ok_or_else(|| {
                        Error::invalid(format!(
                            "option otlp.inferenceUsageCounters must be a boolean, got {val}"
                        ))
                    })?
                }
                "headers" => {
                    let m = val.as_object().ok_or_else(|| {
                        Error::invalid(format!(
                            "option otlp.headers must be an object of strings, got {val}"
                        ))
                    })?;
                    for (name, value) in m {
                        o.headers
                            .push((name.clone(), string(&format!("headers.{name}"), value)?));
                    }
                }
                "sources" => {
                    let list = val.as_array().ok_or_else(|| {
                        Error::invalid(format!(
                            "option otlp.sources must be an array of \"tracker\" and/or \"ledger\", got {val}"
                        ))
                    })?;
                    o.tracker = false;
                    o.ledger = false;
                    for s in list {
                        match s.as_str() {
                            Some("tracker") => o.tracker = true,
                            Some("ledger") => o.ledger = true,
                            _ => {
                                return Err(Error::invalid(format!(
                                    "option otlp.sources must hold \"tracker\" and/or \"ledger\", got {s}"
                                )))
                            }
                        }
                    }
                }
                other => {
                    return Err(Error::invalid(format!(
                        "unknown option otlp.{other}; known: endpoint, headers, intervalMs, timeoutMs, serviceName, operationName, inferenceUsageCounters, sources"
                    )))
                }
            }
        }
        if let Some(e) = &o.endpoint {
            check_url(e, "option otlp.endpoint")?;
        }
        Ok(Some(o))
    }

    /// The options with every `None` resolved from `env` (a lookup such as
    /// `|k| std::env::var(k).ok()`), then from the defaults.
    pub fn resolve(&self, env: impl Fn(&str) -> Option<String>) -> Result<ResolvedOtlp> {
        let nonempty = |k: &str| env(k).filter(|v| !v.trim().is_empty());
        let endpoint = match (
            &self.endpoint,
            nonempty("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"),
        ) {
            (Some(e), _) => e.clone(),
            (None, Some(e)) => {
                check_url(&e, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")?;
                e
            }
            // The base endpoint gets the signal's path appended (OTLP
            // exporter spec), the signal-specific one is used as it is.
            (None, None) => match nonempty("OTEL_EXPORTER_OTLP_ENDPOINT") {
                Some(base) => {
                    check_url(&base, "OTEL_EXPORTER_OTLP_ENDPOINT")?;
                    format!("{}/v1/metrics", base.trim_end_matches('/'))
                }
                None => DEFAULT_ENDPOINT.to_string(),
            },
        };
        let mut headers: Vec<(String, String)> = Vec::new();
        let mut put = |k: String, v: String| {
            headers.retain(|(h, _)| !h.eq_ignore_ascii_case(&k));
            headers.push((k, v));
        };
        for var in [
            "OTEL_EXPORTER_OTLP_HEADERS",
            "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
        ] {
            if let Some(text) = env(var) {
                for (k, v) in parse_headers(&text, var)? {
                    put(k, v);
                }
            }
        }
        for (k, v) in &self.headers {
            put(k.clone(), v.clone());
        }
        let env_ms = |k: &str| -> Result<Option<u64>> {
            match nonempty(k) {
                None => Ok(None),
                Some(v) => match v.trim().parse::<u64>() {
                    Ok(n) if n >= 1 => Ok(Some(n)),
                    _ => Err(Error::invalid(format!(
                        "{k} must be an integer number of milliseconds >= 1, got {v:?}"
                    ))),
                },
            }
        };
        let interval_ms = match self.interval_ms {
            Some(n) => n,
            None => env_ms("OTEL_METRIC_EXPORT_INTERVAL")?.unwrap_or(DEFAULT_INTERVAL_MS),
        };
        let timeout_ms = match self.timeout_ms {
            Some(n) => n,
            None => env_ms("OTEL_EXPORTER_OTLP_TIMEOUT")?.unwrap_or(DEFAULT_TIMEOUT_MS),
        };
        let service_name = self
            .service_name
            .clone()
            .or_else(|| nonempty("OTEL_SERVICE_NAME"))
            .unwrap_or_else(|| {
                let exe = std::env::current_exe()
                    .ok()
                    .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                    .unwrap_or_default();
                format!("unknown_service:{exe}")
            });
        Ok(ResolvedOtlp {
            endpoint,
            headers,
            interval_ms,
            timeout_ms,
            service_name,
            operation_name: self.operation_name.clone().unwrap_or_else(|| "chat".into()),
            inference_usage_counters: self.inference_usage_counters,
            tracker: self.tracker,
            ledger: self.ledger,
        })
    }
}

/// [`OtlpOptions`] with nothing left to look up.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedOtlp {
    pub endpoint: String,
    pub headers: Vec<(String, String)>,
    pub interval_ms: u64,
    pub timeout_ms: u64,
    pub service_name: String,
    pub operation_name: String,
    pub inference_usage_counters: bool,
    pub tracker: bool,
    pub ledger: bool,
}

fn check_url(url: &str, what: &str) -> Result<()> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "{what} must be an http:// or https:// URL, got {url:?}"
        )))
    }
}

/// `OTEL_EXPORTER_OTLP_HEADERS`: `key=value` pairs separated by commas,
/// values percent-decoded (the W3C Baggage format the spec names).
pub fn parse_headers(text: &str, var: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (k, v) = part.split_once('=').ok_or_else(|| {
            Error::invalid(format!(
                "{var} must be key=value pairs separated by commas, got {part:?}"
            ))
        })?;
        let k = k.trim();
        if k.is_empty() {
            return Err(Error::invalid(format!("{var} has an empty header name")));
        }
        out.push((k.to_string(), percent_decode(v.trim())));
    }
    Ok(out)
}

fn percent_decode(s: &str) -> String {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn o2_endpoint_from_options_then_signal_env_then_base_env() {
        let o = OtlpOptions::new();
        assert_eq!(o.resolve(env(&[])).unwrap().endpoint, DEFAULT_ENDPOINT);
        let base = env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/")]);
        assert_eq!(
            o.resolve(&base).unwrap().endpoint,
            "http://c:4318/v1/metrics"
        );
        let both = env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:1/x"),
        ]);
        assert_eq!(o.resolve(&both).unwrap().endpoint, "http://m:1/x");
        let own = OtlpOptions {
            endpoint: Some("http://own/v1/metrics".into()),
            ..OtlpOptions::new()
        };
        assert_eq!(
            own.resolve(&both).unwrap().endpoint,
            "http://own/v1/metrics"
        );
        let bad = env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "c:4318")]);
        assert!(o
            .resolve(&bad)
            .unwrap_err()
            .to_string()
            .contains("OTEL_EXPORTER_OTLP_ENDPOINT"));
    }

    #[test]
    fn o2_headers_env_then_signal_env_then_options() {
        let o = OtlpOptions {
            headers: vec![("x-b".into(), "own".into())],
            ..OtlpOptions::new()
        };
        let e = env(&[
            ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=a%20b, x-b=env"),
            ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "API-KEY=metrics"),
        ]);
        let r = o.resolve(e).unwrap();
        assert_eq!(
            r.headers,
            vec![
                ("API-KEY".to_string(), "metrics".to_string()),
                ("x-b".to_string(), "own".to_string())
            ]
        );
        assert_eq!(parse_headers("k=a%2Cb", "V").unwrap()[0].1, "a,b");
        assert!(parse_headers("novalue", "V").is_err());
    }

    #[test]
    fn o2_json_options_are_checked_and_named() {
        let o = OtlpOptions::from_json(&serde_json::json!({
            "endpoint": "http://127.0.0.1:9/v1/metrics", "intervalMs": 500,
            "headers": {"a": "b"}, "sources": ["ledger"], "inferenceUsageCounters": true
        }))
        .unwrap()
        .unwrap();
        assert_eq!(o.interval_ms, Some(500));
        assert!(o.ledger && !o.tracker && o.inference_usage_counters);
        assert_eq!(OtlpOptions::from_json(&Value::Bool(false)).unwrap(), None);
        assert_eq!(
            OtlpOptions::from_json(&Value::Bool(true)).unwrap(),
            Some(OtlpOptions::new())
        );
        for (bad, word) in [
            (serde_json::json!({"intervalMs": 0}), "intervalMs"),
            (serde_json::json!({"endpoint": "localhost"}), "endpoint"),
            (serde_json::json!({"sources": ["x"]}), "sources"),
            (serde_json::json!({"port": 1}), "otlp.port"),
            (serde_json::json!(3), "otlp"),
        ] {
            let e = OtlpOptions::from_json(&bad).unwrap_err().to_string();
            assert!(e.contains(word), "{e}");
        }
        let r = OtlpOptions::new()
            .resolve(env(&[("OTEL_METRIC_EXPORT_INTERVAL", "250")]))
            .unwrap();
        assert_eq!((r.interval_ms, r.timeout_ms), (250, DEFAULT_TIMEOUT_MS));
    }
}
