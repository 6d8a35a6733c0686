//! The occlusion guard of a stack light: "is something standing in front of it?"
//!
//! A person or a crane hook in front of a stack light also covers the wall and housing
//! around the lamps. The guard watches small cells beside every lamp and above and below
//! the column, read where the shaking tower now stands, and clear of the housing also
//! when a region covers only the middle of its lens ([`OcclusionGuard::new`]). Each
//! cell's mean luma is divided by the frame's global luma, so a room light switched on
//! or a slow drift changes nothing; each cell keeps one reference for "neighbouring
//! lamp off" and one for "lit", so the lamp's own glow is expected. The "lit" look is
//! learnt the first time the lamp lights, also when its glow moves the cells far: in
//! that very frame every cell of the lamp must have brightened, taken on the lamp's
//! colour and gained at most [`MAX_GLOW_SHARE`] of what the lamp region gained (glow
//! fades with distance; a person arriving covers one side first and changes lens and
//! wall alike), and the lens must not be under one cover with others
//! ([`LampsNow::covered`]: a shirt over the whole tower can pass every other test).
//! The mirror holds for a lamp lit from the start going out for the first time ("first
//! dark"): its cells learn the unlit look when each darkened, lost the lamp's colour
//! and fell by at most that share of what the lamp region lost. A lit look that a cell
//! learnt without a glow to tell it by while something stood at the tower (a lamp
//! blocked then or within [`OCCLUDER_SETTLE_S`] before) is not sure: the lamp may only
//! have been read lit under a leaving person, its cells showing the wall. The lamp's
//! first glow that passes the test above replaces it. A cell that departs from both
//! references by more than [`GuardTuning::max_deviation`] is blocked, and so is every
//! lamp next to it (a cap cell, above the top or below the bottom lamp, only when that
//! lens changed too); a lamp whose cells are half that far off is blocked too when its
//! neighbour in the column is. Limit: a lamp's first glow on the cells of the lamp next
//! to it is judged against that lamp's looks only, and can fire them once.
//!
//! Invariant: references learn only from frames in which the cell is clear, except that
//! a cell that stays "blocked" but constant for [`GuardTuning::relearn_after_s`] adopts
//! its new look (a moved cabinet must not blind a lamp for ever).

use crate::frame::{BLACK_LUMA, YuvFrame};
use crate::roi::{BoxPx, PolygonRoi};

/// What the lamps of the tower show in one frame, for [`OcclusionGuard::check`].
#[derive(Clone, Copy, Debug, Default)]
pub struct LampsNow<'a> {
    /// Lamp i reads lit in this frame.
    pub lit: &'a [bool],
    /// The mean luma of lamp i's region in this frame, as the camera shows it (the
    /// cells are read at the camera's exposure too).
    pub luma: &'a [f32],
    /// Lamp i looks as in its last clear frame; then a cap cell alone (above the top or
    /// below the bottom lamp) does not block it: something passing above or below the
    /// column that leaves the lens as it was hides nothing (a person walking behind the
    /// machine, a hook over the tower). Beside a lamp, a cell blocks it whatever the lens
    /// shows, since an occluder arriving from the side covers the cell first.
    pub unchanged: &'a [bool],
    /// Lamp i is under one cover with other lenses, by their looks alone
    /// ([`crate::stack_light`]): what its cells show then is no first glow of its own.
    pub covered: &'a [bool],
    /// Where the shaking tower now stands against where it was set up, pixels: the
    /// cells move with it.
    pub shift_px: (i32, i32),
}

/// Tuning of the guard.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GuardTuning {
    /// Relative departure of luma from the reference that marks a cell blocked.
    pub max_deviation: f32,
    /// Departure of chroma (Cb, Cr distance per 100 steps of the cell's brightness)
    /// from the reference that marks a cell blocked: an orange jacket can have the
    /// wall's luma, never its colour.
    pub max_chroma_shift: f32,
    /// Time constant of reference learning.
    pub learn_s: f32,
    /// A blocked cell that stays constant this long becomes the new reference.
    pub relearn_after_s: f64,
}

impl Default for GuardTuning {
    fn default() -> Self {
        Self { max_deviation: 0.2, max_chroma_shift: 15.0, learn_s: 20.0, relearn_after_s: 30.0 }
    }
}

#[derive(Clone, Debug)]
struct Cell {
    roi: PolygonRoi,
    lamp: usize,
    /// Above the first or below the last lamp, not beside one.
    cap: bool,
    /// Reference look, indexed by the lamp being lit.
    reference: [Option<Look>; 2],
    /// The lit look was learnt, with no glow to tell it by, while something stood at
    /// the tower (a lamp blocked in that frame or within [`OCCLUDER_SETTLE_S`] before
    /// it): the lamp may only have been read lit under a person. Its first real glow
    /// replaces it.
    lit_look_unsure: bool,
    /// When the lit look was last learnt from scratch.
    lit_learnt_s: Option<f64>,
    blocked_since_s: Option<f64>,
    blocked_value: Look,
}

/// A cell's look: brightness relative to the frame's, and chroma per brightness.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Look {
    relative_luma: f32,
    u: f32,
    v: f32,
}

impl Look {
    /// How far `self` is from `reference`, in units of the thresholds (> 1: blocked).
    fn distance(&self, reference: &Look, t: &GuardTuning) -> f32 {
        let luma = (self.relative_luma / reference.relative_luma.max(1e-3) - 1.0).abs() / t.max_deviation;
        let chroma = ((self.u - reference.u).powi(2) + (self.v - reference.v).powi(2)).sqrt() / t.max_chroma_shift;
        luma.max(chroma)
    }

