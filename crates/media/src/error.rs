//! The one error type of the media crate; every variant names the input.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a readable MP4 file: {reason}")]
    Container { path: PathBuf, reason: String },
    #[error("{path} has no H.264 video track{found}")]
    NoVideo { path: PathBuf, found: String },
    #[error("{path}: H.264 decoder")]
    Decoder {
        path: PathBuf,
        #[source]
        source: Box<CodecError>,
    },
    #[error("{path} contains no JPEG or PNG frames")]
    EmptyFolder { path: PathBuf },
    #[error("{path}: unsupported input ({reason})")]
    Unsupported { path: PathBuf, reason: String },
    #[error("cannot write {path}: {reason}")]
    Write { path: PathBuf, reason: String },
}

/// What the H.264 encoder or decoder refused, with OpenH264's own error as the cause.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("OpenH264 cannot {what}")]
    OpenH264 {
        what: &'static str,
        #[source]
        source: openh264::Error,
    },
    #[error("quantiser {qp} is out of range 0..=51")]
    Quantiser { qp: u8 },
    #[error("H.264 encoding needs an even frame size of at least 16x16, got {width_px}x{height_px}")]
    FrameSize { width_px: u32, height_px: u32 },
    #[error("frame is {width_px}x{height_px}, the encoder was made for {encoder_width_px}x{encoder_height_px}")]
    FrameMismatch { width_px: u32, height_px: u32, encoder_width_px: u32, encoder_height_px: u32 },
}

impl CodecError {
    pub(crate) fn openh264(what: &'static str) -> impl FnOnce(openh264::Error) -> CodecError {
        move |source| CodecError::OpenH264 { what, source }
    }
}
