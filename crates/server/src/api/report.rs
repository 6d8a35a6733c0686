//! The shift report of every machine, as JSON or CSV, and the summary behind the charts.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sheetsight_config::{Shift, ShiftWindow};
use sheetsight_store::UnixMillis;
use sheetsight_store::report::{self, ReportHistory};
use sheetsight_store::site::NoteRecord;
use sheetsight_store::summary::{self, SIMULATED_NOTE, Summary};

use super::machine_config;
use crate::AppState;
use crate::error::{ApiError, ApiQuery, ApiResult};

#[derive(Deserialize)]
pub struct ReportQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub machine: Option<String>,
    pub format: Option<String>,
}

impl ReportQuery {
    /// `from..=to` as local dates (today, UTC, by default); at most 400 days.
    /// `from` and `to`, each by default the shift day at `now` (that of the shift begun
    /// last: at 03:00 in a night shift begun yesterday evening, yesterday).
    pub fn dates(&self, now: UnixMillis, shifts: &[Shift]) -> ApiResult<(NaiveDate, NaiveDate)> {
        let today = now.to_datetime().map_or(NaiveDate::MIN, |t| sheetsight_config::shift::shift_day(shifts, t));
        let date = |s: &Option<String>, name: &str| -> ApiResult<NaiveDate> {
            match s {
                None => Ok(today),
                Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                    ApiError::bad_request(format!("`{name}`: `{}` is not a date (YYYY-MM-DD)", crate::auth::shown(d)))
                }),
            }
        };
        let (from, to) = (date(&self.from, "from")?, date(&self.to, "to")?);
        if from > to || (to - from).num_days() > 400 {
            return Err(ApiError::bad_request("`from` must not be after `to`, and at most 400 days before it"));
        }
        Ok((from, to))
    }
}

/// The report's rows as JSON, or as a CSV file named `name` with `format=csv`.
pub fn report_answer(rows: &[report::ReportRow], format: Option<&str>, name: &str) -> ApiResult<Response> {
    match format {
        None | Some("json") => Ok(Json(rows).into_response()),
        Some("csv") => Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.csv\"")),
            ],
            report::csv(rows),
        )
            .into_response()),
        Some(other) => {
            Err(ApiError::bad_request(format!("`format`: `{}` is not json or csv", crate::auth::shown(other))))
        }
    }
}

/// What a report or summary covers: the shift windows of a date range, the machines and
/// the stored history overlapping them.
pub(crate) struct Scope {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub windows: Vec<ShiftWindow>,
    /// Ids with their ideal strokes per hour.
    pub machines: Vec<(String, Option<f64>)>,
    pub history: ReportHistory,
    /// From the first window's start to the last one's end (empty without windows).
    pub span: Option<(UnixMillis, UnixMillis)>,
}

impl Scope {
    /// The scope with its stored history.
    pub(crate) async fn read(state: &AppState, q: &ReportQuery, now: UnixMillis) -> ApiResult<Scope> {
        let mut scope = Self::read_windows(state, q, now)?;
        if let Some((a, b)) = scope.span {
            let query = sheetsight_store::Query { from: a, to: b, key: q.machine.clone() };
            scope.history = state.store.report_history(&query).await?;
        }
        Ok(scope)
    }

    /// The scope's dates, windows and machines; its history left empty.
    pub(crate) fn read_windows(state: &AppState, q: &ReportQuery, now: UnixMillis) -> ApiResult<Scope> {
        let config = state.config();
        let shifts = config.shifts_or_whole_days();
        let (from, to) = q.dates(now, &shifts)?;
        let machines: Vec<(String, Option<f64>)> = match &q.machine {
            Some(m) => {
                let m = machine_config(&config, m)?;
                vec![(m.id, m.ideal_strokes_per_hour)]
            }
            None => config.ideal_rates(),
        };
        let (windows, span) = shift_windows(&shifts, from, to);
        Ok(Scope { from, to, windows, machines, history: ReportHistory::default(), span })
    }
}

/// The shifts' windows that start on the local dates `from..=to`, and the time from the
/// first one's start to the last one's end (none without windows).
pub(crate) fn shift_windows(
    shifts: &[Shift],
    from: NaiveDate,
    to: NaiveDate,
) -> (Vec<ShiftWindow>, Option<(UnixMillis, UnixMillis)>) {
    let windows: Vec<ShiftWindow> = shifts.iter().flat_map(|s| s.windows(from, to)).collect();
    let first = windows.iter().map(|w| UnixMillis::from(w.start)).min();
    let span = first.zip(windows.iter().map(|w| UnixMillis::from(w.end)).max());
    (windows, span)
}

pub async fn report(State(state): State<Arc<AppState>>, ApiQuery(q): ApiQuery<ReportQuery>) -> ApiResult<Response> {
    let now = UnixMillis::now();
    let scope = Scope::read(&state, &q, now).await?;
    let ids: Vec<String> = scope.machines.iter().map(|(id, _)| id.clone()).collect();
    let rows = report::compute(&scope.windows, &ids, &scope.history, now);
    let (from, to) = (scope.from, scope.to);
    report_answer(&rows, q.format.as_deref(), &format!("sheetsight-report-{from}-{to}"))
}

#[derive(Serialize)]
pub struct SummaryView {
    pub from: String,
    pub to: String,
    /// The end of simulated history in the range (the demo's), when there is some.
    pub simulated_until: Option<String>,
    #[serde(flatten)]
    pub summary: Summary,
}

/// The charts' figures for a date range: per machine and day, per shift, downtime Pareto.
pub async fn summary(
    State(state): State<Arc<AppState>>,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Json<SummaryView>> {
    if q.format.is_some() {
        return Err(ApiError::bad_request("`format`: the summary is JSON only"));
    }
    let now = UnixMillis::now();
    let scope = Scope::read(&state, &q, now).await?;
    let notes = match scope.span {
        Some((a, b)) => state.store.notes(q.machine.as_deref(), a, b).await?,
        None => Vec::new(),
    };
    let summary = summary::compute(&scope.windows, &scope.machines, &scope.history, &notes, now);
    Ok(Json(SummaryView::of(scope.from, scope.to, summary, &notes)))
}

impl SummaryView {
    /// The view of `summary` of the dates `from..=to`; `notes` say where simulated
    /// history ends.
    pub fn of(from: NaiveDate, to: NaiveDate, summary: Summary, notes: &[NoteRecord]) -> Self {
        let simulated_until =
            notes.iter().filter(|n| n.kind == SIMULATED_NOTE).filter_map(|n| n.end_ms).max().map(|t| t.rfc3339());
        Self { from: from.to_string(), to: to.to_string(), simulated_until, summary }
    }
}
