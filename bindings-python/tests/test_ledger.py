"""The budget ledger from Python (L1-L12) against real SQLite files. Each
test names the seed behaviour it would have failed on; the Rust versions are
core/tests/ledger.rs."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List

import pytest

import usagebook
from helpers import T0, Clock, db_count, db_rows, from_ms, repo_root, wait_until

MODES = ["best_effort", "strict_budget"]
NEVER = 3_600_000  # a flush interval that never fires during a test
T0_S = T0 / 1000  # 2025-01-04T14:13:20Z


def commit(trace: str, cost: float, ts: float = T0_S, **kw: Any) -> usagebook.LedgerEvent:
    return usagebook.LedgerEvent("commit", trace, "openai", "gpt-4o", cost_actual_usd=cost,
                                 timestamp=ts, **kw)


# The database is read with the sqlite3 module in a child process (see
# helpers.db_rows for why never in this one).
count = db_count


def reserve(ledger: usagebook.Ledger, trace: str, usd: float, **kw: Any) -> usagebook.Hold:
    return ledger.reserve(trace_id=trace, provider="openai", model="gpt-4o", estimate_usd=usd,
                          **kw)


# ---- L4: nothing queued is lost on shutdown ----

@pytest.mark.parametrize("how", ["aclose", "close", "async with", "interpreter exit"])
def test_l4_closing_persists_500_queued_events(how: str, tmp_path: Path) -> None:
    """Seed bug: the whole queue was lost on shutdown."""
    db = tmp_path / "ledger.db"
    if how == "interpreter exit":
        # Never closed: the atexit hook drains it.
        code = f"""
            import usagebook
            l = usagebook.Ledger({str(db)!r}, batch_size=100_000, flush_interval_ms={NEVER})
            for i in range(500):
                l.write_event(usagebook.LedgerEvent("commit", f"t{{i}}", "openai", "gpt-4o",
                                                    cost_actual_usd=0.001))
            assert l.health()["queue_depth"] > 0
            print("queued")
        """
        r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0 and "queued" in r.stdout, r.stderr
        assert count(db) == 500
        return

    def fill(ledger: usagebook.Ledger) -> None:
        for i in range(500):
            ledger.write_event(commit(f"t{i}", 0.001))
        assert ledger.health()["queue_depth"] > 0, "events were not queued"
        assert count(db) == 0

    opts: Dict[str, Any] = dict(batch_size=100_000, flush_interval_ms=NEVER)
    if how == "async with":
        async def main() -> usagebook.Ledger:
            async with usagebook.Ledger(db, **opts) as ledger:
                fill(ledger)
            return ledger
        ledger = asyncio.run(main())
    else:
        ledger = usagebook.Ledger(db, **opts)
        fill(ledger)
        if how == "aclose":
            asyncio.run(ledger.aclose())
        else:
            ledger.close()
    assert count(db) == 500
    assert ledger.health()["closed"]
    # Calls after close fail clearly; closing again is fine.
    with pytest.raises(usagebook.ClosedError):
        ledger.write_event(commit("late", 0.1))
    with pytest.raises(usagebook.ClosedError):
        reserve(ledger, "late", 0.1)
    ledger.close()
    asyncio.run(ledger.aclose())


# ---- L5: one bad event never takes its neighbours with it ----

def test_l5_an_invalid_event_is_refused_at_write_time_and_its_neighbours_persist(
        tmp_path: Path) -> None:
    """Seed bug: one bad event dropped its whole batch."""
    db = tmp_path / "ledger.db"
    with usagebook.Ledger(db, batch_size=100_000, flush_interval_ms=NEVER) as ledger:
        ledger.write_event(commit("a", 0.01))
        bad = commit("b", 0.01, usage={"tokens_in": -5})  # built freely ...
        with pytest.raises(usagebook.InvalidArgumentError, match=r"usage\.tokens_in"):
            ledger.write_event(bad)  # ... refused when written
        ledger.write_event(commit("c", 0.01))
        assert ledger.spend_today("all") == 0.0  # T0 is not today
        assert ledger.health()["queue_depth"] == 2
    assert count(db) == 2
    assert count(db, "trace_id = 'b'") == 0


def invalid_events() -> Dict[str, Any]:
    ok: Dict[str, Any] = dict(event_type="commit", trace_id="t", provider="openai",
                              model="gpt-4o", timestamp=T0_S)
    return {
        "event_type": {**ok, "event_type": "bogus"},
        "status": {**ok, "status": "meh"},
        "trace_id": {**ok, "trace_id": ""},
        "model": {**ok, "model": ""},
        "provider": {**ok, "provider": ""},
        "cost_est_usd": {**ok, "cost_est_usd": -1.0},
        "cost_actual_usd": {**ok, "cost_actual_usd": -0.5},
        "timestamp": {**ok, "timestamp": float("nan")},
        "usage.tokens_out": {**ok, "usage": {"tokens_out": "many"}},
        "timing.ttft_ms": {**ok, "timing": {"ttft_ms": "soon"}},
        "id": {**ok, "id": ""},
    }


@pytest.mark.parametrize("field", list(invalid_events()))
def test_l5_write_time_validation_names_the_field(field: str, tmp_path: Path) -> None:
    ev = usagebook.LedgerEvent(**invalid_events()[field])
    with usagebook.Ledger(tmp_path / "l.db") as ledger:
        with pytest.raises(usagebook.InvalidArgumentError, match=re_field(field)):
            ledger.write_event(ev)
        with pytest.raises(usagebook.InvalidArgumentError, match=re_field(field)):
            asyncio.run(ledger.awrite_event(ev, sync=True))
        assert ledger.health()["queue_depth"] == 0
    assert count(tmp_path / "l.db") == 0


def re_field(field: str) -> str:
    return field.replace(".", r"\.")


@pytest.mark.parametrize("kwargs,field", [
    (dict(trace_id=5), "trace_id"),
    (dict(event_type=None), "event_type"),
    (dict(usage=[1, 2]), "usage"),
    (dict(usage={"tokens_in": object()}), "usage.tokens_in"),
    (dict(usage={1: 2}), "usage"),
    (dict(cost_est_usd="0.1"), "cost_est_usd"),
    (dict(cost_actual_usd=True), "cost_actual_usd"),
    (dict(cost_actual_usd=float("inf")), "cost_actual_usd"),
    (dict(timestamp="now"), "timestamp"),
    (dict(timestamp=datetime(2025, 1, 4)), "timestamp"),  # naive: which zone?
    (dict(profile_id=7), "profile_id"),
    (dict(id=7), "id"),
])
def test_x1_events_of_the_wrong_types_are_refused_when_built(kwargs: Dict[str, Any],
                                                             field: str) -> None:
    args: Dict[str, Any] = dict(event_type="commit", trace_id="t", provider="p", model="m")
    with pytest.raises(usagebook.InvalidArgumentError, match=re_field(field)):
        usagebook.LedgerEvent(**{**args, **kwargs})


# ---- L6: a hold and its commit count once ----

@pytest.mark.parametrize("mode", MODES)
def test_l6_hold_then_commit_counts_once_and_a_cancelled_hold_counts_nothing(
        mode: str, tmp_path: Path, clock: Clock) -> None:
    """Seed bug: a hold and its commit were both counted."""
    db = tmp_path / "l.db"
    with usagebook.Ledger(db, mode=mode, _clock=clock) as ledger:
        hold = reserve(ledger, "trace-1", 0.10)
        assert (ledger.reserved_today(), ledger.spend_today()) == (0.10, 0.0)
        hold.commit(cost_actual_usd=0.04)
        assert hold.settled
        assert ledger.spend_today() == 0.04
        assert ledger.reserved_today() == 0.0
        h2 = reserve(ledger, "trace-2", 0.30)
        assert ledger.reserved_today() == 0.30
        h2.cancel()
        assert (ledger.spend_today(), ledger.reserved_today()) == (0.04, 0.0)
        # Scopes.
        assert ledger.spend_today("provider:openai") == 0.04
        assert ledger.spend_today("model:gpt-4o") == 0.04
        assert ledger.spend_today(scope="model:other") == 0.0
        # A hold settles once.
        for settle in (lambda: hold.commit(cost_actual_usd=0.04), h2.cancel, hold.cancel):
            with pytest.raises(usagebook.InvalidArgumentError, match="already settled"):
                settle()
        assert ledger.spend_today() == 0.04
    # After a restart, from the database's aggregates.
    with usagebook.Ledger(db, mode=mode, _clock=clock) as again:
        assert (again.spend_today(), again.reserved_today()) == (0.04, 0.0)
    assert count(db) == 4  # hold, commit, hold, cancel


def test_l6_a_failed_settle_leaves_the_hold_open(tmp_path: Path, clock: Clock) -> None:
    with usagebook.Ledger(tmp_path / "l.db", _clock=clock) as ledger:
        hold = reserve(ledger, "t", 0.2, profile_id="alice")
        assert (hold.trace_id, hold.provider, hold.model, hold.profile_id) == (
            "t", "openai", "gpt-4o", "alice")
        assert hold.amount_usd == 0.2 and not hold.settled
        assert hold.expires_at == from_ms(T0 + 900_000)
        assert uuid.UUID(hold.event_id).version == 7
        assert "trace_id='t'" in repr(hold)
        with pytest.raises(usagebook.InvalidArgumentError, match=r"usage\.tokens_in"):
            hold.commit(usage={"tokens_in": -1}, cost_actual_usd=0.1)
        assert not hold.settled and ledger.reserved_today() == 0.2
        hold.commit(usage={"tokens_in": 10, "tokens_out": 2}, cost_actual_usd=0.1)
        assert ledger.spend_today(profile_id="alice") == 0.1
        assert ledger.spend_today(profile_id="bob") == 0.0


# ---- L7: strict prechecks see queued commits; budgets hold ----

def test_l7_strict_precheck_sees_a_commit_still_queued(tmp_path: Path, clock: Clock) -> None:
    """Seed bug: strict prechecks read only the database, missing the queue."""
    db = tmp_path / "l.db"
    with usagebook.Ledger(db, mode="strict_budget", daily_budget_usd=1.0,
                          batch_size=100_000, flush_interval_ms=NEVER, _clock=clock) as ledger:
        ledger.write_event(commit("spent", 0.9))
        assert ledger.health()["queue_depth"] == 1 and count(db) == 0
        with pytest.raises(usagebook.BudgetExceeded) as info:
            reserve(ledger, "next", 0.2)
        e = info.value
        assert isinstance(e, usagebook.UsagebookError)
        assert (e.scope, e.window) == ("all", "day")
        assert (e.limit, e.spent, e.reserved, e.requested) == (1.0, 0.9, 0.0, 0.2)
        assert e.reset_at == datetime(2025, 1, 5, tzinfo=timezone.utc)  # the next UTC midnight
        assert e.reset_at.tzinfo is not None
        assert "budget exceeded" in str(e) and "2025-01-05T00:00:00.000Z" in str(e)
        assert count(db, "trace_id = 'next'") == 0


@pytest.mark.parametrize("mode", MODES)
def test_l7_seed_budget_block_at_point_nine_plus_point_two_and_equality_passes(
        mode: str, tmp_path: Path, clock: Clock) -> None:
    with usagebook.Ledger(tmp_path / "l.db", mode=mode, daily_budget_usd=1.0,
                          _clock=clock) as ledger:
        assert ledger.daily_budget_usd == 1.0 and ledger.mode == mode
        ledger.write_event(commit("a", 0.9))
        with pytest.raises(usagebook.BudgetExceeded) as info:
            reserve(ledger, "b", 0.2)
        assert (info.value.spent, info.value.requested) == (0.9, 0.2)
        # The same precheck written as an event is refused the same way.
        with pytest.raises(usagebook.BudgetExceeded):
            ledger.write_event(usagebook.LedgerEvent("precheck_hold", "b", "openai", "gpt-4o",
                                                     cost_est_usd=0.2, timestamp=T0_S))
        hold = reserve(ledger, "c", 0.1)  # 0.9 + 0.1 == 1.0 passes
        assert ledger.reserved_today() == 0.1
        with pytest.raises(usagebook.BudgetExceeded) as info:
            reserve(ledger, "d", 0.000000001)
        assert (info.value.spent, info.value.reserved) == (0.9, 0.1)
        hold.cancel()


def test_l6_seed_daily_spend_goes_0_then_point_5_then_point_8(tmp_path: Path,
                                                             clock: Clock) -> None:
    with usagebook.Ledger(tmp_path / "l.db", _clock=clock) as ledger:
        assert ledger.spend_today() == 0.0
        ledger.write_event(commit("a", 0.5))
        assert ledger.spend_today() == 0.5
        ledger.write_event(commit("b", 0.3))
        assert ledger.spend_today() == 0.8


def test_l11_seed_five_threads_times_ten_times_point_one_is_exactly_five(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    ledger = usagebook.Ledger(db)
    now = time.time()
    start = threading.Barrier(5)

    def work(t: int) -> None:
        start.wait()
        for i in range(10):
            ledger.write_event(commit(f"{t}-{i}", 0.1, ts=now))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(5)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert ledger.spend_today() == 5.0  # exactly: nano-USD inside
    ledger.close()
    with usagebook.Ledger(db) as again:
        assert again.spend_today() == 5.0
    assert count(db) == 50


def test_l6_seed_hold_commit_adjust_lifecycle(tmp_path: Path, clock: Clock) -> None:
    with usagebook.Ledger(tmp_path / "l.db", mode="strict_budget", daily_budget_usd=5.0,
                          _clock=clock) as ledger:
        hold = ledger.reserve(trace_id="job", provider="dashscope", model="qwen-max",
                              estimate_usd=0.50, profile_id="alice")
        assert ledger.reserved_today(profile_id="alice") == 0.5
        hold.commit(usage={"tokens_in": 100, "tokens_out": 20}, cost_actual_usd=0.42)
        adj = usagebook.LedgerEvent("adjust", "job", "dashscope", "qwen-max",
                                    cost_actual_usd=-0.02, timestamp=T0_S, profile_id="alice")
        ledger.write_event(adj, sync=True)
        assert ledger.spend_today() == 0.40
        assert ledger.spend_today(profile_id="alice") == 0.40
        assert ledger.spend_today(profile_id="bob") == 0.0
        assert ledger.spend_today("provider:dashscope", "alice") == 0.40
        assert ledger.reserved_today() == 0.0
    kinds = [r[0] for r in db_rows(tmp_path / "l.db", "SELECT event_type FROM events ORDER BY seq")]
    assert kinds == ["precheck_hold", "commit", "adjust"]


# ---- L9: holds expire ----

def test_l9_expired_holds_are_released_also_across_a_restart(tmp_path: Path,
                                                             clock: Clock) -> None:
    db = tmp_path / "l.db"
    opts: Dict[str, Any] = dict(hold_ttl_s=60, daily_budget_usd=1.0, _clock=clock)
    ledger = usagebook.Ledger(db, **opts)
    reserve(ledger, "a", 0.6)
    with pytest.raises(usagebook.BudgetExceeded):
        reserve(ledger, "b", 0.6)
    clock.now += 60_000
    # Expired: no longer reserved, the budget is free again.
    assert ledger.reserved_today() == 0.0
    reserve(ledger, "b", 0.6)
    ledger.close()
    # Restart after b expired too: the orphaned hold is cancelled at open.
    clock.now += 120_000
    ledger = usagebook.Ledger(db, **opts)
    assert ledger.reserved_today() == 0.0
    assert ledger.health()["expired_holds"] >= 1
    ledger.close()
    assert db_rows(db, "SELECT COUNT(*) FROM holds") == [[0]]
    rows = db_rows(db, "SELECT trace_id, timing FROM events WHERE event_type = 'cancel' "
                       "AND status = 'cancelled'")
    assert {t for t, _ in rows} == {"a", "b"}
    assert all("expired_hold_age_ms" in json.loads(timing) for _, timing in rows)


def test_l9_the_writer_expires_holds_on_real_time(tmp_path: Path) -> None:
    """No clock hook: a 0.3 s hold is cancelled by the writer on its own."""
    db = tmp_path / "l.db"
    with usagebook.Ledger(db, hold_ttl_s=0.3, flush_interval_ms=50) as ledger:
        hold = reserve(ledger, "short", 0.25)
        assert ledger.reserved_today() == 0.25
        assert hold.expires_at <= datetime.now(timezone.utc) + timedelta(seconds=0.31)
        wait_until(lambda: count(db, "event_type = 'cancel' AND trace_id = 'short'") == 1,
                   timeout=10, what="the writer to cancel the expired hold")
        assert ledger.reserved_today() == 0.0
        assert ledger.health()["expired_holds"] == 1
        assert ledger.spend_today() == 0.0


# ---- X3: days in the ledger's timezone ----

def test_x3_day_boundaries_in_a_non_utc_timezone(tmp_path: Path, clock: Clock) -> None:
    db = tmp_path / "l.db"
    # 2025-01-04T14:13:20Z is 23:13 in Tokyo (UTC+9).
    tokyo_midnight = 1_736_002_800_000  # 2025-01-05T00:00+09:00
    ledger = usagebook.Ledger(db, timezone="Asia/Tokyo", daily_budget_usd=0.5, _clock=clock)
    assert ledger.timezone == "Asia/Tokyo"
    ledger.write_event(commit("before", 0.25))
    ledger.write_event(commit("yesterday", 0.5, ts=T0_S - 86_400))
    assert ledger.spend_today() == 0.25
    with pytest.raises(usagebook.BudgetExceeded) as info:
        reserve(ledger, "big", 0.3)
    assert info.value.reset_at == from_ms(tokyo_midnight)  # the next *Tokyo* midnight
    clock.now = tokyo_midnight
    assert ledger.spend_today() == 0.0, "a new Tokyo day started"
    ledger.write_event(commit("after", 0.125, ts=tokyo_midnight / 1000 + 0.001))
    assert ledger.spend_today() == 0.125
    reserve(ledger, "big", 0.3).cancel()  # a new day's budget
    ledger.close()
    # The same events seen from UTC: all on 2025-01-04 except yesterday's.
    with usagebook.Ledger(db, _clock=clock) as utc:
        assert utc.spend_today() == 0.375
    with pytest.raises(usagebook.InvalidArgumentError, match="timezone"):
        usagebook.Ledger(tmp_path / "x.db", timezone="Nowhere/City")


# ---- L1: events ----

def test_l1_duplicate_ids_are_idempotent(tmp_path: Path, clock: Clock) -> None:
    db = tmp_path / "l.db"
    ev = commit("a", 0.3)
    with usagebook.Ledger(db, _clock=clock) as ledger:
        ledger.write_event(ev, sync=True)
    with usagebook.Ledger(db, _clock=clock) as ledger:
        ledger.write_event(ev, sync=True)  # a retry after a restart
        assert ledger.spend_today() == 0.3
        assert ledger.health()["duplicates"] == 1
    assert count(db) == 1


def test_l1_event_attributes_and_defaults() -> None:
    before = time.time()
    ev = usagebook.LedgerEvent("commit", "t", "openai", "gpt-4o")
    assert uuid.UUID(ev.id).version == 7
    assert before - 1 <= ev.timestamp <= time.time() + 1
    assert (ev.event_type, ev.trace_id, ev.provider, ev.model) == ("commit", "t", "openai",
                                                                   "gpt-4o")
    assert (ev.usage, ev.cost_est_usd, ev.cost_actual_usd, ev.status, ev.timing,
            ev.profile_id) == ({}, 0.0, None, "ok", {}, None)
    assert usagebook.LedgerEvent("commit", "t", "p", "m").id != ev.id
    full = usagebook.LedgerEvent(
        "precheck_hold", "t2", "anthropic", "claude", usage={"tokens_in": 12, "images": 1.5},
        cost_est_usd=0.25, cost_actual_usd=None, status="ok", timing={"ttft_ms": 120},
        timestamp=datetime(2025, 1, 4, 14, 13, 20, tzinfo=timezone.utc), profile_id="alice",
        id="my-id")
    assert full.timestamp == T0_S
    assert full.usage == {"tokens_in": 12, "images": 1.5}
    full.usage["tokens_in"] = 99  # a copy
    assert full.usage["tokens_in"] == 12
    assert (full.cost_est_usd, full.timing, full.profile_id, full.id) == (
        0.25, {"ttft_ms": 120}, "alice", "my-id")
    assert full.to_dict() == {
        "id": "my-id", "event_type": "precheck_hold", "trace_id": "t2", "provider": "anthropic",
        "model": "claude", "usage": {"tokens_in": 12, "images": 1.5}, "cost_est_usd": 0.25,
        "cost_actual_usd": None, "status": "ok", "timing": {"ttft_ms": 120},
        "timestamp": T0_S, "profile_id": "alice"}
    assert repr(full).startswith("LedgerEvent(event_type='precheck_hold', trace_id='t2'")
    same = usagebook.LedgerEvent(**{k: v for k, v in full.to_dict().items()
                                    if k != "cost_actual_usd"})
    assert same == full and same != ev


# ---- L12: pricing ----

PRICES = {
    "sample_spec": {"input_cost_per_token": 0, "max_tokens": "x"},
    "gpt-4o": {"input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05,
               "cache_read_input_token_cost": 1.25e-06, "litellm_provider": "openai"},
}


@pytest.mark.parametrize("source", ["dict", "str path", "PathLike"])
def test_l12_commits_are_priced_from_usage_and_unknown_models_are_flagged(
        source: str, tmp_path: Path, clock: Clock) -> None:
    f = tmp_path / "prices.json"
    f.write_text(json.dumps(PRICES))
    prices: Any = {"dict": PRICES, "str path": str(f), "PathLike": f}[source]
    db = tmp_path / "l.db"
    with usagebook.Ledger(db, prices=prices, _clock=clock) as ledger:
        ledger.write_event(usagebook.LedgerEvent(
            "commit", "p", "openai", "gpt-4o", usage={"tokens_in": 1000, "tokens_out": 100},
            timestamp=T0_S))
        assert ledger.spend_today() == 0.0035
        # Unknown model, no actual cost: the hold's estimate counts, flagged unpriced.
        hold = ledger.reserve(trace_id="u", provider="acme", model="mystery", estimate_usd=0.2)
        hold.commit(usage={"tokens_in": 5})
        assert ledger.spend_today() == 0.2035
    [[cost_json]] = db_rows(db, "SELECT cost FROM events WHERE trace_id = 'u' AND "
                                "event_type = 'commit'")
    cost = json.loads(cost_json)
    assert cost["priced"] is False


@pytest.mark.parametrize("kwargs,field", [
    (dict(mode="fast"), "mode"),
    (dict(mode=1), "mode"),
    (dict(batch_size=0), "batch_size"),
    (dict(batch_size=True), "batch_size"),
    (dict(flush_interval_ms=0), "flush_interval_ms"),
    (dict(daily_budget_usd=-1), "daily_budget_usd"),
    (dict(daily_budget_usd="1"), "daily_budget_usd"),
    (dict(hold_ttl_s=0), "hold_ttl_s"),
    (dict(timezone="Mars/Olympus"), "timezone"),
    (dict(prices=42), "prices"),
    (dict(prices={"m": {"input_cost_per_token": -1}}), "input_cost_per_token"),
    (dict(prices="/nonexistent/prices.json"), "prices.json"),
    (dict(_clock=5), "_clock"),
])
def test_x1_bad_options_are_refused_naming_them(kwargs: Dict[str, Any], field: str,
                                                tmp_path: Path) -> None:
    with pytest.raises(usagebook.UsagebookError, match=field):
        usagebook.Ledger(tmp_path / "l.db", **kwargs)


def test_x1_bad_call_arguments(tmp_path: Path) -> None:
    with usagebook.Ledger(tmp_path / "l.db") as ledger:
        with pytest.raises(usagebook.InvalidArgumentError, match="scope"):
            ledger.spend_today("team:x")
        with pytest.raises(usagebook.InvalidArgumentError, match="ev"):
            ledger.write_event({"event_type": "commit"})  # type: ignore[arg-type]
        with pytest.raises(usagebook.InvalidArgumentError, match="estimate_usd"):
            reserve(ledger, "t", float("nan"))
        with pytest.raises(usagebook.InvalidArgumentError, match="estimate_usd"):
            reserve(ledger, "t", -0.1)
        with pytest.raises(usagebook.InvalidArgumentError, match="trace_id"):
            reserve(ledger, "", 0.1)
        with pytest.raises(TypeError):
            ledger.reserve("t", "openai", "gpt-4o", 0.1)  # type: ignore[misc]
        with pytest.raises(usagebook.InvalidArgumentError, match="sync"):
            ledger.write_event(commit("t", 0.1), sync="yes")  # type: ignore[arg-type]
        with pytest.raises(usagebook.InvalidArgumentError, match="sync"):
            asyncio.run(ledger.awrite_event(commit("t", 0.1), sync=1))  # type: ignore[arg-type]
        with pytest.raises(usagebook.InvalidArgumentError, match="_clock must return"):
            usagebook.Ledger(tmp_path / "c.db", _clock=lambda: "noon")
        assert ledger.health()["queue_depth"] == 0
        assert ledger.health()["open_holds"] == 0


# ---- holds as context managers ----

def test_hold_context_manager_cancels_on_exception_and_when_left_open(
        tmp_path: Path, clock: Clock) -> None:
    with usagebook.Ledger(tmp_path / "l.db", _clock=clock) as ledger:
        with pytest.raises(RuntimeError, match="the call failed"):
            with reserve(ledger, "boom", 0.3) as hold:
                assert ledger.reserved_today() == 0.3
                raise RuntimeError("the call failed")
        assert hold.settled and ledger.reserved_today() == 0.0
        # Left open on a normal exit: cancelled too (documented choice).
        with reserve(ledger, "forgot", 0.3) as hold:
            pass
        assert hold.settled and ledger.reserved_today() == 0.0
        with reserve(ledger, "ok", 0.3) as hold:
            hold.commit(cost_actual_usd=0.05)
        assert (ledger.spend_today(), ledger.reserved_today()) == (0.05, 0.0)

        async def main() -> None:
            with pytest.raises(KeyError):
                async with await ledger.areserve(trace_id="aboom", provider="openai",
                                                 model="gpt-4o", estimate_usd=0.3):
                    raise KeyError("x")
            async with await ledger.areserve(trace_id="aok", provider="openai",
                                             model="gpt-4o", estimate_usd=0.3) as h:
                await h.acommit({"tokens_in": 3}, 0.01)
            h2 = await ledger.areserve(trace_id="ac", provider="openai", model="gpt-4o",
                                       estimate_usd=0.3)
            await h2.acancel()
            with pytest.raises(usagebook.InvalidArgumentError, match="already settled"):
                await h2.acancel()

        asyncio.run(main())
        assert (ledger.spend_today(), ledger.reserved_today()) == (0.06, 0.0)
    cancels = {r[0] for r in db_rows(tmp_path / "l.db",
                                     "SELECT trace_id FROM events WHERE event_type = 'cancel'")}
    assert cancels == {"boom", "forgot", "aboom", "ac"}


# ---- the issue's snippet, as written ----

ISSUE_SNIPPET = """\
ledger = usagebook.Ledger(path, *, mode="best_effort",  # or "strict_budget"
                          batch_size=100, flush_interval_ms=200,
                          daily_budget_usd=None, timezone="UTC",
                          hold_ttl_s=900, prices=None)
