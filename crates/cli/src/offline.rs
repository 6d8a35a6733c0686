//! `analyze`, `evaluate` and `accuracy`: offline work on recorded video.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use sheetsight_base::time::VideoSeconds;
use sheetsight_monitor::analyze::AnalyzeReport;
use sheetsight_monitor::evaluate::score;
use sheetsight_monitor::jsonl::{read_events, write_event};
use sheetsight_monitor::people::DetectPeople;
use sheetsight_monitor::summary::{table, zone_table};

/// Runs `analyze`; `Ok(false)` when a camera broke (its events are still written).
pub fn analyze(
    config_path: &Path,
    events_path: &Path,
    summary_json: Option<&Path>,
    model: Option<&Path>,
) -> anyhow::Result<bool> {
    let config = sheetsight_config::load(config_path)?;
    if config.cameras.is_empty() {
        anyhow::bail!("{}: no [[camera]] is configured, so there is nothing to analyse", config_path.display());
    }
    // Everything that can be checked is, before the output is created.
    let prepared = sheetsight_monitor::analyze::prepare(&config)?;
    let detector = crate::people::for_config(&config, model)?;
    let mut out: Box<dyn Write> = if events_path == Path::new("-") {
        Box::new(std::io::BufWriter::new(std::io::stdout().lock()))
    } else {
        let file =
            std::fs::File::create(events_path).with_context(|| format!("cannot create {}", events_path.display()))?;
        Box::new(std::io::BufWriter::new(file))
    };
    let mut write_error = None;
    let detector = detector.as_ref().map(|d| d as &dyn DetectPeople);
    let report = sheetsight_monitor::analyze::analyze_prepared(&config, &prepared, detector, |e| {
        if write_error.is_none()
            && let Err(err) = write_event(&mut out, e)
        {
            write_error = Some(err);
        }
    });
    if let Some(e) = write_error {
        return Err(e).with_context(|| format!("cannot write {}", events_path.display()));
    }
    out.flush().with_context(|| format!("cannot write {}", events_path.display()))?;
    print_report(&report);
    if let Some(p) = summary_json {
        let summary = if report.zones.is_empty() {
            serde_json::to_value(&report.summaries)?
        } else {
            serde_json::json!({"machines": report.summaries, "zones": report.zones})
        };
        std::fs::write(p, serde_json::to_string_pretty(&summary)?)
            .with_context(|| format!("cannot write {}", p.display()))?;
    }
    let mut ok = true;
    for cam in report.failed_cameras() {
        eprintln!("camera `{}` stopped early: {}", cam.id, cam.error.as_deref().unwrap_or_default());
        ok = false;
    }
    Ok(ok)
}

fn print_report(report: &AnalyzeReport) {
    for cam in &report.cameras {
        let speed = if cam.wall_s > 0.0 { cam.duration_s / cam.wall_s } else { 0.0 };
        eprintln!(
            "camera {}: {} ({}), {:.1} s of video, {} frames analysed, {} skipped by the fps limit, {:.1}x real time{}",
            cam.id,
            cam.source.display(),
            cam.codec,
            cam.duration_s,
            cam.frames_analyzed,
            cam.frames_skipped,
            speed,
            if cam.issues.is_empty() {
                String::new()
            } else {
                format!(", {} damaged part(s) skipped", cam.issues.len())
            }
        );
        if cam.people_detections + cam.people_failures > 0 {
            eprintln!("  people looked for {} times ({} failed)", cam.people_detections, cam.people_failures);
        }
        for (machine, (seen, ignored)) in cam.strokes_with_person.iter().filter(|(_, (seen, _))| *seen > 0) {
            eprintln!(
                "  {machine}: {seen} strokes seen with a person in the motion region ({ignored} left out of the counts)"
            );
        }
        for issue in cam.issues.iter().take(5) {
            eprintln!("  {issue}");
        }
    }
    print!("{}", table(&report.summaries));
    if !report.zones.is_empty() {
        print!("{}", zone_table(&report.summaries, &report.zones));
    }
}

