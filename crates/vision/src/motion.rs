//! Motion in a region: activity, and press strokes (down and up).
//!
//! A press-brake ram or a punch moves vertically through its region. Each frame the
//! region is reduced to a row profile (mean luma of every row, over every n-th column),
//! normalised to zero mean and unit spread so that room light and exposure cancel. The *displacement* is the
//! mean absolute difference between this profile and the rest profile learnt while the
//! machine stands still; a stroke is one excursion of the displacement above a
//! threshold and back (the ram goes down and comes up again). Profiles are compared at
//! the best vertical offset within the shake tolerance, so camera shake is not motion.
//! The threshold follows the noise floor of the quiet region (sensor noise,
//! compression) and, once strokes have been seen, a fraction of their typical size. The start
//! and end of a stroke are the first and last frames above the lower hysteresis level,
//! so a stroke's midpoint is not biased by detection delay.
//!
//! *Activity* is the frame-to-frame change of the same profile; the region is active
//! while activity was above its threshold within the last [`MotionTuning::active_hold_s`].

use std::collections::VecDeque;

use crate::frame::YuvFrame;
use crate::roi::PolygonRoi;

/// Tuning of the motion analyzer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MotionTuning {
    /// Sample every n-th row and column of the region.
    pub sample_step_px: u32,
    /// Time constant of the rest profile while quiet.
    pub rest_learn_s: f32,
    /// Smallest displacement threshold (relative profile difference).
    pub min_threshold: f32,
    /// Threshold as a multiple of the quiet noise floor.
    pub noise_factor: f32,
    /// Once strokes have been seen, the threshold is at least this fraction of their
    /// typical peak displacement.
    pub peak_fraction: f32,
    /// The lower hysteresis level as a fraction of the upper.
    pub low_ratio: f32,
    /// Excursions shorter than this are not strokes.
    pub min_stroke_s: f64,
    /// An excursion longer than this is a changed scene, not a stroke: the rest
    /// profile is learnt anew.
    pub max_stroke_s: f64,
    /// The region counts as active this long after the last activity.
    pub active_hold_s: f64,
    /// Camera shake up to this many pixels is not motion: profiles are compared at
    /// every vertical offset up to it and the best match counts.
    pub shake_tolerance_px: u32,
}

impl Default for MotionTuning {
    fn default() -> Self {
        Self {
            sample_step_px: 2,
            rest_learn_s: 4.0,
            min_threshold: 0.04,
            peak_fraction: 0.2,
            noise_factor: 5.0,
            low_ratio: 0.5,
            min_stroke_s: 0.25,
            max_stroke_s: 15.0,
            active_hold_s: 2.0,
            shake_tolerance_px: 3,
        }
    }
}

/// One stroke: the ram left its rest position at `start_s` and was back at `end_s`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stroke {
    pub start_s: f64,
    pub end_s: f64,
    /// Largest displacement during the stroke.
    pub peak_displacement: f32,
}

impl Stroke {
    pub fn midpoint_s(&self) -> f64 {
        0.5 * (self.start_s + self.end_s)
    }
}

/// What one frame changed.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MotionUpdate {
    pub stroke: Option<Stroke>,
    /// `Some(active)` when the region became active or quiet.
    pub active_changed: Option<bool>,
    pub displacement: f32,
    pub activity: f32,
}

#[derive(Clone, Copy, Debug)]
struct Excursion {
    start_s: f64,
    last_above_s: f64,
    peak: f32,
}

/// Stroke counter and activity meter for one region.
#[derive(Clone, Debug)]
pub struct MotionAnalyzer {
    tuning: MotionTuning,
    rows: Vec<Vec<(usize, usize)>>,
    row_counts: Vec<f32>,
    width_px: usize,
    max_shift_rows: usize,
    profile: Vec<f32>,
    rest: Option<Vec<f32>>,
    previous: Vec<f32>,
    noise: f32,
    activity_noise: f32,
    history: VecDeque<(f64, f32)>,
    recent_peaks: VecDeque<f32>,
    excursion: Option<Excursion>,
    last_t_s: Option<f64>,
    last_activity_s: Option<f64>,
    active: bool,
}

