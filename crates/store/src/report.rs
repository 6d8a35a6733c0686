//! The shift report: per machine and shift occurrence, time in each state, availability,
//! strokes and the longest stop. Pure: it takes stored intervals and computes.
//!
//! Definitions (also in the README):
//! - planned time: the shift's window, up to now for a shift still running;
//! - `NotAvailable`: stored `NotAvailable` time plus time with no record at all (the
//!   service was not running); it is never counted as running or standing;
//! - availability = `Executing` / planned time; `availability_seen` = `Executing` / the
//!   planned time in which the machine was seen;
//! - strokes: strokes that ended in the window; strokes per hour of planned time;
//! - a stop: consecutive time in `NotExecuting` or `OutOfService`; the longest is given;
//! - cycles: cycles that ended in the window, how many took longer than their job's
//!   standard and the minutes lost against it; per job (JSON only) the cycle-time
//!   statistics of [`crate::cycle_stats`];
//! - attended (machines with an operator zone): `Executing` and `NotExecuting` split by
//!   whether someone stood in the operator zone ([`sheetsight_vision::zone::attendance`]);
//!   time with no stored count counts as unattended;
//! - zone dwell ([`zone_rows`]): per zone and shift, time occupied, person-time and
//!   arrivals ([`sheetsight_vision::zone::dwell`]).

use std::collections::BTreeMap;

use serde::Serialize;
use sheetsight_config::ShiftWindow;
use sheetsight_vision::state::MachineState;
use sheetsight_vision::zone::{Attendance, Dwell, attendance, dwell};

use crate::cycle_stats::{self, CycleStats};
use crate::standards::StandardRecord;
use crate::{CycleRecord, PresenceInterval, StateInterval, StrokeRecord, UnixMillis};

/// What a report is computed from: the stored rows overlapping its windows.
#[derive(Clone, Debug, Default)]
pub struct ReportHistory {
    pub states: Vec<StateInterval>,
    pub strokes: Vec<StrokeRecord>,
    pub cycles: Vec<CycleRecord>,
    pub standards: Vec<StandardRecord>,
    /// Head counts of the machines' operator zones.
    pub operator_presence: Vec<PresenceInterval>,
    /// Strokes counted by the store for the keys of [`stroke_windows`]; when set,
    /// `strokes` is not read (a hub counts a month of strokes without loading them).
    pub stroke_counts: Option<BTreeMap<(String, UnixMillis, UnixMillis), u64>>,
}

/// The machine and time range of every row [`compute`] makes: where it counts strokes.
pub fn stroke_windows(
    windows: &[ShiftWindow],
    machines: &[String],
    now: UnixMillis,
) -> Vec<(String, UnixMillis, UnixMillis)> {
    let mut out = Vec::new();
    for machine in machines {
        for w in windows {
            let (start, end) = (UnixMillis::from(w.start), UnixMillis::from(w.end).min(now));
            if end > start {
                out.push((machine.clone(), start, end));
            }
        }
    }
    out
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReportRow {
    pub machine: String,
    pub shift: String,
    /// Local date the shift started on.
    pub date: String,
    pub start: String,
    pub end: String,
    pub planned_s: f64,
    pub executing_s: f64,
    pub not_executing_s: f64,
    pub out_of_service_s: f64,
    /// Stored `NotAvailable` plus unrecorded time.
    pub not_available_s: f64,
    /// Part of `not_available_s` with no record at all (service not running).
    pub unrecorded_s: f64,
    pub availability: Option<f64>,
    pub availability_seen: Option<f64>,
    pub strokes: u64,
    pub strokes_per_hour: Option<f64>,
    pub longest_stop_s: f64,
    pub longest_stop_start: Option<String>,
    /// Cycles that ended in the window.
    pub cycles: u64,
    /// Of them, those longer than their job's standard.
    pub cycles_over_standard: u64,
    /// Minutes cycles took beyond their job's standard; `None` when no cycle had one.
    pub cycle_lost_min: Option<f64>,
    /// Per job (and `null` for cycles run without one): count, median, P10, P90 and the
    /// figures against the standard.
    pub cycles_by_job: Vec<CycleStats>,
    /// With an operator zone watched for people: `Executing` and `NotExecuting` split
    /// into attended and unattended seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attended: Option<Attendance>,
    /// The shift's time zone (IANA); the table shows times in it.
    pub time_zone: String,
}

/// The head count of `intervals` (one or more zones) as steps over time (Unix seconds):
/// the sum of the counts stored at each moment; 0 where nothing is stored.
pub fn people_steps<'a>(intervals: impl IntoIterator<Item = &'a PresenceInterval>, now: UnixMillis) -> Vec<(f64, u32)> {
    let mut changes: Vec<(UnixMillis, i64)> = Vec::new();
    for i in intervals {
        let end = i.end.unwrap_or(now);
        if end > i.start {
            changes.push((i.start, i64::from(i.value.people)));
            changes.push((end, -i64::from(i.value.people)));
        }
    }
    changes.sort_by_key(|c| c.0);
    let mut steps: Vec<(f64, u32)> = Vec::new();
    let mut count: i64 = 0;
    for (k, (t, d)) in changes.iter().enumerate() {
        count += d;
        if changes.get(k + 1).is_some_and(|next| next.0 == *t) {
            continue;
        }
        let n = u32::try_from(count.max(0)).unwrap_or(0);
        if steps.last().is_none_or(|last| last.1 != n) {
            steps.push((t.as_unix_s(), n));
        }
    }
    steps
}

