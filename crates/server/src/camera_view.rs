//! Cameras for people: the list (health and counters, never credentials), the newest
//! analysed frame as JPEG, and a live MJPEG stream of it (about 5 frames a second, as
//! often as the worker refreshes its status). A frame is encoded once however many
//! people watch.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sheetsight_base::LockOrRecover;
use sheetsight_config::{CameraConfig, SourceSpec};
use sheetsight_service::CameraStatus;
use sheetsight_store::UnixMillis;

use crate::AppState;
use crate::error::{ApiError, ApiResult};

const MJPEG_BOUNDARY: &str = "sheetsight-frame";
const MJPEG_INTERVAL: Duration = Duration::from_millis(200);

/// The newest JPEG of each camera, by frame time.
#[derive(Default)]
pub struct JpegCache(Mutex<HashMap<String, (f64, Bytes)>>);

#[derive(Serialize)]
pub struct CameraInfo {
    pub id: String,
    /// Where frames come from, without credentials: `rtsp://10.0.0.5:554/stream1`.
    pub source: String,
    pub health: &'static str,
    pub detail: Option<String>,
    pub since: String,
    pub frames_decoded: u64,
    pub frames_analyzed: u64,
    pub frames_stale: u64,
    pub decode_errors: u64,
    pub packets_dropped: u64,
    pub reconnects: u64,
    pub machines: Vec<String>,
    pub frame_width_px: Option<u32>,
    pub frame_height_px: Option<u32>,
}

/// A source as viewers see it: a URL's public form (no user info, query or fragment);
/// a file's name without the server's folders.
pub fn public_source(camera: &CameraConfig) -> String {
    match &camera.source {
        SourceSpec::File(p) => p.file_name().map_or_else(|| "file".into(), |f| f.to_string_lossy().into_owned()),
        SourceSpec::Url(_) => camera.public_source(),
    }
}

fn info(camera: &CameraConfig, status: &CameraStatus) -> CameraInfo {
    CameraInfo {
        id: camera.id.clone(),
        source: public_source(camera),
        health: status.health.as_str(),
        detail: status.detail.clone(),
        since: status.since.rfc3339(),
        frames_decoded: status.stats.frames_decoded,
        frames_analyzed: status.stats.frames_analyzed,
        frames_stale: status.stats.frames_stale,
        decode_errors: status.stats.decode_errors,
        packets_dropped: status.packets_dropped,
        reconnects: status.stats.reconnects,
        machines: status.machines.iter().map(|m| m.id.clone()).collect(),
        frame_width_px: status.frame.as_ref().map(|f| f.1.width_px()),
        frame_height_px: status.frame.as_ref().map(|f| f.1.height_px()),
    }
}

pub async fn cameras(State(state): State<Arc<AppState>>) -> Json<Vec<CameraInfo>> {
    let config = state.config();
    let statuses = state.service.statuses();
    Json(config.cameras.iter().filter_map(|c| statuses.iter().find(|s| s.id == c.id).map(|s| info(c, s))).collect())
}

pub fn known_camera(state: &AppState, id: &str) -> ApiResult<CameraStatus> {
    state.service.status(id).ok_or_else(|| {
        let ids: Vec<String> = state.config().cameras.iter().map(|c| c.id.clone()).collect();
        ApiError::not_found(format!("no camera `{}`; cameras: {}", crate::auth::shown(id), ids.join(", ")))
    })
}

pub use sheetsight_media::jpeg::encode_jpeg;

/// A camera's frame as it may be shown with `privacy = "blur"`: the people of the last
/// sighting pixelated; with no sighting in the last 3 s (none yet, or the people
/// workers behind), the whole frame, so that nobody is shown by mistake.
fn private_view(
    frame: &sheetsight_vision::YuvFrame,
    t_s: f64,
    people: Option<&(f64, Vec<sheetsight_vision::zone::PersonPx>)>,
) -> sheetsight_vision::YuvFrame {
    let mut shown = frame.clone();
    match people {
        Some((seen_s, boxes)) if (t_s - seen_s).abs() <= 3.0 => {
            sheetsight_vision::zone::pixelate_people(&mut shown, boxes, 12);
        }
        _ => sheetsight_vision::zone::pixelate_all(&mut shown, 24),
    }
    shown
}

/// The newest frame of a camera as JPEG, with its time; `None` before the first frame.
fn jpeg(state: &AppState, id: &str) -> ApiResult<Option<(f64, Bytes)>> {
    let status = known_camera(state, id)?;
    let Some((t_s, frame)) = status.frame else { return Ok(None) };
    if let Some(hit) = state.jpegs.0.lock_or_recover().get(id).filter(|c| c.0 == t_s) {
        return Ok(Some(hit.clone()));
    }
    let blur = state.config().camera(id).is_some_and(|c| c.privacy_blur);
    let shown = if blur { private_view(&frame, t_s, status.people.as_ref()) } else { (*frame).clone() };
    let bytes = Bytes::from(encode_jpeg(&shown).map_err(|e| ApiError::internal("encoding the JPEG", e))?);
    state.jpegs.0.lock_or_recover().insert(id.to_string(), (t_s, bytes.clone()));
    Ok(Some((t_s, bytes)))
}

