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
    /// Takes the lock or fails with [`Error::Locked`] (after [`FORK_GRACE`]). The lock is
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

/// How long a lock held elsewhere is retried before `Locked`. A process
/// that forks (any `Command`: the host's own, or our git sync's) briefly
/// shares every open file with the child until it execs, and with them the
/// lock: closing a tracker and opening it again at once could then see its
/// own, just released lock as held. The child drops it within milliseconds.
const FORK_GRACE: std::time::Duration = std::time::Duration::from_millis(300);

fn take(file: &File, path: &Path, dir: &Path) -> Result<()> {
    let deadline = std::time::Instant::now() + FORK_GRACE;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(TryLockError::WouldBlock) => return Err(Error::Locked(dir.to_path_buf())),
            Err(TryLockError::Error(e)) => {
                return Err(Error::io(format!("locking {}", path.display()), e))
            }
        }
    }
}
