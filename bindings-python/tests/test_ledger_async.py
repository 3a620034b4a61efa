"""The ledger from asyncio: `awrite_event(ev, sync=True)` returns only
after the commit (a child process is `kill -9`ed right after printing the
acknowledgement and the event is in the database), and the event loop
keeps ticking (its lag is measured) during sync writes and `aclose`."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import usagebook
from helpers import db_count, db_rows
from test_asyncio import measure_lag

NEVER = 3_600_000
QUEUED = 10_000  # events queued before the measured call, so it takes a while


def commit(trace: str, ts: float = 1.9e9) -> usagebook.LedgerEvent:
    return usagebook.LedgerEvent("commit", trace, "openai", "gpt-4o", cost_actual_usd=0.001,
                                 timestamp=ts)


# The database is read with the sqlite3 module in a child process (see
# helpers.db_rows for why never in this one).
count = db_count


def queued_ledger(path: Path, n: int = QUEUED, **kw: Any) -> usagebook.Ledger:
    ledger = usagebook.Ledger(path, batch_size=10 * n, flush_interval_ms=NEVER, **kw)
    for i in range(n):
        ledger.write_event(commit(f"q{i}"))
    assert ledger.health()["queue_depth"] == n
    return ledger


# ---- L3: a sync acknowledgement means committed ----

CHILD = """
    import asyncio, sys
    import usagebook

    def ev(trace):
        return usagebook.LedgerEvent("commit", trace, "openai", "gpt-4o",
                                     cost_actual_usd=0.000000001, timestamp=1.9e9)

    async def main():
        ledger = usagebook.Ledger(sys.argv[1], flush_interval_ms=60_000, batch_size=10_000)
        i = 0
        while True:
            # Some unsynced events queue up before each synced one.
            for _ in range(5):
                ledger.write_event(ev("bg"))
            e = ev(f"t{i}")
            await ledger.awrite_event(e, sync=True)
            print("acked", e.id, flush=True)
            i += 1

    asyncio.run(main())
