//! One inspection: the photo's silhouette mapped to the table, the drawing placed on it,
//! a thick part's silhouette corrected for perspective, every feature measured and
//! judged against the tolerance.
//!
//! Matching: each lit region inside the part (a hole or cut-out in the photo) is matched
//! to the nearest feature of the drawing within its reach (a third of the feature's
//! size, at least 2 mm, at most half the way to the next feature); what is left over in
//! the drawing is missing, what is left over in the photo is extra.

use image::GrayImage;
use nalgebra::Vector2;
use sheetsight_drawing::{FeatureKind, Part};

use crate::fit::fit_circle;
use crate::nominal::NominalIndex;
use crate::pose::{self, Moments, Pose};
use crate::report::{Extra, FeatureReport, HoleSize, Position, Report, Verdict, round};
use crate::silhouette::{PhotoError, Silhouette};
use crate::table::{CameraPosition, Mm, Px, TableModel};

#[derive(Clone, Debug)]
pub struct InspectOptions {
    pub tolerance_mm: f64,
    pub thickness_mm: f64,
}

impl Default for InspectOptions {
    fn default() -> Self {
        Self { tolerance_mm: 0.2, thickness_mm: 0.0 }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum InspectError {
    #[error(transparent)]
    Photo(#[from] PhotoError),
    #[error(
        "the photo is {photo_w}x{photo_h} px but the calibration is for {cal_w}x{cal_h} px; calibrate this camera at this resolution"
    )]
    Resolution { photo_w: u32, photo_h: u32, cal_w: u32, cal_h: u32 },
    #[error(
        "the drawing cannot be placed on the part (after the best fit, {inliers_percent:.0} % of its edges lie within {rms_mm:.2} mm RMS); is this the part of this drawing?"
    )]
    NoPose { rms_mm: f64, inliers_percent: f64 },
    #[error(
        "--thickness-mm needs the camera's position over the table, and the calibration has none (the camera looked straight down); tilt it by a few degrees and calibrate again"
    )]
    NoCameraPosition,
    #[error(
        "the part in the photo is {measured:.0} mm² but the drawing's is {drawn:.0} mm²; is this the part of this drawing, and the calibration of this table?"
    )]
    WrongSize { measured: f64, drawn: f64 },
}

/// What an inspection found, with what the pictures need.
pub struct Inspection {
    pub report: Report,
    /// Every edge point of the part: photo pixel, and deviation from the drawing (mm,
    /// positive where the part has void; 0 for a hole of the part the drawing has not).
    pub edges: Vec<(Px, f64)>,
}

/// A lit region inside the part, measured.
struct Region {
    lit: u32,
    points: Vec<Mm>,
    centre: Mm,
    circle: Option<(Mm, f64)>,
    roundness_mm: f64,
}

pub fn inspect(
    img: &GrayImage,
    model: &TableModel,
    part: &Part,
    options: &InspectOptions,
) -> Result<Inspection, InspectError> {
    same_resolution(img, model)?;
    inspect_seen(img, &Silhouette::find(img)?, model, part, options)
}

/// The photo's silhouette, once for several drawings (a part matched against a
/// library: see [`outline_seen`] and [`inspect_seen`]).
pub fn find_silhouette(img: &GrayImage, model: &TableModel) -> Result<Silhouette, InspectError> {
    same_resolution(img, model)?;
    Ok(Silhouette::find(img)?)
}

