//! Starting and stopping the service, and cameras added and removed while it runs.
//!
//! Invariants: every running camera has exactly one supervisor task, one worker thread
//! and one link in the [`ServiceHandle`]; a removed camera's tasks have ended before
//! its link goes; its stored history is never touched.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use sheetsight_base::LockOrRecover;
use sheetsight_base::clock::SharedClocks;
use sheetsight_base::lock::RwLockOrRecover;
use sheetsight_base::shutdown;
use sheetsight_config::{CameraConfig, Config, MachineConfig};
use sheetsight_ingest::source::SharedOpener;
use sheetsight_ingest::supervisor::{Progress, WorkerLink, supervise};
use sheetsight_ingest::tap::PacketTap;
use sheetsight_store::writer::{self, EventSink, WriteTimings, WriterOptions, WriterStats};
use sheetsight_store::{Store, StoreError};
use sheetsight_vision::event::{CameraHealth, LiveEvent};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::people_pool::{MachineStates, PendingZones, PeopleLink, PeoplePool};
use crate::safety_pictures::{SAFETY_PICTURES_FOLDER, SafetyPictures};
use crate::worker::{CameraStatus, PendingMachines, Worker, WorkerStats};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("history")]
    Store(#[from] StoreError),
    #[error("cannot start the worker of camera `{camera}`")]
    Worker {
        camera: String,
        #[source]
        source: std::io::Error,
    },
    #[error("camera `{0}` is running already")]
    CameraExists(String),
    #[error("no camera `{0}` is running")]
    NoSuchCamera(String),
    #[error("the service is stopping: no camera can be added")]
    Stopping,
}

/// A channel for [`Service::start`]'s `live` events.
pub fn live_channel() -> broadcast::Sender<LiveEvent> {
    broadcast::channel(4096).0
}

/// What a stopped service did.
#[derive(Debug)]
pub struct StopReport {
    pub run: i64,
    pub cameras: Vec<(String, WorkerStats, u64)>,
    pub writer: WriterStats,
}

struct CameraTask {
    id: String,
    supervisor: JoinHandle<()>,
    worker: std::thread::JoinHandle<WorkerStats>,
    progress: Arc<Progress>,
    /// Stops this camera alone.
    stop: shutdown::Sender,
}

/// A running service.
pub struct Service<S: Store> {
    store: Arc<S>,
    run: i64,
    stop_tx: shutdown::Sender,
    writer: JoinHandle<WriterStats>,
    handle: ServiceHandle,
    clocks: SharedClocks,
}

/// What the web side and MQTT see of a running service: live statuses, events, write
/// timings, live region changes, and cameras added and removed. Cheap to clone; after
/// the service stops, statuses stay at their last values.
#[derive(Clone)]
pub struct ServiceHandle {
    cameras: Arc<RwLock<Vec<CameraLink>>>,
    live: broadcast::Sender<LiveEvent>,
    timings: Arc<WriteTimings>,
    control: Arc<CameraControl>,
}

struct CameraLink {
    id: String,
    status: Arc<Mutex<CameraStatus>>,
    progress: Arc<Progress>,
    pending: PendingMachines,
    /// Cameras watched for people: where their new zones go.
    pending_zones: Option<PendingZones>,
}

/// What starting and stopping a camera needs.
struct CameraControl {
    opener: SharedOpener,
    clocks: SharedClocks,
    /// The writer's input; `None` once the service stops (the writer then ends).
    sink: Mutex<Option<EventSink>>,
    /// Taps (recorders) of the cameras configured at the start; emptied when the
    /// service stops, so that a handle kept elsewhere does not keep a recorder open.
    taps: Mutex<HashMap<String, Arc<dyn PacketTap>>>,
    tasks: Mutex<Vec<CameraTask>>,
    /// The whole service's stop, which every camera also obeys.
    service_stop: shutdown::Receiver,
    /// The people workers and every zone, when any camera has zones.
    people: Option<PeopleLink>,
    /// Every machine's current state (the people workers' danger zones read it).
    states: MachineStates,
}

