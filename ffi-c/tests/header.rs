//! The committed header matches this crate (B1, B5): version macros equal
//! Cargo's version, and every exported symbol is declared. Full freshness
//! (byte-for-byte) is `cargo xtask check-header`.

use std::path::Path;

fn header() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../include/usagebook.h");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run `cargo xtask gen-header`", path.display()))
}

fn define(header: &str, name: &str) -> String {
    let prefix = format!("#define {name} ");
    header
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("header lacks #define {name}"))
        .trim()
        .to_owned()
}

#[test]
fn b5_header_version_macros_match_cargo() {
    let h = header();
    assert_eq!(
        define(&h, "USAGEBOOK_VERSION"),
        format!("\"{}\"", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        define(&h, "USAGEBOOK_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MAJOR")
    );
    assert_eq!(
        define(&h, "USAGEBOOK_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_MINOR")
    );
    assert_eq!(
        define(&h, "USAGEBOOK_VERSION_PATCH"),
        env!("CARGO_PKG_VERSION_PATCH")
    );
}

#[test]
fn b1_header_declares_every_export() {
    let h = header();
    let src_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut count = 0;
    for entry in std::fs::read_dir(src_dir).unwrap() {
        let src = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for (i, _) in src.match_indices("extern \"C\" fn usagebook_") {
            let name: String = src[i + "extern \"C\" fn ".len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            assert!(
                h.contains(&format!(" {name}(")) || h.contains(&format!("*{name}(")),
                "include/usagebook.h does not declare {name}; run `cargo xtask gen-header`"
            );
            count += 1;
        }
    }
    assert!(count >= 29, "found only {count} exports");
}

#[test]
fn b1_header_documents_ownership() {
    let h = header();
    assert!(h.contains("usagebook_string_free"));
    assert!(h.contains("must be released with usagebook_tracker_close()"));
    assert!(h.contains("must be released with usagebook_ledger_close()"));
    assert!(h.contains("must be freed with\n *    usagebook_hold_free()"));
}

#[test]
fn b1_header_declares_ledger_handles_and_budget_status() {
    let h = header();
    assert!(h.contains("typedef struct usagebook_ledger usagebook_ledger;"));
    assert!(h.contains("typedef struct usagebook_hold usagebook_hold;"));
    assert!(h.contains("USAGEBOOK_BUDGET_EXCEEDED = 9,"));
    // `bool sync` needs <stdbool.h> in C.
    assert!(h.contains("#include <stdbool.h>"));
}
