//! The [`FrameSource`] trait, stream facts, and [`open`]/[`probe`] by path.

use std::path::Path;

use sheetsight_vision::YuvFrame;

use crate::MediaError;

/// A decoded frame with its presentation time.
#[derive(Clone, Debug)]
pub struct TimedFrame {
    /// Seconds from the first presented frame of the stream.
    pub t_s: f64,
    pub frame: YuvFrame,
}

/// Facts about a stream known before any frame is decoded.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamInfo {
    pub width_px: u32,
    pub height_px: u32,
    /// Nominal frame rate, if the container says.
    pub fps: Option<f64>,
    pub frame_count: Option<u64>,
    pub duration_s: Option<f64>,
    /// e.g. "H.264 High", "JPEG/PNG frames"
    pub codec: String,
}

/// Something damaged in the input that was skipped.
#[derive(Clone, Debug, PartialEq)]
pub struct MediaIssue {
    /// Where: sample number, file name, byte offset.
    pub at: String,
    pub what: String,
}

impl std::fmt::Display for MediaIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.at, self.what)
    }
}

/// A source of frames in presentation order.
pub trait FrameSource: Send {
    fn info(&self) -> &StreamInfo;
    /// The next frame; `Ok(None)` at the end. An error ends the stream: the frames before
    /// it were good, and the error says where it broke.
    fn next_frame(&mut self) -> Result<Option<TimedFrame>, MediaError>;
    /// Damage skipped so far.
    fn issues(&self) -> &[MediaIssue];
}

fn is_mp4(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "mp4" | "m4v" | "mov"))
}

/// Opens a video file or an image folder. `folder_fps` times the frames of a folder.
pub fn open(path: &Path, folder_fps: f64) -> Result<Box<dyn FrameSource>, MediaError> {
    let meta = std::fs::metadata(path).map_err(|source| MediaError::Io { path: path.to_path_buf(), source })?;
    if meta.is_dir() {
        return Ok(Box::new(crate::folder::ImageFolderSource::open(path, folder_fps)?));
    }
    if is_mp4(path) {
        return Ok(Box::new(crate::mp4::Mp4Source::open(path)?));
    }
    Err(MediaError::Unsupported {
        path: path.to_path_buf(),
        reason: "expected an .mp4/.m4v/.mov file or a folder of JPEG/PNG frames".into(),
    })
}

/// Reads a stream's facts (size, rate) without decoding frames.
pub fn probe(path: &Path) -> Result<StreamInfo, MediaError> {
    let meta = std::fs::metadata(path).map_err(|source| MediaError::Io { path: path.to_path_buf(), source })?;
    if meta.is_dir() {
        return crate::folder::probe(path);
    }
    if is_mp4(path) {
        return crate::mp4::probe(path);
    }
    Err(MediaError::Unsupported {
        path: path.to_path_buf(),
        reason: "expected an .mp4/.m4v/.mov file or a folder of JPEG/PNG frames".into(),
    })
}
