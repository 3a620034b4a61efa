"""U4: usagebook.cost against litellm.cost_per_token itself, over the price
file LiteLLM ships (pinned in run-tests.sh), for every chat and completion
model and the usage shapes that exercise each of its rules: plain, cache
read, cache write (5m, 1h, 12h), reasoning, each context threshold, each
tiered-pricing range, each service tier, off-peak hours; plus seconds for
transcription models. The usage is LiteLLM's own ``Usage`` object, read by
usagebook's LiteLLM/OpenAI adapter (model_dump()), so the adapter is under
test too. Goal: equal to 1e-9 relative for >= 99.5% of (model, shape)
pairs; every known difference is listed in docs/pricing.md.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # never fetch the remote map

import litellm  # noqa: E402  (pinned in run-tests.sh; never skipped)
from litellm._internal_context import pinned_billing_time  # noqa: E402
from litellm.types.utils import (  # noqa: E402
    CacheCreationTokenDetails,
    CompletionTokensDetailsWrapper,
    PromptTokensDetailsWrapper,
    Usage,
)

import usagebook  # noqa: E402

PRICE_FILE = Path(litellm.__file__).parent / "model_prices_and_context_window_backup.json"
# A Wednesday 08:00 UTC (outside every off-peak window of the file) and 12:00 (inside one).
PEAK = datetime(2026, 1, 7, 8, 0, tzinfo=timezone.utc)
OFF_PEAK = datetime(2026, 1, 7, 12, 0, tzinfo=timezone.utc)
ABOVE = re.compile(r"_above_(\d+)(k?)_tokens")
SERVICE_TIERS = ("flex", "priority", "balanced", "ultrafast")
IN, OUT = 12_345, 678


def thresholds(entry: Dict[str, Any]) -> List[int]:
    found = set()
    for k, v in entry.items():
        if v is not None:
            for m in ABOVE.finditer(k):
                found.add(int(m.group(1)) * (1000 if m.group(2) else 1))
    return sorted(found)


def tier_ranges(entry: Dict[str, Any]) -> List[Tuple[int, int]]:
    out = []
    for t in entry.get("tiered_pricing") or []:
        r = t.get("range") if isinstance(t, dict) else None
        if isinstance(r, list) and len(r) == 2 and "input_cost_per_token" in t:
            out.append((int(r[0]), int(r[1])))
    return sorted(out)


def shape(name: str, inp: int, out: int, cr: int = 0, cw: int = 0, cw1: int = 0, cw12: int = 0,
          reasoning: int = 0, tier: Optional[str] = None, when: datetime = PEAK,
          geo: Optional[str] = None, speed: Optional[str] = None) -> Dict[str, Any]:
    return dict(name=name, input=inp, output=out, cr=cr, cw=cw, cw1=cw1, cw12=cw12, reasoning=reasoning,
                tier=tier, when=when, geo=geo, speed=speed)


def shapes(entry: Dict[str, Any]) -> List[Dict[str, Any]]:
    s = [
        shape("plain", IN, OUT),
        shape("output_only", 0, OUT),
        shape("cache_read", IN, OUT, cr=9_000),
        shape("cache_write", IN, OUT, cw=3_000),
        shape("cache_write_1h", IN, OUT, cw=3_000, cw1=3_000),
        shape("cache_write_mixed_ttl", IN, OUT, cw=3_000, cw1=1_000),
        shape("reasoning", IN, OUT, reasoning=400),
        shape("all", IN, OUT, cr=6_000, cw=3_000, cw1=1_000, reasoning=400),
    ]
    if entry.get("cache_creation_input_token_cost_above_12hr") is not None:
        s.append(shape("cache_write_12h", IN, OUT, cw=3_000, cw12=2_000))
    for t in thresholds(entry):
        s.append(shape(f"at_{t}", t, OUT, cr=t // 2, reasoning=100))
        s.append(shape(f"above_{t}", t + 1, OUT))
        s.append(shape(f"above_{t}_all", t + 5_000, OUT, cr=t // 2, cw=4_000, cw1=1_000, reasoning=300))
    for i, (lo, hi) in enumerate(tier_ranges(entry)):
        s.append(shape(f"tier{i}_start", lo + 1, OUT, cr=(lo + 1) // 3, reasoning=100))
        s.append(shape(f"tier{i}_end", hi, OUT, cr=hi // 3, cw=hi // 10, reasoning=100))
        s.append(shape(f"tier{i}_past_end", hi + 1, OUT))
    for st in SERVICE_TIERS:
        if any(k.endswith(f"_{st}") or f"_{st}_" in k for k, v in entry.items() if v is not None and "cost" in k):
            s.append(shape(f"service_{st}", IN, OUT, cr=6_000, cw=1_000, reasoning=400, tier=st))
            for t in thresholds(entry):
                s.append(shape(f"service_{st}_above_{t}", t + 5_000, OUT, cr=t // 2, reasoning=300, tier=st))
    multipliers = entry.get("provider_specific_entry") or {}
    for geo in [k for k, v in multipliers.items() if isinstance(v, (int, float)) and k != "fast"]:
        s.append(shape(f"geo_{geo}", IN, OUT, cr=6_000, cw=1_000, reasoning=400, geo=geo))
    if "fast" in multipliers:
        s.append(shape("speed_fast", IN, OUT, cr=6_000, cw=1_000, reasoning=400, speed="fast"))
        s.append(shape("speed_fast_geo", IN, OUT, cr=6_000, speed="fast", geo="us"))
    if entry.get("off_peak_pricing"):
        s.append(shape("off_peak", IN, OUT, cr=6_000, cw=1_000, reasoning=400, when=OFF_PEAK))
    return s


def litellm_usage(s: Dict[str, Any]) -> Usage:
    details = None
    if s["cr"] or s["cw"]:
        ttl = None
        if s["cw1"] or s["cw12"]:
            ttl = CacheCreationTokenDetails(
                ephemeral_5m_input_tokens=s["cw"] - s["cw1"] - s["cw12"],
                ephemeral_1h_input_tokens=s["cw1"],
                ephemeral_12h_input_tokens=s["cw12"] or None,
            )
        details = PromptTokensDetailsWrapper(cached_tokens=s["cr"], cache_creation_tokens=s["cw"],
                                             cache_creation_token_details=ttl)
    completion = CompletionTokensDetailsWrapper(reasoning_tokens=s["reasoning"]) if s["reasoning"] else None
    extra: Dict[str, Any] = {}
    if s["geo"]:
        extra["inference_geo"] = s["geo"]
    if s["speed"]:
        extra["speed"] = s["speed"]
    return Usage(prompt_tokens=s["input"], completion_tokens=s["output"], total_tokens=s["input"] + s["output"],
                 prompt_tokens_details=details, completion_tokens_details=completion, **extra)


def close(a: float, b: float) -> bool:
    return a == b or abs(a - b) <= 1e-9 * max(abs(a), abs(b))


def test_u4_cost_equals_litellm_cost_per_token_for_every_chat_model() -> None:
    with open(PRICE_FILE) as f:
        table = json.load(f)
    prices = usagebook.Prices(PRICE_FILE)
    total = equal = 0
    differences: List[str] = []
    models = 0
    for key, entry in table.items():
        if key == "sample_spec" or not isinstance(entry, dict) or entry.get("mode") not in ("chat", "completion"):
            continue
        models += 1
        provider = entry.get("litellm_provider")
        for s in shapes(entry):
            usage = litellm_usage(s)
            with pinned_billing_time(s["when"]):
                p, c = litellm.cost_per_token(model=key, custom_llm_provider=provider, usage_object=usage,
                                              service_tier=s["tier"])
            u = usage.model_dump()
            if s["tier"]:
                u["service_tier"] = s["tier"]
            ours = usagebook.cost(key, u, provider=provider, prices=prices, at=s["when"])
            total += 1
            if ours.priced and close(ours.input_usd, p) and close(ours.output_usd, c):
                equal += 1
            else:
                differences.append(f"{key} [{provider}] {s['name']}: usagebook {ours.input_usd}+{ours.output_usd}"
                                   f" ({'priced' if ours.priced else 'unpriced'}), litellm {p}+{c}")
    rate = equal / total
    print(f"\nU4 parity: {equal}/{total} (model, shape) pairs equal to 1e-9 ({rate:.4%}) over {models} models")
    for d in differences[:50]:
        print("  differs:", d)
    assert models > 3000 and total > 30_000
    assert rate >= 0.995, "\n".join(differences[:50])
    # Every difference must be a documented one (docs/pricing.md, "Known differences").
    documented = (Path(os.environ["USAGEBOOK_REPO"]) / "docs" / "pricing.md").read_text()
    undocumented = [d for d in differences if d.split(" ")[0] not in documented]
    assert not undocumented, "undocumented differences:\n" + "\n".join(undocumented[:50])


def test_u4_transcription_seconds_equal_litellm() -> None:
    with open(PRICE_FILE) as f:
        table = json.load(f)
    prices = usagebook.Prices(PRICE_FILE)
    total = equal = 0
    differences = []
    for key, entry in table.items():
        if not isinstance(entry, dict) or entry.get("mode") != "audio_transcription":
            continue
        if entry.get("input_cost_per_second") is None and entry.get("output_cost_per_second") is None:
            continue
        provider = entry.get("litellm_provider")
        p, c = litellm.cost_per_token(model=key, custom_llm_provider=provider, call_type="transcription",
                                      audio_transcription_file_duration=90.0)
        ours = usagebook.cost(key, {"input": 0, "output": 0, "seconds": 90.0}, provider=provider, prices=prices)
        total += 1
        if close(ours.usd, p + c):
            equal += 1
        else:
            differences.append(f"{key}: usagebook {ours.usd}, litellm {p + c}")
    assert total > 10
    assert equal == total, differences
    # whisper-1 at 90 s is the list price once ($0.0001/s), not input plus output.
    assert usagebook.cost("whisper-1", {"input": 0, "output": 0, "seconds": 90}, prices=prices).usd == pytest.approx(0.009)
