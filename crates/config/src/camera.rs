//! `[[camera]]`: where a camera's frames come from and how they are fetched.
//!
//! ```toml
//! [[camera]]
//! id = "cam1"
//! source = "scene_03.mp4"     # a file (relative to this file's folder) or a URL
//! fps = 10                    # optional analysis rate, above 0, at most 120
//! loop = true                 # files only: start again at the end
//! transport = "tcp"           # rtsp:// only: tcp (default) or udp
//! username = "viewer"         # URLs only; takes precedence over the URL's user info
//! password = "secret"
//! max_frame_age_ms = 2000     # older frames are dropped and counted
//! retry_max_s = 30            # longest wait between reconnection attempts
//! record = true               # rtsp:// only: keep the stream as received (see [recording])
//! people_fps = 1              # person detection rate on cameras with zones, at most 5
//! privacy = "blur"            # blur detected people in live views, snapshots and alert
//!                             # pictures (recordings stay as the camera sent them)
//! ```
//!
//! Checking a camera touches no disk: whether a file source exists is checked by
//! [`crate::load`] (see [`crate::Config::check_sources_exist`]).

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::diagnostics::{Bounds, Checker};
use crate::public_source;

const PEOPLE_FPS: Bounds<f64> = Bounds::new(1.0, 0.05, 5.0);
const MAX_FRAME_AGE_MS: Bounds<i64> = Bounds::new(2000, 50, 600_000);
const RETRY_MAX_S: Bounds<f64> = Bounds::new(30.0, 1.0, 3600.0);
/// Highest analysis rate; there is no lowest but 0.
const MAX_FPS: f64 = 120.0;
/// URL schemes of network cameras; `sim://<camera>` is a simulated camera that only
/// `sheetsight demo` opens.
const URL_SCHEMES: [&str; 4] = ["rtsp://", "http://", "https://", "sim://"];

/// Where a camera's frames come from.
#[derive(Clone, Debug, PartialEq)]
pub enum SourceSpec {
    /// A video file or image folder (resolved against the config file's folder).
    File(PathBuf),
    /// A network camera URL (`rtsp://`, `http://`, `https://`), or `sim://` for the
    /// demo's simulated cameras.
    Url(String),
}

/// How RTP packets travel from an RTSP camera.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RtspTransport {
    /// Interleaved in the RTSP TCP connection: passes firewalls and NAT, no loss.
    #[default]
    Tcp,
    /// Separate UDP ports: less latency on a clean LAN, no reordering.
    Udp,
}

impl std::str::FromStr for RtspTransport {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "tcp" => Ok(Self::Tcp),
            "udp" => Ok(Self::Udp),
            _ => Err(()),
        }
    }
}

/// `privacy`: what is done to the people seen in pictures that are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Privacy {
    None,
    Blur,
}

impl std::str::FromStr for Privacy {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "none" => Ok(Self::None),
            "blur" => Ok(Self::Blur),
            _ => Err(()),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct CameraConfig {
    pub id: String,
    pub source: SourceSpec,
    /// Analysis rate; frames above it are skipped.
    pub fps: Option<f64>,
    /// Files only: start again at the end (demos, tests).
    pub loop_file: bool,
    /// RTSP only.
    pub transport: RtspTransport,
    /// Credentials given apart from the URL (they take precedence over the URL's).
    pub username: Option<String>,
    pub password: Option<String>,
    /// Frames older than this when analysis gets to them are dropped and counted.
    pub max_frame_age_ms: u64,
    /// Longest wait between reconnection attempts.
    pub retry_max_s: f64,
    /// Write the compressed stream to the data folder (H.264 and H.265 RTSP cameras).
    pub record: bool,
    /// Person detections per second on this camera (only if it has zones).
    pub people_fps: f64,
    /// Blur detected people in every picture shown (never in recordings).
    pub privacy_blur: bool,
}

impl CameraConfig {
    /// A camera with every optional key at its default.
    pub fn new(id: impl Into<String>, source: SourceSpec, fps: Option<f64>) -> Self {
        Self {
            id: id.into(),
            source,
            fps,
            loop_file: false,
            transport: RtspTransport::Tcp,
            username: None,
            password: None,
            max_frame_age_ms: MAX_FRAME_AGE_MS.default as u64,
            retry_max_s: RETRY_MAX_S.default,
            record: false,
            people_fps: PEOPLE_FPS.default,
            privacy_blur: false,
        }
    }

    /// The source as it may be shown (logs, health, API): no user info, query or
    /// fragment. See [`public_source::public_form`].
    pub fn public_source(&self) -> String {
        public_source::public_form(&self.source)
    }

