//! Inspection of rendered photos of real parts (random poses, upside down, uneven
//! light, blur, noise, JPEG, thick sheets, defects) against their ground truth.

use std::sync::OnceLock;

use nalgebra::Point2;
use sheetsight_drawing::Part;
use sheetsight_inspect::report::{FeatureReport, Verdict};
use sheetsight_inspect::{Calibration, InspectOptions, PlateGrid, calibrate, inspect};
use sheetsight_sim::backlit::{self, Defect, Lighting, Pinhole, Placement, Solid};

fn camera() -> Pinhole {
    backlit::table_camera()
}

fn table() -> &'static Calibration {
    static TABLE: OnceLock<Calibration> = OnceLock::new();
    TABLE.get_or_init(|| {
        let plate = backlit::test_plate_photo(7).expect("the test plate");
        let grid = PlateGrid::from_part(&plate.part).expect("grid");
        calibrate(&plate.photo, &grid, backlit::TEST_PLATE_THICKNESS_MM).expect("calibrates")
    })
}

fn drawing(file: &str) -> Part {
    let (_, bytes) = backlit::SAMPLE_DRAWINGS.iter().find(|(name, _)| *name == file).expect("a sample drawing");
    backlit::sample_part(bytes).expect("a part")
}

fn centre(f: &sheetsight_drawing::Feature) -> Point2<f64> {
    match f.kind {
        sheetsight_drawing::FeatureKind::Hole { center, .. } | sheetsight_drawing::FeatureKind::Slot { center, .. } => {
            center
        }
        sheetsight_drawing::FeatureKind::Cutout { centroid } => centroid,
    }
}

struct Tally {
    position: Vec<f64>,
    diameter: Vec<f64>,
}

/// The photos of a drawing: as in a studio, or as on a shop floor (clipped backlight,
/// vignetting, dust).
#[derive(Clone, Copy)]
enum Material {
    Studio,
    ShopFloor,
}

