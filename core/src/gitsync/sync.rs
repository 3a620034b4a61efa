//! The sync loop (G3, G4): commit this device's directory, fetch, merge onto
//! the remote branch, push without force; a rejected push fetches and
//! retries with backoff and jitter; offline, local commits are kept.
//!
//! Commits are made with plumbing on a private index (`.git/usagebook-index`)
//! and never touch this device's files in the working tree, so a tracker
//! may append to its segment while a sync runs (in this or another
//! process). The new commit's tree is the remote branch's tree with this
//! device's directory taken from the working tree; its parents are the
//! local branch and, when they diverged, the remote branch (a merge that
//! cannot conflict: no two devices write the same path). Nothing is ever
//! rebased, amended or force-pushed: every commit a device made stays
//! reachable.

use super::git::{self, Git};
use super::{device_id_from_file, devices_dir, GitSyncConfig};
use crate::error::{Error, Result};
use parking_lot::Mutex;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// What one sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// A commit of this device's files was made.
    pub committed: bool,
    /// The remote branch now has every local commit.
    pub pushed: bool,
    /// The remote could not be reached (local commits are kept).
    pub offline: bool,
    /// Pushes rejected because another device pushed first (then retried).
    pub rejected: u32,
    /// Local commits the remote does not have yet.
    pub ahead: u64,
    /// Stale lock files removed before the sync.
    pub removed_locks: Vec<String>,
    /// Why the remote was not reached, when offline.
    pub offline_reason: Option<String>,
}

impl SyncReport {
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("committed".into(), self.committed.into());
        m.insert("pushed".into(), self.pushed.into());
        m.insert("offline".into(), self.offline.into());
        m.insert("rejected".into(), self.rejected.into());
        m.insert("ahead".into(), self.ahead.into());
        if !self.removed_locks.is_empty() {
            m.insert(
                "removedLocks".into(),
                Value::Array(
                    self.removed_locks
                        .iter()
                        .map(|s| s.clone().into())
                        .collect(),
                ),
            );
        }
        if let Some(r) = &self.offline_reason {
            m.insert("offlineReason".into(), r.clone().into());
        }
        Value::Object(m)
    }
}

/// The sync state of a device, for `health`/`sync status`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncStatus {
    /// This device's id (the directory it writes).
    pub device: String,
    pub syncs: u64,
    /// Syncs in a row that failed or could not reach the remote (0 after
    /// one that pushed); a host alerts on it growing.
    pub failures: u64,
    pub last_sync_ms: Option<i64>,
    /// The last sync that reached the remote.
    pub last_ok_ms: Option<i64>,
    pub last_error: Option<String>,
    /// Local commits the remote does not have yet, as of the last sync.
    pub pending_commits: u64,
    pub last: Option<SyncReport>,
}

