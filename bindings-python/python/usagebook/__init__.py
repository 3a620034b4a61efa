"""usagebook: durable, exact LLM usage tracking.

One line per LLM call records its token usage; totals survive restarts and
crashes. A drop-in ``LlmBridgeUsageTracker`` in three flavours:

- :class:`FileBackedLlmUsageTracker` keeps totals (and optionally logs) in
  ``<base_dir>/llm-usage``;
- :class:`InMemoryLlmUsageTracker` keeps everything in memory;
- :class:`NoOpLlmUsageTracker` validates and records nothing.

All three are safe to share between threads and have the same methods:
``track_usage``, ``get_usage_logs``, ``get_usage_stats``, ``clear_logs``,
``flush``, ``close``, ``health``, the asyncio ``aflush``/``aclose``, and
they are (async) context managers. Every behaviour lives in the Rust core
(``usagebook._native``); this package only adapts it to Python. See
docs/python.md.
"""

from __future__ import annotations

import asyncio
import atexit
from datetime import datetime
from typing import Any, Callable, List, Literal, Optional, Protocol, TypeVar

from . import _native
from ._native import (
    ClosedError,
    InvalidArgumentError,
    LockedError,
    StorageError,
    Usage,
    UsagebookError,
    UsageLog,
    UsageStats,
)

__version__: str = _native.__version__

__all__ = [
    "LlmBridgeUsageTracker",
    "FileBackedLlmUsageTracker",
    "InMemoryLlmUsageTracker",
    "NoOpLlmUsageTracker",
    "Usage",
    "UsageLog",
    "UsageStats",
    "UsagebookError",
    "InvalidArgumentError",
    "LockedError",
    "ClosedError",
    "StorageError",
    "__version__",
]


class LlmBridgeUsageTracker(Protocol):
    """The seed's ``LlmBridgeUsageTracker`` interface (T1), snake_case: what
    code that records usage needs, whichever tracker it is given. Every
    tracker class here satisfies it (a type-checked test proves it)."""

    def track_usage(
        self,
        bridge_id: str,
        usage: Any,
        *,
        duration_ms: Optional[float] = None,
        status: Literal["success", "error"] = "success",
    ) -> None: ...

    def get_usage_logs(self, bridge_id: Optional[str] = None) -> List[UsageLog]: ...

    def get_usage_stats(self, bridge_id: Optional[str] = None) -> UsageStats: ...

    def clear_logs(self, older_than: Optional[datetime] = None) -> None: ...


class _Background(Protocol):
    def _start_background(
        self, op: str, done: Callable[[Optional[BaseException]], object]
    ) -> None: ...

    def close(self) -> None: ...


_T = TypeVar("_T", bound=_Background)


def _settle(fut: asyncio.Future[None], err: Optional[BaseException]) -> None:
    if fut.done():  # the awaiting task was cancelled; the work finished anyway
        return
    if err is None:
        fut.set_result(None)
    else:
        fut.set_exception(err)


async def _in_background(tracker: _Background, op: str) -> None:
    """Runs ``flush``/``close`` on a usagebook thread; the loop only waits
    on a future that thread completes with ``call_soon_threadsafe``."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[None] = loop.create_future()

    def done(err: Optional[BaseException]) -> None:
        try:
            loop.call_soon_threadsafe(_settle, fut, err)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            pass

    tracker._start_background(op, done)
    await fut


class _AsyncMethods:
    """The asyncio half of every tracker: never blocks the event loop."""

    async def aflush(self: _Background) -> None:
        """``flush()`` without blocking the event loop."""
        await _in_background(self, "flush")

    async def aclose(self: _Background) -> None:
        """``close()`` without blocking the event loop."""
        await _in_background(self, "close")

    async def __aenter__(self: _T) -> _T:
        return self

    async def __aexit__(self: _Background, *exc_info: object) -> None:
        await _in_background(self, "close")


class FileBackedLlmUsageTracker(_native.FileBackedTracker, _AsyncMethods):
    """Totals (and, with ``persist_logs``, logs) in ``<base_dir>/llm-usage``.

    ``FileBackedLlmUsageTracker(base_dir, *, flush_interval_ms=30000,
    flush_every_n_logs=100, persist_logs=False, max_logs=10000,
    durability="interval", max_log_bytes=None)``

    Writes happen on a background thread: when ``flush_every_n_logs`` logs
    are pending, every ``flush_interval_ms``, on ``flush()``/``close()`` and
    at interpreter exit. ``durability`` is ``"interval"`` (a crash loses at
    most the flush window), ``"process"`` (nothing acknowledged is lost if
    the process dies) or ``"power"`` (nothing is lost on power loss either).
    A directory in use by another tracker raises :class:`LockedError`.
    """


class InMemoryLlmUsageTracker(_native.InMemoryTracker, _AsyncMethods):
    """Everything in memory: ``InMemoryLlmUsageTracker(*, max_logs=10000)``.

    Keeps the newest ``max_logs`` logs; stats are lifetime totals that the
    cap never shrinks.
    """


class NoOpLlmUsageTracker(_native.NoOpTracker, _AsyncMethods):
    """Validates its input, records nothing, reports empty stats."""


# The final flush (T8): closes every file-backed tracker still open when the
# interpreter exits. Registered at import, so it runs after the atexit
# handlers of code that imported usagebook (they may still track).
atexit.register(_native._close_all)
