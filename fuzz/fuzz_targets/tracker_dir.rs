//! A whole tracker directory: snapshot, usage-logs.jsonl and a journal
//! segment together (their interplay decides what is replayed, and what
//! counted once). First byte: bit 0 = `persistLogs`, bit 1 = `durability:
//! process`, bit 2 = journal framed with valid checksums (`framed_segment`),
//! bit 3 = `maxLogs: 2`; the rest is snapshot, separator, log file,
//! separator, journal segment. An empty part is a file not written.
#![no_main]
use libfuzzer_sys::fuzz_target;
use usagebook_core::store::Layout;
use usagebook_core::{Durability, TrackerOptions};
use usagebook_fuzz::{exercise_tracker, framed_segment, parts, scratch};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let p = parts(rest, 3);
    let base = scratch("dir");
    let layout = Layout::new(&base);
    std::fs::create_dir_all(layout.journal_dir()).unwrap();
    if !p[0].is_empty() {
        std::fs::write(layout.stats(), p[0]).unwrap();
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
