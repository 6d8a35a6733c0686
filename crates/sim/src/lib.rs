//! Synthetic shop-floor scenes with ground truth.
//!
//! [`scene`] decides what happens (layout, lamp schedule, strokes, people, light),
//! [`render`] draws it, and this module writes a camera's H.264 MP4, the ground truth
//! (JSON Lines in the event format) and a matching SheetSight configuration. The same
//! scenes feed the tests, the benchmarks and `sheetsight demo`.

pub mod backlit;
pub mod render;
pub mod scene;

use std::io::Write;
use std::path::{Path, PathBuf};

use sheetsight_media::h264::{EncoderSettings, H264Encoder};
use sheetsight_media::mp4::Mp4H264Writer;
use sheetsight_vision::event::Event;

pub use render::Renderer;
pub use scene::{Nuisances, Scene, SceneSpec};

/// What can go wrong while writing a synthetic scene.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Media(#[from] sheetsight_media::MediaError),
    #[error("H.264 encoder: {0}")]
    Encoder(String),
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// Encoder settings for a scene: an IP camera's fixed-quality mode, an IDR picture
/// every 4 s.
pub fn encoder_settings(scene: &Scene) -> EncoderSettings {
    EncoderSettings { fps: scene.spec.fps, idr_interval_frames: (scene.spec.fps * 4.0).round().max(1.0) as u32, qp: 30 }
}

/// Renders a scene and writes it as an H.264 MP4. `progress` gets (frame, frames).
pub fn write_video(scene: &Scene, path: &Path, mut progress: impl FnMut(u64, u64)) -> Result<(), SimError> {
    let mut renderer = Renderer::new(scene.clone());
    let mut encoder = H264Encoder::new(scene.spec.width_px, scene.spec.height_px, encoder_settings(scene))
        .map_err(SimError::Encoder)?;
    let mut writer = Mp4H264Writer::create(path, scene.spec.width_px, scene.spec.height_px, scene.spec.fps)?;
    let frames = (scene.spec.duration_s * scene.spec.fps).round() as u64;
    for i in 0..frames {
        let frame = renderer.render(i as f64 / scene.spec.fps);
        let picture = encoder.encode(&frame).map_err(SimError::Encoder)?;
        writer.write(picture)?;
        progress(i + 1, frames);
    }
    writer.finish()?;
    Ok(())
}

/// Writes events as JSON Lines.
pub fn write_events(path: &Path, events: &[Event]) -> Result<(), SimError> {
    let io = |source| SimError::Io { path: path.to_path_buf(), source };
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
    for e in events {
        let line = serde_json::to_string(e).map_err(|e| io(std::io::Error::other(e)))?;
        writeln!(out, "{line}").map_err(io)?;
    }
    out.flush().map_err(io)
}

/// A SheetSight configuration for cameras `(id, video file name, scene)`.
pub fn config_toml(cameras: &[(String, String, &Scene)]) -> String {
    let mut s = String::from("# Written by `sheetsight synth`: cameras of a synthetic shop with ground truth.\n");
    for (id, file, scene) in cameras {
        s += &format!("\n[[camera]]\nid = \"{id}\"\nsource = \"{file}\"\nfps = {}\n", scene.spec.fps);
    }
    for (id, _, scene) in cameras {
        for m in &scene.machines {
            s += &format!("\n[[machine]]\nid = \"{}\"\ncamera = \"{id}\"\n", m.id);
            for (k, color) in m.colors.iter().enumerate() {
                s += &format!("\n[[machine.lamp]]\ncolor = \"{}\"\nroi = {}\n", color.as_str(), points(&m.lamp_roi(k)));
            }
            s += &format!("\n[machine.motion]\nroi = {}\n", points(&m.motion_roi()));
        }
    }
    s
}

fn points(p: &[[f64; 2]]) -> String {
    let inner: Vec<String> = p.iter().map(|q| format!("[{}, {}]", q[0], q[1])).collect();
    format!("[{}]", inner.join(", "))
}

/// The standard synthetic shop: two cameras, five machines.
pub fn shop_specs(
    width_px: u32,
    height_px: u32,
    fps: f64,
    duration_s: f64,
    seed: u64,
    nuisances: Nuisances,
) -> Vec<(String, SceneSpec)> {
    vec![
        (
            "cam1".into(),
            SceneSpec {
                width_px,
                height_px,
                fps,
                duration_s,
                seed,
                nuisances,
                machines: vec![("brake-1".into(), 3), ("brake-2".into(), 4), ("punch-1".into(), 5)],
            },
        ),
        (
            "cam2".into(),
            SceneSpec {
                width_px,
                height_px,
                fps,
                duration_s,
                seed: seed.wrapping_add(1),
                nuisances,
                machines: vec![("brake-3".into(), 4), ("laser-1".into(), 3)],
            },
        ),
    ]
}
