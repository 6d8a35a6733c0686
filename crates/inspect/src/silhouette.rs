//! The silhouette of what lies on the backlit table, to a fraction of a pixel.
//!
//! The backlight is uneven, so the threshold between lit table and dark material is
//! set locally: half-way between the light level (estimated on a grid of blocks and
//! filled in under the part) and the material's dark level. Each row becomes runs of
//! lit pixels; runs join into components (lit: 4-connected, material: 8-connected, so
//! that the two topologies are each other's complement). An edge point is where the
//! threshold is crossed between two neighbouring pixels, placed by linear
//! interpolation: it knows the lit component (table around the part, or one hole) and
//! the material component on either side.
//!
//! Invariants: every edge point lies between the centres of its two pixels; runs of a
//! row are sorted and disjoint.

use image::GrayImage;

use crate::clipping::Clipping;
use crate::table::Px;

/// Blocks of the light-level grid, in pixels.
const BLOCK_PX: u32 = 64;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PhotoError {
    #[error("the photo is too small ({0}x{1} px); inspection needs at least 64x64")]
    TooSmall(u32, u32),
    #[error(
        "the photo is overexposed beyond measuring: {percent:.0} % of the lit table is clipped at white and the edges are washed out{}; lower the exposure or the backlight until the table reads about 200 of 255",
        level.map(|f| format!(" (the threshold stands at {:.1} % of the true light, at least {:.0} % is needed)", 100.0 * f, 100.0 * crate::clipping::MIN_EDGE_LEVEL)).unwrap_or_else(|| " (the edges' dark side is too short to tell how much light lies behind them)".into())
    )]
    WashedOut { percent: f64, level: Option<f64> },
    #[error(
        "the photo has too little contrast between the lit table ({light:.0}) and the part ({dark:.0}); switch the backlight on and the room lights down"
    )]
    NoContrast { light: f64, dark: f64 },
    #[error(
        "the photo is blurred: its edges are {width_px:.1} px wide (at most {limit_px:.1} px); focus the camera on the table"
    )]
    Blurred { width_px: f64, limit_px: f64 },
    #[error("no part in the photo: nothing dark of at least {min_px} px lies on the lit table")]
    NoPart { min_px: u64 },
    #[error("{count} parts in the photo; lay one part at a time on the table")]
    SeveralParts { count: usize },
    #[error("the part touches the border of the photo; move it fully into view")]
    TouchesBorder,
}

#[derive(Clone, Debug, Default)]
pub struct Component {
    pub area_px: u64,
    pub sum_x: f64,
    pub sum_y: f64,
    pub min: (u32, u32),
    pub max: (u32, u32),
    pub touches_border: bool,
}

impl Component {
    pub fn centroid_px(&self) -> Px {
        Px::new(self.sum_x / self.area_px as f64, self.sum_y / self.area_px as f64)
    }

    fn add_run(&mut self, y: u32, x0: u32, x1: u32, width: u32, height: u32) {
        let n = (x1 - x0) as u64;
        if self.area_px == 0 {
            self.min = (x0, y);
            self.max = (x1 - 1, y);
        }
        self.area_px += n;
        self.sum_x += (x0 as f64 + x1 as f64 - 1.0) * n as f64 / 2.0;
        self.sum_y += y as f64 * n as f64;
        self.min = (self.min.0.min(x0), self.min.1.min(y));
        self.max = (self.max.0.max(x1 - 1), self.max.1.max(y));
        self.touches_border |= x0 == 0 || x1 == width || y == 0 || y + 1 == height;
    }
}

/// A sub-pixel edge point and the components on its two sides.
#[derive(Clone, Copy, Debug)]
pub struct EdgePoint {
    pub px: Px,
    pub lit: u32,
    pub material: u32,
}

/// A run of lit pixels `x0..x1` in row `y`, and its component.
#[derive(Clone, Copy, Debug)]
pub struct Run {
    pub y: u32,
    pub x0: u32,
    pub x1: u32,
    pub component: u32,
}

/// A lit region's box and levels (see [`Silhouette::local_levels`]).
struct LocalLevels {
    x0: u32,
    y0: u32,
    x1: u32,
    y1: u32,
    dark: f32,
    gain: Option<f32>,
}

