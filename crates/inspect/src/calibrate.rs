//! Calibration from a photo of the plate: its holes found to a fraction of a pixel,
//! matched to the drawing's grid (the half-size marker hole tells which way round the
//! plate lies), and the table's camera model fitted to them (homography, radial and
//! tangential distortion about the image centre) by Levenberg–Marquardt on the centres of
//! the imaged circles (which, under perspective, are not the images of the centres).

use image::GrayImage;
use nalgebra::Vector2;
use serde::{Deserialize, Serialize};
use sheetsight_drawing::{FeatureKind, Part};

use crate::fit::{fit_ellipse_center, fit_homography};
use crate::silhouette::{PhotoError, Silhouette};
use crate::table::{Distortion, Mm, Px, TableModel, apply_h, imaged_circle_center};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CalibrationError {
    #[error("the plate drawing: {0}")]
    Plate(String),
    #[error(transparent)]
    Photo(#[from] PhotoError),
    #[error(
        "only {found} of the plate's {expected} holes were found in the photo (at least {needed} are needed); light the whole plate evenly and keep it fully in view"
    )]
    TooFewHoles { found: usize, expected: usize, needed: usize },
    #[error("the marker hole (half the size of the others) {0}; is this the plate of the drawing given?")]
    Marker(String),
    #[error(
        "the camera model fits the plate poorly: {rms_px:.2} px RMS (at most {limit_px} px); the plate may be bent or not lying flat, or the photo smeared"
    )]
    PoorFit { rms_px: f64, limit_px: f64 },
    #[error(
        "the plate's thickness needs the camera's position over the table, and the camera looks too straight down to tell it; tilt it by a few degrees, or give a plate thickness of 0 for a thin plate"
    )]
    NoCameraPosition,
    #[error("no plate in the photo: nothing dark covers a twentieth of it; lay the calibration plate on the lit table")]
    NoPlate,
    #[error("the calibration target: {0}")]
    Board(String),
    #[error(
        "only {found} of the circle grid's {expected} dots were found in the photo; the whole grid must be in view, flat, sharp and evenly lit (and of the size given)"
    )]
    TooFewDots { found: usize, expected: usize },
    #[error(
        "only {found} of the chessboard's {expected} inner corners were found in the photo; the whole board must be in view, flat, sharp and evenly lit (and of the size given)"
    )]
    TooFewCorners { found: usize, expected: usize },
}

/// The plate's grid, as drawn.
#[derive(Clone, Debug)]
pub struct PlateGrid {
    pub origin_mm: Mm,
    pub pitch_mm: f64,
    pub columns: usize,
    pub rows: usize,
    pub hole_mm: f64,
    pub marker_mm: (Mm, f64),
}

impl PlateGrid {
    /// The grid of a plate drawing: equal round holes on a square pitch, and one
    /// smaller marker hole.
    pub fn from_part(part: &Part) -> Result<Self, CalibrationError> {
        let bad = |m: &str| Err(CalibrationError::Plate(m.to_string()));
        let holes: Vec<(Mm, f64)> = part
            .features
            .iter()
            .filter_map(|f| match f.kind {
                FeatureKind::Hole { center, diameter_mm, .. } => Some((center, diameter_mm)),
                _ => None,
            })
            .collect();
        if holes.len() < 10 {
            return bad("it has fewer than 10 round holes; write one with `sheetsight plate`");
        }
        let mut sizes: Vec<f64> = holes.iter().map(|h| h.1).collect();
        sizes.sort_by(f64::total_cmp);
        let hole_mm = sizes[sizes.len() / 2];
        let markers: Vec<&(Mm, f64)> = holes.iter().filter(|h| h.1 < 0.75 * hole_mm).collect();
        let [marker] = markers[..] else {
            return bad("it needs exactly one marker hole smaller than the others");
        };
        let regular: Vec<Mm> = holes.iter().filter(|h| (h.1 - hole_mm).abs() < 0.05 * hole_mm).map(|h| h.0).collect();
        let pitch_mm = {
            let mut nearest: Vec<f64> = regular
                .iter()
                .map(|p| regular.iter().filter(|q| *q != p).map(|q| (q - p).norm()).fold(f64::MAX, f64::min))
                .collect();
            nearest.sort_by(f64::total_cmp);
            nearest[nearest.len() / 2]
        };
        let origin_mm = Mm::new(
            regular.iter().map(|p| p.x).fold(f64::MAX, f64::min),
            regular.iter().map(|p| p.y).fold(f64::MAX, f64::min),
        );
        let index = |v: f64| (v / pitch_mm).round() as usize;
        let columns = regular.iter().map(|p| index(p.x - origin_mm.x)).max().unwrap_or(0) + 1;
        let rows = regular.iter().map(|p| index(p.y - origin_mm.y)).max().unwrap_or(0) + 1;
        let on_grid = regular.iter().all(|p| {
            let g = Mm::new(
                origin_mm.x + index(p.x - origin_mm.x) as f64 * pitch_mm,
                origin_mm.y + index(p.y - origin_mm.y) as f64 * pitch_mm,
            );
            (g - p).norm() < 0.01 * pitch_mm
        });
        if !on_grid || regular.len() != columns * rows {
            return bad("its holes are not a full square grid");
        }
        Ok(Self { origin_mm, pitch_mm, columns, rows, hole_mm, marker_mm: *marker })
    }

