//! Statistical process control of one feature of one part number: an individuals chart
//! (each inspected part one point) of a measured error over time, its control limits,
//! the capability against the tolerance, and drift alerts that come before parts fail.
//!
//! - The centre and σ come from a baseline: the first [`BASELINE_POINTS`] points (all,
//!   when there are fewer). σ is the moving-range estimate `MR̄ / d₂` (`d₂ = 1.128` for
//!   ranges of two), which a slow drift does not inflate as the plain standard
//!   deviation would. Limits: centre ± 3σ.
//! - Capability: `Cp = (USL − LSL) / 6σ` and `Cpk = min(USL − μ, μ − LSL) / 3σ` with μ
//!   the baseline's mean; for a one-sided feature (a position error, never negative)
//!   only `Cpk = (USL − μ) / 3σ`.
//! - Alerts (the Western Electric / Nelson rules that see drift): a point beyond the
//!   limits; [`RUN_POINTS`] points in a row on one side of the centre; [`TREND_POINTS`]
//!   points in a row each higher (or each lower) than the one before. Each alert says
//!   whether the parts are still within tolerance: a drift seen before they fail.
//!
//! Pure: values in, a chart out. Invariant: `lower_limit <= centre <= upper_limit`.

use serde::{Deserialize, Serialize};

/// Points that set the centre and the limits.
pub const BASELINE_POINTS: usize = 25;
/// A run on one side of the centre this long is a shift.
pub const RUN_POINTS: usize = 8;
/// A run this long, each point above (or below) the one before, is a trend.
pub const TREND_POINTS: usize = 6;
/// The mean range of two normal samples over their σ.
const D2: f64 = 1.128;

/// The tolerance of the charted value: `lower` absent for a one-sided feature.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tolerance {
    pub lower: Option<f64>,
    pub upper: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Alert {
    /// Point `index` beyond a control limit.
    BeyondLimits { index: usize, value: f64, within_tolerance: bool },
    /// Points `from..=to` all above (or below) the centre.
    Run { from: usize, to: usize, above: bool, within_tolerance: bool },
    /// Points `from..=to` each higher (or lower) than the one before.
    Trend { from: usize, to: usize, rising: bool, within_tolerance: bool },
}

impl Alert {
    pub fn within_tolerance(&self) -> bool {
        match self {
            Alert::BeyondLimits { within_tolerance, .. }
            | Alert::Run { within_tolerance, .. }
            | Alert::Trend { within_tolerance, .. } => *within_tolerance,
        }
    }