impl SyncStatus {
    /// The `gitSync` entry of a tracker's health (X2): times in the ISO form
    /// of `lastFlushAt`, absent values as `null`.
    pub fn health_json(&self) -> Value {
        let at = |ms: Option<i64>| ms.map(crate::timefmt::format_iso_ms);
        serde_json::json!({
            "deviceId": self.device,
            "syncs": self.syncs,
            "failures": self.failures,
            "lastSyncAt": at(self.last_sync_ms),
            "lastOkAt": at(self.last_ok_ms),
            "lastError": self.last_error,
            "pendingCommits": self.pending_commits,
            "offline": self.last.as_ref().is_some_and(|r| r.offline),
        })
    }

    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("deviceId".into(), self.device.clone().into());
        m.insert("syncs".into(), self.syncs.into());
        m.insert("failures".into(), self.failures.into());
        m.insert("pendingCommits".into(), self.pending_commits.into());
        if let Some(t) = self.last_sync_ms {
            m.insert("lastSyncMs".into(), t.into());
        }
        if let Some(t) = self.last_ok_ms {
            m.insert("lastOkMs".into(), t.into());
        }
        if let Some(e) = &self.last_error {
            m.insert("lastError".into(), e.clone().into());
        }
        if let Some(r) = &self.last {
            m.insert("last".into(), r.to_json());
        }
        Value::Object(m)
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A device's git sync: the repository, its device id and the loop.
#[derive(Debug)]
pub struct GitSync {
    pub cfg: GitSyncConfig,
    /// The repository's working tree (absolute).
    pub repo: PathBuf,
    /// The usage root, relative to the repository.
    pub root: PathBuf,
    pub device: String,
    /// `<root>/devices/<device>`, relative, with `/` separators.
    device_rel: String,
    lock: Mutex<()>,
    status: Mutex<SyncStatus>,
}

/// Pushes rejected this many times in one sync end it (it is retried at
/// the next interval).
const MAX_ATTEMPTS: u32 = 12;

impl GitSync {
    /// Opens (cloning from `remote`, or initialising, when `repoDir` does
    /// not exist yet) the repository. The device id is `cfg.device_id`, or
    /// the one kept in `device_id_file` (generated there once).
    pub fn open(mut cfg: GitSyncConfig, device_id_file: &Path) -> Result<GitSync> {
        cfg.validate()?;
        cfg.repo_dir = std::path::absolute(&cfg.repo_dir)
            .map_err(|e| Error::io(format!("resolving {}", cfg.repo_dir.display()), e))?;
        git::check_version()?;
        let device = match &cfg.device_id {
            Some(d) => d.clone(),
            None => device_id_from_file(device_id_file)?,
        };
        let root = cfg.usage_root()?;
        ensure_repo(&cfg)?;
        let repo = std::fs::canonicalize(&cfg.repo_dir)
            .map_err(|e| Error::io(format!("opening {}", cfg.repo_dir.display()), e))?;
        let device_rel = devices_dir(&root)
            .join(&device)
            .to_string_lossy()
            .replace('\\', "/");
        let s = GitSync {
            cfg,
            repo,
            root,
            device,
            device_rel,
            lock: Mutex::new(()),
            status: Mutex::new(SyncStatus::default()),
        };
        s.status.lock().device = s.device.clone();
        s.check_head()?;
        std::fs::create_dir_all(s.device_dir())
            .map_err(|e| Error::io(format!("creating {}", s.device_dir().display()), e))?;
        Ok(s)
    }

    /// This device's directory in the working tree (absolute).
    pub fn device_dir(&self) -> PathBuf {
        self.repo.join(&self.device_rel)
    }

    pub fn status(&self) -> SyncStatus {
        self.status.lock().clone()
    }

    fn git(&self, deadline: Option<Instant>) -> Git {
        let mut g = Git::new(&self.repo, &self.device);
        g.deadline = deadline;
        g
    }

    fn branch_ref(&self) -> String {
        format!("refs/heads/{}", self.cfg.branch)
    }

    fn remote_ref(&self) -> String {
        format!("refs/remotes/origin/{}", self.cfg.branch)
    }

    fn git_dir(&self) -> PathBuf {
        self.repo.join(".git")
    }

    /// HEAD must be the configured branch (the working tree shows it).
    fn check_head(&self) -> Result<()> {
        let g = self.git(None);
        let o = g.run(&["symbolic-ref", "-q", "HEAD"])?;
        let head = o.stdout.trim();
        if o.ok() && head == self.branch_ref() {
            return Ok(());
        }
        if o.ok() && g.rev(head)?.is_none() {
            // An unborn branch of another name (a fresh clone of an empty
            // remote, or `git init` with another default): switch.
            g.ok(&["symbolic-ref", "HEAD", &self.branch_ref()])?;
            return Ok(());
        }
        Err(Error::invalid(format!(
            "the repository {} is on {}, but gitSync.branch is {:?}: check out that branch there, or set gitSync.branch",
            self.repo.display(),
            if o.ok() { head.to_string() } else { "a detached HEAD".into() },
            self.cfg.branch
        )))
    }

    fn has_origin(&self, g: &Git) -> Result<bool> {
        Ok(g.run(&["remote", "get-url", "origin"])?.ok())
    }