impl MotionAnalyzer {
    pub fn new(roi: &PolygonRoi, width_px: u32, tuning: MotionTuning) -> Self {
        let step = tuning.sample_step_px.max(1);
        let y0 = roi.bbox().y0;
        // Every row (so that a one-pixel shake is a one-row shift), every n-th column.
        let mut rows = vec![Vec::new(); roi.bbox().height() as usize];
        for s in roi.spans() {
            let base = s.y as usize * width_px as usize;
            rows[(s.y - y0) as usize].push((base + s.x_start as usize, base + s.x_end as usize));
        }
        rows.retain(|r| !r.is_empty());
        let row_counts = rows
            .iter()
            .map(|r| r.iter().map(|&(a, b)| (b - a).div_ceil(step as usize)).sum::<usize>() as f32)
            .collect();
        let n = rows.len();
        Self {
            tuning,
            rows,
            row_counts,
            width_px: width_px as usize,
            max_shift_rows: tuning.shake_tolerance_px as usize,
            profile: vec![0.0; n],
            rest: None,
            previous: vec![0.0; n],
            noise: 0.0,
            activity_noise: 0.0,
            history: VecDeque::new(),
            recent_peaks: VecDeque::new(),
            excursion: None,
            last_t_s: None,
            last_activity_s: None,
            active: false,
        }
    }

    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Is a stroke under way?
    pub fn in_stroke(&self) -> bool {
        self.excursion.is_some()
    }

    fn thresholds(&self) -> (f32, f32) {
        let mut peaks: Vec<f32> = self.recent_peaks.iter().copied().collect();
        peaks.sort_by(f32::total_cmp);
        let typical = peaks.get(peaks.len() / 2).copied().unwrap_or(0.0);
        let high = (self.tuning.noise_factor * self.noise)
            .max(self.tuning.min_threshold)
            .max(self.tuning.peak_fraction * typical);
        (high, high * self.tuning.low_ratio)
    }

