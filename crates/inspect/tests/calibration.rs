//! Calibration on rendered photos of the plate, against the true camera.

use nalgebra::{Point2, Vector3};
use sheetsight_drawing::{ReadOptions, read_dxf, topology};
use sheetsight_inspect::{PlateGrid, calibrate};
use sheetsight_sim::backlit::{self, Lighting, Pinhole, Placement, Solid, render};

fn plate() -> (sheetsight_drawing::Part, PlateGrid) {
    let (dxf, _) = backlit::TEST_PLATE.to_dxf().expect("plate");
    let drawing = read_dxf(&dxf, &ReadOptions::default()).expect("read");
    let part = topology::build(&drawing, 0.01).parts.remove(0);
    let grid = PlateGrid::from_part(&part).expect("grid");
    (part, grid)
}

fn camera() -> Pinhole {
    backlit::table_camera()
}

#[test]
fn calibration_matches_the_true_camera() {
    for thickness_mm in [0.0, 2.0] {
        check(thickness_mm);
    }
}

fn check(thickness_mm: f64) {
    let (part, grid) = plate();
    let cam = camera();
    let solid = Solid::placed(&part, &Placement::AS_DRAWN, thickness_mm);
    let img = render(&cam, &[solid], &Lighting::default(), 1);
    let t0 = std::time::Instant::now();
    let cal = calibrate(&img, &grid, thickness_mm).expect("calibrates");
    eprintln!(
        "calibrate {:?}: rms {:.4} px, {:.4} mm, max {:.3} px, {} holes, camera {:?}",
        t0.elapsed(),
        cal.residual_rms_px,
        cal.residual_rms_mm,
        cal.residual_max_px,
        cal.holes_used,
        cal.model.camera
    );
    let mut worst: f64 = 0.0;
    for i in 0..=20 {
        for j in 0..=15 {
            let p = Point2::new(20.0 + i as f64 * 25.5, 10.0 + j as f64 * 25.5);
            let truth = cam.project(Vector3::new(p.x, p.y, 0.0));
            let model = cal.model.to_pixel(p);
            worst = worst.max((truth - model.to_point()).norm());
        }
    }
    eprintln!(
        "plate {thickness_mm} mm: model vs truth on the table: worst {worst:.4} px; camera {:?}, truly at {:?}",
        cal.model.camera, cam.centre_mm
    );
    assert!(cal.residual_rms_px <= 0.1, "{}", cal.residual_rms_px);
    assert!(worst < 0.2, "{worst}");
    let camera = cal.model.camera.expect("camera position");
    let nadir_error =
        ((camera.nadir_mm[0] - cam.centre_mm.x).powi(2) + (camera.nadir_mm[1] - cam.centre_mm.y).powi(2)).sqrt();
    assert!(nadir_error < 20.0 && (camera.height_mm - cam.centre_mm.z).abs() < 0.03 * cam.centre_mm.z);
}

#[test]
fn bad_plate_photos_are_refused() {
    let (part, grid) = plate();
    let cam = camera();
    let placed = |x_mm: f64| Solid::placed(&part, &Placement { x_mm, y_mm: 0.0, angle_deg: 0.0, mirrored: false }, 0.0);
    let cases = [
        ("half the plate out of view", render(&cam, &[placed(300.0)], &Lighting::default(), 2), "holes were found"),
        (
            "overexposed",
            render(&cam, &[placed(0.0)], &Lighting { light: 5000.0, ..Lighting::default() }, 2),
            "overexposed",
        ),
        ("out of focus", render(&cam, &[placed(0.0)], &Lighting { blur_px: 4.5, ..Lighting::default() }, 2), "blurred"),
        ("no plate", render(&cam, &[], &Lighting::default(), 2), "no plate"),
    ];
    for (what, img, expected) in &cases {
        let message =
            calibrate(img, &grid, 0.0).err().map(|e| e.to_string()).unwrap_or_else(|| panic!("{what}: calibrated"));
        eprintln!("{what}: {message}");
        assert!(message.contains(expected), "{what}: {message}");
    }
}
