//! Shifts: named daily time windows in a time zone, on chosen days of the week.
//!
//! A shift whose end is not after its start runs past midnight (`22:00`–`06:00`) and
//! belongs to the day it starts on. Windows are computed in the shift's zone and turned
//! into UTC, so a day with a daylight-saving change gives a shift of 7 or 9 hours.
//!
//! ```toml
//! [[shift]]
//! name = "early"
//! start = "06:00"
//! end = "14:00"
//! days = ["mon", "tue", "wed", "thu", "fri"]   # default: every day
//! time_zone = "Europe/Berlin"                  # IANA name; default UTC
//! ```

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday};
pub use chrono_tz::Tz;

use serde::Deserialize;
use toml::Spanned;

use crate::diagnostics::{Checker, suggestion};

pub const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawShift {
    name: Spanned<String>,
    start: Spanned<String>,
    end: Spanned<String>,
    days: Option<Spanned<Vec<Spanned<String>>>>,
    time_zone: Option<Spanned<String>>,
}

/// One configured shift.
#[derive(Clone, Debug, PartialEq)]
pub struct Shift {
    pub name: String,
    pub start: NaiveTime,
    pub end: NaiveTime,
    /// Monday first.
    pub days: [bool; 7],
    pub time_zone: Tz,
}

/// One occurrence of a shift.
#[derive(Clone, Debug, PartialEq)]
pub struct ShiftWindow {
    pub shift: String,
    /// The local date the shift starts on.
    pub date: NaiveDate,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The shift's zone, for showing its times as the shop reads them.
    pub time_zone: Tz,
}

impl Shift {
    /// The occurrences that start on the local dates `from..=to`.
    pub fn windows(&self, from: NaiveDate, to: NaiveDate) -> Vec<ShiftWindow> {
        let mut out = Vec::new();
        let mut date = from;
        while date <= to {
            if self.days[date.weekday().num_days_from_monday() as usize] {
                let end_date = if self.end > self.start { date } else { date + Duration::days(1) };
                let start = local_to_utc(self.time_zone, date.and_time(self.start));
                let end = local_to_utc(self.time_zone, end_date.and_time(self.end));
                out.push(ShiftWindow { shift: self.name.clone(), date, start, end, time_zone: self.time_zone });
            }
            date += Duration::days(1);
        }
        out
    }
}

/// The shift day at `now`: the local date of the latest window of `shifts` to have
/// begun by then (a night shift that began last evening is yesterday's, until the next
/// shift begins), or `now`'s UTC date when there is none.
pub fn shift_day(shifts: &[Shift], now: DateTime<Utc>) -> NaiveDate {
    let utc_date = now.date_naive();
    shifts
        .iter()
        .flat_map(|s| s.windows(utc_date - Duration::days(2), utc_date + Duration::days(1)))
        .filter(|w| w.start <= now)
        .max_by_key(|w| w.start)
        .map_or(utc_date, |w| w.date)
}

/// A local time in `tz` as UTC: the earlier of two in the autumn's repeated hour, and one
/// hour later for a time that does not exist in the spring's skipped hour.
fn local_to_utc(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    tz.from_local_datetime(&local)
        .earliest()
        .or_else(|| tz.from_local_datetime(&(local + Duration::hours(1))).earliest())
        .map_or_else(|| Utc.from_utc_datetime(&local), |t| t.with_timezone(&Utc))
}

fn check_time(c: &Checker<'_>, s: &Spanned<String>, key: &str) -> Option<NaiveTime> {
    let time = NaiveTime::parse_from_str(s.get_ref(), "%H:%M").ok();
    if time.is_none() {
        c.report(s.span(), key, format!("`{}` is not a time of day: write HH:MM, e.g. 06:30", s.get_ref()));
    }
    time
}

pub(crate) fn check_shifts(c: &Checker<'_>, raw: &[Option<Spanned<RawShift>>]) -> Vec<Shift> {
    let mut shifts: Vec<Shift> = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let Some(r) = r else { continue };
        let r = r.get_ref();
        let key = |k: &str| format!("shift[{i}].{k}");
        let name = r.name.get_ref().trim().to_string();
        if name.is_empty() || name.len() > 64 {
            c.report(r.name.span(), key("name"), "a shift needs a name of 1 to 64 characters");
        } else if shifts.iter().any(|s| s.name == name) {
            c.report(r.name.span(), key("name"), format!("shift name `{name}` is used twice"));
        }
        let (start, end) = (check_time(c, &r.start, &key("start")), check_time(c, &r.end, &key("end")));
        if start.is_some() && start == end {
            c.report(r.end.span(), key("end"), "a shift cannot end when it starts");
        }
        let days = check_days(c, r.days.as_ref(), &key("days"));
        let time_zone = r.time_zone.as_ref().map_or(Tz::UTC, |z| {
            z.get_ref().parse::<Tz>().unwrap_or_else(|_| {
                let message =
                    format!("unknown time zone `{}`: use an IANA name such as Europe/Berlin or UTC", z.get_ref());
                c.report(z.span(), key("time_zone"), message);
                Tz::UTC
            })
        });
        if let (Some(start), Some(end)) = (start, end) {
            shifts.push(Shift { name, start, end, days, time_zone });
        }
    }
    shifts
}

