//! Scores detected events against ground truth.
//!
//! - Lamp modes and machine states are compared once per second (at `k + 0.5` s),
//!   except within `ignore_after_change_s` after a true change (a decision needs time)
//!   and before the first true value.
//! - Strokes are matched one to one by midpoint (within half the true stroke's duration,
//!   at most 1 s): precision, recall, F1, and the median midpoint error.
//! - Cycles are matched one to one when both their ends are within
//!   [`CYCLE_TOLERANCE_S`]: F1 and the median error of their ends.

use std::collections::BTreeMap;

use serde::Serialize;
use sheetsight_vision::event::{Event, VideoEvent};

/// Agreement of one kind of reading.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Agreement {
    pub agree: u64,
    pub compared: u64,
}

impl Agreement {
    pub fn ratio(&self) -> f64 {
        if self.compared == 0 { 1.0 } else { self.agree as f64 / self.compared as f64 }
    }
}

/// F1 of `matched` out of `detected` found and `truth` true (1 when both are none).
fn f1(matched: u64, detected: u64, truth: u64) -> f64 {
    let p = if detected == 0 { 1.0 } else { matched as f64 / detected as f64 };
    let r = if truth == 0 { 1.0 } else { matched as f64 / truth as f64 };
    if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
}

/// Stroke detection quality.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct StrokeScore {
    pub true_strokes: u64,
    pub detected: u64,
    pub matched: u64,
    pub median_midpoint_error_s: f64,
}

impl StrokeScore {
    pub fn f1(&self) -> f64 {
        f1(self.matched, self.detected, self.true_strokes)
    }
}

/// How far a detected cycle's start and end may be from the true ones.
pub const CYCLE_TOLERANCE_S: f64 = 0.5;

/// Cycle detection quality.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct CycleScore {
    pub true_cycles: u64,
    pub detected: u64,
    pub matched: u64,
    pub median_end_error_s: f64,
}

impl CycleScore {
    pub fn f1(&self) -> f64 {
        f1(self.matched, self.detected, self.true_cycles)
    }
}

/// (start, end) of each machine's cycles, sorted.
fn cycles(events: &[VideoEvent]) -> BTreeMap<&str, Vec<(f64, f64)>> {
    let mut out: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
    for e in events {
        if let Event::Cycle { machine, start_t, end_t, .. } = e {
            out.entry(machine).or_default().push((start_t.0, end_t.0));
        }
    }
    for v in out.values_mut() {
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    out
}

/// Matches detected cycles to true ones, one to one.
pub fn score_cycles(truth: &[VideoEvent], detected: &[VideoEvent]) -> CycleScore {
    let (truth, found) = (cycles(truth), cycles(detected));
    let mut score = CycleScore::default();
    let mut end_errors = Vec::new();
    for (machine, true_cycles) in &truth {
        let found = found.get(machine).map_or(&[][..], Vec::as_slice);
        let mut used = vec![false; found.len()];
        for &(ts, te) in true_cycles {
            let best = found
                .iter()
                .enumerate()
                .filter(|&(i, &(ds, de))| {
                    !used[i] && (ds - ts).abs() <= CYCLE_TOLERANCE_S && (de - te).abs() <= CYCLE_TOLERANCE_S
                })
                .min_by(|a, b| (a.1.1 - te).abs().total_cmp(&(b.1.1 - te).abs()));
            if let Some((i, &(_, de))) = best {
                used[i] = true;
                end_errors.push((de - te).abs());
            }
        }
        score.true_cycles += true_cycles.len() as u64;
    }
    score.detected = found.values().map(|v| v.len() as u64).sum();
    score.matched = end_errors.len() as u64;
    score.median_end_error_s = median(&mut end_errors);
    score
}

/// A whole score, overall and per machine.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Score {
    pub seconds: f64,
    pub lamp: Agreement,
    pub state: Agreement,
    pub strokes: StrokeScore,
    pub cycles: CycleScore,
    pub machines: BTreeMap<String, (Agreement, Agreement, StrokeScore)>,
    /// Lamp agreement by the true mode (`unknown`: was a blocked lamp read as blocked?).
    pub lamp_by_mode: BTreeMap<String, Agreement>,
    /// State agreement by the true state.
    pub state_by_state: BTreeMap<String, Agreement>,
    /// The first disagreements, for diagnosis: (machine, what, t, truth, detected).
    pub examples: Vec<(String, String, f64, String, String)>,
}

type Timeline = Vec<(f64, String)>;

