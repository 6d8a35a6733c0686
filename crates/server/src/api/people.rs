//! People in zones: the configured zones with their head count now, the stored counts,
//! dwell per zone and shift, and the advisory safety events with their pictures.
//!
//! Safety events are advisory only: every answer that carries one says so
//! ([`ADVISORY_NOTE`]).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sheetsight_service::SAFETY_PICTURES_FOLDER;
use sheetsight_store::report::{self, ZoneRow};
use sheetsight_store::{Query, Store, UnixMillis};
use sheetsight_vision::roi::PointPx;
use sheetsight_vision::zone::ADVISORY_NOTE;

use super::report::{ReportQuery, Scope};
use super::{Page, RangeQuery, page};
use crate::AppState;
use crate::error::{ApiError, ApiQuery, ApiResult};

#[derive(Serialize)]
pub struct ZoneView {
    pub id: String,
    pub camera: String,
    pub kind: &'static str,
    pub machine: Option<String>,
    /// The machine whose operator stands here (a `work` zone's machine).
    pub operator_of: Option<String>,
    pub roi: Vec<PointPx>,
    /// The debounced head count stored last, `null` when none is known now.
    pub people: Option<u32>,
}

/// The configured zones with their current head count.
pub async fn zones(State(state): State<Arc<AppState>>) -> ApiResult<Json<Vec<ZoneView>>> {
    let config = state.config();
    let now = UnixMillis::now();
    let q = Query { from: now.plus_ms(-1), to: now.plus_ms(1), key: None };
    let open = state.store.presence(&q).await?;
    Ok(Json(
        config
            .zones
            .iter()
            .map(|z| ZoneView {
                id: z.id.clone(),
                camera: z.camera.clone(),
                kind: z.kind.as_str(),
                machine: z.machine.clone(),
                operator_of: z.operator_of().map(String::from),
                roi: z.roi_px.clone(),
                people: open.iter().find(|p| p.key == z.id && p.end.is_none()).map(|p| p.value.people),
            })
            .collect(),
    ))
}

/// A range and page of one subject (a zone or a machine) or all.
#[derive(Deserialize, Default)]
pub struct SubjectQuery {
    pub zone: Option<String>,
    pub machine: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

impl SubjectQuery {
    fn range(&self) -> RangeQuery {
        RangeQuery {
            from: self.from.clone(),
            to: self.to.clone(),
            limit: self.limit,
            offset: self.offset,
            min_minutes: None,
        }
    }
}

#[derive(Serialize)]
pub struct PresenceView {
    pub zone: String,
    pub operator_of: Option<String>,
    pub people: u32,
    pub start: String,
    /// `null` while it is the current count.
    pub end: Option<String>,
}

/// Stored head counts of one zone or all, oldest first.
pub async fn presence(
    State(state): State<Arc<AppState>>,
    ApiQuery(q): ApiQuery<SubjectQuery>,
) -> ApiResult<Json<Page<PresenceView>>> {
    if q.machine.is_some() {
        return Err(ApiError::bad_request("`machine`: presence is listed per `zone`"));
    }
    let range = q.range();
    let ((from, to), (limit, offset)) = (range.range()?, range.page()?);
    let rows = state.store.presence(&Query { from, to, key: q.zone.clone() }).await?;
    let mut views: Vec<PresenceView> = rows
        .into_iter()
        .map(|p| PresenceView {
            zone: p.key,
            operator_of: p.value.operator_of,
            people: p.value.people,
            start: p.start.rfc3339(),
            end: p.end.map(|e| e.rfc3339()),
        })
        .collect();
    views.sort_by(|a, b| (&a.start, &a.zone).cmp(&(&b.start, &b.zone)));
    Ok(Json(page(views, limit, offset)))
}

/// Dwell per zone and shift for a date range (the report's `from`, `to`), JSON or CSV.
pub async fn zone_report(
    State(state): State<Arc<AppState>>,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    if q.machine.is_some() {
        return Err(ApiError::bad_request("`machine`: the zone report covers every zone"));
    }
    let now = UnixMillis::now();
    let scope = Scope::read_windows(&state, &q, now)?;
    let presence = match scope.span {
        Some((from, to)) => state.store.presence(&Query { from, to, key: None }).await?,
        None => Vec::new(),
    };
    let zones: Vec<String> = state.config().zones.iter().map(|z| z.id.clone()).collect();
    let rows: Vec<ZoneRow> = report::zone_rows(&scope.windows, &zones, &presence, now);
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(rows).into_response()),
        Some("csv") => Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"sheetsight-zones-{}-{}.csv\"", scope.from, scope.to),
                ),
            ],
            report::zone_csv(&rows),
        )
            .into_response()),
        Some(other) => Err(ApiError::bad_request(format!("`format`: `{other}` is not json or csv"))),
    }
}

#[derive(Serialize)]
pub struct SafetyView {
    pub id: i64,
    pub zone: String,
    pub machine: String,
    pub people: u32,
    pub t: String,
    /// Always true.
    pub advisory: bool,
    pub note: &'static str,
    /// The picture's URL, when one was kept.
    pub snapshot_url: Option<String>,
}

/// Advisory safety events, newest first.
pub async fn safety(
    State(state): State<Arc<AppState>>,
    ApiQuery(q): ApiQuery<SubjectQuery>,
) -> ApiResult<Json<Page<SafetyView>>> {
    if q.zone.is_some() {
        return Err(ApiError::bad_request("`zone`: safety events are listed per `machine`"));
    }
    let range = q.range();
    let ((from, to), (limit, offset)) = (range.range()?, range.page()?);
    let rows = state.store.safety_events(&Query { from, to, key: q.machine.clone() }).await?;
    let views: Vec<SafetyView> = rows
        .into_iter()
        .rev()
        .map(|s| SafetyView {
            id: s.id,
            zone: s.zone,
            machine: s.machine,
            people: s.people,
            t: s.t.rfc3339(),
            advisory: true,
            note: ADVISORY_NOTE,
            snapshot_url: s.snapshot.map(|f| format!("/api/v1/safety/snapshots/{f}")),
        })
        .collect();
    Ok(Json(page(views, limit, offset)))
}

/// Whether `file` is a name the service gives safety pictures (no path, `.jpg`).
fn snapshot_name_ok(file: &str) -> bool {
    file.ends_with(".jpg")
        && file.len() <= 200
        && file.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !file.starts_with('.')
}

/// One safety picture (JPEG).
pub async fn safety_snapshot(State(state): State<Arc<AppState>>, Path(file): Path<String>) -> ApiResult<Response> {
    if !snapshot_name_ok(&file) {
        return Err(ApiError::not_found("no such safety picture"));
    }
    let Some(dir) = state.store.path().parent() else { return Err(ApiError::not_found("no data folder")) };
    match tokio::fs::read(dir.join(SAFETY_PICTURES_FOLDER).join(&file)).await {
        Ok(jpeg) => {
            Ok(([(header::CONTENT_TYPE, "image/jpeg"), (header::CACHE_CONTROL, "private, max-age=86400")], jpeg)
                .into_response())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ApiError::not_found("no such safety picture")),
        Err(e) => Err(ApiError::internal("reading a safety picture", e)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_plain_jpeg_names_are_served() {
        assert!(super::snapshot_name_ok("back-1764839700000.jpg"));
        for bad in ["../history.db", "a/b.jpg", ".jpg", "x.png", "..%2fx.jpg"] {
            assert!(!super::snapshot_name_ok(bad), "{bad}");
        }
    }
}
