//! Offline analysis of recorded video: every camera to its end, as fast as possible.
//!
//! Before any frame is read, every camera's source is opened far enough to know its
//! frame size and every region is checked against it: configuration mistakes are
//! reported with file, line and key. Then each camera runs on its own thread; events
//! stream to the caller as they happen (in time order per camera). A camera whose input
//! breaks reports where, marks its machines `NotAvailable` from there, and the other
//! cameras go on.

use std::path::PathBuf;
use std::sync::{Arc, mpsc};
use std::time::Instant;

use sheetsight_base::error::with_causes;
use sheetsight_config::{Config, ConfigError, SourceSpec};
use sheetsight_media::{MediaError, MediaIssue, StreamInfo};
use sheetsight_vision::event::{Event, VideoEvent};

use crate::camera::CameraAnalyzer;
use crate::machine::RegionError;
use crate::people::{DetectPeople, ZoneMonitor};
use crate::summary::{MachineSummary, ZoneSummary, add_attendance, summarize, zone_summary};

/// What happened to one camera.
#[derive(Clone, Debug)]
pub struct CameraReport {
    pub id: String,
    pub source: PathBuf,
    pub codec: String,
    pub frames_analyzed: u64,
    pub frames_skipped: u64,
    /// Media time covered, seconds.
    pub duration_s: f64,
    pub wall_s: f64,
    pub issues: Vec<MediaIssue>,
    /// Why the camera stopped before the end of its input.
    pub error: Option<String>,
    /// Person detections run on this camera (0 without zones), and how many failed.
    pub people_detections: u64,
    pub people_failures: u64,
    /// Per machine: strokes seen while a person stood in its motion region, and of
    /// those the ones left out of the counts (`ignore_when_person`).
    pub strokes_with_person: Vec<(String, (u64, u64))>,
}

/// The result of a whole run.
#[derive(Clone, Debug)]
pub struct AnalyzeReport {
    pub cameras: Vec<CameraReport>,
    pub summaries: Vec<MachineSummary>,
    /// Dwell per zone, for cameras watched for people.
    pub zones: Vec<ZoneSummary>,
}

impl AnalyzeReport {
    pub fn failed_cameras(&self) -> impl Iterator<Item = &CameraReport> {
        self.cameras.iter().filter(|c| c.error.is_some())
    }
}

/// A camera checked before its first frame.
pub struct Prepared {
    pub id: String,
    pub path: PathBuf,
    /// The stream's facts, or why the source cannot be read.
    pub info: Result<StreamInfo, Arc<MediaError>>,
}

