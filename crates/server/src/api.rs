//! JSON handlers of `/api/v1` about machines (timeline, shift figures, stops, reasons,
//! jobs) and the report, and what every handler shares (times, ranges, pages). Sessions,
//! users and tokens, cameras, regions, alerts and live events have their own modules.
//!
//! Conventions: times in queries and bodies are RFC 3339 or milliseconds since 1970 UTC;
//! times in answers are RFC 3339 UTC. Lists take `limit` (default 100, at most 1000) and
//! `offset`, and answer `{"items": [...], "limit", "offset", "next_offset"}`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sheetsight_config::{Config, MachineConfig, ShiftWindow};
use sheetsight_store::report::{self, Stop};
use sheetsight_store::site::NoteRecord;
use sheetsight_store::{StateInterval, Store, UnixMillis};

use crate::auth::Principal;
use crate::error::{ApiError, ApiJson, ApiQuery, ApiResult};
use crate::{AppState, Notice};

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

pub async fn not_found() -> ApiError {
    ApiError::not_found("no such page or API route (the API is under /api/v1, described at /api/v1/openapi.json)")
}

/// The times the API takes: 1970-01-01 to 2100-01-01 UTC, so that no arithmetic on
/// them can overflow.
pub const TIMES_MS: std::ops::Range<UnixMillis> = UnixMillis(0)..UnixMillis(4_102_444_800_000);

/// A time given as RFC 3339 or as milliseconds since 1970 UTC, within [`TIMES_MS`].
pub fn parse_time(s: &str, name: &str) -> ApiResult<UnixMillis> {
    let ms = match s.parse::<i64>() {
        Ok(ms) => ms,
        Err(_) => chrono::DateTime::parse_from_rfc3339(s).map(|t| t.timestamp_millis()).map_err(|_| {
            ApiError::bad_request(format!(
                "`{name}`: `{}` is not a time: give RFC 3339 (2026-11-29T06:00:00Z) or ms since 1970",
                crate::auth::shown(s)
            ))
        })?,
    };
    if !TIMES_MS.contains(&UnixMillis(ms)) {
        return Err(ApiError::bad_request(format!("`{name}` must lie between 1970 and 2100")));
    }
    Ok(UnixMillis(ms))
}

#[derive(Deserialize, Default)]
pub struct RangeQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
    pub min_minutes: Option<f64>,
}

impl RangeQuery {
    /// `from..to`, by default the last 24 hours; at most 400 days.
    pub fn range(&self) -> ApiResult<(UnixMillis, UnixMillis)> {
        let now = UnixMillis::now();
        let to = self.to.as_deref().map(|t| parse_time(t, "to")).transpose()?.unwrap_or(now);
        let from = match self.from.as_deref() {
            Some(t) => parse_time(t, "from")?,
            None => to.plus_ms(-86_400_000).max(UnixMillis::EPOCH),
        };
        if from >= to {
            return Err(ApiError::bad_request(format!(
                "`from` ({}) must be before `to` ({})",
                from.rfc3339(),
                to.rfc3339()
            )));
        }
        if to - from > 400 * 86_400_000 {
            return Err(ApiError::bad_request("the range is longer than 400 days"));
        }
        Ok((from, to))
    }

    pub fn page(&self) -> ApiResult<(usize, usize)> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(ApiError::bad_request(format!("`limit` must be 1 to {MAX_LIMIT}")));
        }
        Ok((limit, self.offset.unwrap_or(0)))
    }
}

#[derive(Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub limit: usize,
    pub offset: usize,
    /// The `offset` of the next page; `null` on the last.
    pub next_offset: Option<usize>,
}

pub fn page<T>(all: Vec<T>, limit: usize, offset: usize) -> Page<T> {
    let total = all.len();
    let items: Vec<T> = all.into_iter().skip(offset).take(limit).collect();
    let next_offset = (offset + items.len() < total).then_some(offset + items.len());
    Page { items, limit, offset, next_offset }
}

