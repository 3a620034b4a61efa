//! The rollup archive (issue 11 #10): the hourly rollups of closed UTC days,
//! one file a day under `rollups/`, written when the day closes and again
//! only if late events or `clearLogs` change it. The snapshot keeps the
//! recent hours, the archive's totals and its generation, so a flush and an
//! open cost the same after two years as after two days.
//!
//! Commit protocol: a changed day is written to a new file named with the
//! next generation; the snapshot that names that generation is the commit
//! point. Readers use, per day, the newest file whose generation is at most
//! the snapshot's; a file of a later generation is one a crash left before
//! its snapshot, and the owner deletes it at open. Per day the two newest
//! committed files are kept: the snapshot and its backup (whose generation
//! is the same or one less) each find theirs.
//!
//! File: `YYYY-MM-DD.g<generation, 10 digits>.json`, one JSON object
//! `{"formatVersion":1,"day":"YYYY-MM-DD","rollups":{bridge:[rows]}}` with
//! the snapshot's rows and checksum (`store::snapshot`).

use crate::error::{Error, Result};
use crate::store::{atomic, snapshot};
use crate::totals::Totals;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const DAY_MS: i64 = 86_400_000;
const FILE_VERSION: u64 = 1;

/// Start of the UTC day holding `ts_ms`.
pub fn day_of(ts_ms: i64) -> i64 {
    ts_ms.div_euclid(DAY_MS) * DAY_MS
}

/// One archived hour: bridge, hour start ms, totals.
pub(crate) type Bucket = (String, i64, Totals);

#[derive(Debug)]
pub(crate) struct Archive {
    dir: PathBuf,
    /// Per day start: the generations of its files, ascending.
    files: BTreeMap<i64, Vec<u64>>,
    /// The generation the current snapshot commits (0: nothing archived).
    pub generation: u64,
    /// Totals of every archived hour, by bridge index.
    pub totals: Vec<Totals>,
    /// Days whose file is replaced by what the rollups hold (after a clear),
    /// not merged with it.
    pub rewrite: std::collections::BTreeSet<i64>,
    /// Day files found damaged since the owner last looked (moved aside),
    /// for the tracker's health.
    pub damaged: Vec<String>,
}

fn file_name(day: i64, generation: u64) -> String {
    format!("{}.g{generation:010}.json", day_label(day))
}

fn day_label(day: i64) -> String {
    crate::timefmt::format_iso_ms(day)[..10].to_string()
}

/// `YYYY-MM-DD.gNNNNNNNNNN.json` to (day start ms, generation).
fn parse_name(name: &str) -> Option<(i64, u64)> {
    let (day, rest) = name.split_once(".g")?;
    let generation = rest.strip_suffix(".json")?.parse().ok()?;
    let ms = crate::timefmt::parse_iso_ms(&format!("{day}T00:00:00.000Z"))?;
    (day_label(ms) == day).then_some((ms, generation))
}

/// The archive files in `dir`, by day.
pub fn scan(dir: &Path) -> Result<BTreeMap<i64, Vec<u64>>> {
    let mut files: BTreeMap<i64, Vec<u64>> = BTreeMap::new();
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(files),
        Err(e) => return Err(Error::io(format!("listing {}", dir.display()), e)),
    };
    for entry in rd.flatten() {
        if let Some((day, g)) = parse_name(&entry.file_name().to_string_lossy()) {
            files.entry(day).or_default().push(g);
        }
    }
    for gens in files.values_mut() {
        gens.sort_unstable();
    }
    Ok(files)
}

/// The file of `day` that generation `generation` sees, if any.
fn visible(files: &BTreeMap<i64, Vec<u64>>, day: i64, generation: u64) -> Option<u64> {
    files
        .get(&day)?
        .iter()
        .rev()
        .find(|&&g| g <= generation)
        .copied()
}

