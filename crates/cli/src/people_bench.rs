//! `sheetsight bench-people`: milliseconds per person detection on one core, at one
//! input size, on a real frame (or `--image`), with the built-in model or `--model`.
//! `bench/person_reference.py speed` runs it next to onnxruntime and prints the ratio.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use sheetsight_people::{DecodeOptions, Letterbox, PersonDetector, decode::decode, samples};

pub struct Options {
    pub input_px: u32,
    pub runs: usize,
    pub model: Option<PathBuf>,
    pub image: Option<PathBuf>,
    pub json: bool,
}

pub fn run(options: &Options) -> anyhow::Result<bool> {
    let started = Instant::now();
    let detector = match &options.model {
        Some(path) => PersonDetector::from_file(path, options.input_px)?,
        None => PersonDetector::builtin(options.input_px)?,
    };
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    let picture = match &options.image {
        Some(path) => image::open(path).with_context(|| format!("reading the picture {}", path.display()))?,
        None => image::load_from_memory(samples::VTEST_FRAME_300_JPEG).context("decoding the built-in frame")?,
    }
    .to_rgb8();
    let letterbox =
        Letterbox::new(sheetsight_vision::roi::BoxPx::whole(picture.width(), picture.height()), options.input_px);

    let (mut prepare_ms, mut infer_ms, mut people) = (Vec::new(), Vec::new(), 0);
    for run in 0..options.runs.max(1) + 2 {
        let t0 = Instant::now();
        let tensor = letterbox.tensor(&picture);
        let t1 = Instant::now();
        let raw = detector.infer(tensor)?;
        let t2 = Instant::now();
        people = decode(&raw, &DecodeOptions::default()).len();
        if run >= 2 {
            prepare_ms.push((t1 - t0).as_secs_f64() * 1e3);
            infer_ms.push((t2 - t1).as_secs_f64() * 1e3);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (prepare, infer) = (median(&mut prepare_ms), median(&mut infer_ms));
    infer_ms.sort_by(f64::total_cmp);
    let p90 = infer_ms[(infer_ms.len() * 9 / 10).min(infer_ms.len() - 1)];
    if options.json {
        println!(
            "{}",
            serde_json::json!({
                "model": detector.model_name(),
                "input_px": options.input_px,
                "runs": infer_ms.len(),
                "load_ms": load_ms,
                "letterbox_ms_median": prepare,
                "ms_per_inference_median": infer,
                "ms_per_inference_p90": p90,
                "people": people,
            })
        );
    } else {
        println!(
            "person detector: {} at {} x {} px, one thread",
            detector.model_name(),
            options.input_px,
            options.input_px
        );
        println!("  model loaded and optimised in {load_ms:.0} ms");
        println!(
            "  letterbox {:.1} ms, inference {:.1} ms median ({:.1} ms p90) over {} runs",
            prepare,
            infer,
            p90,
            infer_ms.len()
        );
        println!("  {people} people found at score 0.5");
    }
    Ok(true)
}
