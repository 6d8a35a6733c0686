//! Alerts: the configured rules watched on the live events, raised into the history,
//! sent to the webhook (JSON POST, retried), to the chat apps' group robots
//! ([`crate::chat_robots`]) and, as notices, to the dashboard and MQTT;
//! shown until someone acknowledges them.
//!
//! A rule holds for a subject (machine or camera) from the moment its condition became
//! true; with shifts configured, only time inside a shift counts and nothing is raised
//! outside shifts. An alert is cleared (not acknowledged) when its condition ends.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use sheetsight_base::error::with_causes;
use sheetsight_base::shutdown;
use sheetsight_config::{AlertCondition, AlertRule, Config};
use sheetsight_store::UnixMillis;
use sheetsight_store::site::AlertRecord;
use sheetsight_vision::event::{CameraHealth, Event};
use sheetsight_vision::state::MachineState;
use tokio::sync::broadcast;

use crate::api::{Page, RangeQuery, page};
use crate::auth::Principal;
use crate::error::{ApiError, ApiQuery, ApiResult};
use crate::{AppState, Notice};

/// Webhook attempts per notice, waiting 1, 2, 4, 8 s between them.
const WEBHOOK_ATTEMPTS: u32 = 5;

/// What each rule watches: a subject's current value and since when.
#[derive(Default)]
struct Watch {
    states: HashMap<String, (MachineState, UnixMillis)>,
    health: HashMap<String, (CameraHealth, UnixMillis)>,
    /// Cameras whose recording fails: the error and since when.
    recording: HashMap<String, (String, UnixMillis)>,
    /// (rule, subject) → the raised alert's id.
    active: HashMap<(String, String), i64>,
}

/// Since when the rule's condition holds for `subject`, if it does.
fn holding_since(w: &Watch, rule: &AlertRule, subject: &str) -> Option<UnixMillis> {
    match &rule.condition {
        AlertCondition::MachineState { states } => {
            w.states.get(subject).filter(|(s, _)| states.contains(s)).map(|(_, since)| *since)
        }
        AlertCondition::CameraDown => {
            w.health.get(subject).filter(|(h, _)| *h != CameraHealth::Streaming).map(|(_, since)| *since)
        }
        AlertCondition::RecordingFailed => w.recording.get(subject).map(|(_, since)| *since),
    }
}

fn subjects(config: &Config, rule: &AlertRule) -> Vec<String> {
    if !rule.subjects.is_empty() {
        return rule.subjects.clone();
    }
    match rule.condition {
        AlertCondition::MachineState { .. } => config.machines.iter().map(|m| m.id.clone()).collect(),
        AlertCondition::CameraDown => config.cameras.iter().map(|c| c.id.clone()).collect(),
        AlertCondition::RecordingFailed => config.cameras.iter().filter(|c| c.record).map(|c| c.id.clone()).collect(),
    }
}

/// The start of the shift running at `now`; `Some(0)` without shifts (always counts),
/// `None` outside every shift.
fn shift_start(config: &Config, now: UnixMillis) -> Option<UnixMillis> {
    if config.shifts.is_empty() {
        return Some(UnixMillis::EPOCH);
    }
    let t = now.to_datetime()?;
    let today = t.date_naive();
    config
        .shifts
        .iter()
        .flat_map(|s| s.windows(today - chrono::Duration::days(1), today))
        .filter(|w| w.start <= t && t < w.end)
        .map(|w| UnixMillis::from(w.start))
        .min()
}

fn describe(rule: &AlertRule, subject: &str, minutes: f64, what: &str) -> String {
    let time = if minutes < 1.0 { format!("{:.0} s", minutes * 60.0) } else { format!("{minutes:.0} min") };
    match &rule.condition {
        AlertCondition::MachineState { .. } => format!("{subject} has been {what} for {time}"),
        AlertCondition::CameraDown => format!("camera {subject} has been down ({what}) for {time}"),
        AlertCondition::RecordingFailed => {
            format!("the recording of camera {subject} has failed for {time} (analysis goes on): {what}")
        }
    }
}

/// What the rules call for at `now`.
#[derive(Debug, PartialEq)]
enum Decision {
    Raise { rule: String, subject: String, message: String },
    Clear { rule: String, subject: String, id: i64 },
}

