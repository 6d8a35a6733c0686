//! Edges seen through a backlight clipped at white.
//!
//! Where the backlight is brighter than the sensor's white, the lit side of each edge
//! is cut off at 255: the threshold half-way between "white" and the material's dark
//! level no longer stands at half the true light but at a share `f < 1/2` of it, on
//! the dark side of the true edge. The dark side still shows the blur's shape. An edge
//! is modelled as the lens's Gaussian blur `σ` gathered over a pixel's width,
//! `P(s) = ∫ Φ((s + u) / σ) du` for `u` in `[−½, ½]` ([`pixel_cdf`]):
//!
//! 1. the pixels along the normals of a block's edge points (at most 40 points where
//!    the edge runs straight, those at white left out; each normal from the line
//!    through the edge points around it) are fitted together with `d + A P(s − e_i)`:
//!    the dark level, the true light above it and the blur shared, each point's edge
//!    `e_i` its own (the points found at the threshold stray from the edge with their
//!    phase on the pixel grid). Where some of the table is seen whole (below 225), the
//!    blur is read there and held fixed; else the blocks' median blur is, and the
//!    blocks are fitted again with it (alone, blur and light trade along a valley);
//! 2. the true light is smooth over the table: a quadratic surface is fitted to the
//!    clipped blocks' light and the light of the blocks seen whole, blocks that stray
//!    from it left out;
//! 3. every edge point where that surface stands above what was seen is placed by its
//!    own pixels under the profile of that light and blur, towards the lit side; where
//!    they do not show the edge's rise, by `−P⁻¹(f)` and the median over the blocks of
//!    what the fits put beyond it.
//!
//! A photo is refused only when the edges themselves are gone: the threshold stands
//! below [`MIN_EDGE_LEVEL`] of the true light, no block's edges can be fitted, or the
//! dark side is so short that the blur reads sharper than [`MIN_BLUR_SIGMA_PX`] (a sharp
//! edge with little light behind it and a soft one with much cannot be told apart).
//!
//! Only the edges of material large enough to be a part are read (not dust's).
//! Invariants: nothing moves where the table is not clipped; a point moves along its
//! own edge's normal, towards the light, by at most [`MAX_SHIFT_SIGMA`] times the blur
//! seen at whole pixels ([`pixel_sigma_px`]).

use image::GrayImage;
use nalgebra::{DMatrix, DVector};

use crate::silhouette::{EdgePoint, Levels, PhotoError};
use crate::table::Px;

/// Below this share of the true light at the threshold the edge is washed out.
pub const MIN_EDGE_LEVEL: f64 = 0.04;
/// The largest move of an edge point, in blur widths seen at whole pixels:
/// `−Φ⁻¹(MIN_EDGE_LEVEL)`.
pub const MAX_SHIFT_SIGMA: f64 = 1.76;
/// The width of a pixel's light-gathering area across an edge, in pixels.
const PIXEL_WIDTH_PX: f64 = 1.0;
/// How much brighter one place of the table's light may be than another's (1: twice).
const MAX_LIGHT_UNEVENNESS: f64 = 1.0;
/// A block's light is taken as clipped at this level and above.
pub const CLIPPED_LEVEL: f32 = 250.0;
/// The pixels read along each edge point's normal: this far into the material and
/// towards the light.
const DARK_SIDE_PX: i64 = 6;
const LIT_SIDE_PX: i64 = 2;
/// Blocks whose light is below this show both sides of their edges whole (their
/// noise stays clear of white).
const SEEN_WHOLE_LEVEL: f32 = 225.0;
/// A blur read as sharper than this on the dark side alone means that side is too
/// short to read (no camera over a table images an edge sharper).
pub const MIN_BLUR_SIGMA_PX: f64 = 0.5;
/// Edge points a block needs for its fit.
const MIN_POINTS_PER_BLOCK: usize = 12;
/// Edge points around one spread across their line by at most this much where the
/// edge runs straight (a hole of 3 mm at 0.15 mm/px: 0.16 px; a corner: about 1 px).
const STRAIGHT_SPREAD_PX: f64 = 0.3;
/// The edge points around one that give its normal: this near.
const CONTOUR_REACH_PX: f64 = 3.5;

/// What the clipping did to a photo, and what placing the edges through it costs.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Clipping {
    /// The share of the lit table at white (254 or 255), in per cent.
    pub clipped_percent: f64,
    /// Edge points moved because the light behind them was clipped.
    pub edges_moved: usize,
    /// The lens's blur (its standard deviation, in pixels, the pixel's own width
    /// apart), read on the dark side of the edges.
    pub blur_sigma_px: Option<f64>,
    /// The median share of the true light at which the threshold crossed a moved edge.
    pub edge_level: Option<f64>,
    /// The median move of a moved edge point towards the light, in pixels.
    pub median_shift_px: Option<f64>,
    /// The estimated standard error of a moved edge's place, in pixels: the spread of
    /// the blur and light estimates plus a tenth of the move for the blur's true shape.
    pub estimated_error_px: Option<f64>,
    /// The same on the table, at the part (set by the inspection).
    #[serde(default)]
    pub estimated_error_mm: Option<f64>,
}

