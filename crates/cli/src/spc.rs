//! `sheetsight spc`: control charts of one part number's features from the reports of
//! `sheetsight inspect` (in the order given; a folder's reports by name, which a shop
//! names by time): each hole's diameter error (two-sided) and position error
//! (one-sided), each cut-out's and the outline's largest deviation (one-sided), with
//! limits, Cp/Cpk and drift alerts (`sheetsight_inspect::spc`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::json;
use sheetsight_inspect::report::{FeatureReport, Report};
use sheetsight_inspect::spc::{self, Tolerance};

pub struct Options {
    pub reports: Vec<PathBuf>,
    pub tolerance_mm: f64,
    pub feature: Option<String>,
    pub json: bool,
}

/// The report files: those given, and a folder's `*.json` by name.
fn report_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("cannot read the folder {}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

fn read_report(path: &Path) -> anyhow::Result<Report> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: not a report written by `sheetsight inspect`", path.display()))
}

pub fn run(options: &Options) -> anyhow::Result<bool> {
    let tol = options.tolerance_mm;
    if !(tol.is_finite() && tol > 0.0) {
        bail!("--tolerance-mm must be a positive number of millimetres, not {tol}");
    }
    let files = report_files(&options.reports)?;
    if files.len() < 2 {
        bail!("a control chart needs the reports of at least 2 inspected parts; {} given", files.len());
    }
    // (feature, measure) to its values, in the reports' order.
    let mut series: BTreeMap<(String, &'static str), (Vec<f64>, Tolerance)> = BTreeMap::new();
    let two_sided = Tolerance { lower: Some(-tol), upper: tol };
    let one_sided = Tolerance { lower: None, upper: tol };
    for file in &files {
        let report = read_report(file)?;
        for f in &report.features {
            if options.feature.as_deref().is_some_and(|id| id != f.id()) {
                continue;
            }
            let mut add = |measure: &'static str, value: Option<f64>, tolerance: Tolerance| {
                if let Some(v) = value {
                    series.entry((f.id().to_string(), measure)).or_insert_with(|| (Vec::new(), tolerance)).0.push(v);
                }
            };
            match f {
                FeatureReport::Hole { diameter_error_mm, position_error_mm, .. } => {
                    add("diameter_error_mm", *diameter_error_mm, two_sided);
                    add("position_error_mm", *position_error_mm, one_sided);
                }
                FeatureReport::Cutout { max_deviation_mm, .. } => add("max_deviation_mm", *max_deviation_mm, one_sided),
                FeatureReport::Outline { max_deviation_mm, .. } => {
                    add("max_deviation_mm", Some(*max_deviation_mm), one_sided)
                }
            }
        }
    }
    if series.is_empty() {
        bail!(
            "no feature {}in these reports",
            options.feature.as_deref().map(|f| format!("{f:?} ")).unwrap_or_default()
        );
    }
    let mut charts = Vec::new();
    let mut drifting = false;
    for ((feature, measure), (values, tolerance)) in &series {
        let Some(chart) = spc::individuals(values, *tolerance) else { continue };
        drifting |= !chart.alerts.is_empty();
        charts.push((feature.clone(), *measure, chart));
    }
    if options.json {
        let out: Vec<_> = charts
            .iter()
            .map(|(feature, measure, chart)| {
                json!({"feature": feature, "measure": measure, "chart": chart,
                    "alerts_in_words": chart.alerts.iter().map(|a| a.describe()).collect::<Vec<_>>()})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{} reports; tolerance ±{tol} mm; limits from the first {} parts", files.len(), spc::BASELINE_POINTS);
        println!(
            "{:<12} {:<18} {:>4} {:>9} {:>8} {:>9} {:>9} {:>6} {:>6}",
            "feature", "measure", "n", "centre", "sigma", "lower", "upper", "Cp", "Cpk"
        );
        let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}"));
        for (feature, measure, c) in &charts {
            println!(
                "{feature:<12} {measure:<18} {:>4} {:>9.4} {:>8.4} {:>9.4} {:>9.4} {:>6} {:>6}",
                c.values.len(),
                c.centre,
                c.sigma,
                c.lower_limit,
                c.upper_limit,
                f(c.cp),
                f(c.cpk)
            );
            for a in &c.alerts {
                println!("  {feature} {measure}: {}", a.describe());
            }
        }
    }
    Ok(!drifting)
}