"""


def test_l3_awrite_event_sync_survives_kill_9_right_after_its_acknowledgement(
        tmp_path: Path) -> None:
    db = tmp_path / "kill.db"
    for round in range(3):
        k = subprocess.Popen([sys.executable, "-c", textwrap.dedent(CHILD), str(db)],
                             stdout=subprocess.PIPE, text=True)
        assert k.stdout is not None
        last = None
        acks = 0
        while acks < 3 + round:
            line = k.stdout.readline()
            if not line:
                break
            if line.startswith("acked "):
                last = line.split()[1]
                acks += 1
        os.kill(k.pid, signal.SIGKILL)  # right after the acknowledgement
        k.wait()
        k.stdout.close()
        assert k.returncode == -signal.SIGKILL
        assert last is not None, "the child acknowledged nothing"
        assert count(db, f"id = '{last}'") == 1, (
            f"round {round}: acknowledged event {last} is not in the database")
        # In order: everything queued before it is there too.
        assert count(db, "trace_id = 'bg'") >= 5 * (3 + round)


def test_l3_sync_returns_after_commit_and_plain_returns_at_once(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    ledger = usagebook.Ledger(db, batch_size=100_000, flush_interval_ms=NEVER)

    async def main() -> None:
        await ledger.awrite_event(commit("queued"))
        assert count(db) == 0 and ledger.health()["queue_depth"] == 1
        await ledger.awrite_event(commit("synced"), sync=True)
        assert count(db) == 2  # with the event queued before it
        ledger.write_event(commit("blocking sync"), sync=True)
        assert count(db) == 3
        await ledger.aflush()

    asyncio.run(main())
    ledger.close()


# ---- the loop keeps ticking ----

def report(what: str, duration: float, lag: float, ticks: int) -> None:
    print(f"{what}: took {duration * 1000:.0f} ms; worst loop lag {lag * 1000:.1f} ms "
          f"over {ticks} ticks")


def assert_not_blocked(duration: float, lag: float, ticks: int) -> None:
    # A blocked loop would lag by the whole duration and tick at most once.
    assert duration > 0.05, "the write was too small to tell"
    assert ticks >= 5, (duration, lag, ticks)
    assert lag < max(0.05, duration / 2), (duration, lag, ticks)


@pytest.mark.parametrize("mode", ["best_effort", "strict_budget"])
def test_loop_keeps_ticking_during_sync_writes(mode: str, tmp_path: Path) -> None:
    ledger = queued_ledger(tmp_path / "l.db", mode=mode)

    async def sync_writes() -> None:
        # The first commits the 10 000 queued events with it; then more.
        for i in range(20):
            await ledger.awrite_event(commit(f"s{i}"), sync=True)

    duration, lag, ticks = asyncio.run(measure_lag(sync_writes))
    report(f"awrite_event(sync=True), {mode}", duration, lag, ticks)
    assert_not_blocked(duration, lag, ticks)
    assert count(tmp_path / "l.db") == QUEUED + 20
    ledger.close()


def test_loop_keeps_ticking_during_aclose(tmp_path: Path) -> None:
    ledger = queued_ledger(tmp_path / "l.db")
    duration, lag, ticks = asyncio.run(measure_lag(ledger.aclose))
    report("aclose", duration, lag, ticks)
    assert_not_blocked(duration, lag, ticks)
    assert count(tmp_path / "l.db") == QUEUED


def test_a_blocking_sync_write_would_lag_the_loop_for_comparison(tmp_path: Path) -> None:
    """The measurement can fail: `write_event(ev, sync=True)` in a coroutine
    does block the loop."""
    ledger = queued_ledger(tmp_path / "l.db")

    async def blocking() -> None:
        ledger.write_event(commit("s"), sync=True)

    duration, lag, _ = asyncio.run(measure_lag(blocking))
    ledger.close()
    assert lag >= duration * 0.5, (duration, lag)


def test_strict_async_calls_do_not_block_the_loop(tmp_path: Path) -> None:
    """Strict reserves and reads wait for the writer's transaction: from
    asyncio they run off the loop."""
    ledger = queued_ledger(tmp_path / "l.db", mode="strict_budget", daily_budget_usd=100.0)

    async def strict_calls() -> None:
        # The first strict call commits the queue before its transaction.
        hold = await ledger.areserve(trace_id="r", provider="openai", model="gpt-4o",
                                     estimate_usd=0.5)
        assert await ledger.areserved_today() == 0.5
        await hold.acommit(cost_actual_usd=0.25)
        assert await ledger.aspend_today("model:gpt-4o") == 0.25
        await ledger.awrite_event(usagebook.LedgerEvent(
            "precheck_hold", "w", "openai", "gpt-4o", cost_est_usd=1.0))
        assert await ledger.areserved_today() == 1.0

    duration, lag, ticks = asyncio.run(measure_lag(strict_calls))
    report("strict areserve/aspend_today", duration, lag, ticks)
    assert_not_blocked(duration, lag, ticks)
    ledger.close()


# ---- errors reach the awaiting coroutine ----

@pytest.mark.parametrize("mode", ["best_effort", "strict_budget"])
def test_async_errors_propagate(mode: str, tmp_path: Path) -> None:
    async def main() -> None:
        async with usagebook.Ledger(tmp_path / "l.db", mode=mode, daily_budget_usd=1.0) as l:
            hold = usagebook.LedgerEvent("precheck_hold", "big", "openai", "gpt-4o",
                                         cost_est_usd=2.0)
            with pytest.raises(usagebook.BudgetExceeded) as info:
                await l.awrite_event(hold)
            assert info.value.requested == 2.0
            with pytest.raises(usagebook.BudgetExceeded):
                await l.awrite_event(hold, sync=True)
            with pytest.raises(usagebook.BudgetExceeded):
                await l.areserve(trace_id="big", provider="openai", model="gpt-4o",
                                 estimate_usd=1.5)
            with pytest.raises(usagebook.InvalidArgumentError, match="scope"):
                await l.aspend_today("nope")
            assert await l.aspend_today() == 0.0
        with pytest.raises(usagebook.ClosedError):
            await l.awrite_event(commit("late"), sync=True)
        with pytest.raises(usagebook.ClosedError):
            await l.aflush()
        await l.aclose()  # closing twice is fine

    asyncio.run(main())


def test_many_concurrent_sync_awrites_all_commit(tmp_path: Path) -> None:
    db = tmp_path / "l.db"

    async def main() -> None:
        async with usagebook.Ledger(db, flush_interval_ms=NEVER) as ledger:
            async def worker(k: int) -> None:
                for i in range(20):
                    await ledger.awrite_event(commit(f"{k}-{i}"), sync=i % 5 == 4)

            await asyncio.gather(*(worker(k) for k in range(25)))
            assert count(db) >= 25 * 4  # at least every synced one

    asyncio.run(main())
    assert count(db) == 500


def test_sync_awrites_racing_aclose_always_settle(tmp_path: Path) -> None:
    """Every `awrite_event(sync=True)` racing `aclose` completes (committed,
    or ClosedError), never hangs; what was acknowledged is in the database."""
    db = tmp_path / "l.db"

    async def main() -> None:
        ledger = usagebook.Ledger(db, flush_interval_ms=NEVER)
        acked: list[str] = []
        closed = 0

        async def writer(k: int) -> None:
            nonlocal closed
            for i in range(200):
                ev = commit(f"{k}-{i}")
                try:
                    await ledger.awrite_event(ev, sync=True)
                except usagebook.ClosedError:
                    closed += 1
                    return
                acked.append(ev.id)

        async def closer() -> None:
            await asyncio.sleep(0.02)
            await ledger.aclose()

        await asyncio.wait_for(asyncio.gather(*(writer(k) for k in range(8)), closer()), 30)
        assert closed == 8, "the writers were not cut off by the close"
        stored = {r[0] for r in db_rows(db, "SELECT id FROM events")}
        assert set(acked) <= stored

    for _ in range(3):
        asyncio.run(main())
