//! The camera's exposure and white balance, measured on the whole picture.
//!
//! Auto-exposure, an exposure jump or a room light switched changes every pixel of the
//! picture at once by one factor (above black); auto white balance shifts every pixel's
//! chroma at once. A person or a moving ram changes only some pixels. Each frame, a
//! fixed grid of 32 x 18 samples is compared with its reference look: the median of the
//! luma ratios is the exposure gain (1 = the reference exposure), the medians of the
//! chroma differences are the white-balance shift. Samples that agree with the median
//! teach their reference (divided by the gain); the others keep it (something stands
//! there) and adopt a lasting change only slowly. The cost is fixed per frame, whatever
//! the frame size.
//!
//! Invariant: the gain and shift are medians, so anything covering less than half the
//! picture does not move them.

use crate::frame::{BLACK_LUMA as BLACK, YuvFrame};
use crate::occlusion::GlobalLook;

const COLUMNS: usize = 32;
const ROWS: usize = 18;

/// Tuning of the exposure tracker.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExposureTuning {
    /// Time constant with which agreeing samples follow the scene.
    pub learn_s: f32,
    /// Time constant with which disagreeing samples adopt a lasting change.
    pub relearn_s: f32,
    /// A sample agrees with the median when its ratio is within this fraction of it.
    pub agreement: f32,
    /// Samples darker than this above black are too noisy for a ratio.
    pub min_level: f32,
}

impl Default for ExposureTuning {
    fn default() -> Self {
        Self { learn_s: 20.0, relearn_s: 300.0, agreement: 0.1, min_level: 8.0 }
    }
}

/// The exposure and white balance of one camera's picture.
#[derive(Clone, Debug)]
pub struct ExposureTracker {
    tuning: ExposureTuning,
    /// Reference luma above black, and chroma (Cb, Cr about 128), per grid sample.
    reference: Vec<[f32; 3]>,
    last_t_s: Option<f64>,
    /// Scratch, reused every frame.
    ratios: Vec<f32>,
    shifts_u: Vec<f32>,
    shifts_v: Vec<f32>,
    current: Vec<[f32; 3]>,
}

fn median(values: &mut [f32]) -> Option<f32> {
    if values.is_empty() {
        return None;
    }
    let mid = values.len() / 2;
    let (_, m, _) = values.select_nth_unstable_by(mid, f32::total_cmp);
    Some(*m)
}

impl ExposureTracker {
    pub fn new(tuning: ExposureTuning) -> Self {
        Self {
            tuning,
            reference: Vec::new(),
            last_t_s: None,
            ratios: Vec::with_capacity(COLUMNS * ROWS),
            shifts_u: Vec::with_capacity(COLUMNS * ROWS),
            shifts_v: Vec::with_capacity(COLUMNS * ROWS),
            current: Vec::with_capacity(COLUMNS * ROWS),
        }
    }

    /// Measures one frame: its overall look ([`crate::occlusion::global_look`]) with the
    /// exposure gain and white-balance shift against the learnt reference.
    pub fn measure(&mut self, t_s: f64, frame: &YuvFrame) -> GlobalLook {
        let mut look = crate::occlusion::global_look(frame);
        let dt_s = self.last_t_s.map_or(0.0, |last| (t_s - last).max(0.0)) as f32;
        self.last_t_s = Some(t_s);
        self.sample(frame);
        if self.reference.len() != self.current.len() {
            self.reference.clone_from(&self.current);
            return look;
        }
        let t = self.tuning;
        self.ratios.clear();
        self.shifts_u.clear();
        self.shifts_v.clear();
        for (c, r) in self.current.iter().zip(&self.reference) {
            if r[0] >= t.min_level && c[0] >= 0.25 * t.min_level {
                self.ratios.push(c[0] / r[0]);
            }
            self.shifts_u.push(c[1] - r[1]);
            self.shifts_v.push(c[2] - r[2]);
        }
        // Too few bright samples for a ratio (a black picture): keep the reference.
        let gain = if self.ratios.len() >= COLUMNS * ROWS / 8 { median(&mut self.ratios).unwrap_or(1.0) } else { 1.0 };
        let shift_u = median(&mut self.shifts_u).unwrap_or(0.0);
        let shift_v = median(&mut self.shifts_v).unwrap_or(0.0);
        let gain = gain.clamp(0.05, 20.0);
        let fast = (dt_s / t.learn_s).clamp(0.0, 1.0);
        let slow = (dt_s / t.relearn_s).clamp(0.0, 1.0);
        for (c, r) in self.current.iter().zip(&mut self.reference) {
            // The sample as it would look at the reference exposure and balance.
            let seen = [c[0] / gain, c[1] - shift_u, c[2] - shift_v];
            let agrees = r[0] < t.min_level || (seen[0] / r[0] - 1.0).abs() <= t.agreement;
            let alpha = if agrees { fast } else { slow };
            for k in 0..3 {
                r[k] += alpha * (seen[k] - r[k]);
            }
        }
        look.exposure_gain = gain;
        look.chroma_shift = (shift_u, shift_v);
        look
    }

