//! How much of a region an isotropic Gaussian blur centred at a point covers, exactly
//! for polygons and to first order in σ / R for circles: what a camera whose lens
//! blurs by a Gaussian sees of a sharp silhouette, without sampling it first.
//!
//! A polygon's share is a sum over its edges near the point (Owen's T function gives
//! the Gaussian mass of the wedge that an edge cuts off), so a pixel costs only the
//! edges within reach of the blur, and corners and short edges are as exact as long
//! ones. Invariant: shares lie in `[0, 1]`, and blurring keeps a region's area.

use std::f64::consts::{PI, SQRT_2};

/// The standard normal cumulative distribution.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / SQRT_2)
}

/// Gauss–Legendre nodes and weights on `[-1, 1]`, 16 points.
const GL_NODES: [f64; 8] = [
    0.095_012_509_837_637_44,
    0.281_603_550_779_258_9,
    0.458_016_777_657_227_4,
    0.617_876_244_402_643_7,
    0.755_404_408_355_003,
    0.865_631_202_387_831_8,
    0.944_575_023_073_232_6,
    0.989_400_934_991_649_9,
];
const GL_WEIGHTS: [f64; 8] = [
    0.189_450_610_455_068_5,
    0.182_603_415_044_923_6,
    0.169_156_519_395_002_5,
    0.149_595_988_816_576_7,
    0.124_628_971_255_533_9,
    0.095_158_511_682_492_8,
    0.062_253_523_938_647_9,
    0.027_152_459_411_754_1,
];

/// Owen's T function: `P(X > h, 0 < Y < a X)` for independent standard normals, for
/// `h ≥ 0` (it is even in `h` and odd in `a`).
pub fn owens_t(h: f64, a: f64) -> f64 {
    if a < 0.0 {
        return -owens_t(h, -a);
    }
    if a == 0.0 {
        return 0.0;
    }
    if a > 1.0 {
        if a.is_infinite() {
            return 0.5 * (1.0 - normal_cdf(h));
        }
        // T(h, a) + T(ah, 1/a) = ½Φ(h) + ½Φ(ah) − Φ(h)Φ(ah), for h, a ≥ 0.
        let (ph, pah) = (normal_cdf(h), normal_cdf(a * h));
        return 0.5 * ph + 0.5 * pah - ph * pah - owens_t(a * h, 1.0 / a);
    }
    // ∫₀ᵃ exp(−h²(1 + x²)/2) / (1 + x²) dx / 2π, by Gauss–Legendre on [0, a].
    let half = 0.5 * a;
    let f = |x: f64| (-0.5 * h * h * (1.0 + x * x)).exp() / (1.0 + x * x);
    let sum: f64 = GL_NODES.iter().zip(GL_WEIGHTS).map(|(&x, w)| w * (f(half * (1.0 + x)) + f(half * (1.0 - x)))).sum();
    sum * half / (2.0 * PI)
}

/// The Gaussian mass, for a blur of `sigma` centred at `p`, of the wedge that the
/// segment `a → b` cuts off beyond its line (between the rays from `p` through its
/// ends), signed by the turn `p → a → b` (positive counter-clockwise). Summed over a
/// closed polygon's edges and taken from its winding number it gives the polygon's
/// share: see [`polygon_share`]. 0 beyond the blur's reach.
pub fn edge_term(p: (f64, f64), a: (f64, f64), b: (f64, f64), sigma: f64) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let length = (dx * dx + dy * dy).sqrt();
    if length < 1e-12 {
        return 0.0;
    }
    let (ux, uy) = (dx / length, dy / length);
    let (ax, ay) = (a.0 - p.0, a.1 - p.1);
    let t_a = ax * ux + ay * uy;
    let t_b = t_a + length;
    // From p to the foot of the perpendicular on the line.
    let (wx, wy) = (ax - t_a * ux, ay - t_a * uy);
    let cross = wx * uy - wy * ux;
    let h = (wx * wx + wy * wy).sqrt();
    if h > 9.0 * sigma {
        return 0.0;
    }
    let turn = if cross > 0.0 {
        1.0
    } else if cross < 0.0 {
        -1.0
    } else {
        return 0.0;
    };
    let hs = h / sigma;
    let slope = |t: f64| if h > 0.0 { t / h } else { t.signum() * f64::INFINITY };
    turn * (owens_t(hs, slope(t_b)) - owens_t(hs, slope(t_a)))
}

