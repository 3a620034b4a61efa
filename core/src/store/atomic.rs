//! Crash-safe file replacement and "move aside, never delete" (T10).

use crate::error::{Error, Result};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` so that a crash at any moment leaves either the
/// old or the new content: temp file, fsync, rename, fsync of the directory.
/// When `backup` is given, the previous content is kept there first.
pub fn replace_file(path: &Path, bytes: &[u8], backup: Option<&Path>) -> Result<()> {
    let tmp = with_suffix(path, ".tmp");
    let ctx = |what: &str| format!("{what} {}", tmp.display());
    let mut f = File::create(&tmp).map_err(|e| Error::io(ctx("creating"), e))?;
    f.write_all(bytes)
        .map_err(|e| Error::io(ctx("writing"), e))?;
    f.sync_all().map_err(|e| Error::io(ctx("syncing"), e))?;
    drop(f);
    if let Some(bak) = backup {
        if path.exists() {
            // A hard link keeps `path` valid at every instant; the backup is
            // swapped in with an atomic rename of its own.
            let bak_tmp = with_suffix(bak, ".tmp");
            let _ = fs::remove_file(&bak_tmp);
            let linked =
                fs::hard_link(path, &bak_tmp).or_else(|_| fs::copy(path, &bak_tmp).map(|_| ()));
            if linked.is_ok() {
                fs::rename(&bak_tmp, bak)
                    .map_err(|e| Error::io(format!("keeping backup {}", bak.display()), e))?;
            }
        }
    }
    fs::rename(&tmp, path).map_err(|e| Error::io(format!("replacing {}", path.display()), e))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(format!("syncing directory {}", dir.display()), e))
}

pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

/// Renames an unreadable file to `<name>.corrupt-<ms>` and returns the new
/// path: recovery never deletes what it cannot read (T10).
pub fn move_aside(path: &Path, now_ms: i64) -> Result<PathBuf> {
    let mut target = with_suffix(path, &format!(".corrupt-{now_ms}"));
    let mut n = 1;
    while target.exists() {
        target = with_suffix(path, &format!(".corrupt-{now_ms}-{n}"));
        n += 1;
    }
    fs::rename(path, &target)
        .map_err(|e| Error::io(format!("moving aside {}", path.display()), e))?;
    Ok(target)
}