    /// The secrets of this camera's source, to take out of any message before it is
    /// logged or shown.
    pub fn secrets(&self) -> public_source::Secrets {
        public_source::Secrets::of(&self.source, self.username.as_deref(), self.password.as_deref())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCamera {
    pub id: Spanned<String>,
    source: Spanned<String>,
    fps: Option<Spanned<f64>>,
    #[serde(rename = "loop")]
    loop_file: Option<Spanned<bool>>,
    transport: Option<Spanned<String>>,
    username: Option<Spanned<String>>,
    password: Option<Spanned<String>>,
    max_frame_age_ms: Option<Spanned<i64>>,
    retry_max_s: Option<Spanned<f64>>,
    record: Option<Spanned<bool>>,
    people_fps: Option<Spanned<f64>>,
    privacy: Option<Spanned<String>>,
}

/// The checked cameras, and where each one's `source` stands in the file.
pub(crate) struct Cameras {
    pub cameras: Vec<CameraConfig>,
    pub source_spans: Vec<Range<usize>>,
}

pub(crate) fn check_cameras(c: &Checker<'_>, raw: &[Option<Spanned<RawCamera>>]) -> Cameras {
    let base = c.file().parent().map(Path::to_path_buf).unwrap_or_default();
    let mut out = Cameras { cameras: Vec::new(), source_spans: Vec::new() };
    for (i, cam) in raw.iter().enumerate() {
        let Some(cam) = cam else { continue };
        let cam = cam.get_ref();
        out.cameras.push(check_camera(c, &base, &format!("camera[{i}]"), cam));
        out.source_spans.push(cam.source.span());
    }
    out
}

fn check_camera(c: &Checker<'_>, base: &Path, at: &str, cam: &RawCamera) -> CameraConfig {
    let key = |k: &str| format!("{at}.{k}");
    c.id(&cam.id, &key("id"));
    let src = cam.source.get_ref().trim();
    let source = if URL_SCHEMES.iter().any(|p| src.to_ascii_lowercase().starts_with(p)) {
        SourceSpec::Url(src.to_string())
    } else {
        if src.is_empty() {
            c.report(cam.source.span(), key("source"), "the source is empty");
        }
        SourceSpec::File(base.join(src))
    };
    let fps = cam.fps.as_ref().and_then(|f| {
        let fps = *f.get_ref();
        let ok = fps.is_finite() && fps > 0.0 && fps <= MAX_FPS;
        if !ok {
            c.report(f.span(), key("fps"), format!("fps must be above 0 and at most {MAX_FPS}, not {fps}"));
        }
        ok.then_some(fps)
    });
    let is_file = matches!(source, SourceSpec::File(_));
    let is_rtsp = src.to_ascii_lowercase().starts_with("rtsp://");
    // Simulated cameras send H.264 as RTSP cameras do.
    let recordable = is_rtsp || src.to_ascii_lowercase().starts_with("sim://");
    if let Some(l) = &cam.loop_file
        && !is_file
    {
        c.report(l.span(), key("loop"), "`loop` applies to file sources only");
    }
    let transport = match &cam.transport {
        None => RtspTransport::Tcp,
        Some(t) if !is_rtsp => {
            c.report(t.span(), key("transport"), "`transport` applies to rtsp:// sources only");
            RtspTransport::Tcp
        }
        Some(t) => c.choice(t, &key("transport"), "transport", &["tcp", "udp"]).unwrap_or_default(),
    };
    for (k, v) in [("username", &cam.username), ("password", &cam.password)] {
        if let Some(v) = v
            && is_file
        {
            c.report(v.span(), key(k), format!("`{k}` applies to camera URLs only"));
        }
    }
    if let Some(r) = &cam.record
        && *r.get_ref()
        && !recordable
    {
        let message = "`record` applies to rtsp:// cameras (H.264 or H.265 streams): files and HTTP/JPEG cameras are not recorded";
        c.report(r.span(), key("record"), message);
    }
    CameraConfig {
        id: cam.id.get_ref().clone(),
        source,
        fps,
        loop_file: cam.loop_file.as_ref().is_some_and(|l| *l.get_ref()),
        transport,
        username: cam.username.as_ref().map(|u| u.get_ref().clone()),
        password: cam.password.as_ref().map(|p| p.get_ref().clone()),
        max_frame_age_ms: c.bounded(cam.max_frame_age_ms.as_ref(), MAX_FRAME_AGE_MS, &key("max_frame_age_ms")) as u64,
        retry_max_s: c.bounded(cam.retry_max_s.as_ref(), RETRY_MAX_S, &key("retry_max_s")),
        record: recordable && cam.record.as_ref().is_some_and(|r| *r.get_ref()),
        people_fps: c.bounded(cam.people_fps.as_ref(), PEOPLE_FPS, &key("people_fps")),
        privacy_blur: cam.privacy.as_ref().is_some_and(|p| {
            c.choice::<Privacy>(p, &key("privacy"), "privacy", &["none", "blur"]) == Some(Privacy::Blur)
        }),
    }
}
