"""Type stubs of the extension module (src/*.rs). Checked against the built
module by ``python -m mypy.stubtest usagebook`` (run-tests.sh)."""

import os
from datetime import datetime
from typing import Any, Callable, Literal, Mapping, Optional, TypedDict, TypeVar, Union, final

from typing_extensions import disjoint_base

_S = TypeVar("_S")

__all__ = [
    "UsagebookError",
    "InvalidArgumentError",
    "LockedError",
    "ClosedError",
    "StorageError",
    "Usage",
    "UsageLog",
    "UsageStats",
    "Tracker",
    "FileBackedTracker",
    "InMemoryTracker",
    "NoOpTracker",
    "_close_all",
    "_panic_for_tests",
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
    """The tracker was closed."""

class StorageError(UsagebookError):
    """Reading or writing the tracker's files failed (the message says which and why)."""

@final
class Usage:
    """Token counts of one call (T1)."""

    @property
    def prompt_tokens(self) -> int: ...
    @property
    def completion_tokens(self) -> int: ...
    @property
    def total_tokens(self) -> int: ...
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
        _clock: Optional[Callable[[], int]] = None,
    ) -> _S: ...

class InMemoryTracker(Tracker):
    def __new__(
        cls: type[_S], *, max_logs: int = 10000, _clock: Optional[Callable[[], int]] = None
    ) -> _S: ...

class NoOpTracker(Tracker):
    def __new__(cls: type[_S]) -> _S: ...

def _close_all() -> None: ...
def _panic_for_tests(message: str) -> None: ...
