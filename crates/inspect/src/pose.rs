//! Where the part lies: the rigid motion (and whether it is upside down) that puts the
//! drawing on the measured silhouette. A coarse start from area moments (principal
//! axes, or a sweep of angles for a part without a long axis), each mirror state
//! scored on a sample of edge points, then point-to-line ICP with a robust cut-off, so
//! that a moved hole does not pull the pose.

use nalgebra::{Matrix3, Rotation2, Vector2, Vector3};
use serde::{Deserialize, Serialize};
use sheetsight_drawing::{Loop, Part};

use crate::nominal::NominalIndex;
use crate::table::Mm;

/// Drawing to table: `table = R(angle) · M · drawing + (x, y)`, `M` reversing the
/// drawing's x axis when `mirrored`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pose {
    pub x_mm: f64,
    pub y_mm: f64,
    pub angle_deg: f64,
    pub mirrored: bool,
}

impl Pose {
    pub fn to_table(&self, p: Mm) -> Mm {
        let x = if self.mirrored { -p.x } else { p.x };
        let q = Rotation2::new(self.angle_deg.to_radians()) * Vector2::new(x, p.y);
        Mm::new(q.x + self.x_mm, q.y + self.y_mm)
    }

    pub fn to_drawing(&self, q: Mm) -> Mm {
        let v = Rotation2::new(-self.angle_deg.to_radians()) * Vector2::new(q.x - self.x_mm, q.y - self.y_mm);
        Mm::new(if self.mirrored { -v.x } else { v.x }, v.y)
    }

    pub fn turn_to_table(&self, v: Vector2<f64>) -> Vector2<f64> {
        let v = Vector2::new(if self.mirrored { -v.x } else { v.x }, v.y);
        Rotation2::new(self.angle_deg.to_radians()) * v
    }

    /// The pose whose `to_drawing` is `p = R(phi) · M q + u`.
    fn from_inverse(phi: f64, u: Vector2<f64>, mirrored: bool) -> Self {
        let angle = if mirrored { phi } else { -phi };
        let mu = if mirrored { Vector2::new(-u.x, u.y) } else { u };
        let t = -(Rotation2::new(angle) * mu);
        Pose { x_mm: t.x, y_mm: t.y, angle_deg: angle.to_degrees(), mirrored }
    }
}

/// Area, centroid and central second moments of a region.
#[derive(Clone, Copy, Debug, Default)]
pub struct Moments {
    pub area: f64,
    pub cx: f64,
    pub cy: f64,
    pub sxx: f64,
    pub syy: f64,
    pub sxy: f64,
}

impl Moments {
    /// Raw sums (area, Σx, Σy, Σx², Σy², Σxy) to central moments.
    pub fn from_sums(s: [f64; 6]) -> Self {
        let [a, x, y, xx, yy, xy] = s;
        if a <= 0.0 {
            return Moments::default();
        }
        let (cx, cy) = (x / a, y / a);
        Moments { area: a, cx, cy, sxx: xx / a - cx * cx, syy: yy / a - cy * cy, sxy: xy / a - cx * cy }
    }

    /// The drawing's material: the outline minus its features.
    pub fn of_part(part: &Part) -> Self {
        let mut s = loop_sums(&part.outline);
        for f in &part.features {
            let h = loop_sums(&f.outline);
            for k in 0..6 {
                s[k] -= h[k];
            }
        }
        Moments::from_sums(s)
    }

    fn principal_angle(&self) -> f64 {
        0.5 * (2.0 * self.sxy).atan2(self.sxx - self.syy)
    }

    /// How long the part is: the ratio of its principal moments.
    fn elongation(&self) -> f64 {
        let mean = (self.sxx + self.syy) / 2.0;
        let d = (((self.sxx - self.syy) / 2.0).powi(2) + self.sxy * self.sxy).sqrt();
        (mean + d) / (mean - d).max(1e-12)
    }
}