pub struct Silhouette {
    pub width: u32,
    pub height: u32,
    pub lit: Vec<Component>,
    pub material: Vec<Component>,
    pub lit_runs: Vec<Run>,
    pub material_runs: Vec<Run>,
    pub edges: Vec<EdgePoint>,
    /// The median width of an edge: contrast over steepest slope (2.5 σ for a Gaussian
    /// blur); where the backlight is clipped, 2.5 σ of the blur read on the edges' dark side.
    pub edge_width_px: f64,
    /// How much of the table is clipped at white, and what placing the edges through it did.
    pub clipping: Clipping,
    levels: Levels,
}

/// The level field: light level per block, filled in where the part covers a block.
pub(crate) struct Levels {
    columns: usize,
    rows: usize,
    pub(crate) light: Vec<f32>,
    /// Blocks where the table itself was seen (not filled in under the part).
    lit: Vec<bool>,
    pub(crate) dark: f32,
}

impl Levels {
    pub(crate) fn estimate(img: &GrayImage) -> Self {
        let (w, h) = img.dimensions();
        let (columns, rows) = (w.div_ceil(BLOCK_PX) as usize, h.div_ceil(BLOCK_PX) as usize);
        let mut p90 = vec![0f32; columns * rows];
        let mut p10 = vec![0f32; columns * rows];
        let mut median = vec![0f32; columns * rows];
        let mut middle = vec![0f32; columns * rows];
        let raw = img.as_raw();
        for by in 0..rows {
            for bx in 0..columns {
                let mut hist = [0u32; 256];
                let mut n = 0;
                let (x0, y0) = (bx as u32 * BLOCK_PX, by as u32 * BLOCK_PX);
                for y in (y0..(y0 + BLOCK_PX).min(h)).step_by(4) {
                    let row = &raw[(y * w) as usize..];
                    for x in (x0..(x0 + BLOCK_PX).min(w)).step_by(4) {
                        hist[row[x as usize] as usize] += 1;
                        n += 1;
                    }
                }
                let high = percentile(&hist, n, 0.9);
                p90[by * columns + bx] = high;
                p10[by * columns + bx] = percentile(&hist, n, 0.1);
                middle[by * columns + bx] = middle_mean_of(&hist, n);
                // The light level: the median of the pixels near the top (a high
                // percentile would sit above it by the noise).
                let floor = (0.85 * high) as usize;
                let mut top = [0u32; 256];
                top[floor..].copy_from_slice(&hist[floor..]);
                let count: u32 = top.iter().sum();
                median[by * columns + bx] = percentile(&top, count, 0.5);
            }
        }
        let mut sorted = p90.clone();
        sorted.sort_by(f32::total_cmp);
        let reference = sorted[((sorted.len() - 1) as f64 * 0.95) as usize];
        let lit: Vec<bool> = p90.iter().map(|&v| v > 0.6 * reference).collect();
        // The part's level: the mean of the middle half of blocks that lie on it (a low
        // percentile would sit below it by the noise, and move the threshold with it).
        let mut dark_blocks: Vec<f32> =
            p90.iter().zip(&middle).filter(|&(&hi, _)| hi < 0.4 * reference).map(|(_, &m)| m).collect();
        let dark = if dark_blocks.is_empty() {
            // No block lies fully on the part: take the darkest blocks' low end.
            let mut lows = p10.clone();
            lows.sort_by(f32::total_cmp);
            lows[0]
        } else {
            dark_blocks.sort_by(f32::total_cmp);
            dark_blocks[dark_blocks.len() / 2]
        };
        let light = fill_in(&median, &lit, columns, rows);
        Levels { columns, rows, light, lit, dark }
    }

    /// The block a pixel lies in.
    pub(crate) fn block_of(&self, x: f64, y: f64) -> usize {
        let i = ((x.max(0.0) / BLOCK_PX as f64) as usize).min(self.columns - 1);
        let j = ((y.max(0.0) / BLOCK_PX as f64) as usize).min(self.rows - 1);
        j * self.columns + i
    }

    pub(crate) fn block_centre(&self, block: usize) -> (f64, f64) {
        let (i, j) = (block % self.columns, block / self.columns);
        (((i as u32 * BLOCK_PX) as f64 + BLOCK_PX as f64 / 2.0), ((j as u32 * BLOCK_PX) as f64 + BLOCK_PX as f64 / 2.0))
    }

    pub(crate) fn is_lit(&self, block: usize) -> bool {
        self.lit[block]
    }

    /// Whether the light seen at a block (seen or filled in) is at the sensor's white.
    pub(crate) fn is_clipped(&self, block: usize) -> bool {
        self.light[block] >= crate::clipping::CLIPPED_LEVEL
    }

