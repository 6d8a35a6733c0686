//! The running stations: each takes a photo when triggered (the page's button or the
//! API, `auto` when a new part lies still, a hot folder's new file), judges it, stores
//! the verdict with its report and pictures, and tells the dashboard and MQTT
//! ([`StationEvent`]).
//!
//! Invariants: one inspection at a time per station (a trigger while one runs is
//! refused as busy; the hot folder and `auto` wait their turn); only a verdict is stored,
//! a refusal is the station's last status and an event, never a row; pictures are
//! written beside their names and renamed before the row that names them is stored, and
//! deleted again if it is not; a station whose calibration cannot be read says so and
//! the others run.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use image::GrayImage;
use serde::Serialize;
use sheetsight_base::clock::SharedClocks;
use sheetsight_base::{LockOrRecover, UnixMillis, shutdown};
use sheetsight_config::{Config, StationConfig, StationSource};
use sheetsight_inspect::Calibration;
use sheetsight_inspect::report::{FeatureReport, Report, Verdict};
use sheetsight_store::inspections::{FeatureMeasure, NewInspection};
use sheetsight_store::sqlite::SqliteStore;
use tokio::sync::broadcast;

use crate::StationError;
use crate::hot_folder::{FolderWatch, Ready, file_away};
use crate::judge::{Against, Timings, failures_in_words, judge};
use crate::library::Library;
use crate::photo::{PhotoFormat, decode};
use crate::still::StillPart;

/// The folder in the data folder where inspections' pictures are kept, per station.
pub const PICTURES_FOLDER: &str = "inspections";
/// How often `auto` looks at the table.
const POLL: Duration = Duration::from_millis(250);
/// The longest wait for a snapshot URL.
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(5);

/// A configured camera's newest frame as grey, by camera id (`None`: no frame yet).
pub type CameraFrames = Arc<dyn Fn(&str) -> Option<GrayImage> + Send + Sync>;

/// What set an inspection off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    Button,
    Api,
    Auto,
    Folder,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Button => "button",
            Self::Api => "api",
            Self::Auto => "auto",
            Self::Folder => "folder",
        }
    }
}

/// An inspection asked for.
#[derive(Clone, Debug)]
pub struct InspectRequest {
    pub part: Option<String>,
    pub revision: Option<String>,
    pub operator: Option<String>,
    pub trigger: Trigger,
    /// A photo given with the request (else the station takes one from its source).
    pub photo: Option<Vec<u8>>,
    /// Or a picture already decoded (a camera's frame).
    pub frame: Option<GrayImage>,
}

/// A stored inspection with its report, as the API answers a trigger.
#[derive(Clone, Debug, Serialize)]
pub struct InspectionView {
    #[serde(flatten)]
    pub brief: InspectionBrief,
    pub report: Report,
}

/// At most this many failures are told in an event (the report has them all).
const MAX_TOLD_FAILURES: usize = 40;

/// A stored inspection without its report: what the station page, MQTT and the webhook
/// hear of (`GET /api/v1/inspections/{id}` has the report), so that a message stays small.
#[derive(Clone, Debug, Serialize)]
pub struct InspectionBrief {
    pub id: i64,
    /// When it was inspected, ms since 1970.
    #[serde(rename = "t_ms")]
    pub t: UnixMillis,
    pub station: String,
    pub part: String,
    pub revision: String,
    pub operator: Option<String>,
    pub trigger: Trigger,
    pub verdict: Verdict,
    /// How sure the match was, when the part was matched and not named (0-1).
    pub match_confidence: Option<f64>,
    /// What failed, in words (in an event, the first [`MAX_TOLD_FAILURES`], then how
    /// many more).
    pub failures: Vec<String>,
    pub timings: Timings,
}

impl InspectionView {
    /// What an event tells of it.
    pub fn for_event(&self) -> InspectionBrief {
        let mut brief = self.brief.clone();
        if brief.failures.len() > MAX_TOLD_FAILURES {
            let more = brief.failures.len() - MAX_TOLD_FAILURES;
            brief.failures.truncate(MAX_TOLD_FAILURES);
            brief.failures.push(format!("… and {more} more (see the report)"));
        }
        brief
    }
}

