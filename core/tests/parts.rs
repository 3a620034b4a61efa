//! The cache and reasoning parts the tracker keeps (issue 9): summed in
//! stats, kept in logs, and durable everywhere the T1 counts are: the
//! snapshot (version 2), `usage-logs.jsonl`, the journal (`UBJRNL02`); and
//! directories written before parts (version 1 snapshot, lines without
//! parts, `UBJRNL01` segments), written here by hand from docs/FORMATS.md,
//! still open with the same totals.

use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use usagebook_core::{
    Durability, FileBackedTracker, ManualClock, NewUsageLog, TrackerOptions, Usage, UsageLog,
    UsageStats, UsageStatus, UsageTracker,
};

const T0: i64 = 1_736_000_000_000;

fn opts(durability: Durability, persist_logs: bool) -> TrackerOptions {
    TrackerOptions {
        flush_interval_ms: 1_000,
        flush_every_n_logs: 1_000_000,
        persist_logs,
        durability,
        ..TrackerOptions::default()
    }
}

fn open(dir: &Path, o: TrackerOptions, clock: &ManualClock) -> FileBackedTracker {
    FileBackedTracker::open_with_clock(dir, o, Arc::new(clock.clone())).unwrap()
}

fn parts(p: u64, c: u64, cache_read: u64, cache_write: u64, reasoning: u64) -> Usage {
    Usage {
        cache_read_tokens: cache_read,
        cache_write_tokens: cache_write,
        reasoning_tokens: reasoning,
        ..Usage::new(p, c, p + c)
    }
}

/// An Anthropic call with cache reads and writes, an OpenAI call with
/// cached and reasoning tokens, and a T1-only call, twice over two bridges.
fn track_some(t: &dyn UsageTracker, clock: &ManualClock) {
    let calls = [
        (
            "anthropic",
            parts(6200, 50, 1000, 5000, 0),
            UsageStatus::Success,
        ),
        ("openai", parts(1200, 300, 1000, 0, 200), UsageStatus::Error),
        ("openai", Usage::new(10, 5, 15), UsageStatus::Success),
        (
            "anthropic",
            parts(300, 40, 0, 300, 12),
            UsageStatus::Success,
        ),
    ];
    for (bridge, usage, status) in calls {
        t.track(&NewUsageLog {
            bridge_id: bridge,
            usage,
            duration_ms: Some(5.0),
            status,
        })
        .unwrap();
        clock.advance(1_000);
    }
}

fn parts_of(s: &UsageStats) -> (u64, u64, u64) {
    (
        s.cache_read_tokens,
        s.cache_write_tokens,
        s.reasoning_tokens,
    )
}

fn all_stats(t: &dyn UsageTracker) -> Vec<UsageStats> {
    ["", "anthropic", "openai"]
        .iter()
        .map(|b| t.stats(Some(b)).unwrap())
        .collect()
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

#[test]
fn t4_parts_are_summed_per_bridge_and_overall() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let t = open(dir.path(), opts(Durability::Interval, false), &clock);
    track_some(&t, &clock);
    let s = all_stats(&t);
    assert_eq!(parts_of(&s[0]), (2000, 5300, 212));
    assert_eq!(parts_of(&s[1]), (1000, 5300, 12));
    assert_eq!(parts_of(&s[2]), (1000, 0, 200));
    // T1 fields keep their meaning: promptTokens counts the cache tokens.
    assert_eq!(s[1].prompt_tokens, 6500);
    let json = s[0].to_json();
    assert_eq!(json["cacheReadTokens"], 2000);
    assert_eq!(json["cacheWriteTokens"], 5300);
    assert_eq!(json["reasoningTokens"], 212);
    t.close().unwrap();
}

