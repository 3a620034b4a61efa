//! `FileBackedUsageOptions` (T6) and the durability modes (X5).

use crate::error::{Error, Result};
use serde_json::Value;

/// How much an acknowledged `track` survives (X5). See docs/durability.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Lose at most the flush window (`flushIntervalMs` or
    /// `flushEveryNLogs`, whichever comes first) on a crash.
    #[default]
    Interval,
    /// Every acknowledged event survives a crash of the process: it is in a
    /// memory-mapped journal (the kernel's page cache) before `track`
    /// returns, with no system call per event.
    Process,
    /// Every acknowledged event survives power loss: `track` returns after
    /// the journal is fsynced; concurrent callers share one fsync.
    Power,
}

impl Durability {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "interval" => Ok(Durability::Interval),
            "process" | "process-safe" => Ok(Durability::Process),
            "power" | "power-safe" => Ok(Durability::Power),
            other => Err(Error::invalid(format!(
                "durability must be \"interval\", \"process\" or \"power\", got {other:?}"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Durability::Interval => "interval",
            Durability::Process => "process",
            Durability::Power => "power",
        }
    }
}

/// Options of a tracker. Defaults are the seed's (T6).
#[derive(Debug, Clone, PartialEq)]
pub struct TrackerOptions {
    pub flush_interval_ms: u64,
    pub flush_every_n_logs: u64,
    pub persist_logs: bool,
    pub max_logs: usize,
    /// Byte cap of `usage-logs.jsonl`; `None` = only the count cap.
    pub max_log_bytes: Option<u64>,
    pub durability: Durability,
    /// `gitSync` (issue 13): also write every event into this device's
    /// segments of a git repository and sync it (docs/git-sync.md).
    pub git_sync: Option<crate::gitsync::GitSyncConfig>,
    /// `otlp` (O2): export this process's calls as OTLP/HTTP metrics
    /// (needs the cargo feature `otlp`; docs/telemetry.md).
    pub otlp: Option<crate::telemetry::OtlpOptions>,
}

impl Default for TrackerOptions {
    fn default() -> Self {
        TrackerOptions {
            flush_interval_ms: 30_000,
            flush_every_n_logs: 100,
            persist_logs: false,
            max_logs: 10_000,
            max_log_bytes: None,
            durability: Durability::Interval,
            git_sync: None,
            otlp: None,
        }
    }
}

impl TrackerOptions {
    /// Parses the camelCase JSON options object. `None`, `""` or `null` give
    /// the defaults; an unknown key or a wrong type is an error naming it.
    pub fn from_json(json: Option<&str>) -> Result<Self> {
        let mut opts = TrackerOptions::default();
        let text = match json.map(str::trim) {
            None | Some("") | Some("null") => return Ok(opts),
            Some(t) => t,
        };
        let v: Value = serde_json::from_str(text)
            .map_err(|e| Error::invalid(format!("options are not valid JSON: {e}")))?;
        let obj = v
            .as_object()
            .ok_or_else(|| Error::invalid("options must be a JSON object"))?;
        for (key, value) in obj {
            if value.is_null() {
                continue; // like `undefined` in a JS options object
            }
            match key.as_str() {
                "flushIntervalMs" => opts.flush_interval_ms = uint(key, value)?,
                "flushEveryNLogs" => opts.flush_every_n_logs = uint(key, value)?,
                "persistLogs" => {
                    opts.persist_logs = value.as_bool().ok_or_else(|| {
                        Error::invalid(format!("option persistLogs must be a boolean, got {value}"))
                    })?
                }
                "maxLogs" => opts.max_logs = uint(key, value)? as usize,
                "maxLogBytes" => opts.max_log_bytes = Some(uint(key, value)?),
                "durability" => {
                    let s = value.as_str().ok_or_else(|| {
                        Error::invalid(format!("option durability must be a string, got {value}"))
                    })?;
                    opts.durability = Durability::parse(s)?;
                }
                "gitSync" => {
                    opts.git_sync = Some(crate::gitsync::GitSyncConfig::from_json(value)?)
                }
                "otlp" => opts.otlp = crate::telemetry::OtlpOptions::from_json(value)?,
                other => {
                    return Err(Error::invalid(format!(
                        "unknown option {other:?}; known options: flushIntervalMs, flushEveryNLogs, persistLogs, maxLogs, maxLogBytes, durability, gitSync, otlp"
                    )))
                }
            }
        }
        opts.validate()?;
        Ok(opts)
    }

