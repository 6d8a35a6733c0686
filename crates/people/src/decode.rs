//! The model's raw outputs decoded into person boxes (NanoDet's generalised focal loss
//! head): per cell a person score and, per side, a distribution over 11 distances whose
//! expectation is the distance in strides. Then greedy NMS. Pure.

/// One pyramid level's outputs, row-major as the model writes them.
#[derive(Clone, Debug, PartialEq)]
pub struct StrideOutput {
    pub stride: u32,
    /// Classes per cell (80 for COCO); the person is column 0.
    pub classes: usize,
    /// `cells x classes` scores, sigmoid already applied.
    pub cls: Vec<f32>,
    /// `cells x 4 x bins` distance logits (left, top, right, bottom).
    pub reg: Vec<f32>,
}

/// Distance bins per side in NanoDet's head.
pub const BINS: usize = 11;

/// Every level of one inference on a square input.
#[derive(Clone, Debug, PartialEq)]
pub struct RawOutputs {
    pub input_px: u32,
    pub levels: Vec<StrideOutput>,
}

impl RawOutputs {
    /// The person score of one cell, if the level and cell exist.
    pub fn person_score(&self, stride: u32, cell: usize) -> Option<f32> {
        let level = self.levels.iter().find(|l| l.stride == stride)?;
        level.cls.get(cell * level.classes).copied()
    }
}

/// A person found, in pixels (input pixels from [`decode`], frame pixels once mapped).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PersonBox {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
    pub score: f32,
}

impl PersonBox {
    pub fn area(&self) -> f32 {
        (self.x1 - self.x0).max(0.0) * (self.y1 - self.y0).max(0.0)
    }
}

/// Thresholds of decoding.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DecodeOptions {
    /// Lowest person score kept (the model's authors use 0.5; 0.4 finds small, far people).
    pub min_score: f32,
    /// Boxes overlapping a stronger one by more than this IoU are dropped.
    pub max_iou: f32,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self { min_score: 0.5, max_iou: 0.5 }
    }
}

/// Person boxes in input pixels, strongest first, after NMS.
pub fn decode(raw: &RawOutputs, options: &DecodeOptions) -> Vec<PersonBox> {
    let mut found = Vec::new();
    for level in &raw.levels {
        let cols = (raw.input_px / level.stride) as usize;
        let stride = level.stride as f32;
        for (cell, scores) in level.cls.chunks_exact(level.classes).enumerate() {
            let score = scores[0];
            if score.is_nan() || score < options.min_score {
                continue;
            }
            let Some(reg) = level.reg.get(cell * 4 * BINS..(cell + 1) * 4 * BINS) else { break };
            let cx = ((cell % cols) as f32 + 0.5) * stride;
            let cy = ((cell / cols) as f32 + 0.5) * stride;
            let d: Vec<f32> = reg.chunks_exact(BINS).map(|bins| expected_bin(bins) * stride).collect();
            let b = PersonBox { x0: cx - d[0], y0: cy - d[1], x1: cx + d[2], y1: cy + d[3], score };
            if b.area() > 0.0 {
                found.push(b);
            }
        }
    }
    nms(found, options.max_iou)
}

/// Softmax expectation of the bin index.
fn expected_bin(logits: &[f32]) -> f32 {
    let top = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let (mut total, mut weighted) = (0f32, 0f32);
    for (j, &l) in logits.iter().enumerate() {
        let e = (l - top).exp();
        total += e;
        weighted += e * j as f32;
    }
    weighted / total
}

/// Intersection over union of two boxes.
pub fn iou(a: &PersonBox, b: &PersonBox) -> f32 {
    let ix = (a.x1.min(b.x1) - a.x0.max(b.x0)).max(0.0);
    let iy = (a.y1.min(b.y1) - a.y0.max(b.y0)).max(0.0);
    let inter = ix * iy;
    let union = a.area() + b.area() - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}

/// Greedy non-maximum suppression: strongest first, each kept box removes those
/// overlapping it by more than `max_iou`.
pub fn nms(mut boxes: Vec<PersonBox>, max_iou: f32) -> Vec<PersonBox> {
    boxes.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<PersonBox> = Vec::new();
    for b in boxes {
        if kept.iter().all(|k| iou(k, &b) <= max_iou) {
            kept.push(b);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Logits that put all weight on one bin.
    fn sharp(bin: usize) -> Vec<f32> {
        (0..BINS).map(|j| if j == bin { 30.0 } else { 0.0 }).collect()
    }

    #[test]
    fn a_cell_decodes_to_its_centre_plus_expected_distances() {
        // 64 px input, stride 32: 2 x 2 cells; cell 3 is the bottom right, centre (48, 48).
        let mut cls = vec![0.0; 4 * 2];
        cls[3 * 2] = 0.9;
        cls[2 * 2 + 1] = 0.99; // another class: never a person
        let mut reg = vec![0.0; 4 * 4 * BINS];
        for (side, bin) in [1usize, 1, 0, 2].into_iter().enumerate() {
            reg[3 * 4 * BINS + side * BINS..3 * 4 * BINS + (side + 1) * BINS].copy_from_slice(&sharp(bin));
        }
        let raw = RawOutputs { input_px: 64, levels: vec![StrideOutput { stride: 32, classes: 2, cls, reg }] };
        let found = decode(&raw, &DecodeOptions::default());
        assert_eq!(found.len(), 1);
        let b = found[0];
        let expected = [16.0, 16.0, 48.0, 112.0];
        for (got, want) in [b.x0, b.y0, b.x1, b.y1].into_iter().zip(expected) {
            assert!((got - want).abs() < 1e-3, "{b:?}");
        }
        assert_eq!(b.score, 0.9);
    }

    #[test]
    fn uniform_bins_expect_the_middle_one() {
        assert!((expected_bin(&[0.0; BINS]) - 5.0).abs() < 1e-5);
        assert!((expected_bin(&sharp(10)) - 10.0).abs() < 1e-3);
    }

    #[test]
    fn nms_keeps_the_strongest_of_overlapping_boxes_and_separate_ones() {
        let b = |x: f32, score: f32| PersonBox { x0: x, y0: 0.0, x1: x + 10.0, y1: 20.0, score };
        let kept = nms(vec![b(0.0, 0.6), b(1.0, 0.9), b(30.0, 0.55)], 0.5);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].score, 0.9);
        assert_eq!(kept[1].x0, 30.0);
        assert!((iou(&b(0.0, 1.0), &b(5.0, 1.0)) - 1.0 / 3.0).abs() < 1e-5);
    }
}
