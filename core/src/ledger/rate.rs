//! Rate limits (R1–R3): requests per minute, tokens per minute and requests
//! per day, per scope, checked and counted in the same SQLite transaction
//! as the budget hold, so every process sharing the ledger sees one count.
//!
//! Window: a sliding-window counter with 1 s buckets for the per-minute
//! limits and 1 min buckets for the per-day one. A bucket counts while any
//! part of it is inside the window, so a request counts for between 60 and
//! 61 s (between 24 h and 24 h 1 min for `rpd`): the count can only be
//! high, never low, and the admitted requests (or tokens) in any window of
//! the limit's length never pass the limit.

use crate::error::{Error, Result};
use rusqlite::{params, Connection};
use serde_json::{Map, Value};

const SECOND_MS: i64 = 1_000;
const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;
/// Expected output tokens of a reservation that names neither `max_tokens`
/// nor an explicit token estimate.
pub const DEFAULT_OUTPUT_TOKENS: u64 = 1_024;

/// One limit: any of `rpm`, `tpm`, `rpd` for requests matching `scope`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    /// `all`, `provider:<name>`, `model:<name>` or `profile:<id>`.
    pub scope: String,
    pub rpm: Option<u64>,
    pub tpm: Option<u64>,
    pub rpd: Option<u64>,
}

/// Which count a limit bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Rpm,
    Tpm,
    Rpd,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Rpm => "rpm",
            Kind::Tpm => "tpm",
            Kind::Rpd => "rpd",
        }
    }
    fn window_ms(self) -> i64 {
        match self {
            Kind::Rpm | Kind::Tpm => MINUTE_MS,
            Kind::Rpd => DAY_MS,
        }
    }
    fn grain_ms(self) -> i64 {
        match self {
            Kind::Rpm | Kind::Tpm => SECOND_MS,
            Kind::Rpd => MINUTE_MS,
        }
    }
}

/// Why a request was refused (R3).
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimited {
    pub scope: String,
    /// `"rpm"`, `"tpm"` or `"rpd"`.
    pub limit: &'static str,
    /// The limit's window in seconds (60 or 86400).
    pub window_s: u64,
    /// The count in the window now, without this request.
    pub current: u64,
    pub maximum: u64,
    /// What this request would add (1 request, or its tokens).
    pub requested: u64,
    /// Seconds until enough of the window has passed for this request to
    /// fit; `None` when it can never fit (it alone is above the limit).
    pub retry_after_s: Option<f64>,
}

impl std::fmt::Display for RateLimited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "rate limit {} {} of scope {:?}: {} in the last {} s, this request adds {}",
            self.limit, self.maximum, self.scope, self.current, self.window_s, self.requested
        )?;
        match self.retry_after_s {
            Some(s) => write!(f, "; retry after {s:.3} s"),
            None => write!(f, "; it can never fit under this limit"),
        }
    }
}

/// What an admitted request counted, so its commit can correct the tokens
/// to the actual count while the buckets are still in their windows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateMark {
    pub scopes: Vec<String>,
    pub second_ms: i64,
    pub minute_ms: i64,
    pub tokens: u64,
}

/// The rate options of a ledger (same names in every binding).
#[derive(Debug, Clone, PartialEq)]
pub struct RateOptions {
    pub limits: Vec<RateLimit>,
    /// Wait (and retry) instead of refusing (R2).
    pub wait: bool,
    /// The longest one wait may be.
    pub max_wait_ms: i64,
    /// The longest all waits of one request may add up to.
    pub retry_budget_ms: i64,
}

impl Default for RateOptions {
    fn default() -> Self {
        RateOptions {
            limits: Vec::new(),
            wait: false,
            max_wait_ms: 60_000,
            retry_budget_ms: 90_000,
        }
    }
}

impl RateLimit {
    /// Whether a request of `provider`/`model`/`profile` falls under it.
    pub fn applies(&self, provider: &str, model: &str, profile: Option<&str>) -> bool {
        match self.scope.split_once(':') {
            None => self.scope == "all",
            Some(("provider", p)) => p == provider,
            Some(("model", m)) => m == model,
            Some(("profile", p)) => Some(p) == profile,
            Some(_) => false,
        }
    }

