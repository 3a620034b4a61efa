//! RFC 3339 times of the event log (E2): stored in UTC as nanoseconds since
//! the epoch, written with a fraction only when it is not zero (3, 6 or 9
//! digits, as chrono's serde form that seed 004 writes). Any offset is read
//! (`+09:00` means the same instant). The parser has a hand-written fast
//! path because a report reads a million of them; anything unusual goes to
//! chrono.

use chrono::DateTime;

const NS_PER_SEC: i64 = 1_000_000_000;

/// Parses an RFC 3339 time into UTC nanoseconds since the epoch. `None`
/// when it is not RFC 3339 or lies outside 1677..2262 (the i64 range).
pub fn parse_ns(s: &str) -> Option<i64> {
    parse_fast(s.as_bytes()).or_else(|| {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .and_then(|d| d.timestamp_nanos_opt())
    })
}

fn num(b: &[u8]) -> Option<i64> {
    let mut v = 0i64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as i64;
    }
    Some(v)
}

/// `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±HH:MM)`.
fn parse_fast(b: &[u8]) -> Option<i64> {
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (num(&b[0..4])?, num(&b[5..7])?, num(&b[8..10])?);
    let (h, mi, s) = (num(&b[11..13])?, num(&b[14..16])?, num(&b[17..19])?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let mut rest = &b[19..];
    let mut frac = 0i64;
    if rest.first() == Some(&b'.') {
        let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return None;
        }
        frac = num(&rest[1..1 + n])? * 10i64.pow(9 - n as u32);
        rest = &rest[1 + n..];
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let oh = num(&[*h1, *h2])?;
            let om = num(&[*m1, *m2])?;
            if oh > 23 || om > 59 {
                return None;
            }
            let v = (oh * 60 + om) * 60;
            if *sign == b'-' {
                -v
            } else {
                v
            }
        }
        _ => return None,
    };
    let secs = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + s - offset;
    secs.checked_mul(NS_PER_SEC)?.checked_add(frac)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) of a day number (days since 1970-01-01).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `2026-11-25T02:05:14.858732423Z`, `2025-01-04T14:13:20.120Z`,
/// `2026-05-11T03:04:05Z`: UTC, fraction in 3, 6 or 9 digits and only when
/// not zero (chrono's `SecondsFormat::AutoSi`, seed 004's form).
pub fn format_ns(ns: i64) -> String {
    let mut out = String::with_capacity(30);
    write_ns(&mut out, ns);
    out
}

pub fn write_ns(out: &mut String, ns: i64) {
    write_datetime(out, ns, 0, 'T');
    let frac = ns.rem_euclid(NS_PER_SEC);
    push_fraction(out, frac, true);
    out.push('Z');
}

/// Go's `time.RFC3339Nano` of the UTC time: trailing zeros of the fraction
/// trimmed, no fraction when zero (the CLIProxyAPI dedup key, G6).
pub fn format_go_nano(ns: i64) -> String {
    let mut out = String::with_capacity(30);
    write_datetime(&mut out, ns, 0, 'T');
    push_fraction(&mut out, ns.rem_euclid(NS_PER_SEC), false);
    out.push('Z');
    out
}

/// RFC 3339 at a fixed offset from UTC (`+09:00`), fraction as
/// [`format_ns`].
pub fn format_ns_at_offset(ns: i64, offset_secs: i32) -> String {
    if offset_secs == 0 {
        return format_ns(ns);
    }
    let mut out = String::with_capacity(32);
    write_datetime(&mut out, ns, offset_secs, 'T');
    push_fraction(&mut out, ns.rem_euclid(NS_PER_SEC), true);
    let sign = if offset_secs < 0 { '-' } else { '+' };
    let a = offset_secs.unsigned_abs() / 60;
    out.push_str(&format!("{sign}{:02}:{:02}", a / 60, a % 60));
    out
}

/// `YYYY-MM-DD HH:MM[:SS]` of the local time at `offset_secs` from UTC.
pub fn format_local(ns: i64, offset_secs: i32, seconds: bool) -> String {
    let mut out = String::with_capacity(19);
    write_datetime(&mut out, ns, offset_secs, ' ');
    if !seconds {
        out.truncate(16);
    }
    out
}

fn write_datetime(out: &mut String, ns: i64, offset_secs: i32, sep: char) {
    use std::fmt::Write;
    let secs = ns.div_euclid(NS_PER_SEC) + i64::from(offset_secs);
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}{sep}{:02}:{:02}:{:02}",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    );
}

fn push_fraction(out: &mut String, frac: i64, si_groups: bool) {
    if frac == 0 {
        return;
    }
    let digits = format!("{frac:09}");
    let keep = if si_groups {
        if frac % 1_000_000 == 0 {
            3
        } else if frac % 1_000 == 0 {
            6
        } else {
            9
        }
    } else {
        digits.trim_end_matches('0').len()
    };
    out.push('.');
    out.push_str(&digits[..keep]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e2_seed_times_round_trip_exactly() {
        for s in [
            "2026-11-25T02:05:14.858732423Z",
            "2026-05-11T03:04:05Z",
            "2025-01-04T14:13:20.120Z",
            "2025-01-04T14:13:20.000120Z",
            "1969-12-31T23:59:59.999Z",
        ] {
            let ns = parse_ns(s).unwrap();
            assert_eq!(format_ns(ns), s);
            assert_eq!(
                Some(ns),
                DateTime::parse_from_rfc3339(s)
                    .unwrap()
                    .timestamp_nanos_opt()
            );
        }
    }

    #[test]
    fn e2_offsets_mean_the_same_instant() {
        assert_eq!(
            parse_ns("2026-05-11T12:04:05+09:00"),
            parse_ns("2026-05-11T03:04:05Z")
        );
        assert_eq!(
            parse_ns("2026-05-10T22:34:05.5-04:30"),
            parse_ns("2026-05-11T03:04:05.500Z")
        );
        // Forms only chrono's parser takes still work.
        assert_eq!(
            parse_ns("2026-05-11 03:04:05Z"),
            parse_ns("2026-05-11T03:04:05Z")
        );
        for bad in [
            "2026-02-30T00:00:00Z",
            "2026-05-11T03:04:05",
            "yesterday",
            "2026-05-11T03:04:05.Z",
            "",
        ] {
            assert_eq!(parse_ns(bad), None, "{bad}");
        }
    }

    #[test]
    fn go_nano_trims_trailing_zeros() {
        let ns = parse_ns("2025-03-01T10:00:00.120000+01:00").unwrap();
        assert_eq!(format_go_nano(ns), "2025-03-01T09:00:00.12Z");
        assert_eq!(
            format_go_nano(parse_ns("2025-03-01T09:00:00Z").unwrap()),
            "2025-03-01T09:00:00Z"
        );
        assert_eq!(
            format_ns_at_offset(ns, 3600),
            "2025-03-01T10:00:00.120+01:00"
        );
        assert_eq!(format_local(ns, -3600 * 5, false), "2025-03-01 04:00");
    }

    #[test]
    fn civil_round_trip() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m as i64, d as i64), days);
        }
    }
}
