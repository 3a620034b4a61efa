"""Type stubs of the extension module (src/*.rs). Checked against the built
module by ``python -m mypy.stubtest usagebook`` (run-tests.sh)."""

import os
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, List, Literal, Mapping, Optional, Sequence, TypedDict, TypeVar, Union, final

from typing_extensions import disjoint_base

_S = TypeVar("_S")

__all__ = [
    "UsagebookError",
    "InvalidArgumentError",
    "LockedError",
    "ClosedError",
    "StorageError",
    "BudgetExceeded",
    "RateLimited",
    "Usage",
    "UsageLog",
    "UsageStats",
    "Tracker",
    "FileBackedTracker",
    "InMemoryTracker",
    "NoOpTracker",
    "Ledger",
    "LedgerEvent",
    "Hold",
    "Prices",
    "_cost_json",
    "_close_all",
    "_close_all_ledgers",
    "_panic_for_tests",
    "_set_call_observer",
    "__version__",
]

__version__: str

class UsagebookError(Exception):
    """Base class of every error usagebook raises, internal errors (Rust panics) included."""

class InvalidArgumentError(UsagebookError, ValueError):
    """An argument was refused (the message names it); nothing was recorded."""

class LockedError(UsagebookError):
    """Another tracker, in this or another process, owns the directory."""

class ClosedError(UsagebookError):
    """The tracker or ledger was closed."""

class StorageError(UsagebookError):
    """Reading or writing the tracker's files failed (the message says which and why)."""

class BudgetExceeded(UsagebookError):
    """A hold was refused: spent + reserved + requested would pass the ledger's daily budget. Nothing was recorded."""

    @property
    def scope(self) -> str: ...
    @property
    def window(self) -> str: ...
    @property
    def limit(self) -> float: ...
    @property
    def spent(self) -> float: ...
    @property
    def reserved(self) -> float: ...
    @property
    def requested(self) -> float: ...
    @property
    def reset_at(self) -> datetime: ...

class RateLimited(UsagebookError):
    """A reservation was refused by a rate limit (rpm, tpm or rpd of a scope). Nothing was recorded and no limit's slot was taken; retry after retry_after_s."""

    @property
    def scope(self) -> str: ...
    @property
    def limit(self) -> Literal["rpm", "tpm", "rpd"]: ...
    @property
    def window_s(self) -> int: ...
    @property
    def current(self) -> int: ...
    @property
    def maximum(self) -> int: ...
    @property
    def requested(self) -> int: ...
    @property
    def retry_after_s(self) -> Optional[float]: ...

@final
class Usage:
    """Token counts of one call (T1) and the parts the tracker keeps.

    ``prompt_tokens`` counts every input token (cache reads and writes
    included), ``completion_tokens`` every output token (reasoning
    included); the parts are 0 when the provider did not report them.
    """

    @property
    def prompt_tokens(self) -> int: ...
    @property
    def completion_tokens(self) -> int: ...
    @property
    def total_tokens(self) -> int: ...
    @property
    def cache_read_tokens(self) -> int: ...
    @property
    def cache_write_tokens(self) -> int: ...
    @property
    def reasoning_tokens(self) -> int: ...
    def to_dict(self) -> dict[str, int]: ...

@final
class UsageLog:
    """One recorded call (T1)."""

    @property
    def id(self) -> str: ...
    @property
    def bridge_id(self) -> str: ...
    @property
    def timestamp(self) -> datetime: ...
    @property
    def usage(self) -> Usage: ...
    @property
    def duration_ms(self) -> Optional[float]: ...
    @property
    def status(self) -> Literal["success", "error"]: ...
    def to_dict(self) -> dict[str, Any]: ...

@final
class UsageStats:
    """Lifetime totals of one bridge or of all (T1, T4)."""

    @property
    def total_requests(self) -> int: ...
    @property
    def prompt_tokens(self) -> int: ...
    @property
    def completion_tokens(self) -> int: ...
    @property
    def total_tokens(self) -> int: ...
    @property
    def cache_read_tokens(self) -> int: ...
    @property
    def cache_write_tokens(self) -> int: ...
    @property
    def reasoning_tokens(self) -> int: ...
    @property
    def average_tokens_per_request(self) -> float: ...
    @property
    def last_used_at(self) -> Optional[datetime]: ...
    @property
    def error_count(self) -> int: ...
    def to_dict(self) -> dict[str, Any]: ...

class _Health(TypedDict):
    kind: Literal["file", "memory", "noop"]
    closed: bool
    durability: Optional[Literal["interval", "process", "power"]]
    last_flush_at: Optional[datetime]
    flush_count: int
    queue_depth: int
    pending_bytes: int
    retained_logs: int
    last_error: Optional[str]
    recovery: list[str]
    git_sync: Optional[_GitSyncHealth]

