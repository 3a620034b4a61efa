//! In-memory accounting (L6, L8): spend per scope in 15-minute buckets and
//! the open holds. Every event is applied here when it is written, before
//! it reaches the database, so prechecks see events still queued (L7).

use crate::ledger::day::{bucket_of, DayWindow};
use crate::ledger::event::{EventType, LedgerEvent};
use std::collections::{BTreeMap, HashMap};

/// `"all"`, `"provider:<name>"` or `"model:<name>"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    All,
    Provider(String),
    Model(String),
    /// The part of all spend settled without a price (at an estimate,
    /// U3): the companion of `all` that says how much of it is a guess.
    Unpriced,
}

impl Scope {
    pub fn parse(s: &str) -> crate::Result<Scope> {
        if s == "all" {
            return Ok(Scope::All);
        }
        if s == "unpriced" {
            return Ok(Scope::Unpriced);
        }
        if let Some(p) = s.strip_prefix("provider:").filter(|p| !p.is_empty()) {
            return Ok(Scope::Provider(p.to_string()));
        }
        if let Some(m) = s.strip_prefix("model:").filter(|m| !m.is_empty()) {
            return Ok(Scope::Model(m.to_string()));
        }
        Err(crate::Error::invalid(format!(
            "scope must be \"all\", \"provider:<name>\", \"model:<name>\" or \"unpriced\", got {s:?}"
        )))
    }

    pub fn key(&self) -> String {
        match self {
            Scope::All => "all".into(),
            Scope::Provider(p) => format!("provider:{p}"),
            Scope::Model(m) => format!("model:{m}"),
            Scope::Unpriced => "unpriced".into(),
        }
    }

    fn matches(&self, provider: &str, model: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Provider(p) => p == provider,
            Scope::Model(m) => m == model,
            // Holds are reservations, never "unpriced spend".
            Scope::Unpriced => false,
        }
    }
}

/// The scopes an event's spend counts in; unpriced spend also in
/// `unpriced`.
pub fn scope_keys(e: &Effect) -> Vec<String> {
    let mut keys = vec![
        "all".to_string(),
        format!("provider:{}", e.provider),
        format!("model:{}", e.model),
    ];
    if !e.priced {
        keys.push("unpriced".to_string());
    }
    keys
}

#[derive(Debug, Clone, PartialEq)]
pub struct OpenHold {
    pub event_id: String,
    pub trace_id: String,
    pub provider: String,
    pub model: String,
    pub profile_id: String,
    pub amount_nusd: i64,
    pub expires_ms: i64,
}

/// What one event does to the accounts; applied in memory at write time
/// and in the database by the writer, reverted if the database already had
/// the event (a duplicate id).
#[derive(Debug, Clone, PartialEq)]
pub struct Effect {
    pub spend_nusd: i64,
    pub bucket: i64,
    pub provider: String,
    pub model: String,
    pub profile_id: String,
    pub priced: bool,
    pub open_hold: Option<OpenHold>,
    /// The trace whose hold this event releases (commit, cancel).
    pub release: Option<String>,
    /// The hold that was released, for reverting.
    pub released: Option<OpenHold>,
    /// A commit's correction of its reservation's tokens (R1), with the
    /// actual count.
    pub rate_reconcile: Option<(super::rate::RateMark, u64)>,
}

#[derive(Debug, Default)]
pub struct Accounts {
    spend: HashMap<(String, String), BTreeMap<i64, i64>>,
    holds: HashMap<String, OpenHold>,
    /// Set by `close` under this lock: a write that takes the lock later is
    /// refused instead of being queued behind the writer's final drain.
    pub closed: bool,
}

