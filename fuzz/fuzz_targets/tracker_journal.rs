//! Tracker journal segments (core/src/store/journal.rs, `journal/seg-*.ubj`),
//! through `journal::read_all` and `FileBackedTracker::open`. The first
//! byte chooses: bit 0 set = the rest is written as the segment file as it
//! is; clear = the rest is `[u16 len][payload]` pairs framed with correct
//! lengths and checksums (`framed_segment`), so the record decoder is
//! reached; bit 1 = open with `durability: process` (else `interval`).
//!
//! Checked besides `exercise_tracker`: with no snapshot, the tracker counts
//! exactly the distinct sequence numbers of the records read.
#![no_main]
use libfuzzer_sys::fuzz_target;
use usagebook_core::store::{journal, Layout};
use usagebook_core::{Durability, FileBackedTracker, TrackerOptions, UsageTracker};
use usagebook_fuzz::{exercise_tracker, framed_segment, scratch};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let seg = if flags & 1 == 1 {
        rest.to_vec()
    } else {
        framed_segment(rest)
    };
    let base = scratch("journal");
    let layout = Layout::new(&base);
    let jdir = layout.journal_dir();
    std::fs::create_dir_all(&jdir).unwrap();
    std::fs::write(jdir.join("seg-0000000000000001.ubj"), &seg).unwrap();
    let records = journal::read_all(&jdir)
        .expect("reading a journal directory")
        .records;
    for r in &records {
        assert!(r.bridge.len() <= u16::MAX as usize);
    }
    let mut seqs: Vec<u64> = records.iter().map(|r| r.seq).filter(|&s| s >= 1).collect();
    seqs.sort_unstable();
    seqs.dedup();
    if !usagebook_fuzz::strict() && usagebook_fuzz::near_max_seq(&base) {
        return; // open finding F2 (docs/fuzzing.md)
    }
    let durability = if flags & 2 == 2 {
        Durability::Process
    } else {
        Durability::Interval
    };
    let opts = TrackerOptions {
        max_logs: 5,
        durability,
        ..TrackerOptions::default()
    };
    {
        let Ok(t) = FileBackedTracker::open(&base, opts.clone()) else {
            return;
        };
        let s = t.stats(None).unwrap();
        assert_eq!(
            s.total_requests,
            seqs.len() as u64,
            "{} distinct records in the journal, {} requests counted",
            seqs.len(),
            s.total_requests
        );
        t.close().unwrap();
    }
    // And once more from what that open left (snapshot, no journal).
    exercise_tracker(&base, opts);
});
