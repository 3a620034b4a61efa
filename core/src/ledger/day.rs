//! "Today" in the ledger's timezone (L6, X3): the window of a local day in
//! UTC milliseconds, and the 15-minute UTC buckets spend is aggregated in
//! (every real UTC offset is a multiple of 15 minutes, so any timezone's day
//! is a whole number of buckets).

use crate::error::{Error, Result};
use chrono::{NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

pub const BUCKET_MS: i64 = 15 * 60 * 1000;

pub fn bucket_of(ts_ms: i64) -> i64 {
    ts_ms.div_euclid(BUCKET_MS)
}

pub fn parse_tz(name: &str) -> Result<Tz> {
    name.parse::<Tz>().map_err(|_| {
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

fn local_midnight(tz: Tz, date: chrono::NaiveDate) -> i64 {
    // A DST change can skip midnight: then the day starts at the first
    // instant that exists.
    for h in 0..3 {
        let t = date.and_time(NaiveTime::from_hms_opt(h, 0, 0).unwrap_or_default());
        if let Some(dt) = tz.from_local_datetime(&t).earliest() {
            return dt.timestamp_millis();
        }
    }
    date.and_time(NaiveTime::MIN).and_utc().timestamp_millis()
}

pub fn day_window(tz: Tz, now_ms: i64) -> DayWindow {
    let local = Utc
        .timestamp_millis_opt(now_ms)
        .single()
        .unwrap_or_default()
        .with_timezone(&tz);
    let date = local.date_naive();
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
}
