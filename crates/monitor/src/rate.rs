//! The rate gate: which frames of a stream are taken at a lower rate (a camera's `fps`
//! for its analysis, `people_fps` for its looks for people).
//!
//! Invariant: over a long run the frames taken follow the rate; a quarter interval of
//! slack keeps 25 fps -> 10 fps from beating, and after a gap the rate starts again
//! from the frame after it.

#[derive(Clone, Debug)]
pub struct RateGate {
    interval_s: Option<f64>,
    next_due_s: f64,
}

impl RateGate {
    /// Takes `fps` frames a second; `None`: every frame.
    pub fn new(fps: Option<f64>) -> Self {
        Self { interval_s: fps.filter(|f| *f > 0.0).map(|f| 1.0 / f), next_due_s: f64::NEG_INFINITY }
    }

    /// Seconds between two frames taken (`None`: every frame is).
    pub fn interval_s(&self) -> Option<f64> {
        self.interval_s
    }

    /// Whether the frame at `t_s` is taken (and, if so, books the next one).
    pub fn take(&mut self, t_s: f64) -> bool {
        let Some(interval) = self.interval_s else { return true };
        if t_s < self.next_due_s - 0.25 * interval {
            return false;
        }
        self.next_due_s = if t_s - self.next_due_s > interval { t_s + interval } else { self.next_due_s + interval };
        true
    }
}