    /// Processes one frame.
    pub fn process(&mut self, t_s: f64, frame: &YuvFrame) -> MotionUpdate {
        debug_assert_eq!(frame.width_px() as usize, self.width_px);
        let step = self.tuning.sample_step_px.max(1) as usize;
        let y = frame.y_plane();
        let mut total = 0.0f32;
        for ((row, count), out) in self.rows.iter().zip(&self.row_counts).zip(&mut self.profile) {
            let mut sum = 0u32;
            for &(a, b) in row {
                let b = b.min(y.len());
                if a < b {
                    sum += y[a..b].iter().step_by(step).map(|&v| u32::from(v)).sum::<u32>();
                }
            }
            *out = sum as f32 / count.max(1.0);
            total += *out;
        }
        // Zero mean, unit spread: room light (gain and offset) cancels.
        let n = self.profile.len().max(1) as f32;
        let mean = total / n;
        let spread = (self.profile.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n).sqrt().max(2.0);
        for v in &mut self.profile {
            *v = (*v - mean) / spread;
        }
        let dt_s = self.last_t_s.map_or(0.0, |t| (t_s - t).max(0.0));
        self.last_t_s = Some(t_s);
        let mut update = MotionUpdate::default();
        let Some(rest) = self.rest.as_mut() else {
            self.rest = Some(self.profile.clone());
            self.previous.clone_from(&self.profile);
            self.noise = 0.0;
            return update;
        };
        let displacement = shifted_difference(&self.profile, rest, self.max_shift_rows);
        let activity = shifted_difference(&self.profile, &self.previous, self.max_shift_rows);
        self.previous.clone_from(&self.profile);
        update.displacement = displacement;
        update.activity = activity;

        let (high, low) = self.thresholds();
        let alpha_rest = (dt_s as f32 / self.tuning.rest_learn_s).clamp(0.0, 1.0);
        let alpha_noise = (dt_s as f32 / 10.0).clamp(0.0, 1.0);
        self.history.push_back((t_s, displacement));
        while self.history.front().is_some_and(|&(t, _)| t < t_s - 3.0) {
            self.history.pop_front();
        }
        match self.excursion.as_mut() {
            None if displacement > high => {
                // Backdate the start to the first frame of this run above the low level.
                let start_s = self.history.iter().rev().take_while(|&&(_, d)| d > low).last().map_or(t_s, |&(t, _)| t);
                self.excursion = Some(Excursion { start_s, last_above_s: t_s, peak: displacement });
            }
            None => {
                // Below the upper level the region is at rest: follow its slow changes
                // (light, compression) so that they never build up into a stroke.
                if displacement < high {
                    let rest = self.rest.as_deref_mut().unwrap_or_default();
                    for (r, p) in rest.iter_mut().zip(&self.profile) {
                        *r += alpha_rest * (p - *r);
                    }
                    self.noise += alpha_noise * (displacement - self.noise);
                    self.activity_noise += alpha_noise * (activity - self.activity_noise);
                }
            }
            Some(ex) => {
                ex.peak = ex.peak.max(displacement);
                // Back near rest and still: the stroke is over even if the rest position
                // now looks a little different (learn it anew).
                let settled = displacement < 0.25 * ex.peak && displacement < high && activity < 0.5 * low;
                if displacement > low && !settled {
                    ex.last_above_s = t_s;
                }
                let duration_s = ex.last_above_s - ex.start_s;
                if settled && displacement > low {
                    self.rest = Some(self.profile.clone());
                }
                if displacement <= low || settled {
                    let done = *ex;
                    self.excursion = None;
                    if duration_s >= self.tuning.min_stroke_s && duration_s <= self.tuning.max_stroke_s {
                        self.recent_peaks.push_back(done.peak);
                        if self.recent_peaks.len() > 9 {
                            self.recent_peaks.pop_front();
                        }
                        update.stroke = Some(Stroke {
                            start_s: done.start_s,
                            end_s: done.last_above_s,
                            peak_displacement: done.peak,
                        });
                    }
                } else if duration_s > self.tuning.max_stroke_s {
                    // Not a stroke: the scene changed. Learn the new rest.
                    self.excursion = None;
                    self.rest = Some(self.profile.clone());
                }
            }
        }

        let activity_threshold = (self.tuning.noise_factor * self.activity_noise).max(0.5 * self.tuning.min_threshold);
        if activity > activity_threshold {
            self.last_activity_s = Some(t_s);
        }
        let active = self.last_activity_s.is_some_and(|t| t_s - t <= self.tuning.active_hold_s);
        if active != self.active {
            self.active = active;
            update.active_changed = Some(active);
        }
        update
    }
}

