//! Camera shake at a stack light: how far the tower has moved from where it was
//! learnt, in whole pixels.
//!
//! A press that strikes shakes a cheap camera's mount by a pixel or three; a lamp six
//! pixels tall then leaves half its region. Around the tower (its housing's dark edges
//! against the wall) a column profile and a row profile are taken each frame, each
//! divided by its mean so that exposure cancels, and compared with their learnt
//! references at every shift up to [`MAX_SHIFT_PX`]. The shift is taken only when it
//! matches clearly better than no shift; the references learn while the tower is
//! where it was.
//!
//! The lamps change in place what shake moves, and each of two row profiles is fooled
//! by it where the other is not:
//!
//! - the whole tower's: a small lamp going out while the one below it lights moves the
//!   tower's light down by a lamp's pitch, which matches best at the largest shift
//!   down (a tower of 8 px lamps was read 3 px off for a minute, each lamp in its
//!   neighbour's light);
//! - its ends' (the rows no lens reaches at any shift: the cap and the base, the wall
//!   and the pole beyond them, [`END_ROWS_MIN`] of them at least): the glow of a big
//!   top or bottom lamp spreads over the cap or the base, its falling edge matched by a
//!   shift (a 66 px red lamp blinking read as the tower jumping 3 px each time).
//!
//! Shake moves both alike, so a vertical shift is taken only when both say it. Across
//! the tower a lamp switching brightens or darkens its lens columns in place, by about
//! the same at every shift, so one column profile of every column does.

use std::ops::Range;

use crate::frame::YuvFrame;
use crate::roi::BoxPx;

/// The largest shake followed, in pixels either way.
pub const MAX_SHIFT_PX: i32 = 3;

/// Rows above and below the lenses taken into the patch, at least, besides the rows a
/// lens reaches at the largest shift: enough for the cap's and the base's edges of a
/// tower of small lamps.
pub const END_ROWS_MIN: u32 = 9;

/// With fewer rows than this outside the lenses (a tower at the frame's edge), the whole
/// tower's row profile alone says the vertical shift.
const END_ROWS_USABLE: usize = 3;

/// Follows one tower's displacement.
#[derive(Clone, Debug)]
pub struct ShakeTracker {
    /// The patch compared (without the shift margin), in frame pixels.
    patch: BoxPx,
    /// The rows (frame pixels) that a lens covers at some shift up to
    /// [`MAX_SHIFT_PX`]: left out of the end rows' profile.
    lens_rows: Range<usize>,
    /// The patch has at least [`END_ROWS_USABLE`] rows outside `lens_rows`.
    has_ends: bool,
    /// Sum every n-th row (column) into the column (row) profile.
    step_rows: usize,
    step_cols: usize,
    /// The profiles learnt while the tower is where it was, over the patch: columns
    /// (every column, summed over the rows), rows (every row, summed over the columns)
    /// and end rows (the same row sums divided by the mean of the tower's ends only).
    reference: Option<[Vec<f32>; 3]>,
    /// This frame's profiles, as `reference`, over the patch widened by the largest
    /// shift.
    seen: [Vec<f32>; 3],
    /// Scratch for the column sums.
    sums: Vec<u32>,
}

impl ShakeTracker {
    /// A tracker for the tower whose lamps have these boxes, or `None` when the frame
    /// leaves no room around them.
    pub fn new(lamp_boxes: &[BoxPx], width_px: u32, height_px: u32) -> Option<Self> {
        let x0 = lamp_boxes.iter().map(|b| b.x0).min()?;
        let x1 = lamp_boxes.iter().map(|b| b.x1).max()?;
        let y0 = lamp_boxes.iter().map(|b| b.y0).min()?;
        let y1 = lamp_boxes.iter().map(|b| b.y1).max()?;
        // The housing and some wall beside and above and below the lenses.
        let margin = ((x1 - x0) / 2).max(MAX_SHIFT_PX as u32 + 3);
        let s = MAX_SHIFT_PX as u32;
        let margin_rows = margin.max(s + END_ROWS_MIN);
        let patch = BoxPx {
            x0: x0.saturating_sub(margin).max(s),
            y0: y0.saturating_sub(margin_rows).max(s),
            x1: (x1 + margin).min(width_px.saturating_sub(s)),
            y1: (y1 + margin_rows).min(height_px.saturating_sub(s)),
        };
        if patch.width() < 4 || patch.height() < 4 {
            return None;
        }
        let lens_rows = y0.saturating_sub(s) as usize..(y1 + s) as usize;
        let end_rows = (patch.y0 as usize..patch.y1 as usize).filter(|r| !lens_rows.contains(r)).count();
        Some(Self {
            patch,
            lens_rows,
            has_ends: end_rows >= END_ROWS_USABLE,
            step_rows: (patch.height() as usize).div_ceil(48).max(1),
            step_cols: (patch.width() as usize).div_ceil(48).max(1),
            reference: None,
            seen: Default::default(),
            sums: Vec::new(),
        })
    }

