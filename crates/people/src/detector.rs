//! The model loaded and run by `tract-onnx`, pure Rust on the CPU.
//!
//! Loading fixes the input to one square size, optimises the graph for it and checks
//! the outputs against the contract (`cls_s8/16/32`, `reg_s8/16/32` of the right shapes)
//! once, so that a wrong `--model` is an error at start naming the file. A loaded
//! detector is `Send + Sync`; each call to [`PersonDetector::detect`] runs on the
//! calling thread, so a worker pool decides how many cores people detection gets.

use std::path::Path;
use std::sync::Arc;

use tract_onnx::prelude::*;

use crate::decode::{self, DecodeOptions, PersonBox, RawOutputs, StrideOutput};
use crate::error::PeopleError;
use sheetsight_vision::roi::BoxPx;

use crate::letterbox::{Letterbox, RgbSource};

/// What the built-in model is called in messages and the API.
pub const BUILTIN_MODEL_NAME: &str = "built-in NanoDet-g (COCO)";

static BUILTIN_MODEL: &[u8] = include_bytes!("../model/nanodet_g_coco_dyn.onnx");

const STRIDES: [u32; 3] = [8, 16, 32];

type Plan = Arc<TypedRunnableModel>;

/// A person detector ready to run at one input size.
pub struct PersonDetector {
    model_name: String,
    input_px: u32,
    plan: Plan,
    /// Classes per cell of each level, in [`STRIDES`] order.
    classes: [usize; 3],
}

impl std::fmt::Debug for PersonDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersonDetector").field("model", &self.model_name).field("input_px", &self.input_px).finish()
    }
}

impl PersonDetector {
    /// The model shipped inside SheetSight.
    pub fn builtin(input_px: u32) -> Result<Self, PeopleError> {
        Self::from_bytes(BUILTIN_MODEL_NAME, BUILTIN_MODEL, input_px)
    }

    /// A model of the same contract from a file (`--model`, `[people] model`).
    pub fn from_file(path: &Path, input_px: u32) -> Result<Self, PeopleError> {
        let bytes = std::fs::read(path).map_err(|source| PeopleError::Read { path: path.to_owned(), source })?;
        Self::from_bytes(&path.display().to_string(), &bytes, input_px)
    }

    /// A model from its ONNX bytes; `model_name` is what errors call it.
    pub fn from_bytes(model_name: &str, onnx: &[u8], input_px: u32) -> Result<Self, PeopleError> {
        if !input_px.is_multiple_of(32) || !(128..=1024).contains(&input_px) {
            return Err(PeopleError::InputSize { input_px });
        }
        let contract = |detail: String| PeopleError::Contract { model: model_name.to_owned(), detail };
        let mut model = tract_onnx::onnx()
            .model_for_read(&mut std::io::Cursor::new(onnx))
            .map_err(|e| PeopleError::NotOnnx { model: model_name.to_owned(), detail: format!("{e:#}") })?;
        if model.input_outlets().map(|i| i.len()).unwrap_or(0) != 1 {
            return Err(contract("expected exactly one input".into()));
        }
        let names: Vec<String> =
            STRIDES.iter().map(|s| format!("cls_s{s}")).chain(STRIDES.iter().map(|s| format!("reg_s{s}"))).collect();
        model.select_outputs_by_name(&names).map_err(|e| contract(format!("outputs: {e:#}")))?;
        let size = input_px as usize;
        model
            .set_input_fact(0, f32::fact([1, 3, size, size]).into())
            .map_err(|e| contract(format!("input [1, 3, {size}, {size}]: {e:#}")))?;
        let typed = model
            .into_optimized()
            .map_err(|e| contract(format!("cannot be prepared for a {size} x {size} input: {e:#}")))?;

        let mut classes = [0usize; 3];
        for (i, stride) in STRIDES.iter().enumerate() {
            let cells = (size / *stride as usize).pow(2);
            let shape = |o: usize| -> Result<Vec<usize>, PeopleError> {
                let fact = typed.output_fact(o).map_err(|e| contract(format!("{}: {e:#}", names[o])))?;
                fact.shape.as_concrete().map(|s| s.to_vec()).ok_or_else(|| {
                    contract(format!("{}: shape {:?} is not fixed by the input size", names[o], fact.shape))
                })
            };
            let cls = shape(i)?;
            if cls.len() != 3 || cls[0] != 1 || cls[1] != cells || cls[2] == 0 {
                return Err(contract(format!("{} has shape {cls:?}, expected [1, {cells}, classes]", names[i])));
            }
            let reg = shape(i + 3)?;
            if reg != [1, cells, 4 * decode::BINS] {
                return Err(contract(format!(
                    "{} has shape {reg:?}, expected [1, {cells}, {}]",
                    names[i + 3],
                    4 * decode::BINS
                )));
            }
            classes[i] = cls[2];
        }
        let plan = typed.into_runnable().map_err(|e| contract(format!("{e:#}")))?;
        tracing::debug!(model = model_name, input_px, "person model loaded");
        Ok(Self { model_name: model_name.to_owned(), input_px, plan, classes })
    }