/// [`inspect`] on the photo's silhouette found by [`find_silhouette`].
pub fn inspect_seen(
    img: &GrayImage,
    silhouette: &Silhouette,
    model: &TableModel,
    part: &Part,
    options: &InspectOptions,
) -> Result<Inspection, InspectError> {
    same_resolution(img, model)?;
    let camera = match (options.thickness_mm > 0.0, &model.camera) {
        (false, _) => None,
        (true, Some(c)) => Some(c.clone()),
        (true, None) => return Err(InspectError::NoCameraPosition),
    };
    silhouette.check_sharp(crate::MAX_EDGE_WIDTH_PX)?;
    let part_label = silhouette.part()?;
    let h_inv = model.inverse_h();
    let index = NominalIndex::new(part);
    let placed = place(silhouette, part_label, model, &h_inv, part, &index, camera.as_ref(), options.thickness_mm)?;
    let found = find_regions(silhouette, part_label, &placed);
    let (feature_region, region_taken) = match_features(part, &found.regions);
    // The light through a hole measures it only on a thin part (a thick part's hole is
    // the overlap of its two faces' outlines); the blur's pull on a curved edge is
    // taken off both (each of a thick part's arcs is a blurred circle's edge).
    let photo = Photo { silhouette, img, model, h_inv: &h_inv, thin: camera.is_none() };
    let judged = judge_features(part, &index, &placed, &found, &feature_region, photo, options.tolerance_mm);
    let mut deviation = judged.deviation;
    let mut reports = judged.reports;

    // The outline: distances of its points to the drawn outline (far ones count as far).
    let outline_dev: Vec<f64> = found
        .outline_points
        .iter()
        .map(|&i| {
            let d = placed.deviation(&index, i, 0, 50.0);
            deviation[i] = d;
            d.abs()
        })
        .collect();
    let max_dev = outline_dev.iter().cloned().fold(0.0, f64::max);
    let rms_dev = (outline_dev.iter().map(|d| d * d).sum::<f64>() / outline_dev.len().max(1) as f64).sqrt();
    reports.push(FeatureReport::Outline {
        id: "outline".into(),
        max_deviation_mm: round(max_dev),
        rms_deviation_mm: round(rms_dev),
        verdict: if max_dev <= options.tolerance_mm { Verdict::Pass } else { Verdict::Fail },
    });
    let extra = extras(&found.regions, &region_taken);
    let verdict = if extra.is_empty() && reports.iter().all(|r| r.verdict() == Verdict::Pass) {
        Verdict::Pass
    } else {
        Verdict::Fail
    };
    let pose = placed.pose;
    let clipping = (silhouette.clipping.clipped_percent >= 0.5 || silhouette.clipping.edges_moved > 0).then(|| {
        let mut c = silhouette.clipping.clone();
        let mm_per_px = model.mm2_per_px_at(&h_inv, silhouette.material[part_label as usize].centroid_px()).sqrt();
        c.estimated_error_mm = c.estimated_error_px.map(|px| round(px * mm_per_px));
        c
    });
    let report = Report {
        verdict,
        pose: Pose {
            x_mm: round(pose.x_mm),
            y_mm: round(pose.y_mm),
            angle_deg: round(pose.angle_deg.rem_euclid(360.0)),
            mirrored: pose.mirrored,
        },
        features: reports,
        extra,
        clipping,
    };
    let edges = placed.edge_index.iter().enumerate().map(|(k, &i)| (silhouette.edges[i].px, deviation[k])).collect();
    Ok(Inspection { report, edges })
}

/// The drawing laid on the part: the part's edge points (indices into the silhouette's
/// edges) on the drawing, and for a thick part those points on its bottom and top faces.
struct Placed {
    pose: Pose,
    edge_index: Vec<usize>,
    drawing: Vec<Mm>,
    faces: Option<(Vec<Mm>, Vec<Mm>)>,
}

impl Placed {
    /// Signed distance (mm) of edge point `i` from loop `loop_index` of the drawing
    /// (`far` when none is near). A silhouette point of a thick part lies on the bottom
    /// face's edge or on the top face's edge as projected: its deviation is the smaller
    /// of the two (where the top face hides a narrow notch, the silhouette follows it).
    fn deviation(&self, index: &NominalIndex, i: usize, loop_index: usize, far: f64) -> f64 {
        let at = |p: Mm| index.nearest_in(p, 50.0, loop_index).map_or(far, |n| n.signed_mm);
        match &self.faces {
            Some((bottom, top)) => {
                let (b, t) = (at(bottom[i]), at(top[i]));
                if t.abs() < b.abs() { t } else { b }
            }
            None => at(self.drawing[i]),
        }
    }
}

