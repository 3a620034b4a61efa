//! Cross-device sync through git (seed 003, G1–G6; issue 13).
//!
//! Every device writes only its own files in the repository:
//! `<root>/devices/<device-id>/<yyyy-mm>/<segment-id>.jsonl`, where `<root>`
//! is the directory of the configured `path` (default `usage/usage.json`,
//! so `usage/`). A segment is append-only: event-log lines (see
//! `crate::eventlog`) carrying a UUIDv7 `id` and the `device`; a segment is
//! sealed (a new one is started) when it passes a size or an age, when the
//! month changes, and at every open. Because no two devices (and no two
//! processes) ever write the same file, merging the histories of two
//! devices is always clean; the merged view is the union of every device's
//! events, deduplicated by id ([`merged`]).
//!
//! The sync loop ([`sync`]) runs the `git` command line: it commits this
//! device's directory only, fetches, merges onto the remote branch without
//! touching the working tree (paths never overlap), and pushes without
//! force, retrying a rejected push with backoff and jitter. See
//! docs/git-sync.md.

pub mod git;
pub mod merged;
pub mod segment;
pub mod summary;
pub mod sync;

use crate::error::{Error, Result};
use serde_json::{Map, Value};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

pub use merged::{MergedStats, MergedView};
pub use segment::SegmentWriter;
pub use sync::{GitSync, SyncReport, SyncStatus};

/// The `gitSync` option of a tracker (camelCase keys, as the PRD names
/// them: `enabled`, `path`, `syncInterval`, plus `repoDir`, `remote`,
/// `branch`, `deviceId`).
#[derive(Debug, Clone, PartialEq)]
pub struct GitSyncConfig {
    /// False: everything stays in the local files only (G4).
    pub enabled: bool,
    /// Relative to `repoDir`; its directory is the usage root
    /// (`usage/usage.json` → `usage/devices/...`). Refused outside the
    /// repository (G5).
    pub path: String,
    /// Zero = sync only at close (and on `syncNow`).
    pub sync_interval: Duration,
    pub repo_dir: PathBuf,
    /// Cloned from when `repoDir` does not exist yet; `origin`.
    pub remote: Option<String>,
    pub branch: String,
    /// Normally absent: the id is generated once and kept outside the
    /// repository (in the tracker's directory). Given here, it is the
    /// caller's promise that no other device uses it.
    pub device_id: Option<String>,
    /// A segment is sealed past this many bytes.
    pub segment_max_bytes: u64,
    /// A segment is sealed when it is this old.
    pub segment_max_age: Duration,
    /// How long the final sync at close may take.
    pub close_timeout: Duration,
}

pub const DEFAULT_PATH: &str = "usage/usage.json";
pub const DEFAULT_BRANCH: &str = "main";

impl GitSyncConfig {
    pub fn new(repo_dir: impl Into<PathBuf>) -> Self {
        GitSyncConfig {
            enabled: true,
            path: DEFAULT_PATH.into(),
            sync_interval: Duration::from_secs(15 * 60),
            repo_dir: repo_dir.into(),
            remote: None,
            branch: DEFAULT_BRANCH.into(),
            device_id: None,
            segment_max_bytes: 4 << 20,
            segment_max_age: Duration::from_secs(24 * 3600),
            close_timeout: Duration::from_secs(30),
        }
    }

