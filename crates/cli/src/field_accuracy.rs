//! `sheetsight accuracy --set dev|validation`: stack lights, states, strokes and cycles
//! scored on a field set ([`sheetsight_sim::field`]), each scene a camera of its own;
//! with `--bursts` its strokes come in parts, and the cycle targets are checked too.
//!
//! The videos are rendered and encoded once into the material folder and reused while
//! their scene is unchanged (a stamp file per scene), so that a reader change is
//! measured on the very same pictures.

use std::path::{Path, PathBuf};

use anyhow::Context;
use sheetsight_monitor::evaluate::{Score, false_unknown_after, score};
use sheetsight_sim::field::{FieldScene, SceneSet, field_scenes};
use sheetsight_sim::{Scene, StrokePattern, config_toml, write_encoded_video, write_events};
use sheetsight_vision::event::VideoEvent;

pub struct FieldOptions {
    pub set: SceneSet,
    pub scenes: usize,
    /// Index of the first scene taken.
    pub first: usize,
    pub seconds: f64,
    /// Where the videos are kept (and reused); a temporary folder when `None`.
    pub material: Option<PathBuf>,
    /// Only render the material (into `material`), measure nothing.
    pub render_only: bool,
    /// How the scenes' strokes are spaced (`Bursts`: parts, cycles to find).
    pub strokes: StrokePattern,
}

/// Writes every scene's video unless its stamp says it is there already.
fn prepare_material(dir: &Path, scenes: &[(FieldScene, Scene)]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let todo: Vec<&(FieldScene, Scene)> = scenes
        .iter()
        .filter(|(f, _)| std::fs::read_to_string(dir.join(format!("{}.stamp", f.id))).ok() != Some(stamp(f)))
        .collect();
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).min(todo.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<()> {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((field, scene)) = todo.get(i) else { return Ok(()) };
                        let video = dir.join(format!("{}.mp4", field.id));
                        let started = std::time::Instant::now();
                        write_encoded_video(scene, &video, field.encoding, |_, _| {})
                            .with_context(|| format!("writing {}", video.display()))?;
                        let stamp_path = dir.join(format!("{}.stamp", field.id));
                        std::fs::write(&stamp_path, stamp(field))
                            .with_context(|| format!("cannot write {}", stamp_path.display()))?;
                        eprintln!("  {} rendered in {:.0} s", field.id, started.elapsed().as_secs_f64());
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().map_err(|_| anyhow::anyhow!("a scene writer failed internally"))??;
        }
        Ok(())
    })
}

/// What a scene's video was made from.
fn stamp(field: &FieldScene) -> String {
    format!("{:?}\n{:?}\n{}\n", field.spec, field.encoding, env!("CARGO_PKG_VERSION"))
}

/// One scene's facts for the table: size, rate, encoding, noise, lamp heights.
fn describe(field: &FieldScene, scene: &Scene) -> String {
    let heights: Vec<String> = scene.machines.iter().map(|m| format!("{:.0}", 2.0 * m.lamp_radius_px)).collect();
    format!(
        "{}x{} {:>2} fps, {:<30} noise {:.1}, lamps {} px",
        field.spec.width_px,
        field.spec.height_px,
        field.spec.fps,
        field.encoding.to_string(),
        field.spec.nuisances.noise_sigma,
        heights.join("/")
    )
}