/// A refusal: the photo was no inspection (nothing stored).
#[derive(Clone, Debug, Serialize)]
pub struct Refusal {
    #[serde(rename = "t_ms")]
    pub t: UnixMillis,
    pub station: String,
    pub trigger: Trigger,
    pub message: String,
}

/// What the dashboard and MQTT hear of.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum StationEvent {
    Inspected(InspectionBrief),
    Refused(Refusal),
}

/// A station's state for its page.
#[derive(Clone, Debug, Serialize)]
pub struct StationStatus {
    pub id: String,
    /// `snapshot`, `camera` or `folder`.
    pub source_kind: &'static str,
    /// The camera id or folder (a snapshot URL is not shown: it may hold credentials).
    pub source: Option<String>,
    pub auto: bool,
    pub tolerance_mm: f64,
    /// Why the station cannot inspect, if it cannot (its calibration).
    pub problem: Option<String>,
    pub busy: bool,
    pub last: Option<StationEvent>,
}

struct Station {
    config: StationConfig,
    /// The calibration read last, with its file's time: read again when the file
    /// changes (a table calibrated again needs no restart), and until it can be read.
    calibration: Mutex<Option<(std::time::SystemTime, Arc<Calibration>)>>,
    turn: tokio::sync::Mutex<()>,
    last: Mutex<Option<StationEvent>>,
}

struct Inner {
    stations: Vec<Station>,
    library: Library,
    /// `[parts] folder`: read again before each inspection, so that a drawing placed
    /// there is used by the next one.
    parts_folder: Option<PathBuf>,
    store: SqliteStore,
    pictures: PathBuf,
    clocks: SharedClocks,
    events: broadcast::Sender<StationEvent>,
    http: reqwest::Client,
    cameras: Option<CameraFrames>,
}

/// The stations' handle: cheap to clone, for the API.
#[derive(Clone)]
pub struct Stations {
    inner: Arc<Inner>,
}

/// The running stations' background work (hot folders, `auto`, the parts folder).
pub struct StationTasks {
    stop: shutdown::Sender,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl StationTasks {
    pub async fn stop(self) {
        self.stop.shut_down();
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
        }
    }
}

impl Station {
    /// The station's calibration, read again when its file changed.
    fn calibration(&self) -> Result<Arc<Calibration>, String> {
        let path = &self.config.calibration;
        let cannot = |e: std::io::Error| format!("cannot read the calibration {}: {e}", path.display());
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).map_err(cannot)?;
        let mut held = self.calibration.lock_or_recover();
        if let Some((t, c)) = held.as_ref()
            && *t == modified
        {
            return Ok(c.clone());
        }
        let bytes = std::fs::read(path).map_err(cannot)?;
        let calibration: Calibration = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{}: not a calibration written by `sheetsight calibrate` ({e})", path.display()))?;
        let calibration = Arc::new(calibration);
        *held = Some((modified, calibration.clone()));
        Ok(calibration)
    }
}

