//! One owner per directory (T11), with an OS file lock: released by the
//! kernel when the owner exits, even on `kill -9`, so no stale lock files.
//!
//! Two locks are taken: on `.lock` (what earlier versions take, so old and
//! new never share a directory) and on the directory itself. A `.lock`
//! deleted under an open tracker used to let a second opener in (it made a
//! new file and locked that); the directory cannot be swapped that way.

use crate::error::{Error, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

#[derive(Debug)]
pub struct DirLock {
    _file: File,
    /// `None` where a directory cannot be opened as a file (Windows).
    _dir: Option<File>,
}

impl DirLock {
    /// Takes the lock or fails at once with [`Error::Locked`]. The lock is
    /// per open file, so a second tracker in the same process fails too.
    pub fn acquire(lock_path: &Path, dir: &Path) -> Result<DirLock> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(lock_path)
            .map_err(|e| Error::io(format!("opening lock file {}", lock_path.display()), e))?;
        take(&file, lock_path, dir)?;
        let mut dir_file = None;
        if cfg!(unix) {
            let root = lock_path.parent().unwrap_or(Path::new("."));
            let f = File::open(root)
                .map_err(|e| Error::io(format!("opening {}", root.display()), e))?;
            take(&f, root, dir)?;
            dir_file = Some(f);
        }
        Ok(DirLock {
            _file: file,
            _dir: dir_file,
        })
    }
}

fn take(file: &File, path: &Path, dir: &Path) -> Result<()> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(TryLockError::WouldBlock) => Err(Error::Locked(dir.to_path_buf())),
        Err(TryLockError::Error(e)) => Err(Error::io(format!("locking {}", path.display()), e)),
    }
}
