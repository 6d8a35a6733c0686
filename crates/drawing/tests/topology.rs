//! Curves into parts: loops closed across small gaps and in any order and direction,
//! large gaps reported where they are, loops nested into parts, and inner loops told
//! apart as round holes (exact or drawn as polygons), slots and other cut-outs.

use sheetsight_drawing::flatten;
use sheetsight_drawing::topology::build;
use sheetsight_drawing::{Curve, FeatureKind, LengthUnit, PartDrawing, Point, Shape};

fn polyline(points: Vec<Point>, closed: bool) -> Curve {
    Curve { layer: "0".into(), entity: "TEST", shape: Shape::Polyline { points, closed } }
}

fn line(a: (f64, f64), b: (f64, f64)) -> Curve {
    polyline(vec![Point::new(a.0, a.1), Point::new(b.0, b.1)], false)
}

fn drawing(curves: Vec<Curve>) -> PartDrawing {
    PartDrawing {
        curves,
        units: LengthUnit::Millimetre,
        units_assumed: false,
        layers_read: vec!["0".into()],
        skipped: Default::default(),
    }
}

fn rectangle(x: f64, y: f64, w: f64, h: f64) -> Vec<Curve> {
    // Edges out of order and in both directions, as CAD files store them.
    vec![
        line((x + w, y), (x + w, y + h)),
        line((x, y), (x + w, y)),
        line((x, y), (x, y + h)),
        line((x + w, y + h), (x, y + h)),
    ]
}

#[test]
fn a_plate_with_holes_a_slot_and_a_cutout() {
    let mut curves = rectangle(0.0, 0.0, 100.0, 60.0);
    curves.push(Curve {
        layer: "0".into(),
        entity: "CIRCLE",
        shape: Shape::Circle { center: Point::new(20.0, 20.0), radius_mm: 3.0 },
    });
    // A circle drawn as a 72-gon (as OpenSCAD writes them).
    let polygon: Vec<Point> = (0..72)
        .map(|i| {
            let a = i as f64 * std::f64::consts::TAU / 72.0;
            Point::new(50.0 + 4.0 * a.cos(), 30.0 + 4.0 * a.sin())
        })
        .collect();
    curves.push(polyline(polygon, true));
    // A slot 20 x 6 centred at (80, 30): two lines and two arcs.
    curves.push(line((73.0, 27.0), (87.0, 27.0)));
    curves.push(line((87.0, 33.0), (73.0, 33.0)));
    curves.push(polyline(
        flatten::arc(Point::new(87.0, 30.0), 3.0, -std::f64::consts::FRAC_PI_2, std::f64::consts::PI, 0.001),
        false,
    ));
    curves.push(polyline(
        flatten::arc(Point::new(73.0, 30.0), 3.0, std::f64::consts::FRAC_PI_2, std::f64::consts::PI, 0.001),
        false,
    ));
    curves.extend(rectangle(25.0, 40.0, 10.0, 8.0));
    let t = build(&drawing(curves), 0.01);
    assert!(t.gaps.is_empty() && t.open_chains.is_empty(), "{:?}", t.gaps);
    assert_eq!(t.parts.len(), 1);
    let part = &t.parts[0];
    assert!((part.outline.area() - 6000.0).abs() < 1e-9);
    let mut holes = Vec::new();
    let (mut slots, mut cutouts) = (Vec::new(), Vec::new());
    for f in &part.features {
        match &f.kind {
            FeatureKind::Hole { center, diameter_mm, roundness_mm } => {
                holes.push((center.x, center.y, *diameter_mm, *roundness_mm))
            }
            FeatureKind::Slot { center, length_mm, width_mm, .. } => {
                slots.push((center.x, center.y, *length_mm, *width_mm))
            }
            FeatureKind::Cutout { centroid } => cutouts.push((centroid.x, centroid.y)),
        }
    }
    holes.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert_eq!(holes.len(), 2, "{holes:?}");
    assert_eq!(holes[0], (20.0, 20.0, 6.0, 0.0), "the exact circle");
    // The 72-gon's vertices lie on the circle: the fit finds it.
    assert!(
        (holes[1].0 - 50.0).abs() < 1e-9 && (holes[1].1 - 30.0).abs() < 1e-9 && (holes[1].2 - 8.0).abs() < 1e-9,
        "{holes:?}"
    );
    assert_eq!(slots.len(), 1, "{:?}", part.features);
    let (sx, sy, length, width) = slots[0];
    // The ends were flattened within 0.001 mm: the polygon loses a sliver of area at each
    // end, and the length taken from the area is short by about twice that.
    assert!(
        (sx - 80.0).abs() < 1e-6
            && (sy - 30.0).abs() < 1e-6
            && (length - 20.0).abs() < 0.003
            && (width - 6.0).abs() < 1e-9,
        "{slots:?}"
    );
    assert_eq!(cutouts.len(), 1);
    assert!((cutouts[0].0 - 30.0).abs() < 1e-9 && (cutouts[0].1 - 44.0).abs() < 1e-9, "{cutouts:?}");
}

