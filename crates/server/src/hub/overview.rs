//! `GET /api/v1/overview`: every shop the principal may read, on one line each: its
//! availability and OEE of today so far, the machines standing now, open alerts, and
//! when its edge was last heard.
//!
//! "Today" is each shop's own: the windows of its shifts that started on the local date
//! of `at` (or still run from the day before), up to `at`. Figures are those of the
//! shift report over the same windows: availability = `Executing` / watched time, OEE =
//! ideal time of the strokes / watched time of the machines with an ideal rate. They
//! are computed in the database (time per state and stroke counts), so a platform of
//! hundreds of shops is read in a few queries.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use sheetsight_config::ShiftWindow;
use sheetsight_config::shift::Shift;
use sheetsight_store::UnixMillis;
use sheetsight_store::postgres::PgDatabase;
use sheetsight_store::postgres::hub_access::HubPrincipal;
use sheetsight_store::postgres::hub_read::{OpenState, ShopWindow, StrokeRange};
use sheetsight_vision::state::MachineState;

use super::HubState;
use crate::api::parse_time;
use crate::error::{ApiQuery, ApiResult};

#[derive(Deserialize, Default)]
pub struct OverviewQuery {
    /// The moment to look at (RFC 3339 or ms); now by default.
    pub at: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Standing {
    pub machine: String,
    pub state: MachineState,
    pub since: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ShopOverview {
    pub shop: String,
    pub name: String,
    /// The start of the shop's day so far (its first window), if it has one yet.
    pub since: Option<String>,
    pub planned_s: f64,
    pub watched_s: f64,
    pub executing_s: f64,
    pub availability: Option<f64>,
    pub oee: Option<f64>,
    pub strokes: u64,
    /// Machines the shop's profile names; `running`: those executing now.
    pub machines: usize,
    pub running: usize,
    /// Machines not executing now (`NotExecuting` or `OutOfService`), longest first.
    pub standing: Vec<Standing>,
    /// Alerts not yet acknowledged.
    pub open_alerts: u64,
    /// When the shop's edge last delivered a batch.
    pub last_heard: Option<String>,
    /// The shop's edge has not sent its machines and shifts yet.
    pub no_profile: bool,
}

#[derive(Serialize)]
pub struct Overview {
    pub at: String,
    pub shops: Vec<ShopOverview>,
}

pub async fn overview(
    State(state): State<Arc<HubState>>,
    Extension(p): Extension<HubPrincipal>,
    ApiQuery(q): ApiQuery<OverviewQuery>,
) -> ApiResult<Json<Overview>> {
    let at = match &q.at {
        Some(t) => parse_time(t, "at")?,
        None => UnixMillis::now(),
    };
    let shops = compute(&state.db, p.scope(), at).await?;
    Ok(Json(Overview { at: at.rfc3339(), shops }))
}

/// The windows of `shifts` that make `at`'s day so far: those that started on the
/// shift's local date of `at`, and those from the day before still running at `at`.
pub fn today_windows(shifts: &[Shift], at: UnixMillis) -> Vec<ShiftWindow> {
    let Some(t) = at.to_datetime() else { return Vec::new() };
    let mut out = Vec::new();
    for s in shifts {
        let today = t.with_timezone(&s.time_zone).date_naive();
        let yesterday = today.pred_opt().unwrap_or(today);
        for w in s.windows(yesterday, today) {
            let (start, end) = (UnixMillis::from(w.start), UnixMillis::from(w.end));
            if start <= at && (w.date == today || end > at) {
                out.push(w);
            }
        }
    }
    out
}

/// Every shop of `scope` at `at`, by id.
pub async fn compute(db: &PgDatabase, scope: &str, at: UnixMillis) -> ApiResult<Vec<ShopOverview>> {
    let shops = db.shops_in(scope).await?;
    let profiles = db.profiles(scope, None).await?;
    let mut last_heard: BTreeMap<String, UnixMillis> = BTreeMap::new();
    for l in db.edge_links(scope).await? {
        let e = last_heard.entry(l.shop.clone()).or_insert(l.updated);
        *e = (*e).max(l.updated);
    }
    // The windows of every shop, and the ranges whose strokes are counted.
    let mut windows: Vec<ShopWindow> = Vec::new();
    let mut ranges: Vec<StrokeRange> = Vec::new();
    for (shop, profile) in &profiles {
        for w in today_windows(&profile.shifts(), at) {
            let (start, end) = (UnixMillis::from(w.start), UnixMillis::from(w.end).min(at));
            if end <= start {
                continue;
            }
            windows.push(ShopWindow { shop: shop.clone(), start, end });
            for m in &profile.machines {
                ranges.push(StrokeRange { shop: shop.clone(), machine: m.id.clone(), start, end });
            }
        }
    }
    let times = db.state_times(scope, &windows, at).await?;
    let counts = db.count_strokes(scope, &ranges).await?;
    let open = db.open_states(scope, None).await?;
    let alerts = db.open_alert_counts(scope).await?;

    // Per shop and machine: ms per state, strokes.
    let mut in_state: BTreeMap<(&str, &str), BTreeMap<MachineState, i64>> = BTreeMap::new();
    for t in &times {
        *in_state.entry((&t.shop, &t.machine)).or_default().entry(t.state).or_default() += t.ms;
    }
    let mut strokes: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for (r, n) in ranges.iter().zip(&counts) {
        *strokes.entry((&r.shop, &r.machine)).or_default() += n;
    }
    // Windows and open states by shop: each shop reads its own, not everyone's.
    let mut windows_of: BTreeMap<&str, Vec<&ShopWindow>> = BTreeMap::new();
    for w in &windows {
        windows_of.entry(&w.shop).or_default().push(w);
    }
    let mut open_of: BTreeMap<&str, Vec<&OpenState>> = BTreeMap::new();
    for s in &open {
        open_of.entry(&s.shop).or_default().push(s);
    }
    let mut out = Vec::new();
    for (shop, name) in shops {
        let mut o = ShopOverview {
            shop: shop.clone(),
            name,
            since: None,
            planned_s: 0.0,
            watched_s: 0.0,
            executing_s: 0.0,
            availability: None,
            oee: None,
            strokes: 0,
            machines: 0,
            running: 0,
            standing: Vec::new(),
            open_alerts: alerts.get(&shop).copied().unwrap_or(0),
            last_heard: last_heard.get(&shop).map(|t| t.rfc3339()),
            no_profile: true,
        };
        if let Some(profile) = profiles.get(&shop) {
            o.no_profile = false;
            o.machines = profile.machines.len();
            let mine = windows_of.get(shop.as_str()).map(Vec::as_slice).unwrap_or_default();
            o.since = mine.iter().map(|w| w.start).min().map(|t| t.rfc3339());
            let planned_ms: i64 = mine.iter().map(|w| w.end - w.start).sum();
            let (mut ideal_work_s, mut watched_with_ideal_s) = (0.0, 0.0);
            for m in &profile.machines {
                let states = in_state.get(&(shop.as_str(), m.id.as_str()));
                let ms = |s: MachineState| states.and_then(|t| t.get(&s)).copied().unwrap_or(0);
                let watched_s = (ms(MachineState::Executing)
                    + ms(MachineState::NotExecuting)
                    + ms(MachineState::OutOfService)) as f64
                    / 1000.0;
                let n = strokes.get(&(shop.as_str(), m.id.as_str())).copied().unwrap_or(0);
                o.planned_s += planned_ms as f64 / 1000.0;
                o.watched_s += watched_s;
                o.executing_s += ms(MachineState::Executing) as f64 / 1000.0;
                o.strokes += n;
                if let Some(ideal) = m.ideal_strokes_per_hour.filter(|i| *i > 0.0) {
                    ideal_work_s += n as f64 * 3600.0 / ideal;
                    watched_with_ideal_s += watched_s;
                }
            }
            o.availability = (o.watched_s > 0.0).then(|| o.executing_s / o.watched_s);
            o.oee = (watched_with_ideal_s > 0.0).then(|| ideal_work_s / watched_with_ideal_s);
            let mut standing: Vec<(UnixMillis, Standing)> = Vec::new();
            let machines: std::collections::BTreeSet<&str> = profile.machines.iter().map(|m| m.id.as_str()).collect();
            let open_here = open_of.get(shop.as_str()).map(Vec::as_slice).unwrap_or_default();
            for s in open_here.iter().filter(|s| machines.contains(s.machine.as_str())) {
                match s.state {
                    MachineState::Executing => o.running += 1,
                    MachineState::NotExecuting | MachineState::OutOfService => standing.push((
                        s.since,
                        Standing { machine: s.machine.clone(), state: s.state, since: s.since.rfc3339() },
                    )),
                    MachineState::NotAvailable => {}
                }
            }
            standing.sort_by_key(|(since, s)| (*since, s.machine.clone()));
            o.standing = standing.into_iter().map(|(_, s)| s).collect();
        }
        out.push(o);
    }
    Ok(out)
}