fn run(file: &str, count: usize, seed: u64, material: Material, tally: &mut Tally) {
    let part = drawing(file);
    let cal = table();
    let cam = camera();
    let cases = match material {
        Material::Studio => backlit::cases(&part, backlit::TEST_AREA_MM, count, seed),
        Material::ShopFloor => backlit::shop_floor_cases(&part, backlit::TEST_AREA_MM, count, seed, &cam),
    };
    for (k, case) in cases.iter().enumerate() {
        let img = backlit::render_case(&cam, &part, case);
        let options = InspectOptions { tolerance_mm: 0.2, thickness_mm: case.thickness_mm };
        let result = inspect(&img, &cal.model, &part, &options).unwrap_or_else(|e| panic!("{file} case {k}: {e}"));
        let r = &result.report;
        // What the clipping cost is said when, and only when, the table was clipped.
        let clipped = case.lighting.clipped_fraction(cam.width_px as f64, cam.height_px as f64);
        match (&r.clipping, clipped > 0.0) {
            (Some(c), true) => assert!(c.edges_moved > 0 && c.estimated_error_mm.is_some(), "{file} case {k}: {c:?}"),
            (None, false) => {}
            (c, _) => panic!("{file} case {k}: {:.0} % clipped, reported {c:?}", 100.0 * clipped),
        }
        let label = format!(
            "{file} case {k} {:?} thickness {:.1} defects {:?} clipped {:.0} % (rendered {:.0} %)",
            case.placement,
            case.thickness_mm,
            case.defects,
            r.clipping.as_ref().map_or(0.0, |c| c.clipped_percent),
            100.0 * case.lighting.clipped_fraction(cam.width_px as f64, cam.height_px as f64),
        );
        // The pose is the true one, or (for a symmetric part) one that lays every
        // feature where the true one does.
        let true_centres: Vec<Point2<f64>> = part.features.iter().map(|f| case.placement.apply(centre(f))).collect();
        let equivalent = part.features.iter().all(|f| {
            let q = r.pose.to_table(centre(f));
            true_centres.iter().any(|t| (t - q).norm() < 0.1)
        });
        if r.pose.mirrored == case.placement.mirrored {
            let d_angle = (r.pose.angle_deg - case.placement.angle_deg).rem_euclid(360.0);
            assert!(d_angle.min(360.0 - d_angle) < 0.1 || equivalent, "{label}: angle {}", r.pose.angle_deg);
        } else {
            assert!(equivalent, "{label}: mirrored {}", r.pose.mirrored);
        }
        let failing: Vec<&FeatureReport> = r.features.iter().filter(|f| f.verdict() != Verdict::Pass).collect();
        eprintln!("{label}: {:?}, {} failing, {} extra", r.verdict, failing.len(), r.extra.len());
        if case.defects.is_empty() {
            assert!(failing.is_empty() && r.extra.is_empty(), "{label}: false failure {failing:?} {:?}", r.extra);
            assert_eq!(r.verdict, Verdict::Pass);
            for f in &r.features {
                if let FeatureReport::Hole { position_error_mm: Some(p), diameter_error_mm: Some(d), .. } = f {
                    tally.position.push(*p);
                    tally.diameter.push(*d);
                }
            }
            // Without the drawing, `holes` finds the same round holes where they lie.
            if case.thickness_mm == 0.0 {
                let found =
                    sheetsight_inspect::measure::holes(&img, &cal.model).unwrap_or_else(|e| panic!("{label}: {e}"));
                let truth: Vec<(Point2<f64>, f64)> = part
                    .features
                    .iter()
                    .filter_map(|f| match f.kind {
                        sheetsight_drawing::FeatureKind::Hole { center, diameter_mm, .. } => {
                            Some((case.placement.apply(center), diameter_mm))
                        }
                        _ => None,
                    })
                    .collect();
                assert_eq!(found.len(), truth.len(), "{label}: {found:?}");
                for (at, d) in truth {
                    assert!(
                        found
                            .iter()
                            .any(|h| (Point2::new(h.x_mm, h.y_mm) - at).norm() < 0.1 && (h.d_mm - d).abs() < 0.1),
                        "{label}: no hole of {d} mm at {at} in {found:?}"
                    );
                }
            }
        } else {
            assert_eq!(r.verdict, Verdict::Fail, "{label}: defect not found");
            let holes: Vec<&FeatureReport> =
                r.features.iter().filter(|f| matches!(f, FeatureReport::Hole { .. })).collect();
            let hole_report = |index: usize| {
                let n = (0..index)
                    .filter(|&j| matches!(part.features[j].kind, sheetsight_drawing::FeatureKind::Hole { .. }))
                    .count();
                holes[n]
            };
            match &case.defects[0] {
                Defect::Moved { index, .. } | Defect::Resized { index, .. } => {
                    assert_eq!(hole_report(*index).verdict(), Verdict::Fail, "{label}");
                    assert_eq!(failing.len(), 1, "{label}: {failing:?}");
                }
                Defect::Missing { index } => {
                    assert_eq!(hole_report(*index).verdict(), Verdict::Missing, "{label}");
                    assert_eq!(failing.len(), 1, "{label}: {failing:?}");
                }
                Defect::Extra { .. } => assert_eq!(r.extra.len(), 1, "{label}: {:?}", r.extra),
                Defect::Notch { .. } => {
                    assert!(failing.iter().any(|f| f.id() == "outline"), "{label}: {failing:?}");
                }
            }
        }
    }
}

#[test]
fn rendered_parts_are_measured_against_their_drawings() {
    measure_all(Material::Studio, 0, (0.01, 0.01));
}

/// The backlight clipped at white on 30-100 % of the table, vignetting and dust: the
/// edges are placed from their dark side and the targets hold.
#[test]
fn shop_floor_photos_are_measured_through_a_clipped_backlight() {
    measure_all(Material::ShopFloor, 100, (0.01, 0.01));
}