    /// The share of the lit table at white (254 or 255, sampled on every 4th pixel of
    /// every 16th row), and a refusal of a table too dark to tell from the part.
    fn check_exposure(&self, img: &GrayImage) -> Result<f64, PhotoError> {
        let mut sorted = self.light.clone();
        sorted.sort_by(f32::total_cmp);
        let (light, dark) = (sorted[sorted.len() / 2] as f64, self.dark as f64);
        let (w, h) = img.dimensions();
        let (mut clipped, mut lit) = (0u64, 0u64);
        let mut threshold = vec![0f32; w as usize];
        for y in (0..h).step_by(16) {
            self.threshold_row(y, &mut threshold);
            let row = &img.as_raw()[(y * w) as usize..((y + 1) * w) as usize];
            for (v, t) in row.iter().zip(&threshold).step_by(4) {
                if *v as f32 >= *t {
                    lit += 1;
                    clipped += (*v >= 254) as u64;
                }
            }
        }
        let clipped_fraction = clipped as f64 / lit.max(1) as f64;
        if light - dark < 30.0 {
            return Err(PhotoError::NoContrast { light, dark });
        }
        Ok(100.0 * clipped_fraction)
    }

    /// The light level at pixel `(x, y)`: bilinear between block centres.
    pub(crate) fn light_at(&self, x: f64, y: f64) -> f32 {
        let gx = (x + 0.5) / BLOCK_PX as f64 - 0.5;
        let gy = (y + 0.5) / BLOCK_PX as f64 - 0.5;
        let cx = gx.clamp(0.0, (self.columns - 1) as f64);
        let cy = gy.clamp(0.0, (self.rows - 1) as f64);
        let (ix, iy) = (cx.floor() as usize, cy.floor() as usize);
        let (jx, jy) = ((ix + 1).min(self.columns - 1), (iy + 1).min(self.rows - 1));
        let (fx, fy) = ((cx - ix as f64) as f32, (cy - iy as f64) as f32);
        let v = |i: usize, j: usize| self.light[j * self.columns + i];
        let top = v(ix, iy) * (1.0 - fx) + v(jx, iy) * fx;
        let bottom = v(ix, jy) * (1.0 - fx) + v(jx, jy) * fx;
        top * (1.0 - fy) + bottom * fy
    }

    fn threshold_at(&self, x: u32, y: u32) -> f32 {
        self.threshold_at_px(x as f64, y as f64)
    }

    /// The threshold at a sub-pixel point.
    pub(crate) fn threshold_at_px(&self, x: f64, y: f64) -> f32 {
        (self.light_at(x, y) + self.dark) / 2.0
    }

    /// The threshold along row `y` (as [`Self::threshold_at`], a block at a time).
    fn threshold_row(&self, y: u32, out: &mut [f32]) {
        let gy = ((y as f64 + 0.5) / BLOCK_PX as f64 - 0.5).clamp(0.0, (self.rows - 1) as f64);
        let iy = gy.floor() as usize;
        let (jy, fy) = ((iy + 1).min(self.rows - 1), (gy - iy as f64) as f32);
        // The light level at each block column's centre on this row.
        let column: Vec<f32> = (0..self.columns)
            .map(|i| self.light[iy * self.columns + i] * (1.0 - fy) + self.light[jy * self.columns + i] * fy)
            .collect();
        let (half, block, w) = (BLOCK_PX as usize / 2, BLOCK_PX as usize, out.len());
        let dark = self.dark;
        // Left of the first centre and right of the last: flat.
        let first_end = half.min(w);
        out[..first_end].fill((column[0] + dark) / 2.0);
        for i in 0..self.columns.saturating_sub(1) {
            let (x0, x1) = (half + i * block, (half + (i + 1) * block).min(w));
            if x0 >= w {
                break;
            }
            let (a, b) = (column[i], column[i + 1]);
            for (k, t) in out[x0..x1].iter_mut().enumerate() {
                let fx = (k as f32 + 0.5) / block as f32;
                *t = (a + (b - a) * fx + dark) / 2.0;
            }
        }
        let last_start = (half + (self.columns - 1) * block).min(w);
        out[last_start..].fill((column[self.columns - 1] + dark) / 2.0);
    }
}

fn percentile(hist: &[u32; 256], n: u32, q: f64) -> f32 {
    let target = (n as f64 * q).ceil() as u32;
    let mut seen = 0;
    for (v, &c) in hist.iter().enumerate() {
        seen += c;
        if seen >= target.max(1) {
            return v as f32;
        }
    }
    255.0
}

