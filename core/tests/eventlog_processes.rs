//! E1 with real processes: four writers append to one event log at the same
//! time, without any lock, and every line comes out whole.
//!
//! The test binary re-runs itself as each writer (the ignored test
//! `append_child`, selected with `--exact --ignored`), as crash.rs does.

use std::collections::HashSet;
use std::process::{Command, Stdio};
use usagebook_core::eventlog::{read_events, Event, EventLog, Status, Tokens};

const CHILD_ENV: &str = "USAGEBOOK_EVENTLOG_CHILD";
const WRITERS: u64 = 4;
const PER_WRITER: u64 = 3_000;

#[test]
#[ignore = "child process of e1_four_processes_append_concurrently"]
fn append_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (writer, path) = spec.split_once('|').unwrap();
    let writer: u64 = writer.parse().unwrap();
    let log = EventLog::open(path).unwrap();
    for i in 0..PER_WRITER {
        let mut e = Event::request(
            format!("writer-{writer}"),
            Tokens {
                input: i,
                output: writer,
                total: i + writer,
                ..Tokens::default()
            },
            Status::Success,
        );
        // Lines of very different sizes, some far above PIPE_BUF and the
        // page size, so that torn or interleaved writes would show.
        let pad = (i * 7919 + writer * 131) % 9_000;
        e.extra.insert(
            "pad".into(),
            char::from(b'a' + writer as u8)
                .to_string()
                .repeat(pad as usize)
                .into(),
        );
        e.extra.insert("seq".into(), i.into());
        log.append(&e).unwrap();
    }
}

#[test]
fn e1_four_processes_append_concurrently_and_every_line_is_intact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..WRITERS)
        .map(|w| {
            Command::new(&exe)
                .args(["--exact", "append_child", "--ignored", "--test-threads=1"])
                .env(CHILD_ENV, format!("{w}|{}", path.display()))
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success(), "a writer failed");
    }

    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count() as u64, WRITERS * PER_WRITER);
    let r = read_events(&path).unwrap();
    assert_eq!(r.counts.malformed, 0, "torn or interleaved lines");
    assert_eq!(r.counts.blank, 0);
    assert_eq!(r.counts.duplicates, 0);
    assert_eq!(r.counts.incomplete_tail_bytes, 0);
    assert_eq!(r.events.len() as u64, WRITERS * PER_WRITER);

    let mut seen = HashSet::new();
    let mut interleaved = false;
    let mut last_writer = None;
    for e in &r.events {
        let w = e.tokens.unwrap().output;
        let seq = e.extra["seq"].as_u64().unwrap();
        assert_eq!(e.bridge.as_deref(), Some(format!("writer-{w}").as_str()));
        let pad = e.extra["pad"].as_str().unwrap();
        let want = char::from(b'a' + w as u8);
        assert!(
            pad.chars().all(|c| c == want),
            "line of writer {w} holds another's bytes"
        );
        assert_eq!(pad.len() as u64, (seq * 7919 + w * 131) % 9_000);
        assert!(seen.insert((w, seq)), "writer {w} line {seq} twice");
        interleaved |= last_writer.is_some_and(|l| l != w);
        last_writer = Some(w);
    }
    assert_eq!(seen.len() as u64, WRITERS * PER_WRITER);
    // Each writer's own lines are in its order.
    for w in 0..WRITERS {
        let seqs: Vec<u64> = r
            .events
            .iter()
            .filter(|e| e.tokens.unwrap().output == w)
            .map(|e| e.extra["seq"].as_u64().unwrap())
            .collect();
        assert!(
            seqs.windows(2).all(|p| p[0] < p[1]),
            "writer {w} out of order"
        );
    }
    eprintln!("writers interleaved in the file: {interleaved}");
}
