"""The T behaviours through the binding (T1 types and names, T2-T5, T12,
X2), on the in-memory and file-backed trackers alike, with a controlled
clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest

import usagebook
from helpers import T0, Clock, from_ms, openai

KINDS = ["memory", "file"]


@pytest.fixture(params=KINDS)
def make(request: Any, tmp_path: Path, clock: Clock) -> Iterator[Any]:
    made = []

    def factory(**kw: Any) -> Any:
        if request.param == "memory":
            t = usagebook.InMemoryLlmUsageTracker(_clock=clock, **kw)
        else:
            t = usagebook.FileBackedLlmUsageTracker(tmp_path / f"t{len(made)}", _clock=clock, **kw)
        made.append(t)
        return t

    yield factory
    for t in made:
        t.close()


def test_t2_stamps_id_and_timestamp(make: Any, clock: Clock) -> None:
    t = make()
    t.track_usage("openai", openai(10, 5), duration_ms=120)
    clock.now += 7
    t.track_usage("openai", openai(1, 1))
    a, b = t.get_usage_logs()
    assert (a.id, b.id) == (f"llm_log_1_{T0}", f"llm_log_2_{T0 + 7}")
    assert a.timestamp == from_ms(T0) and b.timestamp == from_ms(T0 + 7)
    assert a.timestamp.tzinfo is not None and a.timestamp.utcoffset() == timedelta(0)
    assert a.duration_ms == 120.0 and b.duration_ms is None
    assert a.status == "success"
    assert isinstance(a.usage, usagebook.Usage)
    assert a.usage.to_dict() == {"promptTokens": 10, "completionTokens": 5, "totalTokens": 15}


def test_t2_total_tokens_is_kept_as_given(make: Any) -> None:
    t = make()
    t.track_usage("a", openai(1, 1, t=99))
    assert t.get_usage_stats().total_tokens == 99


def test_t3_filtering_and_order(make: Any, clock: Clock) -> None:
    t = make()
    for i, b in enumerate(["openai", "anthropic", "openai"]):
        clock.now = T0 + i
        t.track_usage(b, openai(i, 1))
    assert [l.id for l in t.get_usage_logs()] == [f"llm_log_{n}_{T0 + n - 1}" for n in (1, 2, 3)]
    assert t.get_usage_logs("") == t.get_usage_logs() == t.get_usage_logs(None)
    assert [l.bridge_id for l in t.get_usage_logs("openai")] == ["openai", "openai"]
    assert t.get_usage_logs("open") == []


def test_t3_callers_get_copies(make: Any) -> None:
    t = make()
    t.track_usage("a", openai(1, 1))
    logs = t.get_usage_logs()
    logs.clear()
    assert len(t.get_usage_logs()) == 1


def test_t4_empty_stats(make: Any) -> None:
    s = make().get_usage_stats()
    assert (s.total_requests, s.prompt_tokens, s.completion_tokens, s.total_tokens) == (0, 0, 0, 0)
    assert s.average_tokens_per_request == 0.0 and s.error_count == 0
    assert s.last_used_at is None
    assert "lastUsedAt" not in s.to_dict()


def test_t4_sums_average_errors_last_used(make: Any, clock: Clock) -> None:
    t = make()
    t.track_usage("a", openai(10, 5), status="success")
    clock.now = T0 + 50
    t.track_usage("a", openai(3, 4), status="error")
    clock.now = T0 + 20
    t.track_usage("b", openai(1, 1))
    s = t.get_usage_stats()
    assert (s.total_requests, s.prompt_tokens, s.completion_tokens, s.total_tokens) == (3, 14, 10, 24)
    assert s.average_tokens_per_request == 8.0
    assert s.error_count == 1
    assert s.last_used_at == from_ms(T0 + 50)
    a = t.get_usage_stats("a")
    assert a.total_requests == 2 and a.average_tokens_per_request == 11.0
    assert a.to_dict() == {
        "totalRequests": 2,
        "promptTokens": 13,
        "completionTokens": 9,
        "totalTokens": 22,
        "cacheReadTokens": 0,
        "cacheWriteTokens": 0,
        "reasoningTokens": 0,
        "averageTokensPerRequest": 11,
        "lastUsedAt": "2025-01-04T14:13:20.050Z",
        "errorCount": 1,
    }
    assert t.get_usage_stats("nope").total_requests == 0


def test_t4_average_is_unrounded(make: Any) -> None:
    t = make()
    for total in (1, 1, 2):
        t.track_usage("a", openai(0, 0, t=total))
    assert t.get_usage_stats().average_tokens_per_request == pytest.approx(4 / 3, abs=1e-12)


def test_t4_cap_trims_logs_never_totals(make: Any) -> None:
    t = make(max_logs=3)
    for i in range(10):
        t.track_usage("a", openai(i, 1))
    logs = t.get_usage_logs()
    assert [l.usage.prompt_tokens for l in logs] == [7, 8, 9]
    s = t.get_usage_stats()
    assert s.total_requests == 10 and s.prompt_tokens == 45


def test_t5_clear_all_and_ids_continue(make: Any) -> None:
    t = make()
    t.track_usage("a", openai(1, 1))
    t.track_usage("b", openai(1, 1))
    t.clear_logs()
    assert t.get_usage_logs() == [] and t.get_usage_stats().total_requests == 0
    t.track_usage("a", openai(1, 1))
    assert t.get_usage_logs()[0].id.startswith("llm_log_3_")


def test_t5_clear_older_than_keeps_equal(make: Any, clock: Clock) -> None:
    t = make()
    for i in range(4):
        clock.now = T0 + i * 10
        t.track_usage("a", openai(1, 1), status="error" if i == 0 else "success")
    t.clear_logs(from_ms(T0 + 20))
    assert [l.timestamp for l in t.get_usage_logs()] == [from_ms(T0 + 20), from_ms(T0 + 30)]
    s = t.get_usage_stats()
    assert s.total_requests == 2 and s.error_count == 0 and s.last_used_at == from_ms(T0 + 30)


def test_t5_clear_with_sub_millisecond_and_other_zones(make: Any, clock: Clock) -> None:
    t = make()
    for i in range(3):
        clock.now = T0 + i
        t.track_usage("a", openai(1, 1))
    # T0 + 0.5 ms: the log at T0 is older, the one at T0 + 1 is not.
    t.clear_logs(from_ms(T0) + timedelta(microseconds=500))
    assert len(t.get_usage_logs()) == 2
    # Any tz-aware datetime is a point in time: UTC+9 says the same instant.
    kst = timezone(timedelta(hours=9))
    t.clear_logs(from_ms(T0 + 2).astimezone(kst))
    assert [l.timestamp for l in t.get_usage_logs()] == [from_ms(T0 + 2)]


def test_t5_naive_datetime_is_refused(make: Any) -> None:
    t = make()
    t.track_usage("a", openai(1, 1))
    with pytest.raises(usagebook.InvalidArgumentError, match="naive"):
        t.clear_logs(datetime(2030, 1, 1))
    with pytest.raises(usagebook.InvalidArgumentError, match="older_than"):
        t.clear_logs(T0)  # type: ignore[arg-type]
    assert t.get_usage_stats().total_requests == 1


def test_x2_health(make: Any) -> None:
    t = make()
    t.track_usage("a", openai(1, 1))
    h = t.health()
    assert h["kind"] in ("memory", "file") and h["closed"] is False
    assert h["retained_logs"] == 1
    t.close()
    assert t.health()["closed"] is True


def test_closed_tracker_raises_closed_error(make: Any) -> None:
    t = make()
    t.track_usage("a", openai(1, 1))  # the bridge id is cached: still refused below
    t.close()
    t.close()  # twice is fine
    with pytest.raises(usagebook.ClosedError):
        t.track_usage("a", openai(1, 1))
    with pytest.raises(usagebook.ClosedError):
        t.get_usage_stats()
    with pytest.raises(usagebook.UsagebookError):
        t.flush()


def test_context_manager_closes(make: Any) -> None:
    with make() as t:
        t.track_usage("a", openai(1, 1))
    with pytest.raises(usagebook.ClosedError):
        t.get_usage_logs()


def test_t12_noop_has_the_same_interface_and_records_nothing() -> None:
    t = usagebook.NoOpLlmUsageTracker()
    t.track_usage("a", openai(1, 1), duration_ms=3, status="error")
    assert t.get_usage_logs() == [] and t.get_usage_logs("a") == []
    s = t.get_usage_stats()
    assert s.total_requests == 0 and s.last_used_at is None
    t.clear_logs()
    t.clear_logs(datetime.now(timezone.utc))
    t.flush()
    assert t.health()["kind"] == "noop"
    with pytest.raises(usagebook.InvalidArgumentError):
        t.track_usage("", openai(1, 1))
    with t:
        pass
    for name in ("track_usage", "get_usage_logs", "get_usage_stats", "clear_logs", "flush",
                 "close", "aflush", "aclose", "health", "__enter__", "__exit__",
                 "__aenter__", "__aexit__"):
        for cls in (usagebook.NoOpLlmUsageTracker, usagebook.InMemoryLlmUsageTracker,
                    usagebook.FileBackedLlmUsageTracker):
            assert callable(getattr(cls, name)), (cls, name)


def test_objects_compare_and_repr(make: Any) -> None:
    t = make()
    t.track_usage("a", openai(1, 2))
    assert t.get_usage_logs() == t.get_usage_logs()
    assert t.get_usage_stats() == t.get_usage_stats()
    assert repr(t.get_usage_logs()[0]) == (
        f"UsageLog(id='llm_log_1_{T0}', bridge_id='a', timestamp='2025-01-04T14:13:20.000Z', "
        "usage=Usage(prompt_tokens=1, completion_tokens=2, total_tokens=3, cache_read_tokens=0, "
        "cache_write_tokens=0, reasoning_tokens=0), duration_ms=None, status='success')"
    )
    assert repr(t.get_usage_stats()) == (
        "UsageStats(total_requests=1, prompt_tokens=1, completion_tokens=2, total_tokens=3, "
        "cache_read_tokens=0, cache_write_tokens=0, reasoning_tokens=0, "
        "average_tokens_per_request=3.0, last_used_at='2025-01-04T14:13:20.000Z', error_count=0)"
    )
    assert t.get_usage_logs()[0].usage == t.get_usage_logs()[0].usage
