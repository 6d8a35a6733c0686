//! Calibration from rendered photos of a printed chessboard on the backlit table,
//! against the true camera, and next to the plate's on the same table.

use nalgebra::{Point2, Vector2};
use sheetsight_inspect::chessboard::{BoardSpec, find_corners};
use sheetsight_inspect::{
    Calibration, CircleGridSpec, PlateGrid, TableModel, calibrate, calibrate_chessboard, calibrate_circles,
};
use sheetsight_sim::backlit::{self, Lighting, Pinhole};
use sheetsight_sim::targets::{self, Chessboard};

/// How far the model's pixels stray from the true camera's over the whole view (a grid
/// of 21 x 16 pixels within 5 % of the borders): RMS and worst, in pixels. `to_frame`
/// takes a table point to the calibration's own frame.
fn model_error(model: &TableModel, cam: &Pinhole, to_frame: impl Fn(Point2<f64>) -> Point2<f64>) -> (f64, f64) {
    let (w, h) = (cam.width_px as f64, cam.height_px as f64);
    let mut errors = Vec::new();
    for j in 0..16 {
        for i in 0..21 {
            let px = Point2::new(0.05 * w + 0.9 * w * i as f64 / 20.0, 0.05 * h + 0.9 * h * j as f64 / 15.0);
            let on_table = cam.ray_at(px, 0.0);
            errors.push((model.to_pixel(to_frame(on_table)).to_point() - px).norm());
        }
    }
    let rms = (errors.iter().map(|e| e * e).sum::<f64>() / errors.len() as f64).sqrt();
    (rms, errors.iter().cloned().fold(0.0, f64::max))
}

/// The board's frame as the calibration chose it: an inner corner and the two axes' signs.
fn frame_of(cal: &Calibration, board: &Chessboard, cam: &Pinhole) -> impl Fn(Point2<f64>) -> Point2<f64> {
    let truth = |i: usize, j: usize| project(cam, board.corner(i, j));
    let nearest = |px: [f64; 2]| {
        let p = Point2::new(px[0], px[1]);
        let mut best = (0, 0, f64::MAX);
        for j in 0..board.rows {
            for i in 0..board.columns {
                let d = (truth(i, j) - p).norm();
                if d < best.2 {
                    best = (i, j, d);
                }
            }
        }
        (best.0 as f64, best.1 as f64)
    };
    let at = |x: f64, y: f64| cal.residuals.iter().find(|r| r.table_mm == [x, y]).map(|r| nearest(r.measured_px));
    let s = board.square_mm;
    let o = at(0.0, 0.0).expect("corner (0, 0)");
    let x = at(s, 0.0).expect("corner (1, 0)");
    let y = at(0.0, s).expect("corner (0, 1)");
    let (ex, ey) = (Vector2::new(x.0 - o.0, x.1 - o.1), Vector2::new(y.0 - o.0, y.1 - o.1));
    let board = board.clone();
    move |p: Point2<f64>| {
        // Board millimetres to the calibration's: the inverse of the (orthogonal) axes.
        let b = board.to_board(p) / s - Vector2::new(o.0, o.1);
        Point2::new(b.dot(&ex) * s, b.dot(&ey) * s)
    }
}

fn project(cam: &Pinhole, p: Point2<f64>) -> Point2<f64> {
    cam.project(nalgebra::Vector3::new(p.x, p.y, 0.0))
}

fn lighting() -> Lighting {
    Lighting { light: 235.0, noise: 2.0, blur_px: 1.0, ..Lighting::default() }
}