impl ServiceHandle {
    /// Every event as it happens (a receiver that falls behind skips, it never blocks
    /// the analysis).
    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.live.subscribe()
    }

    /// A snapshot of every camera, in the order they were started.
    pub fn statuses(&self) -> Vec<CameraStatus> {
        self.cameras.read_or_recover().iter().map(Self::status_of).collect()
    }

    /// A snapshot of one camera.
    pub fn status(&self, camera: &str) -> Option<CameraStatus> {
        self.cameras.read_or_recover().iter().find(|c| c.id == camera).map(Self::status_of)
    }

    fn status_of(c: &CameraLink) -> CameraStatus {
        let mut status = c.status.lock_or_recover().clone();
        status.packets_dropped = c.progress.packets_dropped.load(Ordering::Relaxed);
        status
    }

    /// How the service opens cameras (for a camera test that connects as it would).
    pub fn opener(&self) -> SharedOpener {
        self.control.opener.clone()
    }

    pub fn write_timings(&self) -> &WriteTimings {
        &self.timings
    }

    /// Gives each camera's worker the machines `new` puts on it (edited regions, rules,
    /// machines added or removed); a worker whose machines changed builds new analysers
    /// with its next frame, which continue what the old ones reported (states, since
    /// when, lamp modes, strokes). Cameras are added and removed with
    /// [`add_camera`](Self::add_camera) and [`remove_camera`](Self::remove_camera).
    /// Returns the cameras changed.
    pub fn reconfigure(&self, old: &Config, new: &Config) -> Vec<String> {
        let mut changed = Vec::new();
        for c in self.cameras.read_or_recover().iter() {
            let zones_before: Vec<_> = old.zones_on(&c.id).cloned().collect();
            let zones_after: Vec<_> = new.zones_on(&c.id).cloned().collect();
            let zones_changed = zones_before != zones_after;
            if let (true, Some(pending)) = (zones_changed, &c.pending_zones) {
                *pending.lock_or_recover() = Some(zones_after);
            }
            let before: Vec<_> = old.machines_on(&c.id).cloned().collect();
            let after: Vec<_> = new.machines_on(&c.id).cloned().collect();
            let machines_changed = before != after;
            if machines_changed {
                *c.pending.lock_or_recover() = Some(after);
            }
            if machines_changed || zones_changed {
                changed.push(c.id.clone());
            }
        }
        changed
    }

    /// Whether `camera` runs and is watched for people (its zones can change while it
    /// runs; a camera without people workers needs a restart for its first zone).
    pub fn watches_people(&self, camera: &str) -> bool {
        self.cameras.read_or_recover().iter().any(|c| c.id == camera && c.pending_zones.is_some())
    }

    /// Starts `camera` with its `machines` while the service runs.
    pub fn add_camera(&self, camera: &CameraConfig, machines: Vec<MachineConfig>) -> Result<(), ServiceError> {
        let mut links = self.cameras.write_or_recover();
        if links.iter().any(|c| c.id == camera.id) {
            return Err(ServiceError::CameraExists(camera.id.clone()));
        }
        let link = self.control.start_camera(camera, machines, &self.live)?;
        links.push(link);
        Ok(())
    }

    /// Stops `camera` cleanly (its supervisor, then its worker, which reports the
    /// machines' last states) and forgets it; what it stored stays.
    pub async fn remove_camera(&self, camera: &str) -> Result<WorkerStats, ServiceError> {
        let task = {
            let mut tasks = self.control.tasks.lock_or_recover();
            let Some(k) = tasks.iter().position(|t| t.id == camera) else {
                return Err(ServiceError::NoSuchCamera(camera.to_string()));
            };
            tasks.remove(k)
        };
        let (_, stats, _) = stop_camera(task).await;
        self.cameras.write_or_recover().retain(|c| c.id != camera);
        tracing::info!(camera = %camera, "camera removed");
        Ok(stats)
    }
}