/// The mean of the middle half of a histogram's `n` values.
fn middle_mean_of(hist: &[u32; 256], n: u32) -> f32 {
    let (from, to) = (n / 4, n - n / 4);
    let (mut rank, mut sum, mut count) = (0u32, 0.0f64, 0u32);
    for (v, &c) in hist.iter().enumerate() {
        let (lo, hi) = (rank.max(from), (rank + c).min(to));
        if hi > lo {
            sum += v as f64 * (hi - lo) as f64;
            count += hi - lo;
        }
        rank += c;
    }
    if count == 0 { percentile(hist, n, 0.5) } else { (sum / count as f64) as f32 }
}

/// Blocks not lit take the mean of their lit (or already filled) neighbours, in
/// rings growing from the lit ones.
fn fill_in(values: &[f32], known: &[bool], columns: usize, rows: usize) -> Vec<f32> {
    let mut out = values.to_vec();
    let mut known = known.to_vec();
    if !known.iter().any(|&k| k) {
        return out;
    }
    loop {
        let mut next = known.clone();
        let mut changed = false;
        for j in 0..rows {
            for i in 0..columns {
                if known[j * columns + i] {
                    continue;
                }
                let (mut sum, mut n) = (0.0, 0);
                for dj in -1i64..=1 {
                    for di in -1i64..=1 {
                        let (ni, nj) = (i as i64 + di, j as i64 + dj);
                        if ni >= 0 && nj >= 0 && (ni as usize) < columns && (nj as usize) < rows {
                            let k = nj as usize * columns + ni as usize;
                            if known[k] {
                                sum += out[k];
                                n += 1;
                            }
                        }
                    }
                }
                if n > 0 {
                    out[j * columns + i] = sum / n as f32;
                    next[j * columns + i] = true;
                    changed = true;
                }
            }
        }
        known = next;
        if !changed {
            return out;
        }
    }
}

struct UnionFind(Vec<u32>);

impl UnionFind {
    fn add(&mut self) -> u32 {
        self.0.push(self.0.len() as u32);
        (self.0.len() - 1) as u32
    }
    fn find(&mut self, mut a: u32) -> u32 {
        while self.0[a as usize] != a {
            let up = self.0[self.0[a as usize] as usize];
            self.0[a as usize] = up;
            a = up;
        }
        a
    }
    fn union(&mut self, a: u32, b: u32) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            self.0[a.max(b) as usize] = a.min(b);
        }
    }
}

/// Runs of one row (lit ones, and the material between them), by index range.
struct Row {
    lit: std::ops::Range<usize>,
    material: std::ops::Range<usize>,
}