/// One machine's state intervals (ordered, not overlapping) as steps over time (Unix
/// seconds); unrecorded gaps are `NotAvailable`.
fn state_steps(intervals: &[&StateInterval], now: UnixMillis) -> Vec<(f64, MachineState)> {
    let mut steps: Vec<(f64, MachineState)> = Vec::new();
    for (k, i) in intervals.iter().enumerate() {
        steps.push((i.start.as_unix_s(), i.value));
        let end = i.end.unwrap_or(now);
        if intervals.get(k + 1).is_none_or(|next| next.start > end) {
            steps.push((end.as_unix_s(), MachineState::NotAvailable));
        }
    }
    steps
}

fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// Computes the report rows of `machines` over `windows`; intervals still open end at `now`.
pub fn compute(
    windows: &[ShiftWindow],
    machines: &[String],
    history: &ReportHistory,
    now: UnixMillis,
) -> Vec<ReportRow> {
    // Cycles by machine, by end: a window takes its slice by two binary searches.
    let mut cycles_of: BTreeMap<&str, Vec<&CycleRecord>> = BTreeMap::new();
    for c in &history.cycles {
        cycles_of.entry(c.machine.as_str()).or_default().push(c);
    }
    for list in cycles_of.values_mut() {
        list.sort_by_key(|c| c.end);
    }
    let mut by_machine: BTreeMap<&str, Vec<&StateInterval>> = BTreeMap::new();
    for s in &history.states {
        by_machine.entry(s.key.as_str()).or_default().push(s);
    }
    let mut operator_zones: BTreeMap<&str, Vec<&PresenceInterval>> = BTreeMap::new();
    for p in &history.operator_presence {
        if let Some(machine) = &p.value.operator_of {
            operator_zones.entry(machine.as_str()).or_default().push(p);
        }
    }
    let mut rows = Vec::new();
    for machine in machines {
        let intervals = by_machine.get(machine.as_str()).map(Vec::as_slice).unwrap_or_default();
        for w in windows {
            let start = UnixMillis::from(w.start);
            let end = UnixMillis::from(w.end).min(now);
            if end <= start {
                continue;
            }
            let mut in_state: BTreeMap<MachineState, i64> = BTreeMap::new();
            let mut covered_ms: i64 = 0;
            for i in intervals.iter() {
                let a = i.start.max(start);
                let b = i.end.unwrap_or(now).min(end);
                if b > a {
                    *in_state.entry(i.value).or_default() += b - a;
                    covered_ms += b - a;
                }
            }
            let longest = stops(intervals.iter().copied(), start, end, now)
                .into_iter()
                .max_by_key(|s| (s.end_ms - s.start_ms, std::cmp::Reverse(s.start_ms)));
            let planned = end - start;
            let unrecorded = (planned - covered_ms).max(0);
            let get = |s| in_state.get(&s).copied().unwrap_or(0);
            let not_available = get(MachineState::NotAvailable) + unrecorded;
            let executing = get(MachineState::Executing);
            let n_strokes = match &history.stroke_counts {
                Some(counts) => counts.get(&(machine.clone(), start, end)).copied().unwrap_or(0),
                None => {
                    history.strokes.iter().filter(|s| &s.machine == machine && s.end >= start && s.end < end).count()
                        as u64
                }
            };
            let mine = cycles_of.get(machine.as_str()).map(Vec::as_slice).unwrap_or_default();
            let (first, last) = (mine.partition_point(|c| c.end < start), mine.partition_point(|c| c.end < end));
            let cycles: &[&CycleRecord] = &mine[first..last];
            let cycles_by_job = cycle_stats::compute(cycles.iter().copied(), &history.standards);
            let with_standard: Vec<&CycleStats> = cycles_by_job.iter().filter(|j| j.standard_s.is_some()).collect();
            let seen = planned - not_available;
            let operator: Vec<&PresenceInterval> =
                operator_zones.get(machine.as_str()).map(Vec::as_slice).unwrap_or_default().to_vec();
            let attended = (!operator.is_empty()).then(|| {
                attendance(
                    &state_steps(intervals, now),
                    &people_steps(operator.iter().copied(), now),
                    start.as_unix_s(),
                    end.as_unix_s(),
                )
            });
            rows.push(ReportRow {
                machine: machine.clone(),
                shift: w.shift.clone(),
                date: w.date.to_string(),
                start: start.rfc3339(),
                end: end.rfc3339(),
                planned_s: seconds(planned),
                executing_s: seconds(executing),
                not_executing_s: seconds(get(MachineState::NotExecuting)),
                out_of_service_s: seconds(get(MachineState::OutOfService)),
                not_available_s: seconds(not_available),
                unrecorded_s: seconds(unrecorded),
                availability: (planned > 0).then(|| executing as f64 / planned as f64),
                availability_seen: (seen > 0).then(|| executing as f64 / seen as f64),
                strokes: n_strokes,
                strokes_per_hour: (planned > 0).then(|| n_strokes as f64 * 3_600_000.0 / planned as f64),
                longest_stop_s: longest.map_or(0.0, |s| seconds(s.end_ms - s.start_ms)),
                longest_stop_start: longest.map(|s| s.start_ms.rfc3339()),
                cycles: cycles.len() as u64,
                cycles_over_standard: with_standard.iter().map(|j| j.over_standard).sum::<usize>() as u64,
                cycle_lost_min: (!with_standard.is_empty())
                    .then(|| with_standard.iter().filter_map(|j| j.lost_min).sum()),
                cycles_by_job,
                attended,
                time_zone: w.time_zone.name().to_string(),
            });
        }
    }
    rows.sort_by(|a, b| (&a.machine, &a.start, &a.shift).cmp(&(&b.machine, &b.start, &b.shift)));
    rows
}