/// The rules of `config` against what `w` watches: alerts to raise (due and not yet
/// raised) and to clear (raised, and the condition has ended or the shift is over).
fn decide(config: &Config, w: &Watch, now: UnixMillis) -> Vec<Decision> {
    let counting_from = shift_start(config, now);
    let mut out = Vec::new();
    for rule in &config.alerts.rules {
        for subject in subjects(config, rule) {
            let active = w.active.get(&(rule.name.clone(), subject.clone())).copied();
            let since = holding_since(w, rule, &subject).zip(counting_from).map(|(s, c)| s.max(c));
            let due = since.is_some_and(|s| (now - s) as f64 >= rule.minutes * 60_000.0);
            match (due, active) {
                (true, None) => {
                    let what = match &rule.condition {
                        AlertCondition::MachineState { .. } => w.states.get(&subject).map(|s| s.0.as_str()),
                        AlertCondition::CameraDown => w.health.get(&subject).map(|h| h.0.as_str()),
                        AlertCondition::RecordingFailed => w.recording.get(&subject).map(|r| r.0.as_str()),
                    };
                    let message = describe(rule, &subject, rule.minutes, what.unwrap_or("?"));
                    out.push(Decision::Raise { rule: rule.name.clone(), subject, message });
                }
                (false, Some(id)) if since.is_none() => {
                    out.push(Decision::Clear { rule: rule.name.clone(), subject, id });
                }
                _ => {}
            }
        }
    }
    out
}

async fn evaluate(state: &AppState, w: &mut Watch, now: UnixMillis) {
    for decision in decide(&state.config(), w, now) {
        match decision {
            Decision::Raise { rule, subject, message } => {
                match state.store.raise_alert(&rule, &subject, &message, now).await {
                    Ok(id) => {
                        tracing::warn!(%rule, %subject, %message, "alert raised");
                        w.active.insert((rule, subject), id);
                        notify(state, "raised", id).await;
                    }
                    Err(e) => tracing::error!(error = %with_causes(&e), "cannot store an alert"),
                }
            }
            Decision::Clear { rule, subject, id } => {
                w.active.remove(&(rule, subject));
                if let Err(e) = state.store.clear_alert(id, now).await {
                    tracing::error!(error = %with_causes(&e), "cannot clear an alert");
                }
                notify(state, "cleared", id).await;
            }
        }
    }
}

async fn notify(state: &AppState, change: &'static str, id: i64) {
    let Some(alert) = find(state, id).await else { return };
    crate::floor::refresh_now(state).await;
    tell(state, change, alert);
}

/// An alert's change to the webhook, the group robots, the dashboard and MQTT.
fn tell(state: &AppState, change: &'static str, alert: AlertRecord) {
    let config = state.config();
    crate::chat_robots::deliver(&config, crate::chat_robots::alert_message(&config, change, &alert));
    let notice = Notice::Alert { change, alert };
    if let Some(url) = config.alerts.webhook.clone() {
        tokio::spawn(post_webhook(url, notice.clone()));
    }
    let _ = state.notices.send(notice);
}

async fn find(state: &AppState, id: i64) -> Option<AlertRecord> {
    state.store.alert(id).await.ok().flatten()
}

