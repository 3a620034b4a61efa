//! Bounds (docs/limits.md): out-of-range numbers are refused with an error
//! naming the field and the bound, so no input can overflow a sum or
//! disable a budget. Each test reproduces a failure a hostile probe found.

use std::sync::Arc;
use usagebook_core::ledger::money::usd_to_nano;
use usagebook_core::ledger::{BudgetMode, EventType, Ledger, LedgerEvent, LedgerOptions, Scope};
use usagebook_core::{Error, ManualClock};

const T0_MS: i64 = 1_767_261_600_000; // 2026-01-01T10:00:00Z

fn usd(x: f64) -> i64 {
    usd_to_nano(x, "t").unwrap()
}

fn open(path: &std::path::Path, o: LedgerOptions) -> usagebook_core::Result<Ledger> {
    Ledger::open_with_clock(path, o, Arc::new(ManualClock::new(T0_MS)))
}

#[test]
fn x_a_never_expiring_hold_ttl_is_refused_not_overflowed() {
    let dir = tempfile::tempdir().unwrap();
    // sys.maxsize seconds, as a Python caller means "never expire".
    for ttl_s in [9.223372036854776e18, 9.2e15, 366.0 * 86400.0 + 1.0] {
        let o = LedgerOptions {
            hold_ttl_ms: (ttl_s * 1000.0) as i64,
            ..LedgerOptions::default()
        };
        let e = open(&dir.path().join("a.db"), o).err().expect("refused");
        assert!(
            e.to_string().contains("hold_ttl_s") && e.to_string().contains("366 days"),
            "{e}"
        );
    }
    let e = LedgerOptions::from_json(Some(r#"{"holdTtlS": 9.2e15}"#))
        .and_then(|o| open(&dir.path().join("b.db"), o).map(|_| ()))
        .unwrap_err();
    assert!(e.to_string().contains("hold_ttl_s"), "{e}");
    // At the bound, five $0.60 holds still cannot pass a $1.00 strict budget.
    for mode in [BudgetMode::StrictBudget, BudgetMode::BestEffort] {
        let o = LedgerOptions {
            mode,
            hold_ttl_ms: 366 * 86_400_000,
            daily_budget_nusd: Some(usd(1.0)),
            ..LedgerOptions::default()
        };
        let l = open(&dir.path().join(format!("{mode:?}.db")), o).unwrap();
        let ok = (0..5)
            .filter(|i| {
                l.reserve(&format!("t{i}"), "openai", "gpt-4o", usd(0.6), None)
                    .is_ok()
            })
            .count();
        assert_eq!(ok, 1, "{mode:?}");
        l.close().unwrap();
    }
}

fn commit(trace: &str, nusd: i64) -> LedgerEvent {
    let mut e = LedgerEvent::new(
        EventType::Commit,
        trace,
        "openai",
        "gpt-4o",
        T0_MS as f64 / 1000.0,
    );
    e.cost_actual_nusd = Some(nusd);
    e
}

#[test]
fn x_spend_cannot_wrap_around() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("l.db");
    let l = open(&db, LedgerOptions::default()).unwrap();
    // One event past the per-event maximum is refused, naming it.
    let e = l.write_event(commit("big", usd(2e7)), true).unwrap_err();
    assert!(
        matches!(e, Error::InvalidArgument(_)) && e.to_string().contains("cost_actual_usd"),
        "{e}"
    );
    // Up to the per-day maximum; then refused instead of wrapping.
    for i in 0..100 {
        l.write_event(commit(&format!("c{i}"), usd(1e7)), false)
            .unwrap();
    }
    let e = l
        .write_event(commit("one-more", usd(1e7)), false)
        .unwrap_err();
    assert!(
        e.to_string().contains("the most usagebook sums in a day"),
        "{e}"
    );
    l.flush().unwrap();
    let spent = l.spend_today(&Scope::All, None).unwrap();
    assert_eq!(spent, usd(1e9));
    l.close().unwrap();
    // The database opens again with the same, positive total.
    let again = open(&db, LedgerOptions::default()).unwrap();
    assert_eq!(again.spend_today(&Scope::All, None).unwrap(), usd(1e9));
    again.close().unwrap();
    // A budget past the day maximum is refused too.
    let o = LedgerOptions {
        daily_budget_nusd: Some(i64::MAX),
        ..LedgerOptions::default()
    };
    let e = open(&dir.path().join("m.db"), o).err().unwrap();
    assert!(e.to_string().contains("daily_budget_usd"), "{e}");
}

#[test]
fn x_millisecond_timestamps_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let l = open(&dir.path().join("l.db"), LedgerOptions::default()).unwrap();
    let mut e = commit("ms", usd(5.0));
    e.timestamp = T0_MS as f64; // time.time() * 1000
    let err = l.write_event(e, true).unwrap_err();
    assert!(err.to_string().contains("looks like milliseconds"), "{err}");
    assert_eq!(l.spend_today(&Scope::All, None).unwrap(), 0);
    let err = LedgerEvent::from_json_str(
        r#"{"event_type": "commit", "trace_id": "t", "provider": "p", "model": "m", "timestamp": 1767261600000}"#,
        0.0,
    )
    .unwrap_err();
    assert!(err.to_string().contains("milliseconds"), "{err}");
    l.close().unwrap();
}

#[test]
fn x_names_past_the_maximum_are_refused_and_messages_stay_short() {
    let dir = tempfile::tempdir().unwrap();
    let l = open(&dir.path().join("l.db"), LedgerOptions::default()).unwrap();
    let huge = "m".repeat(10_000_000);
    let e = l
        .reserve("t", "openai", &huge, 0, None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("model") && e.contains("4096") && e.len() < 400,
        "{}",
        e.len()
    );
    l.close().unwrap();
}

#[test]
fn x_an_emptied_ledger_file_is_said_so_or_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("l.db");
    let l = open(&db, LedgerOptions::default()).unwrap();
    l.write_event(commit("c", usd(1.0)), true).unwrap();
    l.close().unwrap();
    // Emptied after a clean close (no write-ahead log left): a new ledger,
    // and health says what happened.
    std::fs::write(&db, b"").unwrap();
    let l = open(&db, LedgerOptions::default()).unwrap();
    assert_eq!(l.spend_today(&Scope::All, None).unwrap(), 0);
    let notes = l.health().notes;
    assert!(notes.iter().any(|n| n.contains("empty file")), "{notes:?}");
    l.close().unwrap();
    // Emptied under a live write-ahead log: refused.
    std::fs::write(&db, b"").unwrap();
    std::fs::write(dir.path().join("l.db-wal"), b"not empty").unwrap();
    let e = open(&db, LedgerOptions::default()).err().expect("refused");
    assert!(e.to_string().contains("damaged"), "{e}");
}
