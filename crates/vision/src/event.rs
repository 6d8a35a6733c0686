//! The machine-readable events of monitoring, one JSON object per line (JSON Lines).
//!
//! The same format serves `analyze`'s output and the simulator's ground truth, so that
//! one reader scores one against the other. An event's times are on the clock its frames
//! were timed by, named in its type: [`VideoEvent`] (seconds from the start of the
//! video) offline and in ground truth, [`LiveEvent`] (wall time) from live cameras. In
//! JSON both are seconds on that clock, rounded to milliseconds (`"t": 12.345` from a
//! video, `"t": 1764839700.123` live).

use serde::{Deserialize, Serialize};
use sheetsight_base::time::{StreamTime, UnixMillis, VideoSeconds};

use crate::lamp::{LampColor, LampMode};
use crate::state::MachineState;

/// Events from a video file or generated truth: seconds from the video's start.
pub type VideoEvent = Event<VideoSeconds>;
/// Events from live cameras: wall time.
pub type LiveEvent = Event<UnixMillis>;

/// A time in JSON: seconds on its clock, rounded to milliseconds.
mod seconds {
    use serde::{Deserialize, Deserializer, Serializer};
    use sheetsight_base::time::StreamTime;

    pub fn serialize<T: StreamTime, S: Serializer>(t: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64((t.as_s() * 1000.0).round() / 1000.0)
    }

    pub fn deserialize<'de, T: StreamTime, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
        f64::deserialize(d).map(T::from_s)
    }
}

/// One monitoring event; `T` is the clock it is timed by.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", bound = "T: StreamTime")]
pub enum Event<T> {
    /// A lamp's mode changed (the first event of a lamp gives its initial mode).
    Lamp {
        machine: String,
        lamp: usize,
        color: LampColor,
        mode: LampMode,
        #[serde(with = "seconds")]
        t: T,
    },
    /// The machine's state changed.
    State {
        machine: String,
        state: MachineState,
        #[serde(with = "seconds")]
        t: T,
    },
    /// One stroke of the ram, down and up.
    Stroke {
        machine: String,
        #[serde(with = "seconds")]
        start_t: T,
        #[serde(with = "seconds")]
        end_t: T,
        /// A person stood in the motion region when it was seen (their movement may be
        /// what was counted); only written when true.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        person_in_region: bool,
    },
    /// A cycle of work ended ([`crate::cycle`]): reported once, never revised.
    Cycle {
        machine: String,
        #[serde(with = "seconds")]
        start_t: T,
        #[serde(with = "seconds")]
        end_t: T,
        /// Strokes that ended inside it.
        strokes: u32,
    },
    /// The motion region became active or quiet.
    Motion {
        machine: String,
        active: bool,
        #[serde(with = "seconds")]
        t: T,
    },
    /// A zone's debounced head count changed (dated when the new count was first seen).
    Presence {
        zone: String,
        /// The machine whose operator stands in this zone (a `work` zone with a machine):
        /// its attended time is counted from this zone's head count.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        operator_of: Option<String>,
        people: u32,
        #[serde(with = "seconds")]
        t: T,
    },
    /// Advisory only, never a safety function: someone stood in a danger zone while its
    /// machine was executing.
    Safety {
        zone: String,
        machine: String,
        people: u32,
        /// Always true: shown and sent as advisory everywhere.
        advisory: bool,
        #[serde(with = "seconds")]
        t: T,
        /// The picture kept for it (JPEG, boxes drawn, people blurred on a private
        /// camera): a file name served at `/api/v1/safety/snapshots/{file}`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        snapshot: Option<String>,
    },
    /// Damage in a camera's input that was skipped, or the error that ended it.
    MediaIssue { camera: String, at: String, what: String },
    /// A live camera's health changed; `detail` says why (never with credentials).
    Health {
        camera: String,
        health: CameraHealth,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
        #[serde(with = "seconds")]
        t: T,
    },
}

sheetsight_base::named_enum! {
    /// What a live camera is doing. Every machine on a camera that is not `Streaming` is
    /// `NotAvailable`.
    pub enum CameraHealth("camera health") {
        /// Opening the stream (or waiting to try again after a refusal).
        Connecting = "connecting",
        /// Frames arrive at the expected rate.
        Streaming = "streaming",
        /// Connected, but no frame for several expected frame intervals.
        Stalled = "stalled",
        /// The last attempt failed (refused, unreachable, garbage); retried with backoff.
        Failed = "failed",
    }
}

