//! The drawing's part as the inspection sees it: its loops (outline first, then one per
//! feature) as segments and exact circles, indexed on a grid for nearest-edge queries.
//!
//! Invariant: each element knows its loop and the direction from material to void at
//! any of its points (outward of the outline, into a hole), which corrects a thick
//! part's silhouette and signs deviations (positive: material where the drawing has
//! void).

use sheetsight_drawing::{Loop, Part};

use crate::table::Mm;

#[derive(Clone, Copy, Debug)]
enum Element {
    /// From `a` to `b`; `void` is the unit normal toward the void.
    Segment { a: Mm, b: Mm, void: nalgebra::Vector2<f64> },
    /// `void_inside`: a hole (the void is inside the circle).
    Circle { c: Mm, r: f64, void_inside: bool },
}

/// The nearest edge of the drawing to a point.
#[derive(Clone, Copy, Debug)]
pub struct Nearest {
    pub distance_mm: f64,
    /// Toward the void, at the nearest point.
    pub void_normal: nalgebra::Vector2<f64>,
    /// Positive when the point lies on the void side.
    pub signed_mm: f64,
    /// 0: the outline; k: feature k - 1.
    pub loop_index: usize,
}

pub struct NominalIndex {
    elements: Vec<(Element, usize)>,
    cell_mm: f64,
    origin: Mm,
    columns: usize,
    rows: usize,
    /// Cell `k`'s elements are `members[starts[k]..starts[k + 1]]`.
    starts: Vec<u32>,
    members: Vec<u32>,
}

impl NominalIndex {
    pub fn new(part: &Part) -> Self {
        let mut elements = Vec::new();
        push_loop(&mut elements, &part.outline, 0, false);
        for (k, f) in part.features.iter().enumerate() {
            push_loop(&mut elements, &f.outline, k + 1, true);
        }
        let (mut lo, mut hi) = (Mm::new(f64::MAX, f64::MAX), Mm::new(f64::MIN, f64::MIN));
        for (e, _) in &elements {
            let (a, b) = bounds(e);
            lo = Mm::new(lo.x.min(a.x), lo.y.min(a.y));
            hi = Mm::new(hi.x.max(b.x), hi.y.max(b.y));
        }
        let size = (hi.x - lo.x).max(hi.y - lo.y).max(1.0);
        let cell_mm = (size / 256.0).max(0.5);
        let margin = 4.0 * cell_mm;
        let origin = Mm::new(lo.x - margin, lo.y - margin);
        let columns = ((hi.x - lo.x + 2.0 * margin) / cell_mm).ceil() as usize + 1;
        let rows = ((hi.y - lo.y + 2.0 * margin) / cell_mm).ceil() as usize + 1;
        let mut cells = vec![Vec::new(); columns * rows];
        for (i, (e, _)) in elements.iter().enumerate() {
            let (a, b) = bounds(e);
            let (x0, y0) = cell_of(origin, cell_mm, a);
            let (x1, y1) = cell_of(origin, cell_mm, b);
            for y in y0..=y1.min(rows - 1) {
                for x in x0..=x1.min(columns - 1) {
                    // A circle's ring only, not its inside.
                    if let Element::Circle { c, r, .. } = e {
                        let (cx, cy) = (origin.x + (x as f64 + 0.5) * cell_mm, origin.y + (y as f64 + 0.5) * cell_mm);
                        let d = ((cx - c.x).powi(2) + (cy - c.y).powi(2)).sqrt();
                        if (d - r).abs() > cell_mm {
                            continue;
                        }
                    }
                    cells[y * columns + x].push(i as u32);
                }
            }
        }
        let mut starts = Vec::with_capacity(cells.len() + 1);
        let mut members = Vec::new();
        for c in &cells {
            starts.push(members.len() as u32);
            members.extend_from_slice(c);
        }
        starts.push(members.len() as u32);
        Self { elements, cell_mm, origin, columns, rows, starts, members }
    }

    /// The nearest edge within `radius_mm`, if any.
    pub fn nearest(&self, p: Mm, radius_mm: f64) -> Option<Nearest> {
        self.nearest_where(p, radius_mm, |_| true)
    }

    /// The nearest edge of loop `loop_index` within `radius_mm`.
    pub fn nearest_in(&self, p: Mm, radius_mm: f64, loop_index: usize) -> Option<Nearest> {
        self.nearest_where(p, radius_mm, |k| k == loop_index)
    }

