//! The occlusion guard of a stack light: "is something standing in front of it?"
//!
//! A person or a crane hook in front of a stack light also covers the wall and housing
//! around the lamps. The guard watches small cells beside every lamp and above and below
//! the column. Each cell's mean luma is divided by the frame's global luma, so a room
//! light switched on or a slow drift changes nothing; each cell keeps one reference for
//! "neighbouring lamp off" and one for "lit", so the lamp's own glow is expected. A cell
//! that departs from its reference by more than [`GuardTuning::max_deviation`] is
//! blocked, and so is every lamp next to it.
//!
//! Invariant: references learn only from frames in which the cell is clear, except that
//! a cell that stays "blocked" but constant for [`GuardTuning::relearn_after_s`] adopts
//! its new look (a moved cabinet must not blind a lamp for ever).

use crate::frame::YuvFrame;
use crate::roi::{BoxPx, PolygonRoi};

/// Tuning of the guard.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GuardTuning {
    /// Relative departure from the reference that marks a cell blocked.
    pub max_deviation: f32,
    /// Time constant of reference learning.
    pub learn_s: f32,
    /// A blocked cell that stays constant this long becomes the new reference.
    pub relearn_after_s: f64,
}

impl Default for GuardTuning {
    fn default() -> Self {
        Self { max_deviation: 0.2, learn_s: 20.0, relearn_after_s: 30.0 }
    }
}

#[derive(Clone, Debug)]
struct Cell {
    roi: PolygonRoi,
    lamp: usize,
    /// Reference of luma / global luma, indexed by the lamp being lit.
    reference: [Option<f32>; 2],
    blocked_since_s: Option<f64>,
    blocked_value: f32,
}

/// The guard around one stack light.
#[derive(Clone, Debug)]
pub struct OcclusionGuard {
    tuning: GuardTuning,
    cells: Vec<Cell>,
    lamp_count: usize,
    last_t_s: Option<f64>,
}

impl OcclusionGuard {
    /// Places guard cells around the lamps' bounding boxes (top to bottom order).
    pub fn new(lamp_boxes: &[BoxPx], width_px: u32, height_px: u32, tuning: GuardTuning) -> Self {
        let mut cells = Vec::new();
        let last = lamp_boxes.len().saturating_sub(1);
        for (i, b) in lamp_boxes.iter().enumerate() {
            let (w, h) = (f64::from(b.width()), f64::from(b.height()));
            let gap = (0.4 * w).max(3.0);
            let size = (0.6 * w).max(4.0);
            let (x0, x1, y0, y1) = (f64::from(b.x0), f64::from(b.x1), f64::from(b.y0), f64::from(b.y1));
            let mut rects = vec![
                (x0 - gap - size, y0, x0 - gap, y1),
                (x1 + gap, y0, x1 + gap + size, y1),
            ];
            let gap_v = (0.4 * h).max(3.0);
            let size_v = (0.6 * h).max(4.0);
            if i == 0 {
                rects.push((x0, y0 - gap_v - size_v, x1, y0 - gap_v));
            }
            if i == last {
                rects.push((x0, y1 + gap_v, x1, y1 + gap_v + size_v));
            }
            for (a, b2, c, d) in rects {
                if let Some(roi) = PolygonRoi::rect(a, b2, c, d, width_px, height_px)
                    && roi.pixel_count() >= 8
                {
                    cells.push(Cell { roi, lamp: i, reference: [None, None], blocked_since_s: None, blocked_value: 0.0 });
                }
            }
        }
        Self { tuning, cells, lamp_count: lamp_boxes.len(), last_t_s: None }
    }

