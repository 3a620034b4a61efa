//! The ledger's SQLite store (L10): WAL, `busy_timeout` 5000 ms, batches in
//! one transaction, `usage`/`cost`/`timing` as JSON columns, indexes on
//! timestamp and trace_id, a versioned schema with migrations, and
//! maintained aggregates (`spend`, `holds`) so opening reads O(keys) rows,
//! never the whole event history.

use crate::error::{Error, Result};
use crate::ledger::accounts::{scope_keys, Effect, OpenHold, Scope};
use crate::ledger::day::DayWindow;
use crate::ledger::event::LedgerEvent;
use crate::ledger::money::nano_to_usd;
use rusqlite::{params, Connection, ErrorCode, OptionalExtension, TransactionBehavior};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;

/// Schema migrations, applied in order; `PRAGMA user_version` is the number
/// applied. Never edit a shipped entry: append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: events, open holds, spend aggregates.
    r#"
    CREATE TABLE events (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        id         TEXT NOT NULL UNIQUE,
        event_type TEXT NOT NULL,
        trace_id   TEXT NOT NULL,
        provider   TEXT NOT NULL,
        model      TEXT NOT NULL,
        profile_id TEXT,
        usage      TEXT NOT NULL,   -- JSON object
        cost       TEXT NOT NULL,   -- JSON: est/actual/spend in nano-USD and USD, priced
        status     TEXT NOT NULL,
        timing     TEXT NOT NULL,   -- JSON object
        timestamp  REAL NOT NULL    -- epoch seconds
    );
    CREATE INDEX events_timestamp ON events(timestamp);
    CREATE INDEX events_trace_id ON events(trace_id);
    CREATE TABLE holds (
        trace_id    TEXT PRIMARY KEY,
        event_id    TEXT NOT NULL,
        provider    TEXT NOT NULL,
        model       TEXT NOT NULL,
        profile_id  TEXT NOT NULL,
        amount_nusd INTEGER NOT NULL,
        expires_ms  INTEGER NOT NULL
    );
    CREATE TABLE spend (
        bucket     INTEGER NOT NULL,  -- 15-minute UTC bucket
        scope      TEXT NOT NULL,
        profile_id TEXT NOT NULL,
        nusd       INTEGER NOT NULL,
        PRIMARY KEY (bucket, scope, profile_id)
    ) WITHOUT ROWID;
    "#,
    // 2: rate-limit buckets (R1).
    super::rate::SCHEMA,
];

pub const SCHEMA_VERSION: u64 = MIGRATIONS.len() as u64;

pub(crate) fn sql_err(context: &str, e: rusqlite::Error) -> Error {
    Error::io(context.to_string(), std::io::Error::other(e.to_string()))
}

/// Busy, locked, full or failing disk: worth retrying the same batch.
pub(crate) fn is_transient(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(
            ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::DiskFull
                | ErrorCode::SystemIoFailure
                | ErrorCode::CannotOpen
                | ErrorCode::OutOfMemory
        )
    )
}

/// Why a strict reserve was refused.
#[derive(Debug)]
pub enum Refusal {
    /// Spent and reserved, nano-USD: the budget would be passed.
    Budget(i64, i64),
    Rate(Box<super::rate::RateLimited>),
}

use super::rate::{RateLimit, RateMark};

pub struct Db {
    conn: Connection,
}

