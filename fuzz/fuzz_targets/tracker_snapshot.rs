//! Tracker snapshots (core/src/store/snapshot.rs, `usage-stats.json` and its
//! `.bak`), fuzzed through the public API: the input (primary, separator,
//! backup) is written into a fresh tracker directory and
//! `FileBackedTracker::open`ed. See `exercise_tracker` for what is checked.
#![no_main]
use libfuzzer_sys::fuzz_target;
use usagebook_core::store::Layout;
use usagebook_core::TrackerOptions;
use usagebook_fuzz::{exercise_tracker, parts, scratch};

fuzz_target!(|data: &[u8]| {
    let base = scratch("snapshot");
    let layout = Layout::new(&base);
    std::fs::create_dir_all(&layout.root).unwrap();
    let p = parts(data, 2);
    std::fs::write(layout.stats(), p[0]).unwrap();
    if !p[1].is_empty() {
        std::fs::write(layout.stats_backup(), p[1]).unwrap();
    }
    let opts = TrackerOptions {
        max_logs: 5,
        ..TrackerOptions::default()
    };
    exercise_tracker(&base, opts);
});
