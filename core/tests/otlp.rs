//! The OTLP/HTTP exporter (O2, cargo feature `otlp`) against a real HTTP
//! receiver on a free port: what a collector receives from a tracker and a
//! ledger (names, attributes, values, cumulative temporality), failures
//! that never reach tracking, and two processes sharing one ledger whose
//! exports add up to the ledger's true total.
//!
//! `cargo test -p usagebook-core --features otlp --test otlp`

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use usagebook_core::ledger::money::usd_to_nano;
use usagebook_core::ledger::{EventType, Ledger, LedgerEvent, LedgerOptions};
use usagebook_core::telemetry::otlp::OtlpExporter;
use usagebook_core::telemetry::OtlpOptions;
use usagebook_core::{FileBackedTracker, NewUsageLog, TrackerOptions, Usage, UsageTracker};

/// The exporter and its observers are per process: one test at a time.
static SERIAL: parking_lot::Mutex<()> = parking_lot::Mutex::new(());

struct Received {
    url: String,
    content_type: String,
    api_key: Option<String>,
    body: Value,
}

/// A receiver answering `fail_status` (503 by default) to its first
/// `fail_first` requests, then 200.
struct Receiver {
    endpoint: String,
    got: Arc<parking_lot::Mutex<Vec<Received>>>,
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    fn start(fail_first: usize) -> Receiver {
        Receiver::start_failing(fail_first, 503)
    }

    fn start_failing(fail_first: usize, fail_status: u16) -> Receiver {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let got: Arc<parking_lot::Mutex<Vec<Received>>> = Arc::default();
        let (s, g) = (server.clone(), got.clone());
        let seen = AtomicUsize::new(0);
        let thread = std::thread::spawn(move || {
            for mut req in s.incoming_requests() {
                let header = |name: &str| {
                    req.headers()
                        .iter()
                        .find(|h| h.field.to_string().eq_ignore_ascii_case(name))
                        .map(|h| h.value.to_string())
                };
                let content_type = header("Content-Type").unwrap_or_default();
                let api_key = header("x-api-key");
                let url = req.url().to_string();
                let mut text = String::new();
                req.as_reader().read_to_string(&mut text).unwrap();
                if seen.fetch_add(1, Ordering::SeqCst) < fail_first {
                    let _ = req.respond(
                        tiny_http::Response::from_string("busy").with_status_code(fail_status),
                    );
                    continue;
                }
                let body: Value = serde_json::from_str(&text).expect("the body is JSON");
                g.lock().push(Received {
                    url,
                    content_type,
                    api_key,
                    body,
                });
                let _ = req.respond(tiny_http::Response::from_string("{}"));
            }
        });
        Receiver {
            endpoint: format!("http://127.0.0.1:{port}/v1/metrics"),
            got,
            server,
            thread: Some(thread),
        }
    }
}

