//! Media sources of SheetSight: everything that turns a file into [`YuvFrame`]s with
//! media timestamps.
//!
//! - [`mp4`]: MP4 (ISO BMFF) files with H.264 video of any profile, B-frames included.
//! - [`h264`]: the H.264 decoder (OpenH264, bundled C, so no system library is needed)
//!   with frame reordering, and the encoder the simulator writes with.
//! - [`folder`]: folders of JPEG/PNG frames.
//! - [`source`]: the [`FrameSource`] trait and [`open`], which picks one by path.
//! - [`segment`]: recording segment files (compressed pictures as received, with times);
//!   [`clip_mp4`] cuts MP4 clips from them without re-encoding, with the sample entries
//!   of [`codec_config`].
//!
//! Invariant of every source: frames come out in presentation order with strictly
//! increasing `t_s`, seconds from the first presented frame. A damaged part of a file is
//! skipped and recorded as a [`source::MediaIssue`]; only an unusable file is an error.

mod bmff_check;
pub mod clip_mp4;
pub mod codec_config;
pub mod error;
pub mod folder;
pub mod h264;
pub mod jpeg;
pub mod mp4;
pub mod segment;
pub mod source;

pub use error::{CodecError, MediaError};
pub use sheetsight_vision::YuvFrame;
pub use source::{FrameSource, MediaIssue, StreamInfo, TimedFrame, open, probe};
