//! The reporting time zone (X3): data is stored in UTC; days and months of
//! a report, and the dates of `--since` / `--until`, are in the zone the
//! reader asks for: `UTC` (the default), a fixed offset (`+09:00`), or an
//! IANA name (`Europe/Berlin`, with its daylight-saving rules, from the
//! tz database bundled in the binary: `crate::ledger::day::TimeZone`).

use crate::error::{Error, Result};
use crate::eventlog::rfc3339;
use crate::ledger::day::TimeZone;
use chrono::NaiveDate;

const NS: i64 = 1_000_000_000;
const DAY_NS: i64 = 86_400 * NS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Zone {
    #[default]
    Utc,
    /// Seconds east of UTC.
    Fixed(i32),
    Named(TimeZone),
}

impl Zone {
    /// `UTC`, `Z`, `+09:00`, `-0530`, `+02`, or an IANA name.
    pub fn parse(s: &str) -> Result<Zone> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("utc") || t == "Z" || t == "+00:00" {
            return Ok(Zone::Utc);
        }
        if let Some(secs) = parse_offset(t) {
            return Ok(if secs == 0 {
                Zone::Utc
            } else {
                Zone::Fixed(secs)
            });
        }
        TimeZone::get(t).map(Zone::Named).ok_or_else(|| {
            Error::invalid(format!(
                "unknown time zone {s:?}: use UTC, an offset like +09:00, or an IANA name like Europe/Berlin"
            ))
        })
    }

    pub fn name(&self) -> String {
        match self {
            Zone::Utc => "UTC".into(),
            Zone::Fixed(secs) => {
                let sign = if *secs < 0 { '-' } else { '+' };
                let m = secs.unsigned_abs() / 60;
                format!("{sign}{:02}:{:02}", m / 60, m % 60)
            }
            Zone::Named(tz) => tz.name().into(),
        }
    }

    /// Seconds east of UTC at the instant `utc_ns`.
    pub fn offset_at(&self, utc_ns: i64) -> i32 {
        match self {
            Zone::Utc => 0,
            Zone::Fixed(s) => *s,
            Zone::Named(tz) => tz.offset_at(utc_ns.div_euclid(NS)),
        }
    }

    /// The local day (days since 1970-01-01 in this zone) of `utc_ns`.
    pub fn day_of(&self, utc_ns: i64) -> i64 {
        (utc_ns.div_euclid(NS) + i64::from(self.offset_at(utc_ns))).div_euclid(86_400)
    }

    /// The UTC instant (ns) the local day `day` starts at. On a day whose
    /// midnight does not exist (a daylight-saving jump at 00:00) it is the
    /// first local time that does.
    pub fn day_start(&self, day: i64) -> i64 {
        match self {
            Zone::Utc => day * DAY_NS,
            Zone::Fixed(s) => day * DAY_NS - i64::from(*s) * NS,
            Zone::Named(tz) => {
                let (y, m, d) = rfc3339::civil_from_days(day);
                let Some(midnight) =
                    NaiveDate::from_ymd_opt(y as i32, m, d).and_then(|d| d.and_hms_opt(0, 0, 0))
                else {
                    return day * DAY_NS;
                };
                // Gaps are at most a few hours; step in quarter hours.
                for q in 0..=16 {
                    let local = midnight + chrono::Duration::minutes(15 * q);
                    if let Some(s) = tz.earliest(local) {
                        return s * NS;
                    }
                }
                day * DAY_NS
            }
        }
    }
}

/// `+09:00`, `-05:30`, `+0930`, `+09`; `None` if not an offset.
fn parse_offset(s: &str) -> Option<i32> {
    let b = s.as_bytes();
    let sign = match b.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: Vec<u8> = b[1..].iter().copied().filter(|c| *c != b':').collect();
    if !digits.iter().all(u8::is_ascii_digit) || b[1..].iter().filter(|c| **c == b':').count() > 1 {
        return None;
    }
    let (h, m) = match digits.len() {
        1 | 2 => (std::str::from_utf8(&digits).ok()?.parse::<i32>().ok()?, 0),
        4 => (
            std::str::from_utf8(&digits[..2])
                .ok()?
                .parse::<i32>()
                .ok()?,
            std::str::from_utf8(&digits[2..])
                .ok()?
                .parse::<i32>()
                .ok()?,
        ),
        _ => return None,
    };
    if h > 18 || m > 59 {
        return None;
    }
    Some(sign * (h * 3600 + m * 60))
}

