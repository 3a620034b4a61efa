//! Rate limits in the ledger (R1–R3): window edges and waits on an
//! injected clock, reconciliation at commit, limits shared by every
//! process using the ledger file, and the wait/retry events on record.

use rusqlite::Connection;
use serde_json::{json, Map, Value};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use usagebook_core::ledger::rate::{RateLimit, RateOptions};
use usagebook_core::ledger::{BudgetMode, Ledger, LedgerOptions, ReserveRequest};
use usagebook_core::{Error, ManualClock};

const T0: i64 = 1_736_000_000_000;
const CHILD: &str = "USAGEBOOK_RATE_CHILD";

fn limit(scope: &str, rpm: Option<u64>, tpm: Option<u64>) -> RateLimit {
    RateLimit {
        scope: scope.into(),
        rpm,
        tpm,
        rpd: None,
    }
}

fn opts(mode: BudgetMode, limits: Vec<RateLimit>, wait: bool) -> LedgerOptions {
    LedgerOptions {
        mode,
        rate: RateOptions {
            limits,
            wait,
            ..RateOptions::default()
        },
        ..LedgerOptions::default()
    }
}

fn req<'a>(trace: &'a str, tokens: Option<u64>) -> ReserveRequest<'a> {
    ReserveRequest {
        trace_id: trace,
        provider: "openai",
        model: "gpt-4o",
        estimate_nusd: 1_000,
        estimate_tokens: tokens,
        ..ReserveRequest::default()
    }
}

fn events(db: &Path, kind: &str) -> Vec<(String, Value)> {
    let c = Connection::open(db).unwrap();
    let mut st = c
        .prepare("SELECT status, timing FROM events WHERE event_type = ?1 ORDER BY seq")
        .unwrap();
    st.query_map([kind], |r| {
        Ok((
            r.get::<_, String>(0)?,
            serde_json::from_str(&r.get::<_, String>(1)?).unwrap(),
        ))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

#[test]
fn r3_a_refusal_names_scope_limit_window_count_and_retry_after() {
    for mode in [BudgetMode::StrictBudget, BudgetMode::BestEffort] {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(T0));
        let db = dir.path().join("l.db");
        let l = Ledger::open_with_clock(
            &db,
            opts(mode, vec![limit("provider:openai", Some(2), None)], false),
            clock.clone(),
        )
        .unwrap();
        l.reserve_with(&req("a", None)).unwrap();
        clock.advance(30_000);
        l.reserve_with(&req("b", None)).unwrap();
        clock.advance(10_000);
        let err = l.reserve_with(&req("c", None)).unwrap_err();
        let Error::RateLimited(r) = &err else {
            panic!("{err}")
        };
        assert_eq!(
            (r.scope.as_str(), r.limit, r.window_s, r.current, r.maximum),
            ("provider:openai", "rpm", 60, 2, 2)
        );
        // "a" (second bucket T0) leaves the window at T0 + 61 s; now T0 + 40 s.
        assert_eq!(r.retry_after_s, Some(21.0));
        assert!(err.to_string().contains("retry after 21.000 s"), "{err}");
        // Another provider is not limited by that scope.
        let other = ReserveRequest {
            provider: "anthropic",
            ..req("d", None)
        };
        l.reserve_with(&other).unwrap();
        clock.advance(21_000);
        l.reserve_with(&req("c", None)).unwrap();
        assert_eq!(l.health().rate_limited, 1);
        l.close().unwrap();
    }
}

#[test]
fn r2_waiting_sleeps_on_the_clock_and_writes_wait_and_retry_events() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let db = dir.path().join("l.db");
    let mut o = opts(
        BudgetMode::StrictBudget,
        vec![limit("all", Some(1), None)],
        true,
    );
    // A slot of a per-minute limit frees 60-61 s after it was taken.
    o.rate.max_wait_ms = 90_000;
    let l = Ledger::open_with_clock(&db, o, clock.clone()).unwrap();
    l.reserve_with(&req("a", None)).unwrap();
    // Waits 61 s of the manual clock (instantly), then passes.
    l.reserve_with(&req("b", None)).unwrap();
    assert_eq!(clock_now(&clock), T0 + 61_000);
    l.flush().unwrap();
    let waits = events(&db, "rate_limit_wait");
    let retries = events(&db, "rate_limit_retry");
    assert_eq!(waits.len(), 1);
    assert_eq!(retries.len(), 1);
    assert_eq!(waits[0].0, "rpm:all");
    assert_eq!(waits[0].1["wait_ms"], json!(61_000));
    assert_eq!(waits[0].1["maximum"], json!(1));
    assert_eq!(retries[0].1["waited_ms"], json!(61_000));
    assert_eq!(l.health().rate_limit_waits, 1);
    l.close().unwrap();
    // Readable in reports: `usagebook report --db` says who waited how long.
    let r = usagebook_core::report::grouped::from_db(
        &db,
        &usagebook_core::report::grouped::Query::new(
            usagebook_core::report::grouped::GroupBy::Model,
        ),
    )
    .unwrap();
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("1 reservation(s) waited 61.0 s in all for rate limit rpm:all")),
        "{:?}",
        r.notes
    );
}