    fn sample(&mut self, frame: &YuvFrame) {
        self.current.clear();
        let (w, h) = (frame.width_px() as usize, frame.height_px() as usize);
        let (cw, ch) = (frame.chroma_width(), frame.chroma_height());
        if w == 0 || h == 0 || cw == 0 || ch == 0 {
            return;
        }
        let (y, u, v) = (frame.y_plane(), frame.u_plane(), frame.v_plane());
        let columns: [(usize, usize); COLUMNS] =
            std::array::from_fn(|c| ((2 * c + 1) * w / (2 * COLUMNS), (2 * c + 1) * cw / (2 * COLUMNS)));
        for r in 0..ROWS {
            let (row, crow) = ((2 * r + 1) * h / (2 * ROWS), (2 * r + 1) * ch / (2 * ROWS));
            for &(col, ccol) in &columns {
                self.current.push([
                    (f32::from(y[row * w + col]) - BLACK).max(0.0),
                    f32::from(u[crow * cw + ccol]) - 128.0,
                    f32::from(v[crow * cw + ccol]) - 128.0,
                ]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A wall of vertical stripes, `gain` times as bright above black, with a tint and
    /// optionally a dark person covering the columns `person`.
    fn scene(gain: f32, tint: u8, person: Option<std::ops::Range<usize>>) -> YuvFrame {
        let mut f = YuvFrame::filled(320, 180, 0, 128, 128);
        let (y, u, _) = f.planes_mut();
        for row in 0..180 {
            for col in 0..320 {
                let base = 40.0 + 120.0 * ((col / 10) % 5) as f32 / 4.0;
                let covered = person.as_ref().is_some_and(|p| p.contains(&col));
                y[row * 320 + col] = if covered { 30 } else { (BLACK + base * gain).min(255.0) as u8 };
            }
        }
        u.fill(128 + tint);
        f
    }

    #[test]
    fn exposure_and_balance_are_measured_and_a_person_does_not_move_them() {
        let mut tracker = ExposureTracker::new(ExposureTuning::default());
        for i in 0..20 {
            let look = tracker.measure(f64::from(i) * 0.1, &scene(1.0, 0, None));
            assert!((look.exposure_gain - 1.0).abs() < 0.01);
        }
        let look = tracker.measure(2.1, &scene(1.4, 6, None));
        assert!((look.exposure_gain - 1.4).abs() < 0.05, "{look:?}");
        assert!((look.chroma_shift.0 - 6.0).abs() < 0.5, "{look:?}");
        // A person over a third of the picture, at the old exposure.
        let look = tracker.measure(2.2, &scene(1.0, 0, Some(0..110)));
        assert!((look.exposure_gain - 1.0).abs() < 0.05, "{look:?}");
        let look = tracker.measure(2.3, &scene(0.6, 0, Some(200..300)));
        assert!((look.exposure_gain - 0.6).abs() < 0.05, "{look:?}");
    }
}
