//! Live cameras: opening them, reading them, and keeping them alive.
//!
//! - [`source`]: the [`LiveSource`](source::LiveSource) a camera is read through and the
//!   [`SourceOpener`](source::SourceOpener) that opens one (injected, so that tests and the
//!   demo supply their own cameras);
//! - [`rtsp`], [`http`] (MJPEG and JPEG snapshots), [`file`] (looped files and folders),
//!   [`thread_source`] (frames made by a thread: files, the simulator);
//! - [`decode`]: compressed payloads to frames, with [`ffmpeg`] for codecs other than
//!   H.264 and JPEG;
//! - [`supervisor`]: one task per camera that connects, watches for stalls, reports health
//!   and retries with [`backoff`] forever, sooner when [`probe`] sees an unreachable
//!   camera come back; a [`tap`] sees every packet before the worker's queue (recording).
//!
//! Times of frames are wall-clock seconds since 1970 (UTC).

pub mod backoff;
pub mod decode;
pub mod ffmpeg;
pub mod file;
pub mod http;
pub mod probe;
pub mod rtsp;
pub mod source;
pub mod supervisor;
pub mod tap;
pub mod thread_source;

pub use source::{LiveSource, NetworkOpener, Packet, Payload, SourceError, SourceErrorKind, SourceOpener};