    /// One sync: commit, fetch, merge, push (with retries), bounded by
    /// `timeout` when given. Safe to call from several threads and
    /// processes at once (they take turns).
    pub fn sync(&self, timeout: Option<Duration>) -> Result<SyncReport> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let _in_process = self.lock.lock();
        let res = self.sync_locked(deadline);
        let mut st = self.status.lock();
        st.syncs += 1;
        st.last_sync_ms = Some(now_ms());
        match &res {
            Ok(r) => {
                // Offline, or pushes rejected until the sync gave up: the
                // remote does not have our commits yet.
                if !r.offline && r.offline_reason.is_none() {
                    st.last_ok_ms = st.last_sync_ms;
                    st.last_error = None;
                    st.failures = 0;
                } else {
                    st.last_error = r.offline_reason.clone();
                    st.failures += 1;
                }
                st.pending_commits = r.ahead;
                st.last = Some(r.clone());
            }
            Err(e) => {
                st.last_error = Some(e.to_string());
                st.failures += 1;
            }
        }
        res
    }

    fn sync_locked(&self, deadline: Option<Instant>) -> Result<SyncReport> {
        // Between processes: one sync of this repository at a time.
        let lock_path = self.git_dir().join("usagebook-sync.lock");
        let lock_file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::io(format!("opening {}", lock_path.display()), e))?;
        lock_file
            .lock()
            .map_err(|e| Error::io(format!("locking {}", lock_path.display()), e))?;
        let mut report = SyncReport {
            removed_locks: git::clean_stale_locks(
                &self.git_dir(),
                &self.repo,
                &self.cfg.branch,
                Duration::from_secs(120),
            )
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
            ..SyncReport::default()
        };
        // Summaries of this device's past months (read by the other
        // devices instead of those segments), committed with them.
        let month = super::segment::month_of_ns(now_ms().saturating_mul(1_000_000));
        super::summary::write_summaries(&self.device_dir(), &self.device, &month)?;
        let g = self.git(deadline);
        let origin = self.has_origin(&g)?;
        let mut attempt = 0u32;
        loop {
            if origin {
                if let Err(why) = self.fetch(&g)? {
                    report.offline = true;
                    report.offline_reason = Some(why);
                }
            }
            if self.commit_local(&g)? {
                report.committed = true;
            }
            let head = g.rev(&self.branch_ref())?;
            let remote = g.rev(&self.remote_ref())?;
            report.ahead = self.ahead(&g, head.as_deref(), remote.as_deref())?;
            if !origin || report.offline || head.is_none() || head == remote {
                report.pushed = origin && !report.offline && head.is_some();
                return Ok(report);
            }
            let spec = format!("{0}:{0}", self.branch_ref());
            let o = g.run(&["push", "--porcelain", "origin", &spec])?;
            if o.ok() {
                // Push updates the tracking ref only with a fetch refspec
                // that maps it; make sure.
                if let Some(h) = &head {
                    let _ = g.run(&["update-ref", &self.remote_ref(), h]);
                }
                report.pushed = true;
                report.ahead = 0;
                return Ok(report);
            }
            let text = format!("{}\n{}", o.stdout, o.stderr);
            let rejected = !o.timed_out
                && (text.contains("[rejected]")
                    || text.contains("non-fast-forward")
                    || text.contains("fetch first")
                    || text.contains("[remote rejected]") && text.contains("failed to update ref")
                    || text.contains("cannot lock ref"));
            if !rejected {
                report.offline = true;
                report.offline_reason =
                    Some(git::failed(&["push", "origin", &spec], &o).to_string());
                return Ok(report);
            }
            report.rejected += 1;
            attempt += 1;
            if attempt >= MAX_ATTEMPTS {
                report.offline_reason = Some(format!(
                    "push rejected {attempt} times (other devices pushing); retried at the next sync"
                ));
                return Ok(report);
            }
            // Exponential backoff with full jitter, capped at 2 s.
            let cap = (25u64 << attempt.min(7)).min(2000);
            let jitter = (uuid::Uuid::now_v7().as_u128() as u64) % (cap + 1);
            let mut sleep = Duration::from_millis(cap / 2 + jitter / 2);
            if let Some(d) = deadline {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    report.offline_reason = Some("the sync ran out of time".into());
                    return Ok(report);
                }
                sleep = sleep.min(left);
            }
            std::thread::sleep(sleep);
        }
    }

    /// `Ok(Ok(()))` fetched (or the remote has no such branch yet),
    /// `Ok(Err(why))` offline.
    fn fetch(&self, g: &Git) -> Result<std::result::Result<(), String>> {
        let spec = format!("+{}:{}", self.branch_ref(), self.remote_ref());
        let o = g.run(&[
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            "origin",
            &spec,
        ])?;
        if o.ok() {
            return Ok(Ok(()));
        }
        if o.stderr.contains("couldn't find remote ref") {
            return Ok(Ok(()));
        }
        Ok(Err(git::failed(&["fetch", "origin", &spec], &o).to_string()))
    }

    fn ahead(&self, g: &Git, head: Option<&str>, remote: Option<&str>) -> Result<u64> {
        let Some(h) = head else { return Ok(0) };
        let range = match remote {
            Some(r) => format!("{r}..{h}"),
            None => h.to_string(),
        };
        Ok(g.ok(&["rev-list", "--count", &range])?
            .trim()
            .parse()
            .unwrap_or(0))
    }

    fn mine(&self, path: &str) -> bool {
        path.strip_prefix(&self.device_rel)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }

    fn empty_tree(&self, g: &Git) -> Result<String> {
        Ok(g.ok(&["mktree"])?.trim().to_string())
    }

    /// Commits this device's directory onto the remote branch (a merge when
    /// the local branch diverged), then brings the other devices' files in
    /// the working tree up to date. Returns whether a commit was made.
    fn commit_local(&self, g: &Git) -> Result<bool> {
        let head = g.rev(&self.branch_ref())?;
        let remote = g.rev(&self.remote_ref())?;
        let empty = self.empty_tree(g)?;
        // Refuse to commit over what the user staged elsewhere.
        let against = head.clone().unwrap_or_else(|| empty.clone());
        let staged = g.ok(&["diff", "--cached", "--name-only", "-z", &against])?;
        let others: Vec<&str> = staged
            .split('\0')
            .filter(|p| !p.is_empty() && !self.mine(p))
            .collect();
        if !others.is_empty() {
            return Err(Error::invalid(format!(
                "refusing to sync {}: files other than this device's are staged ({}); commit or unstage them first",
                self.repo.display(),
                others.join(", ")
            )));
        }
        // Parents: the local branch and, if they diverged, the remote one.
        let parents: Vec<String> = match (&head, &remote) {
            (None, None) => vec![],
            (Some(h), None) => vec![h.clone()],
            (None, Some(r)) => vec![r.clone()],
            (Some(h), Some(r)) if h == r => vec![h.clone()],
            (Some(h), Some(r)) => {
                if g.is_ancestor(h, r)? {
                    vec![r.clone()]
                } else if g.is_ancestor(r, h)? {
                    vec![h.clone()]
                } else {
                    // Two devices that started on an empty remote have
                    // unrelated histories: everything local is compared.
                    let mb = g.run(&["merge-base", h, r])?;
                    let base = if mb.ok() {
                        mb.stdout.trim().to_string()
                    } else if mb.status == Some(1) {
                        empty.clone()
                    } else {
                        return Err(git::failed(&["merge-base", h, r], &mb));
                    };
                    let changed = g.ok(&["diff", "--name-only", "-z", &base, h])?;
                    let foreign: Vec<&str> = changed
                        .split('\0')
                        .filter(|p| !p.is_empty() && !self.mine(p))
                        .collect();
                    if !foreign.is_empty() {
                        return Err(Error::invalid(format!(
                            "refusing to merge: local commits on {} change files other than this device's ({}); push or remove them by hand",
                            self.cfg.branch,
                            foreign.join(", ")
                        )));
                    }
                    vec![h.clone(), r.clone()]
                }
            }
        };
        // The tree: the newest base (remote if it is a parent, else the
        // local branch) with this device's directory from the working tree.
        let base = remote
            .clone()
            .filter(|r| parents.contains(r))
            .or_else(|| parents.first().cloned());
        let index = self.git_dir().join("usagebook-index");
        let _ = std::fs::remove_file(&index);
        let mut gi = g.clone();
        gi.index_file = Some(index.clone());
        match &base {
            Some(b) => gi.ok(&["read-tree", b])?,
            None => gi.ok(&["read-tree", "--empty"])?,
        };
        if self.device_dir().is_dir() {
            // New and grown files only, never removals: a second writer
            // with the same device id (a cloned machine) has the other's
            // segments in the tree but not in its working tree, and must
            // not delete them. Segments are never removed anyway.
            gi.ok(&["add", "--ignore-removal", "--", &self.device_rel])?;
        }
        let tree = gi.ok(&["write-tree"])?.trim().to_string();
        let _ = std::fs::remove_file(&index);
        let single_tree = match parents.as_slice() {
            [] => Some(empty.clone()),
            [p] => Some(
                g.ok(&["rev-parse", &format!("{p}^{{tree}}")])?
                    .trim()
                    .to_string(),
            ),
            _ => None,
        };
        let (new, committed) = if single_tree.as_deref() == Some(tree.as_str()) {
            match parents.first() {
                Some(p) => (p.clone(), false),
                None => return Ok(false),
            }
        } else {
            let msg = format!("usagebook: usage of device {}", self.device);
            let mut args: Vec<&str> = vec!["commit-tree", &tree, "-m", &msg];
            for p in &parents {
                args.push("-p");
                args.push(p);
            }
            (g.ok(&args)?.trim().to_string(), true)
        };
        if head.as_deref() == Some(new.as_str()) {
            return Ok(committed);
        }
        let zero = "0".repeat(new.len());
        let old = head.clone().unwrap_or(zero);
        g.ok(&[
            "update-ref",
            "-m",
            "usagebook sync",
            &self.branch_ref(),
            &new,
            &old,
        ])?;
        // The real index follows the branch; the working tree gets the
        // other devices' new files (this device's files are left as they
        // are: the tracker may be appending to them).
        g.ok(&["read-tree", &new])?;
        let listed = match &head {
            Some(h) => g.ok(&[
                "diff-tree",
                "-r",
                "--name-only",
                "-z",
                "--no-renames",
                "--diff-filter=ACMRT",
                h,
                &new,
            ])?,
            None => g.ok(&["ls-tree", "-r", "--name-only", "-z", &new])?,
        };
        // Other devices' files only. Under this device's directory a
        // second writer with the same id (a cloned machine) may have added
        // files; they are not checked out here, since this writer commits
        // its directory from its working tree and would then commit stale
        // copies of them as they grow.
        let theirs: Vec<&str> = listed
            .split('\0')
            .filter(|p| !p.is_empty() && !self.mine(p))
            .collect();
        if !theirs.is_empty() {
            let mut input = Vec::new();
            for p in &theirs {
                input.extend_from_slice(p.as_bytes());
                input.push(0);
            }
            let o = g.run_with_input(&["checkout-index", "-f", "-z", "--stdin"], &input)?;
            if !o.ok() {
                return Err(git::failed(&["checkout-index"], &o));
            }
        }
        Ok(committed)
    }

    /// The merged view of the working tree (as of the last sync).
    pub fn merged(&self) -> Result<super::MergedView> {
        super::merged::read(&self.repo, &self.root)
    }

    /// The merged stats of the working tree (as of the last sync), taking
    /// the devices' monthly summaries where they cover segments.
    pub fn merged_stats(&self) -> Result<super::MergedStats> {
        super::summary::read_stats(&self.repo, &self.root)
    }
}

