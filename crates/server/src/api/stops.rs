//! A machine's stops, each with the last downtime reason given to it.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use sheetsight_store::report::{self, Stop};
use sheetsight_store::site::NoteRecord;
use sheetsight_store::summary;
use sheetsight_store::{StateInterval, Store, UnixMillis};

use super::{Page, RangeQuery, machine_config, page};
use crate::AppState;
use crate::error::{ApiError, ApiQuery, ApiResult};

#[derive(Serialize)]
pub struct StopView {
    pub start: String,
    pub end: String,
    pub duration_s: f64,
    pub open: bool,
    pub reason: Option<String>,
    pub start_ms: UnixMillis,
}

/// The stops of one machine's `intervals` (as stored for `from..to`) at least
/// `min_minutes` long, each with the last reason given to it.
pub(super) fn stop_views(
    machine: &str,
    intervals: &[StateInterval],
    notes: &[NoteRecord],
    from: UnixMillis,
    to: UnixMillis,
    min_minutes: f64,
) -> Vec<StopView> {
    let min_ms = (min_minutes * 60_000.0) as i64;
    report::stops(intervals, from, to, UnixMillis::now())
        .into_iter()
        .filter(|s: &Stop| s.end_ms - s.start_ms >= min_ms)
        .map(|s| StopView {
            start: s.start_ms.rfc3339(),
            end: s.end_ms.rfc3339(),
            duration_s: (s.end_ms - s.start_ms) as f64 / 1000.0,
            open: s.open,
            reason: summary::stop_reason(notes, machine, s.start_ms, s.end_ms),
            start_ms: s.start_ms,
        })
        .collect()
}

/// The shortest stop to list: 5 minutes unless given; never negative.
pub(super) fn min_minutes(given: Option<f64>) -> ApiResult<f64> {
    let m = given.unwrap_or(5.0);
    if !(m.is_finite() && m >= 0.0) {
        return Err(ApiError::bad_request("`min_minutes` must be 0 or more"));
    }
    Ok(m)
}

pub async fn stops(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> ApiResult<Json<Page<StopView>>> {
    machine_config(&state.config(), &id)?;
    let (from, to) = q.range()?;
    let (limit, offset) = q.page()?;
    let query = sheetsight_store::Query { from, to, key: Some(id.clone()) };
    let intervals = state.store.states(&query).await?;
    let notes = state.store.notes(Some(&id), from, to).await?;
    let mut all = stop_views(&id, &intervals, &notes, from, to, min_minutes(q.min_minutes)?);
    all.reverse(); // newest first
    Ok(Json(page(all, limit, offset)))
}
