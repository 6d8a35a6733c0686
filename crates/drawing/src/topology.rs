//! The part's topology: its curves chained into closed loops (ends within a gap
//! tolerance are joined; larger gaps are reported with their positions), loops nested
//! into parts (an outline and the loops inside it), and every inner loop classified as
//! a round hole (also when drawn as splines or polygons), a slot, or another cut-out.

use crate::Point;
use crate::read::{PartDrawing, Shape};

/// A closed loop: its points in order, the last joined back to the first.
#[derive(Clone, Debug, PartialEq)]
pub struct Loop {
    pub points: Vec<Point>,
    /// An exact circle when the drawing said so.
    pub circle: Option<(Point, f64)>,
}

impl Loop {
    /// Signed area (positive counter-clockwise), mm².
    pub fn signed_area(&self) -> f64 {
        if let Some((_, r)) = self.circle {
            return std::f64::consts::PI * r * r;
        }
        let n = self.points.len();
        (0..n)
            .map(|i| {
                let (a, b) = (self.points[i], self.points[(i + 1) % n]);
                a.x * b.y - b.x * a.y
            })
            .sum::<f64>()
            / 2.0
    }

    pub fn area(&self) -> f64 {
        self.signed_area().abs()
    }

    pub fn perimeter(&self) -> f64 {
        if let Some((_, r)) = self.circle {
            return std::f64::consts::TAU * r;
        }
        let n = self.points.len();
        (0..n).map(|i| (self.points[(i + 1) % n] - self.points[i]).norm()).sum()
    }

    /// Whether `p` lies inside (even-odd rule; a circle exactly).
    pub fn contains(&self, p: Point) -> bool {
        if let Some((c, r)) = self.circle {
            return (p - c).norm() < r;
        }
        let n = self.points.len();
        let mut inside = false;
        for i in 0..n {
            let (a, b) = (self.points[i], self.points[(i + 1) % n]);
            if (a.y > p.y) != (b.y > p.y) && p.x < a.x + (p.y - a.y) * (b.x - a.x) / (b.y - a.y) {
                inside = !inside;
            }
        }
        inside
    }

    fn any_point(&self) -> Point {
        match self.circle {
            Some((c, r)) => Point::new(c.x + r, c.y),
            None => self.points[0],
        }
    }

    fn centroid(&self) -> Point {
        if let Some((c, _)) = self.circle {
            return c;
        }
        let n = self.points.len();
        let (mut cx, mut cy, mut a2) = (0.0, 0.0, 0.0);
        for i in 0..n {
            let (p, q) = (self.points[i], self.points[(i + 1) % n]);
            let cross = p.x * q.y - q.x * p.y;
            cx += (p.x + q.x) * cross;
            cy += (p.y + q.y) * cross;
            a2 += cross;
        }
        if a2.abs() < 1e-12 {
            return self.points[0];
        }
        Point::new(cx / (3.0 * a2), cy / (3.0 * a2))
    }
}

