//! Cycle-time statistics per machine and job: count, median, P10 and P90 (cycle times
//! are skewed, so percentiles rather than mean and σ), the share of cycles over the
//! standard and the minutes lost against it. Pure: computed from stored cycles and
//! standards.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::CycleRecord;
use crate::report::csv_field;
use crate::standards::StandardRecord;

/// The figures of one machine and job (`job` is `None` for cycles run without one).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CycleStats {
    pub machine: String,
    pub job: Option<String>,
    pub count: usize,
    pub median_s: f64,
    pub p10_s: f64,
    pub p90_s: f64,
    pub standard_s: Option<f64>,
    /// Cycles longer than the standard (0 without one).
    pub over_standard: usize,
    /// Cycles longer than the standard, % of all.
    pub over_standard_pct: Option<f64>,
    /// The time cycles took beyond the standard, minutes (shorter cycles do not offset it).
    pub lost_min: Option<f64>,
}

/// The `p`-th percentile of sorted values, linearly interpolated between ranks.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let rank = p / 100.0 * (n - 1) as f64;
            let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
            sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
        }
    }
}

/// The statistics of `cycles`, by machine and job, with the standards that exist.
pub fn compute<'a>(cycles: impl IntoIterator<Item = &'a CycleRecord>, standards: &[StandardRecord]) -> Vec<CycleStats> {
    let mut groups: BTreeMap<(String, Option<String>), Vec<f64>> = BTreeMap::new();
    for c in cycles {
        groups.entry((c.machine.clone(), c.job.clone())).or_default().push((c.end - c.start) as f64 / 1000.0);
    }
    groups
        .into_iter()
        .map(|((machine, job), mut durations)| {
            durations.sort_by(f64::total_cmp);
            let standard_s = job
                .as_ref()
                .and_then(|j| standards.iter().find(|s| s.machine == machine && &s.job == j))
                .and_then(|s| s.standard_ms)
                .map(|ms| ms as f64 / 1000.0);
            let over = standard_s.map(|std| {
                let slow: Vec<f64> = durations.iter().filter(|d| **d > std).map(|d| d - std).collect();
                (slow.len(), slow.iter().sum::<f64>() / 60.0)
            });
            CycleStats {
                count: durations.len(),
                median_s: percentile(&durations, 50.0),
                p10_s: percentile(&durations, 10.0),
                p90_s: percentile(&durations, 90.0),
                standard_s,
                over_standard: over.map_or(0, |o| o.0),
                over_standard_pct: over.map(|o| o.0 as f64 / durations.len() as f64 * 100.0),
                lost_min: over.map(|o| o.1),
                machine,
                job,
            }
        })
        .collect()
}

fn shown(v: Option<f64>, decimals: usize) -> String {
    v.map_or("-".to_string(), |v| format!("{v:.decimals$}"))
}

pub fn table(rows: &[CycleStats]) -> String {
    let mut out = format!(
        "{:<12} {:<20} {:>6} {:>9} {:>7} {:>7} {:>10} {:>7} {:>8}\n",
        "machine", "job", "cycles", "median s", "P10 s", "P90 s", "standard s", "% over", "lost min"
    );
    for r in rows {
        out += &format!(
            "{:<12} {:<20} {:>6} {:>9.1} {:>7.1} {:>7.1} {:>10} {:>7} {:>8}\n",
            r.machine,
            r.job.as_deref().unwrap_or("-"),
            r.count,
            r.median_s,
            r.p10_s,
            r.p90_s,
            shown(r.standard_s, 1),
            shown(r.over_standard_pct, 1),
            shown(r.lost_min, 1),
        );
    }
    out
}

pub fn csv(rows: &[CycleStats]) -> String {
    let mut out = String::from("machine,job,cycles,median_s,p10_s,p90_s,standard_s,over_standard_pct,lost_min\n");
    let value = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.3}"));
    for r in rows {
        out += &format!(
            "{},{},{},{:.3},{:.3},{:.3},{},{},{}\n",
            csv_field(&r.machine),
            csv_field(r.job.as_deref().unwrap_or("")),
            r.count,
            r.median_s,
            r.p10_s,
            r.p90_s,
            value(r.standard_s),
            value(r.over_standard_pct),
            value(r.lost_min),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::UnixMillis;

    fn cycle(machine: &str, job: Option<&str>, seconds: f64) -> CycleRecord {
        CycleRecord {
            id: 0,
            machine: machine.into(),
            start: UnixMillis(0),
            end: UnixMillis((seconds * 1000.0) as i64),
            strokes: 1,
            job: job.map(String::from),
            operator: None,
        }
    }

    #[test]
    fn percentiles_interpolate_between_ranks() {
        let v = [10.0, 20.0, 30.0, 40.0, 50.0];
        assert_eq!(percentile(&v, 50.0), 30.0);
        assert_eq!(percentile(&v, 10.0), 14.0);
        assert_eq!(percentile(&v, 90.0), 46.0);
        assert_eq!(percentile(&[7.0], 90.0), 7.0);
        assert!(percentile(&[], 50.0).is_nan());
    }

    #[test]
    fn figures_per_machine_and_job_against_the_standard() {
        let cycles: Vec<_> = [40.0, 42.0, 44.0, 60.0, 100.0]
            .iter()
            .map(|s| cycle("brake-1", Some("P-7"), *s))
            .chain([cycle("brake-1", None, 30.0), cycle("laser-1", Some("P-7"), 300.0)])
            .collect();
        let standard = StandardRecord {
            machine: "brake-1".into(),
            job: "P-7".into(),
            golden_cycle: Some(1),
            standard_ms: Some(45_000),
            standard_given: false,
            steps_en: String::new(),
            steps_zh: String::new(),
            updated_by: "lead".into(),
            updated_ms: UnixMillis(0),
        };
        let rows = compute(&cycles, &[standard]);
        assert_eq!(rows.len(), 3);
        let brake = rows.iter().find(|r| r.machine == "brake-1" && r.job.is_some()).expect("brake-1 P-7");
        assert_eq!((brake.count, brake.median_s, brake.standard_s), (5, 44.0, Some(45.0)));
        assert_eq!((brake.over_standard, brake.over_standard_pct), (2, Some(40.0)));
        // 15 s and 55 s over the standard.
        assert_eq!(brake.lost_min, Some(70.0 / 60.0));
        let no_job = rows.iter().find(|r| r.job.is_none()).expect("no job");
        assert_eq!((no_job.count, no_job.standard_s, no_job.lost_min), (1, None, None));
        let laser = rows.iter().find(|r| r.machine == "laser-1").expect("laser");
        assert_eq!(laser.standard_s, None, "a standard is per machine and job");
        assert!(csv(&rows).lines().nth(1).is_some_and(|l| l.starts_with("brake-1,,1,30.000")));
    }
}
