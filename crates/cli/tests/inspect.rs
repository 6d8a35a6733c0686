//! `sheetsight plate`, `calibrate` and `inspect` end to end, as a shop uses them: files
//! in, files out, exit status 0 (pass), 1 (fail) or 2 (no verdict, with the reason).

use std::path::Path;
use std::process::{Command, Output};

use sheetsight_drawing::{ReadOptions, read_dxf, topology};
use sheetsight_sim::backlit::{self, Defect, Lighting, Placement, Solid};

fn sheetsight(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sheetsight")).args(args).output().expect("the binary runs")
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn keys(v: &serde_json::Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().expect("an object").keys().map(|k| k.as_str()).collect();
    k.sort();
    k
}

/// A PNG header claiming `w` x `h` pixels, and an empty first data chunk.
fn png_header(w: u32, h: u32) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in bytes {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
    let mut chunk = b"IHDR".to_vec();
    chunk.extend(w.to_be_bytes());
    chunk.extend(h.to_be_bytes());
    chunk.extend([8, 0, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(13u32.to_be_bytes());
    png.extend(&chunk);
    png.extend(crc32(&chunk).to_be_bytes());
    png.extend(0u32.to_be_bytes());
    png.extend(b"IDAT");
    png.extend(crc32(b"IDAT").to_be_bytes());
    png
}

#[test]
fn plate_calibrate_inspect_as_a_shop_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = |name: &str| dir.path().join(name);
    let o = sheetsight(&[
        "plate",
        "--width-mm",
        "550",
        "--height-mm",
        "400",
        "--pitch-mm",
        "25",
        "--hole-mm",
        "8",
        "-o",
        p(&d("plate.dxf")),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));

    // The shop cuts the plate from 2 mm sheet and photographs it on the table.
    let camera = backlit::table_camera();
    let plate_drawing =
        read_dxf(&std::fs::read(d("plate.dxf")).expect("plate.dxf"), &ReadOptions::default()).expect("reads");
    let plate = topology::build(&plate_drawing, 0.01).parts.remove(0);
    let flat = Placement::AS_DRAWN;
    backlit::render(&camera, &[Solid::placed(&plate, &flat, 2.0)], &Lighting::default(), 1)
        .save(d("plate.png"))
        .expect("plate.png");
    let o = sheetsight(&[
        "calibrate",
        "--plate",
        p(&d("plate.dxf")),
        "--image",
        p(&d("plate.png")),
        "--out",
        p(&d("table.json")),
        "--plate-thickness-mm",
        "2",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    eprintln!("{}", text(&o.stdout));
    let table: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d("table.json")).expect("table.json")).expect("JSON");
    assert!(table["residual_rms_px"].as_f64().expect("residual_rms_px") <= 0.1, "{table}");
    assert!(table["residual_rms_mm"].as_f64().expect("residual_rms_mm") <= 0.02);
    image::open(d("table.residuals.png")).expect("the residual map is a picture");

    // A good part, and one with a hole missing.
    let (name, bytes) = backlit::SAMPLE_DRAWINGS[2];
    std::fs::write(d(name), bytes).expect("drawing");
    let part = topology::build(&read_dxf(bytes, &ReadOptions::default()).expect("reads"), 0.01).parts.remove(0);
    let hole = part
        .features
        .iter()
        .position(|f| matches!(f.kind, sheetsight_drawing::FeatureKind::Hole { .. }))
        .expect("a hole");
    let lying = Placement { x_mm: 396.0, y_mm: 210.0, angle_deg: 33.0, mirrored: true };
    for (file, defects) in [("good.png", vec![]), ("bad.png", vec![Defect::Missing { index: hole }])] {
        let cut = backlit::as_cut(&part, &defects);
        backlit::render(&camera, &[Solid::placed(&cut, &lying, 0.0)], &Lighting::default(), 2)
            .save(d(file))
            .expect("photo");
    }
    let (drawing_path, table_path) = (d(name), d("table.json"));
    let inspect = |photo: &str, report: &str, extra: &[&str]| {
        let mut args = vec![
            "inspect",
            "--dxf",
            p(&drawing_path),
            "--image",
            photo,
            "--calibration",
            p(&table_path),
            "--report",
            report,
        ];
        args.extend_from_slice(extra);
        sheetsight(&args)
    };
    let good = d("good.json");
    let o =
        inspect(p(&d("good.png")), p(&good), &["--overlay", p(&d("good-overlay.png")), "--html", p(&d("good.html"))]);
    assert_eq!(o.status.code(), Some(0), "{}{}", text(&o.stdout), text(&o.stderr));
    assert!(text(&o.stdout).contains("PASS"), "{}", text(&o.stdout));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&good).expect("report")).expect("JSON");
    assert_eq!(keys(&report), ["extra", "features", "pose", "verdict"]);
    assert_eq!(report["verdict"], "pass");
    assert_eq!(keys(&report["pose"]), ["angle_deg", "mirrored", "x_mm", "y_mm"]);
    assert_eq!(report["pose"]["mirrored"], true);
    let features = report["features"].as_array().expect("features");
    let first_hole = features.iter().find(|f| f["kind"] == "hole").expect("a hole");
    assert_eq!(
        keys(first_hole),
        ["diameter_error_mm", "id", "kind", "measured", "nominal", "position_error_mm", "verdict"]
    );
    assert_eq!(keys(&first_hole["nominal"]), ["d_mm", "x_mm", "y_mm"]);
    assert_eq!(keys(&first_hole["measured"]), ["d_mm", "x_mm", "y_mm"]);
    let outline = features.iter().find(|f| f["kind"] == "outline").expect("the outline");
    assert_eq!(keys(outline), ["id", "kind", "max_deviation_mm", "rms_deviation_mm", "verdict"]);
    if let Some(cutout) = features.iter().find(|f| f["kind"] == "cutout") {
        assert_eq!(keys(cutout), ["id", "kind", "max_deviation_mm", "measured", "nominal", "verdict"]);
    }
    assert_eq!(report["extra"], serde_json::json!([]));
    image::open(d("good-overlay.png")).expect("the overlay is a picture");
    let html = std::fs::read_to_string(d("good.html")).expect("html");
    assert!(html.contains("PASS") && html.contains("data:image/png;base64,") && html.contains("@media print"));

    let bad = d("bad.json");
    let o = inspect(p(&d("bad.png")), p(&bad), &["--html", p(&d("bad.html"))]);
    assert_eq!(o.status.code(), Some(1), "{}{}", text(&o.stdout), text(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&bad).expect("report")).expect("JSON");
    assert_eq!(report["verdict"], "fail");
    let missing: Vec<_> =
        report["features"].as_array().expect("features").iter().filter(|f| f["verdict"] == "missing").collect();
    assert_eq!(missing.len(), 1, "{report}");
    assert!(missing[0]["measured"].is_null());
    assert!(std::fs::read_to_string(d("bad.html")).expect("html").contains("FAIL"));

    // No verdict, and why: an empty table, damaged and wrong inputs.
    backlit::render(&camera, &[], &Lighting::default(), 3).save(d("empty.png")).expect("photo");
    std::fs::write(d("broken.dxf"), b"0\nSECTION\n2\nENTITIES\n0\nLINE\n10\nnot a number\n").expect("write");
    let good_png = std::fs::read(d("good.png")).expect("good.png");
    std::fs::write(d("truncated.png"), &good_png[..good_png.len() / 3]).expect("write");
    std::fs::write(d("huge.png"), png_header(20_000, 20_000)).expect("write");
    std::fs::write(d("notes.json"), b"{\"hello\": 1}").expect("write");
    let refusals: Vec<(Vec<String>, Vec<&str>)> = vec![
        (vec!["--image".into(), p(&d("empty.png")).into()], vec!["empty.png", "no part in the photo"]),
        (vec!["--image".into(), p(&d("truncated.png")).into()], vec!["truncated.png", "damaged"]),
        (vec!["--image".into(), p(&d("huge.png")).into()], vec!["huge.png", "20000x20000"]),
        (vec!["--image".into(), p(&d("nowhere.png")).into()], vec!["nowhere.png"]),
        (vec!["--dxf".into(), p(&d("broken.dxf")).into()], vec!["broken.dxf"]),
        (vec!["--dxf".into(), p(&d("nowhere.dxf")).into()], vec!["nowhere.dxf"]),
        (vec!["--calibration".into(), p(&d("notes.json")).into()], vec!["notes.json", "not a calibration"]),
        (vec!["--tolerance-mm=-1".into()], vec!["--tolerance-mm"]),
        (vec!["--units".into(), "furlong".into()], vec!["--units furlong"]),
        (vec!["--layers".into(), "NO_SUCH_LAYER".into()], vec!["NO_SUCH_LAYER"]),
    ];
    for (change, expected) in refusals {
        let mut args: Vec<String> = [
            "inspect",
            "--dxf",
            p(&d(name)),
            "--image",
            p(&d("good.png")),
            "--calibration",
            p(&d("table.json")),
            "--report",
            p(&d("r.json")),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let at = args.iter().position(|a| *a == change[0]);
        match at {
            Some(i) if change.len() == 2 => args[i + 1] = change[1].clone(),
            _ => args.extend(change.iter().cloned()),
        }
        let o = sheetsight(&args.iter().map(|s| s.as_str()).collect::<Vec<_>>());
        let err = text(&o.stderr);
        eprintln!("{change:?}: {}", err.trim());
        assert_eq!(o.status.code(), Some(2), "{change:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        for e in expected {
            assert!(err.contains(e), "{change:?}: `{e}` not in: {err}");
        }
    }
    // A plate photo that cannot calibrate leaves no table.json behind.
    let o = sheetsight(&[
        "calibrate",
        "--plate",
        p(&d("plate.dxf")),
        "--image",
        p(&d("empty.png")),
        "--out",
        p(&d("other.json")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("no plate") && !d("other.json").exists(), "{}", text(&o.stderr));
}

/// A shop without a plate prints a chessboard, calibrates from its photo, and inspects a
/// part on a table whose backlight is clipped at white on most of it.
#[test]
fn a_printed_chessboard_calibrates_and_a_clipped_photo_is_inspected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = |name: &str| dir.path().join(name);
    let camera = backlit::table_camera();
    let board = sheetsight_sim::targets::test_board(28.0, 4.0);
    let light = Lighting { light: 235.0, ..Lighting::default() };
    sheetsight_sim::targets::render(&camera, &board, &light, 7).save(d("board.png")).expect("board.png");
    let calibrate = |size: &str, out: &str| {
        sheetsight(&[
            "calibrate",
            "--chessboard",
            size,
            "--square-mm",
            "28",
            "--image",
            p(&d("board.png")),
            "--out",
            p(&d(out)),
        ])
    };
    let o = calibrate("14x10", "table.json");
    assert!(o.status.success(), "{}", text(&o.stderr));
    eprintln!("{}", text(&o.stdout));
    assert!(text(&o.stdout).contains("140 of 140 inner corners"), "{}", text(&o.stdout));
    let table: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d("table.json")).expect("table.json")).expect("JSON");
    assert!(table["residual_rms_px"].as_f64().expect("residual_rms_px") <= 0.1, "{table}");
    image::open(d("table.residuals.png")).expect("the residual map is a picture");
    // The wrong board size, and no square size: the reason, and no table written.
    let o = calibrate("9x6", "other.json");
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("has 14x10 inner corners, not the 9x6 given"), "{}", text(&o.stderr));
    assert!(!d("other.json").exists());
    let o =
        sheetsight(&["calibrate", "--chessboard", "14x10", "--image", p(&d("board.png")), "--out", p(&d("x.json"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--square-mm"), "{}", text(&o.stderr));

    // Or a printed asymmetric circle grid.
    let grid = sheetsight_sim::targets::test_circle_grid(true, 26.0, -2.0);
    sheetsight_sim::targets::render(&camera, &grid, &light, 8).save(d("circles.png")).expect("circles.png");
    let o = sheetsight(&[
        "calibrate",
        "--circles",
        "6x13",
        "--asymmetric",
        "--pitch-mm",
        "26",
        "--image",
        p(&d("circles.png")),
        "--out",
        p(&d("circles.json")),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("78 of 78 dots"), "{}", text(&o.stdout));

    // A part photographed with the backlight clipped at white on nearly all the table.
    let (name, bytes) = backlit::SAMPLE_DRAWINGS[1];
    std::fs::write(d(name), bytes).expect("drawing");
    let part = backlit::sample_part(bytes).expect("a part");
    let mut case = backlit::shop_floor_cases(&part, backlit::TEST_AREA_MM, 1, 77, &camera).remove(0);
    case.lighting.light = 1.6 * 256.0;
    assert!(case.lighting.clipped_fraction(4000.0, 3000.0) > 0.6);
    backlit::render_case(&camera, &part, &case).save(d("clipped.png")).expect("photo");
    let o = sheetsight(&[
        "inspect",
        "--dxf",
        p(&d(name)),
        "--image",
        p(&d("clipped.png")),
        "--calibration",
        p(&d("table.json")),
        "--report",
        p(&d("clipped.json")),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", text(&o.stdout), text(&o.stderr));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d("clipped.json")).expect("report")).expect("JSON");
    let clipping = &report["clipping"];
    eprintln!("{clipping}");
    assert!(clipping["clipped_percent"].as_f64().expect("clipped_percent") > 60.0, "{clipping}");
    assert!(clipping["estimated_error_mm"].as_f64().is_some_and(|e| e > 0.0 && e < 0.05), "{clipping}");
}

/// `sheetsight spc` over a month of one part number's reports: a hole whose diameter
/// creeps up is flagged while its parts still pass; a stable one is not.
#[test]
fn spc_flags_a_growing_hole_before_its_parts_fail() {
    use sheetsight_inspect::report::{FeatureReport, HoleSize, Report, Verdict};
    let dir = tempfile::tempdir().expect("tempdir");
    let hole = |id: &str, d_err: f64, p_err: f64| FeatureReport::Hole {
        id: id.into(),
        nominal: HoleSize { x_mm: 10.0, y_mm: 10.0, d_mm: 5.0 },
        measured: Some(HoleSize { x_mm: 10.0, y_mm: 10.0, d_mm: 5.0 + d_err }),
        position_error_mm: Some(p_err),
        diameter_error_mm: Some(d_err),
        verdict: Verdict::Pass,
    };
    let noise = [0.004, -0.003, 0.002, -0.004, 0.001, 0.003, -0.002];
    for k in 0..40 {
        let drift = if k >= 28 { 0.008 * (k - 27) as f64 } else { 0.0 };
        let report = Report {
            verdict: Verdict::Pass,
            pose: sheetsight_inspect::report::Pose { x_mm: 0.0, y_mm: 0.0, angle_deg: 0.0, mirrored: false },
            features: vec![
                hole("hole-1", noise[k % 7], 0.01 + noise[(k + 3) % 7] / 2.0),
                hole("hole-2", noise[(k + 2) % 7] + drift, 0.01),
                FeatureReport::Outline {
                    id: "outline".into(),
                    max_deviation_mm: 0.05 + noise[k % 7],
                    rms_deviation_mm: 0.01,
                    verdict: Verdict::Pass,
                },
            ],
            extra: vec![],
            clipping: None,
        };
        let name = dir.path().join(format!("2026-11-{:02}T10-{:02}.json", 1 + k / 2, k % 2));
        std::fs::write(name, serde_json::to_vec(&report).expect("JSON")).expect("report");
    }
    let o = sheetsight(&["spc", p(dir.path())]);
    let out = text(&o.stdout);
    eprintln!("{out}");
    assert_eq!(o.status.code(), Some(1), "{out}{}", text(&o.stderr));
    assert!(
        out.contains("hole-2 diameter_error_mm: parts") && out.contains("the parts are still within tolerance"),
        "{out}"
    );
    assert!(!out.contains("hole-1 diameter_error_mm:"), "a stable hole flagged: {out}");
    assert!(!out.contains("hole-2 position_error_mm:"), "a constant position flagged: {out}");
    // One feature, as JSON.
    let o = sheetsight(&["spc", p(dir.path()), "--feature", "hole-1", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let charts: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(charts.as_array().map(|a| a.len()), Some(2), "{charts}");
    assert!(charts[0]["chart"]["cpk"].as_f64().is_some_and(|c| c > 1.33), "{charts}");
    // Not a report: the file named, exit 2.
    std::fs::write(dir.path().join("zz-notes.json"), b"{\"hello\": 1}").expect("file");
    let o = sheetsight(&["spc", p(dir.path())]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("zz-notes.json: not a report"), "{}", text(&o.stderr));
}
