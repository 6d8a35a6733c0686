//! Recording: every camera with `record = true` has its compressed stream written to the
//! data folder as received (no decoding, no re-encoding), found again through an index
//! in the database, kept within `[recording]`'s quota and age, and cut into MP4 clips.
//!
//! - [`recorder`]: one thread per camera writing segment files (one a minute), fed by a
//!   [`PacketTap`](sheetsight_ingest::tap::PacketTap) that never blocks the camera;
//! - [`catalog`]: keeps the index current, applies retention, and at start rebuilds the
//!   index from the files where the two disagree (after a crash);
//! - [`clip`]: the MP4 clip of a camera's time span or a cycle.
//!
//! Layout: `<data>/recordings/<camera>/<first picture's ms>.ssv`. The files are the
//! truth; a crash loses at most the second of pictures not yet handed to the operating
//! system.

pub mod catalog;
pub mod clip;
pub mod recorder;

use std::path::{Path, PathBuf};

/// The folder of all recordings inside the data folder.
pub fn recordings_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("recordings")
}

/// The file extension of segment files.
pub const SEGMENT_EXTENSION: &str = "ssv";

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use sheetsight_base::clock::SharedClocks;
use sheetsight_config::Config;
use sheetsight_ingest::tap::PacketTap;
use sheetsight_store::sqlite::SqliteStore;

use crate::catalog::{CatalogError, Failures, ReconcileReport};
use crate::clip::ClipMaker;
use crate::recorder::Recorder;

/// A camera's recording, as the dashboard shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RecordingStatus {
    pub camera: String,
    pub pictures_written: u64,
    pub bytes_written: u64,
    pub pictures_dropped: u64,
    pub segments_written: u64,
    pub write_failures: u64,
    /// The write error, while writing fails.
    pub failing: Option<String>,
}

/// Every recorder of a configuration, its catalogue and its clips.
pub struct Recording {
    recorders: Vec<Recorder>,
    catalog: tokio::task::JoinHandle<()>,
    failures: Failures,
    clips: ClipMaker,
    /// What the check of the index against the files found at start.
    pub reconciled: ReconcileReport,
}

impl Recording {
    /// Checks the index against the files, then starts a recorder for every camera with
    /// `record = true`. Must be called within a Tokio runtime.
    pub async fn start(config: &Config, store: SqliteStore, clocks: SharedClocks) -> Result<Self, CatalogError> {
        let dir = recordings_dir(&config.storage.data_dir);
        let reconciled = catalog::reconcile(&store, &dir).await?;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let mut recorders = Vec::new();
        for camera in config.cameras.iter().filter(|c| c.record) {
            match Recorder::spawn(&camera.id, &dir, config.recording.segment_s, tx.clone()) {
                Ok(r) => recorders.push(r),
                Err(e) => tracing::error!(camera = %camera.id, error = %e, "cannot start the recorder thread"),
            }
        }
        drop(tx);
        let failures = Failures::default();
        let catalog =
            tokio::spawn(catalog::run(store.clone(), dir, config.recording.clone(), rx, failures.clone(), clocks));
        let clips = ClipMaker::new(store, &config.storage.data_dir, config.recording.clone());
        Ok(Self { recorders, catalog, failures, clips, reconciled })
    }

    /// The taps to hand the cameras' supervisors, by camera id.
    pub fn taps(&self) -> HashMap<String, Arc<dyn PacketTap>> {
        self.recorders.iter().map(|r| (r.camera.clone(), r.tap.clone() as Arc<dyn PacketTap>)).collect()
    }

    pub fn clips(&self) -> ClipMaker {
        self.clips.clone()
    }

    /// Live view of every recorder.
    pub fn status_source(&self) -> StatusSource {
        StatusSource {
            recorders: self.recorders.iter().map(|r| (r.camera.clone(), r.stats.clone())).collect(),
            failures: self.failures.clone(),
        }
    }

    /// Ends recording: call after the cameras have stopped (their taps are dropped then);
    /// closes every segment and waits for the index to hold it.
    pub async fn stop(self) {
        let recorders = self.recorders;
        let _ = tokio::task::spawn_blocking(move || recorders.into_iter().for_each(Recorder::join)).await;
        let _ = self.catalog.await;
    }
}

/// A cheap handle on the recorders' counters (for the API and the demo).
#[derive(Clone, Default)]
pub struct StatusSource {
    recorders: Vec<(String, Arc<recorder::RecorderStats>)>,
    failures: Failures,
}

impl StatusSource {
    pub fn statuses(&self) -> Vec<RecordingStatus> {
        use sheetsight_base::LockOrRecover;
        let failures = self.failures.lock_or_recover();
        self.recorders
            .iter()
            .map(|(camera, s)| RecordingStatus {
                camera: camera.clone(),
                pictures_written: s.pictures_written.load(Ordering::Relaxed),
                bytes_written: s.bytes_written.load(Ordering::Relaxed),
                pictures_dropped: s.pictures_dropped.load(Ordering::Relaxed),
                segments_written: s.segments_written.load(Ordering::Relaxed),
                write_failures: s.write_failures.load(Ordering::Relaxed),
                failing: failures.get(camera).cloned(),
            })
            .collect()
    }
}