    pub fn hole(&self, i: usize, j: usize) -> Mm {
        Mm::new(self.origin_mm.x + i as f64 * self.pitch_mm, self.origin_mm.y + j as f64 * self.pitch_mm)
    }
}

/// One hole used in the fit.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HoleResidual {
    pub table_mm: [f64; 2],
    pub measured_px: [f64; 2],
    pub residual_px: [f64; 2],
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Calibration {
    #[serde(flatten)]
    pub model: TableModel,
    pub mm_per_px: f64,
    pub residual_rms_px: f64,
    pub residual_rms_mm: f64,
    pub residual_max_px: f64,
    pub holes_used: usize,
    pub holes_expected: usize,
    pub plate_upside_down: bool,
    pub residuals: Vec<HoleResidual>,
    /// How much of the photo the points' convex hull covers, in per cent: outside it
    /// the model is extrapolated.
    #[serde(default)]
    pub covered_percent: f64,
}

/// The largest RMS residual accepted.
pub const MAX_RMS_PX: f64 = 0.3;

/// A grid hole `(column, row)` and where it was seen.
type Match = (usize, usize, Px);

/// A hole seen in the photo.
struct Seen {
    center: Px,
    area_px: u64,
}

/// Calibrates from a photo of the plate. The holes' outlines seen by the camera are
/// their top and bottom edges, whose lens-shaped overlap is centred at half the plate's
/// thickness: the fit is of that plane, moved down to the table when the camera's
/// position is known.
pub fn calibrate(img: &GrayImage, grid: &PlateGrid, plate_thickness_mm: f64) -> Result<Calibration, CalibrationError> {
    let silhouette = Silhouette::find(img)?;
    silhouette.check_sharp(crate::MAX_EDGE_WIDTH_PX)?;
    let min_px = (img.width() as u64 * img.height() as u64) / 20;
    let plate = silhouette
        .material
        .iter()
        .enumerate()
        .filter(|(_, c)| c.area_px >= min_px)
        .max_by_key(|(_, c)| c.area_px)
        .map(|(i, _)| i as u32)
        .ok_or(CalibrationError::NoPlate)?;
    let holes = silhouette.holes_of(plate, 12);
    let mut points: Vec<Vec<Px>> = vec![Vec::new(); silhouette.lit.len()];
    for e in &silhouette.edges {
        if e.material == plate {
            points[e.lit as usize].push(e.px);
        }
    }
    let seen: Vec<Seen> = holes
        .iter()
        .filter_map(|&h| {
            let edge: Vec<_> = points[h as usize].iter().map(|p| p.to_point()).collect();
            let center = Px::from_point(fit_ellipse_center(&edge)?);
            Some(Seen { center, area_px: silhouette.lit[h as usize].area_px })
        })
        .collect();
    let expected = grid.columns * grid.rows;
    let needed = (expected * 7 / 10).max(12);
    if seen.len() < needed {
        return Err(CalibrationError::TooFewHoles { found: seen.len(), expected, needed });
    }
    let mut areas: Vec<u64> = seen.iter().map(|s| s.area_px).collect();
    areas.sort();
    let typical = areas[areas.len() / 2] as f64;
    let is_regular = |s: &Seen| (s.area_px as f64 - typical).abs() < 0.3 * typical;
    let markers: Vec<&Seen> = seen.iter().filter(|s| (0.1..0.5).contains(&(s.area_px as f64 / typical))).collect();
    let marker = match markers[..] {
        [m] => m,
        [] => return Err(CalibrationError::Marker("is not in the photo".into())),
        _ => return Err(CalibrationError::Marker(format!("is not unique: {} holes of its size", markers.len()))),
    };
    let regular: Vec<Px> = seen.iter().filter(|s| is_regular(s)).map(|s| s.center).collect();

    // The four holes around the marker; the grid's corner among them has two neighbours.
    let mut around: Vec<Px> = regular.clone();
    around.sort_by(|a, b| (a - marker.center).norm().total_cmp(&(b - marker.center).norm()));
    around.truncate(4);
    if around.len() < 4 {
        return Err(CalibrationError::Marker("has not four holes around it".into()));
    }
    let side_px = (around[0] - marker.center).norm() * std::f64::consts::SQRT_2;
    let neighbours = |p: Px| regular.iter().filter(|q| **q != p && (*q - p).norm() < 1.3 * side_px).count();
    let corners: Vec<Px> = around.iter().copied().filter(|p| neighbours(*p) == 2).collect();
    let [corner] = corners[..] else {
        return Err(CalibrationError::Marker("does not lie in a corner cell of the grid".into()));
    };
    let mut adjacent: Vec<Px> = around.iter().copied().filter(|p| *p != corner).collect();
    adjacent.sort_by(|a, b| (a - corner).norm().total_cmp(&(b - corner).norm()));
    let (a, b, diagonal) = (adjacent[0], adjacent[1], adjacent[2]);

    let mut best: Option<(Vec<Match>, bool)> = None;
    for (x_dir, y_dir) in [(a, b), (b, a)] {
        let start = [(0, 0, corner), (1, 0, x_dir), (0, 1, y_dir), (1, 1, diagonal)];
        let matched = grow(grid, &regular, &start, side_px);
        let h = homography_of(grid, &matched);
        let proper = h.is_some_and(|h| {
            let (o, x, y) = (apply_h(&h, grid.hole(0, 0)), apply_h(&h, grid.hole(1, 0)), apply_h(&h, grid.hole(0, 1)));
            let (u, v) = (x - o, y - o);
            u.x * v.y - u.y * v.x < 0.0
        });
        let better = match &best {
            None => true,
            Some((m, p)) => matched.len() > m.len() || (matched.len() == m.len() && proper && !p),
        };
        if better {
            best = Some((matched, proper));
        }
    }
    let (mut matched, proper) = best.unwrap_or_default();
    if !proper {
        // Face down: the grid is symmetric, so index it as seen from above.
        for m in &mut matched {
            m.0 = grid.columns - 1 - m.0;
        }
    }
    if matched.len() < needed {
        return Err(CalibrationError::TooFewHoles { found: matched.len(), expected, needed });
    }
    let (w, h) = img.dimensions();
    let points: Vec<(Mm, Px)> = matched.iter().map(|m| (grid.hole(m.0, m.1), m.2)).collect();
    let radius_mm = grid.hole_mm / 2.0;
    let predict = |model: &TableModel, t: Mm| {
        model.distortion.apply(Px::from_point(imaged_circle_center(&model.h(), t, radius_mm)))
    };
    fit_table(points, expected, (w, h), &predict, plate_thickness_mm / 2.0, !proper)
}

