//! `sheetsight bench-calibrate`: chessboard calibration measured on rendered photos of a
//! printed board on the backlit table (the test camera, varied light, vignetting, blur,
//! noise, every third photo a JPEG, boards of 15 to 30 mm squares at random angles):
//! how close the inner corners are found, how well the fitted model matches the true
//! camera over the whole view, and how long it takes on one core; next to the plate's
//! figures on the same table. With `--out`, the photos and their truth are kept, for
//! `bench/opencv_chessboard.py`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use nalgebra::{Point2, Vector2, Vector3};
use rand::{Rng, SeedableRng, rngs::SmallRng};
use serde_json::json;
use sheetsight_inspect::chessboard::{BoardSpec, find_corners};
use sheetsight_inspect::{Calibration, PlateGrid, TableModel, calibrate, calibrate_chessboard};
use sheetsight_sim::backlit::{self, Lighting, Pinhole};
use sheetsight_sim::targets::{self, Chessboard};

pub struct Options {
    pub boards: usize,
    pub seed: u64,
    pub out: Option<PathBuf>,
}

/// Pixels over the whole view (21 x 16, within 5 % of the borders) and the table point
/// each sees.
fn view_grid(cam: &Pinhole) -> Vec<(Point2<f64>, Point2<f64>)> {
    let (w, h) = (cam.width_px as f64, cam.height_px as f64);
    (0..16)
        .flat_map(|j| (0..21).map(move |i| (i, j)))
        .map(|(i, j)| {
            let px = Point2::new(0.05 * w + 0.9 * w * i as f64 / 20.0, 0.05 * h + 0.9 * h * j as f64 / 15.0);
            (px, cam.ray_at(px, 0.0))
        })
        .collect()
}