#[test]
fn a_chessboard_calibrates_the_table_as_well_as_the_plate() {
    let cam = backlit::table_camera();
    let plate = backlit::test_plate_photo(1).expect("plate");
    let grid = PlateGrid::from_part(&plate.part).expect("grid");
    let by_plate = calibrate(&plate.photo, &grid, backlit::TEST_PLATE_THICKNESS_MM).expect("plate calibrates");
    let plate_error = model_error(&by_plate.model, &cam, |p| p);
    eprintln!(
        "plate: {} holes, residual {:.4} px RMS; model vs truth over the view {:.4} px RMS, {:.4} px at worst",
        by_plate.holes_used, by_plate.residual_rms_px, plate_error.0, plate_error.1
    );
    for (square_mm, angle_deg, seed) in [(30.0, 3.0, 1), (30.0, -88.0, 2), (15.0, 10.0, 3)] {
        let board = targets::test_board(square_mm, angle_deg);
        let img = targets::render(&cam, &board, &lighting(), seed);
        let spec = BoardSpec { columns: board.columns, rows: board.rows, square_mm };
        let corners = find_corners(&img, &spec).expect("every corner");
        assert_eq!(corners.len(), board.columns * board.rows);
        let mut corner_errors: Vec<f64> = corners
            .iter()
            .map(|c| {
                (0..board.rows)
                    .flat_map(|j| (0..board.columns).map(move |i| (i, j)))
                    .map(|(i, j)| (project(&cam, board.corner(i, j)) - c.px.to_point()).norm())
                    .fold(f64::MAX, f64::min)
            })
            .collect();
        corner_errors.sort_by(f64::total_cmp);
        let corner_rms = (corner_errors.iter().map(|e| e * e).sum::<f64>() / corner_errors.len() as f64).sqrt();
        let started = std::time::Instant::now();
        let cal = calibrate_chessboard(&img, &spec).expect("calibrates");
        let took = started.elapsed();
        let error = model_error(&cal.model, &cam, frame_of(&cal, &board, &cam));
        eprintln!(
            "board {}x{} of {square_mm} mm at {angle_deg}°: corner error {corner_rms:.4} px RMS ({:.4} at worst); residual {:.4} px RMS; model vs truth over the view {:.4} px RMS, {:.4} px at worst; {took:?}",
            board.columns,
            board.rows,
            corner_errors.last().copied().unwrap_or(0.0),
            cal.residual_rms_px,
            error.0,
            error.1
        );
        assert!(corner_rms < 0.1, "{corner_rms}");
        assert!(cal.residual_rms_px < 0.1);
        // A board over most of the view fills the model as well as the plate (within
        // 0.1 px); a small one leaves the table's edges to extrapolation.
        if square_mm >= 30.0 {
            assert!(error.0 <= plate_error.0 + 0.1, "{error:?} vs the plate's {plate_error:?}");
        }
    }
}

#[test]
fn bad_chessboard_photos_are_refused() {
    let cam = backlit::table_camera();
    let spec = BoardSpec { columns: 14, rows: 10, square_mm: 30.0 };
    let board = targets::test_board(30.0, 3.0);
    let mut outside = board.clone();
    outside.origin_mm.x += 250.0;
    let cases = [
        ("board partly outside the view", targets::render(&cam, &outside, &lighting(), 4), "inner corners were found"),
        ("blurred", targets::render(&cam, &board, &Lighting { blur_px: 5.0, ..lighting() }, 4), "blurred"),
        (
            "no board",
            targets::render(
                &cam,
                &Chessboard { columns: 3, rows: 3, square_mm: 1e-3, ..board.clone() },
                &lighting(),
                4,
            ),
            "inner corners",
        ),
        (
            "another board size",
            targets::render(&cam, &board, &lighting(), 5),
            "has 14x10 inner corners, not the 9x6 given",
        ),
    ];
    for (k, (what, img, expected)) in cases.iter().enumerate() {
        let spec = if k == 3 { BoardSpec { columns: 9, rows: 6, ..spec } } else { spec };
        let message = calibrate_chessboard(img, &spec)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_else(|| panic!("{what}: calibrated"));
        eprintln!("{what}: {message}");
        assert!(message.contains(expected), "{what}: {message}");
    }
    for bad in ["14", "14x", "0x10", "axb", "1000x1000"] {
        assert!(BoardSpec::parse(bad, 15.0).is_err(), "{bad}");
    }
    assert!(BoardSpec::parse("14x10", 0.0).is_err());
    assert_eq!(BoardSpec::parse("14X10", 15.0).expect("parses"), BoardSpec { columns: 14, rows: 10, square_mm: 15.0 });
}

