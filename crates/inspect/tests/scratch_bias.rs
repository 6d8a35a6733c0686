use nalgebra::Point2;
use sheetsight_drawing::plate::PlateSpec;
use sheetsight_drawing::{Feature, FeatureKind, Loop, Part, ReadOptions, read_dxf, topology};
use sheetsight_inspect::report::FeatureReport;
use sheetsight_inspect::{InspectOptions, PlateGrid, calibrate, inspect};
use sheetsight_sim::backlit::{self, Lighting, Pinhole, Placement, Solid};

#[test]
fn bias() {
    let mut cam = Pinhole::overhead(4000, 3000, Point2::new(275.0, 200.0), 1000.0, 0.15, (5.0, -3.0));
    cam.k1 = -0.06;
    cam.principal_px = (2030.0, 1470.0);
    let (dxf, _) = PlateSpec { width_mm: 550.0, height_mm: 400.0, pitch_mm: 25.0, hole_mm: 8.0 }.to_dxf().unwrap();
    let mut parts = topology::build(&read_dxf(&dxf, &ReadOptions::default()).unwrap(), 0.01).parts;
    let plate = parts.remove(0);
    let id = Placement { x_mm: 0.0, y_mm: 0.0, angle_deg: 0.0, mirrored: false };
    let img = backlit::render(&cam, &[Solid::placed(&plate, &id, 0.0)], &Lighting::default(), 7);
    let cal = calibrate(&img, &PlateGrid::from_part(&plate).unwrap(), 0.0).unwrap();
    let rect = Loop {
        points: vec![Point2::new(0.0, 0.0), Point2::new(200.0, 0.0), Point2::new(200.0, 60.0), Point2::new(0.0, 60.0)],
        circle: None,
    };
    let sizes = [2.0, 3.3, 5.0, 8.0, 12.0, 20.0];
    let features = sizes
        .iter()
        .enumerate()
        .map(|(k, d)| Feature {
            kind: FeatureKind::Hole {
                center: Point2::new(15.0 + 30.0 * k as f64, 30.0),
                diameter_mm: *d,
                roundness_mm: 0.0,
            },
            outline: Loop { points: vec![], circle: Some((Point2::new(15.0 + 30.0 * k as f64, 30.0), d / 2.0)) },
        })
        .collect();
    let part = Part { outline: rect, features };
    for blur in [0.5, 0.8, 1.1, 1.4] {
        for noise in [0.0, 2.5] {
            let light = Lighting { blur_px: blur, noise, ..Lighting::default() };
            let place = Placement { x_mm: 180.0, y_mm: 170.0, angle_deg: 17.0, mirrored: false };
            let img = backlit::render(&cam, &[Solid::placed(&part, &place, 0.0)], &light, 3);
            let t0 = std::time::Instant::now();
            let r = inspect(&img, &cal.model, &part, &InspectOptions::default()).unwrap();
            eprintln!("inspect {:?}", t0.elapsed());
            let errs: Vec<String> = r
                .report
                .features
                .iter()
                .filter_map(|f| match f {
                    FeatureReport::Hole { diameter_error_mm: Some(d), position_error_mm: Some(p), .. } => {
                        Some(format!("{:+.4}/{:.4}", d, p))
                    }
                    _ => None,
                })
                .collect();
            eprintln!("blur {blur} noise {noise} width {:.2}: {}", r.edge_width_px, errs.join("  "));
        }
    }
}