/// Dwell in one zone over one shift occurrence.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ZoneRow {
    pub zone: String,
    /// The machine whose operator zone it is (as last stored).
    pub operator_of: Option<String>,
    pub shift: String,
    pub date: String,
    pub start: String,
    pub end: String,
    #[serde(flatten)]
    pub dwell: Dwell,
    pub time_zone: String,
}

/// Dwell per zone and shift occurrence: every zone in `zones` (the configured ones) and
/// every zone with stored counts; intervals still open end at `now`.
pub fn zone_rows(
    windows: &[ShiftWindow],
    zones: &[String],
    presence: &[PresenceInterval],
    now: UnixMillis,
) -> Vec<ZoneRow> {
    let mut by_zone: BTreeMap<&str, Vec<&PresenceInterval>> = zones.iter().map(|z| (z.as_str(), Vec::new())).collect();
    for p in presence {
        by_zone.entry(p.key.as_str()).or_default().push(p);
    }
    let mut rows = Vec::new();
    for (zone, intervals) in by_zone {
        let steps = people_steps(intervals.iter().copied(), now);
        let operator_of = intervals.iter().rev().find_map(|i| i.value.operator_of.clone());
        for w in windows {
            let start = UnixMillis::from(w.start);
            let end = UnixMillis::from(w.end).min(now);
            if end <= start {
                continue;
            }
            rows.push(ZoneRow {
                zone: zone.to_string(),
                operator_of: operator_of.clone(),
                shift: w.shift.clone(),
                date: w.date.to_string(),
                start: start.rfc3339(),
                end: end.rfc3339(),
                dwell: dwell(&steps, start.as_unix_s(), end.as_unix_s()),
                time_zone: w.time_zone.name().to_string(),
            });
        }
    }
    rows.sort_by(|a, b| (&a.zone, &a.start, &a.shift).cmp(&(&b.zone, &b.start, &b.shift)));
    rows
}