/// Local day of UTC instants, fast for instants in time order: the
/// bounds of the last day seen are kept, so a million events of a few
/// days cost a few time-zone lookups. A day with an offset change (a
/// daylight-saving switch) is never cached: each of its instants is looked
/// up.
#[derive(Debug, Clone)]
pub struct DayCache {
    zone: Zone,
    lo: i64,
    hi: i64,
    day: i64,
}

impl DayCache {
    pub fn new(zone: Zone) -> Self {
        DayCache {
            zone,
            lo: 0,
            hi: 0,
            day: 0,
        }
    }

    pub fn day(&mut self, utc_ns: i64) -> i64 {
        if utc_ns >= self.lo && utc_ns < self.hi {
            return self.day;
        }
        let off = self.zone.offset_at(utc_ns);
        let day = (utc_ns.div_euclid(NS) + i64::from(off)).div_euclid(86_400);
        let lo = day * DAY_NS - i64::from(off) * NS;
        let hi = lo + DAY_NS;
        if self.zone.offset_at(lo) == off && self.zone.offset_at(hi - 1) == off {
            (self.lo, self.hi, self.day) = (lo, hi, day);
        }
        day
    }
}

/// A month number: `year * 12 + month - 1`.
pub fn month_of_day(day: i64) -> i64 {
    let (y, m, _) = rfc3339::civil_from_days(day);
    y * 12 + i64::from(m) - 1
}

