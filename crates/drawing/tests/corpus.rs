//! Every DXF of the shared corpus (`../shared/data/dxf` beside the workspace, or the
//! folder in `SHEETSIGHT_DXF_CORPUS`) is read or refused with a reason, never a panic;
//! where the corpus knows the answer (its inventory of sheet-metal parts, the fixtures'
//! expected parse results of the JavaScript dxf-parser), the answer is checked.

use std::path::{Path, PathBuf};

use sheetsight_drawing::{Point, ReadOptions, Shape, read_dxf, topology};

fn corpus() -> PathBuf {
    let dir = std::env::var_os("SHEETSIGHT_DXF_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/dxf"));
    assert!(
        dir.join("dxf_inventory.csv").is_file(),
        "the DXF corpus is not at {}: put the shared data beside the workspace (shared/data/dxf) or set SHEETSIGHT_DXF_CORPUS to its folder",
        dir.display()
    );
    dir
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("a readable folder").flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("dxf")) {
            out.push(p);
        }
    }
}

fn read(path: &Path) -> Result<sheetsight_drawing::PartDrawing, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    read_dxf(&bytes, &ReadOptions::default()).map_err(|e| e.to_string())
}

#[test]
fn every_file_is_read_or_refused_with_a_reason() {
    let root = corpus();
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    assert!(files.len() >= 191, "{} files", files.len());
    let (mut read_n, mut refused) = (0, Vec::new());
    for f in &files {
        let outcome = std::panic::catch_unwind(|| read(f).map(|d| topology::build(&d, 0.01)));
        match outcome {
            Ok(Ok(_)) => read_n += 1,
            Ok(Err(reason)) => {
                assert!(!reason.trim().is_empty(), "{}: refused without a reason", f.display());
                refused.push(format!("{}: {reason}", f.strip_prefix(&root).unwrap_or(f).display()));
            }
            Err(_) => panic!("{}: panicked", f.display()),
        }
    }
    eprintln!("{} files: {read_n} read, {} refused:\n{}", files.len(), refused.len(), refused.join("\n"));
    // Most of the corpus is real drawings that must read; the refusals are the broken
    // files kept for recovery tests, fragments without geometry, and the like.
    assert!(read_n >= 160, "{read_n} read");
}

/// One CSV line's cells (quoted cells may hold commas).
fn cells(line: &str) -> Vec<String> {
    let (mut out, mut cell, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cell)),
            _ => cell.push(c),
        }
    }
    out.push(cell);
    out
}

/// The inventory's sheet-metal parts (the laser-cut enclosure, the printer's frame
/// sheets, the keyboard plate): the loops inside the largest one, and its size, counted
/// as the inventory counts them (the largest loop is the one with the largest bounding
/// box; a loop is inside when its bounding box is). The
/// parsers' test files are listed where they differ, not checked: there the inventory's
/// reading is not the DXF's (ezdxf draws a reversed elliptic arc the short way round).
#[test]
fn parts_match_the_inventory() {
    let root = corpus();
    let csv = std::fs::read_to_string(root.join("dxf_inventory.csv")).expect("inventory");
    let mut lines = csv.lines();
    let header = cells(lines.next().expect("header"));
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    let (path_c, holes_c, w_c, h_c) = (col("path"), col("holes_in_outer"), col("outer_w"), col("outer_h"));
    let open_c = col("open_chains");
    let (mut checked, mut wrong) = (0, Vec::new());
    for line in lines {
        let cells = cells(line);
        let sheet_metal = ["laser4diy_enclosure/", "mendel90_sheets/", "open65_keyboard_plate/"]
            .iter()
            .any(|f| cells[path_c].starts_with(f));
        let (Some(holes), Some(w), Some(h)) = (
            cells.get(holes_c).and_then(|v| v.parse::<usize>().ok()),
            cells.get(w_c).and_then(|v| v.parse::<f64>().ok()),
            cells.get(h_c).and_then(|v| v.parse::<f64>().ok()),
        ) else {
            continue;
        };
        let path = root.join(&cells[path_c]);
        let Ok(drawing) = read(&path) else {
            if sheet_metal {
                wrong.push(format!("{}: not read", cells[path_c]));
            }
            continue;
        };
        let parts = topology::build(&drawing, 0.01).parts;
        let mut loops: Vec<(Point, Point, f64)> = parts
            .iter()
            .flat_map(|p| std::iter::once(&p.outline).chain(p.features.iter().map(|f| &f.outline)))
            .map(|l| {
                let pts: Vec<Point> = match l.circle {
                    Some((c, r)) => vec![Point::new(c.x - r, c.y - r), Point::new(c.x + r, c.y + r)],
                    None => l.points.clone(),
                };
                let lo = Point::new(
                    pts.iter().map(|p| p.x).fold(f64::MAX, f64::min),
                    pts.iter().map(|p| p.y).fold(f64::MAX, f64::min),
                );
                let hi = Point::new(
                    pts.iter().map(|p| p.x).fold(f64::MIN, f64::max),
                    pts.iter().map(|p| p.y).fold(f64::MIN, f64::max),
                );
                (lo, hi, (hi.x - lo.x) * (hi.y - lo.y))
            })
            .collect();
        loops.sort_by(|a, b| b.2.total_cmp(&a.2));
        let Some(&(lo, hi, _)) = loops.first() else {
            if sheet_metal {
                wrong.push(format!("{}: no part", cells[path_c]));
            }
            continue;
        };
        // Several loops may share the largest box (two equal parts on one sheet): the
        // inventory's count is that of one of them.
        let counts: Vec<usize> = loops
            .iter()
            .enumerate()
            .filter(|(_, l)| (l.2 - loops[0].2).abs() < 1e-6)
            .map(|(k, &(lo, hi, _))| {
                loops
                    .iter()
                    .enumerate()
                    .filter(|&(j, (a, b, _))| j != k && a.x >= lo.x && a.y >= lo.y && b.x <= hi.x && b.y <= hi.y)
                    .count()
            })
            .collect();
        let inside = counts.iter().copied().find(|&c| c == holes).unwrap_or(counts[0]);
        let scale = drawing.units.mm();
        let (ow, oh) = ((hi.x - lo.x) / scale, (hi.y - lo.y) / scale);
        // Where the inventory's chaining left chains open (bend lines, splines that do
        // not quite meet), its count of loops is not comparable: only the size is.
        let open_chains = cells.get(open_c).and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
        let differs = (open_chains == 0 && inside != holes) || (ow - w).abs() > 0.01 || (oh - h).abs() > 0.01;
        if sheet_metal {
            checked += 1;
            if differs {
                wrong.push(format!(
                    "{}: {inside} holes, {ow:.3} x {oh:.3}; the inventory says {holes} holes, {w} x {h}",
                    cells[path_c]
                ));
            }
        } else if differs {
            eprintln!(
                "(not checked) {}: {inside} holes, {ow:.3} x {oh:.3}; the inventory says {holes} holes, {w} x {h}",
                cells[path_c]
            );
        }
    }
    eprintln!("{checked} parts checked against the inventory; differences:\n{}", wrong.join("\n"));
    assert!(checked >= 50, "{checked}");
    assert!(wrong.is_empty(), "{} differ", wrong.len());
}

