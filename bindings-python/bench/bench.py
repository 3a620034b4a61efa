"""usagebook Python binding vs the seed Python tracker (PERFORMANCE.md).

    python bench/bench.py [--rounds 7] [--quick]

The seed baseline (PERFORMANCE.md, baseline 2) is implemented below as the
seed tracker works: a list of dicts; ``track_usage`` appends
``{"id": f"llm_log_{n}_{ms}", "timestamp": now, **log}`` and, past 10 000
logs, keeps ``logs[-10000:]`` (a fresh copy); ``get_usage_stats`` filters by
bridge, then reduces the prompt/completion/total tokens, the error count and
the latest timestamp. Both sides record the same information per call
(bridge, three token counts, duration, status) from the same pre-built
objects, in the same process and run. Each round times the seed and
usagebook back to back; a ratio is the median over rounds of seed time /
usagebook time (robust to a machine whose load changes between rounds), and
the times shown are the medians. Goals: track >= 3x under the
cap, >= 50x at the cap; get_usage_stats at 10k logs >= 300x.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from functools import reduce
from typing import Any, Callable, Dict, List, Optional, Tuple

import usagebook

CAP = 10_000
BRIDGES = ["openai:gpt-4o", "anthropic:claude", "google:gemini", "local:llama"]


class SeedTracker:
    """The seed's in-memory tracker, ported to Python as it was written."""

    def __init__(self) -> None:
        self.logs: List[Dict[str, Any]] = []
        self._n = 0

    def track_usage(self, log: Dict[str, Any]) -> None:
        self._n += 1
        self.logs.append(
            {
                "id": f"llm_log_{self._n}_{int(time.time() * 1000)}",
                "timestamp": datetime.now(timezone.utc),
                **log,
            }
        )
        if len(self.logs) > CAP:
            self.logs = self.logs[-CAP:]

    def get_usage_stats(self, bridge_id: Optional[str] = None) -> Dict[str, Any]:
        logs = (
            list(filter(lambda l: l["bridgeId"] == bridge_id, self.logs))
            if bridge_id
            else self.logs
        )

        def step(acc: Dict[str, Any], log: Dict[str, Any]) -> Dict[str, Any]:
            u = log["usage"]
            ts = log["timestamp"]
            return {
                "totalRequests": acc["totalRequests"] + 1,
                "promptTokens": acc["promptTokens"] + u["promptTokens"],
                "completionTokens": acc["completionTokens"] + u["completionTokens"],
                "totalTokens": acc["totalTokens"] + u["totalTokens"],
                "errorCount": acc["errorCount"] + (1 if log["status"] == "error" else 0),
                "lastUsedAt": ts
                if acc["lastUsedAt"] is None or ts > acc["lastUsedAt"]
                else acc["lastUsedAt"],
            }

        stats: Dict[str, Any] = reduce(
            step,
            logs,
            {
                "totalRequests": 0,
                "promptTokens": 0,
                "completionTokens": 0,
                "totalTokens": 0,
                "errorCount": 0,
                "lastUsedAt": None,
            },
        )
        n = stats["totalRequests"]
        stats["averageTokensPerRequest"] = stats["totalTokens"] / n if n else 0
        return stats


def workload(n: int) -> List[Any]:
    """n calls over four bridges: (bridge, OpenAI-style usage dict, duration,
    status) and the seed's log dict carrying the same information."""
    out = []
    for i in range(n):
        b = BRIDGES[i % 4]
        p, c = 100 + i % 50, 20 + i % 7
        usage = {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}
        status = "error" if i % 97 == 0 else "success"
        d = float(200 + i % 300)
        seed_log = {
            "bridgeId": b,
            "usage": {"promptTokens": p, "completionTokens": c, "totalTokens": p + c},
            "durationMs": d,
            "status": status,
        }
        out.append((b, usage, d, status, seed_log))
    return out


def run_seed_track(seed: SeedTracker, calls: List[Any]) -> float:
    track = seed.track_usage
    t0 = time.perf_counter()
    for _b, _u, _d, _s, log in calls:
        track(log)
    return time.perf_counter() - t0


def run_ub_track(tracker: Any, calls: List[Any]) -> float:
    track = tracker.track_usage
    t0 = time.perf_counter()
    for b, u, d, s, _log in calls:
        track(b, u, duration_ms=d, status=s)
    return time.perf_counter() - t0


