//! Inspection stations, the parts library, stored inspections and a part's control
//! charts (`/api/v1/stations`, `/parts`, `/inspections`).
//!
//! A refusal (an empty table, a dead camera, a part that is not the drawing's) answers
//! 422 or 503 with the reason and stores nothing; a verdict answers 201 with the stored
//! inspection, pass or fail alike.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use sheetsight_inspect::spc::{self, Tolerance};
use sheetsight_station::library::{NewDrawing, PartOptions};
use sheetsight_station::{ErrorKind, InspectRequest, InspectionView, StationError, StationStatus, Stations, Trigger};
use sheetsight_store::UnixMillis;
use sheetsight_store::inspections::{InspectionFilter, InspectionRecord, PartRecord};

use super::{Page, RangeQuery, parse_time};
use crate::AppState;
use crate::auth::{Principal, shown};
use crate::error::{ApiError, ApiQuery, ApiResult};

/// The largest photo a request may carry.
pub const MAX_PHOTO_BODY_BYTES: usize = 64 << 20;
/// The largest drawing a request may carry.
pub const MAX_DRAWING_BODY_BYTES: usize = 16 << 20;

impl From<StationError> for ApiError {
    fn from(e: StationError) -> Self {
        let status = match e.kind() {
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::BadInput => StatusCode::BAD_REQUEST,
            ErrorKind::Refused => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Busy => StatusCode::CONFLICT,
            ErrorKind::Internal => return ApiError::internal("the inspection", e),
        };
        ApiError::new(status, e.to_string())
    }
}

fn stations(state: &AppState) -> ApiResult<&Stations> {
    state.stations.as_ref().ok_or_else(|| ApiError::not_found("no inspection station is configured ([[station]])"))
}

pub async fn list_stations(State(state): State<Arc<AppState>>) -> ApiResult<Json<Vec<StationStatus>>> {
    Ok(Json(state.stations.as_ref().map(Stations::statuses).unwrap_or_default()))
}

