//! `sheetsight demo`: a simulated shop analysed live.
//!
//! Two simulated cameras (five machines) are rendered in real time, encoded to H.264 as
//! an IP camera would, decoded again and analysed, each camera on its own thread. The
//! terminal shows every machine's lamps, state and strokes as they happen.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;
use sheetsight_media::TimedFrame;
use sheetsight_media::h264::{H264Decoder, H264Encoder};
use sheetsight_monitor::machine::MachineStatus;
use sheetsight_monitor::summary::{summarize, table};
use sheetsight_monitor::{CameraAnalyzer, Event};
use sheetsight_sim::{Nuisances, Renderer, Scene, encoder_settings, shop_specs};
use sheetsight_vision::lamp::{LampColor, LampMode};
use sheetsight_vision::state::MachineState;

use crate::scenes::machine_configs;

pub struct DemoOptions {
    pub duration_s: Option<f64>,
    pub speed: f64,
    pub events: Option<PathBuf>,
    pub plain: bool,
    pub seed: u64,
}

/// What a camera thread reports.
enum Update {
    Frame { camera: String, t_s: f64, statuses: Vec<MachineStatus>, events: Vec<Event>, dropped: u64 },
    Failed { camera: String, error: String },
}

fn camera_loop(id: String, scene: Scene, speed: f64, stop_at_s: f64, tx: mpsc::Sender<Update>) -> anyhow::Result<()> {
    let configs = machine_configs(&id, &scene);
    let mut analyzer =
        CameraAnalyzer::from_machines(&id, Some(scene.spec.fps), &configs, scene.spec.width_px, scene.spec.height_px)?;
    let mut renderer = Renderer::new(scene.clone());
    let mut encoder = H264Encoder::new(scene.spec.width_px, scene.spec.height_px, encoder_settings(&scene))
        .map_err(anyhow::Error::msg)?;
    let mut decoder = H264Decoder::new().map_err(anyhow::Error::msg)?;
    let started = Instant::now();
    let mut dropped = 0u64;
    let mut i: u64 = 0;
    loop {
        let t_s = i as f64 / scene.spec.fps;
        if t_s > stop_at_s {
            return Ok(());
        }
        let due = Duration::from_secs_f64(t_s / speed);
        let now = started.elapsed();
        if now < due {
            std::thread::sleep(due - now);
        } else if now > due + Duration::from_millis(500) {
            // Behind by more than half a second: skip frames like a live camera would.
            let skip = ((now - due).as_secs_f64() * speed * scene.spec.fps) as u64;
            dropped += skip;
            i += skip.max(1);
            continue;
        }
        let picture = encoder.encode(&renderer.render(t_s)).map_err(anyhow::Error::msg)?;
        let annex_b = picture.to_annex_b();
        let mut events = Vec::new();
        for (pts, frame) in decoder.decode(&annex_b, i as i64).map_err(anyhow::Error::msg)? {
            analyzer.process(&TimedFrame { t_s: pts as f64 / scene.spec.fps, frame }, &mut events);
        }
        let update = Update::Frame { camera: id.clone(), t_s, statuses: analyzer.statuses(), events, dropped };
        if tx.send(update).is_err() {
            return Ok(());
        }
        i += 1;
    }
}

fn lamp_symbol(color: LampColor, mode: Option<LampMode>, ansi: bool) -> String {
    let glyph = match mode {
        None => "·",
        Some(LampMode::Off) => "○",
        Some(LampMode::Steady) => "●",
        Some(LampMode::Blinking) => "◐",
        Some(LampMode::Flashing) => "✱",
        Some(LampMode::Unknown) => "?",
    };
    if !ansi {
        return glyph.to_string();
    }
    let code = match color {
        LampColor::Red => 31,
        LampColor::Yellow => 33,
        LampColor::Green => 32,
        LampColor::Blue => 34,
        LampColor::White => 37,
    };
    format!("\x1b[{code}m{glyph}\x1b[0m")
}

fn state_text(state: Option<MachineState>, ansi: bool) -> String {
    let (text, code) = match state {
        None => ("starting", 90),
        Some(MachineState::Executing) => ("Executing", 32),
        Some(MachineState::NotExecuting) => ("NotExecuting", 33),
        Some(MachineState::OutOfService) => ("OutOfService", 31),
        Some(MachineState::NotAvailable) => ("NotAvailable", 90),
    };
    if ansi { format!("\x1b[{code}m{text:<13}\x1b[0m") } else { format!("{text:<13}") }
}

fn event_text(e: &Event) -> String {
    match e {
        Event::Lamp { machine, lamp, color, mode, t } => {
            format!("{t:8.1} s  {machine:<8} lamp {lamp} ({}) -> {}", color.as_str(), mode.as_str())
        }
        Event::State { machine, state, t } => format!("{t:8.1} s  {machine:<8} state -> {}", state.as_str()),
        Event::Stroke { machine, start_t, end_t } => {
            format!("{end_t:8.1} s  {machine:<8} stroke {:.1} s", end_t - start_t)
        }
        Event::Motion { machine, active, t } => {
            format!("{t:8.1} s  {machine:<8} motion {}", if *active { "active" } else { "quiet" })
        }
        Event::MediaIssue { camera, at, what } => format!("camera {camera}: {at}: {what}"),
        Event::Health { camera, health, .. } => format!("camera {camera}: {}", health.as_str()),
    }
}

