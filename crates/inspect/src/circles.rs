//! Calibration from a photo of a printed circle grid (OpenCV's conventions: `columns x
//! rows` dots; symmetric: dot `(i, j)` at `(j, i)` pitches; asymmetric: at
//! `(2 j + i mod 2, i)` pitches), into the same table model as the plate's.
//!
//! The dots are the photo's dark regions of one size (the silhouette's material
//! components); each dot's centre is its edge's fitted ellipse's. They are put on a
//! lattice by their nearest neighbours (a symmetric grid's rows and columns, an
//! asymmetric grid's diagonals, [`crate::lattice`]) and the lattice matched to the
//! pattern in whichever of its eight orientations fits. A print lying face down (seen
//! through the paper) is indexed as seen from above. The model is fitted to the
//! centres of the imaged circles, as the plate's (an ellipse's centre is not the image
//! of the circle's), with the dots' diameter measured on the photo.

use crate::calibrate::{Calibration, CalibrationError, fit_table};
use crate::fit::{fit_ellipse_center, fit_homography};
use crate::silhouette::Silhouette;
use crate::table::{Mm, Px, TableModel, apply_h, imaged_circle_center};
use image::GrayImage;

/// A printed grid of dots.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CircleGridSpec {
    /// Dots per row, and rows.
    pub columns: usize,
    pub rows: usize,
    /// Between rows; a symmetric grid's dots are as far apart in a row, an asymmetric
    /// grid's twice as far.
    pub pitch_mm: f64,
    pub asymmetric: bool,
}

impl CircleGridSpec {
    /// `COLSxROWS` dots (as OpenCV counts them) and the pitch.
    pub fn parse(size: &str, pitch_mm: f64, asymmetric: bool) -> Result<Self, CalibrationError> {
        let (columns, rows) = crate::lattice::parse_size(size, "dots", pitch_mm, "a pitch")?;
        Ok(Self { columns, rows, pitch_mm, asymmetric })
    }

    /// Dot `(row i, column j)` in pitches.
    fn dot(&self, i: usize, j: usize) -> (i64, i64) {
        let x = if self.asymmetric { 2 * j + i % 2 } else { j };
        (x as i64, i as i64)
    }
}

