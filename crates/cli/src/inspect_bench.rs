//! `sheetsight bench-inspect`: the inspection measured on rendered photos with ground
//! truth (the test camera, the test plate, real drawings at random poses, a third
//! upside down, varied light, blur, noise, JPEG, thick sheets, and defects): how long a
//! calibration and an inspection take on one core, how close holes are measured, and
//! whether every defect is found without false failures. With `--out`, the photos, the
//! drawings, the calibration and the truth are kept, for `bench/opencv_compare.py`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;
use sheetsight_drawing::FeatureKind;
use sheetsight_inspect::calibrate::PlateGrid;
use sheetsight_inspect::report::{FeatureReport, Verdict};
use sheetsight_inspect::{InspectOptions, calibrate, inspect};
use sheetsight_sim::backlit;

pub struct Options {
    pub photos_per_drawing: usize,
    pub seed: u64,
    /// The backlight clipped at white on 30-100 % of the table, vignetting, dust.
    pub shop_floor: bool,
    pub out: Option<PathBuf>,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn save(out: &Option<PathBuf>, name: &str, write: impl FnOnce(&Path) -> anyhow::Result<()>) -> anyhow::Result<()> {
    match out {
        Some(dir) => write(&dir.join(name)),
        None => Ok(()),
    }
}

pub fn run(options: &Options) -> anyhow::Result<bool> {
    if let Some(dir) = &options.out {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let camera = backlit::table_camera();
    let plate = backlit::test_plate_photo(options.seed)?;
    let grid = PlateGrid::from_part(&plate.part)?;
    let plate_photo = plate.photo;
    let mut calibration_times = Vec::new();
    let mut calibration = None;
    for _ in 0..5 {
        let started = Instant::now();
        calibration = Some(calibrate(&plate_photo, &grid, backlit::TEST_PLATE_THICKNESS_MM)?);
        calibration_times.push(started.elapsed());
    }
    let calibration = calibration.context("no calibration")?;
    save(&options.out, "plate.dxf", |p| Ok(std::fs::write(p, &plate.dxf)?))?;
    save(&options.out, "plate.png", |p| Ok(plate_photo.save(p)?))?;
    save(&options.out, "table.json", |p| Ok(std::fs::write(p, serde_json::to_vec_pretty(&calibration)?)?))?;

    let (mut times, mut position, mut diameter) = (Vec::new(), Vec::new(), Vec::new());
    // The diameter errors of thin and of thick parts' holes, apart.
    let (mut diameter_thin, mut diameter_thick) = (Vec::new(), Vec::new());
    let (mut exact, mut false_failures, mut defects, mut found, mut photos) = (0, 0, 0, 0, 0);
    let mut truth = Vec::new();
    let (mut clipped, mut estimated_mm): (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());
    for (k, (name, bytes)) in backlit::SAMPLE_DRAWINGS.iter().enumerate() {
        let part = backlit::sample_part(bytes).with_context(|| format!("{name}: no part"))?;
        save(&options.out, name, |p| Ok(std::fs::write(p, bytes)?))?;
        let (count, seed) = (options.photos_per_drawing, options.seed + k as u64);
        let cases = if options.shop_floor {
            backlit::shop_floor_cases(&part, backlit::TEST_AREA_MM, count, seed, &camera)
        } else {
            backlit::cases(&part, backlit::TEST_AREA_MM, count, seed)
        };
        for (j, case) in cases.iter().enumerate() {
            let photo = backlit::render_case(&camera, &part, case);
            let file = format!("part-{k}-{j}.png");
            save(&options.out, &file, |p| Ok(photo.save(p)?))?;
            let started = Instant::now();
            let result = inspect(
                &photo,
                &calibration.model,
                &part,
                &InspectOptions { tolerance_mm: 0.2, thickness_mm: case.thickness_mm },
            );
            times.push(started.elapsed());
            photos += 1;
            let report = match result {
                Ok(found) => found.report,
                Err(e) => {
                    println!("{file}: no verdict: {e}");
                    if case.defects.is_empty() {
                        false_failures += 1;
                    }
                    continue;
                }
            };
            if let Some(c) = &report.clipping {
                clipped.push(c.clipped_percent);
                estimated_mm.extend(c.estimated_error_mm);
            }
            if case.defects.is_empty() {
                exact += 1;
                false_failures += (report.verdict != Verdict::Pass) as usize;
                for f in &report.features {
                    if let FeatureReport::Hole { position_error_mm: Some(p), diameter_error_mm: Some(d), .. } = f {
                        position.push(*p);
                        diameter.push(*d);
                        if case.thickness_mm > 0.0 { &mut diameter_thick } else { &mut diameter_thin }.push(*d);
                    }
                }
            } else {
                defects += 1;
                found += (report.verdict == Verdict::Fail) as usize;
                if report.verdict != Verdict::Fail {
                    println!("{file}: defect not found: {:?}", case.defects);
                }
            }
            let cut = backlit::as_cut(&part, &case.defects);
            let holes: Vec<_> = cut
                .features
                .iter()
                .filter_map(|f| match f.kind {
                    FeatureKind::Hole { center, diameter_mm, .. } => {
                        Some(json!({"x_mm": center.x, "y_mm": center.y, "d_mm": diameter_mm}))
                    }
                    _ => None,
                })
                .collect();
            let p = &case.placement;
            truth.push(json!({
                "photo": file, "drawing": name, "exact": case.defects.is_empty(),
                "thickness_mm": case.thickness_mm, "jpeg": case.jpeg_quality.is_some(),
                "placement": {"x_mm": p.x_mm, "y_mm": p.y_mm, "angle_deg": p.angle_deg, "mirrored": p.mirrored},
                "defects": case.defects.iter().map(|d| format!("{d:?}")).collect::<Vec<_>>(),
                "holes": holes,
                "sheetsight": {"verdict": report.verdict, "ms": times.last().map_or(0.0, |t| t.as_secs_f64() * 1000.0), "features": report.features},
            }));
        }
    }
    save(&options.out, "truth.json", |p| Ok(std::fs::write(p, serde_json::to_vec_pretty(&truth)?)?))?;
    let rms = |v: &[f64]| (v.iter().map(|x| x * x).sum::<f64>() / v.len().max(1) as f64).sqrt();
    let max_time = times.iter().max().copied().unwrap_or_default();
    println!(
        "SheetSight inspection on rendered 4000x3000 photos (0.15 mm/px), one core{}:",
        if options.shop_floor { ", shop-floor material (clipped backlight, vignetting, dust)" } else { "" }
    );
    println!(
        "  calibration: {:.0} ms (median of 5); residual {:.4} px RMS, {:.4} mm RMS, {} holes",
        median(calibration_times).as_secs_f64() * 1000.0,
        calibration.residual_rms_px,
        calibration.residual_rms_mm,
        calibration.holes_used
    );
    println!(
        "  inspection: {:.0} ms median, {:.0} ms at most, over {photos} photos",
        median(times).as_secs_f64() * 1000.0,
        max_time.as_secs_f64() * 1000.0
    );
    println!(
        "  holes of exact parts: {}: position error {:.4} mm RMS, diameter error {:.4} mm RMS",
        position.len(),
        rms(&position),
        rms(&diameter)
    );
    println!(
        "    diameter error of thin parts' {} holes {:.4} mm RMS, of thick parts' {} holes {:.4} mm RMS",
        diameter_thin.len(),
        rms(&diameter_thin),
        diameter_thick.len(),
        rms(&diameter_thick)
    );
    println!("  exact parts: {exact}, false failures: {false_failures}; defective parts: {defects}, found: {found}");
    if !clipped.is_empty() {
        let span = |v: &[f64]| v.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        let (lo, hi) = span(&clipped);
        estimated_mm.sort_by(f64::total_cmp);
        println!(
            "  clipped backlight on {} photos ({lo:.0} to {hi:.0} % of the table): estimated edge error {:.4} mm (median of the reports)",
            clipped.len(),
            estimated_mm.get(estimated_mm.len() / 2).copied().unwrap_or(f64::NAN)
        );
    }
    if let Some(dir) = &options.out {
        println!("  photos, drawings, calibration and truth in {}", dir.display());
    }
    Ok(false_failures == 0 && found == defects && rms(&position) <= 0.03 && rms(&diameter) <= 0.03)
}
