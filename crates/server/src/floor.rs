//! The floor overview: every machine's live state and lamps (from the running service)
//! with today's availability and strokes (from the history, refreshed every few seconds
//! in the background so that the overview query never waits for the database).
//!
//! "Today" starts at midnight in the time zone of the first configured shift (UTC
//! without shifts). Availability today is that of the time the machine was watched:
//! `Executing` time / time in a state other than `NotAvailable` since then; the share
//! of the day so far that was watched is given beside it, so that a service started at
//! 10:00 does not show the morning as standing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use chrono::{TimeZone, Utc};
use serde::Serialize;
use sheetsight_base::LockOrRecover;
use sheetsight_base::shutdown;
use sheetsight_config::Config;
use sheetsight_store::{Query, Store, UnixMillis};
use sheetsight_vision::state::MachineState;

use crate::AppState;
use crate::error::ApiResult;

/// How often today's figures are recomputed from the history.
pub const REFRESH: Duration = Duration::from_secs(5);

#[derive(Clone, Debug, Default)]
pub struct Today {
    pub day_start: UnixMillis,
    pub executing_ms: HashMap<String, i64>,
    /// Time in a state other than `NotAvailable` (the machine was seen).
    pub seen_ms: HashMap<String, i64>,
    pub strokes: HashMap<String, u64>,
    pub jobs: HashMap<String, String>,
    /// Head count of each machine's operator zones, as stored last (machines with one).
    pub operator_people: HashMap<String, u32>,
    pub open_alerts: usize,
}

#[derive(Default)]
pub struct FloorCache(Mutex<Arc<Today>>);

impl FloorCache {
    pub fn get(&self) -> Arc<Today> {
        self.0.lock_or_recover().clone()
    }
    fn set(&self, today: Today) {
        *self.0.lock_or_recover() = Arc::new(today);
    }
}

/// Midnight of `now`'s date in the first shift's zone (UTC without shifts).
pub fn day_start(config: &Config, now: UnixMillis) -> UnixMillis {
    let tz = config.shifts.first().map_or(sheetsight_config::shift::Tz::UTC, |s| s.time_zone);
    let Some(now_utc) = now.to_datetime() else { return now };
    let local = now_utc.with_timezone(&tz).date_naive();
    tz.from_local_datetime(&local.and_time(chrono::NaiveTime::MIN))
        .earliest()
        .map_or_else(|| Utc.from_utc_datetime(&local.and_time(chrono::NaiveTime::MIN)).into(), UnixMillis::from)
}

async fn compute(state: &AppState) -> ApiResult<Today> {
    let config = state.config();
    let now = UnixMillis::now();
    let from = day_start(&config, now);
    let q = Query { from, to: now, key: None };
    let mut today = Today { day_start: from, ..Default::default() };
    for s in state.store.states(&q).await? {
        let a = s.start.max(from);
        let b = s.end.unwrap_or(now).min(now);
        let ms = (b - a).max(0);
        if s.value != MachineState::NotAvailable {
            *today.seen_ms.entry(s.key.clone()).or_default() += ms;
        }
        if s.value == MachineState::Executing {
            *today.executing_ms.entry(s.key).or_default() += ms;
        }
    }
    for s in state.store.strokes(&q).await? {
        *today.strokes.entry(s.machine).or_default() += 1;
    }
    for n in state.store.notes(None, now, now.plus_ms(1)).await? {
        if n.kind == "job" {
            today.jobs.insert(n.machine, n.value);
        }
    }
    let open = Query { from: now.plus_ms(-1), to: now.plus_ms(1), key: None };
    for p in state.store.operator_presence(&open).await? {
        if let (Some(machine), None) = (p.value.operator_of, p.end) {
            *today.operator_people.entry(machine).or_default() += p.value.people;
        }
    }
    today.open_alerts = state.store.open_alert_count().await?;
    Ok(today)
}

