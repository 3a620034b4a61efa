//! Repository tasks. `cargo xtask gen-header` writes include/usagebook.h from
//! the C ABI crate with the pinned cbindgen; `cargo xtask check-header`
//! regenerates it in memory and fails if the committed file differs (CI).
//! Release tasks (release.rs): `install --prefix DIR [--target T]`,
//! `set-version X.Y.Z`, `check-version`. `check-features`: the wheel and
//! the npm addon never build the core's OTLP exporter (O2).

mod features;

mod release;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const HEADER: &str = "include/usagebook.h";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

fn generate(root: &Path) -> Result<String, String> {
    let crate_dir = root.join("ffi-c");
    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .map_err(|e| format!("reading ffi-c/cbindgen.toml: {e}"))?;
    config.after_includes = Some(version_macros());
    let bindings = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .map_err(|e| format!("cbindgen failed: {e}"))?;
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).map_err(|e| format!("cbindgen wrote non-UTF-8: {e}"))
}

/// The header's version macros, from the workspace version that the C ABI
/// crate shares (B5); ffi-c/tests/header.rs checks them against its own.
fn version_macros() -> String {
    format!(
        "\n/* The version of this header; usagebook_version() gives the loaded library's. */\n\
         #define USAGEBOOK_VERSION \"{}\"\n\
         #define USAGEBOOK_VERSION_MAJOR {}\n\
         #define USAGEBOOK_VERSION_MINOR {}\n\
         #define USAGEBOOK_VERSION_PATCH {}",
        env!("CARGO_PKG_VERSION"),
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH"),
    )
}

/// The first differing line, with a little context, for a readable failure.
fn first_difference(committed: &str, fresh: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (committed.lines().collect(), fresh.lines().collect());
    let i = a
        .iter()
        .zip(&b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let line = |v: &[&str], i: usize| v.get(i).copied().unwrap_or("<end of file>").to_owned();
    format!(
        "first difference at line {}:\n- committed: {}\n+ generated: {}\n({} committed lines, {} generated)",
        i + 1,
        line(&a, i),
        line(&b, i),
        a.len(),
        b.len()
    )
}

fn run(cmd: &str) -> Result<(), String> {
    let root = workspace_root();
    let path = root.join(HEADER);
    match cmd {
        "gen-header" => {
            let fresh = generate(&root)?;
            std::fs::write(&path, fresh).map_err(|e| format!("writing {HEADER}: {e}"))?;
            println!("wrote {HEADER}");
            Ok(())
        }
        "check-header" => {
            let fresh = generate(&root)?;
            let committed = std::fs::read_to_string(&path)
                .map_err(|e| format!("reading {HEADER}: {e}; run `cargo xtask gen-header`"))?;
            if committed == fresh {
                println!("{HEADER} is up to date");
                Ok(())
            } else {
                Err(format!(
                    "{HEADER} is stale: run `cargo xtask gen-header` and commit it.\n{}",
                    first_difference(&committed, &fresh)
                ))
            }
        }
        "refresh-prices" => refresh_prices(&root),
        "install" => release::install(&root, &std::env::args().skip(2).collect::<Vec<_>>()),
        "set-version" => {
            let v = std::env::args()
                .nth(2)
                .ok_or("usage: cargo xtask set-version X.Y.Z")?;
            release::set_version(&root, &v)
        }
        "check-version" => release::check_version(&root),
        "check-features" => features::check(&root),
        other => Err(format!(
            "unknown command {other:?}; usage: cargo xtask <gen-header|check-header|refresh-prices FILE [SOURCE-NOTE]|install --prefix DIR [--target TRIPLE]|set-version X.Y.Z|check-version|check-features>"
        )),
    }
}

/// `refresh-prices FILE [NOTE]`: rebuilds the bundled price snapshot
/// (core/prices/) from a LiteLLM `model_prices_and_context_window.json`,
/// e.g. the `litellm/model_prices_and_context_window_backup.json` of a
/// pinned litellm wheel; NOTE (e.g. "litellm 1.110.2 ...") goes to SOURCE.
fn refresh_prices(root: &std::path::Path) -> Result<(), String> {
    let file = std::env::args()
        .nth(2)
        .ok_or("usage: cargo xtask refresh-prices FILE [SOURCE-NOTE]")?;
    let text = std::fs::read_to_string(&file).map_err(|e| format!("reading {file}: {e}"))?;
    let gz = usagebook_core::pricing::build_snapshot(&text).map_err(|e| e.to_string())?;
    let dir = root.join("core/prices");
    std::fs::write(dir.join("litellm-prices.json.gz"), &gz).map_err(|e| e.to_string())?;
    let note = std::env::args()
        .nth(3)
        .unwrap_or_else(|| format!("{file}\n"));
    let note = if note.ends_with('\n') {
        note
    } else {
        format!("{note}\n")
    };
    std::fs::write(dir.join("SOURCE"), note).map_err(|e| e.to_string())?;
    println!(
        "wrote core/prices/litellm-prices.json.gz ({} bytes)",
        gz.len()
    );
    Ok(())
}

fn main() -> ExitCode {
    let cmd = std::env::args().nth(1).unwrap_or_default();
    match run(&cmd) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
