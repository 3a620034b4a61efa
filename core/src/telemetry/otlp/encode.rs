//! The OTLP/JSON body of one export (an `ExportMetricsServiceRequest`, in
//! the protobuf JSON mapping the OTLP/HTTP spec prescribes: lowerCamelCase
//! field names, 64-bit integers as decimal strings, enums as integers).

use super::{Aggregates, AttrValue, Attrs, TOKEN_BUCKETS};
use serde_json::{json, Map, Value};

/// `AGGREGATION_TEMPORALITY_CUMULATIVE`.
const CUMULATIVE: u8 = 2;

pub(crate) struct Resource<'a> {
    pub service_name: &'a str,
    pub instance_id: &'a str,
    pub start_unix_nano: u64,
}

fn attrs_json(a: &Attrs) -> Value {
    Value::Array(
        a.iter()
            .map(|(k, v)| {
                let value = match v {
                    AttrValue::Str(s) => json!({ "stringValue": s }),
                    AttrValue::Bool(b) => json!({ "boolValue": b }),
                };
                json!({ "key": k, "value": value })
            })
            .collect(),
    )
}

/// The request body, or `None` when there is no data point yet.
pub(crate) fn export_request(
    res: &Resource<'_>,
    agg: &Aggregates,
    now_unix_nano: u64,
) -> Option<Value> {
    let start = res.start_unix_nano.to_string();
    let now = now_unix_nano.to_string();
    let mut metrics = Vec::new();
    if !agg.tokens.is_empty() {
        let points: Vec<Value> = agg
            .tokens
            .iter()
            .map(|(a, h)| {
                json!({
                    "attributes": attrs_json(a),
                    "startTimeUnixNano": start,
                    "timeUnixNano": now,
                    "count": h.count.to_string(),
                    "sum": h.sum as f64,
                    "bucketCounts": h.buckets.iter().map(u64::to_string).collect::<Vec<_>>(),
                    "explicitBounds": TOKEN_BUCKETS,
                    "min": h.min as f64,
                    "max": h.max as f64,
                })
            })
            .collect();
        metrics.push(json!({
            "name": "gen_ai.client.token.usage",
            "description": "Number of input and output tokens used.",
            "unit": "{token}",
            "histogram": { "aggregationTemporality": CUMULATIVE, "dataPoints": points },
        }));
    }
    for (name, help, series) in &agg.usage_counters {
        if series.is_empty() {
            continue;
        }
        let points: Vec<Value> = series
            .iter()
            .map(|(a, n)| {
                json!({
                    "attributes": attrs_json(a),
                    "startTimeUnixNano": start,
                    "timeUnixNano": now,
                    "asInt": n.to_string(),
                })
            })
            .collect();
        metrics.push(sum_metric(name, help, "{token}", points));
    }
    if !agg.cost.is_empty() {
        let points: Vec<Value> = agg
            .cost
            .iter()
            .map(|(a, usd)| {
                json!({
                    "attributes": attrs_json(a),
                    "startTimeUnixNano": start,
                    "timeUnixNano": now,
                    "asDouble": usd,
                })
            })
            .collect();
        metrics.push(sum_metric(
            "usagebook.client.cost",
            "Spend the usagebook ledger settled for calls, USD.",
            "{USD}",
            points,
        ));
    }
    if metrics.is_empty() {
        return None;
    }
    let mut resource = Map::new();
    resource.insert(
        "attributes".into(),
        attrs_json(&vec![
            (
                "service.name".into(),
                AttrValue::Str(res.service_name.into()),
            ),
            // Two processes' cumulative streams differ by their resource:
            // without it a backend would take them for one stream going
            // back and forth.
            (
                "service.instance.id".into(),
                AttrValue::Str(res.instance_id.into()),
            ),
            (
                "telemetry.sdk.name".into(),
                AttrValue::Str("usagebook".into()),
            ),
            (
                "telemetry.sdk.language".into(),
                AttrValue::Str("rust".into()),
            ),
            (
                "telemetry.sdk.version".into(),
                AttrValue::Str(env!("CARGO_PKG_VERSION").into()),
            ),
        ]),
    );
    Some(json!({
        "resourceMetrics": [{
            "resource": resource,
            "scopeMetrics": [{
                "scope": { "name": "usagebook", "version": env!("CARGO_PKG_VERSION") },
                "schemaUrl": super::SCHEMA_URL,
                "metrics": metrics,
            }],
        }],
    }))
}

fn sum_metric(name: &str, help: &str, unit: &str, points: Vec<Value>) -> Value {
    json!({
        "name": name,
        "description": help,
        "unit": unit,
        "sum": {
            "aggregationTemporality": CUMULATIVE,
            "isMonotonic": true,
            "dataPoints": points,
        },
    })
}
