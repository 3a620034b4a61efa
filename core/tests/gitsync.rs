//! Cross-device sync through git with real git and real processes (issue 13).
//!
//! The remote is a bare repository with `receive.denyNonFastForwards` and
//! `receive.denyDeletes`: any force-push or branch deletion fails the test.
//! Device processes (this test binary re-run as the ignored test
//! `gitsync_device_child`) track random events through a file-backed tracker
//! with `gitSync` (syncing every 100 ms, `process` durability) and print
//! `ack <key>` after each `track` returns. One device goes offline for a
//! while (its remote, a symlink, is moved away and back); devices are
//! SIGKILLed at arbitrary moments (mid-sync as often as not) and restarted.
//! After everything settles, a fresh clone of the remote must hold every
//! acknowledged event exactly once, every device's branch must be reachable
//! from the remote branch, and `git fsck` must be clean everywhere.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use usagebook_core::gitsync::{self, GitSync, GitSyncConfig};
use usagebook_core::{FileBackedTracker, NewUsageLog, TrackerOptions, Usage, UsageTracker};

const CHILD_ENV: &str = "USAGEBOOK_GITSYNC_CHILD";

fn git(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A bare remote that refuses every non-fast-forward update and deletion.
fn bare_remote(path: &Path) {
    std::fs::create_dir_all(path).unwrap();
    git(path, &["init", "--quiet", "--bare"]);
    git(path, &["config", "receive.denyNonFastForwards", "true"]);
    git(path, &["config", "receive.denyDeletes", "true"]);
    git(path, &["symbolic-ref", "HEAD", "refs/heads/main"]);
}

fn options(repo: &Path, remote: &str, interval: &str) -> TrackerOptions {
    let json = serde_json::json!({
        "flushIntervalMs": 50,
        "durability": "process",
        "gitSync": {
            "repoDir": repo,
            "remote": remote,
            "branch": "main",
            "syncInterval": interval,
            "segmentMaxBytes": 4000,
            "closeTimeout": "20s",
        }
    });
    TrackerOptions::from_json(Some(&json.to_string())).unwrap()
}

fn key_of(bridge: &str, prompt: u64) -> String {
    format!("{bridge}:{prompt}")
}

/// The child: `base|repo|remote|bridge|run_ms`.
/// Without the variable (a normal test run) it returns at once.
#[test]
fn gitsync_device_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let parts: Vec<&str> = spec.split('|').collect();
    let (base, repo, remote, bridge) = (parts[0], parts[1], parts[2], parts[3]);
    let run_ms: u64 = parts[4].parse().unwrap();
    let t = FileBackedTracker::open(base, options(Path::new(repo), remote, "100ms")).unwrap();
    println!("open");
    let start = Instant::now();
    let mut rng = (std::process::id() as u64) ^ (uuid::Uuid::now_v7().as_u128() as u64);
    while start.elapsed() < Duration::from_millis(run_ms) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let prompt = 1 + (rng % (1 << 31));
        let completion = rng % 977;
        let log = NewUsageLog::new(bridge, Usage::new(prompt, completion, prompt + completion));
        println!("try {}", key_of(bridge, prompt));
        t.track(&log).unwrap();
        println!("ack {}", key_of(bridge, prompt));
        std::thread::sleep(Duration::from_millis(3 + rng % 5));
    }
    t.close().unwrap();
    let st = t.git_status().unwrap();
    println!("done {}", st.to_json());
}

#[derive(Default)]
struct Seen {
    tried: HashSet<String>,
    acked: HashSet<String>,
    done: u32,
}

fn spawn_device(
    base: &Path,
    repo: &Path,
    remote: &str,
    bridge: &str,
    run_ms: u64,
    seen: Arc<Mutex<Seen>>,
) -> Child {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "gitsync_device_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(
            CHILD_ENV,
            format!(
                "{}|{}|{remote}|{bridge}|{run_ms}",
                base.display(),
                repo.display()
            ),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let mut s = seen.lock().unwrap();
            if let Some(k) = line.strip_prefix("try ") {
                s.tried.insert(k.to_string());
            } else if let Some(k) = line.strip_prefix("ack ") {
                s.acked.insert(k.to_string());
            } else if line.starts_with("done ") {
                s.done += 1;
            }
        }
    });
    child
}

fn kill9(child: &mut Child) {
    // Child::kill is SIGKILL on Unix.
    let _ = child.kill();
    let _ = child.wait();
}

