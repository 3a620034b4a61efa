//! The per-call observer behind `usagebook/otel` (O2): one JS function
//! subscribed to the core's observers. The core says what a call is and
//! what it counted; this hands each record to JS as the core's JSON,
//! through a weak thread-safe function (ledger writes run on the libuv
//! pool; a weak one never keeps the process alive). Records reach JS on
//! the event loop's next turn, in call order.

use napi::bindgen_prelude::Unknown;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use napi_derive::napi;
use std::sync::{Arc, Mutex};
use usagebook_core::telemetry::observe::{self, CallRecord};

type Callback = ThreadsafeFunction<String, Unknown<'static>, String, Status, false, true>;

static SUBSCRIPTION: Mutex<Option<u64>> = Mutex::new(None);

/// Sets (or, with `null`, removes) the one function every tracked call and
/// ledger commit of this process is reported to, as a JSON string.
#[napi(ts_args_type = "callback: ((recordJson: string) => void) | null")]
pub fn set_call_observer(callback: Option<Callback>) {
    let mut sub = SUBSCRIPTION.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(id) = sub.take() {
        observe::unsubscribe(id);
    }
    if let Some(cb) = callback {
        let cb = Arc::new(cb);
        *sub = Some(observe::subscribe(Arc::new(move |r: &CallRecord| {
            // Non-blocking: a closing environment refuses the call; the
            // record is then dropped (nothing is left to record it).
            let _ = cb.call(
                r.to_json().to_string(),
                ThreadsafeFunctionCallMode::NonBlocking,
            );
        })));
    }
}
