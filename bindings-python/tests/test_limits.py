"""Bounds (docs/limits.md) from Python, where a hostile probe found them
missing: a "never expire" hold TTL disabled the budget, millisecond
timestamps filed spend 50,000 years ahead, deep nesting crashed the
interpreter, and huge values made huge messages."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import usagebook


def test_x_sys_maxsize_hold_ttl_is_refused_and_budgets_hold(tmp_path: Path) -> None:
    with pytest.raises(usagebook.InvalidArgumentError, match="hold_ttl_s.*366 days"):
        usagebook.Ledger(tmp_path / "a.db", hold_ttl_s=sys.maxsize)
    with usagebook.Ledger(tmp_path / "b.db", mode="strict_budget", daily_budget_usd=1.0,
                          hold_ttl_s=366 * 86400) as ledger:
        passed = 0
        for i in range(5):
            try:
                ledger.reserve(trace_id=f"t{i}", provider="openai", model="gpt-4o", estimate_usd=0.6)
                passed += 1
            except usagebook.BudgetExceeded:
                pass
        assert passed == 1


def test_x_millisecond_timestamps_are_refused(tmp_path: Path) -> None:
    with usagebook.Ledger(tmp_path / "l.db", mode="strict_budget", daily_budget_usd=1.0) as ledger:
        ev = usagebook.LedgerEvent("commit", "t", "openai", "gpt-4o", cost_actual_usd=5.0,
                                   timestamp=time.time() * 1000)
        with pytest.raises(usagebook.InvalidArgumentError, match="looks like milliseconds"):
            ledger.write_event(ev, sync=True)
        assert ledger.spend_today() == 0.0
        # Seconds are fine.
        ledger.write_event(usagebook.LedgerEvent("commit", "t2", "openai", "gpt-4o", cost_actual_usd=0.5,
                                                 timestamp=time.time()), sync=True)
        assert ledger.spend_today() == 0.5


def test_x_money_past_the_per_event_and_per_day_maximum_is_refused(tmp_path: Path) -> None:
    with usagebook.Ledger(tmp_path / "l.db") as ledger:
        with pytest.raises(usagebook.InvalidArgumentError, match="cost_actual_usd"):
            ledger.write_event(usagebook.LedgerEvent("commit", "t", "openai", "gpt-4o", cost_actual_usd=2e7))
        with pytest.raises(usagebook.InvalidArgumentError, match="daily_budget_usd"):
            usagebook.Ledger(tmp_path / "m.db", daily_budget_usd=1e12)


@pytest.mark.parametrize("where", ["usage", "timing", "prices", "track_usage"])
def test_x_deep_nesting_is_an_error_not_a_crash(where: str, tmp_path: Path) -> None:
    # In a child process: a crash there fails this test instead of pytest.
    code = textwrap.dedent(f"""
        import sys, usagebook
        sys.setrecursionlimit(100_000)
        deep = {{"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
        for _ in range(6000):
            deep = {{"x": deep, "prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
        try:
            if {where!r} == "usage":
                usagebook.LedgerEvent("commit", "t", "p", "m", usage=deep)
            elif {where!r} == "timing":
                usagebook.LedgerEvent("commit", "t", "p", "m", timing=deep)
            elif {where!r} == "prices":
                usagebook.Ledger({str(tmp_path / 'l.db')!r}, prices={{"m": deep}})
            else:
                usagebook.InMemoryLlmUsageTracker().track_usage("b", deep)
        except usagebook.InvalidArgumentError as e:
            assert "nested deeper" in str(e), e
            print("refused")
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, (r.returncode, r.stderr[-2000:])
    assert "refused" in r.stdout


def test_x_error_messages_quote_a_bounded_part_of_the_value() -> None:
    t = usagebook.InMemoryLlmUsageTracker()
    with pytest.raises(usagebook.InvalidArgumentError) as e:
        t.track_usage("b" * 10_000_000, {"promptTokens": 1, "completionTokens": 1, "totalTokens": 2})
    assert len(str(e.value)) < 500
    with pytest.raises(usagebook.InvalidArgumentError) as e:
        usagebook.cost("gpt-4o", {"z" * 10_000_000: 1})
    assert len(str(e.value)) < 2000


@pytest.mark.parametrize("where", ["bridge_id", "filter", "usage_key", "status", "ledger_trace", "ledger_usage"])
def test_x_a_lone_surrogate_is_an_invalid_argument_naming_the_field(where: str, tmp_path: Path) -> None:
    """Issue 11 #11: a lone surrogate gave a bare UnicodeEncodeError that
    named no field."""
    bad = "open\ud800ai"
    usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    t = usagebook.InMemoryLlmUsageTracker()
    with pytest.raises(usagebook.InvalidArgumentError) as err:
        if where == "bridge_id":
            t.track_usage(bad, usage)
        elif where == "filter":
            t.get_usage_stats(bad)
        elif where == "usage_key":
            t.track_usage("a", {**usage, bad: 1})
        elif where == "status":
            t.track_usage("a", usage, status=bad)
        else:
            with usagebook.Ledger(tmp_path / "l.db") as ledger:
                if where == "ledger_trace":
                    ev = usagebook.LedgerEvent("commit", bad, "openai", "gpt-4o", cost_actual_usd=0.1)
                else:
                    ev = usagebook.LedgerEvent("commit", "t", "openai", "gpt-4o",
                                               usage={"input_tokens": 1, "output_tokens": 1, "note": bad})
                ledger.write_event(ev, sync=True)
    assert not isinstance(err.value, UnicodeError)
    msg = str(err.value)
    assert "lone surrogate" in msg or "status" in msg, msg
    assert {"bridge_id": "bridge_id", "filter": "bridge_id", "usage_key": "key", "status": "status",
            "ledger_trace": "trace_id", "ledger_usage": "usage"}[where] in msg, msg
    assert t.get_usage_stats().total_requests == 0
