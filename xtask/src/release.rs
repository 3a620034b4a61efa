//! Release tasks (issue 15): `install` lays the C library out under a
//! prefix as `make install` would; `set-version` stamps one version (B5)
//! into every package; `check-version` fails when they disagree.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The npm manifests that carry the version: the main package and one per
/// platform package (bindings-node/npm/*).
fn npm_manifests(root: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out = vec![root.join("bindings-node/package.json")];
    let npm = root.join("bindings-node/npm");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&npm)
        .map_err(|e| format!("reading {}: {e}", npm.display()))?
        .filter_map(|e| e.ok().map(|e| e.path().join("package.json")))
        .filter(|p| p.exists())
        .collect();
    dirs.sort();
    out.extend(dirs);
    Ok(out)
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))
}

fn read_json(path: &Path) -> Result<serde_json::Value, String> {
    serde_json::from_str(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))
}

/// npm's own layout: two-space indent and a final newline.
fn write_json(path: &Path, value: &serde_json::Value) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    write(path, &format!("{text}\n"))
}

/// The `version = "..."` line of `[workspace.package]` in the root
/// Cargo.toml: its index and the version.
fn workspace_version(cargo_toml: &str) -> Result<(usize, String), String> {
    let mut in_section = false;
    for (i, line) in cargo_toml.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            in_section = t == "[workspace.package]";
        } else if in_section {
            if let Some(v) = t.strip_prefix("version = \"") {
                return Ok((i, v.trim_end_matches('"').to_owned()));
            }
        }
    }
    Err("Cargo.toml: no version in [workspace.package]".into())
}

fn valid_version(v: &str) -> bool {
    let (core, pre) = v.split_once('-').unwrap_or((v, ""));
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && (!v.contains('-') || !pre.is_empty())
        && pre
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

/// `set-version X.Y.Z`: the workspace version (every crate, the wheel via
/// maturin, the header's macros), the npm manifests and lockfile, and the
/// Cargo lockfiles.
pub fn set_version(root: &Path, new: &str) -> Result<(), String> {
    if !valid_version(new) {
        return Err(format!("{new:?} is not a version like 1.2.3 or 1.2.3-rc.1"));
    }
    let cargo = root.join("Cargo.toml");
    let text = read(&cargo)?;
    let (at, old) = workspace_version(&text)?;
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[at] = lines[at].replace(&format!("\"{old}\""), &format!("\"{new}\""));
    for line in lines.iter_mut() {
        if line.trim_start().starts_with("usagebook-core = ") {
            *line = line.replace(
                &format!("version = \"{old}\""),
                &format!("version = \"{new}\""),
            );
        }
    }
    write(&cargo, &(lines.join("\n") + "\n"))?;

    for path in npm_manifests(root)? {
        let mut v = read_json(&path)?;
        v["version"] = new.into();
        write_json(&path, &v)?;
    }
    let lock = root.join("bindings-node/package-lock.json");
    let mut v = read_json(&lock)?;
    v["version"] = new.into();
    if let Some(pkg) = v.get_mut("packages").and_then(|p| p.get_mut("")) {
        pkg["version"] = new.into();
    }
    write_json(&lock, &v)?;

    // Cargo rewrites its lockfiles' entries for path crates when it resolves;
    // the header's macros come from the (rebuilt) xtask's own version.
    for manifest in ["Cargo.toml", "fuzz/Cargo.toml"] {
        run(Command::new("cargo")
            .args([
                "metadata",
                "--offline",
                "--format-version",
                "1",
                "--manifest-path",
            ])
            .arg(root.join(manifest))
            .stdout(std::process::Stdio::null()))?;
    }
    run(Command::new("cargo")
        .args(["run", "--quiet", "--package", "xtask", "--", "gen-header"])
        .current_dir(root))?;
    println!("version {old} -> {new}: Cargo.toml, Cargo.lock, fuzz/Cargo.lock, include/usagebook.h, bindings-node/package.json, package-lock.json, npm/*/package.json (the wheel takes Cargo's)");
    println!("add a `## {new}` section to CHANGELOG.md");
    check_version(root)
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let status = cmd.status().map_err(|e| format!("{cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed: {status}"))
    }
}

