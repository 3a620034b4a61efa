"""The shared vectors (tests/vectors/*.json, B4) through the Python binding:
the same scenarios the core, the C ABI and Node run."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List

import pytest

import usagebook
from helpers import Clock, from_ms, repo_root

VECTORS = sorted((repo_root() / "tests" / "vectors").glob("*.json"))
ERRORS = {
    "invalid_argument": usagebook.InvalidArgumentError,
    "locked": usagebook.LockedError,
    "closed": usagebook.ClosedError,
    "io": usagebook.StorageError,
}


def test_vectors_exist() -> None:
    assert len(VECTORS) >= 5, VECTORS


def iso(ms: int) -> str:
    return from_ms(ms).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def check_stats(got: usagebook.UsageStats, want: Dict[str, Any], ctx: str) -> None:
    d = got.to_dict()
    assert sorted(d) == sorted(want), ctx
    for k, v in want.items():
        if k == "averageTokensPerRequest":
            assert abs(d[k] - v) < 1e-9, (ctx, k, d[k], v)
        else:
            assert d[k] == v, (ctx, k, d[k], v)
    # The attribute view says the same as the JSON view.
    assert got.total_requests == want["totalRequests"]
    assert got.prompt_tokens == want["promptTokens"]
    assert got.completion_tokens == want["completionTokens"]
    assert got.total_tokens == want["totalTokens"]
    assert got.cache_read_tokens == want["cacheReadTokens"]
    assert got.cache_write_tokens == want["cacheWriteTokens"]
    assert got.reasoning_tokens == want["reasoningTokens"]
    assert got.error_count == want["errorCount"]
    assert abs(got.average_tokens_per_request - want["averageTokensPerRequest"]) < 1e-9
    if "lastUsedAt" in want:
        assert isinstance(got.last_used_at, datetime)
        assert got.last_used_at.utcoffset() is not None
        ms = round(got.last_used_at.timestamp() * 1000)
        assert iso(ms) == want["lastUsedAt"], ctx
    else:
        assert got.last_used_at is None, ctx


def check_logs(got: List[usagebook.UsageLog], want: List[Dict[str, Any]], ctx: str) -> None:
    assert [log.to_dict() for log in got] == want, ctx
    for log, w in zip(got, want):
        assert log.id == w["id"]
        assert log.bridge_id == w["bridgeId"]
        assert log.status == w.get("status", "success")
        assert log.usage.prompt_tokens == w["usage"]["promptTokens"]
        assert log.usage.completion_tokens == w["usage"]["completionTokens"]
        assert log.usage.total_tokens == w["usage"]["totalTokens"]
        # Parts: absent from the T7 form when 0, always attributes.
        assert log.usage.cache_read_tokens == w["usage"].get("cacheReadTokens", 0)
        assert log.usage.cache_write_tokens == w["usage"].get("cacheWriteTokens", 0)
        assert log.usage.reasoning_tokens == w["usage"].get("reasoningTokens", 0)
        assert log.usage.to_dict() == w["usage"]
        assert log.duration_ms == w.get("durationMs")
        assert log.timestamp.tzinfo is not None and log.timestamp.utcoffset().total_seconds() == 0
        assert iso(round(log.timestamp.timestamp() * 1000)) == w["timestamp"]


def run_vector(path: Path) -> None:
    v = json.loads(path.read_text())
    clock = Clock(0)
    max_logs = v.get("options", {}).get("maxLogs", 10_000)
    kind = v.get("tracker", "memory")
    tracker: Any
    if kind == "memory":
        tracker = usagebook.InMemoryLlmUsageTracker(max_logs=max_logs, _clock=clock)
    elif kind == "noop":
        tracker = usagebook.NoOpLlmUsageTracker()
    else:
        raise AssertionError(f"{path.name}: unknown tracker {kind}")
    for i, step in enumerate(v["steps"]):
        ctx = f"{path.name} step {i}"
        if "at" in step:
            clock.now = step["at"]
        op = step["op"]
        if op == "track":
            log = step["log"]
            kwargs: Dict[str, Any] = {}
            if "durationMs" in log:
                kwargs["duration_ms"] = log["durationMs"]
            if "status" in log:
                kwargs["status"] = log["status"]
            # Absent fields are passed as None: refused like absent ones.
            args = (log.get("bridgeId"), log.get("usage"))
            if "error" in step:
                with pytest.raises(ERRORS[step["error"]]):
                    tracker.track_usage(*args, **kwargs)
            else:
                tracker.track_usage(*args, **kwargs)
        elif op == "clear":
            older = step.get("olderThan")
            tracker.clear_logs(None if older is None else from_ms(older))
        elif op == "close":
            tracker.close()
        elif op in ("stats", "logs") and "error" in step:
            call = tracker.get_usage_stats if op == "stats" else tracker.get_usage_logs
            with pytest.raises(ERRORS[step["error"]]):
                call(step.get("bridgeId"))
        elif op == "stats":
            check_stats(tracker.get_usage_stats(step.get("bridgeId")), step["expect"], ctx)
        elif op == "logs":
            check_logs(tracker.get_usage_logs(step.get("bridgeId")), step["expect"], ctx)
        else:
            raise AssertionError(f"{ctx}: unknown op {op}")


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_b4_vector(path: Path) -> None:
    run_vector(path)


# ---- U4: the shared cost vectors (tests/vectors/cost), as Node and C run them ----

COST_CASES = [
    pytest.param(case, id=f"{path.stem}[{i}]")
    for path in sorted((repo_root() / "tests" / "vectors" / "cost").glob("*.json"))
    for i, case in enumerate(json.loads(path.read_text()))
]


@pytest.mark.parametrize("case", COST_CASES)
def test_u4_cost_vector(case: Dict[str, Any]) -> None:
    expect = case["expect"]
    call = lambda: usagebook.cost(case.get("model"), case["usage"], provider=case.get("provider"))  # noqa: E731
    if "error" in expect:
        with pytest.raises(ERRORS[expect["error"]]):
            call()
        return
    c = call()
    assert c.priced == expect["priced"], case["name"]
    assert c.usd == pytest.approx(expect["usd"], rel=1e-9, abs=1e-15), case["name"]
    if "model" in expect:
        assert c.model == expect["model"], case["name"]