/// Fits the table's model to points seen at known places on a plane `z_mm` above the
/// table (`predict`: where the model images such a point), drops those far off (a
/// speck: five times the median residual, and at least 0.2 px) and fits again, refuses a
/// poor fit, and reports the residuals.
pub(crate) fn fit_table(
    mut points: Vec<(Mm, Px)>,
    expected: usize,
    (w, h): (u32, u32),
    predict: &dyn Fn(&TableModel, Mm) -> Px,
    z_mm: f64,
    upside_down: bool,
) -> Result<Calibration, CalibrationError> {
    let residuals = |points: &[(Mm, Px)], model: &TableModel| -> Vec<Vector2<f64>> {
        points.iter().map(|(t, p)| p - predict(model, *t)).collect()
    };
    let mut fit = fit_model(&points, (w, h), predict);
    let mut res = residuals(&points, &fit);
    let mut sorted: Vec<f64> = res.iter().map(|r| r.norm()).collect();
    sorted.sort_by(f64::total_cmp);
    let limit = (5.0 * sorted[sorted.len() / 2]).max(0.2);
    if sorted[sorted.len() - 1] > limit {
        let keep: Vec<bool> = res.iter().map(|r| r.norm() <= limit).collect();
        let mut k = 0;
        points.retain(|_| {
            k += 1;
            keep[k - 1]
        });
        fit = fit_model(&points, (w, h), predict);
        res = residuals(&points, &fit);
    }
    let rms_px = (res.iter().map(|r| r.norm_squared()).sum::<f64>() / res.len() as f64).sqrt();
    if rms_px > MAX_RMS_PX {
        return Err(CalibrationError::PoorFit { rms_px, limit_px: MAX_RMS_PX });
    }
    let centre_mm = fit.to_table(Px::new(w as f64 / 2.0, h as f64 / 2.0));
    let hull: Vec<Px> = points.iter().map(|(_, p)| *p).collect();
    let covered_percent = 100.0 * hull_area(&hull) / (w as f64 * h as f64);
    let calibration = Calibration {
        covered_percent,
        mm_per_px: fit.mm_per_px_at(centre_mm),
        residual_rms_px: rms_px,
        residual_rms_mm: (points
            .iter()
            .zip(&res)
            .map(|((t, _), r)| (r.norm() * fit.mm_per_px_at(*t)).powi(2))
            .sum::<f64>()
            / res.len() as f64)
            .sqrt(),
        residual_max_px: res.iter().map(|r| r.norm()).fold(0.0, f64::max),
        holes_used: points.len(),
        holes_expected: expected,
        plate_upside_down: upside_down,
        residuals: points
            .iter()
            .zip(&res)
            .map(|((t, p), r)| HoleResidual { table_mm: [t.x, t.y], measured_px: [p.x, p.y], residual_px: [r.x, r.y] })
            .collect(),
        model: to_table_plane(fit, z_mm)?,
    };
    Ok(calibration)
}

