//! A ledger database's true totals for the exposition (O1): whatever
//! process wrote an event, every reader sees it, because it is read from
//! the database, never from a process's own counters.
//!
//! Events are immutable and their `seq` only grows (AUTOINCREMENT, one
//! writer at a time), so a scan remembers the last `seq` it read and each
//! later read costs O(new events), plus O(keys) for today's spend and the
//! open holds from the maintained aggregate tables. The first read of a
//! large ledger reads every event once.

use crate::error::{Error, Result};
use crate::ledger::day::{day_window, parse_tz};
use crate::usage::TokenUsage;
use rusqlite::{params, Connection, OpenFlags};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Sums of one (provider, model) over the whole ledger.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct KeyTotals {
    /// Commits: one per settled call.
    pub requests: u64,
    /// Commits with status `error`.
    pub errors: u64,
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    pub reasoning: u64,
    /// What commits and adjusts added to spend, nano-USD.
    pub spend_nusd: i64,
    /// The part of it settled without a price (an estimate).
    pub unpriced_nusd: i64,
}

impl KeyTotals {
    pub fn merge(&mut self, o: &KeyTotals) {
        self.requests += o.requests;
        self.errors += o.errors;
        self.input = self.input.saturating_add(o.input);
        self.output = self.output.saturating_add(o.output);
        self.cache_read = self.cache_read.saturating_add(o.cache_read);
        self.cache_write = self.cache_write.saturating_add(o.cache_write);
        self.reasoning = self.reasoning.saturating_add(o.reasoning);
        self.spend_nusd = self.spend_nusd.saturating_add(o.spend_nusd);
        self.unpriced_nusd = self.unpriced_nusd.saturating_add(o.unpriced_nusd);
    }
}

/// Open holds of one (provider, model).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HoldTotals {
    pub count: u64,
    pub amount_nusd: i64,
}

/// What one read of the database found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LedgerFigures {
    /// Per (provider, model), sorted.
    pub keys: BTreeMap<(String, String), KeyTotals>,
    /// Events by type (`precheck_hold`, `commit`, `cancel`, `adjust`).
    pub events: BTreeMap<String, u64>,
    /// Spend since the start of today, per scope key (`all`,
    /// `provider:<name>`, `model:<name>`, `unpriced`).
    pub spend_today: BTreeMap<String, i64>,
    /// Unexpired open holds per (provider, model).
    pub holds: BTreeMap<(String, String), HoldTotals>,
    /// Epoch seconds of the newest event.
    pub last_event_s: Option<f64>,
    /// Rows whose usage or cost could not be read (counted, not summed).
    pub unreadable: u64,
    pub schema_version: u64,
}

/// An incremental reader of one ledger database (read-only connection).
pub struct LedgerScan {
    path: PathBuf,
    conn: Option<Connection>,
    last_seq: i64,
    figures: LedgerFigures,
}

fn sql(path: &Path) -> impl Fn(rusqlite::Error) -> Error + '_ {
    move |e| {
        Error::io(
            format!("reading ledger database {}", path.display()),
            std::io::Error::other(e.to_string()),
        )
    }
}