ev = usagebook.LedgerEvent(event_type, trace_id, provider, model,
                           usage=None, cost_est_usd=0.0, cost_actual_usd=None,
                           status="ok", timing=None, timestamp=None,
                           profile_id=None, id=None)
ledger.write_event(ev); await ledger.awrite_event(ev, sync=False)
ledger.spend_today(scope="all", profile_id=None); await ledger.aspend_today(...)
ledger.close(); await ledger.aclose()
"""


def test_the_issue_snippet_runs_as_written(tmp_path: Path) -> None:
    # The snippet's signature-style lines (`path, *,` and `...`) become a
    # call: `*,` is dropped and `...` is the defaults; everything else is
    # run verbatim.
    code = ISSUE_SNIPPET.replace("(path, *, ", "(path, ").replace(
        "aspend_today(...)", "aspend_today()")
    src = "async def snippet(path, event_type, trace_id, provider, model):\n" + textwrap.indent(
        code, "    ") + "    return ledger, ev\n"
    ns: Dict[str, Any] = {"usagebook": usagebook}
    exec(compile(src, "issue-5-snippet", "exec"), ns)
    db = tmp_path / "ledger.db"
    ledger, ev = asyncio.run(ns["snippet"](str(db), "commit", "trace-1", "openai", "gpt-4o"))
    assert ledger.health()["closed"]
    assert count(db) == 1  # written twice, counted once (the same id)
    with usagebook.Ledger(db) as again:
        assert again.spend_today() == 0.0  # unpriced, no estimate: $0, flagged


def test_docs_ledger_quick_start_output(tmp_path: Path) -> None:
    text = (repo_root() / "docs" / "python.md").read_text()
    section = text[text.index("## Ledger"):]
    code = re.search(r"```python\n(.*?)```", section, flags=re.S)
    assert code, "no ledger quick start"
    (tmp_path / "quick.py").write_text(code.group(1))
    outs: List[str] = []
    for _ in range(2):
        r = subprocess.run([sys.executable, "quick.py"], cwd=tmp_path, capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        outs.append(r.stdout)
    assert "spent today $0.0400, reserved $0.0000" in outs[0], outs[0]
    assert "spent today $0.0800, reserved $0.0000" in outs[1], outs[1]
    assert "refused: limit $1.00" in outs[0], outs[0]