/// The area of the convex hull of `points` (Andrew's monotone chain and the shoelace).
fn hull_area(points: &[Px]) -> f64 {
    let mut p: Vec<(f64, f64)> = points.iter().map(|q| (q.x, q.y)).collect();
    p.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    if p.len() < 3 {
        return 0.0;
    }
    let cross = |o: (f64, f64), a: (f64, f64), b: (f64, f64)| (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0);
    let mut hull: Vec<(f64, f64)> = Vec::new();
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &(f64, f64)>> =
            if pass == 0 { Box::new(p.iter()) } else { Box::new(p.iter().rev()) };
        for &q in iter {
            while hull.len() >= start + 2 && cross(hull[hull.len() - 2], hull[hull.len() - 1], q) <= 0.0 {
                hull.pop();
            }
            hull.push(q);
        }
        hull.pop();
    }
    let n = hull.len();
    (0..n).map(|i| hull[i].0 * hull[(i + 1) % n].1 - hull[(i + 1) % n].0 * hull[i].1).sum::<f64>().abs() / 2.0
}

/// The model of the plane `z_mm` above the table, moved down to the table: the ray to a
/// table point crosses that plane closer to the nadir, by a factor 1 − z / height.
fn to_table_plane(plane: TableModel, z_mm: f64) -> Result<TableModel, CalibrationError> {
    let camera = plane.camera_position();
    if z_mm <= 0.0 {
        return Ok(TableModel { camera, ..plane });
    }
    let Some(cam) = camera else { return Err(CalibrationError::NoCameraPosition) };
    let height_mm = cam.height_mm + z_mm;
    let k = 1.0 - z_mm / height_mm;
    let (nx, ny) = (cam.nadir_mm[0], cam.nadir_mm[1]);
    let s = nalgebra::Matrix3::new(k, 0.0, (1.0 - k) * nx, 0.0, k, (1.0 - k) * ny, 0.0, 0.0, 1.0);
    let h = plane.h() * s;
    let h = h / h[(2, 2)];
    Ok(TableModel {
        homography: [[h[(0, 0)], h[(0, 1)], h[(0, 2)]], [h[(1, 0)], h[(1, 1)], h[(1, 2)]], [h[(2, 0)], h[(2, 1)], 1.0]],
        camera: Some(crate::table::CameraPosition { nadir_mm: cam.nadir_mm, height_mm }),
        ..plane
    })
}