/// Mean absolute difference of two profiles at the best vertical offset within
/// `max_shift` rows (rows that leave the region at an offset are not compared).
fn shifted_difference(a: &[f32], b: &[f32], max_shift: usize) -> f32 {
    let n = a.len().min(b.len());
    if n == 0 {
        return 0.0;
    }
    let max_shift = max_shift.min(n / 4);
    let mut best = f32::INFINITY;
    for shift in -(max_shift as isize)..=(max_shift as isize) {
        let (a_start, b_start) = if shift >= 0 { (shift as usize, 0) } else { (0, (-shift) as usize) };
        let len = n - shift.unsigned_abs();
        let sum: f32 =
            a[a_start..a_start + len].iter().zip(&b[b_start..b_start + len]).map(|(x, y)| (x - y).abs()).sum();
        best = best.min(sum / len as f32);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dark ram 20 px high over a light wall; `drop_px` below its rest position.
    fn frame(drop_px: u32, light: f32, noise_seed: u32) -> YuvFrame {
        shaken_frame(drop_px, light, noise_seed, 0)
    }

    /// The same scene with the camera moved `shake_px` down.
    fn shaken_frame(drop_px: u32, light: f32, noise_seed: u32, shake_px: i32) -> YuvFrame {
        let mut f = YuvFrame::filled(160, 120, 0, 128, 128);
        let (y, _, _) = f.planes_mut();
        let mut s = noise_seed.wrapping_mul(2654435761) | 1;
        for row in 0..120u32 {
            for col in 0..160u32 {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                let noise = (s % 7) as f32 - 3.0;
                let scene_row = (row as i32 - shake_px).max(0) as u32;
                let ram = (20 + drop_px..40 + drop_px).contains(&scene_row) && (40..120).contains(&col);
                let base = if ram { 50.0 } else { 150.0 };
                y[(row * 160 + col) as usize] = (base * light + noise).clamp(0.0, 255.0) as u8;
            }
        }
        f
    }

    #[test]
    fn counts_strokes_with_their_times_and_ignores_light_steps() {
        let roi = PolygonRoi::rect(30.0, 10.0, 130.0, 110.0, 160, 120).expect("roi");
        let mut m = MotionAnalyzer::new(&roi, 160, MotionTuning::default());
        let fps = 10.0;
        let mut strokes = Vec::new();
        for i in 0..600u32 {
            let t = f64::from(i) / fps;
            // strokes of 2 s starting every 10 s from t = 5 s; light step at 33 s
            let phase = (t - 5.0).rem_euclid(10.0);
            let drop = if t >= 5.0 && phase < 2.0 { (40.0 * (1.0 - (phase - 1.0).abs())).max(0.0) as u32 } else { 0 };
            let light = if t > 33.0 { 1.3 } else { 1.0 };
            if let Some(s) = m.process(t, &frame(drop, light, i)).stroke {
                strokes.push(s);
            }
        }
        assert_eq!(strokes.len(), 6, "{strokes:?}");
        for (k, s) in strokes.iter().enumerate() {
            let truth_mid = 5.0 + 10.0 * k as f64 + 1.0;
            assert!((s.midpoint_s() - truth_mid).abs() < 0.15, "stroke {k}: {s:?}");
        }
    }

    #[test]
    fn camera_shake_is_not_a_stroke() {
        let roi = PolygonRoi::rect(30.0, 10.0, 130.0, 110.0, 160, 120).expect("roi");
        let mut m = MotionAnalyzer::new(&roi, 160, MotionTuning::default());
        let mut strokes = 0;
        for i in 0..600u32 {
            let t = f64::from(i) / 10.0;
            // bursts of +-2 px shake, as when a neighbouring press strikes
            let shake = if (t % 10.0) < 1.5 { [0, 2, -2, 1, -1][(i % 5) as usize] } else { 0 };
            if m.process(t, &shaken_frame(0, 1.0, i, shake)).stroke.is_some() {
                strokes += 1;
            }
        }
        assert_eq!(strokes, 0);
    }

    #[test]
    fn a_slightly_changed_rest_after_a_long_idle_does_not_swallow_strokes() {
        let roi = PolygonRoi::rect(30.0, 10.0, 130.0, 110.0, 160, 120).expect("roi");
        let mut m = MotionAnalyzer::new(&roi, 160, MotionTuning::default());
        let mut strokes = Vec::new();
        for i in 0..1200u32 {
            let t = f64::from(i) / 10.0;
            // idle for 60 s, then a stroke every 8 s
            let phase = (t - 60.0).rem_euclid(8.0);
            let drop = if t >= 60.0 && phase < 2.0 { (40.0 * (1.0 - (phase - 1.0).abs())).max(0.0) as u32 } else { 0 };
            let mut f = frame(drop, 1.0, i);
            if t > 3.0 {
                // something at the edge of the region changed for good (a moved cabinet)
                let (y, _, _) = f.planes_mut();
                for row in 100..104 {
                    for col in 30..130 {
                        y[row * 160 + col] = y[row * 160 + col].saturating_sub(12);
                    }
                }
            }
            if let Some(s) = m.process(t, &f).stroke {
                strokes.push(s);
            }
        }
        assert_eq!(strokes.len(), 8, "{strokes:?}");
        for (k, s) in strokes.iter().enumerate() {
            let truth_mid = 60.0 + 8.0 * k as f64 + 1.0;
            assert!((s.midpoint_s() - truth_mid).abs() < 0.2, "stroke {k}: {s:?}");
        }
    }
}
