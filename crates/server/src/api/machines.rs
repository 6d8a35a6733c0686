//! The configured machines, one machine's live status and its state timeline.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use sheetsight_config::MachineConfig;
use sheetsight_store::site::NoteRecord;
use sheetsight_store::{Store, UnixMillis};

use super::{RangeQuery, machine_config};
use crate::AppState;
use crate::error::{ApiQuery, ApiResult};

#[derive(Serialize)]
pub struct MachineInfo {
    pub id: String,
    pub camera: String,
    pub lamps: Vec<&'static str>,
    pub has_motion: bool,
    pub ideal_strokes_per_hour: Option<f64>,
}

fn machine_info(m: &MachineConfig) -> MachineInfo {
    MachineInfo {
        id: m.id.clone(),
        camera: m.camera.clone(),
        lamps: m.lamps.iter().map(|l| l.color.as_str()).collect(),
        has_motion: m.motion.is_some(),
        ideal_strokes_per_hour: m.ideal_strokes_per_hour,
    }
}

pub async fn machines(State(state): State<Arc<AppState>>) -> Json<Vec<MachineInfo>> {
    Json(state.config().machines.iter().map(machine_info).collect())
}

#[derive(Serialize)]
pub struct MachineDetail {
    #[serde(flatten)]
    pub info: MachineInfo,
    pub live: Option<crate::floor::MachineView>,
}

pub async fn machine(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> ApiResult<Json<MachineDetail>> {
    let m = machine_config(&state.config(), &id)?;
    let live = crate::floor::build(&state).machines.into_iter().find(|v| v.id == id);
    Ok(Json(MachineDetail { info: machine_info(&m), live }))
}

#[derive(Serialize)]
pub struct StateSpan {
    pub state: &'static str,
    pub start: String,
    pub end: String,
    pub open: bool,
}

#[derive(Serialize)]
pub struct Timeline {
    pub machine: String,
    pub from: String,
    pub to: String,
    pub states: Vec<StateSpan>,
    pub notes: Vec<NoteRecord>,
}

pub async fn timeline(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> ApiResult<Json<Timeline>> {
    machine_config(&state.config(), &id)?;
    let (from, to) = q.range()?;
    let intervals = state.store.states(&sheetsight_store::Query { from, to, key: Some(id.clone()) }).await?;
    let notes = state.store.notes(Some(&id), from, to).await?;
    Ok(Json(Timeline::of(id, from, to, &intervals, notes, UnixMillis::now())))
}

impl Timeline {
    /// `machine`'s state `intervals` cut to `from..to` (an open one ends at `now`), with
    /// its `notes`.
    pub fn of(
        machine: String,
        from: UnixMillis,
        to: UnixMillis,
        intervals: &[sheetsight_store::StateInterval],
        notes: Vec<NoteRecord>,
        now: UnixMillis,
    ) -> Self {
        let states = intervals
            .iter()
            .filter_map(|i| {
                let a = i.start.max(from);
                let b = i.end.unwrap_or(now).min(to);
                (b > a).then(|| StateSpan {
                    state: i.value.as_str(),
                    start: a.rfc3339(),
                    end: b.rfc3339(),
                    open: i.end.is_none(),
                })
            })
            .collect();
        Self { machine, from: from.rfc3339(), to: to.rfc3339(), states, notes }
    }
}