class _GitSyncHealth(TypedDict):
    """The git sync's state in ``health()`` (issue 13)."""

    device_id: str
    syncs: int
    failures: int
    last_sync_at: Optional[datetime]
    last_ok_at: Optional[datetime]
    last_error: Optional[str]
    pending_commits: int
    offline: bool

class _GitSyncOptions(TypedDict, total=False):
    """``git_sync=`` of FileBackedTracker (docs/git-sync.md; G1). Only ``repo_dir`` is required."""

    repo_dir: Union[str, os.PathLike[str]]
    remote: Union[str, os.PathLike[str], None]
    branch: str
    sync_interval: Union[str, timedelta]
    device_id: Optional[str]
    path: Union[str, os.PathLike[str]]
    enabled: bool
    segment_max_bytes: int
    segment_max_age: Union[str, timedelta]
    close_timeout: Union[str, timedelta]

class _SyncReport(TypedDict):
    committed: bool
    pushed: bool
    offline: bool
    rejected: int
    ahead: int
    removed_locks: list[str]
    offline_reason: Optional[str]

class _MergedStats(TypedDict):
    total: UsageStats
    devices: dict[str, UsageStats]
    bridges: dict[str, UsageStats]
    segments: int
    notes: list[str]

# A usage mapping (OpenAI / Anthropic / camelCase keys) or any object with
# those attributes, such as the OpenAI and Anthropic SDKs' usage objects.
_UsageLike = Union[Mapping[str, Any], Any]

@disjoint_base
class Tracker:
    """Every method of LlmBridgeUsageTracker (T1)."""

    def track_usage(
        self,
        bridge_id: str,
        usage: _UsageLike,
        *,
        duration_ms: Optional[float] = None,
        status: Literal["success", "error"] = "success",
    ) -> None: ...
    def get_usage_logs(self, bridge_id: Optional[str] = None) -> list[UsageLog]: ...
    def get_usage_stats(self, bridge_id: Optional[str] = None) -> UsageStats: ...
    def clear_logs(self, older_than: Optional[datetime] = None) -> None: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...
    def metrics_text(self) -> str: ...
    def health(self) -> _Health: ...
    def _start_background(
        self, op: str, done: Callable[[Optional[BaseException]], object]
    ) -> None: ...
    def __enter__(self: _S) -> _S: ...
    def __exit__(self, *_exc: object) -> bool: ...

class FileBackedTracker(Tracker):
    def __new__(
        cls: type[_S],
        base_dir: Union[str, os.PathLike[str]],
        *,
        flush_interval_ms: int = 30000,
        flush_every_n_logs: int = 100,
        persist_logs: bool = False,
        max_logs: int = 10000,
        durability: Literal["interval", "process", "power"] = "interval",
        max_log_bytes: Optional[int] = None,
        git_sync: Optional[_GitSyncOptions] = None,
        _clock: Optional[Callable[[], int]] = None,
    ) -> _S: ...
    def sync_now(self) -> _SyncReport: ...
    def merged_stats(self) -> _MergedStats: ...

class InMemoryTracker(Tracker):
    def __new__(
        cls: type[_S], *, max_logs: int = 10000, _clock: Optional[Callable[[], int]] = None
    ) -> _S: ...

class NoOpTracker(Tracker):
    def __new__(cls: type[_S]) -> _S: ...

# ---- the budget ledger (src/ledger.rs) ----

