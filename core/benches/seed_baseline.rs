//! The seed tracker's algorithm (PERFORMANCE.md baseline 1), ported to Rust
//! so the core can be compared with it in the same run: a growable list of
//! log objects with string ids, trimmed to the last 10 000 by copying, and
//! stats computed by filtering and reducing the whole list.

#![allow(dead_code)]

pub struct SeedLog {
    pub id: String,
    pub bridge_id: String,
    pub timestamp_ms: i64,
    pub prompt: u64,
    pub completion: u64,
    pub total: u64,
    pub duration_ms: Option<f64>,
    pub error: bool,
}

#[derive(Default)]
pub struct SeedTracker {
    logs: Vec<SeedLog>,
    n: u64,
}

impl SeedTracker {
    pub fn track(&mut self, bridge: &str, p: u64, c: u64, now_ms: i64) {
        self.n += 1;
        self.logs.push(SeedLog {
            id: format!("llm_log_{}_{}", self.n, now_ms),
            bridge_id: bridge.to_string(),
            timestamp_ms: now_ms,
            prompt: p,
            completion: c,
            total: p + c,
            duration_ms: None,
            error: false,
        });
        if self.logs.len() > 10_000 {
            // `logs.slice(-10000)`: a fresh copy of the newest 10 000.
            let start = self.logs.len() - 10_000;
            self.logs = self.logs.drain(start..).collect();
        }
    }

    pub fn stats(&self, bridge: Option<&str>) -> (u64, u64, u64, u64, u64, Option<i64>) {
        let filtered: Vec<&SeedLog> = self
            .logs
            .iter()
            .filter(|l| bridge.is_none_or(|b| l.bridge_id == b))
            .collect();
        let (mut p, mut c, mut t, mut e) = (0, 0, 0, 0);
        let mut last = None;
        for l in &filtered {
            p += l.prompt;
            c += l.completion;
            t += l.total;
            e += l.error as u64;
            last = Some(last.map_or(l.timestamp_ms, |m: i64| m.max(l.timestamp_ms)));
        }
        (filtered.len() as u64, p, c, t, e, last)
    }
}
