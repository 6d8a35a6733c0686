//! DXF drawings written by the `dxf` crate (as CAD programs write them), read back into
//! cut geometry: units, every curve kind within the chord error, blocks placed with
//! rotation, scale and mirroring, layer selection, and clear refusals.

// The `dxf` crate's entities are built field by field, as its own examples do.
#![allow(clippy::field_reassign_with_default)]

use dxf::entities::{Arc, Circle, Ellipse, Entity, EntityType, Insert, Line, LwPolyline, Spline};
use dxf::{Block, Drawing, LwPolylineVertex, Point, Vector};
use sheetsight_drawing::{DrawingError, LengthUnit, ReadOptions, Shape, read_dxf};

fn on(layer: &str, specific: EntityType) -> Entity {
    let mut e = Entity::new(specific);
    e.common.layer = layer.to_string();
    e
}

fn bytes(d: &Drawing) -> Vec<u8> {
    let mut out = Vec::new();
    d.save(&mut out).expect("write DXF");
    out
}

fn drawing(units: dxf::enums::Units, entities: Vec<Entity>) -> Drawing {
    let mut d = Drawing::new();
    d.header.version = dxf::enums::AcadVersion::R2000;
    d.header.default_drawing_units = units;
    for e in entities {
        d.add_entity(e);
    }
    d
}

fn circles(p: &sheetsight_drawing::PartDrawing) -> Vec<(f64, f64, f64)> {
    p.curves
        .iter()
        .filter_map(|c| match c.shape {
            Shape::Circle { center, radius_mm } => Some((center.x, center.y, radius_mm)),
            _ => None,
        })
        .collect()
}

fn polylines(p: &sheetsight_drawing::PartDrawing) -> Vec<&Vec<sheetsight_drawing::Point>> {
    p.curves
        .iter()
        .filter_map(|c| match &c.shape {
            Shape::Polyline { points, .. } => Some(points),
            _ => None,
        })
        .collect()
}

