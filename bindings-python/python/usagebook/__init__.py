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
they are (async) context managers.

The budget ledger, :class:`Ledger`, records holds, commits, cancels and
adjusts (:class:`LedgerEvent`) on SQLite and enforces a daily budget
(:class:`Hold`, :class:`BudgetExceeded`).

Every behaviour lives in the Rust core (``usagebook._native``); this
package only adapts it to Python. See docs/python.md.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, List, Literal, Optional, Protocol, TypeVar

from . import _native
from ._native import (
    BudgetExceeded,
    ClosedError,
    RateLimited,
    InvalidArgumentError,
    LedgerEvent,
    LockedError,
    Prices,
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
    "Ledger",
    "LedgerEvent",
    "Hold",
    "BudgetExceeded",
    "RateLimited",
    "Prices",
    "Cost",
    "CostItem",
    "cost",
    "__version__",
]


@dataclass(frozen=True)
class CostItem:
    """One line of a :class:`Cost`: which price of the price file, how many
    units (tokens, images, seconds, ...), USD per unit, and USD."""

    price: str
    units: float
    unit_usd: float
    usd: float


@dataclass(frozen=True)
class Cost:
    """What one call cost (U4). ``priced`` is False when the model has no
    price: ``usd`` is then 0.0 and means "unknown", never "free"."""

    usd: float
    input_usd: float
    output_usd: float
    priced: bool
    model: Optional[str]
    items: List[CostItem]


def cost(model: Optional[str], usage: Any, *, provider: Optional[str] = None,
         prices: Any = None, at: Optional[datetime] = None) -> Cost:
    """Prices one call's usage as LiteLLM's ``cost_per_token`` does (U4).

    ``usage`` is any provider SDK's usage or whole response, as the SDK's
    object or as a dict (OpenAI Chat Completions and Responses, Anthropic
    Messages, Gemini, Bedrock Converse, LiteLLM, the tracker's camelCase);
    with a whole response ``model`` may be None. ``prices`` is None (the
    bundled LiteLLM snapshot), a :class:`Prices`, or a path or dict in
    LiteLLM's format overlaid on the snapshot (pass a :class:`Prices` to
    parse a large file once). A usage with no token count usagebook
    recognises raises :class:`InvalidArgumentError`. ``at`` (a tz-aware
    datetime, default now) is when the call was made: dated prices and
    off-peak hours depend on it. ``input_usd`` and ``output_usd`` split
    ``usd`` as LiteLLM's ``(prompt_cost, completion_cost)`` do.
    """
    d = json.loads(_native._cost_json(model, usage, provider, prices, at))
    return Cost(
        usd=d["usd"],
        input_usd=d["input_usd"],
        output_usd=d["output_usd"],
        priced=d["priced"],
        model=d["model"],
        items=[CostItem(price=i["price"], units=i["units"], unit_usd=i["unit_usd"], usd=i["usd"])
               for i in d["items"]],
    )


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
    durability="interval", max_log_bytes=None, git_sync=None)``

    Writes happen on a background thread: when ``flush_every_n_logs`` logs
    are pending, every ``flush_interval_ms``, on ``flush()``/``close()`` and
    at interpreter exit. ``durability`` is ``"interval"`` (a crash loses at
    most the flush window), ``"process"`` (nothing acknowledged is lost if
    the process dies) or ``"power"`` (nothing is lost on power loss either).
    A directory in use by another tracker raises :class:`LockedError`.

    ``git_sync={"repo_dir": ..., "remote": ..., "branch": "main",
    "sync_interval": "15m"}`` also writes every event to this device's
    files in a git repository and syncs it (docs/git-sync.md):
    ``sync_now()`` syncs at once, ``merged_stats()`` gives every device's
    totals, and ``health()["git_sync"]`` the sync's state.
    """


class InMemoryLlmUsageTracker(_native.InMemoryTracker, _AsyncMethods):
    """Everything in memory: ``InMemoryLlmUsageTracker(*, max_logs=10000)``.

    Keeps the newest ``max_logs`` logs; stats are lifetime totals that the
    cap never shrinks.
    """


class NoOpLlmUsageTracker(_native.NoOpTracker, _AsyncMethods):
    """Validates its input, records nothing, reports empty stats."""


_H = TypeVar("_H", bound="Hold")
_L = TypeVar("_L", bound="Ledger")
_R = TypeVar("_R")


class Hold(_native.Hold):
    """An open reservation made by :meth:`Ledger.reserve` (L6).

    Settle it once: ``commit(usage=None, cost_actual_usd=None)`` records the
    spend (the actual cost, or ``usage`` priced by the ledger's price list,
    or the estimate for an unpriced model) and releases the reservation;
    ``cancel()`` releases it without spend. A second settle raises
    :class:`InvalidArgumentError`. Neither waits for disk.

    As a context manager (``with``/``async with``) it cancels the hold on
    exit if it is still open, whether the block raised or not: commit
    inside the block to record spend. A hold never settled keeps its
    amount reserved until it expires (``hold_ttl_s``).
    """

    async def acommit(self, usage: Any = None,
                      cost_actual_usd: Optional[float] = None) -> None:
        """``commit()`` from a coroutine (it never waits)."""
        self.commit(usage, cost_actual_usd)

    async def acancel(self) -> None:
        """``cancel()`` from a coroutine (it never waits)."""
        self.cancel()

    async def __aenter__(self: _H) -> _H:
        return self

    async def __aexit__(self, *exc_info: Any) -> bool:
        return self.__exit__(*exc_info)



async def _off_loop(fn: Callable[[], _R]) -> _R:
    """Runs a call that may wait for the ledger's writer (it releases the
    GIL) on the loop's default executor."""
    return await asyncio.get_running_loop().run_in_executor(None, fn)


