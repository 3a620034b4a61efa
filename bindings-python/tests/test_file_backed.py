"""The file-backed tracker through the binding (T6-T11): flush policy,
reload, persist_logs, rolling, recovery, locking, the final flush at exit."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

import usagebook
from helpers import Clock, openai, snapshot, snapshot_requests, wait_until

FileTracker = usagebook.FileBackedLlmUsageTracker
NEVER = 3_600_000  # an interval that never fires during a test


def run_python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True, text=True, timeout=120,
    )


def log_lines(base: Path) -> list[dict[str, Any]]:
    p = base / "llm-usage" / "usage-logs.jsonl"
    if not p.exists():
        return []
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]


def test_t7_layout_and_flush(tmp_path: Path) -> None:
    with FileTracker(tmp_path, persist_logs=True) as t:
        t.track_usage("openai", openai(10, 5), duration_ms=120)
        t.flush()
        snap = snapshot(tmp_path)
        assert snap["perBridge"]["openai"]["totalRequests"] == 1
        assert snap["perBridge"]["openai"]["totalTokens"] == 15
        [line] = log_lines(tmp_path)
        assert line == t.get_usage_logs()[0].to_dict()
        assert t.health()["flush_count"] >= 1 and t.health()["last_flush_at"] is not None


def test_t8_flush_after_n_logs(tmp_path: Path) -> None:
    with FileTracker(tmp_path, flush_every_n_logs=5, flush_interval_ms=NEVER) as t:
        for _ in range(4):
            t.track_usage("b", openai(1, 1))
        time.sleep(0.3)
        assert snapshot_requests(tmp_path, "b") == 0
        assert t.health()["queue_depth"] == 4
        t.track_usage("b", openai(1, 1))
        wait_until(lambda: snapshot_requests(tmp_path, "b") == 5, what="the 5th log to flush")


def test_t8_flush_on_interval(tmp_path: Path) -> None:
    with FileTracker(tmp_path, flush_every_n_logs=1_000_000, flush_interval_ms=100) as t:
        t.track_usage("b", openai(1, 1))
        t.track_usage("b", openai(1, 1))
        wait_until(lambda: snapshot_requests(tmp_path, "b") == 2, what="the interval flush")
        assert t.health()["queue_depth"] == 0


def test_t9_reload_equality_and_ids_continue(tmp_path: Path) -> None:
    clock = Clock()
    t = FileTracker(tmp_path, persist_logs=True, _clock=clock)
    for i in range(30):
        clock.now += 1000
        t.track_usage(["openai", "anthropic", "local"][i % 3], openai(i, 2 * i),
                      duration_ms=None if i % 4 else i * 1.5,
                      status="error" if i % 7 == 0 else "success")
    stats, logs = t.get_usage_stats(), t.get_usage_logs()
    per = {b: t.get_usage_stats(b) for b in ("openai", "anthropic", "local")}
    t.close()
    t2 = FileTracker(tmp_path, persist_logs=True, _clock=clock)
    try:
        assert t2.get_usage_stats() == stats
        assert t2.get_usage_stats().last_used_at == stats.last_used_at
        assert {b: t2.get_usage_stats(b) for b in per} == per
        assert t2.get_usage_logs() == logs
        assert [l.to_dict() for l in t2.get_usage_logs()] == [l.to_dict() for l in logs]
        clock.now += 1
        t2.track_usage("openai", openai(1, 1))
        assert t2.get_usage_logs()[-1].id == f"llm_log_31_{clock.now}"
    finally:
        t2.close()


def test_t6_persist_logs_off_keeps_totals_not_logs(tmp_path: Path) -> None:
    with FileTracker(tmp_path) as t:
        t.track_usage("b", openai(1, 2))
        t.track_usage("b", openai(3, 4))
        assert len(t.get_usage_logs()) == 2  # retained in memory
    assert not (tmp_path / "llm-usage" / "usage-logs.jsonl").exists()
    with FileTracker(tmp_path) as t:
        assert t.get_usage_logs() == []
        s = t.get_usage_stats()
        assert (s.total_requests, s.total_tokens) == (2, 10)


def test_t7_rolling_keeps_newest_logs_and_all_totals(tmp_path: Path) -> None:
    with FileTracker(tmp_path, persist_logs=True, max_logs=10) as t:
        for i in range(100):
            t.track_usage("b", openai(i, 0))
        t.flush()
        lines = log_lines(tmp_path)
        assert len(lines) <= 12  # maxLogs + maxLogs/4 slack before it rolls
        assert lines[-1]["usage"]["promptTokens"] == 99
        assert [l.usage.prompt_tokens for l in t.get_usage_logs()] == list(range(90, 100))
        assert t.get_usage_stats().total_requests == 100
    with FileTracker(tmp_path, persist_logs=True, max_logs=10) as t:
        assert [l.usage.prompt_tokens for l in t.get_usage_logs()] == list(range(90, 100))
        assert t.get_usage_stats().prompt_tokens == sum(range(100))


def test_t7_byte_cap_rolls(tmp_path: Path) -> None:
    with FileTracker(tmp_path, persist_logs=True, max_log_bytes=4000) as t:
        for i in range(200):
            t.track_usage("a-rather-long-bridge-name", openai(i, 1))
            if i % 20 == 19:
                t.flush()
        t.flush()
        size = (tmp_path / "llm-usage" / "usage-logs.jsonl").stat().st_size
        assert 0 < size <= 4000
        assert t.get_usage_stats().total_requests == 200


def test_t10_corrupt_snapshot_is_recovered(tmp_path: Path) -> None:
    with FileTracker(tmp_path, persist_logs=True, flush_every_n_logs=1_000_000) as t:
        for i in range(10):
            t.track_usage("b", openai(i, 1))
        t.flush()
        for i in range(5):
            t.track_usage("b", openai(i, 1))
        want = t.get_usage_stats()
    stats = tmp_path / "llm-usage" / "usage-stats.json"
    stats.write_bytes(b"\x00\x13garbage{{{")
    with FileTracker(tmp_path, persist_logs=True) as t:
        assert t.get_usage_stats() == want
        notes = "; ".join(t.health()["recovery"])
        assert "moved aside" in notes, notes
    aside = [p for p in stats.parent.iterdir() if p.name.startswith("usage-stats.json.corrupt-")]
    assert len(aside) == 1 and aside[0].read_bytes() == b"\x00\x13garbage{{{"


def test_t10_unsupported_format_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "llm-usage").mkdir()
    (tmp_path / "llm-usage" / "usage-stats.json").write_text(
        json.dumps({"formatVersion": 999, "perBridge": {}, "updatedAt": "2025-01-01T00:00:00.000Z"})
    )
    with pytest.raises(usagebook.StorageError, match="upgrade"):
        FileTracker(tmp_path)


def test_t11_locked_in_this_process(tmp_path: Path) -> None:
    t = FileTracker(tmp_path)
    with pytest.raises(usagebook.LockedError, match="locked") as e:
        FileTracker(tmp_path)
    assert isinstance(e.value, usagebook.UsagebookError)
    t.close()
    FileTracker(tmp_path).close()  # free again after close


def test_t11_locked_across_processes(tmp_path: Path) -> None:
    with FileTracker(tmp_path):
        r = run_python(
            """
            import sys, usagebook
            try:
                usagebook.FileBackedLlmUsageTracker(sys.argv[1])
            except usagebook.LockedError as e:
                print("locked:", e)
            """,
            str(tmp_path),
        )
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("locked:"), r.stdout + r.stderr


def test_t8_final_flush_at_interpreter_exit(tmp_path: Path) -> None:
    # No close(), no flush, an interval that never fires: only the atexit
    # handler can write these three logs.
    r = run_python(
        """
        import atexit, sys, usagebook
        t = usagebook.FileBackedLlmUsageTracker(sys.argv[1], flush_interval_ms=3600000,
                                                flush_every_n_logs=1000000)
        for i in range(3):
            t.track_usage("b", {"prompt_tokens": i, "completion_tokens": 1, "total_tokens": i + 1})
        atexit._run_exitfuncs()  # what interpreter exit runs
        print("closed by atexit:", t.health()["closed"])
        """,
        str(tmp_path),
    )
    assert r.returncode == 0, r.stderr
    assert "closed by atexit: True" in r.stdout
    assert snapshot_requests(tmp_path, "b") == 3
    # And a plain exit keeps the numbers too.
    r = run_python(
        """
        import sys, usagebook
        t = usagebook.FileBackedLlmUsageTracker(sys.argv[1], flush_interval_ms=3600000,
                                                flush_every_n_logs=1000000)
        t.track_usage("b", {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2})
        """,
        str(tmp_path),
    )
    assert r.returncode == 0, r.stderr
    with FileTracker(tmp_path) as t:
        assert t.get_usage_stats("b").total_requests == 4


def test_dropping_an_open_tracker_flushes_and_unlocks(tmp_path: Path) -> None:
    t = FileTracker(tmp_path, flush_interval_ms=NEVER, flush_every_n_logs=1_000_000)
    t.track_usage("b", openai(1, 1))
    del t
    gc.collect()
    with FileTracker(tmp_path) as t2:
        assert t2.get_usage_stats().total_requests == 1


def test_x5_process_durability_survives_a_hard_exit(tmp_path: Path) -> None:
    # os._exit skips atexit and every flush: only the journal has them.
    r = run_python(
        """
        import os, sys, usagebook
        t = usagebook.FileBackedLlmUsageTracker(sys.argv[1], durability="process",
                                                flush_interval_ms=3600000)
        for i in range(50):
            t.track_usage("b", {"input_tokens": i, "output_tokens": 1})
        os._exit(0)
        """,
        str(tmp_path),
    )
    assert r.returncode == 0, r.stderr
    with FileTracker(tmp_path, durability="process") as t:
        s = t.get_usage_stats()
        assert s.total_requests == 50 and s.total_tokens == sum(range(50)) + 50


def test_x5_power_durability_tracks(tmp_path: Path) -> None:
    with FileTracker(tmp_path, durability="power") as t:
        for i in range(20):
            t.track_usage("b", openai(i, 1))
        assert t.health()["durability"] == "power"
    with FileTracker(tmp_path, durability="power") as t:
        assert t.get_usage_stats().total_requests == 20


def test_base_dir_accepts_pathlike_and_str(tmp_path: Path) -> None:
    FileTracker(str(tmp_path / "s")).close()
    FileTracker(tmp_path / "p").close()
    assert (tmp_path / "s" / "llm-usage").is_dir() and (tmp_path / "p" / "llm-usage").is_dir()


def test_storage_error_on_unusable_directory(tmp_path: Path) -> None:
    f = tmp_path / "a-file"
    f.write_text("not a directory")
    with pytest.raises(usagebook.StorageError):
        FileTracker(f)


def test_clear_logs_on_disk(tmp_path: Path) -> None:
    with FileTracker(tmp_path, persist_logs=True) as t:
        for i in range(5):
            t.track_usage("b", openai(i, 1))
        t.clear_logs()
        assert log_lines(tmp_path) == []
        assert snapshot_requests(tmp_path, "b") == 0
    with FileTracker(tmp_path, persist_logs=True) as t:
        assert t.get_usage_stats().total_requests == 0