/// Runs `evaluate`.
pub fn evaluate(truth: &Path, events: &Path, seconds: Option<f64>, grace_s: f64, json: bool) -> anyhow::Result<bool> {
    // Both are timed in seconds from the video's start.
    let truth = read_events::<VideoSeconds>(truth)?;
    let events = read_events::<VideoSeconds>(events)?;
    let seconds = seconds.unwrap_or_else(|| truth.iter().filter_map(|e| e.t()).map(|t| t.0).fold(0.0, f64::max));
    let s = score(&truth, &events, seconds, grace_s);
    if json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        print!("{s}");
        for (m, what, t, want, got) in s.examples.iter().take(10) {
            println!("  e.g. {m} {what} at {t:.1} s: truth {want}, read {got}");
        }
    }
    Ok(true)
}

/// `accuracy`: synthesise, analyse and score; prints the figures against the targets.
/// Prints the cycle targets with their figures; true when both hold.
pub fn print_cycle_targets(s: &sheetsight_monitor::evaluate::Score) -> bool {
    let c = &s.cycles;
    let f1_ok = c.f1() >= 0.99;
    let end_ok = c.median_end_error_s <= 0.2;
    let verdict = |ok: bool| if ok { "pass" } else { "FAIL" };
    println!("  cycle F1 >= 0.99: {:.4}: {}", c.f1(), verdict(f1_ok));
    println!("  median cycle end error <= 0.2 s: {:.3} s: {}", c.median_end_error_s, verdict(end_ok));
    f1_ok && end_ok
}

pub fn accuracy(
    minutes: f64,
    width: u32,
    height: u32,
    seed: u64,
    bursts: bool,
    keep: Option<PathBuf>,
) -> anyhow::Result<bool> {
    let remove_after = keep.is_none();
    let dir = keep.unwrap_or_else(|| std::env::temp_dir().join(format!("sheetsight-accuracy-{}", std::process::id())));
    let started = std::time::Instant::now();
    let config_path = crate::synth::synth(
        &dir,
        &crate::synth::SynthOptions { minutes, width, height, fps: 10.0, seed, clean: false, bursts },
    )?;
    let synth_s = started.elapsed().as_secs_f64();
    let config = sheetsight_config::load(&config_path)?;
    let mut events = Vec::new();
    let started = std::time::Instant::now();
    let report = sheetsight_monitor::analyze::analyze(&config, None, |e| events.push(e.clone()))?;
    let analyze_s = started.elapsed().as_secs_f64();
    let truth = read_events(&dir.join("truth.jsonl"))?;
    let s = score(&truth, &events, minutes * 60.0, 2.0);
    println!(
        "{minutes} min per camera, {} cameras, {width}x{height} at 10 fps, every nuisance; synthesis {synth_s:.0} s, analysis {analyze_s:.0} s",
        report.cameras.len()
    );
    print!("{s}");
    for (m, what, t, want, got) in s.examples.iter().take(10) {
        println!("  e.g. {m} {what} at {t:.1} s: truth {want}, read {got}");
    }
    let pass = s.lamp.ratio() >= 0.995
        && s.state.ratio() >= 0.995
        && s.strokes.f1() >= 0.995
        && s.strokes.median_midpoint_error_s <= 0.2;
    println!(
        "targets: lamp >= 99.5 %: {:.2} %, state >= 99.5 %: {:.2} %, stroke F1 >= 0.995: {:.4}, median midpoint error <= 0.2 s: {:.3} s -> {}",
        100.0 * s.lamp.ratio(),
        100.0 * s.state.ratio(),
        s.strokes.f1(),
        s.strokes.median_midpoint_error_s,
        if pass { "PASS" } else { "FAIL" }
    );
    // Cycles are a fair test only of work done in parts (see the README).
    let pass = if bursts { print_cycle_targets(&s) & pass } else { pass };
    if remove_after {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(pass)
}
