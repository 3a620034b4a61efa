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
    try:
        InMemoryLlmUsageTracker().track_usage("", {"input_tokens": 1, "output_tokens": 1})
    except usagebook.InvalidArgumentError as e:
        print("refused:", e)
    return 0


if __name__ == "__main__":
    sys.exit(main())
