//! Running the `git` command line: no prompts, no hooks, no signing, a
//! fixed identity, `LC_ALL=C` messages, and an optional deadline after
//! which the command is killed.
//!
//! Why the command line and not a library: it uses the user's own
//! credential helpers, `~/.ssh/config` and proxies exactly as `git push`
//! does in a terminal (libgit2's and libssh2's authentication differ from
//! git's; gitoxide cannot push yet), and it adds no C library to the
//! wheel or the addon. See docs/git-sync.md.

use crate::error::{Error, Result};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// The oldest git this is tested against in spirit: every command used
/// (`commit-tree`, `update-ref` with an old value, `merge-base
/// --is-ancestor`, `checkout-index --stdin -z`, `push --porcelain`) is
/// older than this.
pub const MIN_VERSION: (u32, u32) = (2, 20);

/// The output of one git command.
#[derive(Debug, Clone)]
pub struct Output {
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

impl Output {
    pub fn ok(&self) -> bool {
        self.status == Some(0) && !self.timed_out
    }
}

/// A git command runner bound to one working directory.
#[derive(Debug, Clone)]
pub struct Git {
    pub dir: PathBuf,
    /// Commands not finished by then are killed.
    pub deadline: Option<Instant>,
    pub identity: String,
    pub index_file: Option<PathBuf>,
}

impl Git {
    pub fn new(dir: impl Into<PathBuf>, identity: &str) -> Self {
        Git {
            dir: dir.into(),
            deadline: None,
            identity: identity.to_string(),
            index_file: None,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("git");
        c.current_dir(&self.dir)
            .args([
                "-c",
                "commit.gpgsign=false",
                "-c",
                "core.hooksPath=/dev/null",
                "-c",
                "gc.auto=0",
                "-c",
                "maintenance.auto=false",
            ])
            .args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GCM_INTERACTIVE", "never")
            .env("LC_ALL", "C")
            .env("GIT_AUTHOR_NAME", "usagebook")
            .env(
                "GIT_AUTHOR_EMAIL",
                format!("{}@usagebook.invalid", self.identity),
            )
            .env("GIT_COMMITTER_NAME", "usagebook")
            .env(
                "GIT_COMMITTER_EMAIL",
                format!("{}@usagebook.invalid", self.identity),
            )
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Batch mode: ssh fails instead of asking for a password or a host
        // key. A GIT_SSH_COMMAND of the user's own is kept (it is theirs to
        // make non-interactive).
        if std::env::var_os("GIT_SSH_COMMAND").is_none() && std::env::var_os("GIT_SSH").is_none() {
            c.env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes");
        }
        match &self.index_file {
            Some(f) => c.env("GIT_INDEX_FILE", f),
            None => c.env_remove("GIT_INDEX_FILE"),
        };
        c
    }

    /// Runs `git args`, feeding `input` to its stdin.
    pub fn run_with_input(&self, args: &[&str], input: &[u8]) -> Result<Output> {
        let mut child = match self.command(args).spawn() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && self.dir.is_dir() => {
                return Err(missing())
            }
            Err(e) => {
                return Err(Error::io(
                    format!("starting git in {}", self.dir.display()),
                    e,
                ))
            }
        };
        let mut stdin = child.stdin.take();
        let input = input.to_vec();
        let feeder = std::thread::spawn(move || {
            if let Some(s) = stdin.as_mut() {
                let _ = s.write_all(&input);
            }
            drop(stdin);
        });
        let mut out = child.stdout.take();
        let mut err = child.stderr.take();
        let r_out = std::thread::spawn(move || {
            let mut s = Vec::new();
            if let Some(o) = out.as_mut() {
                let _ = o.read_to_end(&mut s);
            }
            s
        });
        let r_err = std::thread::spawn(move || {
            let mut s = Vec::new();
            if let Some(o) = err.as_mut() {
                let _ = o.read_to_end(&mut s);
            }
            s
        });
        let mut timed_out = false;
        let status = loop {
            match child.try_wait() {
                Ok(Some(st)) => break st.code(),
                Ok(None) => {}
                Err(e) => return Err(Error::io("waiting for git", e)),
            }
            if self.deadline.is_some_and(|d| Instant::now() >= d) {
                let _ = child.kill();
                let _ = child.wait();
                timed_out = true;
                break None;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let _ = feeder.join();
        let stdout = String::from_utf8_lossy(&r_out.join().unwrap_or_default()).into_owned();
        let stderr = String::from_utf8_lossy(&r_err.join().unwrap_or_default()).into_owned();
        Ok(Output {
            status,
            stdout,
            stderr,
            timed_out,
        })
    }

    pub fn run(&self, args: &[&str]) -> Result<Output> {
        self.run_with_input(args, b"")
    }

    /// Runs and requires success; the error quotes git's message.
    pub fn ok(&self, args: &[&str]) -> Result<String> {
        let o = self.run(args)?;
        if o.ok() {
            Ok(o.stdout)
        } else {
            Err(failed(args, &o))
        }
    }

    /// `rev-parse --verify --quiet REF^{commit}`: `None` if it does not exist.
    pub fn rev(&self, r: &str) -> Result<Option<String>> {
        let spec = format!("{r}^{{commit}}");
        let o = self.run(&["rev-parse", "--verify", "--quiet", &spec])?;
        if o.ok() {
            Ok(Some(o.stdout.trim().to_string()))
        } else if o.timed_out {
            Err(failed(&["rev-parse", r], &o))
        } else {
            Ok(None)
        }
    }

    pub fn is_ancestor(&self, a: &str, b: &str) -> Result<bool> {
        let o = self.run(&["merge-base", "--is-ancestor", a, b])?;
        match o.status {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => Err(failed(&["merge-base", "--is-ancestor", a, b], &o)),
        }
    }
}

pub fn failed(args: &[&str], o: &Output) -> Error {
    let what = if o.timed_out {
        "timed out".to_string()
    } else {
        format!(
            "failed ({})",
            o.status.map_or("signal".into(), |c| c.to_string())
        )
    };
    Error::io(
        format!("git {} {what}", args.join(" ")),
        std::io::Error::other(o.stderr.trim().to_string()),
    )
}

fn missing() -> Error {
    Error::invalid(format!(
        "git sync needs the git command line (version {}.{} or newer) on PATH, and none was found: install git (Debian/Ubuntu: apt-get install git) or turn gitSync off",
        MIN_VERSION.0, MIN_VERSION.1
    ))
}

/// Checks that git exists and is new enough; returns its version text.
pub fn check_version() -> Result<String> {
    let o = match Command::new("git").arg("--version").output() {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(missing()),
        Err(e) => return Err(Error::io("starting git", e)),
    };
    let text = String::from_utf8_lossy(&o.stdout).trim().to_string();
    let v = parse_version(&text)
        .ok_or_else(|| Error::invalid(format!("cannot read the git version from {text:?}")))?;
    if v < MIN_VERSION {
        return Err(Error::invalid(format!(
            "git sync needs git {}.{} or newer; this is {text}",
            MIN_VERSION.0, MIN_VERSION.1
        )));
    }
    Ok(text)
}

pub fn parse_version(text: &str) -> Option<(u32, u32)> {
    let v = text.strip_prefix("git version ")?;
    let mut it = v.split(|c: char| !c.is_ascii_digit());
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

/// Lock files a killed git leaves behind, relative to the git directory.
pub fn lock_files(branch: &str) -> Vec<PathBuf> {
    vec![
        PathBuf::from("index.lock"),
        PathBuf::from("usagebook-index.lock"),
        PathBuf::from("HEAD.lock"),
        PathBuf::from("packed-refs.lock"),
        PathBuf::from("shallow.lock"),
        PathBuf::from(format!("refs/heads/{branch}.lock")),
        PathBuf::from(format!("refs/remotes/origin/{branch}.lock")),
    ]
}

/// Removes stale lock files of `git_dir`: a lock is stale when no running
/// git process works in `work_dir` (Linux: read from /proc), or, where that
/// cannot be told, when it is older than `max_age`. Returns what was removed.
pub fn clean_stale_locks(
    git_dir: &Path,
    work_dir: &Path,
    branch: &str,
    max_age: Duration,
) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let mut busy: Option<bool> = None;
    for rel in lock_files(branch) {
        let p = git_dir.join(rel);
        let Ok(meta) = std::fs::metadata(&p) else {
            continue;
        };
        let age = meta
            .modified()
            .ok()
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .unwrap_or_default();
        let git_running = *busy.get_or_insert_with(|| git_process_in(work_dir).unwrap_or(true));
        let stale = (!git_running && age >= Duration::from_millis(500)) || age >= max_age;
        if stale && std::fs::remove_file(&p).is_ok() {
            removed.push(p);
        }
    }
    removed
}

/// Whether a process named `git` (or `git-*`) has its working directory in
/// `dir`. `None` where /proc cannot tell.
pub fn git_process_in(dir: &Path) -> Option<bool> {
    let dir = std::fs::canonicalize(dir).ok()?;
    let entries = std::fs::read_dir("/proc").ok()?;
    let me = std::process::id().to_string();
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str() else { continue };
        if !pid.bytes().all(|b| b.is_ascii_digit()) || pid == me {
            continue;
        }
        let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
        let comm = comm.trim();
        if comm != "git" && !comm.starts_with("git-") {
            continue;
        }
        if let Ok(cwd) = std::fs::read_link(e.path().join("cwd")) {
            if cwd.starts_with(&dir) {
                return Some(true);
            }
        }
    }
    Some(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_version("git version 2.47.3"), Some((2, 47)));
        assert_eq!(
            parse_version("git version 2.39.5 (Apple Git-154)"),
            Some((2, 39))
        );
        assert_eq!(parse_version("nope"), None);
        check_version().unwrap();
    }
}
