//! Time with its epoch named in the type.
//!
//! Everything SheetSight stores or sends (intervals, strokes, heartbeats, MQTT
//! timestamps) is a [`UnixMillis`]: wall time, milliseconds since 1970-01-01 00:00 UTC.
//! Offline analysis and simulated ground truth run on [`VideoSeconds`], seconds from a
//! video's start: a different quantity, never turned into wall time without the
//! recording's start. [`StreamTime`] is what both have in common: the analysis works in
//! seconds on whichever clock its frames are timed by, and its events come out on that
//! same clock.

use std::fmt;
use std::time::Duration;

/// Seconds since 1970 from the system clock, to the microsecond: how a live source stamps
/// a packet as it arrives (what a camera's frames are timed by).
pub fn now_unix_s() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// Milliseconds since 1970-01-01 00:00 UTC (negative before).
/// It serialises as the bare number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(transparent))]
pub struct UnixMillis(pub i64);

impl UnixMillis {
    pub const EPOCH: UnixMillis = UnixMillis(0);
    /// The latest time there is (an open end of a query's range).
    pub const MAX: UnixMillis = UnixMillis(i64::MAX);

    /// Now, from the system clock (before 1970 reads as 1970).
    pub fn now() -> UnixMillis {
        UnixMillis(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        )
    }

    /// From seconds since 1970, rounded to the millisecond.
    pub fn from_unix_s(t_s: f64) -> UnixMillis {
        UnixMillis((t_s * 1000.0).round() as i64)
    }

    /// Seconds since 1970.
    pub fn as_unix_s(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// Milliseconds since 1970.
    pub fn as_i64(self) -> i64 {
        self.0
    }

    /// Milliseconds since 1970, 0 for a time before it (what MQTT and Sparkplug carry).
    pub fn as_u64_or_zero(self) -> u64 {
        u64::try_from(self.0).unwrap_or(0)
    }

    /// Signed milliseconds from `earlier` to `self`.
    pub fn millis_since(self, earlier: UnixMillis) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// The time as chrono's UTC date-time; `None` outside chrono's range.
    pub fn to_datetime(self) -> Option<chrono::DateTime<chrono::Utc>> {
        chrono::DateTime::from_timestamp_millis(self.0)
    }

    /// `ms` milliseconds later (earlier when negative).
    pub fn plus_ms(self, ms: i64) -> UnixMillis {
        UnixMillis(self.0.saturating_add(ms))
    }

    /// RFC 3339 text in UTC with milliseconds (`2026-12-04T06:36:16.000Z`); the bare
    /// number for a time chrono cannot represent.
    pub fn rfc3339(self) -> String {
        self.to_datetime()
            .map_or_else(|| self.0.to_string(), |d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    }
}

/// Seconds from the start of a video (offline analysis, simulated ground truth).
/// It serialises as the bare number.
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct VideoSeconds(pub f64);

impl fmt::Display for VideoSeconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3} s", self.0)
    }
}

/// The clock a stream of frames and its events are timed by: [`VideoSeconds`] offline,
/// [`UnixMillis`] live. Analysis works in seconds on that clock and never mixes two.
pub trait StreamTime: Copy + fmt::Debug + PartialEq + PartialOrd + Send + Sync + 'static {
    /// From seconds on this clock (a wall clock keeps whole milliseconds).
    fn from_s(s: f64) -> Self;
    /// Seconds on this clock.
    fn as_s(self) -> f64;
}

impl StreamTime for VideoSeconds {
    fn from_s(s: f64) -> Self {
        VideoSeconds(s)
    }
    fn as_s(self) -> f64 {
        self.0
    }
}

impl StreamTime for UnixMillis {
    fn from_s(s: f64) -> Self {
        UnixMillis::from_unix_s(s)
    }
    fn as_s(self) -> f64 {
        self.as_unix_s()
    }
}

impl std::ops::Add<Duration> for UnixMillis {
    type Output = UnixMillis;
    fn add(self, d: Duration) -> UnixMillis {
        UnixMillis(self.0.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
    }
}

impl std::ops::Sub<Duration> for UnixMillis {
    type Output = UnixMillis;
    fn sub(self, d: Duration) -> UnixMillis {
        UnixMillis(self.0.saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
    }
}

/// The signed milliseconds between two times.
impl std::ops::Sub for UnixMillis {
    type Output = i64;
    fn sub(self, earlier: UnixMillis) -> i64 {
        self.millis_since(earlier)
    }
}

impl<Tz: chrono::TimeZone> From<chrono::DateTime<Tz>> for UnixMillis {
    fn from(t: chrono::DateTime<Tz>) -> UnixMillis {
        UnixMillis(t.timestamp_millis())
    }
}

impl fmt::Display for UnixMillis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_utc_with_milliseconds() {
        assert_eq!(UnixMillis(1_764_830_176_123).rfc3339(), "2025-12-04T06:36:16.123Z");
        assert_eq!(UnixMillis::EPOCH.to_string(), "1970-01-01T00:00:00.000Z");
        assert_eq!(UnixMillis(i64::MAX).rfc3339(), i64::MAX.to_string());
    }

    #[test]
    fn seconds_round_to_the_millisecond() {
        assert_eq!(UnixMillis::from_unix_s(1.0015), UnixMillis(1002));
        assert_eq!(UnixMillis(1500).as_unix_s(), 1.5);
        assert_eq!(UnixMillis(-5).as_u64_or_zero(), 0);
        assert_eq!(UnixMillis(1000) + Duration::from_millis(250), UnixMillis(1250));
        assert_eq!(UnixMillis(1000) - Duration::from_secs(2), UnixMillis(-1000));
        assert_eq!(UnixMillis(1000).millis_since(UnixMillis(400)), 600);
        assert_eq!(UnixMillis(400) - UnixMillis(1000), -600);
        assert_eq!(UnixMillis(400).plus_ms(-500), UnixMillis(-100));
        let noon = chrono::DateTime::parse_from_rfc3339("2026-12-04T12:00:00+08:00").expect("valid");
        assert_eq!(UnixMillis::from(noon).rfc3339(), "2026-12-04T04:00:00.000Z");
    }

    #[test]
    fn now_is_after_this_code_was_written() {
        assert!(UnixMillis::now() > UnixMillis(1_764_000_000_000));
    }
}