impl Receiver {
    /// Every body received so far, each checked against the OTLP messages.
    fn bodies(&self) -> Vec<Value> {
        let got = self.got.lock();
        for r in got.iter() {
            check_otlp_json(&r.body);
        }
        got.iter().map(|r| r.body.clone()).collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Checks a body against the OTLP metrics protobuf messages
/// (opentelemetry/proto/metrics/v1/metrics.proto and friends) in the
/// proto3 JSON mapping: only their lowerCamelCase field names, 64-bit
/// integers (fixed64, sfixed64) as decimal strings, doubles as numbers,
/// enums as integers.
fn check_otlp_json(body: &Value) {
    #[derive(Clone, Copy)]
    enum T {
        Msg(&'static str),
        List(&'static str),
        Str,
        U64Str,
        U64StrList,
        F64,
        F64List,
        Int,
        Bool,
    }
    use T::*;
    fn fields(msg: &str) -> &'static [(&'static str, T)] {
        match msg {
            "ExportMetricsServiceRequest" => &[("resourceMetrics", List("ResourceMetrics"))],
            "ResourceMetrics" => &[
                ("resource", Msg("Resource")),
                ("scopeMetrics", List("ScopeMetrics")),
                ("schemaUrl", Str),
            ],
            "Resource" => &[
                ("attributes", List("KeyValue")),
                ("droppedAttributesCount", Int),
            ],
            "ScopeMetrics" => &[
                ("scope", Msg("InstrumentationScope")),
                ("metrics", List("Metric")),
                ("schemaUrl", Str),
            ],
            "InstrumentationScope" => &[
                ("name", Str),
                ("version", Str),
                ("attributes", List("KeyValue")),
                ("droppedAttributesCount", Int),
            ],
            "Metric" => &[
                ("name", Str),
                ("description", Str),
                ("unit", Str),
                ("sum", Msg("Sum")),
                ("histogram", Msg("Histogram")),
            ],
            "Sum" => &[
                ("dataPoints", List("NumberDataPoint")),
                ("aggregationTemporality", Int),
                ("isMonotonic", Bool),
            ],
            "Histogram" => &[
                ("dataPoints", List("HistogramDataPoint")),
                ("aggregationTemporality", Int),
            ],
            "NumberDataPoint" => &[
                ("attributes", List("KeyValue")),
                ("startTimeUnixNano", U64Str),
                ("timeUnixNano", U64Str),
                ("asDouble", F64),
                ("asInt", U64Str),
                ("flags", Int),
            ],
            "HistogramDataPoint" => &[
                ("attributes", List("KeyValue")),
                ("startTimeUnixNano", U64Str),
                ("timeUnixNano", U64Str),
                ("count", U64Str),
                ("sum", F64),
                ("bucketCounts", U64StrList),
                ("explicitBounds", F64List),
                ("flags", Int),
                ("min", F64),
                ("max", F64),
            ],
            "KeyValue" => &[("key", Str), ("value", Msg("AnyValue"))],
            "AnyValue" => &[
                ("stringValue", Str),
                ("boolValue", Bool),
                ("doubleValue", F64),
            ],
            other => panic!("no such message {other}"),
        }
    }
    fn walk(v: &Value, t: T, at: &str) {
        let u64_str = |x: &Value| x.as_str().is_some_and(|s| s.parse::<u64>().is_ok());
        let ok = match t {
            Msg(m) => {
                let obj = v
                    .as_object()
                    .unwrap_or_else(|| panic!("{at}: {m} must be an object"));
                let known = fields(m);
                for (k, x) in obj {
                    let (_, ft) = known
                        .iter()
                        .find(|(n, _)| n == k)
                        .unwrap_or_else(|| panic!("{at}: {m} has no field {k:?}"));
                    walk(x, *ft, &format!("{at}.{k}"));
                }
                true
            }
            List(m) => {
                for (i, x) in v
                    .as_array()
                    .unwrap_or_else(|| panic!("{at}: not a list"))
                    .iter()
                    .enumerate()
                {
                    walk(x, Msg(m), &format!("{at}[{i}]"));
                }
                true
            }
            Str => v.is_string(),
            U64Str => u64_str(v),
            U64StrList => v.as_array().is_some_and(|a| a.iter().all(u64_str)),
            F64 => v.is_number(),
            F64List => v.as_array().is_some_and(|a| a.iter().all(Value::is_number)),
            Int => v.is_u64(),
            Bool => v.is_boolean(),
        };
        assert!(ok, "{at}: {v} is not of its protobuf JSON type");
    }
    walk(body, Msg("ExportMetricsServiceRequest"), "body");
}

fn opts(endpoint: &str) -> OtlpOptions {
    OtlpOptions {
        endpoint: Some(endpoint.to_string()),
        // Only flush and shutdown export in these tests.
        interval_ms: Some(3_600_000),
        headers: vec![("x-api-key".into(), "secret".into())],
        service_name: Some("otlp-test".into()),
        ..OtlpOptions::new()
    }
}

fn usage(input: u64, output: u64) -> Usage {
    Usage {
        prompt_tokens: input,
        completion_tokens: output,
        total_tokens: input + output,
        ..Usage::default()
    }
}

/// Attribute list (OTLP/JSON `KeyValue`s) as a map of JSON values.
fn attrs(v: &Value) -> BTreeMap<String, Value> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|kv| {
            let val = kv["value"].as_object().unwrap();
            assert_eq!(val.len(), 1, "one typed value: {kv}");
            let (_, inner) = val.iter().next().unwrap();
            (kv["key"].as_str().unwrap().to_string(), inner.clone())
        })
        .collect()
}

