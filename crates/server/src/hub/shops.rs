//! A shop's own routes on the hub: the shops a principal may read, and for one shop its
//! machines with their state now, its shift report (the edge's `report`, computed from
//! the hub's copy of its history with the machines and shifts its edge sent), and its
//! alerts. A shop outside the principal's reach is answered as one that does not exist.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use axum::{Extension, Json};
use serde::Serialize;
use sheetsight_config::ShiftWindow;
use sheetsight_store::postgres::hub_access::HubPrincipal;
use sheetsight_store::profile::ShopProfile;
use sheetsight_store::report::ReportHistory;
use sheetsight_store::{Query, Store, UnixMillis, report, summary};
use sheetsight_vision::state::MachineState;

use super::{HubState, no_such_shop};
use crate::api::{RangeQuery, ReportQuery, SummaryView, Timeline, report_answer};
use crate::auth::shown;
use crate::error::{ApiError, ApiQuery, ApiResult};

#[derive(Serialize)]
pub struct ShopView {
    pub id: String,
    pub name: String,
}

pub async fn shops(
    State(state): State<Arc<HubState>>,
    Extension(p): Extension<HubPrincipal>,
) -> ApiResult<Json<Vec<ShopView>>> {
    let shops = state.db.shops_in(p.scope()).await?;
    Ok(Json(shops.into_iter().map(|(id, name)| ShopView { id, name }).collect()))
}

/// The shop's profile, if the principal may read the shop and its edge sent one.
async fn profile_of(state: &HubState, p: &HubPrincipal, shop: &str) -> ApiResult<ShopProfile> {
    if !p.may_read(shop) {
        return Err(no_such_shop(shop));
    }
    let scope = p.scope();
    if !state.db.shops_in(scope).await?.iter().any(|(id, _)| id == shop) {
        return Err(no_such_shop(shop));
    }
    // Read in the principal's scope: a platform user's `*`, a shop's own id.
    let mut profiles = state.db.profiles(scope, Some(shop)).await?;
    profiles.remove(shop).ok_or_else(|| {
        ApiError::not_found(format!(
            "shop `{}` has not sent its machines and shifts yet (its edge sends them at start)",
            shown(shop)
        ))
    })
}

#[derive(Serialize)]
pub struct MachineNow {
    pub id: String,
    pub kind: Option<String>,
    pub ideal_strokes_per_hour: Option<f64>,
    /// As the edge last reported it; `null` before any.
    pub state: Option<MachineState>,
    pub since: Option<String>,
}

pub async fn machines(
    State(state): State<Arc<HubState>>,
    Extension(p): Extension<HubPrincipal>,
    Path(shop): Path<String>,
) -> ApiResult<Json<Vec<MachineNow>>> {
    let profile = profile_of(&state, &p, &shop).await?;
    let open = state.db.open_states(p.scope(), Some(&shop)).await?;
    Ok(Json(
        profile
            .machines
            .into_iter()
            .map(|m| {
                let now = open.iter().find(|s| s.shop == shop && s.machine == m.id);
                MachineNow {
                    state: now.map(|s| s.state),
                    since: now.map(|s| s.since.rfc3339()),
                    id: m.id,
                    kind: m.kind,
                    ideal_strokes_per_hour: m.ideal_strokes_per_hour,
                }
            })
            .collect(),
    ))
}