impl<T: StreamTime> Event<T> {
    /// When it happened (a stroke: its end); a media issue has no time.
    pub fn t(&self) -> Option<T> {
        match self {
            Self::Lamp { t, .. }
            | Self::State { t, .. }
            | Self::Motion { t, .. }
            | Self::Health { t, .. }
            | Self::Presence { t, .. }
            | Self::Safety { t, .. } => Some(*t),
            Self::Stroke { end_t, .. } | Self::Cycle { end_t, .. } => Some(*end_t),
            Self::MediaIssue { .. } => None,
        }
    }

    /// The same event timed on another clock.
    pub fn map_time<U>(self, f: impl Fn(T) -> U) -> Event<U> {
        match self {
            Self::Lamp { machine, lamp, color, mode, t } => Event::Lamp { machine, lamp, color, mode, t: f(t) },
            Self::State { machine, state, t } => Event::State { machine, state, t: f(t) },
            Self::Stroke { machine, start_t, end_t, person_in_region } => {
                Event::Stroke { machine, start_t: f(start_t), end_t: f(end_t), person_in_region }
            }
            Self::Presence { zone, operator_of, people, t } => Event::Presence { zone, operator_of, people, t: f(t) },
            Self::Safety { zone, machine, people, advisory, t, snapshot } => {
                Event::Safety { zone, machine, people, advisory, t: f(t), snapshot }
            }
            Self::Cycle { machine, start_t, end_t, strokes } => {
                Event::Cycle { machine, start_t: f(start_t), end_t: f(end_t), strokes }
            }
            Self::Motion { machine, active, t } => Event::Motion { machine, active, t: f(t) },
            Self::MediaIssue { camera, at, what } => Event::MediaIssue { camera, at, what },
            Self::Health { camera, health, detail, t } => Event::Health { camera, health, detail, t: f(t) },
        }
    }

    /// The machine it is about, if any.
    pub fn machine(&self) -> Option<&str> {
        match self {
            Self::Lamp { machine, .. }
            | Self::State { machine, .. }
            | Self::Stroke { machine, .. }
            | Self::Cycle { machine, .. }
            | Self::Motion { machine, .. }
            | Self::Safety { machine, .. } => Some(machine),
            Self::MediaIssue { .. } | Self::Health { .. } | Self::Presence { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_clocks_are_seconds_in_json_and_read_back_as_written() {
        let live =
            LiveEvent::State { machine: "m".into(), state: MachineState::Executing, t: UnixMillis(1_764_839_700_123) };
        let text = serde_json::to_string(&live).expect("json");
        assert_eq!(text, r#"{"type":"state","machine":"m","state":"Executing","t":1764839700.123}"#);
        assert_eq!(serde_json::from_str::<LiveEvent>(&text).expect("reads"), live);
        let video = VideoEvent::Stroke {
            machine: "m".into(),
            start_t: VideoSeconds(1.0004),
            end_t: VideoSeconds(2.5),
            person_in_region: false,
        };
        let text = serde_json::to_string(&video).expect("json");
        assert_eq!(text, r#"{"type":"stroke","machine":"m","start_t":1.0,"end_t":2.5}"#);
        let flagged = VideoEvent::Stroke {
            machine: "m".into(),
            start_t: VideoSeconds(1.0),
            end_t: VideoSeconds(2.5),
            person_in_region: true,
        };
        let text = serde_json::to_string(&flagged).expect("json");
        assert_eq!(text, r#"{"type":"stroke","machine":"m","start_t":1.0,"end_t":2.5,"person_in_region":true}"#);
        assert_eq!(serde_json::from_str::<VideoEvent>(&text).expect("reads"), flagged);
        let presence = LiveEvent::Presence {
            zone: "brake-1-operator".into(),
            operator_of: None,
            people: 1,
            t: UnixMillis(1_764_839_700_000),
        };
        assert_eq!(
            serde_json::to_string(&presence).expect("json"),
            r#"{"type":"presence","zone":"brake-1-operator","people":1,"t":1764839700.0}"#
        );
        let operator = LiveEvent::Presence {
            zone: "brake-1-operator".into(),
            operator_of: Some("brake-1".into()),
            people: 1,
            t: UnixMillis(1_764_839_700_000),
        };
        let text = serde_json::to_string(&operator).expect("json");
        assert_eq!(
            text,
            r#"{"type":"presence","zone":"brake-1-operator","operator_of":"brake-1","people":1,"t":1764839700.0}"#
        );
        assert_eq!(serde_json::from_str::<LiveEvent>(&text).expect("reads"), operator);
        assert_eq!(video.t(), Some(VideoSeconds(2.5)));
        let issue = VideoEvent::MediaIssue { camera: "c".into(), at: "0".into(), what: "x".into() };
        assert_eq!(issue.t(), None, "a media issue has no time");
    }
}
