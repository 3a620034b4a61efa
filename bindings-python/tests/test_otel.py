"""O1 and O2 from Python: metrics_text() of trackers and ledgers, and
usagebook.otel recording GenAI metrics through the host's OpenTelemetry SDK
(InMemoryMetricReader), asserted against the trackers' and the ledger's
own totals, in one process and in two sharing one ledger."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

import usagebook
from helpers import repo_root
from usagebook.otel import UsagebookInstrumentor

otel_sdk = pytest.importorskip("opentelemetry.sdk.metrics")
from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: E402

Attrs = Tuple[Tuple[str, Any], ...]


def points(reader: InMemoryMetricReader) -> Dict[str, Dict[Attrs, Any]]:
    """name -> attributes -> value (a counter's sum, or (count, sum) of a histogram)."""
    out: Dict[str, Dict[Attrs, Any]] = {}
    data = reader.get_metrics_data()
    if data is None:
        return out
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            assert sm.scope.name == "usagebook"
            for m in sm.metrics:
                for p in m.data.data_points:
                    key = tuple(sorted(p.attributes.items()))
                    v = (p.count, p.sum) if hasattr(p, "bucket_counts") else p.value
                    out.setdefault(m.name, {})[key] = v
    return out


def value(text: str, series: str) -> float:
    hits = [float(l[len(series) + 1:]) for l in text.splitlines() if l.startswith(series + " ")]
    assert len(hits) == 1, (series, text)
    return hits[0]


def promtool_check(text: str) -> None:
    import os
    if shutil.which("promtool") is None:
        assert "USAGEBOOK_REQUIRE_TOOLS" not in os.environ, "promtool is required here"
        return
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr + text


@pytest.fixture
def reader() -> Iterator[InMemoryMetricReader]:
    r = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[r])
    UsagebookInstrumentor().instrument(meter_provider=provider, inference_usage_counters=True)
    try:
        yield r
    finally:
        UsagebookInstrumentor().uninstrument()
        provider.shutdown()


def test_o1_metrics_text_of_a_tracker_and_a_ledger(tmp_path: Path) -> None:
    t = usagebook.FileBackedLlmUsageTracker(str(tmp_path / "t"))
    t.track_usage("openai/gpt-4o", {"prompt_tokens": 100, "completion_tokens": 20,
                                    "prompt_tokens_details": {"cached_tokens": 40}})
    t.track_usage("openai/gpt-4o", {"promptTokens": 5, "completionTokens": 1, "totalTokens": 6},
                  status="error")
    text = t.metrics_text()
    promtool_check(text)
    s = t.get_usage_stats("openai/gpt-4o")
    b = 'bridge="openai/gpt-4o"'
    assert value(text, f"usagebook_tracker_requests_total{{{b}}}") == s.total_requests == 2
    assert value(text, f"usagebook_tracker_errors_total{{{b}}}") == 1
    assert value(text, f'usagebook_tracker_tokens_total{{{b},type="input"}}') == s.prompt_tokens == 105
    assert value(text, f'usagebook_tracker_tokens_total{{{b},type="cache_read"}}') == 40
    t.close()

    with usagebook.Ledger(str(tmp_path / "l.db"), daily_budget_usd=2.0) as ledger:
        hold = ledger.reserve(trace_id="t1", provider="openai", model="gpt-4o", estimate_usd=0.5)
        hold.commit({"input_tokens": 10, "output_tokens": 5}, cost_actual_usd=0.25)
        ledger.flush()
        text = ledger.metrics_text()
        promtool_check(text)
        m = 'provider="openai",model="gpt-4o"'
        assert value(text, f"usagebook_ledger_requests_total{{{m}}}") == 1
        assert value(text, f"usagebook_ledger_spend_usd_total{{{m}}}") == 0.25
        assert value(text, 'usagebook_ledger_budget_remaining_usd{scope="all"}') == 1.75
        assert value(text, "usagebook_ledger_writer_up") == 1


