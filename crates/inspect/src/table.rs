//! The camera model of the table plane: where a point of the table (millimetres, in
//! the calibration plate's frame) appears in the photo (pixels), and back.
//!
//! A homography maps the table to undistorted pixels; Brown–Conrady distortion
//! (radial `k1`, `k2`, tangential `p1`, `p2`, about `center_px`, in units of
//! `scale_px`) maps those to the pixels of the photo. Pixel `(i, j)`'s centre is at
//! `(i, j)`. The model is what `sheetsight calibrate` writes as `table.json`.

use nalgebra::{Matrix3, Point2, Vector3};
use serde::{Deserialize, Serialize};

/// A point in the photo, in pixels (x to the right, y down). Its own type, not an
/// alias of [`Mm`]'s: a pixel position used as a table position, or the reverse, does
/// not compile.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Px {
    pub x: f64,
    pub y: f64,
}

impl Px {
    pub const fn new(x: f64, y: f64) -> Px {
        Px { x, y }
    }

    /// For the geometry that is the same in any unit (homographies, distances).
    pub fn to_point(self) -> Point2<f64> {
        Point2::new(self.x, self.y)
    }

    pub fn from_point(p: Point2<f64>) -> Px {
        Px::new(p.x, p.y)
    }
}

/// The displacement between two photo points, in pixels.
macro_rules! px_sub {
    ($a:ty, $b:ty) => {
        impl std::ops::Sub<$b> for $a {
            type Output = nalgebra::Vector2<f64>;
            fn sub(self, other: $b) -> nalgebra::Vector2<f64> {
                nalgebra::Vector2::new(self.x - other.x, self.y - other.y)
            }
        }
    };
}
px_sub!(Px, Px);
px_sub!(&Px, Px);
px_sub!(Px, &Px);
px_sub!(&Px, &Px);

impl std::ops::Add<nalgebra::Vector2<f64>> for Px {
    type Output = Px;
    fn add(self, d: nalgebra::Vector2<f64>) -> Px {
        Px::new(self.x + d.x, self.y + d.y)
    }
}

impl std::fmt::Display for Px {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "({:.1}, {:.1}) px", self.x, self.y)
    }
}

/// A point on the table, in millimetres.
pub type Mm = Point2<f64>;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Distortion {
    pub center_px: [f64; 2],
    pub scale_px: f64,
    pub k1: f64,
    pub k2: f64,
    pub p1: f64,
    pub p2: f64,
}

/// Where the camera is, over the table: what corrects a thick part's silhouette.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CameraPosition {
    /// The point of the table straight below the camera's centre.
    pub nadir_mm: [f64; 2],
    pub height_mm: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableModel {
    pub image_width_px: u32,
    pub image_height_px: u32,
    /// Row-major, table millimetres to undistorted pixels.
    pub homography: [[f64; 3]; 3],
    pub distortion: Distortion,
    pub camera: Option<CameraPosition>,
}

impl Distortion {
    pub fn none(width: u32, height: u32) -> Self {
        Self {
            center_px: [(width as f64 - 1.0) / 2.0, (height as f64 - 1.0) / 2.0],
            scale_px: width.max(height) as f64 / 2.0,
            k1: 0.0,
            k2: 0.0,
            p1: 0.0,
            p2: 0.0,
        }
    }

    /// Undistorted pixel to photo pixel.
    pub fn apply(&self, u: Px) -> Px {
        let (cx, cy, s) = (self.center_px[0], self.center_px[1], self.scale_px);
        let (x, y) = ((u.x - cx) / s, (u.y - cy) / s);
        let (dx, dy) = self.offset(x, y);
        Px::new(cx + s * (x + dx), cy + s * (y + dy))
    }

    fn offset(&self, x: f64, y: f64) -> (f64, f64) {
        let r2 = x * x + y * y;
        let radial = self.k1 * r2 + self.k2 * r2 * r2;
        (
            x * radial + 2.0 * self.p1 * x * y + self.p2 * (r2 + 2.0 * x * x),
            y * radial + self.p1 * (r2 + 2.0 * y * y) + 2.0 * self.p2 * x * y,
        )
    }

    /// Photo pixel to undistorted pixel (fixed-point iteration; the distortion of a
    /// real lens is far from folding over within the picture).
    pub fn remove(&self, d: Px) -> Px {
        let (cx, cy, s) = (self.center_px[0], self.center_px[1], self.scale_px);
        let (xd, yd) = ((d.x - cx) / s, (d.y - cy) / s);
        let (mut x, mut y) = (xd, yd);
        for _ in 0..20 {
            let (dx, dy) = self.offset(x, y);
            let (nx, ny) = (xd - dx, yd - dy);
            // 1e-10 of `scale_px`: well under a millionth of a pixel.
            let done = (nx - x).abs() + (ny - y).abs() < 1e-10;
            (x, y) = (nx, ny);
            if done {
                break;
            }
        }
        Px::new(cx + s * x, cy + s * y)
    }
}

impl TableModel {
    pub fn h(&self) -> Matrix3<f64> {
        Matrix3::from_fn(|r, c| self.homography[r][c])
    }

    /// Table millimetres to photo pixels.
    pub fn to_pixel(&self, p: Mm) -> Px {
        self.distortion.apply(Px::from_point(apply_h(&self.h(), p)))
    }

    /// Photo pixels to table millimetres.
    pub fn to_table(&self, p: Px) -> Mm {
        self.to_table_with(&self.inverse_h(), p)
    }

    pub fn inverse_h(&self) -> Matrix3<f64> {
        self.h().try_inverse().unwrap_or_else(Matrix3::identity)
    }

