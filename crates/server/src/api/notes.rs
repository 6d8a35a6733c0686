//! What people say of a machine's time: downtime reasons and jobs.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use sheetsight_store::UnixMillis;
use sheetsight_store::site::NoteRecord;

use super::{Page, RangeQuery, TIMES_MS, machine_config, page, parse_time};
use crate::auth::Principal;
use crate::error::{ApiError, ApiJson, ApiQuery, ApiResult};
use crate::{AppState, Notice};

pub async fn notes(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> ApiResult<Json<Page<NoteRecord>>> {
    machine_config(&state.config(), &id)?;
    let (from, to) = q.range()?;
    let (limit, offset) = q.page()?;
    Ok(Json(page(state.store.notes(Some(&id), from, to).await?, limit, offset)))
}

#[derive(Deserialize)]
pub struct ReasonBody {
    /// The stop's start (RFC 3339 or ms), as the stops list gives it.
    pub start: serde_json::Value,
    /// Its end; default: open (until the machine runs again).
    pub end: Option<serde_json::Value>,
    pub reason: String,
}

fn time_value(v: &serde_json::Value, name: &str) -> ApiResult<UnixMillis> {
    match v {
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(ms) if TIMES_MS.contains(&UnixMillis(ms)) => Ok(UnixMillis(ms)),
            Some(_) => Err(ApiError::bad_request(format!("`{name}` must lie between 1970 and 2100"))),
            None => Err(ApiError::bad_request(format!("`{name}` must be whole milliseconds"))),
        },
        serde_json::Value::String(s) => parse_time(s, name),
        _ => Err(ApiError::bad_request(format!("`{name}` must be an RFC 3339 string or ms since 1970"))),
    }
}

pub async fn give_reason(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> ApiResult<(StatusCode, Json<NoteRecord>)> {
    let config = state.config();
    machine_config(&config, &id)?;
    let reason = body.reason.trim();
    if !config.downtime.reasons.iter().any(|r| r == reason) {
        return Err(ApiError::bad_request(format!(
            "`{reason}` is not a configured downtime reason; reasons: {}",
            config.downtime.reasons.join(", ")
        )));
    }
    let start = time_value(&body.start, "start")?;
    let end = body.end.as_ref().map(|e| time_value(e, "end")).transpose()?;
    if end.is_some_and(|e| e <= start) {
        return Err(ApiError::bad_request("`end` must be after `start`"));
    }
    let note = state.store.add_note(&id, "reason", reason, start, end, &p.name, UnixMillis::now()).await?;
    tracing::info!(machine = %id, reason, by = %p.name, "downtime reason given");
    let _ = state.notices.send(Notice::Note { note: note.clone() });
    Ok((StatusCode::CREATED, Json(note)))
}

#[derive(Deserialize)]
pub struct JobBody {
    pub job: String,
    /// Default: now.
    pub start: Option<serde_json::Value>,
}

pub async fn give_job(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<JobBody>,
) -> ApiResult<(StatusCode, Json<NoteRecord>)> {
    machine_config(&state.config(), &id)?;
    let job = body.job.trim();
    if job.is_empty() || job.len() > 120 {
        return Err(ApiError::bad_request("`job` must be 1-120 characters"));
    }
    let now = UnixMillis::now();
    let start = body.start.as_ref().map(|s| time_value(s, "start")).transpose()?.unwrap_or(now);
    let note = state.store.add_note(&id, "job", job, start, None, &p.name, now).await?;
    let _ = state.notices.send(Notice::Note { note: note.clone() });
    crate::floor::refresh_now(&state).await;
    Ok((StatusCode::CREATED, Json(note)))
}

pub async fn downtime_reasons(State(state): State<Arc<AppState>>) -> Json<Vec<String>> {
    Json(state.config().downtime.reasons.clone())
}