impl CameraControl {
    /// Spawns a camera's worker thread and supervisor; returns its link.
    fn start_camera(
        &self,
        camera: &CameraConfig,
        machines: Vec<MachineConfig>,
        live: &broadcast::Sender<LiveEvent>,
    ) -> Result<CameraLink, ServiceError> {
        let Some(sink) = self.sink.lock_or_recover().clone() else {
            return Err(ServiceError::Stopping);
        };
        let clocks = &self.clocks;
        let progress = Arc::new(Progress::default());
        let status = Arc::new(Mutex::new(CameraStatus {
            id: camera.id.clone(),
            health: CameraHealth::Connecting,
            detail: None,
            since: clocks.realtime(),
            stats: WorkerStats::default(),
            packets_dropped: 0,
            machines: Vec::new(),
            frame: None,
            people: None,
        }));
        let pending = PendingMachines::default();
        let (tx, rx) = std::sync::mpsc::channel();
        let live_tx = live.clone();
        let states = self.states.clone();
        let out = move |e: LiveEvent| {
            states.note(&e);
            let _ = live_tx.send(e.clone());
            sink.send(e);
        };
        let mut worker = Worker::new(
            camera.clone(),
            machines,
            progress.clone(),
            status.clone(),
            pending.clone(),
            out,
            clocks.clone(),
        );
        let mut pending_zones = None;
        if let Some(people) = self.people.as_ref() {
            let zones = people.zones.iter().filter(|z| z.camera == camera.id).cloned().collect();
            let pending = PendingZones::default();
            pending_zones = Some(pending.clone());
            worker = worker.with_people(PeopleLink { zones, pending_zones: pending, ..people.clone() });
        }
        let worker = std::thread::Builder::new()
            .name(format!("cam-{}", camera.id))
            .spawn(move || worker.run(rx))
            .map_err(|source| ServiceError::Worker { camera: camera.id.clone(), source })?;
        let tap = self.taps.lock_or_recover().get(&camera.id).cloned();
        let link = WorkerLink { tx, progress: progress.clone(), clocks: clocks.clone(), tap };
        let (stop, stop_rx) = shutdown::channel();
        let service_stop = self.service_stop.clone();
        let camera_stop = stop_rx.clone();
        // The camera stops with the service too.
        let stop_on_service = {
            let (forward_tx, forward_rx) = shutdown::channel();
            tokio::spawn(async move {
                tokio::select! {
                    () = service_stop.wait() => {}
                    () = camera_stop.wait() => {}
                }
                forward_tx.shut_down();
            });
            forward_rx
        };
        let supervisor = tokio::spawn(supervise(camera.clone(), self.opener.clone(), link, stop_on_service));
        tracing::info!(camera = %camera.id, source = %camera.public_source(), "camera started");
        self.tasks.lock_or_recover().push(CameraTask {
            id: camera.id.clone(),
            supervisor,
            worker,
            progress: progress.clone(),
            stop,
        });
        Ok(CameraLink { id: camera.id.clone(), status, progress, pending, pending_zones })
    }
}

/// Stops one camera and waits for its tasks: its supervisor first (it holds the
/// worker's only sender), then its worker.
async fn stop_camera(task: CameraTask) -> (String, WorkerStats, u64) {
    task.stop.shut_down();
    if let Err(e) = task.supervisor.await {
        tracing::error!(camera = %task.id, error = %e, "camera task ended abnormally");
    }
    let worker = task.worker;
    let stats = match tokio::task::spawn_blocking(move || worker.join()).await {
        Ok(Ok(stats)) => stats,
        _ => {
            tracing::error!(camera = %task.id, "camera worker ended abnormally");
            WorkerStats::default()
        }
    };
    (task.id, stats, task.progress.packets_dropped.load(Ordering::Relaxed))
}