fn fixture(name: &str) -> (sheetsight_drawing::PartDrawing, serde_json::Value) {
    let dir = corpus().join("dxf-parser_js_testdata/test/data");
    let expected = ["expected.json", "approved.txt"]
        .iter()
        .find_map(|ext| std::fs::read_to_string(dir.join(format!("{name}.{ext}"))).ok())
        .expect("the expected result");
    (read(&dir.join(format!("{name}.dxf"))).expect("reads"), serde_json::from_str(&expected).expect("JSON"))
}

fn xy(v: &serde_json::Value) -> Point {
    Point::new(v["x"].as_f64().expect("x"), v["y"].as_f64().expect("y"))
}

fn polylines(d: &sheetsight_drawing::PartDrawing) -> Vec<&Vec<Point>> {
    d.curves
        .iter()
        .filter_map(|c| match &c.shape {
            Shape::Polyline { points, .. } => Some(points),
            _ => None,
        })
        .collect()
}

#[test]
fn dxf_parser_fixtures_give_their_expected_geometry() {
    // An arc in a mirrored plane (extrusion -Z): its points on the circle, in the world frame.
    let (arc, expected) = fixture("arc1");
    let e = &expected["entities"][0];
    let (c, r) = (xy(&e["center"]), e["radius"].as_f64().expect("radius"));
    let world_centre = Point::new(-c.x, c.y);
    let pts = polylines(&arc);
    assert_eq!(pts.len(), 1);
    for p in pts[0] {
        assert!(((p - world_centre).norm() - r).abs() < 1e-6, "{p} off the arc");
    }
    for angle in [e["startAngle"].as_f64().expect("start"), e["endAngle"].as_f64().expect("end")] {
        let end = Point::new(-(c.x + r * angle.cos()), c.y + r * angle.sin());
        assert!(pts[0].iter().any(|p| (p - end).norm() < 1e-6), "the arc ends at {end}");
    }

    // Splines: clamped, so they start and end at their first and last control points.
    let (splines, expected) = fixture("splines");
    let ends: Vec<(Point, Point)> = expected["entities"]
        .as_array()
        .expect("entities")
        .iter()
        .filter(|e| e["type"] == "SPLINE")
        .map(|e| {
            let cp = e["controlPoints"].as_array().expect("control points");
            (xy(&cp[0]), xy(&cp[cp.len() - 1]))
        })
        .collect();
    let pts = polylines(&splines);
    assert_eq!(pts.len(), ends.len());
    for (a, b) in &ends {
        assert!(
            pts.iter().any(|p| (p[0] - a).norm() < 1e-6 && (p[p.len() - 1] - b).norm() < 1e-6),
            "a spline from {a} to {b}"
        );
    }

    // Polylines: every vertex the parser found is a vertex of ours.
    let (poly, expected) = fixture("polylines");
    let ours: Vec<Point> = polylines(&poly).into_iter().flatten().copied().collect();
    let mut n = 0;
    for e in expected["entities"].as_array().expect("entities") {
        for v in e["vertices"].as_array().into_iter().flatten() {
            let p = xy(v);
            n += 1;
            assert!(ours.iter().any(|q| (q - p).norm() < 1e-9), "vertex {p}");
        }
    }
    assert!(n > 10, "{n} vertices");
}
