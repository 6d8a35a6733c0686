//! Standard work: the golden cycle of a machine and job (marked in one request), the
//! standard cycle time and steps (edited by operators and above), and cycle-time
//! statistics against them.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde::Deserialize;
use sheetsight_store::cycle_stats::{self, CycleStats};
use sheetsight_store::standards::{MAX_STEPS_CHARS, StandardEdit, StandardRecord};
use sheetsight_store::{CycleFilter, Query, Store, UnixMillis};

use super::{RangeQuery, machine_config};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiJson, ApiQuery, ApiResult};

/// Marks a cycle the golden cycle of its machine and job, and keeps its video out of
/// retention for good.
pub async fn mark_golden(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
) -> ApiResult<Json<StandardRecord>> {
    let cycle = state.store.cycle(id).await?.ok_or_else(|| ApiError::not_found(format!("no cycle {id}")))?;
    let machine = machine_config(&state.config(), &cycle.machine)?;
    let Some(job) = &cycle.job else {
        return Err(ApiError::bad_request(format!(
            "cycle {id} ran without a job: mark the job the machine runs, then choose one of its cycles"
        )));
    };
    let standard = state.store.set_golden(id, &cycle.machine, job, &p.name, UnixMillis::now()).await?;
    if let Some(access) = &state.recording {
        let (from, to) = access.clips.cycle_span(&cycle);
        state.store.keep_segments(&machine.camera, from, to).await?;
    }
    Ok(Json(standard))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StandardBody {
    /// Seconds; `null` goes back to the golden cycle's duration.
    #[serde(default, deserialize_with = "present")]
    pub standard_s: Option<Option<f64>>,
    pub steps_en: Option<String>,
    pub steps_zh: Option<String>,
}

/// A field that is given (`null` included) is `Some`; one left out stays `None`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<f64>>, D::Error> {
    Option::<f64>::deserialize(d).map(Some)
}

pub async fn edit_standard(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Path((machine, job)): Path<(String, String)>,
    ApiJson(body): ApiJson<StandardBody>,
) -> ApiResult<Json<StandardRecord>> {
    machine_config(&state.config(), &machine)?;
    if job.trim().is_empty() || job.len() > 120 {
        return Err(ApiError::bad_request("the job must be 1-120 characters"));
    }
    let standard_ms = match body.standard_s {
        Some(Some(s)) if !(s.is_finite() && s > 0.0 && s <= 86_400.0) => {
            return Err(ApiError::bad_request("`standard_s` must be above 0 and at most 86400 seconds"));
        }
        Some(v) => Some(v.map(|s| (s * 1000.0).round() as i64)),
        None => None,
    };
    for (name, text) in [("steps_en", &body.steps_en), ("steps_zh", &body.steps_zh)] {
        if text.as_ref().is_some_and(|t| t.chars().count() > MAX_STEPS_CHARS) {
            return Err(ApiError::bad_request(format!("`{name}` is longer than {MAX_STEPS_CHARS} characters")));
        }
    }
    let edit = StandardEdit { standard_ms, steps_en: body.steps_en, steps_zh: body.steps_zh };
    Ok(Json(state.store.edit_standard(&machine, &job, &edit, &p.name, UnixMillis::now()).await?))
}

#[derive(Deserialize, Default)]
pub struct StandardsQuery {
    pub machine: Option<String>,
}

pub async fn standards(
    State(state): State<Arc<AppState>>,
    ApiQuery(q): ApiQuery<StandardsQuery>,
) -> ApiResult<Json<Vec<StandardRecord>>> {
    if let Some(m) = &q.machine {
        machine_config(&state.config(), m)?;
    }
    Ok(Json(state.store.standards(q.machine.as_deref()).await?))
}

#[derive(Deserialize, Default)]
pub struct StatsQuery {
    pub machine: Option<String>,
    pub job: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

pub async fn cycle_stats(
    State(state): State<Arc<AppState>>,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> ApiResult<Json<Vec<CycleStats>>> {
    if let Some(m) = &q.machine {
        machine_config(&state.config(), m)?;
    }
    let range = RangeQuery { from: q.from, to: q.to, limit: None, offset: None, min_minutes: None };
    let (from, to) = range.range()?;
    let filter = CycleFilter { query: Query { from, to, key: q.machine.clone() }, job: q.job, limit: None, offset: 0 };
    let cycles = state.store.cycles(&filter).await?;
    let standards = state.store.standards(q.machine.as_deref()).await?;
    Ok(Json(cycle_stats::compute(&cycles, &standards)))
}