impl Stations {
    /// Reads the stations' calibrations and the library, and starts their background
    /// work. `cameras` gives configured cameras' frames to stations whose source is one.
    pub async fn start(
        config: &Config,
        store: SqliteStore,
        clocks: SharedClocks,
        cameras: Option<CameraFrames>,
    ) -> Result<(Self, StationTasks), StationError> {
        let library = Library::load(store.clone()).await?;
        let stations = config
            .stations
            .iter()
            .map(|c| {
                let station =
                    Station { config: c.clone(), calibration: Mutex::new(None), turn: Default::default(), last: Mutex::new(None) };
                if let Err(e) = station.calibration() {
                    tracing::error!(station = %c.id, error = %e, "the station cannot inspect until its calibration can be read");
                }
                station
            })
            .collect();
        let http = reqwest::Client::builder().timeout(SNAPSHOT_TIMEOUT).build().map_err(|e| StationError::Io {
            what: "building the snapshot client".into(),
            source: std::io::Error::other(e),
        })?;
        let inner = Arc::new(Inner {
            stations,
            library,
            parts_folder: config.parts.folder.clone(),
            store,
            pictures: config.storage.data_dir.join(PICTURES_FOLDER),
            clocks,
            events: broadcast::channel(64).0,
            http,
            cameras,
        });
        let this = Self { inner };
        let (stop, stopped) = shutdown::channel();
        let mut tasks = Vec::new();
        if let Some(folder) = config.parts.folder.clone() {
            tasks.push(tokio::spawn(this.clone().parts_folder(folder, stopped.clone())));
        }
        for (k, s) in this.inner.stations.iter().enumerate() {
            match &s.config.source {
                StationSource::Folder(folder) => {
                    tasks.push(tokio::spawn(this.clone().hot_folder(k, folder.clone(), stopped.clone())))
                }
                _ if s.config.auto => tasks.push(tokio::spawn(this.clone().auto(k, stopped.clone()))),
                _ => {}
            }
        }
        tasks.push(tokio::spawn(this.clone().retention(stopped)));
        Ok((this, StationTasks { stop, tasks }))
    }

    pub fn library(&self) -> &Library {
        &self.inner.library
    }

    pub fn subscribe(&self) -> broadcast::Receiver<StationEvent> {
        self.inner.events.subscribe()
    }

    pub fn ids(&self) -> Vec<String> {
        self.inner.stations.iter().map(|s| s.config.id.clone()).collect()
    }

    /// The folder of the stored pictures.
    pub fn pictures(&self) -> &std::path::Path {
        &self.inner.pictures
    }

    pub fn statuses(&self) -> Vec<StationStatus> {
        self.inner.stations.iter().map(status).collect()
    }

    pub fn status(&self, id: &str) -> Result<StationStatus, StationError> {
        self.station(id).map(|(_, s)| status(s))
    }

    fn station(&self, id: &str) -> Result<(usize, &Station), StationError> {
        self.inner
            .stations
            .iter()
            .enumerate()
            .find(|(_, s)| s.config.id == id)
            .ok_or_else(|| StationError::UnknownStation(id.to_string()))
    }

    /// Inspects now (refused as busy while the station inspects).
    pub async fn inspect(&self, id: &str, request: InspectRequest) -> Result<InspectionView, StationError> {
        let (k, station) = self.station(id)?;
        let Ok(turn) = station.turn.try_lock() else { return Err(StationError::Busy(id.to_string())) };
        let result = self.inspect_locked(k, request).await;
        drop(turn);
        result
    }

    /// Inspects once the station's turn comes; the outcome is also the station's status
    /// and an event.
    async fn inspect_locked(&self, k: usize, request: InspectRequest) -> Result<InspectionView, StationError> {
        let station = &self.inner.stations[k];
        let trigger = request.trigger;
        let result = self.run(station, request).await;
        self.tell(k, trigger, result)
    }

    /// Makes an outcome the station's last status and an event.
    fn tell(
        &self,
        k: usize,
        trigger: Trigger,
        result: Result<InspectionView, StationError>,
    ) -> Result<InspectionView, StationError> {
        let station = &self.inner.stations[k];
        let event = match &result {
            Ok(view) => StationEvent::Inspected(view.for_event()),
            Err(e) => {
                tracing::warn!(station = %station.config.id, trigger = trigger.as_str(), error = %e, "no inspection");
                StationEvent::Refused(Refusal {
                    t: self.inner.clocks.realtime(),
                    station: station.config.id.clone(),
                    trigger,
                    message: e.to_string(),
                })
            }
        };
        *station.last.lock_or_recover() = Some(event.clone());
        let _ = self.inner.events.send(event);
        result
    }

