//! `cargo xtask check-features` (O2): the Python wheel and the npm addon
//! must never build the core's OTLP exporter. Python and Node hosts record
//! through their own OpenTelemetry SDK (`usagebook.otel`,
//! `usagebook/otel`); an exporter of ours in their process would bring a
//! second pipeline and an HTTP client they did not ask for.
//!
//! Cargo itself says which features of `usagebook-core` each package
//! resolves (`cargo tree -e features -i usagebook-core`), with every
//! feature of the package on, so no feature of the wheel or the addon can
//! turn the exporter on either. The C library with `--features otlp` is
//! checked the other way round, so the check is known to see the feature.

use std::path::Path;
use std::process::Command;

/// Features of `usagebook-core` that only Rust and C hosts may enable.
const EXPORTER_FEATURES: [&str; 2] = ["otlp", "otlp-https"];

fn core_features(root: &Path, args: &[&str]) -> Result<Vec<String>, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(root)
        .args([
            "tree",
            "-e",
            "features",
            "-i",
            "usagebook-core",
            "--prefix",
            "none",
        ])
        .args(args)
        .output()
        .map_err(|e| format!("running cargo tree: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo tree {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("usagebook-core feature \""))
        .filter_map(|l| l.split('"').next())
        .map(str::to_string)
        .collect())
}

fn exporter_in(features: &[String]) -> Vec<&str> {
    EXPORTER_FEATURES
        .iter()
        .copied()
        .filter(|f| features.iter().any(|g| g == f))
        .collect()
}

pub fn check(root: &Path) -> Result<(), String> {
    let mut failed = Vec::new();
    for pkg in ["usagebook-python", "usagebook-node"] {
        let features = core_features(root, &["-p", pkg, "--all-features"])?;
        let on = exporter_in(&features);
        if on.is_empty() {
            println!("ok: {pkg} builds usagebook-core with {features:?}, no OTLP exporter");
        } else {
            failed.push(format!("{pkg} enables usagebook-core's {on:?}"));
        }
    }
    // What the package builds pass to cargo (maturin's `features`, the
    // napi build scripts) must not name the exporter either.
    for file in [
        "bindings-python/pyproject.toml",
        "bindings-node/package.json",
    ] {
        let text =
            std::fs::read_to_string(root.join(file)).map_err(|e| format!("reading {file}: {e}"))?;
        if text.contains("otlp") {
            failed.push(format!("{file} mentions the otlp feature"));
        }
    }
    // The control: the C library built for OTLP shows the feature.
    let ffi = core_features(root, &["-p", "usagebook-ffi", "--features", "otlp"])?;
    if exporter_in(&ffi).is_empty() {
        failed.push(format!(
            "usagebook-ffi --features otlp resolves usagebook-core with {ffi:?}: the check cannot see the feature"
        ));
    } else {
        println!("ok: usagebook-ffi --features otlp builds the exporter");
    }
    if failed.is_empty() {
        println!("1 passed, 0 failed");
        Ok(())
    } else {
        Err(format!(
            "the wheel and the npm package must not build the OTLP exporter (issue 14): {}",
            failed.join("; ")
        ))
    }
}