/// Places the drawing on the part: a first pose from the silhouette's moments, a thick
/// part's edge points moved back by the perspective's push, both mirror states refined.
#[allow(clippy::too_many_arguments)]
fn place(
    silhouette: &Silhouette,
    part_label: u32,
    model: &TableModel,
    h_inv: &nalgebra::Matrix3<f64>,
    part: &Part,
    index: &NominalIndex,
    camera: Option<&CameraPosition>,
    thickness_mm: f64,
) -> Result<Placed, InspectError> {
    // The part's edge points on the table.
    let edge_index: Vec<usize> =
        (0..silhouette.edges.len()).filter(|&i| silhouette.edges[i].material == part_label).collect();
    let mut table: Vec<Mm> = edge_index.iter().map(|&i| model.to_table_with(h_inv, silhouette.edges[i].px)).collect();

    // Moments of the silhouette (for a first pose), from every 8th pixel of every 8th row.
    let mut sums = [0.0; 6];
    for run in silhouette.material_runs.iter().filter(|r| r.component == part_label && r.y % 8 == 0) {
        for x in (run.x0.next_multiple_of(8)..run.x1).step_by(8) {
            let p = model.to_table_with(h_inv, Px::new(x as f64, run.y as f64));
            for (s, v) in sums.iter_mut().zip([1.0, p.x, p.y, p.x * p.x, p.y * p.y, p.x * p.y]) {
                *s += v;
            }
        }
    }
    let mut measured = Moments::from_sums(sums);
    measured.area *= 64.0 * model.mm_per_px_at(Mm::new(measured.cx, measured.cy)).powi(2);
    let drawn = Moments::of_part(part);
    if !(0.5..2.0).contains(&(measured.area / drawn.area)) {
        return Err(InspectError::WrongSize { measured: measured.area, drawn: drawn.area });
    }
    let fits = pose::find(index, &drawn, &measured, &table);
    let Some(&first) = fits.first() else {
        return Err(InspectError::NoPose { rms_mm: f64::NAN, inliers_percent: 0.0 });
    };
    // A thick part's edge points as seen, before they are corrected.
    let seen = camera.map(|_| table.clone());
    if let Some(cam) = camera {
        // A thick part: where the wall faces the camera (its void side turned away from
        // the nadir), the silhouette is the top face's edge, seen pushed away from the
        // nadir by `t / H` of its distance: it is taken back along its ray, the whole
        // way (moving it along the edge's normal alone would leave a round hole's
        // sides outside its circle by the square of the push along the edge).
        let nadir = Mm::new(cam.nadir_mm[0], cam.nadir_mm[1]);
        let push = thickness_mm / cam.height_mm;
        for q in table.iter_mut() {
            let p = first.pose.to_drawing(*q);
            if let Some(n) = index.nearest(p, 5.0)
                && (*q - nadir).dot(&first.pose.turn_to_table(n.void_normal)) > 0.0
            {
                *q = nadir + (*q - nadir) * (1.0 - push);
            }
        }
    }
    // Both mirror states again, on the corrected points.
    let fit = fits
        .iter()
        .map(|f| if camera.is_some() { pose::refine(index, &f.pose, &table) } else { *f })
        .min_by(|a, b| a.score().total_cmp(&b.score()))
        .unwrap_or(first);
    let fit = pose::refine(index, &fit.pose, &table);
    if fit.inliers < 0.6 || fit.rms_mm > 1.0 {
        return Err(InspectError::NoPose { rms_mm: fit.rms_mm, inliers_percent: 100.0 * fit.inliers });
    }
    let pose = fit.pose;
    let drawing: Vec<Mm> = table.iter().map(|q| pose.to_drawing(*q)).collect();
    let faces = camera.zip(seen.as_ref()).map(|(cam, seen)| {
        let nadir = Mm::new(cam.nadir_mm[0], cam.nadir_mm[1]);
        let s = cam.height_mm / (cam.height_mm - thickness_mm);
        let bottom = seen.iter().map(|q| pose.to_drawing(*q)).collect();
        let top = seen.iter().map(|q| pose.to_drawing(nadir + (q - nadir) / s)).collect();
        (bottom, top)
    });
    Ok(Placed { pose, edge_index, drawing, faces })
}

/// The lit regions inside the part (holes and cut-outs in the photo), each with the
/// indices of its edge points in [`Placed::edge_index`], and the outline's points.
struct Found {
    regions: Vec<Region>,
    region_points: Vec<Vec<usize>>,
    outline_points: Vec<usize>,
}

