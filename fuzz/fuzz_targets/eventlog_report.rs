//! The grouped report over an event log (core/src/report/grouped.rs
//! `from_log`), which reads each request line with the byte-by-byte fast
//! path (core/src/report/fastline.rs) when it has the canonical shape and
//! with serde otherwise: "whatever this accepts, serde reads the same way".
//! Checked: the report of the input as a log file equals the report of the
//! same file with a space before every line (a line the fast path never
//! takes, and serde reads the same); rows add up to the total; errors <=
//! requests. The first byte's parity picks grouping by day or by model.
#![no_main]
use libfuzzer_sys::fuzz_target;
use usagebook_core::report::grouped::{from_log, GroupBy, GroupedReport, Query};
use usagebook_fuzz::scratch;

fuzz_target!(|data: &[u8]| {
    let by = if data.first().is_some_and(|b| b & 1 == 1) {
        GroupBy::Model
    } else {
        GroupBy::Day
    };
    let dir = scratch("eventlog");
    let path = dir.join("events.jsonl");
    let mut spaced = Vec::with_capacity(data.len() * 2);
    for (i, line) in data.split(|&b| b == b'\n').enumerate() {
        if i > 0 {
            spaced.push(b'\n');
        }
        if !line.iter().all(u8::is_ascii_whitespace) {
            spaced.push(b' ');
        }
        spaced.extend_from_slice(line);
    }
    {
        let q = Query::new(by);
        std::fs::write(&path, data).unwrap();
        let fast = from_log(&path, &q).expect("a report of any file");
        std::fs::write(&path, &spaced).unwrap();
        let slow = from_log(&path, &q).expect("a report of any file");
        assert_eq!(
            fast.rows, slow.rows,
            "fast path and serde disagree (rows, by {by:?})"
        );
        assert_eq!(
            fast.total, slow.total,
            "fast path and serde disagree (totals)"
        );
        // The space counts in the bytes of an incomplete last line.
        let mut want = fast.lines;
        want.incomplete_tail_bytes += u64::from(want.incomplete_tail_bytes > 0);
        assert_eq!(
            want, slow.lines,
            "fast path and serde disagree (line counts)"
        );
        assert_eq!(fast.other_events, slow.other_events);
        let notes = |r: &GroupedReport| -> Vec<String> {
            r.notes
                .iter()
                .filter(|n| !n.starts_with("skipped an incomplete last line"))
                .cloned()
                .collect()
        };
        assert_eq!(notes(&fast), notes(&slow));
        assert!(fast.total.errors <= fast.total.requests);
        let rows: u64 = fast.rows.iter().map(|r| r.sums.requests).sum();
        assert_eq!(rows, fast.total.requests, "rows do not add up to the total");
    }
});
