//! SheetSight's person detector: a real model, shipped inside the binary, run on the CPU.
//!
//! - [`letterbox`] turns a camera crop (YUV frame or RGB picture) into the model's input
//!   tensor: scaled to fit, top-left, zero padding, BGR normalised (pure).
//! - [`decode`] turns the model's raw outputs into person boxes and runs NMS (pure).
//! - [`detector`] loads an ONNX model with `tract-onnx` (pure Rust, no system library),
//!   checks its inputs and outputs against the contract once, at start, and runs it.
//!
//! Invariants: boxes leave this crate in camera pixels of the frame they were found in,
//! scores in 0..=1; a model that breaks the contract is refused when it is loaded, never
//! half way through a shift.

pub mod decode;
pub mod detector;
pub mod error;
pub mod letterbox;

/// Real frames with people (OpenCV's `vtest.avi`, Apache-2.0 AND BSD-3-Clause; see
/// `samples/README.md`): frame 300 shows six people, frame 100 seven.
pub mod samples {
    pub const VTEST_FRAME_300_JPEG: &[u8] = include_bytes!("../samples/vtest_frame300.jpg");
    pub const VTEST_FRAME_100_JPEG: &[u8] = include_bytes!("../samples/vtest_frame100.jpg");
}

pub use decode::{DecodeOptions, PersonBox, RawOutputs, StrideOutput, iou, nms};
pub use detector::{BUILTIN_MODEL_NAME, PeopleModel, PersonDetector};
pub use error::PeopleError;
pub use letterbox::{Letterbox, RgbSource};