/// Grows the match from the marker's cell outwards: predict each grid hole from a
/// homography of the matches so far, take the nearest hole seen within a third of a
/// pitch, refit, and double the reach.
fn grow(grid: &PlateGrid, seen: &[Px], start: &[Match], side_px: f64) -> Vec<Match> {
    let mut matched: Vec<Match> = start.to_vec();
    let mut reach = 2;
    loop {
        let Some(h) = homography_of(grid, &matched) else { return matched };
        let mut next = Vec::new();
        for j in 0..grid.rows.min(reach + 1) {
            for i in 0..grid.columns.min(reach + 1) {
                let predicted = Px::from_point(apply_h(&h, grid.hole(i, j)));
                let nearest = seen
                    .iter()
                    .map(|p| (*p, (p - predicted).norm()))
                    .min_by(|a, b| a.1.total_cmp(&b.1))
                    .filter(|(_, d)| *d < side_px / 3.0);
                if let Some((p, _)) = nearest {
                    next.push((i, j, p));
                }
            }
        }
        let done = reach >= grid.columns.max(grid.rows);
        matched = next;
        if done {
            return matched;
        }
        reach *= 2;
    }
}

fn homography_of(grid: &PlateGrid, matched: &[Match]) -> Option<nalgebra::Matrix3<f64>> {
    let from: Vec<Mm> = matched.iter().map(|m| grid.hole(m.0, m.1)).collect();
    let to: Vec<_> = matched.iter().map(|m| m.2.to_point()).collect();
    fit_homography(&from, &to)
}

fn model_of(p: &[f64], w: u32, h: u32) -> TableModel {
    let homography = [[p[0], p[1], p[2]], [p[3], p[4], p[5]], [p[6], p[7], 1.0]];
    // About the image's centre: a free centre trades off against the tangential terms
    // and leaves the camera's position (which a thick part's correction needs) vague.
    let distortion = Distortion { k1: p[8], k2: p[9], p1: p[10], p2: p[11], ..Distortion::none(w, h) };
    TableModel { image_width_px: w, image_height_px: h, homography, distortion, camera: None }
}

fn fit_model(points: &[(Mm, Px)], (w, h): (u32, u32), predict: &dyn Fn(&TableModel, Mm) -> Px) -> TableModel {
    let from: Vec<Mm> = points.iter().map(|(t, _)| *t).collect();
    let to: Vec<_> = points.iter().map(|(_, p)| p.to_point()).collect();
    let start_h = fit_homography(&from, &to).unwrap_or_else(nalgebra::Matrix3::identity);
    let start = [
        start_h[(0, 0)],
        start_h[(0, 1)],
        start_h[(0, 2)],
        start_h[(1, 0)],
        start_h[(1, 1)],
        start_h[(1, 2)],
        start_h[(2, 0)],
        start_h[(2, 1)],
        0.0,
        0.0,
        0.0,
        0.0,
    ];
    // Typical sizes: the homography's own entries, 1e-3 for the distortion terms.
    let scale: Vec<f64> =
        start.iter().enumerate().map(|(k, v)| if k >= 8 { 1e-3 } else { v.abs().max(1e-6) }).collect();
    let fitted = crate::lm::minimise(&start, &scale, 2 * points.len(), 200, |p, out| {
        let model = model_of(p, w, h);
        for (k, (t, px)) in points.iter().enumerate() {
            let r = px - predict(&model, *t);
            out[2 * k] = r.x;
            out[2 * k + 1] = r.y;
        }
    });
    model_of(&fitted, w, h)
}