/// POSTs the notice as JSON, retrying with backoff; gives up after [`WEBHOOK_ATTEMPTS`].
pub async fn post_webhook(url: String, notice: impl serde::Serialize) {
    let client = match reqwest::Client::builder().timeout(Duration::from_secs(10)).build() {
        Ok(c) => c,
        Err(e) => return tracing::error!(error = %e, "cannot build the webhook client"),
    };
    let mut wait = Duration::from_secs(1);
    for attempt in 1..=WEBHOOK_ATTEMPTS {
        match client.post(&url).json(&notice).send().await {
            Ok(r) if r.status().is_success() => return,
            Ok(r) => tracing::warn!(status = %r.status(), attempt, "the alert webhook refused"),
            Err(e) => tracing::warn!(error = %e, attempt, "the alert webhook is unreachable"),
        }
        if attempt < WEBHOOK_ATTEMPTS {
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
    }
    tracing::error!(url = %url, "the alert webhook failed {WEBHOOK_ATTEMPTS} times; the alert stays in the dashboard");
}

/// Notes which recordings fail now (the recorders keep the error while it lasts).
fn watch_recordings(state: &AppState, w: &mut Watch, now: UnixMillis) {
    let Some(access) = &state.recording else { return };
    for status in access.status.statuses() {
        match status.failing {
            Some(error) => {
                w.recording.entry(status.camera).or_insert((error, now));
            }
            None => {
                w.recording.remove(&status.camera);
            }
        }
    }
}

/// The rule name of the alerts raised for advisory safety events (no rule needed: a
/// `danger` zone asks for them). They stay until acknowledged.
pub const SAFETY_RULE: &str = "safety (advisory)";

/// The message of an advisory safety alert.
fn safety_message(zone: &str, machine: &str, people: u32, snapshot: Option<&str>) -> String {
    let who = if people == 1 { "1 person".to_string() } else { format!("{people} people") };
    let picture = snapshot.map_or(String::new(), |f| format!(" Picture: /api/v1/safety/snapshots/{f}."));
    format!(
        "ADVISORY: {who} in danger zone {zone} while {machine} was executing.{picture} ({})",
        sheetsight_vision::zone::ADVISORY_NOTE
    )
}

/// Raises the alert of one advisory safety event at once (the zone's interval already
/// limits how often).
async fn raise_safety_alert(
    state: &AppState,
    zone: &str,
    machine: &str,
    people: u32,
    t: UnixMillis,
    snapshot: Option<&str>,
) {
    let message = safety_message(zone, machine, people, snapshot);
    match state.store.raise_alert(SAFETY_RULE, machine, &message, t).await {
        Ok(id) => {
            tracing::warn!(%zone, %machine, people, "advisory safety alert raised");
            notify(state, "raised", id).await;
        }
        Err(e) => tracing::error!(error = %with_causes(&e), "cannot store an advisory safety alert"),
    }
}

/// Watches the live events and evaluates the rules every second until the server stops.
pub async fn engine(state: Arc<AppState>, stop: shutdown::Receiver) {
    let mut rx = state.service.subscribe();
    let mut w = Watch::default();
    for cam in state.service.statuses() {
        w.health.insert(cam.id.clone(), (cam.health, cam.since));
        for m in &cam.machines {
            if let Some(s) = m.state {
                w.states.insert(m.id.clone(), (s, UnixMillis::from_unix_s(m.state_since_s)));
            }
        }
    }
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.wait() => return,
            _ = tick.tick() => {
                if !state.config().alerts.rules.is_empty() {
                    let now = UnixMillis::now();
                    watch_recordings(&state, &mut w, now);
                    evaluate(&state, &mut w, now).await;
                }
            }
            e = rx.recv() => match e {
                Ok(Event::State { machine, state: s, t }) => {
                    w.states.insert(machine, (s, t));
                }
                Ok(Event::Health { camera, health, t, .. }) => {
                    let since = match w.health.get(&camera) {
                        // Down stays down from its first moment through connecting/failed/stalled.
                        Some((h, since)) if *h != CameraHealth::Streaming && health != CameraHealth::Streaming => *since,
                        _ => t,
                    };
                    w.health.insert(camera, (health, since));
                }
                Ok(Event::Safety { zone, machine, people, t, snapshot, .. }) => {
                    raise_safety_alert(&state, &zone, &machine, people, t, snapshot.as_deref()).await;
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(n)) => tracing::warn!(skipped = n, "alerts fell behind the events"),
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}

#[derive(Deserialize)]
pub struct AlertQuery {
    /// `true`: only alerts not yet acknowledged (default), `false`: all in the range.
    pub open: Option<bool>,
    // Not `#[serde(flatten)]`: flattened fields of a URL query all arrive as strings, and
    // `limit=10` would be refused as "not a number".
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    ApiQuery(q): ApiQuery<AlertQuery>,
) -> ApiResult<Json<Page<AlertRecord>>> {
    let range = RangeQuery { from: q.from, to: q.to, limit: q.limit, offset: q.offset, min_minutes: None };
    let (limit, offset) = range.page()?;
    let open = q.open.unwrap_or(true);
    let (from, to) = if open && range.from.is_none() && range.to.is_none() {
        (UnixMillis::EPOCH, UnixMillis::MAX)
    } else {
        range.range()?
    };
    let all = state.store.alerts(open, from, to, (offset + limit + 1) as i64, 0).await?;
    Ok(Json(page(all, limit, offset)))
}

pub async fn ack(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
) -> ApiResult<Json<AlertRecord>> {
    if !state.store.ack_alert(id, &p.name, UnixMillis::now()).await? {
        return Err(match find(&state, id).await {
            Some(_) => ApiError::conflict(format!("alert {id} is acknowledged already")),
            None => ApiError::not_found(format!("no alert {id}")),
        });
    }
    let alert = find(&state, id).await.ok_or_else(|| ApiError::not_found(format!("no alert {id}")))?;
    crate::floor::refresh_now(&state).await;
    tell(&state, "acknowledged", alert.clone());
    tracing::info!(id, by = %p.name, "alert acknowledged");
    Ok(Json(alert))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(condition: AlertCondition) -> AlertRule {
        AlertRule { name: "r".into(), condition, minutes: 1.0, subjects: Vec::new() }
    }

    #[test]
    fn a_safety_alert_says_it_is_advisory_and_links_its_picture() {
        let m = super::safety_message("brake-1-back", "brake-1", 2, Some("brake-1-back-1000.jpg"));
        assert!(m.starts_with("ADVISORY: 2 people in danger zone brake-1-back while brake-1 was executing."), "{m}");
        assert!(m.contains("/api/v1/safety/snapshots/brake-1-back-1000.jpg"), "{m}");
        assert!(m.contains("not a safety function"), "{m}");
        assert!(super::safety_message("z", "m", 1, None).contains("1 person in"));
    }

    #[test]
    fn conditions_hold_from_their_start() {
        let mut w = Watch::default();
        w.states.insert("m".into(), (MachineState::OutOfService, UnixMillis(1000)));
        w.health.insert("c".into(), (CameraHealth::Failed, UnixMillis(2000)));
        let faults = rule(AlertCondition::MachineState { states: vec![MachineState::OutOfService] });
        assert_eq!(holding_since(&w, &faults, "m"), Some(UnixMillis(1000)));
        assert_eq!(holding_since(&w, &faults, "other"), None);
        let idle = rule(AlertCondition::MachineState { states: vec![MachineState::NotExecuting] });
        assert_eq!(holding_since(&w, &idle, "m"), None);
        assert_eq!(holding_since(&w, &rule(AlertCondition::CameraDown), "c"), Some(UnixMillis(2000)));
        w.health.insert("c".into(), (CameraHealth::Streaming, UnixMillis(3000)));
        assert_eq!(holding_since(&w, &rule(AlertCondition::CameraDown), "c"), None);
    }

    #[test]
    fn a_failing_recording_raises_its_alert_after_the_rules_time_with_the_error() {
        let text = "[[camera]]\nid = \"cam1\"\nsource = \"rtsp://c/1\"\nrecord = true\n\n\
                    [[camera]]\nid = \"cam2\"\nsource = \"rtsp://c/2\"\n\n\
                    [[alert]]\nname = \"rec\"\nwhen = \"recording_failed\"\nminutes = 0.5\n";
        let config = sheetsight_config::parse(std::path::Path::new("/tmp/a.toml"), text).expect("config");
        let mut w = Watch::default();
        assert!(decide(&config, &w, UnixMillis(100_000)).is_empty());
        w.recording.insert("cam1".into(), ("cannot write x.ssv: No space left on device".into(), UnixMillis(100_000)));
        assert!(decide(&config, &w, UnixMillis(120_000)).is_empty(), "not yet 30 s");
        let raised = decide(&config, &w, UnixMillis(130_000));
        let [Decision::Raise { subject, message, .. }] = raised.as_slice() else { panic!("{raised:?}") };
        assert_eq!(subject, "cam1");
        assert!(message.contains("recording of camera cam1") && message.contains("No space left"), "{message}");
        // A camera that does not record is not watched.
        w.recording.insert("cam2".into(), ("?".into(), UnixMillis(0)));
        assert_eq!(decide(&config, &w, UnixMillis(130_000)).len(), 1);
        w.active.insert(("rec".into(), "cam1".into()), 7);
        w.recording.clear();
        assert_eq!(
            decide(&config, &w, UnixMillis(140_000)),
            vec![Decision::Clear { rule: "rec".into(), subject: "cam1".into(), id: 7 }]
        );
    }

    fn with_rule(extra: &str) -> Config {
        let text = format!(
            "[[camera]]\nid = \"c\"\nsource = \"rtsp://c/1\"\n\n[[machine]]\nid = \"m\"\ncamera = \"c\"\n[machine.motion]\nroi = [[1, 1], [5, 1], [5, 5]]\n\n[[alert]]\nname = \"stop\"\nwhen = \"machine_state\"\nstates = [\"OutOfService\", \"NotExecuting\"]\nminutes = 10\n{extra}"
        );
        sheetsight_config::parse(std::path::Path::new("/tmp/a.toml"), &text).expect("config")
    }

    #[test]
    fn a_machine_standing_too_long_in_a_shift_is_raised_once_then_cleared() {
        const MIN_MS: i64 = 60_000;
        let at = |s: &str| UnixMillis::from(chrono::DateTime::parse_from_rfc3339(s).expect("time"));
        // The early shift, 06:00-14:00 UTC.
        let config = with_rule("\n[[shift]]\nname = \"early\"\nstart = \"06:00\"\nend = \"14:00\"\n");
        let mut w = Watch::default();
        // Standing since 05:55: only the time from 06:00 counts.
        w.states.insert("m".into(), (MachineState::NotExecuting, at("2026-11-30T05:55:00Z")));
        assert!(decide(&config, &w, at("2026-11-30T06:09:00Z")).is_empty(), "9 min inside the shift");
        let raised = decide(&config, &w, at("2026-11-30T06:10:00Z"));
        assert_eq!(raised.len(), 1, "{raised:?}");
        let Decision::Raise { message, .. } = &raised[0] else { panic!("{raised:?}") };
        assert_eq!(message, "m has been NotExecuting for 10 min");
        w.active.insert(("stop".into(), "m".into()), 7);
        assert!(decide(&config, &w, at("2026-11-30T07:00:00Z")).is_empty(), "raised once");
        // A fault continues the stop: still one alert.
        w.states.insert("m".into(), (MachineState::OutOfService, at("2026-11-30T07:00:00Z")));
        assert!(decide(&config, &w, at("2026-11-30T07:05:00Z")).is_empty());
        // Running again: cleared.
        w.states.insert("m".into(), (MachineState::Executing, at("2026-11-30T07:06:00Z")));
        assert_eq!(
            decide(&config, &w, at("2026-11-30T07:06:01Z")),
            vec![Decision::Clear { rule: "stop".into(), subject: "m".into(), id: 7 }]
        );
        // Outside the shift nothing is raised, however long it stands.
        w.active.clear();
        w.states.insert("m".into(), (MachineState::OutOfService, at("2026-11-30T14:00:00Z")));
        assert!(decide(&config, &w, at("2026-11-30T20:00:00Z")).is_empty());
        // Without shifts, all time counts.
        let always = with_rule("");
        assert_eq!(decide(&always, &w, at("2026-11-30T14:00:00Z").plus_ms(10 * MIN_MS)).len(), 1);
        assert!(decide(&always, &w, at("2026-11-30T14:00:00Z").plus_ms(9 * MIN_MS)).is_empty());
    }

    #[test]
    fn only_time_inside_a_shift_counts() {
        let text = "[[camera]]\nid = \"c\"\nsource = \"rtsp://c/1\"\n\n[[shift]]\nname = \"night\"\nstart = \"22:00\"\nend = \"06:00\"\ntime_zone = \"Europe/Berlin\"\n";
        let config = sheetsight_config::parse(std::path::Path::new("/tmp/s.toml"), text).expect("config");
        let at = |s: &str| UnixMillis::from(chrono::DateTime::parse_from_rfc3339(s).expect("time"));
        // 23:30 in Berlin (UTC+1 in November): inside the night shift that began at 22:00.
        assert_eq!(shift_start(&config, at("2026-11-28T22:30:00Z")), Some(at("2026-11-28T21:00:00Z")));
        // 03:00 the next morning: the same shift, begun the day before.
        assert_eq!(shift_start(&config, at("2026-11-29T02:00:00Z")), Some(at("2026-11-28T21:00:00Z")));
        // 12:00: no shift, no alert.
        assert_eq!(shift_start(&config, at("2026-11-29T11:00:00Z")), None);
        let no_shifts = sheetsight_config::parse(
            std::path::Path::new("/tmp/s.toml"),
            "[[camera]]\nid = \"c\"\nsource = \"rtsp://c/1\"\n",
        )
        .expect("config");
        assert_eq!(shift_start(&no_shifts, at("2026-11-29T11:00:00Z")), Some(UnixMillis::EPOCH));
    }
}
