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
