//! The plain JSON topics, under the configured prefix:
//!
//! | topic | retained | payload |
//! |---|---|---|
//! | `<prefix>/status` | yes | `online`, or `offline` (also the last will) |
//! | `<prefix>/<machine>/state` | yes | `{"state": "Executing", "at": "..."}` |
//! | `<prefix>/<machine>/lamp/<n>` | yes | `{"color": "green", "mode": "steady", "at": "..."}` |
//! | `<prefix>/<machine>/motion` | yes | `{"active": true, "at": "..."}` |
//! | `<prefix>/<machine>/stroke` | no | `{"start": "...", "end": "...", "duration_s": 1.8, "person_in_region": false}` |
//! | `<prefix>/<machine>/cycle` | no | `{"start": "...", "end": "...", "duration_s": 42.5, "strokes": 4}` |
//! | `<prefix>/zone/<id>/presence` | yes | `{"people": 1, "at": "..."}` (debounced head count) |
//! | `<prefix>/<machine>/safety` | no | `{"zone": "...", "people": 1, "advisory": true, "note": "...", "at": "..."}` |
//! | `<prefix>/camera/<id>/health` | yes | `{"health": "streaming", "detail": null, "at": "..."}` |
//! | `<prefix>/alert` | no | the alert with `change`: raised, cleared, acknowledged |
//! | `<prefix>/<machine>/reason`, `<prefix>/<machine>/job` | no | the note |
//!
//! Retained topics are published again at every connection, so a broker restarted
//! without persistence has the current values again at once.

use serde_json::json;
use sheetsight_base::UnixMillis;
use sheetsight_service::CameraStatus;
use sheetsight_vision::event::{Event, LiveEvent};

pub use sheetsight_vision::zone::ADVISORY_NOTE;

/// One message to publish.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub topic: String,
    pub payload: Vec<u8>,
    pub retain: bool,
}

fn msg(topic: String, value: serde_json::Value, retain: bool) -> Message {
    Message { topic, payload: value.to_string().into_bytes(), retain }
}

/// A status's time (seconds since 1970 on the live clock) as RFC 3339.
fn at_unix_s(t_s: f64) -> String {
    UnixMillis::from_unix_s(t_s).rfc3339()
}

pub fn status_topic(prefix: &str) -> String {
    format!("{prefix}/status")
}

/// The message of one analysis event, if it has a topic.
pub fn event_message(prefix: &str, e: &LiveEvent) -> Option<Message> {
    Some(match e {
        Event::State { machine, state, t } => {
            msg(format!("{prefix}/{machine}/state"), json!({"state": state.as_str(), "at": t.rfc3339()}), true)
        }
        Event::Lamp { machine, lamp, color, mode, t } => msg(
            format!("{prefix}/{machine}/lamp/{lamp}"),
            json!({"color": color.as_str(), "mode": mode.as_str(), "at": t.rfc3339()}),
            true,
        ),
        Event::Motion { machine, active, t } => {
            msg(format!("{prefix}/{machine}/motion"), json!({"active": active, "at": t.rfc3339()}), true)
        }
        Event::Stroke { machine, start_t, end_t, person_in_region } => msg(
            format!("{prefix}/{machine}/stroke"),
            json!({
                "start": start_t.rfc3339(),
                "end": end_t.rfc3339(),
                "duration_s": (*end_t - *start_t) as f64 / 1000.0,
                "person_in_region": person_in_region,
            }),
            false,
        ),
        Event::Presence { zone, operator_of, people, t } => msg(
            format!("{prefix}/zone/{zone}/presence"),
            json!({"people": people, "operator_of": operator_of, "at": t.rfc3339()}),
            true,
        ),
        Event::Safety { zone, machine, people, advisory, t, snapshot } => msg(
            format!("{prefix}/{machine}/safety"),
            json!({
                "zone": zone,
                "people": people,
                "advisory": advisory,
                "note": ADVISORY_NOTE,
                "at": t.rfc3339(),
                "snapshot": snapshot,
            }),
            false,
        ),
        Event::Cycle { machine, start_t, end_t, strokes } => msg(
            format!("{prefix}/{machine}/cycle"),
            json!({
                "start": start_t.rfc3339(),
                "end": end_t.rfc3339(),
                "duration_s": (*end_t - *start_t) as f64 / 1000.0,
                "strokes": strokes,
            }),
            false,
        ),
        Event::Health { camera, health, detail, t } => msg(
            format!("{prefix}/camera/{camera}/health"),
            json!({"health": health.as_str(), "detail": detail, "at": t.rfc3339()}),
            true,
        ),
        Event::MediaIssue { .. } => return None,
    })
}

/// The retained values of the present moment, published at every connection.
pub fn current_values(prefix: &str, statuses: &[CameraStatus]) -> Vec<Message> {
    let mut out = vec![Message { topic: status_topic(prefix), payload: b"online".to_vec(), retain: true }];
    for cam in statuses {
        out.push(msg(
            format!("{prefix}/camera/{}/health", cam.id),
            json!({"health": cam.health.as_str(), "detail": cam.detail, "at": cam.since.rfc3339()}),
            true,
        ));
        for m in &cam.machines {
            if let Some(state) = m.state {
                out.push(msg(
                    format!("{prefix}/{}/state", m.id),
                    json!({"state": state.as_str(), "at": at_unix_s(m.state_since_s)}),
                    true,
                ));
            }
            for (n, (color, mode)) in m.lamps.iter().enumerate() {
                if let Some(mode) = mode {
                    out.push(msg(
                        format!("{prefix}/{}/lamp/{n}", m.id),
                        json!({"color": color.as_str(), "mode": mode.as_str(), "at": at_unix_s(m.state_since_s)}),
                        true,
                    ));
                }
            }
        }
    }
    out
}