impl Silhouette {
    pub fn find(img: &GrayImage) -> Result<Self, PhotoError> {
        let (w, h) = img.dimensions();
        if w < 64 || h < 64 {
            return Err(PhotoError::TooSmall(w, h));
        }
        let levels = Levels::estimate(img);
        let clipped_percent = levels.check_exposure(img)?;
        let raw = img.as_raw();
        let mut threshold = vec![0f32; w as usize];
        // The threshold as a whole level per pixel (a pixel is lit when it is at least
        // that), taken anew every 8 rows: the backlight changes far slower than that.
        let mut threshold_u8 = vec![0u8; w as usize];
        let mut lit_bits = vec![0u64; (w as usize).div_ceil(64)];
        // Runs: (x0, x1, provisional label).
        let mut lit_runs: Vec<(u32, u32, u32, u32)> = Vec::new();
        let mut material_runs: Vec<(u32, u32, u32, u32)> = Vec::new();
        let mut rows: Vec<Row> = Vec::with_capacity(h as usize);
        let (mut lit_uf, mut material_uf) = (UnionFind(Vec::new()), UnionFind(Vec::new()));
        for y in 0..h {
            let row = &raw[(y * w) as usize..((y + 1) * w) as usize];
            if y % 8 == 0 {
                levels.threshold_row((y + 4).min(h - 1), &mut threshold);
                for (t8, t) in threshold_u8.iter_mut().zip(&threshold) {
                    *t8 = t.ceil().clamp(0.0, 255.0) as u8;
                }
            }
            lit_mask(row, &threshold_u8, &mut lit_bits);
            let (lit_start, material_start) = (lit_runs.len(), material_runs.len());
            let mut push = |start: u32, end: u32, lit: bool| {
                if lit {
                    lit_runs.push((y, start, end, lit_uf.add()));
                } else {
                    material_runs.push((y, start, end, material_uf.add()));
                }
            };
            // Walk the changes between neighbouring pixels, a word of 64 at a time.
            let mut state = lit_bits[0] & 1 == 1;
            let mut start = 0u32;
            for (k, &m) in lit_bits.iter().enumerate() {
                let valid = (w as usize - 64 * k).min(64);
                let mask = if valid == 64 { u64::MAX } else { (1u64 << valid) - 1 };
                let previous = if state { 1 } else { 0 };
                let mut changes = (m ^ ((m << 1) | previous)) & mask;
                while changes != 0 {
                    let i = changes.trailing_zeros();
                    let x = 64 * k as u32 + i;
                    if x > start {
                        push(start, x, state);
                    }
                    start = x;
                    state = !state;
                    changes &= changes - 1;
                }
            }
            push(start, w, state);
            let here = Row { lit: lit_start..lit_runs.len(), material: material_start..material_runs.len() };
            if let Some(above) = rows.last() {
                join(&lit_runs, above.lit.clone(), here.lit.clone(), 0, &mut lit_uf);
                join(&material_runs, above.material.clone(), here.material.clone(), 1, &mut material_uf);
            }
            rows.push(here);
        }
        let (lit, lit_label) = components(&lit_runs, &mut lit_uf, w, h);
        let (material, material_label) = components(&material_runs, &mut material_uf, w, h);
        let runs: Vec<Run> = lit_runs
            .iter()
            .enumerate()
            .map(|(i, &(y, x0, x1, _))| Run { y, x0, x1, component: lit_label[i] })
            .collect();
        let dark_runs: Vec<Run> = material_runs
            .iter()
            .enumerate()
            .map(|(i, &(y, x0, x1, _))| Run { y, x0, x1, component: material_label[i] })
            .collect();
        // Edge points.
        let value = |x: u32, y: u32| raw[(y * w + x) as usize] as f32 - levels.threshold_at(x, y);
        let mut edges = Vec::new();
        let mut widths = Vec::new();
        let mut crossing = |a: (u32, u32), b: (u32, u32), lit: u32, material: u32| {
            let (va, vb) = (value(a.0, a.1), value(b.0, b.1));
            let t = (va / (va - vb)).clamp(0.0, 1.0) as f64;
            let px = Px::new(a.0 as f64 + t * (b.0 as f64 - a.0 as f64), a.1 as f64 + t * (b.1 as f64 - a.1 as f64));
            edges.push(EdgePoint { px, lit, material });
            let contrast = 2.0 * (levels.threshold_at(a.0, a.1) - levels.dark);
            if contrast > 0.0 && edges.len() % 7 == 0 {
                // The slope across the edge: the step from `a` to `b` and, across it, the
                // mean of both pixels' central differences (a slanted edge crossed along
                // a row is steeper than it seems along the row).
                let across = |(x, y): (u32, u32)| {
                    let (x, y) = (x as i64, y as i64);
                    let (dx, dy) = if a.1 == b.1 { (0, 1) } else { (1, 0) };
                    let at = |x: i64, y: i64| {
                        (x >= 0 && y >= 0 && x < w as i64 && y < h as i64)
                            .then(|| raw[(y as u32 * w + x as u32) as usize] as f32)
                    };
                    Some((at(x + dx, y + dy)? - at(x - dx, y - dy)?) / 2.0)
                };
                let along = va - vb;
                let across = across(a).zip(across(b)).map_or(0.0, |(p, q)| (p + q) / 2.0);
                widths.push(contrast / (along * along + across * across).sqrt().max(1e-3));
            }
        };
        for (y, row) in rows.iter().enumerate() {
            let y = y as u32;
            // Along the row: at each end of a lit run inside the picture.
            let mats = &material_runs[row.material.clone()];
            let mat_label = |x: u32| {
                let k = mats.partition_point(|r| r.2 <= x);
                material_label[row.material.start + k]
            };
            for i in row.lit.clone() {
                let (_, x0, x1, _) = lit_runs[i];
                if x0 > 0 {
                    crossing((x0 - 1, y), (x0, y), lit_label[i], mat_label(x0 - 1));
                }
                if x1 < w {
                    crossing((x1, y), (x1 - 1, y), lit_label[i], mat_label(x1));
                }
            }
            // Down to the next row: where one is lit and the other not.
            if let Some(next) = rows.get(y as usize + 1) {
                for (upper, lower, dy) in [(row, next, 1i32), (next, row, -1)] {
                    // Pixels lit in `upper`'s row and material in `lower`'s row.
                    let lower_mats = &material_runs[lower.material.clone()];
                    for i in upper.lit.clone() {
                        let (ly, x0, x1, _) = lit_runs[i];
                        let k0 = lower_mats.partition_point(|r| r.2 <= x0);
                        for (k, m) in lower_mats.iter().enumerate().skip(k0) {
                            if m.1 >= x1 {
                                break;
                            }
                            let my = (ly as i32 + dy) as u32;
                            for x in x0.max(m.1)..x1.min(m.2) {
                                crossing((x, my), (x, ly), lit_label[i], material_label[lower.material.start + k]);
                            }
                        }
                    }
                }
            }
        }
        widths.sort_by(f32::total_cmp);
        let mut edge_width_px = widths.get(widths.len() / 2).copied().unwrap_or(0.0) as f64;
        // Only the edges of what may be a part tell the light and the blur (not those of
        // dust, whose dark level is not the material's).
        let min_px = min_part_px(w, h);
        let of_parts: Vec<bool> = material.iter().map(|c| c.area_px >= min_px).collect();
        let clipping =
            crate::clipping::place_edges(img, &levels, &mut edges, |e| of_parts[e.material as usize], clipped_percent)?;
        if let Some(sigma) = clipping.blur_sigma_px {
            edge_width_px = 2.5066 * crate::clipping::pixel_sigma_px(sigma);
        }
        Ok(Silhouette {
            width: w,
            height: h,
            lit,
            material,
            lit_runs: runs,
            material_runs: dark_runs,
            edges,
            edge_width_px,
            clipping,
            levels,
        })
    }