/// `2025-01-04`.
pub fn format_day(day: i64) -> String {
    let (y, m, d) = rfc3339::civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `2025-01`.
pub fn format_month(month: i64) -> String {
    format!(
        "{:04}-{:02}",
        month.div_euclid(12),
        month.rem_euclid(12) + 1
    )
}

/// A `--since` / `--until` bound as a UTC instant (ns). `YYYY-MM-DD` and
/// `YYYY-MM` are local dates in `zone`: `--since` starts at the first
/// instant of that day (month), `--until` ends after its last one (the
/// bound is exclusive: the start of the next day or month). An RFC 3339
/// time is that instant (for `--until`, events before it).
pub fn parse_bound(s: &str, zone: &Zone, until: bool) -> Result<i64> {
    let t = s.trim();
    let b = t.as_bytes();
    let bad = || {
        Error::invalid(format!(
            "{s:?} is not a date: use YYYY-MM-DD, YYYY-MM, or an RFC 3339 time like 2025-01-04T14:00:00Z"
        ))
    };
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = t.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        let (y, m, d) = (
            num(0..4).ok_or_else(bad)?,
            num(5..7).ok_or_else(bad)?,
            num(8..10).ok_or_else(bad)?,
        );
        NaiveDate::from_ymd_opt(y as i32, m as u32, d as u32).ok_or_else(bad)?;
        let day = rfc3339::days_from_civil(y, m, d) + i64::from(until);
        return Ok(zone.day_start(day));
    }
    if b.len() == 7 && b[4] == b'-' {
        let (y, m) = (num(0..4).ok_or_else(bad)?, num(5..7).ok_or_else(bad)?);
        if !(1..=12).contains(&m) {
            return Err(bad());
        }
        let (y, m) = if until {
            if m == 12 {
                (y + 1, 1)
            } else {
                (y, m + 1)
            }
        } else {
            (y, m)
        };
        return Ok(zone.day_start(rfc3339::days_from_civil(y, m, 1)));
    }
    rfc3339::parse_ns(t).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(s: &str) -> i64 {
        rfc3339::parse_ns(s).unwrap()
    }

    #[test]
    fn x3_parses_names_offsets_and_utc() {
        assert_eq!(Zone::parse("UTC").unwrap(), Zone::Utc);
        assert_eq!(Zone::parse("utc").unwrap(), Zone::Utc);
        assert_eq!(Zone::parse("+09:00").unwrap(), Zone::Fixed(9 * 3600));
        assert_eq!(
            Zone::parse("-0530").unwrap(),
            Zone::Fixed(-(5 * 3600 + 1800))
        );
        assert_eq!(Zone::parse("+02").unwrap().name(), "+02:00");
        assert_eq!(
            Zone::parse("Europe/Berlin").unwrap().name(),
            "Europe/Berlin"
        );
        let e = Zone::parse("Mars/Olympus").unwrap_err().to_string();
        assert!(e.contains("Mars/Olympus") && e.contains("IANA"), "{e}");
    }

    #[test]
    fn x3_day_boundaries_follow_the_zone_and_its_dst() {
        let berlin = Zone::parse("Europe/Berlin").unwrap();
        // 23:30 UTC in winter is 00:30 the next day in Berlin (UTC+1)...
        assert_eq!(
            format_day(berlin.day_of(ns("2025-01-04T23:30:00Z"))),
            "2025-01-05"
        );
        assert_eq!(
            format_day(berlin.day_of(ns("2025-01-04T22:59:59Z"))),
            "2025-01-04"
        );
        // ... and in summer 22:30 UTC already is (UTC+2).
        assert_eq!(
            format_day(berlin.day_of(ns("2025-07-04T22:30:00Z"))),
            "2025-07-05"
        );
        assert_eq!(
            format_day(berlin.day_of(ns("2025-07-04T21:59:59Z"))),
            "2025-07-04"
        );
        let ny = Zone::parse("America/New_York").unwrap();
        assert_eq!(
            format_day(ny.day_of(ns("2025-01-05T04:59:59Z"))),
            "2025-01-04"
        );
        assert_eq!(
            format_day(ny.day_of(ns("2025-01-05T05:00:00Z"))),
            "2025-01-05"
        );
        let kolkata = Zone::parse("Asia/Kolkata").unwrap();
        assert_eq!(
            format_day(kolkata.day_of(ns("2025-01-04T18:29:59Z"))),
            "2025-01-04"
        );
        assert_eq!(
            format_day(kolkata.day_of(ns("2025-01-04T18:30:00Z"))),
            "2025-01-05"
        );
    }

    #[test]
    fn x3_the_day_cache_agrees_with_direct_lookups_across_dst_switches() {
        for name in [
            "Europe/Berlin",
            "America/New_York",
            "Australia/Lord_Howe",
            "UTC",
            "+05:45",
        ] {
            let z = Zone::parse(name).unwrap();
            let mut cache = DayCache::new(z);
            // Every 7 minutes through March and October 2025, forwards then
            // backwards.
            let (a, b) = (ns("2025-03-01T00:00:00Z"), ns("2025-04-05T00:00:00Z"));
            let (c, d) = (ns("2025-10-01T00:00:00Z"), ns("2025-11-05T00:00:00Z"));
            let step = 7 * 60 * NS;
            let times: Vec<i64> = (a..b)
                .step_by(step as usize)
                .chain((c..d).step_by(step as usize))
                .collect();
            for &t in times.iter().chain(times.iter().rev()) {
                assert_eq!(
                    cache.day(t),
                    z.day_of(t),
                    "{name} at {}",
                    rfc3339::format_ns(t)
                );
            }
        }
    }

    #[test]
    fn x3_bounds_are_local_dates() {
        let berlin = Zone::parse("Europe/Berlin").unwrap();
        assert_eq!(
            parse_bound("2025-01-05", &berlin, false).unwrap(),
            ns("2025-01-04T23:00:00Z")
        );
        assert_eq!(
            parse_bound("2025-01-05", &berlin, true).unwrap(),
            ns("2025-01-05T23:00:00Z")
        );
        assert_eq!(
            parse_bound("2025-03", &Zone::Utc, true).unwrap(),
            ns("2025-04-01T00:00:00Z")
        );
        assert_eq!(
            parse_bound("2025-12", &Zone::Utc, true).unwrap(),
            ns("2026-01-01T00:00:00Z")
        );
        assert_eq!(
            parse_bound("2025-01-04T14:00:00+01:00", &berlin, true).unwrap(),
            ns("2025-01-04T13:00:00Z")
        );
        // Spring forward at 00:00 (America/Santiago, 2024-09-08): the day
        // starts at 01:00 local.
        let santiago = Zone::parse("America/Santiago").unwrap();
        assert_eq!(
            parse_bound("2024-09-08", &santiago, false).unwrap(),
            ns("2024-09-08T04:00:00Z")
        );
        for bad in ["2025-02-30", "2025-13", "yesterday", "2025/01/01"] {
            let e = parse_bound(bad, &Zone::Utc, false).unwrap_err().to_string();
            assert!(e.contains("YYYY-MM-DD"), "{bad}: {e}");
        }
        assert_eq!(
            format_month(month_of_day(rfc3339::days_from_civil(2025, 12, 31))),
            "2025-12"
        );
    }
}