/// Σ over the area inside a loop of 1, x, y, x², y², xy (Green's theorem).
fn loop_sums(l: &Loop) -> [f64; 6] {
    if let Some((c, r)) = l.circle {
        let a = std::f64::consts::PI * r * r;
        let i = a * r * r / 4.0;
        return [a, a * c.x, a * c.y, i + a * c.x * c.x, i + a * c.y * c.y, a * c.x * c.y];
    }
    let n = l.points.len();
    let mut s = [0.0; 6];
    for k in 0..n {
        let (p, q) = (l.points[k], l.points[(k + 1) % n]);
        let cross = p.x * q.y - q.x * p.y;
        s[0] += cross / 2.0;
        s[1] += (p.x + q.x) * cross / 6.0;
        s[2] += (p.y + q.y) * cross / 6.0;
        s[3] += (p.x * p.x + p.x * q.x + q.x * q.x) * cross / 12.0;
        s[4] += (p.y * p.y + p.y * q.y + q.y * q.y) * cross / 12.0;
        s[5] += (p.x * q.y + 2.0 * p.x * p.y + 2.0 * q.x * q.y + q.x * p.y) * cross / 24.0;
    }
    if s[0] < 0.0 {
        s.iter_mut().for_each(|v| *v = -*v);
    }
    s
}

/// The fitted pose and how well the silhouette then lies on the drawing.
#[derive(Clone, Copy, Debug)]
pub struct Fit {
    pub pose: Pose,
    /// RMS distance of the edge points kept by the robust cut-off.
    pub rms_mm: f64,
    /// The share of edge points within that cut-off.
    pub inliers: f64,
    /// Mean square distance of all edge points, each counted at most as 1 mm.
    pub truncated_ms: f64,
}