fn clock_now(c: &ManualClock) -> i64 {
    usagebook_core::Clock::now_ms(c)
}

#[test]
fn r2_a_wait_past_max_wait_or_the_retry_budget_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let mut o = opts(
        BudgetMode::StrictBudget,
        vec![limit("all", Some(1), None)],
        true,
    );
    o.rate.max_wait_ms = 30_000;
    let l = Ledger::open_with_clock(dir.path().join("l.db"), o, clock.clone()).unwrap();
    l.reserve_with(&req("a", None)).unwrap();
    // 61 s to wait, 30 s allowed: refused, no time spent.
    assert!(matches!(
        l.reserve_with(&req("b", None)),
        Err(Error::RateLimited(_))
    ));
    assert_eq!(clock_now(&clock), T0);
    // A request that can never fit (tokens above tpm) is refused at once too.
    l.set_rate_limits(vec![limit("all", None, Some(100))])
        .unwrap();
    let err = l.reserve_with(&req("c", Some(101))).unwrap_err();
    let Error::RateLimited(r) = err else { panic!() };
    assert_eq!((r.limit, r.retry_after_s), ("tpm", None));
    assert_eq!(clock_now(&clock), T0);
    l.close().unwrap();
}

#[test]
fn r1_the_commit_reconciles_reserved_tokens_to_the_actual_count() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let l = Ledger::open_with_clock(
        dir.path().join("l.db"),
        opts(
            BudgetMode::BestEffort,
            vec![limit("model:gpt-4o", None, Some(1_000))],
            false,
        ),
        clock.clone(),
    )
    .unwrap();
    // input 100 + max_tokens 800 reserved.
    let h = l
        .reserve_with(&ReserveRequest {
            input_tokens: Some(100),
            max_tokens: Some(800),
            ..req("a", None)
        })
        .unwrap();
    assert!(
        l.reserve_with(&req("b", Some(200))).is_err(),
        "900 + 200 > 1000"
    );
    // It used 100 in and 50 out (OpenAI's shape).
    let usage: Map<String, Value> = json!({"prompt_tokens": 100, "completion_tokens": 50})
        .as_object()
        .unwrap()
        .clone();
    l.commit(&h, usage, Some(1_000), true).unwrap();
    l.reserve_with(&req("b", Some(850))).unwrap();
    assert!(
        l.reserve_with(&req("c", Some(1))).is_err(),
        "150 + 850 = 1000"
    );
    l.close().unwrap();
}