/// Recomputes today's figures every [`REFRESH`] until the server stops.
pub async fn refresh_loop(state: Arc<AppState>, stop: shutdown::Receiver) {
    loop {
        match compute(&state).await {
            Ok(t) => state.floor.set(t),
            Err(e) => tracing::warn!(error = %e.message, "cannot compute today's figures"),
        }
        tokio::select! {
            _ = tokio::time::sleep(REFRESH) => {}
            _ = stop.wait() => return,
        }
    }
}

/// Recomputes now (after a note or an acknowledgement, so the overview shows it).
pub async fn refresh_now(state: &AppState) {
    if let Ok(t) = compute(state).await {
        state.floor.set(t);
    }
}

#[derive(Serialize)]
pub struct LampView {
    pub index: usize,
    pub color: &'static str,
    /// `off`, `steady`, `blinking`, `flashing`, `unknown`; `null` before it is decided.
    pub mode: Option<&'static str>,
}

#[derive(Serialize)]
pub struct MachineView {
    pub id: String,
    pub camera: String,
    /// OPC UA Machinery state; `null` for a machine without lamps.
    pub state: Option<&'static str>,
    pub state_since: String,
    pub lamps: Vec<LampView>,
    pub motion_active: bool,
    pub strokes_today: u64,
    /// `Executing` / watched time today; `null` before the machine was seen.
    pub availability_today: Option<f64>,
    /// Share of the day so far in which the machine was seen (0 to 1).
    pub watched_share_today: Option<f64>,
    pub job: Option<String>,
    pub camera_health: &'static str,
    /// People in the machine's operator zones now; `null` without an operator zone or
    /// before a count is known. More than 0: the machine is attended.
    pub operator_people: Option<u32>,
}

#[derive(Serialize)]
pub struct CameraView {
    pub id: String,
    pub health: &'static str,
    pub detail: Option<String>,
    pub since: String,
}

#[derive(Serialize)]
pub struct Overview {
    pub generated_at: String,
    pub day_start: String,
    pub machines: Vec<MachineView>,
    pub cameras: Vec<CameraView>,
    pub open_alerts: usize,
}

pub fn build(state: &AppState) -> Overview {
    let today = state.floor.get();
    let now = UnixMillis::now();
    let elapsed = (now - today.day_start).max(1);
    let mut machines = Vec::new();
    let mut cameras = Vec::new();
    for cam in state.service.statuses() {
        cameras.push(CameraView {
            id: cam.id.clone(),
            health: cam.health.as_str(),
            detail: cam.detail.clone(),
            since: cam.since.rfc3339(),
        });
        for m in &cam.machines {
            machines.push(MachineView {
                id: m.id.clone(),
                camera: cam.id.clone(),
                state: m.state.map(|s| s.as_str()),
                state_since: UnixMillis::from_unix_s(m.state_since_s).rfc3339(),
                lamps: m
                    .lamps
                    .iter()
                    .enumerate()
                    .map(|(index, (color, mode))| LampView {
                        index,
                        color: color.as_str(),
                        mode: mode.map(|m| m.as_str()),
                    })
                    .collect(),
                motion_active: m.motion_active,
                strokes_today: today.strokes.get(&m.id).copied().unwrap_or(0),
                availability_today: today
                    .seen_ms
                    .get(&m.id)
                    .filter(|&&seen| today.day_start > UnixMillis(0) && seen > 0)
                    .map(|&seen| today.executing_ms.get(&m.id).copied().unwrap_or(0) as f64 / seen as f64),
                watched_share_today: (today.day_start > UnixMillis(0))
                    .then(|| (today.seen_ms.get(&m.id).copied().unwrap_or(0) as f64 / elapsed as f64).clamp(0.0, 1.0)),
                job: today.jobs.get(&m.id).cloned(),
                camera_health: cam.health.as_str(),
                operator_people: today.operator_people.get(&m.id).copied(),
            });
        }
    }
    Overview {
        generated_at: now.rfc3339(),
        day_start: today.day_start.rfc3339(),
        machines,
        cameras,
        open_alerts: today.open_alerts,
    }
}

pub async fn overview(State(state): State<Arc<AppState>>) -> Json<Overview> {
    Json(build(&state))
}
