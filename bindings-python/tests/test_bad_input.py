"""Bad input (X1): refused with an InvalidArgumentError (a ValueError and a
UsagebookError) naming what was wrong, and nothing is recorded."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict

import pytest

import usagebook
from helpers import openai

GOOD = openai(1, 1)


def bad_usages() -> Dict[str, Any]:
    cases: Dict[str, Any] = {}
    for field in ("prompt_tokens", "completion_tokens", "total_tokens"):
        for name, value in [("negative", -1), ("float", 1.0), ("bool", True), ("false", False),
                            ("none", None), ("str", "1"), ("huge", 2**64)]:
            cases[f"{field}-{name}"] = ({**GOOD, field: value}, field)
    for field in ("promptTokens", "completionTokens", "totalTokens"):
        good = {"promptTokens": 1, "completionTokens": 1, "totalTokens": 2}
        cases[f"{field}-bool"] = ({**good, field: True}, field)
        cases[f"{field}-float"] = ({**good, field: 1.5}, field)
    cases["input-negative"] = ({"input_tokens": -5, "output_tokens": 1}, "input_tokens")
    cases["output-none"] = ({"input_tokens": 5, "output_tokens": None}, "output_tokens")
    cases["attr-bool"] = (SimpleNamespace(prompt_tokens=True, completion_tokens=1, total_tokens=2),
                          "prompt_tokens")
    cases["attr-none"] = (SimpleNamespace(prompt_tokens=1, completion_tokens=None, total_tokens=2),
                          "completion_tokens")
    cases["missing-total"] = ({"prompt_tokens": 1, "completion_tokens": 1}, "total_tokens")
    cases["missing-prompt"] = ({"completion_tokens": 1, "total_tokens": 1}, "prompt_tokens")
    cases["missing-completion"] = ({"prompt_tokens": 1, "total_tokens": 1}, "completion_tokens")
    cases["empty-dict"] = ({}, "usage")
    cases["none"] = (None, "usage")
    cases["int"] = (5, "usage")
    cases["string"] = ("10 tokens", "usage")
    cases["object-without-fields"] = (object(), "usage")
    return cases


BAD_USAGES = bad_usages()


@pytest.fixture(params=["memory", "file", "noop"])
def tracker(request: Any, tmp_path: Path) -> Any:
    if request.param == "memory":
        t: Any = usagebook.InMemoryLlmUsageTracker()
    elif request.param == "file":
        t = usagebook.FileBackedLlmUsageTracker(tmp_path, persist_logs=True)
    else:
        t = usagebook.NoOpLlmUsageTracker()
    yield t
    t.close()


def assert_nothing_recorded(t: Any) -> None:
    assert t.get_usage_stats().total_requests == 0
    assert t.get_usage_logs() == []
    assert t.health()["queue_depth"] == 0


@pytest.mark.parametrize("case", sorted(BAD_USAGES))
def test_x1_bad_usage_raises_and_records_nothing(tracker: Any, case: str) -> None:
    usage, field = BAD_USAGES[case]
    with pytest.raises(usagebook.InvalidArgumentError, match=field) as e:
        tracker.track_usage("b", usage)
    assert isinstance(e.value, ValueError) and isinstance(e.value, usagebook.UsagebookError)
    assert_nothing_recorded(tracker)


@pytest.mark.parametrize(
    "bridge, match",
    [("", "bridge_id"), (None, "bridge_id"), (5, "bridge_id"), (b"openai", "bridge_id")],
)
def test_x1_bad_bridge_id(tracker: Any, bridge: Any, match: str) -> None:
    with pytest.raises(usagebook.InvalidArgumentError, match=match):
        tracker.track_usage(bridge, GOOD)
    assert_nothing_recorded(tracker)


@pytest.mark.parametrize("status", ["ok", "SUCCESS", "", None, 1, True])
def test_x1_unknown_status(tracker: Any, status: Any) -> None:
    with pytest.raises(usagebook.InvalidArgumentError, match="status"):
        tracker.track_usage("b", GOOD, status=status)
    assert_nothing_recorded(tracker)


@pytest.mark.parametrize("duration", [-1, -0.5, float("nan"), float("inf"), "fast", True, [1]])
def test_x1_bad_duration(tracker: Any, duration: Any) -> None:
    with pytest.raises(usagebook.InvalidArgumentError, match="duration_ms"):
        tracker.track_usage("b", GOOD, duration_ms=duration)
    assert_nothing_recorded(tracker)


def test_good_after_bad_still_works(tracker: Any) -> None:
    with pytest.raises(usagebook.InvalidArgumentError):
        tracker.track_usage("b", {**GOOD, "total_tokens": -1})
    tracker.track_usage("b", GOOD, duration_ms=0, status="error")
    if not isinstance(tracker, usagebook.NoOpLlmUsageTracker):
        assert tracker.get_usage_stats().error_count == 1


def test_wrong_arity_is_a_type_error() -> None:
    t = usagebook.InMemoryLlmUsageTracker()
    with pytest.raises(TypeError):
        t.track_usage("b")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        t.track_usage("b", GOOD, 5)  # type: ignore[misc]


def test_bad_filters_and_options(tmp_path: Path) -> None:
    t = usagebook.InMemoryLlmUsageTracker()
    with pytest.raises(usagebook.InvalidArgumentError, match="bridge_id"):
        t.get_usage_stats(5)  # type: ignore[arg-type]
    with pytest.raises(usagebook.InvalidArgumentError, match="bridge_id"):
        t.get_usage_logs(b"x")  # type: ignore[arg-type]
    for kw, match in [
        ({"max_logs": 0}, "max_logs"),
        ({"max_logs": True}, "max_logs"),
        ({"max_logs": -3}, "max_logs"),
        ({"max_logs": 2.5}, "max_logs"),
        ({"_clock": 5}, "_clock"),
    ]:
        with pytest.raises(usagebook.InvalidArgumentError, match=match):
            usagebook.InMemoryLlmUsageTracker(**kw)
    for kw, match in [
        ({"flush_interval_ms": 0}, "flush_interval_ms"),
        ({"flush_every_n_logs": False}, "flush_every_n_logs"),
        ({"persist_logs": 1}, "persist_logs"),
        ({"durability": "disk"}, "durability"),
        ({"durability": 3}, "durability"),
        ({"max_log_bytes": 0}, "max_log_bytes"),
        ({"max_logs": "10"}, "max_logs"),
    ]:
        with pytest.raises(usagebook.InvalidArgumentError, match=match):
            usagebook.FileBackedLlmUsageTracker(tmp_path / "x", **kw)
    with pytest.raises(usagebook.InvalidArgumentError, match="base_dir"):
        usagebook.FileBackedLlmUsageTracker(5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        usagebook.FileBackedLlmUsageTracker(tmp_path, unknown=1)  # type: ignore[call-arg]
    # A refused option left the directory free.
    usagebook.FileBackedLlmUsageTracker(tmp_path / "x").close()


def test_panics_surface_as_usagebook_error() -> None:
    with pytest.raises(usagebook.UsagebookError, match="internal error"):
        usagebook._native._panic_for_tests("boom")
    # An Exception, never a bare BaseException (PyO3's PanicException).
    try:
        usagebook._native._panic_for_tests("boom")
    except Exception as e:  # noqa: BLE001
        assert type(e) is usagebook.UsagebookError


def test_exception_hierarchy() -> None:
    assert issubclass(usagebook.UsagebookError, Exception)
    assert issubclass(usagebook.InvalidArgumentError, usagebook.UsagebookError)
    assert issubclass(usagebook.InvalidArgumentError, ValueError)
    for cls in (usagebook.LockedError, usagebook.ClosedError, usagebook.StorageError):
        assert issubclass(cls, usagebook.UsagebookError) and not issubclass(cls, ValueError)
    import pickle

    e = pickle.loads(pickle.dumps(usagebook.LockedError("x")))
    assert type(e) is usagebook.LockedError