fn metric<'a>(body: &'a Value, name: &str) -> Option<&'a Value> {
    body["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
}

fn resource(body: &Value) -> BTreeMap<String, Value> {
    attrs(&body["resourceMetrics"][0]["resource"]["attributes"])
}

/// The token histogram's points as (type, model, error?) → point.
fn token_points(body: &Value) -> Vec<(BTreeMap<String, Value>, Value)> {
    let m = metric(body, "gen_ai.client.token.usage").expect("the token histogram");
    m["histogram"]["dataPoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (attrs(&p["attributes"]), p.clone()))
        .collect()
}

fn int(v: &Value) -> u64 {
    // OTLP/JSON: 64-bit integers are decimal strings.
    v.as_str()
        .unwrap_or_else(|| panic!("a 64-bit integer must be a string, got {v}"))
        .parse()
        .unwrap()
}

#[test]
fn o2_tracker_calls_reach_a_collector_as_genai_metrics() {
    let _g = SERIAL.lock();
    let rx = Receiver::start(0);
    let dir = tempfile::tempdir().unwrap();
    let o = opts(&rx.endpoint);
    let tracker = FileBackedTracker::open(
        dir.path(),
        TrackerOptions {
            otlp: Some(o.clone()),
            ..TrackerOptions::default()
        },
    )
    .unwrap();
    // The same options join the exporter the tracker started.
    let exporter = OtlpExporter::install(o.clone()).unwrap();
    let other = OtlpExporter::install(OtlpOptions {
        interval_ms: Some(5),
        ..o.clone()
    });
    assert!(other.err().unwrap().to_string().contains("other options"));

    tracker
        .track(&NewUsageLog::new("openai/gpt-4o", usage(100, 20)))
        .unwrap();
    tracker
        .track(&NewUsageLog::new("openai/gpt-4o", usage(2000, 5)))
        .unwrap();
    let mut failed = NewUsageLog::new("anthropic/claude-x", usage(7, 0));
    failed.status = usagebook_core::UsageStatus::Error;
    tracker.track(&failed).unwrap();
    exporter.flush().unwrap();

    let first = {
        let got = rx.got.lock();
        assert_eq!(got.len(), 1);
        let r = &got[0];
        assert_eq!(r.url, "/v1/metrics");
        assert_eq!(r.content_type, "application/json");
        assert_eq!(r.api_key.as_deref(), Some("secret"));
        r.body.clone()
    };
    check_otlp_json(&first);
    let res = resource(&first);
    assert_eq!(res["service.name"], "otlp-test");
    assert_eq!(res["service.instance.id"], exporter.instance_id());
    let scope = &first["resourceMetrics"][0]["scopeMetrics"][0];
    assert_eq!(scope["scope"]["name"], "usagebook");
    assert_eq!(
        scope["schemaUrl"],
        "https://opentelemetry.io/schemas/1.41.0"
    );
    let hist = metric(&first, "gen_ai.client.token.usage").unwrap();
    assert_eq!(hist["unit"], "{token}");
    assert_eq!(hist["histogram"]["aggregationTemporality"], 2, "cumulative");

    let points = token_points(&first);
    assert_eq!(points.len(), 4, "2 models x input/output: {points:?}");
    let find = |model: &str, kind: &str| {
        points
            .iter()
            .find(|(a, _)| a["gen_ai.request.model"] == model && a["gen_ai.token.type"] == kind)
            .unwrap_or_else(|| panic!("no point for {model} {kind}"))
    };
    let (a, p) = find("gpt-4o", "input");
    assert_eq!(a["gen_ai.provider.name"], "openai");
    assert_eq!(a["gen_ai.operation.name"], "chat");
    assert_eq!(a["usagebook.bridge"], "openai/gpt-4o");
    assert!(!a.contains_key("error.type"));
    assert_eq!(int(&p["count"]), 2);
    assert_eq!(p["sum"], 2100.0);
    assert_eq!(
        (p["min"].as_f64(), p["max"].as_f64()),
        (Some(100.0), Some(2000.0))
    );
    let buckets: Vec<u64> = p["bucketCounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(int)
        .collect();
    let bounds = p["explicitBounds"].as_array().unwrap();
    assert_eq!(buckets.len(), bounds.len() + 1);
    assert_eq!(bounds[4], 256.0);
    assert_eq!(buckets[4], 1, "100 is in (64, 256]");
    assert_eq!(buckets[6], 1, "2000 is in (1024, 4096]");
    let (a, p) = find("claude-x", "input");
    assert_eq!(a["gen_ai.provider.name"], "anthropic");
    assert_eq!(a["error.type"], "_OTHER");
    assert_eq!(p["sum"], 7.0);
    let start = p["startTimeUnixNano"].as_str().unwrap().to_string();
    assert!(int(&p["timeUnixNano"]) >= start.parse::<u64>().unwrap());
    // A tracker has no cost: no cost counter.
    assert!(metric(&first, "usagebook.client.cost").is_none());

    // Cumulative: the next export carries every call since the start.
    tracker
        .track(&NewUsageLog::new("openai/gpt-4o", usage(1, 1)))
        .unwrap();
    tracker.close().unwrap();
    drop(tracker);
    exporter.flush().unwrap();
    let second = rx.bodies().last().unwrap().clone();
    let points = token_points(&second);
    let (_, p) = points
        .iter()
        .find(|(a, _)| a["gen_ai.request.model"] == "gpt-4o" && a["gen_ai.token.type"] == "input")
        .unwrap();
    assert_eq!(int(&p["count"]), 3);
    assert_eq!(p["sum"], 2101.0);
    assert_eq!(
        p["startTimeUnixNano"],
        start.as_str(),
        "a stable start time"
    );
    assert_eq!(exporter.health().exports_ok, 2);
    exporter.shutdown();
}

fn commit(trace: &str, input: u64, output: u64, cost: f64) -> LedgerEvent {
    let mut e = LedgerEvent::new(
        EventType::Commit,
        trace,
        "openai",
        "gpt-4o",
        1_736_000_000.0,
    );
    e.usage = json!({"tokens_in": input, "tokens_out": output})
        .as_object()
        .unwrap()
        .clone();
    e.cost_actual_nusd = Some(usd_to_nano(cost, "test").unwrap());
    e
}

#[test]
fn o2_ledger_commits_export_cost_and_failures_never_fail_a_call() {
    let _g = SERIAL.lock();
    // Nothing listens on this port: every attempt fails, tracking does not.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let dead = opts(&format!("http://127.0.0.1:{port}/v1/metrics"));
    let exporter = OtlpExporter::install(OtlpOptions {
        timeout_ms: Some(500),
        ..dead
    })
    .unwrap();
    let ledger = Ledger::open(dir.path().join("a.db"), LedgerOptions::default()).unwrap();
    ledger.write_event(commit("t1", 10, 1, 0.5), true).unwrap();
    let e = exporter.flush().unwrap_err().to_string();
    assert!(e.contains(&port.to_string()), "{e}");
    let h = exporter.health();
    assert_eq!((h.exports_ok, h.exports_failed, h.retries), (0, 1, 2));
    assert!(h.last_error.is_some());
    ledger.write_event(commit("t2", 10, 1, 0.5), true).unwrap();
    exporter.shutdown();
    ledger.close().unwrap();

    // A receiver refusing the request (400): not retried, tracking goes on.
    let refusing = Receiver::start_failing(usize::MAX, 400);
    let exporter = OtlpExporter::install(opts(&refusing.endpoint)).unwrap();
    let tracker = usagebook_core::InMemoryTracker::new(10).unwrap();
    tracker
        .track(&NewUsageLog::new("openai/gpt-4o", usage(1, 1)))
        .unwrap();
    let e = exporter.flush().unwrap_err().to_string();
    assert!(e.contains("HTTP 400"), "{e}");
    let h = exporter.health();
    assert_eq!((h.exports_failed, h.retries, h.failing), (1, 0, true));
    tracker
        .track(&NewUsageLog::new("openai/gpt-4o", usage(1, 1)))
        .unwrap();
    exporter.shutdown();
    drop(refusing);

    // A receiver busy (503) twice, then accepting: retried, nothing lost.
    let rx = Receiver::start(2);
    let ledger = Ledger::open(
        dir.path().join("b.db"),
        LedgerOptions {
            otlp: Some(OtlpOptions {
                inference_usage_counters: true,
                ..opts(&rx.endpoint)
            }),
            ..LedgerOptions::default()
        },
    )
    .unwrap();
    let exporter = OtlpExporter::install(OtlpOptions {
        inference_usage_counters: true,
        ..opts(&rx.endpoint)
    })
    .unwrap();
    ledger
        .write_event(commit("t1", 1000, 50, 0.25), true)
        .unwrap();
    ledger
        .write_event(commit("t2", 500, 50, 0.125), true)
        .unwrap();
    let mut refund = LedgerEvent::new(EventType::Adjust, "t1", "openai", "gpt-4o", 1_736_000_000.0);
    refund.cost_actual_nusd = Some(usd_to_nano(-0.05, "test").unwrap());
    ledger.write_event(refund, true).unwrap();
    exporter.flush().unwrap();
    let h = exporter.health();
    assert_eq!((h.exports_ok, h.exports_failed, h.retries), (1, 0, 2));
    let body = rx.bodies()[0].clone();
    let cost = metric(&body, "usagebook.client.cost").expect("the cost counter");
    assert_eq!(cost["unit"], "{USD}");
    assert_eq!(cost["sum"]["aggregationTemporality"], 2);
    assert_eq!(cost["sum"]["isMonotonic"], true);
    let pts = cost["sum"]["dataPoints"].as_array().unwrap();
    assert_eq!(pts.len(), 1);
    let a = attrs(&pts[0]["attributes"]);
    assert_eq!(a["gen_ai.usage.cost.currency"], "USD");
    assert_eq!(a["gen_ai.usage.cost.source"], "provider");
    assert_eq!(a["usagebook.priced"], true);
    assert_eq!(a["gen_ai.provider.name"], "openai");
    // A refund does not lower a counter (the ledger keeps it).
    assert!((pts[0]["asDouble"].as_f64().unwrap() - 0.375).abs() < 1e-9);
    let input = metric(&body, "gen_ai.client.inference.usage.input_tokens").unwrap();
    let p = &input["sum"]["dataPoints"][0];
    assert_eq!(int(&p["asInt"]), 1500);
    assert_eq!(attrs(&p["attributes"])["gen_ai.token.modality"], "unknown");
    let (_, p) = token_points(&body)
        .into_iter()
        .find(|(a, _)| a["gen_ai.token.type"] == "output")
        .unwrap();
    assert_eq!(
        (int(&p["count"]), p["sum"].as_f64()),
        (2, Some(100.0)),
        "an adjust is no call"
    );
    drop(exporter);
    ledger.close().unwrap();
}

/// Run by `o2_two_processes_each_report_their_own_increments`, in a child
/// process (ignored, and a no-op without its environment).
#[test]
#[ignore]
fn otlp_child_process_commits() {
    let (Ok(db), Ok(n)) = (
        std::env::var("OTLP_TEST_DB"),
        std::env::var("OTLP_TEST_INPUT"),
    ) else {
        return;
    };
    let input: u64 = n.parse().unwrap();
    // The endpoint and the headers come from the standard variables the
    // parent set (OTEL_EXPORTER_OTLP_ENDPOINT gets /v1/metrics appended).
    assert!(std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").is_ok());
    let ledger = Ledger::open(
        &db,
        LedgerOptions {
            otlp: Some(OtlpOptions {
                interval_ms: Some(3_600_000),
                ..OtlpOptions::new()
            }),
            ..LedgerOptions::default()
        },
    )
    .unwrap();
    for i in 0..3 {
        ledger
            .write_event(commit(&format!("{input}-{i}"), input, 10, 0.01), true)
            .unwrap();
    }
    // Close is what exports: the exporter's last holder sends a last time.
    ledger.close().unwrap();
}

#[test]
fn o2_two_processes_each_report_their_own_increments() {
    let _g = SERIAL.lock();
    let rx = Receiver::start(0);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    // Create the schema once, so the children only write.
    Ledger::open(&db, LedgerOptions::default())
        .unwrap()
        .close()
        .unwrap();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = [100u64, 1000]
        .iter()
        .map(|input| {
            std::process::Command::new(&exe)
                .args([
                    "--exact",
                    "otlp_child_process_commits",
                    "--ignored",
                    "--test-threads=1",
                ])
                .env(
                    "OTEL_EXPORTER_OTLP_ENDPOINT",
                    rx.endpoint.trim_end_matches("/v1/metrics"),
                )
                .env("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=from%20env")
                .env_remove("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
                .env("OTLP_TEST_DB", &db)
                .env("OTLP_TEST_INPUT", input.to_string())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    std::thread::sleep(Duration::from_millis(50));

    // The last export of each process (instance), cumulative.
    let mut last: BTreeMap<String, Value> = BTreeMap::new();
    for body in rx.bodies() {
        let id = resource(&body)["service.instance.id"]
            .as_str()
            .unwrap()
            .to_string();
        last.insert(id, body);
    }
    assert_eq!(last.len(), 2, "one stream per process");
    for r in rx.got.lock().iter() {
        assert_eq!(r.url, "/v1/metrics");
        assert_eq!(r.api_key.as_deref(), Some("from env"));
    }
    let mut own: Vec<f64> = Vec::new();
    let mut cost = 0.0;
    for body in last.values() {
        let (_, p) = token_points(body)
            .into_iter()
            .find(|(a, _)| a["gen_ai.token.type"] == "input")
            .unwrap();
        assert_eq!(int(&p["count"]), 3);
        own.push(p["sum"].as_f64().unwrap());
        let c = metric(body, "usagebook.client.cost").unwrap();
        cost += c["sum"]["dataPoints"][0]["asDouble"].as_f64().unwrap();
    }
    own.sort_by(f64::total_cmp);
    // Each its own increments, not the ledger's shared total.
    assert_eq!(own, vec![300.0, 3000.0]);

    // Their sum is the ledger's true total, as its exposition reads it.
    let ledger = Ledger::open(&db, LedgerOptions::default()).unwrap();
    let text = ledger.metrics_text().unwrap();
    ledger.close().unwrap();
    let total_input: f64 = text
        .lines()
        .filter(|l| l.starts_with("usagebook_ledger_tokens_total{") && l.contains("type=\"input\""))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(own.iter().sum::<f64>(), total_input, "{text}");
    assert!((cost - 0.06).abs() < 1e-9, "{cost}");
}

#[test]
fn o2_the_thread_exports_every_interval_without_a_flush() {
    let _g = SERIAL.lock();
    let rx = Receiver::start(0);
    let dir = tempfile::tempdir().unwrap();
    let o = OtlpOptions {
        interval_ms: Some(100),
        ..opts(&rx.endpoint)
    };
    let tracker = FileBackedTracker::open(
        dir.path(),
        TrackerOptions {
            otlp: Some(o),
            ..TrackerOptions::default()
        },
    )
    .unwrap();
    tracker
        .track(&NewUsageLog::new("openai/gpt-4o", usage(5, 5)))
        .unwrap();
    // Bounded wait: the 100 ms timer, not a flush, must deliver it.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while rx.got.lock().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let bodies = rx.bodies();
    assert!(
        !bodies.is_empty(),
        "no export within 10 s at a 100 ms interval"
    );
    let (_, p) = token_points(&bodies[0])
        .into_iter()
        .find(|(a, _)| a["gen_ai.token.type"] == "input")
        .unwrap();
    assert_eq!(p["sum"], 5.0);
    tracker.close().unwrap();
}
