#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into fuzz/seeds/<target>/
from the repository's own fixtures (tests/vectors, tests/vectors/cost,
core/tests/fixtures, cli/tests/golden, the bundled price snapshot), plus a
few hand-made inputs where the fixtures have none (snapshots, journal
segments). Nothing here is committed: the seeds are made again on every
run (docs/fuzzing.md)."""

import glob
import gzip
import hashlib
import json
import os
import shutil
import struct
import sys
import zlib

FUZZ = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(FUZZ)
OUT = os.path.join(FUZZ, "seeds")
SEP = b"\n--8<--\n"  # fuzz/src/lib.rs SEP


def rel(*p):
    return os.path.join(ROOT, *p)


def put(target, data, name=None):
    if isinstance(data, str):
        data = data.encode()
    if not isinstance(data, bytes):
        data = json.dumps(data, ensure_ascii=False).encode()
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    name = name or hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def walk(v):
    """Every value inside a JSON value."""
    yield v
    if isinstance(v, dict):
        for x in v.values():
            yield from walk(x)
    elif isinstance(v, list):
        for x in v:
            yield from walk(x)


def lines(path):
    with open(path, "rb") as f:
        return [l for l in f.read().split(b"\n") if l.strip()]


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    vectors = [load(p) for p in sorted(glob.glob(rel("tests/vectors/*.json")))]
    cost_cases = load(rel("tests/vectors/cost/sdk-shapes.json"))
    golden_json = [load(p) for p in sorted(glob.glob(rel("cli/tests/golden/*.json")))]
    with gzip.open(rel("core/prices/litellm-prices.json.gz"), "rt", encoding="utf-8") as f:
        prices = json.load(f)

    # ---- tracker options
    for v in vectors:
        for x in walk(v):
            if isinstance(x, dict) and "options" in x and isinstance(x["options"], dict):
                put("tracker_options", x["options"])
    for o in [
        {},
        {"flushIntervalMs": 1000, "flushEveryNLogs": 10, "persistLogs": True,
         "maxLogs": 100, "maxLogBytes": 65536, "durability": "process"},
        {"durability": "power", "maxLogs": None},
        {"durability": "interval", "persistLogs": False},
    ]:
        put("tracker_options", o)
    put("tracker_options", "null")

    # ---- usage shapes, ledger events, cost_json
    usages = [c["usage"] for c in cost_cases]
    for v in vectors:
        for x in walk(v):
            if isinstance(x, dict) and isinstance(x.get("usage"), dict):
                usages.append(x["usage"])
    for p in glob.glob(rel("core/tests/fixtures/claude-code/**/*.jsonl"), recursive=True):
        for l in lines(p):
            try:
                m = json.loads(l).get("message")
            except (ValueError, AttributeError):
                continue
            if isinstance(m, dict) and isinstance(m.get("usage"), dict):
                usages.append(m["usage"])
                usages.append(m)  # a whole response
    for u in usages:
        put("usage", u)
    for g in golden_json:
        put("usage", g)
    for c in cost_cases:
        put("ledger_event", {"event_type": "commit", "trace_id": "t1",
                             "provider": c.get("provider") or "openai",
                             "model": c.get("model") or "gpt-4o", "usage": c["usage"]})
    for e in [
        {"event_type": "precheck_hold", "trace_id": "t", "provider": "openai", "model": "gpt-4o",
         "cost_est_usd": 0.25, "timestamp": 1736000000.5, "profile_id": "p"},
        {"event_type": "adjust", "trace_id": "t", "cost_actual_usd": -0.1},
        {"event_type": "cancel", "trace_id": "t", "status": "cancelled"},
        {"event_type": "commit", "trace_id": "t", "provider": "anthropic", "model": "claude-sonnet-4-5",
         "usage": {"tokens_in": 10, "tokens_out": 3, "cached_tokens": 2}, "timing": {"ttft_ms": 12},
         "cost_actual_usd": 0.04, "id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"},
    ]:
        put("ledger_event", e)
    for o in [
        {"mode": "strict", "batchSize": 10, "flushIntervalMs": 50, "dailyBudgetUsd": 1.5,
         "timezone": "Europe/Berlin", "holdTtlS": 60, "allowUnpriced": True, "closeDeadlineMs": 100},
        {"mode": "best_effort", "pricesPath": "prices.json"},
        {"holdTtlS": 0.5},
        {},
    ]:
        put("ledger_options", o)
    for c in cost_cases:
        parts = [(c.get("model") or "").encode(), (c.get("provider") or "").encode(),
                 json.dumps(c["usage"]).encode()]
        put("cost_json", SEP.join(parts))
        m = c.get("model")
        if m in prices:
            put("cost_json", SEP.join(parts + [json.dumps({m: prices[m]}).encode()]))

    # ---- price files: entries of the bundled snapshot, grouped by feature
    keys = list(prices)
    wanted = {c.get("model") for c in cost_cases}
    feature = {
        "tiered": [k for k in keys if "tiered_pricing" in prices[k]],
        "offpeak": [k for k in keys if "off_peak_pricing" in prices[k]],
        "multiplier": [k for k in keys if "provider_specific_entry" in prices[k]],
        "threshold": [k for k in keys if any("_above_" in f for f in prices[k])],
        "perplexity": [k for k in keys if prices[k].get("litellm_provider") == "perplexity"],
        "dashscope": [k for k in keys if prices[k].get("litellm_provider") == "dashscope"],
        "vertex": [k for k in keys if prices[k].get("litellm_provider", "").startswith("vertex_ai")],
        "units": [k for k in keys if any(f.endswith(("per_second", "per_image", "per_character")) for f in prices[k])],
        "sdk": [k for k in keys if k in wanted],
        "head": keys[:12],
    }
    for name, ks in feature.items():
        for i in range(0, min(len(ks), 24), 6):
            put("prices", {k: prices[k] for k in ks[i:i + 6]}, f"{name}-{i}")
    put("prices", {"sample_spec": prices.get("sample_spec", {}),
                   "my-model": {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6,
                                "litellm_provider": "openai"},
                   "my-model-2027": {"usagebook_model": "my-model", "usagebook_effective_from": "2027-01-01",
                                     "input_cost_per_token": 2e-6, "litellm_provider": "openai"}},
        "dated")

    # ---- event-log lines, CLIProxyAPI, Claude Code, tracker logs
    for p in ["usagebook-events.jsonl", "yoi-events.jsonl"]:
        ls = lines(rel("core/tests/fixtures", p))
        put("eventlog_line", b"\n".join(ls) + b"\n", p)
        put("eventlog_report", b"\n".join(ls) + b"\n", p)
        put("eventlog_report", b"\n".join(ls[:8]), p + "-head-unterminated")
        for l in ls[:40]:
            put("eventlog_line", l)
    for p in sorted(glob.glob(rel("core/tests/fixtures/cliproxy-export-*.json"))):
        with open(p, "rb") as f:
            put("cliproxy", f.read(), os.path.basename(p))
    for p in sorted(glob.glob(rel("core/tests/fixtures/claude-code/**/*.jsonl"), recursive=True)):
        with open(p, "rb") as f:
            put("claude_code", f.read(), os.path.basename(p))
        for l in lines(p)[:20]:
            put("claude_code", l)
    log_lines = lines(rel("core/tests/fixtures/tracker-usage-logs.jsonl"))
    for l in log_lines:
        put("tracker_log", l)
    for v in vectors:
        for x in walk(v):
            if isinstance(x, dict) and "bridgeId" in x:
                put("tracker_log", x)

    # ---- tracker files: snapshots (v1 and the seed's v0), journals, dirs
    snap_v1 = {
        "formatVersion": 1,
        "perBridge": {"openai": {"totalRequests": 2, "promptTokens": 30, "completionTokens": 12,
                                 "totalTokens": 42, "averageTokensPerRequest": 21,
                                 "lastUsedAt": "2025-01-04T14:13:20.000Z", "errorCount": 1}},
        "updatedAt": "2025-01-04T14:13:21.000Z",
        "nextSeq": 3,
        "rollups": {"openai": [[1735999200000, 2, 30, 12, 42, 1, 1736000000000]],
                    "anthropic": [[1735995600000, 1, 5, 5, 10, 0, 1735996000000]]},
    }
    snap_v0 = {"perBridge": {"openai": {"totalRequests": 4, "promptTokens": 40, "completionTokens": 8,
                                        "totalTokens": 48, "averageTokensPerRequest": 12,
                                        "lastUsedAt": "2025-01-04T14:13:20.000Z", "errorCount": 1}},
               "updatedAt": "2025-01-04T14:13:21.000Z"}
    v1 = json.dumps(snap_v1).encode()
    v0 = json.dumps(snap_v0).encode()
    put("tracker_snapshot", v1, "v1")
    put("tracker_snapshot", v0, "v0")
    put("tracker_snapshot", b"{\"formatVersion\":1,\"perBrid" + SEP + v1, "torn-primary-good-backup")
    put("tracker_snapshot", v1 + SEP + v0, "v1-and-backup")

    def payload(seq, ts, p, c, t, dur, status, bridge):
        b = bridge.encode()
        return struct.pack("<QqQQQdBH", seq, ts, p, c, t, dur, status, len(b)) + b

    recs = [payload(3, 1736000001000, 10, 5, 15, 120.0, 0, "openai"),
            payload(4, 1736000002000, 7, 3, 10, float("nan"), 1, "anthropic"),
            payload(5, 1736000003000, 1, 1, 2, 0.5, 0, "é/ü")]

    def framed(ps):  # the tracker_journal / tracker_dir framing: [u16 len][payload]
        return b"".join(struct.pack("<H", len(p)) + p for p in ps)

    def segment(ps, tail=b""):
        body = b"".join(struct.pack("<II", len(p), zlib.crc32(p)) + p for p in ps)
        return b"UBJRNL01" + bytes(8) + body + tail

    put("tracker_journal", b"\x00" + framed(recs), "framed")
    put("tracker_journal", b"\x02" + framed(recs), "framed-process")
    put("tracker_journal", b"\x01" + segment(recs), "raw")
    put("tracker_journal", b"\x01" + segment(recs, b"\x40\x00\x00\x00\xde\xad"), "raw-torn")
    jsonl = b"\n".join(log_lines) + b"\n"
    for flags in [0, 1, 3, 5, 13]:
        seg = framed(recs) if flags & 4 else segment(recs)
        put("tracker_dir", bytes([flags]) + v1 + SEP + jsonl + SEP + seg, f"dir-{flags}")
    put("tracker_dir", b"\x01" + SEP + jsonl + SEP, "logs-only")
    # Version 3: the archive's totals in the snapshot, a day file of
    # generation 1 (flag 16: the target seals both with their checksum).
    v3 = (b'{"formatVersion":3,"perBridge":{},"updatedAt":"2025-01-05T00:00:00.000Z","nextSeq":3,'
          b'"rollups":{"openai":[[1736035200000,1,10,5,15,0,1736035200000]]},'
          b'"archive":{"generation":1,"totals":{"openai":[0,2,20,10,30,1,1736000000000,0,0,0]}}}')
    day = (b'{"formatVersion":1,"day":"2025-01-04","rollups":{"openai":'
           b'[[1735999200000,2,20,10,30,1,1736000000000,0,0,0]]}}')
    put("tracker_dir", b"\x11" + v3 + SEP + SEP + SEP + day, "v3-archive")
    put("tracker_dir", b"\x13" + v3 + SEP + jsonl + SEP + segment(recs) + SEP + day, "v3-all")

    n = sum(len(os.listdir(os.path.join(OUT, d))) for d in os.listdir(OUT))
    print(f"seeds: {n} inputs for {len(os.listdir(OUT))} targets in {OUT}")


if __name__ == "__main__":
    sys.exit(main())
