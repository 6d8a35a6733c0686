//! Simulated past days of a shop, for the demo: each machine's states, strokes and the
//! reasons given to its longer stops, drawn from a seed. Whoever stores them marks them
//! as simulated. Day shifts (08:00-20:00 on the given clock) run longer between stops
//! than night shifts; short stops get no reason, as on a real floor.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use sheetsight_base::time::UnixMillis;
use sheetsight_vision::event::LiveEvent;
use sheetsight_vision::state::MachineState;

/// A reason given to a stop: machine, reason, start, end.
pub type GivenReason = (String, String, UnixMillis, UnixMillis);

#[derive(Clone, Debug, Default)]
pub struct SimulatedHistory {
    /// State changes and strokes, in time order.
    pub events: Vec<LiveEvent>,
    pub reasons: Vec<GivenReason>,
}

const MINUTE_MS: i64 = 60_000;

fn minutes(rng: &mut SmallRng, lo: f64, hi: f64) -> i64 {
    (rng.random_range(lo..hi) * MINUTE_MS as f64) as i64
}

/// The history of `machines` (id, ideal strokes per hour) from `from` to `to`; the
/// longer stops get one of `reasons` (the first few are the common ones).
pub fn past_days(
    machines: &[(String, Option<f64>)],
    from: UnixMillis,
    to: UnixMillis,
    reasons: &[String],
    seed: u64,
) -> SimulatedHistory {
    let mut out = SimulatedHistory::default();
    for (k, (machine, ideal)) in machines.iter().enumerate() {
        let mut rng = SmallRng::seed_from_u64(seed ^ (k as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        // Some machines are run better than others.
        let skill: f64 = rng.random_range(0.7..1.3);
        let ideal_s = 3600.0 / ideal.unwrap_or(300.0).max(1.0);
        let mut t = from;
        while t < to {
            let hour = t.as_i64().rem_euclid(24 * 3_600_000) / 3_600_000;
            let night = !(8..20).contains(&hour);
            // Running.
            let mean_run_min = if night { 16.0 } else { 32.0 } * skill;
            let run_ms = (-(1.0 - rng.random::<f64>()).ln() * mean_run_min * MINUTE_MS as f64) as i64 + 2 * MINUTE_MS;
            let run_end = (t.plus_ms(run_ms)).min(to);
            out.events.push(LiveEvent::State { machine: machine.clone(), state: MachineState::Executing, t });
            let pace: f64 = rng.random_range(0.6..0.9);
            let mut s = t.plus_ms(1_000);
            loop {
                let gap_s = ideal_s / pace * rng.random_range(0.8..1.25);
                let end = s.plus_ms(1_000);
                if end >= run_end {
                    break;
                }
                out.events.push(LiveEvent::Stroke {
                    machine: machine.clone(),
                    start_t: s,
                    end_t: end,
                    person_in_region: false,
                });
                s = s.plus_ms((gap_s * 1000.0) as i64);
            }
            t = run_end;
            if t >= to {
                break;
            }
            // Standing: short stops get no reason; longer ones one of the reasons; a few
            // are faults.
            let roll: f64 = rng.random();
            let (state, stop_ms, reason) = if roll < 0.55 {
                (MachineState::NotExecuting, minutes(&mut rng, 1.0, 6.0), None)
            } else if roll < 0.9 || reasons.is_empty() {
                let common = reasons.len().min(3);
                let pick = if common > 0 && rng.random::<f64>() < 0.75 {
                    rng.random_range(0..common)
                } else {
                    rng.random_range(0..reasons.len().max(1))
                };
                let long = if night { minutes(&mut rng, 10.0, 60.0) } else { minutes(&mut rng, 8.0, 35.0) };
                (MachineState::NotExecuting, long, reasons.get(pick).cloned())
            } else {
                let fault = reasons.iter().rev().find(|r| r.to_lowercase().contains("breakdown")).cloned();
                (MachineState::OutOfService, minutes(&mut rng, 10.0, 40.0), fault.or_else(|| reasons.last().cloned()))
            };
            let stop_end = t.plus_ms(stop_ms).min(to);
            out.events.push(LiveEvent::State { machine: machine.clone(), state, t });
            if let Some(r) = reason {
                out.reasons.push((machine.clone(), r, t, stop_end));
            }
            t = stop_end;
        }
    }
    out.events.sort_by_key(|e| e.t().map_or(0, |t| t.as_i64()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_run_better_than_nights_and_longer_stops_have_reasons() {
        let reasons: Vec<String> =
            ["Waiting for material", "Tool change", "Setup", "Breakdown"].map(String::from).into();
        let day_ms = 24 * 3_600_000;
        let h = past_days(&[("a".into(), Some(600.0))], UnixMillis(0), UnixMillis(4 * day_ms), &reasons, 7);
        assert!(h.events.windows(2).all(|w| w[0].t() <= w[1].t()), "in time order");
        // Executing time by day (08-20) and night.
        let mut running = [0i64; 2];
        let states: Vec<(MachineState, i64)> = h
            .events
            .iter()
            .filter_map(|e| match e {
                LiveEvent::State { state, t, .. } => Some((*state, t.as_i64())),
                _ => None,
            })
            .collect();
        for w in states.windows(2) {
            if w[0].0 == MachineState::Executing {
                let hour = w[0].1.rem_euclid(day_ms) / 3_600_000;
                running[usize::from(!(8..20).contains(&hour))] += w[1].1 - w[0].1;
            }
        }
        assert!(running[0] > running[1], "day shifts run more: {running:?}");
        let strokes = h.events.iter().filter(|e| matches!(e, LiveEvent::Stroke { .. })).count() as f64;
        let run_h = (running[0] + running[1]) as f64 / 3_600_000.0;
        let rate = strokes / run_h;
        assert!((300.0..600.0).contains(&rate), "strokes per running hour {rate} below the ideal 600");
        assert!(!h.reasons.is_empty());
        assert!(h.reasons.iter().all(|(_, _, a, b)| (b.as_i64() - a.as_i64()) >= 8 * MINUTE_MS));
    }
}