/// Lamp modes per (machine, lamp), states per machine, strokes per machine.
type Timelines = (BTreeMap<(String, usize), Timeline>, BTreeMap<String, Timeline>, BTreeMap<String, Vec<(f64, f64)>>);

fn timelines(events: &[VideoEvent]) -> Timelines {
    let mut lamps: BTreeMap<(String, usize), Timeline> = BTreeMap::new();
    let mut states: BTreeMap<String, Timeline> = BTreeMap::new();
    let mut strokes: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for e in events {
        match e {
            Event::Lamp { machine, lamp, mode, t, .. } => {
                lamps.entry((machine.clone(), *lamp)).or_default().push((t.0, mode.as_str().to_string()));
            }
            Event::State { machine, state, t } => {
                states.entry(machine.clone()).or_default().push((t.0, state.as_str().to_string()))
            }
            Event::Stroke { machine, start_t, end_t, .. } => {
                strokes.entry(machine.clone()).or_default().push((start_t.0, end_t.0))
            }
            _ => {}
        }
    }
    for v in lamps.values_mut().chain(states.values_mut()) {
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    for v in strokes.values_mut() {
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    (lamps, states, strokes)
}

fn value_at(timeline: &Timeline, t: f64) -> Option<&(f64, String)> {
    let idx = timeline.partition_point(|e| e.0 <= t);
    idx.checked_sub(1).map(|i| &timeline[i])
}

/// Where one timeline is scored against another.
struct Comparison<'a> {
    seconds: f64,
    ignore_s: f64,
    machine: &'a str,
    label: &'a str,
}

impl Comparison<'_> {
    /// Scores `detected` against `truth` once a second; `by_truth` gets the agreement per
    /// true value.
    fn run(
        &self,
        truth: &Timeline,
        detected: Option<&Timeline>,
        by_truth: &mut BTreeMap<String, Agreement>,
        examples: &mut Vec<(String, String, f64, String, String)>,
    ) -> Agreement {
        let mut a = Agreement::default();
        let mut k = 0.0;
        while k + 0.5 < self.seconds {
            let t = k + 0.5;
            k += 1.0;
            // Not before the first true value, nor just after a true change.
            let Some((since, true_value)) = value_at(truth, t) else { continue };
            if t - since < self.ignore_s {
                continue;
            }
            let got = detected.and_then(|d| value_at(d, t)).map(|e| e.1.as_str());
            let hit = got == Some(true_value.as_str());
            for agreement in [&mut a, by_truth.entry(true_value.clone()).or_default()] {
                agreement.compared += 1;
                agreement.agree += u64::from(hit);
            }
            if !hit && examples.len() < 40 {
                examples.push((
                    self.machine.to_string(),
                    self.label.to_string(),
                    t,
                    true_value.clone(),
                    got.unwrap_or("-").to_string(),
                ));
            }
        }
        a
    }
}

fn add(a: &mut Agreement, b: Agreement) {
    a.agree += b.agree;
    a.compared += b.compared;
}

/// Scores `detected` against `truth` over `seconds` of video.
pub fn score(truth: &[VideoEvent], detected: &[VideoEvent], seconds: f64, ignore_after_change_s: f64) -> Score {
    let (t_lamps, t_states, t_strokes) = timelines(truth);
    let (d_lamps, d_states, d_strokes) = timelines(detected);
    let mut s = Score { seconds, ..Score::default() };
    for ((machine, lamp), tl) in &t_lamps {
        let label = format!("lamp {lamp}");
        let cmp = Comparison { seconds, ignore_s: ignore_after_change_s, machine, label: &label };
        let a = cmp.run(tl, d_lamps.get(&(machine.clone(), *lamp)), &mut s.lamp_by_mode, &mut s.examples);
        add(&mut s.lamp, a);
        add(&mut s.machines.entry(machine.clone()).or_default().0, a);
    }
    for (machine, tl) in &t_states {
        let cmp = Comparison { seconds, ignore_s: ignore_after_change_s, machine, label: "state" };
        let a = cmp.run(tl, d_states.get(machine), &mut s.state_by_state, &mut s.examples);
        add(&mut s.state, a);
        add(&mut s.machines.entry(machine.clone()).or_default().1, a);
    }
    let mut all_errors = Vec::new();
    let machine_names: std::collections::BTreeSet<&String> = t_strokes.keys().chain(d_strokes.keys()).collect();
    for machine in machine_names {
        let truth = t_strokes.get(machine).cloned().unwrap_or_default();
        let found = d_strokes.get(machine).cloned().unwrap_or_default();
        let mut used = vec![false; found.len()];
        let mut errors = Vec::new();
        for &(ts, te) in &truth {
            let mid = 0.5 * (ts + te);
            let tolerance = (0.5 * (te - ts)).min(1.0);
            let best = found
                .iter()
                .enumerate()
                .filter(|(i, _)| !used[*i])
                .map(|(i, &(ds, de))| (i, (0.5 * (ds + de) - mid).abs()))
                .filter(|&(_, err)| err <= tolerance)
                .min_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((i, err)) = best {
                used[i] = true;
                errors.push(err);
            }
        }
        let ms = StrokeScore {
            true_strokes: truth.len() as u64,
            detected: found.len() as u64,
            matched: errors.len() as u64,
            median_midpoint_error_s: median(&mut errors.clone()),
        };
        all_errors.extend(errors);
        s.strokes.true_strokes += ms.true_strokes;
        s.strokes.detected += ms.detected;
        s.strokes.matched += ms.matched;
        s.machines.entry(machine.clone()).or_default().2 = ms;
    }
    s.strokes.median_midpoint_error_s = median(&mut all_errors);
    s.cycles = score_cycles(truth, detected);
    s
}