pub async fn snapshot(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> ApiResult<Response> {
    let Some((t_s, bytes)) = jpeg(&state, &id)? else {
        return Err(ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            format!("camera `{id}` has no analysed frame yet"),
        ));
    };
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg".to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
            (header::HeaderName::from_static("x-frame-time"), UnixMillis::from_unix_s(t_s).rfc3339()),
        ],
        bytes,
    )
        .into_response())
}

/// The people of a camera's last sighting (frame pixels), for the live boxes.
#[derive(serde::Serialize)]
pub struct PeopleView {
    pub camera: String,
    /// When the frame they were found in was taken; `null` before the first sighting.
    pub seen: Option<String>,
    /// Seconds between that frame and the newest one.
    pub age_s: Option<f64>,
    /// `[x0, y0, x1, y1]` per person.
    pub boxes: Vec<[f32; 4]>,
}

pub async fn people(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> ApiResult<Json<PeopleView>> {
    let status = known_camera(&state, &id)?;
    let newest_s = status.frame.as_ref().map(|f| f.0);
    let (seen, age_s, boxes) = match &status.people {
        Some((seen_s, people)) => (
            Some(UnixMillis::from_unix_s(*seen_s).rfc3339()),
            newest_s.map(|n| (n - seen_s).max(0.0)),
            people.iter().map(|p| [p.x0, p.y0, p.x1, p.y1]).collect(),
        ),
        None => (None, None, Vec::new()),
    };
    Ok(Json(PeopleView { camera: id, seen, age_s, boxes }))
}

pub async fn mjpeg(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> ApiResult<Response> {
    known_camera(&state, &id)?;
    let stopping = state.stopping.clone();
    let stream = async_stream(state, id, async move { stopping.wait().await });
    Ok((
        [
            (header::CONTENT_TYPE, format!("multipart/x-mixed-replace; boundary={MJPEG_BOUNDARY}")),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Each new frame as one part, until the viewer leaves or the server stops.
fn async_stream(
    state: Arc<AppState>,
    id: String,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    use futures::StreamExt;
    let ticks = tokio_stream::wrappers::IntervalStream::new(tokio::time::interval(MJPEG_INTERVAL));
    let mut last_t = f64::NEG_INFINITY;
    ticks.take_until(Box::pin(stop)).filter_map(move |_| {
        let next = match jpeg(&state, &id) {
            Ok(Some((t, bytes))) if t > last_t => {
                last_t = t;
                let mut part = format!(
                    "--{MJPEG_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
                    bytes.len()
                )
                .into_bytes();
                part.extend_from_slice(&bytes);
                part.extend_from_slice(b"\r\n");
                Some(Ok(Bytes::from(part)))
            }
            _ => None,
        };
        async move { next }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privacy_blurs_the_people_seen_or_everything_when_no_sighting_is_recent() {
        let mut frame = sheetsight_vision::YuvFrame::filled(96, 64, 16, 128, 128);
        for (i, px) in frame.planes_mut().0.iter_mut().enumerate() {
            *px = ((i * 53) % 200 + 20) as u8;
        }
        let person = sheetsight_vision::zone::PersonPx { x0: 40.0, y0: 20.0, x1: 56.0, y1: 50.0 };
        let seen = (100.0, vec![person]);
        let shown = private_view(&frame, 100.5, Some(&seen));
        let row = |f: &sheetsight_vision::YuvFrame, y: usize| f.y_plane()[y * 96..(y + 1) * 96].to_vec();
        assert_ne!(row(&shown, 30)[44..52], row(&frame, 30)[44..52], "the person is blurred");
        assert_eq!(row(&shown, 2), row(&frame, 2), "the rest is not");
        for stale in [None, Some(&(90.0, vec![person]))] {
            let shown = private_view(&frame, 100.5, stale);
            assert_ne!(row(&shown, 2), row(&frame, 2), "without a recent sighting nothing is shown sharp");
        }
    }

    #[test]
    fn public_sources_carry_no_credentials() {
        let url = |u: &str| CameraConfig::new("c", SourceSpec::Url(u.into()), None);
        assert_eq!(public_source(&url("rtsp://admin:pa@ss@10.0.0.5:554/s1?token=x")), "rtsp://10.0.0.5:554/s1");
        assert_eq!(public_source(&url("http://user@cam/mjpeg")), "http://cam/mjpeg");
        assert_eq!(public_source(&url("rtsp://cam")), "rtsp://cam");
        let file = CameraConfig::new("c", SourceSpec::File("/srv/videos/secret-dir/a.mp4".into()), None);
        assert_eq!(public_source(&file), "a.mp4");
    }
}
