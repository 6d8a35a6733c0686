//! Per-machine summary of a run: time in each state, strokes, strokes per hour.

use std::collections::BTreeMap;

use serde::Serialize;
use sheetsight_config::Config;
use sheetsight_vision::event::{Event, VideoEvent};
use sheetsight_vision::state::MachineState;
use sheetsight_vision::zone::{Attendance, Dwell, attendance, dwell, suggest_stop_reason};

/// Summary of one machine over `[0, end_s]`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MachineSummary {
    pub machine: String,
    /// Seconds in each state; time before the first state is `NotAvailable` (not yet seen).
    pub executing_s: f64,
    pub not_executing_s: f64,
    pub out_of_service_s: f64,
    pub not_available_s: f64,
    pub strokes: u64,
    pub strokes_per_hour: f64,
    /// With an operator zone watched for people: `Executing` and `NotExecuting` split
    /// into attended and unattended time, and the stops proposed "No operator".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attended: Option<AttendedSummary>,
}

/// A machine's attended time (see [`sheetsight_vision::zone::attendance`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AttendedSummary {
    #[serde(flatten)]
    pub time: Attendance,
    /// Stops (`NotExecuting` or `OutOfService`) with nobody in the operator zone for
    /// most of them: proposed the reason "No operator", for the supervisor to confirm.
    pub stops_proposed_no_operator: u32,
    pub stops: u32,
}

/// Dwell in one zone over a run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ZoneSummary {
    pub zone: String,
    #[serde(flatten)]
    pub dwell: Dwell,
}

/// The head-count steps of `zones` added together, in time order.
fn presence_steps(events: &[VideoEvent], zones: &[&str]) -> Vec<(f64, u32)> {
    let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
    let mut list: Vec<(f64, &str, u32)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Presence { zone, people, t, .. } if zones.contains(&zone.as_str()) => {
                Some((t.0, zone.as_str(), *people))
            }
            _ => None,
        })
        .collect();
    list.sort_by(|a, b| a.0.total_cmp(&b.0));
    list.into_iter()
        .map(|(t, zone, n)| {
            counts.insert(zone, n);
            (t, counts.values().sum())
        })
        .collect()
}

/// Dwell in `zone` over `[0, duration_s]`.
pub fn zone_summary(events: &[VideoEvent], zone: &str, duration_s: f64) -> ZoneSummary {
    ZoneSummary { zone: zone.to_owned(), dwell: dwell(&presence_steps(events, &[zone]), 0.0, duration_s) }
}

/// Adds attended time to the summaries of machines that have an operator zone.
pub fn add_attendance(summaries: &mut [MachineSummary], events: &[VideoEvent], config: &Config, duration_s: f64) {
    for s in summaries {
        let zones: Vec<&str> = config
            .zones
            .iter()
            .filter(|z| z.operator_of() == Some(s.machine.as_str()))
            .map(|z| z.id.as_str())
            .collect();
        if zones.is_empty() {
            continue;
        }
        let people = presence_steps(events, &zones);
        let mut states: Vec<(f64, MachineState)> = events
            .iter()
            .filter_map(|e| match e {
                Event::State { machine, state, t } if *machine == s.machine => Some((t.0, *state)),
                _ => None,
            })
            .collect();
        states.sort_by(|a, b| a.0.total_cmp(&b.0));
        let a = attendance(&states, &people, 0.0, duration_s);
        let mut stops = 0;
        let mut proposed = 0;
        for (i, &(t, state)) in states.iter().enumerate() {
            if matches!(state, MachineState::NotExecuting | MachineState::OutOfService) {
                let end = states.get(i + 1).map_or(duration_s, |s| s.0);
                stops += 1;
                proposed += u32::from(suggest_stop_reason(&people, t, end).is_some());
            }
        }
        s.attended = Some(AttendedSummary { time: a, stops_proposed_no_operator: proposed, stops });
    }
}

