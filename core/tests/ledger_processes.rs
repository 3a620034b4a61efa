//! The ledger across real processes: budgets shared by two processes (L7)
//! and `sync` writes surviving `kill -9` right after the acknowledgement
//! (L3). The test binary re-runs itself as the child (`ledger_child`).

use serde_json::Map;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use usagebook_core::ledger::money::usd_to_nano;
use usagebook_core::ledger::{BudgetMode, EventType, Ledger, LedgerEvent, LedgerOptions, Scope};
use usagebook_core::Error;

const CHILD_ENV: &str = "USAGEBOOK_LEDGER_CHILD";

fn usd(x: f64) -> i64 {
    usd_to_nano(x, "test").unwrap()
}

fn strict() -> LedgerOptions {
    LedgerOptions {
        mode: BudgetMode::StrictBudget,
        daily_budget_nusd: Some(usd(1.0)),
        ..LedgerOptions::default()
    }
}

#[test]
#[ignore = "child process of the ledger process tests"]
fn ledger_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (role, path) = spec.split_once('|').unwrap();
    match role {
        "reserve" => {
            let l = Arc::new(Ledger::open(path, strict()).unwrap());
            let pid = std::process::id();
            let hs: Vec<_> = (0..4)
                .map(|t| {
                    let l = l.clone();
                    std::thread::spawn(move || {
                        let mut n = 0;
                        loop {
                            match l.reserve(
                                &format!("{pid}-{t}-{n}"),
                                "openai",
                                "gpt-4o",
                                usd(0.03),
                                None,
                            ) {
                                Ok(h) => {
                                    l.commit(&h, Map::new(), Some(usd(0.03)), false).unwrap();
                                    n += 1;
                                }
                                Err(Error::BudgetExceeded(_)) => return n,
                                Err(e) => panic!("{e}"),
                            }
                        }
                    })
                })
                .collect();
            let n: u32 = hs.into_iter().map(|h| h.join().unwrap()).sum();
            l.close().unwrap();
            println!("reserved {n}");
        }
        "sync" => {
            let l = Ledger::open(
                path,
                LedgerOptions {
                    flush_interval_ms: 60_000,
                    batch_size: 10_000,
                    ..LedgerOptions::default()
                },
            )
            .unwrap();
            use std::io::Write;
            for i in 0.. {
                let mut ev = LedgerEvent::new(
                    EventType::Commit,
                    &format!("t{i}"),
                    "openai",
                    "gpt-4o",
                    1.9e9,
                );
                ev.cost_actual_nusd = Some(1);
                let id = ev.id.clone();
                // Some unsynced events queue up before each synced one.
                for _ in 0..5 {
                    let mut e =
                        LedgerEvent::new(EventType::Commit, "bg", "openai", "gpt-4o", 1.9e9);
                    e.cost_actual_nusd = Some(1);
                    l.write_event(e, false).unwrap();
                }
                l.write_event(ev, true).unwrap();
                println!("acked {id}");
                std::io::stdout().flush().unwrap();
            }
        }
        other => panic!("unknown role {other}"),
    }
}

fn child(role: &str, path: &std::path::Path) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "ledger_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, format!("{role}|{}", path.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

#[test]
fn l7_two_processes_of_four_threads_never_exceed_one_daily_budget() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    // Create the schema first so the children don't race on migration.
    Ledger::open(&path, strict()).unwrap().close().unwrap();
    let kids: Vec<_> = (0..2).map(|_| child("reserve", &path)).collect();
    let mut total = 0;
    for k in kids {
        let out = k.wait_with_output().unwrap();
        assert!(out.status.success());
        let s = String::from_utf8(out.stdout).unwrap();
        let n: i64 = s
            .lines()
            // libtest prints "test ledger_child ... " before the first line.
            .find_map(|l| l.split("reserved ").nth(1))
            .expect("child printed no count")
            .trim()
            .parse()
            .unwrap();
        total += n;
    }
    let l = Ledger::open(&path, strict()).unwrap();
    let spent = l.spend_today(&Scope::All, None).unwrap();
    assert!(spent <= usd(1.0), "overspent: {spent}");
    assert!(spent > usd(1.0) - usd(0.03), "budget not used up: {spent}");
    assert_eq!(total, 33);
    assert_eq!(spent, total * usd(0.03));
}

#[test]
fn l3_a_sync_write_survives_kill_9_right_after_its_acknowledgement() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kill.db");
    for round in 0..5 {
        let mut k = child("sync", &path);
        let mut lines = BufReader::new(k.stdout.take().unwrap()).lines();
        // Take a few acknowledgements, then kill right after one.
        let mut last = None;
        let mut acks = 0;
        while acks < 3 + round {
            let Some(Ok(line)) = lines.next() else { break };
            if let Some(id) = line.split("acked ").nth(1) {
                last = Some(id.to_string());
                acks += 1;
            }
        }
        k.kill().unwrap(); // SIGKILL
        k.wait().unwrap();
        let id = last.expect("child acknowledged nothing");
        let c = rusqlite::Connection::open(&path).unwrap();
        let n: i64 = c
            .query_row("SELECT COUNT(*) FROM events WHERE id = ?1", [&id], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(
            n, 1,
            "round {round}: acknowledged event {id} is not in the database"
        );
        // In order: everything queued before it is there too.
        let bg: i64 = c
            .query_row(
                "SELECT COUNT(*) FROM events WHERE trace_id = 'bg'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(
            bg >= 5 * (3 + round as i64),
            "round {round}: {bg} earlier events"
        );
    }
}