/// CSV of [`zone_rows`]: durations in seconds, times RFC 3339 UTC.
pub fn zone_csv(rows: &[ZoneRow]) -> String {
    let mut out = String::from("zone,operator_of,shift,date,start,end,occupied_s,person_s,arrivals,time_zone\n");
    for r in rows {
        let fields = [
            csv_field(&r.zone),
            csv_field(r.operator_of.as_deref().unwrap_or_default()),
            csv_field(&r.shift),
            r.date.clone(),
            r.start.clone(),
            r.end.clone(),
            format!("{:.3}", r.dwell.occupied_s),
            format!("{:.3}", r.dwell.person_s),
            r.dwell.arrivals.to_string(),
            csv_field(&r.time_zone),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// A fixed-width table of [`zone_rows`] for people.
pub fn zone_table(rows: &[ZoneRow]) -> String {
    let mut out = format!(
        "{:<20} {:<12} {:<10} {:<10} {:>9} {:>11} {:>8}\n",
        "zone", "operator of", "shift", "date", "occupied", "person-time", "arrivals"
    );
    for r in rows {
        out.push_str(&format!(
            "{:<20} {:<12} {:<10} {:<10} {:>9} {:>11} {:>8}\n",
            r.zone,
            r.operator_of.as_deref().unwrap_or("-"),
            r.shift,
            r.date,
            hours_minutes(r.dwell.occupied_s),
            hours_minutes(r.dwell.person_s),
            r.dwell.arrivals
        ));
    }
    out
}

/// A stop: consecutive time in `NotExecuting` or `OutOfService` (gaps up to 1 s joined).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Stop {
    pub start_ms: UnixMillis,
    pub end_ms: UnixMillis,
    /// The stop is still going on at `now`.
    pub open: bool,
}

/// The stops of one machine's `intervals` (ordered by start) within `from..to`; open
/// intervals end at `now`.
pub fn stops<'a>(
    intervals: impl IntoIterator<Item = &'a StateInterval>,
    from: UnixMillis,
    to: UnixMillis,
    now: UnixMillis,
) -> Vec<Stop> {
    let mut out: Vec<Stop> = Vec::new();
    let mut joining = false;
    for i in intervals {
        let a = i.start.max(from);
        let b = i.end.unwrap_or(now).min(to);
        if b <= a {
            continue;
        }
        let is_stop = matches!(i.value, MachineState::NotExecuting | MachineState::OutOfService);
        if !is_stop {
            joining = false;
            continue;
        }
        let open = i.end.is_none() && b == now;
        match out.last_mut() {
            Some(last) if joining && a - last.end_ms <= 1000 => {
                last.end_ms = b;
                last.open = open;
            }
            _ => out.push(Stop { start_ms: a, end_ms: b, open }),
        }
        joining = true;
    }
    out
}

fn hours_minutes(s: f64) -> String {
    let s = s.round() as i64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// `HH:MM:SS` of an RFC 3339 time in the zone `tz`; `-` for none.
fn local_time(t: Option<&str>, tz: &str) -> String {
    let Some(t) = t.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()) else { return "-".into() };
    match tz.parse::<sheetsight_config::shift::Tz>() {
        Ok(tz) => t.with_timezone(&tz).format("%H:%M:%S").to_string(),
        Err(_) => t.format("%H:%M:%S").to_string(),
    }
}

fn percent(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |x| format!("{:.1}", 100.0 * x))
}