fn find_regions(silhouette: &Silhouette, part_label: u32, placed: &Placed) -> Found {
    let min_area_px = 6;
    let holes = silhouette.holes_of(part_label, min_area_px);
    let mut slot_of = vec![usize::MAX; silhouette.lit.len()];
    for (k, &l) in holes.iter().enumerate() {
        slot_of[l as usize] = k;
    }
    let mut region_points: Vec<Vec<usize>> = vec![Vec::new(); holes.len()];
    let mut outline_points = Vec::new();
    for (k, &i) in placed.edge_index.iter().enumerate() {
        let lit = silhouette.edges[i].lit as usize;
        if silhouette.lit[lit].touches_border {
            outline_points.push(k);
        } else if slot_of[lit] != usize::MAX {
            region_points[slot_of[lit]].push(k);
        }
    }
    let regions: Vec<Region> = region_points
        .iter()
        .zip(&holes)
        .map(|(idx, &lit)| {
            let points: Vec<Mm> = idx.iter().map(|&k| placed.drawing[k]).collect();
            let n = points.len().max(1) as f64;
            let centre =
                Mm::new(points.iter().map(|p| p.x).sum::<f64>() / n, points.iter().map(|p| p.y).sum::<f64>() / n);
            let circle = trimmed_circle(&points);
            let roundness_mm =
                circle.map_or(f64::MAX, |(c, r)| points.iter().map(|p| ((p - c).norm() - r).abs()).fold(0.0, f64::max));
            Region { lit, points, centre, circle, roundness_mm }
        })
        .collect();
    Found { regions, region_points, outline_points }
}

/// Which region each feature of the drawing found (nearest first, within the feature's
/// reach; see the module's docs), and which regions were taken.
fn match_features(part: &Part, regions: &[Region]) -> (Vec<Option<usize>>, Vec<bool>) {
    let features = &part.features;
    let centre_of = |k: usize| match features[k].kind {
        FeatureKind::Hole { center, .. } => center,
        FeatureKind::Slot { center, .. } => center,
        FeatureKind::Cutout { centroid } => centroid,
    };
    let size_of = |k: usize| (features[k].outline.area() / std::f64::consts::PI).sqrt() * 2.0;
    let reach: Vec<f64> = (0..features.len())
        .map(|k| {
            let neighbour = (0..features.len())
                .filter(|&j| j != k)
                .map(|j| (centre_of(j) - centre_of(k)).norm())
                .fold(f64::MAX, f64::min);
            (size_of(k) / 3.0).max(2.0).min(neighbour / 2.0)
        })
        .collect();
    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
    for (r, region) in regions.iter().enumerate() {
        for (k, &reach_k) in reach.iter().enumerate() {
            let d = (region.centre - centre_of(k)).norm();
            if d <= reach_k {
                pairs.push((d, k, r));
            }
        }
    }
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut feature_region, mut region_taken) = (vec![None; features.len()], vec![false; regions.len()]);
    for (_, k, r) in pairs {
        if feature_region[k].is_none() && !region_taken[r] {
            feature_region[k] = Some(r);
            region_taken[r] = true;
        }
    }
    (feature_region, region_taken)
}

/// What measuring a hole needs of the photo.
#[derive(Clone, Copy)]
struct Photo<'a> {
    silhouette: &'a Silhouette,
    img: &'a GrayImage,
    model: &'a TableModel,
    h_inv: &'a nalgebra::Matrix3<f64>,
    /// A thin part: the light through a hole measures it.
    thin: bool,
}

impl Photo<'_> {
    /// The radius of a round hole from the light through lit region `lit` (a thin
    /// part's, see [`radius_by_light`]), else from the circle fitted to its edge
    /// (`radius`) taken to the region's own half level and freed of the blur's pull.
    fn hole_radius(&self, lit: u32, radius: f64) -> f64 {
        let (s, at) = (self.silhouette, self.silhouette.lit[lit as usize].centroid_px());
        let by_light = || radius_by_light(s, self.img, self.model, self.h_inv, lit, radius);
        match self.thin.then(by_light).flatten() {
            Some(r) => r,
            None => {
                let mm_per_px = self.model.mm2_per_px_at(self.h_inv, at).sqrt();
                let offset_mm = s.threshold_offset_px(self.img, lit, 6, s.blur_sigma_px()).unwrap_or(0.0) * mm_per_px;
                unblurred_radius(radius - offset_mm, s.blur_sigma_px() * mm_per_px)
            }
        }
    }
}