/// Builds summaries from the events of a run that covered `duration_s` seconds;
/// `machines` lists every machine so that one with no event still shows.
pub fn summarize(events: &[VideoEvent], machines: &[String], duration_s: f64) -> Vec<MachineSummary> {
    let mut states: BTreeMap<&str, Vec<(f64, MachineState)>> = BTreeMap::new();
    let mut strokes: BTreeMap<&str, u64> = BTreeMap::new();
    for e in events {
        match e {
            Event::State { machine, state, t } => states.entry(machine).or_default().push((t.0, *state)),
            Event::Stroke { machine, .. } => *strokes.entry(machine).or_default() += 1,
            _ => {}
        }
    }
    machines
        .iter()
        .map(|id| {
            let mut time = [0.0f64; 4];
            let mut list = states.get(id.as_str()).cloned().unwrap_or_default();
            list.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut cursor = (0.0, MachineState::NotAvailable);
            for &(t, s) in list.iter().chain(std::iter::once(&(duration_s, MachineState::NotAvailable))) {
                let t = t.clamp(0.0, duration_s);
                let idx = MachineState::ALL.iter().position(|&x| x == cursor.1).unwrap_or(3);
                time[idx] += (t - cursor.0).max(0.0);
                cursor = (t, s);
            }
            let n = strokes.get(id.as_str()).copied().unwrap_or(0);
            MachineSummary {
                machine: id.clone(),
                executing_s: time[0],
                not_executing_s: time[1],
                out_of_service_s: time[2],
                not_available_s: time[3],
                strokes: n,
                strokes_per_hour: if duration_s > 0.0 { n as f64 * 3600.0 / duration_s } else { 0.0 },
                attended: None,
            }
        })
        .collect()
}

/// People per zone, and attended time per machine with an operator zone.
pub fn zone_table(machines: &[MachineSummary], zones: &[ZoneSummary]) -> String {
    let mut out = format!("{:<20} {:>10} {:>14} {:>9}\n", "zone", "occupied", "person-time", "arrivals");
    for z in zones {
        out += &format!(
            "{:<20} {:>10} {:>14} {:>9}\n",
            z.zone,
            hms(z.dwell.occupied_s),
            hms(z.dwell.person_s),
            z.dwell.arrivals
        );
    }
    let attended: Vec<_> = machines.iter().filter_map(|m| Some((m, m.attended.as_ref()?))).collect();
    if !attended.is_empty() {
        out += &format!(
            "{:<12} {:>16} {:>18} {:>19} {:>21} {:>16}\n",
            "machine",
            "Exec. attended",
            "Exec. unattended",
            "NotExec. attended",
            "NotExec. unattended",
            "No operator stops"
        );
        for (m, a) in attended {
            out += &format!(
                "{:<12} {:>16} {:>18} {:>19} {:>21} {:>16}\n",
                m.machine,
                hms(a.time.executing_attended_s),
                hms(a.time.executing_unattended_s),
                hms(a.time.not_executing_attended_s),
                hms(a.time.not_executing_unattended_s),
                format!("{} of {}", a.stops_proposed_no_operator, a.stops),
            );
        }
    }
    out
}

fn hms(s: f64) -> String {
    let s = s.round() as u64;
    format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// A fixed-width table for the terminal.
pub fn table(summaries: &[MachineSummary]) -> String {
    let mut out = format!(
        "{:<12} {:>10} {:>12} {:>12} {:>12} {:>8} {:>10}\n",
        "machine", "Executing", "NotExecuting", "OutOfService", "NotAvailable", "strokes", "strokes/h"
    );
    for s in summaries {
        out += &format!(
            "{:<12} {:>10} {:>12} {:>12} {:>12} {:>8} {:>10.1}\n",
            s.machine,
            hms(s.executing_s),
            hms(s.not_executing_s),
            hms(s.out_of_service_s),
            hms(s.not_available_s),
            s.strokes,
            s.strokes_per_hour
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sheetsight_base::time::VideoSeconds;

    #[test]
    fn times_add_up_to_the_duration() {
        let events = vec![
            Event::State { machine: "m".into(), state: MachineState::Executing, t: VideoSeconds(2.0) },
            Event::Stroke {
                machine: "m".into(),
                start_t: VideoSeconds(3.0),
                end_t: VideoSeconds(4.0),
                person_in_region: false,
            },
            Event::State { machine: "m".into(), state: MachineState::OutOfService, t: VideoSeconds(50.0) },
            Event::State { machine: "m".into(), state: MachineState::NotAvailable, t: VideoSeconds(60.0) },
            Event::State { machine: "m".into(), state: MachineState::NotExecuting, t: VideoSeconds(70.0) },
        ];
        let s = summarize(&events, &["m".into(), "idle".into()], 100.0);
        assert_eq!(s[0].executing_s, 48.0);
        assert_eq!(s[0].out_of_service_s, 10.0);
        assert_eq!(s[0].not_available_s, 12.0);
        assert_eq!(s[0].not_executing_s, 30.0);
        assert_eq!(s[0].strokes, 1);
        assert_eq!(s[0].strokes_per_hour, 36.0);
        assert_eq!(s[1].not_available_s, 100.0);
        assert!(table(&s).contains("0:00:48"));
    }
}