/// Reads one archive file: its hours, or why it cannot be used.
pub(crate) fn read_file(path: &Path) -> std::result::Result<Vec<Bucket>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let corrupt = |why: &str| format!("{}: {why}", path.display());
    if !snapshot::check_seal(&bytes).map_err(|w| corrupt(&w))? {
        return Err(corrupt("the checksum is missing"));
    }
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| corrupt(&e.to_string()))?;
    if v.get("formatVersion").and_then(Value::as_u64) != Some(FILE_VERSION) {
        return Err(corrupt("unknown formatVersion"));
    }
    let rollups = v
        .get("rollups")
        .and_then(Value::as_object)
        .ok_or_else(|| corrupt("rollups are missing"))?;
    let mut out = Vec::new();
    for (name, rows) in rollups {
        for r in rows
            .as_array()
            .ok_or_else(|| corrupt("rows are not an array"))?
        {
            let (hour, t) = snapshot::parse_row(r, true)
                .ok_or_else(|| corrupt(&format!("rollups.{name} has a malformed row")))?;
            out.push((name.clone(), hour, t));
        }
    }
    Ok(out)
}

/// Every archived hour the snapshot of `generation` commits, for readers
/// (reports). Unreadable files are named in the second list.
pub(crate) fn read_committed(dir: &Path, generation: u64) -> Result<(Vec<Bucket>, Vec<String>)> {
    let files = scan(dir)?;
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for &day in files.keys() {
        if let Some(g) = visible(&files, day, generation) {
            match read_file(&dir.join(file_name(day, g))) {
                Ok(b) => out.extend(b),
                Err(why) => bad.push(why),
            }
        }
    }
    Ok((out, bad))
}

impl Archive {
    /// The archive as the snapshot of `generation` left it, for the owner
    /// of the directory: files a crash left ahead of their snapshot are
    /// deleted.
    pub fn open(dir: PathBuf, generation: u64, totals: Vec<Totals>) -> Result<Archive> {
        let mut files = scan(&dir)?;
        for (&day, gens) in files.iter_mut() {
            for &g in gens.iter().filter(|&&g| g > generation) {
                let _ = std::fs::remove_file(dir.join(file_name(day, g)));
            }
            gens.retain(|&g| g <= generation);
        }
        files.retain(|_, gens| !gens.is_empty());
        Ok(Archive {
            dir,
            files,
            generation,
            totals,
            rewrite: Default::default(),
            damaged: Vec::new(),
        })
    }

    /// Days with a committed file.
    pub fn days(&self) -> Vec<i64> {
        self.files.keys().copied().collect()
    }

    /// The committed hours of `day` (none if it has no file). A damaged
    /// file is moved aside (never deleted, T10) and noted in `damaged`; the
    /// day then has no hourly detail, while the snapshot's archive totals
    /// still count it. Failing here instead would make every later flush,
    /// and so `close`, fail for good over one unreadable day.
    pub fn read_day(&mut self, day: i64, now_ms: i64) -> Result<Vec<Bucket>> {
        let Some(g) = visible(&self.files, day, self.generation) else {
            return Ok(Vec::new());
        };
        let path = self.dir.join(file_name(day, g));
        match read_file(&path) {
            Ok(b) => Ok(b),
            Err(why) => {
                let aside = atomic::move_aside(&path, now_ms)?;
                // The whole day, not just this generation: an older file
                // of the day (the backup snapshot's) must not stand in for
                // it, it lacks what came after.
                self.files.remove(&day);
                self.damaged.push(format!(
                    "rollup archive {why}: moved aside to {}; that day's hourly detail is lost, its totals are kept",
                    aside.display()
                ));
                Ok(Vec::new())
            }
        }
    }

