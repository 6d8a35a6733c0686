//! A machine's stops, each with the last downtime reason given to it and, for a machine
//! with an operator zone, the reason proposed from who stood there ("No operator").

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use sheetsight_store::report::{self, Stop};
use sheetsight_store::site::NoteRecord;
use sheetsight_store::summary;
use sheetsight_store::{PresenceInterval, StateInterval, Store, UnixMillis};
use sheetsight_vision::zone::suggest_stop_reason;

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
    /// Proposed, never set by itself: "No operator" when nobody stood in the machine's
    /// operator zone for most of the stop. The supervisor confirms it as the reason.
    pub suggested_reason: Option<&'static str>,
    pub start_ms: UnixMillis,
}

/// What a machine's stops are listed from: its state intervals, the notes given to its
/// time and its operator zones' head counts, as stored for `from..to`.
pub(super) struct StopHistory<'a> {
    pub states: &'a [StateInterval],
    pub notes: &'a [NoteRecord],
    pub operator_presence: &'a [PresenceInterval],
}

/// The stops of one machine at least `min_minutes` long within `from..to`, each with the
/// last reason given to it and the reason proposed for it.
pub(super) fn stop_views(
    machine: &str,
    history: StopHistory<'_>,
    from: UnixMillis,
    to: UnixMillis,
    min_minutes: f64,
) -> Vec<StopView> {
    let min_ms = (min_minutes * 60_000.0) as i64;
    let now = UnixMillis::now();
    let people = report::people_steps(history.operator_presence, now);
    let has_operator_zone = !history.operator_presence.is_empty();
    report::stops(history.states, from, to, now)
        .into_iter()
        .filter(|s: &Stop| s.end_ms - s.start_ms >= min_ms)
        .map(|s| StopView {
            start: s.start_ms.rfc3339(),
            end: s.end_ms.rfc3339(),
            duration_s: (s.end_ms - s.start_ms) as f64 / 1000.0,
            open: s.open,
            reason: summary::stop_reason(history.notes, machine, s.start_ms, s.end_ms),
            suggested_reason: suggest_stop_reason(&people, s.start_ms.as_unix_s(), s.end_ms.as_unix_s())
                .filter(|_| has_operator_zone),
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
    let states = state.store.states(&query).await?;
    let notes = state.store.notes(Some(&id), from, to).await?;
    let operator_presence = state.store.operator_presence(&query).await?;
    let history = StopHistory { states: &states, notes: &notes, operator_presence: &operator_presence };
    let mut all = stop_views(&id, history, from, to, min_minutes(q.min_minutes)?);
    all.reverse(); // newest first
    Ok(Json(page(all, limit, offset)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sheetsight_store::{Interval, ZoneCount};
    use sheetsight_vision::state::MachineState;

    const MIN: i64 = 60_000;

    fn state(value: MachineState, a_min: i64, b_min: i64) -> StateInterval {
        Interval { key: "m".into(), value, start: UnixMillis(a_min * MIN), end: Some(UnixMillis(b_min * MIN)) }
    }

    fn operator(people: u32, a_min: i64, b_min: i64) -> PresenceInterval {
        let value = ZoneCount { people, operator_of: Some("m".into()) };
        Interval { key: "op".into(), value, start: UnixMillis(a_min * MIN), end: Some(UnixMillis(b_min * MIN)) }
    }

    #[test]
    fn a_stop_mostly_unattended_is_proposed_no_operator_and_only_with_an_operator_zone() {
        use MachineState::{Executing, NotExecuting};
        let states = [
            state(Executing, 0, 10),
            state(NotExecuting, 10, 20), // nobody from 12 on: proposed
            state(Executing, 20, 30),
            state(NotExecuting, 30, 40), // someone there throughout: not proposed
        ];
        let presence = [operator(1, 0, 12), operator(0, 12, 30), operator(1, 30, 40)];
        let views = |presence: &[PresenceInterval]| {
            let history = StopHistory { states: &states, notes: &[], operator_presence: presence };
            stop_views("m", history, UnixMillis(0), UnixMillis(40 * MIN), 0.0)
        };
        let proposed: Vec<Option<&str>> = views(&presence).iter().map(|s| s.suggested_reason).collect();
        assert_eq!(proposed, [Some("No operator"), None]);
        let without_zone: Vec<Option<&str>> = views(&[]).iter().map(|s| s.suggested_reason).collect();
        assert_eq!(without_zone, [None, None], "no operator zone: nothing is proposed");
    }
}
