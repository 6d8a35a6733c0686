//! Geometric fits on edge points: circles (algebraic start, then geometric
//! least squares), ellipse centres (normalised conic fit) and homographies
//! (normalised DLT). Pure functions of their points.

use nalgebra::{Matrix3, Point2, SMatrix, SymmetricEigen, Vector3};

type P = Point2<f64>;

/// Centre and radius minimising the geometric distances to `points`.
pub fn fit_circle(points: &[P]) -> Option<(P, f64)> {
    let (mut c, mut r) = sheetsight_drawing::topology::fit_circle(points)?;
    for _ in 0..10 {
        // Gauss–Newton on d_i = |p_i - c| - r.
        let mut jtj = nalgebra::Matrix3::<f64>::zeros();
        let mut jtr = Vector3::<f64>::zeros();
        for p in points {
            let v = p - c;
            let d = v.norm();
            if d < 1e-12 {
                continue;
            }
            let j = Vector3::new(-v.x / d, -v.y / d, -1.0);
            jtj += j * j.transpose();
            jtr += j * (d - r);
        }
        let step = jtj.lu().solve(&(-jtr))?;
        c += nalgebra::Vector2::new(step.x, step.y);
        r += step.z;
        if step.norm() < 1e-12 * r.max(1.0) {
            break;
        }
    }
    (r.is_finite() && r > 0.0).then_some((c, r))
}

/// The centre of the ellipse through `points` (a conic fitted in normalised
/// coordinates; `None` when the points do not make an ellipse).
pub fn fit_ellipse_center(points: &[P]) -> Option<P> {
    if points.len() < 6 {
        return None;
    }
    let n = points.len() as f64;
    let (mx, my) = (points.iter().map(|p| p.x).sum::<f64>() / n, points.iter().map(|p| p.y).sum::<f64>() / n);
    let s = (points.iter().map(|p| (p.x - mx).powi(2) + (p.y - my).powi(2)).sum::<f64>() / n).sqrt();
    if s <= 0.0 {
        return None;
    }
    let mut scatter = SMatrix::<f64, 6, 6>::zeros();
    for p in points {
        let (x, y) = ((p.x - mx) / s, (p.y - my) / s);
        let row = SMatrix::<f64, 6, 1>::from_column_slice(&[x * x, x * y, y * y, x, y, 1.0]);
        scatter += row * row.transpose();
    }
    let eig = SymmetricEigen::new(scatter);
    let k = eig.eigenvalues.imin();
    let v = eig.eigenvectors.column(k);
    let (a, b, c, d, e) = (v[0], v[1], v[2], v[3], v[4]);
    if 4.0 * a * c - b * b <= 0.0 {
        return None;
    }
    let m = nalgebra::Matrix2::new(2.0 * a, b, b, 2.0 * c);
    let centre = m.lu().solve(&nalgebra::Vector2::new(-d, -e))?;
    Some(P::new(mx + s * centre.x, my + s * centre.y))
}

/// The homography taking each `from` to its `to` (at least 4 pairs), by the
/// normalised direct linear transform.
pub fn fit_homography(from: &[P], to: &[P]) -> Option<Matrix3<f64>> {
    if from.len() < 4 || from.len() != to.len() {
        return None;
    }
    let (tf, tt) = (normaliser(from)?, normaliser(to)?);
    let mut ata = SMatrix::<f64, 9, 9>::zeros();
    for (a, b) in from.iter().zip(to) {
        let a = crate::table::apply_h(&tf, *a);
        let b = crate::table::apply_h(&tt, *b);
        let r1 = SMatrix::<f64, 9, 1>::from_column_slice(&[-a.x, -a.y, -1.0, 0.0, 0.0, 0.0, b.x * a.x, b.x * a.y, b.x]);
        let r2 = SMatrix::<f64, 9, 1>::from_column_slice(&[0.0, 0.0, 0.0, -a.x, -a.y, -1.0, b.y * a.x, b.y * a.y, b.y]);
        ata += r1 * r1.transpose() + r2 * r2.transpose();
    }
    let eig = SymmetricEigen::new(ata);
    let v = eig.eigenvectors.column(eig.eigenvalues.imin());
    let hn = Matrix3::new(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]);
    let h = tt.try_inverse()? * hn * tf;
    (h[(2, 2)].abs() > 1e-15).then(|| h / h[(2, 2)])
}

/// Moves the points' centroid to the origin and their mean distance to √2.
fn normaliser(points: &[P]) -> Option<Matrix3<f64>> {
    let n = points.len() as f64;
    let (mx, my) = (points.iter().map(|p| p.x).sum::<f64>() / n, points.iter().map(|p| p.y).sum::<f64>() / n);
    let mean = points.iter().map(|p| ((p.x - mx).powi(2) + (p.y - my).powi(2)).sqrt()).sum::<f64>() / n;
    (mean > 0.0).then(|| {
        let s = std::f64::consts::SQRT_2 / mean;
        Matrix3::new(s, 0.0, -s * mx, 0.0, s, -s * my, 0.0, 0.0, 1.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn circle_fit_is_geometric_on_a_partial_arc() {
        let pts: Vec<P> = (0..60)
            .map(|i| {
                let a = (i as f64 * 2.0).to_radians();
                let wobble = if i % 2 == 0 { 0.01 } else { -0.01 };
                P::new(5.0 + (3.0 + wobble) * a.cos(), -2.0 + (3.0 + wobble) * a.sin())
            })
            .collect();
        let (c, r) = fit_circle(&pts).expect("fit");
        assert!((c - P::new(5.0, -2.0)).norm() < 2e-3 && (r - 3.0).abs() < 2e-3, "{c} {r}");
    }

    #[test]
    fn homography_from_four_points_is_exact() {
        let h = Matrix3::new(2.0, 0.1, 5.0, -0.2, 1.5, 7.0, 1e-3, 2e-3, 1.0);
        let from = [P::new(0.0, 0.0), P::new(10.0, 0.0), P::new(10.0, 8.0), P::new(0.0, 8.0), P::new(3.0, 4.0)];
        let to: Vec<P> = from.iter().map(|p| crate::table::apply_h(&h, *p)).collect();
        let fitted = fit_homography(&from, &to).expect("fit");
        assert!((fitted - h).norm() < 1e-8, "{fitted}");
    }
}
