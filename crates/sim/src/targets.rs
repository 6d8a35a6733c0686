//! Photos of printed calibration targets lying on the backlit table, with ground truth:
//! a chessboard and circle grids (symmetric and asymmetric). The paper lets the
//! backlight through (white at `paper` of it, ink at `ink`), seen by the table's pinhole
//! camera, anti-aliased (3 x 3 samples a pixel), under the same uneven light, blur and
//! noise as the parts' photos.
//!
//! OpenCV's conventions: a board of `columns x rows` inner corners has
//! `(columns + 1) x (rows + 1)` squares, and the paper reaches one square beyond them;
//! a circle grid's dot `(row i, column j)` lies at `(j, i)` pitches (symmetric) or at
//! `(2 j + i mod 2, i)` pitches (asymmetric).

use image::GrayImage;
use nalgebra::{Point2, Vector2};
use rand::{SeedableRng, rngs::SmallRng};

use crate::backlit::{Lighting, Pinhole, blur, gaussian};

type Mm = Point2<f64>;

/// A printed board where it lies on the table.
#[derive(Clone, Debug)]
pub struct Chessboard {
    /// Inner corners along the board's x axis and along its y axis.
    pub columns: usize,
    pub rows: usize,
    pub square_mm: f64,
    /// Where the first inner corner lies on the table, and the board's x axis's angle.
    pub origin_mm: Mm,
    pub angle_deg: f64,
    /// The share of the backlight through white paper, and through ink.
    pub paper: f64,
    pub ink: f64,
}

impl Chessboard {
    /// Inner corner `(i, j)` on the table.
    pub fn corner(&self, i: usize, j: usize) -> Mm {
        self.to_table(Vector2::new(i as f64 * self.square_mm, j as f64 * self.square_mm))
    }

    /// Where the board's point `b` (millimetres from its first inner corner) lies on the table.
    pub fn to_table(&self, b: Vector2<f64>) -> Mm {
        let (s, c) = self.angle_deg.to_radians().sin_cos();
        self.origin_mm + Vector2::new(c * b.x - s * b.y, s * b.x + c * b.y)
    }

    /// The board's point (millimetres from its first inner corner) at table point `p`.
    pub fn to_board(&self, p: Mm) -> Vector2<f64> {
        let (s, c) = self.angle_deg.to_radians().sin_cos();
        let d = p - self.origin_mm;
        Vector2::new(c * d.x + s * d.y, -s * d.x + c * d.y)
    }
}

/// Something printed, lying on the table.
pub trait Printed {
    /// The share of the backlight let through at table point `p`.
    fn transmission(&self, p: Mm) -> f64;
}

impl Printed for Chessboard {
    fn transmission(&self, p: Mm) -> f64 {
        let b = self.to_board(p) / self.square_mm;
        let (bx, by) = (b.x, b.y);
        // Squares from -1 to columns (rows); the paper one square further.
        let (x_squares, y_squares) = (self.columns as f64, self.rows as f64);
        if bx < -2.0 || by < -2.0 || bx > x_squares + 1.0 || by > y_squares + 1.0 {
            return 1.0;
        }
        if bx < -1.0 || by < -1.0 || bx > x_squares || by > y_squares {
            return self.paper;
        }
        if (bx.floor() as i64 + by.floor() as i64).rem_euclid(2) == 0 { self.ink } else { self.paper }
    }
}

/// Renders `board` (or any print) on the table as `camera` sees it.
pub fn render(camera: &Pinhole, board: &dyn Printed, lighting: &Lighting, seed: u64) -> GrayImage {
    let (w, h) = (camera.width_px as usize, camera.height_px as usize);
    const TILE: usize = 16;
    let mut image = vec![0f32; w * h];
    // The table point of each tile corner; bilinear within a tile (the mapping bends
    // far less than a thousandth of a pixel over 16 px).
    let (tiles_x, tiles_y) = (w.div_ceil(TILE) + 1, h.div_ceil(TILE) + 1);
    let corners: Vec<Mm> = (0..tiles_x * tiles_y)
        .map(|k| camera.ray_at(Point2::new(((k % tiles_x) * TILE) as f64, ((k / tiles_x) * TILE) as f64), 0.0))
        .collect();
    for y in 0..h {
        let (ty, fy) = (y / TILE, (y % TILE) as f64 / TILE as f64);
        for x in 0..w {
            let (tx, fx) = (x / TILE, (x % TILE) as f64 / TILE as f64);
            let c = |i: usize, j: usize| corners[(ty + j) * tiles_x + tx + i].coords;
            let step = 1.0 / TILE as f64;
            let at = |ox: f64, oy: f64| {
                let (u, v) = (fx + ox * step, fy + oy * step);
                let top = c(0, 0) * (1.0 - u) + c(1, 0) * u;
                let bottom = c(0, 1) * (1.0 - u) + c(1, 1) * u;
                Mm::from(top * (1.0 - v) + bottom * v)
            };
            let mut through = 0.0;
            for oy in [-1.0 / 3.0, 0.0, 1.0 / 3.0] {
                for ox in [-1.0 / 3.0, 0.0, 1.0 / 3.0] {
                    through += board.transmission(at(ox, oy));
                }
            }
            let light = lighting.light_at(x as f64, y as f64, w as f64, h as f64);
            image[y * w + x] = (light * through / 9.0).max(lighting.dark * through / 9.0) as f32;
        }
    }
    blur(&mut image, w, h, lighting.blur_px);
    let mut rng = SmallRng::seed_from_u64(seed);
    GrayImage::from_fn(w as u32, h as u32, |x, y| {
        let v = image[y as usize * w + x as usize] as f64 + lighting.noise * gaussian(&mut rng);
        image::Luma([v.round().clamp(0.0, 255.0) as u8])
    })
}

