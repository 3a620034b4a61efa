//! The ledger's single writer (L3–L5, L9): owns the process's one SQLite
//! connection, batches events (N queued or T elapsed) into one transaction,
//! fulfils `sync` acknowledgements in order after commit, retries failed
//! batches with backoff, isolates an event the database refuses so it never
//! takes its batch with it, expires holds, and drains the queue on close.

use super::db::Refusal;
use super::rate::{RateLimit, RateMark};
use crate::error::{Error, Result};
use crate::ledger::accounts::{Effect, Scope};
use crate::ledger::db::{is_transient, sql_err, Db};
use crate::ledger::event::{EventStatus, EventType, LedgerEvent};
use crate::ledger::LShared;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Completion of a `sync` write, called on the writer thread.
pub type Ack = Box<dyn FnOnce(Result<()>) + Send>;

pub(crate) enum LCmd {
    Event {
        ev: Box<LedgerEvent>,
        eff: Effect,
        ack: Option<Ack>,
    },
    /// Check-and-hold in one transaction: the budget (strict mode) and
    /// the rate limits that apply, with the tokens the request counts.
    Reserve {
        ev: Box<LedgerEvent>,
        eff: Effect,
        check_budget: bool,
        rate: Option<(Vec<RateLimit>, u64)>,
        ack: Sender<Result<std::result::Result<Option<RateMark>, Refusal>>>,
    },
    Query {
        scope: Scope,
        profile: Option<String>,
        reserved: bool,
        ack: Sender<Result<i64>>,
    },
    Flush(Sender<Result<()>>),
    Close(Sender<Result<()>>),
}

struct Queued {
    ev: Box<LedgerEvent>,
    eff: Effect,
    ack: Option<Ack>,
}

pub(crate) struct LedgerWriter {
    shared: Arc<LShared>,
    db: Db,
    rx: Receiver<LCmd>,
    batch: Vec<Queued>,
    oldest: Option<Instant>,
    last_expiry: Instant,
    /// Set while the database refuses writes (disk full, locked for long):
    /// background commits then try once instead of retrying for
    /// `RETRY_FOR` each, so one full disk does not stall the writer for
    /// ten seconds per queued event.
    stalled: bool,
}

/// How long a batch is retried before the failure is reported to waiters
/// (the batch itself is kept and retried later).
const RETRY_FOR: Duration = Duration::from_secs(10);

impl LedgerWriter {
    pub fn new(shared: Arc<LShared>, db: Db, rx: Receiver<LCmd>) -> Self {
        LedgerWriter {
            shared,
            db,
            rx,
            batch: Vec::new(),
            oldest: None,
            last_expiry: Instant::now(),
            stalled: false,
        }
    }