fn near(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn units_come_from_the_file_or_the_user() {
    let square = || on("0", EntityType::Line(Line::new(Point::new(0.0, 0.0, 0.0), Point::new(2.0, 0.0, 0.0))));
    let inches =
        read_dxf(&bytes(&drawing(dxf::enums::Units::Inches, vec![square()])), &ReadOptions::default()).expect("read");
    assert_eq!((inches.units, inches.units_assumed), (LengthUnit::Inch, false));
    assert!(near(polylines(&inches)[0][1].x, 50.8, 1e-9));
    let unitless = bytes(&drawing(dxf::enums::Units::Unitless, vec![square()]));
    let assumed = read_dxf(&unitless, &ReadOptions::default()).expect("read");
    assert_eq!((assumed.units, assumed.units_assumed), (LengthUnit::Millimetre, true));
    let cm =
        read_dxf(&unitless, &ReadOptions { units: Some(LengthUnit::Centimetre), ..Default::default() }).expect("read");
    assert!(near(polylines(&cm)[0][1].x, 20.0, 1e-9) && !cm.units_assumed);
}

#[test]
fn every_curve_kind_lies_within_the_chord_error() {
    let tol = 0.002;
    let mut arc = Arc::new(Point::new(10.0, 5.0, 0.0), 20.0, 30.0, 300.0);
    arc.thickness = 0.0;
    // A polyline with a semicircular bulge from (0,0) to (10,0): centre (5,0), r = 5.
    let mut lw = LwPolyline::default();
    lw.vertices = vec![
        LwPolylineVertex { x: 0.0, y: 0.0, bulge: 1.0, ..Default::default() },
        LwPolylineVertex { x: 10.0, y: 0.0, ..Default::default() },
    ];
    let mut ellipse = Ellipse::default();
    ellipse.center = Point::new(0.0, 0.0, 0.0);
    ellipse.major_axis = Vector::new(30.0, 0.0, 0.0);
    ellipse.normal = Vector::z_axis();
    ellipse.minor_axis_ratio = 0.5;
    ellipse.start_parameter = 0.0;
    ellipse.end_parameter = std::f64::consts::PI;
    // A quarter circle of radius 10 as a rational quadratic B-spline.
    let mut spline = Spline::default();
    spline.degree_of_curve = 2;
    spline.normal = Vector::z_axis();
    spline.knot_values = vec![0.0, 0.0, 0.0, 1.0, 1.0, 1.0];
    spline.control_points = vec![Point::new(10.0, 0.0, 0.0), Point::new(10.0, 10.0, 0.0), Point::new(0.0, 10.0, 0.0)];
    spline.weight_values = vec![1.0, std::f64::consts::FRAC_1_SQRT_2, 1.0];
    let d = drawing(
        dxf::enums::Units::Millimeters,
        vec![
            on("CUT", EntityType::Arc(arc)),
            on("CUT", EntityType::LwPolyline(lw)),
            on("CUT", EntityType::Ellipse(ellipse)),
            on("CUT", EntityType::Spline(spline)),
            on("CUT", EntityType::Circle(Circle::new(Point::new(1.0, 2.0, 0.0), 3.0))),
        ],
    );
    let p = read_dxf(&bytes(&d), &ReadOptions { chord_error_mm: tol, ..Default::default() }).expect("read");
    assert_eq!(circles(&p), vec![(1.0, 2.0, 3.0)], "a circle stays exact");
    let lines = polylines(&p);
    assert_eq!(lines.len(), 4);
    let within = |points: &[sheetsight_drawing::Point], dist: &dyn Fn(f64, f64) -> f64| {
        // Vertices on the curve, chord midpoints within the error.
        points.iter().all(|q| dist(q.x, q.y).abs() < 1e-9)
            && points.windows(2).all(|w| dist((w[0].x + w[1].x) / 2.0, (w[0].y + w[1].y) / 2.0).abs() <= tol + 1e-9)
    };
    assert!(within(lines[0], &|x, y| ((x - 10.0).hypot(y - 5.0)) - 20.0), "arc");
    let (a0, a1) = (lines[0][0], lines[0][lines[0].len() - 1]);
    assert!(
        near(a0.x, 10.0 + 20.0 * 30f64.to_radians().cos(), 1e-9)
            && near(a1.y, 5.0 + 20.0 * 300f64.to_radians().sin(), 1e-9)
    );
    assert!(within(lines[1], &|x, y| (x - 5.0).hypot(y) - 5.0), "bulge");
    assert!(
        lines[1].iter().all(|q| q.y <= 1e-9),
        "a positive bulge from left to right turns counter-clockwise, below the chord"
    );
    // The ellipse's "distance" as the normalised equation; tight for this 2:1 one.
    assert!(
        lines[2].iter().all(|q| ((q.x / 30.0).powi(2) + (q.y / 15.0).powi(2) - 1.0).abs() < 1e-9),
        "ellipse vertices"
    );
    assert!(within(lines[3], &|x, y| x.hypot(y) - 10.0), "spline: exact evaluation, then chords within the error");
}

#[test]
fn blocks_are_placed_rotated_scaled_mirrored_and_nested() {
    let mut d = drawing(dxf::enums::Units::Millimeters, Vec::new());
    let mut hole = Block::default();
    hole.name = "HOLE".into();
    hole.base_point = Point::new(1.0, 0.0, 0.0);
    hole.entities.push(on("0", EntityType::Circle(Circle::new(Point::new(2.0, 0.0, 0.0), 0.5))));
    d.add_block(hole);
    let mut pair = Block::default();
    pair.name = "PAIR".into();
    let mut inner = Insert::default();
    inner.name = "HOLE".into();
    inner.location = Point::new(10.0, 0.0, 0.0);
    pair.entities.push(on("0", EntityType::Insert(inner)));
    d.add_block(pair);
    // PAIR at (100, 0), rotated 90°, scaled by 2 and mirrored in x.
    let mut outer = Insert::default();
    outer.name = "PAIR".into();
    outer.location = Point::new(100.0, 0.0, 0.0);
    outer.rotation = 90.0;
    outer.x_scale_factor = -2.0;
    outer.y_scale_factor = 2.0;
    d.add_entity(on("CUT", EntityType::Insert(outer)));
    let p = read_dxf(&bytes(&d), &ReadOptions::default()).expect("read");
    // HOLE's circle at (2,0) - base (1,0) = (1,0); in PAIR at (11,0); mirrored and scaled
    // (-22,0); rotated 90°: (0,-22); at (100,0): (100,-22). Radius 0.5 x 2.
    let c = circles(&p);
    assert_eq!(c.len(), 1, "{p:?}");
    assert!(near(c[0].0, 100.0, 1e-9) && near(c[0].1, -22.0, 1e-9) && near(c[0].2, 1.0, 1e-12), "{c:?}");
    assert_eq!(p.curves[0].layer, "CUT", "entities on layer 0 in a block take the INSERT's layer");
}

#[test]
fn a_flat_pattern_is_read_on_its_cut_layers_and_layers_can_be_chosen() {
    let line =
        |layer: &str, y: f64| on(layer, EntityType::Line(Line::new(Point::new(0.0, y, 0.0), Point::new(5.0, y, 0.0))));
    let d = drawing(
        dxf::enums::Units::Millimeters,
        vec![
            line("OUTER_PROFILES", 0.0),
            line("INTERIOR_PROFILES", 1.0),
            line("BEND", 2.0),
            line("BEND_EXTENT", 3.0),
            line("NOTES", 4.0),
        ],
    );
    let b = bytes(&d);
    let p = read_dxf(&b, &ReadOptions::default()).expect("read");
    assert_eq!(p.layers_read, ["INTERIOR_PROFILES", "OUTER_PROFILES"]);
    assert_eq!(p.curves.len(), 2);
    let chosen = ReadOptions { layers: Some(vec!["notes".into(), "bend".into()]), ..Default::default() };
    assert_eq!(read_dxf(&b, &chosen).expect("read").curves.len(), 2, "layer names match without regard to case");
    let excluded = ReadOptions {
        layers: Some(vec!["NOTES".into(), "BEND".into()]),
        exclude_layers: vec!["BEND".into()],
        ..Default::default()
    };
    assert_eq!(read_dxf(&b, &excluded).expect("read").layers_read, ["NOTES"]);
    let wrong = ReadOptions { layers: Some(vec!["OUTER_PROFILE".into()]), ..Default::default() };
    let err = read_dxf(&b, &wrong).expect_err("unknown layer");
    assert!(
        matches!(&err, DrawingError::UnknownLayer { layer, available } if layer == "OUTER_PROFILE" && available.contains("OUTER_PROFILES")),
        "{err}"
    );
}

#[test]
fn text_and_broken_files_are_refused_with_a_reason() {
    let mut text = dxf::entities::Text::default();
    text.value = "PART 7".into();
    let only_text = drawing(dxf::enums::Units::Millimeters, vec![on("0", EntityType::Text(text))]);
    let err = read_dxf(&bytes(&only_text), &ReadOptions::default()).expect_err("no geometry");
    assert!(err.to_string().contains("no cut geometry") && err.to_string().contains("1 TEXT"), "{err}");
    let good = bytes(&drawing(
        dxf::enums::Units::Millimeters,
        vec![on("0", EntityType::Circle(Circle::new(Point::origin(), 1.0)))],
    ));
    for cut in [good.len() / 3, good.len() / 2, good.len() - 20] {
        // Cut short anywhere: an error, never a panic.
        let r = std::panic::catch_unwind(|| read_dxf(&good[..cut], &ReadOptions::default()));
        assert!(r.is_ok(), "panicked on a file cut at {cut} bytes");
    }
    assert!(matches!(
        read_dxf(b"not a dxf at all", &ReadOptions::default()),
        Err(DrawingError::Parse(_)) | Err(DrawingError::Empty { .. })
    ));
}

#[test]
fn the_chord_error_holds_on_the_part_also_in_a_scaled_block() {
    let tol = 0.002;
    let mut d = drawing(dxf::enums::Units::Millimeters, Vec::new());
    let mut block = Block::default();
    block.name = "ROUND".into();
    block.entities.push(on("0", EntityType::Arc(Arc::new(Point::new(0.0, 0.0, 0.0), 1.0, 0.0, 180.0))));
    d.add_block(block);
    // A 1 mm arc drawn 50 times larger.
    let mut insert = Insert::default();
    insert.name = "ROUND".into();
    insert.x_scale_factor = 50.0;
    insert.y_scale_factor = 50.0;
    d.add_entity(on("CUT", EntityType::Insert(insert)));
    let p = read_dxf(&bytes(&d), &ReadOptions { chord_error_mm: tol, ..Default::default() }).expect("read");
    let points = polylines(&p)[0];
    assert!(points.iter().all(|q| (q.x.hypot(q.y) - 50.0).abs() < 1e-9), "vertices on the 50 mm arc");
    let worst =
        points.windows(2).map(|w| 50.0 - ((w[0].x + w[1].x) / 2.0).hypot((w[0].y + w[1].y) / 2.0)).fold(0.0, f64::max);
    assert!(worst <= tol + 1e-9, "chords stray {worst} mm from the placed arc, more than {tol}");
}

/// Found by the fuzz target: a header date the parser cannot add up panics inside the
/// `dxf` crate; it is the file's error instead, and nothing is printed.
#[test]
fn a_parser_panic_is_the_files_error() {
    let text = "0\nSECTION\n2\nHEADER\n9\n$TDCREATE\n40\n1e300\n0\nENDSEC\n0\nSECTION\n2\nENTITIES\n0\nLINE\n10\n0\n20\n0\n11\n1\n21\n1\n0\nENDSEC\n0\nEOF\n";
    let outcome = std::panic::catch_unwind(|| read_dxf(text.as_bytes(), &ReadOptions::default()));
    let result = outcome.expect("no panic reaches the caller");
    match result {
        Err(e) => assert!(e.to_string().contains("broke down"), "{e}"),
        Ok(d) => panic!("read {} curves from a damaged header", d.curves.len()),
    }
}