pub async fn station(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> ApiResult<Json<StationStatus>> {
    Ok(Json(stations(&state)?.status(&id)?))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct InspectBody {
    pub part: Option<String>,
    pub revision: Option<String>,
    /// `button` when pressed on the station page; `api` otherwise.
    pub trigger: Option<String>,
}

/// `POST /api/v1/stations/{id}/inspect`: a JSON body (part, revision) has the station
/// take its photo; a JPEG or PNG body is the photo (part and revision then in the query).
pub async fn inspect(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<InspectBody>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<InspectionView>)> {
    let stations = stations(&state)?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let (ask, photo) = if content_type.starts_with("image/") {
        (query, Some(body.to_vec()))
    } else if body.iter().all(u8::is_ascii_whitespace) {
        (query, None)
    } else {
        let ask: InspectBody = serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(format!("the body must be JSON {{\"part\", \"revision\"}} or a photo: {e}"))
        })?;
        (ask, None)
    };
    let trigger = match ask.trigger.as_deref() {
        None | Some("api") => Trigger::Api,
        Some("button") => Trigger::Button,
        Some(other) => return Err(ApiError::bad_request(format!("`trigger` `{}`: give api or button", shown(other)))),
    };
    let request = InspectRequest {
        part: ask.part.filter(|s| !s.trim().is_empty()),
        revision: ask.revision.filter(|s| !s.trim().is_empty()),
        operator: Some(p.name.clone()),
        trigger,
        photo,
        frame: None,
    };
    let view = stations.inspect(&id, request).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

pub async fn parts(State(state): State<Arc<AppState>>) -> ApiResult<Json<Vec<PartRecord>>> {
    Ok(Json(state.store.parts().await?))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DrawingQuery {
    pub file_name: Option<String>,
    pub units: Option<String>,
    /// Comma-separated.
    pub layers: Option<String>,
    pub exclude_layers: Option<String>,
    pub gap_tolerance_mm: Option<f64>,
    pub part: Option<usize>,
    pub thickness_mm: Option<f64>,
}

#[derive(serde::Serialize)]
pub struct DrawingAdded {
    #[serde(flatten)]
    pub record: PartRecord,
    pub warnings: Vec<String>,
}

/// `PUT /api/v1/parts/{part}/{revision}`: the DXF is the body; how to read it, the query.
pub async fn put_part(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Path((part, revision)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<DrawingQuery>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<DrawingAdded>)> {
    let stations = stations(&state)?;
    let list = |s: &Option<String>| {
        s.as_ref().map(|s| s.split(',').map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect::<Vec<_>>())
    };
    let options = PartOptions {
        units: q.units.clone(),
        layers: list(&q.layers),
        exclude_layers: list(&q.exclude_layers).unwrap_or_default(),
        gap_tolerance_mm: q.gap_tolerance_mm,
        part: q.part,
        thickness_mm: q.thickness_mm.unwrap_or(0.0),
    };
    let file_name = q.file_name.clone().unwrap_or_else(|| format!("{part}.dxf"));
    let (record, warnings) = stations
        .library()
        .add(NewDrawing {
            part: &part,
            revision: &revision,
            file_name: &file_name,
            bytes: &body,
            options,
            origin: "upload",
            by: &p.name,
            now: UnixMillis::now(),
        })
        .await?;
    tracing::info!(part = %part, revision = %revision, by = %p.name, "drawing added to the parts library");
    Ok((StatusCode::CREATED, Json(DrawingAdded { record, warnings })))
}

pub async fn delete_part(
    State(state): State<Arc<AppState>>,
    Path((part, revision)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    if stations(&state)?.library().remove(&part, &revision).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(StationError::UnknownPart { part, revision: Some(revision) }.into())
    }
}

pub async fn part_drawing(
    State(state): State<Arc<AppState>>,
    Path((part, revision)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (record, bytes) = state
        .store
        .part(&part, &revision)
        .await?
        .ok_or_else(|| ApiError::from(StationError::UnknownPart { part, revision: Some(revision) }))?;
    let disposition = format!("attachment; filename=\"{}\"", record.file_name.replace(['"', '\\', '\r', '\n'], "_"));
    Ok(([(header::CONTENT_TYPE, "application/dxf".to_string()), (header::CONTENT_DISPOSITION, disposition)], bytes)
        .into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct InspectionsQuery {
    pub part: Option<String>,
    pub station: Option<String>,
    pub verdict: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
    pub format: Option<String>,
}

pub async fn inspections(
    State(state): State<Arc<AppState>>,
    ApiQuery(q): ApiQuery<InspectionsQuery>,
) -> ApiResult<Response> {
    let range =
        RangeQuery { from: q.from.clone(), to: q.to.clone(), limit: q.limit, offset: q.offset, min_minutes: None };
    let (from, to) = range.range()?;
    if let Some(v) = q.verdict.as_deref()
        && !["pass", "fail"].contains(&v)
    {
        return Err(ApiError::bad_request(format!("`verdict` `{}`: give pass or fail", shown(v))));
    }
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => return Err(ApiError::bad_request(format!("`format` `{}`: give json or csv", shown(other)))),
    };
    let (limit, offset) = if csv { (usize::MAX, 0) } else { range.page()? };
    let filter = InspectionFilter {
        from,
        to,
        part: q.part.clone(),
        station: q.station.clone(),
        verdict: q.verdict.clone(),
        // One more than asked: whether there is a next page.
        limit: (!csv).then_some(limit as u64 + 1),
        offset: offset as u64,
    };
    let mut rows = state.store.inspections(&filter).await?;
    if csv {
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"inspections.csv\"".to_string()),
            ],
            sheetsight_store::inspections::csv(&rows),
        )
            .into_response());
    }
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_offset = more.then_some(offset + rows.len());
    Ok(Json(Page::<InspectionRecord> { items: rows, limit, offset, next_offset }).into_response())
}

#[derive(serde::Serialize)]
pub struct InspectionDetail {
    #[serde(flatten)]
    pub record: InspectionRecord,
    pub report: serde_json::Value,
}

pub async fn inspection(State(state): State<Arc<AppState>>, Path(id): Path<i64>) -> ApiResult<Json<InspectionDetail>> {
    let (record, report) =
        state.store.inspection(id).await?.ok_or_else(|| ApiError::not_found(format!("no inspection {id}")))?;
    let report = serde_json::from_str(&report).unwrap_or(serde_json::Value::Null);
    Ok(Json(InspectionDetail { record, report }))
}

async fn picture(state: &AppState, id: i64, which: fn(&InspectionRecord) -> Option<&String>) -> ApiResult<Response> {
    let stations = stations(state)?;
    let (record, _) =
        state.store.inspection(id).await?.ok_or_else(|| ApiError::not_found(format!("no inspection {id}")))?;
    let gone = || ApiError::not_found(format!("inspection {id} keeps no such picture"));
    let name = which(&record).ok_or_else(gone)?;
    let path = stations.picture_path(name).ok_or_else(gone)?;
    let bytes = tokio::fs::read(&path).await.map_err(|_| gone())?;
    let kind = if name.ends_with(".png") { "image/png" } else { "image/jpeg" };
    Ok(([(header::CONTENT_TYPE, kind)], bytes).into_response())
}

pub async fn overlay(State(state): State<Arc<AppState>>, Path(id): Path<i64>) -> ApiResult<Response> {
    picture(&state, id, |r| r.overlay.as_ref()).await
}

pub async fn photo(State(state): State<Arc<AppState>>, Path(id): Path<i64>) -> ApiResult<Response> {
    picture(&state, id, |r| r.photo.as_ref()).await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SpcQuery {
    pub feature: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub tolerance_mm: Option<f64>,
}

#[derive(serde::Serialize)]
pub struct SpcSeries {
    pub feature: String,
    /// `position_error_mm`, `diameter_error_mm` or `deviation_mm`.
    pub measure: &'static str,
    /// The inspections charted, in time order (ids and times).
    pub inspections: Vec<i64>,
    pub times: Vec<String>,
    pub chart: spc::Chart,
    /// The alerts in words.
    pub alerts: Vec<String>,
}

/// `GET /api/v1/parts/{part}/spc`: an individuals chart per feature and measure, over a
/// range (default the last 90 days).
pub async fn part_spc(
    State(state): State<Arc<AppState>>,
    Path(part): Path<String>,
    ApiQuery(q): ApiQuery<SpcQuery>,
) -> ApiResult<Json<Vec<SpcSeries>>> {
    let now = UnixMillis::now();
    let to = q.to.as_deref().map(|t| parse_time(t, "to")).transpose()?.unwrap_or(now);
    let from = q.from.as_deref().map(|t| parse_time(t, "from")).transpose()?.unwrap_or(to.plus_ms(-90 * 86_400_000));
    let tol = q.tolerance_mm.unwrap_or(0.2);
    if !(tol.is_finite() && tol > 0.0) {
        return Err(ApiError::bad_request("`tolerance_mm` must be a positive number"));
    }
    let points = state.store.feature_points(&part, q.feature.as_deref(), from, to).await?;
    /// One feature's measure, in time order.
    #[derive(Default)]
    struct Points {
        inspections: Vec<i64>,
        times: Vec<String>,
        values: Vec<f64>,
    }
    let mut series: std::collections::BTreeMap<(String, &'static str), Points> = Default::default();
    for p in &points {
        let m = &p.measure;
        for (name, value) in [
            ("position_error_mm", m.position_error_mm),
            ("diameter_error_mm", m.diameter_error_mm),
            ("deviation_mm", m.deviation_mm),
        ] {
            if let Some(v) = value {
                let s = series.entry((m.feature.clone(), name)).or_default();
                s.inspections.push(p.inspection);
                s.times.push(p.t.rfc3339());
                s.values.push(v);
            }
        }
    }
    let charts = series
        .into_iter()
        .filter_map(|((feature, measure), Points { inspections, times, values })| {
            let tolerance = if measure == "diameter_error_mm" {
                Tolerance { lower: Some(-tol), upper: tol }
            } else {
                Tolerance { lower: None, upper: tol }
            };
            let chart = spc::individuals(&values, tolerance)?;
            let alerts = chart.alerts.iter().map(spc::Alert::describe).collect();
            Some(SpcSeries { feature, measure, inspections, times, chart, alerts })
        })
        .collect();
    Ok(Json(charts))
}