    pub fn model_name(&self) -> &str {
        &self.model_name
    }

    pub fn input_px(&self) -> u32 {
        self.input_px
    }

    /// Runs the model on an input tensor `[3, input_px, input_px]` (see [`Letterbox::tensor`]).
    pub fn infer(&self, tensor: Vec<f32>) -> Result<RawOutputs, PeopleError> {
        let size = self.input_px as usize;
        let failed =
            |e: TractError| PeopleError::Inference { model: self.model_name.clone(), detail: format!("{e:#}") };
        let input = Tensor::from_shape(&[1, 3, size, size], &tensor).map_err(failed)?;
        let outputs = self.plan.run(tvec!(input.into())).map_err(failed)?;
        let mut levels = Vec::with_capacity(3);
        for (i, stride) in STRIDES.iter().enumerate() {
            let floats = |v: &TValue| v.try_as_plain_ram().and_then(|p| p.as_slice::<f32>().map(<[f32]>::to_vec));
            let cls = floats(&outputs[i]).map_err(failed)?;
            let reg = floats(&outputs[i + 3]).map_err(failed)?;
            levels.push(StrideOutput { stride: *stride, classes: self.classes[i], cls, reg });
        }
        Ok(RawOutputs { input_px: self.input_px, levels })
    }

    /// People in `crop` of `source`, in the source's pixels, strongest first.
    /// A crop reaching past the picture is cut to it; an empty one finds nobody.
    pub fn detect<S: RgbSource + ?Sized>(
        &self,
        source: &S,
        crop: BoxPx,
        options: &DecodeOptions,
    ) -> Result<Vec<PersonBox>, PeopleError> {
        let Some(crop) = crop.clipped(source.width_px(), source.height_px()) else {
            return Ok(Vec::new());
        };
        let letterbox = Letterbox::new(crop, self.input_px);
        let raw = self.infer(letterbox.tensor(source))?;
        let (w, h) = (source.width_px() as f32, source.height_px() as f32);
        Ok(decode::decode(&raw, options)
            .into_iter()
            .map(|b| {
                let (x0, y0) = letterbox.to_frame(b.x0, b.y0);
                let (x1, y1) = letterbox.to_frame(b.x1, b.y1);
                PersonBox {
                    x0: x0.clamp(0.0, w),
                    y0: y0.clamp(0.0, h),
                    x1: x1.clamp(0.0, w),
                    y1: y1.clamp(0.0, h),
                    score: b.score,
                }
            })
            .filter(|b| b.area() > 0.0)
            .collect())
    }
}

/// The detector with its thresholds, as the analysis calls it.
#[derive(Debug)]
pub struct PeopleModel {
    pub detector: PersonDetector,
    pub options: DecodeOptions,
}

impl sheetsight_vision::zone::DetectPeople for PeopleModel {
    fn detect(
        &self,
        frame: &sheetsight_vision::YuvFrame,
        crop: BoxPx,
    ) -> Result<Vec<sheetsight_vision::zone::PersonPx>, String> {
        let found = self.detector.detect(frame, crop, &self.options).map_err(|e| e.to_string())?;
        Ok(found
            .into_iter()
            .map(|b| sheetsight_vision::zone::PersonPx { x0: b.x0, y0: b.y0, x1: b.x1, y1: b.y1 })
            .collect())
    }
}
