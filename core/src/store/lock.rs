//! One owner per directory (T11), with an OS file lock: released by the
//! kernel when the owner exits, even on `kill -9`, so no stale lock files.

use crate::error::{Error, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

#[derive(Debug)]
pub struct DirLock {
    _file: File,
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
        match file.try_lock() {
            Ok(()) => Ok(DirLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(Error::Locked(dir.to_path_buf())),
            Err(TryLockError::Error(e)) => {
                Err(Error::io(format!("locking {}", lock_path.display()), e))
            }
        }
    }
}
