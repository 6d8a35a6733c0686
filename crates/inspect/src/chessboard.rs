//! Calibration from a photo of a printed chessboard (OpenCV's convention: `columns x
//! rows` inner corners, the square's side in millimetres), into the same table model
//! as the plate's.
//!
//! 1. Candidates: saddle points of the photo (Hessian `f_xy² − f_xx f_yy` on a copy
//!    shrunk to about 1000 px and smoothed), kept where a ring around them is dark,
//!    light, dark, light (an X where four squares meet, not the board's outer corner);
//! 2. each refined to a fraction of a pixel on the full photo as OpenCV's
//!    `cornerSubPix` does: the point where every gradient in the window is orthogonal
//!    to the line from it to the pixel;
//! 3. ordered into the grid from the corner nearest the middle, predicting each next
//!    corner from a homography of those found so far;
//! 4. the whole board must be seen: every inner corner, else the photo is refused with
//!    how many were found. The board's x axis runs to the right in the photo, its y
//!    axis such that the table is seen from above (as the plate's).
//!
//! Why by hand: no maintained Rust crate finds chessboard corners (OpenCV's bindings
//! need the C++ library at build time).

use image::GrayImage;
use nalgebra::{Matrix2, Vector2};

use crate::calibrate::{Calibration, CalibrationError, fit_table};
use crate::fit::fit_homography;
use crate::silhouette::PhotoError;
use crate::table::{Mm, Px, TableModel, apply_h};

/// A printed chessboard: inner corners along its x and y axes, and the square's side.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BoardSpec {
    pub columns: usize,
    pub rows: usize,
    pub square_mm: f64,
}

impl BoardSpec {
    /// `COLSxROWS` (inner corners, as OpenCV counts them) and the square's side.
    pub fn parse(size: &str, square_mm: f64) -> Result<Self, CalibrationError> {
        let (columns, rows) = crate::lattice::parse_size(size, "inner corners", square_mm, "a square")?;
        Ok(Self { columns, rows, square_mm })
    }
}

/// An inner corner `(i, j)` of the board and where it was seen.
#[derive(Clone, Copy, Debug)]
pub struct Corner {
    pub i: usize,
    pub j: usize,
    pub px: Px,
}

/// Calibrates the table from a photo of `board` lying flat on it.
pub fn calibrate_chessboard(img: &GrayImage, board: &BoardSpec) -> Result<Calibration, CalibrationError> {
    let corners = find_corners(img, board)?;
    let points: Vec<(Mm, Px)> =
        corners.iter().map(|c| (Mm::new(c.i as f64 * board.square_mm, c.j as f64 * board.square_mm), c.px)).collect();
    let predict = |model: &TableModel, t: Mm| model.to_pixel(t);
    fit_table(points, board.columns * board.rows, img.dimensions(), &predict, 0.0, false)
}

/// Every inner corner of `board` in the photo, to a fraction of a pixel, or why not.
pub fn find_corners(img: &GrayImage, board: &BoardSpec) -> Result<Vec<Corner>, CalibrationError> {
    let (w, h) = img.dimensions();
    if w < 64 || h < 64 {
        return Err(PhotoError::TooSmall(w, h).into());
    }
    let shrink = (w.max(h) / 1000).max(1);
    let small = Shrunk::new(img, shrink);
    let candidates: Vec<Px> = small
        .saddles()
        .into_iter()
        .map(|(x, y)| Px::new((x as f64 + 0.5) * shrink as f64 - 0.5, (y as f64 + 0.5) * shrink as f64 - 0.5))
        .collect();
    let expected = board.columns * board.rows;
    let too_few = |found: usize| CalibrationError::TooFewCorners { found, expected };
    if candidates.len() < 4 {
        return Err(too_few(candidates.len()));
    }
    let window_px = (2 * shrink + 3) as i64;
    let refined: Vec<Px> = candidates.iter().filter_map(|&p| refine(img, p, window_px)).collect();
    // A corner the saddle search missed, looked for where the others put it.
    let probe = |at: Px| {
        let p = refine(img, at, window_px)?;
        ((p - at).norm() < window_px as f64 / 2.0 && is_x_at(img, p, 2.0 * window_px as f64)).then_some(p)
    };
    let ordered = order(&refined, board, (w, h), &probe).map_err(|why| match why {
        NoBoard::TooFew(found) => too_few(found),
        NoBoard::OtherSize(columns, rows) => CalibrationError::Board(format!(
            "the board in the photo has {columns}x{rows} inner corners, not the {}x{} given",
            board.columns, board.rows
        )),
    })?;
    // Blur: the edges' width at the corners (contrast over steepest slope, 2.5 σ).
    let mut widths: Vec<f64> = ordered.iter().filter_map(|c| edge_width(img, c.px, window_px)).collect();
    widths.sort_by(f64::total_cmp);
    let width_px = widths.get(widths.len() / 2).copied().unwrap_or(f64::MAX);
    if width_px > crate::MAX_EDGE_WIDTH_PX {
        return Err(PhotoError::Blurred { width_px, limit_px: crate::MAX_EDGE_WIDTH_PX }.into());
    }
    Ok(ordered)
}

