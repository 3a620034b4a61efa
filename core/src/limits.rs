//! The bounds every entry point enforces, the same in every binding
//! (docs/limits.md). Each exists so that no input can overflow a sum,
//! disable a budget or make a number silently wrong; a value past one is
//! refused with an error naming the field and the bound.

/// Largest amount of one ledger event (estimate, actual cost, adjust): $10
/// million, 1e16 nano-USD.
pub const MAX_EVENT_NUSD: i64 = 10_000_000 * 1_000_000_000;

/// Largest spend of one day in one scope, and the largest daily budget:
/// $1 billion, 1e18 nano-USD (i64 holds 9.2e18, so a day's sum, a hold on
/// top and a correction can never wrap).
pub const MAX_DAY_NUSD: i64 = 1_000_000_000 * 1_000_000_000;

/// Longest hold TTL: 366 days. A longer "never expire" hold would overflow
/// its expiry time (and then expire at once, letting every later hold past
/// the budget).
pub const MAX_HOLD_TTL_MS: i64 = 366 * 86_400_000;

/// Latest event timestamp, in epoch **seconds**: 1e11 s is the year 5138.
/// Anything larger is almost certainly milliseconds (`time.time() * 1000`)
/// and is refused rather than filed 50,000 years ahead of every budget.
pub const MAX_TIMESTAMP_S: f64 = 1e11;

/// Longest id or name (bridge id, trace id, provider, model, profile id,
/// scope), in bytes of UTF-8.
/// The largest sequence number (log id) a tracker hands out or reads back.
/// No tracker records 2^63 events; a larger number in a file is damage,
/// and taking it would overflow the next number (fuzz finding F2).
pub const MAX_SEQ: u64 = i64::MAX as u64;

pub const MAX_NAME_BYTES: usize = 4096;

/// Deepest nesting of a JSON value a binding converts (usage, timing,
/// prices); deeper input is refused, never recursed into.
pub const MAX_JSON_DEPTH: usize = 64;

/// How much of an offending value an error message quotes.
pub const QUOTE_CHARS: usize = 80;

/// `s` quoted for an error message, cut at [`QUOTE_CHARS`] characters (a 10
/// MB value must not make a 10 MB message).
pub fn quote(s: &str) -> String {
    match s.char_indices().nth(QUOTE_CHARS) {
        None => format!("{s:?}"),
        Some((cut, _)) => format!("{:?}... ({} bytes)", &s[..cut], s.len()),
    }
}

/// `s` cut at [`QUOTE_CHARS`] characters for a message, unquoted.
pub fn clip(s: &str) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(QUOTE_CHARS) {
        None => s.into(),
        Some((cut, _)) => format!("{}... ({} bytes)", &s[..cut], s.len()).into(),
    }
}

/// Checks a name's length; `field` names it in the error.
pub fn check_name(field: &str, s: &str) -> crate::Result<()> {
    if s.len() > MAX_NAME_BYTES {
        return Err(crate::Error::invalid(format!(
            "{field} is {} bytes, more than the maximum of {MAX_NAME_BYTES}: {}",
            s.len(),
            quote(s)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x_quotes_are_bounded() {
        let big = "x".repeat(10_000_000);
        let q = quote(&big);
        assert!(q.len() < 200, "{}", q.len());
        assert!(q.contains("10000000 bytes"));
        assert_eq!(quote("é"), "\"é\"");
        let e = check_name("bridgeId", &big).unwrap_err().to_string();
        assert!(
            e.len() < 300 && e.contains("bridgeId") && e.contains("4096"),
            "{e}"
        );
    }

    #[test]
    fn x_money_bounds_cannot_overflow_a_day() {
        // A day at the maximum, a maximal hold on top and a maximal
        // correction still fit.
        assert!(MAX_DAY_NUSD.checked_add(MAX_EVENT_NUSD * 3).is_some());
        assert!((MAX_DAY_NUSD as i128 * 4) < i64::MAX as i128);
    }
}