#[test]
fn t9_parts_survive_a_restart_through_the_snapshot_and_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let t = open(dir.path(), opts(Durability::Interval, true), &clock);
    track_some(&t, &clock);
    let (stats, logs) = (all_stats(&t), t.logs(None).unwrap());
    t.close().unwrap();

    let root = dir.path().join("llm-usage");
    let snap = read_json(&root.join("usage-stats.json"));
    assert_eq!(snap["formatVersion"], 2);
    assert_eq!(
        snap["rollups"]["anthropic"][0],
        json!([
            T0 / 3_600_000 * 3_600_000,
            2,
            6500,
            90,
            6590,
            0,
            T0 + 3_000,
            1000,
            5300,
            12
        ])
    );
    assert_eq!(snap["perBridge"]["openai"]["reasoningTokens"], 200);
    let lines = std::fs::read_to_string(root.join("usage-logs.jsonl")).unwrap();
    let lines: Vec<&str> = lines.lines().collect();
    assert_eq!(
        lines[0],
        r#"{"id":"llm_log_1_1736000000000","timestamp":"2025-01-04T14:13:20.000Z","bridgeId":"anthropic","usage":{"promptTokens":6200,"completionTokens":50,"totalTokens":6250,"cacheReadTokens":1000,"cacheWriteTokens":5000},"durationMs":5,"status":"success"}"#
    );
    // A log without parts is written exactly as before parts existed.
    assert_eq!(
        lines[2],
        r#"{"id":"llm_log_3_1736000002000","timestamp":"2025-01-04T14:13:22.000Z","bridgeId":"openai","usage":{"promptTokens":10,"completionTokens":5,"totalTokens":15},"durationMs":5,"status":"success"}"#
    );

    let t = open(dir.path(), opts(Durability::Interval, true), &clock);
    assert_eq!(all_stats(&t), stats);
    assert_eq!(t.logs(None).unwrap(), logs);
    // Only from the snapshot (logs not persisted): the same totals.
    t.close().unwrap();
    let t = open(dir.path(), opts(Durability::Interval, false), &clock);
    assert_eq!(all_stats(&t), stats);
    // Clearing everything leaves a snapshot without parts: version 1.
    t.clear_logs(None).unwrap();
    t.close().unwrap();
    assert_eq!(
        read_json(&root.join("usage-stats.json"))["formatVersion"],
        1
    );
}

#[test]
fn t5_t9_clear_older_than_removes_the_parts_of_what_it_removes() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let t = open(dir.path(), opts(Durability::Interval, true), &clock);
    track_some(&t, &clock);
    // Keeps the last two calls (T0 + 2 s and T0 + 3 s).
    t.clear_logs(Some(T0 + 2_000)).unwrap();
    let s = all_stats(&t);
    assert_eq!((s[0].total_requests, parts_of(&s[0])), (2, (0, 300, 12)));
    t.close().unwrap();
    let t = open(dir.path(), opts(Durability::Interval, true), &clock);
    assert_eq!(all_stats(&t), s);
    t.close().unwrap();
}

