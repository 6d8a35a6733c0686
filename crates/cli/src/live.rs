//! `sheetsight run` and `sheetsight report`: the service over real cameras, and the shift
//! report from its history.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use chrono::NaiveDate;
use sheetsight_config::Config;
use sheetsight_hub::direct;
use sheetsight_hub::uplink::{self, UplinkOptions};
use sheetsight_ingest::NetworkOpener;
use sheetsight_ingest::source::SharedOpener;
use sheetsight_mqtt::{Extra, MqttLinks, NodeMemory};
use sheetsight_record::Recording;
use sheetsight_record::catalog::ReconcileReport;
use sheetsight_server::clips::RecordingAccess;
use sheetsight_server::{Notice, Server, ServerOptions};
use sheetsight_service::{Service, StopReport};
use sheetsight_station::{StationEvent, Stations};
use sheetsight_store::outbox::{DEFAULT_OUTBOX_BYTES, OutboxReader};
use sheetsight_store::sqlite::SqliteStore;
use sheetsight_store::{Query, Store, UnixMillis, report};
use tokio::sync::broadcast;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The file in the data folder that keeps the last Sparkplug session's `bdSeq`.
const SPARKPLUG_BD_SEQ_FILE: &str = "sparkplug-bdseq";

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Writes every live event to `path` as JSON Lines, each line flushed as it comes.
pub fn spawn_event_log(
    path: &Path,
    mut rx: broadcast::Receiver<sheetsight_vision::event::LiveEvent>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let file = std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut out = std::io::LineWriter::new(file);
    Ok(tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(e) => {
                    if let Err(err) = sheetsight_monitor::jsonl::write_event(&mut out, &e) {
                        tracing::error!(error = %err, "cannot write the event log");
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(skipped = n, "the event log fell behind");
                }
                Err(broadcast::error::RecvError::Closed) => {
                    let _ = out.flush();
                    return;
                }
            }
        }
    }))
}

pub fn print_stop_report(report: &StopReport) {
    eprintln!("sheetsight: stopped run {}; {} events stored", report.run, report.writer.events_written);
    for (camera, stats, dropped) in &report.cameras {
        eprintln!(
            "  camera {camera}: {} frames decoded, {} analysed, {} stale, {} corrupt, {} packets dropped",
            stats.frames_decoded, stats.frames_analyzed, stats.frames_stale, stats.decode_errors, dropped
        );
    }
    if report.writer.events_lost > 0 {
        eprintln!("  {} events could not be stored", report.writer.events_lost);
    }
}

/// Runs the service on `config` until Ctrl-C or SIGTERM.
/// A configuration file that does not exist yet is created (without cameras: the
/// dashboard's first-run page sets up the shop).
pub fn run(config_path: &Path, events: Option<&Path>, listen: Option<SocketAddr>) -> anyhow::Result<bool> {
    if !config_path.exists() {
        sheetsight_server::setup::config_file::replace_file(
            config_path,
            sheetsight_server::setup::config_file::NEW_FILE,
        )
        .with_context(|| format!("cannot create {}", config_path.display()))?;
        eprintln!(
            "sheetsight: created {} without cameras; set up the shop in the dashboard (Set-up)",
            config_path.display()
        );
    }
    let config = sheetsight_config::load(config_path)?;
    runtime()?.block_on(serve(config, Arc::new(NetworkOpener), events, listen))
}

/// The service on its history, with the optional event log, the web server and MQTT:
/// what `run` and `demo` share.
pub struct Running {
    pub service: Service<SqliteStore>,
    pub store: Arc<SqliteStore>,
    pub server: Server,
    log: Option<tokio::task::JoinHandle<()>>,
    mqtt: Option<MqttLinks>,
    bridge: tokio::task::JoinHandle<()>,
    pub recording: Recording,
    /// The link to the hub, if `[hub]` is set.
    hub: Option<HubUplink>,
    /// The inspection stations' background work, if any is configured.
    stations: Option<sheetsight_station::StationTasks>,
    /// Held while the service runs.
    _lock: sheetsight_store::data_dir::DataLock,
}

/// The running link to the hub.
struct HubUplink {
    stop: sheetsight_base::shutdown::Sender,
    task: tokio::task::JoinHandle<()>,
}

impl HubUplink {
    /// Gives the link a few seconds to hand over the run's last changes (what it cannot
    /// stays in the outbox for the next start), then stops it.
    async fn stop(self, store: &SqliteStore) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        while std::time::Instant::now() < deadline {
            // The hub's position, not the outbox's size: a Sparkplug primary host may hold
            // rows too.
            match (store.outbox_forgotten().await, store.outbox_last_seq().await) {
                (Ok(acknowledged), Ok(last)) if acknowledged < last => {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await
                }
                _ => break,
            }
        }
        self.stop.shut_down();
        let _ = self.task.await;
    }
}

