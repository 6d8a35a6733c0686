//! `sheetsight bench`: the speed figures of monitoring.
//!
//! 1. Analysis alone: a 1280x720 camera watching 3 machines (4 lamps + a motion region
//!    each), frames decoded beforehand, on one thread.
//! 2. The same regions in a 2560x1440 frame: the cost must follow the regions' pixels,
//!    not the frame's, so the ratio of the two should be close to 1.
//! 3. Decode plus analysis of a 1280x720 10 fps H.264 file on one thread, as a multiple
//!    of real time.

use std::time::Instant;

use anyhow::Context;
use sheetsight_media::h264::{H264Decoder, H264Encoder};
use sheetsight_monitor::{CameraAnalyzer, VideoEvent};
use sheetsight_sim::{Nuisances, Renderer, Scene, SceneSpec, StrokePattern, encoder_settings, write_video};
use sheetsight_vision::YuvFrame;

use crate::scenes::machine_configs;

fn spec(width_px: u32, height_px: u32, seconds: f64) -> SceneSpec {
    SceneSpec {
        width_px,
        height_px,
        fps: 10.0,
        duration_s: seconds,
        seed: 11,
        nuisances: Nuisances::ALL,
        machines: vec![("m1".into(), 4), ("m2".into(), 4), ("m3".into(), 4)],
        strokes: StrokePattern::Even,
    }
}

/// Renders, encodes and decodes `n` frames (so that they carry compression artefacts).
fn decoded_frames(scene: &Scene, n: usize) -> anyhow::Result<Vec<YuvFrame>> {
    let mut renderer = Renderer::new(scene.clone());
    let mut encoder = H264Encoder::new(scene.spec.width_px, scene.spec.height_px, encoder_settings(scene))?;
    let mut decoder = H264Decoder::new()?;
    let mut frames = Vec::with_capacity(n);
    for i in 0..n {
        let picture = encoder.encode(&renderer.render(i as f64 / scene.spec.fps))?;
        let annex_b = picture.to_annex_b();
        frames.extend(decoder.decode(&annex_b, i as i64)?.into_iter().map(|(_, f)| f));
    }
    frames.extend(decoder.flush().into_iter().map(|(_, f)| f));
    Ok(frames)
}

/// Places a 1280x720 frame's content at the top-left of a larger frame.
fn embed(frame: &YuvFrame, width_px: u32, height_px: u32) -> YuvFrame {
    let mut big = YuvFrame::filled(width_px, height_px, 100, 128, 128);
    let (w, bw) = (frame.width_px() as usize, width_px as usize);
    let (cw, bcw) = (frame.chroma_width(), big.chroma_width());
    let (y, u, v) = big.planes_mut();
    for row in 0..frame.height_px() as usize {
        y[row * bw..row * bw + w].copy_from_slice(&frame.y_plane()[row * w..(row + 1) * w]);
    }
    for row in 0..frame.chroma_height() {
        u[row * bcw..row * bcw + cw].copy_from_slice(&frame.u_plane()[row * cw..(row + 1) * cw]);
        v[row * bcw..row * bcw + cw].copy_from_slice(&frame.v_plane()[row * cw..(row + 1) * cw]);
    }
    big
}

/// Frames per second of analysis alone over `frames`, for at least `min_s` seconds.
fn analysis_fps(analyzer: &mut CameraAnalyzer, frames: &[YuvFrame], min_s: f64) -> f64 {
    let mut events: Vec<VideoEvent> = Vec::new();
    let started = Instant::now();
    let mut count = 0u64;
    let mut t = 0.0;
    while started.elapsed().as_secs_f64() < min_s {
        for f in frames {
            analyzer.process_frame(t, f, &mut events);
            t += 0.1;
            count += 1;
        }
        events.clear();
    }
    count as f64 / started.elapsed().as_secs_f64()
}

fn region_pixels(scene: &Scene) -> u64 {
    scene
        .machines
        .iter()
        .map(|m| {
            let lamps: u64 = (0..m.colors.len())
                .map(|k| {
                    sheetsight_vision::roi::PolygonRoi::new(&m.lamp_roi(k), scene.spec.width_px, scene.spec.height_px)
                        .map_or(0, |r| u64::from(r.pixel_count()))
                })
                .sum();
            let motion =
                sheetsight_vision::roi::PolygonRoi::new(&m.motion_roi(), scene.spec.width_px, scene.spec.height_px)
                    .map_or(0, |r| u64::from(r.pixel_count()));
            lamps + motion
        })
        .sum()
}

pub fn run(seconds: f64) -> anyhow::Result<()> {
    anyhow::ensure!(seconds >= 5.0, "--seconds must be at least 5");
    let scene = Scene::generate(&spec(1280, 720, seconds));
    let frames = decoded_frames(&scene, 300)?;
    let configs = machine_configs("bench", &scene);
    let mut analyzer = CameraAnalyzer::from_machines("bench", None, &configs, 1280, 720)?;
    let alone = analysis_fps(&mut analyzer, &frames, 3.0);
    let px = region_pixels(&scene);
    println!(
        "analysis alone, 1280x720, 3 machines x (4 lamps + motion), {px} region pixels ({:.1} % of the frame), one thread: {alone:.0} frames/s ({:.0} us/frame)",
        100.0 * px as f64 / (1280.0 * 720.0),
        1e6 / alone
    );

    let big_frames: Vec<YuvFrame> = frames.iter().take(100).map(|f| embed(f, 2560, 1440)).collect();
    let small: Vec<YuvFrame> = frames.iter().take(100).cloned().collect();
    let mut a_small = CameraAnalyzer::from_machines("small", None, &configs, 1280, 720)?;
    let mut a_big = CameraAnalyzer::from_machines("big", None, &configs, 2560, 1440)?;
    let fps_small = analysis_fps(&mut a_small, &small, 2.0);
    let fps_big = analysis_fps(&mut a_big, &big_frames, 2.0);
    println!(
        "same regions in a 2560x1440 frame (4x the pixels): {fps_big:.0} frames/s, time ratio 1440p/720p = {:.2}",
        fps_small / fps_big
    );

    let dir = std::env::temp_dir().join(format!("sheetsight-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let video = dir.join("bench.mp4");
    write_video(&scene, &video, |_, _| {})?;
    let mut source = sheetsight_media::open(&video, 10.0)?;
    let mut decoded = Vec::new();
    let decode_started = Instant::now();
    while let Some(f) = source.next_frame()? {
        decoded.push(f);
        if decoded.len() >= 100 {
            break;
        }
    }
    let decode_ms = 1000.0 * decode_started.elapsed().as_secs_f64() / decoded.len().max(1) as f64;
    drop(decoded);
    let started_full = Instant::now();
    let mut source = sheetsight_media::open(&video, 10.0)?;
    let mut analyzer = CameraAnalyzer::from_machines("bench", Some(10.0), &configs, 1280, 720)?;
    let mut events: Vec<VideoEvent> = Vec::new();
    let mut n = 0u64;
    while let Some(f) = source.next_frame()? {
        analyzer.process(&f, &mut events);
        n += 1;
    }
    let wall = started_full.elapsed().as_secs_f64();
    let video_s = n as f64 / 10.0;
    println!(
        "decode + analysis, 1280x720 H.264 at 10 fps, one thread: {n} frames ({video_s:.0} s of video) in {wall:.2} s = {:.1}x real time (decode alone {decode_ms:.1} ms/frame)",
        video_s / wall
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
