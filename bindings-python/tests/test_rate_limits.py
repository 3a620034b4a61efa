"""Rate limits in the ledger from Python (R1-R3): the refusal with its
fields, waiting with asyncio while the event loop keeps running, the
wait/retry events on record, limits changed on an open ledger."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

import usagebook


def test_r3_rate_limited_carries_scope_limit_window_count_and_retry_after(tmp_path: Path) -> None:
    now = [1_736_000_000_000]
    with usagebook.Ledger(tmp_path / "l.db", mode="strict_budget",
                          rate_limits=[{"scope": "provider:openai", "rpm": 2}],
                          _clock=lambda: now[0]) as ledger:
        assert ledger.rate_limits == [{"scope": "provider:openai", "rpm": 2}]
        for t in ("a", "b"):
            ledger.reserve(trace_id=t, provider="openai", model="gpt-4o", estimate_usd=0.01).cancel()
        now[0] += 10_000
        with pytest.raises(usagebook.RateLimited) as err:
            ledger.reserve(trace_id="c", provider="openai", model="gpt-4o", estimate_usd=0.01)
        e = err.value
        assert isinstance(e, usagebook.UsagebookError)
        assert (e.scope, e.limit, e.window_s, e.current, e.maximum, e.requested) == (
            "provider:openai", "rpm", 60, 2, 2, 1)
        assert e.retry_after_s == pytest.approx(51.0)
        # Another provider is outside the scope.
        ledger.reserve(trace_id="d", provider="anthropic", model="claude", estimate_usd=0.01).cancel()
        assert ledger.health()["rate_limited"] == 1


def test_r1_tokens_count_against_tpm_and_the_commit_corrects_them(tmp_path: Path) -> None:
    with usagebook.Ledger(tmp_path / "l.db", rate_limits=[{"scope": "all", "tpm": 1000}]) as ledger:
        h = ledger.reserve(trace_id="a", provider="openai", model="gpt-4o", estimate_usd=0.01,
                           input_tokens=100, max_tokens=800)
        with pytest.raises(usagebook.RateLimited, match="tpm"):
            ledger.reserve(trace_id="b", provider="openai", model="gpt-4o", estimate_usd=0.01,
                           estimate_tokens=200)
        h.commit({"prompt_tokens": 100, "completion_tokens": 50}, cost_actual_usd=0.01)
        ledger.flush()
        ledger.reserve(trace_id="b", provider="openai", model="gpt-4o", estimate_usd=0.01,
                       estimate_tokens=850).cancel()
        with pytest.raises(usagebook.InvalidArgumentError, match="max_tokens"):
            ledger.reserve(trace_id="c", provider="openai", model="gpt-4o", estimate_usd=0.01,
                           max_tokens=-1)


def test_r1_options_are_checked_and_limits_change_on_an_open_ledger(tmp_path: Path) -> None:
    with pytest.raises(usagebook.InvalidArgumentError, match=r"rateLimits\[0\]\.scope"):
        usagebook.Ledger(tmp_path / "a.db", rate_limits=[{"scope": "everything", "rpm": 1}])
    with pytest.raises(usagebook.InvalidArgumentError, match="max_wait_timeout_s"):
        usagebook.Ledger(tmp_path / "a.db", max_wait_timeout_s=-1)
    with usagebook.Ledger(tmp_path / "b.db") as ledger:
        ledger.set_rate_limits([{"scope": "model:gpt-4o", "rpm": 1}])
        ledger.reserve(trace_id="a", provider="openai", model="gpt-4o", estimate_usd=0).cancel()
        with pytest.raises(usagebook.RateLimited):
            ledger.reserve(trace_id="b", provider="openai", model="gpt-4o", estimate_usd=0)
        ledger.set_rate_limits([])
        ledger.reserve(trace_id="b", provider="openai", model="gpt-4o", estimate_usd=0).cancel()


def test_r2_areserve_waits_without_blocking_the_loop_and_records_the_wait(tmp_path: Path) -> None:
    """A real 1-request-per-minute limit would wait a minute; the limit is
    per minute, so this waits on a fresh ledger whose only slot was taken
    by another reservation less than two seconds before its minute ends."""
    db = tmp_path / "l.db"

    async def main() -> tuple[int, float]:
        async with usagebook.Ledger(db, rate_limits=[{"scope": "all", "rpm": 1}],
                                    wait_on_rate_limit=True, max_wait_timeout_s=5,
                                    retry_budget_s=5) as ledger:
            # Take the slot, then wait until it is ~59 s old: instead of
            # sleeping a minute, move its bucket back in the database.
            (await ledger.areserve(trace_id="a", provider="openai", model="gpt-4o",
                                   estimate_usd=0)).cancel()
            with sqlite3.connect(db) as c:
                c.execute("UPDATE rate_usage SET bucket = bucket - 59000 WHERE grain_ms = 1000")
            ticks = 0

            async def ticker() -> None:
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.05)
                    ticks += 1

            t = asyncio.create_task(ticker())
            started = time.monotonic()
            h = await ledger.areserve(trace_id="b", provider="openai", model="gpt-4o", estimate_usd=0)
            waited = time.monotonic() - started
            t.cancel()
            h.cancel()
            ledger.flush()
            return ticks, waited

    ticks, waited = asyncio.run(main())
    assert 0.5 < waited < 5, waited
    assert ticks >= 5, f"the loop ticked {ticks} times while the reservation waited {waited:.2f} s"
    with sqlite3.connect(db) as c:
        rows = c.execute("SELECT event_type, status, timing FROM events WHERE event_type LIKE 'rate_limit_%' ORDER BY seq").fetchall()
    assert [r[0] for r in rows] == ["rate_limit_wait", "rate_limit_retry"]
    assert rows[0][1] == "rpm:all"
    assert '"wait_ms"' in rows[0][2]


def test_r2_a_wait_longer_than_allowed_is_refused_at_once(tmp_path: Path) -> None:
    with usagebook.Ledger(tmp_path / "l.db", rate_limits=[{"scope": "all", "rpm": 1}],
                          wait_on_rate_limit=True, max_wait_timeout_s=1) as ledger:
        ledger.reserve(trace_id="a", provider="openai", model="gpt-4o", estimate_usd=0).cancel()
        started = time.monotonic()
        with pytest.raises(usagebook.RateLimited):
            ledger.reserve(trace_id="b", provider="openai", model="gpt-4o", estimate_usd=0)
        assert time.monotonic() - started < 0.5


def test_r1_the_docs_example_runs(tmp_path: Path) -> None:
    """docs/ledger.md's rate-limit example, as written."""
    import os
    import re
    import subprocess
    import sys

    from helpers import repo_root

    text = (repo_root() / "docs" / "ledger.md").read_text()
    section = text[text.index("## Rate limits"):]
    code = re.search(r"```python\n(.*?)```", section, flags=re.S)
    assert code is not None
    out = subprocess.run([sys.executable, "-c", code.group(1)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60, env={**os.environ})
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("provider:openai rpm 2 2 retry after"), out.stdout
