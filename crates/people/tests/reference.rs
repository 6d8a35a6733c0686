//! The Rust detector held to onnxruntime's run of the same model
//! (`bench/person_reference.py fixtures` wrote the reference), on real frames.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use sheetsight_people::decode::decode;
use sheetsight_people::{DecodeOptions, Letterbox, PeopleError, PersonBox, PersonDetector, iou};
use sheetsight_vision::roi::BoxPx;

#[derive(Deserialize)]
struct Reference {
    input_px: u32,
    strongest_cells: Vec<Cell>,
    detections: Vec<Detection>,
}

#[derive(Deserialize)]
struct Cell {
    stride: u32,
    cell: usize,
    score: f32,
}

#[derive(Deserialize)]
struct Detection {
    box_input_px: [f32; 4],
    box_frame_px: [f32; 4],
    score: f32,
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

fn reference() -> Reference {
    let text = std::fs::read_to_string(data("vtest_frame300_416.reference.json"))
        .expect("reference JSON is in the repository");
    serde_json::from_str(&text).expect("reference JSON parses")
}

fn rgb(name: &str) -> image::RgbImage {
    image::open(data(name)).expect("test input decodes").to_rgb8()
}

fn sample(jpeg: &[u8]) -> image::RgbImage {
    image::load_from_memory(jpeg).expect("sample frame decodes").to_rgb8()
}

fn as_box(b: [f32; 4], score: f32) -> PersonBox {
    PersonBox { x0: b[0], y0: b[1], x1: b[2], y1: b[3], score }
}

#[test]
fn scores_and_boxes_match_onnxruntime_on_the_same_input() {
    let reference = reference();
    let detector = PersonDetector::builtin(reference.input_px).expect("built-in model loads");
    // The very input onnxruntime saw: already letterboxed, so the letterbox is the identity.
    let input = rgb("vtest_frame300_416.png");
    let letterbox = Letterbox::new(BoxPx::whole(input.width(), input.height()), reference.input_px);
    assert_eq!(letterbox.scale, 1.0);
    let raw = detector.infer(letterbox.tensor(&input)).expect("inference runs");

    let mut worst = 0f32;
    for cell in &reference.strongest_cells {
        let ours = raw.person_score(cell.stride, cell.cell).expect("cell exists");
        worst = worst.max((ours - cell.score).abs());
    }
    println!(
        "person scores of the {} strongest cells: at most {worst:.1e} from onnxruntime's",
        reference.strongest_cells.len()
    );
    assert!(worst <= 1e-4, "person scores differ from onnxruntime's by up to {worst}");

    let ours = decode(&raw, &DecodeOptions { min_score: 0.3, max_iou: 0.5 });
    assert_eq!(ours.len(), reference.detections.len(), "same number of detections at score 0.3: {ours:?}");
    for theirs in &reference.detections {
        let theirs_box = as_box(theirs.box_input_px, theirs.score);
        let best = ours.iter().max_by(|a, b| iou(a, &theirs_box).total_cmp(&iou(b, &theirs_box))).expect("not empty");
        assert!(iou(best, &theirs_box) > 0.99, "box {:?} vs onnxruntime's {:?}", best, theirs_box);
        assert!((best.score - theirs.score).abs() <= 1e-4, "score {} vs {}", best.score, theirs.score);
    }
}

/// The people of the reference (score >= 0.5 in onnxruntime) matched by ours.
fn matched(found: &[PersonBox], people: &[PersonBox]) -> usize {
    people.iter().filter(|p| found.iter().any(|f| iou(f, p) >= 0.5)).count()
}

#[test]
fn the_six_people_of_frame_300_are_found_through_our_own_letterbox() {
    let reference = reference();
    let people: Vec<PersonBox> =
        reference.detections.iter().filter(|d| d.score >= 0.5).map(|d| as_box(d.box_frame_px, d.score)).collect();
    assert_eq!(people.len(), 6, "the frame shows six people");
    let detector = PersonDetector::builtin(416).expect("built-in model loads");
    let frame = sample(sheetsight_people::samples::VTEST_FRAME_300_JPEG);
    let found = detector
        .detect(&frame, BoxPx::whole(frame.width(), frame.height()), &DecodeOptions::default())
        .expect("inference runs");
    let hits = matched(&found, &people);
    println!("frame 300 at 416: {hits} of 6 people, {} boxes", found.len());
    assert!(hits >= 5, "only {hits} of 6 people found: {found:?}");
    assert!(found.len() <= 7, "false people: {found:?}");

    // The same frame as a camera hands it over (YUV 4:2:0), through a crop around the
    // path: boxes still land on the same people, in frame pixels.
    let yuv =
        sheetsight_vision::YuvFrame::from_rgb8(frame.width(), frame.height(), frame.as_raw()).expect("sizes match");
    let crop = BoxPx { x0: 100, y0: 80, x1: 700, y1: 360 };
    let found = detector.detect(&yuv, crop, &DecodeOptions::default()).expect("inference runs");
    let inside: Vec<PersonBox> =
        people.iter().copied().filter(|p| p.x0 >= 100.0 && p.x1 <= 700.0 && p.y1 <= 360.0).collect();
    let hits = matched(&found, &inside);
    println!("frame 300, YUV crop: {hits} of {} people", inside.len());
    assert!(hits + 1 >= inside.len(), "{hits} of {} people found in the crop: {found:?}", inside.len());
}

#[test]
fn a_model_that_is_missing_not_onnx_or_of_another_contract_is_refused_by_name() {
    let missing = data("no-such-model.onnx");
    let err = PersonDetector::from_file(&missing, 416).expect_err("missing file");
    assert!(matches!(err, PeopleError::Read { .. }));
    assert!(err.to_string().contains("no-such-model.onnx"), "{err}");

    let not_onnx = data("vtest_frame300_416.png");
    let err = PersonDetector::from_file(&not_onnx, 416).expect_err("a JPEG is no model");
    assert!(matches!(err, PeopleError::NotOnnx { .. }), "{err}");
    assert!(err.to_string().contains("vtest_frame300_416.png"), "{err}");

    let err = PersonDetector::from_file(&data("other_outputs.onnx"), 416).expect_err("other outputs");
    assert!(matches!(err, PeopleError::Contract { .. }), "{err}");
    assert!(err.to_string().contains("other_outputs.onnx") && err.to_string().contains("cls_s8"), "{err}");

    let err = PersonDetector::from_file(&data("wrong_output_shapes.onnx"), 416).expect_err("wrong shapes");
    assert!(matches!(err, PeopleError::Contract { .. }), "{err}");
    assert!(err.to_string().contains("expected [1, 2704, classes]"), "{err}");

    let err = PersonDetector::builtin(400).expect_err("not a multiple of 32");
    assert!(err.to_string().contains("400"), "{err}");
}
