//! Cycles: one unit of work at a machine, found from its strokes, its state or its
//! motion.
//!
//! - [`CycleSource::Strokes`] (press brakes): a burst of strokes; a pause of at least
//!   `gap_s` between one stroke's end and the next one's start ends the cycle. A cycle
//!   runs from its first stroke's start to its last stroke's end.
//! - [`CycleSource::State`] (lasers, punches): one stretch of `Executing`.
//! - [`CycleSource::Motion`]: one period of activity in the motion region.
//!
//! A burst is over when the pause since its last stroke has reached `gap_s` and the
//! motion region is quiet: while it is active a stroke may be under way, and one that
//! began within `gap_s` still belongs to the burst.
//!
//! Invariants: a cycle is reported once, when it has ended, and never revised; a cycle
//! shorter than `min_s` is not reported; blindness (the camera cannot see) ends the open
//! cycle, whatever the source; `strokes` counts the strokes that ended inside it. Times
//! are seconds on the analysis clock.
//!
//! A `NotAvailable` state read from the lamps while the camera sees (the tower hidden
//! by a passer-by, every lamp dark for a moment) ends a cycle read from the state; a
//! cycle of strokes or motion goes on, because the motion region it is read from is
//! still seen (were it not, the pause would end the burst after `gap_s` anyway).

use crate::state::MachineState;

sheetsight_base::named_enum! {
    /// What marks a machine's cycles.
    pub enum CycleSource("cycle source") {
        Strokes = "strokes",
        State = "state",
        Motion = "motion",
    }
}

/// How a machine's cycles are found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CycleRules {
    pub source: CycleSource,
    /// Strokes: a pause at least this long between strokes ends a cycle.
    pub gap_s: f64,
    /// Shorter cycles are not cycles.
    pub min_s: f64,
}

impl Default for CycleRules {
    fn default() -> Self {
        Self { source: CycleSource::Strokes, gap_s: 5.0, min_s: 1.0 }
    }
}

/// One ended cycle.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cycle {
    pub start_s: f64,
    pub end_s: f64,
    pub strokes: u32,
}

#[derive(Clone, Copy, Debug)]
struct Open {
    start_s: f64,
    /// Strokes: the last stroke's end.
    last_end_s: f64,
    strokes: u32,
}

/// Finds one machine's cycles as its analysis goes.
#[derive(Clone, Debug)]
pub struct CycleTracker {
    rules: CycleRules,
    open: Option<Open>,
    /// The motion region is active: a stroke may be under way.
    motion_active: bool,
}

impl CycleTracker {
    pub fn new(rules: CycleRules) -> Self {
        Self { rules, open: None, motion_active: false }
    }

    pub fn rules(&self) -> CycleRules {
        self.rules
    }

    fn close(&mut self, end_s: f64) -> Option<Cycle> {
        let open = self.open.take()?;
        let cycle = Cycle { start_s: open.start_s, end_s, strokes: open.strokes };
        (cycle.end_s - cycle.start_s >= self.rules.min_s).then_some(cycle)
    }

    /// Time has gone on to `t_s`: a burst of strokes whose pause has grown to `gap_s`
    /// with the motion region quiet has ended.
    pub fn tick(&mut self, t_s: f64) -> Option<Cycle> {
        let open = self.open?;
        let paused = t_s - open.last_end_s >= self.rules.gap_s;
        if self.rules.source == CycleSource::Strokes && paused && !self.motion_active {
            return self.close(open.last_end_s);
        }
        None
    }

    /// A stroke from `start_s` to `end_s`.
    pub fn stroke(&mut self, start_s: f64, end_s: f64) -> Option<Cycle> {
        let mut ended = None;
        if self.rules.source == CycleSource::Strokes {
            if let Some(open) = self.open
                && start_s - open.last_end_s >= self.rules.gap_s
            {
                ended = self.close(open.last_end_s);
            }
            let open = self.open.get_or_insert(Open { start_s, last_end_s: end_s, strokes: 0 });
            open.last_end_s = end_s;
        }
        if let Some(open) = &mut self.open {
            open.strokes += 1;
        }
        ended
    }

    /// The camera cannot see from `t_s`: the open cycle ends (a burst of strokes with its
    /// last stroke).
    pub fn blind(&mut self, t_s: f64) -> Option<Cycle> {
        self.motion_active = false;
        let end_s = match (self.rules.source, self.open) {
            (CycleSource::Strokes, Some(open)) => open.last_end_s,
            _ => t_s,
        };
        self.close(end_s)
    }

    /// The machine's state changed to `state` at `t_s`.
    pub fn state(&mut self, state: MachineState, t_s: f64) -> Option<Cycle> {
        if self.rules.source != CycleSource::State {
            return None;
        }
        match (state == MachineState::Executing, self.open.is_some()) {
            (true, false) => {
                self.open = Some(Open { start_s: t_s, last_end_s: t_s, strokes: 0 });
                None
            }
            (false, true) => self.close(t_s),
            _ => None,
        }
    }