/// The photo shrunk by an integer factor (block means) and smoothed.
struct Shrunk {
    w: usize,
    h: usize,
    v: Vec<f32>,
}

impl Shrunk {
    fn new(img: &GrayImage, k: u32) -> Self {
        let (w, h) = ((img.width() / k) as usize, (img.height() / k) as usize);
        let raw = img.as_raw();
        let stride = img.width() as usize;
        let mut v = vec![0f32; w * h];
        for y in 0..h {
            for x in 0..w {
                let mut sum = 0u32;
                for dy in 0..k as usize {
                    let row = &raw[(y * k as usize + dy) * stride + x * k as usize..];
                    sum += row[..k as usize].iter().map(|&p| p as u32).sum::<u32>();
                }
                v[y * w + x] = sum as f32 / (k * k) as f32;
            }
        }
        let mut s = Shrunk { w, h, v };
        s.smooth(1.5);
        s
    }

    fn smooth(&mut self, sigma: f32) {
        let r = (3.0 * sigma).ceil() as i64;
        let kernel: Vec<f32> = (-r..=r).map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp()).collect();
        let sum: f32 = kernel.iter().sum();
        let (w, h) = (self.w as i64, self.h as i64);
        for pass in 0..2 {
            let src = self.v.clone();
            for y in 0..h {
                for x in 0..w {
                    let mut acc = 0.0;
                    for (k, kv) in kernel.iter().enumerate() {
                        let o = k as i64 - r;
                        let (sx, sy) =
                            if pass == 0 { ((x + o).clamp(0, w - 1), y) } else { (x, (y + o).clamp(0, h - 1)) };
                        acc += kv * src[(sy * w + sx) as usize];
                    }
                    self.v[(y * w + x) as usize] = acc / sum;
                }
            }
        }
    }

    fn at(&self, x: i64, y: i64) -> f32 {
        self.v[(y.clamp(0, self.h as i64 - 1) as usize) * self.w + x.clamp(0, self.w as i64 - 1) as usize]
    }

    /// Local maxima of the saddle response that pass the ring test.
    fn saddles(&self) -> Vec<(usize, usize)> {
        let (w, h) = (self.w, self.h);
        let mut response = vec![0f32; w * h];
        for y in 1..h - 1 {
            for x in 1..w - 1 {
                let (xi, yi) = (x as i64, y as i64);
                let c = self.at(xi, yi);
                let fxx = self.at(xi + 1, yi) - 2.0 * c + self.at(xi - 1, yi);
                let fyy = self.at(xi, yi + 1) - 2.0 * c + self.at(xi, yi - 1);
                let fxy = (self.at(xi + 1, yi + 1) - self.at(xi + 1, yi - 1) - self.at(xi - 1, yi + 1)
                    + self.at(xi - 1, yi - 1))
                    / 4.0;
                response[y * w + x] = (fxy * fxy - fxx * fyy).max(0.0);
            }
        }
        let strongest = response.iter().copied().fold(0.0, f32::max);
        let floor = 0.02 * strongest;
        let mut out = Vec::new();
        const RING: i64 = 5;
        for y in RING as usize..h.saturating_sub(RING as usize) {
            for x in RING as usize..w.saturating_sub(RING as usize) {
                let r = response[y * w + x];
                if r <= floor {
                    continue;
                }
                let is_max = (-3i64..=3).all(|dy| {
                    (-3i64..=3).all(|dx| {
                        let q = response[((y as i64 + dy) as usize) * w + (x as i64 + dx) as usize];
                        q < r || (q == r && (dy, dx) >= (0, 0))
                    })
                });
                if is_max && self.is_x_junction(x as i64, y as i64, RING) {
                    out.push((x, y));
                }
            }
        }
        out
    }

    /// Whether a ring of `radius` around the point crosses its mean exactly four times,
    /// with opposite quarters alike.
    fn is_x_junction(&self, x: i64, y: i64, radius: i64) -> bool {
        const N: usize = 24;
        let ring: Vec<f32> = (0..N)
            .map(|k| {
                let a = k as f64 * std::f64::consts::TAU / N as f64;
                self.at(x + (radius as f64 * a.cos()).round() as i64, y + (radius as f64 * a.sin()).round() as i64)
            })
            .collect();
        let (lo, hi) = ring.iter().fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        if hi - lo < 20.0 {
            return false;
        }
        let mean = (lo + hi) / 2.0;
        let signs: Vec<bool> = ring.iter().map(|&v| v > mean).collect();
        let changes = (0..N).filter(|&k| signs[k] != signs[(k + 1) % N]).count();
        changes == 4 && (0..N).filter(|&k| signs[k] == signs[(k + N / 2) % N]).count() >= N - 4
    }
}