impl LedgerScan {
    pub fn new(path: impl AsRef<Path>) -> Self {
        LedgerScan {
            path: path.as_ref().to_path_buf(),
            conn: None,
            last_seq: 0,
            figures: LedgerFigures::default(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn<'a>(slot: &'a mut Option<Connection>, path: &Path) -> Result<&'a Connection> {
        if slot.is_none() {
            if !path.is_file() {
                return Err(Error::io(
                    format!("no ledger database at {}", path.display()),
                    std::io::Error::from(std::io::ErrorKind::NotFound),
                ));
            }
            let err = sql(path);
            let c = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(&err)?;
            c.busy_timeout(std::time::Duration::from_millis(5000))
                .map_err(&err)?;
            *slot = Some(c);
        }
        Ok(slot.as_ref().expect("opened above"))
    }

    /// Reads what was committed since the last read; today's spend and
    /// open holds as of `now_ms` in `timezone`.
    pub fn read(&mut self, timezone: &str, now_ms: i64) -> Result<LedgerFigures> {
        let tz = parse_tz(timezone)?;
        let path = self.path.clone();
        let err = sql(&path);
        let conn = Self::conn(&mut self.conn, &path)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(&err)?;
        let supported = crate::ledger::db::SCHEMA_VERSION;
        if version as u64 > supported {
            return Err(Error::UnsupportedFormat {
                path: path.clone(),
                found: version as u64,
                supported,
            });
        }
        if version == 0 {
            return Ok(LedgerFigures::default());
        }
        let max_seq: i64 = conn
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))
            .map_err(&err)?;
        // Taken, not copied: a read that fails half way leaves a scan that
        // starts over, never one that would count some events twice.
        let (mut last_seq, mut f) = (
            std::mem::take(&mut self.last_seq),
            std::mem::take(&mut self.figures),
        );
        if max_seq < last_seq {
            // The file was replaced by another ledger: start over.
            last_seq = 0;
            f = LedgerFigures::default();
        }
        f.schema_version = version as u64;
        let mut st = conn
            .prepare_cached(
                "SELECT seq, event_type, provider, model, status, usage, cost, timestamp
                 FROM events WHERE seq > ?1 ORDER BY seq",
            )
            .map_err(&err)?;
        let mut rows = st.query([last_seq]).map_err(&err)?;
        while let Some(row) = rows.next().map_err(&err)? {
            last_seq = row.get(0).map_err(&err)?;
            let kind: String = row.get(1).map_err(&err)?;
            let provider: String = row.get(2).map_err(&err)?;
            let model: String = row.get(3).map_err(&err)?;
            let status: String = row.get(4).map_err(&err)?;
            let usage: String = row.get(5).map_err(&err)?;
            let cost: String = row.get(6).map_err(&err)?;
            let ts: f64 = row.get(7).map_err(&err)?;
            f.last_event_s = Some(f.last_event_s.map_or(ts, |t: f64| t.max(ts)));
            *f.events.entry(kind.clone()).or_default() += 1;
            if kind != "commit" && kind != "adjust" {
                continue;
            }
            let key = (name_or_unknown(provider), name_or_unknown(model));
            let t = f.keys.entry(key).or_default();
            let cost: Option<Value> = serde_json::from_str(&cost).ok();
            match cost.as_ref().and_then(|c| c.get("spend_nusd")?.as_i64()) {
                Some(n) => {
                    t.spend_nusd = t.spend_nusd.saturating_add(n);
                    if cost.as_ref().and_then(|c| c.get("priced")?.as_bool()) == Some(false) {
                        t.unpriced_nusd = t.unpriced_nusd.saturating_add(n);
                    }
                }
                None => f.unreadable += 1,
            }
            if kind != "commit" {
                continue;
            }
            t.requests += 1;
            if status == "error" {
                t.errors += 1;
            }
            let u = serde_json::from_str::<Value>(&usage)
                .ok()
                .filter(|v| v.as_object().is_some_and(|m| !m.is_empty()))
                .map(|v| TokenUsage::read(&v));
            match u {
                None => {}
                Some(Ok(r)) => {
                    let u = r.usage;
                    t.input = t.input.saturating_add(u.input);
                    t.output = t.output.saturating_add(u.output);
                    t.cache_read = t.cache_read.saturating_add(u.cache_read);
                    t.cache_write = t.cache_write.saturating_add(u.cache_write);
                    t.reasoning = t.reasoning.saturating_add(u.reasoning);
                }
                Some(Err(_)) => f.unreadable += 1,
            }
        }
        drop(rows);
        drop(st);
        let day = day_window(tz, now_ms);
        let b = day.buckets();
        f.spend_today.clear();
        let mut st = conn
            .prepare_cached(
                "SELECT scope, COALESCE(SUM(nusd), 0) FROM spend
                 WHERE bucket >= ?1 AND bucket < ?2 GROUP BY scope",
            )
            .map_err(&err)?;
        let mut rows = st.query(params![b.start, b.end]).map_err(&err)?;
        while let Some(row) = rows.next().map_err(&err)? {
            f.spend_today
                .insert(row.get(0).map_err(&err)?, row.get(1).map_err(&err)?);
        }
        drop(rows);
        drop(st);
        f.holds.clear();
        let mut st = conn
            .prepare_cached(
                "SELECT provider, model, COUNT(*), COALESCE(SUM(amount_nusd), 0) FROM holds
                 WHERE expires_ms > ?1 GROUP BY provider, model",
            )
            .map_err(&err)?;
        let mut rows = st.query([now_ms]).map_err(&err)?;
        while let Some(row) = rows.next().map_err(&err)? {
            let key = (
                name_or_unknown(row.get(0).map_err(&err)?),
                name_or_unknown(row.get(1).map_err(&err)?),
            );
            let h = f.holds.entry(key).or_default();
            h.count += row.get::<_, i64>(2).map_err(&err)? as u64;
            h.amount_nusd += row.get::<_, i64>(3).map_err(&err)?;
        }
        drop(rows);
        drop(st);
        self.last_seq = last_seq;
        self.figures = f.clone();
        Ok(f)
    }
}

fn name_or_unknown(s: String) -> String {
    if s.is_empty() {
        "unknown".into()
    } else {
        s
    }
}
