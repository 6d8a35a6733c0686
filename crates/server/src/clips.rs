//! Recorded video: MP4 clips of a camera's time span or of a cycle, served with HTTP
//! range requests so that a browser's `<video>` seeks in them, and each camera's
//! recording status.
//!
//! A clip is cut in memory when asked for (at most `recording.max_clip_s` long) and
//! answered whole or by the one byte range asked; several ranges in one request are
//! answered whole, which HTTP allows. A `<video>` that seeks asks for ranges of one clip
//! again and again: the last few clips are kept for [`CLIP_REUSE`], so each is cut once
//! and its ranges come from the same bytes even while its post-roll is still recorded.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sheetsight_base::LockOrRecover;
use sheetsight_record::RecordingStatus;
use sheetsight_record::StatusSource;
use sheetsight_record::clip::{Clip, ClipError, ClipMaker};

use crate::AppState;
use crate::api::parse_time;
use crate::error::{ApiError, ApiQuery, ApiResult};

/// What the server reaches of the recordings.
#[derive(Clone)]
pub struct RecordingAccess {
    pub clips: ClipMaker,
    pub status: StatusSource,
    pub recent: Arc<RecentClips>,
}

/// How long a clip cut is answered again from memory (the answer's `max-age` too).
pub const CLIP_REUSE: Duration = Duration::from_secs(60);
const RECENT_CLIPS: usize = 4;

/// What a clip was asked as.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ClipKey {
    Camera { camera: String, from_ms: i64, to_ms: i64 },
    Cycle(i64),
}

/// A clip as served: its bytes (shared by every range of it), file name and span.
struct ServedClip {
    bytes: Bytes,
    name: String,
    shown: String,
}

impl From<Clip> for ServedClip {
    fn from(clip: Clip) -> Self {
        Self {
            name: format!("{}-{}.mp4", clip.camera, clip.from.0),
            shown: format!("{}/{}", clip.from.rfc3339(), clip.to.rfc3339()),
            bytes: Bytes::from(clip.bytes),
        }
    }
}

/// The last [`RECENT_CLIPS`] clips served, each for [`CLIP_REUSE`].
#[derive(Default)]
pub struct RecentClips(Mutex<VecDeque<(ClipKey, Instant, Arc<ServedClip>)>>);

impl RecentClips {
    fn get(&self, key: &ClipKey, now: Instant) -> Option<Arc<ServedClip>> {
        let mut recent = self.0.lock_or_recover();
        recent.retain(|(_, at, _)| now.duration_since(*at) < CLIP_REUSE);
        recent.iter().find(|(k, _, _)| k == key).map(|(_, _, c)| c.clone())
    }

    fn put(&self, key: ClipKey, clip: ServedClip, now: Instant) -> Arc<ServedClip> {
        let clip = Arc::new(clip);
        let mut recent = self.0.lock_or_recover();
        if recent.len() >= RECENT_CLIPS {
            recent.pop_front();
        }
        recent.push_back((key, now, clip.clone()));
        clip
    }

    /// The clip of `key`, cut by `cut` unless it was cut within [`CLIP_REUSE`].
    async fn get_or_cut(
        &self,
        key: ClipKey,
        cut: impl Future<Output = Result<Clip, ClipError>>,
    ) -> ApiResult<Arc<ServedClip>> {
        if let Some(clip) = self.get(&key, Instant::now()) {
            return Ok(clip);
        }
        let clip = cut.await.map_err(clip_error)?;
        Ok(self.put(key, clip.into(), Instant::now()))
    }
}

fn access(state: &AppState) -> ApiResult<&RecordingAccess> {
    state.recording.as_ref().ok_or_else(|| ApiError::not_found("this server does not record video"))
}