/// Runs the measurement; `Ok(true)` when every target holds.
pub fn run(o: &FieldOptions) -> anyhow::Result<bool> {
    anyhow::ensure!(o.scenes >= 1 && o.seconds >= 20.0, "--scenes must be at least 1 and --seconds at least 20");
    let remove_after = o.material.is_none();
    let dir = o.material.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("sheetsight-field-{}-{}", o.set.as_str(), std::process::id()))
    });
    let scenes: Vec<(FieldScene, Scene)> = field_scenes(o.set, o.first..o.first + o.scenes, o.seconds)
        .into_iter()
        .map(|mut f| {
            f.spec.strokes = o.strokes;
            let scene = Scene::generate(&f.spec);
            (f, scene)
        })
        .collect();
    let started = std::time::Instant::now();
    prepare_material(&dir, &scenes)?;
    let material_s = started.elapsed().as_secs_f64();
    if o.render_only {
        anyhow::ensure!(!remove_after, "--render-only needs --material DIR to keep the videos in");
        println!("{} scenes rendered into {} in {material_s:.0} s", scenes.len(), dir.display());
        return Ok(true);
    }

    let truth: Vec<VideoEvent> = scenes.iter().flat_map(|(_, s)| s.truth()).collect();
    write_events(&dir.join("truth.jsonl"), &truth)?;
    let cameras: Vec<(String, String, &Scene)> =
        scenes.iter().map(|(f, s)| (f.id.clone(), format!("{}.mp4", f.id), s)).collect();
    let config_path = dir.join("sheetsight.toml");
    std::fs::write(&config_path, config_toml(&cameras))
        .with_context(|| format!("cannot write {}", config_path.display()))?;
    let config = sheetsight_config::load(&config_path)?;
    let started = std::time::Instant::now();
    let mut events = Vec::new();
    let report = sheetsight_monitor::analyze::analyze(&config, None, |e| events.push(e.clone()))?;
    let analyze_s = started.elapsed().as_secs_f64();
    if let Some(cam) = report.failed_cameras().next() {
        anyhow::bail!("camera `{}` failed: {}", cam.id, cam.error.as_deref().unwrap_or_default());
    }
    write_events(&dir.join("events.jsonl"), &events)?;

    println!(
        "{} set: {} scenes of {:.0} s (seeds {}..{}); material {material_s:.0} s, analysis {analyze_s:.0} s",
        o.set.as_str(),
        scenes.len(),
        o.seconds,
        o.set.first_seed() + o.first as u64,
        o.set.first_seed() + (o.first + scenes.len()) as u64 - 1
    );
    println!("{:<15} {:<72} {:>7} {:>7} {:>9} {:>8}", "scene", "", "lamp %", "state %", "stroke F1", "cycle F1");
    let mut changes = Vec::new();
    for (field, scene) in &scenes {
        let prefix = format!("{}-", field.id);
        let own = |e: &&VideoEvent| e.machine().is_some_and(|m| m.starts_with(&prefix));
        let t: Vec<VideoEvent> = truth.iter().filter(own).cloned().collect();
        let d: Vec<VideoEvent> = events.iter().filter(own).cloned().collect();
        let s = score(&t, &d, o.seconds, 2.0);
        println!(
            "{:<15} {:<72} {:>7.2} {:>7.2} {:>9.4} {:>8.4}",
            field.id,
            describe(field, scene),
            100.0 * s.lamp.ratio(),
            100.0 * s.state.ratio(),
            s.strokes.f1(),
            s.cycles.f1()
        );
        for at_s in scene.global_changes_s() {
            for m in &scene.machines {
                changes.push((m.id.clone(), at_s));
            }
        }
    }
    let s = score(&truth, &events, o.seconds, 2.0);
    print!("{s}");
    for (m, what, t, want, got) in s.examples.iter().take(12) {
        println!("  e.g. {m} {what} at {t:.1} s: truth {want}, read {got}");
    }
    let unknown = false_unknown_after(&truth, &events, &changes, 5.0);
    let longest_unknown_s = unknown.iter().copied().fold(0.0, f64::max);
    let over_1s = unknown.iter().filter(|&&u| u > 1.0).count();
    let mut pass = print_targets(&s, longest_unknown_s, over_1s, unknown.len());
    if o.strokes == StrokePattern::Bursts {
        pass &= crate::offline::print_cycle_targets(&s);
    }
    // Which machines to trace when that last target fails.
    for ((machine, at_s), unknown_s) in changes.iter().zip(&unknown).filter(|(_, u)| **u > 1.0) {
        println!("    {machine}: a lamp `unknown` {unknown_s:.2} s after the global change at {at_s:.1} s");
    }
    if remove_after {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(pass)
}

/// Prints each target with its figure; true when all hold.
fn print_targets(s: &Score, longest_unknown_s: f64, over_1s: usize, changes: usize) -> bool {
    let recall = |mode: &str| s.lamp_by_mode.get(mode).map_or(1.0, |a| a.ratio());
    let modes = ["off", "steady", "blinking", "flashing"];
    let mean_recall = modes.iter().map(|m| recall(m)).sum::<f64>() / modes.len() as f64;
    let mut pass = true;
    let mut check = |what: String, ok: bool| {
        pass &= ok;
        println!("  {what}: {}", if ok { "pass" } else { "FAIL" });
    };
    println!("targets:");
    check(format!("lamp agreement >= 99.5 %: {:.2} %", 100.0 * s.lamp.ratio()), s.lamp.ratio() >= 0.995);
    check(format!("mean per-mode recall >= 99 %: {:.2} %", 100.0 * mean_recall), mean_recall >= 0.99);
    for m in modes {
        check(format!("{m} recall >= 98 %: {:.2} %", 100.0 * recall(m)), recall(m) >= 0.98);
    }
    check(format!("state agreement >= 99.5 %: {:.2} %", 100.0 * s.state.ratio()), s.state.ratio() >= 0.995);
    check(format!("stroke F1 >= 0.995: {:.4}", s.strokes.f1()), s.strokes.f1() >= 0.995);
    check(
        format!(
            "no lamp unknown > 1 s after a global change with nothing in front: longest {longest_unknown_s:.2} s, {over_1s} of {changes} machine-changes over 1 s"
        ),
        over_1s == 0,
    );
    pass
}
