//! `auto`: when a new part has lain still on the table, inspect it.
//!
//! Each frame is shrunk to about [`MASK_WIDTH`] px wide and cut at half the table's light
//! into a mask of what is dark. The table holds a part when the mask covers at least
//! [`MIN_PART_SHARE`] of it and touches no border: a hand or an arm reaches in from the
//! border, and a part half in view is not a part to inspect. It lies still while the mask
//! changes by less than [`STILL_SHARE`] of its area from frame to frame. A part still for
//! `still_s` is inspected once; the same part again only after the table was emptied or
//! the part moved (its mask changed by more than [`MOVED_SHARE`]).

use image::GrayImage;

pub const MASK_WIDTH: u32 = 160;
pub const MIN_PART_SHARE: f64 = 0.002;
pub const STILL_SHARE: f64 = 0.02;
pub const MOVED_SHARE: f64 = 0.15;

/// What the table showed last.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TableView {
    Empty,
    /// Something reaches in from the border, or moves.
    Busy,
    /// A part lies still since `since_s`.
    Still {
        since_s: f64,
    },
}

pub struct StillPart {
    still_s: f64,
    previous: Option<Vec<bool>>,
    inspected: Option<Vec<bool>>,
    pub view: TableView,
}

fn mask(frame: &GrayImage) -> (Vec<bool>, usize, bool) {
    let (w, h) = frame.dimensions();
    let step = (w / MASK_WIDTH).max(1);
    let (mw, mh) = (w / step, h / step);
    let mut small = Vec::with_capacity((mw * mh) as usize);
    for my in 0..mh {
        for mx in 0..mw {
            let mut sum = 0u32;
            for y in my * step..(my + 1) * step {
                for x in mx * step..(mx + 1) * step {
                    sum += u32::from(frame.get_pixel(x, y).0[0]);
                }
            }
            small.push((sum / (step * step)) as u8);
        }
    }
    let mut sorted = small.clone();
    sorted.sort_unstable();
    let light = sorted.get(sorted.len() * 9 / 10).copied().unwrap_or(0);
    let cut = light / 2;
    let dark: Vec<bool> = small.iter().map(|&v| v < cut).collect();
    let count = dark.iter().filter(|&&d| d).count();
    let at = |x: u32, y: u32| dark[(y * mw + x) as usize];
    let border = (0..mw).any(|x| at(x, 0) || at(x, mh.saturating_sub(1)))
        || (0..mh).any(|y| at(0, y) || at(mw.saturating_sub(1), y));
    (dark, count, border)
}

fn changed(a: &[bool], b: &[bool]) -> usize {
    if a.len() != b.len() {
        return usize::MAX;
    }
    a.iter().zip(b).filter(|(x, y)| x != y).count()
}

impl StillPart {
    pub fn new(still_s: f64) -> Self {
        Self { still_s, previous: None, inspected: None, view: TableView::Empty }
    }

    /// Takes the frame seen at `t_s`; true when it is time to inspect.
    pub fn observe(&mut self, frame: &GrayImage, t_s: f64) -> bool {
        let (dark, count, border) = mask(frame);
        let previous = self.previous.replace(dark.clone());
        if (count as f64) < MIN_PART_SHARE * dark.len() as f64 {
            self.view = TableView::Empty;
            self.inspected = None;
            return false;
        }
        let still = previous.is_some_and(|p| (changed(&p, &dark) as f64) <= STILL_SHARE * count as f64);
        if border || !still {
            self.view = TableView::Busy;
            return false;
        }
        let since_s = match self.view {
            TableView::Still { since_s } => since_s,
            _ => t_s,
        };
        self.view = TableView::Still { since_s };
        let new_part = self.inspected.as_ref().is_none_or(|i| (changed(i, &dark) as f64) > MOVED_SHARE * count as f64);
        if t_s - since_s >= self.still_s && new_part {
            self.inspected = Some(dark);
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 640x480 table with a dark rectangle at `x, y` (none for `None`) and, optionally,
    /// an arm reaching in from the left.
    fn frame(part: Option<(u32, u32)>, arm: bool) -> GrayImage {
        GrayImage::from_fn(640, 480, |x, y| {
            let in_part = part.is_some_and(|(px, py)| (px..px + 120).contains(&x) && (py..py + 80).contains(&y));
            let in_arm = arm && x < 300 && (200..240).contains(&y);
            image::Luma([if in_part || in_arm { 30 } else { 210 + ((x * 7 + y * 3) % 9) as u8 }])
        })
    }

    #[test]
    fn a_part_is_inspected_once_after_lying_still_and_hands_are_not_parts() {
        let mut s = StillPart::new(1.0);
        let mut t = 0.0;
        let mut step = |s: &mut StillPart, f: &GrayImage| {
            t += 0.25;
            s.observe(f, t)
        };
        let empty = frame(None, false);
        assert!(!step(&mut s, &empty));
        // Laid down by hand: the arm reaches in from the border.
        for _ in 0..8 {
            assert!(!step(&mut s, &frame(Some((200, 150)), true)));
        }
        assert_eq!(s.view, TableView::Busy);
        // Hand gone, the part lies still: inspected after a second, once.
        let laid = frame(Some((200, 150)), false);
        let fired: Vec<bool> = (0..12).map(|_| step(&mut s, &laid)).collect();
        assert_eq!(fired.iter().filter(|&&f| f).count(), 1, "{fired:?}");
        assert!(fired[..4].iter().all(|&f| !f), "not before a second: {fired:?}");
        // Moved to another place: a new inspection.
        let moved = frame(Some((380, 300)), false);
        assert_eq!((0..12).filter(|_| step(&mut s, &moved)).count(), 1);
        // Taken away and laid again at the same place: inspected again.
        step(&mut s, &empty);
        assert_eq!((0..12).filter(|_| step(&mut s, &moved)).count(), 1);
        // A part half out of view is not inspected.
        step(&mut s, &empty);
        assert_eq!((0..12).filter(|_| step(&mut s, &frame(Some((560, 150)), false))).count(), 0);
    }
}
