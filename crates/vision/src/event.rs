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
}

impl Event {
    /// When it happened (a stroke: its end).
    pub fn t(&self) -> f64 {
        match self {
            Self::Lamp { t, .. } | Self::State { t, .. } | Self::Motion { t, .. } => *t,
            Self::Stroke { end_t, .. } => *end_t,
            Self::MediaIssue { .. } => 0.0,
        }
    }
}