    async fn run(&self, station: &Station, request: InspectRequest) -> Result<InspectionView, StationError> {
        let c = &station.config;
        let arrived = Instant::now();
        let calibration =
            station.calibration().map_err(|message| StationError::Unavailable { station: c.id.clone(), message })?;
        if let Some(folder) = &self.inner.parts_folder {
            self.inner.library.import_folder(folder, self.inner.clocks.realtime()).await;
        }
        let against = match &request.part {
            Some(part) => Against::Part(self.inner.library.find(part, request.revision.as_deref())?),
            None => Against::Match(self.inner.library.all()),
        };
        // The photo: given, or taken from the source.
        let (photo_bytes, photo) = match (request.photo, request.frame) {
            (Some(bytes), _) => (Some(bytes), None),
            (None, Some(frame)) => (None, Some(frame)),
            (None, None) => self.take_photo(c).await?,
        };
        let acquire_ms = arrived.elapsed().as_secs_f64() * 1e3;
        let tolerance_mm = c.tolerance_mm;
        let what = format!("station `{}`'s photo", c.id);
        let model = calibration.model.clone();
        let judged = tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let photo = match photo {
                Some(p) => p,
                None => decode(photo_bytes.as_deref().unwrap_or_default(), &what)?,
            };
            let decode_ms = started.elapsed().as_secs_f64() * 1e3;
            judge(&photo, &model, tolerance_mm, against).map(|j| (j, decode_ms, photo_bytes, photo))
        })
        .await
        .map_err(|e| StationError::Io { what: "inspecting".into(), source: std::io::Error::other(e) })??;
        let (judged, decode_ms, photo_bytes, photo) = judged;
        let started = Instant::now();
        let t = self.inner.clocks.realtime();
        let report = judged.inspection.report;
        let kept_photo = c.keep_photo.then(|| match photo_bytes {
            Some(bytes) => {
                let ext = PhotoFormat::sniff(&bytes).map_or("jpg", |f| f.extension());
                (bytes, ext)
            }
            None => (encode_jpeg(&photo), "jpg"),
        });
        let overlay = self.keep_picture(&c.id, t, "overlay.jpg", &judged.overlay_jpeg)?;
        let photo_name = match &kept_photo {
            Some((bytes, ext)) => match self.keep_picture(&c.id, t, &format!("photo.{ext}"), bytes) {
                Ok(name) => Some(name),
                Err(e) => {
                    self.forget_pictures(&[overlay]);
                    return Err(e);
                }
            },
            None => None,
        };
        let failures = failures_in_words(&report);
        let row = NewInspection {
            t,
            station: c.id.clone(),
            part: judged.part.record.part.clone(),
            revision: judged.part.record.revision.clone(),
            operator: request.operator.clone(),
            trigger: request.trigger.as_str().to_string(),
            verdict: if report.verdict == Verdict::Pass { "pass" } else { "fail" }.to_string(),
            match_confidence: judged.confidence,
            failed: failures.len() as u32,
            report: serde_json::to_string(&report).unwrap_or_default(),
            overlay: Some(overlay.clone()),
            photo: photo_name.clone(),
            features: measures(&report),
        };
        let id = match self.inner.store.add_inspection(&row).await {
            Ok(id) => id,
            Err(e) => {
                self.forget_pictures(&[Some(overlay), photo_name].into_iter().flatten().collect::<Vec<_>>());
                return Err(e.into());
            }
        };
        let store_ms = started.elapsed().as_secs_f64() * 1e3;
        let timings = Timings {
            acquire_ms,
            decode_ms,
            inspect_ms: judged.inspect_ms,
            overlay_ms: judged.overlay_ms,
            store_ms,
            total_ms: arrived.elapsed().as_secs_f64() * 1e3,
        };
        tracing::info!(station = %c.id, id, part = %row.part, verdict = %row.verdict, ms = timings.total_ms, "inspected");
        let brief = InspectionBrief {
            id,
            t,
            station: c.id.clone(),
            part: row.part,
            revision: row.revision,
            operator: row.operator,
            trigger: request.trigger,
            verdict: report.verdict,
            match_confidence: judged.confidence,
            failures,
            timings,
        };
        Ok(InspectionView { brief, report })
    }

    /// A photo from the station's source: bytes from a snapshot URL, a camera's frame.
    async fn take_photo(&self, c: &StationConfig) -> Result<(Option<Vec<u8>>, Option<GrayImage>), StationError> {
        let down = |message: String| StationError::Unavailable { station: c.id.clone(), message };
        match &c.source {
            StationSource::Snapshot(url) => Ok((Some(self.fetch(url).await.map_err(down)?), None)),
            StationSource::Camera(camera) => {
                let frame = self.inner.cameras.as_ref().and_then(|f| f(camera));
                let frame = frame.ok_or_else(|| down(format!("camera `{camera}` has no picture now (is it down?)")))?;
                Ok((None, Some(frame)))
            }
            StationSource::Folder(folder) => Err(StationError::bad(
                format!("station `{}`", c.id),
                format!("its photos come from the hot folder {}: give the photo with the request", folder.display()),
            )),
        }
    }

    async fn fetch(&self, url: &str) -> Result<Vec<u8>, String> {
        let shown = sheetsight_config::public_source::public_url(url);
        let response =
            self.inner.http.get(url).send().await.map_err(|e| format!("the camera at {shown} does not answer: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("the camera at {shown} answered {}", response.status()));
        }
        if response.content_length().is_some_and(|n| n > crate::photo::MAX_PHOTO_BYTES) {
            return Err(format!("the camera at {shown} sends more than {} MB", crate::photo::MAX_PHOTO_BYTES >> 20));
        }
        let bytes = response.bytes().await.map_err(|e| format!("the picture from {shown} broke off: {e}"))?;
        Ok(bytes.to_vec())
    }

    /// Writes a picture of an inspection; its name under the pictures folder.
    fn keep_picture(&self, station: &str, t: UnixMillis, what: &str, bytes: &[u8]) -> Result<String, StationError> {
        let folder = self.inner.pictures.join(station);
        let io = |source| StationError::Io { what: format!("keeping the {what} in {}", folder.display()), source };
        std::fs::create_dir_all(&folder).map_err(io)?;
        let mut name = format!("{}-{what}", t.0);
        let mut n = 1;
        while folder.join(&name).exists() {
            n += 1;
            name = format!("{}-{n}-{what}", t.0);
        }
        let partial = folder.join(format!(".{name}.partial"));
        std::fs::write(&partial, bytes).map_err(io)?;
        std::fs::rename(&partial, folder.join(&name)).map_err(io)?;
        Ok(format!("{station}/{name}"))
    }

    fn forget_pictures(&self, names: &[String]) {
        for name in names {
            let _ = std::fs::remove_file(self.inner.pictures.join(name));
        }
    }

    /// The path of a stored picture by its name (`None` for a name that leaves the folder).
    pub fn picture_path(&self, name: &str) -> Option<PathBuf> {
        let ok = name.split('/').count() == 2 && name.split('/').all(|p| !p.is_empty() && !p.starts_with('.'));
        ok.then(|| self.inner.pictures.join(name))
    }

    async fn parts_folder(self, folder: PathBuf, stop: shutdown::Receiver) {
        loop {
            self.inner.library.import_folder(&folder, self.inner.clocks.realtime()).await;
            tokio::select! {
                _ = stop.wait() => return,
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
        }
    }

    async fn hot_folder(self, k: usize, folder: PathBuf, stop: shutdown::Receiver) {
        let mut watch = FolderWatch::default();
        loop {
            for (path, ready) in watch.poll(&folder, Instant::now()) {
                let station = &self.inner.stations[k];
                let _turn = station.turn.lock().await;
                let outcome = match ready {
                    Ready::Photo(bytes) => {
                        let request = InspectRequest {
                            part: None,
                            revision: None,
                            operator: None,
                            trigger: Trigger::Folder,
                            photo: Some(bytes),
                            frame: None,
                        };
                        self.inspect_locked(k, request).await.map(|_| ())
                    }
                    Ready::Refused(e) => self.tell(k, Trigger::Folder, Err(e)).map(|_| ()),
                };
                let reason = outcome.err().map(|e| format!("{}: {e}", path.display()));
                file_away(&folder, &path, reason.as_deref());
            }
            tokio::select! {
                _ = stop.wait() => return,
                _ = tokio::time::sleep(crate::hot_folder::POLL) => {}
            }
        }
    }

    async fn auto(self, k: usize, stop: shutdown::Receiver) {
        let station = &self.inner.stations[k];
        let mut still = StillPart::new(station.config.still_s);
        let started = Instant::now();
        let mut failing = false;
        loop {
            tokio::select! {
                _ = stop.wait() => return,
                _ = tokio::time::sleep(POLL) => {}
            }
            let photo = match self.take_photo(&station.config).await {
                Ok(p) => p,
                Err(e) => {
                    if !failing {
                        tracing::warn!(station = %station.config.id, error = %e, "auto: no picture of the table");
                    }
                    failing = true;
                    continue;
                }
            };
            failing = false;
            let (bytes, frame) = photo;
            let what = format!("station `{}`'s photo", station.config.id);
            let frame = match (&bytes, frame) {
                (_, Some(f)) => f,
                (Some(b), None) => {
                    let b = b.clone();
                    match tokio::task::spawn_blocking(move || decode(&b, &what)).await {
                        Ok(Ok(f)) => f,
                        _ => continue,
                    }
                }
                (None, None) => continue,
            };
            if !still.observe(&frame, started.elapsed().as_secs_f64()) {
                continue;
            }
            let _turn = station.turn.lock().await;
            // The picture judged is the one seen still.
            let request = InspectRequest {
                part: None,
                revision: None,
                operator: None,
                trigger: Trigger::Auto,
                frame: bytes.is_none().then_some(frame),
                photo: bytes,
            };
            let _ = self.inspect_locked(k, request).await;
        }
    }

    /// Deletes inspections older than each station's `keep_days`, hourly.
    async fn retention(self, stop: shutdown::Receiver) {
        loop {
            for s in &self.inner.stations {
                let before = self.inner.clocks.realtime() - Duration::from_secs(u64::from(s.config.keep_days) * 86_400);
                match self.inner.store.purge_inspections(&s.config.id, before).await {
                    Ok(files) => self.forget_pictures(&files),
                    Err(e) => tracing::error!(station = %s.config.id, error = %e, "cannot delete old inspections"),
                }
            }
            tokio::select! {
                _ = stop.wait() => return,
                _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            }
        }
    }
}

fn status(s: &Station) -> StationStatus {
    let (source_kind, source) = match &s.config.source {
        StationSource::Snapshot(_) => ("snapshot", None),
        StationSource::Camera(c) => ("camera", Some(c.clone())),
        StationSource::Folder(f) => ("folder", Some(f.display().to_string())),
    };
    StationStatus {
        id: s.config.id.clone(),
        source_kind,
        source,
        auto: s.config.auto,
        tolerance_mm: s.config.tolerance_mm,
        problem: s.calibration().err(),
        busy: s.turn.try_lock().is_err(),
        last: s.last.lock_or_recover().clone(),
    }
}

/// Each feature's measures, for the control charts.
fn measures(report: &Report) -> Vec<FeatureMeasure> {
    let verdict = |v: Verdict| format!("{v:?}").to_lowercase();
    report
        .features
        .iter()
        .map(|f| match f {
            FeatureReport::Hole { id, position_error_mm, diameter_error_mm, verdict: v, .. } => FeatureMeasure {
                feature: id.clone(),
                kind: "hole".into(),
                position_error_mm: *position_error_mm,
                diameter_error_mm: *diameter_error_mm,
                deviation_mm: None,
                verdict: verdict(*v),
            },
            FeatureReport::Cutout { id, max_deviation_mm, verdict: v, .. } => FeatureMeasure {
                feature: id.clone(),
                kind: "cutout".into(),
                position_error_mm: None,
                diameter_error_mm: None,
                deviation_mm: *max_deviation_mm,
                verdict: verdict(*v),
            },
            FeatureReport::Outline { id, max_deviation_mm, verdict: v, .. } => FeatureMeasure {
                feature: id.clone(),
                kind: "outline".into(),
                position_error_mm: None,
                diameter_error_mm: None,
                deviation_mm: Some(*max_deviation_mm),
                verdict: verdict(*v),
            },
        })
        .collect()
}

fn encode_jpeg(picture: &GrayImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    let _ = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 92).encode_image(picture);
    bytes
}
