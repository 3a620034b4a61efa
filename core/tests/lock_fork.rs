//! T11 and forks: a process that forks (any `Command`, the host's own or
//! git sync's) shares every open file with the child until it execs, the
//! directory lock's too. Closing a tracker and reopening it at once then
//! saw its own released lock as held (`Locked`, seen in CI when another
//! test spawned `cp`). The lock is retried for a short grace instead.

#![cfg(unix)]

use usagebook_core::{Error, FileBackedTracker, NewUsageLog, TrackerOptions, Usage, UsageTracker};

#[test]
fn t11_reopen_at_once_while_a_forked_child_still_holds_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let t = FileBackedTracker::open(dir.path(), TrackerOptions::default()).unwrap();
    t.track(&NewUsageLog::new("a", Usage::new(1, 1, 2)))
        .unwrap();
    // The child holds copies of every descriptor for 100 ms, as a fork does
    // until its exec; it calls only async-signal-safe functions.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        unsafe {
            libc::usleep(100_000);
            libc::_exit(0);
        }
    }
    t.close().unwrap();
    drop(t);
    let t = FileBackedTracker::open(dir.path(), TrackerOptions::default()).unwrap();
    assert_eq!(t.stats(None).unwrap().total_requests, 1);
    // A live owner is still refused, after the grace.
    let second = FileBackedTracker::open(dir.path(), TrackerOptions::default());
    assert!(
        matches!(second, Err(Error::Locked(_))),
        "{:?}",
        second.err()
    );
    t.close().unwrap();
    let mut status = 0;
    unsafe { libc::waitpid(pid, &mut status, 0) };
}
