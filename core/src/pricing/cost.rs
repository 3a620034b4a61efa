//! The price of one call: LiteLLM's rules applied to our inclusive usage.

use super::ModelPrice;
use crate::usage::TokenUsage;
use serde_json::{json, Value};

/// One line of a cost: which price, how many units, how much.
#[derive(Debug, Clone, PartialEq)]
pub struct CostItem {
    /// The price file's field, e.g. `cache_read_input_token_cost`.
    pub price: String,
    pub units: f64,
    /// USD per unit.
    pub unit_usd: f64,
    pub usd: f64,
}

/// What a call cost. `usd` is LiteLLM's float; `nusd` the integer
/// nano-USD the ledger adds up (L11).
#[derive(Debug, Clone, PartialEq)]
pub struct Cost {
    pub usd: f64,
    pub nusd: i64,
    pub priced: bool,
    /// The price file's key that priced it.
    pub model_key: Option<String>,
    pub items: Vec<CostItem>,
}

impl Cost {
    pub fn unpriced() -> Cost {
        Cost {
            usd: 0.0,
            nusd: 0,
            priced: false,
            model_key: None,
            items: Vec::new(),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "usd": self.usd,
            "priced": self.priced,
            "model": self.model_key,
            "items": self.items.iter().map(|i| json!({
                "price": i.price, "units": i.units, "unit_usd": i.unit_usd, "usd": i.usd,
            })).collect::<Vec<_>>(),
        })
    }
}

struct Lines {
    items: Vec<CostItem>,
}

impl Lines {
    fn add(&mut self, price: &str, units: f64, unit_usd: f64) {
        if units != 0.0 {
            self.items.push(CostItem {
                price: price.to_string(),
                units,
                unit_usd,
                usd: units * unit_usd,
            });
        }
    }
}

pub(super) fn price(p: &ModelPrice, _provider: Option<&str>, u: &TokenUsage, _ts_ms: i64) -> Cost {
    let mut l = Lines { items: Vec::new() };
    let input_rate = p.rate("input_cost_per_token").unwrap_or(0.0);
    let output_rate = p.rate("output_cost_per_token").unwrap_or(0.0);
    let cache_read_rate = p.rate("cache_read_input_token_cost").unwrap_or(input_rate);
    let cache_write_rate = p.rate("cache_creation_input_token_cost").unwrap_or(input_rate);
    let text_in = u.input - u.cache_read - u.cache_write;
    l.add("input_cost_per_token", text_in as f64, input_rate);
    l.add("cache_read_input_token_cost", u.cache_read as f64, cache_read_rate);
    l.add("cache_creation_input_token_cost", u.cache_write as f64, cache_write_rate);
    l.add("output_cost_per_token", u.output as f64, output_rate);
    finish(p, l)
}

fn finish(p: &ModelPrice, l: Lines) -> Cost {
    let usd: f64 = l.items.iter().map(|i| i.usd).sum();
    Cost {
        usd,
        nusd: usd_to_nusd(usd),
        priced: true,
        model_key: Some(p.key.clone()),
        items: l.items,
    }
}

fn usd_to_nusd(usd: f64) -> i64 {
    let n = (usd * 1e9).round();
    if n.is_finite() {
        n.clamp(0.0, i64::MAX as f64) as i64
    } else {
        0
    }
}
