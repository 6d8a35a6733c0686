//! Starting and stopping the service.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sheetsight_base::LockOrRecover;
use sheetsight_base::clock::SharedClocks;
use sheetsight_base::shutdown;
use sheetsight_config::Config;
use sheetsight_ingest::source::SharedOpener;
use sheetsight_ingest::supervisor::{Progress, WorkerLink, supervise};
use sheetsight_ingest::tap::PacketTap;
use sheetsight_store::writer::{self, WriteTimings, WriterOptions, WriterStats};
use sheetsight_store::{Store, StoreError};
use sheetsight_vision::event::{CameraHealth, LiveEvent};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

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
}

/// A running service.
pub struct Service<S: Store> {
    store: Arc<S>,
    run: i64,
    stop_tx: shutdown::Sender,
    cameras: Vec<CameraTask>,
    writer: JoinHandle<WriterStats>,
    handle: ServiceHandle,
    clocks: SharedClocks,
}

/// What the web side and MQTT see of a running service: live statuses, events, write
/// timings, and live region changes. Cheap to clone; after the service stops, statuses
/// stay at their last values.
#[derive(Clone)]
pub struct ServiceHandle {
    cameras: Arc<Vec<CameraLink>>,
    live: broadcast::Sender<LiveEvent>,
    timings: Arc<WriteTimings>,
}

struct CameraLink {
    id: String,
    status: Arc<Mutex<CameraStatus>>,
    progress: Arc<Progress>,
    pending: PendingMachines,
}

impl ServiceHandle {
    /// Every event as it happens (a receiver that falls behind skips, it never blocks
    /// the analysis).
    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.live.subscribe()
    }

    /// A snapshot of every camera, in the configuration's order.
    pub fn statuses(&self) -> Vec<CameraStatus> {
        self.cameras.iter().map(Self::status_of).collect()
    }

    /// A snapshot of one camera.
    pub fn status(&self, camera: &str) -> Option<CameraStatus> {
        self.cameras.iter().find(|c| c.id == camera).map(Self::status_of)
    }

    fn status_of(c: &CameraLink) -> CameraStatus {
        let mut status = c.status.lock_or_recover().clone();
        status.packets_dropped = c.progress.packets_dropped.load(Ordering::Relaxed);
        status
    }

    pub fn write_timings(&self) -> &WriteTimings {
        &self.timings
    }

    /// Gives each camera's worker the machines `new` puts on it (edited regions, rules);
    /// a worker whose machines changed builds new analysers with its next frame, which
    /// continue what the old ones reported (states, since when, lamp modes, strokes).
    /// Cameras cannot be added or removed while running. Returns the cameras changed.
    pub fn reconfigure(&self, old: &Config, new: &Config) -> Vec<String> {
        let mut changed = Vec::new();
        for c in self.cameras.iter() {
            let before: Vec<_> = old.machines_on(&c.id).collect();
            let after: Vec<_> = new.machines_on(&c.id).cloned().collect();
            if before.len() == after.len() && before.iter().zip(&after).all(|(a, b)| *a == b) {
                continue;
            }
            *c.pending.lock_or_recover() = Some(after);
            changed.push(c.id.clone());
        }
        changed
    }
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
        Self::start_with_taps(config, opener, store, version, live, clocks, HashMap::new()).await
    }

    /// As [`start`](Self::start), with a tap on the stream of the cameras in `taps` (their
    /// recorders), which sees every packet before the worker's queue.
    pub async fn start_with_taps(
        config: &Config,
        opener: SharedOpener,
        store: Arc<S>,
        version: &str,
        live: broadcast::Sender<LiveEvent>,
        clocks: SharedClocks,
        taps: HashMap<String, Arc<dyn PacketTap>>,
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
        let mut cameras = Vec::new();
        let mut links = Vec::new();
        for camera in &config.cameras {
            let machines: Vec<_> = config.machines_on(&camera.id).cloned().collect();
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
            }));
            let pending = PendingMachines::default();
            let (tx, rx) = std::sync::mpsc::channel();
            let sink = sink.clone();
            let live_tx = live.clone();
            let out = move |e: LiveEvent| {
                let _ = live_tx.send(e.clone());
                sink.send(e);
            };
            let worker = Worker::new(
                camera.clone(),
                machines,
                progress.clone(),
                status.clone(),
                pending.clone(),
                out,
                clocks.clone(),
            );
            let worker = std::thread::Builder::new()
                .name(format!("cam-{}", camera.id))
                .spawn(move || worker.run(rx))
                .map_err(|source| ServiceError::Worker { camera: camera.id.clone(), source })?;
            let tap = taps.get(&camera.id).cloned();
            let link = WorkerLink { tx, progress: progress.clone(), clocks: clocks.clone(), tap };
            let supervisor = tokio::spawn(supervise(camera.clone(), opener.clone(), link, stop_rx.clone()));
            tracing::info!(camera = %camera.id, source = %camera.public_source(), "camera started");
            cameras.push(CameraTask { id: camera.id.clone(), supervisor, worker, progress: progress.clone() });
            links.push(CameraLink { id: camera.id.clone(), status, progress, pending });
        }
        drop(sink);
        let handle = ServiceHandle { cameras: Arc::new(links), live, timings };
        Ok(Self { store, run, stop_tx, cameras, writer, handle, clocks })
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
        let mut reports = Vec::new();
        for c in self.cameras {
            if let Err(e) = c.supervisor.await {
                tracing::error!(camera = %c.id, error = %e, "camera task ended abnormally");
            }
            // The supervisor held the worker's only sender: the worker ends now.
            let stats = match tokio::task::spawn_blocking(move || c.worker.join()).await {
                Ok(Ok(stats)) => stats,
                _ => {
                    tracing::error!(camera = %c.id, "camera worker ended abnormally");
                    WorkerStats::default()
                }
            };
            reports.push((c.id, stats, c.progress.packets_dropped.load(Ordering::Relaxed)));
        }
        let writer = self.writer.await.unwrap_or_default();
        self.store.end_run(self.run, self.clocks.realtime()).await?;
        Ok(StopReport { run: self.run, cameras: reports, writer })
    }
}