/// Clones `remote` into `repoDir`, or initialises it, when it is not a
/// repository yet; adds `origin` when a remote is configured and missing.
fn ensure_repo(cfg: &GitSyncConfig) -> Result<()> {
    let dir = &cfg.repo_dir;
    if dir.join(".git").exists() {
        if let Some(url) = &cfg.remote {
            let g = Git::new(dir, "usagebook");
            if !g.run(&["remote", "get-url", "origin"])?.ok() {
                g.ok(&["remote", "add", "origin", url])?;
            }
        }
        return Ok(());
    }
    let nonempty = std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some());
    if nonempty {
        return Err(Error::invalid(format!(
            "gitSync.repoDir {} exists and is not a git repository (nor empty)",
            dir.display()
        )));
    }
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
    let g = Git::new(parent, "usagebook");
    let target = dir.to_string_lossy().into_owned();
    let branch_ref = format!("refs/heads/{}", cfg.branch);
    match &cfg.remote {
        Some(url) => {
            // A new device starts from the remote's history.
            g.ok(&["clone", "--quiet", "--no-checkout", "--", url, &target])?;
            let g = Git::new(dir, "usagebook");
            let remote_ref = format!("refs/remotes/origin/{}", cfg.branch);
            if g.rev(&remote_ref)?.is_some() {
                g.ok(&["checkout", "--quiet", "-f", "-B", &cfg.branch, &remote_ref])?;
            } else {
                g.ok(&["symbolic-ref", "HEAD", &branch_ref])?;
            }
        }
        None => {
            g.ok(&["init", "--quiet", "--", &target])?;
            Git::new(dir, "usagebook").ok(&["symbolic-ref", "HEAD", &branch_ref])?;
        }
    }
    Ok(())
}