    /// Guard cell boxes, for overlays.
    pub fn cell_boxes(&self) -> impl Iterator<Item = BoxPx> + '_ {
        self.cells.iter().map(|c| c.roi.bbox())
    }

    /// Checks one frame. `lamp_lit[i]` is lamp i's last on/off decision; `global_luma`
    /// the frame's mean luma. Returns, per lamp, whether it is blocked.
    pub fn check(&mut self, t_s: f64, frame: &YuvFrame, global_luma: f32, lamp_lit: &[Option<bool>]) -> Vec<bool> {
        let dt_s = self.last_t_s.map_or(0.0, |t| (t_s - t).max(0.0));
        self.last_t_s = Some(t_s);
        let alpha = (dt_s as f32 / self.tuning.learn_s).clamp(0.0, 1.0);
        let mut blocked = vec![false; self.lamp_count];
        let global = global_luma.max(1.0);
        for cell in &mut self.cells {
            let value = cell.roi.mean_luma(frame) / global;
            let lit = usize::from(lamp_lit.get(cell.lamp).copied().flatten().unwrap_or(false));
            let Some(reference) = cell.reference[lit] else {
                cell.reference[lit] = Some(value);
                continue;
            };
            let deviation = (value / reference.max(1e-3) - 1.0).abs();
            if deviation > self.tuning.max_deviation {
                blocked[cell.lamp] = true;
                match cell.blocked_since_s {
                    Some(since) if (value / cell.blocked_value.max(1e-3) - 1.0).abs() < 0.5 * self.tuning.max_deviation => {
                        if t_s - since >= self.tuning.relearn_after_s {
                            cell.reference = [None, None];
                            cell.reference[lit] = Some(value);
                            cell.blocked_since_s = None;
                        }
                    }
                    _ => {
                        cell.blocked_since_s = Some(t_s);
                        cell.blocked_value = value;
                    }
                }
            } else {
                cell.blocked_since_s = None;
                cell.reference[lit] = Some(reference + alpha * (value - reference));
            }
        }
        blocked
    }
}

/// Mean luma of a sparse grid over the whole frame (every 16th pixel each way): the
/// frame's overall brightness at a cost independent of the regions.
pub fn global_luma(frame: &YuvFrame) -> f32 {
    const STEP: usize = 16;
    let (w, h) = (frame.width_px() as usize, frame.height_px() as usize);
    let y = frame.y_plane();
    let (mut sum, mut n) = (0u64, 0u64);
    for row in (STEP / 2..h).step_by(STEP) {
        for col in (STEP / 2..w).step_by(STEP) {
            sum += u64::from(y[row * w + col]);
            n += 1;
        }
    }
    if n == 0 {
        return y.iter().map(|&v| f32::from(v)).sum::<f32>() / y.len().max(1) as f32;
    }
    sum as f32 / n as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scene(light: f32, person_x: Option<u32>) -> YuvFrame {
        let mut f = YuvFrame::filled(200, 200, 0, 128, 128);
        let (y, _, _) = f.planes_mut();
        for row in 0..200 {
            for col in 0..200 {
                let base = if (90..110).contains(&col) { 60.0 } else { 120.0 };
                y[row * 200 + col] = (base * light) as u8;
                if let Some(px) = person_x
                    && (px..px + 50).contains(&(col as u32))
                    && (40..200).contains(&row)
                {
                    y[row * 200 + col] = if row % 6 < 3 { 30 } else { 200 };
                }
            }
        }
        f
    }

    #[test]
    fn room_light_does_not_block_but_a_person_does() {
        let boxes = [BoxPx { x0: 92, y0: 60, x1: 108, y1: 76 }, BoxPx { x0: 92, y0: 80, x1: 108, y1: 96 }];
        let mut guard = OcclusionGuard::new(&boxes, 200, 200, GuardTuning::default());
        let lit = [Some(false), Some(false)];
        for i in 0..20 {
            let f = scene(1.0, None);
            assert_eq!(guard.check(f64::from(i) * 0.1, &f, global_luma(&f), &lit), vec![false, false]);
        }
        let f = scene(1.4, None);
        assert_eq!(guard.check(2.1, &f, global_luma(&f), &lit), vec![false, false], "room light");
        let f = scene(1.4, Some(70));
        assert_eq!(guard.check(2.2, &f, global_luma(&f), &lit), vec![true, true], "person");
    }
}
