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
    #[error("{path}: {reason}")]
    Decoder { path: PathBuf, reason: String },
    #[error("{path} contains no JPEG or PNG frames")]
    EmptyFolder { path: PathBuf },
    #[error("{path}: unsupported input ({reason})")]
    Unsupported { path: PathBuf, reason: String },
    #[error("cannot write {path}: {reason}")]
    Write { path: PathBuf, reason: String },
}
