//! How the ledger prices a commit (L12, U4): the event's usage, read in the
//! one usage vocabulary, at the model's price in the registry (the bundled
//! LiteLLM snapshot unless the ledger was given its own prices).

use crate::ledger::event::LedgerEvent;
pub use crate::pricing::{Cost, PriceRegistry};
use crate::usage::TokenUsage;
use serde_json::Value;

/// Prices an event's usage. An event whose usage cannot be read (it was
/// validated at write time, so only old rows) is unpriced.
pub fn cost_of(prices: &PriceRegistry, ev: &LedgerEvent) -> Cost {
    let Ok(usage) = TokenUsage::from_value(&Value::Object(ev.usage.clone())) else {
        return Cost::unpriced();
    };
    let provider = (!ev.provider.is_empty()).then_some(ev.provider.as_str());
    prices.cost(provider, &ev.model, &usage, ev.ts_ms())
}
