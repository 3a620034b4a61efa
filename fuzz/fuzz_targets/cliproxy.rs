//! CLIProxyAPI usage exports and snapshots (G6, core/src/cliproxy.rs):
//! `cliproxy::parse` gives events or an error. Every detail is an event or
//! counted as malformed or blank-API; and `export` of the events parses back
//! to the same events (same dedup-derived ids, times, tokens, status).
#![no_main]
use libfuzzer_sys::fuzz_target;
use usagebook_core::cliproxy;
use usagebook_core::eventlog::{EventKind, Status};
use usagebook_core::report::zone::Zone;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(p) = cliproxy::parse(text) else { return };
    for e in &p.events {
        assert_eq!(e.kind, EventKind::Request);
        assert!(
            e.bridge.as_deref().is_some_and(|b| !b.trim().is_empty()),
            "event without an API name"
        );
        let t = e.tokens.expect("a detail has tokens");
        assert_eq!(
            t.total,
            cliproxy::normalized_total(&t),
            "total not normalised"
        );
        assert!(matches!(e.status, Some(Status::Success | Status::Error)));
    }
    let exported = cliproxy::export(&p.events, Zone::Utc, 1_767_225_600_000_000_000);
    let text2 = exported.to_string();
    let back = cliproxy::parse(&text2)
        .unwrap_or_else(|err| panic!("our own export {text2} does not parse: {err}"));
    assert_eq!(
        back.malformed, 0,
        "our own export has malformed details: {text2}"
    );
    assert_eq!(back.blank_api, 0);
    let key = |e: &usagebook_core::eventlog::Event| {
        (
            e.id,
            e.occurred_at_ns,
            e.bridge.clone(),
            e.model.clone(),
            e.tokens,
            e.status.clone(),
        )
    };
    let mut a: Vec<_> = p.events.iter().map(key).collect();
    let mut b: Vec<_> = back.events.iter().map(key).collect();
    a.sort_by(|x, y| format!("{x:?}").cmp(&format!("{y:?}")));
    b.sort_by(|x, y| format!("{x:?}").cmp(&format!("{y:?}")));
    assert_eq!(a, b, "export then parse does not give the same events");
});