/// A fixed-width table for people (durations as h:mm).
pub fn table(rows: &[ReportRow]) -> String {
    let mut out = format!(
        "{:<12} {:<10} {:<10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7} {:>7} {:>7} {:>9} {:>9} {:>6} {:>8}\n",
        "machine",
        "shift",
        "date",
        "planned",
        "Executing",
        "NotExec",
        "OutOfSvc",
        "NotAvail",
        "avail%",
        "strokes",
        "str/h",
        "long stop",
        "stop at",
        "cycles",
        "lost min"
    );
    for r in rows {
        let stop_at = local_time(r.longest_stop_start.as_deref(), &r.time_zone);
        out.push_str(&format!(
            "{:<12} {:<10} {:<10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7} {:>7} {:>7} {:>9} {:>9} {:>6} {:>8}\n",
            r.machine,
            r.shift,
            r.date,
            hours_minutes(r.planned_s),
            hours_minutes(r.executing_s),
            hours_minutes(r.not_executing_s),
            hours_minutes(r.out_of_service_s),
            hours_minutes(r.not_available_s),
            percent(r.availability),
            r.strokes,
            r.strokes_per_hour.map_or_else(|| "-".into(), |x| format!("{x:.1}")),
            hours_minutes(r.longest_stop_s),
            stop_at,
            r.cycles,
            r.cycle_lost_min.map_or_else(|| "-".into(), |x| format!("{x:.1}")),
        ));
    }
    let attended: Vec<(&ReportRow, &Attendance)> =
        rows.iter().filter_map(|r| Some((r, r.attended.as_ref()?))).collect();
    if !attended.is_empty() {
        out.push_str(&format!(
            "\n{:<12} {:<10} {:<10} {:>15} {:>17} {:>18} {:>20}\n",
            "machine",
            "shift",
            "date",
            "Exec. attended",
            "Exec. unattended",
            "NotExec. attended",
            "NotExec. unattended"
        ));
        for (r, a) in attended {
            out.push_str(&format!(
                "{:<12} {:<10} {:<10} {:>15} {:>17} {:>18} {:>20}\n",
                r.machine,
                r.shift,
                r.date,
                hours_minutes(a.executing_attended_s),
                hours_minutes(a.executing_unattended_s),
                hours_minutes(a.not_executing_attended_s),
                hours_minutes(a.not_executing_unattended_s)
            ));
        }
    }
    out
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

/// CSV with a header row; durations in seconds, ratios 0..1, times RFC 3339 UTC. The
/// per-job cycle figures are in the JSON (and `sheetsight cycles --stats`), not here.
pub fn csv(rows: &[ReportRow]) -> String {
    let mut out = String::from(
        "machine,shift,date,start,end,planned_s,executing_s,not_executing_s,out_of_service_s,not_available_s,\
         unrecorded_s,availability,availability_seen,strokes,strokes_per_hour,longest_stop_s,longest_stop_start,time_zone,\
         cycles,cycles_over_standard,cycle_lost_min,executing_attended_s,executing_unattended_s,\
         not_executing_attended_s,not_executing_unattended_s\n",
    );
    let opt = |x: Option<f64>| x.map_or(String::new(), |x| format!("{x:.4}"));
    for r in rows {
        let fields = [
            csv_field(&r.machine),
            csv_field(&r.shift),
            r.date.clone(),
            r.start.clone(),
            r.end.clone(),
            format!("{:.3}", r.planned_s),
            format!("{:.3}", r.executing_s),
            format!("{:.3}", r.not_executing_s),
            format!("{:.3}", r.out_of_service_s),
            format!("{:.3}", r.not_available_s),
            format!("{:.3}", r.unrecorded_s),
            opt(r.availability),
            opt(r.availability_seen),
            r.strokes.to_string(),
            opt(r.strokes_per_hour),
            format!("{:.3}", r.longest_stop_s),
            r.longest_stop_start.clone().unwrap_or_default(),
            csv_field(&r.time_zone),
            r.cycles.to_string(),
            r.cycles_over_standard.to_string(),
            r.cycle_lost_min.map_or(String::new(), |x| format!("{x:.3}")),
        ];
        let attended = r.attended.as_ref();
        let attended = [
            attended.map(|a| a.executing_attended_s),
            attended.map(|a| a.executing_unattended_s),
            attended.map(|a| a.not_executing_attended_s),
            attended.map(|a| a.not_executing_unattended_s),
        ]
        .map(|x| x.map_or(String::new(), |x| format!("{x:.3}")));
        let fields: Vec<String> = fields.into_iter().chain(attended).collect();
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Interval;
    use chrono::{NaiveDate, TimeZone, Utc};

    const H: i64 = 3_600_000;

    fn window(start_h: i64, end_h: i64) -> ShiftWindow {
        ShiftWindow {
            shift: "day".into(),
            date: NaiveDate::from_ymd_opt(2026, 11, 2).expect("date"),
            start: Utc.timestamp_millis_opt(start_h * H).single().expect("t"),
            end: Utc.timestamp_millis_opt(end_h * H).single().expect("t"),
            time_zone: sheetsight_config::shift::Tz::Europe__Berlin,
        }
    }

    fn state(v: MachineState, a_ms: i64, b_ms: Option<i64>) -> StateInterval {
        Interval { key: "m".into(), value: v, start: UnixMillis(a_ms), end: b_ms.map(UnixMillis) }
    }

    fn stroke(machine: &str, start_ms: i64, end_ms: i64) -> StrokeRecord {
        StrokeRecord { machine: machine.into(), start: UnixMillis(start_ms), end: UnixMillis(end_ms) }
    }

    fn stop(start_ms: i64, end_ms: i64, open: bool) -> Stop {
        Stop { start_ms: UnixMillis(start_ms), end_ms: UnixMillis(end_ms), open }
    }

    #[test]
    fn states_are_clipped_to_the_shift_and_gaps_are_not_available() {
        use MachineState::*;
        let states = [
            state(Executing, 7 * H, Some(9 * H)), // 1 h before the shift is cut off
            state(NotExecuting, 9 * H, Some(10 * H)),
            state(OutOfService, 10 * H, Some(10 * H + H / 2)),
            // 10:30-11:00 unrecorded (service down)
            state(NotAvailable, 11 * H, Some(12 * H)),
            state(Executing, 12 * H, None), // still open: ends at `now`
        ];
        let strokes = [
            stroke("m", 8 * H, 8 * H + 2000),
            stroke("m", 12 * H, 12 * H + 2000),
            stroke("m", 7 * H, 7 * H + 2000), // before the shift
            stroke("other", 8 * H, 8 * H + 2000),
        ];
        let history = ReportHistory { states: states.to_vec(), strokes: strokes.to_vec(), ..Default::default() };
        let rows = compute(&[window(8, 16)], &["m".into()], &history, UnixMillis(14 * H));
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(r.planned_s, 6.0 * 3600.0, "planned time ends at now");
        assert_eq!(r.executing_s, 3.0 * 3600.0);
        assert_eq!(r.not_executing_s, 3600.0);
        assert_eq!(r.out_of_service_s, 1800.0);
        assert_eq!(r.unrecorded_s, 1800.0);
        assert_eq!(r.not_available_s, 1.5 * 3600.0);
        assert_eq!(r.availability, Some(0.5));
        assert_eq!(r.availability_seen, Some(3.0 / 4.5));
        assert_eq!(r.strokes, 2);
        assert_eq!(r.longest_stop_s, 1.5 * 3600.0, "NotExecuting then OutOfService is one stop");
        assert_eq!(r.longest_stop_start.as_deref(), Some("1970-01-01T09:00:00.000Z"));
        assert!(table(&rows).contains("10:00:00"), "the stop's start in Berlin time:\n{}", table(&rows));
    }

    #[test]
    fn a_shift_in_the_future_is_left_out_and_csv_has_a_header() {
        let rows = compute(&[window(8, 16)], &["m".into()], &ReportHistory::default(), UnixMillis(7 * H));
        assert!(rows.is_empty());
        let rows = compute(&[window(8, 16)], &["m".into()], &ReportHistory::default(), UnixMillis(20 * H));
        assert_eq!(rows[0].not_available_s, 8.0 * 3600.0, "no record at all is not available");
        assert_eq!(rows[0].availability, Some(0.0));
        assert_eq!(rows[0].availability_seen, None);
        let text = csv(&rows);
        assert!(text.starts_with("machine,shift,date,"));
        assert_eq!(text.lines().count(), 2);
        assert!(table(&rows).contains("8:00:00"));
    }

    #[test]
    fn cycles_that_ended_in_the_shift_count_against_their_jobs_standard() {
        let cycle = |id, job: Option<&str>, start_ms: i64, seconds: i64| CycleRecord {
            id,
            machine: "m".into(),
            start: UnixMillis(start_ms),
            end: UnixMillis(start_ms + seconds * 1000),
            strokes: 3,
            job: job.map(String::from),
            operator: None,
        };
        let standard = StandardRecord {
            machine: "m".into(),
            job: "P-7".into(),
            golden_cycle: None,
            standard_ms: Some(40_000),
            standard_given: true,
            steps_en: String::new(),
            steps_zh: String::new(),
            updated_by: "lead".into(),
            updated_ms: UnixMillis(0),
        };
        let history = ReportHistory {
            cycles: vec![
                cycle(1, Some("P-7"), 8 * H - 20_000, 30),  // ends in the shift
                cycle(2, Some("P-7"), 9 * H, 70),           // 30 s over
                cycle(3, Some("P-7"), 10 * H, 40),          // on the standard: not over
                cycle(4, None, 11 * H, 90),                 // no job, no standard
                cycle(5, Some("P-7"), 16 * H - 10_000, 60), // ends after the shift
                CycleRecord { machine: "other".into(), ..cycle(6, Some("P-7"), 9 * H, 99) },
            ],
            standards: vec![standard],
            ..Default::default()
        };
        let rows = compute(&[window(8, 16)], &["m".into()], &history, UnixMillis(20 * H));
        let r = &rows[0];
        assert_eq!((r.cycles, r.cycles_over_standard, r.cycle_lost_min), (4, 1, Some(0.5)));
        let jobs: Vec<(Option<&str>, usize)> = r.cycles_by_job.iter().map(|j| (j.job.as_deref(), j.count)).collect();
        assert_eq!(jobs, [(None, 1), (Some("P-7"), 3)]);
        let text = csv(&rows);
        let header: Vec<&str> = text.lines().next().expect("header").split(',').collect();
        let row: Vec<&str> = text.lines().nth(1).expect("row").split(',').collect();
        assert_eq!(header.len(), row.len());
        let column = |name: &str| row[header.iter().position(|h| *h == name).expect(name)];
        assert_eq!([column("cycles"), column("cycles_over_standard"), column("cycle_lost_min")], ["4", "1", "0.500"]);
        assert_eq!(column("executing_attended_s"), "", "no operator zone: no attended time");
        // Without any standard there is nothing lost against one, which is not zero.
        let none = ReportHistory { standards: Vec::new(), ..history };
        assert_eq!(compute(&[window(8, 16)], &["m".into()], &none, UnixMillis(20 * H))[0].cycle_lost_min, None);
    }

    fn count(zone: &str, operator_of: Option<&str>, people: u32, a_ms: i64, b_ms: Option<i64>) -> PresenceInterval {
        Interval {
            key: zone.into(),
            value: crate::ZoneCount { people, operator_of: operator_of.map(String::from) },
            start: UnixMillis(a_ms),
            end: b_ms.map(UnixMillis),
        }
    }

    #[test]
    fn an_operator_zone_splits_running_and_standing_into_attended_and_unattended() {
        use MachineState::*;
        let states = [
            state(Executing, 8 * H, Some(10 * H)),
            state(NotExecuting, 10 * H, Some(12 * H)),
            // 12:00-13:00 unrecorded: neither attended nor unattended
            state(Executing, 13 * H, None),
        ];
        let operator_presence = vec![
            // Two operator zones of m: their counts add up; nothing stored before 9:00.
            count("op-a", Some("m"), 1, 9 * H, Some(11 * H)),
            count("op-b", Some("m"), 1, 10 * H + H / 2, Some(11 * H)),
            count("op-a", Some("m"), 0, 11 * H, Some(13 * H)),
            count("op-a", Some("m"), 2, 13 * H + H / 2, None),
        ];
        let history = ReportHistory { states: states.to_vec(), operator_presence, ..Default::default() };
        let rows = compute(&[window(8, 16)], &["m".into(), "n".into()], &history, UnixMillis(14 * H));
        let a = rows[0].attended.clone().expect("m has an operator zone");
        let hours = |s: f64| s / 3600.0;
        assert_eq!(hours(a.executing_attended_s), 1.0 + 0.5, "9-10 and 13:30-14");
        assert_eq!(hours(a.executing_unattended_s), 1.0 + 0.5, "8-9 (no count yet) and 13-13:30");
        assert_eq!(hours(a.not_executing_attended_s), 1.0, "10-11");
        assert_eq!(hours(a.not_executing_unattended_s), 1.0, "11-12; 12-13 was not recorded");
        assert_eq!(rows[1].attended, None, "n has no operator zone");
        let text = csv(&rows);
        assert!(text.lines().nth(1).expect("m").ends_with(",5400.000,5400.000,3600.000,3600.000"), "{text}");
        assert!(text.lines().nth(2).expect("n").ends_with(",,,,"), "{text}");
        let table = table(&rows);
        assert!(table.contains("Exec. attended") && table.contains("1:30:00"), "{table}");
    }

    #[test]
    fn zone_dwell_per_shift_counts_every_configured_zone() {
        let presence = vec![
            count("walk", None, 1, 7 * H, Some(9 * H)), // starts before the shift
            count("walk", None, 0, 9 * H, Some(10 * H)),
            count("walk", None, 3, 10 * H, None),
        ];
        let rows = zone_rows(&[window(8, 16)], &["walk".into(), "unused".into()], &presence, UnixMillis(11 * H));
        let by_zone: Vec<(&str, f64, f64, u32)> =
            rows.iter().map(|r| (r.zone.as_str(), r.dwell.occupied_s, r.dwell.person_s, r.dwell.arrivals)).collect();
        assert_eq!(by_zone, [("unused", 0.0, 0.0, 0), ("walk", 2.0 * 3600.0, 4.0 * 3600.0, 2)]);
        let text = zone_csv(&rows);
        assert!(text.starts_with("zone,operator_of,shift,"));
        assert!(text.contains("walk,,day,2026-11-02,"), "{text}");
        assert!(zone_table(&rows).contains("4:00:00"), "{}", zone_table(&rows));
    }

    #[test]
    fn stops_join_standing_and_faults_and_end_at_running() {
        use MachineState::*;
        let states = [
            state(Executing, 8 * H, Some(9 * H)),
            state(NotExecuting, 9 * H, Some(9 * H + H / 4)),
            state(OutOfService, 9 * H + H / 4 + 500, Some(10 * H)), // a 0.5 s gap is joined
            state(Executing, 10 * H, Some(11 * H)),
            state(NotExecuting, 11 * H, Some(11 * H + 60_000)),
            state(NotAvailable, 11 * H + 60_000, Some(12 * H)), // not a stop: unknown
            state(NotExecuting, 12 * H, None),                  // open at now
        ];
        let found = stops(&states, UnixMillis(8 * H), UnixMillis(16 * H), UnixMillis(13 * H));
        assert_eq!(
            found,
            vec![stop(9 * H, 10 * H, false), stop(11 * H, 11 * H + 60_000, false), stop(12 * H, 13 * H, true),]
        );
        // Clipped to the range: a stop running into it starts at its start.
        let clipped = stops(&states, UnixMillis(9 * H + H / 2), UnixMillis(12 * H + H / 2), UnixMillis(13 * H));
        assert_eq!(clipped[0], stop(9 * H + H / 2, 10 * H, false));
        assert_eq!(clipped[2], stop(12 * H, 12 * H + H / 2, false));
    }
}