    /// The motion region became active (`true`) or quiet at `t_s`.
    pub fn motion(&mut self, active: bool, t_s: f64) -> Option<Cycle> {
        self.motion_active = active;
        if self.rules.source != CycleSource::Motion {
            return None;
        }
        match (active, self.open.is_some()) {
            (true, false) => {
                self.open = Some(Open { start_s: t_s, last_end_s: t_s, strokes: 0 });
                None
            }
            (false, true) => self.close(t_s),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strokes(gap_s: f64) -> CycleTracker {
        CycleTracker::new(CycleRules { source: CycleSource::Strokes, gap_s, min_s: 1.0 })
    }

    #[test]
    fn a_pause_of_gap_s_ends_a_burst_of_strokes() {
        let mut c = strokes(5.0);
        assert_eq!(c.stroke(10.0, 11.5), None);
        assert_eq!(c.tick(14.0), None, "a 2.5 s pause is inside the cycle");
        assert_eq!(c.stroke(14.0, 15.2), None);
        assert_eq!(c.stroke(17.0, 18.0), None);
        assert_eq!(c.tick(22.9), None);
        // Reported once the pause reaches 5 s, ending with the last stroke.
        assert_eq!(c.tick(23.0), Some(Cycle { start_s: 10.0, end_s: 18.0, strokes: 3 }));
        assert_eq!(c.tick(30.0), None, "never reported twice");
        // A stroke after a long pause that no tick saw first still splits the cycles.
        assert_eq!(c.stroke(40.0, 41.0), None);
        assert_eq!(c.stroke(50.0, 51.0), Some(Cycle { start_s: 40.0, end_s: 41.0, strokes: 1 }));
    }

    #[test]
    fn a_stroke_under_way_when_the_pause_runs_out_still_belongs_to_the_burst() {
        let mut c = strokes(5.0);
        c.stroke(10.0, 11.0);
        assert_eq!(c.motion(true, 14.0), None, "the ram starts moving 3 s after the last stroke");
        assert_eq!(c.tick(16.0), None, "5 s since the last stroke, but one is under way");
        assert_eq!(c.stroke(14.0, 16.5), None);
        assert_eq!(c.motion(false, 18.5), None);
        assert_eq!(c.tick(21.5), Some(Cycle { start_s: 10.0, end_s: 16.5, strokes: 2 }));
    }

    #[test]
    fn short_cycles_are_not_cycles_and_blindness_ends_one() {
        let mut c = CycleTracker::new(CycleRules { source: CycleSource::Strokes, gap_s: 5.0, min_s: 2.0 });
        c.stroke(1.0, 2.5);
        assert_eq!(c.tick(10.0), None, "1.5 s is shorter than min_s");
        c.stroke(20.0, 21.0);
        c.stroke(22.0, 23.0);
        assert_eq!(c.state(MachineState::NotAvailable, 23.5), None, "the lamps alone do not hide the ram");
        assert_eq!(c.blind(24.0), Some(Cycle { start_s: 20.0, end_s: 23.0, strokes: 2 }));
        assert_eq!(c.tick(40.0), None);
    }

    #[test]
    fn executing_stretches_and_motion_periods_are_cycles() {
        let mut c = CycleTracker::new(CycleRules { source: CycleSource::State, gap_s: 5.0, min_s: 1.0 });
        assert_eq!(c.state(MachineState::NotExecuting, 0.0), None);
        assert_eq!(c.state(MachineState::Executing, 5.0), None);
        assert_eq!(c.stroke(6.0, 7.0), None, "strokes are counted, not cycles of their own");
        assert_eq!(c.tick(100.0), None, "time alone does not end an Executing stretch");
        assert_eq!(c.state(MachineState::OutOfService, 65.0), Some(Cycle { start_s: 5.0, end_s: 65.0, strokes: 1 }));
        c.state(MachineState::Executing, 70.0);
        assert_eq!(
            c.state(MachineState::NotAvailable, 80.0),
            Some(Cycle { start_s: 70.0, end_s: 80.0, strokes: 0 }),
            "a state cycle cannot go on unseen"
        );
        let mut m = CycleTracker::new(CycleRules { source: CycleSource::Motion, gap_s: 5.0, min_s: 1.0 });
        assert_eq!(m.state(MachineState::Executing, 0.0), None, "state does not start a motion cycle");
        assert_eq!(m.motion(true, 3.0), None);
        assert_eq!(m.motion(false, 9.5), Some(Cycle { start_s: 3.0, end_s: 9.5, strokes: 0 }));
        assert_eq!(m.motion(true, 12.0), None);
        assert_eq!(m.motion(false, 12.5), None, "0.5 s is shorter than min_s");
    }
}
