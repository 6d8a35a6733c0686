//! RTSP cameras through `retina`: H.264 (decoded here), H.265 (decoded by `ffmpeg`) and
//! RTP/JPEG, over TCP interleaved (default) or UDP.
//!
//! Frame times: the RTP timestamp of each frame, anchored to the wall clock at the first
//! frame, so network jitter does not move strokes; re-anchored if the two drift apart by
//! more than two seconds (a camera whose clock runs fast, a server that restarts).

use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use retina::client::{Credentials, Demuxed, PlayOptions, Session, SessionOptions, SetupOptions, Transport};
use retina::codec::{CodecItem, FrameFormat};
use sheetsight_config::{CameraConfig, RtspTransport};

use crate::source::{LiveSource, Packet, Payload, SourceError, SourceErrorKind, credentials};
use sheetsight_base::time::now_unix_s;

/// How long DESCRIBE, SETUP and PLAY may take together.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Codec {
    H264,
    H265,
    Jpeg,
}

pub struct RtspSource {
    demuxed: Demuxed,
    stream_index: usize,
    codec: Codec,
    anchor_s: Option<f64>,
    description: String,
    interval_s: Option<f64>,
}

/// Sorts a retina error into what the supervisor acts on, with a message for people.
fn classify(display_url: &str, step: &str, e: &retina::Error) -> SourceError {
    let text = e.to_string();
    let (kind, reason) = match e.status_code() {
        Some(401) | Some(403) => (SourceErrorKind::Refused, "the camera refused the user name or password".to_string()),
        Some(404) => (SourceErrorKind::Refused, "the camera has no stream at this path".to_string()),
        Some(code) => (SourceErrorKind::Refused, format!("the camera answered {code}")),
        None if ["refused", "timed out", "unreachable", "No route", "reset by peer", "Connection"]
            .iter()
            .any(|w| text.contains(w)) =>
        {
            (SourceErrorKind::Unreachable, "cannot connect".to_string())
        }
        None => (SourceErrorKind::Protocol, "the stream broke off".to_string()),
    };
    SourceError::new(kind, format!("{display_url}: {step}: {reason} ({})", first_line(&text)))
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

pub async fn open(camera: &CameraConfig, url: &str) -> Result<RtspSource, SourceError> {
    let display = camera.public_source();
    match tokio::time::timeout(OPEN_TIMEOUT, open_session(camera, url, &display)).await {
        Ok(r) => r,
        Err(_) => Err(SourceError::new(
            SourceErrorKind::Unreachable,
            format!("{display}: no answer to DESCRIBE/SETUP/PLAY within {} s", OPEN_TIMEOUT.as_secs()),
        )),
    }
}

async fn open_session(camera: &CameraConfig, url: &str, display: &str) -> Result<RtspSource, SourceError> {
    let (url, creds) = credentials(camera, url)?;
    let options = SessionOptions::default()
        .creds(creds.map(|(username, password)| Credentials { username, password }))
        .user_agent(format!("SheetSight/{}", env!("CARGO_PKG_VERSION")));
    let mut session = Session::describe(url, options).await.map_err(|e| classify(display, "DESCRIBE", &e))?;
    let Some((index, stream)) = session.streams().iter().enumerate().find(|(_, s)| s.media() == "video") else {
        return Err(SourceError::new(
            SourceErrorKind::Unsupported,
            format!("{display}: the camera offers no video stream"),
        ));
    };
    let codec = match stream.encoding_name() {
        "h264" => Codec::H264,
        "h265" => Codec::H265,
        "jpeg" => Codec::Jpeg,
        other => {
            return Err(SourceError::new(
                SourceErrorKind::Unsupported,
                format!(
                    "{display}: the video is `{other}`; SheetSight reads H.264, H.265 and JPEG: set the camera to H.264"
                ),
            ));
        }
    };
    let interval_s = stream.framerate().filter(|f| *f > 0.0).map(|f| 1.0 / f64::from(f));
    let transport = match camera.transport {
        RtspTransport::Tcp => Transport::Tcp(Default::default()),
        RtspTransport::Udp => Transport::Udp(Default::default()),
    };
    session
        .setup(index, SetupOptions::default().transport(transport).frame_format(FrameFormat::SIMPLE))
        .await
        .map_err(|e| classify(display, "SETUP", &e))?;
    let playing = session.play(PlayOptions::default()).await.map_err(|e| classify(display, "PLAY", &e))?;
    let demuxed = playing.demuxed().map_err(|e| classify(display, "PLAY", &e))?;
    Ok(RtspSource {
        demuxed,
        stream_index: index,
        codec,
        anchor_s: None,
        description: format!("{display} ({codec:?} over {:?})", camera.transport),
        interval_s,
    })
}

impl RtspSource {
    /// Wall-clock time of a frame from its RTP time.
    fn wall_time(&mut self, rtp_s: f64) -> f64 {
        let now = now_unix_s();
        let t = self.anchor_s.map_or(now, |a| a + rtp_s);
        if self.anchor_s.is_none() || (t - now).abs() > 2.0 {
            self.anchor_s = Some(now - rtp_s);
            return now;
        }
        t
    }
}

impl LiveSource for RtspSource {
    fn next(&mut self) -> BoxFuture<'_, Result<Packet, SourceError>> {
        Box::pin(async move {
            loop {
                let item = match self.demuxed.next().await {
                    Some(Ok(item)) => item,
                    Some(Err(e)) => return Err(classify(&self.description, "reading", &e)),
                    None => {
                        return Err(SourceError::new(
                            SourceErrorKind::Unreachable,
                            format!("{}: the camera closed the stream", self.description),
                        ));
                    }
                };
                let CodecItem::VideoFrame(frame) = item else { continue };
                if frame.stream_id() != self.stream_index {
                    continue;
                }
                let t_s = self.wall_time(frame.timestamp().elapsed_secs());
                let key = frame.is_random_access_point();
                let data = frame.into_data();
                let payload = match self.codec {
                    Codec::H264 => Payload::H264 { annex_b: data.into(), key },
                    Codec::H265 => Payload::H265 { annex_b: data.into(), key },
                    Codec::Jpeg => Payload::Jpeg(data),
                };
                return Ok(Packet { t_s, payload });
            }
        })
    }

    fn announced_interval_s(&self) -> Option<f64> {
        self.interval_s
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}