def test_o2_records_gen_ai_metrics_of_tracker_calls_and_ledger_commits(
        tmp_path: Path, reader: InMemoryMetricReader) -> None:
    t = usagebook.InMemoryLlmUsageTracker()
    t.track_usage("anthropic/claude-sonnet-4-5", {"input_tokens": 100, "output_tokens": 30,
                                                  "cache_read_input_tokens": 900})
    t.track_usage("anthropic/claude-sonnet-4-5", {"input_tokens": 7, "output_tokens": 3})
    with usagebook.Ledger(str(tmp_path / "l.db")) as ledger:
        hold = ledger.reserve(trace_id="a", provider="openai", model="gpt-4o", estimate_usd=0.1)
        hold.commit({"prompt_tokens": 1000, "completion_tokens": 200,
                     "completion_tokens_details": {"reasoning_tokens": 50}})
        ledger.write_event(usagebook.LedgerEvent(
            event_type="commit", trace_id="b", provider="openai", model="gpt-4o",
            usage={"input": 10, "output": 1}, cost_actual_usd=0.5, status="error"))
        spent = ledger.spend_today()
    got = points(reader)

    hist = got["gen_ai.client.token.usage"]
    claude = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic",
              "gen_ai.request.model": "claude-sonnet-4-5",
              "usagebook.bridge": "anthropic/claude-sonnet-4-5"}
    stats = t.get_usage_stats()
    # Anthropic's input excludes cache reads; the GenAI input is inclusive.
    assert hist[tuple(sorted({**claude, "gen_ai.token.type": "input"}.items()))] == (
        2, stats.prompt_tokens) == (2, 1007)
    assert hist[tuple(sorted({**claude, "gen_ai.token.type": "output"}.items()))] == (2, 33)
    gpt = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
           "gen_ai.request.model": "gpt-4o"}
    assert hist[tuple(sorted({**gpt, "gen_ai.token.type": "input"}.items()))] == (1, 1000)
    assert hist[tuple(sorted({**gpt, "error.type": "_OTHER", "gen_ai.token.type": "output"}.items()))] == (1, 1)

    usage = {**gpt, "gen_ai.token.modality": "unknown"}
    assert got["gen_ai.client.inference.usage.reasoning.output_tokens"][
        tuple(sorted(usage.items()))] == 50
    assert got["gen_ai.client.inference.usage.cache_read.input_tokens"][
        tuple(sorted({**claude, "gen_ai.token.modality": "unknown"}.items()))] == 900

    cost = got["usagebook.client.cost"]
    assert pytest.approx(sum(cost.values())) == spent
    local = tuple(sorted({**gpt, "gen_ai.usage.cost.currency": "USD",
                          "gen_ai.usage.cost.source": "local", "usagebook.priced": True}.items()))
    assert pytest.approx(cost[local]) == spent - 0.5  # priced by usagebook: 1000 in, 200 out
    assert cost[local] > 0


def test_o2_uninstrument_stops_and_no_sdk_is_a_no_op(tmp_path: Path) -> None:
    r = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[r])
    inst = UsagebookInstrumentor()
    inst.instrument(meter_provider=provider)
    assert inst.is_instrumented_by_opentelemetry
    t = usagebook.InMemoryLlmUsageTracker()
    t.track_usage("b", {"promptTokens": 1, "completionTokens": 2, "totalTokens": 3})
    inst.uninstrument()
    t.track_usage("b", {"promptTokens": 10, "completionTokens": 20, "totalTokens": 30})
    hist = points(r)["gen_ai.client.token.usage"]
    assert sorted(v[1] for v in hist.values()) == [1, 2]
    # Without a provider: the global API, a no-op until a host sets an SDK.
    inst.instrument()
    t.track_usage("b", {"promptTokens": 1, "completionTokens": 2, "totalTokens": 3})
    inst.uninstrument()
    with pytest.raises(ValueError):
        inst.instrument(sources=("nope",))


WORKER = textwrap.dedent("""
    import json, sys
    import usagebook
    from usagebook.otel import UsagebookInstrumentor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    reader = InMemoryMetricReader()
    UsagebookInstrumentor().instrument(meter_provider=MeterProvider(metric_readers=[reader]))
    db, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ledger = usagebook.Ledger(db)
    for i in range(n):
        ledger.write_event(usagebook.LedgerEvent(
            event_type="commit", trace_id=f"{name}-{i}", provider="openai", model="gpt-4o",
            usage={"input": 100, "output": 10}, cost_actual_usd=0.01), sync=True)
    sys.stdin.readline()  # wait until the other process has written too
    tokens = cost = 0.0
    for rm in reader.get_metrics_data().resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                for p in m.data.data_points:
                    if m.name == "gen_ai.client.token.usage" and p.attributes["gen_ai.token.type"] == "input":
                        tokens += p.sum
                    if m.name == "usagebook.client.cost":
                        cost += p.value
    print(json.dumps({"tokens": tokens, "cost": cost, "text": ledger.metrics_text()}))
    ledger.close()
""")


def test_o1_o2_two_processes_one_ledger(tmp_path: Path) -> None:
    db = str(tmp_path / "shared.db")
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    procs = [subprocess.Popen([sys.executable, str(script), db, name, str(n)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for name, n in (("a", 3), ("b", 5))]
    # Both have written everything once the ledger holds 8 commits.
    import time
    deadline = time.time() + 60
    while True:
        with usagebook.Ledger(db) as probe:
            text = probe.metrics_text()
        if 'usagebook_ledger_requests_total{provider="openai",model="gpt-4o"} 8' in text:
            break
        assert time.time() < deadline, text
        time.sleep(0.05)
    outs = [json.loads(p.communicate("\n", timeout=60)[0]) for p in procs]
    # OTel: each process reports its own increments only...
    assert [o["tokens"] for o in outs] == [300, 500]
    assert [round(o["cost"], 9) for o in outs] == [0.03, 0.05]
    # ... while every exposition shows the same true totals, from the database.
    m = 'provider="openai",model="gpt-4o"'
    for o in outs:
        assert value(o["text"], f"usagebook_ledger_requests_total{{{m}}}") == 8
        assert value(o["text"], f'usagebook_ledger_tokens_total{{{m},type="input"}}') == 800
        assert value(o["text"], f"usagebook_ledger_spend_usd_total{{{m}}}") == pytest.approx(0.08)


def test_docs_telemetry_python_example_runs(tmp_path: Path) -> None:
    doc = (repo_root() / "docs" / "telemetry.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", doc, flags=re.S)
    assert blocks, "docs/telemetry.md has no Python example"
    for code in blocks:
        script = tmp_path / "example.py"
        script.write_text(code)
        r = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "gen_ai.client.token.usage" in r.stdout, r.stdout
