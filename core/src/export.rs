//! `usagebook export`: events out of a store, as event-log JSON lines,
//! CSV (one row an event, for spreadsheets), `LlmBridgeUsageLog` lines
//! (T7) or the CLIProxyAPI usage export (G6). Each import format
//! round-trips: importing an export adds the same events (same ids).

use crate::cliproxy;
use crate::error::{Error, Result};
use crate::eventlog::event::format_usd;
use crate::eventlog::{rfc3339, Event, EventKind, Status};
use crate::import::list;
use crate::report::grouped::{model_of, provider_of};
use crate::report::render::csv_field;
use crate::report::zone::Zone;
use std::fmt::Write;

/// `--format` of `usagebook export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Jsonl,
    Csv,
    TrackerLog,
    CliProxy,
}

pub const FORMATS: [(&str, &str); 4] = [
    (
        "jsonl",
        "usagebook event log lines (what `import --from events` reads)",
    ),
    ("csv", "one row an event, for spreadsheets"),
    (
        "tracker-log",
        "LlmBridgeUsageLog JSON lines, requests only (T7)",
    ),
    (
        "cliproxy",
        "CLIProxyAPI usage export {version: 1, exported_at, usage}, requests only",
    ),
];

impl ExportFormat {
    pub fn parse(s: &str) -> Result<ExportFormat> {
        match s {
            "jsonl" => Ok(ExportFormat::Jsonl),
            "csv" => Ok(ExportFormat::Csv),
            "tracker-log" => Ok(ExportFormat::TrackerLog),
            "cliproxy" => Ok(ExportFormat::CliProxy),
            other => Err(Error::invalid(format!(
                "unknown export format {other:?}; the formats are:\n{}",
                list(&FORMATS)
            ))),
        }
    }
}

/// The export of `events` (in order). `zone` sets the local days and
/// offsets of the CLIProxyAPI form; the others are UTC.
pub fn export(events: &[Event], format: ExportFormat, zone: Zone, now_ns: i64) -> String {
    match format {
        ExportFormat::Jsonl => {
            let mut out = String::new();
            for e in events {
                out.push_str(&e.to_line());
                out.push('\n');
            }
            out
        }
        ExportFormat::Csv => csv(events),
        ExportFormat::TrackerLog => tracker_log(events),
        ExportFormat::CliProxy => {
            let mut s = serde_json::to_string_pretty(&cliproxy::export(events, zone, now_ns))
                .unwrap_or_default();
            s.push('\n');
            s
        }
    }
}

/// Events a format leaves out (the T7 and CLIProxyAPI forms hold requests
/// only).
pub fn left_out(events: &[Event], format: ExportFormat) -> u64 {
    match format {
        ExportFormat::Jsonl | ExportFormat::Csv => 0,
        _ => events
            .iter()
            .filter(|e| e.kind != EventKind::Request)
            .count() as u64,
    }
}

fn csv(events: &[Event]) -> String {
    let mut out = String::from(
        "id,occurred_at,event,bridge,provider,model,input_tokens,output_tokens,reasoning_tokens,cache_read_tokens,cache_write_tokens,total_tokens,status,duration_ms,cost_usd,segment_id,source,records\n",
    );
    for e in events {
        let t = e.tokens.unwrap_or_default();
        let req = e.kind == EventKind::Request;
        let opt = |s: Option<&str>| csv_field(s.unwrap_or(""));
        let num = |v: u64| {
            if e.tokens.is_some() {
                v.to_string()
            } else {
                String::new()
            }
        };
        let records = e
            .records
            .iter()
            .map(|r| format!("{}/{}", r.kind, r.slug))
            .collect::<Vec<_>>()
            .join(" ");
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            e.id,
            rfc3339::format_ns(e.occurred_at_ns),
            csv_field(e.kind.as_str()),
            opt(e.bridge.as_deref()),
            if req {
                csv_field(provider_of(e.bridge.as_deref(), e.provider.as_deref()))
            } else {
                opt(e.provider.as_deref())
            },
            if req {
                csv_field(model_of(e.bridge.as_deref(), e.model.as_deref()))
            } else {
                opt(e.model.as_deref())
            },
            num(t.input),
            num(t.output),
            num(t.reasoning),
            num(t.cache_read),
            num(t.cache_write),
            num(t.total),
            opt(e.status.as_ref().map(Status::as_str)),
            e.duration_ms.map_or(String::new(), |d| d.to_string()),
            e.cost_nano_usd
                .map_or(String::new(), |c| format_usd(i128::from(c))),
            opt(e.segment_id.as_deref()),
            opt(e.source.as_ref().map(|s| s.as_str())),
            csv_field(&records),
        );
    }
    out
}

/// T7 lines: `{"id","timestamp","bridgeId","usage","durationMs"?,"status"}`.
/// The id is the one the line was imported with, else `llm_log_<n>_<ms>`
/// with `n` the position in the export.
fn tracker_log(events: &[Event]) -> String {
    let mut out = String::new();
    for (n, e) in events
        .iter()
        .filter(|e| e.kind == EventKind::Request)
        .enumerate()
    {
        let ms = e.occurred_at_ms();
        let t = e.tokens.unwrap_or_default();
        let log_id = match e.extra.get("tracker_log_id").and_then(|v| v.as_str()) {
            Some(s) => s.to_string(),
            None => crate::model::format_log_id(n as u64 + 1, ms),
        };
        let mut m = serde_json::Map::new();
        m.insert("id".into(), log_id.into());
        m.insert("timestamp".into(), crate::timefmt::format_iso_ms(ms).into());
        let bridge = e.bridge.clone().unwrap_or_else(|| {
            format!(
                "{}/{}",
                provider_of(None, e.provider.as_deref()),
                model_of(None, e.model.as_deref())
            )
        });
        m.insert("bridgeId".into(), bridge.into());
        let mut usage = serde_json::json!({"promptTokens": t.input, "completionTokens": t.output, "totalTokens": t.total});
        // The parts the tracker keeps, each only when not zero (T7).
        for (k, v) in [
            ("cacheReadTokens", t.cache_read),
            ("cacheWriteTokens", t.cache_write),
            ("reasoningTokens", t.reasoning),
        ] {
            if v != 0 {
                usage[k] = v.into();
            }
        }
        m.insert("usage".into(), usage);
        if let Some(d) = e.duration_ms {
            let v = if d.fract() == 0.0 && d.abs() < 9.0e15 {
                serde_json::Value::from(d as i64)
            } else {
                serde_json::Value::from(d)
            };
            m.insert("durationMs".into(), v);
        }
        let status = if e.status == Some(Status::Success) || e.status.is_none() {
            "success"
        } else {
            "error"
        };
        m.insert("status".into(), status.into());
        out.push_str(&serde_json::Value::Object(m).to_string());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_format_names_list_every_format() {
        let e = ExportFormat::parse("xml").unwrap_err().to_string();
        for (name, _) in FORMATS {
            assert!(e.contains(name), "{e}");
        }
    }
}