#[test]
fn r1_limits_from_json_options_and_changed_on_an_open_ledger() {
    let o = LedgerOptions::from_json(Some(
        r#"{"rateLimits":[{"scope":"provider:openai","rpm":500,"tpm":200000,"rpd":10000}],"waitOnRateLimit":true,"maxWaitTimeoutS":60,"retryBudgetS":90}"#,
    ))
    .unwrap();
    assert_eq!(o.rate.limits[0].rpd, Some(10_000));
    assert!(o.rate.wait);
    assert_eq!(
        (o.rate.max_wait_ms, o.rate.retry_budget_ms),
        (60_000, 90_000)
    );
    let err =
        LedgerOptions::from_json(Some(r#"{"rateLimits":[{"scope":"all","rpm":-1}]}"#)).unwrap_err();
    assert!(err.to_string().contains("rateLimits[0].rpm"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let l = Ledger::open_with_clock(dir.path().join("l.db"), o, clock).unwrap();
    l.set_rate_limits(vec![limit("all", Some(1), None)])
        .unwrap();
    l.reserve_with(&req("a", None)).unwrap();
    assert!(matches!(
        l.reserve_with(&req("b", None)),
        Err(Error::RateLimited(_))
    ));
    assert!(l
        .set_rate_limits(vec![limit("nowhere", Some(1), None)])
        .is_err());
    l.set_rate_limits(Vec::new()).unwrap();
    l.reserve_with(&req("b", None)).unwrap();
    l.close().unwrap();
}

/// Child: 4 threads reserving until the per-minute limit refuses them;
/// prints how many it was granted.
#[test]
fn rate_child() {
    let Ok(path) = std::env::var(CHILD) else {
        return;
    };
    let l = Arc::new(
        Ledger::open(
            &path,
            opts(
                BudgetMode::StrictBudget,
                vec![limit("all", Some(300), None)],
                false,
            ),
        )
        .unwrap(),
    );
    let pid = std::process::id();
    // Start together: say ready, then wait for the parent's go, so a
    // process that started first cannot take the whole window alone.
    let dir = std::path::Path::new(&path).parent().unwrap().to_path_buf();
    std::fs::write(dir.join(format!("ready-{pid}")), b"").unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !dir.join("go").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "no go from the parent"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let granted: u64 = (0..4)
        .map(|t| {
            let l = l.clone();
            std::thread::spawn(move || {
                let mut n = 0u64;
                for i in 0.. {
                    match l.reserve_with(&req(&format!("{pid}-{t}-{i}"), None)) {
                        Ok(h) => {
                            l.commit(&h, Map::new(), Some(1_000), false).unwrap();
                            n += 1;
                            // Let go of the database for a moment: without
                            // it one process's threads hand the write lock
                            // to each other while the other processes sit
                            // in SQLite's busy back-off, and one process
                            // takes the whole window (seen in CI).
                            std::thread::sleep(std::time::Duration::from_millis(2));
                        }
                        Err(Error::RateLimited(_)) => return n,
                        Err(e) => panic!("{e}"),
                    }
                }
                n
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .sum();
    l.close().unwrap();
    println!("granted {granted}");
}

/// 4 processes x 4 threads on one ledger file under one rpm limit: never
/// over it, and the whole limit is used (every request either took a slot
/// or was refused because the window was full).
#[test]
fn r1_four_processes_of_four_threads_never_pass_a_shared_limit() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    // Create the schema once, so the children race only on the limit.
    Ledger::open(&db, LedgerOptions::default())
        .unwrap()
        .close()
        .unwrap();
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "rate_child", "--nocapture", "--test-threads=1"])
                .env(CHILD, &db)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let ready = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .map(|e| e.file_name().to_string_lossy().starts_with("ready-"))
                    .unwrap_or(false)
            })
            .count();
        if ready == 4 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "only {ready} children ready"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    std::fs::write(dir.path().join("go"), b"").unwrap();
    let mut total = 0u64;
    let mut each = Vec::new();
    for c in children {
        let out = c.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let n: u64 = text
            .lines()
            .find_map(|l| l.split_once("granted ").map(|(_, n)| n))
            .unwrap_or_else(|| panic!("no count: {text}"))
            .trim()
            .parse()
            .unwrap();
        each.push(n);
        total += n;
    }
    assert_eq!(total, 300, "granted per process: {each:?}");
    // The premise: the processes really competed (more than one got slots).
    assert!(each.iter().filter(|&&n| n > 0).count() >= 2, "{each:?}");
    let c = Connection::open(&db).unwrap();
    let holds: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM events WHERE event_type = 'precheck_hold'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(holds, 300);
}
