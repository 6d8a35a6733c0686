//! The person model behind the analysis's `DetectPeople`: loaded once at start from
//! `--model`, `[people] model` or the built-in one, so that a wrong model is an error
//! naming its file before any video is read.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use sheetsight_config::Config;
use sheetsight_people::{DecodeOptions, PeopleModel, PersonDetector};
use sheetsight_service::PeoplePool;

/// The detector for `config`, or `None` when no camera has zones or blurs people
/// (nobody is looked for).
/// `model` (the `--model` option) takes precedence over `[people] model`.
pub fn for_config(config: &Config, model: Option<&Path>) -> anyhow::Result<Option<PeopleModel>> {
    if config.zones.is_empty() && !config.cameras.iter().any(|c| c.privacy_blur) {
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
    Ok(Some(PeopleModel { detector, options }))
}

/// The people workers for `run` and `demo`, or `None` when no camera has zones.
pub fn pool_for(config: &Config) -> anyhow::Result<Option<Arc<PeoplePool>>> {
    let Some(model) = for_config(config, None)? else { return Ok(None) };
    let pool = PeoplePool::start(Arc::new(model), config.people.workers).context("starting the people workers")?;
    Ok(Some(pool))
}