impl Accounts {
    /// Computes an event's effect. `spend_nusd` was settled by the caller
    /// (actual cost, priced usage, or the fallback for unpriced models).
    pub fn effect(
        &self,
        ev: &LedgerEvent,
        spend_nusd: i64,
        priced: bool,
        hold_ttl_ms: i64,
    ) -> Effect {
        let profile = ev.profile_id.clone().unwrap_or_default();
        let mut e = Effect {
            spend_nusd: 0,
            bucket: bucket_of(ev.ts_ms()),
            provider: ev.provider.clone(),
            model: ev.model.clone(),
            profile_id: profile.clone(),
            priced,
            open_hold: None,
            release: None,
            released: None,
            rate_reconcile: None,
        };
        match ev.event_type {
            EventType::PrecheckHold => {
                e.open_hold = Some(OpenHold {
                    event_id: ev.id.clone(),
                    trace_id: ev.trace_id.clone(),
                    provider: ev.provider.clone(),
                    model: ev.model.clone(),
                    profile_id: profile,
                    amount_nusd: ev.cost_est_nusd,
                    expires_ms: ev.ts_ms().saturating_add(hold_ttl_ms),
                });
            }
            EventType::Commit => {
                e.spend_nusd = spend_nusd;
                e.release = Some(ev.trace_id.clone());
            }
            EventType::Cancel => e.release = Some(ev.trace_id.clone()),
            EventType::Adjust => e.spend_nusd = spend_nusd,
            EventType::RateLimitWait | EventType::RateLimitRetry | EventType::Other(_) => {}
        }
        if let Some(h) = e.release.as_ref().and_then(|t| self.holds.get(t)) {
            e.released = Some(h.clone());
            // A commit of a hold on another provider/model still counts
            // where the commit says it ran.
        }
        e
    }

    pub fn apply(&mut self, e: &Effect) {
        self.add_spend(e, e.spend_nusd);
        if let Some(t) = &e.release {
            self.holds.remove(t);
        }
        if let Some(h) = &e.open_hold {
            self.holds.insert(h.trace_id.clone(), h.clone());
        }
    }

    pub fn revert(&mut self, e: &Effect) {
        self.add_spend(e, -e.spend_nusd);
        if let Some(h) = &e.open_hold {
            if self
                .holds
                .get(&h.trace_id)
                .is_some_and(|x| x.event_id == h.event_id)
            {
                self.holds.remove(&h.trace_id);
            }
        }
        if let Some(h) = &e.released {
            self.holds.insert(h.trace_id.clone(), h.clone());
        }
    }

    fn add_spend(&mut self, e: &Effect, nusd: i64) {
        if nusd == 0 {
            return;
        }
        for scope in scope_keys(e) {
            *self
                .spend
                .entry((scope, e.profile_id.clone()))
                .or_default()
                .entry(e.bucket)
                .or_default() += nusd;
        }
    }

    /// Loads an aggregate row from the database at open.
    pub fn load_bucket(&mut self, bucket: i64, scope: String, profile: String, nusd: i64) {
        *self
            .spend
            .entry((scope, profile))
            .or_default()
            .entry(bucket)
            .or_default() += nusd;
    }

    pub fn load_hold(&mut self, h: OpenHold) {
        self.holds.insert(h.trace_id.clone(), h);
    }

    /// Drops buckets older than `before_bucket` (memory stays bounded).
    pub fn prune(&mut self, before_bucket: i64) {
        for m in self.spend.values_mut() {
            *m = m.split_off(&before_bucket);
        }
        self.spend.retain(|_, m| !m.is_empty());
    }

    pub fn spend(&self, scope: &Scope, profile: Option<&str>, w: &DayWindow) -> i64 {
        let key = scope.key();
        self.spend
            .iter()
            .filter(|((s, p), _)| *s == key && profile.is_none_or(|want| want == p))
            .map(|(_, m)| {
                m.range(w.buckets())
                    .fold(0i64, |a, (_, v)| a.saturating_add(*v))
            })
            .fold(0i64, i64::saturating_add)
    }

    pub fn reserved(&self, scope: &Scope, profile: Option<&str>, now_ms: i64) -> i64 {
        self.holds
            .values()
            .filter(|h| h.expires_ms > now_ms)
            .filter(|h| scope.matches(&h.provider, &h.model))
            .filter(|h| profile.is_none_or(|p| p == h.profile_id))
            .map(|h| h.amount_nusd)
            .fold(0i64, i64::saturating_add)
    }

    pub fn hold(&self, trace_id: &str) -> Option<&OpenHold> {
        self.holds.get(trace_id)
    }

    pub fn expired_holds(&self, now_ms: i64) -> Vec<OpenHold> {
        self.holds
            .values()
            .filter(|h| h.expires_ms <= now_ms)
            .cloned()
            .collect()
    }

    pub fn open_holds(&self) -> usize {
        self.holds.len()
    }
}