/// A test board of 14 x 10 inner corners of `square_mm`, centred on the test camera's
/// view of the table (275, 200 mm) and turned by `angle_deg`.
pub fn test_board(square_mm: f64, angle_deg: f64) -> Chessboard {
    let mut board =
        Chessboard { columns: 14, rows: 10, square_mm, origin_mm: Mm::origin(), angle_deg, paper: 0.75, ink: 0.06 };
    let middle = board.corner(7, 5) - Mm::origin();
    board.origin_mm = Mm::new(275.0, 200.0) - middle;
    board
}

/// A printed grid of dark dots where it lies on the table.
#[derive(Clone, Debug)]
pub struct CircleGrid {
    /// Dots per row, and rows.
    pub columns: usize,
    pub rows: usize,
    pub pitch_mm: f64,
    pub asymmetric: bool,
    pub dot_mm: f64,
    /// Where dot (0, 0) lies on the table, and the grid's x axis's angle.
    pub origin_mm: Mm,
    pub angle_deg: f64,
    pub paper: f64,
    pub ink: f64,
}

impl CircleGrid {
    /// Dot `(row i, column j)` in the grid's own frame (millimetres).
    pub fn dot_in_grid(&self, i: usize, j: usize) -> Vector2<f64> {
        let x = if self.asymmetric { 2 * j + i % 2 } else { j };
        Vector2::new(x as f64 * self.pitch_mm, i as f64 * self.pitch_mm)
    }

    /// Dot `(row i, column j)` on the table.
    pub fn dot(&self, i: usize, j: usize) -> Mm {
        let b = self.dot_in_grid(i, j);
        let (s, c) = self.angle_deg.to_radians().sin_cos();
        self.origin_mm + Vector2::new(c * b.x - s * b.y, s * b.x + c * b.y)
    }

    fn width_pitches(&self) -> f64 {
        if self.asymmetric { (2 * self.columns - 1) as f64 } else { (self.columns - 1) as f64 }
    }
}

impl Printed for CircleGrid {
    fn transmission(&self, p: Mm) -> f64 {
        let (s, c) = self.angle_deg.to_radians().sin_cos();
        let d = p - self.origin_mm;
        let b = Vector2::new(c * d.x + s * d.y, -s * d.x + c * d.y) / self.pitch_mm;
        let margin = 1.5;
        if b.x < -margin - 1.0
            || b.y < -margin - 1.0
            || b.x > self.width_pitches() + margin + 1.0
            || b.y > (self.rows - 1) as f64 + margin + 1.0
        {
            return 1.0;
        }
        if b.x < -margin
            || b.y < -margin
            || b.x > self.width_pitches() + margin
            || b.y > (self.rows - 1) as f64 + margin
        {
            return self.paper;
        }
        let r = self.dot_mm / 2.0 / self.pitch_mm;
        let row = b.y.round();
        for i in [row - 1.0, row, row + 1.0] {
            if i < 0.0 || i >= self.rows as f64 {
                continue;
            }
            let offset = if self.asymmetric { (i as usize % 2) as f64 } else { 0.0 };
            let step = if self.asymmetric { 2.0 } else { 1.0 };
            let j = ((b.x - offset) / step).round().clamp(0.0, (self.columns - 1) as f64);
            let centre = Vector2::new(offset + j * step, i);
            if (b - centre).norm() <= r {
                return self.ink;
            }
        }
        self.paper
    }
}

/// A test circle grid centred on the test camera's view of the table: symmetric 14 x
/// 10 dots, or asymmetric 6 x 13 (OpenCV's `4x11` pattern, larger), of `pitch_mm`.
pub fn test_circle_grid(asymmetric: bool, pitch_mm: f64, angle_deg: f64) -> CircleGrid {
    let (columns, rows) = if asymmetric { (6, 13) } else { (14, 10) };
    let dot_mm = if asymmetric { 0.7 * pitch_mm } else { 0.5 * pitch_mm };
    let mut grid = CircleGrid {
        columns,
        rows,
        pitch_mm,
        asymmetric,
        dot_mm,
        origin_mm: Mm::origin(),
        angle_deg,
        paper: 0.75,
        ink: 0.06,
    };
    let far = grid.dot(rows - 1, columns - 1) - Mm::origin();
    let near = grid.dot(0, 0) - Mm::origin();
    grid.origin_mm = Mm::new(275.0, 200.0) - (far + near) / 2.0;
    grid
}
