"""Usage objects as hosts have them (B3): the OpenAI and Anthropic SDKs'
usage objects (small stand-ins with the same attributes; the SDKs are not
installed), their dict dumps, the camelCase keys of T1, any Mapping."""

from __future__ import annotations

from collections import OrderedDict
from types import MappingProxyType, SimpleNamespace
from typing import Any, Dict, Iterator, Mapping, Optional

import pytest

import usagebook


class CompletionUsage:
    """Like openai.types.CompletionUsage (a pydantic model): attributes, plus
    optional details objects."""

    def __init__(self, prompt_tokens: int, completion_tokens: int, total_tokens: int) -> None:
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.total_tokens = total_tokens
        self.completion_tokens_details = SimpleNamespace(reasoning_tokens=0)
        self.prompt_tokens_details = SimpleNamespace(cached_tokens=0)

    def model_dump(self) -> Dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


class ResponseUsage:
    """Like openai.types.responses.ResponseUsage: input/output/total."""

    def __init__(self, input_tokens: int, output_tokens: int) -> None:
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.total_tokens = input_tokens + output_tokens


class AnthropicUsage:
    """Like anthropic.types.Usage: no total; cache fields may be None."""

    __slots__ = ("input_tokens", "output_tokens", "cache_creation_input_tokens",
                 "cache_read_input_tokens")

    def __init__(self, input_tokens: int, output_tokens: int) -> None:
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.cache_creation_input_tokens: Optional[int] = None
        self.cache_read_input_tokens: Optional[int] = None


class PropertyUsage:
    """Attributes computed by properties (getattr, not __dict__)."""

    @property
    def prompt_tokens(self) -> int:
        return 4

    @property
    def completion_tokens(self) -> int:
        return 5

    @property
    def total_tokens(self) -> int:
        return 9


class CustomMapping(Mapping[str, int]):
    def __init__(self, **kw: int) -> None:
        self._d = dict(kw)

    def __getitem__(self, k: str) -> int:
        return self._d[k]

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)


class DictSubclass(dict):  # type: ignore[type-arg]
    pass


def tokens(usage: Any) -> tuple[int, int, int]:
    t = usagebook.InMemoryLlmUsageTracker()
    t.track_usage("b", usage)
    s = t.get_usage_stats()
    return s.prompt_tokens, s.completion_tokens, s.total_tokens


@pytest.mark.parametrize(
    "usage, want",
    [
        (CompletionUsage(12, 3, 15), (12, 3, 15)),
        (CompletionUsage(12, 3, 15).model_dump(), (12, 3, 15)),
        (ResponseUsage(7, 2), (7, 2, 9)),
        (AnthropicUsage(20, 8), (20, 8, 28)),
        ({"input_tokens": 20, "output_tokens": 8}, (20, 8, 28)),
        ({"input_tokens": 20, "output_tokens": 8, "total_tokens": 30}, (20, 8, 30)),
        ({"promptTokens": 1, "completionTokens": 2, "totalTokens": 3}, (1, 2, 3)),
        (SimpleNamespace(promptTokens=1, completionTokens=2, totalTokens=4), (1, 2, 4)),
        (PropertyUsage(), (4, 5, 9)),
        (CustomMapping(prompt_tokens=1, completion_tokens=1, total_tokens=2), (1, 1, 2)),
        (MappingProxyType({"input_tokens": 3, "output_tokens": 4}), (3, 4, 7)),
        (OrderedDict(total_tokens=6, completion_tokens=2, prompt_tokens=4), (4, 2, 6)),
        (DictSubclass(prompt_tokens=1, completion_tokens=1, total_tokens=2), (1, 1, 2)),
        # Keys that are equal strings but not the interned objects.
        ({"".join(["prompt", "_tokens"]): 5, "".join(["completion", "_tokens"]): 6,
          "".join(["total", "_tokens"]): 11}, (5, 6, 11)),
        # Extra keys are ignored; big dicts take the lookup path.
        (dict(openai_extra=1, prompt_tokens=1, completion_tokens=2, total_tokens=3,
              **{f"k{i}": i for i in range(10)}), (1, 2, 3)),
        ({"prompt_tokens": 2**63, "completion_tokens": 0, "total_tokens": 2**64 - 1},
         (2**63, 0, 2**64 - 1)),
    ],
)
def test_b3_usage_shapes(usage: Any, want: tuple[int, int, int]) -> None:
    assert tokens(usage) == want


def test_b3_first_name_wins_openai_over_camel_over_anthropic() -> None:
    assert tokens({"prompt_tokens": 1, "promptTokens": 50, "input_tokens": 99,
                   "completion_tokens": 2, "output_tokens": 98, "total_tokens": 3}) == (1, 2, 3)


def test_b3_int_subclasses_that_are_not_bool_are_counts() -> None:
    import enum

    class N(enum.IntEnum):
        FIVE = 5

    assert tokens({"prompt_tokens": N.FIVE, "completion_tokens": 0, "total_tokens": N.FIVE}) == (5, 0, 5)


def test_b3_anthropic_sum_overflow_is_refused() -> None:
    t = usagebook.InMemoryLlmUsageTracker()
    with pytest.raises(usagebook.InvalidArgumentError, match="64 bits"):
        t.track_usage("b", {"input_tokens": 2**64 - 1, "output_tokens": 1})


def test_b3_logs_from_sdk_objects_read_back() -> None:
    t = usagebook.InMemoryLlmUsageTracker()
    t.track_usage("openai:gpt-4o", CompletionUsage(100, 20, 120), duration_ms=812.5)
    t.track_usage("anthropic:claude", AnthropicUsage(200, 50), status="error")
    a, b = t.get_usage_logs()
    assert a.to_dict()["usage"] == {"promptTokens": 100, "completionTokens": 20, "totalTokens": 120}
    assert a.to_dict()["durationMs"] == 812.5
    assert b.usage.total_tokens == 250 and b.status == "error"