/// Every feature's report, and the deviation of every edge point of a matched region.
struct Judged {
    reports: Vec<FeatureReport>,
    deviation: Vec<f64>,
}

fn judge_features(
    part: &Part,
    index: &NominalIndex,
    placed: &Placed,
    found: &Found,
    feature_region: &[Option<usize>],
    photo: Photo<'_>,
    tol: f64,
) -> Judged {
    let judge = |ok: bool| if ok { Verdict::Pass } else { Verdict::Fail };
    let mut reports = Vec::new();
    let mut deviation: Vec<f64> = vec![0.0; placed.drawing.len()];
    let (mut holes_n, mut cutouts_n) = (0, 0);
    for (k, f) in part.features.iter().enumerate() {
        let region = feature_region[k].map(|r| &found.regions[r]);
        if let Some(r) = feature_region[k] {
            for &i in &found.region_points[r] {
                deviation[i] = placed.deviation(index, i, k + 1, 50.0);
            }
        }
        match f.kind {
            FeatureKind::Hole { center, diameter_mm, .. } => {
                holes_n += 1;
                // A hole drawn as a polygon is cut as one: its nominal circle is the one
                // fitted to its sides, as the measured one is.
                let (center, diameter_mm) = match f.outline.circle {
                    Some(_) => (center, diameter_mm),
                    None => {
                        fit_circle(&along(&f.outline.points, 0.02)).map_or((center, diameter_mm), |(c, r)| (c, 2.0 * r))
                    }
                };
                let nominal = HoleSize { x_mm: round(center.x), y_mm: round(center.y), d_mm: round(diameter_mm) };
                // The diameter from the light through the hole (free of the blur's
                // bias), where the hole stands clear and its light is not clipped; else
                // from the fitted circle (see `Photo::hole_radius`).
                let fitted = region.and_then(|r| {
                    let (c, radius) = r.circle?;
                    Some(((c, photo.hole_radius(r.lit, radius)), r.roundness_mm))
                });
                reports.push(match fitted {
                    Some(((c, radius), roundness)) => {
                        let position_error = (c - center).norm();
                        let diameter_error = 2.0 * radius - diameter_mm;
                        FeatureReport::Hole {
                            id: format!("hole-{holes_n}"),
                            nominal,
                            measured: Some(HoleSize { x_mm: round(c.x), y_mm: round(c.y), d_mm: round(2.0 * radius) }),
                            position_error_mm: Some(round(position_error)),
                            diameter_error_mm: Some(round(diameter_error)),
                            verdict: judge(position_error <= tol && diameter_error.abs() <= tol && roundness <= tol),
                        }
                    }
                    None => FeatureReport::Hole {
                        id: format!("hole-{holes_n}"),
                        nominal,
                        measured: None,
                        position_error_mm: None,
                        diameter_error_mm: None,
                        verdict: Verdict::Missing,
                    },
                });
            }
            FeatureKind::Slot { center, .. } | FeatureKind::Cutout { centroid: center } => {
                cutouts_n += 1;
                let nominal = Position { x_mm: round(center.x), y_mm: round(center.y) };
                reports.push(match feature_region[k] {
                    Some(r) => {
                        let shift = translation_onto(index, &found.regions[r].points, k + 1);
                        let max_dev = found.region_points[r].iter().map(|&i| deviation[i].abs()).fold(0.0, f64::max);
                        FeatureReport::Cutout {
                            id: format!("cutout-{cutouts_n}"),
                            nominal,
                            measured: Some(Position {
                                x_mm: round(center.x + shift.x),
                                y_mm: round(center.y + shift.y),
                            }),
                            max_deviation_mm: Some(round(max_dev)),
                            verdict: judge(max_dev <= tol),
                        }
                    }
                    None => FeatureReport::Cutout {
                        id: format!("cutout-{cutouts_n}"),
                        nominal,
                        measured: None,
                        max_deviation_mm: None,
                        verdict: Verdict::Missing,
                    },
                });
            }
        }
    }
    Judged { reports, deviation }
}