/// What was asked and cannot be had is the client's to know (400, 404); a fault of the
/// files or the index goes to the log.
fn clip_error(e: ClipError) -> ApiError {
    match &e {
        ClipError::TooLong { .. } | ClipError::EmptySpan { .. } | ClipError::TooLarge => {
            ApiError::bad_request(e.to_string())
        }
        ClipError::NotRecorded { .. }
        | ClipError::UnknownCycle(_)
        | ClipError::UnknownMachine { .. }
        | ClipError::FileMissing { .. } => ApiError::not_found(e.to_string()),
        ClipError::Store(_) => ApiError::internal("reading the recordings index", &e),
        ClipError::Damaged { .. } | ClipError::Mp4(_) => {
            ApiError::internal("cutting the clip", sheetsight_base::error::with_causes(&e))
        }
    }
}

#[derive(Deserialize)]
pub struct ClipQuery {
    pub from: Option<String>,
    pub to: Option<String>,
}

pub async fn camera_clip(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ClipQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let access = access(&state)?;
    if !state.config().cameras.iter().any(|c| c.id == id) {
        return Err(ApiError::not_found(format!("no camera `{}`", crate::auth::shown(&id))));
    }
    let (Some(from), Some(to)) = (q.from.as_deref(), q.to.as_deref()) else {
        return Err(ApiError::bad_request("give `from` and `to` (RFC 3339 or ms since 1970)"));
    };
    let (from, to) = (parse_time(from, "from")?, parse_time(to, "to")?);
    let key = ClipKey::Camera { camera: id.clone(), from_ms: from.0, to_ms: to.0 };
    let clip = access.recent.get_or_cut(key, access.clips.camera_clip(&id, from, to)).await?;
    Ok(serve(&clip, &headers))
}

pub async fn cycle_clip(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let access = access(&state)?;
    let config = state.config();
    let clip = access.recent.get_or_cut(ClipKey::Cycle(id), access.clips.cycle_clip(&config, id)).await?;
    Ok(serve(&clip, &headers))
}

/// One byte range of a `Range: bytes=` header, within `len` bytes; `None` for the
/// whole; `Err` when it lies outside.
fn byte_range(headers: &HeaderMap, len: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(value) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else { return Ok(None) };
    let Some(spec) = value.trim().strip_prefix("bytes=") else { return Ok(None) };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((start, end)) = spec.split_once('-') else { return Ok(None) };
    let (start, end) = (start.trim(), end.trim());
    let range = match (start.parse::<u64>(), end.parse::<u64>()) {
        (Ok(s), Ok(e)) => (s, e.min(len.saturating_sub(1))),
        (Ok(s), Err(_)) if end.is_empty() => (s, len.saturating_sub(1)),
        (Err(_), Ok(n)) if start.is_empty() => (len.saturating_sub(n), len.saturating_sub(1)),
        _ => return Ok(None),
    };
    if range.0 > range.1 || range.0 >= len {
        return Err(());
    }
    Ok(Some(range))
}