/// The cumulative normal distribution.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// The standard normal density.
fn normal_density(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// The inverse of [`normal_cdf`] on `(0, 1)`: a rational start refined by Newton
/// steps (to 1e-12; fast enough for one call per edge point).
pub fn normal_quantile(p: f64) -> f64 {
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    // Start: Abramowitz and Stegun 26.2.23 (within 4.5e-4).
    let tail = p.min(1.0 - p);
    let t = (-2.0 * tail.ln()).sqrt();
    let mut x = t
        - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1.0 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t);
    if p < 0.5 {
        x = -x;
    }
    for _ in 0..4 {
        x -= (normal_cdf(x) - p) / normal_density(x);
    }
    x
}

/// `∫ Φ(z) dz`: `z Φ(z) + φ(z)`.
fn normal_cdf_integral(z: f64) -> f64 {
    z * normal_cdf(z) + normal_density(z)
}

/// The share of the light behind a straight edge that a pixel centred `s_px` from it
/// (towards the light) gathers, through a lens's Gaussian blur of `sigma_px`: the blur
/// averaged over the pixel's width, `∫ Φ((s + u) / σ) du` for `u` in `[−½, ½]`. The
/// dark side alone is all a clipped edge shows of the blur's shape, and its tail is
/// where a pixel's width and a smooth `Φ` of the same spread differ most.
pub fn pixel_cdf(s_px: f64, sigma_px: f64) -> f64 {
    let half = 0.5 * PIXEL_WIDTH_PX;
    sigma_px / PIXEL_WIDTH_PX
        * (normal_cdf_integral((s_px + half) / sigma_px) - normal_cdf_integral((s_px - half) / sigma_px))
}

/// The slope of [`pixel_cdf`] in `s`.
fn pixel_slope(s_px: f64, sigma_px: f64) -> f64 {
    let half = 0.5 * PIXEL_WIDTH_PX;
    (normal_cdf((s_px + half) / sigma_px) - normal_cdf((s_px - half) / sigma_px)) / PIXEL_WIDTH_PX
}

/// The slope of [`pixel_cdf`] in `σ`.
fn pixel_sigma_slope(s_px: f64, sigma_px: f64) -> f64 {
    let half = 0.5 * PIXEL_WIDTH_PX;
    (normal_density((s_px + half) / sigma_px) - normal_density((s_px - half) / sigma_px)) / PIXEL_WIDTH_PX
}

/// The blur's standard deviation seen at whole pixels: the lens's `sigma_px` and the
/// pixel's width (a box of variance 1/12) together.
pub fn pixel_sigma_px(sigma_px: f64) -> f64 {
    (sigma_px * sigma_px + PIXEL_WIDTH_PX * PIXEL_WIDTH_PX / 12.0).sqrt()
}

/// The inverse of [`pixel_cdf`] in `s` on `(0, 1)`: Newton steps from the Gaussian of
/// the same spread.
pub fn pixel_quantile(p: f64, sigma_px: f64) -> f64 {
    let p = p.clamp(1e-9, 1.0 - 1e-9);
    let mut s = pixel_sigma_px(sigma_px) * normal_quantile(p);
    for _ in 0..8 {
        let slope = pixel_slope(s, sigma_px);
        if slope < 1e-12 {
            break;
        }
        let step = (pixel_cdf(s, sigma_px) - p) / slope;
        s -= step.clamp(-1.0, 1.0);
        if step.abs() < 1e-9 {
            break;
        }
    }
    s
}

/// The image at a pixel, if it is inside.
fn pixel(img: &GrayImage, x: i64, y: i64) -> Option<f32> {
    let (w, h) = img.dimensions();
    (x >= 0 && y >= 0 && x < w as i64 && y < h as i64).then(|| img.as_raw()[(y as u32 * w + x as u32) as usize] as f32)
}

/// The unit normal towards the light at a point (Sobel at its nearest pixel).
fn normal_at(img: &GrayImage, p: Px) -> Option<(f64, f64)> {
    let (x, y) = (p.x.round() as i64, p.y.round() as i64);
    let v = |dx: i64, dy: i64| pixel(img, x + dx, y + dy).map(f64::from);
    let gx = (v(1, -1)? + 2.0 * v(1, 0)? + v(1, 1)?) - (v(-1, -1)? + 2.0 * v(-1, 0)? + v(-1, 1)?);
    let gy = (v(-1, 1)? + 2.0 * v(0, 1)? + v(1, 1)?) - (v(-1, -1)? + 2.0 * v(0, -1)? + v(1, -1)?);
    let norm = (gx * gx + gy * gy).sqrt();
    (norm > 1e-6).then(|| (gx / norm, gy / norm))
}

/// An edge point's unit normal towards the light, and whether the edge runs straight
/// through it (no corner near: the dark side along the normal shows one edge's blur).
#[derive(Clone, Copy, Debug)]
struct Normal {
    towards_light: (f64, f64),
    straight: bool,
}