/// The version of each workspace crate in a Cargo.lock (entries without a
/// `source`, i.e. path crates named usagebook*).
fn lock_versions(lock: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for block in lock.split("[[package]]").skip(1) {
        let field = |k: &str| {
            block.lines().find_map(|l| {
                l.strip_prefix(&format!("{k} = \""))
                    .map(|v| v.trim_end_matches('"').to_owned())
            })
        };
        if let (Some(name), Some(version)) = (field("name"), field("version")) {
            if name.starts_with("usagebook") && field("source").is_none() {
                out.push((name, version));
            }
        }
    }
    out
}

/// The LIBSQLITE3_FLAGS value in a file (`LIBSQLITE3_FLAGS = "..."` in
/// .cargo/config.toml, `env.LIBSQLITE3_FLAGS="..."` in pyproject.toml).
fn sqlite_flags(text: &str) -> Option<String> {
    let at = text.find("LIBSQLITE3_FLAGS")?;
    let rest = &text[at..];
    let open = rest.find('"')? + 1;
    let close = rest[open..].find('"')?;
    Some(rest[open..open + close].to_owned())
}

/// `check-version`: every package carries the workspace version, the
/// changelog has a section for it (or an Unreleased one), and the wheel
/// builds SQLite as the other packages do.
pub fn check_version(root: &Path) -> Result<(), String> {
    let (_, version) = workspace_version(&read(&root.join("Cargo.toml"))?)?;
    let mut wrong = Vec::new();
    for path in npm_manifests(root)? {
        let v = read_json(&path)?;
        if v["version"] != version.as_str() {
            wrong.push(format!("{}: {}", path.display(), v["version"]));
        }
    }
    let lock = read_json(&root.join("bindings-node/package-lock.json"))?;
    for v in [&lock["version"], &lock["packages"][""]["version"]] {
        if *v != version.as_str() {
            wrong.push(format!("bindings-node/package-lock.json: {v}"));
        }
    }
    for file in ["Cargo.lock", "fuzz/Cargo.lock"] {
        for (name, v) in lock_versions(&read(&root.join(file))?) {
            // The fuzz crate has a version of its own (0.0.0, never published).
            if v != version && name != "usagebook-fuzz" {
                wrong.push(format!("{file}: {name} {v}"));
            }
        }
    }
    let changelog = read(&root.join("CHANGELOG.md"))?;
    if !changelog
        .lines()
        .any(|l| l == "## Unreleased" || l.starts_with(&format!("## {version}")))
    {
        wrong.push(format!(
            "CHANGELOG.md: no `## {version}` or `## Unreleased` section"
        ));
    }
    let cargo_flags = sqlite_flags(&read(&root.join(".cargo/config.toml"))?);
    let wheel_flags = sqlite_flags(&read(&root.join("bindings-python/pyproject.toml"))?);
    if cargo_flags != wheel_flags {
        wrong.push(format!(
            "LIBSQLITE3_FLAGS differ: .cargo/config.toml {cargo_flags:?}, bindings-python/pyproject.toml {wheel_flags:?}"
        ));
    }
    if wrong.is_empty() {
        println!("every package is version {version}");
        Ok(())
    } else {
        Err(format!(
            "not version {version} (run `cargo xtask set-version {version}`):\n  {}",
            wrong.join("\n  ")
        ))
    }
}

