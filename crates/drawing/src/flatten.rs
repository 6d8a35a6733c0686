//! Curves to polylines within a stated chord error: circular arcs (also from polyline
//! bulges), elliptic arcs and NURBS splines (evaluated exactly, then subdivided until
//! every chord's midpoint lies within the error of the curve).

use std::f64::consts::TAU;

use crate::Point;

/// Segments for a circular arc of `radius` over `sweep` radians so that no chord strays
/// more than `chord_error` from the arc (at least one; at most 100 000).
pub fn arc_segments(radius: f64, sweep: f64, chord_error: f64) -> usize {
    let e = chord_error.clamp(1e-9, radius.abs().max(1e-9));
    let step = 2.0 * (1.0 - e / radius.abs().max(1e-9)).clamp(-1.0, 1.0).acos();
    if step <= 0.0 || !step.is_finite() {
        return 4;
    }
    ((sweep.abs() / step).ceil() as usize).clamp(1, 100_000)
}

/// Points of a circular arc from `start` to `start + sweep` (radians, counter-clockwise
/// for a positive sweep), both ends included.
pub fn arc(center: Point, radius: f64, start: f64, sweep: f64, chord_error: f64) -> Vec<Point> {
    let n = arc_segments(radius, sweep, chord_error);
    (0..=n)
        .map(|i| {
            let a = start + sweep * i as f64 / n as f64;
            Point::new(center.x + radius * a.cos(), center.y + radius * a.sin())
        })
        .collect()
}

/// The arc a polyline bulge draws from `p0` to `p1` (bulge = tan(sweep / 4), positive
/// counter-clockwise), without `p0`, ending at `p1`.
pub fn bulge(p0: Point, p1: Point, bulge: f64, chord_error: f64) -> Vec<Point> {
    let chord = p1 - p0;
    let d = chord.norm();
    if bulge.abs() < 1e-12 || d < 1e-12 {
        return vec![p1];
    }
    let sweep = 4.0 * bulge.atan();
    let radius = d * (1.0 + bulge * bulge) / (4.0 * bulge.abs());
    // The centre lies on the chord's perpendicular bisector, d(1 - b²)/4b to the left of
    // the chord (negative: to the right).
    let mid = p0 + chord / 2.0;
    let left = nalgebra::Vector2::new(-chord.y, chord.x) / d;
    let center = mid + left * (d * (1.0 - bulge * bulge) / (4.0 * bulge));
    let start = (p0.y - center.y).atan2(p0.x - center.x);
    let mut points = arc(center, radius, start, sweep, chord_error);
    points.remove(0);
    if let Some(last) = points.last_mut() {
        *last = p1;
    }
    points
}

/// Points of an elliptic arc: centre, major-axis vector (from the centre), ratio of minor
/// to major, parameters from `start` to `end` (radians, counter-clockwise; `end` below
/// `start` wraps once).
pub fn ellipse(
    center: Point,
    major: nalgebra::Vector2<f64>,
    ratio: f64,
    start: f64,
    end: f64,
    chord_error: f64,
) -> Vec<Point> {
    let mut sweep = end - start;
    if sweep <= 0.0 {
        sweep += TAU;
    }
    let minor = nalgebra::Vector2::new(-major.y, major.x) * ratio;
    // The curvature radius is at most a²/b: enough segments for that circle are enough.
    let a = major.norm();
    let b = a * ratio.abs();
    let n = arc_segments(if b > 1e-12 { a * a / b } else { a }, sweep, chord_error);
    (0..=n)
        .map(|i| {
            let t = start + sweep * i as f64 / n as f64;
            center + major * t.cos() + minor * t.sin()
        })
        .collect()
}

/// A NURBS curve: degree, knot vector, control points and weights (all 1 when empty).
pub struct Nurbs<'a> {
    pub degree: usize,
    pub knots: &'a [f64],
    pub points: &'a [Point],
    pub weights: &'a [f64],
}

/// Why knots, control points and weights make no curve.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NurbsFault {
    #[error("degree {degree} needs more than {degree} control points, it has {points}")]
    TooFewPoints { degree: usize, points: usize },
    #[error("{knots} knots for {points} control points of degree {degree}: expected {expected}")]
    KnotCount { knots: usize, points: usize, degree: usize, expected: usize },
    #[error("the knots are not in order")]
    KnotOrder,
    #[error("the weights do not match the control points")]
    Weights,
}

impl Nurbs<'_> {
    /// Checks that the knots, points and weights make a curve.
    pub fn check(&self) -> Result<(), NurbsFault> {
        let n = self.points.len();
        if self.degree == 0 || n <= self.degree {
            return Err(NurbsFault::TooFewPoints { degree: self.degree, points: n });
        }
        if self.knots.len() != n + self.degree + 1 {
            return Err(NurbsFault::KnotCount {
                knots: self.knots.len(),
                points: n,
                degree: self.degree,
                expected: n + self.degree + 1,
            });
        }
        if self.knots.windows(2).any(|w| w[1] < w[0] || !w[0].is_finite()) {
            return Err(NurbsFault::KnotOrder);
        }
        if !self.weights.is_empty()
            && (self.weights.len() != n || self.weights.iter().any(|w| !w.is_finite() || *w <= 0.0))
        {
            return Err(NurbsFault::Weights);
        }
        Ok(())
    }

    fn domain(&self) -> (f64, f64) {
        (self.knots[self.degree], self.knots[self.points.len()])
    }

    /// The curve's point at parameter `u` (de Boor's algorithm in homogeneous form).
    pub fn at(&self, u: f64) -> Point {
        let p = self.degree;
        let n = self.points.len();
        let (lo, hi) = self.domain();
        let u = u.clamp(lo, hi);
        // The knot span k with knots[k] <= u < knots[k + 1] (the last span at the end).
        let mut k = p;
        while k + 1 < n && self.knots[k + 1] <= u {
            k += 1;
        }
        let w = |i: usize| if self.weights.is_empty() { 1.0 } else { self.weights[i] };
        let mut d: Vec<[f64; 3]> = (0..=p)
            .map(|j| {
                let i = j + k - p;
                [self.points[i].x * w(i), self.points[i].y * w(i), w(i)]
            })
            .collect();
        for r in 1..=p {
            for j in (r..=p).rev() {
                let i = j + k - p;
                let denom = self.knots[i + p + 1 - r] - self.knots[i];
                let alpha = if denom.abs() < 1e-15 { 0.0 } else { (u - self.knots[i]) / denom };
                let before = d[j - 1];
                for (v, b) in d[j].iter_mut().zip(before) {
                    *v = (1.0 - alpha) * b + alpha * *v;
                }
            }
        }
        Point::new(d[p][0] / d[p][2], d[p][1] / d[p][2])
    }

    /// The curve as a polyline within `chord_error`: uniform in the parameter, doubled
    /// until every chord's midpoint is within the error of the curve.
    pub fn flatten(&self, chord_error: f64) -> Vec<Point> {
        let (lo, hi) = self.domain();
        let mut n = 8 * (self.points.len() - self.degree).max(1);
        loop {
            let params: Vec<f64> = (0..=n).map(|i| lo + (hi - lo) * i as f64 / n as f64).collect();
            let points: Vec<Point> = params.iter().map(|&u| self.at(u)).collect();
            let worst = params
                .windows(2)
                .zip(points.windows(2))
                .map(|(u, p)| (self.at((u[0] + u[1]) / 2.0) - nalgebra::center(&p[0], &p[1])).norm())
                .fold(0.0, f64::max);
            if worst <= chord_error || n >= 1 << 16 {
                return points;
            }
            n *= 2;
        }
    }
}