pub fn machine_config(config: &Config, id: &str) -> ApiResult<MachineConfig> {
    config.machines.iter().find(|m| m.id == id).cloned().ok_or_else(|| {
        let ids: Vec<&str> = config.machines.iter().map(|m| m.id.as_str()).collect();
        ApiError::not_found(format!("no machine `{}`; machines: {}", crate::auth::shown(id), ids.join(", ")))
    })
}

// ---- machines --------------------------------------------------------------------

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
    let now = UnixMillis::now();
    let intervals = state.store.states(&sheetsight_store::Query { from, to, key: Some(id.clone()) }).await?;
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
    let notes = state.store.notes(Some(&id), from, to).await?;
    Ok(Json(Timeline { machine: id, from: from.rfc3339(), to: to.rfc3339(), states, notes }))
}

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
fn stop_views(
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
            reason: notes
                .iter()
                .rev()
                .find(|n| n.kind == "reason" && n.start_ms < s.end_ms && n.end_ms.is_none_or(|e| e > s.start_ms))
                .map(|n| n.value.clone()),
            start_ms: s.start_ms,
        })
        .collect()
}

/// The shortest stop to list: 5 minutes unless given; never negative.
fn min_minutes(given: Option<f64>) -> ApiResult<f64> {
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
    let mut all = stop_views(&intervals, &notes, from, to, min_minutes(q.min_minutes)?);
    all.reverse(); // newest first
    Ok(Json(page(all, limit, offset)))
}

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
pub struct ShiftQuery {
    /// The local date the shift starts on (default: the shift running now, else the
    /// last one).
    pub date: Option<String>,
    pub shift: Option<String>,
    pub min_minutes: Option<f64>,
}

#[derive(Serialize)]
pub struct HourStrokes {
    pub hour_start: String,
    pub strokes: u64,
}

#[derive(Serialize)]
pub struct ShiftFigures {
    #[serde(flatten)]
    pub row: report::ReportRow,
    /// Strokes / (Executing hours × ideal strokes per hour); `null` without an ideal rate.
    pub performance: Option<f64>,
    /// Good parts / all parts: not measured by the cameras, taken as 1.
    pub quality: f64,
    pub oee: Option<f64>,
    pub strokes_by_hour: Vec<HourStrokes>,
    pub stops: Vec<StopView>,
    pub min_stop_minutes: f64,
}

fn pick_window(config: &Config, q: &ShiftQuery, now: UnixMillis) -> ApiResult<ShiftWindow> {
    let shifts = config.shifts_or_whole_days();
    if let Some(name) = &q.shift
        && !shifts.iter().any(|s| &s.name == name)
    {
        let names: Vec<&str> = shifts.iter().map(|s| s.name.as_str()).collect();
        return Err(ApiError::bad_request(format!("no shift `{name}`; shifts: {}", names.join(", "))));
    }
    let (from, to) = match &q.date {
        Some(d) => {
            let d = NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| ApiError::bad_request(format!("`date`: `{d}` is not a date (YYYY-MM-DD)")))?;
            (d, d)
        }
        None => {
            let today = now.to_datetime().map_or(NaiveDate::MIN, |t| t.date_naive());
            (today - chrono::Duration::days(2), today + chrono::Duration::days(1))
        }
    };
    let windows: Vec<ShiftWindow> = shifts
        .iter()
        .filter(|s| q.shift.as_ref().is_none_or(|n| *n == s.name))
        .flat_map(|s| s.windows(from, to))
        .filter(|w| UnixMillis::from(w.start) <= now)
        .collect();
    windows.into_iter().max_by_key(|w| w.start).ok_or_else(|| ApiError::not_found("no such shift has started yet"))
}

