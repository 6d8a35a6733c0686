//! `sheetsight synth`: write a synthetic shop with ground truth.

use std::path::Path;

use anyhow::Context;
use sheetsight_sim::{Nuisances, Scene, StrokePattern, config_toml, shop_specs, write_events, write_video};

pub struct SynthOptions {
    pub minutes: f64,
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    pub seed: u64,
    pub clean: bool,
    /// Strokes in bursts (parts), so that there are cycles to find.
    pub bursts: bool,
}

/// Writes `cam*.mp4`, `truth.jsonl` and `sheetsight.toml` into `out`; returns the config path.
pub fn synth(out: &Path, o: &SynthOptions) -> anyhow::Result<std::path::PathBuf> {
    anyhow::ensure!(o.minutes > 0.0 && o.minutes <= 24.0 * 60.0, "--minutes must be above 0 and at most a day");
    anyhow::ensure!(
        o.width.is_multiple_of(2) && o.height.is_multiple_of(2) && o.width >= 320 && o.height >= 240,
        "--width and --height must be even, at least 320x240"
    );
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let nuisances = if o.clean { Nuisances::NONE } else { Nuisances::ALL };
    let mut specs = shop_specs(o.width, o.height, o.fps, o.minutes * 60.0, o.seed, nuisances);
    if o.bursts {
        for (_, spec) in &mut specs {
            spec.strokes = StrokePattern::Bursts;
        }
    }
    let scenes: Vec<(String, Scene)> = specs.iter().map(|(id, s)| (id.clone(), Scene::generate(s))).collect();
    let mut truth = Vec::new();
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let handles: Vec<_> = scenes
            .iter()
            .map(|(id, scene)| {
                let path = out.join(format!("{id}.mp4"));
                scope.spawn(move || {
                    write_video(scene, &path, |i, n| {
                        if i % 1000 == 0 || i == n {
                            eprintln!("  {id}: frame {i}/{n}");
                        }
                    })
                    .with_context(|| format!("writing {}", path.display()))
                })
            })
            .collect();
        for h in handles {
            h.join().map_err(|_| anyhow::anyhow!("a video writer failed internally"))??;
        }
        Ok(())
    })?;
    for (_, scene) in &scenes {
        truth.extend(scene.truth());
    }
    write_events(&out.join("truth.jsonl"), &truth)?;
    let cameras: Vec<(String, String, &Scene)> =
        scenes.iter().map(|(id, s)| (id.clone(), format!("{id}.mp4"), s)).collect();
    let config = out.join("sheetsight.toml");
    std::fs::write(&config, config_toml(&cameras)).with_context(|| format!("cannot write {}", config.display()))?;
    eprintln!("wrote {} camera(s), truth.jsonl and sheetsight.toml to {}", scenes.len(), out.display());
    Ok(config)
}