#[test]
fn circle_grids_calibrate_the_table() {
    let cam = backlit::table_camera();
    for (asymmetric, pitch_mm, angle_deg, seed) in
        [(false, 32.0, 2.0, 1), (true, 26.0, -3.0, 2), (true, 26.0, 178.0, 3)]
    {
        let grid = targets::test_circle_grid(asymmetric, pitch_mm, angle_deg);
        let img = targets::render(&cam, &grid, &lighting(), seed);
        let spec = CircleGridSpec { columns: grid.columns, rows: grid.rows, pitch_mm, asymmetric };
        let cal = calibrate_circles(&img, &spec).unwrap_or_else(|e| panic!("{spec:?}: {e}"));
        // The frame: dot (0, 0) and the grid's axes, told from three dots.
        let truth: Vec<((usize, usize), Point2<f64>)> = (0..grid.rows)
            .flat_map(|i| (0..grid.columns).map(move |j| (i, j)))
            .map(|(i, j)| ((i, j), project(&cam, grid.dot(i, j))))
            .collect();
        let dot_at = |px: [f64; 2]| {
            let p = Point2::new(px[0], px[1]);
            truth.iter().min_by(|a, b| (a.1 - p).norm().total_cmp(&(b.1 - p).norm())).map(|t| t.0).expect("a dot")
        };
        let in_grid = |ij: (usize, usize)| grid.dot_in_grid(ij.0, ij.1);
        let frame: Vec<(Vector2<f64>, Vector2<f64>)> = cal
            .residuals
            .iter()
            .map(|r| (Vector2::new(r.table_mm[0], r.table_mm[1]), in_grid(dot_at(r.measured_px))))
            .collect();
        // The calibration's frame is the grid's turned, mirrored or moved: fitted as an
        // affine map from three dots far apart.
        let (a, b, c) = (frame[0], frame[frame.len() / 2], frame[frame.len() - 1]);
        let m = nalgebra::Matrix2::from_columns(&[b.1 - a.1, c.1 - a.1]);
        let n = nalgebra::Matrix2::from_columns(&[b.0 - a.0, c.0 - a.0]);
        let to_cal = n * m.try_inverse().expect("three dots not in a line");
        let (s, co) = grid.angle_deg.to_radians().sin_cos();
        let to_frame = |p: Point2<f64>| {
            let d = p - grid.origin_mm;
            let g = Vector2::new(co * d.x + s * d.y, -s * d.x + co * d.y);
            Point2::from(a.0 + to_cal * (g - a.1))
        };
        let error = model_error(&cal.model, &cam, to_frame);
        eprintln!(
            "{} grid {}x{} of {pitch_mm} mm at {angle_deg}°: {} dots, residual {:.4} px RMS; model vs truth over the view {:.4} px RMS, {:.4} px at worst",
            if asymmetric { "asymmetric" } else { "symmetric" },
            grid.columns,
            grid.rows,
            cal.holes_used,
            cal.residual_rms_px,
            error.0,
            error.1
        );
        assert_eq!(cal.holes_used, grid.columns * grid.rows);
        assert!(cal.residual_rms_px < 0.1 && error.0 < 0.2, "{error:?}");
    }
    // Part of the grid out of view.
    let mut grid = targets::test_circle_grid(true, 26.0, 0.0);
    grid.origin_mm.x += 300.0;
    let img = targets::render(&cam, &grid, &lighting(), 4);
    let spec = CircleGridSpec { columns: grid.columns, rows: grid.rows, pitch_mm: 26.0, asymmetric: true };
    let message = calibrate_circles(&img, &spec).err().map(|e| e.to_string()).expect("refused");
    assert!(message.contains("dots were found"), "{message}");
    assert!(CircleGridSpec::parse("4x", 20.0, true).is_err() && CircleGridSpec::parse("4x11", -1.0, true).is_err());
}
