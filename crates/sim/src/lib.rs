//! Synthetic shop-floor scenes with ground truth.
//!
//! [`scene`] decides what happens (layout, lamp schedule, strokes, people, light),
//! [`render`] draws it, and this module writes a camera's H.264 MP4, the ground truth
//! (JSON Lines in the event format) and a matching SheetSight configuration. The same
//! scenes feed the tests, the benchmarks and `sheetsight demo`.

pub mod backlit;
pub mod field;
pub mod gaussian_cover;
pub mod history;
pub mod render;
pub mod scene;
pub mod targets;

use std::io::Write;
use std::path::{Path, PathBuf};

pub use field::Encoding;
use sheetsight_media::h264::{EncoderSettings, H264Encoder};
use sheetsight_media::mp4::Mp4H264Writer;
use sheetsight_vision::event::VideoEvent;

pub use render::Renderer;
pub use scene::{Nuisances, Scene, SceneSpec, StrokePattern};

/// What can go wrong while writing a synthetic scene.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Media(#[from] sheetsight_media::MediaError),
    #[error("H.264 encoder")]
    Codec(#[from] sheetsight_media::CodecError),
    #[error("cannot start `{program}` for x264: install it (Debian: apt-get install ffmpeg)")]
    X264Start {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{program}` could not encode {}: {stderr}", path.display())]
    X264Failed { program: String, path: PathBuf, stderr: String },
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// Encoder settings for a scene: an IP camera's fixed-quality mode, an IDR picture
/// every 4 s.
pub fn encoder_settings(scene: &Scene) -> EncoderSettings {
    EncoderSettings { fps: scene.spec.fps, idr_interval_frames: (scene.spec.fps * 4.0).round().max(1.0) as u32, qp: 30 }
}

/// Renders a scene and writes it as an H.264 MP4. `progress` gets (frame, frames).
pub fn write_video(scene: &Scene, path: &Path, progress: impl FnMut(u64, u64)) -> Result<(), SimError> {
    write_encoded_video(scene, path, Encoding::OpenH264 { qp: encoder_settings(scene).qp }, progress)
}

/// [`write_video`] with a chosen encoding; x264 runs `ffmpeg` (`SHEETSIGHT_FFMPEG` names
/// another program).
pub fn write_encoded_video(
    scene: &Scene,
    path: &Path,
    encoding: Encoding,
    mut progress: impl FnMut(u64, u64),
) -> Result<(), SimError> {
    let qp = match encoding {
        Encoding::OpenH264 { qp } => qp,
        Encoding::X264 { high, b_frames, bitrate_kbps } => {
            return write_x264_video(scene, path, high, b_frames, bitrate_kbps, progress);
        }
    };
    let mut renderer = Renderer::new(scene.clone());
    let mut encoder =
        H264Encoder::new(scene.spec.width_px, scene.spec.height_px, EncoderSettings { qp, ..encoder_settings(scene) })?;
    let mut writer = Mp4H264Writer::create(path, scene.spec.width_px, scene.spec.height_px, scene.spec.fps)?;
    let frames = (scene.spec.duration_s * scene.spec.fps).round() as u64;
    for i in 0..frames {
        let frame = renderer.render(i as f64 / scene.spec.fps);
        let picture = encoder.encode(&frame)?;
        writer.write(picture)?;
        progress(i + 1, frames);
    }
    writer.finish()?;
    Ok(())
}

/// Renders a scene into `ffmpeg`, which encodes it with x264 (Baseline, or High with
/// B-frames; an average bit rate with a camera's small buffer) into an MP4.
fn write_x264_video(
    scene: &Scene,
    path: &Path,
    high: bool,
    b_frames: u32,
    bitrate_kbps: u32,
    mut progress: impl FnMut(u64, u64),
) -> Result<(), SimError> {
    use std::process::{Command, Stdio};
    let program = std::env::var("SHEETSIGHT_FFMPEG").unwrap_or_else(|_| "ffmpeg".into());
    let gop = (scene.spec.fps * 4.0).round().max(1.0) as u32;
    let mut child = Command::new(&program)
        .args(["-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s"])
        .arg(format!("{}x{}", scene.spec.width_px, scene.spec.height_px))
        .args(["-r", &scene.spec.fps.to_string(), "-i", "-", "-c:v", "libx264"])
        .args(["-profile:v", if high { "high" } else { "baseline" }])
        .args(["-preset", "veryfast", "-threads", "1", "-bf", &b_frames.to_string(), "-g", &gop.to_string()])
        .args(["-b:v", &format!("{bitrate_kbps}k"), "-maxrate", &format!("{}k", bitrate_kbps * 3 / 2)])
        .args(["-bufsize", &format!("{bitrate_kbps}k"), "-pix_fmt", "yuv420p"])
        .arg(path)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| SimError::X264Start { program: program.to_string(), source })?;
    let io = |source| SimError::Io { path: path.to_path_buf(), source };
    let mut renderer = Renderer::new(scene.clone());
    let frames = (scene.spec.duration_s * scene.spec.fps).round() as u64;
    let written = (|| -> std::io::Result<()> {
        let mut stdin = std::io::BufWriter::new(child.stdin.take().ok_or(std::io::ErrorKind::BrokenPipe)?);
        for i in 0..frames {
            let frame = renderer.render(i as f64 / scene.spec.fps);
            stdin.write_all(frame.y_plane())?;
            stdin.write_all(frame.u_plane())?;
            stdin.write_all(frame.v_plane())?;
            progress(i + 1, frames);
        }
        stdin.flush()
    })();
    let output = child.wait_with_output().map_err(io)?;
    if !output.status.success() {
        return Err(SimError::X264Failed {
            program: program.to_string(),
            path: path.to_path_buf(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    written.map_err(io)
}

/// Writes events as JSON Lines.
pub fn write_events(path: &Path, events: &[VideoEvent]) -> Result<(), SimError> {
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
                strokes: StrokePattern::Even,
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
                strokes: StrokePattern::Even,
            },
        ),
    ]
}