    /// Could `self` be `unlit` with a lamp of colour `lamp_chroma` (unit (Cb, Cr), zero
    /// for white) shining on it: brighter, and its colour moved toward the lamp's?
    fn lit_by(&self, unlit: &Look, lamp_chroma: (f32, f32)) -> bool {
        let toward = (self.u - unlit.u) * lamp_chroma.0 + (self.v - unlit.v) * lamp_chroma.1;
        self.relative_luma > unlit.relative_luma && toward >= 0.0
    }

    fn approach(&mut self, target: &Look, alpha: f32) {
        self.relative_luma += alpha * (target.relative_luma - self.relative_luma);
        self.u += alpha * (target.u - self.u);
        self.v += alpha * (target.v - self.v);
    }
}

/// After the guard last blocked a lamp of the tower, this long passes before what the
/// tower shows is trusted again: an occluder arrives and leaves over a few frames, and
/// its edges touch lenses whose cells did not fire. No lamp learns a new level then
/// ([`crate::stack_light`]), and a lit look that a guard cell learns then is not sure
/// (a lamp may read lit under a leaving sleeve while its cells show the wall).
pub const OCCLUDER_SETTLE_S: f64 = 1.0;

/// The guard around one stack light.
#[derive(Clone, Debug)]
pub struct OcclusionGuard {
    tuning: GuardTuning,
    cells: Vec<Cell>,
    last_t_s: Option<f64>,
    /// The last frame in which a lamp was blocked.
    last_blocked_s: Option<f64>,
    last_distances: Vec<f32>,
    /// Per lamp, reused every frame: blocked, and half disturbed.
    blocked: Vec<bool>,
    disturbed: Vec<bool>,
    /// Per cell and per lamp, reused every frame: the cells' looks, and whether every
    /// cell of the lamp may show its first glow.
    looks: Vec<Look>,
    first_glow: Vec<bool>,
    /// Per lamp: its colour (unit (Cb, Cr), zero for white), and its on/off and region
    /// luma in the previous frame.
    lamp_chroma: Vec<(f32, f32)>,
    last_lamp_lit: Vec<bool>,
    last_lamp_luma: Vec<f32>,
}

/// A lamp's first glow raises a guard cell (1.5 region widths out) by at most this
/// share of what the lamp itself rose.
pub const MAX_GLOW_SHARE: f32 = 0.5;

/// A guard cell keeps at least this far from its lamp's region: a compressed picture
/// smears the housing's edge, a few pixels beyond a region drawn inside the lens, over
/// its 8 px transform block.
pub const MIN_CELL_GAP_PX: f64 = 8.0;

/// A guard cell is at least this large each way.
pub const MIN_CELL_SIZE_PX: f64 = 4.0;

impl OcclusionGuard {
    /// Places guard cells around the lamps' bounding boxes (top to bottom order).
    ///
    /// A region may be drawn over only the middle of its lens, with the lens's rim and
    /// the housing a few pixels beyond it: a cell keeps at least [`MIN_CELL_GAP_PX`]
    /// from its region and is at least [`MIN_CELL_SIZE_PX`] each way, so that a pixel
    /// of shake moves the housing's edge, or a wall's edge across the cell, over a
    /// small part of it.
    pub fn new(lamp_boxes: &[BoxPx], width_px: u32, height_px: u32, tuning: GuardTuning) -> Self {
        let mut cells = Vec::new();
        let last = lamp_boxes.len().saturating_sub(1);
        for (i, b) in lamp_boxes.iter().enumerate() {
            let (w, h) = (f64::from(b.width()), f64::from(b.height()));
            let (cx, cy) = (f64::from(b.x0 + b.x1) / 2.0, f64::from(b.y0 + b.y1) / 2.0);
            // From the lamp's centre to a cell: far enough out that the lamp's own glow
            // is faint (1.5 region widths beyond the region), near enough that anything
            // in front of the lamp covers the cell too.
            let (reach_x, reach_y) =
                (0.5 * w + (1.5 * w).max(MIN_CELL_GAP_PX), 0.5 * h + (1.5 * h).max(MIN_CELL_GAP_PX));
            let (size_x, size_y) = ((0.8 * w).max(MIN_CELL_SIZE_PX), (0.8 * h).max(MIN_CELL_SIZE_PX));
            let (half_w, half_h) = (w.max(MIN_CELL_SIZE_PX) / 2.0, h.max(MIN_CELL_SIZE_PX) / 2.0);
            let mut rects = vec![
                (cx - reach_x - size_x, cy - half_h, cx - reach_x, cy + half_h, false),
                (cx + reach_x, cy - half_h, cx + reach_x + size_x, cy + half_h, false),
            ];
            if i == 0 {
                rects.push((cx - half_w, cy - reach_y - size_y, cx + half_w, cy - reach_y, true));
            }
            if i == last {
                rects.push((cx - half_w, cy + reach_y, cx + half_w, cy + reach_y + size_y, true));
            }
            for (a, b2, c, d, cap) in rects {
                if let Some(roi) = PolygonRoi::rect(a, b2, c, d, width_px, height_px)
                    && roi.pixel_count() >= 8
                {
                    cells.push(Cell {
                        roi,
                        lamp: i,
                        cap,
                        reference: [None, None],
                        blocked_since_s: None,
                        blocked_value: Look::default(),
                        lit_look_unsure: false,
                        lit_learnt_s: None,
                    });
                }
            }
        }
        let n = lamp_boxes.len();
        Self {
            tuning,
            cells,
            last_t_s: None,
            last_blocked_s: None,
            last_distances: Vec::new(),
            blocked: vec![false; n],
            disturbed: vec![false; n],
            looks: Vec::new(),
            first_glow: Vec::new(),
            lamp_chroma: vec![(0.0, 0.0); n],
            last_lamp_lit: Vec::new(),
            last_lamp_luma: Vec::new(),
        }
    }

