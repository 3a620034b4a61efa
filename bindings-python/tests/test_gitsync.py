"""Cross-device sync through git from Python (issue 13; G1-G6), with real
git: a bare remote that refuses non-fast-forward pushes and deletions (any
force-push fails the test), several device trackers (their own base
directories and clones) writing to it, then the merged view from every
device equals the union of what each tracked, with no duplicates, and
``git fsck`` is clean."""

from __future__ import annotations

import random
import subprocess
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from usagebook import (
    FileBackedLlmUsageTracker,
    InMemoryLlmUsageTracker,
    InvalidArgumentError,
)


def git(cwd: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, f"git {args} in {cwd}: {out.stderr}"
    return out.stdout


def bare_remote(path: Path) -> Path:
    """A remote like a careful host's: force-pushes and deletions refused."""
    path.mkdir()
    git(path, "init", "--quiet", "--bare")
    git(path, "config", "receive.denyNonFastForwards", "true")
    git(path, "config", "receive.denyDeletes", "true")
    git(path, "symbolic-ref", "HEAD", "refs/heads/main")
    return path


def device(root: Path, name: str, remote: Path, **extra: Any) -> FileBackedLlmUsageTracker:
    return FileBackedLlmUsageTracker(
        root / name / "state",
        durability="process",
        git_sync={
            "repo_dir": root / name / "repo",
            "remote": str(remote),
            "branch": "main",
            "sync_interval": "0m",
            **extra,
        },  # type: ignore[arg-type]
    )


def track_random(t: FileBackedLlmUsageTracker, rng: random.Random, n: int) -> None:
    for _ in range(n):
        p, c = rng.randrange(1, 500), rng.randrange(0, 300)
        t.track_usage(
            rng.choice(["openai", "anthropic", "gemini"]),
            {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c},
            duration_ms=rng.randrange(1, 900),
            status="error" if rng.random() < 0.1 else "success",
        )


Totals = Tuple[int, int, int, int, int]


def totals(s: Any) -> Totals:
    return (s.total_requests, s.prompt_tokens, s.completion_tokens, s.total_tokens, s.error_count)


def check_settled(root: Path, remote: Path, devices: List[FileBackedLlmUsageTracker]) -> None:
    """After everything synced: every device's merged view is the union of
    what each device tracked (their own lifetime stats), once each."""
    local: Dict[str, Totals] = {}
    for t in devices:
        local[t.health()["git_sync"]["device_id"]] = totals(t.get_usage_stats())  # type: ignore[index]
    union = tuple(sum(v[i] for v in local.values()) for i in range(5))
    for t in devices:
        m = t.merged_stats()
        assert totals(m["total"]) == union
        # A device that tracked nothing has no events, so no entry.
        assert {k: totals(v) for k, v in m["devices"].items()} == {
            k: v for k, v in local.items() if v[0] > 0
        }
        assert sum(v.total_requests for v in m["bridges"].values()) == union[0]
        assert m["notes"] == [], m["notes"]  # no duplicates, nothing malformed
    git(remote, "fsck", "--no-progress", "--strict")
    for name in sorted(p.name for p in root.iterdir() if (p / "repo").is_dir()):
        repo = root / name / "repo"
        git(repo, "fsck", "--no-progress")
        git(repo, "fetch", "--quiet", "origin")
        # Every commit the device made is reachable from the remote branch.
        git(repo, "merge-base", "--is-ancestor", "main", "origin/main")


def test_g2_g3_three_devices_share_one_merged_view(tmp_path: Path) -> None:
    remote = bare_remote(tmp_path / "remote.git")
    root = tmp_path / "devices"
    rng = random.Random(13)
    devices = [device(root, f"d{i}", remote) for i in range(3)]
    try:
        for t in devices:
            track_random(t, rng, 40)
            r = t.sync_now()
            assert r["pushed"] and not r["offline"] and r["ahead"] == 0, r
        # The first devices pushed before the others: one more round and
        # everyone has everything.
        for t in devices:
            t.sync_now()
        check_settled(root, remote, devices)
        h = devices[0].health()["git_sync"]
        assert h is not None
        assert h["syncs"] == 2 and h["failures"] == 0 and h["pending_commits"] == 0
        assert h["last_error"] is None and not h["offline"]
        assert isinstance(h["last_sync_at"], datetime) and h["last_ok_at"] == h["last_sync_at"]
        # Syncing again adds nothing and duplicates nothing.
        before = totals(devices[1].merged_stats()["total"])
        assert devices[1].sync_now()["committed"] is False
        assert totals(devices[1].merged_stats()["total"]) == before
    finally:
        for t in devices:
            t.close()


def test_g3_devices_syncing_at_once_from_threads(tmp_path: Path) -> None:
    """Concurrent pushes are rejected and retried (never forced); after a
    settling round the view is the union."""
    remote = bare_remote(tmp_path / "remote.git")
    root = tmp_path / "devices"
    devices = [device(root, f"d{i}", remote) for i in range(3)]
    errors: List[BaseException] = []

    def run(t: FileBackedLlmUsageTracker, seed: int) -> None:
        try:
            rng = random.Random(seed)
            for _ in range(5):
                track_random(t, rng, 10)
                t.sync_now()
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=run, args=(t, i)) for i, t in enumerate(devices)]
    try:
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert not errors, errors
        for t in devices:
            t.sync_now()
        check_settled(root, remote, devices)
    finally:
        for t in devices:
            t.close()


