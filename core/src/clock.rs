//! Time as a seam: production reads the system clock, tests drive a manual
//! one so flush timing and stamping are deterministic.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// A source of "now" in milliseconds since the Unix epoch (UTC).
pub trait Clock: Send + Sync + 'static {
    fn now_ms(&self) -> i64;
    /// True when time only moves when a test says so; the background writer
    /// then never flushes on its own timer, only when asked.
    fn is_manual(&self) -> bool {
        false
    }
    /// Waits `ms` of this clock's time: the thread sleeps on the real
    /// clock; a manual clock just moves forward, so waits are instant and
    /// deterministic in tests.
    fn sleep_ms(&self, ms: i64) {
        if ms > 0 {
            std::thread::sleep(std::time::Duration::from_millis(ms as u64));
        }
    }
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => d.as_millis() as i64,
            Err(e) => -(e.duration().as_millis() as i64),
        }
    }
}

/// A clock that only moves when told to; cheap to clone and share.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn new(start_ms: i64) -> Self {
        ManualClock(Arc::new(AtomicI64::new(start_ms)))
    }
    pub fn set(&self, ms: i64) {
        self.0.store(ms, Ordering::SeqCst);
    }
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
    fn is_manual(&self) -> bool {
        true
    }
    fn sleep_ms(&self, ms: i64) {
        self.advance(ms.max(0));
    }
}

pub type SharedClock = Arc<dyn Clock>;

/// A clock read from a host-supplied function: hosts with their own time
/// source (simulations, replays, tests in other languages) pass one in.
pub struct FnClock<F>(pub F);

impl<F: Fn() -> i64 + Send + Sync + 'static> Clock for FnClock<F> {
    fn now_ms(&self) -> i64 {
        (self.0)()
    }
}
