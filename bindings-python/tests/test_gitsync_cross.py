"""Cross-binding git sync (issue 13, item 7: "the same result from Python,
Node and C"): one bare remote refusing force-pushes and deletions, written
by a Python device (this binding), a Node device (the npm package, through
bindings-node/test/fixtures/gitsync-device.js), a C device (the C ABI,
tests/c/gitsync_device.c) and a Rust one (`usagebook demo --git-repo`);
then every binding, and `usagebook report --git`, reads the same merged
view: the union of every device's events, once each.

Needs, besides this wheel: ``node`` and a built npm package
(``USAGEBOOK_NODE_PACKAGE``, default the checkout's bindings-node when its
addon is built), the C library (``USAGEBOOK_C_LIB_DIR`` with
libusagebook.so, and gcc) and the CLI (``USAGEBOOK_CLI``); by default the
last two come from ``$CARGO_TARGET_DIR/debug``. Without them the test is
skipped, unless ``USAGEBOOK_CROSS_REQUIRED=1`` (tests/gitsync/run.sh
builds everything and sets it), where a missing piece fails it."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

from helpers import repo_root
from usagebook import FileBackedLlmUsageTracker


def git(cwd: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert out.returncode == 0, f"git {args} in {cwd}: {out.stderr}"
    return out.stdout


def target_debug() -> Path:
    t = os.environ.get("CARGO_TARGET_DIR")
    return (Path(t) if t else repo_root() / "target") / "debug"


def need(what: str, found: Optional[Path]) -> Path:
    if found is not None and found.exists():
        return found
    msg = f"the cross-binding git sync test needs {what}"
    if os.environ.get("USAGEBOOK_CROSS_REQUIRED") == "1":
        pytest.fail(msg)
    pytest.skip(msg + " (tests/gitsync/run.sh builds everything)")


def node_package() -> Path:
    env = os.environ.get("USAGEBOOK_NODE_PACKAGE")
    pkg = Path(env) if env else repo_root() / "bindings-node"
    built = pkg if any(pkg.glob("usagebook.*.node")) or env else None
    need("node", Path(shutil.which("node") or "/nonexistent/node"))
    return need("a built npm package (USAGEBOOK_NODE_PACKAGE)", built)


def c_device(tmp: Path) -> Tuple[Path, Dict[str, str]]:
    lib = Path(os.environ.get("USAGEBOOK_C_LIB_DIR") or target_debug())
    need("libusagebook.so (USAGEBOOK_C_LIB_DIR)", lib / "libusagebook.so")
    need("gcc", Path(shutil.which("gcc") or "/nonexistent/gcc"))
    exe = tmp / "gitsync_device"
    root = repo_root()
    subprocess.run(
        ["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-I", str(root / "include"),
         "-o", str(exe), str(root / "tests/c/gitsync_device.c"), "-L", str(lib), "-lusagebook"],
        check=True,
    )
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = f"{lib}:{env.get('LD_LIBRARY_PATH', '')}"
    return exe, env


def cli() -> Path:
    env = os.environ.get("USAGEBOOK_CLI")
    return need("the usagebook CLI (USAGEBOOK_CLI)", Path(env) if env else target_debug() / "usagebook")


def events(seed: int, n: int) -> List[Dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        p, c = rng.randrange(1, 900), rng.randrange(0, 400)
        ev: Dict[str, Any] = {
            "bridgeId": rng.choice(["openai", "anthropic", "gemini", "local"]),
            "usage": {"promptTokens": p, "completionTokens": c, "totalTokens": p + c},
            "status": "error" if rng.random() < 0.15 else "success",
        }
        if rng.random() < 0.7:
            ev["durationMs"] = rng.randrange(1, 3000)
        out.append(ev)
    return out


Key = Tuple[int, int, int, int, int]


def key(s: Dict[str, Any]) -> Key:
    """The T4 stats JSON as the numbers every reader must agree on."""
    return (s["totalRequests"], s["promptTokens"], s["completionTokens"], s["totalTokens"], s["errorCount"])


def expected(evs: List[Dict[str, Any]]) -> Key:
    u = [e["usage"] for e in evs]
    return (
        len(evs),
        sum(x["promptTokens"] for x in u),
        sum(x["completionTokens"] for x in u),
        sum(x["totalTokens"] for x in u),
        sum(1 for e in evs if e["status"] == "error"),
    )


def git_sync(repo: Path, remote: Path, device: str) -> Dict[str, Any]:
    return {"repoDir": str(repo), "remote": str(remote), "syncInterval": "0m", "deviceId": device}


def run(cmd: List[str], stdin: str = "", env: Optional[Dict[str, str]] = None) -> str:
    out = subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=env, check=False, timeout=300)
    assert out.returncode == 0, f"{cmd}: exit {out.returncode}\n{out.stderr}"
    return out.stdout


def test_g2_python_node_c_and_rust_devices_read_the_same_merged_view(tmp_path: Path) -> None:
    pkg, (c_exe, c_env), usagebook = node_package(), c_device(tmp_path), cli()
    remote = tmp_path / "remote.git"
    remote.mkdir()
    git(remote, "init", "--quiet", "--bare")
    git(remote, "config", "receive.denyNonFastForwards", "true")
    git(remote, "config", "receive.denyDeletes", "true")
    git(remote, "symbolic-ref", "HEAD", "refs/heads/main")
    d = tmp_path / "devices"
    node_env = dict(os.environ, USAGEBOOK_NODE_PACKAGE=str(pkg))
    node_script = str(repo_root() / "bindings-node/test/fixtures/gitsync-device.js")

    def node(device: str, evs: List[Dict[str, Any]]) -> Dict[str, Any]:
        opts = json.dumps({"durability": "process", "gitSync": git_sync(d / device / "repo", remote, device)})
        lines = "".join(json.dumps(e) + "\n" for e in evs)
        return json.loads(run(["node", node_script, str(d / device), opts], lines, node_env))

    def c(device: str, evs: List[Dict[str, Any]]) -> Dict[str, Any]:
        opts = json.dumps({"durability": "process", "gitSync": git_sync(d / device / "repo", remote, device)})
        lines = "".join(json.dumps(e) + "\n" for e in evs)
        return json.loads(run([str(c_exe), str(d / device), opts], lines, c_env))

    py_events, node_events, c_events = events(1, 60), events(2, 45), events(3, 30)
    py = FileBackedLlmUsageTracker(
        d / "python",
        durability="process",
        git_sync={"repo_dir": d / "python" / "repo", "remote": str(remote), "sync_interval": "0m", "device_id": "python"},
    )
    try:
        for e in py_events:
            py.track_usage(e["bridgeId"], e["usage"], duration_ms=e.get("durationMs"), status=e["status"])
        assert py.sync_now()["pushed"]
        node("node", node_events)
        c("c", c_events)
        # The Rust device: the CLI's demo workload through a tracker with gitSync.
        run([str(usagebook), "demo", "--dir", str(d / "rust"), "--events", "50", "--seed", "5",
             "--git-repo", str(d / "rust" / "repo"), "--git-remote", str(remote)])
        rust_id = (d / "rust" / "llm-usage" / "git-device-id").read_text().strip()
        rust_local = json.loads(run([str(usagebook), "report", "--dir", str(d / "rust"), "--json"]))["total"]
        rust_key: Key = (rust_local["requests"], rust_local["input_tokens"], rust_local["output_tokens"],
                         rust_local["total_tokens"], rust_local["errors"])

        # Everyone pulls what the others pushed, then reads the merged view.
        py.sync_now()
        views = {
            "python": {k: (v if not hasattr(v, "to_dict") else v.to_dict()) for k, v in py.merged_stats().items()},
            "node": node("node", []),
            "c": c("c", []),
        }
        for name in ("devices", "bridges"):
            views["python"][name] = {k: v.to_dict() for k, v in views["python"][name].items()}
        want_devices = {
            "python": expected(py_events),
            "node": expected(node_events),
            "c": expected(c_events),
            rust_id: rust_key,
        }
        union = tuple(sum(v[i] for v in want_devices.values()) for i in range(5))
        for reader, v in views.items():
            assert key(v["total"]) == union, reader
            assert {k: key(s) for k, s in v["devices"].items()} == want_devices, reader
            assert v["notes"] == [], (reader, v["notes"])  # no duplicates, nothing malformed
        # Not only the same numbers: the very same view (lastUsedAt, averages,
        # per bridge, segment count) from each binding.
        assert views["python"] == views["node"] == views["c"]

        # And the CLI's report of the same repository.
        run([str(usagebook), "sync", "git", "--repo", str(d / "rust" / "repo"), "--dir", str(d / "rust"), "--once"])
        rep = json.loads(run([str(usagebook), "report", "--git", str(d / "rust" / "repo"), "--by", "device", "--json"]))
        rows = {r["key"]: (r["requests"], r["input_tokens"], r["output_tokens"], r["total_tokens"], r["errors"])
                for r in rep["rows"]}
        assert rows == want_devices
        assert rep["total"]["last_used_at"] == views["python"]["total"]["lastUsedAt"]
    finally:
        py.close()

    git(remote, "fsck", "--no-progress", "--strict")
    for device in ("python", "node", "c", "rust"):
        repo = d / device / "repo"
        git(repo, "fsck", "--no-progress")
        git(repo, "fetch", "--quiet", "origin")
        git(repo, "merge-base", "--is-ancestor", "main", "origin/main")
