//! A small Levenberg–Marquardt least-squares solver with a numeric Jacobian and
//! Marquardt's diagonal scaling, for the few-parameter fits here (camera model, circle,
//! pose). Deterministic; stops when a step no longer lowers the cost noticeably.

use nalgebra::{DMatrix, DVector};

/// The parameters minimising the sum of squares of `residuals(params, out)` (which
/// fills `out`, of length `m`), from `start`. `scale` gives each parameter's typical size, for the
/// finite-difference steps.
pub fn minimise(
    start: &[f64],
    scale: &[f64],
    m: usize,
    max_iterations: usize,
    residuals: impl Fn(&[f64], &mut [f64]),
) -> Vec<f64> {
    let n = start.len();
    let mut p = start.to_vec();
    let mut r = vec![0.0; m];
    residuals(&p, &mut r);
    let mut cost: f64 = r.iter().map(|v| v * v).sum();
    let mut lambda = 1e-3;
    let mut jac = DMatrix::<f64>::zeros(m, n);
    let mut r_step = vec![0.0; m];
    for _ in 0..max_iterations {
        for j in 0..n {
            let h = 1e-7 * p[j].abs().max(scale[j]);
            let mut q = p.clone();
            q[j] += h;
            residuals(&q, &mut r_step);
            for i in 0..m {
                jac[(i, j)] = (r_step[i] - r[i]) / h;
            }
        }
        let jtj = jac.transpose() * &jac;
        let jtr = jac.transpose() * DVector::from_column_slice(&r);
        let mut improved = false;
        for _ in 0..12 {
            let mut a = jtj.clone();
            for j in 0..n {
                a[(j, j)] += lambda * jtj[(j, j)].max(1e-12);
            }
            let Some(delta) = a.lu().solve(&(-&jtr)) else {
                lambda *= 10.0;
                continue;
            };
            let q: Vec<f64> = p.iter().zip(delta.iter()).map(|(a, b)| a + b).collect();
            residuals(&q, &mut r_step);
            let new_cost: f64 = r_step.iter().map(|v| v * v).sum();
            if new_cost.is_finite() && new_cost < cost {
                let gain = cost - new_cost;
                p = q;
                std::mem::swap(&mut r, &mut r_step);
                cost = new_cost;
                lambda = (lambda / 3.0).max(1e-12);
                improved = gain > 1e-12 * cost.max(1e-30);
                break;
            }
            lambda *= 10.0;
        }
        if !improved {
            break;
        }
    }
    p
}

#[cfg(test)]
mod tests {
    #[test]
    fn fits_an_exponential() {
        let xs: Vec<f64> = (0..20).map(|i| i as f64 * 0.1).collect();
        let ys: Vec<f64> = xs.iter().map(|x| 2.5 * (-1.3 * x).exp()).collect();
        let fit = super::minimise(&[1.0, -0.5], &[1.0, 1.0], xs.len(), 100, |p, out| {
            for (i, x) in xs.iter().enumerate() {
                out[i] = p[0] * (p[1] * x).exp() - ys[i];
            }
        });
        assert!((fit[0] - 2.5).abs() < 1e-6 && (fit[1] + 1.3).abs() < 1e-6, "{fit:?}");
    }
}