impl Db {
    pub fn open(path: &Path, full_sync: bool) -> Result<Db> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
        }
        let ctx = format!("opening ledger database {}", path.display());
        let conn = Connection::open(path).map_err(|e| sql_err(&ctx, e))?;
        conn.busy_timeout(std::time::Duration::from_millis(5000))
            .map_err(|e| sql_err(&ctx, e))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| sql_err(&ctx, e))?;
        conn.pragma_update(
            None,
            "synchronous",
            if full_sync { "FULL" } else { "NORMAL" },
        )
        .map_err(|e| sql_err(&ctx, e))?;
        let mut db = Db { conn };
        db.migrate(path)?;
        Ok(db)
    }

    fn migrate(&mut self, path: &Path) -> Result<()> {
        let ctx = "migrating the ledger schema";
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| sql_err(ctx, e))?;
        let version: u64 = tx
            .pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))
            .map_err(|e| sql_err(ctx, e))? as u64;
        if version > SCHEMA_VERSION {
            return Err(Error::UnsupportedFormat {
                path: path.to_path_buf(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(sql).map_err(|e| sql_err(ctx, e))?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)
                .map_err(|e| sql_err(ctx, e))?;
        }
        tx.commit().map_err(|e| sql_err(ctx, e))
    }

    pub fn schema_version(&self) -> Result<u64> {
        self.conn
            .pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))
            .map(|v| v as u64)
            .map_err(|e| sql_err("reading the schema version", e))
    }

    pub fn load_spend_since(&self, bucket: i64) -> Result<Vec<(i64, String, String, i64)>> {
        let ctx = "loading spend aggregates";
        let mut st = self
            .conn
            .prepare("SELECT bucket, scope, profile_id, nusd FROM spend WHERE bucket >= ?1")
            .map_err(|e| sql_err(ctx, e))?;
        let rows = st
            .query_map([bucket], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .map_err(|e| sql_err(ctx, e))?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(|e| sql_err(ctx, e))
    }

    pub fn load_holds(&self) -> Result<Vec<OpenHold>> {
        let ctx = "loading open holds";
        let mut st = self
            .conn
            .prepare("SELECT trace_id, event_id, provider, model, profile_id, amount_nusd, expires_ms FROM holds")
            .map_err(|e| sql_err(ctx, e))?;
        let rows = st
            .query_map([], |r| {
                Ok(OpenHold {
                    trace_id: r.get(0)?,
                    event_id: r.get(1)?,
                    provider: r.get(2)?,
                    model: r.get(3)?,
                    profile_id: r.get(4)?,
                    amount_nusd: r.get(5)?,
                    expires_ms: r.get(6)?,
                })
            })
            .map_err(|e| sql_err(ctx, e))?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(|e| sql_err(ctx, e))
    }

    /// Writes a batch in one transaction. Returns, per event, whether it was
    /// new (false: the id was already there, nothing applied).
    pub fn write_batch(
        &mut self,
        items: &[(&LedgerEvent, &Effect)],
    ) -> std::result::Result<Vec<bool>, rusqlite::Error> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut inserted = Vec::with_capacity(items.len());
        // Spend deltas are summed per aggregate row and written once per
        // row at the end: a batch of 100 commits is ~100 inserts, not 400.
        let mut spend: HashMap<(i64, String, &str), i64> = HashMap::new();
        for (ev, eff) in items {
            let new = insert_event(&tx, ev, eff)?;
            if new {
                apply_holds(&tx, eff)?;
                if let Some((mark, actual)) = &eff.rate_reconcile {
                    super::rate::reconcile(&tx, mark, *actual)?;
                }
                if eff.spend_nusd != 0 {
                    for scope in scope_keys(eff) {
                        *spend
                            .entry((eff.bucket, scope, eff.profile_id.as_str()))
                            .or_default() += eff.spend_nusd;
                    }
                }
            }
            inserted.push(new);
        }
        {
            let mut st = tx.prepare_cached(SPEND_UPSERT)?;
            for ((bucket, scope, profile), nusd) in spend {
                if nusd != 0 {
                    st.execute(params![bucket, scope, profile, nusd])?;
                }
            }
        }
        tx.commit()?;
        Ok(inserted)
    }

    /// Strict reserve (L7): check and hold in one IMMEDIATE transaction, so
    /// no other process can slip in between the check and the write.
    /// `Ok(Err((spent, reserved)))` means the budget would be exceeded.
    pub fn reserve_atomically(
        &mut self,
        ev: &LedgerEvent,
        eff: &Effect,
        limit_nusd: Option<i64>,
        window: &DayWindow,
        now_ms: i64,
        rate: Option<(&[RateLimit], u64)>,
    ) -> std::result::Result<std::result::Result<(bool, Option<RateMark>), Refusal>, rusqlite::Error>
    {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(limit) = limit_nusd {
            let spent = spend_in(&tx, &Scope::All, None, window)?;
            let reserved = reserved_in(&tx, &Scope::All, None, now_ms)?;
            let amount = eff.open_hold.as_ref().map_or(0, |h| h.amount_nusd);
            if spent + reserved + amount > limit {
                return Ok(Err(Refusal::Budget(spent, reserved)));
            }
        }
        // Budget and every rate limit, one decision: a refusal rolls the
        // whole transaction back (no slot of any limit is taken).
        let mark = match rate {
            Some((limits, tokens)) => {
                match super::rate::check_and_count(&tx, limits, now_ms, tokens)? {
                    Ok(m) => m,
                    Err(r) => return Ok(Err(Refusal::Rate(Box::new(r)))),
                }
            }
            None => None,
        };
        let new = apply_one(&tx, ev, eff)?;
        tx.commit()?;
        Ok(Ok((new, mark)))
    }

    /// Drops rate buckets no window can reach any more.
    pub fn prune_rate(&self, now_ms: i64) -> Result<()> {
        super::rate::prune(&self.conn, now_ms).map_err(|e| sql_err("pruning rate buckets", e))
    }

    pub fn spend(&self, scope: &Scope, profile: Option<&str>, w: &DayWindow) -> Result<i64> {
        spend_in(&self.conn, scope, profile, w).map_err(|e| sql_err("reading spend", e))
    }

    pub fn reserved(&self, scope: &Scope, profile: Option<&str>, now_ms: i64) -> Result<i64> {
        reserved_in(&self.conn, scope, profile, now_ms).map_err(|e| sql_err("reading holds", e))
    }

    /// Open holds past their expiry, from every process sharing the file.
    pub fn expired_holds(&self, now_ms: i64) -> Result<Vec<OpenHold>> {
        Ok(self
            .load_holds()?
            .into_iter()
            .filter(|h| h.expires_ms <= now_ms)
            .collect())
    }

    pub fn count_events(&self) -> Result<u64> {
        self.conn
            .query_row("SELECT COUNT(*) FROM events", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| sql_err("counting events", e))
    }

    pub fn has_event(&self, id: &str) -> Result<bool> {
        self.conn
            .query_row("SELECT 1 FROM events WHERE id = ?1", [id], |_| Ok(()))
            .optional()
            .map(|o| o.is_some())
            .map_err(|e| sql_err("looking up an event", e))
    }
}