/// The share of a closed polygon (its points in order, either way round) that a
/// Gaussian blur of `sigma` centred at `p` covers: `inside` (whether `p` lies in it)
/// less the signed wedge masses of its edges; only edges within the blur's reach
/// count, so `edges` may list only those (as `(a, b)` pairs in the polygon's order).
pub fn polygon_share(
    p: (f64, f64),
    inside: bool,
    counter_clockwise: bool,
    edges: impl Iterator<Item = ((f64, f64), (f64, f64))>,
    sigma: f64,
) -> f64 {
    let orientation = if counter_clockwise { 1.0 } else { -1.0 };
    let beyond: f64 = edges.map(|(a, b)| edge_term(p, a, b, sigma)).sum();
    (inside as u8 as f64 - orientation * beyond).clamp(0.0, 1.0)
}

/// The share of a disc of `radius` centred `distance` away that a Gaussian blur of
/// `sigma` covers: the straight edge's profile with the rim taken in by `σ² / 2R`
/// (to first order in σ / R, which keeps the disc's area).
pub fn disc_share(distance: f64, radius: f64, sigma: f64) -> f64 {
    let rim = radius - sigma * sigma / (2.0 * radius.max(sigma));
    normal_cdf((rim - distance) / sigma)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The share by brute force: the blur sampled on a fine grid.
    fn sampled(p: (f64, f64), sigma: f64, inside: impl Fn(f64, f64) -> bool) -> f64 {
        let (step, reach) = (sigma / 120.0, 7.0 * sigma);
        let (mut mass, mut total) = (0.0, 0.0);
        let n = (reach / step) as i64;
        for j in -n..n {
            for i in -n..n {
                let (x, y) = ((i as f64 + 0.5) * step, (j as f64 + 0.5) * step);
                let w = (-(x * x + y * y) / (2.0 * sigma * sigma)).exp();
                total += w;
                if inside(p.0 + x, p.1 + y) {
                    mass += w;
                }
            }
        }
        mass / total
    }

    #[test]
    fn owens_t_meets_its_known_values() {
        // T(0, a) = atan(a) / 2π; T(h, 1) = Φ(h)(1 − Φ(h)) / 2; T(h, ∞) = (1 − Φ(h)) / 2.
        for a in [0.3, 1.0, 2.5, 40.0] {
            assert!((owens_t(0.0, a) - a.atan() / (2.0 * PI)).abs() < 1e-12, "{a}");
        }
        for h in [0.0, 0.5, 1.3, 3.0] {
            let p = normal_cdf(h);
            assert!((owens_t(h, 1.0) - 0.5 * p * (1.0 - p)).abs() < 1e-12, "{h}");
            assert!((owens_t(h, 1e9) - 0.5 * (1.0 - p)).abs() < 1e-9, "{h}");
        }
    }

    #[test]
    fn a_blurred_polygon_matches_the_blur_sampled() {
        // A square with a notch (a reflex corner), points near corners and edges.
        let poly = [(0.0, 0.0), (4.0, 0.0), (4.0, 3.0), (2.0, 3.0), (2.0, 1.5), (0.0, 1.5)];
        let contains = |x: f64, y: f64| {
            let mut inside = false;
            for i in 0..poly.len() {
                let (a, b) = (poly[i], poly[(i + 1) % poly.len()]);
                if (a.1 > y) != (b.1 > y) && x < a.0 + (y - a.1) * (b.0 - a.0) / (b.1 - a.1) {
                    inside = !inside;
                }
            }
            inside
        };
        let sigma = 0.6;
        for p in [(0.1, 0.2), (2.3, 1.2), (1.9, 1.6), (4.5, 3.2), (2.0, -0.4), (3.0, 2.9), (-2.0, -2.0)] {
            let edges = (0..poly.len()).map(|i| (poly[i], poly[(i + 1) % poly.len()]));
            let share = polygon_share(p, contains(p.0, p.1), true, edges, sigma);
            let truth = sampled(p, sigma, contains);
            assert!((share - truth).abs() < 2e-3, "{p:?}: {share} vs {truth}");
        }
    }

    #[test]
    fn a_blurred_disc_matches_the_blur_sampled() {
        let (radius, sigma) = (8.0, 1.0);
        for distance in [0.0, 6.5, 7.5, 8.0, 8.5, 10.0] {
            let share = disc_share(distance, radius, sigma);
            let truth = sampled((distance, 0.0), sigma, |x, y| x * x + y * y < radius * radius);
            assert!((share - truth).abs() < 3e-3, "{distance}: {share} vs {truth}");
        }
    }
}
