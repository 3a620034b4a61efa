"""Shared helpers of the tests. The tests run against the *installed* wheel:
run-tests.sh starts pytest from a directory where ``import usagebook`` can
only find site-packages (test_install.py checks that)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

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



_QUERY = """
import json, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
try:
    print(json.dumps(c.execute(sys.argv[2]).fetchall()))
finally:
    c.close()
"""


def db_rows(path: Path, sql: str) -> List[List[Any]]:
    """Runs a query on a ledger database with the sqlite3 module, in a child
    process. Not in this one: the sqlite3 module's SQLite is a second copy
    beside usagebook's bundled one, and POSIX file locks belong to the
    process, so two copies in one process do not see each other's locks
    (closing one's file descriptor drops the other's locks), which can
    corrupt a WAL database the ledger has open."""
    r = subprocess.run([sys.executable, "-S", "-c", _QUERY, str(path), sql],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    rows: List[List[Any]] = json.loads(r.stdout)
    return rows


def db_count(path: Path, where: str = "1") -> int:
    """How many ledger events match `where`."""
    n: int = db_rows(path, f"SELECT COUNT(*) FROM events WHERE {where}")[0][0]
    return n