/// The regions no feature took: extra holes and cut-outs.
fn extras(regions: &[Region], region_taken: &[bool]) -> Vec<Extra> {
    regions
        .iter()
        .enumerate()
        .filter(|&(r, _)| !region_taken[r])
        .map(|(_, region)| {
            let round_enough =
                region.circle.is_some_and(|circle| is_round(&region.points, circle, region.roundness_mm));
            let (c, d) = match region.circle {
                Some((c, radius)) if round_enough => (c, 2.0 * radius),
                _ => {
                    (region.centre, 2.0 * region.points.iter().map(|p| (p - region.centre).norm()).fold(0.0, f64::max))
                }
            };
            Extra {
                kind: if round_enough { "hole" } else { "cutout" }.into(),
                x_mm: round(c.x),
                y_mm: round(c.y),
                d_mm: round(d),
            }
        })
        .collect()
}

/// The translation that best lays `points` on loop `loop_index` (point-to-line,
/// a few Gauss–Newton steps): how far a cut-out sits from where it is drawn.
fn translation_onto(index: &NominalIndex, points: &[Mm], loop_index: usize) -> Vector2<f64> {
    let points: Vec<Mm> = points.iter().step_by((points.len() / 200).max(1)).copied().collect();
    let mut t = Vector2::zeros();
    for _ in 0..10 {
        let (mut a, mut b) = (nalgebra::Matrix2::<f64>::zeros(), Vector2::<f64>::zeros());
        for p in &points {
            if let Some(n) = index.nearest_in(p - t, 50.0, loop_index) {
                a += n.void_normal * n.void_normal.transpose();
                b += n.void_normal * n.signed_mm;
            }
        }
        let Some(step) = a.lu().solve(&b) else { break };
        t += step;
        if step.norm() < 1e-5 {
            break;
        }
    }
    t
}

/// The radius of lit region `lit` from the light through it (free of the blur's bias
/// on its curved edge), if it stands clear of other regions and agrees with the fitted
/// `radius` within 5 % (else it is not round, or not alone).
fn radius_by_light(
    silhouette: &Silhouette,
    img: &GrayImage,
    model: &TableModel,
    h_inv: &nalgebra::Matrix3<f64>,
    lit: u32,
    radius: f64,
) -> Option<f64> {
    let area_px = silhouette.lit_area_px(img, lit, 6)?;
    let at = silhouette.lit[lit as usize].centroid_px();
    let r = (area_px * model.mm2_per_px_at(h_inv, at) / std::f64::consts::PI).sqrt();
    ((r - radius).abs() < 0.05 * radius).then_some(r)
}

/// The radius of a round hole whose edge, blurred by a Gaussian of `blur_mm`, was
/// found at `radius`: any level's contour of a blurred disc lies `σ² / 2R` further in
/// than that of a straight edge (to first order in σ / R).
fn unblurred_radius(radius: f64, blur_mm: f64) -> f64 {
    radius + blur_mm * blur_mm / (2.0 * radius.max(blur_mm))
}

/// A round hole seen on the table, without a drawing: centre and diameter in table
/// millimetres, and how far its edge strays from that circle.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TableHole {
    pub x_mm: f64,
    pub y_mm: f64,
    pub d_mm: f64,
    pub roundness_mm: f64,
}

/// Every round hole of the one part on the table (see [`is_round`]), in table millimetres: what `sheetsight holes` prints. No drawing, no pose,
/// no thickness correction.
pub fn holes(img: &GrayImage, model: &TableModel) -> Result<Vec<TableHole>, InspectError> {
    same_resolution(img, model)?;
    let silhouette = Silhouette::find(img)?;
    silhouette.check_sharp(crate::MAX_EDGE_WIDTH_PX)?;
    let part = silhouette.part()?;
    let h_inv = model.inverse_h();
    let lits = silhouette.holes_of(part, 6);
    let photo = Photo { silhouette: &silhouette, img, model, h_inv: &h_inv, thin: true };
    let mut slot = vec![usize::MAX; silhouette.lit.len()];
    for (k, &l) in lits.iter().enumerate() {
        slot[l as usize] = k;
    }
    let mut points: Vec<Vec<Mm>> = vec![Vec::new(); lits.len()];
    for e in silhouette.edges.iter().filter(|e| e.material == part) {
        if let Some(k) = slot.get(e.lit as usize).filter(|k| **k != usize::MAX) {
            points[*k].push(model.to_table_with(&h_inv, e.px));
        }
    }
    Ok(lits
        .iter()
        .zip(&points)
        .filter_map(|(&lit, pts)| {
            let (c, radius) = trimmed_circle(pts)?;
            let roundness_mm = pts.iter().map(|p| ((p - c).norm() - radius).abs()).fold(0.0, f64::max);
            is_round(pts, (c, radius), roundness_mm).then(|| {
                let r = photo.hole_radius(lit, radius);
                TableHole {
                    x_mm: round(c.x),
                    y_mm: round(c.y),
                    d_mm: round(2.0 * r),
                    roundness_mm: round(roundness_mm),
                }
            })
        })
        .collect())
}

