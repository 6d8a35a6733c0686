//! Finding stack lights in a camera's picture, so that a new user confirms regions
//! instead of drawing them.
//!
//! The finder watches a stretch of video ([`LampFinder::observe`], every frame or a
//! sample of them) and keeps, per pixel, what the lamps give away over time: the
//! darkest and brightest level (undoing the room's light and the camera's exposure,
//! measured on the whole picture), the mean, how often the pixel rose well above its
//! darkest level (a lamp that blinks, flashes or changes), how often it was strongly
//! coloured (a lamp lit steadily), and its colour when brightest and when darkest.
//!
//! [`LampFinder::propose`] then
//! 1. takes compact round blobs of that evidence as lit lenses (splitting lenses of one
//!    tower that lit together into one blob), each with its centre, radius (the lens
//!    edge: the steepest fall of brightness outwards) and colour (its hue when lit).
//!    A blob about twice as tall as wide that could not be split is taken as two
//!    neighbours lit together;
//! 2. groups lenses above each other into towers: the tower's sides are the widest
//!    clear pair of edges centred on a lit lens (its housing, not the lens inside it),
//!    its extent where that silhouette goes on, and its count, pitch and first centre
//!    the tiling whose lenses stand out most from the housing between them and lie
//!    where lenses were seen lit. Where two readings of one tower overlap, the one more
//!    lit lenses of its lamps' size lie in wins;
//! 3. completes each tower with the lenses that never lit: positions one pitch above and
//!    below that still lie inside the tower's silhouette and look like a lens, not like
//!    the housing between lenses. Their colour comes from their unlit tint when it is
//!    strong, else from the usual order of a stack light (red, yellow, green, blue,
//!    white from the top) counted from a lamp that was seen lit; a tint in the colour
//!    of a neighbour seen lit may be that neighbour's glow, so the usual order wins
//!    then. Such lamps are marked as inferred, for the user to confirm.
//!
//! Positions are in the frame's continuous coordinates: pixel `x` covers `x..x + 1`,
//! so an edge found between two pixels lies on a half pixel.
//!
//! Invariants: every proposal's region lies inside the frame; nothing here reads a
//! clock or allocates per pixel per frame beyond the finder's own planes.

use crate::frame::{BLACK_LUMA, YuvFrame};
use crate::lamp::LampColor;

/// A tower's sides are the widest pair of edges at least this share as strong as the
/// strongest pair around a lit lens (the housing, not the lens's own edge inside it).
const WIDEST_SHARE: f32 = 0.4;

/// The largest camera shake the finder allows for, in pixels.
const SHAKE_PX: usize = 3;

/// How a lamp was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Evidence {
    /// Seen lit while the finder watched (its colour is its hue when lit).
    SeenLit,
    /// Never lit: found from its tower's shape; its colour from its unlit tint.
    InferredByTint,
    /// Never lit: found from its tower's shape; its colour from the usual order of
    /// a stack light, counted from a lamp that was seen lit.
    InferredByOrder,
}

impl Evidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SeenLit => "seen_lit",
            Self::InferredByTint => "inferred_by_tint",
            Self::InferredByOrder => "inferred_by_order",
        }
    }
}

/// One proposed lamp.
#[derive(Clone, Debug, PartialEq)]
pub struct LampProposal {
    pub center_px: (f64, f64),
    /// The lens's radius as measured (the region is drawn smaller, inside it).
    pub radius_px: f64,
    pub color: LampColor,
    pub evidence: Evidence,
    /// An octagon inside the lens, as a careful user draws it.
    pub roi_px: Vec<[f64; 2]>,
}

impl LampProposal {
    /// Whether a lit blob of radius `radius_px` may be this lens lit (with its glow,
    /// or with a neighbour lit beside it), not a speck or a lit area far larger.
    fn fits(&self, radius_px: f64) -> bool {
        (0.4 * self.radius_px..=2.5 * self.radius_px).contains(&radius_px)
    }
}

/// One proposed stack light, lamps from the top.
#[derive(Clone, Debug, PartialEq)]
pub struct TowerProposal {
    pub lamps: Vec<LampProposal>,
    /// Distance between the centres of two neighbouring lamps.
    pub pitch_px: f64,
    /// How clearly the lenses stand out from the housing between them (per lens; the
    /// larger, the surer).
    pub score: f32,
}

/// Thresholds of the finder (levels in luma steps at the first frame's exposure).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FinderTuning {
    /// A pixel "rose" in a frame when it stood this far above its darkest level so far.
    pub rise_luma: u8,
    /// Share of the frames a pixel must rise in to be taken as a changing lamp.
    pub min_rise_share: f32,
    /// Chroma (|Cb - 128| + |Cr - 128|) of a strongly coloured pixel.
    pub coloured_chroma: u8,
    /// Share of the frames a pixel must be strongly coloured and bright in to be taken
    /// as a steadily lit lamp.
    pub min_coloured_share: f32,
    /// A pixel this bright in every frame is a steadily lit white lamp candidate.
    pub steady_white_luma: u8,
    /// Smallest and largest lens radius looked for.
    pub min_radius_px: f64,
    pub max_radius_px: f64,
    /// Region radius as a share of the measured lens radius.
    pub roi_scale: f64,
    /// Largest number of lamps in one tower.
    pub max_lamps: usize,
}

