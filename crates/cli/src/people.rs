//! The person model behind the monitor's [`DetectPeople`]: loaded once at start from
//! `--model`, `[people] model` or the built-in one, so that a wrong model is an error
//! naming its file before any video is read.

use std::path::Path;

use anyhow::Context;
use sheetsight_config::Config;
use sheetsight_monitor::people::DetectPeople;
use sheetsight_people::{CropPx, DecodeOptions, PersonDetector};
use sheetsight_vision::YuvFrame;
use sheetsight_vision::roi::BoxPx;
use sheetsight_vision::zone::PersonPx;

/// The loaded model and its thresholds.
pub struct ModelDetector {
    detector: PersonDetector,
    options: DecodeOptions,
}

impl DetectPeople for ModelDetector {
    fn detect(&self, frame: &YuvFrame, crop: BoxPx) -> Result<Vec<PersonPx>, String> {
        let crop = CropPx { x0: crop.x0, y0: crop.y0, width_px: crop.width(), height_px: crop.height() };
        let found = self.detector.detect(frame, crop, &self.options).map_err(|e| e.to_string())?;
        Ok(found.into_iter().map(|b| PersonPx { x0: b.x0, y0: b.y0, x1: b.x1, y1: b.y1 }).collect())
    }
}

/// The detector for `config`, or `None` when no camera has zones (nobody is looked for).
/// `model` (the `--model` option) takes precedence over `[people] model`.
pub fn for_config(config: &Config, model: Option<&Path>) -> anyhow::Result<Option<ModelDetector>> {
    if config.zones.is_empty() {
        return Ok(None);
    }
    let input_px = config.people.input_px;
    let detector = match model.or(config.people.model.as_deref()) {
        Some(path) => PersonDetector::from_file(path, input_px),
        None => PersonDetector::builtin(input_px),
    }
    .context("loading the person detector for the configured zones")?;
    tracing::info!(model = detector.model_name(), input_px, "person detector ready");
    let options = DecodeOptions { min_score: config.people.min_score as f32, ..DecodeOptions::default() };
    Ok(Some(ModelDetector { detector, options }))
}
