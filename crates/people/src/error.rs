//! The person detector's one error type.

use std::path::PathBuf;

/// Why a model cannot be loaded or run. Every variant names the model it is about.
#[derive(Debug, thiserror::Error)]
pub enum PeopleError {
    #[error("person model {path}: cannot read the file: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("person model {model}: not a model tract can read as ONNX: {detail}")]
    NotOnnx { model: String, detail: String },
    #[error(
        "person model {model}: does not follow the detector contract (NanoDet cls_s8/16/32, reg_s8/16/32): {detail}"
    )]
    Contract { model: String, detail: String },
    #[error("person model input size {input_px} px: must be a multiple of 32 between 128 and 1024")]
    InputSize { input_px: u32 },
    #[error("person model {model}: inference failed: {detail}")]
    Inference { model: String, detail: String },
}
