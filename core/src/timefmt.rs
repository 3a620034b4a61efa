//! UTC timestamps in the exact form a JS host writes with
//! `Date.prototype.toISOString()`: `YYYY-MM-DDTHH:MM:SS.sssZ` (T7).
//! Formatting and the fast parse path are hand-written because replaying a
//! million log lines must stay well under a second; anything unusual falls
//! back to chrono's RFC 3339 parser.

use chrono::{DateTime, Datelike, Timelike, Utc};

/// Formats epoch milliseconds as `2025-01-04T14:13:20.000Z`.
pub fn format_iso_ms(ms: i64) -> String {
    let mut out = String::with_capacity(24);
    write_iso_ms(&mut out, ms);
    out
}

pub fn write_iso_ms(out: &mut String, ms: i64) {
    use std::fmt::Write;
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        Some(dt) => {
            let _ = write!(
                out,
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                dt.year(),
                dt.month(),
                dt.day(),
                dt.hour(),
                dt.minute(),
                dt.second(),
                ms.rem_euclid(1000)
            );
        }
        None => out.push_str("1970-01-01T00:00:00.000Z"),
    }
}

/// Parses an RFC 3339 / ISO-8601 timestamp into epoch milliseconds (UTC).
pub fn parse_iso_ms(s: &str) -> Option<i64> {
    parse_fast(s.as_bytes()).or_else(|| {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|d| d.timestamp_millis())
    })
}

fn digits(b: &[u8]) -> Option<i64> {
    let mut v: i64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as i64;
    }
    Some(v)
}

/// `YYYY-MM-DDTHH:MM:SS.sssZ` only.
fn parse_fast(b: &[u8]) -> Option<i64> {
    if b.len() != 24
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'.'
        || b[23] != b'Z'
    {
        return None;
    }
    let (y, mo, d) = (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    let (h, mi, s) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    let frac = digits(&b[20..23])?;
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    Some(((days * 24 + h) * 60 + mi) * 60_000 + s * 1000 + frac)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// well-known algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t7_formats_like_js_to_iso_string() {
        assert_eq!(format_iso_ms(1_736_000_000_000), "2025-01-04T14:13:20.000Z");
        assert_eq!(format_iso_ms(1_736_000_000_123), "2025-01-04T14:13:20.123Z");
        assert_eq!(format_iso_ms(0), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn parses_fast_and_general_forms_to_the_same_instant() {
        assert_eq!(
            parse_iso_ms("2025-01-04T14:13:20.000Z"),
            Some(1_736_000_000_000)
        );
        assert_eq!(
            parse_iso_ms("2025-01-04T23:13:20.5+09:00"),
            Some(1_736_000_000_500)
        );
        assert_eq!(
            parse_iso_ms("2024-02-29T00:00:00.000Z"),
            Some(1_709_164_800_000)
        );
        assert_eq!(parse_iso_ms("not a date"), None);
        assert_eq!(parse_iso_ms("2025-13-04T14:13:20.000Z"), None);
    }

    #[test]
    fn roundtrip_many() {
        for ms in (0..2_000_000_000_000i64).step_by(97_531_246_801) {
            assert_eq!(parse_iso_ms(&format_iso_ms(ms)), Some(ms));
        }
    }
}