    /// The blur's standard deviation in pixels as the pixels see it (the lens's and the
    /// pixel's width together): read on the edges' dark side where the light is
    /// clipped, else from the edges' width.
    pub fn blur_sigma_px(&self) -> f64 {
        self.edge_width_px / 2.5066
    }

    /// Refuses a blurred photo.
    pub fn check_sharp(&self, limit_px: f64) -> Result<(), PhotoError> {
        if self.edge_width_px > limit_px {
            return Err(PhotoError::Blurred { width_px: self.edge_width_px, limit_px });
        }
        Ok(())
    }

    /// The levels right around lit component `lit`, over its box widened by
    /// `margin_px`: the material's (the median of the box's rim) and the light's through
    /// it (the median of its pixels well inside, 3 px from the edge of a round region),
    /// as a gain on the backlight's shape (1: as the table around). `None` when the box
    /// meets the border, another lit region, or clipped light (which carries no
    /// measure of the light).
    fn local_levels(&self, img: &GrayImage, lit: u32, margin_px: u32) -> Option<LocalLevels> {
        let c = &self.lit[lit as usize];
        let (x0, y0) = (c.min.0.checked_sub(margin_px)?, c.min.1.checked_sub(margin_px)?);
        let (x1, y1) = (c.max.0 + margin_px, c.max.1 + margin_px);
        if x1 >= self.width || y1 >= self.height {
            return None;
        }
        for (x, y) in [(x0, y0), (x1, y0), (x0, y1), (x1, y1), ((x0 + x1) / 2, (y0 + y1) / 2)] {
            if self.levels.is_clipped(self.levels.block_of(x as f64, y as f64)) {
                return None;
            }
        }
        let first = self.lit_runs.partition_point(|r| r.y < y0);
        for r in self.lit_runs[first..].iter().take_while(|r| r.y <= y1) {
            if r.component != lit && r.x0 <= x1 && r.x1 > x0 {
                return None;
            }
        }
        let mut rim: Vec<u8> = (x0..=x1)
            .flat_map(|x| [img.get_pixel(x, y0).0[0], img.get_pixel(x, y1).0[0]])
            .chain((y0..=y1).flat_map(|y| [img.get_pixel(x0, y).0[0], img.get_pixel(x1, y).0[0]]))
            .collect();
        rim.sort_unstable();
        // Means of the middle halves: a median of whole grey levels is itself whole, half
        // a level off the true one, which over the box is a share of a hole's area.
        let dark = middle_mean(rim.iter().map(|&v| v as f32));
        let centre = c.centroid_px();
        let inner_px = (c.area_px as f64 / std::f64::consts::PI).sqrt() - 3.0;
        let mut inner: Vec<f32> = Vec::new();
        if inner_px > 1.5 {
            for y in (centre.y - inner_px).ceil() as u32..=(centre.y + inner_px).floor() as u32 {
                for x in (centre.x - inner_px).ceil() as u32..=(centre.x + inner_px).floor() as u32 {
                    if (x as f64 - centre.x).powi(2) + (y as f64 - centre.y).powi(2) <= inner_px * inner_px {
                        inner.push(img.get_pixel(x, y).0[0] as f32 / self.levels.light_at(x as f64, y as f64));
                    }
                }
            }
        }
        inner.sort_by(f32::total_cmp);
        let gain = (inner.len() >= 9).then(|| middle_mean(inner.iter().copied()));
        Some(LocalLevels { x0, y0, x1, y1, dark, gain })
    }