    /// Tells the guard each lamp's colour (unit (Cb, Cr), zero for white), so that a
    /// lamp's first glow on its cells is told from something new in front of them.
    pub fn with_lamp_chroma(mut self, lamp_chroma: &[(f32, f32)]) -> Self {
        for (own, &given) in self.lamp_chroma.iter_mut().zip(lamp_chroma) {
            *own = given;
        }
        self
    }

    /// Each cell's distance from its reference in the last frame (1 = threshold), lamp
    /// by lamp from the top: left, right, then the cap above the first and below the
    /// last lamp; for diagnosis.
    pub fn last_distances(&self) -> &[f32] {
        &self.last_distances
    }

    /// Each cell's look ([`Self::looks`]), and whether it may be its lamp's first glow
    /// ([`Self::first_glow`]): the lamp lit for the first time in this very frame, and
    /// the cell brightened and took on the lamp's colour.
    fn read_looks(&mut self, frame: &YuvFrame, global: GlobalLook, global_above_black: f32, lamps: &LampsNow<'_>) {
        let &LampsNow { lit: lamp_lit, luma: lamp_luma, covered, shift_px: (dx, dy), .. } = lamps;
        let lamp_count = self.blocked.len();
        self.looks.clear();
        self.first_glow.clear();
        self.first_glow.resize(lamp_count, true);
        for cell in &self.cells {
            let m = cell.roi.means_shifted(frame, dx, dy);
            // Relative to the whole frame, above black (16 in video range): room light
            // and white balance cancel. Chroma of a lit surface grows with its light,
            // so it is taken per unit of the cell's own brightness.
            let above_black = (m.luma - BLACK_LUMA).max(8.0);
            let look = Look {
                relative_luma: above_black / global_above_black,
                u: 100.0 * (m.u - global.u) / above_black,
                v: 100.0 * (m.v - global.v) / above_black,
            };
            self.looks.push(look);
            let lit = lamp_lit.get(cell.lamp).copied().unwrap_or(false);
            let glow_like = match cell.reference {
                // A lit look learnt while something stood at the tower may be no
                // lit look at all: the lamp's real first glow is judged as if none
                // were known.
                [Some(unlit), lit_look]
                    if lit
                        && self.last_lamp_lit.get(cell.lamp) == Some(&false)
                        && (lit_look.is_none() || cell.lit_look_unsure) =>
                {
                    // Glow fades with distance: the cell gains well under what its lamp
                    // gained (a person's clothes over lamp and cells change both alike).
                    let lamp_rise = lamp_luma.get(cell.lamp).copied().unwrap_or(0.0)
                        - self.last_lamp_luma.get(cell.lamp).copied().unwrap_or(f32::INFINITY);
                    let cell_rise = (look.relative_luma - unlit.relative_luma) * global_above_black;
                    let lamp_chroma = self.lamp_chroma.get(cell.lamp).copied().unwrap_or((0.0, 0.0));
                    look.lit_by(&unlit, lamp_chroma) && cell_rise <= MAX_GLOW_SHARE * lamp_rise
                }
                // The same, the first time a lamp lit from the start goes out: its glow
                // leaves every cell at once, by well under what the lens lost.
                [None, Some(glowing)] if !lit && self.last_lamp_lit.get(cell.lamp) == Some(&true) => {
                    let lamp_fall = self.last_lamp_luma.get(cell.lamp).copied().unwrap_or(f32::NEG_INFINITY)
                        - lamp_luma.get(cell.lamp).copied().unwrap_or(f32::INFINITY);
                    let cell_fall = (glowing.relative_luma - look.relative_luma) * global_above_black;
                    let lamp_chroma = self.lamp_chroma.get(cell.lamp).copied().unwrap_or((0.0, 0.0));
                    glowing.lit_by(&look, lamp_chroma) && cell_fall <= MAX_GLOW_SHARE * lamp_fall
                }
                _ => false,
            };
            if let Some(ok) = self.first_glow.get_mut(cell.lamp) {
                *ok &= glow_like && !covered.get(cell.lamp).copied().unwrap_or(false);
            }
        }
    }

