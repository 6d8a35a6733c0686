//! "Find lamps": watches a camera's analysed frames for a while and proposes every
//! stack light in its picture ([`sheetsight_vision::lamp_finder`]), for the admin to
//! confirm, move or delete.
//!
//! One job per camera at a time; a job reads the frames the camera's worker publishes
//! (about five a second), so it never slows the analysis, and its finder runs on the
//! blocking pool. The last job's result stays until the next starts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sheetsight_base::LockOrRecover;
use sheetsight_vision::lamp_finder::{FinderTuning, LampFinder, TowerProposal};

use crate::AppState;
use crate::camera_view::known_camera;
use crate::error::{ApiError, ApiJson, ApiResult};

const DEFAULT_WATCH_S: f64 = 30.0;
const WATCH_S: std::ops::RangeInclusive<f64> = 5.0..=300.0;
/// How often a job looks for a new frame.
const POLL: Duration = Duration::from_millis(100);

/// The find jobs, by camera.
#[derive(Default)]
pub struct FindJobs(Mutex<HashMap<String, Arc<Mutex<FindStatus>>>>);

#[derive(Serialize, Clone, Debug)]
pub struct FindStatus {
    /// `none` (not looked for yet), `watching`, `done` or `failed`.
    pub state: &'static str,
    /// 0 to 1.
    pub progress: f64,
    pub watch_s: f64,
    pub frames: u32,
    pub frame_width_px: Option<u32>,
    pub frame_height_px: Option<u32>,
    pub towers: Vec<ProposedTower>,
    pub error: Option<String>,
    /// Time to propose once the watching ended.
    pub propose_ms: Option<u64>,
}

impl FindStatus {
    /// A job in `state` that has seen nothing yet.
    fn new(state: &'static str, watch_s: f64) -> Self {
        Self {
            state,
            progress: 0.0,
            watch_s,
            frames: 0,
            frame_width_px: None,
            frame_height_px: None,
            towers: Vec::new(),
            error: None,
            propose_ms: None,
        }
    }
}

#[derive(Serialize, Clone, Debug)]
pub struct ProposedTower {
    pub pitch_px: f64,
    pub score: f32,
    pub lamps: Vec<ProposedLamp>,
}

#[derive(Serialize, Clone, Debug)]
pub struct ProposedLamp {
    pub color: &'static str,
    /// `seen_lit`, `inferred_by_tint` or `inferred_by_order`.
    pub evidence: &'static str,
    pub center_px: [f64; 2],
    pub radius_px: f64,
    pub roi: Vec<[f64; 2]>,
}

fn tower_json(t: &TowerProposal) -> ProposedTower {
    ProposedTower {
        pitch_px: (t.pitch_px * 10.0).round() / 10.0,
        score: t.score,
        lamps: t
            .lamps
            .iter()
            .map(|l| ProposedLamp {
                color: l.color.as_str(),
                evidence: l.evidence.as_str(),
                center_px: [(l.center_px.0 * 10.0).round() / 10.0, (l.center_px.1 * 10.0).round() / 10.0],
                radius_px: (l.radius_px * 10.0).round() / 10.0,
                roi: l.roi_px.clone(),
            })
            .collect(),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FindRequest {
    #[serde(default)]
    pub watch_s: Option<f64>,
}

pub async fn start(
    State(state): State<Arc<AppState>>,
    axum::Extension(p): axum::Extension<crate::auth::Principal>,
    UrlPath(camera): UrlPath<String>,
    ApiJson(body): ApiJson<FindRequest>,
) -> ApiResult<(StatusCode, Json<FindStatus>)> {
    known_camera(&state, &camera)?;
    let watch_s = body.watch_s.unwrap_or(DEFAULT_WATCH_S);
    if !WATCH_S.contains(&watch_s) {
        return Err(ApiError::field("watch_s", format!("watch from {} to {} s", WATCH_S.start(), WATCH_S.end())));
    }
    let status = Arc::new(Mutex::new(FindStatus::new("watching", watch_s)));
    {
        let mut jobs = state.find_jobs.0.lock_or_recover();
        if let Some(running) = jobs.get(&camera)
            && running.lock_or_recover().state == "watching"
        {
            return Err(ApiError::conflict(format!("lamps are being found on camera `{camera}` already")));
        }
        jobs.insert(camera.clone(), status.clone());
    }
    tracing::info!(camera = %camera, by = %p.name, watch_s, "finding lamps");
    let snapshot = status.lock_or_recover().clone();
    tokio::spawn(watch(state.clone(), camera, status));
    Ok((StatusCode::ACCEPTED, Json(snapshot)))
}

pub async fn get(State(state): State<Arc<AppState>>, UrlPath(camera): UrlPath<String>) -> ApiResult<Json<FindStatus>> {
    known_camera(&state, &camera)?;
    let job = state.find_jobs.0.lock_or_recover().get(&camera).cloned();
    Ok(Json(job.map_or_else(|| FindStatus::new("none", DEFAULT_WATCH_S), |job| job.lock_or_recover().clone())))
}

/// Feeds the camera's new frames to a finder for the watch time, then proposes.
async fn watch(state: Arc<AppState>, camera: String, status: Arc<Mutex<FindStatus>>) {
    let watch_s = status.lock_or_recover().watch_s;
    let started = Instant::now();
    let mut finder: Option<LampFinder> = None;
    let mut last_t = f64::NEG_INFINITY;
    let fail = |message: String| {
        let mut s = status.lock_or_recover();
        s.state = "failed";
        s.error = Some(message);
    };
    let stopping = state.stopping.clone();
    while started.elapsed().as_secs_f64() < watch_s {
        tokio::select! {
            () = stopping.wait() => return fail("the server is stopping".into()),
            () = tokio::time::sleep(POLL) => {}
        }
        let Some(current) = state.service.status(&camera) else {
            return fail(format!("camera `{camera}` was removed"));
        };
        status.lock_or_recover().progress = (started.elapsed().as_secs_f64() / watch_s).min(1.0);
        let Some((t_s, frame)) = current.frame else { continue };
        if t_s <= last_t {
            continue;
        }
        last_t = t_s;
        let mut f = finder.take().unwrap_or_else(|| {
            let mut s = status.lock_or_recover();
            s.frame_width_px = Some(frame.width_px());
            s.frame_height_px = Some(frame.height_px());
            LampFinder::new(frame.width_px(), frame.height_px(), FinderTuning::default())
        });
        let observed = tokio::task::spawn_blocking(move || {
            let r = f.observe(&frame);
            (f, r)
        })
        .await;
        match observed {
            Ok((f, Ok(()))) => {
                status.lock_or_recover().frames = f.frames_observed();
                finder = Some(f);
            }
            Ok((_, Err(e))) => return fail(format!("the camera's picture changed size while watching: {e}")),
            Err(e) => return fail(format!("the finder failed: {e}")),
        }
    }
    let Some(finder) = finder else {
        return fail(format!("camera `{camera}` sent no picture in {watch_s:.0} s"));
    };
    let proposing = Instant::now();
    match tokio::task::spawn_blocking(move || finder.propose()).await {
        Ok(towers) => {
            let mut s = status.lock_or_recover();
            s.towers = towers.iter().map(tower_json).collect();
            s.state = "done";
            s.progress = 1.0;
            s.propose_ms = Some(proposing.elapsed().as_millis() as u64);
            tracing::info!(camera = %camera, towers = s.towers.len(), frames = s.frames, "lamps proposed");
        }
        Err(e) => fail(format!("the finder failed: {e}")),
    }
}