/// Alerts and notes to MQTT (`<prefix>/alert`, `<prefix>/<machine>/reason|job`).
fn spawn_notice_bridge(
    mut notices: broadcast::Receiver<Notice>,
    extra: broadcast::Sender<Extra>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let notice = match notices.recv().await {
                Ok(n) => n,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            };
            let subtopic = match &notice {
                Notice::Alert { .. } => "alert".to_string(),
                Notice::Note { note } => format!("{}/{}", note.machine, note.kind),
                Notice::Regions { .. } => continue,
                Notice::Station { event: StationEvent::Inspected(view) } => {
                    format!("station/{}/inspection", view.station)
                }
                Notice::Station { event: StationEvent::Refused(r) } => format!("station/{}/refusal", r.station),
            };
            if let Ok(payload) = serde_json::to_value(&notice) {
                let _ = extra.send(Extra { subtopic, payload });
            }
        }
    })
}

impl Running {
    /// Opens the history of `config` and starts its cameras through `opener`; every
    /// event also goes to `live` (subscribe before, to miss none) and to `events`.
    pub async fn start(
        config: &Config,
        opener: SharedOpener,
        events: Option<&Path>,
        live: broadcast::Sender<sheetsight_vision::event::LiveEvent>,
        listen: Option<SocketAddr>,
        admin_password: Option<String>,
    ) -> anyhow::Result<Self> {
        let data_dir = &config.storage.data_dir;
        // A wrong person model is an error before anything starts.
        let people = crate::people::pool_for(config)?;
        // So are TLS files that cannot be used (each names itself).
        if let Some(mqtt) = &config.mqtt {
            sheetsight_broker::transport(mqtt.tls.as_ref()).context("TLS to the MQTT broker ([mqtt])")?;
        }
        if let Some(hub) = &config.hub {
            sheetsight_broker::transport(hub.tls.as_ref()).context("TLS to the hub's broker ([hub])")?;
        }
        // Before the history is touched: a second service on it would close the first's run.
        let lock = sheetsight_store::data_dir::DataLock::acquire(data_dir)?;
        let mut store = SqliteStore::open(&config.storage.data_dir)
            .await
            .with_context(|| format!("history in {}", config.storage.data_dir.display()))?;
        // Before the run begins: its beginning is the outbox's first change. It is read by
        // the hub and by a Sparkplug primary host (what either missed waits there).
        let primary_host =
            config.mqtt.as_ref().is_some_and(|m| m.sparkplug_group.is_some() && m.sparkplug_primary_host.is_some());
        let readers: Vec<OutboxReader> =
            [(config.hub.is_some(), OutboxReader::Hub), (primary_host, OutboxReader::Sparkplug)]
                .into_iter()
                .filter_map(|(on, reader)| on.then_some(reader))
                .collect();
        if !readers.is_empty() {
            let max_bytes = config.hub.as_ref().map_or(DEFAULT_OUTBOX_BYTES, |hub| i64::from(hub.outbox_mb) << 20);
            store.enable_outbox_for(max_bytes, &readers).await.context("the outbox to the hub or primary host")?;
        }
        if config.hub.is_some() {
            let profile = sheetsight_store::profile::ShopProfile::of(config);
            store.send_profile(&profile).await.context("the shop's machines and shifts for the hub")?;
        }
        let store = Arc::new(store);
        let log = match events {
            Some(p) => Some(spawn_event_log(p, live.subscribe())?),
            None => None,
        };
        // Before the cameras start: every stroke stored so far, and a receiver that
        // misses none of the strokes to come (Sparkplug's `Strokes` never goes backwards).
        let mqtt_memory = match &config.mqtt {
            Some(_) => Some(sparkplug_memory(&store, data_dir).await?),
            None => None,
        };
        let mqtt_events = live.subscribe();
        let clocks = sheetsight_base::clock::real();
        let recording = Recording::start(config, (*store).clone(), clocks.clone())
            .await
            .with_context(|| format!("recordings in {}", data_dir.display()))?;
        report_reconciled(&recording.reconciled);
        let service = Service::start_with_taps(
            config,
            opener,
            store.clone(),
            VERSION,
            live,
            clocks.clone(),
            recording.taps(),
            people,
        )
        .await?;
        let recording_access = (!recording.taps().is_empty()).then(|| RecordingAccess {
            clips: recording.clips(),
            status: recording.status_source(),
            recent: Default::default(),
        });
        let (stations, station_tasks) = if config.stations.is_empty() {
            (None, None)
        } else {
            let handle = service.handle();
            let frames: sheetsight_station::stations::CameraFrames = Arc::new(move |camera: &str| {
                let (_, frame) = handle.status(camera)?.frame?;
                image::GrayImage::from_raw(frame.width_px(), frame.height_px(), frame.y_plane().to_vec())
            });
            let started = Stations::start(config, (*store).clone(), clocks.clone(), Some(frames)).await;
            match started {
                Ok((stations, tasks)) => (Some(stations), Some(tasks)),
                Err(e) => {
                    let _ = service.stop().await;
                    recording.stop().await;
                    return Err(e).context("the inspection stations' parts library");
                }
            }
        };
        let notices = sheetsight_server::notice_channel();
        let extra = broadcast::channel(256).0;
        let bridge = spawn_notice_bridge(notices.subscribe(), extra.clone());
        let server = Server::start(ServerOptions {
            listen: listen.unwrap_or(config.server.listen),
            config: config.clone(),
            store: store.clone(),
            service: service.handle(),
            notices,
            admin_password,
            recording: recording_access,
            stations,
        })
        .await;
        let server = match server {
            Ok(s) => s,
            Err(e) => {
                // The cameras started: stop them cleanly before giving up.
                let _ = service.stop().await;
                recording.stop().await;
                return Err(e).context("the web server (set another address with --listen or [server] listen)");
            }
        };
        let mqtt = config.mqtt.as_ref().zip(mqtt_memory).and_then(|(m, memory)| {
            let outbox = primary_host.then(|| (*store).clone());
            MqttLinks::start(m, service.handle(), mqtt_events, extra, memory, outbox)
                .inspect_err(|e| tracing::error!(error = %e, "no MQTT: its TLS files cannot be used"))
                .ok()
        });
        let hub = config.hub.as_ref().map(|hub| {
            let (stop, stopped) = sheetsight_base::shutdown::channel();
            let task = match &hub.database_url {
                Some(url) => direct::spawn((*store).clone(), url.clone(), hub.shop.clone(), stopped),
                None => uplink::spawn((*store).clone(), hub.clone(), UplinkOptions::default(), stopped).1,
            };
            HubUplink { stop, task }
        });
        Ok(Self { service, store, server, log, mqtt, bridge, recording, hub, stations: station_tasks, _lock: lock })
    }

