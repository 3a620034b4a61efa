"""OpenTelemetry GenAI metrics for usagebook, through the host's own SDK (O2).

Uses only ``opentelemetry-api`` (``pip install usagebook[otel]``): until the
host application installs and configures an OpenTelemetry SDK, every
instrument is a no-op. Shaped like the OpenTelemetry Python
instrumentations::

    from usagebook.otel import UsagebookInstrumentor
    UsagebookInstrumentor().instrument(meter_provider=None)  # the global one
    ...
    UsagebookInstrumentor().uninstrument()

Every call a tracker records and every ledger commit (and adjust) of this
process is recorded once, by this process: several processes sharing one
ledger never multiply a total. The numbers are the core's (tokens in the
one usage vocabulary, the ledger's settled cost); see docs/telemetry.md.

Recorded (GenAI semantic conventions, Development status; the token
histogram as in semantic-conventions v1.41.0, the usage counters as in
semantic-conventions-genai v0.1.0):

- ``gen_ai.client.token.usage``: histogram, ``{token}``, one point per
  call and token type (``gen_ai.token.type`` = ``input`` | ``output``),
  with ``gen_ai.operation.name``, ``gen_ai.provider.name``,
  ``gen_ai.request.model`` (and ``error.type`` for a failed call);
- with ``inference_usage_counters=True``, the counters
  ``gen_ai.client.inference.usage.{input_tokens, output_tokens,
  cache_read.input_tokens, cache_write.input_tokens,
  reasoning.output_tokens}`` (``gen_ai.token.modality`` = ``unknown``);
- ``usagebook.client.cost``: counter, ``{USD}``, the ledger's settled
  spend per commit, with the proposed ``gen_ai.usage.cost.currency`` and
  ``gen_ai.usage.cost.source`` attributes; and, when a span is recording
  around the commit, ``gen_ai.usage.cost.amount`` / ``.currency`` /
  ``.source`` on that span.
"""

from __future__ import annotations

import threading
from typing import Any, Collection, Dict, Iterable, List, Optional, Tuple

from . import __version__, _native

_SCHEMA_URL = "https://opentelemetry.io/schemas/1.41.0"
# The GenAI conventions' advice for gen_ai.client.token.usage.
_TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576,
                  4194304, 16777216, 67108864]
_USAGE_COUNTERS: Tuple[Tuple[str, str, str], ...] = (
    ("input", "gen_ai.client.inference.usage.input_tokens",
     "Input tokens used, cache reads and writes included."),
    ("output", "gen_ai.client.inference.usage.output_tokens",
     "Output tokens used, reasoning included."),
    ("cache_read", "gen_ai.client.inference.usage.cache_read.input_tokens",
     "Input tokens read from the prompt cache."),
    ("cache_write", "gen_ai.client.inference.usage.cache_write.input_tokens",
     "Input tokens written to the prompt cache."),
    ("reasoning", "gen_ai.client.inference.usage.reasoning.output_tokens",
     "Output tokens spent on reasoning."),
)

_lock = threading.Lock()
_active: Optional["_Recorder"] = None


class _Recorder:
    def __init__(self, meter_provider: Any, operation_name: str,
                 inference_usage_counters: bool, sources: Iterable[str]) -> None:
        from opentelemetry import metrics, trace

        self._current_span = trace.get_current_span
        meter = metrics.get_meter("usagebook", __version__, meter_provider,
                                  schema_url=_SCHEMA_URL)
        try:
            self._tokens = meter.create_histogram(
                "gen_ai.client.token.usage", unit="{token}",
                description="Number of input and output tokens used.",
                explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS)
        except TypeError:  # opentelemetry-api < 1.23 has no advisory
            self._tokens = meter.create_histogram(
                "gen_ai.client.token.usage", unit="{token}",
                description="Number of input and output tokens used.")
        self._counters: List[Tuple[str, Any]] = []
        if inference_usage_counters:
            for part, name, help in _USAGE_COUNTERS:
                self._counters.append(
                    (part, meter.create_counter(name, unit="{token}", description=help)))
        self._cost = meter.create_counter(
            "usagebook.client.cost", unit="{USD}",
            description="Spend the usagebook ledger settled for calls, USD.")
        self._operation = operation_name
        self._sources = frozenset(sources)

    def __call__(self, rec: Dict[str, Any]) -> None:
        if rec["source"] not in self._sources:
            return
        attrs: Dict[str, Any] = {
            "gen_ai.operation.name": self._operation,
            "gen_ai.provider.name": rec["provider"],
            "gen_ai.request.model": rec["model"],
        }
        if rec["error"]:
            attrs["error.type"] = "_OTHER"
        if rec["event"] != "adjust":  # an adjust corrects a cost, it is no call
            token_attrs = dict(attrs)
            if rec["bridge"] is not None:
                token_attrs["usagebook.bridge"] = rec["bridge"]
            for kind in ("input", "output"):
                self._tokens.record(rec[kind], {**token_attrs, "gen_ai.token.type": kind})
            if self._counters:
                usage_attrs = {**token_attrs, "gen_ai.token.modality": "unknown"}
                for part, counter in self._counters:
                    counter.add(rec[part], usage_attrs)
        cost = rec["cost_usd"]
        if cost is not None:
            cost_attrs = {**attrs, "gen_ai.usage.cost.currency": "USD",
                          "gen_ai.usage.cost.source": rec["cost_source"],
                          "usagebook.priced": rec["priced"]}
            if cost >= 0:  # a counter only grows; a refund is in the ledger
                self._cost.add(cost, cost_attrs)
            span = self._current_span()
            if span.is_recording():
                span.set_attribute("gen_ai.usage.cost.amount", cost)
                span.set_attribute("gen_ai.usage.cost.currency", "USD")
                span.set_attribute("gen_ai.usage.cost.source", rec["cost_source"])


class UsagebookInstrumentor:
    """Records usagebook's calls as OpenTelemetry GenAI metrics.

    One per process, like the OpenTelemetry instrumentors: every instance
    shares the one state, ``instrument`` twice is a no-op and
    ``uninstrument`` stops the recording.
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("opentelemetry-api >= 1.12",)

    @property
    def is_instrumented_by_opentelemetry(self) -> bool:
        return _active is not None

    def instrument(self, meter_provider: Any = None, *, operation_name: str = "chat",
                   inference_usage_counters: bool = False,
                   sources: Iterable[str] = ("tracker", "ledger"),
                   **kwargs: Any) -> None:
        """Starts recording. ``meter_provider``: the host's MeterProvider
        (``None``: the global one, a no-op until an SDK is set).
        ``inference_usage_counters``: also the newer
        ``gen_ai.client.inference.usage.*`` counters. ``sources``: record
        tracker calls, ledger commits, or both (a host that records each
        call in both would otherwise count its tokens twice)."""
        global _active
        bad = set(sources) - {"tracker", "ledger"}
        if bad:
            raise ValueError(f"sources must be 'tracker' and/or 'ledger', got {sorted(bad)}")
        with _lock:
            if _active is not None:
                return
            rec = _Recorder(meter_provider, operation_name, inference_usage_counters, sources)
            _native._set_call_observer(rec)
            _active = rec

    def uninstrument(self, **kwargs: Any) -> None:
        """Stops recording (instruments already created stay with their
        MeterProvider)."""
        global _active
        with _lock:
            _native._set_call_observer(None)
            _active = None


__all__ = ["UsagebookInstrumentor"]