/// Every photo of the four drawings measured; the RMS of the exact parts' hole
/// position and diameter errors within `limits_mm`.
fn measure_all(material: Material, seed_base: u64, limits_mm: (f64, f64)) {
    let mut tally = Tally { position: Vec::new(), diameter: Vec::new() };
    for (file, count, seed) in [
        ("open65_plate.dxf", 6, 1),
        ("mendel90_y_carriage.dxf", 6, 2),
        ("laser4diy_chamber_sheet_left.dxf", 6, 3),
        ("laser4diy_bigshim.dxf", 6, 4),
    ] {
        run(file, count, seed_base + seed, material, &mut tally);
    }
    let rms = |v: &[f64]| (v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64).sqrt();
    eprintln!(
        "holes on exact parts: {}; position error RMS {:.4} mm (max {:.4}); diameter error RMS {:.4} mm (max {:.4})",
        tally.position.len(),
        rms(&tally.position),
        tally.position.iter().cloned().fold(0.0, f64::max),
        rms(&tally.diameter),
        tally.diameter.iter().map(|d| d.abs()).fold(0.0, f64::max)
    );
    assert!(rms(&tally.position) <= limits_mm.0 && rms(&tally.diameter) <= limits_mm.1);
}

/// A bad photo gets a clear refusal, not a verdict.
#[test]
fn bad_photos_are_refused() {
    let part = drawing("laser4diy_chamber_sheet_left.dxf");
    let cal = table();
    let cam = camera();
    let at = |x_mm: f64, y_mm: f64| Placement { x_mm, y_mm, angle_deg: 0.0, mirrored: false };
    let shoot = |solids: &[Solid], lighting: &Lighting| backlit::render(&cam, solids, lighting, 5);
    let options = InspectOptions::default();
    let refusal = |img: &image::GrayImage| match inspect(img, &cal.model, &part, &options) {
        Ok(r) => panic!("a verdict ({:?}) where a refusal was due", r.report.verdict),
        Err(e) => e.to_string(),
    };
    let cases: Vec<(&str, image::GrayImage, &str)> = vec![
        ("empty table", shoot(&[], &Lighting::default()), "no part in the photo"),
        (
            "two parts",
            shoot(
                &[Solid::placed(&part, &at(70.0, 40.0), 0.0), Solid::placed(&part, &at(70.0, 250.0), 0.0)],
                &Lighting::default(),
            ),
            "2 parts in the photo",
        ),
        (
            "part over the border",
            shoot(&[Solid::placed(&part, &at(-80.0, 150.0), 0.0)], &Lighting::default()),
            "touches the border",
        ),
        (
            "overexposed",
            shoot(&[Solid::placed(&part, &at(70.0, 150.0), 0.0)], &Lighting { light: 5000.0, ..Lighting::default() }),
            "overexposed",
        ),
        (
            "out of focus",
            shoot(&[Solid::placed(&part, &at(70.0, 150.0), 0.0)], &Lighting { blur_px: 4.0, ..Lighting::default() }),
            "blurred",
        ),
        (
            "backlight off",
            shoot(&[Solid::placed(&part, &at(70.0, 150.0), 0.0)], &Lighting { light: 40.0, ..Lighting::default() }),
            "too little contrast",
        ),
    ];
    for (what, img, expected) in &cases {
        let message = refusal(img);
        eprintln!("{what}: {message}");
        assert!(message.contains(expected), "{what}: {message}");
    }
    // The wrong drawing for the part.
    let other = drawing("laser4diy_bigshim.dxf");
    let img = shoot(&[Solid::placed(&part, &at(70.0, 150.0), 0.0)], &Lighting::default());
    let message = inspect(&img, &cal.model, &other, &options).err().map(|e| e.to_string()).unwrap_or_default();
    eprintln!("wrong drawing: {message}");
    assert!(message.contains("is this the part of this drawing"), "{message}");
    // A photo of another resolution than the calibration's.
    let small = image::GrayImage::from_pixel(640, 480, image::Luma([200]));
    let message = refusal(&small);
    assert!(message.contains("calibrate this camera at this resolution"), "{message}");
}