    /// Writes `day`'s file for `generation` (not yet committed).
    pub fn write_day(&self, day: i64, generation: u64, buckets: &[Bucket]) -> Result<()> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| Error::io(format!("creating {}", self.dir.display()), e))?;
        let mut by_bridge: Map<String, Value> = Map::new();
        for (name, hour, t) in buckets {
            let rows = by_bridge
                .entry(name.clone())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(v) = rows {
                v.push(snapshot::row(*hour, t, true));
            }
        }
        let doc = json!({
            "formatVersion": FILE_VERSION,
            "day": day_label(day),
            "rollups": by_bridge,
        });
        let bytes = snapshot::seal(serde_json::to_vec(&doc).unwrap_or_default());
        atomic::replace_file(&self.dir.join(file_name(day, generation)), &bytes, None)
    }

    /// After the snapshot naming `generation` is durable: the days written
    /// for it are committed; files neither that snapshot nor its backup can
    /// read are deleted.
    pub fn committed(&mut self, generation: u64, days: &[i64]) {
        self.generation = generation;
        for &day in days {
            let gens = self.files.entry(day).or_default();
            if gens.last() != Some(&generation) {
                gens.push(generation);
            }
            while gens.len() > 2 {
                let old = gens.remove(0);
                let _ = std::fs::remove_file(self.dir.join(file_name(day, old)));
            }
        }
        self.rewrite.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(requests: u64) -> Totals {
        Totals {
            requests,
            prompt: 10 * requests,
            completion: requests,
            total: 11 * requests,
            errors: 0,
            last_used_ms: Some(5),
            ..Totals::default()
        }
    }

    #[test]
    fn names_round_trip_and_foreign_files_are_ignored() {
        let day = day_of(1_736_000_000_000);
        assert_eq!(parse_name(&file_name(day, 7)), Some((day, 7)));
        assert_eq!(parse_name("2025-02-30.g0000000001.json"), None);
        assert_eq!(parse_name("notes.txt"), None);
    }

    #[test]
    fn a_crash_before_the_snapshot_leaves_the_committed_day_in_force() {
        let dir = tempfile::tempdir().unwrap();
        let day = day_of(1_736_000_000_000);
        let mut a = Archive::open(dir.path().into(), 0, Vec::new()).unwrap();
        a.write_day(day, 1, &[("x".into(), day, t(1))]).unwrap();
        a.committed(1, &[day]);
        // Generation 2 written, snapshot never came: open at 1 again.
        a.write_day(day, 2, &[("x".into(), day, t(9))]).unwrap();
        let mut a = Archive::open(dir.path().into(), 1, Vec::new()).unwrap();
        assert_eq!(a.read_day(day, 0).unwrap(), vec![("x".into(), day, t(1))]);
        assert_eq!(scan(dir.path()).unwrap()[&day], vec![1]);
    }

    #[test]
    fn the_two_newest_files_of_a_day_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let day = day_of(1_736_000_000_000);
        let mut a = Archive::open(dir.path().into(), 0, Vec::new()).unwrap();
        for g in 1..=4 {
            a.write_day(day, g, &[("x".into(), day, t(g))]).unwrap();
            a.committed(g, &[day]);
        }
        assert_eq!(scan(dir.path()).unwrap()[&day], vec![3, 4]);
        // The backup (generation 3) still reads its version.
        let (b, bad) = read_committed(dir.path(), 3).unwrap();
        assert!(bad.is_empty());
        assert_eq!(b, vec![("x".into(), day, t(3))]);
    }

    #[test]
    fn a_damaged_file_is_reported_not_taken() {
        let dir = tempfile::tempdir().unwrap();
        let day = day_of(1_736_000_000_000);
        let a = Archive::open(dir.path().into(), 0, Vec::new()).unwrap();
        a.write_day(day, 1, &[("x".into(), day, t(2))]).unwrap();
        let p = dir.path().join(file_name(day, 1));
        let text = std::fs::read_to_string(&p).unwrap().replace("20", "21");
        std::fs::write(&p, text).unwrap();
        let (b, bad) = read_committed(dir.path(), 1).unwrap();
        assert!(b.is_empty());
        assert!(bad[0].contains("checksum"), "{bad:?}");
    }
}