pub async fn shift(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ShiftQuery>,
) -> ApiResult<Json<ShiftFigures>> {
    let config = state.config();
    let m = machine_config(&config, &id)?;
    let now = UnixMillis::now();
    let w = pick_window(&config, &q, now)?;
    let min_stop_minutes = min_minutes(q.min_minutes)?;
    let (from, to) = (UnixMillis::from(w.start), UnixMillis::from(w.end).min(now));
    let query = sheetsight_store::Query { from, to, key: Some(id.clone()) };
    let states = state.store.states(&query).await?;
    let strokes = state.store.strokes(&query).await?;
    let Some(row) = report::compute(std::slice::from_ref(&w), std::slice::from_ref(&id), &states, &strokes, now).pop()
    else {
        return Err(ApiError::not_found("the shift has not started"));
    };
    let performance = m
        .ideal_strokes_per_hour
        .filter(|_| row.executing_s > 0.0)
        .map(|ideal| row.strokes as f64 / (row.executing_s / 3600.0 * ideal));
    let oee = match (row.availability, performance) {
        (Some(a), Some(p)) => Some(a * p),
        _ => None,
    };
    // One pass over the strokes into the clock hours the shift touches.
    const HOUR_MS: i64 = 3_600_000;
    let first_hour = UnixMillis(from.0 - from.0.rem_euclid(HOUR_MS));
    let mut counts = vec![0u64; ((to - first_hour + HOUR_MS - 1) / HOUR_MS).max(0) as usize];
    for s in strokes.iter().filter(|s| s.end >= from && s.end < to) {
        counts[((s.end - first_hour) / HOUR_MS) as usize] += 1;
    }
    let strokes_by_hour = counts
        .into_iter()
        .enumerate()
        .map(|(i, strokes)| HourStrokes { hour_start: first_hour.plus_ms(i as i64 * HOUR_MS).rfc3339(), strokes })
        .collect();
    let notes = state.store.notes(Some(&id), from, to).await?;
    let stops = stop_views(&states, &notes, from, to, min_stop_minutes);
    Ok(Json(ShiftFigures { row, performance, quality: 1.0, oee, strokes_by_hour, stops, min_stop_minutes }))
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

// ---- report ------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct ReportQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub machine: Option<String>,
    pub format: Option<String>,
}

pub async fn report(State(state): State<Arc<AppState>>, ApiQuery(q): ApiQuery<ReportQuery>) -> ApiResult<Response> {
    let config = state.config();
    let now = UnixMillis::now();
    let today = now.to_datetime().map_or(NaiveDate::MIN, |t| t.date_naive());
    let date = |s: &Option<String>, name: &str| -> ApiResult<NaiveDate> {
        match s {
            None => Ok(today),
            Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| ApiError::bad_request(format!("`{name}`: `{d}` is not a date (YYYY-MM-DD)"))),
        }
    };
    let (from, to) = (date(&q.from, "from")?, date(&q.to, "to")?);
    if from > to || (to - from).num_days() > 400 {
        return Err(ApiError::bad_request("`from` must not be after `to`, and at most 400 days before it"));
    }
    let machines: Vec<String> = match &q.machine {
        Some(m) => vec![machine_config(&config, m)?.id],
        None => config.machines.iter().map(|m| m.id.clone()).collect(),
    };
    let windows: Vec<ShiftWindow> = config.shifts_or_whole_days().iter().flat_map(|s| s.windows(from, to)).collect();
    let rows = match (
        windows.iter().map(|w| w.start.timestamp_millis()).min(),
        windows.iter().map(|w| w.end.timestamp_millis()).max(),
    ) {
        (Some(a), Some(b)) => {
            let query = sheetsight_store::Query { from: UnixMillis(a), to: UnixMillis(b), key: q.machine.clone() };
            let states = state.store.states(&query).await?;
            let strokes = state.store.strokes(&query).await?;
            report::compute(&windows, &machines, &states, &strokes, now)
        }
        _ => Vec::new(),
    };
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(rows).into_response()),
        Some("csv") => Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"sheetsight-report-{from}-{to}.csv\"")),
            ],
            report::csv(&rows),
        )
            .into_response()),
        Some(other) => Err(ApiError::bad_request(format!("`format`: `{other}` is not json or csv"))),
    }
}