@final
class LedgerEvent:
    """One ledger event (L1): a hold, commit, cancel or adjust; validated when written."""

    def __new__(
        cls,
        event_type: Literal["precheck_hold", "commit", "cancel", "adjust"],
        trace_id: str,
        provider: str,
        model: str,
        usage: Any = None,
        cost_est_usd: float = 0.0,
        cost_actual_usd: Optional[float] = None,
        status: Literal["ok", "error", "cancelled"] = "ok",
        timing: Optional[Mapping[str, Optional[float]]] = None,
        timestamp: Union[float, datetime, None] = None,
        profile_id: Optional[str] = None,
        id: Optional[str] = None,
    ) -> LedgerEvent: ...
    @property
    def id(self) -> str: ...
    @property
    def event_type(self) -> str: ...
    @property
    def trace_id(self) -> str: ...
    @property
    def provider(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def usage(self) -> dict[str, Any]: ...
    @property
    def cost_est_usd(self) -> float: ...
    @property
    def cost_actual_usd(self) -> Optional[float]: ...
    @property
    def status(self) -> str: ...
    @property
    def timing(self) -> dict[str, Any]: ...
    @property
    def timestamp(self) -> float: ...
    @property
    def profile_id(self) -> Optional[str]: ...
    def to_dict(self) -> dict[str, Any]: ...

class _LedgerHealth(TypedDict):
    mode: Literal["best_effort", "strict_budget"]
    path: str
    closed: bool
    queue_depth: int
    events_written: int
    batches: int
    duplicates: int
    rejected: int
    expired_holds: int
    open_holds: int
    unpriced_commits: int
    unpriced_spend_usd: float
    last_commit_at: Optional[datetime]
    last_error: Optional[str]
    schema_version: int
    notes: List[str]
    rate_limited: int
    rate_limit_waits: int

@final
class Prices:
    """The bundled LiteLLM price snapshot with a caller's entries overlaid."""

    def __new__(
        cls, source: Union[str, os.PathLike[str], Mapping[str, Any], None] = None
    ) -> Prices: ...
    def __len__(self) -> int: ...

# A LiteLLM model_prices_and_context_window.json: a Prices, a path or the parsed dict.
_Prices = Union[Prices, str, os.PathLike[str], Mapping[str, Any]]

def _cost_json(
    model: Optional[str],
    usage: Any,
    provider: Optional[str] = None,
    prices: Optional[_Prices] = None,
    at: Optional[datetime] = None,
) -> str: ...

@disjoint_base
class Ledger:
    """The budget ledger on one SQLite file (L1-L12)."""

    def __new__(
        cls: type[_S],
        path: Union[str, os.PathLike[str]],
        *,
        mode: Literal["best_effort", "strict_budget"] = "best_effort",
        batch_size: int = 100,
        flush_interval_ms: int = 200,
        daily_budget_usd: Optional[float] = None,
        timezone: str = "UTC",
        hold_ttl_s: float = 900,
        prices: Optional[_Prices] = None,
        allow_unpriced: bool = False,
        rate_limits: Optional[Sequence[Mapping[str, Any]]] = None,
        wait_on_rate_limit: bool = False,
        max_wait_timeout_s: float = 60,
        retry_budget_s: float = 90,
        _clock: Optional[Callable[[], int]] = None,
    ) -> _S: ...
    @property
    def mode(self) -> Literal["best_effort", "strict_budget"]: ...
    @property
    def rate_limits(self) -> List[Dict[str, Any]]: ...
    def set_rate_limits(self, limits: Sequence[Mapping[str, Any]]) -> None: ...
    @property
    def daily_budget_usd(self) -> Optional[float]: ...
    @property
    def timezone(self) -> str: ...
    def write_event(self, ev: LedgerEvent, sync: bool = False) -> None: ...
    def _write_event_then(
        self, ev: LedgerEvent, sync: bool, done: Callable[[Optional[BaseException]], object]
    ) -> None: ...
    def spend_today(self, scope: str = "all", profile_id: Optional[str] = None) -> float: ...
    def reserved_today(self, scope: str = "all", profile_id: Optional[str] = None) -> float: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...
    def metrics_text(self) -> str: ...
    def health(self) -> _LedgerHealth: ...
    def _start_background(
        self, op: str, done: Callable[[Optional[BaseException]], object]
    ) -> None: ...
    def __enter__(self: _S) -> _S: ...
    def __exit__(self, *_exc: object) -> bool: ...

@disjoint_base
class Hold:
    """An open reservation (L6); settle it once with commit or cancel."""

    def __new__(
        cls: type[_S],
        ledger: Ledger,
        *,
        trace_id: str,
        provider: str,
        model: str,
        estimate_usd: float,
        profile_id: Optional[str] = None,
        input_tokens: Optional[int] = None,
        max_tokens: Optional[int] = None,
        estimate_tokens: Optional[int] = None,
    ) -> _S: ...
    @property
    def trace_id(self) -> str: ...
    @property
    def event_id(self) -> str: ...
    @property
    def provider(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def profile_id(self) -> Optional[str]: ...
    @property
    def amount_usd(self) -> float: ...
    @property
    def expires_at(self) -> datetime: ...
    @property
    def settled(self) -> bool: ...
    def commit(self, usage: Any = None, cost_actual_usd: Optional[float] = None) -> None: ...
    def cancel(self) -> None: ...
    def __enter__(self: _S) -> _S: ...
    def __exit__(self, *exc: object) -> bool: ...

def _close_all() -> None: ...
def _close_all_ledgers() -> None: ...
def _panic_for_tests(message: str) -> None: ...
def _set_call_observer(callback: Optional[Callable[[dict[str, Any]], object]]) -> None: ...