    /// How many pending logs make the writer flush. In `interval` mode that
    /// is `flushEveryNLogs`: the flush is what makes events durable. In the
    /// journal modes every event is already durable when acknowledged and a
    /// flush is only a checkpoint (snapshot, JSONL) that bounds replay, so
    /// it waits for at least 4096 events: a snapshot's fsyncs stay off the
    /// group-commit path. The interval, `flush()` and `close()` still flush.
    pub fn flush_trigger(&self) -> u64 {
        match self.durability {
            Durability::Interval => self.flush_every_n_logs,
            _ => self.flush_every_n_logs.max(4096),
        }
    }

    pub fn validate(&self) -> Result<()> {
        if self.flush_interval_ms == 0 {
            return Err(Error::invalid("option flushIntervalMs must be >= 1"));
        }
        if self.flush_every_n_logs == 0 {
            return Err(Error::invalid("option flushEveryNLogs must be >= 1"));
        }
        if self.max_logs == 0 {
            return Err(Error::invalid("option maxLogs must be >= 1"));
        }
        if self.max_log_bytes == Some(0) {
            return Err(Error::invalid("option maxLogBytes must be >= 1"));
        }
        Ok(())
    }
}

fn uint(key: &str, value: &Value) -> Result<u64> {
    value.as_u64().ok_or_else(|| {
        Error::invalid(format!(
            "option {key} must be a non-negative integer, got {value}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t6_defaults_are_the_seeds() {
        let o = TrackerOptions::from_json(None).unwrap();
        assert_eq!(o.flush_interval_ms, 30_000);
        assert_eq!(o.flush_every_n_logs, 100);
        assert!(!o.persist_logs);
        assert_eq!(o.max_logs, 10_000);
        assert_eq!(o.durability, Durability::Interval);
    }

    #[test]
    fn t6_parses_every_option() {
        let o = TrackerOptions::from_json(Some(
            r#"{"flushIntervalMs":5,"flushEveryNLogs":2,"persistLogs":true,"maxLogs":3,"maxLogBytes":4096,"durability":"process"}"#,
        ))
        .unwrap();
        assert_eq!(
            o,
            TrackerOptions {
                flush_interval_ms: 5,
                flush_every_n_logs: 2,
                persist_logs: true,
                max_logs: 3,
                max_log_bytes: Some(4096),
                durability: Durability::Process,
                git_sync: None,
                otlp: None,
            }
        );
    }

    #[test]
    fn x1_unknown_key_and_wrong_type_are_named() {
        let e = TrackerOptions::from_json(Some(r#"{"flushEvery":1}"#)).unwrap_err();
        assert!(e.to_string().contains("flushEvery"), "{e}");
        let e = TrackerOptions::from_json(Some(r#"{"maxLogs":"10"}"#)).unwrap_err();
        assert!(e.to_string().contains("maxLogs"), "{e}");
        let e = TrackerOptions::from_json(Some(r#"{"durability":"disk"}"#)).unwrap_err();
        assert!(e.to_string().contains("durability"), "{e}");
        let e = TrackerOptions::from_json(Some(r#"[1]"#)).unwrap_err();
        assert!(e.to_string().contains("object"), "{e}");
        let e = TrackerOptions::from_json(Some(r#"{"maxLogs":0}"#)).unwrap_err();
        assert!(e.to_string().contains("maxLogs"), "{e}");
    }
}