class Ledger(_native.Ledger):
    """The budget ledger on one SQLite file (L1-L12).

    ``Ledger(path, *, mode="best_effort", batch_size=100,
    flush_interval_ms=200, daily_budget_usd=None, timezone="UTC",
    hold_ttl_s=900, prices=None, allow_unpriced=False)``

    ``mode`` is ``"best_effort"`` (prechecks and reads from memory, writes
    never wait for disk) or ``"strict_budget"`` (check-and-hold is one
    database transaction, atomic across threads and processes).
    ``prices`` is ``None`` (the bundled LiteLLM snapshot), a
    :class:`Prices`, a path to a LiteLLM
    ``model_prices_and_context_window.json``-format file, or a dict in that
    format, overlaid on the snapshot. In strict mode a commit on a model
    with no price and no estimate is refused unless ``allow_unpriced``.
    ``usage`` (commits, events) is any provider SDK's usage or response
    object, or its dict form. Money is USD floats here, integer nano-USD inside. Safe to share
    between threads; an (async) context manager that closes on exit. A
    ledger never closed is closed (its queue drained) at interpreter exit.

    Rate limits (R1-R3, docs/ledger.md): ``rate_limits=[{"scope":
    "provider:openai", "rpm": 500, "tpm": 200000, "rpd": 10000}, ...]``
    (scopes ``all``, ``provider:<name>``, ``model:<name>``,
    ``profile:<id>``) are checked with the budget in one transaction shared
    by every process; a refusal raises :class:`RateLimited`. With
    ``wait_on_rate_limit=True`` a reservation waits instead (each wait at
    most ``max_wait_timeout_s``, all at most ``retry_budget_s``), each wait
    and retry recorded as a ``rate_limit_wait`` / ``rate_limit_retry``
    event. ``set_rate_limits()`` changes them on an open ledger.
    """

    def reserve(self, *, trace_id: str, provider: str, model: str, estimate_usd: float,
                profile_id: Optional[str] = None, input_tokens: Optional[int] = None,
                max_tokens: Optional[int] = None, estimate_tokens: Optional[int] = None) -> Hold:
        """Reserves ``estimate_usd`` for a trace (a ``precheck_hold``), or
        raises :class:`BudgetExceeded` if spent + reserved + estimate would
        pass ``daily_budget_usd`` (reaching it exactly is allowed), or
        :class:`RateLimited`. ``tpm`` limits count ``estimate_tokens``, else
        ``input_tokens`` plus ``max_tokens`` (else 1024); the commit
        corrects it to the actual usage."""
        return Hold(self, trace_id=trace_id, provider=provider, model=model,
                    estimate_usd=estimate_usd, profile_id=profile_id, input_tokens=input_tokens,
                    max_tokens=max_tokens, estimate_tokens=estimate_tokens)

    async def areserve(self, *, trace_id: str, provider: str, model: str, estimate_usd: float,
                       profile_id: Optional[str] = None, input_tokens: Optional[int] = None,
                       max_tokens: Optional[int] = None,
                       estimate_tokens: Optional[int] = None) -> Hold:
        """``reserve()`` without blocking the event loop (strict mode and
        rate limits wait for a database transaction, maybe for a rate
        limit: it runs on the default executor)."""
        call = functools.partial(Hold, self, trace_id=trace_id, provider=provider, model=model,
                                 estimate_usd=estimate_usd, profile_id=profile_id,
                                 input_tokens=input_tokens, max_tokens=max_tokens,
                                 estimate_tokens=estimate_tokens)
        if self.mode == "strict_budget" or self.rate_limits:
            return await _off_loop(call)
        return call()

    async def awrite_event(self, ev: LedgerEvent, sync: bool = False) -> None:
        """``write_event()`` without blocking the event loop: returns once
        the event is queued, or with ``sync=True`` once its batch is
        committed. Validation and budget errors are raised at once."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()

        def done(err: Optional[BaseException]) -> None:
            try:
                loop.call_soon_threadsafe(_settle, fut, err)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                pass

        self._write_event_then(ev, sync, done)
        await fut

    async def aspend_today(self, scope: str = "all", profile_id: Optional[str] = None) -> float:
        """``spend_today()`` without blocking the event loop."""
        if self.mode == "strict_budget":
            return await _off_loop(functools.partial(self.spend_today, scope, profile_id))
        return self.spend_today(scope, profile_id)

    async def areserved_today(self, scope: str = "all", profile_id: Optional[str] = None) -> float:
        """``reserved_today()`` without blocking the event loop."""
        if self.mode == "strict_budget":
            return await _off_loop(functools.partial(self.reserved_today, scope, profile_id))
        return self.reserved_today(scope, profile_id)

    async def aflush(self) -> None:
        """``flush()`` without blocking the event loop."""
        await _in_background(self, "flush")

    async def aclose(self) -> None:
        """``close()`` without blocking the event loop: the queue is drained
        on a usagebook thread."""
        await _in_background(self, "close")

    async def __aenter__(self: _L) -> _L:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await _in_background(self, "close")



# The final flush (T8): closes every file-backed tracker still open when the
# interpreter exits. Registered at import, so it runs after the atexit
# handlers of code that imported usagebook (they may still track).
atexit.register(_native._close_all)
# Likewise every ledger still open: its queue is drained, not lost (L4).
atexit.register(_native._close_all_ledgers)
