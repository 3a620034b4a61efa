//! `usagebook sync git`, `sync status`, `report --git`, `export --git`
//! with real git: the two-machine example of docs/git-sync.md, run as it is
//! written there (issue 13).

use std::path::Path;
use std::process::Command;

fn example(name: &str) -> String {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/git-sync.md"))
            .unwrap();
    let marker = format!("<!-- example: {name} -->");
    let at = doc.find(&marker).expect("the example marker");
    let rest = &doc[at..];
    let start = rest.find("```sh\n").unwrap() + 6;
    let end = rest[start..].find("```").unwrap();
    rest[start..start + end].to_string()
}

#[test]
fn g3_g6_the_two_machine_example_of_the_docs_runs() {
    let bin = Path::new(env!("CARGO_BIN_EXE_usagebook")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let tmp = tempfile::tempdir().unwrap();
    let script = format!("{}\necho \"WORK=$work\"\n", example("two-machines"));
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("PATH", path)
        .env("TMPDIR", tmp.path())
        .env("XDG_STATE_HOME", tmp.path().join("state"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // Both devices in one view: 300 + 200 requests.
    // (The demos print their own tables first; the last two are the
    // merged reports.)
    let total = stdout
        .lines()
        .filter(|l| l.starts_with("TOTAL"))
        .collect::<Vec<_>>();
    assert!(total.len() >= 2, "{stdout}");
    for t in &total[total.len() - 2..] {
        assert!(t.split_whitespace().nth(1) == Some("500"), "{t}");
    }
    let work = stdout
        .lines()
        .find_map(|l| l.strip_prefix("WORK="))
        .unwrap();
    let usage: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(Path::new(work).join("usage.json")).unwrap())
            .unwrap();
    assert_eq!(usage["version"], 1);
    assert_eq!(usage["usage"]["total_requests"], 500);
    // sync status: two devices, nothing ahead or behind.
    assert!(
        stdout.contains("\"ahead\": 0") && stdout.contains("\"behind\": 0"),
        "{stdout}"
    );
    // The remote's history is one line of fast-forwards and merges:
    // fsck is clean.
    let fsck = Command::new("git")
        .args(["fsck", "--no-progress"])
        .current_dir(Path::new(work).join("shared.git"))
        .output()
        .unwrap();
    assert!(
        fsck.status.success(),
        "{}",
        String::from_utf8_lossy(&fsck.stderr)
    );
}

#[test]
fn g1_by_device_needs_git_and_a_missing_repo_is_named() {
    let bin = env!("CARGO_BIN_EXE_usagebook");
    let o = Command::new(bin)
        .args(["report", "--log", "/nonexistent.jsonl", "--by", "device"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--git"));
    let o = Command::new(bin)
        .args(["sync", "status", "--repo", "/nonexistent/repo"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a git repository"));
}