    /// Tells where the dashboard is and, at the first start, how to log in.
    pub fn print_web_address(&self) {
        eprintln!("sheetsight: dashboard and API at http://{}/", self.server.addr);
        if let Some(password) = &self.server.first_admin_password {
            eprintln!(
                "sheetsight: first login: user `admin`, password `{password}` (shown only now; add users under Users)"
            );
        }
    }

    /// Stops the cameras, writes what is pending, prints what each camera did; the
    /// history stays open for reading.
    pub async fn stop(self) -> anyhow::Result<(StopReport, Arc<SqliteStore>)> {
        if let Some(mqtt) = self.mqtt {
            mqtt.stop().await;
        }
        self.server.stop().await;
        if let Some(stations) = self.stations {
            stations.stop().await;
        }
        self.bridge.abort();
        let report = self.service.stop().await?;
        // The cameras have stopped, so have their taps: every segment is closed now.
        self.recording.stop().await;
        if let Some(log) = self.log {
            let _ = log.await;
        }
        if let Some(hub) = self.hub {
            hub.stop(&self.store).await;
        }
        print_stop_report(&report);
        Ok((report, self.store))
    }
}

/// Says what the check of the recordings against their index found (after a crash).
fn report_reconciled(r: &ReconcileReport) {
    if r.torn > 0 || r.reindexed > 0 {
        tracing::info!(
            files = r.files,
            reindexed = r.reindexed,
            torn = r.torn,
            "recordings index checked against the files"
        );
    }
    for file in &r.missing {
        eprintln!("sheetsight: recording {file} is gone (deleted outside SheetSight?); removed from the index");
    }
    for damage in &r.damaged {
        eprintln!("sheetsight: recording {damage}; what precedes the damage is kept");
    }
}

/// What the Sparkplug node carries over from earlier runs on this data folder.
async fn sparkplug_memory(store: &SqliteStore, data_dir: &Path) -> anyhow::Result<NodeMemory> {
    let totals = store.stroke_totals().await.context("reading the stroke counters")?;
    Ok(NodeMemory {
        bd_seq_file: Some(data_dir.join(SPARKPLUG_BD_SEQ_FILE)),
        stroke_totals: totals.into_iter().collect(),
    })
}