    /// The lit area of component `lit` in pixels, from the light that reaches the
    /// camera through it: Σ (I − dark) / (light − dark) over its box widened by
    /// `margin_px`. Blur moves light around but keeps its sum, so this area is free of
    /// the blur's bias on curved edges. `None` when the box meets another lit region,
    /// clipped light or the border.
    pub fn lit_area_px(&self, img: &GrayImage, lit: u32, margin_px: u32) -> Option<f64> {
        let LocalLevels { x0, y0, x1, y1, dark, gain } = self.local_levels(img, lit, margin_px)?;
        let gain = gain.unwrap_or(1.0);
        let mut area = 0.0;
        for y in y0..=y1 {
            for x in x0..=x1 {
                let light = gain * self.levels.light_at(x as f64, y as f64);
                area += ((img.get_pixel(x, y).0[0] as f32 - dark) / (light - dark).max(1.0)) as f64;
            }
        }
        Some(area)
    }

    /// How far (px, positive: outwards) the edge of lit component `lit` was found from
    /// where its own levels put it: the threshold used is the table's, interpolated
    /// over the part; the region's half level is half-way between the material around
    /// it and the light through it. A blurred edge of `sigma_px` rises by
    /// `(light − dark) / (σ √2π)` per pixel at its middle. `None` where
    /// [`Self::lit_area_px`] has no levels or the region is too small to show its light.
    pub fn threshold_offset_px(&self, img: &GrayImage, lit: u32, margin_px: u32, sigma_px: f64) -> Option<f64> {
        let LocalLevels { dark, gain, .. } = self.local_levels(img, lit, margin_px)?;
        let at = self.lit[lit as usize].centroid_px();
        let light = gain? * self.levels.light_at(at.x, at.y);
        let slope = (light - dark) as f64 / (sigma_px * (2.0 * std::f64::consts::PI).sqrt());
        (slope > 1.0).then(|| ((light + dark) as f64 / 2.0 - self.levels.threshold_at_px(at.x, at.y) as f64) / slope)
    }

    /// The one part on the table: its material component, or why there is none.
    pub fn part(&self) -> Result<u32, PhotoError> {
        let min_px = min_part_px(self.width, self.height);
        let mut big: Vec<(u32, &Component)> =
            self.material.iter().enumerate().filter(|(_, c)| c.area_px >= min_px).map(|(i, c)| (i as u32, c)).collect();
        big.sort_by_key(|(_, c)| std::cmp::Reverse(c.area_px));
        let Some(&(part, largest)) = big.first() else {
            return Err(PhotoError::NoPart { min_px });
        };
        let count = big.iter().filter(|(_, c)| c.area_px * 10 >= largest.area_px).count();
        if count > 1 {
            return Err(PhotoError::SeveralParts { count });
        }
        if largest.touches_border {
            return Err(PhotoError::TouchesBorder);
        }
        Ok(part)
    }

    /// The lit components inside the part (its holes and cut-outs), smallest specks
    /// of `min_area_px` and below left out.
    pub fn holes_of(&self, part: u32, min_area_px: u64) -> Vec<u32> {
        let mut inside = vec![false; self.lit.len()];
        for e in &self.edges {
            if e.material == part {
                inside[e.lit as usize] = true;
            }
        }
        (0..self.lit.len() as u32)
            .filter(|&i| {
                inside[i as usize] && !self.lit[i as usize].touches_border && self.lit[i as usize].area_px > min_area_px
            })
            .collect()
    }
}

/// The least area of a part: a two-thousandth of the photo, at least 400 px.
fn min_part_px(w: u32, h: u32) -> u64 {
    ((w as u64 * h as u64) / 2000).max(400)
}