    fn kinds(&self) -> impl Iterator<Item = (Kind, u64)> + '_ {
        [
            (Kind::Rpm, self.rpm),
            (Kind::Tpm, self.tpm),
            (Kind::Rpd, self.rpd),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
    }

    /// Reads `{"scope": "provider:openai", "rpm": 500, "tpm": 200000,
    /// "rpd": 10000}` (at least one of the three).
    pub fn from_json(v: &Value, at: &str) -> Result<RateLimit> {
        let o = v.as_object().ok_or_else(|| {
            Error::invalid(format!(
                "{at} must be an object like {{\"scope\": \"all\", \"rpm\": 60}}"
            ))
        })?;
        for key in o.keys() {
            if !["scope", "rpm", "tpm", "rpd"].contains(&key.as_str()) {
                return Err(Error::invalid(format!(
                    "{at}: unknown key {}; known: scope, rpm, tpm, rpd",
                    crate::limits::quote(key)
                )));
            }
        }
        let scope = match o.get("scope") {
            None => "all".to_string(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => {
                return Err(Error::invalid(format!(
                    "{at}.scope must be a string, got {other}"
                )))
            }
        };
        let count = |k: &str| -> Result<Option<u64>> {
            match o.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v.as_u64().filter(|&n| n > 0).map(Some).ok_or_else(|| {
                    Error::invalid(format!("{at}.{k} must be an integer > 0, got {v}"))
                }),
            }
        };
        let l = RateLimit {
            scope,
            rpm: count("rpm")?,
            tpm: count("tpm")?,
            rpd: count("rpd")?,
        };
        l.validate(at)?;
        Ok(l)
    }

    pub fn validate(&self, at: &str) -> Result<()> {
        crate::limits::check_name(&format!("{at}.scope"), &self.scope)?;
        let ok = match self.scope.split_once(':') {
            None => self.scope == "all",
            Some((kind, name)) => {
                ["provider", "model", "profile"].contains(&kind) && !name.is_empty()
            }
        };
        if !ok {
            return Err(Error::invalid(format!(
                "{at}.scope must be \"all\", \"provider:<name>\", \"model:<name>\" or \"profile:<id>\", got {}",
                crate::limits::quote(&self.scope)
            )));
        }
        if self.rpm.is_none() && self.tpm.is_none() && self.rpd.is_none() {
            return Err(Error::invalid(format!("{at} sets none of rpm, tpm, rpd")));
        }
        Ok(())
    }
}

/// Reads a list of limits (the `rateLimits` option).
pub fn limits_from_json(v: &Value) -> Result<Vec<RateLimit>> {
    let a = v
        .as_array()
        .ok_or_else(|| Error::invalid("rateLimits must be a list of limits"))?;
    a.iter()
        .enumerate()
        .map(|(i, l)| RateLimit::from_json(l, &format!("rateLimits[{i}]")))
        .collect()
}

/// The JSON form of a list of limits.
pub fn limits_to_json(limits: &[RateLimit]) -> Value {
    Value::Array(
        limits
            .iter()
            .map(|l| {
                let mut m = Map::new();
                m.insert("scope".into(), Value::from(l.scope.clone()));
                for (k, v) in l.kinds() {
                    m.insert(k.as_str().into(), Value::from(v));
                }
                Value::Object(m)
            })
            .collect(),
    )
}

/// The tokens a reservation counts: an explicit estimate, or the input
/// plus the expected output (`max_tokens`, else [`DEFAULT_OUTPUT_TOKENS`]).
pub fn reserved_tokens(estimate: Option<u64>, input: Option<u64>, max_output: Option<u64>) -> u64 {
    estimate.unwrap_or_else(|| {
        input
            .unwrap_or(0)
            .saturating_add(max_output.unwrap_or(DEFAULT_OUTPUT_TOKENS))
    })
}