impl Default for FinderTuning {
    fn default() -> Self {
        Self {
            rise_luma: 40,
            min_rise_share: 0.04,
            coloured_chroma: 34,
            min_coloured_share: 0.5,
            steady_white_luma: 222,
            min_radius_px: 2.5,
            max_radius_px: 60.0,
            roi_scale: 0.55,
            max_lamps: 6,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FinderError {
    #[error("frame is {got_w}x{got_h} px; the finder watches {want_w}x{want_h}")]
    WrongSize { got_w: u32, got_h: u32, want_w: u32, want_h: u32 },
}

/// Watches frames and proposes stack lights (see the module docs).
pub struct LampFinder {
    width: usize,
    height: usize,
    tuning: FinderTuning,
    frames: u32,
    /// The first frame's room level (luma above black), which every frame is scaled to.
    reference_level: Option<f32>,
    min_y: Vec<u8>,
    max_y: Vec<u8>,
    sum_y: Vec<u32>,
    rises: Vec<u16>,
    /// The darkest level around each pixel (the brightest of the darkest levels within
    /// [`SHAKE_PX`]), refreshed now and then: a pixel rises above this, so that camera
    /// shake moving an edge to and fro does not look like a lamp.
    floor: Vec<u8>,
    /// Half resolution, as the chroma planes.
    coloured: Vec<u16>,
    /// Frames a pixel was coloured twice as strongly and bright (a lit lens in front of
    /// a coloured poster stands out only this way).
    vivid: Vec<u16>,
    chroma_at_max: Vec<[u8; 2]>,
    chroma_at_min: Vec<[u8; 2]>,
    chroma_sum: Vec<[u32; 2]>,
}

fn octagon(center: (f64, f64), r: f64) -> Vec<[f64; 2]> {
    (0..8)
        .map(|k| {
            let a = std::f64::consts::TAU * (f64::from(k) + 0.5) / 8.0;
            [((center.0 + r * a.cos()) * 10.0).round() / 10.0, ((center.1 + r * a.sin()) * 10.0).round() / 10.0]
        })
        .collect()
}

/// The hue nearest to a chroma vector, or white when it has too little colour.
fn color_of(u: f32, v: f32, min_chroma: f32) -> LampColor {
    let magnitude = (u * u + v * v).sqrt();
    if magnitude < min_chroma {
        return LampColor::White;
    }
    let mut best = (LampColor::Red, f32::MIN);
    for c in [LampColor::Red, LampColor::Yellow, LampColor::Green, LampColor::Blue] {
        let along = c.chroma_along((u / magnitude, v / magnitude));
        if along > best.1 {
            best = (c, along);
        }
    }
    best.0
}

/// Stack lights' usual order from the top.
const USUAL_ORDER: [LampColor; 5] =
    [LampColor::Red, LampColor::Yellow, LampColor::Green, LampColor::Blue, LampColor::White];

/// A blob of evidence: pixel count, bounding box, sums for the centroid.
#[derive(Clone, Debug)]
struct Blob {
    area: usize,
    x0: usize,
    y0: usize,
    x1: usize,
    y1: usize,
    sum_x: f64,
    sum_y: f64,
    pixels: Vec<u32>,
}

impl Blob {
    fn width(&self) -> usize {
        self.x1 - self.x0 + 1
    }
    fn height(&self) -> usize {
        self.y1 - self.y0 + 1
    }
    fn center(&self) -> (f64, f64) {
        (self.sum_x / self.area as f64 + 0.5, self.sum_y / self.area as f64 + 0.5)
    }
    fn of_pixels(pixels: Vec<u32>, width: usize) -> Option<Blob> {
        let first = *pixels.first()? as usize;
        let mut b = Blob {
            area: 0,
            x0: first % width,
            y0: first / width,
            x1: first % width,
            y1: first / width,
            sum_x: 0.0,
            sum_y: 0.0,
            pixels: Vec::new(),
        };
        for &p in &pixels {
            let (x, y) = (p as usize % width, p as usize / width);
            b.area += 1;
            b.x0 = b.x0.min(x);
            b.x1 = b.x1.max(x);
            b.y0 = b.y0.min(y);
            b.y1 = b.y1.max(y);
            b.sum_x += x as f64;
            b.sum_y += y as f64;
        }
        b.pixels = pixels;
        Some(b)
    }
}

/// A lit lens found from a blob.
#[derive(Clone, Debug)]
struct Lens {
    center: (f64, f64),
    radius: f64,
    color: LampColor,
    /// The two centres of a blob [`LampFinder::split_tall`] would have split but could
    /// not (two neighbours lit together, with no narrower rows between them): half a
    /// lens width below its top and above its bottom.
    pair_ys: Option<(f64, f64)>,
}

impl LampFinder {
    pub fn new(width_px: u32, height_px: u32, tuning: FinderTuning) -> Self {
        let (w, h) = (width_px as usize, height_px as usize);
        let (cw, ch) = crate::frame::chroma_size(width_px, height_px);
        Self {
            width: w,
            height: h,
            tuning,
            frames: 0,
            reference_level: None,
            min_y: vec![u8::MAX; w * h],
            max_y: vec![0; w * h],
            sum_y: vec![0; w * h],
            rises: vec![0; w * h],
            floor: vec![u8::MAX; w * h],
            coloured: vec![0; cw * ch],
            vivid: vec![0; cw * ch],
            chroma_at_max: vec![[128, 128]; cw * ch],
            chroma_at_min: vec![[128, 128]; cw * ch],
            chroma_sum: vec![[0, 0]; cw * ch],
        }
    }

    pub fn frames_observed(&self) -> u32 {
        self.frames
    }

    /// The room's level: the median luma above black of a sparse sample of the picture
    /// (lamps are too few pixels to move it).
    fn room_level(y: &[u8]) -> f32 {
        let mut histogram = [0u32; 256];
        let mut n = 0u32;
        for &v in y.iter().step_by(37) {
            histogram[usize::from(v)] += 1;
            n += 1;
        }
        let mut seen = 0;
        for (v, &count) in histogram.iter().enumerate() {
            seen += count;
            if seen * 2 >= n {
                return (v as f32 - BLACK_LUMA).max(4.0);
            }
        }
        128.0
    }

    /// Takes one frame into the finder's statistics.
    pub fn observe(&mut self, frame: &YuvFrame) -> Result<(), FinderError> {
        if frame.width_px() as usize != self.width || frame.height_px() as usize != self.height {
            return Err(FinderError::WrongSize {
                got_w: frame.width_px(),
                got_h: frame.height_px(),
                want_w: self.width as u32,
                want_h: self.height as u32,
            });
        }
        let level = Self::room_level(frame.y_plane());
        let reference = *self.reference_level.get_or_insert(level);
        let scale = reference / level;
        let mut lut = [0u8; 256];
        for (v, out) in lut.iter_mut().enumerate() {
            *out = (BLACK_LUMA + (v as f32 - BLACK_LUMA) * scale).round().clamp(0.0, 255.0) as u8;
        }
        let rise = self.tuning.rise_luma;
        for (i, &raw) in frame.y_plane().iter().enumerate() {
            let y = lut[usize::from(raw)];
            if y >= self.floor[i].saturating_add(rise) {
                self.rises[i] = self.rises[i].saturating_add(1);
            }
            self.min_y[i] = self.min_y[i].min(y);
            self.max_y[i] = self.max_y[i].max(y);
            self.sum_y[i] += u32::from(y);
        }
        let cw = frame.chroma_width();
        let (u_plane, v_plane) = (frame.u_plane(), frame.v_plane());
        let coloured = u16::from(self.tuning.coloured_chroma);
        for (c, (&u, &v)) in u_plane.iter().zip(v_plane).enumerate() {
            let (cx, cy) = (c % cw, c / cw);
            let luma_index = (2 * cy).min(self.height - 1) * self.width + (2 * cx).min(self.width - 1);
            let y = lut[usize::from(frame.y_plane()[luma_index])];
            let chroma = u16::from(u.abs_diff(128)) + u16::from(v.abs_diff(128));
            if chroma >= coloured && y >= 48 {
                self.coloured[c] = self.coloured[c].saturating_add(1);
                if chroma >= 2 * coloured && y >= 96 {
                    self.vivid[c] = self.vivid[c].saturating_add(1);
                }
            }
            if y >= self.max_y[luma_index] {
                self.chroma_at_max[c] = [u, v];
            }
            if y <= self.min_y[luma_index] {
                self.chroma_at_min[c] = [u, v];
            }
            self.chroma_sum[c][0] += u32::from(u);
            self.chroma_sum[c][1] += u32::from(v);
        }
        self.frames += 1;
        if self.frames.is_power_of_two() || self.frames.is_multiple_of(16) {
            self.refresh_floor();
        }
        Ok(())
    }

    /// [`Self::floor`] from the darkest levels so far: a separable maximum filter.
    fn refresh_floor(&mut self) {
        let (w, h) = (self.width, self.height);
        let mut rows = vec![0u8; w * h];
        for y in 0..h {
            let line = &self.min_y[y * w..(y + 1) * w];
            for x in 0..w {
                let (a, b) = (x.saturating_sub(SHAKE_PX), (x + SHAKE_PX).min(w - 1));
                rows[y * w + x] = line[a..=b].iter().copied().max().unwrap_or(0);
            }
        }
        for x in 0..w {
            for y in 0..h {
                let (a, b) = (y.saturating_sub(SHAKE_PX), (y + SHAKE_PX).min(h - 1));
                self.floor[y * w + x] = (a..=b).map(|k| rows[k * w + x]).max().unwrap_or(0);
            }
        }
    }

    fn chroma_index(&self, x: usize, y: usize) -> usize {
        let cw = self.width.div_ceil(2);
        (y / 2) * cw + x / 2
    }

    /// Mean of `plane` (full resolution) over a box, clipped to the frame.
    fn mean_box(&self, values: impl Fn(usize) -> f32, x0: f64, y0: f64, x1: f64, y1: f64) -> Option<f32> {
        let xa = x0.floor().max(0.0) as usize;
        let ya = y0.floor().max(0.0) as usize;
        let xb = (x1.ceil().max(0.0) as usize).min(self.width);
        let yb = (y1.ceil().max(0.0) as usize).min(self.height);
        let (mut sum, mut n) = (0.0f32, 0u32);
        for y in ya..yb {
            for x in xa..xb {
                sum += values(y * self.width + x);
                n += 1;
            }
        }
        (n > 0).then(|| sum / n as f32)
    }

    fn mean_luma(&self, i: usize) -> f32 {
        self.sum_y[i] as f32 / self.frames.max(1) as f32
    }

    /// The evidence masks, one per way a lit lens shows (kept apart so that a steady
    /// coloured lens does not merge with what changes around it): pixels that rose
    /// often above their darkest level, pixels strongly coloured and bright most of
    /// the time, the same twice as strongly coloured, and pixels bright white all the
    /// time.
    fn evidence(&self) -> [Vec<bool>; 4] {
        let n = self.frames.max(1) as f32;
        let min_rises = (self.tuning.min_rise_share * n).ceil().max(2.0) as u16;
        let min_coloured = (self.tuning.min_coloured_share * n).ceil().max(1.0) as u16;
        let all = 0..self.width * self.height;
        [
            all.clone().map(|i| self.rises[i] >= min_rises).collect(),
            all.clone()
                .map(|i| {
                    let (x, y) = (i % self.width, i / self.width);
                    self.coloured[self.chroma_index(x, y)] >= min_coloured && self.max_y[i] >= 64
                })
                .collect(),
            all.clone()
                .map(|i| self.vivid[self.chroma_index(i % self.width, i / self.width)] >= min_coloured)
                .collect(),
            all.map(|i| self.min_y[i] >= self.tuning.steady_white_luma).collect(),
        ]
    }

    /// 8-connected blobs of `mask`.
    fn blobs(&self, mask: &[bool]) -> Vec<Blob> {
        let (w, h) = (self.width, self.height);
        let mut seen = vec![false; mask.len()];
        let mut out = Vec::new();
        let mut stack = Vec::new();
        let largest = (std::f64::consts::PI * (2.5 * self.tuning.max_radius_px).powi(2)) as usize;
        for start in 0..mask.len() {
            if !mask[start] || seen[start] {
                continue;
            }
            seen[start] = true;
            stack.push(start);
            let mut pixels = Vec::new();
            while let Some(p) = stack.pop() {
                pixels.push(p as u32);
                let (x, y) = (p % w, p / w);
                for dy in -1i64..=1 {
                    for dx in -1i64..=1 {
                        let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                        if nx < 0 || ny < 0 || nx >= w as i64 || ny >= h as i64 {
                            continue;
                        }
                        let q = ny as usize * w + nx as usize;
                        if mask[q] && !seen[q] {
                            seen[q] = true;
                            stack.push(q);
                        }
                    }
                }
            }
            if pixels.len() <= largest
                && let Some(b) = Blob::of_pixels(pixels, w)
            {
                out.push(b);
            }
        }
        out
    }

    /// Splits a tall blob (lenses of one tower lit at once) at its narrow rows.
    fn split_tall(&self, blob: Blob) -> Vec<Blob> {
        if (blob.height() as f64) < 1.6 * blob.width() as f64 {
            return vec![blob];
        }
        let mut widths = vec![0usize; blob.height()];
        for &p in &blob.pixels {
            widths[p as usize / self.width - blob.y0] += 1;
        }
        let widest = widths.iter().copied().max().unwrap_or(0);
        let cut: Vec<bool> = widths.iter().map(|&c| (c as f64) <= 0.55 * widest as f64).collect();
        // Each run of uncut rows is a part; cut rows belong to none.
        let mut run_of_row = vec![None; blob.height()];
        let mut runs = 0;
        for (row, &is_cut) in cut.iter().enumerate() {
            if !is_cut {
                if row == 0 || cut[row - 1] {
                    runs += 1;
                }
                run_of_row[row] = Some(runs - 1);
            }
        }
        if runs < 2 {
            return vec![blob];
        }
        let mut parts: Vec<Vec<u32>> = vec![Vec::new(); runs];
        for &p in &blob.pixels {
            if let Some(r) = run_of_row[p as usize / self.width - blob.y0] {
                parts[r].push(p);
            }
        }
        parts.into_iter().filter_map(|p| Blob::of_pixels(p, self.width)).collect()
    }

    fn lens_of(&self, blob: &Blob) -> Option<Lens> {
        let (w, h) = (blob.width() as f64, blob.height() as f64);
        let fill = blob.area as f64 / (w * h);
        let aspect = h / w;
        if blob.area < 4 || !(0.45..=2.2).contains(&aspect) || fill < 0.4 {
            return None;
        }
        let r0 = 0.5 * w.max(h);
        if r0 < 0.5 * self.tuning.min_radius_px || r0 > 2.5 * self.tuning.max_radius_px {
            return None;
        }
        let center = blob.center();
        // The hue when lit, from the blob's inner pixels at their brightest (the glow
        // around a lens is weaker, and may carry a lit neighbour's colour).
        let (mut su, mut sv, mut n) = (0.0f32, 0.0f32, 0u32);
        let inner = 0.6 * r0;
        for &p in &blob.pixels {
            let (x, y) = (p as usize % self.width, p as usize / self.width);
            if (x as f64 + 0.5 - center.0).abs() > inner || (y as f64 + 0.5 - center.1).abs() > inner {
                continue;
            }
            let [u, v] = self.chroma_at_max[self.chroma_index(x, y)];
            su += f32::from(u) - 128.0;
            sv += f32::from(v) - 128.0;
            n += 1;
        }
        let (u, v) = (su / n.max(1) as f32, sv / n.max(1) as f32);
        let pair_ys = (aspect >= 1.6).then(|| {
            let half = 0.5 * w;
            (blob.y0 as f64 + half, blob.y1 as f64 + 1.0 - half)
        });
        Some(Lens { center, radius: r0, color: color_of(u, v, 14.0), pair_ys })
    }

    /// Mean-image contrast across a vertical edge at `x` (between `x - 1` and `x + 1`),
    /// over rows `y0..y1`.
    fn edge_strength(&self, x: f64, y0: f64, y1: f64) -> f32 {
        let (xa, xb) = ((x - 1.0).round(), (x + 1.0).round());
        if xa < 0.0 || xb >= self.width as f64 {
            return 0.0;
        }
        let rows = (y0.round().max(0.0) as usize)..(y1.round().max(0.0) as usize + 1).min(self.height);
        if rows.is_empty() {
            return 0.0;
        }
        let n = rows.len() as f32;
        let sum: f32 = rows
            .map(|y| {
                (self.mean_luma(y * self.width + xb as usize) - self.mean_luma(y * self.width + xa as usize)).abs()
            })
            .sum();
        sum / n
    }

    /// The strongest edge on one side of `cx` within `from..=to` px, over rows
    /// `y0..y1`: its distance and strength.
    fn strongest_edge(&self, cx: f64, side: f64, y0: f64, y1: f64, from: f64, to: f64) -> (f64, f32) {
        let mut best = (from, 0.0f32);
        let mut d = from;
        while d <= to {
            let s = self.edge_strength(cx + side * d, y0, y1);
            if s > best.1 {
                best = (d, s);
            }
            d += 1.0;
        }
        best
    }

    /// Mean luma and chroma of the mean image in a box of half size `half` at `center`.
    fn look(&self, center: (f64, f64), half: f64) -> (f32, f32, f32) {
        let h = half.max(0.5);
        let (x0, y0, x1, y1) = (center.0 - h, center.1 - h, center.0 + h, center.1 + h);
        let luma = self.mean_box(|i| self.mean_luma(i), x0, y0, x1, y1).unwrap_or(0.0);
        let (u, v) = self.mean_chroma(x0, y0, x1, y1);
        (luma, u, v)
    }

    /// How much a look stands out as a lens from a dark, neutral housing: brightness
    /// plus colour (an unlit lens is lighter or tinted; a dark red lens is tinted).
    fn lensness(look: (f32, f32, f32)) -> f32 {
        look.0 + 1.5 * ((look.1 - 128.0).abs() + (look.2 - 128.0).abs())
    }

    /// How much a lens position at `y` stands out from the housing half a pitch above
    /// and below it (negative where `y` is the housing between lenses), beside the
    /// centre line (where the housing shows between touching lenses).
    fn lens_contrast(&self, cx: f64, y: f64, r: f64, pitch: f64) -> f32 {
        let side = 0.65 * r;
        let half = 0.2 * r;
        [-side, side]
            .iter()
            .map(|&sx| {
                let at = |y: f64| Self::lensness(self.look((cx + sx, y), half));
                let lens = at(y);
                // Against the mean of both sides: the glow of a lit neighbour, rising
                // towards it, cancels out.
                lens - 0.5 * (at(y - 0.5 * pitch) + at(y + 0.5 * pitch))
            })
            .sum::<f32>()
            / 2.0
    }

    fn mean_chroma(&self, x0: f64, y0: f64, x1: f64, y1: f64) -> (f32, f32) {
        let n = self.frames.max(1) as f32;
        let at = |i: usize, k: usize| self.chroma_sum[self.chroma_index(i % self.width, i / self.width)][k] as f32 / n;
        let u = self.mean_box(|i| at(i, 0), x0, y0, x1, y1).unwrap_or(128.0);
        let v = self.mean_box(|i| at(i, 1), x0, y0, x1, y1).unwrap_or(128.0);
        (u, v)
    }

    /// The unlit tint of a lens: its chroma in the frames it was darkest.
    fn unlit_tint(&self, center: (f64, f64), r: f64) -> (f32, f32) {
        let h = (0.4 * r).max(0.5);
        let (x0, y0, x1, y1) = (center.0 - h, center.1 - h, center.0 + h, center.1 + h);
        let at = |i: usize, k: usize| {
            f32::from(self.chroma_at_min[self.chroma_index(i % self.width, i / self.width)][k]) - 128.0
        };
        let u = self.mean_box(|i| at(i, 0), x0, y0, x1, y1).unwrap_or(0.0);
        let v = self.mean_box(|i| at(i, 1), x0, y0, x1, y1).unwrap_or(0.0);
        (u, v)
    }

    /// The stack lights seen so far (none before the first frame).
    pub fn propose(&self) -> Vec<TowerProposal> {
        if self.frames == 0 {
            return Vec::new();
        }
        let mut lenses: Vec<Lens> = self
            .evidence()
            .iter()
            .flat_map(|mask| self.blobs(mask))
            .flat_map(|b| self.split_tall(b))
            .filter_map(|b| self.lens_of(&b))
            .collect();
        // Brightest evidence first: a tower is measured from its clearest lens.
        lenses.sort_by(|a, b| b.radius.total_cmp(&a.radius));
        let mut towers: Vec<TowerProposal> = Vec::new();
        for lens in &lenses {
            let claimed = towers.iter().any(|t| {
                t.lamps.iter().any(|l| {
                    (l.center_px.0 - lens.center.0).abs() <= 1.2 * l.radius_px.max(2.0)
                        && (l.center_px.1 - lens.center.1).abs() <= 0.6 * t.pitch_px.max(3.0)
                        && l.fits(lens.radius)
                })
            });
            if claimed {
                continue;
            }
            let Some(t) = self.tower_at(lens, &lenses) else { continue };
            // The same tower reached from another lens: the fuller reading wins.
            let span = |t: &TowerProposal| {
                let first = &t.lamps[0];
                let last = &t.lamps[t.lamps.len() - 1];
                (
                    first.center_px.0,
                    first.center_px.1 - first.radius_px,
                    last.center_px.1 + last.radius_px,
                    first.radius_px,
                )
            };
            let (x, top, bottom, r) = span(&t);
            let overlapping = towers.iter().position(|o| {
                let (ox, otop, obottom, or) = span(o);
                (ox - x).abs() <= 1.5 * r.max(or) + 3.0 && top < obottom && otop < bottom
            });
            // Readings that overlap: the one more lit lenses of its lamps' size lie in
            // wins (a tiny tower read from a speck beside a tower, a poster taken for
            // one huge lamp), then the one whose lenses stand out more.
            let support = |t: &TowerProposal| {
                lenses
                    .iter()
                    .filter(|l| {
                        t.lamps.iter().any(|p| {
                            let d = (l.center.0 - p.center_px.0).hypot(l.center.1 - p.center_px.1);
                            d <= p.radius_px && p.fits(l.radius)
                        })
                    })
                    .count()
            };
            match overlapping {
                Some(k) if (support(&towers[k]), towers[k].score) < (support(&t), t.score) => towers[k] = t,
                Some(_) => {}
                None => towers.push(t),
            }
        }
        towers.sort_by(|a, b| a.lamps[0].center_px.0.total_cmp(&b.lamps[0].center_px.0));
        towers
    }

    /// The tower around a seen lens: its silhouette, extent and pitch from the mean
    /// image, its lenses, and their colours (seen, tinted, or by the usual order).
    fn tower_at(&self, lens: &Lens, all: &[Lens]) -> Option<TowerProposal> {
        let (bx, by) = lens.center;
        let reach = 1.6 * lens.radius + 6.0;
        let rows = (by - 2.0, by + 2.0);
        // The silhouette's two sides: the strongest pair of edges about as far left as
        // right of the seen lens (a lit lens's own edge on one side and the housing's
        // on the other would put the tower's line off). An edge measured at column `j`
        // lies between the pixels beside it, at j + 0.5.
        let columns = (bx - reach).round() as i64..=(bx + reach).round() as i64;
        let edges: Vec<(f64, f32)> =
            columns.map(|j| (j as f64 + 0.5, self.edge_strength(j as f64, rows.0, rows.1))).collect();
        let mut pairs = Vec::new();
        for &(left, sl) in edges.iter().filter(|e| e.0 <= bx - 1.5) {
            for &(right, sr) in edges.iter().filter(|e| e.0 >= bx + 1.5) {
                if (0.5 * (left + right) - bx).abs() <= 1.0 {
                    pairs.push((left, right, sl.min(sr)));
                }
            }
        }
        let strongest = pairs.iter().map(|p| p.2).fold(0.0f32, f32::max);
        // The housing's sides rather than a lit lens's own edge inside them, when they
        // are nearly as clear.
        let (left, right, strength) = pairs
            .into_iter()
            .filter(|p| p.2 >= WIDEST_SHARE * strongest)
            .max_by(|a, b| (a.1 - a.0).total_cmp(&(b.1 - b.0)))
            .unwrap_or((0.0, 0.0, 0.0));
        if strength < 10.0 {
            return None;
        }
        let half_width = 0.5 * (right - left);
        if 0.85 * half_width > self.tuning.max_radius_px {
            return None;
        }
        let cx = 0.5 * (left + right);
        let r = (0.85 * half_width).clamp(self.tuning.min_radius_px, self.tuning.max_radius_px);
        // The tower's rows: where its silhouette goes on, both sides at about the
        // same distance (a lit lens's own edge or the housing's), centred on the line.
        let inside_row = |y: f64| {
            let side =
                |sign: f64| self.strongest_edge(cx, sign, y - 1.0, y + 1.0, 0.7 * half_width, 1.3 * half_width + 2.0);
            let ((dl, sl), (dr, sr)) = (side(-1.0), side(1.0));
            sl.min(sr) >= 12.0 && (dl - dr).abs() <= 0.3 * half_width + 1.5
        };
        let walk = |step: f64| {
            let mut y = by;
            let mut misses = 0;
            let mut last_inside = by;
            while y >= 0.0 && y < self.height as f64 && misses < 3 {
                if inside_row(y) {
                    last_inside = y;
                    misses = 0;
                } else {
                    misses += 1;
                }
                y += step;
            }
            last_inside
        };
        let (top, bottom) = (walk(-1.0), walk(1.0));
        // Count, pitch and phase from the tower's own profile and the lenses seen lit.
        let seen_ys: Vec<f64> = all
            .iter()
            .filter(|l| (l.center.0 - cx).abs() <= 0.6 * half_width && l.center.1 >= top && l.center.1 <= bottom)
            .flat_map(|l| match l.pair_ys {
                Some((a, b)) => vec![a, b],
                None => vec![l.center.1],
            })
            .collect();
        let (count, pitch, first, score) = self.best_tiling(cx, r, top, bottom, &seen_ys)?;
        let ys: Vec<f64> = (0..count).map(|k| first + k as f64 * pitch).collect();
        let (ys, pitch) = self.refine_centres(cx, r, ys, pitch);
        let r = r.min(0.5 * pitch);
        // The colour of the seen lens nearest each position, if one lies in its lens.
        let seen_color = |y: f64| {
            all.iter()
                .filter(|l| (l.center.0 - cx).abs() <= half_width && (l.center.1 - y).abs() <= 0.35 * pitch)
                .min_by(|a, b| (a.center.1 - y).abs().total_cmp(&(b.center.1 - y).abs()))
                .map(|l| l.color)
        };
        // Where the tower stands in the usual order: from a lamp seen lit, else from an
        // unlit lens clearly tinted, else from the faint tints of all its lenses (a
        // tower whose top lamp was not found starts lower in the order).
        let tints: Vec<(f32, f32)> = ys.iter().map(|&y| self.unlit_tint((cx, y), r)).collect();
        let tinted = |(u, v): (f32, f32)| (u * u + v * v).sqrt() >= 14.0;
        let known = ys.iter().zip(&tints).enumerate().find_map(|(i, (&y, &tint))| {
            let c = seen_color(y).or_else(|| tinted(tint).then(|| color_of(tint.0, tint.1, 14.0)))?;
            USUAL_ORDER.iter().position(|&o| o == c && o != LampColor::White).map(|order| (i as i64, order as i64))
        });
        let agreement = |offset: usize| -> f32 {
            tints
                .iter()
                .zip(&USUAL_ORDER[offset..])
                .map(|(&(u, v), &c)| {
                    let m = (u * u + v * v).sqrt();
                    if m < 3.0 || c == LampColor::White { 0.0 } else { m.min(20.0) * c.chroma_along((u / m, v / m)) }
                })
                .sum()
        };
        let faint = (0..=USUAL_ORDER.len().saturating_sub(ys.len()))
            .max_by(|a, b| agreement(*a).total_cmp(&agreement(*b)))
            .filter(|&o| agreement(o) > agreement(0) + 8.0)
            .map(|o| (0, o as i64));
        let anchor = known.or(faint);
        // A lens's centre is known to about a pixel whatever its size: the region keeps
        // that margin from the lens's edge (and at least a pixel of radius).
        let roi_r = (self.tuning.roi_scale * r - 0.75).max(1.0);
        let lamps: Vec<LampProposal> = ys
            .iter()
            .enumerate()
            .filter_map(|(i, &y)| {
                let center = (cx, y);
                let (color, evidence) = match seen_color(y) {
                    Some(c) => (c, Evidence::SeenLit),
                    None => {
                        // Counted from a lamp seen lit, else from a red top.
                        let (ai, order) = anchor.unwrap_or((0, 0));
                        let by_order =
                            usize::try_from(order + (i as i64 - ai)).ok().and_then(|k| USUAL_ORDER.get(k).copied());
                        let (u, v) = tints[i];
                        let tint = ((u * u + v * v).sqrt() >= 14.0).then(|| color_of(u, v, 14.0));
                        // A tint in the colour of a neighbour seen lit may be that
                        // neighbour's glow: the usual order is the better guess then.
                        let glow_of_neighbour = tint.is_some_and(|t| {
                            [i.checked_sub(1), Some(i + 1)]
                                .into_iter()
                                .flatten()
                                .filter_map(|j| ys.get(j))
                                .any(|&yj| seen_color(yj) == Some(t))
                        });
                        match (tint, by_order) {
                            (Some(t), Some(o)) if glow_of_neighbour && o != t => (o, Evidence::InferredByOrder),
                            (Some(t), _) => (t, Evidence::InferredByTint),
                            (None, o) => (o?, Evidence::InferredByOrder),
                        }
                    }
                };
                let inside_frame = center.0 - roi_r >= 0.0
                    && center.1 - roi_r >= 0.0
                    && center.0 + roi_r <= self.width as f64
                    && center.1 + roi_r <= self.height as f64;
                inside_frame.then(|| LampProposal {
                    center_px: center,
                    radius_px: r,
                    color,
                    evidence,
                    roi_px: octagon(center, roi_r),
                })
            })
            .collect();
        (lamps.len() >= 2).then_some(TowerProposal { lamps, pitch_px: pitch, score })
    }

    /// Lens centres moved to where each stands out most from the housing half a pitch
    /// away, then put on one line of equal pitch (least squares), which a single
    /// misplaced lens cannot bend far; the centres and pitch as they were when fewer
    /// than two lenses stand out.
    fn refine_centres(&self, cx: f64, r: f64, ys: Vec<f64>, pitch: f64) -> (Vec<f64>, f64) {
        let found: Vec<(f64, f64)> = ys
            .iter()
            .enumerate()
            .filter_map(|(i, &y)| {
                let mut tried = Vec::new();
                let mut d = -0.3 * pitch;
                while d <= 0.3 * pitch {
                    tried.push((y + d, self.lens_contrast(cx, y + d, r, pitch)));
                    d += 0.5;
                }
                let best = tried.iter().map(|t| t.1).fold(f32::MIN, f32::max);
                // A lens's contrast has a flat top: its centre is the middle of the
                // positions near the best, not the first of them.
                let near: Vec<f64> =
                    tried.iter().filter(|t| t.1 >= best - (0.05 * best).max(0.5)).map(|t| t.0).collect();
                let centre = near.iter().sum::<f64>() / near.len().max(1) as f64;
                (best >= 8.0).then_some((i as f64, centre))
            })
            .collect();
        if found.len() < 2 {
            return (ys, pitch);
        }
        let n = found.len() as f64;
        let (mk, my) = (found.iter().map(|f| f.0).sum::<f64>() / n, found.iter().map(|f| f.1).sum::<f64>() / n);
        let var: f64 = found.iter().map(|f| (f.0 - mk).powi(2)).sum();
        let cov: f64 = found.iter().map(|f| (f.0 - mk) * (f.1 - my)).sum();
        let fitted = cov / var;
        if !(0.8 * pitch..=1.25 * pitch).contains(&fitted) {
            return (ys, pitch);
        }
        let start = my - fitted * mk;
        ((0..ys.len()).map(|i| start + i as f64 * fitted).collect(), fitted)
    }

    /// How the tower's rows `top..bottom` are tiled by lenses: the count, pitch and
    /// first centre whose lenses stand out most from the housing between them and
    /// agree best with the lenses seen lit (`seen_ys`: a seen centre agrees when it is
    /// within about a tenth of a pitch of a lens's). The lenses fill the tower but
    /// for its cap and base, so the count fixes the pitch to within those.
    fn best_tiling(&self, cx: f64, r: f64, top: f64, bottom: f64, seen_ys: &[f64]) -> Option<(usize, f64, f64, f32)> {
        let height = bottom - top;
        let step = (r / 16.0).max(0.25);
        let mut best: Option<(usize, f64, f64, f32)> = None;
        for n in 2..=self.tuning.max_lamps {
            let full = height / n as f64;
            if full < 1.5 * r || full > 3.2 * r || full < 5.0 {
                continue;
            }
            // The cap and base take less than a lens (and a little for blur).
            let max_slack = 0.8 * r + 6.0;
            let mut p = ((height - max_slack) / n as f64).max(0.8 * full);
            while p <= full + 1e-9 {
                let slack = height - n as f64 * p;
                let mut cap = 0.0;
                while cap <= slack + 1e-9 {
                    let first = top + cap + 0.5 * p;
                    let mut score = 0.0f32;
                    for k in 0..n {
                        let c = self.lens_contrast(cx, first + k as f64 * p, r, p);
                        score += if c > 0.0 { 40.0 * (1.0 - (-c / 25.0).exp()) } else { c.max(-40.0) };
                    }
                    let mut agreement = 0.0f32;
                    let sigma = (0.12 * p).max(1.0);
                    for &y in seen_ys {
                        let k = ((y - first) / p).round().clamp(0.0, n as f64 - 1.0);
                        let d = (first + k * p - y) / sigma;
                        agreement += 15.0 * (2.0 * (-d * d).exp() as f32 - 1.0);
                    }
                    let score = score / n as f32 + agreement / seen_ys.len().max(1) as f32;
                    if best.is_none_or(|b| score > b.3) {
                        best = Some((n, p, first, score));
                    }
                    cap += step;
                }
                p += step;
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disc(frame: &mut YuvFrame, c: (f64, f64), r: f64, yuv: (u8, u8, u8)) {
        let (w, h) = (frame.width_px() as usize, frame.height_px() as usize);
        let cw = frame.chroma_width();
        let (yp, up, vp) = frame.planes_mut();
        for y in 0..h {
            for x in 0..w {
                if ((x as f64 + 0.5 - c.0).powi(2) + (y as f64 + 0.5 - c.1).powi(2)).sqrt() <= r {
                    yp[y * w + x] = yuv.0;
                    up[(y / 2) * cw + x / 2] = yuv.1;
                    vp[(y / 2) * cw + x / 2] = yuv.2;
                }
            }
        }
    }

    fn rect(frame: &mut YuvFrame, x0: usize, y0: usize, x1: usize, y1: usize, luma: u8) {
        let w = frame.width_px() as usize;
        let (yp, _, _) = frame.planes_mut();
        for y in y0..y1 {
            for x in x0..x1 {
                yp[y * w + x] = luma;
            }
        }
    }

    /// A three-lamp tower on a wall: red lit in odd frames, green lit always, yellow
    /// never.
    fn tower_frame(i: u32) -> YuvFrame {
        let mut f = YuvFrame::filled(160, 120, 130, 128, 128);
        rect(&mut f, 60, 14, 84, 86, 50);
        let lit = |c: LampColor| {
            let [r, g, b] = c.rgb();
            crate::frame::rgb_to_yuv(r, g, b)
        };
        let red = if i % 2 == 1 { lit(LampColor::Red) } else { (62, 122, 140) };
        disc(&mut f, (72.0, 28.0), 10.0, red);
        disc(&mut f, (72.0, 50.0), 10.0, (80, 112, 134));
        disc(&mut f, (72.0, 72.0), 10.0, lit(LampColor::Green));
        f
    }

    #[test]
    fn a_tower_is_found_with_its_unlit_lamp_and_colours() {
        let mut finder = LampFinder::new(160, 120, FinderTuning::default());
        for i in 0..20 {
            finder.observe(&tower_frame(i)).expect("right size");
        }
        let towers = finder.propose();
        assert_eq!(towers.len(), 1, "{towers:?}");
        let lamps = &towers[0].lamps;
        let colors: Vec<LampColor> = lamps.iter().map(|l| l.color).collect();
        assert_eq!(colors, [LampColor::Red, LampColor::Yellow, LampColor::Green], "{lamps:?}");
        assert_eq!(lamps[0].evidence, Evidence::SeenLit);
        assert_ne!(lamps[1].evidence, Evidence::SeenLit);
        for (lamp, y) in lamps.iter().zip([28.0, 50.0, 72.0]) {
            // Within half a pixel and a little: a half-pixel slip in how edges or a
            // lens's flat contrast are read shows here.
            assert!((lamp.center_px.0 - 72.0).abs() < 0.6 && (lamp.center_px.1 - y).abs() < 0.6, "{lamp:?}");
            assert!((lamp.radius_px - 10.0).abs() < 2.0, "{lamp:?}");
        }
    }

    /// A red lamp lit all the time casts its glow on the unlit lens below it: that
    /// lens is tinted red, yet it is the tower's yellow.
    #[test]
    fn a_tint_from_a_lit_neighbours_glow_is_not_taken_for_the_lens_colour() {
        let lit = |c: LampColor| {
            let [r, g, b] = c.rgb();
            crate::frame::rgb_to_yuv(r, g, b)
        };
        let (_, ru, rv) = lit(LampColor::Red);
        let reddish =
            (60, (128.0 + 0.3 * (f32::from(ru) - 128.0)) as u8, (128.0 + 0.3 * (f32::from(rv) - 128.0)) as u8);
        let mut finder = LampFinder::new(160, 120, FinderTuning::default());
        for i in 0..20 {
            let mut f = YuvFrame::filled(160, 120, 130, 128, 128);
            rect(&mut f, 60, 14, 84, 86, 50);
            disc(&mut f, (72.0, 28.0), 10.0, lit(LampColor::Red));
            disc(&mut f, (72.0, 50.0), 10.0, reddish);
            let green = if i % 3 == 0 { lit(LampColor::Green) } else { (70, 118, 118) };
            disc(&mut f, (72.0, 72.0), 10.0, green);
            finder.observe(&f).expect("right size");
        }
        let towers = finder.propose();
        assert_eq!(towers.len(), 1, "{towers:?}");
        let yellow = &towers[0].lamps[1];
        assert_eq!(yellow.color, LampColor::Yellow, "{towers:?}");
        assert_eq!(yellow.evidence, Evidence::InferredByOrder, "{towers:?}");
    }

    #[test]
    fn a_blank_wall_proposes_nothing_and_a_wrong_size_is_refused() {
        let mut finder = LampFinder::new(64, 48, FinderTuning::default());
        assert!(finder.propose().is_empty());
        for _ in 0..5 {
            finder.observe(&YuvFrame::filled(64, 48, 120, 128, 128)).expect("right size");
        }
        assert!(finder.propose().is_empty());
        assert_eq!(
            finder.observe(&YuvFrame::filled(32, 48, 120, 128, 128)),
            Err(FinderError::WrongSize { got_w: 32, got_h: 48, want_w: 64, want_h: 48 })
        );
    }
}