/// Bit `i` of word `k`: pixel `64 k + i` is at least its threshold.
fn lit_mask(row: &[u8], threshold: &[u8], bits: &mut [u64]) {
    let whole = row.len() / 64;
    #[cfg(target_arch = "x86_64")]
    for (k, word) in bits.iter_mut().enumerate().take(whole) {
        use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8};
        let mut m = 0u64;
        for j in 0..4 {
            let at = 64 * k + 16 * j;
            // SAFETY: SSE2 is part of every x86-64 CPU; `at + 16 <= 64 * whole <= len`
            // for both slices, so the unaligned 16-byte loads stay inside them.
            let lanes = unsafe {
                let p = _mm_loadu_si128(row.as_ptr().add(at) as *const __m128i);
                let t = _mm_loadu_si128(threshold.as_ptr().add(at) as *const __m128i);
                // p >= t exactly where max(p, t) == p.
                _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(p, t), p)) as u16
            };
            m |= (lanes as u64) << (16 * j);
        }
        *word = m;
    }
    #[cfg(target_arch = "x86_64")]
    let first = whole;
    #[cfg(not(target_arch = "x86_64"))]
    let first = 0;
    for (k, word) in bits.iter_mut().enumerate().skip(first) {
        let end = (64 * k + 64).min(row.len());
        let mut m = 0u64;
        for (i, (p, t)) in row[64 * k..end].iter().zip(&threshold[64 * k..end]).enumerate() {
            m |= ((p >= t) as u64) << i;
        }
        *word = m;
    }
}

/// Joins the runs of two neighbouring rows that touch: overlapping (lit, 4-connected)
/// or overlapping when widened by `widen` (material, 8-connected).
fn join(
    runs: &[(u32, u32, u32, u32)],
    above: std::ops::Range<usize>,
    here: std::ops::Range<usize>,
    widen: u32,
    uf: &mut UnionFind,
) {
    let (mut i, mut j) = (above.start, here.start);
    while i < above.end && j < here.end {
        let (a, b) = (runs[i], runs[j]);
        if a.1 < b.2 + widen && b.1 < a.2 + widen {
            uf.union(a.3, b.3);
        }
        if a.2 < b.2 {
            i += 1;
        } else {
            j += 1;
        }
    }
}

/// Final labels (dense, 0..) of every run, and each component's figures.
fn components(runs: &[(u32, u32, u32, u32)], uf: &mut UnionFind, w: u32, h: u32) -> (Vec<Component>, Vec<u32>) {
    let mut dense = vec![u32::MAX; uf.0.len()];
    let mut comps: Vec<Component> = Vec::new();
    let mut labels = Vec::with_capacity(runs.len());
    for &(y, x0, x1, provisional) in runs {
        let root = uf.find(provisional) as usize;
        if dense[root] == u32::MAX {
            dense[root] = comps.len() as u32;
            comps.push(Component::default());
        }
        let label = dense[root];
        comps[label as usize].add_run(y, x0, x1, w, h);
        labels.push(label);
    }
    (comps, labels)
}

/// The mean of the middle half of sorted values.
fn middle_mean(sorted: impl ExactSizeIterator<Item = f32>) -> f32 {
    let n = sorted.len();
    let (from, to) = (n / 4, n - n / 4);
    let middle: Vec<f32> = sorted.skip(from).take(to - from).collect();
    middle.iter().sum::<f32>() / middle.len().max(1) as f32
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_threshold_row_is_the_thresholds_of_its_pixels() {
        let img = image::GrayImage::from_fn(300, 200, |x, y| image::Luma([(100 + (x * 7 + y * 3) % 120) as u8]));
        let levels = super::Levels::estimate(&img);
        for y in [0, 31, 32, 33, 100, 199] {
            let mut row = vec![0f32; 300];
            levels.threshold_row(y, &mut row);
            for (x, t) in row.iter().enumerate() {
                let exact = levels.threshold_at(x as u32, y);
                assert!((t - exact).abs() < 1e-3, "({x}, {y}): {t} vs {exact}");
            }
        }
    }

    #[test]
    fn lit_mask_marks_the_pixels_at_or_above_their_threshold() {
        let row: Vec<u8> = (0..200u32).map(|i| (i * 37 % 256) as u8).collect();
        let threshold: Vec<u8> = (0..200u32).map(|i| (i * 91 % 256) as u8).collect();
        let mut bits = vec![0u64; 4];
        super::lit_mask(&row, &threshold, &mut bits);
        for i in 0..200 {
            assert_eq!(bits[i / 64] >> (i % 64) & 1 == 1, row[i] >= threshold[i], "pixel {i}");
        }
    }
}
