//! "Test" on the camera form: connects to a camera as the service would, takes its
//! first picture, and says what it sends (codec, size, frame rate) or exactly what
//! failed: nothing answers, the camera refused (password, path), the stream is not
//! valid, or its codec cannot be read.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use base64::Engine;
use serde::Serialize;
use sheetsight_ingest::decode::FrameDecoder;
use sheetsight_ingest::source::{Payload, SourceError, SourceErrorKind};

use super::config_file::{self, CameraForm};
use crate::AppState;
use crate::error::{ApiError, ApiJson, ApiResult};

/// How long a test may take before it says the camera sends nothing.
const TEST_TIMEOUT: Duration = Duration::from_secs(12);
/// Packets after the first picture used to measure the frame rate.
const RATE_PACKETS: usize = 12;

#[derive(Serialize, Debug)]
pub struct CameraTest {
    pub ok: bool,
    /// `unreachable`, `refused`, `stream`, `codec` or `timeout` when it failed.
    pub problem: Option<&'static str>,
    pub message: String,
    pub codec: Option<&'static str>,
    pub width_px: Option<u32>,
    pub height_px: Option<u32>,
    pub fps: Option<f64>,
    /// The first picture, as a `data:image/jpeg;base64,` URL.
    pub snapshot: Option<String>,
    pub elapsed_ms: u64,
}

fn failed(problem: &'static str, message: String, started: Instant) -> CameraTest {
    CameraTest {
        ok: false,
        problem: Some(problem),
        message,
        codec: None,
        width_px: None,
        height_px: None,
        fps: None,
        snapshot: None,
        elapsed_ms: started.elapsed().as_millis() as u64,
    }
}

fn problem_of(e: &SourceError) -> (&'static str, String) {
    match e.kind {
        SourceErrorKind::Unreachable => ("unreachable", format!("nothing answers: {}", e.message)),
        SourceErrorKind::Refused => {
            ("refused", format!("the camera refused (wrong user or password, or wrong path?): {}", e.message))
        }
        SourceErrorKind::Unsupported => ("codec", e.message.clone()),
        SourceErrorKind::Protocol | SourceErrorKind::Ended => ("stream", e.message.clone()),
    }
}

fn codec_of(payload: &Payload) -> &'static str {
    match payload {
        Payload::H264 { .. } => "H.264",
        Payload::H265 { .. } => "H.265",
        Payload::Jpeg(_) => "JPEG",
        Payload::Raw(_) => "raw",
    }
}

pub async fn test_camera(
    State(state): State<Arc<AppState>>,
    ApiJson(mut form): ApiJson<CameraForm>,
) -> ApiResult<Json<CameraTest>> {
    let started = Instant::now();
    if form.id.is_empty() {
        form.id = "test".into();
    }
    // Checked as `run` checks it, from the same text the file would get; a stored
    // password is used when the form leaves it empty for a known camera.
    let config = state.config();
    if form.password.as_deref().is_none_or(str::is_empty)
        && let Some(known) = config.camera(&form.id)
    {
        form.password = known.password.clone();
    }
    let text = config_file::add_camera(config_file::NEW_FILE, &form)
        .map_err(|e| ApiError::bad_request(sheetsight_base::error::with_causes(&e)))?;
    let checked = sheetsight_config::parse(&config.path, &text).map_err(|e| super::refused(&e))?;
    let Some(camera) = checked.cameras.into_iter().next() else {
        return Err(ApiError::internal("testing the camera", "no camera in the checked form"));
    };
    let opener = state.service.opener();
    let test = async {
        let mut source = match opener.open(&camera).await {
            Ok(s) => s,
            Err(e) => {
                let (problem, message) = problem_of(&e);
                return failed(problem, message, started);
            }
        };
        let announced = source.announced_interval_s();
        let mut decoder = FrameDecoder::new();
        let mut first: Option<(f64, &'static str, sheetsight_vision::YuvFrame)> = None;
        let mut times = Vec::new();
        loop {
            let packet = match source.next().await {
                Ok(p) => p,
                Err(e) if first.is_some() => {
                    tracing::debug!(error = %e, "camera test ended while measuring the rate");
                    break;
                }
                Err(e) => {
                    let (problem, message) = problem_of(&e);
                    return failed(problem, message, started);
                }
            };
            times.push(packet.t_s);
            let codec = codec_of(&packet.payload);
            if first.is_none() {
                match decoder.decode(packet) {
                    Ok(frames) => {
                        if let Some((t, frame)) = frames.into_iter().next() {
                            first = Some((t, codec, frame));
                        }
                    }
                    Err(e) if e.fatal => return failed("codec", e.message, started),
                    Err(_) => {}
                }
            } else if times.len() >= RATE_PACKETS {
                break;
            }
        }
        let Some((_, codec, frame)) = first else {
            return failed("stream", "the camera sent no picture".into(), started);
        };
        let measured = (times.len() >= 3)
            .then(|| (times.len() - 1) as f64 / (times[times.len() - 1] - times[0]))
            .filter(|f| f.is_finite() && *f > 0.0);
        let fps = announced.map(|i| 1.0 / i).filter(|f| f.is_finite()).or(measured);
        let snapshot = crate::camera_view::encode_jpeg(&frame)
            .ok()
            .map(|jpeg| format!("data:image/jpeg;base64,{}", base64::engine::general_purpose::STANDARD.encode(jpeg)));
        CameraTest {
            ok: true,
            problem: None,
            message: format!("{codec}, {}x{} px", frame.width_px(), frame.height_px()),
            codec: Some(codec),
            width_px: Some(frame.width_px()),
            height_px: Some(frame.height_px()),
            fps: fps.map(|f| (f * 10.0).round() / 10.0),
            snapshot,
            elapsed_ms: started.elapsed().as_millis() as u64,
        }
    };
    match tokio::time::timeout(TEST_TIMEOUT, test).await {
        Ok(result) => Ok(Json(result)),
        Err(_) => Ok(Json(failed(
            "timeout",
            format!("no picture within {} s: the address answers but sends no video", TEST_TIMEOUT.as_secs()),
            started,
        ))),
    }
}