fn serve(clip: &ServedClip, headers: &HeaderMap) -> Response {
    let len = clip.bytes.len() as u64;
    let common = [
        (header::CONTENT_TYPE, HeaderValue::from_static("video/mp4")),
        (header::ACCEPT_RANGES, HeaderValue::from_static("bytes")),
        (header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=60")),
    ];
    let disposition = HeaderValue::from_str(&format!("inline; filename=\"{}\"", clip.name))
        .unwrap_or(HeaderValue::from_static("inline"));
    let shown = HeaderValue::from_str(&clip.shown).unwrap_or(HeaderValue::from_static("-"));
    match byte_range(headers, len) {
        Err(()) => {
            let mut r = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            r
        }
        Ok(None) => {
            let mut r = (common, Body::from(clip.bytes.clone())).into_response();
            r.headers_mut().insert(header::CONTENT_DISPOSITION, disposition);
            r.headers_mut().insert("x-clip-span", shown);
            r
        }
        Ok(Some((start, end))) => {
            let part = clip.bytes.slice(start as usize..=end as usize);
            let mut r = (StatusCode::PARTIAL_CONTENT, common, Body::from(part)).into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{len}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            r.headers_mut().insert(header::CONTENT_DISPOSITION, disposition);
            r.headers_mut().insert("x-clip-span", shown);
            r
        }
    }
}

#[derive(Serialize)]
pub struct RecordingView {
    #[serde(flatten)]
    pub status: RecordingStatus,
    /// The first and last recorded times, RFC 3339.
    pub recorded_from: Option<String>,
    pub recorded_to: Option<String>,
}

/// Every recording camera (none when no camera records).
pub async fn recordings(State(state): State<Arc<AppState>>) -> ApiResult<Json<Vec<RecordingView>>> {
    let Some(access) = &state.recording else { return Ok(Json(Vec::new())) };
    let mut out = Vec::new();
    for status in access.status.statuses() {
        let span = state.store.recorded_span(&status.camera).await?;
        out.push(RecordingView {
            recorded_from: span.map(|s| s.0.rfc3339()),
            recorded_to: span.map(|s| s.1.rfc3339()),
            status,
        });
    }
    Ok(Json(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(value: &str, len: u64) -> Result<Option<(u64, u64)>, ()> {
        let mut h = HeaderMap::new();
        h.insert(header::RANGE, HeaderValue::from_str(value).expect("header"));
        byte_range(&h, len)
    }

    #[test]
    fn a_deleted_recording_is_named_to_the_client_and_a_damaged_one_is_not() {
        let gone = clip_error(ClipError::FileMissing { file: "cam1/1780000000000.ssv".into() });
        assert_eq!(gone.status, StatusCode::NOT_FOUND);
        assert!(gone.message.contains("cam1/1780000000000.ssv"), "{}", gone.message);
        let long = clip_error(ClipError::TooLong { asked_s: 4000.0, limit_s: 900 });
        assert_eq!(long.status, StatusCode::BAD_REQUEST);
        let damaged = clip_error(ClipError::Damaged { file: "/srv/x.ssv".into(), reason: "checksum".into() });
        assert_eq!(damaged.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!damaged.message.contains("/srv"), "{}", damaged.message);
    }

    #[test]
    fn a_clip_is_served_again_from_memory_for_a_minute_and_the_last_four_are_kept() {
        let recent = RecentClips::default();
        let t0 = Instant::now();
        let clip = |n: u8| ServedClip { bytes: Bytes::from(vec![n; 4]), name: String::new(), shown: String::new() };
        let key = |n: i64| ClipKey::Cycle(n);
        recent.put(key(1), clip(1), t0);
        let again = recent.get(&key(1), t0 + Duration::from_secs(59)).expect("within a minute");
        assert_eq!(again.bytes[..], [1; 4]);
        assert!(recent.get(&key(2), t0).is_none(), "another clip");
        let camera = ClipKey::Camera { camera: "cam1".into(), from_ms: 0, to_ms: 1_000 };
        assert!(recent.get(&camera, t0).is_none());
        assert!(recent.get(&key(1), t0 + CLIP_REUSE).is_none(), "cut again after a minute");
        for n in 1..=5 {
            recent.put(key(i64::from(n)), clip(n), t0);
        }
        assert!(recent.get(&key(1), t0).is_none(), "the oldest of five goes");
        assert_eq!(recent.get(&key(5), t0).map(|c| c.bytes[0]), Some(5));
    }

    #[test]
    fn byte_ranges_as_browsers_send_them() {
        assert_eq!(range("bytes=0-", 100), Ok(Some((0, 99))));
        assert_eq!(range("bytes=10-19", 100), Ok(Some((10, 19))));
        assert_eq!(range("bytes=90-200", 100), Ok(Some((90, 99))));
        assert_eq!(range("bytes=-10", 100), Ok(Some((90, 99))));
        assert_eq!(range("bytes=100-", 100), Err(()));
        assert_eq!(range("bytes=20-10", 100), Err(()));
        assert_eq!(range("bytes=0-1,5-6", 100), Ok(None));
        assert_eq!(range("items=0-1", 100), Ok(None));
        assert_eq!(byte_range(&HeaderMap::new(), 100), Ok(None));
    }
}
