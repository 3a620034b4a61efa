"""Type-checked use of the public API: run-tests.sh runs `mypy --strict` on
this file against the installed wheel (py.typed + the .pyi stubs), then
runs it. Every tracker class must satisfy LlmBridgeUsageTracker."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from typing import Dict, List, Optional

import usagebook
from usagebook import (
    FileBackedLlmUsageTracker,
    InMemoryLlmUsageTracker,
    LlmBridgeUsageTracker,
    NoOpLlmUsageTracker,
    UsageLog,
    UsageStats,
)


def record_call(tracker: LlmBridgeUsageTracker, model: str, prompt: int, completion: int) -> None:
    tracker.track_usage(
        model,
        {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
        duration_ms=12.5,
        status="success",
    )


def summary(stats: UsageStats) -> Dict[str, object]:
    last: Optional[datetime] = stats.last_used_at
    avg: float = stats.average_tokens_per_request
    return {"n": stats.total_requests, "avg": avg, "last": last, "json": stats.to_dict()}


def ids(logs: List[UsageLog]) -> List[str]:
    return [log.id for log in logs if log.timestamp.tzinfo is not None]


async def main_async(base: str) -> int:
    async with FileBackedLlmUsageTracker(base, persist_logs=True, durability="process") as t:
        record_call(t, "openai", 10, 5)
        await t.aflush()
        return t.get_usage_stats("openai").total_tokens


async def ledger_async(path: str) -> float:
    async with usagebook.Ledger(path, mode="strict_budget", daily_budget_usd=2.0,
                                prices={"gpt-4o": {"input_cost_per_token": 2.5e-06}}) as ledger:
        hold: usagebook.Hold = await ledger.areserve(trace_id="a", provider="openai",
                                                     model="gpt-4o", estimate_usd=0.5)
        async with hold:
            await hold.acommit(usage={"tokens_in": 1000})
        ev = usagebook.LedgerEvent("adjust", "a", "openai", "gpt-4o", cost_actual_usd=-0.001,
                                   timestamp=datetime.now(timezone.utc))
        await ledger.awrite_event(ev, sync=True)
        spent: float = await ledger.aspend_today("model:gpt-4o")
        return spent


def ledger_sync(path: str) -> None:
    with usagebook.Ledger(path, daily_budget_usd=0.1, timezone="Europe/Berlin") as ledger:
        with ledger.reserve(trace_id="b", provider="openai", model="gpt-4o",
                            estimate_usd=0.05, profile_id="alice") as hold:
            hold.commit(cost_actual_usd=0.02)
        try:
            ledger.reserve(trace_id="c", provider="openai", model="gpt-4o", estimate_usd=1.0)
        except usagebook.BudgetExceeded as e:
            reset: datetime = e.reset_at
            print("budget:", e.limit, e.spent, e.reserved, e.requested, e.scope, e.window, reset)
        ledger.write_event(usagebook.LedgerEvent("commit", "d", "openai", "gpt-4o",
                                                 usage={"tokens_in": 3}, cost_actual_usd=0.01))
        last: Optional[datetime] = ledger.health()["last_commit_at"]
        print(ledger.spend_today(profile_id="alice"), ledger.reserved_today(), last,
              hold.settled, hold.expires_at.tzinfo is not None)


def main() -> int:
    trackers: List[LlmBridgeUsageTracker] = [InMemoryLlmUsageTracker(max_logs=5), NoOpLlmUsageTracker()]
    for t in trackers:
        record_call(t, "openai", 1, 2)
        t.clear_logs(datetime.now(timezone.utc) - timedelta(days=1))
        print(summary(t.get_usage_stats()), ids(t.get_usage_logs()))
    with tempfile.TemporaryDirectory() as d:
        total = asyncio.run(main_async(d))
        with FileBackedLlmUsageTracker(d) as again:
            health = again.health()
            print(total, health["kind"], health["queue_depth"], again.get_usage_stats().total_tokens)
    with tempfile.TemporaryDirectory() as d:
        print("ledger:", asyncio.run(ledger_async(d + "/a.db")))
        ledger_sync(d + "/b.db")
    try:
        InMemoryLlmUsageTracker().track_usage("", {"input_tokens": 1, "output_tokens": 1})
    except usagebook.InvalidArgumentError as e:
        print("refused:", e)
    return 0


if __name__ == "__main__":
    sys.exit(main())