    pub fn run(mut self) {
        let interval = Duration::from_millis(self.shared.opts.flush_interval_ms);
        loop {
            let wait = match self.oldest {
                Some(t) => interval.saturating_sub(t.elapsed()),
                None => interval,
            };
            match self.rx.recv_timeout(wait) {
                Ok(LCmd::Event { ev, eff, ack }) => {
                    let sync = ack.is_some();
                    self.enqueue(Queued { ev, eff, ack });
                    if sync {
                        let _ = self.commit(RETRY_FOR);
                    } else if self.batch.len() >= self.shared.opts.batch_size {
                        let _ = self.commit(self.background_retry());
                    }
                }
                Ok(LCmd::Reserve {
                    ev,
                    eff,
                    check_budget,
                    rate,
                    ack,
                }) => {
                    let res = self
                        .commit(RETRY_FOR)
                        .and_then(|_| self.reserve(&ev, &eff, check_budget, rate.as_ref()));
                    let _ = ack.send(res);
                }
                Ok(LCmd::Query {
                    scope,
                    profile,
                    reserved,
                    ack,
                }) => {
                    let res = self.commit(RETRY_FOR).and_then(|_| {
                        if reserved {
                            self.db
                                .reserved(&scope, profile.as_deref(), self.shared.now_ms())
                        } else {
                            self.db
                                .spend(&scope, profile.as_deref(), &self.shared.today())
                        }
                    });
                    let _ = ack.send(res);
                }
                Ok(LCmd::Flush(ack)) => {
                    let _ = ack.send(self.commit(RETRY_FOR));
                }
                Ok(LCmd::Close(ack)) => {
                    let _ = ack.send(self.drain_and_close());
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.commit(self.background_retry());
                    if self.last_expiry.elapsed() >= interval {
                        self.last_expiry = Instant::now();
                        let _ = self.expire_holds();
                        let _ = self.db.prune_rate(self.shared.now_ms());
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = self.drain_and_close();
                    return;
                }
            }
        }
    }

    fn background_retry(&self) -> Duration {
        if self.stalled {
            Duration::ZERO
        } else {
            RETRY_FOR
        }
    }

    fn enqueue(&mut self, q: Queued) {
        if self.batch.is_empty() {
            self.oldest = Some(Instant::now());
        }
        self.batch.push(q);
    }

    /// L4: everything queued before `close` is committed, within the
    /// deadline; whatever could not be is reported, never silently dropped.
    fn drain_and_close(&mut self) -> Result<()> {
        while let Ok(cmd) = self.rx.try_recv() {
            match cmd {
                LCmd::Event { ev, eff, ack } => self.enqueue(Queued { ev, eff, ack }),
                LCmd::Reserve { ack, .. } => {
                    let _ = ack.send(Err(Error::Closed));
                }
                LCmd::Query { ack, .. } => {
                    let _ = ack.send(Err(Error::Closed));
                }
                LCmd::Flush(ack) | LCmd::Close(ack) => {
                    let _ = ack.send(Ok(()));
                }
            }
        }
        let deadline = Duration::from_millis(self.shared.opts.close_deadline_ms);
        let res = self.commit(deadline);
        if res.is_err() {
            let n = self.batch.len();
            for q in self.batch.drain(..) {
                if let Some(ack) = q.ack {
                    ack(Err(Error::Closed));
                }
            }
            return Err(Error::io(
                format!("closing the ledger: {n} queued events could not be written before the deadline"),
                std::io::Error::other(res.err().map(|e| e.to_string()).unwrap_or_default()),
            ));
        }
        res
    }

    /// Commits the queued batch in one transaction (L3). Transient failures
    /// are retried with exponential backoff for up to `retry_for`; an event
    /// the database itself refuses is isolated and reported (L5).
    fn commit(&mut self, retry_for: Duration) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let mut backoff = Duration::from_millis(20);
        loop {
            let items: Vec<(&LedgerEvent, &Effect)> =
                self.batch.iter().map(|q| (&*q.ev, &q.eff)).collect();
            match self.db.write_batch(&items) {
                Ok(inserted) => {
                    self.stalled = false;
                    self.finish(inserted);
                    return Ok(());
                }
                Err(e) if is_transient(&e) => {
                    let err = sql_err("writing a ledger batch", e);
                    self.shared.health.lock().last_error = Some(err.to_string());
                    if started.elapsed() >= retry_for {
                        // Keep the batch: the next flush retries it (ids
                        // make a retry idempotent). A caller waiting for
                        // its event to be durable is told now, not when the
                        // disk has room again.
                        for q in &mut self.batch {
                            if let Some(ack) = q.ack.take() {
                                ack(Err(Error::io(
                                    format!(
                                        "{err}; the event stays queued and is written when the database accepts writes again"
                                    ),
                                    std::io::Error::other("not yet durable"),
                                )));
                            }
                        }
                        self.stalled = true;
                        return Err(err);
                    }
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
                Err(_) => return self.commit_one_by_one(),
            }
        }
    }

    /// A batch failed for a reason other than contention: write each event
    /// alone so only the one the database refuses fails.
    fn commit_one_by_one(&mut self) -> Result<()> {
        let batch = std::mem::take(&mut self.batch);
        self.oldest = None;
        let mut first_err = None;
        for q in batch {
            match self.db.write_batch(&[(&q.ev, &q.eff)]) {
                Ok(inserted) => {
                    self.after_write(&q, inserted[0]);
                    if let Some(ack) = q.ack {
                        ack(Ok(()));
                    }
                }
                Err(e) => {
                    let err = sql_err(&format!("writing ledger event {}", q.ev.id), e);
                    self.shared.accounts.lock().revert(&q.eff);
                    let mut h = self.shared.health.lock();
                    h.rejected += 1;
                    h.queue_depth = h.queue_depth.saturating_sub(1);
                    h.last_error = Some(err.to_string());
                    drop(h);
                    if let Some(ack) = q.ack {
                        ack(Err(Error::io(
                            err.to_string(),
                            std::io::Error::other("refused by the database"),
                        )));
                    }
                    first_err.get_or_insert(err);
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    fn after_write(&self, q: &Queued, inserted: bool) {
        let mut h = self.shared.health.lock();
        h.queue_depth = h.queue_depth.saturating_sub(1);
        if inserted {
            h.events_written += 1;
        } else {
            // The id was already in the database (a retry, or another
            // process): undo what this write did in memory.
            h.duplicates += 1;
            drop(h);
            self.shared.accounts.lock().revert(&q.eff);
        }
    }

    fn finish(&mut self, inserted: Vec<bool>) {
        let batch = std::mem::take(&mut self.batch);
        self.oldest = None;
        for (q, new) in batch.iter().zip(&inserted) {
            self.after_write(q, *new);
        }
        {
            let mut h = self.shared.health.lock();
            h.batches += 1;
            h.last_commit_ms = Some(self.shared.now_ms());
            h.last_error = None;
        }
        // Acknowledge in queue order, after the commit (L3).
        for q in batch {
            if let Some(ack) = q.ack {
                ack(Ok(()));
            }
        }
    }

    fn reserve(
        &mut self,
        ev: &LedgerEvent,
        eff: &Effect,
        check_budget: bool,
        rate: Option<&(Vec<RateLimit>, u64)>,
    ) -> Result<std::result::Result<Option<RateMark>, Refusal>> {
        let window = self.shared.today();
        let now = self.shared.now_ms();
        let started = Instant::now();
        let mut backoff = Duration::from_millis(20);
        let budget = self.shared.opts.daily_budget_nusd.filter(|_| check_budget);
        loop {
            match self.db.reserve_atomically(
                ev,
                eff,
                budget,
                &window,
                now,
                rate.map(|(l, t)| (l.as_slice(), *t)),
            ) {
                Ok(Ok((new, mark))) => {
                    if new {
                        self.shared.accounts.lock().apply(eff);
                        let mut h = self.shared.health.lock();
                        h.events_written += 1;
                        h.last_commit_ms = Some(now);
                    }
                    return Ok(Ok(mark));
                }
                Ok(Err(over)) => return Ok(Err(over)),
                Err(e) if is_transient(&e) && started.elapsed() < RETRY_FOR => {
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
                Err(e) => return Err(sql_err("reserving a hold", e)),
            }
        }
    }

    /// L9: holds past their TTL, from this or any process sharing the
    /// database, are released by a `cancel` event each.
    pub fn expire_holds(&mut self) -> Result<()> {
        let now = self.shared.now_ms();
        let expired = self.db.expired_holds(now)?;
        if expired.is_empty() {
            return Ok(());
        }
        for h in &expired {
            let mut ev = LedgerEvent::new(
                EventType::Cancel,
                &h.trace_id,
                &h.provider,
                &h.model,
                now as f64 / 1000.0,
            );
            ev.status = EventStatus::Cancelled;
            ev.profile_id = (!h.profile_id.is_empty()).then(|| h.profile_id.clone());
            ev.timing.insert(
                "expired_hold_age_ms".into(),
                serde_json::Value::from(now - (h.expires_ms - self.shared.opts.hold_ttl_ms)),
            );
            let eff = {
                let mut acc = self.shared.accounts.lock();
                let eff = acc.effect(&ev, 0, true, self.shared.opts.hold_ttl_ms);
                acc.apply(&eff);
                eff
            };
            self.shared.health.lock().queue_depth += 1;
            self.enqueue(Queued {
                ev: Box::new(ev),
                eff,
                ack: None,
            });
        }
        self.shared.health.lock().expired_holds += expired.len() as u64;
        self.commit(RETRY_FOR)
    }
}