/// Each edge point's unit normal towards the light, from the line through the edge
/// points around it (within [`CONTOUR_REACH_PX`], between the same two regions):
/// where the light is clipped, a gradient across the edge leans towards the nearest
/// axis (its pixels on the lit side all read white), and a degree or two of lean
/// reads the light behind the edge several per cent off. Turned towards the light by
/// the gradient's sign; the gradient alone where too few points are around.
fn contour_normals(img: &GrayImage, edges: &[EdgePoint], wanted: &[bool]) -> Vec<Option<Normal>> {
    // The wanted points on a grid of 4 px cells, each cell a list through `next`.
    const CELL_PX: f64 = 4.0;
    const NONE: u32 = u32::MAX;
    let (w, h) = img.dimensions();
    let (columns, rows) = ((w as f64 / CELL_PX) as usize + 1, (h as f64 / CELL_PX) as usize + 1);
    let cell = |p: Px| {
        let (x, y) = ((p.x / CELL_PX).floor(), (p.y / CELL_PX).floor());
        (x >= 0.0 && y >= 0.0 && (x as usize) < columns && (y as usize) < rows).then_some((x as usize, y as usize))
    };
    let (mut head, mut next) = (vec![NONE; columns * rows], vec![NONE; edges.len()]);
    for (i, e) in edges.iter().enumerate().filter(|(i, _)| wanted[*i]) {
        if let Some((x, y)) = cell(e.px) {
            next[i] = head[y * columns + x];
            head[y * columns + x] = i as u32;
        }
    }
    let reach2 = CONTOUR_REACH_PX * CONTOUR_REACH_PX;
    edges
        .iter()
        .enumerate()
        .map(|(i, e)| {
            if !wanted[i] {
                return None;
            }
            let gradient = normal_at(img, e.px)?;
            let (cx, cy) = cell(e.px)?;
            let (mut n, mut sx, mut sy, mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
            for y in cy.saturating_sub(1)..(cy + 2).min(rows) {
                for x in cx.saturating_sub(1)..(cx + 2).min(columns) {
                    let mut j = head[y * columns + x];
                    while j != NONE {
                        let o = &edges[j as usize];
                        j = next[j as usize];
                        let (dx, dy) = (o.px.x - e.px.x, o.px.y - e.px.y);
                        if o.lit != e.lit || o.material != e.material || dx * dx + dy * dy > reach2 {
                            continue;
                        }
                        n += 1.0;
                        (sx, sy, sxx, syy, sxy) = (sx + dx, sy + dy, sxx + dx * dx, syy + dy * dy, sxy + dx * dy);
                    }
                }
            }
            if n < 5.0 {
                return Some(Normal { towards_light: gradient, straight: false });
            }
            let (vxx, vyy, vxy) = (sxx / n - (sx / n).powi(2), syy / n - (sy / n).powi(2), sxy / n - sx * sy / (n * n));
            // The direction of least spread: the normal of the points' line.
            let along = 0.5 * (2.0 * vxy).atan2(vxx - vyy);
            let (nx, ny) = (-along.sin(), along.cos());
            // The points' spread across that line.
            let across = (vxx * nx * nx + 2.0 * vxy * nx * ny + vyy * ny * ny).max(0.0).sqrt();
            let towards_light = if nx * gradient.0 + ny * gradient.1 >= 0.0 { (nx, ny) } else { (-nx, -ny) };
            Some(Normal { towards_light, straight: across <= STRAIGHT_SPREAD_PX })
        })
        .collect()
}

/// The pixels along an edge point's normal `(nx, ny)`, from `DARK_SIDE_PX` into the
/// material to `LIT_SIDE_PX` towards the light, as (signed distance from the point
/// along the normal, value); those at white left out.
fn dark_side(img: &GrayImage, p: Px, (nx, ny): (f64, f64), out: &mut Vec<(f64, f32)>) -> Option<()> {
    let mut last = (i64::MIN, i64::MIN);
    for k in -(4 * DARK_SIDE_PX)..=(4 * LIT_SIDE_PX) {
        let s = k as f64 / 4.0;
        let q = ((p.x + s * nx).round() as i64, (p.y + s * ny).round() as i64);
        if q == last {
            continue;
        }
        last = q;
        let v = pixel(img, q.0, q.1)?;
        if v < CLIPPED_LEVEL {
            out.push(((q.0 as f64 - p.x) * nx + (q.1 as f64 - p.y) * ny, v));
        }
    }
    Some(())
}

/// A block's edges fitted together: `v(s) = dark + light_above_dark P(s − edge_px)`, `P`
/// the [`pixel_cdf`] of the lens's blur `σ`,
/// over the pixels of their dark sides, `s` measured from each point towards the light.
#[derive(Clone, Copy, Debug)]
struct BlockFit {
    block: usize,
    points: usize,
    dark: f64,
    light_above_dark: f64,
    sigma_px: f64,
    /// Where the edge lies from the points found at the threshold (towards the light).
    edge_px: f64,
    threshold: f64,
}

fn block_start(
    block: usize,
    points: usize,
    samples: &[(f64, f32)],
    (dark, threshold): (f64, f64),
    fixed_sigma_px: Option<f64>,
) -> Option<BlockFit> {
    // Light at the threshold's double (no clipping), and at 3 and 12 times that much,
    // the edge where that light puts the threshold: the fit starts from the closest.
    let sigma_px = fixed_sigma_px.unwrap_or(1.0);
    [1.0f64, 3.0, 12.0]
        .iter()
        .map(|&over| {
            let light_above_dark = over * 2.0 * (threshold - dark).max(1.0);
            let edge_px = -pixel_quantile(((threshold - dark) / light_above_dark).min(0.5), sigma_px);
            let cost: f64 = samples
                .iter()
                .map(|&(s, v)| (dark + light_above_dark * pixel_cdf(s - edge_px, sigma_px) - v as f64).powi(2))
                .sum();
            (BlockFit { block, points, dark, light_above_dark, sigma_px, edge_px, threshold }, cost)
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(fit, _)| fit)
}

/// Fits a block's profile again with one edge per point (`ranges` index each point's
/// pixels in `samples`): `v = dark + light_above_dark P(s − e_i)`, damped Gauss–Newton
/// on the shared levels (and the blur, if `free_sigma`) with the points' edges
/// eliminated (each residual depends on one point's edge only, so the normal equations
/// reduce to the shared parameters). `fit.edge_px` becomes the median of the points'.
fn refine_with_own_edges(
    fit: &mut BlockFit,
    samples: &[(f64, f32)],
    ranges: &[std::ops::Range<usize>],
    free_sigma: bool,
) {
    use nalgebra::{Matrix3, Vector3};
    let shared = if free_sigma { 3 } else { 2 };
    // Shared: dark, ln(light above dark), ln σ.
    let mut theta = Vector3::new(fit.dark, fit.light_above_dark.ln(), fit.sigma_px.ln());
    let mut edges = vec![fit.edge_px; ranges.len()];
    // Each point's normal-equation terms and a trial step's edges, kept across steps.
    let (mut own, mut trial_edges) = (Vec::with_capacity(ranges.len()), Vec::with_capacity(ranges.len()));
    let cost = |theta: &Vector3<f64>, edges: &[f64]| -> f64 {
        let (d, a, sigma) = (theta[0], theta[1].exp(), theta[2].exp());
        ranges
            .iter()
            .zip(edges)
            .flat_map(|(r, &e)| samples[r.clone()].iter().map(move |&(s, v)| (s, v, e)))
            .map(|(s, v, e)| (d + a * pixel_cdf(s - e, sigma) - v as f64).powi(2))
            .sum()
    };
    let mut current = cost(&theta, &edges);
    let mut lambda = 1e-3;
    for _ in 0..60 {
        let (d, a, sigma) = (theta[0], theta[1].exp(), theta[2].exp());
        // The reduced normal equations: N δθ = −b.
        let (mut n, mut b) = (Matrix3::<f64>::zeros(), Vector3::<f64>::zeros());
        own.clear();
        for (r, &e) in ranges.iter().zip(&edges) {
            let (mut u, mut w, mut g) = (0.0, Vector3::<f64>::zeros(), 0.0);
            for &(s, v) in &samples[r.clone()] {
                let x = s - e;
                let p = pixel_cdf(x, sigma);
                let residual = d + a * p - v as f64;
                let j_theta =
                    Vector3::new(1.0, a * p, if free_sigma { a * sigma * pixel_sigma_slope(x, sigma) } else { 0.0 });
                let j_e = -a * pixel_slope(x, sigma);
                n += j_theta * j_theta.transpose();
                b += j_theta * residual;
                u += j_e * j_e;
                w += j_theta * j_e;
                g += j_e * residual;
            }
            own.push((u, w, g));
        }
        let mut reduced_n = n;
        let mut reduced_b = b;
        for &(u, w, g) in &own {
            if u > 1e-9 {
                reduced_n -= w * w.transpose() / (u * (1.0 + lambda));
                reduced_b -= w * g / (u * (1.0 + lambda));
            }
        }
        for k in 0..3 {
            reduced_n[(k, k)] *= 1.0 + lambda;
            if k >= shared {
                reduced_n[(k, k)] = 1.0;
                reduced_b[k] = 0.0;
            }
        }
        let Some(step) = reduced_n.lu().solve(&-reduced_b) else { return };
        let trial_theta = theta + step;
        trial_edges.clear();
        trial_edges.extend(
            own.iter()
                .zip(&edges)
                .map(|(&(u, w, g), &e)| if u > 1e-9 { e - (g + w.dot(&step)) / (u * (1.0 + lambda)) } else { e }),
        );
        let trial = cost(&trial_theta, &trial_edges);
        if trial.is_finite() && trial < current {
            let improved = current - trial;
            std::mem::swap(&mut edges, &mut trial_edges);
            (theta, current) = (trial_theta, trial);
            lambda = (lambda / 3.0).max(1e-9);
            if improved < 1e-6 * current.max(1e-9) {
                break;
            }
        } else {
            lambda *= 4.0;
            if lambda > 1e6 {
                break;
            }
        }
    }
    let sigma = theta[2].exp();
    if theta.iter().all(|v| v.is_finite()) && sigma > 0.2 && sigma < 5.0 {
        fit.dark = theta[0];
        fit.light_above_dark = theta[1].exp();
        fit.sigma_px = sigma;
        fit.edge_px = median(edges).unwrap_or(fit.edge_px);
    }
}

/// Where the edge lies along one point's normal (from the point, towards the light),
/// from its own pixels under a known profile: `dark + light_above_dark P(s − e)`,
/// Gauss–Newton steps in `e` from `start`. `None` when its pixels do not show the
/// edge's slope (too few of them below white on the rise).
fn fit_point_edge(samples: &[(f64, f32)], dark: f64, light_above_dark: f64, sigma_px: f64, start: f64) -> Option<f64> {
    let mut e = start;
    for _ in 0..6 {
        let (mut gradient, mut information) = (0.0, 0.0);
        for &(s, v) in samples {
            let x = s - e;
            let r = dark + light_above_dark * pixel_cdf(x, sigma_px) - v as f64;
            // d r / d e.
            let slope = -light_above_dark * pixel_slope(x, sigma_px);
            gradient += slope * r;
            information += slope * slope;
        }
        // At least the slope of one pixel a tenth of the light up the edge's rise.
        if information < (0.1 * light_above_dark).powi(2) {
            return None;
        }
        let step = (gradient / information).clamp(-0.5, 0.5);
        e -= step;
        if step.abs() < 1e-4 {
            break;
        }
    }
    e.is_finite().then_some(e)
}

/// A smooth surface of the true light over the photo: a quadratic (or, with few blocks
/// to fit, a plane or a constant) in coordinates scaled to `[-1, 1]`.
struct LightSurface {
    coefficients: Vec<f64>,
    scale: (f64, f64),
}

impl LightSurface {
    fn terms(count: usize, x: f64, y: f64) -> [f64; 6] {
        let all = [1.0, x, y, x * x, x * y, y * y];
        let mut out = [0.0; 6];
        out[..count].copy_from_slice(&all[..count]);
        out
    }

    /// Weighted least squares over `(x_px, y_px, light, weight)`.
    fn fit(points: &[(f64, f64, f64, f64)], w: u32, h: u32) -> Option<Self> {
        let scale = (w as f64 / 2.0, h as f64 / 2.0);
        let count = match points.len() {
            0 => return None,
            1..=3 => 1,
            4..=11 => 3,
            _ => 6,
        };
        let mut a = DMatrix::zeros(points.len(), count);
        let mut b = DVector::zeros(points.len());
        for (i, &(x, y, light, weight)) in points.iter().enumerate() {
            let terms = Self::terms(count, x / scale.0 - 1.0, y / scale.1 - 1.0);
            for (j, term) in terms.iter().take(count).enumerate() {
                a[(i, j)] = term * weight.sqrt();
            }
            b[i] = light * weight.sqrt();
        }
        let solution = a.svd(true, true).solve(&b, 1e-9).ok()?;
        Some(LightSurface { coefficients: solution.iter().copied().collect(), scale })
    }

    fn at(&self, x: f64, y: f64) -> f64 {
        let terms = Self::terms(self.coefficients.len(), x / self.scale.0 - 1.0, y / self.scale.1 - 1.0);
        self.coefficients.iter().zip(terms).map(|(c, t)| c * t).sum()
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    (!v.is_empty()).then(|| v[v.len() / 2])
}

/// 1.4826 times the median absolute deviation from `centre`: a robust spread.
fn spread(v: &[f64], centre: f64) -> f64 {
    1.4826 * median(v.iter().map(|x| (x - centre).abs()).collect()).unwrap_or(0.0)
}

/// Moves the edge points where the light behind them is clipped (see the module's
/// docs), or refuses the photo when its edges are washed out.
pub(crate) fn place_edges(
    img: &GrayImage,
    levels: &Levels,
    edges: &mut [EdgePoint],
    of_part: impl Fn(&EdgePoint) -> bool,
    clipped_percent: f64,
) -> Result<Clipping, PhotoError> {
    let mut clipping = Clipping { clipped_percent, ..Clipping::default() };
    let in_clipped = |e: &EdgePoint| of_part(e) && levels.is_clipped(levels.block_of(e.px.x, e.px.y));
    let candidates: Vec<usize> = (0..edges.len()).filter(|&i| in_clipped(&edges[i])).collect();
    if candidates.is_empty() {
        return Ok(clipping);
    }
    let washed_out = |level| PhotoError::WashedOut { percent: clipped_percent, level };
    let wanted: Vec<bool> = edges.iter().map(&of_part).collect();
    let normals = contour_normals(img, edges, &wanted);
    // Each block's edge points.
    let mut by_block: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for (i, e) in edges.iter().enumerate().filter(|(_, e)| of_part(e)) {
        by_block.entry(levels.block_of(e.px.x, e.px.y)).or_default().push(i);
    }
    let (mut samples, mut ranges) = (Vec::new(), Vec::new());
    // One block's edges fitted together (at most 40 of them, spread over the block).
    let mut fit = |block: usize, points: &[usize], fixed_sigma_px: Option<f64>| {
        samples.clear();
        ranges.clear();
        let (mut threshold, mut used) = (0.0, 0);
        // Only points where the edge runs straight: near a corner the dark side also
        // shows the other edge's light, and a block of such points reads its blur sharp
        // and its light low.
        let straight: Vec<usize> = points.iter().copied().filter(|&i| normals[i].is_some_and(|n| n.straight)).collect();
        let step = straight.len().div_ceil(40);
        for &i in straight.iter().step_by(step.max(1)) {
            let start = samples.len();
            if normals[i].and_then(|n| dark_side(img, edges[i].px, n.towards_light, &mut samples)).is_some() {
                threshold += levels.threshold_at_px(edges[i].px.x, edges[i].px.y) as f64;
                used += 1;
                ranges.push(start..samples.len());
            } else {
                samples.truncate(start);
            }
        }
        (used >= MIN_POINTS_PER_BLOCK).then_some(())?;
        let levels = (levels.dark as f64, threshold / used as f64);
        let mut fit = block_start(block, points.len(), &samples, levels, fixed_sigma_px)?;
        // The points found at the threshold stray from the edge by a share of a pixel
        // that follows their phase on the pixel grid (the crossing is interpolated
        // linearly on the profile's curved toe), and measured from them the profile
        // reads too sharp, with too little light behind: the profile is fitted again
        // with each point's own edge free.
        refine_with_own_edges(&mut fit, &samples, &ranges, fixed_sigma_px.is_none());
        let valid =
            fit.sigma_px.is_finite() && fit.sigma_px > 0.2 && fit.sigma_px < 5.0 && fit.light_above_dark.is_finite();
        valid.then_some(())?;
        Some(fit)
    };
    let enough = |(_, points): &(&usize, &Vec<usize>)| points.len() >= MIN_POINTS_PER_BLOCK;
    // The blur where the light is seen whole: there its level is known, and the edge's
    // both sides show its width. Else from the clipped edges' dark side alone.
    let unclipped: Vec<(&usize, &Vec<usize>)> = by_block
        .iter()
        .filter(|(b, _)| levels.is_lit(**b) && levels.light[**b] < SEEN_WHOLE_LEVEL)
        .filter(enough)
        .collect();
    let unclipped_sigmas: Vec<f64> = unclipped
        .iter()
        .step_by(unclipped.len().div_ceil(24).max(1))
        .filter_map(|(b, points)| fit(**b, points, None))
        .map(|f| f.sigma_px)
        .collect();
    let seen_sigma = (unclipped_sigmas.len() >= 3).then(|| median(unclipped_sigmas.clone())).flatten();
    let clipped: Vec<(&usize, &Vec<usize>)> =
        by_block.iter().filter(|(b, _)| levels.is_clipped(**b)).filter(enough).collect();
    let mut fits: Vec<BlockFit> = clipped.iter().filter_map(|&(&b, points)| fit(b, points, seen_sigma)).collect();
    if fits.is_empty() {
        return Err(washed_out(None));
    }
    // Read on the dark side alone, each block's blur and light trade against each other
    // along a valley of near-equal fits: the light of a block of low blur reads high.
    // The blocks are fitted again with the blocks' median blur, so that their light
    // and that blur belong together.
    let free_sigmas: Vec<f64> = fits.iter().map(|f| f.sigma_px).collect();
    if seen_sigma.is_none() {
        let common = median(free_sigmas.clone());
        let refitted: Vec<BlockFit> = clipped.iter().filter_map(|&(&b, points)| fit(b, points, common)).collect();
        if !refitted.is_empty() {
            fits = refitted;
        }
    }
    // The blur: the median of the blocks'; the true light: a smooth surface through the
    // blocks' fits and the light seen where it is not clipped.
    let sigmas: Vec<f64> = if seen_sigma.is_some() { unclipped_sigmas } else { free_sigmas };
    let sigma = median(sigmas.clone()).unwrap_or(1.0);
    let sigma_error = spread(&sigmas, sigma) / (sigmas.len() as f64).sqrt();
    if pixel_sigma_px(sigma) < MIN_BLUR_SIGMA_PX {
        // So short a dark side fits a sharp edge of little light as well as a soft one
        // of much: the light behind cannot be told.
        return Err(washed_out(None));
    }
    let dark = median(fits.iter().map(|f| f.dark).collect()).unwrap_or(levels.dark as f64);
    // A block whose edges all lie at one phase on the pixel grid (an edge along a pixel
    // row) can read its light far off: blocks whose light strays from the blocks'
    // median by more than the table's unevenness and their spread allow are left out.
    let log_light: Vec<f64> = fits.iter().map(|f| (f.dark + f.light_above_dark).ln()).collect();
    let typical = median(log_light.clone()).unwrap_or(0.0);
    let band = (4.0 * spread(&log_light, typical)).max(MAX_LIGHT_UNEVENNESS.ln_1p());
    let mut points: Vec<(f64, f64, f64, f64)> = Vec::new();
    for f in fits.iter().zip(&log_light).filter(|(_, l)| (*l - typical).abs() <= band).map(|(f, _)| f) {
        let (x, y) = levels.block_centre(f.block);
        points.push((x, y, f.dark + f.light_above_dark, (f.points as f64 / 24.0).min(4.0)));
    }
    for block in 0..levels.light.len() {
        if levels.is_lit(block) && !levels.is_clipped(block) {
            let (x, y) = levels.block_centre(block);
            points.push((x, y, levels.light[block] as f64, 1.0));
        }
    }
    let (w, h) = img.dimensions();
    let mut surface = LightSurface::fit(&points, w, h).ok_or_else(|| washed_out(None))?;
    // Then those far from the surface through the others.
    for _ in 0..3 {
        let off = |&(x, y, light, _): &(f64, f64, f64, f64)| (light / surface.at(x, y).max(1.0)).ln();
        let band = 4.0 * spread(&points.iter().map(off).collect::<Vec<_>>(), 0.0).max(0.01);
        let kept: Vec<_> = points.iter().copied().filter(|p| off(p).abs() <= band).collect();
        if kept.len() == points.len() || kept.len() < 3 {
            break;
        }
        points = kept;
        surface = LightSurface::fit(&points, w, h).ok_or_else(|| washed_out(None))?;
    }
    // What the pixels put between the points found and the edge beyond the model of a
    // Gaussian blur seen at whole pixels: the median over the blocks.
    let model_shift =
        |threshold: f64, light: f64| -pixel_quantile(((threshold - dark) / (light - dark)).clamp(1e-6, 0.5), sigma);
    let offsets: Vec<f64> =
        fits.iter().map(|f| f.edge_px - model_shift(f.threshold, f.dark + f.light_above_dark)).collect();
    let offset = median(offsets).unwrap_or(0.0);
    let (mut shifts, mut shares, mut own) = (Vec::new(), Vec::new(), Vec::new());
    for &i in &candidates {
        let e = &mut edges[i];
        let seen = levels.light_at(e.px.x, e.px.y) as f64;
        let truth = surface.at(e.px.x, e.px.y).max(seen);
        let t = levels.threshold_at_px(e.px.x, e.px.y) as f64;
        let f = ((t - dark) / (truth - dark)).clamp(1e-6, 0.5);
        if f >= 0.499 {
            continue;
        }
        if f < MIN_EDGE_LEVEL {
            return Err(washed_out(Some(f)));
        }
        let Some(Normal { towards_light: (nx, ny), .. }) = normals[i] else { continue };
        // The point placed by its own pixels under the profile of the light here; by the
        // model and the blocks' offset where they do not show the edge.
        let modelled = model_shift(t, truth) + offset;
        own.clear();
        let placed = dark_side(img, e.px, (nx, ny), &mut own)
            .and_then(|()| fit_point_edge(&own, dark, truth - dark, sigma, modelled));
        let shift = placed.unwrap_or(modelled).clamp(0.0, MAX_SHIFT_SIGMA * pixel_sigma_px(sigma));
        e.px = Px::new(e.px.x + shift * nx, e.px.y + shift * ny);
        shifts.push(shift);
        shares.push(f);
    }
    clipping.edges_moved = shifts.len();
    clipping.blur_sigma_px = Some(sigma);
    clipping.median_shift_px = median(shifts);
    clipping.edge_level = median(shares);
    // The level's uncertainty: the spread of the blocks' light around the surface.
    let residuals: Vec<f64> = points.iter().map(|&(x, y, light, _)| (light - surface.at(x, y)) / light).collect();
    let light_error = spread(&residuals, 0.0) / (points.len() as f64).sqrt();
    clipping.estimated_error_px = clipping.edge_level.zip(clipping.median_shift_px).map(|(f, shift)| {
        let u = normal_quantile(f);
        // d u / d ln(light) = f / φ(u).
        let from_light = pixel_sigma_px(sigma) * f / normal_density(u) * light_error;
        ((u * sigma_error).powi(2) + from_light.powi(2) + (0.1 * shift).powi(2)).sqrt()
    });
    tracing::debug!(
        ?clipping,
        dark,
        offset,
        blocks = fits.len(),
        from_whole_edges = seen_sigma.is_some(),
        "edges placed through a clipped backlight"
    );
    Ok(clipping)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quantile_inverts_the_cdf() {
        for p in [1e-9, 0.001, 0.04, 0.25, 0.5, 0.8, 0.999] {
            let x = normal_quantile(p);
            assert!((normal_cdf(x) - p).abs() < 1e-10 * p.max(1e-3), "{p}: {x}");
        }
        assert!((normal_quantile(0.975) - 1.959964).abs() < 1e-5);
    }

    #[test]
    fn a_clipped_gaussian_edge_is_placed_where_it_is() {
        // A straight vertical edge at x = 40.3, blur σ = 1.1, true light 520 over a
        // dark level of 20: clipped at 255 well before its middle.
        let (sigma, edge_x, light, dark) = (1.1, 40.3, 520.0, 20.0);
        let img = GrayImage::from_fn(128, 128, |x, _| {
            let v = dark + (light - dark) * normal_cdf((x as f64 - edge_x) / sigma);
            image::Luma([v.round().clamp(0.0, 255.0) as u8])
        });
        let levels = Levels::estimate(&img);
        let t = levels.threshold_at_px(40.0, 64.0);
        let row: Vec<f32> = (0..128).map(|x| img.get_pixel(x, 64).0[0] as f32 - t).collect();
        let x0 = row.iter().position(|&v| v >= 0.0).expect("a lit pixel") as u32;
        let (va, vb) = (row[x0 as usize - 1], row[x0 as usize]);
        let seen = (x0 - 1) as f64 + (va / (va - vb)) as f64;
        let mut edges: Vec<EdgePoint> =
            (8..120).map(|y| EdgePoint { px: Px::new(seen, y as f64), lit: 0, material: 0 }).collect();
        let clipping = place_edges(&img, &levels, &mut edges, |_| true, 50.0).expect("placed");
        let placed = edges[50].px.x;
        eprintln!("seen at {seen:.3}, placed at {placed:.3} (truth {edge_x}); {clipping:?}");
        assert!(seen < edge_x - 0.5, "the clipped threshold lies on the dark side");
        assert!((placed - edge_x).abs() < 0.12, "{placed} vs {edge_x}");
        assert!((clipping.blur_sigma_px.expect("σ") - sigma).abs() < 0.15);
    }

    #[test]
    fn a_slanted_clipped_edge_is_placed_where_it_is() {
        // The same edge turned by 20° and 30°, over more light: a gradient across it
        // leans a degree or two towards the axes where the light is clipped, which
        // would read the light several per cent low and move the edge too little.
        let (sigma, dark, light) = (1.1, 20.0, 600.0);
        for angle_deg in [20.0f64, 30.0] {
            let (nx, ny) = (angle_deg.to_radians().cos(), angle_deg.to_radians().sin());
            let distance = |x: f64, y: f64| (x - 64.0) * nx + (y - 64.0) * ny;
            let img = GrayImage::from_fn(128, 128, |x, y| {
                let v = dark + (light - dark) * normal_cdf(distance(x as f64, y as f64) / sigma);
                image::Luma([v.round().clamp(0.0, 255.0) as u8])
            });
            let levels = Levels::estimate(&img);
            let share = (levels.threshold_at_px(64.0, 64.0) as f64 - dark) / (light - dark);
            // The points where the threshold crosses the edge: `seen` from it.
            let seen = sigma * normal_quantile(share);
            let mut edges: Vec<EdgePoint> = (24..104)
                .map(|y| {
                    let x = 64.0 + (seen - (y as f64 - 64.0) * ny) / nx;
                    EdgePoint { px: Px::new(x, y as f64), lit: 0, material: 0 }
                })
                .collect();
            place_edges(&img, &levels, &mut edges, |_| true, 50.0).expect("placed");
            let placed: Vec<f64> = edges.iter().map(|e| distance(e.px.x, e.px.y)).collect();
            let mean = placed.iter().sum::<f64>() / placed.len() as f64;
            eprintln!("{angle_deg}°: seen {seen:.3} px from the edge, placed {mean:.3}");
            assert!(mean.abs() < 0.03, "{angle_deg}°: placed {mean:.3} px from the edge");
        }
    }

    #[test]
    fn a_clipped_edge_along_the_pixel_grid_shows_its_blur_and_light() {
        // A plate turned by 4° (its edges cross the pixel grid slowly, so the points
        // found at the threshold stray with their phase), rendered by the optics'
        // blur of σ = 0.8 px, its light at 550 over a dark level of 37: white cuts
        // each edge off at a fifth of its rise.
        use sheetsight_drawing::Loop;
        use sheetsight_sim::backlit::{self, Lighting, Solid};
        let (sigma, light, dark) = (0.8, 550.0, 37.0);
        let (s, c) = 4f64.to_radians().sin_cos();
        let points = [(-40.0, -25.0), (40.0, -25.0), (40.0, 25.0), (-40.0, 25.0)]
            .iter()
            .map(|&(x, y)| nalgebra::Point2::new(300.0 + c * x - s * y, 225.0 + s * x + c * y))
            .collect();
        let plate = Solid { outline: Loop { points, circle: None }, voids: vec![], thickness_mm: 0.0 };
        let lighting =
            Lighting { light, falloff: 0.0, slope: (0.0, 0.0), dark, blur_px: sigma, noise: 0.0, dust_specks: 0 };
        let img = backlit::render(&backlit::table_camera(), &[plate], &lighting, 1);
        let clipping = crate::silhouette::Silhouette::find(&img).expect("a silhouette").clipping;
        let share = ((255.0 + dark) / 2.0 - dark) / (light - dark);
        eprintln!("{clipping:?}; the threshold at {share:.3} of the light");
        let read = clipping.blur_sigma_px.expect("σ");
        // The renderer blurs the pixel's width as a Gaussian too: σ² + 1/12 in all.
        assert!((pixel_sigma_px(read) - pixel_sigma_px(sigma)).abs() < 0.03, "σ read {read:.3}");
        let level = clipping.edge_level.expect("the edges' level");
        assert!((level - share).abs() < 0.015, "level read {level:.3}");
    }
}