fn rms(v: &[f64]) -> f64 {
    (v.iter().map(|x| x * x).sum::<f64>() / v.len().max(1) as f64).sqrt()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn project(cam: &Pinhole, p: Point2<f64>) -> Point2<f64> {
    cam.project(Vector3::new(p.x, p.y, 0.0))
}

/// The true board corner nearest a pixel.
fn nearest_corner(cam: &Pinhole, board: &Chessboard, px: Point2<f64>) -> ((usize, usize), f64) {
    let mut best = ((0, 0), f64::MAX);
    for j in 0..board.rows {
        for i in 0..board.columns {
            let d = (project(cam, board.corner(i, j)) - px).norm();
            if d < best.1 {
                best = ((i, j), d);
            }
        }
    }
    best
}

/// The model's error over the view, in pixels (RMS, worst), with the calibration's frame
/// told from three of its corners matched to the board's.
fn model_error(cal: &Calibration, board: &Chessboard, cam: &Pinhole) -> anyhow::Result<(f64, f64)> {
    let s = board.square_mm;
    let at = |x: f64, y: f64| {
        cal.residuals
            .iter()
            .find(|r| r.table_mm == [x, y])
            .map(|r| nearest_corner(cam, board, Point2::new(r.measured_px[0], r.measured_px[1])).0)
            .context("a corner of the calibration's frame")
    };
    let (o, x, y) = (at(0.0, 0.0)?, at(s, 0.0)?, at(0.0, s)?);
    let index = |c: (usize, usize)| Vector2::new(c.0 as f64, c.1 as f64);
    let (ex, ey) = (index(x) - index(o), index(y) - index(o));
    let to_frame = |p: Point2<f64>| {
        let b = board.to_board(p) / s - index(o);
        Point2::new(b.dot(&ex) * s, b.dot(&ey) * s)
    };
    Ok(errors_over_view(&cal.model, cam, to_frame))
}

fn errors_over_view(model: &TableModel, cam: &Pinhole, to_frame: impl Fn(Point2<f64>) -> Point2<f64>) -> (f64, f64) {
    let errors: Vec<f64> =
        view_grid(cam).iter().map(|(px, table)| (model.to_pixel(to_frame(*table)).to_point() - px).norm()).collect();
    (rms(&errors), errors.iter().cloned().fold(0.0, f64::max))
}

pub fn run(options: &Options) -> anyhow::Result<bool> {
    if let Some(dir) = &options.out {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let cam = backlit::table_camera();
    let plate = backlit::test_plate_photo(options.seed)?;
    let grid = PlateGrid::from_part(&plate.part)?;
    let by_plate = calibrate(&plate.photo, &grid, backlit::TEST_PLATE_THICKNESS_MM)?;
    let plate_error = errors_over_view(&by_plate.model, &cam, |p| p);
    let mut rng = SmallRng::seed_from_u64(options.seed);
    let (mut corner_errors, mut residuals, mut model_rms, mut model_worst, mut times) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut truth = Vec::new();
    let mut refused = 0;
    for k in 0..options.boards {
        let square_mm = if k % 3 == 2 { 15.0 } else { rng.random_range(25.0..30.0) };
        // Lying along the table (as a print is laid down), either way round, a little askew.
        let angle_deg = rng.random_range(-12.0..12.0) + if rng.random_bool(0.5) { 180.0 } else { 0.0 };
        let board = targets::test_board(square_mm, angle_deg);
        let lighting = Lighting {
            light: rng.random_range(180.0..245.0),
            falloff: rng.random_range(0.1..0.4),
            slope: (rng.random_range(-0.08..0.08), rng.random_range(-0.08..0.08)),
            dark: rng.random_range(10.0..30.0),
            blur_px: rng.random_range(0.7..1.4),
            noise: rng.random_range(1.0..3.5),
            dust_specks: 0,
        };
        let mut photo = targets::render(&cam, &board, &lighting, options.seed ^ ((k as u64 + 1) * 0x9e37));
        if k % 3 == 1 {
            let mut bytes = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90).encode_image(&photo)?;
            photo = image::load_from_memory(&bytes)?.to_luma8();
        }
        let spec = BoardSpec { columns: board.columns, rows: board.rows, square_mm };
        let started = Instant::now();
        let result = calibrate_chessboard(&photo, &spec);
        times.push(started.elapsed());
        let file = format!("board-{k}.png");
        let cal = match result {
            Ok(cal) => cal,
            Err(e) => {
                if let Some(dir) = &options.out {
                    photo.save(dir.join(&file)).with_context(|| format!("cannot write {file}"))?;
                }
                println!("{file}: refused: {e}");
                refused += 1;
                continue;
            }
        };
        for c in find_corners(&photo, &spec)? {
            corner_errors.push(nearest_corner(&cam, &board, c.px.to_point()).1);
        }
        let (error_rms, error_worst) = model_error(&cal, &board, &cam)?;
        residuals.push(cal.residual_rms_px);
        model_rms.push(error_rms);
        model_worst.push(error_worst);
        if let Some(dir) = &options.out {
            photo.save(dir.join(&file)).with_context(|| format!("cannot write {file}"))?;
            let corners: Vec<_> = (0..board.rows)
                .flat_map(|j| (0..board.columns).map(move |i| (i, j)))
                .map(|(i, j)| {
                    let p = project(&cam, board.corner(i, j));
                    json!([i, j, p.x, p.y])
                })
                .collect();
            let grid: Vec<_> = view_grid(&cam)
                .iter()
                .map(|(px, table)| {
                    let b = board.to_board(*table);
                    json!([px.x, px.y, b.x, b.y])
                })
                .collect();
            truth.push(json!({
                "photo": file, "columns": board.columns, "rows": board.rows, "square_mm": square_mm,
                "corners": corners, "view": grid,
                "sheetsight": {"ms": times.last().map_or(0.0, |t| t.as_secs_f64() * 1000.0),
                    "model_error_rms_px": error_rms, "model_error_max_px": error_worst},
            }));
        }
        println!(
            "{file}: {}x{} of {square_mm:.1} mm; residual {:.4} px RMS, model vs truth {error_rms:.4} px RMS ({error_worst:.3} at worst), {:.0} % of the photo covered",
            board.columns, board.rows, cal.residual_rms_px, cal.covered_percent
        );
    }
    if let Some(dir) = &options.out {
        std::fs::write(dir.join("truth.json"), serde_json::to_vec_pretty(&truth)?)?;
    }
    println!("SheetSight chessboard calibration on rendered 4000x3000 photos (0.15 mm/px), one core:");
    println!(
        "  {} boards, {refused} refused; inner corners {:.4} px RMS from the truth ({:.4} at worst)",
        options.boards,
        rms(&corner_errors),
        corner_errors.iter().cloned().fold(0.0, f64::max)
    );
    println!(
        "  residual {:.4} px RMS; model vs truth over the view {:.4} px RMS (median of the boards' RMS {:.4}), {:.3} px at worst",
        rms(&residuals),
        rms(&model_rms),
        {
            let mut v = model_rms.clone();
            v.sort_by(f64::total_cmp);
            v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
        },
        model_worst.iter().cloned().fold(0.0, f64::max)
    );
    println!("  time: {:.0} ms median per board", median(times).as_secs_f64() * 1000.0);
    println!(
        "  the plate on the same table: residual {:.4} px RMS; model vs truth over the view {:.4} px RMS, {:.3} px at worst",
        by_plate.residual_rms_px, plate_error.0, plate_error.1
    );
    Ok(refused == 0)
}