    /// Checks one frame, `global` its overall look, `lamps` what its lamps show. Returns,
    /// per lamp, whether it is blocked.
    pub fn check(&mut self, t_s: f64, frame: &YuvFrame, global: GlobalLook, lamps: LampsNow<'_>) -> &[bool] {
        let dt_s = self.last_t_s.map_or(0.0, |t| (t_s - t).max(0.0));
        self.last_t_s = Some(t_s);
        let alpha = (dt_s as f32 / self.tuning.learn_s).clamp(0.0, 1.0);
        self.blocked.fill(false);
        self.disturbed.fill(false);
        let global_above_black = (global.luma - BLACK_LUMA).max(8.0);
        let t = self.tuning;
        self.last_distances.clear();
        self.read_looks(frame, global, global_above_black, &lamps);
        let LampsNow { lit: lamp_lit, luma: lamp_luma, unchanged: lamp_unchanged, .. } = lamps;
        let blocked = &mut self.blocked;
        let disturbed = &mut self.disturbed;
        for (cell, look) in self.cells.iter_mut().zip(&self.looks) {
            let look = *look;
            let lit = usize::from(lamp_lit.get(cell.lamp).copied().unwrap_or(false));
            // A lamp's glow lights all its cells at once, left and right alike; a
            // person arriving covers one side first.
            let first_glow = self.first_glow.get(cell.lamp).copied().unwrap_or(false);
            let reference = match (cell.reference[lit], cell.reference[1 - lit]) {
                (Some(_), Some(_)) if lit == 1 && first_glow && cell.lit_look_unsure => {
                    cell.reference[1] = Some(look);
                    cell.lit_look_unsure = false;
                    self.last_distances.push(0.0);
                    continue;
                }
                (Some(r), _) => r,
                // First time in this lamp state: learn it, unless the cell has also left
                // its other look in a way light does not explain (then something new
                // stands there, not a new glow). Light explains a cell that brightened
                // and took on the lamp's colour in the very frame its lamp first lit.
                (None, Some(other)) if look.distance(&other, &t) > 1.0 && !first_glow => other,
                (None, _) => {
                    cell.reference[lit] = Some(look);
                    if lit == 1 {
                        // Light explains a first glow; anything else is sure only when
                        // nothing stood at the tower (judged once the frame is done).
                        cell.lit_look_unsure = !first_glow;
                        cell.lit_learnt_s = (!first_glow).then_some(t_s);
                    }
                    self.last_distances.push(0.0);
                    continue;
                }
            };
            let mut reference = reference;
            // A glow that lags the lamp by a frame must not look like an occluder: the
            // cell is clear if it matches either of its looks.
            let distance = look
                .distance(&reference, &t)
                .min(cell.reference[1 - lit].map_or(f32::INFINITY, |r| look.distance(&r, &t)));
            self.last_distances.push(distance);
            if distance > 0.5 {
                disturbed[cell.lamp] = true;
            }
            if distance > 1.0 {
                if cell.cap && lamp_unchanged.get(cell.lamp).copied().unwrap_or(false) {
                    disturbed[cell.lamp] = true;
                } else {
                    blocked[cell.lamp] = true;
                }
                match cell.blocked_since_s {
                    Some(since) if look.distance(&cell.blocked_value, &t) < 0.5 => {
                        if t_s - since >= t.relearn_after_s {
                            cell.reference = [None, None];
                            cell.reference[lit] = Some(look);
                            cell.lit_look_unsure = false;
                            cell.blocked_since_s = None;
                        }
                    }
                    _ => {
                        cell.blocked_since_s = Some(t_s);
                        cell.blocked_value = look;
                    }
                }
            } else {
                cell.blocked_since_s = None;
                reference.approach(&look, alpha);
                cell.reference[lit] = Some(reference);
            }
        }
        one_body(blocked, disturbed);
        // A lit look learnt in this frame is sure when nothing stood at the tower now
        // or a moment ago.
        if self.blocked.iter().any(|&b| b) {
            self.last_blocked_s = Some(t_s);
        }
        let settling = self.last_blocked_s.is_some_and(|b| t_s - b <= OCCLUDER_SETTLE_S);
        for cell in self.cells.iter_mut().filter(|c| c.lit_learnt_s == Some(t_s)) {
            cell.lit_look_unsure = settling;
        }
        self.last_lamp_lit.clear();
        self.last_lamp_lit.extend_from_slice(lamp_lit);
        self.last_lamp_luma.clear();
        self.last_lamp_luma.extend_from_slice(lamp_luma);
        &self.blocked
    }
}

/// An occluder is one body: a lamp whose cells are half disturbed next to a lamp that
/// is blocked is blocked too (a head over the top lamp while the shoulders cover the
/// cells of the lamps below).
fn one_body(blocked: &mut [bool], disturbed: &[bool]) {
    let lamp_count = blocked.len();
    for i in 1..lamp_count {
        if blocked[i - 1] && disturbed[i] {
            blocked[i] = true;
        }
    }
    for i in (0..lamp_count.saturating_sub(1)).rev() {
        if blocked[i + 1] && disturbed[i] {
            blocked[i] = true;
        }
    }
}

/// The overall look of a frame: mean luma and chroma of a fixed 64 x 36 grid of
/// samples, so that its cost does not grow with the frame; and, when measured by an
/// [`crate::exposure::ExposureTracker`], the camera's exposure and white balance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GlobalLook {
    pub luma: f32,
    /// Cb - 128
    pub u: f32,
    /// Cr - 128
    pub v: f32,
    /// Exposure relative to the learnt reference (1: as learnt; 1.3: everything 30 %
    /// brighter above black).
    pub exposure_gain: f32,
    /// White-balance shift of (Cb, Cr) against the learnt reference.
    pub chroma_shift: (f32, f32),
}

impl Default for GlobalLook {
    fn default() -> Self {
        Self { luma: 0.0, u: 0.0, v: 0.0, exposure_gain: 1.0, chroma_shift: (0.0, 0.0) }
    }
}