    /// The tower's shift in this frame (dx, dy), pixels.
    pub fn measure(&mut self, frame: &YuvFrame) -> (i32, i32) {
        self.profiles(frame);
        let s = MAX_SHIFT_PX as usize;
        let Some(reference) = &mut self.reference else {
            self.reference = Some(self.seen.clone().map(|seen| seen[s..seen.len() - s].to_vec()));
            return (0, 0);
        };
        let [columns, rows, end_rows] = &self.seen;
        let [ref_columns, ref_rows, ref_end_rows] = &*reference;
        let dx = best_shift(columns, ref_columns, |_| true);
        let top = self.patch.y0 as usize;
        let dy_whole = best_shift(rows, ref_rows, |_| true);
        let ends_agree = || best_shift(end_rows, ref_end_rows, |i| !self.lens_rows.contains(&(top + i))) == dy_whole;
        let dy = if !self.has_ends || ends_agree() { dy_whole } else { 0 };
        if (dx, dy) == (0, 0) {
            for (reference, seen) in reference.iter_mut().zip(&self.seen) {
                for (r, c) in reference.iter_mut().zip(&seen[s..]) {
                    *r += 0.02 * (c - *r);
                }
            }
        }
        (dx, dy)
    }

    /// The profiles over the patch widened by the largest shift, each divided by its
    /// mean so that exposure cancels. Sums are integer over contiguous rows, so that
    /// the loops vectorise.
    fn profiles(&mut self, frame: &YuvFrame) {
        let (w, s) = (frame.width_px() as usize, MAX_SHIFT_PX as usize);
        let y = frame.y_plane();
        let p = self.patch;
        let (x0, x1, y0, y1) = (p.x0 as usize - s, p.x1 as usize + s, p.y0 as usize - s, p.y1 as usize + s);
        self.sums.clear();
        self.sums.resize(x1 - x0, 0);
        for row in (p.y0 as usize..p.y1 as usize).step_by(self.step_rows) {
            for (sum, &px) in self.sums.iter_mut().zip(&y[row * w + x0..row * w + x1]) {
                *sum += u32::from(px);
            }
        }
        let [columns, rows, end_rows] = &mut self.seen;
        columns.clear();
        columns.extend(self.sums.iter().map(|&v| v as f32));
        rows.clear();
        let (a, b) = (p.x0 as usize, p.x1 as usize);
        for row in y0..y1 {
            let line = &y[row * w + a..row * w + b];
            let sum: u32 = if self.step_cols == 1 {
                line.iter().map(|&v| u32::from(v)).sum()
            } else {
                line.iter().step_by(self.step_cols).map(|&v| u32::from(v)).sum()
            };
            rows.push(sum as f32);
        }
        end_rows.clone_from(rows);
        normalise(columns, |_| true);
        normalise(rows, |_| true);
        normalise(end_rows, |i| !self.lens_rows.contains(&(y0 + i)));
    }
}

/// Divides `profile` by the mean of its elements that `counts`.
fn normalise(profile: &mut [f32], counts: impl Fn(usize) -> bool) {
    let (sum, n) =
        profile.iter().enumerate().filter(|&(i, _)| counts(i)).fold((0.0, 0), |(s, n), (_, v)| (s + v, n + 1));
    let mean = sum / n.max(1) as f32;
    let scale = if mean > 1e-3 { 1.0 / mean } else { 0.0 };
    profile.iter_mut().for_each(|v| *v *= scale);
}