Result = Tuple[float, float, float]  # seed s/op, usagebook s/op, ratio


def result(seed: List[float], n_seed: int, ub: List[float], n_ub: int) -> Result:
    ratios = [(s / n_seed) / (u / n_ub) for s, u in zip(seed, ub)]
    return (statistics.median(seed) / n_seed, statistics.median(ub) / n_ub,
            statistics.median(ratios))


def fmt_ns(sec: float) -> str:
    return f"{sec * 1e9:,.0f} ns" if sec < 1e-5 else f"{sec * 1e6:,.1f} us"


def bench_track_under_cap(rounds: int, n: int) -> Result:
    calls = workload(n)
    seed_t, ub_t = [], []
    for _ in range(rounds):
        seed_t.append(run_seed_track(SeedTracker(), calls))
        ub_t.append(run_ub_track(usagebook.InMemoryLlmUsageTracker(), calls))
    return result(seed_t, n, ub_t, n)


def bench_track_at_cap(rounds: int, n_seed: int, n_ub: int) -> Result:
    fill = workload(CAP)
    seed_calls, ub_calls = workload(n_seed), workload(n_ub)
    seed_t, ub_t = [], []
    for _ in range(rounds):
        seed = SeedTracker()
        run_seed_track(seed, fill)
        seed_t.append(run_seed_track(seed, seed_calls))
        ub = usagebook.InMemoryLlmUsageTracker()
        run_ub_track(ub, fill)
        ub_t.append(run_ub_track(ub, ub_calls))
    return result(seed_t, n_seed, ub_t, n_ub)


def time_calls(f: Callable[[], Any], n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        f()
    return time.perf_counter() - t0


def bench_stats(rounds: int, bridge: Optional[str], n_seed: int, n_ub: int) -> Result:
    fill = workload(CAP)
    seed = SeedTracker()
    run_seed_track(seed, fill)
    ub = usagebook.InMemoryLlmUsageTracker()
    run_ub_track(ub, fill)
    seed_stats, ub_stats = seed.get_usage_stats, ub.get_usage_stats
    # Same answer first: the comparison is only fair if both compute it.
    s, u = seed_stats(bridge), ub_stats(bridge)
    assert (s["totalRequests"], s["totalTokens"], s["errorCount"]) == (
        u.total_requests,
        u.total_tokens,
        u.error_count,
    ), (s, u)
    seed_t, ub_t = [], []
    for _ in range(rounds):
        seed_t.append(time_calls(lambda: seed_stats(bridge), n_seed))
        ub_t.append(time_calls(lambda: ub_stats(bridge), n_ub))
    return result(seed_t, n_seed, ub_t, n_ub)


def bench_file_track(rounds: int, n: int) -> float:
    calls = workload(n)
    samples = []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as d:
            t = usagebook.FileBackedLlmUsageTracker(d)
            samples.append(run_ub_track(t, calls))
            t.close()
    return statistics.median(samples) / n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="fewer calls (a smoke run)")
    args = ap.parse_args()
    k = 10 if args.quick else 1
    r = args.rounds

    rows = [
        ("track_usage, under the cap", bench_track_under_cap(r, 9_000 // k), 3),
        ("track_usage, at the cap (10k logs)", bench_track_at_cap(r, 1_000 // k, 50_000 // k), 50),
        ("get_usage_stats(bridge), 10k logs", bench_stats(r, BRIDGES[0], 20 // k + 2, 50_000 // k), 300),
        ("get_usage_stats(), 10k logs", bench_stats(r, None, 20 // k + 2, 50_000 // k), 300),
    ]

    print(
        f"usagebook {usagebook.__version__}, Python {sys.version.split()[0]}, "
        f"median of {r} rounds (seed = the seed Python tracker, same run)"
    )
    print(f"{'operation':38} {'seed':>12} {'usagebook':>12} {'ratio':>9} {'goal':>7}  ")
    ok = True
    for name, (s, u, ratio), goal in rows:
        met = ratio >= goal
        ok &= met
        print(
            f"{name:38} {fmt_ns(s):>12} {fmt_ns(u):>12} {ratio:>8.1f}x {goal:>6}x  "
            f"{'met' if met else 'NOT MET'}"
        )
    f = bench_file_track(r, 20_000 // k)
    print(f"{'(file-backed, interval) track_usage':38} {'':>12} {fmt_ns(f):>12}")
    print("all goals met" if ok else "some goals NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
