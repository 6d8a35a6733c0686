//! One shift of one machine: availability, performance, OEE, strokes per hour, stops.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sheetsight_config::{Config, ShiftWindow};
use sheetsight_store::UnixMillis;
use sheetsight_store::report;

use super::machine_config;
use super::stops::{StopHistory, StopView, min_minutes, stop_views};
use crate::AppState;
use crate::error::{ApiError, ApiQuery, ApiResult};

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
    /// Passed / inspected, of the inspections during the shift of the part numbers the
    /// machine ran as jobs in it; 1 where nothing was inspected (`inspected` says so).
    pub quality: f64,
    /// Inspections counted in `quality`, and how many passed.
    pub inspected: u64,
    pub passed: u64,
    /// Availability of the time the machine was watched (`availability_seen`) ×
    /// performance × quality: unwatched time is neither running nor standing.
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
    let history = state.store.report_history(&query).await?;
    let Some(row) = report::compute(std::slice::from_ref(&w), std::slice::from_ref(&id), &history, now).pop() else {
        return Err(ApiError::not_found("the shift has not started"));
    };
    let performance = m
        .ideal_strokes_per_hour
        .filter(|_| row.executing_s > 0.0)
        .map(|ideal| row.strokes as f64 / (row.executing_s / 3600.0 * ideal));
    // Quality: the inspections in the shift of the parts this machine cut in it.
    let notes = state.store.notes(Some(&id), from, to).await?;
    let mut jobs: Vec<&str> = notes.iter().filter(|n| n.kind == "job").map(|n| n.value.as_str()).collect();
    jobs.sort_unstable();
    jobs.dedup();
    let (mut passed, mut inspected) = (0, 0);
    for job in jobs {
        let (p, n) = state.store.inspected_counts(job, from, to).await?;
        passed += p;
        inspected += n;
    }
    let quality = if inspected > 0 { passed as f64 / inspected as f64 } else { 1.0 };
    let oee = match (row.availability_seen, performance) {
        (Some(a), Some(p)) => Some(a * p * quality),
        _ => None,
    };
    // One pass over the strokes into the clock hours the shift touches.
    const HOUR_MS: i64 = 3_600_000;
    let first_hour = UnixMillis(from.0 - from.0.rem_euclid(HOUR_MS));
    let mut counts = vec![0u64; ((to - first_hour + HOUR_MS - 1) / HOUR_MS).max(0) as usize];
    for s in history.strokes.iter().filter(|s| s.end >= from && s.end < to) {
        counts[((s.end - first_hour) / HOUR_MS) as usize] += 1;
    }
    let strokes_by_hour = counts
        .into_iter()
        .enumerate()
        .map(|(i, strokes)| HourStrokes { hour_start: first_hour.plus_ms(i as i64 * HOUR_MS).rfc3339(), strokes })
        .collect();
    let stop_history =
        StopHistory { states: &history.states, notes: &notes, operator_presence: &history.operator_presence };
    let stops = stop_views(&id, stop_history, from, to, min_stop_minutes);
    Ok(Json(ShiftFigures {
        row,
        performance,
        quality,
        inspected,
        passed,
        oee,
        strokes_by_hour,
        stops,
        min_stop_minutes,
    }))
}