/// The shift of `current` (widened by [`MAX_SHIFT_PX`] each side) that best matches
/// `reference` over the reference's elements that `compared` keeps, if clearly better
/// than none.
fn best_shift(current: &[f32], reference: &[f32], compared: impl Fn(usize) -> bool) -> i32 {
    let s = MAX_SHIFT_PX as usize;
    let sad = |shift: i32| -> f32 {
        let start = (s as i32 + shift) as usize;
        let shifted = current[start..start + reference.len()].iter().zip(reference).enumerate();
        shifted.filter(|&(i, _)| compared(i)).map(|(_, (a, b))| (a - b).abs()).sum()
    };
    let elements = (0..reference.len()).filter(|&i| compared(i)).count();
    let still = sad(0);
    let (best, best_sad) =
        (-MAX_SHIFT_PX..=MAX_SHIFT_PX).map(|d| (d, sad(d))).fold((0, still), |b, c| if c.1 < b.1 { c } else { b });
    if best_sad < 0.9 * still - 0.005 * elements as f32 { best } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tower of four lenses of radius `radius_px` stacked with no gap, as a camera sees it:
    /// housing, cap and pole on a wall, each lit lens glowing onto what is around it
    /// (over `glow_px`); moved by (dx, dy), the lenses in `lit` lit. Also the lamps'
    /// boxes (a square half the lens wide).
    fn tower_of(radius_px: i32, glow_px: f32, dx: i32, dy: i32, lit: &[usize]) -> (YuvFrame, Vec<BoxPx>) {
        let r = radius_px;
        let size = 16 * r + 60;
        let (cx, top) = (size / 2, 2 * r + 16);
        let centres: Vec<i32> = (0..4).map(|k| top + k * (2 * r + 1)).collect();
        let mut f = YuvFrame::filled(size as u32, size as u32, 133, 128, 128);
        let (y, _, _) = f.planes_mut();
        let rf = r as f32;
        for row in 0..size {
            for col in 0..size {
                let (x, yy) = ((col - dx - cx) as f32 + 0.5, (row - dy) as f32 + 0.5);
                let (cap, base) = ((top - r - 5) as f32, (centres[3] + r + 3) as f32);
                let mut luma = if x.abs() < rf + 2.0 && (cap..base).contains(&yy) {
                    44.0
                } else if x.abs() < 0.3 * rf && yy >= base {
                    70.0
                } else {
                    133.0
                };
                for (k, &c) in centres.iter().enumerate() {
                    let d = x.hypot(yy - c as f32 - 0.5);
                    let on = lit.contains(&k);
                    if d <= rf {
                        luma = if on { 300.0 } else { 90.0 };
                    } else if on {
                        luma += 0.6 * 284.0 * (-(d - rf) / glow_px).exp();
                    }
                }
                y[(row * size + col) as usize] = luma.round().clamp(16.0, 235.0) as u8;
            }
        }
        let half = (r / 2) as u32;
        let boxes = centres
            .iter()
            .map(|&c| BoxPx { x0: cx as u32 - half, y0: c as u32 - half, x1: cx as u32 + half, y1: c as u32 + half })
            .collect();
        (f, boxes)
    }

    /// A tracker that learnt `tower` with the lamps in `lit` lit.
    fn learnt(tower: impl Fn(i32, i32, &[usize]) -> (YuvFrame, Vec<BoxPx>), lit: &[usize]) -> ShakeTracker {
        let (first, boxes) = tower(0, 0, lit);
        let mut tracker = ShakeTracker::new(&boxes, first.width_px(), first.height_px()).expect("room");
        for _ in 0..20 {
            assert_eq!(tracker.measure(&first), (0, 0));
        }
        tracker
    }

    #[test]
    fn follows_shake_and_not_the_lamps() {
        let tower = |dx, dy, lit: &[usize]| tower_of(6, 0.5, dx, dy, lit);
        let mut tracker = learnt(tower, &[0]);
        for lit in [1, 2, 0] {
            assert_eq!(tracker.measure(&tower(0, 0, &[lit]).0), (0, 0), "lamp {lit} lit is no shake");
        }
        for (dx, dy) in [(2, 0), (0, -3), (-1, 2), (3, 3)] {
            assert_eq!(tracker.measure(&tower(dx, dy, &[1]).0), (dx, dy));
        }
    }

    #[test]
    fn a_lamp_lighting_below_the_one_that_went_out_is_no_shake_of_a_small_tower() {
        let tower = |dx, dy, lit: &[usize]| tower_of(4, 3.0, dx, dy, lit);
        let mut tracker = learnt(tower, &[1]);
        for frame in 0..20 {
            assert_eq!(tracker.measure(&tower(0, 0, &[2]).0), (0, 0), "frame {frame} with the next lamp lit");
        }
        for frame in 0..20 {
            let lit: &[usize] = if frame % 4 < 2 { &[2] } else { &[] };
            assert_eq!(tracker.measure(&tower(0, 0, lit).0), (0, 0), "frame {frame} of the lamp blinking");
        }
        let mut tracker = learnt(tower, &[2]);
        for (dx, dy) in [(0, 2), (0, -3), (1, -1), (-2, 3), (0, 1)] {
            assert_eq!(tracker.measure(&tower(dx, dy, &[2]).0), (dx, dy));
            // With other lamps lit than those it learnt with, the whole tower's rows
            // may say another shift: then none is taken, never a wrong one.
            let (sx, sy) = tracker.measure(&tower(dx, dy, &[0, 3]).0);
            assert!(sx == dx && (sy == dy || sy == 0), "other lamps lit, shaken by {dx}, {dy}: read {sx}, {sy}");
        }
    }

    #[test]
    fn the_glow_of_a_big_top_lamp_on_the_cap_is_no_shake() {
        let tower = |dx, dy, lit: &[usize]| tower_of(24, 10.0, dx, dy, lit);
        let mut tracker = learnt(tower, &[2]);
        for frame in 0..20 {
            let lit: &[usize] = if frame % 4 < 2 { &[0, 2] } else { &[2] };
            assert_eq!(tracker.measure(&tower(0, 0, lit).0), (0, 0), "frame {frame} of the top lamp blinking");
        }
        let mut tracker = learnt(tower, &[2]);
        for (dx, dy) in [(0, 2), (0, -3), (1, -1), (-2, 3)] {
            assert_eq!(tracker.measure(&tower(dx, dy, &[2]).0), (dx, dy));
        }
    }
}
