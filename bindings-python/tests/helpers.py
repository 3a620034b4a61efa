"""Shared helpers of the tests. The tests run against the *installed* wheel:
run-tests.sh starts pytest from a directory where ``import usagebook`` can
only find site-packages (test_install.py checks that)."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Optional

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
T0 = 1_736_000_000_000  # 2025-01-04T14:13:20.000Z


def repo_root() -> Path:
    env = os.environ.get("USAGEBOOK_REPO")
    return Path(env) if env else Path(__file__).resolve().parents[2]


def from_ms(ms: int) -> datetime:
    """Epoch milliseconds as a tz-aware UTC datetime, exactly."""
    return EPOCH + timedelta(milliseconds=ms)


class Clock:
    """A controllable clock for the ``_clock`` testing hook (epoch ms)."""

    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def openai(p: int, c: int, t: Optional[int] = None) -> Dict[str, int]:
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c if t is None else t}


def snapshot(base: Path) -> Dict[str, Any]:
    """The file-backed tracker's usage-stats.json, or {} when absent."""
    p = base / "llm-usage" / "usage-stats.json"
    if not p.exists():
        return {}
    return json.loads(p.read_text())


def snapshot_requests(base: Path, bridge: str) -> int:
    return snapshot(base).get("perBridge", {}).get(bridge, {}).get("totalRequests", 0)


def wait_until(cond: Callable[[], bool], timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")

