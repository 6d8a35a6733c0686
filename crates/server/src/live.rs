//! Live events for the dashboard as Server-Sent Events: every analysis event (lamp,
//! state, stroke, motion, camera health) the moment the camera's worker sends it, and
//! every notice (alerts, reasons, jobs, region edits). Event times are RFC 3339 in
//! `at` beside the event's own fields, and `sent_ms` is when the server sent it; a
//! reader that falls behind gets a `lagged` event and should reload the overview.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use sheetsight_store::UnixMillis;

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::Stream;
use futures::StreamExt;
use sheetsight_vision::event::LiveEvent;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use crate::{AppState, Notice};

/// The JSON of an analysis event for live readers: the event with `at` (RFC 3339).
pub fn event_json(e: &LiveEvent) -> Option<(String, serde_json::Value)> {
    let mut v = serde_json::to_value(e).ok()?;
    let kind = v.get("type")?.as_str()?.to_string();
    if let Some(t) = e.t()
        && let Some(obj) = v.as_object_mut()
    {
        obj.insert("at".into(), t.rfc3339().into());
    }
    if let Some(obj) = v.as_object_mut() {
        // When the server sent it: with `t` (the frame's time), how long the way took.
        obj.insert("sent_ms".into(), UnixMillis::now().as_i64().into());
    }
    Some((kind, v))
}

enum Item {
    Event(Result<LiveEvent, BroadcastStreamRecvError>),
    Notice(Result<Notice, BroadcastStreamRecvError>),
}

pub async fn events(State(state): State<Arc<AppState>>) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let events = BroadcastStream::new(state.service.subscribe()).map(Item::Event);
    let notices = BroadcastStream::new(state.notices.subscribe()).map(Item::Notice);
    let stopping = state.stopping.clone();
    let stop = async move { stopping.wait().await };
    let stream = futures::stream::select(events, notices).take_until(Box::pin(stop)).filter_map(|item| async move {
        let sse = match item {
            Item::Event(Ok(e)) => {
                let (kind, v) = event_json(&e)?;
                SseEvent::default().event(kind).data(v.to_string())
            }
            Item::Notice(Ok(n)) => {
                let v = serde_json::to_value(&n).ok()?;
                let kind = v.get("type")?.as_str()?.to_string();
                SseEvent::default().event(kind).data(v.to_string())
            }
            Item::Event(Err(BroadcastStreamRecvError::Lagged(n)))
            | Item::Notice(Err(BroadcastStreamRecvError::Lagged(n))) => {
                SseEvent::default().event("lagged").data(format!("{{\"skipped\":{n}}}"))
            }
        };
        Some(Ok(sse))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
