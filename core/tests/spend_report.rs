//! U6: `usagebook report --db` counts exactly what the ledger's budget
//! counts. Commits priced from SDK usage, given an actual cost, settled at
//! an estimate (unpriced model), adjusted; the report's total for the day
//! equals `spend_today` to the nano-USD, and the unpriced commit is marked.

use serde_json::{json, Value};
use std::sync::Arc;
use usagebook_core::ledger::money::usd_to_nano;
use usagebook_core::ledger::{BudgetMode, EventType, Ledger, LedgerEvent, LedgerOptions, Scope};
use usagebook_core::report::grouped::{from_db, GroupBy, Query};
use usagebook_core::ManualClock;

const T0_MS: i64 = 1_767_261_600_000; // 2026-01-01T10:00:00Z

fn usage(v: Value) -> serde_json::Map<String, Value> {
    v.as_object().unwrap().clone()
}

#[test]
fn u6_report_db_equals_spend_today_to_the_nano_usd() {
    for mode in [BudgetMode::BestEffort, BudgetMode::StrictBudget] {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ledger.db");
        let clock = ManualClock::new(T0_MS);
        let opts = LedgerOptions {
            mode,
            daily_budget_nusd: Some(usd_to_nano(10.0, "b").unwrap()),
            allow_unpriced: true,
            ..LedgerOptions::default()
        };
        let l = Ledger::open_with_clock(&db, opts, Arc::new(clock.clone())).unwrap();
        // Priced from an Anthropic SDK usage with the bundled prices.
        let h = l
            .reserve("a", "anthropic", "claude-sonnet-4-5", 50_000_000, None)
            .unwrap();
        l.commit(
            &h,
            usage(json!({"input_tokens": 200, "output_tokens": 800,
            "cache_creation_input_tokens": 5000, "cache_read_input_tokens": 15000})),
            None,
            false,
        )
        .unwrap();
        // Priced from an OpenAI whole response.
        let h = l
            .reserve("b", "openai", "gpt-4o", 10_000_000, None)
            .unwrap();
        l.commit(
            &h,
            usage(json!({"model": "gpt-4o", "usage": {"prompt_tokens": 1234,
            "completion_tokens": 77, "total_tokens": 1311,
            "prompt_tokens_details": {"cached_tokens": 1000}}})),
            None,
            false,
        )
        .unwrap();
        // An actual cost given.
        let h = l
            .reserve("c", "openai", "gpt-4o", 10_000_000, None)
            .unwrap();
        l.commit(
            &h,
            usage(json!({"prompt_tokens": 1, "completion_tokens": 1})),
            Some(123_456_789),
            false,
        )
        .unwrap();
        // Unpriced: settled at its estimate.
        let h = l
            .reserve("d", "acme", "mystery-1", 250_000_001, None)
            .unwrap();
        l.commit(&h, usage(json!({"input": 10, "output": 5})), None, false)
            .unwrap();
        // A correction.
        let mut adj = LedgerEvent::new(
            EventType::Adjust,
            "c",
            "openai",
            "gpt-4o",
            T0_MS as f64 / 1000.0,
        );
        adj.cost_actual_nusd = Some(-3);
        l.write_event(adj, false).unwrap();
        l.flush().unwrap();
        let spent = l.spend_today(&Scope::All, None).unwrap();
        assert!(spent > 250_000_001 + 123_456_789, "{spent}");
        assert_eq!(l.health().unpriced_commits, 1);
        // U3: the companion of spend_today says how much of it is a guess.
        assert_eq!(l.spend_today(&Scope::Unpriced, None).unwrap(), 250_000_001);
        assert_eq!(l.reserved_today(&Scope::Unpriced, None).unwrap(), 0);
        l.close().unwrap();
        // ... and it is kept in the database's aggregates.
        let again = Ledger::open_with_clock(
            &db,
            LedgerOptions {
                mode,
                ..LedgerOptions::default()
            },
            Arc::new(clock.clone()),
        )
        .unwrap();
        assert_eq!(
            again.spend_today(&Scope::Unpriced, None).unwrap(),
            250_000_001
        );
        assert_eq!(again.spend_today(&Scope::All, None).unwrap(), spent);
        again.close().unwrap();

        let day = l_day(T0_MS);
        let mut q = Query::new(GroupBy::Day);
        q.since_ns = Some(day.0 * 1_000_000);
        q.until_ns = Some(day.1 * 1_000_000);
        let r = from_db(&db, &q).unwrap();
        assert_eq!(r.total.cost_nano_usd, i128::from(spent), "{mode:?}");
        assert_eq!(r.total.requests, 4);
        assert_eq!(r.total.unpriced_requests(), 1, "the estimate is marked");
        assert!(
            r.notes.iter().any(|n| n.contains("estimate")),
            "{:?}",
            r.notes
        );
        // Tokens in the one vocabulary: Anthropic input inclusive.
        let mut q = Query::new(GroupBy::Model);
        q.since_ns = Some(day.0 * 1_000_000);
        let by_model = from_db(&db, &q).unwrap();
        let claude = by_model
            .rows
            .iter()
            .find(|r| r.key == "claude-sonnet-4-5")
            .unwrap();
        assert_eq!(claude.sums.input_tokens, 20_200);
        assert_eq!(claude.sums.cache_read_tokens, 15_000);
        assert_eq!(claude.sums.cache_write_tokens, 5_000);
    }
}

/// [midnight, next midnight) UTC of `ms`, in ms.
fn l_day(ms: i64) -> (i64, i64) {
    let start = ms - ms.rem_euclid(86_400_000);
    (start, start + 86_400_000)
}