/// Calibrates the table from a photo of `grid` lying flat on it.
pub fn calibrate_circles(img: &GrayImage, grid: &CircleGridSpec) -> Result<Calibration, CalibrationError> {
    let silhouette = Silhouette::find(img)?;
    silhouette.check_sharp(crate::MAX_EDGE_WIDTH_PX)?;
    let expected = grid.columns * grid.rows;
    let too_few = |found: usize| CalibrationError::TooFewDots { found, expected };
    // The dots: dark regions clear of the border, of the typical size.
    let mut areas: Vec<u64> =
        silhouette.material.iter().filter(|c| c.area_px >= 12 && !c.touches_border).map(|c| c.area_px).collect();
    areas.sort_unstable();
    let Some(&typical) = areas.get(areas.len().saturating_sub(expected / 2 + 1)) else { return Err(too_few(0)) };
    let is_dot = |c: &crate::silhouette::Component| {
        !c.touches_border && (c.area_px as f64) > 0.4 * typical as f64 && (c.area_px as f64) < 2.5 * typical as f64
    };
    let mut edges: Vec<Vec<nalgebra::Point2<f64>>> = vec![Vec::new(); silhouette.material.len()];
    for e in &silhouette.edges {
        if is_dot(&silhouette.material[e.material as usize]) {
            edges[e.material as usize].push(e.px.to_point());
        }
    }
    let dots: Vec<(Px, u64)> = edges
        .iter()
        .enumerate()
        .filter(|(_, points)| points.len() >= 8)
        .filter_map(|(k, points)| Some((Px::from_point(fit_ellipse_center(points)?), silhouette.material[k].area_px)))
        .collect();
    let centres: Vec<Px> = dots.iter().map(|d| d.0).collect();
    let (w, h) = img.dimensions();
    let in_photo = |p: Px| p.x >= 0.0 && p.y >= 0.0 && p.x < w as f64 && p.y < h as f64;
    let lattice = crate::lattice::grow(&centres, &in_photo, &|_| None).ok_or_else(|| too_few(centres.len()))?;
    // The lattice in pitches: a symmetric grid's axes are its own, an asymmetric grid's
    // are its diagonals.
    let in_pitches: Vec<((i64, i64), Px)> =
        lattice.iter().map(|(&(a, b), &p)| (if grid.asymmetric { (a + b, a - b) } else { (a, b) }, p)).collect();
    let pattern: std::collections::BTreeSet<(i64, i64)> =
        (0..grid.rows).flat_map(|i| (0..grid.columns).map(move |j| grid.dot(i, j))).collect();
    let placed = orient(&in_pitches, &pattern).ok_or_else(|| too_few(in_pitches.len().min(expected - 1)))?;
    // Seen from above: a frame whose x and y axes image with a negative cross product
    // (as the plate's); a print lying face down is mirrored into it.
    let from: Vec<Mm> = placed.iter().map(|((x, y), _)| Mm::new(*x as f64, *y as f64)).collect();
    let to: Vec<_> = placed.iter().map(|(_, p)| p.to_point()).collect();
    let hg = fit_homography(&from, &to).ok_or_else(|| too_few(placed.len()))?;
    let (o, x, y) = (apply_h(&hg, Mm::new(0.0, 0.0)), apply_h(&hg, Mm::new(1.0, 0.0)), apply_h(&hg, Mm::new(0.0, 1.0)));
    let (u, v) = (x - o, y - o);
    let face_down = u.x * v.y - u.y * v.x > 0.0;
    let points: Vec<(Mm, Px)> = placed
        .iter()
        .map(|((x, y), p)| {
            let y = if face_down { -y } else { *y };
            (Mm::new(*x as f64 * grid.pitch_mm, y as f64 * grid.pitch_mm), *p)
        })
        .collect();
    // A first fit of the dots' centres as points gives the scale; the dots' diameter
    // from their area; then the fit of imaged circles.
    let direct = |model: &TableModel, t: Mm| model.to_pixel(t);
    let first = fit_table(points.clone(), expected, (w, h), &direct, 0.0, face_down)?;
    let mut dot_areas: Vec<u64> = dots.iter().map(|d| d.1).collect();
    dot_areas.sort_unstable();
    let area_px = dot_areas[dot_areas.len() / 2] as f64;
    let radius_mm = (area_px / std::f64::consts::PI).sqrt() * first.mm_per_px;
    let predict = |model: &TableModel, t: Mm| {
        model.distortion.apply(Px::from_point(imaged_circle_center(&model.h(), t, radius_mm)))
    };
    fit_table(points, expected, (w, h), &predict, 0.0, face_down)
}

/// The lattice's points with their place in the pattern (pitches), in the orientation
/// of the eight (turns and mirrors) that puts every point on the pattern and fills it.
fn orient(
    points: &[((i64, i64), Px)],
    pattern: &std::collections::BTreeSet<(i64, i64)>,
) -> Option<Vec<((i64, i64), Px)>> {
    if points.len() != pattern.len() {
        return None;
    }
    for swap in [false, true] {
        for (sx, sy) in [(1, 1), (-1, 1), (1, -1), (-1, -1)] {
            let moved: Vec<(i64, i64)> = points
                .iter()
                .map(|((a, b), _)| {
                    let (x, y) = if swap { (*b, *a) } else { (*a, *b) };
                    (sx * x, sy * y)
                })
                .collect();
            let (x0, y0) = (moved.iter().map(|m| m.0).min()?, moved.iter().map(|m| m.1).min()?);
            let shifted: Vec<(i64, i64)> = moved.iter().map(|(x, y)| (x - x0, y - y0)).collect();
            if shifted.iter().all(|m| pattern.contains(m)) {
                return Some(shifted.into_iter().zip(points.iter().map(|(_, p)| *p)).collect());
            }
        }
    }
    None
}