pub fn run(o: DemoOptions) -> anyhow::Result<bool> {
    anyhow::ensure!(o.speed > 0.0 && o.speed <= 20.0, "--speed must be above 0 and at most 20");
    let schedule_s = o.duration_s.unwrap_or(24.0 * 3600.0).max(1.0);
    let specs = shop_specs(1280, 720, 10.0, schedule_s + 1.0, o.seed, Nuisances::ALL);
    let mut events_out = match &o.events {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => None,
    };
    let ansi = !o.plain && std::io::stdout().is_terminal();
    let (tx, rx) = mpsc::channel();
    let mut machine_order = Vec::new();
    for (id, spec) in specs {
        let scene = Scene::generate(&spec);
        machine_order.extend(scene.machines.iter().map(|m| (m.id.clone(), id.clone())));
        let tx = tx.clone();
        let (speed, stop) = (o.speed, schedule_s);
        std::thread::Builder::new().name(format!("camera {id}")).spawn(move || {
            if let Err(e) = camera_loop(id.clone(), scene, speed, stop, tx.clone()) {
                let _ = tx.send(Update::Failed { camera: id, error: format!("{e:#}") });
            }
        })?;
    }
    drop(tx);
    println!(
        "SheetSight demo: a simulated shop of {} machines on 2 cameras (1280x720, 10 fps, H.264), analysed live.",
        machine_order.len()
    );
    println!("Stack lights, people walking past, light changes and camera shake are simulated; press Ctrl-C to stop.");
    let mut statuses: std::collections::BTreeMap<String, MachineStatus> = Default::default();
    let mut camera_t: std::collections::BTreeMap<String, (f64, u64)> = Default::default();
    let mut recent: std::collections::VecDeque<String> = Default::default();
    let mut all = Vec::new();
    let mut last_draw = Instant::now() - Duration::from_secs(1);
    let mut failed = false;
    for update in rx {
        match update {
            Update::Frame { camera, t_s, statuses: st, events, dropped } => {
                camera_t.insert(camera, (t_s, dropped));
                for s in st {
                    statuses.insert(s.id.clone(), s);
                }
                for e in events {
                    if let Some(out) = events_out.as_mut() {
                        sheetsight_monitor::jsonl::write_event(out, &e)?;
                    }
                    if !matches!(e, Event::Motion { .. }) {
                        recent.push_back(event_text(&e));
                        if !ansi {
                            println!("{}", event_text(&e));
                        }
                    }
                    while recent.len() > 10 {
                        recent.pop_front();
                    }
                    if matches!(e, Event::State { .. } | Event::Stroke { .. }) {
                        all.push(e);
                    }
                }
            }
            Update::Failed { camera, error } => {
                eprintln!("camera {camera} failed: {error}");
                failed = true;
            }
        }
        if ansi && last_draw.elapsed() >= Duration::from_millis(250) {
            last_draw = Instant::now();
            let t = camera_t.values().map(|v| v.0).fold(0.0, f64::max);
            let mut screen = String::from("\x1b[H\x1b[2J");
            screen += &format!("SheetSight demo: simulated shop, analysed live   t = {t:.1} s   (Ctrl-C to stop)\n\n");
            screen += &format!(
                "{:<10} {:<7} {:<12} {:<13} {:>9} {:>8} {:>10}  {}\n",
                "machine", "camera", "lamps", "state", "for", "strokes", "strokes/h", "motion"
            );
            for (id, cam) in &machine_order {
                let Some(s) = statuses.get(id) else { continue };
                let lamps: String = s.lamps.iter().map(|&(c, m)| lamp_symbol(c, m, true)).collect::<Vec<_>>().join(" ");
                let pad = 12usize.saturating_sub(s.lamps.len() * 2);
                let per_hour = if t > 0.0 { s.strokes as f64 * 3600.0 / t } else { 0.0 };
                screen += &format!(
                    "{:<10} {:<7} {}{} {} {:>8.0}s {:>8} {:>10.0}  {}\n",
                    id,
                    cam,
                    lamps,
                    " ".repeat(pad),
                    state_text(s.state, true),
                    (t - s.state_since_s).max(0.0),
                    s.strokes,
                    per_hour,
                    if s.motion_active { "active" } else { "quiet" }
                );
            }
            screen += "\nlamps: ○ off  ● steady  ◐ blinking  ✱ flashing  ? unknown (blocked)\n\nrecent events:\n";
            for line in &recent {
                screen += &format!("  {line}\n");
            }
            for (cam, (_, dropped)) in &camera_t {
                if *dropped > 0 {
                    screen += &format!("camera {cam}: {dropped} frames dropped for lack of CPU\n");
                }
            }
            print!("{screen}");
            std::io::stdout().flush()?;
        }
    }
    if let Some(mut out) = events_out {
        out.flush()?;
    }
    let t = camera_t.values().map(|v| v.0).fold(0.0, f64::max);
    let ids: Vec<String> = machine_order.iter().map(|m| m.0.clone()).collect();
    println!("\nsummary of {t:.0} s:\n{}", table(&summarize(&all, &ids, t)));
    Ok(!failed)
}