/// Whether a ring of `radius` px around `p` on the photo is dark, light, dark, light
/// (four crossings of its mid-level, opposite quarters alike).
fn is_x_at(img: &GrayImage, p: Px, radius: f64) -> bool {
    const N: usize = 32;
    let (w, h) = (img.width() as i64, img.height() as i64);
    let mut ring = Vec::with_capacity(N);
    for k in 0..N {
        let a = k as f64 * std::f64::consts::TAU / N as f64;
        let (x, y) = ((p.x + radius * a.cos()).round() as i64, (p.y + radius * a.sin()).round() as i64);
        if x < 0 || y < 0 || x >= w || y >= h {
            return false;
        }
        ring.push(img.as_raw()[(y * w + x) as usize] as f32);
    }
    let (lo, hi) = ring.iter().fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    if hi - lo < 20.0 {
        return false;
    }
    let signs: Vec<bool> = ring.iter().map(|&v| v > (lo + hi) / 2.0).collect();
    let changes = (0..N).filter(|&k| signs[k] != signs[(k + 1) % N]).count();
    changes == 4 && (0..N).filter(|&k| signs[k] == signs[(k + N / 2) % N]).count() >= N - 6
}

/// The gradient at a whole pixel (central differences).
fn gradient(img: &GrayImage, x: i64, y: i64) -> Option<Vector2<f64>> {
    let (w, h) = (img.width() as i64, img.height() as i64);
    if x < 1 || y < 1 || x + 1 >= w || y + 1 >= h {
        return None;
    }
    let v = |x: i64, y: i64| img.as_raw()[(y * w + x) as usize] as f64;
    Some(Vector2::new((v(x + 1, y) - v(x - 1, y)) / 2.0, (v(x, y + 1) - v(x, y - 1)) / 2.0))
}

/// The saddle's place to a fraction of a pixel: the point `q` that minimises
/// `Σ (∇I(p) · (p − q))²` over the window (Gaussian-weighted), iterated.
fn refine(img: &GrayImage, start: Px, half_px: i64) -> Option<Px> {
    let mut q = start;
    let sigma = half_px as f64 / 2.0;
    for _ in 0..20 {
        let (cx, cy) = (q.x.round() as i64, q.y.round() as i64);
        let (mut a, mut b) = (Matrix2::zeros(), Vector2::zeros());
        for dy in -half_px..=half_px {
            for dx in -half_px..=half_px {
                let g = gradient(img, cx + dx, cy + dy)?;
                let weight = (-((dx * dx + dy * dy) as f64) / (2.0 * sigma * sigma)).exp();
                let ggt = g * g.transpose() * weight;
                a += ggt;
                b += ggt * Vector2::new((cx + dx) as f64, (cy + dy) as f64);
            }
        }
        let next = a.try_inverse()? * b;
        let moved = (next - Vector2::new(q.x, q.y)).norm();
        q = Px::new(next.x, next.y);
        if (q - start).norm() > half_px as f64 {
            return None;
        }
        if moved < 1e-3 {
            break;
        }
    }
    Some(q)
}

/// Contrast over steepest slope around a corner.
fn edge_width(img: &GrayImage, p: Px, half_px: i64) -> Option<f64> {
    let (cx, cy) = (p.x.round() as i64, p.y.round() as i64);
    let reach = 2 * half_px;
    let (mut lo, mut hi, mut steepest) = (f64::MAX, f64::MIN, 0.0f64);
    for dy in -reach..=reach {
        for dx in -reach..=reach {
            let g = gradient(img, cx + dx, cy + dy)?;
            let v = img.as_raw()[((cy + dy) * img.width() as i64 + cx + dx) as usize] as f64;
            lo = lo.min(v);
            hi = hi.max(v);
            // Away from the corner itself, where the two edges meet.
            if dx.abs().max(dy.abs()) > half_px / 2 {
                steepest = steepest.max(g.x.abs().max(g.y.abs()));
            }
        }
    }
    (steepest > 0.0).then(|| (hi - lo) / steepest)
}