/// The days a shift runs, Monday first; every day when none are listed.
fn check_days(c: &Checker<'_>, list: Option<&Spanned<Vec<Spanned<String>>>>, key: &str) -> [bool; 7] {
    let Some(list) = list else { return [true; 7] };
    if list.get_ref().is_empty() {
        c.report(list.span(), key, "list at least one day, e.g. [\"mon\", \"tue\"]");
    }
    let mut days = [false; 7];
    for d in list.get_ref() {
        let lower = d.get_ref().to_ascii_lowercase();
        let index = DAY_NAMES
            .iter()
            .position(|n| lower == *n)
            .or_else(|| lower.parse::<Weekday>().ok().map(|w| w.num_days_from_monday() as usize));
        match index {
            Some(k) => days[k] = true,
            None => {
                let message = format!(
                    "unknown day `{}`{}; valid: {}",
                    d.get_ref(),
                    suggestion(&lower, DAY_NAMES),
                    DAY_NAMES.join(", ")
                );
                c.report(d.span(), key, message);
            }
        }
    }
    days
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_shift_day_is_that_of_the_shift_begun_last() {
        let at = |d: u32, h: u32| chrono::Utc.with_ymd_and_hms(2026, 12, d, h, 0, 0).single().expect("a time");
        let shift = |name: &str, start: &str, end: &str| super::Shift {
            name: name.into(),
            start: NaiveTime::parse_from_str(start, "%H:%M").expect("start"),
            end: NaiveTime::parse_from_str(end, "%H:%M").expect("end"),
            days: [true; 7],
            time_zone: super::Tz::UTC,
        };
        let date = |d: u32| NaiveDate::from_ymd_opt(2026, 12, d).expect("a date");
        let two = [shift("day", "08:00", "20:00"), shift("night", "20:00", "08:00")];
        assert_eq!(super::shift_day(&two, at(6, 3)), date(5), "the night shift begun yesterday evening");
        assert_eq!(super::shift_day(&two, at(6, 9)), date(6));
        assert_eq!(super::shift_day(&two, at(6, 21)), date(6));
        let early = [shift("early", "06:00", "14:00")];
        assert_eq!(super::shift_day(&early, at(6, 23)), date(6));
        assert_eq!(super::shift_day(&early, at(6, 3)), date(5));
        assert_eq!(super::shift_day(&[], at(6, 3)), date(6));
        // In Tokyo (UTC+9), 16:00 UTC on the 5th is 01:00 on the 6th: its night shift
        // began at 20:00 local on the 5th.
        let tokyo =
            [super::Shift { time_zone: "Asia/Tokyo".parse().expect("zone"), ..shift("night", "20:00", "08:00") }];
        assert_eq!(super::shift_day(&tokyo, at(5, 16)), date(5));
    }

    use super::*;

    fn shift(start: &str, end: &str, tz: Tz) -> Shift {
        Shift {
            name: "s".into(),
            start: NaiveTime::parse_from_str(start, "%H:%M").expect("time"),
            end: NaiveTime::parse_from_str(end, "%H:%M").expect("time"),
            days: [true, true, true, true, true, false, false],
            time_zone: tz,
        }
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn night_shift_crosses_midnight_and_weekends_are_skipped() {
        let w = shift("22:00", "06:00", Tz::UTC).windows(date("2026-11-06"), date("2026-11-09"));
        // Fri 6th and Mon 9th; Sat and Sun are off.
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].start.to_rfc3339(), "2026-11-06T22:00:00+00:00");
        assert_eq!(w[0].end.to_rfc3339(), "2026-11-07T06:00:00+00:00");
        assert_eq!(w[1].date, date("2026-11-09"));
    }

    #[test]
    fn daylight_saving_change_lengthens_the_night() {
        // Berlin leaves summer time in the night of Sunday 25 October 2026.
        let mut s = shift("22:00", "06:00", chrono_tz::Europe::Berlin);
        s.days = [true; 7];
        let w = s.windows(date("2026-10-24"), date("2026-10-24"));
        assert_eq!((w[0].end - w[0].start).num_hours(), 9);
        assert_eq!(w[0].start.to_rfc3339(), "2026-10-24T20:00:00+00:00");
    }
}