/// A photo must be of the resolution the table was calibrated at.
/// What a part on the table looks like without its drawing: its material's area and how
/// many holes and cut-outs it has (of 1 mm² and more). A parts library matches a photo
/// of an unnamed part by them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PartOutline {
    pub area_mm2: f64,
    pub holes: usize,
}

/// The least area of a hole that [`PartOutline`] counts, mm² (dust is smaller).
pub const MIN_COUNTED_HOLE_MM2: f64 = 1.0;

/// The outline of the one part on the table (refused as [`inspect`] refuses a photo).
/// Read on the photo itself: on a smaller copy a clipped backlight's blur is too narrow
/// to place the edges, and the area would be read wrong.
pub fn outline(img: &GrayImage, model: &TableModel) -> Result<PartOutline, InspectError> {
    same_resolution(img, model)?;
    outline_seen(&Silhouette::find(img)?, model)
}

/// [`outline`] of a silhouette already found.
pub fn outline_seen(silhouette: &Silhouette, model: &TableModel) -> Result<PartOutline, InspectError> {
    let part = silhouette.part()?;
    let h_inv = model.inverse_h();
    let material = &silhouette.material[part as usize];
    let mm2_per_px = model.mm2_per_px_at(&h_inv, material.centroid_px());
    let min_hole_px = (MIN_COUNTED_HOLE_MM2 / mm2_per_px).ceil() as u64;
    Ok(PartOutline {
        area_mm2: material.area_px as f64 * mm2_per_px,
        holes: silhouette.holes_of(part, min_hole_px).len(),
    })
}

fn same_resolution(img: &GrayImage, model: &TableModel) -> Result<(), InspectError> {
    let (w, h) = img.dimensions();
    if (w, h) != (model.image_width_px, model.image_height_px) {
        return Err(InspectError::Resolution {
            photo_w: w,
            photo_h: h,
            cal_w: model.image_width_px,
            cal_h: model.image_height_px,
        });
    }
    Ok(())
}

/// Whether edge points are a round hole's: within 2 % of the radius (or 0.05 mm) of
/// their circle, and around it (their mean near its centre; a nearly straight edge fits
/// a huge circle closely).
fn is_round(points: &[Mm], (centre, radius): (Mm, f64), roundness_mm: f64) -> bool {
    let n = points.len().max(1) as f64;
    let mean = Mm::new(points.iter().map(|p| p.x).sum::<f64>() / n, points.iter().map(|p| p.y).sum::<f64>() / n);
    roundness_mm <= (0.02 * radius).max(0.05) && (mean - centre).norm() <= 0.1 * radius
}

/// A circle fitted to all points, then again without those more than three robust
/// standard deviations off (the blurred cusps of a thick part's hole, a speck of dust).
fn trimmed_circle(points: &[Mm]) -> Option<(Mm, f64)> {
    let (c, r) = fit_circle(points)?;
    let mut off: Vec<f64> = points.iter().map(|p| ((p - c).norm() - r).abs()).collect();
    off.sort_by(f64::total_cmp);
    let limit = (3.0 * 1.4826 * off[off.len() / 2]).max(0.01);
    let kept: Vec<Mm> = points.iter().copied().filter(|p| ((p - c).norm() - r).abs() <= limit).collect();
    if kept.len() * 2 < points.len() { Some((c, r)) } else { fit_circle(&kept) }
}

/// Points every `step_mm` along a closed polygon.
fn along(points: &[Mm], step_mm: f64) -> Vec<Mm> {
    let n = points.len();
    let mut out = Vec::new();
    for i in 0..n {
        let (a, b) = (points[i], points[(i + 1) % n]);
        let k = ((b - a).norm() / step_mm).ceil().max(1.0) as usize;
        out.extend((0..k).map(|j| a + (b - a) * (j as f64 / k as f64)));
    }
    out
}