/// The shift report of the shop for local dates `from..=to` (today by default), as JSON
/// or CSV: the same rows as the edge's `report` and `/api/v1/report`.
/// A machine's states and notes in a time range (the edge's timeline).
pub async fn timeline(
    State(state): State<Arc<HubState>>,
    Extension(p): Extension<HubPrincipal>,
    Path((shop, machine)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> ApiResult<Json<Timeline>> {
    let profile = profile_of(&state, &p, &shop).await?;
    if !profile.machines.iter().any(|m| m.id == machine) {
        return Err(ApiError::not_found(format!("no machine `{}` in shop `{}`", shown(&machine), shown(&shop))));
    }
    let (from, to) = q.range()?;
    let store = state.db.shop(&shop);
    let intervals = store.states(&Query { from, to, key: Some(machine.clone()) }).await?;
    let notes = store.notes(Some(&machine), from, to).await?;
    Ok(Json(Timeline::of(machine, from, to, &intervals, notes, UnixMillis::now())))
}

/// What a shop's report or summary covers: the shift windows of a date range, the
/// machines (with their ideal rates) and the history overlapping the windows.
struct ShopScope {
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    machines: Vec<(String, Option<f64>)>,
    windows: Vec<ShiftWindow>,
    history: ReportHistory,
    /// From the first window's start to the last one's end (none without windows).
    span: Option<(UnixMillis, UnixMillis)>,
}

async fn scope(
    state: &HubState,
    p: &HubPrincipal,
    shop: &str,
    q: &ReportQuery,
    now: UnixMillis,
) -> ApiResult<ShopScope> {
    let profile = profile_of(state, p, shop).await?;
    let shifts = profile.shifts();
    let (from, to) = q.dates(now, &shifts)?;
    let machines: Vec<(String, Option<f64>)> = match &q.machine {
        Some(m) => match profile.ideal_rates().into_iter().find(|(id, _)| id == m) {
            Some(one) => vec![one],
            None => return Err(ApiError::not_found(format!("no machine `{}` in shop `{}`", shown(m), shown(shop)))),
        },
        None => profile.ideal_rates(),
    };
    let (windows, span) = crate::api::shift_windows(&shifts, from, to);
    let history = match span {
        Some((a, b)) => {
            let query = Query { from: a, to: b, key: q.machine.clone() };
            let ids: Vec<String> = machines.iter().map(|(id, _)| id.clone()).collect();
            let counted = report::stroke_windows(&windows, &ids, now);
            state.db.shop(shop).report_history(&query, &counted).await?
        }
        None => ReportHistory::default(),
    };
    Ok(ShopScope { from, to, machines, windows, history, span })
}

pub async fn report(
    State(state): State<Arc<HubState>>,
    Extension(p): Extension<HubPrincipal>,
    Path(shop): Path<String>,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    if !matches!(q.format.as_deref(), None | Some("json" | "csv")) {
        // The shop is checked first: a shop out of reach answers 404 whatever is asked.
        profile_of(&state, &p, &shop).await?;
        return report_answer(&[], q.format.as_deref(), "");
    }
    let now = UnixMillis::now();
    let s = scope(&state, &p, &shop, &q, now).await?;
    let ids: Vec<String> = s.machines.iter().map(|(id, _)| id.clone()).collect();
    let rows = report::compute(&s.windows, &ids, &s.history, now);
    report_answer(&rows, q.format.as_deref(), &format!("sheetsight-{shop}-report-{}-{}", s.from, s.to))
}

/// The charts' figures of a shop for a date range (the edge's `/api/v1/summary`): per
/// machine and day, per shift, downtime Pareto.
pub async fn summary(
    State(state): State<Arc<HubState>>,
    Extension(p): Extension<HubPrincipal>,
    Path(shop): Path<String>,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Json<SummaryView>> {
    if q.format.is_some() {
        profile_of(&state, &p, &shop).await?;
        return Err(ApiError::bad_request("`format`: the summary is JSON only"));
    }
    let now = UnixMillis::now();
    let s = scope(&state, &p, &shop, &q, now).await?;
    let notes = match s.span {
        Some((a, b)) => state.db.shop(&shop).notes(q.machine.as_deref(), a, b).await?,
        None => Vec::new(),
    };
    Ok(Json(SummaryView::of(s.from, s.to, summary::compute(&s.windows, &s.machines, &s.history, &notes, now), &notes)))
}

#[derive(Serialize)]
pub struct AlertView {
    pub rule: String,
    pub subject: String,
    pub message: String,
    pub raised: String,
    pub cleared: Option<String>,
    pub acked_by: Option<String>,
    pub acked: Option<String>,
}

/// The shop's alerts, newest first (at most 500).
pub async fn alerts(
    State(state): State<Arc<HubState>>,
    Extension(p): Extension<HubPrincipal>,
    Path(shop): Path<String>,
) -> ApiResult<Json<Vec<AlertView>>> {
    profile_of(&state, &p, &shop).await?;
    let mut alerts = state.db.shop(&shop).alert_values().await?;
    alerts.reverse();
    alerts.truncate(500);
    Ok(Json(
        alerts
            .into_iter()
            .map(|(rule, subject, message, raised, cleared, acked_by, acked)| AlertView {
                rule,
                subject,
                message,
                raised: raised.rfc3339(),
                cleared: cleared.map(|t| t.rfc3339()),
                acked_by,
                acked: acked.map(|t| t.rfc3339()),
            })
            .collect(),
    ))
}
