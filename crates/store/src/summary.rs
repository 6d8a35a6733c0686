//! The figures behind the charts and the shift or daily summary: availability and OEE per
//! machine and day, time in each state, shift against shift, and a Pareto of downtime by
//! reason and by machine. Pure: it takes the report's rows and stored stops and adds up.
//!
//! Definitions (also in the README):
//! - availability = `Executing` / the time the machine was watched (planned time minus
//!   `NotAvailable`); the watched share = watched / planned time;
//! - OEE = the ideal time of the strokes made (strokes / `ideal_strokes_per_hour`) / the
//!   watched time, over the machines that have an ideal rate (quality is taken as 1);
//!   for one machine and shift it equals availability × performance;
//! - downtime: the stops of [`crate::report::stops`] within the shift windows, each
//!   counted under the last reason given to it, or under none.

use std::collections::BTreeMap;

use serde::Serialize;
use sheetsight_config::ShiftWindow;

use crate::report::{self, ReportHistory, ReportRow};
use crate::site::NoteRecord;
use crate::{StateInterval, UnixMillis};

/// The kind of note that marks a machine's history from its start to its end as simulated
/// (the demo's past days).
pub const SIMULATED_NOTE: &str = "simulated";

/// Sums over report rows, and the ratios made from them.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Totals {
    pub planned_s: f64,
    pub executing_s: f64,
    pub not_executing_s: f64,
    pub out_of_service_s: f64,
    pub not_available_s: f64,
    pub strokes: u64,
    /// `Executing` / watched time; `null` when nothing was watched.
    pub availability: Option<f64>,
    /// Watched / planned time.
    pub watched_share: Option<f64>,
    /// Ideal time of the strokes / watched time of the machines with an ideal rate.
    pub oee: Option<f64>,
    #[serde(skip)]
    ideal_work_s: f64,
    #[serde(skip)]
    watched_with_ideal_s: f64,
}