const SPEND_UPSERT: &str =
    "INSERT INTO spend (bucket, scope, profile_id, nusd) VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (bucket, scope, profile_id) DO UPDATE SET nusd = nusd + excluded.nusd";

/// One event with its aggregates (the strict reserve path).
fn apply_one(
    c: &Connection,
    ev: &LedgerEvent,
    eff: &Effect,
) -> std::result::Result<bool, rusqlite::Error> {
    if !insert_event(c, ev, eff)? {
        return Ok(false);
    }
    if let Some((mark, actual)) = &eff.rate_reconcile {
        super::rate::reconcile(c, mark, *actual)?;
    }
    if eff.spend_nusd != 0 {
        let mut st = c.prepare_cached(SPEND_UPSERT)?;
        for scope in scope_keys(eff) {
            st.execute(params![eff.bucket, scope, eff.profile_id, eff.spend_nusd])?;
        }
    }
    apply_holds(c, eff)?;
    Ok(true)
}

/// Opens or releases the event's hold row.
fn apply_holds(c: &Connection, eff: &Effect) -> std::result::Result<(), rusqlite::Error> {
    if let Some(t) = &eff.release {
        c.prepare_cached("DELETE FROM holds WHERE trace_id = ?1")?
            .execute([t])?;
    }
    if let Some(h) = &eff.open_hold {
        c.prepare_cached(
            "INSERT OR REPLACE INTO holds (trace_id, event_id, provider, model, profile_id, amount_nusd, expires_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![h.trace_id, h.event_id, h.provider, h.model, h.profile_id, h.amount_nusd, h.expires_ms])?;
    }
    Ok(())
}

/// Inserts the event row; false when its id was already there (idempotent).
fn insert_event(
    c: &Connection,
    ev: &LedgerEvent,
    eff: &Effect,
) -> std::result::Result<bool, rusqlite::Error> {
    let cost = json!({
        "est_nusd": ev.cost_est_nusd,
        "actual_nusd": ev.cost_actual_nusd,
        "spend_nusd": eff.spend_nusd,
        "est_usd": nano_to_usd(ev.cost_est_nusd),
        "actual_usd": ev.cost_actual_nusd.map(nano_to_usd),
        "spend_usd": nano_to_usd(eff.spend_nusd),
        "priced": eff.priced,
    });
    let n = c
        .prepare_cached(
            "INSERT OR IGNORE INTO events (id, event_type, trace_id, provider, model, profile_id, usage, cost, status, timing, timestamp)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?
        .execute(params![
            ev.id,
            ev.event_type.as_str(),
            ev.trace_id,
            ev.provider,
            ev.model,
            ev.profile_id,
            Value::Object(ev.usage.clone()).to_string(),
            cost.to_string(),
            ev.status.as_str(),
            Value::Object(ev.timing.clone()).to_string(),
            ev.timestamp,
        ])?;
    Ok(n > 0)
}

fn spend_in(
    c: &Connection,
    scope: &Scope,
    profile: Option<&str>,
    w: &DayWindow,
) -> std::result::Result<i64, rusqlite::Error> {
    let b = w.buckets();
    match profile {
        None => c.query_row(
            "SELECT COALESCE(SUM(nusd), 0) FROM spend WHERE bucket >= ?1 AND bucket < ?2 AND scope = ?3",
            params![b.start, b.end, scope.key()],
            |r| r.get(0),
        ),
        Some(p) => c.query_row(
            "SELECT COALESCE(SUM(nusd), 0) FROM spend WHERE bucket >= ?1 AND bucket < ?2 AND scope = ?3 AND profile_id = ?4",
            params![b.start, b.end, scope.key(), p],
            |r| r.get(0),
        ),
    }
}

fn reserved_in(
    c: &Connection,
    scope: &Scope,
    profile: Option<&str>,
    now_ms: i64,
) -> std::result::Result<i64, rusqlite::Error> {
    let (col, val) = match scope {
        Scope::All => ("'all'", String::from("all")),
        Scope::Provider(p) => ("provider", p.clone()),
        Scope::Model(m) => ("model", m.clone()),
        Scope::Unpriced => return Ok(0),
    };
    let sql = format!(
        "SELECT COALESCE(SUM(amount_nusd), 0) FROM holds WHERE expires_ms > ?1 AND {col} = ?2 AND (?3 IS NULL OR profile_id = ?3)"
    );
    c.query_row(&sql, params![now_ms, val, profile], |r| r.get(0))
}
