//! The demo's part inspection: a simulated backlit table. It cuts (renders) the
//! calibration plate and calibrates from its photo, then photographs each sample part
//! twice, once as drawn and once with a defect, and inspects them; every result is
//! written to `<data-dir>/inspection/` (report.json, overlay and HTML report per photo,
//! an index page) exactly as `sheetsight calibrate` and `inspect` write them.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use sheetsight_inspect::calibrate::PlateGrid;
use sheetsight_inspect::report::Verdict;
use sheetsight_inspect::{InspectOptions, calibrate, html, inspect, overlay};
use sheetsight_sim::backlit;

use crate::inspection::{png, write_atomically};

/// Runs the simulated table; returns a line for the demo's screen.
pub fn run(dir: &Path, seed: u64) -> anyhow::Result<String> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let camera = backlit::table_camera();
    let plate = backlit::test_plate_photo(seed)?;
    let photo = plate.photo;
    let calibration = calibrate(&photo, &PlateGrid::from_part(&plate.part)?, backlit::TEST_PLATE_THICKNESS_MM)?;
    write_atomically(&dir.join("plate.dxf"), &plate.dxf)?;
    write_atomically(&dir.join("table.json"), &serde_json::to_vec_pretty(&calibration)?)?;
    write_atomically(&dir.join("table.residuals.png"), &png(&overlay::residuals(&photo, &calibration))?)?;
    let mut rows = String::new();
    let (mut passed, mut failed) = (0, 0);
    for (k, (name, bytes)) in backlit::SAMPLE_DRAWINGS.iter().enumerate() {
        let part = backlit::sample_part(bytes).with_context(|| format!("{name}: no part"))?;
        write_atomically(&dir.join(name), bytes)?;
        // The first case of the test material is exact, the second has a defect.
        for case in backlit::cases(&part, backlit::TEST_AREA_MM, 2, seed + k as u64) {
            let stem = format!(
                "{}-{}",
                name.trim_end_matches(".dxf"),
                if case.defects.is_empty() { "as-drawn" } else { "defective" }
            );
            let photo = backlit::render_case(&camera, &part, &case);
            let options = InspectOptions { tolerance_mm: 0.2, thickness_mm: case.thickness_mm };
            let found = inspect(&photo, &calibration.model, &part, &options).with_context(|| stem.clone())?;
            let picture = png(&overlay::inspection(&photo, &calibration.model, &part, &found, options.tolerance_mm))?;
            let sources = html::Sources {
                drawing: name,
                photo: &format!("{stem}.png (simulated)"),
                calibration: "table.json",
                tolerance_mm: options.tolerance_mm,
                thickness_mm: options.thickness_mm,
            };
            write_atomically(&dir.join(format!("{stem}.report.json")), &serde_json::to_vec_pretty(&found.report)?)?;
            write_atomically(&dir.join(format!("{stem}.overlay.png")), &picture)?;
            write_atomically(
                &dir.join(format!("{stem}.html")),
                html::page(&found.report, &picture, &sources).as_bytes(),
            )?;
            let pass = found.report.verdict == Verdict::Pass;
            if pass {
                passed += 1;
            } else {
                failed += 1;
            }
            let _ = writeln!(
                rows,
                "<tr><td><a href=\"{stem}.html\">{stem}</a></td><td>{}</td><td>{}</td></tr>",
                if pass { "pass" } else { "fail" },
                case.defects.iter().map(|d| format!("{d:?}")).collect::<Vec<_>>().join("; ")
            );
        }
    }
    let index = format!(
        "<!doctype html><html lang=en><meta charset=utf-8><title>SheetSight demo: inspection</title>\
         <h1>Inspection on the simulated backlit table</h1>\
         <p>Calibration: {:.4} px RMS over {} holes (<a href=\"table.residuals.png\">residual map</a>).</p>\
         <table border=1 cellpadding=4><tr><th>photo</th><th>verdict</th><th>defect made on purpose</th></tr>{rows}</table></html>",
        calibration.residual_rms_px, calibration.holes_used
    );
    let index_path: PathBuf = dir.join("index.html");
    write_atomically(&index_path, index.as_bytes())?;
    Ok(format!(
        "inspection: table calibrated to {:.3} px RMS; {} parts inspected, {passed} pass, {failed} fail (each defect made on purpose); reports in {}",
        calibration.residual_rms_px,
        passed + failed,
        index_path.display()
    ))
}