impl<S: Store> Service<S> {
    /// Starts a run in `store` and every camera of `config`, opened through `opener`.
    /// Every event is also sent to `live` (subscribe before starting to miss none).
    /// Every time it stores or stamps is read from `clocks`. Must be called within a
    /// Tokio runtime.
    pub async fn start(
        config: &Config,
        opener: SharedOpener,
        store: Arc<S>,
        version: &str,
        live: broadcast::Sender<LiveEvent>,
        clocks: SharedClocks,
    ) -> Result<Self, ServiceError> {
        Self::start_with_taps(config, opener, store, version, live, clocks, HashMap::new(), None).await
    }

    /// As [`start`](Self::start), with a tap on the stream of the cameras in `taps` (their
    /// recorders), which sees every packet before the worker's queue, and with `people`
    /// (the people workers) looking for people in the configured zones.
    #[allow(clippy::too_many_arguments)]
    pub async fn start_with_taps(
        config: &Config,
        opener: SharedOpener,
        store: Arc<S>,
        version: &str,
        live: broadcast::Sender<LiveEvent>,
        clocks: SharedClocks,
        taps: HashMap<String, Arc<dyn PacketTap>>,
        people: Option<Arc<PeoplePool>>,
    ) -> Result<Self, ServiceError> {
        let run = store.begin_run(clocks.realtime(), version).await?;
        let retention = Duration::from_secs(u64::from(config.storage.retention_days) * 86_400);
        let timings = Arc::new(WriteTimings::default());
        let (sink, writer) = writer::spawn(
            store.clone(),
            run,
            WriterOptions {
                retention: Some(retention),
                timings: timings.clone(),
                clocks: clocks.clone(),
                ..Default::default()
            },
        );
        let (stop_tx, stop_rx) = shutdown::channel();
        let states = MachineStates::default();
        let control = Arc::new(CameraControl {
            opener,
            clocks: clocks.clone(),
            sink: Mutex::new(Some(sink)),
            taps: Mutex::new(taps),
            tasks: Mutex::new(Vec::new()),
            service_stop: stop_rx,
            people: people.map(|pool| PeopleLink {
                pool,
                zones: config.zones.clone(),
                settings: config.people.clone(),
                states: states.clone(),
                pending_zones: PendingZones::default(),
                safety_pictures: Some(SafetyPictures {
                    folder: config.storage.data_dir.join(SAFETY_PICTURES_FOLDER),
                    retention,
                }),
            }),
            states,
        });
        let mut links = Vec::new();
        for camera in &config.cameras {
            let machines: Vec<_> = config.machines_on(&camera.id).cloned().collect();
            links.push(control.start_camera(camera, machines, &live)?);
        }
        let handle = ServiceHandle { cameras: Arc::new(RwLock::new(links)), live, timings, control };
        Ok(Self { store, run, stop_tx, writer, handle, clocks })
    }

    pub fn run_id(&self) -> i64 {
        self.run
    }

    /// The live side of the service, for the web server and MQTT.
    pub fn handle(&self) -> ServiceHandle {
        self.handle.clone()
    }

    /// Every event as it happens (see [`ServiceHandle::subscribe`]).
    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.handle.subscribe()
    }

    /// A snapshot of every camera.
    pub fn statuses(&self) -> Vec<CameraStatus> {
        self.handle.statuses()
    }

    /// Stops every camera, writes what is pending and closes the run.
    pub async fn stop(self) -> Result<StopReport, ServiceError> {
        self.stop_tx.shut_down();
        // No camera can be added from now on, and the writer ends once the last
        // worker's sink is gone.
        self.handle.control.sink.lock_or_recover().take();
        self.handle.control.taps.lock_or_recover().clear();
        let tasks = std::mem::take(&mut *self.handle.control.tasks.lock_or_recover());
        let mut reports = Vec::new();
        for task in tasks {
            reports.push(stop_camera(task).await);
        }
        if let Some(people) = &self.handle.control.people {
            people.pool.close();
        }
        let writer = self.writer.await.unwrap_or_default();
        self.store.end_run(self.run, self.clocks.realtime()).await?;
        Ok(StopReport { run: self.run, cameras: reports, writer })
    }
}
