//! A whole tracker directory: snapshot, usage-logs.jsonl, a journal
//! segment and a rollup archive day file together (their interplay decides
//! what is replayed, and what counted once). First byte: bit 0 =
//! `persistLogs`, bit 1 = `durability: process`, bit 2 = journal framed
//! with valid checksums (`framed_segment`), bit 3 = `maxLogs: 2`, bit 4 =
//! snapshot and day file sealed with a valid checksum (so the fuzzer gets
//! past it to the version 3 archive); the rest is snapshot, separator, log
//! file, separator, journal segment, separator, day file (generation 1).
//! An empty part is a file not written. A report of the directory is read
//! too (it reads the archive).
#![no_main]
use libfuzzer_sys::fuzz_target;
use usagebook_core::store::Layout;
use usagebook_core::{Durability, TrackerOptions};
use usagebook_fuzz::{exercise_tracker, framed_segment, parts, scratch};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let p = parts(rest, 4);
    let sealed = |b: &[u8]| {
        if flags & 16 == 16 {
            usagebook_core::store::snapshot::seal(b.to_vec())
        } else {
            b.to_vec()
        }
    };
    let base = scratch("dir");
    let layout = Layout::new(&base);
    std::fs::create_dir_all(layout.journal_dir()).unwrap();
    if !p[0].is_empty() {
        std::fs::write(layout.stats(), sealed(p[0])).unwrap();
    }
    if !p[1].is_empty() {
        std::fs::write(layout.logs(), p[1]).unwrap();
    }
    if !p[2].is_empty() {
        let seg = if flags & 4 == 4 {
            framed_segment(p[2])
        } else {
            p[2].to_vec()
        };
        std::fs::write(layout.journal_dir().join("seg-0000000000000001.ubj"), seg).unwrap();
    }
    if !p[3].is_empty() {
        let dir = layout.rollups_dir();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("2025-01-04.g0000000001.json"), sealed(p[3])).unwrap();
    }
    let _ = usagebook_core::report::read_history(&base);
    let opts = TrackerOptions {
        persist_logs: flags & 1 == 1,
        durability: if flags & 2 == 2 {
            Durability::Process
        } else {
            Durability::Interval
        },
        max_logs: if flags & 8 == 8 { 2 } else { 50 },
        ..TrackerOptions::default()
    };
    exercise_tracker(&base, opts);
});
