//! Money is integer nano-USD inside (L11): sums never drift. Floats exist
//! only at the API edge, converted here.

use crate::error::{Error, Result};

/// 1 USD in nano-USD.
pub const NANO_PER_USD: i64 = 1_000_000_000;

/// Converts a USD amount from the API edge, rounding to the nearest
/// nano-USD. `field` names the argument in the error.
pub fn usd_to_nano(usd: f64, field: &str) -> Result<i64> {
    if !usd.is_finite() {
        return Err(Error::invalid(format!(
            "{field} must be a finite number, got {usd}"
        )));
    }
    let nano = (usd * NANO_PER_USD as f64).round();
    if nano.abs() >= i64::MAX as f64 {
        return Err(Error::invalid(format!("{field} is too large: {usd}")));
    }
    Ok(nano as i64)
}

pub fn nano_to_usd(nano: i64) -> f64 {
    // Split to keep the integer part exact for large sums.
    (nano / NANO_PER_USD) as f64 + (nano % NANO_PER_USD) as f64 / NANO_PER_USD as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l11_sums_of_tenths_are_exact() {
        let tenth = usd_to_nano(0.1, "x").unwrap();
        assert_eq!(tenth, 100_000_000);
        let total: i64 = (0..50).map(|_| tenth).sum();
        assert_eq!(nano_to_usd(total), 5.0);
        assert!(usd_to_nano(f64::NAN, "cost_est_usd")
            .unwrap_err()
            .to_string()
            .contains("cost_est_usd"));
        assert_eq!(usd_to_nano(-0.04, "x").unwrap(), -40_000_000);
    }
}
