//! `sheetsight demo`: a simulated shop analysed live by the real service.
//!
//! Two simulated IP cameras (five machines) render their scenes in real time and encode
//! them to H.264; the service opens them through the same interface as RTSP cameras,
//! supervises them, decodes, analyses and stores everything in its history. Camera `cam2`
//! loses its network for 15 s every 5 minutes, so the view shows a camera failing, its
//! machines `NotAvailable`, and the camera coming back. At the end, the history of the
//! run is read back from the database and reported.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sheetsight_config::Config;
use sheetsight_monitor::{Event, LiveEvent};
use sheetsight_service::Service;
use sheetsight_sim::{Nuisances, Scene, StrokePattern, shop_specs};
use sheetsight_store::sqlite::SqliteStore;
use sheetsight_store::standards::StandardEdit;
use sheetsight_store::{CycleFilter, Query, Store, UnixMillis, report};
use sheetsight_vision::event::CameraHealth;
use sheetsight_vision::lamp::{LampColor, LampMode};
use sheetsight_vision::state::MachineState;
use tokio::sync::broadcast::error::TryRecvError;

use crate::live::{Running, runtime, shutdown_signal};
use crate::sim_camera::{SimulatedCamera, SimulatedOpener};

/// The demo's login (`admin`), set at every start unless `SHEETSIGHT_ADMIN_PASSWORD` is.
pub const DEMO_PASSWORD: &str = "sheetsight-demo";

