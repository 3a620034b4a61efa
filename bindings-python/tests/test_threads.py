"""Sharing a tracker between threads: exact totals under an 8-thread
hammer, and blocking calls that release the GIL."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, List

import pytest

import usagebook

THREADS = 8
PER_THREAD = 5_000


def hammer(t: Any) -> None:
    start = threading.Barrier(THREADS)
    errors: List[BaseException] = []

    def work(k: int) -> None:
        try:
            start.wait()
            bridge = f"bridge-{k % 3}"
            for i in range(PER_THREAD):
                t.track_usage(bridge, {"prompt_tokens": k, "completion_tokens": 1,
                                       "total_tokens": k + 1},
                              status="error" if i % 10 == 0 else "success")
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors


def expected_totals() -> tuple[int, int, int, int, int]:
    n = THREADS * PER_THREAD
    prompt = sum(k * PER_THREAD for k in range(THREADS))
    return n, prompt, n, prompt + n, THREADS * (PER_THREAD // 10)


def totals(s: usagebook.UsageStats) -> tuple[int, int, int, int, int]:
    return s.total_requests, s.prompt_tokens, s.completion_tokens, s.total_tokens, s.error_count


@pytest.mark.parametrize("kind", ["memory", "file-interval", "file-process"])
def test_8_thread_hammer_exact_totals(kind: str, tmp_path: Path) -> None:
    if kind == "memory":
        t: Any = usagebook.InMemoryLlmUsageTracker(max_logs=100_000)
    else:
        t = usagebook.FileBackedLlmUsageTracker(
            tmp_path, durability=kind.split("-")[1], persist_logs=True, max_logs=100_000,
            flush_every_n_logs=500,
        )
    hammer(t)
    assert totals(t.get_usage_stats()) == expected_totals()
    per_bridge = sum(t.get_usage_stats(f"bridge-{b}").total_requests for b in range(3))
    assert per_bridge == THREADS * PER_THREAD
    logs = t.get_usage_logs()
    assert len(logs) == THREADS * PER_THREAD
    assert len({log.id for log in logs}) == len(logs)  # T2: unique ids
    seqs = [int(log.id.split("_")[2]) for log in logs]
    assert seqs == sorted(seqs) == list(range(1, len(logs) + 1))
    t.close()
    if kind != "memory":
        with usagebook.FileBackedLlmUsageTracker(tmp_path, max_logs=100_000) as again:
            assert totals(again.get_usage_stats()) == expected_totals()


def test_flush_releases_the_gil(tmp_path: Path) -> None:
    """While one thread waits in flush() (a big write), another keeps
    running Python code."""
    t = usagebook.FileBackedLlmUsageTracker(tmp_path, persist_logs=True, max_logs=400_000,
                                            flush_every_n_logs=10_000_000,
                                            flush_interval_ms=3_600_000)
    for i in range(300_000):
        t.track_usage("b", {"prompt_tokens": i, "completion_tokens": 1, "total_tokens": i + 1})
    done = threading.Event()
    spans: List[float] = []

    def flush() -> None:
        t0 = time.perf_counter()
        t.flush()
        spans.append(time.perf_counter() - t0)
        done.set()

    ticks = 0
    th = threading.Thread(target=flush)
    th.start()
    while not done.is_set():
        ticks += 1
        time.sleep(0)
    th.join()
    t.close()
    # Had flush() held the GIL, this loop could not have run during it.
    assert spans and ticks > 10, (spans, ticks)