def test_g3_close_syncs_and_a_reopened_device_keeps_its_id(tmp_path: Path) -> None:
    remote = bare_remote(tmp_path / "remote.git")
    root = tmp_path / "devices"
    a = device(root, "a", remote)
    ida = a.health()["git_sync"]["device_id"]  # type: ignore[index]
    a.track_usage("openai", {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7})
    a.close()  # the final sync pushes it
    b = device(root, "b", remote)  # a new device starts from the remote's history
    try:
        m = b.merged_stats()
        assert totals(m["devices"][ida]) == (1, 3, 4, 7, 0)
        a = device(root, "a", remote)
        assert a.health()["git_sync"]["device_id"] == ida  # type: ignore[index]
        assert totals(a.get_usage_stats()) == (1, 3, 4, 7, 0)
        a.sync_now()
        b.sync_now()
        check_settled(root, remote, [a, b])
    finally:
        b.close()
        a.close()


def test_g1_options_are_converted_and_named_in_python(tmp_path: Path) -> None:
    remote = bare_remote(tmp_path / "remote.git")
    repo = tmp_path / "repo"
    with pytest.raises(InvalidArgumentError, match=r"git_sync\.sync_intervall.*known: .*sync_interval"):
        FileBackedLlmUsageTracker(tmp_path / "s1", git_sync={"repo_dir": repo, "sync_intervall": "1m"})  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match=r"git_sync\.sync_interval"):
        FileBackedLlmUsageTracker(tmp_path / "s2", git_sync={"repo_dir": repo, "sync_interval": "soon"})
    with pytest.raises(InvalidArgumentError, match=r"git_sync\.repo_dir"):
        FileBackedLlmUsageTracker(tmp_path / "s3", git_sync={"remote": str(remote)})
    with pytest.raises(InvalidArgumentError, match=r"git_sync\.enabled"):
        FileBackedLlmUsageTracker(tmp_path / "s4", git_sync={"repo_dir": repo, "enabled": "yes"})  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="git_sync must be a mapping"):
        FileBackedLlmUsageTracker(tmp_path / "s5", git_sync=[("repo_dir", repo)])  # type: ignore[arg-type]
    # G5: a path outside the repository is refused.
    with pytest.raises(InvalidArgumentError, match=r"git_sync\.path .*outside the repository"):
        FileBackedLlmUsageTracker(tmp_path / "s6", git_sync={"repo_dir": repo, "path": "../usage.json"})
    assert not repo.exists()
    # PathLike paths, timedelta durations, a chosen device id and path.
    with FileBackedLlmUsageTracker(
        tmp_path / "s7",
        git_sync={
            "repo_dir": repo,
            "remote": remote,
            "sync_interval": timedelta(0),
            "close_timeout": timedelta(seconds=5),
            "device_id": "laptop",
            "path": "stats/usage.json",
        },
    ) as t:
        t.track_usage("openai", {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2})
        assert t.sync_now()["pushed"]
        assert list(t.merged_stats()["devices"]) == ["laptop"]
    files = git(remote, "ls-tree", "-r", "--name-only", "main").split()
    assert files and all(f.startswith("stats/devices/laptop/") and f.endswith(".jsonl") for f in files)


def test_g4_disabled_or_absent_means_local_files_only(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    with FileBackedLlmUsageTracker(tmp_path / "s", git_sync={"repo_dir": repo, "enabled": False}) as t:
        t.track_usage("openai", {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2})
        assert t.health()["git_sync"] is None
        with pytest.raises(InvalidArgumentError, match="no git sync"):
            t.sync_now()
        with pytest.raises(InvalidArgumentError, match="no git sync"):
            t.merged_stats()
    assert not repo.exists()
    assert InMemoryLlmUsageTracker().health()["git_sync"] is None


def test_health_counts_failures_while_offline(tmp_path: Path) -> None:
    remote = bare_remote(tmp_path / "remote.git")
    with device(tmp_path, "d", remote) as t:
        t.track_usage("openai", {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2})
        assert t.sync_now()["pushed"]
        away = tmp_path / "away.git"
        remote.rename(away)  # the remote is gone: offline
        for i in range(2):
            t.track_usage("openai", {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2})
            r = t.sync_now()
            assert r["offline"] and r["committed"] and r["offline_reason"], r
        h = t.health()["git_sync"]
        assert h is not None
        assert h["failures"] == 2 and h["offline"] and h["last_error"]
        assert h["pending_commits"] == 2
        assert h["last_ok_at"] is not None and h["last_sync_at"] is not None
        assert h["last_sync_at"] >= h["last_ok_at"]
        away.rename(remote)  # back online: the offline commits are pushed
        r = t.sync_now()
        assert r["pushed"] and r["ahead"] == 0
        h = t.health()["git_sync"]
        assert h is not None and h["failures"] == 0 and h["pending_commits"] == 0
        assert totals(t.merged_stats()["total"]) == (3, 3, 3, 6, 0)
    git(remote, "fsck", "--no-progress", "--strict")