/// Every segment line's key and id, in a checkout of the remote.
fn check_clone(remote: &Path, into: &Path) -> (HashMap<String, u32>, usize) {
    git(
        into.parent().unwrap(),
        &[
            "clone",
            "--quiet",
            "--branch",
            "main",
            &remote.to_string_lossy(),
            &into.to_string_lossy(),
        ],
    );
    let view = gitsync::merged::read(into, Path::new("usage")).unwrap();
    let mut keys: HashMap<String, u32> = HashMap::new();
    for e in &view.events {
        let prompt = e.tokens.unwrap().input;
        *keys
            .entry(key_of(e.bridge.as_deref().unwrap(), prompt))
            .or_default() += 1;
    }
    (keys, view.events.len())
}

#[test]
fn g2_g3_devices_offline_and_killed_lose_nothing_and_never_force_push() {
    let d = tempfile::tempdir().unwrap();
    // USAGEBOOK_GITSYNC_KEEP=DIR keeps the repositories there to look at.
    let kept = std::env::var_os("USAGEBOOK_GITSYNC_KEEP").map(PathBuf::from);
    if let Some(k) = &kept {
        let _ = std::fs::remove_dir_all(k);
        std::fs::create_dir_all(k).unwrap();
    }
    let root = kept.as_deref().unwrap_or(d.path());
    let remote = root.join("remote.git");
    bare_remote(&remote);
    let seen = Arc::new(Mutex::new(Seen::default()));
    const N: usize = 4;
    // Device 3 reaches the remote through a symlink it will lose for a while.
    let link = root.join("remote-link.git");
    std::os::unix::fs::symlink(&remote, &link).unwrap();
    let remote_of = |i: usize| -> String {
        if i == 3 {
            link.to_string_lossy().into_owned()
        } else {
            remote.to_string_lossy().into_owned()
        }
    };
    let dirs: Vec<(PathBuf, PathBuf)> = (0..N)
        .map(|i| {
            (
                root.join(format!("dev{i}/tracker")),
                root.join(format!("dev{i}/repo")),
            )
        })
        .collect();
    let bridge = |i: usize| format!("openai/dev{i}");
    let mut children: Vec<Child> = (0..N)
        .map(|i| {
            spawn_device(
                &dirs[i].0,
                &dirs[i].1,
                &remote_of(i),
                &bridge(i),
                3500,
                seen.clone(),
            )
        })
        .collect();
    // kill -9 devices 0 and 1 at arbitrary moments, twice, and restart them.
    for round in 0..2u64 {
        std::thread::sleep(Duration::from_millis(700 + 130 * round));
        if round == 0 {
            // Device 3 goes offline: its remote disappears.
            std::fs::remove_file(&link).unwrap();
        }
        for i in [0usize, 1] {
            kill9(&mut children[i]);
            children[i] = spawn_device(
                &dirs[i].0,
                &dirs[i].1,
                &remote_of(i),
                &bridge(i),
                2000,
                seen.clone(),
            );
            std::thread::sleep(Duration::from_millis(37 * (i as u64 + 1)));
        }
    }
    // Device 3 comes back online.
    std::os::unix::fs::symlink(&remote, &link).unwrap();
    for c in &mut children {
        let st = c.wait().unwrap();
        assert!(st.success(), "a device failed: {st}");
    }
    // Settle: each device opens once more, alone, and closes (one bounded
    // final sync). On a loaded machine a close's sync can run out of its
    // bound while the others push; what it did not push is still in its
    // local commits, and this is the "later" it catches up in (G4). An
    // event lost for real stays missing below.
    for (i, (base, repo)) in dirs.iter().enumerate() {
        let mut c = spawn_device(base, repo, &remote_of(i), &bridge(i), 0, seen.clone());
        assert!(c.wait().unwrap().success(), "device {i} failed to settle");
    }
    // The reader threads may still be taking the last lines.
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.lock().unwrap().done < 2 * N as u32 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let s = seen.lock().unwrap();
    assert_eq!(s.done, 2 * N as u32, "every device closed");
    assert!(
        s.acked.len() > 200,
        "only {} events acknowledged",
        s.acked.len()
    );

    // The merged view of a fresh clone: every acknowledged event once.
    let (keys, events) = check_clone(&remote, &root.join("check"));
    let missing: Vec<&String> = s.acked.iter().filter(|k| !keys.contains_key(*k)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged events missing, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let dup: Vec<(&String, &u32)> = keys.iter().filter(|(_, &n)| n > 1).collect();
    assert!(dup.is_empty(), "duplicates: {dup:?}");
    for k in keys.keys() {
        assert!(s.tried.contains(k), "an event nobody tracked: {k}");
    }
    assert_eq!(events, keys.len());
    for (_, repo) in &dirs {
        let devs = root.join("check/usage/devices");
        assert!(devs.is_dir());
        // Every device's branch is reachable from the remote branch.
        git(repo, &["fetch", "--quiet", "origin"]);
        git(
            repo,
            &[
                "merge-base",
                "--is-ancestor",
                "refs/heads/main",
                "refs/remotes/origin/main",
            ],
        );
        git(repo, &["fsck", "--no-progress"]);
    }
    git(&remote, &["fsck", "--no-progress"]);
    // Every device directory is in the remote, one per device id.
    let n_dirs = std::fs::read_dir(root.join("check/usage/devices"))
        .unwrap()
        .count();
    assert_eq!(n_dirs, N);
}

fn cfg(repo: &Path, remote: Option<&Path>) -> GitSyncConfig {
    let mut c = GitSyncConfig::new(repo);
    c.remote = remote.map(|r| r.to_string_lossy().into_owned());
    c.sync_interval = Duration::ZERO;
    c
}

#[test]
fn g3_two_devices_share_one_view_and_a_new_device_starts_from_the_remote() {
    let d = tempfile::tempdir().unwrap();
    let remote = d.path().join("remote.git");
    bare_remote(&remote);
    let open = |n: &str| {
        let base = d.path().join(n);
        let opts = options(&base.join("repo"), &remote.to_string_lossy(), "0m");
        FileBackedTracker::open(base.join("t"), opts).unwrap()
    };
    let a = open("a");
    let b = open("b");
    for i in 0..10 {
        a.track(&NewUsageLog::new(
            "openai/gpt-4o",
            Usage::new(10 + i, 1, 11 + i),
        ))
        .unwrap();
    }
    for _ in 0..5 {
        b.track(&NewUsageLog::new("anthropic/claude", Usage::new(7, 3, 10)))
            .unwrap();
    }
    let ra = a.sync_now().unwrap();
    assert!(ra.pushed && ra.committed, "{ra:?}");
    let rb = b.sync_now().unwrap();
    assert!(rb.pushed, "{rb:?}");
    a.sync_now().unwrap();
    let sa = a.merged_stats().unwrap();
    let sb = b.merged_stats().unwrap();
    assert_eq!(sa, sb);
    // Health carries the git sync's state (only for trackers with gitSync).
    let h = a.health();
    let g = h.git_sync.as_ref().unwrap();
    assert_eq!((g.syncs, g.failures, g.pending_commits), (2, 0, 0));
    assert!(g.last_ok_ms.is_some() && g.last_error.is_none());
    let j = h.to_json();
    assert_eq!(j["gitSync"]["syncs"], 2);
    assert!(j["gitSync"]["lastSyncAt"].as_str().unwrap().ends_with('Z'));
    assert!(usagebook_core::InMemoryTracker::new(10)
        .unwrap()
        .health()
        .to_json()
        .get("gitSync")
        .is_none());
    assert_eq!(sa.total.total_requests, 15);
    assert_eq!(sa.devices.len(), 2);
    assert_eq!(sa.bridges["anthropic/claude"].total_requests, 5);
    a.close().unwrap();
    b.close().unwrap();
    // A third device clones the remote and sees both at once.
    let c = open("c");
    assert_eq!(c.merged_stats().unwrap().total.total_requests, 15);
    c.close().unwrap();
    git(&remote, &["fsck", "--no-progress"]);
}

#[test]
fn g1_sync_refuses_foreign_staged_files_and_cleans_a_stale_index_lock() {
    let d = tempfile::tempdir().unwrap();
    let repo = d.path().join("repo");
    let s = GitSync::open(cfg(&repo, None), &d.path().join("id")).unwrap();
    let dev = s.device_dir();
    std::fs::create_dir_all(dev.join("2026-01")).unwrap();
    std::fs::write(dev.join("2026-01/x.jsonl"), "{}\n").unwrap();
    let r = s.sync(None).unwrap();
    assert!(r.committed && !r.offline, "{r:?}");
    // Something else staged: refused, nothing committed.
    std::fs::write(repo.join("notes.txt"), "mine").unwrap();
    git(&repo, &["add", "notes.txt"]);
    let e = s.sync(None).unwrap_err().to_string();
    assert!(e.contains("notes.txt"), "{e}");
    git(&repo, &["rm", "--cached", "--quiet", "notes.txt"]);
    // A stale index.lock (a killed git) is removed; a sync goes on.
    std::fs::write(repo.join(".git/index.lock"), "").unwrap();
    std::thread::sleep(Duration::from_millis(600));
    std::fs::write(dev.join("2026-01/x.jsonl"), "{}\n{}\n").unwrap();
    let r = s.sync(None).unwrap();
    assert!(r.committed, "{r:?}");
    assert_eq!(r.removed_locks.len(), 1, "{r:?}");
    assert!(!repo.join(".git/index.lock").exists());
    // notes.txt was never committed.
    let files = git(&repo, &["ls-tree", "-r", "--name-only", "main"]);
    assert!(!files.contains("notes.txt"), "{files}");
}

#[test]
fn g5_path_outside_the_repository_and_missing_git_are_clear_errors() {
    let d = tempfile::tempdir().unwrap();
    let json = serde_json::json!({"gitSync": {"repoDir": d.path(), "path": "../usage.json"}});
    let e = TrackerOptions::from_json(Some(&json.to_string())).unwrap_err();
    assert!(e.to_string().contains("outside the repository"), "{e}");
    // Without git on PATH (a child process, so PATH stays for the others).
    if std::env::var_os("USAGEBOOK_GITSYNC_NOGIT").is_some() {
        let e = GitSync::open(cfg(&d.path().join("r"), None), &d.path().join("id")).unwrap_err();
        println!("error: {e}");
        return;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "g5_path_outside_the_repository_and_missing_git_are_clear_errors",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("USAGEBOOK_GITSYNC_NOGIT", "1")
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("needs the git command line"), "{text}");
}

#[test]
fn g4_offline_keeps_local_commits_and_catches_up() {
    let d = tempfile::tempdir().unwrap();
    let remote = d.path().join("remote.git");
    bare_remote(&remote);
    let away = d.path().join("away.git");
    let repo = d.path().join("repo");
    let s = GitSync::open(cfg(&repo, Some(&remote)), &d.path().join("id")).unwrap();
    let f = s.device_dir().join("2026-01/a.jsonl");
    std::fs::create_dir_all(f.parent().unwrap()).unwrap();
    std::fs::write(&f, "{}\n").unwrap();
    assert!(s.sync(None).unwrap().pushed);
    std::fs::rename(&remote, &away).unwrap();
    for n in 2..4 {
        std::fs::write(&f, "{}\n".repeat(n)).unwrap();
        let r = s.sync(None).unwrap();
        assert!(r.offline && r.committed && !r.pushed, "{r:?}");
        assert_eq!(r.ahead, n as u64 - 1);
    }
    // The status a tracker's health shows: failures in a row, commits
    // waiting, the reason, the last sync that reached the remote.
    let st = s.status();
    assert_eq!((st.syncs, st.failures, st.pending_commits), (3, 2, 2));
    assert!(
        st.last_error.as_deref().unwrap_or("").contains("fetch"),
        "{st:?}"
    );
    assert!(st.last_ok_ms.unwrap() <= st.last_sync_ms.unwrap());
    let h = st.health_json();
    assert_eq!(h["failures"], 2);
    assert_eq!(h["offline"], true);
    assert_eq!(h["deviceId"], s.device.as_str());
    std::fs::rename(&away, &remote).unwrap();
    let r = s.sync(None).unwrap();
    assert!(r.pushed && r.ahead == 0, "{r:?}");
    let st = s.status();
    assert_eq!((st.failures, st.pending_commits), (0, 0));
    assert_eq!(st.last_error, None);
    assert_eq!(st.last_ok_ms, st.last_sync_ms);
    let n = git(&remote, &["rev-list", "--count", "main"]);
    assert_eq!(n.trim(), "3");
}

#[test]
fn g2_an_event_log_with_git_sync_shares_the_view_with_a_tracker() {
    use usagebook_core::eventlog::{self, Event, EventLog, EventLogOptions, Status, Tokens};
    let d = tempfile::tempdir().unwrap();
    let remote = d.path().join("remote.git");
    bare_remote(&remote);
    let opts = |n: &str| {
        EventLogOptions::from_json(Some(
            &serde_json::json!({"gitSync": {
                "repoDir": d.path().join(n).join("repo"),
                "remote": remote.to_string_lossy(),
                "syncInterval": "0m",
            }})
            .to_string(),
        ))
        .unwrap()
    };
    let e = EventLogOptions::from_json(Some(r#"{"gitsync": {}}"#)).unwrap_err();
    assert!(e.to_string().contains("gitsync"), "{e}");
    let log_path = d.path().join("a/events.jsonl");
    let mut a = EventLog::open_with(&log_path, &opts("a")).unwrap();
    let ev = |i: u64| {
        Event::request(
            "openai/gpt-4o",
            Tokens {
                input: 10 + i,
                output: 2,
                total: 12 + i,
                ..Tokens::default()
            },
            Status::Success,
        )
    };
    for i in 0..5 {
        a.append(&ev(i)).unwrap();
    }
    // The same event twice (a retried append) is one event everywhere.
    let again = ev(99);
    a.append(&again).unwrap();
    a.append(&again).unwrap();
    assert!(a.sync_now().unwrap().pushed);
    // A tracker device on the same remote.
    let base = d.path().join("t");
    let t = FileBackedTracker::open(
        base.join("state"),
        options(&base.join("repo"), &remote.to_string_lossy(), "0m"),
    )
    .unwrap();
    t.track(&NewUsageLog::new("anthropic/claude", Usage::new(7, 3, 10)))
        .unwrap();
    t.sync_now().unwrap();
    a.sync_now().unwrap();
    let m = a.merged_stats().unwrap();
    assert_eq!(m, t.merged_stats().unwrap());
    assert_eq!(m.total.total_requests, 7);
    assert_eq!(m.devices.len(), 2);
    assert_eq!(m.bridges["openai/gpt-4o"].total_requests, 6);
    assert_eq!(
        m.devices[&a.git_status().unwrap().device].total_tokens,
        (0..5).map(|i| 12 + i).sum::<u64>() + 12 + 99
    );
    // The log file is the same events (the second copy dropped on read).
    let r = eventlog::read_events(&log_path).unwrap();
    assert_eq!((r.events.len(), r.counts.duplicates), (6, 1));
    // Close: one final sync pushes what was appended since.
    a.append(&ev(7)).unwrap();
    a.close().unwrap();
    t.sync_now().unwrap();
    assert_eq!(t.merged_stats().unwrap().total.total_requests, 8);
    t.close().unwrap();
    // Without gitSync the event log is what it was.
    let plain = EventLog::open_with(d.path().join("p.jsonl"), &EventLogOptions::default()).unwrap();
    assert!(plain
        .sync_now()
        .unwrap_err()
        .to_string()
        .contains("gitSync"));
    git(&remote, &["fsck", "--no-progress", "--strict"]);
}

/// The same stats, from the summaries or from every segment.
fn full_stats(repo: &Path) -> gitsync::MergedStats {
    gitsync::merged::read(repo, Path::new("usage"))
        .unwrap()
        .stats()
}

#[test]
fn g2_monthly_summaries_are_read_instead_of_the_segments_they_cover() {
    use usagebook_core::ManualClock;
    let d = tempfile::tempdir().unwrap();
    let remote = d.path().join("remote.git");
    bare_remote(&remote);
    // Events in two past months (the clock is the tracker's; the sync judges
    // "past" by the real date).
    let nov = 1_730_419_200_000; // 2024-11-01T00:00:00Z
    let dec = 1_733_011_200_000; // 2024-12-01T00:00:00Z
    let clock = ManualClock::new(nov);
    let base = d.path().join("a");
    let a = FileBackedTracker::open_with_clock(
        base.join("state"),
        options(&base.join("repo"), &remote.to_string_lossy(), "0m"),
        Arc::new(clock.clone()),
    )
    .unwrap();
    for i in 0..30u64 {
        clock.set(if i < 20 { nov } else { dec } + i as i64 * 60_000);
        let mut l = NewUsageLog::new(
            if i % 2 == 0 { "openai" } else { "anthropic" },
            Usage::new(i, 2, i + 2),
        );
        if i % 7 == 0 {
            l.status = usagebook_core::UsageStatus::Error;
        }
        a.track(&l).unwrap();
    }
    assert!(a.sync_now().unwrap().pushed);
    let id = a.git_status().unwrap().device;
    let dev = base.join("repo/usage/devices").join(&id);
    for m in ["2024-11", "2024-12"] {
        assert!(dev.join(m).join("summary.json").is_file(), "{m}");
    }
    // Committed and pushed with the segments, only under this device.
    let files = git(&remote, &["ls-tree", "-r", "--name-only", "main"]);
    assert_eq!(
        files
            .lines()
            .filter(|f| f.ends_with("summary.json"))
            .count(),
        2,
        "{files}"
    );
    // Another device reads the same stats as the full read of every event.
    let b = FileBackedTracker::open(
        d.path().join("b/state"),
        options(&d.path().join("b/repo"), &remote.to_string_lossy(), "0m"),
    )
    .unwrap();
    let brepo = d.path().join("b/repo");
    let from_summaries = b.merged_stats().unwrap();
    assert_eq!(from_summaries, full_stats(&brepo));
    assert_eq!(from_summaries.total.total_requests, 30);
    assert_eq!(from_summaries.total.error_count, 5);
    // The covered segments are not read: a covered segment changed in
    // place (same length) does not change the summary's stats ...
    let seg = std::fs::read_dir(brepo.join("usage/devices").join(&id).join("2024-11"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .unwrap();
    let text = std::fs::read_to_string(&seg).unwrap();
    std::fs::write(&seg, text.replacen("\"openai\"", "\"OPENAI\"", 1)).unwrap();
    assert_eq!(b.merged_stats().unwrap(), from_summaries);
    assert_ne!(full_stats(&brepo), from_summaries);
    std::fs::write(&seg, &text).unwrap();
    // ... a copy of a covered segment under another name is deduplicated
    // against the summary's ids ...
    let copy = seg.with_file_name("01900000-0000-7000-8000-000000000000.jsonl");
    std::fs::copy(&seg, &copy).unwrap();
    let with_copy = b.merged_stats().unwrap();
    assert_eq!(with_copy, full_stats(&brepo));
    assert_eq!(with_copy.total, from_summaries.total);
    std::fs::remove_file(&copy).unwrap();
    // ... and a covered segment that grew (a late event) is read again.
    let mut late = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
    let line = text
        .lines()
        .next()
        .unwrap()
        .replace(&text[7..43], "01931234-5678-7abc-8def-0123456789ab");
    use std::io::Write as _;
    writeln!(late, "{line}").unwrap();
    drop(late);
    let grown = b.merged_stats().unwrap();
    assert_eq!(grown, full_stats(&brepo));
    assert_eq!(grown.total.total_requests, 31);
    a.close().unwrap();
    b.close().unwrap();
}

#[test]
fn g2_two_writers_with_one_device_id_never_drop_each_others_files() {
    // A cloned VM: its tracker directory, so its device id, was copied.
    let d = tempfile::tempdir().unwrap();
    let remote = d.path().join("remote.git");
    bare_remote(&remote);
    let open = |n: &str, id: &str| {
        let base = d.path().join(n);
        let mut opts = options(&base.join("repo"), &remote.to_string_lossy(), "0m");
        opts.git_sync.as_mut().unwrap().device_id = Some(id.into());
        FileBackedTracker::open(base.join("t"), opts).unwrap()
    };
    let a = open("a", "cloned-vm");
    let b = open("b", "cloned-vm");
    for round in 0..3u64 {
        a.track(&NewUsageLog::new(
            "openai",
            Usage::new(round + 1, 1, round + 2),
        ))
        .unwrap();
        b.track(&NewUsageLog::new(
            "anthropic",
            Usage::new(round + 1, 1, round + 2),
        ))
        .unwrap();
        a.sync_now().unwrap();
        b.sync_now().unwrap();
    }
    a.sync_now().unwrap();
    let check = d.path().join("check");
    git(
        d.path(),
        &[
            "clone",
            "--quiet",
            "--branch",
            "main",
            &remote.to_string_lossy(),
            &check.to_string_lossy(),
        ],
    );
    let s = full_stats(&check);
    assert_eq!(s.total.total_requests, 6, "{s:?}");
    // A third device (a real one) sees both writers' events.
    let c = open("c", "desktop");
    assert_eq!(c.merged_stats().unwrap().total.total_requests, 6);
    c.close().unwrap();
    assert_eq!(s.bridges["openai"].total_requests, 3);
    assert_eq!(s.bridges["anthropic"].total_requests, 3);
    a.close().unwrap();
    b.close().unwrap();
    git(&remote, &["fsck", "--no-progress", "--strict"]);
}