#[test]
fn gaps_larger_than_the_tolerance_are_reported_where_they_are() {
    let mut curves = rectangle(0.0, 0.0, 50.0, 20.0);
    // The top edge ends 0.5 mm short of the left edge.
    curves[3] = line((50.0, 20.0), (0.5, 20.0));
    let open = build(&drawing(curves.clone()), 0.01);
    assert!(open.parts.is_empty(), "{:?}", open.parts);
    assert_eq!(open.open_chains.len(), 1);
    assert!(!open.gaps.is_empty());
    let g = &open.gaps[0];
    assert!((g.width_mm - 0.5).abs() < 1e-9 && (g.at.x - 0.25).abs() < 1e-9 && (g.at.y - 20.0).abs() < 1e-9, "{g:?}");
    let closed = build(&drawing(curves), 1.0);
    assert_eq!(closed.parts.len(), 1, "joined within a 1 mm tolerance");
    assert!(closed.gaps.is_empty());
}

#[test]
fn several_parts_on_one_sheet_and_a_part_inside_a_cutout() {
    let mut curves = rectangle(0.0, 0.0, 40.0, 40.0);
    curves.extend(rectangle(10.0, 10.0, 20.0, 20.0)); // a cut-out of the first part
    curves.extend(rectangle(15.0, 15.0, 5.0, 5.0)); // a small part lying in it
    curves.extend(rectangle(60.0, 0.0, 30.0, 10.0)); // a second part beside
    let t = build(&drawing(curves), 0.01);
    let mut areas: Vec<(f64, usize)> = t.parts.iter().map(|p| (p.outline.area(), p.features.len())).collect();
    areas.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert_eq!(areas, vec![(25.0, 0), (300.0, 0), (1600.0, 1)]);
}

#[test]
fn the_calibration_plate_reads_back_as_its_grid_and_marker() {
    use sheetsight_drawing::plate::PlateSpec;
    let spec = PlateSpec { width_mm: 600.0, height_mm: 450.0, pitch_mm: 25.0, hole_mm: 8.0 };
    let (bytes, layout) = spec.to_dxf().expect("plate");
    assert_eq!((layout.columns, layout.rows), (24, 18));
    let drawing = sheetsight_drawing::read_dxf(&bytes, &Default::default()).expect("read back");
    assert_eq!(drawing.layers_read, ["INTERIOR_PROFILES", "OUTER_PROFILES"]);
    let t = build(&drawing, 0.01);
    assert_eq!(t.parts.len(), 1);
    assert!((t.parts[0].outline.area() - 600.0 * 450.0).abs() < 1e-6);
    let mut holes: Vec<(f64, f64, f64)> = t.parts[0]
        .features
        .iter()
        .map(|f| match f.kind {
            FeatureKind::Hole { center, diameter_mm, .. } => (center.x, center.y, diameter_mm),
            ref other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(holes.len(), 24 * 18 + 1);
    holes.sort_by(|a, b| a.2.total_cmp(&b.2));
    // The marker: half a hole, in the middle of the bottom-left cell.
    assert_eq!(holes[0], (12.5 + 12.5, 12.5 + 12.5, 4.0));
    assert!(holes[1..].iter().all(|h| h.2 == 8.0 && ((h.0 - 12.5) / 25.0).fract().abs() < 1e-9));
}

#[test]
fn plates_that_cannot_calibrate_are_refused_with_the_reason() {
    use sheetsight_drawing::plate::PlateSpec;
    let spec = |w, h, p, d| PlateSpec { width_mm: w, height_mm: h, pitch_mm: p, hole_mm: d };
    for (s, words) in [
        (spec(600.0, 450.0, 25.0, 13.0), "at most half the pitch"),
        (spec(60.0, 450.0, 25.0, 8.0), "at least 3 x 3"),
        (spec(600.0, -1.0, 25.0, 8.0), "--height-mm must be a positive"),
        (spec(600.0, 450.0, f64::NAN, 8.0), "--pitch-mm"),
        (spec(100_000.0, 100_000.0, 10.0, 2.0), "at most 100 000"),
    ] {
        let e = s.layout().expect_err("refused");
        assert!(e.to_string().contains(words), "{e}");
    }
}
