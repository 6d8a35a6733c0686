//! What a live camera gives, and how one is opened.

use std::sync::Arc;

use bytes::Bytes;

use futures::future::BoxFuture;
use sheetsight_config::{CameraConfig, SourceSpec};
use sheetsight_vision::YuvFrame;

/// A compressed or decoded picture as a camera sends it.
#[derive(Debug)]
pub enum Payload {
    /// One H.264 access unit, Annex B; `key` for an IDR picture (with its parameter sets).
    /// Shared, so that a recorder's tap keeps it without a copy.
    H264 { annex_b: Bytes, key: bool },
    /// One H.265 access unit, Annex B (decoded by the system `ffmpeg`).
    H265 { annex_b: Bytes, key: bool },
    /// One JPEG picture (MJPEG, snapshots, RTP/JPEG).
    Jpeg(Vec<u8>),
    /// A picture already decoded (files, the simulator).
    Raw(YuvFrame),
}

impl Payload {
    /// Whether decoding can start at this picture.
    pub fn is_key(&self) -> bool {
        match self {
            Self::H264 { key, .. } | Self::H265 { key, .. } => *key,
            Self::Jpeg(_) | Self::Raw(_) => true,
        }
    }
}

/// A picture and when it was taken (wall-clock seconds since 1970).
#[derive(Debug)]
pub struct Packet {
    pub t_s: f64,
    pub payload: Payload,
}

/// Why a source could not be opened or read; the kind decides how to retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceErrorKind {
    /// Nothing answers (refused, timed out, no route): probe cheaply, retry when it answers.
    Unreachable,
    /// The camera answers but says no (wrong password, wrong path): back off.
    Refused,
    /// The camera sends something that is not a valid stream: back off.
    Protocol,
    /// A codec or format this build cannot read; the message says the remedy.
    Unsupported,
    /// A file source reached its end (and does not loop).
    Ended,
}

#[derive(Clone, Debug, thiserror::Error)]
#[error("{message}")]
pub struct SourceError {
    pub kind: SourceErrorKind,
    /// Says what is wrong; never contains a password.
    pub message: String,
}

impl SourceError {
    pub fn new(kind: SourceErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }
}

/// A camera being read. `next` must be cancel-safe: dropping its future loses nothing
/// that a later call would need.
pub trait LiveSource: Send {
    fn next(&mut self) -> BoxFuture<'_, Result<Packet, SourceError>>;

    /// The frame interval the camera announced, if it did.
    fn announced_interval_s(&self) -> Option<f64> {
        None
    }

    /// Codec and size, for logs; built from the camera's public source, never its secrets.
    fn describe(&self) -> String;
}

/// Opens cameras. The service holds one; tests and the demo inject their own.
pub trait SourceOpener: Send + Sync {
    fn open<'a>(&'a self, camera: &'a CameraConfig) -> BoxFuture<'a, Result<Box<dyn LiveSource>, SourceError>>;

    /// The `host:port` to probe while a camera is unreachable (network cameras only).
    fn address(&self, camera: &CameraConfig) -> Option<String> {
        let SourceSpec::Url(u) = &camera.source else { return None };
        let url = url::Url::parse(u).ok()?;
        let port = url.port_or_known_default().or_else(|| (url.scheme() == "rtsp").then_some(554))?;
        Some(format!("{}:{port}", url.host_str()?))
    }
}

/// The real cameras: `rtsp://`, `http(s)://`, files and image folders.
#[derive(Clone, Default)]
pub struct NetworkOpener;

impl SourceOpener for NetworkOpener {
    fn open<'a>(&'a self, camera: &'a CameraConfig) -> BoxFuture<'a, Result<Box<dyn LiveSource>, SourceError>> {
        Box::pin(async move {
            match &camera.source {
                SourceSpec::File(path) => crate::file::open(camera, path),
                SourceSpec::Url(u) if u.to_ascii_lowercase().starts_with("rtsp://") => {
                    crate::rtsp::open(camera, u).await.map(|s| Box::new(s) as Box<dyn LiveSource>)
                }
                SourceSpec::Url(u) if u.to_ascii_lowercase().starts_with("sim://") => Err(SourceError::new(
                    SourceErrorKind::Unsupported,
                    format!("{u} is a simulated camera: only `sheetsight demo` opens it"),
                )),
                SourceSpec::Url(u) => crate::http::open(camera, u).await,
            }
        })
    }
}

/// An opener shared by camera tasks.
pub type SharedOpener = Arc<dyn SourceOpener>;

/// Splits the credentials out of a URL: (URL without them, user, password). Separate
/// `username`/`password` keys win over the URL's.
pub fn credentials(camera: &CameraConfig, url: &str) -> Result<(url::Url, Option<(String, String)>), SourceError> {
    let mut parsed = url::Url::parse(url).map_err(|e| {
        SourceError::new(
            SourceErrorKind::Refused,
            format!(
                "{} is not a valid URL ({e}): write `/ ? # @ %` in a user name or password as %2F %3F %23 %40 %25, \
                 or give them as `username` and `password`",
                camera.public_source()
            ),
        )
    })?;
    let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
    let url_user = (!parsed.username().is_empty()).then(|| decode(parsed.username()));
    let url_password = parsed.password().map(decode);
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    let user = camera.username.clone().or(url_user);
    let password = camera.password.clone().or(url_password);
    Ok((parsed, user.map(|u| (u, password.unwrap_or_default()))))
}
