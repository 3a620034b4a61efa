"""U1-U3 with the real provider SDKs (openai, anthropic, litellm; pinned in
run-tests.sh): their usage objects, whole responses and model_dump() dicts
go into the tracker, the ledger and usagebook.cost, and a strict budget is
priced with the same cost LiteLLM computes. Nothing is ever priced $0
silently."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, List, Tuple

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import anthropic.types as at  # noqa: E402
import litellm  # noqa: E402
import openai.types.chat as oc  # noqa: E402
import openai.types.responses as orr  # noqa: E402
from litellm.types.utils import CompletionTokensDetailsWrapper, PromptTokensDetailsWrapper, Usage  # noqa: E402

import usagebook  # noqa: E402


def chat_completion() -> oc.ChatCompletion:
    return oc.ChatCompletion.model_validate({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1_700_000_000, "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "hi"}}],
        "usage": {"prompt_tokens": 20_000, "completion_tokens": 2_000, "total_tokens": 22_000,
                  "prompt_tokens_details": {"cached_tokens": 12_000, "audio_tokens": 0},
                  "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                                "accepted_prediction_tokens": 0,
                                                "rejected_prediction_tokens": 0}},
    })


def responses_usage() -> orr.ResponseUsage:
    return orr.ResponseUsage.model_validate({
        "input_tokens": 20_000, "output_tokens": 2_000, "total_tokens": 22_000,
        "input_tokens_details": {"cached_tokens": 12_000, "cache_write_tokens": 0},
        "output_tokens_details": {"reasoning_tokens": 500},
    })


def anthropic_message() -> at.Message:
    return at.Message.model_validate({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
        "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 200, "output_tokens": 800, "cache_creation_input_tokens": 5_000,
                  "cache_read_input_tokens": 15_000,
                  "cache_creation": {"ephemeral_5m_input_tokens": 5_000, "ephemeral_1h_input_tokens": 0}},
    })


def litellm_cost(model: str, provider: str, prompt: int, completion: int, cached: int = 0, written: int = 0,
                 reasoning: int = 0) -> float:
    """What LiteLLM charges for the same call (inclusive counts)."""
    usage = Usage(
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion,
        prompt_tokens_details=PromptTokensDetailsWrapper(cached_tokens=cached, cache_creation_tokens=written),
        completion_tokens_details=CompletionTokensDetailsWrapper(reasoning_tokens=reasoning) if reasoning else None,
    )
    p, c = litellm.cost_per_token(model=model, custom_llm_provider=provider, usage_object=usage)
    return p + c


# (name, provider, model, the SDK value, what LiteLLM charges, inclusive input tokens)
CASES: List[Tuple[str, str, str, Callable[[], Any], Callable[[], float], int]] = [
    ("openai ChatCompletion", "openai", "gpt-4o", chat_completion,
     lambda: litellm_cost("gpt-4o", "openai", 20_000, 2_000, cached=12_000), 20_000),
    ("openai chat usage", "openai", "gpt-4o", lambda: chat_completion().usage,
     lambda: litellm_cost("gpt-4o", "openai", 20_000, 2_000, cached=12_000), 20_000),
    ("openai Responses usage", "openai", "o3", responses_usage,
     lambda: litellm_cost("o3", "openai", 20_000, 2_000, cached=12_000, reasoning=500), 20_000),
    ("anthropic Message", "anthropic", "claude-sonnet-4-5", anthropic_message,
     lambda: litellm_cost("claude-sonnet-4-5", "anthropic", 20_200, 800, cached=15_000, written=5_000), 20_200),
    ("anthropic usage", "anthropic", "claude-sonnet-4-5", lambda: anthropic_message().usage,
     lambda: litellm_cost("claude-sonnet-4-5", "anthropic", 20_200, 800, cached=15_000, written=5_000), 20_200),
    ("litellm Usage", "openai", "gpt-4o",
     lambda: Usage(prompt_tokens=20_000, completion_tokens=2_000, total_tokens=22_000,
                   prompt_tokens_details=PromptTokensDetailsWrapper(cached_tokens=12_000)),
     lambda: litellm_cost("gpt-4o", "openai", 20_000, 2_000, cached=12_000), 20_000),
    ("gemini usageMetadata (JSON)", "gemini", "gemini-2.5-flash",
     lambda: {"promptTokenCount": 20_000, "candidatesTokenCount": 1_500, "thoughtsTokenCount": 500,
              "cachedContentTokenCount": 12_000, "totalTokenCount": 22_000},
     lambda: litellm_cost("gemini-2.5-flash", "gemini", 20_000, 2_000, cached=12_000, reasoning=500), 20_000),
]

FORMS = ["object", "model_dump"]


def form(value: Any, how: str) -> Any:
    if how == "model_dump" and hasattr(value, "model_dump"):
        return value.model_dump()
    return value


@pytest.mark.parametrize("how", FORMS)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_u2_u4_cost_of_each_sdk_shape_equals_litellm(case: Any, how: str) -> None:
    name, provider, model, make, expected, _ = case
    c = usagebook.cost(model, form(make(), how), provider=provider)
    assert c.priced, name
    assert c.usd == pytest.approx(expected(), rel=1e-9), (name, c)
    assert c.usd > 0


@pytest.mark.parametrize("how", FORMS)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_u2_strict_budget_counts_sdk_usage_and_refuses_past_it(case: Any, how: str, tmp_path: Path) -> None:
    name, provider, model, make, expected, _ = case
    want = expected()
    # A budget a bit above one call: the first commit fits, the next hold
    # of the same size would pass it.
    with usagebook.Ledger(tmp_path / "l.db", mode="strict_budget", daily_budget_usd=want * 1.5) as ledger:
        hold = ledger.reserve(trace_id="t1", provider=provider, model=model, estimate_usd=want * 0.1)
        hold.commit(usage=form(make(), how))
        assert ledger.spend_today() == pytest.approx(want, abs=1e-9), name
        assert ledger.reserved_today() == 0.0
        with pytest.raises(usagebook.BudgetExceeded):
            ledger.reserve(trace_id="t2", provider=provider, model=model, estimate_usd=want)
        assert ledger.health()["unpriced_commits"] == 0


@pytest.mark.parametrize("how", FORMS)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_u1_tracker_records_inclusive_input(case: Any, how: str) -> None:
    name, _, _, make, _, inclusive_input = case
    t = usagebook.InMemoryLlmUsageTracker()
    t.track_usage("b", form(make(), how))
    s = t.get_usage_stats("b")
    assert s.prompt_tokens == inclusive_input, name
    assert s.total_requests == 1


# The parts each case carries: (cache reads, cache writes, reasoning).
PARTS = {
    "openai ChatCompletion": (12_000, 0, 0),
    "openai chat usage": (12_000, 0, 0),
    "openai Responses usage": (12_000, 0, 500),
    "anthropic Message": (15_000, 5_000, 0),
    "anthropic usage": (15_000, 5_000, 0),
    "litellm Usage": (12_000, 0, 0),
    "gemini usageMetadata (JSON)": (12_000, 0, 500),
}


def parts(x: Any) -> Tuple[int, int, int]:
    return (x.cache_read_tokens, x.cache_write_tokens, x.reasoning_tokens)


@pytest.mark.parametrize("how", FORMS)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_u1_tracker_keeps_the_parts_of_sdk_usage_in_logs_and_stats(case: Any, how: str, tmp_path: Path) -> None:
    name, _, _, make, _, inclusive_input = case
    want = PARTS[name]
    for t in (usagebook.InMemoryLlmUsageTracker(),
              usagebook.FileBackedLlmUsageTracker(tmp_path / how, persist_logs=True, durability="process")):
        with t:
            t.track_usage("b", form(make(), how))
            t.track_usage("b", form(make(), how), status="error")
            (log, _) = t.get_usage_logs("b")
            assert parts(log.usage) == want, name
            assert log.usage.prompt_tokens == inclusive_input
            stats = t.get_usage_stats("b")
            assert parts(stats) == tuple(2 * n for n in want), name
            d = stats.to_dict()
            assert (d["cacheReadTokens"], d["cacheWriteTokens"], d["reasoningTokens"]) == parts(stats)
            u = log.to_dict()["usage"]
            assert u.get("cacheReadTokens", 0) == want[0] and u.get("reasoningTokens", 0) == want[2]
    # The file-backed one kept them across the restart.
    with usagebook.FileBackedLlmUsageTracker(tmp_path / how, persist_logs=True) as again:
        assert parts(again.get_usage_stats("b")) == tuple(2 * n for n in want), name
        assert [parts(l.usage) for l in again.get_usage_logs("b")] == [want, want]


def test_u1_openai_chat_dict_with_cached_and_reasoning_tokens_records_the_parts() -> None:
    # An o-series ChatCompletion: cached prompt tokens and reasoning tokens.
    reply = oc.ChatCompletion.model_validate({
        "id": "chatcmpl-2", "object": "chat.completion", "created": 1_700_000_000, "model": "o3-2025-04-16",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "4"}}],
        "usage": {"prompt_tokens": 3_000, "completion_tokens": 1_800, "total_tokens": 4_800,
                  "prompt_tokens_details": {"cached_tokens": 2_048, "audio_tokens": 0},
                  "completion_tokens_details": {"reasoning_tokens": 1_536, "audio_tokens": 0,
                                                "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}},
    })
    t = usagebook.InMemoryLlmUsageTracker()
    assert reply.usage is not None
    t.track_usage("openai", reply.usage.model_dump())  # the dict form
    t.track_usage("openai", reply)  # the whole response object
    t.track_usage("openai", {"promptTokens": 10, "completionTokens": 5, "totalTokens": 15})
    a, b, c = t.get_usage_logs()
    for log in (a, b):
        assert (log.usage.prompt_tokens, log.usage.completion_tokens, log.usage.total_tokens) == (3_000, 1_800, 4_800)
        assert parts(log.usage) == (2_048, 0, 1_536)
        assert log.to_dict()["usage"] == {"promptTokens": 3_000, "completionTokens": 1_800, "totalTokens": 4_800,
                                          "cacheReadTokens": 2_048, "reasoningTokens": 1_536}
    assert parts(c.usage) == (0, 0, 0)
    assert c.to_dict()["usage"] == {"promptTokens": 10, "completionTokens": 5, "totalTokens": 15}
    s = t.get_usage_stats()
    assert parts(s) == (4_096, 0, 3_072)
    assert s.prompt_tokens == 6_010


def test_u1_anthropic_cache_reads_and_writes_are_parts_of_an_inclusive_prompt() -> None:
    # 6200 input tokens processed: 200 plain + 5000 written + 1000 read.
    usage = at.Usage.model_validate({
        "input_tokens": 200, "output_tokens": 50, "cache_creation_input_tokens": 5_000,
        "cache_read_input_tokens": 1_000,
        "cache_creation": {"ephemeral_5m_input_tokens": 4_000, "ephemeral_1h_input_tokens": 1_000},
    })
    t = usagebook.InMemoryLlmUsageTracker()
    t.track_usage("anthropic", usage)
    (log,) = t.get_usage_logs()
    assert (log.usage.prompt_tokens, log.usage.total_tokens) == (6_200, 6_250)
    assert parts(log.usage) == (1_000, 5_000, 0)
    assert parts(t.get_usage_stats("anthropic")) == (1_000, 5_000, 0)


def test_x1_parts_that_exceed_their_totals_or_32_bits_are_refused() -> None:
    t = usagebook.InMemoryLlmUsageTracker()
    bad: List[Tuple[Any, str]] = [
        ({"promptTokens": 10, "completionTokens": 5, "totalTokens": 15, "reasoningTokens": 6}, "reasoning"),
        ({"prompt_tokens": 10, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 11}}, "exceed"),
        ({"promptTokens": 2**40, "completionTokens": 0, "totalTokens": 2**40, "cacheReadTokens": 2**32},
         "cacheReadTokens must be at most 4294967295"),
    ]
    for usage, match in bad:
        with pytest.raises(usagebook.InvalidArgumentError, match=match):
            t.track_usage("a", usage)
    assert t.get_usage_stats().total_requests == 0


def test_u3_unrecognised_usage_is_an_error_naming_its_keys(tmp_path: Path) -> None:
    with pytest.raises(usagebook.InvalidArgumentError, match="tokens_used"):
        usagebook.cost("gpt-4o", {"tokens_used": 5})
    with usagebook.Ledger(tmp_path / "l.db", mode="strict_budget", daily_budget_usd=1.0) as ledger:
        hold = ledger.reserve(trace_id="t", provider="openai", model="gpt-4o", estimate_usd=0.1)
        with pytest.raises(usagebook.InvalidArgumentError, match="tokens_used"):
            hold.commit(usage={"tokens_used": 5})
        # Nothing was settled: the hold can still be committed properly.
        hold.commit(usage=chat_completion())
        assert ledger.spend_today() > 0
    with pytest.raises(usagebook.InvalidArgumentError, match="tokens_used"):
        usagebook.InMemoryLlmUsageTracker().track_usage("b", {"tokens_used": 5})


def test_u3_strict_commit_on_an_unpriced_model_without_estimate_is_refused(tmp_path: Path) -> None:
    with usagebook.Ledger(tmp_path / "l.db", mode="strict_budget", daily_budget_usd=1.0) as ledger:
        hold = ledger.reserve(trace_id="t", provider="acme", model="mystery-1", estimate_usd=0.0)
        with pytest.raises(usagebook.InvalidArgumentError, match="mystery-1"):
            hold.commit(usage={"prompt_tokens": 10, "completion_tokens": 5})
        hold.cancel()
    with usagebook.Ledger(tmp_path / "m.db", mode="strict_budget", daily_budget_usd=1.0,
                          allow_unpriced=True) as ledger:
        hold = ledger.reserve(trace_id="t", provider="acme", model="mystery-1", estimate_usd=0.25)
        hold.commit(usage={"prompt_tokens": 10, "completion_tokens": 5})
        # Settled at its estimate, and said so.
        assert ledger.spend_today() == pytest.approx(0.25)
        h = ledger.health()
        assert h["unpriced_commits"] == 1
        assert h["unpriced_spend_usd"] == pytest.approx(0.25)
    c = usagebook.cost("mystery-1", {"prompt_tokens": 10, "completion_tokens": 5})
    assert not c.priced and c.items == []


def test_u5_prices_override_and_extend_the_bundled_snapshot() -> None:
    own = {"my-model": {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6, "litellm_provider": "acme"},
           "gpt-4o": {"input_cost_per_token": 1e-5, "output_cost_per_token": 1e-5, "litellm_provider": "openai"}}
    p = usagebook.Prices(own)
    assert usagebook.cost("my-model", {"input": 1000, "output": 1000}, provider="acme", prices=p).usd \
        == pytest.approx(0.003)
    assert usagebook.cost("gpt-4o", {"input": 1000, "output": 0}, provider="openai", prices=own).usd \
        == pytest.approx(0.01)
    # Models not in the user's prices still come from the snapshot.
    assert usagebook.cost("o3", {"input": 1000, "output": 0}, provider="openai", prices=p).priced
    assert len(p) > 4000


def test_u4_cost_items_say_which_price_and_how_many_units() -> None:
    c = usagebook.cost(None, anthropic_message(), provider="anthropic")
    assert c.model == "claude-sonnet-4-5-20250929"
    by = {i.price: i for i in c.items}
    assert by["cache_read_input_token_cost"].units == 15_000
    assert by["cache_creation_input_token_cost"].units == 5_000
    assert by["input_cost_per_token"].units == 200
    assert by["output_cost_per_token"].units == 800
    assert sum(i.usd for i in c.items) == pytest.approx(c.usd)