impl Totals {
    fn add(&mut self, row: &ReportRow, ideal_strokes_per_hour: Option<f64>) {
        self.planned_s += row.planned_s;
        self.executing_s += row.executing_s;
        self.not_executing_s += row.not_executing_s;
        self.out_of_service_s += row.out_of_service_s;
        self.not_available_s += row.not_available_s;
        self.strokes += row.strokes;
        if let Some(ideal) = ideal_strokes_per_hour.filter(|i| *i > 0.0) {
            self.ideal_work_s += row.strokes as f64 * 3600.0 / ideal;
            self.watched_with_ideal_s += row.planned_s - row.not_available_s;
        }
        let watched = self.planned_s - self.not_available_s;
        self.availability = (watched > 0.0).then(|| self.executing_s / watched);
        self.watched_share = (self.planned_s > 0.0).then(|| watched / self.planned_s);
        self.oee = (self.watched_with_ideal_s > 0.0).then(|| self.ideal_work_s / self.watched_with_ideal_s);
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MachineTotals {
    pub machine: String,
    #[serde(flatten)]
    pub totals: Totals,
    pub longest_stop_s: f64,
    pub longest_stop_start: Option<String>,
    pub longest_stop_reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DayTotals {
    pub machine: String,
    /// Local date the shifts started on.
    pub date: String,
    #[serde(flatten)]
    pub totals: Totals,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ShiftTotals {
    pub shift: String,
    #[serde(flatten)]
    pub totals: Totals,
}

/// One bar of a Pareto: a reason (`null`: none given) or a machine.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Downtime {
    pub label: Option<String>,
    pub seconds: f64,
    pub stops: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Every machine over the whole range, in the order asked for.
    pub machines: Vec<MachineTotals>,
    /// Per machine and date, dates ascending.
    pub days: Vec<DayTotals>,
    /// Per shift name over all machines.
    pub shifts: Vec<ShiftTotals>,
    /// Largest first.
    pub downtime_by_reason: Vec<Downtime>,
    pub downtime_by_machine: Vec<Downtime>,
    /// Every machine over the whole range.
    pub all: Totals,
}

/// The last reason given to a stop from `start` to `end`: a `reason` note overlapping it.
pub fn stop_reason(notes: &[NoteRecord], machine: &str, start: UnixMillis, end: UnixMillis) -> Option<String> {
    notes
        .iter()
        .rev()
        .find(|n| n.kind == "reason" && n.machine == machine && n.start_ms < end && n.end_ms.is_none_or(|e| e > start))
        .map(|n| n.value.clone())
}

fn pareto(map: BTreeMap<Option<String>, (f64, u64)>) -> Vec<Downtime> {
    let mut out: Vec<Downtime> =
        map.into_iter().map(|(label, (seconds, stops))| Downtime { label, seconds, stops }).collect();
    out.sort_by(|a, b| b.seconds.total_cmp(&a.seconds).then_with(|| a.label.cmp(&b.label)));
    out
}

/// The summary of `machines` (with their ideal strokes per hour) over `windows`;
/// `notes` give the stops' reasons; intervals still open end at `now`.
pub fn compute(
    windows: &[ShiftWindow],
    machines: &[(String, Option<f64>)],
    history: &ReportHistory,
    notes: &[NoteRecord],
    now: UnixMillis,
) -> Summary {
    let ids: Vec<String> = machines.iter().map(|(id, _)| id.clone()).collect();
    let ideal: BTreeMap<&str, Option<f64>> = machines.iter().map(|(id, i)| (id.as_str(), *i)).collect();
    let rows = report::compute(windows, &ids, history, now);
    let mut summary = Summary::default();
    let mut per_machine: BTreeMap<&str, Totals> = BTreeMap::new();
    let mut per_day: BTreeMap<(&str, &str), Totals> = BTreeMap::new();
    let mut per_shift: BTreeMap<&str, Totals> = BTreeMap::new();
    for row in &rows {
        let i = ideal.get(row.machine.as_str()).copied().flatten();
        per_machine.entry(&row.machine).or_default().add(row, i);
        per_day.entry((&row.date, &row.machine)).or_default().add(row, i);
        per_shift.entry(&row.shift).or_default().add(row, i);
        summary.all.add(row, i);
    }
    let mut by_machine: BTreeMap<&str, Vec<&StateInterval>> = BTreeMap::new();
    for s in &history.states {
        by_machine.entry(s.key.as_str()).or_default().push(s);
    }
    let mut by_reason: BTreeMap<Option<String>, (f64, u64)> = BTreeMap::new();
    let mut downtime_by_machine: BTreeMap<Option<String>, (f64, u64)> = BTreeMap::new();
    for id in &ids {
        let intervals = by_machine.get(id.as_str()).map(Vec::as_slice).unwrap_or_default();
        let mut longest: Option<(i64, UnixMillis, Option<String>)> = None;
        for w in windows {
            for stop in report::stops(intervals.iter().copied(), w.start.into(), w.end.into(), now) {
                let seconds = (stop.end_ms - stop.start_ms) as f64 / 1000.0;
                let reason = stop_reason(notes, id, stop.start_ms, stop.end_ms);
                let e = by_reason.entry(reason.clone()).or_default();
                *e = (e.0 + seconds, e.1 + 1);
                let e = downtime_by_machine.entry(Some(id.clone())).or_default();
                *e = (e.0 + seconds, e.1 + 1);
                let ms = stop.end_ms - stop.start_ms;
                if longest.as_ref().is_none_or(|(l, _, _)| ms > *l) {
                    longest = Some((ms, stop.start_ms, reason));
                }
            }
        }
        summary.machines.push(MachineTotals {
            machine: id.clone(),
            totals: per_machine.remove(id.as_str()).unwrap_or_default(),
            longest_stop_s: longest.as_ref().map_or(0.0, |(ms, _, _)| *ms as f64 / 1000.0),
            longest_stop_start: longest.as_ref().map(|(_, start, _)| start.rfc3339()),
            longest_stop_reason: longest.and_then(|(_, _, reason)| reason),
        });
    }
    summary.days = per_day
        .into_iter()
        .map(|((date, machine), totals)| DayTotals { machine: machine.into(), date: date.into(), totals })
        .collect();
    // Shifts in the order they start in the day, not by name.
    let mut shift_order: Vec<(&str, chrono::NaiveTime)> = Vec::new();
    for w in windows {
        if !shift_order.iter().any(|(s, _)| *s == w.shift) {
            shift_order.push((&w.shift, w.start.with_timezone(&w.time_zone).time()));
        }
    }
    shift_order.sort_by_key(|(_, t)| *t);
    summary.shifts = shift_order
        .into_iter()
        .filter_map(|(shift, _)| per_shift.remove(shift).map(|totals| ShiftTotals { shift: shift.into(), totals }))
        .collect();
    summary.downtime_by_reason = pareto(by_reason);
    summary.downtime_by_machine = pareto(downtime_by_machine);
    summary
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Interval, StrokeRecord};
    use chrono::{NaiveDate, TimeZone, Utc};
    use sheetsight_vision::state::MachineState::{self, *};

    const H: i64 = 3_600_000;

    fn window(shift: &str, day: u32, start_h: i64, end_h: i64) -> ShiftWindow {
        let base = (day as i64 - 1) * 24 * H;
        ShiftWindow {
            shift: shift.into(),
            date: NaiveDate::from_ymd_opt(1970, 1, day).expect("date"),
            start: Utc.timestamp_millis_opt(base + start_h * H).single().expect("t"),
            end: Utc.timestamp_millis_opt(base + end_h * H).single().expect("t"),
            time_zone: sheetsight_config::shift::Tz::UTC,
        }
    }

    fn state(m: &str, v: MachineState, a: i64, b: i64) -> StateInterval {
        Interval { key: m.into(), value: v, start: UnixMillis(a), end: Some(UnixMillis(b)) }
    }

    fn reason(m: &str, value: &str, a: i64, b: i64) -> NoteRecord {
        NoteRecord {
            id: 0,
            machine: m.into(),
            kind: "reason".into(),
            value: value.into(),
            start_ms: UnixMillis(a),
            end_ms: Some(UnixMillis(b)),
            author: "x".into(),
            created_ms: UnixMillis(b),
        }
    }

    #[test]
    fn days_shifts_and_downtime_add_up_from_the_report() {
        // Two days of "early" 6-14 and "late" 14-22 on two machines.
        let windows: Vec<ShiftWindow> =
            [1, 2].into_iter().flat_map(|d| [window("late", d, 14, 22), window("early", d, 6, 14)]).collect();
        let states = vec![
            // a, day 1: early runs 6 h, stands 2 h (material); late unwatched.
            state("a", Executing, 6 * H, 12 * H),
            state("a", NotExecuting, 12 * H, 14 * H),
            // a, day 2: early runs all 8 h.
            state("a", Executing, 30 * H, 38 * H),
            // b, day 1: early fault 1 h then runs; late stands 3 h, no reason given.
            state("b", OutOfService, 6 * H, 7 * H),
            state("b", Executing, 7 * H, 14 * H),
            state("b", NotExecuting, 14 * H, 17 * H),
            state("b", Executing, 17 * H, 22 * H),
        ];
        let strokes: Vec<StrokeRecord> = (0..600)
            .map(|k| StrokeRecord {
                machine: "a".into(),
                start: UnixMillis(6 * H + k * 36_000),
                end: UnixMillis(6 * H + k * 36_000 + 1000),
            })
            .collect();
        let history = ReportHistory { states, strokes, ..Default::default() };
        let notes = vec![reason("a", "material", 12 * H, 14 * H), reason("b", "tool change", 6 * H, 7 * H)];
        let machines = vec![("a".to_string(), Some(200.0)), ("b".to_string(), None)];
        let s = compute(&windows, &machines, &history, &notes, UnixMillis(48 * H));

        let a1 = s.days.iter().find(|d| d.machine == "a" && d.date == "1970-01-01").expect("a day 1");
        assert_eq!(a1.totals.planned_s, 16.0 * 3600.0);
        assert_eq!(a1.totals.availability, Some(6.0 / 8.0), "of the watched 8 h");
        assert_eq!(a1.totals.watched_share, Some(0.5));
        // 600 strokes at 200/h ideal = 3 h of ideal work in 8 watched hours.
        assert_eq!(a1.totals.oee, Some(3.0 / 8.0));
        assert_eq!(s.days.iter().filter(|d| d.date == "1970-01-01").count(), 2);
        assert!(s.days.windows(2).all(|w| w[0].date <= w[1].date), "dates ascending");

        let b = s.machines.iter().find(|m| m.machine == "b").expect("b");
        assert_eq!(b.totals.oee, None, "no ideal rate, no OEE");
        assert_eq!(b.longest_stop_s, 3.0 * 3600.0);
        assert_eq!(b.longest_stop_reason, None);
        assert_eq!(
            s.machines.iter().find(|m| m.machine == "a").expect("a").longest_stop_reason.as_deref(),
            Some("material")
        );

        assert_eq!(
            s.shifts.iter().map(|x| x.shift.as_str()).collect::<Vec<_>>(),
            ["early", "late"],
            "in the day's order"
        );
        let early = &s.shifts[0].totals;
        assert_eq!(early.planned_s, 4.0 * 8.0 * 3600.0);
        assert_eq!(early.executing_s, (6.0 + 8.0 + 7.0) * 3600.0);

        let labels: Vec<(Option<&str>, f64)> =
            s.downtime_by_reason.iter().map(|d| (d.label.as_deref(), d.seconds / 3600.0)).collect();
        assert_eq!(labels, [(None, 3.0), (Some("material"), 2.0), (Some("tool change"), 1.0)], "largest first");
        let by_machine: Vec<(Option<&str>, f64, u64)> =
            s.downtime_by_machine.iter().map(|d| (d.label.as_deref(), d.seconds / 3600.0, d.stops)).collect();
        assert_eq!(by_machine, [(Some("b"), 4.0, 2), (Some("a"), 2.0, 1)]);
        assert_eq!(s.all.executing_s, (6.0 + 8.0 + 7.0 + 5.0) * 3600.0);
    }
}