/// `install --prefix DIR [--target TRIPLE]`: builds the C library (profile
/// dist) and lays it out as `make install` does: DIR/include/usagebook.h,
/// DIR/lib/ (shared and static library), DIR/lib/pkgconfig/usagebook.pc. A
/// target with a glibc suffix (`x86_64-unknown-linux-gnu.2.17`) is built
/// with cargo-zigbuild (scripts/tools-venv.sh puts it on PATH).
pub fn install(root: &Path, args: &[String]) -> Result<(), String> {
    let mut prefix = None;
    let mut target: Option<String> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--prefix" => prefix = it.next().cloned(),
            "--target" => target = it.next().cloned(),
            other => return Err(format!("install: unknown argument {other:?}")),
        }
    }
    let prefix = prefix.ok_or("usage: cargo xtask install --prefix DIR [--target TRIPLE]")?;

    let mut cmd = Command::new("cargo");
    let zig = target.as_deref().is_some_and(|t| t.contains('.'));
    cmd.arg(if zig { "zigbuild" } else { "build" })
        .args(["--profile", "dist", "--package", "usagebook-ffi", "--lib"])
        .current_dir(root);
    if let Some(t) = &target {
        cmd.args(["--target", t]);
    }
    run(&mut cmd).map_err(|e| {
        if zig {
            format!("{e}\n(cargo-zigbuild and zig on PATH: export PATH=\"$(bash scripts/tools-venv.sh):$PATH\")")
        } else {
            e
        }
    })?;

    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|d| {
            if d.is_absolute() {
                d
            } else {
                std::env::current_dir().unwrap_or_default().join(d)
            }
        })
        .unwrap_or_else(|| root.join("target"));
    // cargo-zigbuild builds `x86_64-unknown-linux-gnu.2.17` under the triple's name.
    let triple = target.as_deref().map(|t| t.split('.').next().unwrap_or(t));
    let built = match triple {
        Some(t) => target_dir.join(t).join("dist"),
        None => target_dir.join("dist"),
    };
    let os = triple
        .map(str::to_owned)
        .unwrap_or_else(|| std::env::consts::OS.to_owned());
    let libs: &[&str] = if os.contains("windows") {
        &["usagebook.dll", "usagebook.dll.lib", "usagebook.lib"]
    } else if os.contains("apple") || os.contains("macos") {
        &["libusagebook.dylib", "libusagebook.a"]
    } else {
        &["libusagebook.so", "libusagebook.a"]
    };

    std::fs::create_dir_all(Path::new(&prefix).join("lib/pkgconfig"))
        .map_err(|e| format!("creating {prefix}/lib/pkgconfig: {e}"))?;
    std::fs::create_dir_all(Path::new(&prefix).join("include"))
        .map_err(|e| format!("creating {prefix}/include: {e}"))?;
    let prefix = std::fs::canonicalize(&prefix).map_err(|e| format!("{prefix}: {e}"))?;
    let copy = |from: PathBuf, to: PathBuf| {
        std::fs::copy(&from, &to)
            .map(|_| println!("installed {}", to.display()))
            .map_err(|e| format!("copying {} to {}: {e}", from.display(), to.display()))
    };
    copy(
        root.join("include/usagebook.h"),
        prefix.join("include/usagebook.h"),
    )?;
    for lib in libs {
        let to = prefix.join("lib").join(lib);
        copy(built.join(lib), to.clone())?;
        // The archive carries the standard library's objects with their
        // debug info (a staticlib is not linked, so the profile cannot strip
        // it): 42 MB, 24 MB without.
        if lib.ends_with(".a") {
            let stripped = Command::new("strip").arg("--strip-debug").arg(&to).status();
            if !stripped.is_ok_and(|s| s.success()) {
                println!(
                    "note: `strip --strip-debug {}` failed; the archive keeps debug info",
                    to.display()
                );
            }
        }
    }
    let pc = prefix.join("lib/pkgconfig/usagebook.pc");
    write(&pc, &pkg_config(&prefix, &os))?;
    println!("installed {}", pc.display());
    Ok(())
}

/// usagebook.pc. Libs.private: what the static library needs besides
/// itself (rustc's `--print native-static-libs` for the target's std).
fn pkg_config(prefix: &Path, os: &str) -> String {
    let private = if os.contains("windows") {
        "-lkernel32 -ladvapi32 -lntdll -luserenv -lws2_32 -ldbghelp"
    } else if os.contains("apple") || os.contains("macos") {
        "-framework CoreFoundation -liconv -lSystem -lc -lm"
    } else {
        "-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"
    };
    format!(
        "prefix={}\nexec_prefix=${{prefix}}\nlibdir=${{exec_prefix}}/lib\nincludedir=${{prefix}}/include\n\n\
         Name: usagebook\n\
         Description: Durable, exact LLM usage tracking and budget ledger (C ABI)\n\
         Version: {}\n\
         Libs: -L${{libdir}} -lusagebook\n\
         Libs.private: {private}\n\
         Cflags: -I${{includedir}}\n",
        prefix.display(),
        env!("CARGO_PKG_VERSION"),
    )
}
