//! Claude Code session logs (E6, core/src/claude_code.rs): every line is a
//! usage message, a line without usage, a `<synthetic>` one or malformed;
//! a usage message's tokens keep their parts within their totals and its
//! cost is finite and >= 0. The whole input as one session file reads
//! (`parse_path`) with every non-blank line accounted for, each message once.
#![no_main]
use libfuzzer_sys::fuzz_target;
use usagebook_core::claude_code::{self, Line};
use usagebook_fuzz::{check_tokens, scratch};

fuzz_target!(|data: &[u8]| {
    let mut usage_lines = 0u64;
    for line in data.split(|&b| b == b'\n') {
        if let Line::Usage(m) = claude_code::parse_line(line) {
            usage_lines += 1;
            check_tokens(&m.tokens, "message");
            if let Some(c) = m.cost_usd {
                assert!(c.is_finite() && c >= 0.0, "costUSD {c}");
            }
            let key = claude_code::dedup_key(m.message_id.as_deref(), m.request_id.as_deref());
            let e = claude_code::event(&m, Some("p"), key.as_deref().unwrap_or("k"));
            assert_eq!(e.tokens, Some(m.tokens));
            assert!(
                e.cost_nano_usd.is_none_or(|n| n >= 0),
                "negative nano-USD {e:?}"
            );
        }
    }
    let dir = scratch("claude-code");
    let file = dir.join("session.jsonl");
    std::fs::write(&file, data).unwrap();
    let Ok(p) = claude_code::parse_path(&file) else {
        return;
    };
    assert_eq!(p.files, 1);
    assert!(
        p.events.len() as u64 <= usage_lines,
        "more events than usage lines"
    );
    assert!(
        p.events.len() as u64 + p.duplicates <= usage_lines,
        "more events and duplicates than usage lines"
    );
    for e in &p.events {
        check_tokens(&e.tokens.expect("an event has tokens"), "event");
    }
    let mut ids: Vec<_> = p.events.iter().map(|e| e.id).collect();
    ids.sort();
    let n = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), n, "one message became two events with one id");
});