/// Why a camera's analysis stopped before the end of its input.
#[derive(Debug, thiserror::Error)]
enum CameraFailure {
    #[error("camera vanished from the configuration")]
    Vanished,
    #[error("cannot read the source")]
    Unreadable(#[source] Arc<MediaError>),
    #[error("its regions do not fit the frame")]
    Regions(#[source] RegionError),
    #[error("the input broke")]
    Broke(#[source] MediaError),
}

/// Checks every camera's source and regions; no frame is decoded. A source that exists
/// but cannot be read is not a configuration error: that camera fails, the others run.
pub fn prepare(config: &Config) -> Result<Vec<Prepared>, ConfigError> {
    let mut out = Vec::new();
    for cam in &config.cameras {
        let path = match &cam.source {
            SourceSpec::File(p) => p.clone(),
            SourceSpec::Url(url) => {
                let scheme = url.split("://").next().unwrap_or("url");
                return Err(config.source_error(
                    &cam.id,
                    format!("`analyze` reads recorded video (files and image folders); live `{scheme}://` cameras are watched by `sheetsight run`"),
                ));
            }
        };
        let info = sheetsight_media::probe(&path).map_err(Arc::new);
        if let Ok(info) = &info {
            config.check_frame_sizes(&cam.id, info.width_px, info.height_px)?;
        }
        out.push(Prepared { id: cam.id.clone(), path, info });
    }
    Ok(out)
}

fn run_camera(
    config: &Config,
    prepared: &Prepared,
    detector: Option<&dyn DetectPeople>,
    tx: &mpsc::Sender<Vec<VideoEvent>>,
) -> CameraReport {
    let started = Instant::now();
    let mut report = CameraReport {
        id: prepared.id.clone(),
        source: prepared.path.clone(),
        codec: prepared.info.as_ref().map_or_else(|_| "unreadable".into(), |i| i.codec.clone()),
        frames_analyzed: 0,
        frames_skipped: 0,
        duration_s: 0.0,
        wall_s: 0.0,
        issues: Vec::new(),
        error: None,
        people_detections: 0,
        people_failures: 0,
        strokes_with_person: Vec::new(),
    };
    if let Err(e) = analyze_camera(config, prepared, detector, tx, &mut report) {
        let at = if report.frames_analyzed == 0 { "open" } else { "end" };
        let what = with_causes(&e);
        let _ = tx.send(vec![Event::MediaIssue { camera: prepared.id.clone(), at: at.into(), what: what.clone() }]);
        report.error = Some(what);
    }
    report.wall_s = started.elapsed().as_secs_f64();
    report
}

/// Runs one camera to the end of its input, sending events as they come and filling
/// `report`; an error is why the camera stopped early.
fn analyze_camera(
    config: &Config,
    prepared: &Prepared,
    detector: Option<&dyn DetectPeople>,
    tx: &mpsc::Sender<Vec<VideoEvent>>,
    report: &mut CameraReport,
) -> Result<(), CameraFailure> {
    let camera = config.camera(&prepared.id).ok_or(CameraFailure::Vanished)?;
    let info = prepared.info.as_ref().map_err(|e| CameraFailure::Unreadable(e.clone()))?;
    let mut analyzer =
        CameraAnalyzer::new(config, camera, info.width_px, info.height_px).map_err(CameraFailure::Regions)?;
    let zones_here: Vec<_> = config.zones_on(&camera.id).cloned().collect();
    let mut zones = match detector {
        Some(_) if !zones_here.is_empty() => {
            let machines: Vec<_> = config.machines_on(&camera.id).cloned().collect();
            for z in zones_here.iter().filter(|z| z.kind == sheetsight_config::ZoneKind::Danger) {
                if let Some(m) = z.machine.as_deref().filter(|m| !machines.iter().any(|x| x.id == *m)) {
                    tracing::warn!(zone = %z.id, machine = m, camera = %camera.id, "offline, a danger zone raises safety events only when its machine is on the same camera; `run` reads every camera's machines");
                }
            }
            let zones = ZoneMonitor::new(camera, zones_here, &machines, &config.people, info.width_px, info.height_px);
            Some(zones.map_err(CameraFailure::Regions)?)
        }
        _ => None,
    };
    let mut source = sheetsight_media::open(&prepared.path, camera.fps.unwrap_or(10.0))
        .map_err(|e| CameraFailure::Unreadable(Arc::new(e)))?;
    let mut events = Vec::new();
    let mut issues_sent = 0;
    let result = loop {
        let next = source.next_frame();
        match &next {
            Ok(Some(frame)) => {
                if let (Some(zones), Some(detector)) = (&mut zones, detector) {
                    let state_of = |m: &str| analyzer.state_of(m);
                    if let Some(people) = zones.look(detector, frame.t_s, &frame.frame, state_of, &mut events) {
                        analyzer.people_seen(frame.t_s, &people, zones.interval_s());
                    }
                }
                analyzer.process(frame, &mut events);
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(camera = %prepared.id, "input broke: {e}");
                analyzer.blind(analyzer.last_t_s().unwrap_or(0.0), &mut events);
            }
        }
        for issue in &source.issues()[issues_sent..] {
            events.push(Event::MediaIssue {
                camera: prepared.id.clone(),
                at: issue.at.clone(),
                what: issue.what.clone(),
            });
        }
        issues_sent = source.issues().len();
        if !events.is_empty() && tx.send(std::mem::take(&mut events)).is_err() {
            break Ok(());
        }
        match next {
            Ok(Some(_)) => {}
            Ok(None) => break Ok(()),
            Err(e) => break Err(CameraFailure::Broke(e)),
        }
    };
    report.frames_analyzed = analyzer.frames_analyzed();
    report.frames_skipped = analyzer.frames_skipped();
    report.duration_s = analyzer.last_t_s().map_or(0.0, |t| t + camera.fps.map_or(0.0, |f| 1.0 / f));
    report.issues = source.issues().to_vec();
    if let Some(zones) = &zones {
        (report.people_detections, report.people_failures) = (zones.detections, zones.failures);
        report.strokes_with_person = analyzer.strokes_with_person();
    }
    if analyzer.frames_wrong_size() > 0 {
        report.issues.push(MediaIssue {
            at: "whole stream".into(),
            what: format!(
                "{} frames were not {}x{} like the stream's header says; skipped",
                analyzer.frames_wrong_size(),
                info.width_px,
                info.height_px
            ),
        });
    }
    result
}

/// Analyses every camera of `config` to the end of its input, passing each event to
/// `sink` as it happens. With a `detector`, cameras with zones are also watched for
/// people (at their `people_fps`).
pub fn analyze(
    config: &Config,
    detector: Option<&dyn DetectPeople>,
    sink: impl FnMut(&VideoEvent),
) -> Result<AnalyzeReport, ConfigError> {
    let prepared = prepare(config)?;
    Ok(analyze_prepared(config, &prepared, detector, sink))
}

/// [`analyze`] of cameras already [`prepare`]d (checked before anything is written).
pub fn analyze_prepared(
    config: &Config,
    prepared: &[Prepared],
    detector: Option<&dyn DetectPeople>,
    mut sink: impl FnMut(&VideoEvent),
) -> AnalyzeReport {
    let (tx, rx) = mpsc::channel::<Vec<VideoEvent>>();
    let mut all_events = Vec::new();
    let cameras = std::thread::scope(|scope| {
        let handles: Vec<_> = prepared
            .iter()
            .map(|p| {
                let tx = tx.clone();
                scope.spawn(move || run_camera(config, p, detector, &tx))
            })
            .collect();
        drop(tx);
        for batch in rx {
            for e in &batch {
                sink(e);
            }
            all_events.extend(
                batch
                    .into_iter()
                    .filter(|e| matches!(e, Event::State { .. } | Event::Stroke { .. } | Event::Presence { .. })),
            );
        }
        handles
            .into_iter()
            .zip(prepared)
            .map(|(h, p)| {
                h.join().unwrap_or_else(|_| CameraReport {
                    id: p.id.clone(),
                    source: p.path.clone(),
                    codec: String::new(),
                    frames_analyzed: 0,
                    frames_skipped: 0,
                    duration_s: 0.0,
                    wall_s: 0.0,
                    issues: Vec::new(),
                    error: Some("the camera's analysis failed internally (see the log)".into()),
                    people_detections: 0,
                    people_failures: 0,
                    strokes_with_person: Vec::new(),
                })
            })
            .collect::<Vec<_>>()
    });
    let mut summaries = Vec::new();
    let mut zones = Vec::new();
    for cam in &cameras {
        let ids: Vec<String> = config.machines_on(&cam.id).map(|m| m.id.clone()).collect();
        let mut machines = summarize(&all_events, &ids, cam.duration_s);
        if cam.people_detections > 0 {
            add_attendance(&mut machines, &all_events, config, cam.duration_s);
            zones.extend(config.zones_on(&cam.id).map(|z| zone_summary(&all_events, &z.id, cam.duration_s)));
        }
        summaries.extend(machines);
    }
    AnalyzeReport { cameras, summaries, zones }
}