/// Measures a frame's [`GlobalLook`].
pub fn global_look(frame: &YuvFrame) -> GlobalLook {
    const COLUMNS: usize = 64;
    const ROWS: usize = 36;
    let mean = |plane: &[u8], w: usize, h: usize| {
        if w == 0 || h == 0 {
            return 0.0;
        }
        let columns: [usize; COLUMNS] = std::array::from_fn(|c| (2 * c + 1) * w / (2 * COLUMNS));
        let mut sum = 0u32;
        for r in 0..ROWS {
            let line = &plane[(2 * r + 1) * h / (2 * ROWS) * w..];
            sum += columns.iter().map(|&c| u32::from(line[c])).sum::<u32>();
        }
        sum as f32 / (ROWS * COLUMNS) as f32
    };
    let (w, h) = (frame.width_px() as usize, frame.height_px() as usize);
    let (cw, ch) = (frame.chroma_width(), frame.chroma_height());
    GlobalLook {
        luma: mean(frame.y_plane(), w, h),
        u: mean(frame.u_plane(), cw, ch) - 128.0,
        v: mean(frame.v_plane(), cw, ch) - 128.0,
        ..GlobalLook::default()
    }
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
                    && (px..px + 80).contains(&(col as u32))
                    && (40..200).contains(&row)
                {
                    y[row * 200 + col] = if row % 6 < 3 { 30 } else { 200 };
                }
            }
        }
        f
    }

    /// What the lamps show: lit or not, and their luma (none: the glow test is not asked).
    fn lamps<'a>(lit: &'a [bool], luma: &'a [f32]) -> LampsNow<'a> {
        LampsNow { lit, luma, ..LampsNow::default() }
    }

    /// Two lamps stacked in the middle of a 200 x 200 frame.
    const TWO_LAMPS: [BoxPx; 2] =
        [BoxPx { x0: 92, y0: 60, x1: 108, y1: 76 }, BoxPx { x0: 92, y0: 80, x1: 108, y1: 96 }];

    /// Three lamps stacked in the middle of a 200 x 200 frame.
    const THREE_LAMPS: [BoxPx; 3] = [
        BoxPx { x0: 92, y0: 60, x1: 108, y1: 76 },
        BoxPx { x0: 92, y0: 80, x1: 108, y1: 96 },
        BoxPx { x0: 92, y0: 100, x1: 108, y1: 116 },
    ];

    /// A guard around [`TWO_LAMPS`].
    fn two_lamp_guard() -> OcclusionGuard {
        OcclusionGuard::new(&TWO_LAMPS, 200, 200, GuardTuning::default())
    }

    /// A wall of vertical stripes 5 px wide, moved `shift_px` to the right.
    fn striped_wall(shift_px: i32) -> YuvFrame {
        let mut f = YuvFrame::filled(200, 200, 0, 128, 128);
        let (y, _, _) = f.planes_mut();
        for row in 0..200 {
            for col in 0..200i32 {
                y[row * 200 + col as usize] = if (col - shift_px).rem_euclid(10) < 5 { 50 } else { 190 };
            }
        }
        f
    }

    #[test]
    fn the_cells_move_with_a_shaking_tower() {
        let mut guard = two_lamp_guard();
        let lit = [false, false];
        for i in 0..20 {
            let f = striped_wall(0);
            guard.check(f64::from(i) * 0.1, &f, global_look(&f), lamps(&lit, &[]));
        }
        let shaken = striped_wall(3);
        let look = global_look(&shaken);
        let told = LampsNow { lit: &lit, shift_px: (3, 0), ..LampsNow::default() };
        assert_eq!(guard.check(2.0, &shaken, look, told), vec![false, false], "read where the tower now is");
        let untold = lamps(&lit, &[]);
        assert_eq!(guard.check(2.1, &shaken, look, untold), vec![true, true], "read where it was set up");
    }

    #[test]
    fn room_light_does_not_block_but_a_person_does() {
        let mut guard = two_lamp_guard();
        let lit = [false, false];
        for i in 0..20 {
            let f = scene(1.0, None);
            assert_eq!(guard.check(f64::from(i) * 0.1, &f, global_look(&f), lamps(&lit, &[])), vec![false, false]);
        }
        let f = scene(1.4, None);
        assert_eq!(guard.check(2.1, &f, global_look(&f), lamps(&lit, &[])), vec![false, false], "room light");
        let f = scene(1.4, Some(40));
        assert_eq!(guard.check(2.2, &f, global_look(&f), lamps(&lit, &[])), vec![true, true], "person");
    }

    /// A light wall, a dark tower column, and lamp 0 (box 92..108 x 60..76): unlit, lit
    /// red with its glow spread over the wall around it, or covered by a bright
    /// person who also stands over the wall above it (`person`).
    fn glowing(lit: bool, person: bool) -> YuvFrame {
        let mut f = YuvFrame::filled(200, 200, 120, 128, 128);
        let (w, h) = (f.width_px() as usize, f.height_px() as usize);
        let (y, _, v) = f.planes_mut();
        for row in 0..h {
            for col in 0..w {
                let mut luma = if (90..110).contains(&col) { 50.0 } else { 120.0 };
                let d = ((col as f64 - 100.0).powi(2) + (row as f64 - 68.0).powi(2)).sqrt();
                let glow = if lit { (-d / 30.0).exp() } else { 0.0 };
                luma += 120.0 * glow;
                if (92..108).contains(&col) && (60..76).contains(&row) {
                    luma = if person {
                        190.0
                    } else if lit {
                        230.0
                    } else {
                        50.0
                    };
                }
                if person && (90..110).contains(&col) && (20..60).contains(&row) {
                    luma = 200.0;
                }
                y[row * w + col] = luma.min(255.0) as u8;
                let (cx, cy) = (col / 2, row / 2);
                if lit && row % 2 == 0 && col % 2 == 0 {
                    v[cy * (w / 2) + cx] = (128.0 + 40.0 * glow) as u8;
                }
            }
        }
        f
    }

    #[test]
    fn a_lamps_first_glow_is_not_an_occluder_but_a_person_is() {
        let red = [crate::lamp::LampColor::Red.chroma_direction(), (0.0, 0.0)];
        let trained = || {
            let mut guard = two_lamp_guard().with_lamp_chroma(&red);
            for i in 0..20 {
                let f = glowing(false, false);
                assert_eq!(
                    guard.check(f64::from(i) * 0.1, &f, global_look(&f), lamps(&[false; 2], &[50.0; 2])),
                    [false; 2]
                );
            }
            guard
        };
        // The lamp lights for the first time: its glow lights every cell around it.
        let mut guard = trained();
        let f = glowing(true, false);
        // (Lamp 1's cells, as far from lamp 0 as lamp 0's own, are lit too; they are
        // judged against lamp 1's looks only, and fire: a limit of the guard.)
        assert!(!guard.check(2.0, &f, global_look(&f), lamps(&[true, false], &[230.0, 50.0]))[0], "first glow");
        let f = glowing(false, false);
        assert!(!guard.check(2.1, &f, global_look(&f), lamps(&[false; 2], &[50.0; 2]))[0], "dark again");
        let f = glowing(true, false);
        assert!(!guard.check(2.2, &f, global_look(&f), lamps(&[true, false], &[230.0, 50.0]))[0], "lit again");
        // A bright person over the lamp and the wall above it, as the lamp first
        // "lights": the cells beside the lamp did not brighten, so it is no glow.
        let mut guard = trained();
        let f = glowing(false, true);
        assert!(guard.check(2.0, &f, global_look(&f), lamps(&[true, false], &[190.0, 50.0]))[0], "person");
    }

    /// `f` with a red jacket over the wall on both sides of lamp 0, none over the lens.
    fn red_jacket_beside(mut f: YuvFrame) -> YuvFrame {
        let w = f.width_px() as usize;
        let (y, _, v) = f.planes_mut();
        for row in 50..90 {
            for col in (0..w).filter(|c| !(88..112).contains(c)) {
                y[row * w + col] = y[row * w + col].saturating_add(60);
                v[(row / 2) * (w / 2) + col / 2] = 150;
            }
        }
        f
    }

    /// A guard around [`TWO_LAMPS`] (lamp 0 red) that has seen 2 s of [`glowing`] with
    /// no lamp lit.
    fn guard_unlit() -> OcclusionGuard {
        let red = [crate::lamp::LampColor::Red.chroma_direction(), (0.0, 0.0)];
        let mut guard = two_lamp_guard().with_lamp_chroma(&red);
        let unlit = glowing(false, false);
        for i in 0..20 {
            let lamps_now = lamps(&[false; 2], &[50.0; 2]);
            assert_eq!(guard.check(f64::from(i) * 0.1, &unlit, global_look(&unlit), lamps_now), [false; 2]);
        }
        guard
    }

    #[test]
    fn a_lit_look_learnt_as_a_person_leaves_gives_way_to_the_lamps_first_glow() {
        let (unlit, person, glow) = (glowing(false, false), glowing(false, true), glowing(true, false));
        let (dark, lit) = (lamps(&[false; 2], &[50.0; 2]), lamps(&[true, false], &[230.0, 50.0]));
        let read_lit = lamps(&[true, false], &[190.0, 50.0]);
        let mut guard = guard_unlit();
        // A person over the lamp, read lit; the person leaves while the lamp is still
        // read lit, and the cells, showing the wall as ever, learn that as its lit look.
        assert!(guard.check(2.0, &person, global_look(&person), read_lit)[0], "person");
        assert!(!guard.check(2.1, &unlit, global_look(&unlit), read_lit)[0], "person gone");
        for i in 0..15 {
            let t_s = 2.2 + f64::from(i) * 0.1;
            assert!(!guard.check(t_s, &unlit, global_look(&unlit), dark)[0], "unlit at {t_s}");
        }
        // A person over the lamp as it is read lit again is still no glow.
        let mut with_person = guard.clone();
        assert!(with_person.check(4.0, &person, global_look(&person), read_lit)[0], "person again");
        // The lamp really lights: its glow is learnt, not taken for an occluder.
        assert!(!guard.check(4.0, &glow, global_look(&glow), lit)[0], "first glow");
        assert!(!guard.check(4.1, &unlit, global_look(&unlit), dark)[0], "dark again");
        assert!(!guard.check(4.2, &glow, global_look(&glow), lit)[0], "lit again");
        assert!(!guard.check(4.3, &unlit, global_look(&unlit), dark)[0], "dark once more");
        // The lit look is sure now: a red jacket beside the lamp as it lights is
        // something new, not a glow learnt over it.
        let jacket = red_jacket_beside(glowing(true, false));
        assert!(guard.check(4.4, &jacket, global_look(&jacket), lit)[0], "red jacket");
    }

    #[test]
    fn a_lit_look_with_no_glow_learnt_at_a_clear_tower_is_sure() {
        // A lamp whose glow does not reach its cells: lit, they show the wall as unlit.
        let (unlit, read_lit) = (glowing(false, false), lamps(&[true, false], &[230.0, 50.0]));
        let mut guard = guard_unlit();
        assert!(!guard.check(2.0, &unlit, global_look(&unlit), read_lit)[0], "lit");
        for i in 0..5 {
            let t_s = 2.1 + f64::from(i) * 0.1;
            assert!(!guard.check(t_s, &unlit, global_look(&unlit), lamps(&[false; 2], &[50.0; 2]))[0]);
        }
        // A red jacket beside it as it lights again is something new.
        let jacket = red_jacket_beside(glowing(true, false));
        assert!(guard.check(2.6, &jacket, global_look(&jacket), read_lit)[0], "red jacket");
    }

    /// `f` with a dark, grey sleeve over `cols`, from above lamp 0 down to its bottom.
    fn sleeve_over(mut f: YuvFrame, cols: std::ops::Range<usize>) -> YuvFrame {
        let w = f.width_px() as usize;
        let (y, _, v) = f.planes_mut();
        for row in 20..76 {
            for col in cols.clone() {
                y[row * w + col] = 40;
                v[(row / 2) * (w / 2) + col / 2] = 128;
            }
        }
        f
    }

    /// A guard around [`TWO_LAMPS`] (lamp 0 red) that has seen 2 s of [`glowing`] with
    /// lamp 0 lit from the first frame.
    fn guard_lit_from_the_start() -> OcclusionGuard {
        let red = [crate::lamp::LampColor::Red.chroma_direction(), (0.0, 0.0)];
        let mut guard = two_lamp_guard().with_lamp_chroma(&red);
        for i in 0..20 {
            let f = glowing(true, false);
            let lamps_now = lamps(&[true, false], &[230.0, 50.0]);
            assert_eq!(guard.check(f64::from(i) * 0.1, &f, global_look(&f), lamps_now), [false; 2]);
        }
        guard
    }

    #[test]
    fn a_lamp_lit_from_the_start_going_out_is_not_an_occluder_but_a_sleeve_is() {
        // Lit from the first frame: the cells know only the lamp's glow. It goes out
        // for the first time, and its glow leaves every cell at once.
        let mut guard = guard_lit_from_the_start();
        let f = glowing(false, false);
        assert!(!guard.check(2.0, &f, global_look(&f), lamps(&[false; 2], &[50.0; 2]))[0], "first dark");
        let f = glowing(true, false);
        assert!(!guard.check(2.1, &f, global_look(&f), lamps(&[true, false], &[230.0, 50.0]))[0], "lit again");
        let f = glowing(false, false);
        assert!(!guard.check(2.2, &f, global_look(&f), lamps(&[false; 2], &[50.0; 2]))[0], "dark again");
        // A dark sleeve over the lit lamp and the wall above it: the lens reads dark,
        // but the glow beside the lamp stays.
        let mut guard = guard_lit_from_the_start();
        let f = sleeve_over(glowing(true, false), 90..110);
        assert!(guard.check(2.0, &f, global_look(&f), lamps(&[false; 2], &[40.0, 50.0]))[0], "sleeve");
        // A wide, thin one over the lamp and every cell of it, the lit lens dimmed
        // through it: the cells all darken, by far more than a glow could that fades
        // with distance (more than half of what the lens lost).
        let mut guard = guard_lit_from_the_start();
        let f = sleeve_over(glowing(true, false), 40..160);
        assert!(guard.check(2.0, &f, global_look(&f), lamps(&[false; 2], &[130.0, 50.0]))[0], "wide sleeve");
    }

    /// A light wall, a dark column with [`THREE_LAMPS`], and a person in a light, warm
    /// shirt over the column and every cell beside it.
    fn person_over_three_lamps() -> YuvFrame {
        let mut f = YuvFrame::filled(200, 200, 120, 128, 128);
        let (w, h) = (f.width_px() as usize, f.height_px() as usize);
        let (y, _, v) = f.planes_mut();
        for row in 0..h {
            for col in 0..w {
                let person = (40..160).contains(&col) && (40..160).contains(&row);
                y[row * w + col] = match col {
                    _ if person => 190,
                    90..110 => 50,
                    _ => 120,
                };
                if person && row % 2 == 0 && col % 2 == 0 {
                    v[row / 2 * (w / 2) + col / 2] = 158;
                }
            }
        }
        f
    }

    #[test]
    fn a_lamp_under_a_cover_shows_no_first_glow() {
        use crate::lamp::LampColor;
        let colors = [LampColor::Green, LampColor::Red, LampColor::Yellow].map(LampColor::chroma_direction);
        let mut guard = OcclusionGuard::new(&THREE_LAMPS, 200, 200, GuardTuning::default()).with_lamp_chroma(&colors);
        let wall = three_lamp_wall();
        for i in 0..20 {
            let now = lamps(&[false; 3], &[50.0; 3]);
            assert_eq!(guard.check(f64::from(i) * 0.1, &wall, global_look(&wall), now), [false; 3]);
        }
        // The shirt over lamp 1 reads like it lit, and moves its cells as a first glow
        // would: brighter, warmer, by less than half of what the lens gained.
        let f = person_over_three_lamps();
        let (lit, luma) = ([false, true, false], [190.0; 3]);
        let mut fooled = guard.clone();
        assert!(!fooled.check(2.0, &f, global_look(&f), lamps(&lit, &luma))[1], "taken for a first glow");
        // The lenses alike under it say it is a cover: no first glow, blocked.
        let covered = [true; 3];
        let now = LampsNow { covered: &covered, ..lamps(&lit, &luma) };
        assert_eq!(guard.check(2.0, &f, global_look(&f), now), [true; 3]);
        // Nothing was learnt: still blocked when the lenses no longer look alike.
        assert_eq!(guard.check(2.1, &f, global_look(&f), lamps(&lit, &luma)), [true; 3], "nothing learnt");
    }

    /// The wall and column of [`person_over_three_lamps`], lamps unlit.
    fn three_lamp_wall() -> YuvFrame {
        let mut f = YuvFrame::filled(200, 200, 120, 128, 128);
        let (y, _, _) = f.planes_mut();
        for row in 0..200 {
            for col in 90..110 {
                y[row * 200 + col] = 50;
            }
        }
        f
    }

    #[test]
    fn a_lamp_half_disturbed_next_to_a_blocked_one_is_blocked() {
        let mut guard = OcclusionGuard::new(&THREE_LAMPS, 200, 200, GuardTuning::default());
        let lit = [false; 3];
        let wall = three_lamp_wall;
        for i in 0..20 {
            let f = wall();
            assert_eq!(guard.check(f64::from(i) * 0.1, &f, global_look(&f), lamps(&lit, &[])), vec![false; 3]);
        }
        // Shoulders cover the cells beside lamps 1 and 2; the head only grazes the
        // cell beside lamp 0 (a quarter of it): alone that would pass as clear.
        let mut f = wall();
        let (y, _, _) = f.planes_mut();
        for row in 78..120 {
            for col in 40..110 {
                y[row * 200 + col] = 30;
            }
        }
        for row in 60..78 {
            for col in 57..60 {
                y[row * 200 + col] = 30;
            }
        }
        let distances_before = guard.last_distances().len();
        assert_eq!(guard.check(2.1, &f, global_look(&f), lamps(&lit, &[])), vec![true; 3]);
        assert_eq!(guard.last_distances().len(), distances_before);
        let lamp0_left = guard.last_distances()[0];
        assert!(lamp0_left > 0.5 && lamp0_left < 1.0, "lamp 0's cell is only grazed: {lamp0_left}");
    }

    /// A light wall over a darker machine (from row 98, the middle of lamp 2), and a
    /// dark tower housing (x 95..105, y 80..110) with four 6 px lenses at a 6 px pitch,
    /// the whole scene moved by `shift_px`.
    fn small_tower(shift_px: (usize, usize)) -> YuvFrame {
        let mut f = YuvFrame::filled(200, 200, 180, 128, 128);
        let (y, _, _) = f.planes_mut();
        for row in 98 + shift_px.1..200 {
            y[row * 200..(row + 1) * 200].fill(110);
        }
        for row in 80 + shift_px.1..110 + shift_px.1 {
            for col in 95 + shift_px.0..105 + shift_px.0 {
                y[row * 200 + col] = 20;
            }
        }
        f
    }

    #[test]
    fn cells_keep_clear_of_a_lens_larger_than_its_region() {
        // Regions of 2 x 2 px in the middle of 6 px lenses: the housing reaches 4 px
        // beyond each region's side.
        let boxes: [BoxPx; 4] = std::array::from_fn(|i| {
            let y0 = 85 + 6 * i as u32;
            BoxPx { x0: 99, y0, x1: 101, y1: y0 + 2 }
        });
        let mut guard = OcclusionGuard::new(&boxes, 200, 200, GuardTuning::default());
        let lit = [false; 4];
        for i in 0..20 {
            let f = small_tower((0, 0));
            assert_eq!(guard.check(f64::from(i) * 0.1, &f, global_look(&f), lamps(&lit, &[])), [false; 4]);
        }
        // The camera shook a pixel further than the tracker says: the housing's and the
        // machine's edges move by a pixel, and no cell may take them for something in
        // front.
        let f = small_tower((1, 1));
        let blocked = guard.check(2.0, &f, global_look(&f), lamps(&lit, &[])).to_vec();
        assert_eq!(blocked, [false; 4], "cells: {:?}", guard.last_distances());
    }

    #[test]
    fn something_below_the_column_blocks_a_lamp_only_if_its_lens_changed() {
        // Two lamps over a light wall; the cap cell below lamp 1 sits 24..37 px under it.
        let mut guard = two_lamp_guard();
        let lit = [false; 2];
        for i in 0..20 {
            let f = scene(1.0, None);
            assert_eq!(
                guard.check(
                    f64::from(i) * 0.1,
                    &f,
                    global_look(&f),
                    LampsNow { unchanged: &[true; 2], ..lamps(&lit, &[]) }
                ),
                [false; 2]
            );
        }
        // A dark head passes under the tower, over the cap cell and nothing else.
        let mut f = scene(1.0, None);
        let (y, _, _) = f.planes_mut();
        for row in 118..140 {
            for col in 85..115 {
                y[row * 200 + col] = 30;
            }
        }
        assert!(guard.last_distances().iter().all(|&d| d < 0.5));
        assert_eq!(
            guard.check(2.0, &f, global_look(&f), LampsNow { unchanged: &[true; 2], ..lamps(&lit, &[]) }),
            [false; 2],
            "lenses as they were"
        );
        assert!(guard.last_distances().iter().any(|&d| d > 1.0), "the cap cell fired");
        assert_eq!(
            guard.check(2.1, &f, global_look(&f), LampsNow { unchanged: &[true, false], ..lamps(&lit, &[]) }),
            [false, true],
            "lens 1 changed"
        );
    }
}
