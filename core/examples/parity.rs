//! Compares `PriceRegistry::cost` with vectors of `litellm.cost_per_token`
//! results (JSON lines written by tests/parity/gen.py): prints mismatches by
//! shape. `cargo run --release -p usagebook-core --example parity -- VECTORS PRICES`
use std::collections::BTreeMap;
use usagebook_core::{PriceRegistry, TokenUsage};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let text = std::fs::read_to_string(&args[1]).unwrap();
    let reg = PriceRegistry::load_file(std::path::Path::new(&args[2])).unwrap();
    let show: usize = args.get(3).map_or(5, |s| s.parse().unwrap());
    let mut by_shape: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut shown: BTreeMap<String, usize> = BTreeMap::new();
    let (mut n, mut ok) = (0u64, 0u64);
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if !v["error"].is_null() {
            continue;
        }
        let u = &v["usage"];
        let g = |k: &str| u[k].as_u64().unwrap_or(0);
        let usage = TokenUsage {
            input: g("input"),
            output: g("output"),
            cache_read: g("cache_read"),
            cache_write: g("cache_write"),
            cache_write_1h: g("cache_write_1h"),
            cache_write_12h: g("cache_write_12h"),
            reasoning: g("reasoning"),
            service_tier: v["service_tier"].as_str().map(str::to_string),
            ..Default::default()
        };
        let ts = chrono::DateTime::parse_from_rfc3339(v["billing_time"].as_str().unwrap())
            .unwrap()
            .timestamp_millis();
        let want = v["prompt_cost"].as_f64().unwrap() + v["completion_cost"].as_f64().unwrap();
        let c = reg.cost(
            v["provider"].as_str(),
            v["model"].as_str().unwrap(),
            &usage,
            ts,
        );
        let shape = v["shape_name"].as_str().unwrap().to_string();
        let shape_key = shape.split(':').next().unwrap().to_string();
        let good =
            c.priced && ((c.usd - want).abs() <= 1e-9 * want.abs().max(1e-300) || c.usd == want);
        let e = by_shape.entry(shape_key.clone()).or_default();
        e.0 += 1;
        n += 1;
        if good {
            e.1 += 1;
            ok += 1;
        } else {
            let s = shown.entry(shape_key).or_default();
            if *s < show {
                *s += 1;
                println!(
                    "MISMATCH {} [{}] {} usage={} tier={:?}: ours {} ({}) litellm {} items={:?}",
                    v["model"],
                    v["provider"],
                    shape,
                    u,
                    v["service_tier"],
                    c.usd,
                    c.priced,
                    want,
                    c.items
                        .iter()
                        .map(|i| format!("{}x{}={}", i.price, i.units, i.usd))
                        .collect::<Vec<_>>()
                );
            }
        }
    }
    for (s, (t, g)) in &by_shape {
        println!("{s:<30} {g}/{t}");
    }
    println!("TOTAL {ok}/{n} = {:.4}%", 100.0 * ok as f64 / n as f64);
}
