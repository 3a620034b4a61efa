"""asyncio: aflush/aclose never block the event loop (the loop's lag is
measured while they run), async context managers, errors propagate."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, List, Tuple

import pytest

import usagebook


def big_tracker(path: Path, n: int) -> usagebook.FileBackedLlmUsageTracker:
    """A tracker with n logs pending, so flushing them takes a while."""
    t = usagebook.FileBackedLlmUsageTracker(path, persist_logs=True, max_logs=n,
                                            flush_every_n_logs=10 * n,
                                            flush_interval_ms=3_600_000)
    for i in range(n):
        t.track_usage("b", {"prompt_tokens": i, "completion_tokens": 1, "total_tokens": i + 1})
    return t


async def measure_lag(op: Any, tick: float = 0.002) -> Tuple[float, float, int]:
    """Runs `op()` while a ticker sleeps `tick` in a loop; returns the op's
    duration, the ticker's worst lateness, and how many ticks ran."""
    lags: List[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            await asyncio.sleep(tick)
            lags.append(time.perf_counter() - t0 - tick)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)  # the ticker is running
    lags.clear()
    t0 = time.perf_counter()
    await op()
    duration = time.perf_counter() - t0
    stop.set()
    await task
    return duration, max(lags, default=0.0), len(lags)


@pytest.mark.parametrize("op", ["aflush", "aclose"])
def test_b3_loop_keeps_ticking_during(op: str, tmp_path: Path) -> None:
    t = big_tracker(tmp_path, 300_000)
    duration, worst_lag, ticks = asyncio.run(measure_lag(getattr(t, op)))
    print(f"{op}: took {duration * 1000:.0f} ms; worst loop lag {worst_lag * 1000:.1f} ms "
          f"over {ticks} ticks")
    # A blocked loop would lag by the whole duration and tick at most once.
    assert duration > 0.05, "the write was too small to tell"
    assert ticks >= 5, (duration, worst_lag, ticks)
    assert worst_lag < max(0.05, duration / 2), (duration, worst_lag, ticks)
    t.close()
    with usagebook.FileBackedLlmUsageTracker(tmp_path) as again:
        assert again.get_usage_stats().total_requests == 300_000


def test_sync_flush_would_block_the_loop_for_comparison(tmp_path: Path) -> None:
    """The measurement can fail: a blocking flush() does lag the loop."""
    t = big_tracker(tmp_path, 300_000)

    async def blocking_flush() -> None:
        t.flush()

    duration, worst_lag, _ = asyncio.run(measure_lag(blocking_flush))
    t.close()
    assert worst_lag >= duration * 0.5, (duration, worst_lag)


def test_async_context_manager_and_methods(tmp_path: Path) -> None:
    async def main() -> None:
        async with usagebook.FileBackedLlmUsageTracker(tmp_path) as t:
            t.track_usage("b", {"input_tokens": 2, "output_tokens": 3})
            await t.aflush()
            assert t.health()["queue_depth"] == 0
        with pytest.raises(usagebook.ClosedError):
            t.get_usage_stats()
        for cls in (usagebook.InMemoryLlmUsageTracker, usagebook.NoOpLlmUsageTracker):
            async with cls() as m:
                m.track_usage("b", {"input_tokens": 2, "output_tokens": 3})
                await m.aflush()
            await m.aclose()  # closing twice is fine

    asyncio.run(main())
    with usagebook.FileBackedLlmUsageTracker(tmp_path) as t:
        assert t.get_usage_stats().total_tokens == 5


def test_aflush_errors_propagate(tmp_path: Path) -> None:
    async def main() -> None:
        t = usagebook.FileBackedLlmUsageTracker(tmp_path)
        await t.aclose()
        with pytest.raises(usagebook.ClosedError):
            await t.aflush()
        m = usagebook.InMemoryLlmUsageTracker()
        m.close()
        with pytest.raises(usagebook.ClosedError):
            await m.aflush()

    asyncio.run(main())


def test_many_concurrent_aflush(tmp_path: Path) -> None:
    async def main() -> None:
        t = usagebook.FileBackedLlmUsageTracker(tmp_path, persist_logs=True)

        async def worker(k: int) -> None:
            for i in range(50):
                t.track_usage(f"b{k}", {"prompt_tokens": 1, "completion_tokens": 1,
                                        "total_tokens": 2})
                if i % 10 == 0:
                    await t.aflush()

        await asyncio.gather(*(worker(k) for k in range(20)))
        await t.aclose()

    asyncio.run(main())
    with usagebook.FileBackedLlmUsageTracker(tmp_path) as t:
        assert t.get_usage_stats().total_requests == 1000
