//! Points on a regular grid seen in perspective (chessboard corners, circle-grid dots)
//! put on an integer lattice: from the point nearest their middle, its nearest
//! neighbour gives one axis and the nearest not along it the other; each next point is
//! predicted by a homography of those found so far (only next to a match, so that the
//! homography is never stretched far) and taken within a third of the spacing.
//!
//! The lattice's axes are the points' nearest neighbours: a chessboard's or symmetric
//! grid's rows and columns, an asymmetric grid's diagonals.

use std::collections::BTreeMap;

use crate::calibrate::CalibrationError;
use crate::fit::fit_homography;
use crate::table::{Mm, Px, apply_h};

/// Lattice position `(i, j)` to the point there.
pub type Lattice = BTreeMap<(i64, i64), Px>;

/// The lattice of `points`; where none was seen, `probe` may find one near the
/// prediction (inside the photo, as `in_photo` tells). `None` with too few points.
pub fn grow(points: &[Px], in_photo: &dyn Fn(Px) -> bool, probe: &dyn Fn(Px) -> Option<Px>) -> Option<Lattice> {
    // Start at the point nearest the points' middle, with its nearest neighbour as one
    // axis and the nearest not along it as the other.
    let n = points.len() as f64;
    let middle = Px::new(points.iter().map(|p| p.x).sum::<f64>() / n, points.iter().map(|p| p.y).sum::<f64>() / n);
    let by_distance = |from: Px| {
        let mut v: Vec<Px> = points.iter().copied().filter(|p| *p != from).collect();
        v.sort_by(|a, b| (a - from).norm().total_cmp(&(b - from).norm()));
        v
    };
    let start = *points.iter().min_by(|a, b| (*a - middle).norm().total_cmp(&(*b - middle).norm()))?;
    let near = by_distance(start);
    let u = *near.first()? - start;
    let v = near.iter().map(|p| p - start).find(|d| (d.dot(&u) / (d.norm() * u.norm())).abs() < 0.5)?;
    let spacing = u.norm().min(v.norm());
    // Matches on the integer lattice around the start.
    let mut matched: Lattice = Default::default();
    matched.insert((0, 0), start);
    let nearest = |at: Px, matched: &Lattice| {
        points
            .iter()
            .copied()
            .filter(|p| (p - at).norm() < spacing / 3.0 && !matched.values().any(|q| q == p))
            .min_by(|a, b| (a - at).norm().total_cmp(&(b - at).norm()))
    };
    for (ij, d) in [((1, 0), u), ((0, 1), v), ((-1, 0), -u), ((0, -1), -v)] {
        if let Some(p) = nearest(start + d, &matched) {
            matched.insert(ij, p);
        }
    }
    loop {
        let (from, to): (Vec<Mm>, Vec<_>) =
            matched.iter().map(|(&(i, j), p)| (Mm::new(i as f64, j as f64), p.to_point())).unzip();
        let h = if matched.len() >= 4 { fit_homography(&from, &to)? } else { return None };
        let (i0, i1, j0, j1) = bounds(&matched)?;
        let mut added = false;
        for j in j0 - 1..=j1 + 1 {
            for i in i0 - 1..=i1 + 1 {
                if matched.contains_key(&(i, j)) {
                    continue;
                }
                // Only next to a match, so that the homography is not stretched far.
                let touches =
                    [(1, 0), (-1, 0), (0, 1), (0, -1)].iter().any(|(a, b)| matched.contains_key(&(i + a, j + b)));
                if !touches {
                    continue;
                }
                let at = Px::from_point(apply_h(&h, Mm::new(i as f64, j as f64)));
                if let Some(p) = nearest(at, &matched).or_else(|| in_photo(at).then(|| probe(at)).flatten()) {
                    matched.insert((i, j), p);
                    added = true;
                }
            }
        }
        if !added {
            break;
        }
    }
    Some(matched)
}

/// The lattice's bounds: `(i0, i1, j0, j1)`.
pub fn bounds(lattice: &Lattice) -> Option<(i64, i64, i64, i64)> {
    Some((
        lattice.keys().map(|k| k.0).min()?,
        lattice.keys().map(|k| k.0).max()?,
        lattice.keys().map(|k| k.1).min()?,
        lattice.keys().map(|k| k.1).max()?,
    ))
}

/// A printed target's size, `COLSxROWS` of `what` (as OpenCV counts them), and its
/// spacing in millimetres (`spacing`: what the spacing is called), checked.
pub fn parse_size(size: &str, what: &str, spacing_mm: f64, spacing: &str) -> Result<(usize, usize), CalibrationError> {
    let bad = || CalibrationError::Board(format!("{size:?} is not COLUMNSxROWS of {what}, such as 14x10"));
    let (c, r) = size.split_once(['x', 'X']).ok_or_else(bad)?;
    let (columns, rows): (usize, usize) = (c.trim().parse().map_err(|_| bad())?, r.trim().parse().map_err(|_| bad())?);
    if columns < 3 || rows < 3 || columns * rows > 10_000 {
        return Err(CalibrationError::Board(format!("{columns}x{rows} {what}: at least 3x3 and at most 10,000")));
    }
    if !(spacing_mm.is_finite() && spacing_mm > 0.5 && spacing_mm < 500.0) {
        return Err(CalibrationError::Board(format!("{spacing} of {spacing_mm} mm: give it, 0.5 to 500 mm")));
    }
    Ok((columns, rows))
}