    /// Searches a small square first and widens it only while nothing is found (a
    /// wide search is slow: its cells grow with the square of the radius).
    fn nearest_where(&self, p: Mm, radius_mm: f64, keep: impl Fn(usize) -> bool) -> Option<Nearest> {
        let mut reach = self.cell_mm.min(radius_mm);
        loop {
            // What lies within `reach` is the nearest overall: the square holds the circle.
            if let Some(n) = self.nearest_within(p, reach, &keep) {
                return Some(n);
            }
            if reach >= radius_mm {
                return None;
            }
            reach = (reach * 4.0).min(radius_mm);
        }
    }

    fn nearest_within(&self, p: Mm, radius_mm: f64, keep: &impl Fn(usize) -> bool) -> Option<Nearest> {
        let (x0, y0) = cell_of(self.origin, self.cell_mm, Mm::new(p.x - radius_mm, p.y - radius_mm));
        let (x1, y1) = cell_of(self.origin, self.cell_mm, Mm::new(p.x + radius_mm, p.y + radius_mm));
        let mut best: Option<(f64, u32)> = None;
        let limit = radius_mm * radius_mm;
        for y in y0..=y1.min(self.rows - 1) {
            let row = y * self.columns;
            let (from, to) =
                (self.starts[row + x0.min(self.columns - 1)], self.starts[row + x1.min(self.columns - 1) + 1]);
            for &i in &self.members[from as usize..to as usize] {
                let (e, loop_index) = &self.elements[i as usize];
                if !keep(*loop_index) {
                    continue;
                }
                let d2 = distance_squared(e, p);
                if d2 <= limit && best.is_none_or(|(b, _)| d2 < b) {
                    best = Some((d2, i));
                }
            }
        }
        best.map(|(_, i)| {
            let (e, loop_index) = self.elements[i as usize];
            let (distance_mm, void_normal, signed_mm) = distance(&e, p);
            Nearest { distance_mm, void_normal, signed_mm, loop_index }
        })
    }
}

fn cell_of(origin: Mm, cell: f64, p: Mm) -> (usize, usize) {
    (((p.x - origin.x) / cell).floor().max(0.0) as usize, ((p.y - origin.y) / cell).floor().max(0.0) as usize)
}

fn bounds(e: &Element) -> (Mm, Mm) {
    match *e {
        Element::Segment { a, b, .. } => (Mm::new(a.x.min(b.x), a.y.min(b.y)), Mm::new(a.x.max(b.x), a.y.max(b.y))),
        Element::Circle { c, r, .. } => (Mm::new(c.x - r, c.y - r), Mm::new(c.x + r, c.y + r)),
    }
}

fn distance_squared(e: &Element, p: Mm) -> f64 {
    match *e {
        Element::Segment { a, b, .. } => {
            let (ab, ap) = (b - a, p - a);
            let t = (ap.dot(&ab) / ab.norm_squared()).clamp(0.0, 1.0);
            (ap - ab * t).norm_squared()
        }
        Element::Circle { c, r, .. } => ((p - c).norm() - r).powi(2),
    }
}

/// Distance, the void normal at the nearest point, and the signed distance.
fn distance(e: &Element, p: Mm) -> (f64, nalgebra::Vector2<f64>, f64) {
    match *e {
        Element::Segment { a, b, void } => {
            let ab = b - a;
            let t = ((p - a).dot(&ab) / ab.norm_squared()).clamp(0.0, 1.0);
            let q = a + ab * t;
            let d = (p - q).norm();
            (d, void, (p - q).dot(&void).signum() * d)
        }
        Element::Circle { c, r, void_inside } => {
            let v = p - c;
            let n = v.norm();
            let radial = if n > 0.0 { v / n } else { nalgebra::Vector2::new(1.0, 0.0) };
            let void = if void_inside { -radial } else { radial };
            let signed = if void_inside { r - n } else { n - r };
            ((n - r).abs(), void, signed)
        }
    }
}

fn push_loop(out: &mut Vec<(Element, usize)>, l: &Loop, index: usize, void_inside: bool) {
    if let Some((c, r)) = l.circle {
        out.push((Element::Circle { c, r, void_inside }, index));
        return;
    }
    let ccw = l.signed_area() > 0.0;
    let n = l.points.len();
    for i in 0..n {
        let (a, b) = (l.points[i], l.points[(i + 1) % n]);
        let d = b - a;
        if d.norm() == 0.0 {
            continue;
        }
        // Left of a counter-clockwise loop is its inside.
        let left = nalgebra::Vector2::new(-d.y, d.x) / d.norm();
        let inside = if ccw { left } else { -left };
        let void = if void_inside { inside } else { -inside };
        out.push((Element::Segment { a, b, void }, index));
    }
}