    /// Parses the `gitSync` JSON object. Unknown keys and wrong types are
    /// errors naming the key.
    pub fn from_json(v: &Value) -> Result<Self> {
        let o: &Map<String, Value> = v
            .as_object()
            .ok_or_else(|| Error::invalid("option gitSync must be an object"))?;
        let repo = o
            .get("repoDir")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::invalid("option gitSync.repoDir must be a non-empty string"))?;
        let mut c = GitSyncConfig::new(repo);
        for (k, v) in o {
            if v.is_null() {
                continue;
            }
            let s = || {
                v.as_str()
                    .ok_or_else(|| Error::invalid(format!("option gitSync.{k} must be a string")))
            };
            match k.as_str() {
                "repoDir" => {}
                "enabled" => {
                    c.enabled = v.as_bool().ok_or_else(|| {
                        Error::invalid("option gitSync.enabled must be a boolean")
                    })?
                }
                "path" => c.path = s()?.to_string(),
                "syncInterval" => c.sync_interval = parse_duration(s()?, "gitSync.syncInterval")?,
                "remote" => c.remote = Some(s()?.to_string()).filter(|r| !r.is_empty()),
                "branch" => c.branch = s()?.to_string(),
                "deviceId" => c.device_id = Some(s()?.to_string()),
                "segmentMaxBytes" => {
                    c.segment_max_bytes = v.as_u64().filter(|&n| n > 0).ok_or_else(|| {
                        Error::invalid("option gitSync.segmentMaxBytes must be an integer >= 1")
                    })?
                }
                "segmentMaxAge" => {
                    c.segment_max_age = parse_duration(s()?, "gitSync.segmentMaxAge")?
                }
                "closeTimeout" => c.close_timeout = parse_duration(s()?, "gitSync.closeTimeout")?,
                other => {
                    return Err(Error::invalid(format!(
                        "unknown option gitSync.{other}; known: enabled, path, syncInterval, repoDir, remote, branch, deviceId, segmentMaxBytes, segmentMaxAge, closeTimeout"
                    )))
                }
            }
        }
        c.validate()?;
        Ok(c)
    }

    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("enabled".into(), self.enabled.into());
        m.insert("path".into(), self.path.clone().into());
        m.insert(
            "syncInterval".into(),
            format_duration(self.sync_interval).into(),
        );
        m.insert(
            "repoDir".into(),
            self.repo_dir.to_string_lossy().into_owned().into(),
        );
        if let Some(r) = &self.remote {
            m.insert("remote".into(), r.clone().into());
        }
        m.insert("branch".into(), self.branch.clone().into());
        if let Some(d) = &self.device_id {
            m.insert("deviceId".into(), d.clone().into());
        }
        Value::Object(m)
    }

    pub fn validate(&self) -> Result<()> {
        self.usage_root()?;
        validate_branch(&self.branch)?;
        if let Some(d) = &self.device_id {
            validate_device_id(d)?;
        }
        Ok(())
    }

    /// The usage root inside the repository (the directory of `path`),
    /// relative. A `path` that leaves the repository is refused (G5).
    pub fn usage_root(&self) -> Result<PathBuf> {
        usage_root_of(&self.path)
    }
}

/// The directory of `path` (relative to the repository), refused if it is
/// absolute or climbs out of the repository, or lies in `.git`.
pub fn usage_root_of(path: &str) -> Result<PathBuf> {
    let p = Path::new(path);
    let refuse = |why: &str| {
        Err(Error::invalid(format!(
            "option gitSync.path {path:?} {why}: it must be a relative path inside the repository, such as \"usage/usage.json\""
        )))
    };
    if path.is_empty() {
        return refuse("is empty");
    }
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => {
                if s == ".git" {
                    return refuse("is inside .git");
                }
                out.push(s)
            }
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return refuse("is outside the repository");
                }
            }
            Component::RootDir | Component::Prefix(_) => return refuse("is absolute"),
        }
    }
    let root = out.parent().map(Path::to_path_buf).unwrap_or_default();
    if root.as_os_str().is_empty() {
        return refuse("has no directory (the devices' files need one, e.g. usage/)");
    }
    Ok(root)
}

fn validate_branch(b: &str) -> Result<()> {
    let ok = !b.is_empty()
        && !b.starts_with('-')
        && !b.starts_with('/')
        && !b.ends_with('/')
        && !b.ends_with(".lock")
        && !b.contains("..")
        && b.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "option gitSync.branch {b:?} is not a branch name this supports (letters, digits, - _ . /)"
        )))
    }
}

/// A device id is a directory name: 1–64 of `[A-Za-z0-9._-]`, not starting
/// with a dot.
pub fn validate_device_id(d: &str) -> Result<()> {
    let ok = !d.is_empty()
        && d.len() <= 64
        && !d.starts_with('.')
        && d.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "device id {d:?} must be 1-64 of A-Z a-z 0-9 . _ - (not starting with a dot)"
        )))
    }
}

/// The device id kept in `file` (outside the repository), generated once
/// (a UUIDv7) if the file does not exist. A copied configuration carries no
/// id, so two devices never share one by accident.
pub fn device_id_from_file(file: &Path) -> Result<String> {
    match std::fs::read_to_string(file) {
        Ok(s) => {
            let id = s.trim().to_string();
            validate_device_id(&id)
                .map_err(|e| Error::invalid(format!("{}: {e}", file.display())))?;
            Ok(id)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
            }
            let id = uuid::Uuid::now_v7().to_string();
            // Written to a temporary name then renamed: a crash never leaves
            // a half-written id, and two processes racing keep one id.
            let tmp = file.with_extension(format!("tmp{}", std::process::id()));
            std::fs::write(&tmp, format!("{id}\n"))
                .map_err(|e| Error::io(format!("writing {}", tmp.display()), e))?;
            match std::fs::hard_link(&tmp, file) {
                Ok(()) => {
                    let _ = std::fs::remove_file(&tmp);
                    Ok(id)
                }
                Err(_) => {
                    let _ = std::fs::remove_file(&tmp);
                    device_id_from_file_existing(file)
                }
            }
        }
        Err(e) => Err(Error::io(format!("reading {}", file.display()), e)),
    }
}