/// Why the corners make no board of the size given.
enum NoBoard {
    /// Only this many of its corners were found.
    TooFew(usize),
    /// A whole board of another size.
    OtherSize(usize, usize),
}

/// The corners ordered into the board's grid, or why not.
fn order(
    points: &[Px],
    board: &BoardSpec,
    photo: (u32, u32),
    probe: &dyn Fn(Px) -> Option<Px>,
) -> Result<Vec<Corner>, NoBoard> {
    order_lattice(points, board, photo, probe).unwrap_or(Err(NoBoard::TooFew(0)))
}

fn order_lattice(
    points: &[Px],
    board: &BoardSpec,
    (photo_w, photo_h): (u32, u32),
    probe: &dyn Fn(Px) -> Option<Px>,
) -> Option<Result<Vec<Corner>, NoBoard>> {
    let in_photo = |p: Px| p.x >= 0.0 && p.y >= 0.0 && p.x < photo_w as f64 && p.y < photo_h as f64;
    let matched = crate::lattice::grow(points, &in_photo, probe)?;
    let (i0, i1, j0, j1) = crate::lattice::bounds(&matched)?;
    let (span_i, span_j) = ((i1 - i0 + 1) as usize, (j1 - j0 + 1) as usize);
    // The board's x axis is the lattice axis with `columns` corners.
    let swap = if (span_i, span_j) == (board.columns, board.rows) {
        false
    } else if (span_i, span_j) == (board.rows, board.columns) {
        true
    } else {
        // Not the board's size: part of it is hidden, out of view, or not the board given.
        // A whole lattice whose next row or column would still lie inside the photo
        // is a board of another size; one cut off by the photo's border is this board
        // partly out of view.
        let (from, to): (Vec<Mm>, Vec<_>) =
            matched.iter().map(|(&(i, j), p)| (Mm::new(i as f64, j as f64), p.to_point())).unzip();
        let h_grid = fit_homography(&from, &to)?;
        let inside = |i: i64, j: i64| in_photo(Px::from_point(apply_h(&h_grid, Mm::new(i as f64, j as f64))));
        let beyond = [
            (i0 - 1, j0),
            (i1 + 1, j0),
            (i0, j0 - 1),
            (i0, j1 + 1),
            (i1 + 1, j1),
            (i0 - 1, j1),
            (i1, j0 - 1),
            (i1, j1 + 1),
        ];
        let cut_off = beyond.iter().any(|&(i, j)| !inside(i, j));
        if matched.len() == span_i * span_j && span_i.min(span_j) >= 3 && !cut_off {
            return Some(Err(NoBoard::OtherSize(span_i.max(span_j), span_i.min(span_j))));
        }
        return Some(Err(NoBoard::TooFew(matched.len().min(board.columns * board.rows - 1))));
    };
    let mut corners: Vec<Corner> = matched
        .iter()
        .map(|(&(i, j), &px)| {
            let (a, b) = ((i - i0) as usize, (j - j0) as usize);
            let (i, j) = if swap { (b, a) } else { (a, b) };
            Corner { i, j, px }
        })
        .collect();
    // x to the right in the photo; y so that the table is seen from above.
    let at = |corners: &[Corner], i: usize, j: usize| corners.iter().find(|c| c.i == i && c.j == j).map(|c| c.px);
    let too_few = Some(Err(NoBoard::TooFew(corners.len().min(board.columns * board.rows - 1))));
    let (Some(o), Some(end)) = (at(&corners, 0, 0), at(&corners, board.columns - 1, 0)) else { return too_few };
    if corners.len() < board.columns * board.rows {
        return too_few;
    }
    let x_axis = end - o;
    if x_axis.x < 0.0 {
        corners.iter_mut().for_each(|c| c.i = board.columns - 1 - c.i);
    }
    let o = at(&corners, 0, 0)?;
    let (x_axis, y_axis) = (at(&corners, board.columns - 1, 0)? - o, at(&corners, 0, board.rows - 1)? - o);
    if x_axis.x * y_axis.y - x_axis.y * y_axis.x > 0.0 {
        corners.iter_mut().for_each(|c| c.j = board.rows - 1 - c.j);
    }
    corners.sort_by_key(|c| (c.j, c.i));
    Some(Ok(corners))
}
