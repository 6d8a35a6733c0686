//! The machine-readable events of monitoring, one JSON object per line (JSON Lines).
//!
//! The same format serves `analyze`'s output and the simulator's ground truth, so that
//! one reader scores one against the other. Times `t` are seconds from the start of the
//! video, rounded to milliseconds.

use serde::{Deserialize, Serialize, Serializer};

use crate::lamp::{LampColor, LampMode};
use crate::state::MachineState;

fn ms<S: Serializer>(t: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((t * 1000.0).round() / 1000.0)
}

/// One monitoring event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A lamp's mode changed (the first event of a lamp gives its initial mode).
    Lamp {
        machine: String,
        lamp: usize,
        color: LampColor,
        mode: LampMode,
        #[serde(serialize_with = "ms")]
        t: f64,
    },
    /// The machine's state changed.
    State {
        machine: String,
        state: MachineState,
        #[serde(serialize_with = "ms")]
        t: f64,
    },
    /// One stroke of the ram, down and up.
    Stroke {
        machine: String,
        #[serde(serialize_with = "ms")]
        start_t: f64,
        #[serde(serialize_with = "ms")]
        end_t: f64,
    },
    /// The motion region became active or quiet.
    Motion {
        machine: String,
        active: bool,
        #[serde(serialize_with = "ms")]
        t: f64,
    },
    /// Damage in a camera's input that was skipped, or the error that ended it.
    MediaIssue { camera: String, at: String, what: String },
    /// A live camera's health changed; `detail` says why (never with credentials).
    Health {
        camera: String,
        health: CameraHealth,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
        #[serde(serialize_with = "ms")]
        t: f64,
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

impl Event {
    /// When it happened (a stroke: its end).
    pub fn t(&self) -> f64 {
        match self {
            Self::Lamp { t, .. } | Self::State { t, .. } | Self::Motion { t, .. } | Self::Health { t, .. } => *t,
            Self::Stroke { end_t, .. } => *end_t,
            Self::MediaIssue { .. } => 0.0,
        }
    }

    /// The machine it is about, if any.
    pub fn machine(&self) -> Option<&str> {
        match self {
            Self::Lamp { machine, .. }
            | Self::State { machine, .. }
            | Self::Stroke { machine, .. }
            | Self::Motion { machine, .. } => Some(machine),
            Self::MediaIssue { .. } | Self::Health { .. } => None,
        }
    }
}