/// `sheetsight demo`'s options.
#[derive(clap::Args)]
pub struct DemoOptions {
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    pub duration_s: Option<f64>,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Also write the events (JSON Lines).
    #[arg(long)]
    pub events: Option<PathBuf>,
    /// Print one status line per second instead of redrawing the screen.
    #[arg(long)]
    pub plain: bool,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where the demo's history and configuration (`demo.toml`) are kept.
    #[arg(long, default_value = "sheetsight-data/demo")]
    pub data_dir: PathBuf,
    /// Serve the dashboard and API here.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// Also publish to this MQTT broker (HOST:PORT): JSON topics under `sheetsight`
    /// and Sparkplug B in group `demo`.
    #[arg(long)]
    pub mqtt: Option<String>,
    /// With --mqtt: the Sparkplug primary host's id. The node is born only while
    /// `spBv1.0/STATE/<id>` says online; what it missed is sent afterwards as
    /// historical data.
    #[arg(long, requires = "mqtt")]
    pub sparkplug_primary_host: Option<String>,
    /// Days of simulated history (marked simulated) written before the current shift
    /// when the data directory is new, so that trends and reports have a past; 0: none.
    #[arg(long, default_value_t = 6)]
    pub history_days: u32,
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

fn event_text(e: &LiveEvent, epoch_s: f64) -> String {
    // Shown in scene seconds, from the demo's start.
    let e = e.clone().map_time(|t| t.as_unix_s() - epoch_s);
    match e {
        Event::Lamp { machine, lamp, color, mode, t } => {
            format!("{t:8.1} s  {machine:<8} lamp {lamp} ({}) -> {}", color.as_str(), mode.as_str())
        }
        Event::State { machine, state, t } => format!("{t:8.1} s  {machine:<8} state -> {}", state.as_str()),
        Event::Stroke { machine, start_t, end_t, person_in_region } => {
            let flag = if person_in_region { " (person in the region)" } else { "" };
            format!("{end_t:8.1} s  {machine:<8} stroke {:.1} s{flag}", end_t - start_t)
        }
        Event::Presence { zone, people, t, .. } => format!("{t:8.1} s  zone {zone}: {people} people"),
        Event::Safety { zone, machine, people, .. } => {
            format!("          {machine:<8} ADVISORY: {people} in danger zone {zone} while executing")
        }
        Event::Motion { machine, active, t } => {
            format!("{t:8.1} s  {machine:<8} motion {}", if active { "active" } else { "quiet" })
        }
        Event::Cycle { machine, start_t, end_t, strokes } => {
            format!("{end_t:8.1} s  {machine:<8} cycle {:.1} s, {strokes} strokes", end_t - start_t)
        }
        Event::MediaIssue { camera, at, what } => format!("camera {camera}: {at}: {what}"),
        Event::Health { camera, health, detail, t } => {
            format!(
                "{t:8.1} s  camera {camera} {}{}",
                health.as_str(),
                detail.as_ref().map_or(String::new(), |d| format!(": {d}"))
            )
        }
    }
}
pub fn run(o: DemoOptions) -> anyhow::Result<bool> {
    anyhow::ensure!(o.speed > 0.0 && o.speed <= 20.0, "--speed must be above 0 and at most 20");
    if o.speed != 1.0 {
        // The analysis runs on the shop's own clock (a lamp's blinking is measured in it),
        // so the times it stores and publishes leave the wall clock behind or ahead.
        eprintln!(
            "sheetsight: --speed {}: the shop's clock runs {}x the wall clock, and so do the times in its \
             history and on MQTT; --speed is for viewing only",
            o.speed, o.speed
        );
    }
    let schedule_s = o.duration_s.unwrap_or(24.0 * 3600.0).max(1.0);
    let mut specs = shop_specs(1280, 720, 10.0, schedule_s * o.speed + 60.0, o.seed, Nuisances::ALL);
    // Parts bent in bursts of strokes: cycles worth a golden one.
    for (_, spec) in &mut specs {
        spec.strokes = StrokePattern::Bursts;
    }
    let mut simulated = HashMap::new();
    for (id, spec) in specs {
        let scene = Scene::generate(&spec);
        let outage_s = (id == "cam2").then_some((200.0..215.0, 300.0));
        simulated.insert(id, SimulatedCamera { scene, outage_s });
    }
    let config = write_config(&o, &simulated)?;
    let opener = Arc::new(SimulatedOpener::new(simulated, o.speed));
    runtime()?.block_on(show(&o, config, opener, schedule_s))
}

/// The demo's configuration as a real file (`<data-dir>/demo.toml`, written afresh at
/// each start), so that the region editor saves into it like into a shop's own.
fn write_config(o: &DemoOptions, simulated: &HashMap<String, SimulatedCamera>) -> anyhow::Result<Config> {
    let mut ids: Vec<&String> = simulated.keys().collect();
    ids.sort();
    let cameras: Vec<(String, String, &Scene)> =
        ids.iter().map(|id| ((*id).clone(), format!("sim://{id}"), &simulated[*id].scene)).collect();
    let mut text = sheetsight_sim::config_toml(&cameras);
    text = text.replace(
        "# Written by `sheetsight synth`: cameras of a synthetic shop with ground truth.",
        "# The demo's shop, written by `sheetsight demo` at each start. Regions edited in the\n\
         # dashboard are saved here (and last until the demo starts again).",
    );
    // An assumed full speed of the simulated presses, so that the dashboard shows OEE.
    text = text.replace("\ncamera = \"", "\nideal_strokes_per_hour = 600\ncamera = \"");
    text += "\n[storage]\ndata_dir = \".\"\nretention_days = 30\n";
    // Two shifts of twelve hours, as many small shops run.
    text += "\n[[shift]]\nname = \"day\"\nstart = \"08:00\"\nend = \"20:00\"\n";
    text += "\n[[shift]]\nname = \"night\"\nstart = \"20:00\"\nend = \"08:00\"\n";
    // Every camera records (as received, no re-encoding), so each cycle has its clip.
    text = text.replace("\nsource = \"sim://", "\nrecord = true\nsource = \"sim://");
    text += "\n[recording]\nmax_gb = 2\nkeep_days = 2\n";
    // The backlit inspection table, fed by a simulated inspector.
    text += crate::demo_inspection::CONFIG;
    text += "\n[[alert]]\nname = \"camera-down\"\nwhen = \"camera_down\"\nminutes = 0.2\n";
    text += "\n[[alert]]\nname = \"recording\"\nwhen = \"recording_failed\"\nminutes = 0.5\n";
    text += "\n[[alert]]\nname = \"long-stop\"\nwhen = \"machine_state\"\nstates = [\"OutOfService\"]\nminutes = 2\n";
    if let Some(broker) = &o.mqtt {
        text +=
            &format!("\n[mqtt]\nbroker = \"{broker}\"\nclient_id = \"sheetsight-demo\"\nsparkplug_group = \"demo\"\n");
        if let Some(host) = &o.sparkplug_primary_host {
            text += &format!("sparkplug_primary_host = \"{host}\"\n");
        }
    }
    sheetsight_store::data_dir::create_private_dir(&o.data_dir)
        .with_context(|| format!("cannot create {}", o.data_dir.display()))?;
    write_footpath(&o.data_dir.join(FOOTPATH))?;
    text += &FOOTPATH_CONFIG.replace("{FOOTPATH}", FOOTPATH);
    let path = o.data_dir.join("demo.toml");
    std::fs::write(&path, &text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(sheetsight_config::parse(&path, &text)?)
}

/// The demo's real camera: a footpath filmed from above (two real frames of OpenCV's
/// `vtest.avi`, shipped with the person model), played as an image folder at 1 fps,
/// looping: six people for 6 s, nobody for 4 s, seven people for 6 s, nobody for 4 s.
/// The simulated cameras' people are shapes a detector would not see; these are real.
const FOOTPATH: &str = "footpath";

/// Its zones stand for the floor in front of brake-1: the operator's place, and the
/// back of the machine where nobody should be while it executes.
const FOOTPATH_CONFIG: &str = r#"
[[camera]]
id = "{FOOTPATH}"
source = "{FOOTPATH}"
fps = 1
loop = true
people_fps = 1

[[zone]]
id = "brake-1-operator"
camera = "{FOOTPATH}"
roi = [[560, 200], [660, 200], [660, 260], [560, 260]]
machine = "brake-1"

[[zone]]
id = "brake-1-back"
camera = "{FOOTPATH}"
roi = [[230, 200], [335, 200], [335, 250], [230, 250]]
machine = "brake-1"
kind = "danger"

[people]
debounce_s = 2
"#;

fn write_footpath(folder: &std::path::Path) -> anyhow::Result<()> {
    use sheetsight_people::samples::{VTEST_FRAME_100_JPEG, VTEST_FRAME_300_JPEG};
    std::fs::create_dir_all(folder).with_context(|| format!("cannot create {}", folder.display()))?;
    let sample = image::load_from_memory(VTEST_FRAME_300_JPEG).context("decoding a built-in frame")?;
    let mut empty = Vec::new();
    image::RgbImage::from_pixel(sample.width(), sample.height(), image::Rgb([118, 118, 112]))
        .write_to(&mut std::io::Cursor::new(&mut empty), image::ImageFormat::Jpeg)
        .context("encoding the empty footpath")?;
    let frames: Vec<&[u8]> = std::iter::repeat_n(VTEST_FRAME_300_JPEG, 6)
        .chain(std::iter::repeat_n(empty.as_slice(), 4))
        .chain(std::iter::repeat_n(VTEST_FRAME_100_JPEG, 6))
        .chain(std::iter::repeat_n(empty.as_slice(), 4))
        .collect();
    for (i, jpeg) in frames.iter().enumerate() {
        let path = folder.join(format!("{i:03}.jpg"));
        std::fs::write(&path, jpeg).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

async fn show(o: &DemoOptions, config: Config, opener: Arc<SimulatedOpener>, schedule_s: f64) -> anyhow::Result<bool> {
    let simulated_until = write_simulated_history(&config, o.history_days, o.seed).await?;
    let live = sheetsight_service::live_channel();
    let mut events = live.subscribe();
    let chosen = std::env::var("SHEETSIGHT_ADMIN_PASSWORD").ok().filter(|p| !p.is_empty());
    let password = chosen.clone().unwrap_or_else(|| DEMO_PASSWORD.to_string());
    let running =
        Running::start(&config, opener.clone(), o.events.as_deref(), live, Some(o.listen), Some(password.clone()))
            .await?;
    let ansi = !o.plain && std::io::stdout().is_terminal();
    let machine_ids: Vec<String> = config.machines.iter().map(|m| m.id.clone()).collect();
    println!(
        "SheetSight demo: a simulated shop of {} machines on {} cameras (1280x720, 10 fps, H.264), analysed live.",
        machine_ids.len(),
        config.cameras.len() - 1
    );
    println!(
        "Stack lights, people walking past, light changes, camera shake and a network outage of cam2 are simulated."
    );
    println!(
        "Camera `{FOOTPATH}` shows real people (frames of OpenCV's vtest.avi): the built-in person detector counts them \
         in brake-1's operator zone and its danger zone (safety events are advisory only)."
    );
    println!("History goes to {}; press Ctrl-C to stop.", running.store.path().display());
    if let Some(until) = simulated_until {
        println!(
            "The {} days before {} are simulated history (marked so in the data and on screen), for the trends and reports.",
            o.history_days,
            until.rfc3339()
        );
    }
    println!("Dashboard: http://{}/", running.server.addr);
    if let Some(first) = machine_ids.first() {
        println!(
            "Station page (a tablet beside the machine): http://{}/#/station/{first}; every camera is recorded, \
             each machine runs a job and its first cycle becomes the golden one.",
            running.server.addr
        );
    }
    // A password of the user's own is never written out: output often ends up in a log.
    match chosen {
        Some(_) => println!("Log in as `admin` with the password given in SHEETSIGHT_ADMIN_PASSWORD."),
        None => {
            println!("Log in as `admin` with the password `{DEMO_PASSWORD}` (SHEETSIGHT_ADMIN_PASSWORD sets another).")
        }
    }
    let mut recent: VecDeque<String> = VecDeque::new();
    let mut strokes: BTreeMap<String, u64> = BTreeMap::new();
    // The backlit table beside the cameras: calibrated, then parts laid on it by a
    // simulated inspector on a thread of its own; the station inspects them.
    let (inspection_dir, seed) = (o.data_dir.join("inspection"), o.seed);
    let (first_round_tx, first_round) = std::sync::mpsc::channel();
    let inspector_stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let inspector = {
        let stop = inspector_stop.clone();
        std::thread::spawn(move || {
            // Below the cameras' analysis: on Linux a thread's nice value is its own.
            // SAFETY: setpriority only reads its arguments; 0 names the calling thread.
            unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 10) };
            crate::demo_inspection::run(&inspection_dir, seed, first_round_tx, stop)
        })
    };
    let mut inspection_line: Option<String> = None;
    set_demo_jobs(&running.store, &machine_ids).await?;
    // Machines whose first cycle of the job is to be made golden, and when (once stored).
    let mut golden_due: BTreeMap<String, std::time::Instant> = BTreeMap::new();
    let mut golden_done: std::collections::HashSet<String> = std::collections::HashSet::new();
    let stop = shutdown_signal();
    tokio::pin!(stop);
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = tick.tick() => {}
        }
        loop {
            match events.try_recv() {
                Ok(e) => {
                    if let Event::Stroke { machine, .. } = &e {
                        *strokes.entry(machine.clone()).or_default() += 1;
                    }
                    if let Event::Cycle { machine, .. } = &e
                        && !golden_done.contains(machine)
                    {
                        // The history writer stores in batches of a second.
                        golden_due.entry(machine.clone()).or_insert(std::time::Instant::now() + Duration::from_secs(2));
                    }
                    if matches!(e, Event::Motion { .. }) {
                        continue;
                    }
                    let line = event_text(&e, opener.epoch_wall_s());
                    if !ansi {
                        println!("{line}");
                    }
                    recent.push_back(line);
                    while recent.len() > 10 {
                        recent.pop_front();
                    }
                }
                Err(TryRecvError::Lagged(_)) => {}
                Err(_) => break,
            }
        }
        let due: Vec<String> =
            golden_due.iter().filter(|(_, at)| **at <= std::time::Instant::now()).map(|(m, _)| m.clone()).collect();
        for machine in due {
            golden_due.remove(&machine);
            match make_golden(&running.store, &config, &machine).await {
                Ok(true) => {
                    golden_done.insert(machine);
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(%machine, error = %format!("{e:#}"), "the demo could not mark a golden cycle"),
            }
        }
        if inspection_line.is_none()
            && let Ok(first) = first_round.try_recv()
        {
            let line = inspection_text(&running, first, running.server.addr).await;
            if !ansi {
                println!("{line}");
            }
            recent.push_back(line.clone());
            inspection_line = Some(line);
        }
        let t = opener.scene_t_s();
        if ansi {
            print!("{}", screen(&running.service, &opener, &strokes, &recent, t, running.server.addr));
            std::io::stdout().flush()?;
        }
        if t >= schedule_s * o.speed {
            break;
        }
    }
    // The first round of parts is inspected before the demo stops.
    if inspection_line.is_none() {
        let first = first_round
            .recv_timeout(Duration::from_secs(300))
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the simulated inspector did not finish")));
        let line = inspection_text(&running, first, running.server.addr).await;
        if !ansi {
            println!("{line}");
        }
        inspection_line = Some(line);
    }
    inspector_stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = inspector.join();
    let (report, store) = running.stop().await?;
    // The run as stored: read back from the database. Times are on the scene clock
    // (wall-clock time at --speed 1).
    let started_ms = UnixMillis::from_unix_s(opener.epoch_wall_s());
    let ended_ms = UnixMillis::from_unix_s(opener.epoch_wall_s() + opener.scene_t_s());
    let q = Query { from: started_ms, to: ended_ms, key: None };
    let history = store.report_history(&q).await?;
    let health = store.health(&q).await?;
    store.close().await;
    let window = sheetsight_config::ShiftWindow {
        shift: "demo".into(),
        date: chrono::Utc::now().date_naive(),
        start: started_ms.to_datetime().unwrap_or_default(),
        end: ended_ms.to_datetime().unwrap_or_default(),
        time_zone: sheetsight_config::shift::Tz::UTC,
    };
    let rows = report::compute(&[window], &machine_ids, &history, ended_ms);
    println!("\nhistory of this run, read back from {}:\n{}", store.path().display(), report::table(&rows));
    let outages = health.iter().filter(|h| h.value.0 == CameraHealth::Failed).count();
    println!("camera health intervals stored: {} ({} failures)", health.len(), outages);
    let inspection_line = if ansi { inspection_line.unwrap_or_default() } else { String::new() };
    if !inspection_line.is_empty() {
        println!("{inspection_line}");
    }
    Ok(report.cameras.iter().all(|(_, stats, _)| stats.panics == 0))
}

/// The demo's line about its inspection table: what the station's history holds.
async fn inspection_text(
    running: &Running,
    first: anyhow::Result<crate::demo_inspection::FirstRound>,
    addr: std::net::SocketAddr,
) -> String {
    let first = match first {
        Ok(f) => f,
        Err(e) => return format!("inspection: {e:#}"),
    };
    let filter = sheetsight_store::inspections::InspectionFilter {
        from: UnixMillis(0),
        to: UnixMillis::now().plus_ms(60_000),
        station: Some(crate::demo_inspection::STATION.into()),
        ..Default::default()
    };
    match running.store.inspections(&filter).await {
        Ok(rows) => format!(
            "inspection: table calibrated to {:.3} px RMS; {} parts laid, {} inspected at station {}, {} pass, {} fail \
             (each defect made on purpose); http://{addr}/#/inspection",
            first.residual_rms_px,
            first.laid,
            rows.len(),
            crate::demo_inspection::STATION,
            rows.iter().filter(|r| r.verdict == "pass").count(),
            rows.iter().filter(|r| r.verdict == "fail").count(),
        ),
        Err(e) => format!("inspection: {e}"),
    }
}

/// Writes `days` of simulated history up to the start of the current shift into a data
/// directory that has no history yet, each machine's span marked by a `simulated` note;
/// returns where it ends. A directory with history of its own is left as it is.
async fn write_simulated_history(config: &Config, days: u32, seed: u64) -> anyhow::Result<Option<UnixMillis>> {
    if days == 0 {
        return Ok(None);
    }
    let data_dir = &config.storage.data_dir;
    let _lock = sheetsight_store::data_dir::DataLock::acquire(data_dir)?;
    let store = SqliteStore::open(data_dir).await.with_context(|| format!("history in {}", data_dir.display()))?;
    if !store.runs().await?.is_empty() {
        store.close().await;
        return Ok(None);
    }
    let now = UnixMillis::now();
    let today = chrono::Utc::now().date_naive();
    let shift_start = config
        .shifts_or_whole_days()
        .iter()
        .flat_map(|s| s.windows(today - chrono::Duration::days(1), today))
        .map(|w| UnixMillis::from(w.start))
        .filter(|start| *start <= now)
        .max()
        .unwrap_or(now);
    let from = shift_start.plus_ms(-i64::from(days) * 24 * 3_600_000);
    let machines: Vec<(String, Option<f64>)> = config.ideal_rates();
    let history = sheetsight_sim::history::past_days(&machines, from, shift_start, &config.downtime.reasons, seed);
    let started = std::time::Instant::now();
    let run = store.begin_run(from, "simulated").await?;
    for chunk in history.events.chunks(20_000) {
        let last = chunk.iter().filter_map(|e| e.t()).max().unwrap_or(from);
        store.write(run, chunk, last).await.context("writing the simulated history")?;
    }
    store.end_run(run, shift_start).await?;
    tracing::info!(
        events = history.events.len(),
        seconds = started.elapsed().as_secs_f64(),
        "simulated events written"
    );
    for (machine, reason, start, end) in &history.reasons {
        store.add_note(machine, "reason", reason, *start, Some(*end), "demo", *end).await?;
    }
    for (machine, _) in &machines {
        let kind = sheetsight_store::summary::SIMULATED_NOTE;
        store.add_note(machine, kind, "simulated demo history", from, Some(shift_start), "demo", now).await?;
    }
    store.close().await;
    tracing::info!(
        reasons = history.reasons.len(),
        seconds = started.elapsed().as_secs_f64(),
        "simulated history written"
    );
    Ok(Some(shift_start))
}

/// The demo's jobs: one per machine from the start, each with its standard steps.
async fn set_demo_jobs(store: &SqliteStore, machines: &[String]) -> anyhow::Result<()> {
    let now = UnixMillis::now();
    for m in machines {
        let job = demo_job(m);
        store.add_note(m, "job", &job, now, None, "demo", now).await.context("setting the demo's jobs")?;
        let edit = StandardEdit {
            standard_ms: None,
            steps_en: Some("1. Take a blank from the stack\n2. Square it against the back gauge\n3. Press the pedal\n4. Check and stack the part".into()),
            steps_zh: Some("1. 从料堆取一块料\n2. 靠紧后挡料\n3. 踩脚踏开关\n4. 检查并码放零件".into()),
        };
        store.edit_standard(m, &job, &edit, "demo", now).await.context("setting the demo's standards")?;
    }
    Ok(())
}

fn demo_job(machine: &str) -> String {
    format!("DEMO-{}", machine.to_uppercase())
}

/// Makes the newest stored cycle of `machine` the golden one of its job and keeps its
/// video; `false` while none is stored yet.
async fn make_golden(store: &SqliteStore, config: &Config, machine: &str) -> anyhow::Result<bool> {
    let filter = CycleFilter {
        query: Query {
            from: UnixMillis::EPOCH,
            to: UnixMillis::now().plus_ms(3_600_000),
            key: Some(machine.to_string()),
        },
        job: Some(demo_job(machine)),
        limit: Some(1),
        offset: 0,
    };
    let Some(cycle) = store.cycles(&filter).await?.into_iter().next() else { return Ok(false) };
    store.set_golden(cycle.id, machine, &demo_job(machine), "demo", UnixMillis::now()).await?;
    if let Some(m) = config.machines.iter().find(|m| m.id == machine) {
        let r = &config.recording;
        let from = cycle.start.plus_ms(-i64::from(r.pre_roll_s) * 1_000);
        store.keep_segments(&m.camera, from, cycle.end.plus_ms(i64::from(r.post_roll_s) * 1_000)).await?;
    }
    Ok(true)
}

fn screen(
    service: &Service<SqliteStore>,
    opener: &SimulatedOpener,
    strokes: &BTreeMap<String, u64>,
    recent: &VecDeque<String>,
    t: f64,
    web: std::net::SocketAddr,
) -> String {
    let now_t = opener.epoch_wall_s() + t;
    let mut screen = String::from("\x1b[H\x1b[2J");
    screen += &format!("SheetSight demo: simulated shop, analysed live   t = {t:.1} s   (Ctrl-C to stop)\n");
    screen += &format!("dashboard: http://{web}/  (user admin, password {DEMO_PASSWORD} unless set otherwise)\n\n");
    screen += &format!(
        "{:<10} {:<7} {:<12} {:<13} {:>9} {:>8} {:>10}  {}\n",
        "machine", "camera", "lamps", "state", "for", "strokes", "strokes/h", "motion"
    );
    let statuses = service.statuses();
    for cam in &statuses {
        for s in &cam.machines {
            let lamps: String = s.lamps.iter().map(|&(c, m)| lamp_symbol(c, m, true)).collect::<Vec<_>>().join(" ");
            let pad = 12usize.saturating_sub(s.lamps.len() * 2);
            let n = strokes.get(&s.id).copied().unwrap_or(0);
            let per_hour = if t > 0.0 { n as f64 * 3600.0 / t } else { 0.0 };
            screen += &format!(
                "{:<10} {:<7} {}{} {} {:>8.0}s {:>8} {:>10.0}  {}\n",
                s.id,
                cam.id,
                lamps,
                " ".repeat(pad),
                state_text(s.state, true),
                (now_t - s.state_since_s).max(0.0),
                n,
                per_hour,
                if s.motion_active { "active" } else { "quiet" }
            );
        }
    }
    screen += "\ncameras:\n";
    for cam in &statuses {
        screen += &format!(
            "  {:<6} {:<10} {:>6} frames decoded  {}\n",
            cam.id,
            cam.health.as_str(),
            cam.stats.frames_decoded,
            cam.detail.as_deref().unwrap_or("")
        );
    }
    screen +=
        "\nlamps: ○ off  ● steady  ◐ blinking  ✱ flashing  ? unknown (blocked or camera down)\n\nrecent events:\n";
    for line in recent {
        screen += &format!("  {line}\n");
    }
    screen
}
