//! Camera shake at a stack light: how far the tower has moved from where it was
//! learnt, in whole pixels.
//!
//! A press that strikes shakes a cheap camera's mount by a pixel or three; a lamp six
//! pixels tall then leaves half its region. Around the tower (its housing's dark edges
//! against the wall) a column profile and a row profile are taken each frame, each
//! divided by its mean so that exposure cancels, and compared with their learnt
//! references at every shift up to [`MAX_SHIFT_PX`]. The shift is taken only when it
//! matches clearly better than no shift; the references learn while the tower is
//! where it was. A lamp switching changes the middle of the profiles by about the same
//! at every shift, so it does not pull the estimate.

use crate::frame::YuvFrame;
use crate::roi::BoxPx;

/// The largest shake followed, in pixels either way.
pub const MAX_SHIFT_PX: i32 = 3;

/// Follows one tower's displacement.
#[derive(Clone, Debug)]
pub struct ShakeTracker {
    /// The patch compared (without the shift margin), in frame pixels.
    patch: BoxPx,
    /// Sum every n-th row (column) into the column (row) profile.
    step_rows: usize,
    step_cols: usize,
    reference: Option<(Vec<f32>, Vec<f32>)>,
    columns: Vec<f32>,
    rows: Vec<f32>,
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
        let patch = BoxPx {
            x0: x0.saturating_sub(margin).max(s),
            y0: y0.saturating_sub(margin).max(s),
            x1: (x1 + margin).min(width_px.saturating_sub(s)),
            y1: (y1 + margin).min(height_px.saturating_sub(s)),
        };
        if patch.width() < 4 || patch.height() < 4 {
            return None;
        }
        Some(Self {
            patch,
            step_rows: (patch.height() as usize).div_ceil(48).max(1),
            step_cols: (patch.width() as usize).div_ceil(48).max(1),
            reference: None,
            columns: Vec::new(),
            rows: Vec::new(),
            sums: Vec::new(),
        })
    }

    /// The tower's shift in this frame (dx, dy), pixels.
    pub fn measure(&mut self, frame: &YuvFrame) -> (i32, i32) {
        self.profiles(frame);
        let Some((ref_columns, ref_rows)) = &mut self.reference else {
            let s = MAX_SHIFT_PX as usize;
            self.reference =
                Some((self.columns[s..self.columns.len() - s].to_vec(), self.rows[s..self.rows.len() - s].to_vec()));
            return (0, 0);
        };
        let dx = best_shift(&self.columns, ref_columns);
        let dy = best_shift(&self.rows, ref_rows);
        if (dx, dy) == (0, 0) {
            let s = MAX_SHIFT_PX as usize;
            for (r, c) in ref_columns.iter_mut().zip(&self.columns[s..]) {
                *r += 0.02 * (c - *r);
            }
            for (r, c) in ref_rows.iter_mut().zip(&self.rows[s..]) {
                *r += 0.02 * (c - *r);
            }
        }
        (dx, dy)
    }

    /// Column and row profiles over the patch widened by the largest shift, each
    /// divided by its mean. Sums are integer over contiguous rows, so that the loops
    /// vectorise.
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
        self.columns.clear();
        self.columns.extend(self.sums.iter().map(|&v| v as f32));
        self.rows.clear();
        let (a, b) = (p.x0 as usize, p.x1 as usize);
        for row in y0..y1 {
            let line = &y[row * w + a..row * w + b];
            let sum: u32 = if self.step_cols == 1 {
                line.iter().map(|&v| u32::from(v)).sum()
            } else {
                line.iter().step_by(self.step_cols).map(|&v| u32::from(v)).sum()
            };
            self.rows.push(sum as f32);
        }
        for profile in [&mut self.columns, &mut self.rows] {
            let mean = profile.iter().sum::<f32>() / profile.len().max(1) as f32;
            let scale = if mean > 1e-3 { 1.0 / mean } else { 0.0 };
            profile.iter_mut().for_each(|v| *v *= scale);
        }
    }
}

/// The shift of `current` (widened by [`MAX_SHIFT_PX`] each side) that best matches
/// `reference`, if clearly better than none.
fn best_shift(current: &[f32], reference: &[f32]) -> i32 {
    let s = MAX_SHIFT_PX as usize;
    let sad = |shift: i32| -> f32 {
        let start = (s as i32 + shift) as usize;
        current[start..start + reference.len()].iter().zip(reference).map(|(a, b)| (a - b).abs()).sum()
    };
    let still = sad(0);
    let (best, best_sad) =
        (-MAX_SHIFT_PX..=MAX_SHIFT_PX).map(|d| (d, sad(d))).fold((0, still), |b, c| if c.1 < b.1 { c } else { b });
    if best_sad < 0.9 * still - 0.005 * reference.len() as f32 { best } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dark housing with three lenses on a light wall, moved by (dx, dy), one lens lit.
    fn tower(dx: i32, dy: i32, lit: usize) -> YuvFrame {
        let mut f = YuvFrame::filled(80, 80, 150, 128, 128);
        let (y, _, _) = f.planes_mut();
        for row in 0..80i32 {
            for col in 0..80i32 {
                let (x, yy) = (col - dx, row - dy);
                if (34..46).contains(&x) && (20..62).contains(&yy) {
                    let lens = (yy - 22) / 13;
                    let inside = (36..44).contains(&x) && (yy - 22).rem_euclid(13) < 11 && (0..3).contains(&lens);
                    y[(row * 80 + col) as usize] = if inside && lens as usize == lit {
                        240
                    } else if inside {
                        80
                    } else {
                        40
                    };
                }
            }
        }
        f
    }

    #[test]
    fn follows_shake_and_not_the_lamps() {
        let boxes = [
            BoxPx { x0: 36, y0: 22, x1: 44, y1: 33 },
            BoxPx { x0: 36, y0: 35, x1: 44, y1: 46 },
            BoxPx { x0: 36, y0: 48, x1: 44, y1: 59 },
        ];
        let mut tracker = ShakeTracker::new(&boxes, 80, 80).expect("room");
        assert_eq!(tracker.measure(&tower(0, 0, 0)), (0, 0));
        for lit in [1, 2, 0] {
            assert_eq!(tracker.measure(&tower(0, 0, lit)), (0, 0), "lamp {lit} lit is no shake");
        }
        for (dx, dy) in [(2, 0), (0, -3), (-1, 2), (3, 3)] {
            assert_eq!(tracker.measure(&tower(dx, dy, 1)), (dx, dy));
        }
    }
}
