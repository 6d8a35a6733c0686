//! The demo's backlit table, station `table-1`: an inspector simulated around the real
//! station. It cuts (renders) the calibration plate and calibrates the table from its
//! photo, puts the sample drawings into the parts folder (`inspection/parts/`), then lays
//! parts on the table: its camera's software writes each photo into the station's hot
//! folder (`inspection/incoming/`), where the service inspects it, matches it to its
//! drawing, and stores the verdict like a shop's own.
//!
//! First each sample part twice, as drawn and with a defect; then, until stopped, one
//! part every [`LAY_EVERY`], so that the station page, the history and the control
//! charts keep growing.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use sheetsight_inspect::calibrate::PlateGrid;
use sheetsight_inspect::{calibrate, overlay};
use sheetsight_sim::backlit;

use crate::inspection::{png, write_atomically};

/// The demo's station.
pub const STATION: &str = "table-1";
/// After the first round, a part is laid this often.
const LAY_EVERY: Duration = Duration::from_secs(20);
/// The longest wait for the station to take a photo.
const TAKE_TIMEOUT: Duration = Duration::from_secs(120);

/// The demo configuration's parts folder and station (paths relative to the data folder).
pub const CONFIG: &str = r#"
[parts]
folder = "inspection/parts"

[[station]]
id = "table-1"
folder = "inspection/incoming"
calibration = "inspection/table.json"
tolerance_mm = 0.2
"#;

/// What the first round did.
pub struct FirstRound {
    pub residual_rms_px: f64,
    pub laid: usize,
}

/// Calibrates the table and puts the drawings in place (before the parts are laid).
fn prepare(dir: &Path, seed: u64) -> anyhow::Result<f64> {
    let parts = dir.join("parts");
    std::fs::create_dir_all(&parts).with_context(|| format!("cannot create {}", parts.display()))?;
    let plate = backlit::test_plate_photo(seed)?;
    let calibration = calibrate(&plate.photo, &PlateGrid::from_part(&plate.part)?, backlit::TEST_PLATE_THICKNESS_MM)?;
    write_atomically(&dir.join("plate.dxf"), &plate.dxf)?;
    write_atomically(&dir.join("table.residuals.png"), &png(&overlay::residuals(&plate.photo, &calibration))?)?;
    write_atomically(&dir.join("table.json"), &serde_json::to_vec_pretty(&calibration)?)?;
    for (name, bytes) in backlit::SAMPLE_DRAWINGS {
        let stem = name.trim_end_matches(".dxf");
        // One of them says its unit only in its name: millimetres, given beside it.
        write_atomically(&parts.join(format!("{stem}.toml")), b"units = \"mm\"\n")?;
        write_atomically(&parts.join(format!("{stem}_revA.dxf")), bytes)?;
    }
    Ok(calibration.residual_rms_px)
}

/// Lays one part: its photo written into the hot folder as a camera's software does
/// (under a temporary name, then renamed), and waits until the station has taken it.
fn lay(incoming: &Path, name: &str, photo: &image::GrayImage) -> anyhow::Result<()> {
    let mut bytes = Vec::new();
    photo.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png).context("encoding the photo")?;
    std::fs::create_dir_all(incoming).with_context(|| format!("cannot create {}", incoming.display()))?;
    let path: PathBuf = incoming.join(name);
    write_atomically(&path, &bytes)?;
    let started = Instant::now();
    while path.exists() {
        anyhow::ensure!(started.elapsed() < TAKE_TIMEOUT, "the station did not take {}", path.display());
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// Runs the simulated inspector: `first_round` hears when the first round is laid; laying
/// goes on until `stop`.
pub fn run(
    dir: &Path,
    seed: u64,
    first_round: std::sync::mpsc::Sender<anyhow::Result<FirstRound>>,
    stop: Arc<AtomicBool>,
) {
    let camera = backlit::table_camera();
    let first = (|| {
        let residual_rms_px = prepare(dir, seed)?;
        let mut laid = 0;
        for (k, (name, bytes)) in backlit::SAMPLE_DRAWINGS.iter().enumerate() {
            let part = backlit::sample_part(bytes).with_context(|| format!("{name}: no part"))?;
            // The first case of the test material is exact, the second has a defect.
            for (i, case) in backlit::cases(&part, backlit::TEST_AREA_MM, 2, seed + k as u64).iter().enumerate() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let photo = backlit::render_case(&camera, &part, case);
                lay(&dir.join("incoming"), &format!("{}-{i}.png", name.trim_end_matches(".dxf")), &photo)?;
                laid += 1;
            }
        }
        Ok(FirstRound { residual_rms_px, laid })
    })();
    let ok = first.is_ok();
    let _ = first_round.send(first);
    if !ok {
        return;
    }
    // Then one part now and then, mostly good ones.
    let mut n = 0u64;
    let mut next = Instant::now() + LAY_EVERY;
    while !stop.load(Ordering::Relaxed) {
        if Instant::now() < next {
            std::thread::sleep(Duration::from_millis(200));
            continue;
        }
        next = Instant::now() + LAY_EVERY;
        n += 1;
        let (name, bytes) = backlit::SAMPLE_DRAWINGS[(n % backlit::SAMPLE_DRAWINGS.len() as u64) as usize];
        let Some(part) = backlit::sample_part(bytes) else { continue };
        // Every third case of the material is exact; the others have a defect: mostly exact.
        let cases = backlit::cases(&part, backlit::TEST_AREA_MM, 3, seed + 1000 + n);
        let case = if n.is_multiple_of(4) { &cases[1] } else { &cases[0] };
        let photo = backlit::render_case(&camera, &part, case);
        if let Err(e) =
            lay(&dir.join("incoming"), &format!("{}-{}.png", name.trim_end_matches(".dxf"), 100 + n), &photo)
        {
            tracing::warn!(error = %format!("{e:#}"), "the demo's inspector stops");
            return;
        }
    }
}