/// What an inner loop is.
#[derive(Clone, Debug, PartialEq)]
pub enum FeatureKind {
    /// Round: its centre and diameter (fitted when not drawn as a circle), and how far
    /// the drawn loop strays from that circle.
    Hole {
        center: Point,
        diameter_mm: f64,
        roundness_mm: f64,
    },
    /// Two straight parallel sides joined by half circles.
    Slot {
        center: Point,
        length_mm: f64,
        width_mm: f64,
        angle_deg: f64,
    },
    Cutout {
        centroid: Point,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Feature {
    pub kind: FeatureKind,
    pub outline: Loop,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    pub outline: Loop,
    pub features: Vec<Feature>,
}

/// Ends farther apart than the tolerance that had nothing closer: where a loop is open.
#[derive(Clone, Debug, PartialEq)]
pub struct Gap {
    pub at: Point,
    pub width_mm: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Topology {
    pub parts: Vec<Part>,
    pub gaps: Vec<Gap>,
    /// Chains that could not be closed (their ends are in `gaps`).
    pub open_chains: Vec<Vec<Point>>,
}

impl Topology {
    /// The part with the largest outline (a sheet's main part; the plate of a plate).
    pub fn largest_part(self) -> Option<Part> {
        self.parts.into_iter().max_by(|a, b| a.outline.area().total_cmp(&b.outline.area()))
    }
}

/// Builds the topology of `drawing`, joining ends up to `gap_tolerance_mm` apart.
pub fn build(drawing: &PartDrawing, gap_tolerance_mm: f64) -> Topology {
    let mut loops = Vec::new();
    let mut pieces: Vec<Vec<Point>> = Vec::new();
    for c in &drawing.curves {
        match &c.shape {
            Shape::Circle { center, radius_mm } => {
                loops.push(Loop { points: Vec::new(), circle: Some((*center, *radius_mm)) })
            }
            Shape::Polyline { points, closed } => {
                let closes = points.len() > 2 && (points[points.len() - 1] - points[0]).norm() <= gap_tolerance_mm;
                if *closed || closes {
                    let mut pts = points.clone();
                    if closes {
                        pts.pop();
                    }
                    if pts.len() >= 3 {
                        loops.push(Loop { points: pts, circle: None });
                    }
                } else {
                    pieces.push(points.clone());
                }
            }
        }
    }
    let (chained, open_chains) = chain(pieces, gap_tolerance_mm);
    loops.extend(chained.into_iter().filter(|p| p.len() >= 3).map(|points| Loop { points, circle: None }));
    loops.retain(|l| l.area() > 0.0);
    let gaps = gaps_of(&open_chains);
    Topology { parts: nest(loops), gaps, open_chains }
}

/// Joins open pieces end to end into closed loops; what cannot close stays open.
fn chain(mut pieces: Vec<Vec<Point>>, tol: f64) -> (Vec<Vec<Point>>, Vec<Vec<Point>>) {
    let mut closed = Vec::new();
    let mut open = Vec::new();
    while let Some(mut current) = pieces.pop() {
        while let (Some(&head), Some(&tail)) = (current.first(), current.last()) {
            if current.len() > 2 && (tail - head).norm() <= tol {
                current.pop();
                closed.push(current);
                break;
            }
            // The piece whose end is nearest the tail, within the tolerance.
            let best = pieces
                .iter()
                .enumerate()
                .flat_map(|(i, p)| [(i, false, (p[0] - tail).norm()), (i, true, (p[p.len() - 1] - tail).norm())])
                .filter(|&(_, _, d)| d <= tol)
                .min_by(|a, b| a.2.total_cmp(&b.2));
            match best {
                Some((i, reversed, _)) => {
                    let mut next = pieces.swap_remove(i);
                    if reversed {
                        next.reverse();
                    }
                    current.extend(next.into_iter().skip(1));
                }
                None => {
                    // Try growing at the head instead, once, by reversing.
                    let head_match =
                        pieces.iter().any(|p| (p[0] - head).norm() <= tol || (p[p.len() - 1] - head).norm() <= tol);
                    if head_match {
                        current.reverse();
                        continue;
                    }
                    open.push(current);
                    break;
                }
            }
        }
    }
    (closed, open)
}

/// Each open chain's loose tail: the gap to the nearest other loose end.
fn gaps_of(open: &[Vec<Point>]) -> Vec<Gap> {
    let ends: Vec<(usize, Point)> =
        open.iter().enumerate().flat_map(|(i, c)| [(i, c[0]), (i, c[c.len() - 1])]).collect();
    let mut gaps: Vec<Gap> = Vec::new();
    for (k, &(i, p)) in ends.iter().enumerate() {
        let nearest = ends
            .iter()
            .enumerate()
            .filter(|&(j, &(ci, _))| j != k && (ci != i || open[i].len() > 2))
            .map(|(_, &(_, q))| (q, (q - p).norm()))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((q, d)) = nearest {
            let at = nalgebra::center(&p, &q);
            if !gaps.iter().any(|g| (g.at - at).norm() < 1e-9) {
                gaps.push(Gap { at, width_mm: d });
            }
        }
    }
    gaps
}

/// Loops into parts: a loop inside no other is a part's outline; a loop directly
/// inside an outline is one of its features; a loop inside a feature is a part again
/// (a piece lying in a cut-out).
fn nest(mut loops: Vec<Loop>) -> Vec<Part> {
    loops.sort_by(|a, b| b.area().total_cmp(&a.area()));
    let mut parent: Vec<Option<usize>> = vec![None; loops.len()];
    for i in 0..loops.len() {
        let p = loops[i].any_point();
        parent[i] = (0..i).rev().find(|&j| loops[j].area() > loops[i].area() && loops[j].contains(p));
    }
    let depth = |mut i: usize| {
        let mut d = 0;
        while let Some(p) = parent[i] {
            d += 1;
            i = p;
        }
        d
    };
    let mut parts: Vec<(usize, Part)> = loops
        .iter()
        .enumerate()
        .filter(|&(i, _)| depth(i) % 2 == 0)
        .map(|(i, l)| (i, Part { outline: l.clone(), features: Vec::new() }))
        .collect();
    for (i, l) in loops.iter().enumerate() {
        if depth(i) % 2 == 1
            && let Some(owner) = parent[i]
            && let Some((_, part)) = parts.iter_mut().find(|(k, _)| *k == owner)
        {
            part.features.push(Feature { kind: classify(l), outline: l.clone() });
        }
    }
    parts.into_iter().map(|(_, p)| p).collect()
}

/// A least-squares circle (Kåsa's algebraic fit): centre and radius.
pub fn fit_circle(points: &[Point]) -> Option<(Point, f64)> {
    let n = points.len() as f64;
    if points.len() < 3 {
        return None;
    }
    let (mx, my) = (points.iter().map(|p| p.x).sum::<f64>() / n, points.iter().map(|p| p.y).sum::<f64>() / n);
    let (mut suu, mut svv, mut suv, mut suuu, mut svvv, mut suvv, mut svuu) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for p in points {
        let (u, v) = (p.x - mx, p.y - my);
        suu += u * u;
        svv += v * v;
        suv += u * v;
        suuu += u * u * u;
        svvv += v * v * v;
        suvv += u * v * v;
        svuu += v * u * u;
    }
    let m = nalgebra::Matrix2::new(suu, suv, suv, svv);
    let rhs = nalgebra::Vector2::new(suuu + suvv, svvv + svuu) / 2.0;
    let c = m.lu().solve(&rhs)?;
    let r = (c.x * c.x + c.y * c.y + (suu + svv) / n).sqrt();
    Some((Point::new(c.x + mx, c.y + my), r))
}

fn classify(l: &Loop) -> FeatureKind {
    if let Some((center, r)) = l.circle {
        return FeatureKind::Hole { center, diameter_mm: 2.0 * r, roundness_mm: 0.0 };
    }
    if let Some((center, r)) = fit_circle(&l.points) {
        let roundness = l.points.iter().map(|p| ((p - center).norm() - r).abs()).fold(0.0, f64::max);
        // Round within 0.5 % of the radius (at least 5 µm): a circle drawn as a spline
        // or polygon.
        if roundness <= (0.005 * r).max(0.005) && l.points.len() >= 8 {
            return FeatureKind::Hole { center, diameter_mm: 2.0 * r, roundness_mm: roundness };
        }
    }
    if let Some(slot) = as_slot(l) {
        return slot;
    }
    FeatureKind::Cutout { centroid: l.centroid() }
}

/// A slot (obround): its principal axis gives length and width, and its area and
/// perimeter must be those of that obround within 1 %.
fn as_slot(l: &Loop) -> Option<FeatureKind> {
    let c = l.centroid();
    let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
    for p in &l.points {
        let d = p - c;
        sxx += d.x * d.x;
        syy += d.y * d.y;
        sxy += d.x * d.y;
    }
    let angle = 0.5 * (2.0 * sxy).atan2(sxx - syy);
    let axis = nalgebra::Vector2::new(angle.cos(), angle.sin());
    let across = nalgebra::Vector2::new(-axis.y, axis.x);
    let extent = |v: nalgebra::Vector2<f64>| {
        let proj: Vec<f64> = l.points.iter().map(|p| (p - c).dot(&v)).collect();
        proj.iter().cloned().fold(f64::MIN, f64::max) - proj.iter().cloned().fold(f64::MAX, f64::min)
    };
    let (extent_along, width) = (extent(axis), extent(across));
    if width <= 0.0 || extent_along <= width * 1.05 {
        return None;
    }
    // The width is exact (the straight sides are drawn); the length follows from the
    // area, which a flattened round end barely changes (its tip may fall between
    // vertices, the area not).
    let r = width / 2.0;
    let length = (l.area() - std::f64::consts::PI * r * r) / width + width;
    let perimeter = 2.0 * (length - width) + std::f64::consts::TAU * r;
    let close = |a: f64, b: f64| (a - b).abs() <= 0.01 * b;
    (close(extent_along, length) && close(l.perimeter(), perimeter)).then(|| FeatureKind::Slot {
        center: c,
        length_mm: length,
        width_mm: width,
        angle_deg: angle.to_degrees(),
    })
}