pub async fn serve(
    config: Config,
    opener: SharedOpener,
    events: Option<&Path>,
    listen: Option<SocketAddr>,
) -> anyhow::Result<bool> {
    let running = Running::start(&config, opener, events, sheetsight_service::live_channel(), listen, None).await?;
    eprintln!(
        "sheetsight: run {} watching {} cameras, {} machines; history in {}; Ctrl-C to stop",
        running.service.run_id(),
        config.cameras.len(),
        config.machines.len(),
        running.store.path().display()
    );
    running.print_web_address();
    shutdown_signal().await;
    eprintln!("sheetsight: stopping");
    let (_, store) = running.stop().await?;
    store.close().await;
    Ok(true)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Table,
    Csv,
    Json,
}

impl ReportFormat {
    /// `rows` as this format asks: through `table` or `csv`, or as pretty JSON.
    pub fn render<R: serde::Serialize>(
        self,
        rows: &[R],
        table: fn(&[R]) -> String,
        csv: fn(&[R]) -> String,
    ) -> anyhow::Result<String> {
        Ok(match self {
            Self::Table => table(rows),
            Self::Csv => csv(rows),
            Self::Json => serde_json::to_string_pretty(rows)? + "\n",
        })
    }
}

pub struct ReportOptions {
    pub config: PathBuf,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub machine: Option<String>,
    pub format: ReportFormat,
    /// Dwell per zone instead of the machines' rows.
    pub zones: bool,
    /// The history from this hub's database (its configuration file), of this shop.
    pub hub: Option<(PathBuf, String)>,
}

/// `machine` if the configuration has it, else an error naming the nearest.
pub fn known_machine(config: &Config, machine: &str) -> anyhow::Result<String> {
    if config.machines.iter().any(|x| x.id == machine) {
        return Ok(machine.to_string());
    }
    let ids: Vec<&str> = config.machines.iter().map(|x| x.id.as_str()).collect();
    let hint = sheetsight_config::nearest(machine, ids.iter().copied())
        .map_or(String::new(), |n| format!("; did you mean `{n}`?"));
    anyhow::bail!("--machine: no machine `{machine}` in {}{hint}; machines: {}", config.path.display(), ids.join(", "))
}

/// The configuration's data folder, if a history is stored there.
pub fn history_folder(config: &Config) -> anyhow::Result<&Path> {
    let data_dir = &config.storage.data_dir;
    anyhow::ensure!(
        data_dir.join(sheetsight_store::sqlite::DATABASE_FILE).exists(),
        "no history in {}: `sheetsight run {}` stores it there",
        data_dir.display(),
        config.path.display()
    );
    Ok(data_dir)
}

pub fn report(o: &ReportOptions) -> anyhow::Result<bool> {
    anyhow::ensure!(o.from <= o.to, "--from {} is after --to {}", o.from, o.to);
    let config = sheetsight_config::load(&o.config)?;
    let machines: Vec<String> = match &o.machine {
        Some(m) => vec![known_machine(&config, m)?],
        None => config.machines.iter().map(|m| m.id.clone()).collect(),
    };
    let windows: Vec<_> = config.shifts_or_whole_days().iter().flat_map(|s| s.windows(o.from, o.to)).collect();
    let (Some(from), Some(to)) = (
        windows.iter().map(|w| UnixMillis::from(w.start)).min(),
        windows.iter().map(|w| UnixMillis::from(w.end)).max(),
    ) else {
        println!("no shift falls between {} and {}", o.from, o.to);
        return Ok(true);
    };
    let now = UnixMillis::now();
    let q = Query { from, to, key: if o.zones { None } else { o.machine.clone() } };
    let (presence, history) = runtime()?.block_on(async {
        match &o.hub {
            Some((hub, shop)) => {
                let hub = sheetsight_config::hub::load_hub(hub)?;
                let db = sheetsight_store::postgres::PgDatabase::connect(&hub.database_url, 2).await?;
                let store = db.shop(shop);
                let counted = report::stroke_windows(&windows, &machines, now);
                Ok((store.presence(&q).await?, store.report_history(&q, &counted).await?))
            }
            None => {
                let data_dir = history_folder(&config)?;
                let store =
                    SqliteStore::open(data_dir).await.with_context(|| format!("history in {}", data_dir.display()))?;
                let read = (store.presence(&q).await?, store.report_history(&q).await?);
                store.close().await;
                anyhow::Ok(read)
            }
        }
    })?;
    if o.zones {
        let zones: Vec<String> = config.zones.iter().map(|z| z.id.clone()).collect();
        let rows = report::zone_rows(&windows, &zones, &presence, now);
        print!("{}", o.format.render(&rows, report::zone_table, report::zone_csv)?);
    } else {
        let rows = report::compute(&windows, &machines, &history, now);
        print!("{}", o.format.render(&rows, report::table, report::csv)?);
    }
    Ok(true)
}