/// After each global change `(machine, t)` (the whole picture changed at once), the
/// longest time any lamp of that machine with nothing in front of it (its truth a mode
/// from 1 s before the change to the window's end) read `unknown`, within `window_s`;
/// one figure per change.
pub fn false_unknown_after(
    truth: &[VideoEvent],
    detected: &[VideoEvent],
    changes: &[(String, f64)],
    window_s: f64,
) -> Vec<f64> {
    let (t_lamps, _, _) = timelines(truth);
    let (d_lamps, _, _) = timelines(detected);
    let step_s = 0.02;
    changes
        .iter()
        .map(|(machine, at_s)| {
            let mut longest = 0.0f64;
            for ((m, lamp), tl) in &t_lamps {
                if m != machine {
                    continue;
                }
                let Some(dl) = d_lamps.get(&(m.clone(), *lamp)) else { continue };
                let covered = |t: f64| value_at(tl, t).is_some_and(|v| v.1 == "unknown");
                let covered_in_window = covered(at_s - 1.0)
                    || tl.iter().any(|(t, v)| v == "unknown" && (at_s - 1.0..=at_s + window_s).contains(t));
                if covered_in_window {
                    continue;
                }
                let mut run = 0.0f64;
                let mut k = 0;
                while (k as f64) * step_s <= window_s {
                    let t = at_s + k as f64 * step_s;
                    k += 1;
                    let read_unknown = value_at(dl, t).is_some_and(|v| v.1 == "unknown");
                    run = if read_unknown { run + step_s } else { 0.0 };
                    longest = longest.max(run);
                }
            }
            longest
        })
        .collect()
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

impl std::fmt::Display for Score {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "scored {:.0} s of video", self.seconds)?;
        writeln!(f, "{:<12} {:>10} {:>10} {:>10} {:>10}", "machine", "lamp %", "state %", "stroke F1", "mid err s")?;
        for (m, (l, st, sk)) in &self.machines {
            writeln!(
                f,
                "{:<12} {:>10.2} {:>10.2} {:>10.4} {:>10.3}",
                m,
                100.0 * l.ratio(),
                100.0 * st.ratio(),
                sk.f1(),
                sk.median_midpoint_error_s
            )?;
        }
        writeln!(
            f,
            "{:<12} {:>10.2} {:>10.2} {:>10.4} {:>10.3}",
            "all",
            100.0 * self.lamp.ratio(),
            100.0 * self.state.ratio(),
            self.strokes.f1(),
            self.strokes.median_midpoint_error_s
        )?;
        let by = |m: &BTreeMap<String, Agreement>| {
            m.iter().map(|(k, a)| format!("{k} {:.2} %", 100.0 * a.ratio())).collect::<Vec<_>>().join(", ")
        };
        writeln!(f, "lamp by true mode: {}", by(&self.lamp_by_mode))?;
        writeln!(f, "state by true state: {}", by(&self.state_by_state))?;
        let c = &self.cycles;
        writeln!(
            f,
            "cycles: {} true, {} detected, {} matched (both ends within {CYCLE_TOLERANCE_S} s): F1 {:.4}, median end error {:.3} s",
            c.true_cycles,
            c.detected,
            c.matched,
            c.f1(),
            c.median_end_error_s
        )?;
        writeln!(
            f,
            "lamp seconds {}/{}, state seconds {}/{}, strokes: {} true, {} detected, {} matched",
            self.lamp.agree,
            self.lamp.compared,
            self.state.agree,
            self.state.compared,
            self.strokes.true_strokes,
            self.strokes.detected,
            self.strokes.matched
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sheetsight_base::time::VideoSeconds;
    use sheetsight_vision::lamp::{LampColor, LampMode};

    fn lamp(t: f64, mode: LampMode) -> VideoEvent {
        Event::Lamp { machine: "m".into(), lamp: 0, color: LampColor::Red, mode, t: VideoSeconds(t) }
    }

    #[test]
    fn disagreement_outside_the_grace_window_counts() {
        let truth = vec![lamp(0.0, LampMode::Off), lamp(10.0, LampMode::Steady)];
        let late = vec![lamp(0.5, LampMode::Off), lamp(11.5, LampMode::Steady)];
        let s = score(&truth, &late, 20.0, 2.0);
        assert_eq!(s.lamp.compared, 16);
        assert_eq!(s.lamp.ratio(), 1.0);
        let too_late = vec![lamp(0.5, LampMode::Off), lamp(13.2, LampMode::Steady)];
        let s = score(&truth, &too_late, 20.0, 2.0);
        assert_eq!(s.lamp.agree, 15, "12.5 s is wrong");
        assert_eq!(s.lamp_by_mode["off"], Agreement { agree: 8, compared: 8 });
        assert_eq!(s.lamp_by_mode["steady"], Agreement { agree: 7, compared: 8 });
    }

    #[test]
    fn unknown_after_a_global_change_is_timed_only_while_the_lamp_is_visible() {
        let truth = vec![lamp(0.0, LampMode::Off), lamp(20.0, LampMode::Unknown), lamp(22.0, LampMode::Off)];
        let read = vec![lamp(0.5, LampMode::Off), lamp(10.2, LampMode::Unknown), lamp(11.0, LampMode::Off)];
        let changes = vec![("m".to_string(), 10.0), ("m".to_string(), 19.5)];
        let longest = false_unknown_after(&truth, &read, &changes, 5.0);
        assert!((longest[0] - 0.8).abs() < 0.03, "{longest:?}");
        // Something truly stood in front within the window: not counted.
        let blocked = vec![lamp(0.5, LampMode::Off), lamp(20.1, LampMode::Unknown), lamp(23.5, LampMode::Off)];
        assert_eq!(false_unknown_after(&truth, &blocked, &changes[1..], 5.0), vec![0.0]);
    }

    #[test]
    fn strokes_match_one_to_one() {
        let st = |a: f64, b: f64| Event::Stroke {
            machine: "m".into(),
            start_t: VideoSeconds(a),
            end_t: VideoSeconds(b),
            person_in_region: false,
        };
        let truth = vec![st(1.0, 3.0), st(10.0, 12.0), st(20.0, 22.0)];
        let found = vec![st(1.1, 3.1), st(1.2, 3.2), st(10.0, 12.2), st(40.0, 41.0)];
        let s = score(&truth, &found, 50.0, 2.0);
        assert_eq!((s.strokes.true_strokes, s.strokes.detected, s.strokes.matched), (3, 4, 2));
        assert!((s.strokes.f1() - 4.0 / 7.0).abs() < 1e-9);
        assert!((s.strokes.median_midpoint_error_s - 0.1).abs() < 1e-9);
    }

    #[test]
    fn cycles_match_when_both_ends_are_close() {
        let cycle = |a: f64, b: f64| Event::Cycle {
            machine: "m".into(),
            start_t: VideoSeconds(a),
            end_t: VideoSeconds(b),
            strokes: 2,
        };
        let truth = vec![cycle(10.0, 20.0), cycle(30.0, 40.0), cycle(50.0, 60.0)];
        // One exact, one with its end 0.3 s late, one merged with the next (end 1 s off).
        let found = vec![cycle(10.0, 20.0), cycle(30.1, 40.3), cycle(50.0, 61.0)];
        let s = score_cycles(&truth, &found);
        assert_eq!((s.true_cycles, s.detected, s.matched), (3, 3, 2));
        assert!((s.f1() - 2.0 / 3.0).abs() < 1e-9);
        assert!((s.median_end_error_s - 0.3).abs() < 1e-9, "the upper median: {s:?}");
    }
}
