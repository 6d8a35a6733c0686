//! Per-machine summary of a run: time in each state, strokes, strokes per hour.

use std::collections::BTreeMap;

use serde::Serialize;
use sheetsight_vision::event::{Event, VideoEvent};
use sheetsight_vision::state::MachineState;

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
            }
        })
        .collect()
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
            Event::Stroke { machine: "m".into(), start_t: VideoSeconds(3.0), end_t: VideoSeconds(4.0) },
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