    /// In words, for a person.
    pub fn describe(&self) -> String {
        let tail =
            |ok: bool| if ok { "; the parts are still within tolerance" } else { "; parts are out of tolerance" };
        match self {
            Alert::BeyondLimits { index, value, within_tolerance } => {
                format!("part {} at {value:.4} mm is beyond the control limits{}", index + 1, tail(*within_tolerance))
            }
            Alert::Run { from, to, above, within_tolerance } => format!(
                "parts {} to {} all lie {} the centre line: the process has shifted{}",
                from + 1,
                to + 1,
                if *above { "above" } else { "below" },
                tail(*within_tolerance)
            ),
            Alert::Trend { from, to, rising, within_tolerance } => format!(
                "parts {} to {} each {} than the one before: the process drifts{}",
                from + 1,
                to + 1,
                if *rising { "larger" } else { "smaller" },
                tail(*within_tolerance)
            ),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    pub values: Vec<f64>,
    pub baseline_points: usize,
    pub centre: f64,
    /// σ from the baseline's mean moving range.
    pub sigma: f64,
    pub upper_limit: f64,
    pub lower_limit: f64,
    pub tolerance: Tolerance,
    pub cp: Option<f64>,
    pub cpk: Option<f64>,
    pub alerts: Vec<Alert>,
}

/// The individuals chart of `values` (in time order); `None` with fewer than 2 values
/// or any that is not a number.
pub fn individuals(values: &[f64], tolerance: Tolerance) -> Option<Chart> {
    if values.len() < 2 || values.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let baseline = &values[..values.len().min(BASELINE_POINTS)];
    let centre = baseline.iter().sum::<f64>() / baseline.len() as f64;
    let mean_range = baseline.windows(2).map(|w| (w[1] - w[0]).abs()).sum::<f64>() / (baseline.len() - 1) as f64;
    let sigma = mean_range / D2;
    let (upper_limit, lower_limit) = (centre + 3.0 * sigma, centre - 3.0 * sigma);
    let (cp, cpk) = if sigma > 0.0 {
        let above = (tolerance.upper - centre) / (3.0 * sigma);
        match tolerance.lower {
            Some(lower) => {
                (Some((tolerance.upper - lower) / (6.0 * sigma)), Some(above.min((centre - lower) / (3.0 * sigma))))
            }
            None => (None, Some(above)),
        }
    } else {
        (None, None)
    };
    let within = |v: f64| v <= tolerance.upper && tolerance.lower.is_none_or(|l| v >= l);
    let all_within = |from: usize, to: usize| values[from..=to].iter().all(|v| within(*v));
    let mut alerts = Vec::new();
    for (index, &value) in values.iter().enumerate() {
        if value > upper_limit + 1e-12 || value < lower_limit - 1e-12 {
            alerts.push(Alert::BeyondLimits { index, value, within_tolerance: within(value) });
        }
    }
    // Runs: each maximal run of at least RUN_POINTS on one side, once.
    // (Within a nanometre of the centre is on it: a constant series is not a run.)
    let side = |v: f64| {
        if v > centre + 1e-9 {
            1
        } else if v < centre - 1e-9 {
            -1
        } else {
            0
        }
    };
    let mut start = 0;
    for i in 1..=values.len() {
        if i == values.len() || side(values[i]) != side(values[start]) || side(values[i]) == 0 {
            if side(values[start]) != 0 && i - start >= RUN_POINTS {
                let to = i - 1;
                alerts.push(Alert::Run {
                    from: start,
                    to,
                    above: side(values[start]) > 0,
                    within_tolerance: all_within(start, to),
                });
            }
            start = i;
        }
    }
    // Trends: each maximal run of at least TREND_POINTS strictly rising or falling.
    for rising in [true, false] {
        let step = |a: f64, b: f64| if rising { b > a } else { b < a };
        let mut start = 0;
        for i in 1..=values.len() {
            if i == values.len() || !step(values[i - 1], values[i]) {
                if i - start >= TREND_POINTS {
                    let to = i - 1;
                    alerts.push(Alert::Trend { from: start, to, rising, within_tolerance: all_within(start, to) });
                }
                start = i;
            }
        }
    }
    alerts.sort_by_key(|a| match a {
        Alert::BeyondLimits { index, .. } => *index,
        Alert::Run { to, .. } | Alert::Trend { to, .. } => *to,
    });
    Some(Chart {
        values: values.to_vec(),
        baseline_points: baseline.len(),
        centre,
        sigma,
        upper_limit,
        lower_limit,
        tolerance,
        cp,
        cpk,
        alerts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_SIDED: Tolerance = Tolerance { lower: Some(-0.2), upper: 0.2 };

    #[test]
    fn limits_and_capability_of_a_known_series() {
        // Alternating ±0.01 about 0.02: mean 0.02, every moving range 0.02, σ = 0.02 / 1.128.
        let values: Vec<f64> = (0..20).map(|i| if i % 2 == 0 { 0.03 } else { 0.01 }).collect();
        let chart = individuals(&values, TWO_SIDED).expect("a chart");
        let sigma = 0.02 / 1.128;
        assert!((chart.centre - 0.02).abs() < 1e-12);
        assert!((chart.sigma - sigma).abs() < 1e-12);
        assert!((chart.upper_limit - (0.02 + 3.0 * sigma)).abs() < 1e-12);
        assert!((chart.cp.expect("cp") - 0.4 / (6.0 * sigma)).abs() < 1e-9);
        assert!((chart.cpk.expect("cpk") - 0.18 / (3.0 * sigma)).abs() < 1e-9);
        assert!(chart.alerts.is_empty(), "{:?}", chart.alerts);
        // One-sided (a position error): only Cpk, against the upper limit.
        let chart = individuals(&values, Tolerance { lower: None, upper: 0.2 }).expect("a chart");
        assert_eq!(chart.cp, None);
        assert!((chart.cpk.expect("cpk") - 0.18 / (3.0 * sigma)).abs() < 1e-9);
    }

    #[test]
    fn a_slowly_growing_hole_raises_a_drift_alert_before_it_fails() {
        // A stable baseline, then the diameter creeps up by 0.01 mm a part (a nozzle
        // wearing): a trend is seen while every part is still within 0.2 mm.
        let mut values: Vec<f64> = (0..25).map(|i| [0.004, -0.003, 0.002, -0.004, 0.001][i % 5]).collect();
        values.extend((1..=12).map(|k| 0.01 * k as f64));
        let chart = individuals(&values, TWO_SIDED).expect("a chart");
        let first = chart.alerts.first().expect("an alert");
        eprintln!("{:?}", chart.alerts.iter().map(Alert::describe).collect::<Vec<_>>());
        assert!(first.within_tolerance(), "{first:?}");
        // The trend starts in the baseline's last rising steps (parts 24 and 25) and
        // runs to the last part; no part exceeds 0.2 mm.
        assert!(
            chart
                .alerts
                .iter()
                .any(|a| matches!(a, Alert::Trend { rising: true, from: 23, to: 36, within_tolerance: true })),
            "{:?}",
            chart.alerts
        );
        assert!(chart.alerts.iter().any(|a| matches!(a, Alert::Run { above: true, from: 24, to: 36, .. })));
        assert!(chart.alerts.iter().any(|a| matches!(a, Alert::BeyondLimits { .. })));
    }

    #[test]
    fn a_shift_is_a_run_and_a_stable_process_raises_nothing() {
        let mut values: Vec<f64> = (0..25).map(|i| [0.01, -0.01, 0.005, -0.005, 0.0][i % 5]).collect();
        assert!(individuals(&values, TWO_SIDED).expect("chart").alerts.is_empty());
        // 8 parts just above the centre, none beyond the limits, none rising throughout.
        values.extend([0.004, 0.002, 0.005, 0.003, 0.006, 0.002, 0.004, 0.003]);
        let chart = individuals(&values, TWO_SIDED).expect("chart");
        assert_eq!(chart.alerts, vec![Alert::Run { from: 25, to: 32, above: true, within_tolerance: true }]);
        // Out of tolerance is said so.
        values.push(0.5);
        let chart = individuals(&values, TWO_SIDED).expect("chart");
        let beyond = chart.alerts.iter().find(|a| matches!(a, Alert::BeyondLimits { .. })).expect("beyond the limits");
        assert!(matches!(beyond, Alert::BeyondLimits { index: 33, within_tolerance: false, .. }), "{beyond:?}");
        assert!(beyond.describe().contains("out of tolerance"));
        // The run now reaches the bad part, and says so.
        assert!(chart.alerts.contains(&Alert::Run { from: 25, to: 33, above: true, within_tolerance: false }));
    }

    #[test]
    fn too_little_or_bad_input_makes_no_chart() {
        assert!(individuals(&[0.1], TWO_SIDED).is_none());
        assert!(individuals(&[0.1, f64::NAN], TWO_SIDED).is_none());
        // A constant series: σ is 0, no capability, nothing beyond limits.
        let chart = individuals(&[0.05; 10], TWO_SIDED).expect("chart");
        assert_eq!((chart.cp, chart.cpk), (None, None));
        assert!(chart.alerts.iter().all(|a| !matches!(a, Alert::BeyondLimits { .. })));
    }
}
