//! `TokenUsage::read` (U2) on any JSON value: a usage in some provider's
//! shape, or an error; never a panic. What it reads keeps its parts within
//! its totals, and its canonical JSON form reads back to the same counts.
#![no_main]
use libfuzzer_sys::fuzz_target;
use usagebook_core::{PriceRegistry, TokenUsage};
use usagebook_fuzz::{check_cost, check_usage};

fuzz_target!(|data: &[u8]| {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(read) = TokenUsage::read(&v) else {
        return;
    };
    let u = &read.usage;
    check_usage(u, "read");
    let t = u.to_tracker();
    assert_eq!(t.prompt_tokens, u.input);
    assert_eq!(t.completion_tokens, u.output);
    // The canonical form is what the ledger stores: it must read back.
    let canon = u.to_json();
    let back = TokenUsage::read(&canon)
        .unwrap_or_else(|e| panic!("canonical form {canon} of {v} does not read back: {e}"));
    let b = &back.usage;
    assert_eq!(
        (
            b.input,
            b.output,
            b.cache_read,
            b.cache_write,
            b.cache_write_1h,
            b.cache_write_12h,
            b.reasoning,
            b.total()
        ),
        (
            u.input,
            u.output,
            u.cache_read,
            u.cache_write,
            u.cache_write_1h,
            u.cache_write_12h,
            u.reasoning,
            u.total()
        ),
        "canonical form {canon} reads back other counts"
    );
    // Priced at the bundled prices it is a finite amount >= 0.
    let reg = PriceRegistry::bundled();
    for (p, m) in [
        (Some("openai"), "gpt-4o"),
        (Some("anthropic"), "claude-sonnet-4-5"),
        (None, "gemini-2.5-pro"),
    ] {
        check_cost(&reg.cost(p, m, u, 1_767_225_600_000), m);
    }
});