fn device_id_from_file_existing(file: &Path) -> Result<String> {
    let s = std::fs::read_to_string(file)
        .map_err(|e| Error::io(format!("reading {}", file.display()), e))?;
    let id = s.trim().to_string();
    validate_device_id(&id)?;
    Ok(id)
}

/// `"30s"`, `"15m"`, `"1h"`, `"100ms"`, `"1d"`, `"0m"`, or combinations
/// such as `"1h30m"`.
pub fn parse_duration(s: &str, what: &str) -> Result<Duration> {
    let bad = || {
        Error::invalid(format!(
            "option {what} {s:?} is not a duration such as \"30s\", \"15m\", \"1h\" (units ms, s, m, h, d; \"0m\" = none)"
        ))
    };
    let t = s.trim();
    if t.is_empty() {
        return Err(bad());
    }
    let mut total_ms: u128 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: u128 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let mul: u128 = match unit {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(bad()),
        };
        total_ms = total_ms.saturating_add(n.saturating_mul(mul));
    }
    Ok(Duration::from_millis(total_ms.min(u64::MAX as u128) as u64))
}

pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        "0m".into()
    } else if ms.is_multiple_of(3_600_000) {
        format!("{}h", ms / 3_600_000)
    } else if ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// `<usage root>/devices`, relative to the repository.
pub fn devices_dir(root: &Path) -> PathBuf {
    root.join("devices")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g1_durations() {
        assert_eq!(parse_duration("30s", "x").unwrap(), Duration::from_secs(30));
        assert_eq!(
            parse_duration("15m", "x").unwrap(),
            Duration::from_secs(900)
        );
        assert_eq!(
            parse_duration("1h", "x").unwrap(),
            Duration::from_secs(3600)
        );
        assert_eq!(parse_duration("0m", "x").unwrap(), Duration::ZERO);
        assert_eq!(
            parse_duration("100ms", "x").unwrap(),
            Duration::from_millis(100)
        );
        assert_eq!(
            parse_duration("1h30m", "x").unwrap(),
            Duration::from_secs(5400)
        );
        for bad in ["", "15", "m", "15x", "-1s", "1.5h"] {
            assert!(parse_duration(bad, "x").is_err(), "{bad}");
        }
    }

    #[test]
    fn g5_path_outside_the_repository_is_refused() {
        assert_eq!(
            usage_root_of("usage/usage.json").unwrap(),
            Path::new("usage")
        );
        assert_eq!(usage_root_of("a/b/u.json").unwrap(), Path::new("a/b"));
        for bad in [
            "/etc/usage.json",
            "../x/usage.json",
            "usage.json",
            ".git/u.json",
            "",
        ] {
            let e = usage_root_of(bad).unwrap_err().to_string();
            assert!(e.contains("gitSync.path"), "{bad}: {e}");
        }
    }

    #[test]
    fn g1_config_names_and_defaults() {
        let c = GitSyncConfig::from_json(&serde_json::json!({"repoDir": "/r"})).unwrap();
        assert!(c.enabled);
        assert_eq!(c.path, "usage/usage.json");
        assert_eq!(c.sync_interval, Duration::from_secs(900));
        assert_eq!(c.branch, "main");
        let c = GitSyncConfig::from_json(&serde_json::json!({
            "repoDir": "/r", "enabled": false, "path": "u/x.json", "syncInterval": "0m",
            "remote": "/bare.git", "branch": "stats", "deviceId": "laptop"
        }))
        .unwrap();
        assert!(!c.enabled);
        assert_eq!(c.sync_interval, Duration::ZERO);
        assert_eq!(c.remote.as_deref(), Some("/bare.git"));
        let e =
            GitSyncConfig::from_json(&serde_json::json!({"repoDir": "/r", "syncinterval": "1m"}))
                .unwrap_err();
        assert!(e.to_string().contains("syncinterval"), "{e}");
        assert!(GitSyncConfig::from_json(&serde_json::json!({"path": "u/x.json"})).is_err());
    }

    #[test]
    fn device_id_is_generated_once() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("state/git-device-id");
        let a = device_id_from_file(&f).unwrap();
        let b = device_id_from_file(&f).unwrap();
        assert_eq!(a, b);
        validate_device_id(&a).unwrap();
    }
}
