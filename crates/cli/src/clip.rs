//! `sheetsight clip`: an MP4 file of recorded video, of a camera's time span or of a
//! stored cycle (with `[recording]`'s pre- and post-roll), cut without re-encoding.

use std::path::{Path, PathBuf};

use anyhow::Context;
use sheetsight_base::time::UnixMillis;
use sheetsight_record::clip::ClipMaker;
use sheetsight_store::sqlite::SqliteStore;

use crate::live::{history_folder, runtime};

/// What to cut.
pub enum ClipOf {
    Camera { camera: String, from: String, to: String },
    Cycle(i64),
}

fn time(value: &str, flag: &str) -> anyhow::Result<UnixMillis> {
    chrono::DateTime::parse_from_rfc3339(value)
        .map(UnixMillis::from)
        .with_context(|| format!("{flag} `{value}` is not an RFC 3339 time (2026-12-04T08:30:00+08:00)"))
}

pub fn clip(config_path: &Path, of: ClipOf, out: &PathBuf) -> anyhow::Result<bool> {
    let config = sheetsight_config::load(config_path)?;
    let data_dir = history_folder(&config)?.to_path_buf();
    if let ClipOf::Camera { camera, .. } = &of {
        let ids: Vec<&str> = config.cameras.iter().map(|c| c.id.as_str()).collect();
        if !ids.contains(&camera.as_str()) {
            let hint = sheetsight_config::nearest(camera, ids.iter().copied())
                .map_or(String::new(), |n| format!("; did you mean `{n}`?"));
            anyhow::bail!("--camera: no camera `{camera}` in {}{hint}", config.path.display());
        }
    }
    let started = std::time::Instant::now();
    let clip = runtime()?.block_on(async {
        let store = SqliteStore::open(&data_dir).await.with_context(|| format!("history in {}", data_dir.display()))?;
        let maker = ClipMaker::new(store.clone(), &data_dir, config.recording.clone());
        let clip = match &of {
            ClipOf::Camera { camera, from, to } => {
                maker.camera_clip(camera, time(from, "--from")?, time(to, "--to")?).await
            }
            ClipOf::Cycle(id) => maker.cycle_clip(&config, *id).await,
        };
        store.close().await;
        anyhow::Ok(clip?)
    })?;
    std::fs::write(out, &clip.bytes).with_context(|| format!("writing {}", out.display()))?;
    eprintln!(
        "sheetsight: {} ({} {}x{}, {} pictures, {:.1} MB) shows {} from {} to {}; cut in {:.0} ms",
        out.display(),
        clip.codec,
        clip.width_px,
        clip.height_px,
        clip.pictures,
        clip.bytes.len() as f64 / 1e6,
        clip.camera,
        clip.from.rfc3339(),
        clip.to.rfc3339(),
        started.elapsed().as_secs_f64() * 1e3,
    );
    Ok(true)
}