    /// As [`Self::to_table`], with the inverse homography computed once.
    pub fn to_table_with(&self, h_inv: &Matrix3<f64>, p: Px) -> Mm {
        apply_h(h_inv, self.distortion.remove(p).to_point())
    }

    /// Millimetres per pixel at a table point (the mean of the two directions).
    pub fn mm_per_px_at(&self, p: Mm) -> f64 {
        let a = self.to_pixel(p);
        let bx = self.to_pixel(Mm::new(p.x + 1.0, p.y));
        let by = self.to_pixel(Mm::new(p.x, p.y + 1.0));
        2.0 / ((bx - a).norm() + (by - a).norm())
    }

    /// The table area one photo pixel covers at pixel `p`, mm².
    pub fn mm2_per_px_at(&self, h_inv: &Matrix3<f64>, p: Px) -> f64 {
        let a = self.to_table_with(h_inv, p);
        let bx = self.to_table_with(h_inv, Px::new(p.x + 1.0, p.y)) - a;
        let by = self.to_table_with(h_inv, Px::new(p.x, p.y + 1.0)) - a;
        (bx.x * by.y - bx.y * by.x).abs()
    }

    /// Where the camera is, from the homography, taking square pixels and the principal
    /// point at the distortion centre; `None` when the view is too close to straight
    /// down to tell the focal length (then give the camera height yourself).
    pub fn camera_position(&self) -> Option<CameraPosition> {
        let shift = Matrix3::new(
            1.0,
            0.0,
            -self.distortion.center_px[0],
            0.0,
            1.0,
            -self.distortion.center_px[1],
            0.0,
            0.0,
            1.0,
        );
        let h = shift * self.h();
        let (h1, h2, h3) = (h.column(0), h.column(1), h.column(2));
        // r1 . r2 = 0 gives f² (|r1| = |r2| too, but it is far more sensitive to the
        // principal point, so it only stands in when the first is degenerate).
        let orthogonal = (h1.x * h2.x + h1.y * h2.y, -h1.z * h2.z);
        let equal = (h1.x * h1.x + h1.y * h1.y - h2.x * h2.x - h2.y * h2.y, h2.z * h2.z - h1.z * h1.z);
        let f2 =
            [orthogonal, equal].iter().filter(|(a, b)| b.abs() > 1e-14 && a / b > 0.0).map(|(a, b)| a / b).next()?;
        let f = f2.sqrt();
        let k_inv = Matrix3::new(1.0 / f, 0.0, 0.0, 0.0, 1.0 / f, 0.0, 0.0, 0.0, 1.0);
        let (mut r1, mut r2, mut t) = (k_inv * h1, k_inv * h2, k_inv * h3);
        let lambda = 2.0 / (r1.norm() + r2.norm());
        r1 *= lambda;
        r2 *= lambda;
        t *= lambda;
        if t.z < 0.0 {
            r1 = -r1;
            r2 = -r2;
            t = -t;
        }
        let r3 = r1.cross(&r2);
        // Too close to straight down (under 2°): the focal length is a guess.
        if r3.z.abs() > 2f64.to_radians().cos() {
            return None;
        }
        let rot = Matrix3::from_columns(&[r1, r2, r3]);
        let centre: Vector3<f64> = -(rot.transpose() * t);
        Some(CameraPosition { nadir_mm: [centre.x, centre.y], height_mm: centre.z.abs() })
    }
}

pub fn apply_h(h: &Matrix3<f64>, p: Point2<f64>) -> Point2<f64> {
    let v = h * Vector3::new(p.x, p.y, 1.0);
    Point2::new(v.x / v.z, v.y / v.z)
}

/// The centre of the image of the circle (`center`, `radius`) under `h`: the pole of
/// the line at infinity, which is what an ellipse fitted to the imaged circle gives
/// (not the image of the circle's centre, under perspective).
pub fn imaged_circle_center(h: &Matrix3<f64>, center: Point2<f64>, radius: f64) -> Point2<f64> {
    let (x0, y0) = (center.x, center.y);
    // Inverse of the circle's conic matrix, in closed form.
    let r2 = radius * radius;
    let c_inv = Matrix3::new(x0 * x0 - r2, x0 * y0, x0, x0 * y0, y0 * y0 - r2, y0, x0, y0, 1.0) * (-1.0 / r2);
    let v = h * c_inv * h.row(2).transpose();
    Point2::new(v.x / v.z, v.y / v.z)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distortion_round_trips() {
        let d = Distortion { center_px: [2010.0, 1490.0], scale_px: 2000.0, k1: -0.08, k2: 0.01, p1: 1e-3, p2: -5e-4 };
        for &(x, y) in &[(0.0, 0.0), (3999.0, 2999.0), (1000.0, 2500.0), (2010.0, 1490.0)] {
            let u = Px::new(x, y);
            let back = d.remove(d.apply(u));
            assert!((back - u).norm() < 1e-6, "{u} -> {back}");
        }
    }

    #[test]
    fn imaged_circle_center_is_the_ellipse_center() {
        let h = Matrix3::new(6.0, 0.4, 100.0, -0.3, -6.2, 3000.0, 1e-4, 2e-4, 1.0);
        let (c, r) = (Point2::new(200.0, 150.0), 20.0);
        let pts: Vec<Point2<f64>> = (0..360)
            .map(|i| {
                let a = (i as f64).to_radians();
                apply_h(&h, Point2::new(c.x + r * a.cos(), c.y + r * a.sin()))
            })
            .collect();
        let fitted = crate::fit::fit_ellipse_center(&pts).expect("fit");
        let predicted = imaged_circle_center(&h, c, r);
        assert!((fitted - predicted).norm() < 1e-6, "{fitted} vs {predicted}");
        assert!((apply_h(&h, c) - predicted).norm() > 1e-3, "perspective moves the centre");
    }
}
