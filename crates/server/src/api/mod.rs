//! JSON handlers of `/api/v1` about machines and the report, one file per resource
//! (`machines.rs`, `stops.rs`, `notes.rs`, `shift.rs`, `report.rs`, `cycles.rs`, `people.rs`, `hub.rs`), and what every
//! handler shares (times, ranges, pages), here. Sessions, users and tokens, cameras,
//! regions, alerts and live events have their own modules beside this one.
//!
//! Conventions: times in queries and bodies are RFC 3339 or milliseconds since 1970 UTC;
//! times in answers are RFC 3339 UTC. Lists take `limit` (default 100, at most 1000) and
//! `offset`, and answer `{"items": [...], "limit", "offset", "next_offset"}`.

mod cycles;
mod hub;
pub mod inspections;
mod machines;
mod notes;
mod people;
mod report;
mod shift;
mod standards;
mod stops;

pub use cycles::{CycleView, CyclesQuery, cycles};
pub use hub::{HubLinkView, hub_link};
pub use machines::{MachineDetail, MachineInfo, StateSpan, Timeline, machine, machines, timeline};
pub use notes::{JobBody, ReasonBody, downtime_reasons, give_job, give_reason, notes};
pub use people::{
    PresenceView, SafetyView, SubjectQuery, ZoneView, presence, safety, safety_snapshot, zone_report, zones,
};
pub(crate) use report::shift_windows;
pub use report::{ReportQuery, SummaryView, report, report_answer, summary};
pub use shift::{HourStrokes, ShiftFigures, ShiftQuery, shift};
pub use standards::{cycle_stats, edit_standard, mark_golden, standards};
pub use stops::{StopView, stops};

use serde::{Deserialize, Serialize};
use sheetsight_config::{Config, MachineConfig};
use sheetsight_store::UnixMillis;

use crate::error::{ApiError, ApiResult};

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
