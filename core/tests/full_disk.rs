//! A real full file system (a 2 MiB tmpfs mounted by the test; root, as CI
//! and these machines are): the ledger reports the failure at the call and
//! loses nothing once space is back.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use usagebook_core::ledger::{BudgetMode, EventType, Ledger, LedgerEvent, LedgerOptions, Scope};

struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("running mount");
        assert!(
            st.success(),
            "mounting a tmpfs needs root (CI runs as root)"
        );
        Tmpfs { dir }
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// Fills the file system: returns the filler's path (delete it to free).
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let p = dir.join("filler");
    let mut f = std::fs::File::create(&p).unwrap();
    let block = vec![0xa5u8; 64 * 1024];
    loop {
        if f.write_all(&block).is_err() {
            break;
        }
    }
    // Byte by byte for the last partial block.
    while f.write_all(&[0]).is_ok() {}
    let _ = f.sync_all();
    p
}

fn commit(trace: &str, nusd: i64) -> LedgerEvent {
    let mut e = LedgerEvent::new(EventType::Commit, trace, "openai", "gpt-4o", now_s());
    e.cost_actual_nusd = Some(nusd);
    e
}

fn now_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn x_sync_write_on_a_full_disk_fails_at_the_call_and_is_written_later() {
    let fs = Tmpfs::mount("2m");
    let db = fs.path().join("ledger.db");
    let l = Ledger::open(
        &db,
        LedgerOptions {
            mode: BudgetMode::BestEffort,
            ..LedgerOptions::default()
        },
    )
    .unwrap();
    l.write_event(commit("before", 1_000), true).unwrap();
    let filler = fill(fs.path());
    // Enough events to need new database pages on a full disk.
    for i in 0..200 {
        l.write_event(commit(&format!("queued-{i}"), 1), false)
            .unwrap();
    }
    let started = Instant::now();
    let r = l.write_event(commit("sync", 500), true);
    let waited = started.elapsed();
    let err = r.expect_err("a sync write cannot be durable on a full disk");
    assert!(err.to_string().contains("stays queued"), "{err}");
    assert!(waited < Duration::from_secs(30), "gave up after {waited:?}");
    // Nothing is lost: counted now, written once there is room.
    assert_eq!(l.spend_today(&Scope::All, None).unwrap(), 1_000 + 200 + 500);
    std::fs::remove_file(filler).unwrap();
    l.flush().unwrap();
    l.close().unwrap();
    let again = Ledger::open(&db, LedgerOptions::default()).unwrap();
    assert_eq!(
        again.spend_today(&Scope::All, None).unwrap(),
        1_000 + 200 + 500
    );
    again.close().unwrap();
}

/// Issue 11 #1: in `process` durability the journal is memory-mapped; a
/// write into an unreserved block on a full disk used to kill the host with
/// SIGBUS (exit 135). Segments now reserve their blocks up front, so the
/// record that needs a new segment fails at the call with a storage error,
/// and every acknowledged event survives a `kill -9`.
#[test]
fn x5_a_full_disk_in_process_mode_is_an_error_at_the_call_never_a_signal() {
    let fs = Tmpfs::mount("24m");
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "full_disk_process_mode_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, fs.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        out.status.signal(),
        Some(9),
        "the child must end by its own kill -9, not {:?} (SIGBUS is 7)\n{stdout}\n{stderr}",
        out.status
    );
    let acknowledged: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("acknowledged "))
        .unwrap_or_else(|| panic!("no count from the child\n{stdout}\n{stderr}"))
        .trim()
        .parse()
        .unwrap();
    assert!(stdout.contains("refused with a storage error"), "{stdout}");
    let back = FileBackedTracker::open(fs.path(), process_mode()).unwrap();
    assert_eq!(back.stats(None).unwrap().total_requests, acknowledged);
    assert!(
        back.health()
            .recovery
            .iter()
            .any(|n| n.contains("replayed")),
        "{:?}",
        back.health().recovery
    );
    back.close().unwrap();
}

const CHILD_DIR: &str = "USAGEBOOK_FULL_DISK_CHILD_DIR";

use usagebook_core::{
    Durability, Error, FileBackedTracker, NewUsageLog, TrackerOptions, Usage, UsageTracker,
};

fn process_mode() -> TrackerOptions {
    TrackerOptions {
        durability: Durability::Process,
        // No snapshot before the kill: the journal alone carries the events.
        flush_interval_ms: 3_600_000,
        flush_every_n_logs: 1_000_000,
        ..TrackerOptions::default()
    }
}

/// The child of the test above (does nothing unless that test started it).
#[test]
fn full_disk_process_mode_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let t = FileBackedTracker::open(&dir, process_mode()).unwrap();
    let filler = fill(&dir);
    // About 4 KB a record: the reserved 8 MiB segment fills after ~2,000
    // records and the next one cannot be reserved on the full disk.
    let bridge = "b".repeat(4000);
    let mut acknowledged = 0u64;
    let mut refused = None;
    for _ in 0..5_000 {
        match t.track(&NewUsageLog::new(&bridge, Usage::new(1, 2, 3))) {
            Ok(()) => acknowledged += 1,
            Err(e) => {
                refused = Some(e);
                break;
            }
        }
    }
    let err = refused.expect("a full disk must refuse the record that needs a new segment");
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("journal segment"), "{err}");
    assert!(
        acknowledged > 1_000,
        "only {acknowledged} before the disk was full"
    );
    // Refused, not recorded.
    assert_eq!(t.stats(None).unwrap().total_requests, acknowledged);
    println!("refused with a storage error: {err}");
    std::fs::remove_file(filler).unwrap();
    for _ in 0..10 {
        t.track(&NewUsageLog::new("after", Usage::new(1, 2, 3)))
            .unwrap();
        acknowledged += 1;
    }
    println!("acknowledged {acknowledged}");
    use std::io::Write;
    std::io::stdout().flush().unwrap();
    let _ = Command::new("kill")
        .args(["-9", &std::process::id().to_string()])
        .status();
    std::thread::sleep(Duration::from_secs(30));
    unreachable!("kill -9 of ourselves did not stop us");
}