/// `usagebook sync status`: what the repository holds and how the local
/// branch stands against the remote one as last fetched (no network).
pub fn repo_status(repo: &Path, branch: &str, path: &str) -> Result<Value> {
    let root = super::usage_root_of(path)?;
    git::check_version()?;
    if !repo.join(".git").exists() {
        return Err(Error::invalid(format!(
            "{} is not a git repository (usagebook sync git --repo DIR [--remote URL] makes one)",
            repo.display()
        )));
    }
    let g = Git::new(repo, "usagebook");
    let local = g.rev(&format!("refs/heads/{branch}"))?;
    let remote = g.rev(&format!("refs/remotes/origin/{branch}"))?;
    let count = |range: &str| -> Result<u64> {
        Ok(g.ok(&["rev-list", "--count", range])?
            .trim()
            .parse()
            .unwrap_or(0))
    };
    let (ahead, behind) = match (&local, &remote) {
        (Some(l), Some(r)) => (count(&format!("{r}..{l}"))?, count(&format!("{l}..{r}"))?),
        (Some(l), None) => (count(l)?, 0),
        (None, Some(r)) => (0, count(r)?),
        (None, None) => (0, 0),
    };
    let url = g.run(&["remote", "get-url", "origin"])?;
    let view = super::merged::read(repo, &root)?;
    let stats = view.stats();
    let mut per: std::collections::BTreeMap<String, u64> = Default::default();
    for (d, _) in super::merged::segment_files(repo, &root)? {
        *per.entry(d).or_default() += 1;
    }
    let mut devices = Map::new();
    for (d, segs) in per {
        let mut m = Map::new();
        m.insert("segments".into(), segs.into());
        m.insert(
            "requests".into(),
            stats.devices.get(&d).map_or(0, |s| s.total_requests).into(),
        );
        devices.insert(d, Value::Object(m));
    }
    let dirty = g.ok(&[
        "status",
        "--porcelain",
        "--untracked-files=all",
        "--",
        &root.to_string_lossy(),
    ])?;
    let mut m = Map::new();
    m.insert("repo".into(), repo.display().to_string().into());
    m.insert("branch".into(), branch.into());
    m.insert(
        "remote".into(),
        if url.ok() {
            url.stdout.trim().into()
        } else {
            Value::Null
        },
    );
    m.insert("head".into(), local.map_or(Value::Null, Value::from));
    m.insert("remoteHead".into(), remote.map_or(Value::Null, Value::from));
    m.insert("ahead".into(), ahead.into());
    m.insert("behind".into(), behind.into());
    m.insert(
        "uncommittedFiles".into(),
        (dirty.lines().filter(|l| !l.is_empty()).count() as u64).into(),
    );
    m.insert("devices".into(), Value::Object(devices));
    m.insert("merged".into(), stats.to_json());
    Ok(Value::Object(m))
}