/// Finds the pose of the part from its edge points (table mm) and the moments of its
/// silhouette: the best fit of each mirror state, the better first.
pub fn find(index: &NominalIndex, drawing: &Moments, measured: &Moments, edges: &[Mm]) -> Vec<Fit> {
    if edges.len() < 10 {
        return Vec::new();
    }
    let sample: Vec<Mm> = edges.iter().step_by((edges.len() / 150).max(1)).copied().collect();
    let work: Vec<Mm> = edges.iter().step_by((edges.len() / 3000).max(1)).copied().collect();
    let size = drawing.area.sqrt();
    let reach = (0.05 * size).clamp(1.0, 10.0);
    // A start's score counts a point at most this far off (a wrong start is far off
    // for many points; a right one has them all within a fraction of a millimetre).
    let score_reach = reach.min(3.0);
    let mut best: Vec<(f64, f64, Vector2<f64>, bool)> = Vec::new();
    for mirrored in [false, true] {
        let m = |x: f64| if mirrored { -x } else { x };
        // The measured moments as the (mirrored) points give them, and candidate angles.
        let mq = Vector2::new(m(measured.cx), measured.cy);
        let m_angle = 0.5 * (2.0 * m(measured.sxy)).atan2(measured.sxx - measured.syy);
        let angles: Vec<f64> = if measured.elongation() > 1.1 && drawing.elongation() > 1.1 {
            let base = drawing.principal_angle() - m_angle;
            vec![base, base + std::f64::consts::PI]
        } else {
            (0..120).map(|k| (k as f64 * 3.0).to_radians()).collect()
        };
        for phi in angles {
            // p = R(phi) · M q + u, the measured centroid onto the drawing's.
            let u = Vector2::new(drawing.cx, drawing.cy) - Rotation2::new(phi) * mq;
            let score: f64 = sample
                .iter()
                .map(|q| {
                    let p = Rotation2::new(phi) * Vector2::new(m(q.x), q.y) + u;
                    index.nearest(Mm::new(p.x, p.y), score_reach).map_or(score_reach, |n| n.distance_mm)
                })
                .sum::<f64>()
                / sample.len() as f64;
            best.push((score, phi, u, mirrored));
        }
    }
    best.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Refine the two best starts of each mirror state (a part symmetric but for its
    // holes scores its half-turn nearly as well); keep each state's better fit.
    // First on the small sample, then the better of the two on more points.
    let mut fits: Vec<Fit> = Vec::new();
    for mirrored in [false, true] {
        let rough = best
            .iter()
            .filter(|b| b.3 == mirrored)
            .take(2)
            .map(|&(_, phi, u, _)| icp(index, &sample, phi, u, mirrored, reach))
            .min_by(|a, b| a.score().total_cmp(&b.score()));
        if let Some(rough) = rough {
            fits.push(refine(index, &rough.pose, &work));
        }
    }
    fits.sort_by(|a, b| a.score().total_cmp(&b.score()));
    fits
}

impl Fit {
    /// Lower is better: the truncated mean square distance (an edge point the drawing
    /// does not explain costs as much as a millimetre off);
    /// a mirrored fit must be clearly better (a symmetric part lies either way).
    pub fn score(&self) -> f64 {
        self.truncated_ms * if self.pose.mirrored { 1.02 } else { 1.0 }
    }
}

/// Refines the pose from `pose` with (up to 8000 of) `edges`.
pub fn refine(index: &NominalIndex, pose: &Pose, edges: &[Mm]) -> Fit {
    let edges: Vec<Mm> = edges.iter().step_by((edges.len() / 8000).max(1)).copied().collect();
    let edges = &edges[..];
    let phi = if pose.mirrored { pose.angle_deg.to_radians() } else { -pose.angle_deg.to_radians() };
    let m = |v: Vector2<f64>| if pose.mirrored { Vector2::new(-v.x, v.y) } else { v };
    let u = -(Rotation2::new(phi) * m(Vector2::new(pose.x_mm, pose.y_mm)));
    icp(index, edges, phi, u, pose.mirrored, 1.0)
}

fn icp(index: &NominalIndex, edges: &[Mm], mut phi: f64, mut u: Vector2<f64>, mirrored: bool, reach: f64) -> Fit {
    let m = |q: &Mm| Vector2::new(if mirrored { -q.x } else { q.x }, q.y);
    let mut cut = reach;
    let (mut rms, mut inliers) = (f64::MAX, 0.0);
    for iteration in 0..40 {
        let rot = Rotation2::new(phi);
        let mut a = Matrix3::<f64>::zeros();
        let mut b = Vector3::<f64>::zeros();
        let mut residuals = Vec::with_capacity(edges.len());
        for q in edges {
            let p = rot * m(q) + u;
            let Some(n) = index.nearest(Mm::new(p.x, p.y), cut) else { continue };
            residuals.push(n.signed_mm.abs());
            // d p / d phi = perpendicular of (p - u).
            let r = p - u;
            let j = Vector3::new(n.void_normal.dot(&Vector2::new(-r.y, r.x)), n.void_normal.x, n.void_normal.y);
            a += j * j.transpose();
            b += j * n.signed_mm;
        }
        if residuals.len() < 3 {
            break;
        }
        rms = (residuals.iter().map(|r| r * r).sum::<f64>() / residuals.len() as f64).sqrt();
        inliers = residuals.len() as f64 / edges.len() as f64;
        let Some(step) = a.lu().solve(&(-b)) else { break };
        phi += step.x;
        u += Vector2::new(step.y, step.z);
        residuals.sort_by(f64::total_cmp);
        let median = residuals[residuals.len() / 2];
        cut = (cut * 0.5).max(6.0 * 1.4826 * median).max(0.15);
        // Settled: the cut-off at its floor and the step under 0.1 µm.
        if iteration > 5 && step.norm() < 1e-7 {
            break;
        }
    }
    let rot = Rotation2::new(phi);
    let truncated_ms = edges
        .iter()
        .map(|q| {
            let p = rot * m(q) + u;
            index.nearest(Mm::new(p.x, p.y), 1.0).map_or(1.0, |n| n.distance_mm.powi(2))
        })
        .sum::<f64>()
        / edges.len().max(1) as f64;
    Fit { pose: Pose::from_inverse(phi, u, mirrored), rms_mm: rms, inliers, truncated_ms }
}
