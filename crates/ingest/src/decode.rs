//! Payloads to frames: H.264 with OpenH264, JPEG with `image`, H.265 through `ffmpeg`.
//! One decoder per camera connection; made anew when the camera reconnects.

use std::collections::VecDeque;

use sheetsight_base::error::with_causes;
use sheetsight_media::h264::H264Decoder;
use sheetsight_vision::YuvFrame;

use crate::ffmpeg::FfmpegDecoder;
use crate::source::{Packet, Payload};

/// A frame that failed to decode: `fatal` when no later frame can succeed either
/// (a codec without a decoder).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DecodeError {
    pub fatal: bool,
    pub message: String,
}

fn corrupt(message: impl Into<String>) -> DecodeError {
    DecodeError { fatal: false, message: message.into() }
}

#[derive(Default)]
pub struct FrameDecoder {
    h264: Option<H264Decoder>,
    h265: Option<FfmpegDecoder>,
    /// Times of access units given to a decoder that has not returned their frames yet.
    pending_t_s: VecDeque<f64>,
}

impl FrameDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes one packet; returns the frames it completed, with their times.
    pub fn decode(&mut self, packet: Packet) -> Result<Vec<(f64, YuvFrame)>, DecodeError> {
        match packet.payload {
            Payload::Raw(frame) => Ok(vec![(packet.t_s, frame)]),
            Payload::Jpeg(bytes) => decode_jpeg(&bytes).map(|f| vec![(packet.t_s, f)]),
            Payload::H264 { annex_b, .. } => {
                if self.h264.is_none() {
                    self.h264 =
                        Some(H264Decoder::new().map_err(|e| DecodeError { fatal: true, message: with_causes(&e) })?);
                }
                let decoder = self.h264.as_mut().ok_or_else(|| corrupt("no decoder"))?;
                let pts_ms = (packet.t_s * 1000.0).round() as i64;
                let frames =
                    decoder.decode(&annex_b, pts_ms).map_err(|e| corrupt(format!("H.264: {}", with_causes(&e))))?;
                Ok(frames.into_iter().map(|(pts, f)| (pts as f64 / 1000.0, f)).collect())
            }
            Payload::H265 { annex_b, .. } => {
                if self.h265.is_none() {
                    self.h265 = Some(
                        FfmpegDecoder::start("hevc", "H.265 (HEVC)")
                            .map_err(|e| DecodeError { fatal: true, message: with_causes(&e) })?,
                    );
                }
                let decoder = self.h265.as_mut().ok_or_else(|| corrupt("no decoder"))?;
                self.pending_t_s.push_back(packet.t_s);
                let frames =
                    decoder.decode(&annex_b).map_err(|e| DecodeError { fatal: true, message: with_causes(&e) })?;
                Ok(frames.into_iter().map(|f| (self.pending_t_s.pop_front().unwrap_or(packet.t_s), f)).collect())
            }
        }
    }
}

/// A JPEG picture as a frame; a truncated or corrupt picture is an error, not a panic.
pub fn decode_jpeg(bytes: &[u8]) -> Result<YuvFrame, DecodeError> {
    // The decoder fills a cut-off picture with grey rather than failing; a picture
    // without its end marker would read as a lamp gone dark, so it is refused here.
    let end = bytes.iter().rposition(|b| !matches!(b, 0 | b'\r' | b'\n')).map_or(0, |i| i + 1);
    if !bytes.starts_with(&[0xFF, 0xD8]) || !bytes[..end].ends_with(&[0xFF, 0xD9]) {
        return Err(corrupt(format!(
            "JPEG of {} bytes is truncated or not a JPEG (no start or end marker)",
            bytes.len()
        )));
    }
    let image = image::load_from_memory_with_format(bytes, image::ImageFormat::Jpeg)
        .map_err(|e| corrupt(format!("JPEG of {} bytes: {e}", bytes.len())))?
        .to_rgb8();
    YuvFrame::from_rgb8(image.width(), image.height(), image.as_raw())
        .ok_or_else(|| corrupt(format!("JPEG of {}x{} cannot be converted", image.width(), image.height())))
}