pub(crate) const SCHEMA: &str = r#"
    CREATE TABLE rate_usage (
        grain_ms INTEGER NOT NULL,  -- 1000 (per-minute limits) or 60000 (rpd)
        scope    TEXT NOT NULL,
        bucket   INTEGER NOT NULL,  -- bucket start, epoch ms
        requests INTEGER NOT NULL,
        tokens   INTEGER NOT NULL,
        PRIMARY KEY (grain_ms, scope, bucket)
    ) WITHOUT ROWID;
"#;

/// Checks every limit that applies and, if all pass, counts the request
/// under each of their scopes: one decision, inside the caller's
/// transaction (all limits or none).
pub(crate) fn check_and_count(
    c: &Connection,
    limits: &[RateLimit],
    now_ms: i64,
    tokens: u64,
) -> rusqlite::Result<std::result::Result<Option<RateMark>, RateLimited>> {
    if limits.is_empty() {
        return Ok(Ok(None));
    }
    for l in limits {
        for (kind, max) in l.kinds() {
            let add = if kind == Kind::Tpm { tokens } else { 1 };
            if let Some(refusal) = check_one(c, &l.scope, kind, max, add, now_ms)? {
                return Ok(Err(refusal));
            }
        }
    }
    let mut scopes: Vec<String> = limits.iter().map(|l| l.scope.clone()).collect();
    scopes.sort();
    scopes.dedup();
    let mark = RateMark {
        scopes,
        second_ms: now_ms.div_euclid(SECOND_MS) * SECOND_MS,
        minute_ms: now_ms.div_euclid(MINUTE_MS) * MINUTE_MS,
        tokens,
    };
    let mut st = c.prepare_cached(
        "INSERT INTO rate_usage (grain_ms, scope, bucket, requests, tokens) VALUES (?1, ?2, ?3, 1, ?4)
         ON CONFLICT (grain_ms, scope, bucket) DO UPDATE SET requests = requests + 1, tokens = tokens + excluded.tokens",
    )?;
    for s in &mark.scopes {
        st.execute(params![SECOND_MS, s, mark.second_ms, clamp(tokens)])?;
        st.execute(params![MINUTE_MS, s, mark.minute_ms, clamp(tokens)])?;
    }
    Ok(Ok(Some(mark)))
}

fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `Some(refusal)` if `add` more would pass `max` in the window now.
fn check_one(
    c: &Connection,
    scope: &str,
    kind: Kind,
    max: u64,
    add: u64,
    now_ms: i64,
) -> rusqlite::Result<Option<RateLimited>> {
    let (window, grain) = (kind.window_ms(), kind.grain_ms());
    let column = if kind == Kind::Tpm {
        "tokens"
    } else {
        "requests"
    };
    // Buckets that overlap the window: start > now - window - grain.
    let mut st = c.prepare_cached(&format!(
        "SELECT bucket, {column} FROM rate_usage WHERE grain_ms = ?1 AND scope = ?2 AND bucket > ?3 ORDER BY bucket"
    ))?;
    let rows: Vec<(i64, i64)> = st
        .query_map(params![grain, scope, now_ms - window - grain], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let current: u64 = rows.iter().map(|&(_, n)| n.max(0) as u64).sum();
    if current.saturating_add(add) <= max {
        return Ok(None);
    }
    // The oldest buckets leave first: when enough have left, it fits.
    let retry_after_s = (add <= max).then(|| {
        let need = current.saturating_add(add) - max;
        let mut freed = 0u64;
        let mut at = now_ms;
        for &(bucket, n) in &rows {
            freed += n.max(0) as u64;
            at = bucket + grain + window;
            if freed >= need {
                break;
            }
        }
        (at - now_ms).max(0) as f64 / 1000.0
    });
    Ok(Some(RateLimited {
        scope: scope.to_string(),
        limit: kind.as_str(),
        window_s: (window / 1000) as u64,
        current,
        maximum: max,
        requested: add,
        retry_after_s,
    }))
}

/// At commit: the reservation's tokens become the actual count, in the
/// buckets it was counted in (a bucket already out of its window is gone,
/// and so is the need to correct it).
pub(crate) fn reconcile(c: &Connection, mark: &RateMark, actual: u64) -> rusqlite::Result<()> {
    let delta = clamp(actual).saturating_sub(clamp(mark.tokens));
    if delta == 0 {
        return Ok(());
    }
    let mut st = c.prepare_cached(
        "UPDATE rate_usage SET tokens = MAX(0, tokens + ?1) WHERE grain_ms = ?2 AND scope = ?3 AND bucket = ?4",
    )?;
    for s in &mark.scopes {
        st.execute(params![delta, SECOND_MS, s, mark.second_ms])?;
        st.execute(params![delta, MINUTE_MS, s, mark.minute_ms])?;
    }
    Ok(())
}

/// Drops buckets no window can reach any more.
pub(crate) fn prune(c: &Connection, now_ms: i64) -> rusqlite::Result<()> {
    c.prepare_cached("DELETE FROM rate_usage WHERE grain_ms = ?1 AND bucket < ?2")?
        .execute(params![SECOND_MS, now_ms - 2 * MINUTE_MS])?;
    c.prepare_cached("DELETE FROM rate_usage WHERE grain_ms = ?1 AND bucket < ?2")?
        .execute(params![MINUTE_MS, now_ms - DAY_MS - 2 * MINUTE_MS])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(SCHEMA).unwrap();
        c
    }

    fn lim(rpm: Option<u64>, tpm: Option<u64>, rpd: Option<u64>) -> Vec<RateLimit> {
        vec![RateLimit {
            scope: "all".into(),
            rpm,
            tpm,
            rpd,
        }]
    }

    const T0: i64 = 1_736_000_000_000;

    #[test]
    fn r1_rpm_window_edges_and_retry_after() {
        let c = db();
        let l = lim(Some(3), None, None);
        // Three at T0 + 0.2 s, +10 s, +20 s.
        for dt in [200, 10_000, 20_000] {
            assert!(check_and_count(&c, &l, T0 + dt, 0).unwrap().is_ok());
        }
        let r = check_and_count(&c, &l, T0 + 30_000, 0)
            .unwrap()
            .unwrap_err();
        assert_eq!(
            (r.limit, r.current, r.maximum, r.window_s),
            ("rpm", 3, 3, 60)
        );
        // The first (bucket T0) leaves the window at T0 + 61 s.
        assert_eq!(r.retry_after_s, Some(31.0));
        // Still counted at T0 + 60.999 s (its bucket overlaps the window) ...
        assert!(check_and_count(&c, &l, T0 + 60_999, 0).unwrap().is_err());
        // ... and gone at T0 + 61 s.
        assert!(check_and_count(&c, &l, T0 + 61_000, 0).unwrap().is_ok());
    }

    #[test]
    fn r1_tpm_counts_tokens_and_a_request_above_the_limit_never_fits() {
        let c = db();
        let l = lim(None, Some(1000), None);
        assert!(check_and_count(&c, &l, T0, 600).unwrap().is_ok());
        let r = check_and_count(&c, &l, T0 + 1_000, 500)
            .unwrap()
            .unwrap_err();
        assert_eq!((r.current, r.requested), (600, 500));
        assert_eq!(r.retry_after_s, Some(60.0));
        let r = check_and_count(&c, &l, T0 + 1_000, 1001)
            .unwrap()
            .unwrap_err();
        assert_eq!(r.retry_after_s, None);
        assert!(check_and_count(&c, &l, T0 + 1_000, 400).unwrap().is_ok());
    }

    #[test]
    fn r1_commit_reconciles_the_tokens_while_the_window_is_open() {
        let c = db();
        let l = lim(None, Some(1000), None);
        let mark = check_and_count(&c, &l, T0, 900).unwrap().unwrap().unwrap();
        // It used 100, not 900: 900 more fit now.
        reconcile(&c, &mark, 100).unwrap();
        assert!(check_and_count(&c, &l, T0 + 500, 900).unwrap().is_ok());
        assert!(check_and_count(&c, &l, T0 + 600, 1).unwrap().is_err());
    }

    #[test]
    fn r1_all_limits_or_none_a_refusal_counts_nothing() {
        let c = db();
        let l = vec![
            RateLimit {
                scope: "all".into(),
                rpm: Some(100),
                tpm: None,
                rpd: None,
            },
            RateLimit {
                scope: "provider:openai".into(),
                rpm: Some(1),
                tpm: None,
                rpd: None,
            },
        ];
        assert!(check_and_count(&c, &l, T0, 0).unwrap().is_ok());
        for _ in 0..5 {
            assert!(check_and_count(&c, &l, T0, 0).unwrap().is_err());
        }
        let all: i64 = c
            .query_row(
                "SELECT SUM(requests) FROM rate_usage WHERE grain_ms = 1000 AND scope = 'all'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(all, 1, "refused requests took no slot of the other limit");
    }

    #[test]
    fn r1_rpd_counts_a_day_at_minute_grain() {
        let c = db();
        let l = lim(None, None, Some(2));
        assert!(check_and_count(&c, &l, T0, 0).unwrap().is_ok());
        assert!(check_and_count(&c, &l, T0 + 3_600_000, 0).unwrap().is_ok());
        let r = check_and_count(&c, &l, T0 + 7_200_000, 0)
            .unwrap()
            .unwrap_err();
        let first_minute = T0.div_euclid(MINUTE_MS) * MINUTE_MS;
        let want = (first_minute + MINUTE_MS + DAY_MS - (T0 + 7_200_000)) as f64 / 1000.0;
        assert_eq!(r.retry_after_s, Some(want));
        prune(&c, T0 + 2 * DAY_MS).unwrap();
        assert!(check_and_count(&c, &l, T0 + 2 * DAY_MS, 0).unwrap().is_ok());
    }

    #[test]
    fn r1_options_are_validated_naming_the_field() {
        let bad = [
            (r#"[{"scope":"everything","rpm":1}]"#, "scope"),
            (r#"[{"scope":"all"}]"#, "none of rpm"),
            (r#"[{"scope":"all","rpm":0}]"#, "rpm must be an integer > 0"),
            (r#"[{"scope":"all","rpm":1.5}]"#, "rpm"),
            (r#"[{"scope":"all","rpx":1}]"#, "unknown key"),
            (r#"{"scope":"all"}"#, "list"),
        ];
        for (text, want) in bad {
            let err = limits_from_json(&serde_json::from_str(text).unwrap()).unwrap_err();
            assert!(err.to_string().contains(want), "{text}: {err}");
        }
        let ok = limits_from_json(
            &serde_json::from_str(
                r#"[{"scope":"provider:openai","rpm":500,"tpm":200000,"rpd":10000}]"#,
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            limits_to_json(&ok).to_string(),
            r#"[{"scope":"provider:openai","rpm":500,"tpm":200000,"rpd":10000}]"#
        );
        assert!(ok[0].applies("openai", "gpt-4o", None));
        assert!(!ok[0].applies("anthropic", "gpt-4o", None));
    }

    proptest::proptest! {
        /// Admitted requests and tokens in any window never pass the limit.
        #[test]
        fn r1_admitted_never_pass_the_limit_in_any_window(
            steps in proptest::collection::vec((0i64..5_000, 0u64..400), 1..300)
        ) {
            let c = db();
            let l = lim(Some(7), Some(1500), None);
            let mut now = T0;
            let mut admitted: Vec<(i64, u64)> = Vec::new();
            for (dt, tokens) in steps {
                now += dt;
                if check_and_count(&c, &l, now, tokens).unwrap().is_ok() {
                    admitted.push((now, tokens));
                }
            }
            for &(t, _) in &admitted {
                // Every window (t - 60 s, t] ending at an admission.
                let inside: Vec<_> = admitted.iter().filter(|&&(u, _)| u > t - MINUTE_MS && u <= t).collect();
                proptest::prop_assert!(inside.len() <= 7);
                proptest::prop_assert!(inside.iter().map(|&&(_, k)| k).sum::<u64>() <= 1500);
            }
        }
    }
}
