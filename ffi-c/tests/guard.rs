//! B1: every exported function's whole body is one panic guard
//! (`ffi_guard!` or `ffi_guard_value!`), so no panic can cross into C and
//! every failure sets the thread's last error. Reads the sources: a new
//! export without the guard fails here.

use std::path::{Path, PathBuf};

fn sources() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    files.sort();
    files
}

/// Blanks comments, string and char literals (keeping offsets), so braces
/// and parentheses can be matched on what remains.
fn strip(src: &str) -> Vec<u8> {
    let b = src.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            let end = b[i..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |p| i + p);
            blank(&mut out, i, end);
            i = end;
        } else if b[i..].starts_with(b"/*") {
            let end = src[i + 2..].find("*/").map_or(b.len(), |p| i + 2 + p + 2);
            blank(&mut out, i, end);
            i = end;
        } else if b[i] == b'r'
            && (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
            let open = i + 1 + hashes;
            if b.get(open) != Some(&b'"') {
                i += 1;
                continue;
            }
            let close = format!("\"{}", "#".repeat(hashes));
            let end = src[open + 1..]
                .find(&close)
                .map_or(b.len(), |p| open + 1 + p + close.len());
            blank(&mut out, i, end);
            i = end;
        } else if b[i] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            blank(&mut out, i, (j + 1).min(b.len()));
            i = j + 1;
        } else if b[i] == b'\'' {
            // A char literal ('x', '\n', '\''), not a lifetime ('a).
            let end = if b.get(i + 1) == Some(&b'\\') {
                b[i + 2..]
                    .iter()
                    .position(|&c| c == b'\'')
                    .map(|p| i + 2 + p + 1)
            } else if b.get(i + 2) == Some(&b'\'') {
                Some(i + 3)
            } else {
                None
            };
            match end {
                Some(end) => {
                    blank(&mut out, i, end);
                    i = end;
                }
                None => i += 1,
            }
        } else {
            i += 1;
        }
    }
    out
}

/// The offset just past the bracket closing the one at `open`.
fn matching(code: &[u8], open: usize) -> usize {
    let mut depth = 0i32;
    for (k, &c) in code.iter().enumerate().skip(open) {
        match c {
            b'(' | b'{' | b'[' => depth += 1,
            b')' | b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return k + 1;
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced brackets from offset {open}");
}

#[test]
fn b1_every_export_runs_inside_the_panic_guard() {
    let mut exports = Vec::new();
    let mut no_mangle = 0;
    for path in sources() {
        let src = std::fs::read_to_string(&path).unwrap();
        let code = strip(&src);
        let text = String::from_utf8(code.clone()).unwrap();
        no_mangle += text.matches("#[no_mangle]").count();
        let mut from = 0;
        // Literals are blanked in `text`, so find the ABI string in `src`
        // and keep only hits that are code, not comments or strings.
        while let Some(p) = src[from..].find("extern \"C\" fn ").map(|p| from + p) {
            from = p + 1;
            if !text[p..].starts_with("extern ") {
                continue;
            }
            // Only definitions: `pub [unsafe] extern "C" fn name(` (not the
            // `unsafe extern "C" fn(ctx)` pointer type).
            let line_start = text[..p].rfind('\n').map_or(0, |n| n + 1);
            let prefix = text[line_start..p].trim();
            if prefix != "pub" && prefix != "pub unsafe" {
                continue;
            }
            let name_start = p + "extern \"C\" fn ".len();
            let name: String = src[name_start..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let brace = name_start + text[name_start..].find('{').unwrap();
            let body_end = matching(&code, brace);
            let body = text[brace + 1..body_end - 1].trim();
            let guard = ["ffi_guard!(", "ffi_guard_value!("]
                .into_iter()
                .find(|g| body.starts_with(g));
            let Some(guard) = guard else {
                panic!(
                    "{}: {name} does not start with ffi_guard!/ffi_guard_value!",
                    path.display()
                );
            };
            // The guard call must be the whole body.
            let body_start = brace + 1 + text[brace + 1..].find(guard).unwrap();
            let call_end = matching(&code, body_start + guard.len() - 1);
            let rest = text[call_end..body_end - 1].trim();
            assert!(
                rest.is_empty() || rest == ";",
                "{}: {name} has code after its guard: {rest:?}",
                path.display()
            );
            exports.push(name);
        }
    }
    assert_eq!(
        exports.len(),
        no_mangle,
        "every #[no_mangle] item should be a guarded `pub [unsafe] extern \"C\" fn`: found {exports:?}"
    );
    // 17 tracker/core exports + 12 ledger/hold exports (L1-L12).
    assert!(
        exports.len() >= 29,
        "expected all exports, found {exports:?}"
    );
    for name in [
        "usagebook_ledger_open",
        "usagebook_ledger_write_event_json",
        "usagebook_ledger_reserve",
        "usagebook_ledger_commit",
        "usagebook_ledger_cancel",
        "usagebook_hold_free",
        "usagebook_hold_info_json",
        "usagebook_ledger_spend_today",
        "usagebook_ledger_reserved_today",
        "usagebook_ledger_flush",
        "usagebook_ledger_health_json",
        "usagebook_ledger_close",
    ] {
        assert!(
            exports.iter().any(|e| e == name),
            "{name} is not a guarded export"
        );
    }
}

#[test]
fn b1_the_scanner_sees_through_strings_and_comments() {
    let code = strip("fn a() { let s = \"}{\"; /* } */ // }\n let c = '}'; 'a: loop {} }");
    let text = String::from_utf8(code.clone()).unwrap();
    let open = text.find('{').unwrap();
    assert_eq!(matching(&code, open), text.len());
}
