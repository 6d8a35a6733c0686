//! The shift report of every machine, as JSON or CSV.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use sheetsight_config::ShiftWindow;
use sheetsight_store::UnixMillis;
use sheetsight_store::report;

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
            let history = state.store.report_history(&query).await?;
            report::compute(&windows, &machines, &history, now)
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