#[test]
fn t9_log_lines_past_the_snapshot_replay_once_with_their_parts() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let t = open(dir.path(), opts(Durability::Interval, true), &clock);
    track_some(&t, &clock);
    let before = t.stats(None).unwrap();
    t.close().unwrap();
    // What a writer that crashed after appending, before its snapshot,
    // leaves: a new line with parts, and one written before parts existed.
    let path = dir.path().join("llm-usage/usage-logs.jsonl");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(r#"{"id":"llm_log_5_1736000009000","timestamp":"2025-01-04T14:13:29.000Z","bridgeId":"openai","usage":{"promptTokens":100,"completionTokens":20,"totalTokens":120,"cacheReadTokens":64,"reasoningTokens":8},"status":"success"}"#);
    text.push('\n');
    text.push_str(r#"{"id":"llm_log_6_1736000009500","timestamp":"2025-01-04T14:13:29.500Z","bridgeId":"openai","usage":{"promptTokens":1,"completionTokens":2,"totalTokens":3},"durationMs":7,"status":"error"}"#);
    text.push('\n');
    std::fs::write(&path, text).unwrap();

    let t = open(dir.path(), opts(Durability::Interval, true), &clock);
    let s = t.stats(None).unwrap();
    assert_eq!(s.total_requests, before.total_requests + 2);
    assert_eq!(
        parts_of(&s),
        (
            before.cache_read_tokens + 64,
            before.cache_write_tokens,
            before.reasoning_tokens + 8
        )
    );
    let logs = t.logs(Some("openai")).unwrap();
    assert_eq!(logs[logs.len() - 2].usage, parts(100, 20, 64, 0, 8));
    assert_eq!(logs[logs.len() - 1].usage, Usage::new(1, 2, 3));
    t.close().unwrap();
    // Replayed once: a second reopen counts them no more.
    let t = open(dir.path(), opts(Durability::Interval, true), &clock);
    assert_eq!(t.stats(None).unwrap(), s);
    t.close().unwrap();
}

/// Copies a directory tree (what a `kill -9` leaves on disk, taken while
/// the tracker still runs: the journal's mapped pages are in the page
/// cache, so reading the file sees them).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

#[test]
fn x5_journal_records_replay_with_their_parts() {
    for durability in [Durability::Process, Durability::Power] {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(T0);
        let t = open(dir.path(), opts(durability, false), &clock);
        track_some(&t, &clock);
        let stats = all_stats(&t);
        // Nothing was flushed: only the journal holds these events.
        let crashed = tempfile::tempdir().unwrap();
        copy_dir(dir.path(), crashed.path());
        t.close().unwrap();
        let seg = std::fs::read_dir(crashed.path().join("llm-usage/journal"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        assert_eq!(&std::fs::read(seg).unwrap()[..8], b"UBJRNL02");

        let t = open(crashed.path(), opts(durability, false), &clock);
        assert_eq!(all_stats(&t), stats, "{durability:?}");
        assert!(
            t.health().recovery.iter().any(|n| n.contains("replayed 4")),
            "{:?}",
            t.health().recovery
        );
        t.close().unwrap();
    }
}

/// A `UBJRNL01` segment as the previous version wrote it (FORMATS.md):
/// `[u32 len][u32 crc][seq, ts, prompt, completion, total, duration bits,
/// status u8, bridge len u16, bridge]`, then zeros.
fn v1_segment(records: &[(u64, i64, [u64; 3], u8, &str)]) -> Vec<u8> {
    let mut bytes = b"UBJRNL01".to_vec();
    bytes.extend_from_slice(&[0; 8]);
    for &(seq, ts, [p, c, t], status, bridge) in records {
        let mut payload = Vec::new();
        for v in [seq, ts as u64, p, c, t, f64::NAN.to_bits()] {
            payload.extend_from_slice(&v.to_le_bytes());
        }
        payload.push(status);
        payload.extend_from_slice(&(bridge.len() as u16).to_le_bytes());
        payload.extend_from_slice(bridge.as_bytes());
        bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&crc32(&payload).to_le_bytes());
        bytes.extend_from_slice(&payload);
    }
    bytes.resize(bytes.len() + 4096, 0);
    bytes
}

/// CRC-32 (IEEE), bit by bit: the journal's checksum, without a dependency.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn t9_a_directory_written_before_parts_opens_with_the_same_totals() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("llm-usage");
    std::fs::create_dir_all(root.join("journal")).unwrap();
    let hour = T0 / 3_600_000 * 3_600_000;
    // Version 1 snapshot: logs 1 and 2 are counted in it.
    let snap = json!({
        "formatVersion": 1,
        "perBridge": {"openai": {"totalRequests": 2, "promptTokens": 30, "completionTokens": 12,
            "totalTokens": 42, "averageTokensPerRequest": 21,
            "lastUsedAt": "2025-01-04T14:13:21.000Z", "errorCount": 0}},
        "updatedAt": "2025-01-04T14:13:21.000Z",
        "nextSeq": 3,
        "rollups": {"openai": [[hour, 2, 30, 12, 42, 0, T0 + 1_000]]}
    });
    std::fs::write(root.join("usage-stats.json"), snap.to_string()).unwrap();
    // Lines without parts: 1 and 2 (counted), 3 (after the snapshot).
    let lines = [
        r#"{"id":"llm_log_1_1736000000000","timestamp":"2025-01-04T14:13:20.000Z","bridgeId":"openai","usage":{"promptTokens":10,"completionTokens":5,"totalTokens":15},"durationMs":120,"status":"success"}"#,
        r#"{"id":"llm_log_2_1736000001000","timestamp":"2025-01-04T14:13:21.000Z","bridgeId":"openai","usage":{"promptTokens":20,"completionTokens":7,"totalTokens":27},"status":"success"}"#,
        r#"{"id":"llm_log_3_1736000002000","timestamp":"2025-01-04T14:13:22.000Z","bridgeId":"openai","usage":{"promptTokens":5,"completionTokens":5,"totalTokens":10},"status":"error"}"#,
    ];
    std::fs::write(root.join("usage-logs.jsonl"), lines.join("\n") + "\n").unwrap();
    // A version 1 journal segment with log 3 again and log 4.
    std::fs::write(
        root.join("journal/seg-0000000000000001.ubj"),
        v1_segment(&[
            (3, T0 + 2_000, [5, 5, 10], 1, "openai"),
            (4, T0 + 3_000, [1, 1, 2], 0, "local"),
        ]),
    )
    .unwrap();

    let clock = ManualClock::new(T0 + 10_000);
    let t = open(dir.path(), opts(Durability::Process, true), &clock);
    let s = t.stats(None).unwrap();
    assert_eq!(
        (
            s.total_requests,
            s.prompt_tokens,
            s.total_tokens,
            s.error_count
        ),
        (4, 36, 54, 1)
    );
    assert_eq!(parts_of(&s), (0, 0, 0));
    let logs: Vec<UsageLog> = t.logs(None).unwrap();
    assert_eq!(logs.iter().map(|l| l.seq).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert!(logs.iter().all(|l| !l.usage.has_parts()));
    // The old segment is covered by the fresh snapshot and gone; new
    // segments are version 2.
    let segs: Vec<_> = std::fs::read_dir(root.join("journal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(segs.len(), 1);
    assert_eq!(&std::fs::read(&segs[0]).unwrap()[..8], b"UBJRNL02");
    // New logs with parts join the old history.
    t.track(&NewUsageLog::new("openai", parts(50, 10, 30, 10, 4)))
        .unwrap();
    t.close().unwrap();
    let t = open(dir.path(), opts(Durability::Process, true), &clock);
    let s = t.stats(Some("openai")).unwrap();
    assert_eq!((s.total_requests, s.prompt_tokens), (4, 85));
    assert_eq!(parts_of(&s), (30, 10, 4));
    t.close().unwrap();
    assert_eq!(
        read_json(&root.join("usage-stats.json"))["formatVersion"],
        2
    );
}

#[test]
fn x1_parts_that_do_not_fit_are_refused_and_record_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let t = open(dir.path(), opts(Durability::Process, true), &clock);
    for (usage, field) in [
        (parts(10, 5, 11, 0, 0), "cacheReadTokens"),
        (parts(10, 5, 0, 0, 6), "reasoningTokens"),
        (
            parts(u64::from(u32::MAX) * 2, 0, u64::from(u32::MAX) + 1, 0, 0),
            "cacheReadTokens must be at most 4294967295",
        ),
    ] {
        let e = t.track(&NewUsageLog::new("a", usage)).unwrap_err();
        assert!(
            matches!(e, usagebook_core::Error::InvalidArgument(_)),
            "{e:?}"
        );
        assert!(e.to_string().contains(field), "{e}");
    }
    assert_eq!(t.stats(None).unwrap(), UsageStats::default());
    let h = t.intern_bridge("a").unwrap();
    assert!(t
        .track_interned(h, parts(1, 1, 2, 0, 0), None, UsageStatus::Success)
        .is_err());
    assert!(t.logs(None).unwrap().is_empty());
    t.close().unwrap();
}

#[test]
fn e7_tracker_logs_import_and_export_with_their_parts() {
    use usagebook_core::eventlog::read_events;
    use usagebook_core::export::{self, ExportFormat};
    use usagebook_core::import::{self, ImportFormat};
    use usagebook_core::report::zone::Zone;
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let t = open(dir.path(), opts(Durability::Interval, true), &clock);
    track_some(&t, &clock);
    t.close().unwrap();
    let lines = dir.path().join("llm-usage/usage-logs.jsonl");
    let events = dir.path().join("events.jsonl");
    let s = import::import(ImportFormat::TrackerLog, &lines, &events).unwrap();
    assert_eq!(s.added, 4);
    let read = read_events(&events).unwrap().events;
    let tk = read[0].tokens.unwrap();
    assert_eq!(
        (tk.input, tk.cache_read, tk.cache_write, tk.reasoning),
        (6200, 1000, 5000, 0)
    );
    assert_eq!(read[1].tokens.unwrap().reasoning, 200);
    // The T7 export gives the tracker's own lines back, parts and all.
    let back = export::export(&read, ExportFormat::TrackerLog, Zone::Utc, 0);
    assert_eq!(back, std::fs::read_to_string(&lines).unwrap());
    // Ids are derived from the lines (parts included): importing again adds nothing.
    let again = import::import(ImportFormat::TrackerLog, &lines, &events).unwrap();
    assert_eq!((again.added, again.skipped), (0, 4));
}
