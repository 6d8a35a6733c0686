//! The inspection report (`report.json`): the verdict, the pose, every feature of the
//! drawing as measured, and what the part has that the drawing has not. Coordinates
//! are millimetres in the DXF's own frame, rounded to 0.1 µm.

use serde::{Deserialize, Serialize};

pub use crate::pose::Pose;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    Missing,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct HoleSize {
    pub x_mm: f64,
    pub y_mm: f64,
    pub d_mm: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub x_mm: f64,
    pub y_mm: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum FeatureReport {
    Hole {
        id: String,
        nominal: HoleSize,
        measured: Option<HoleSize>,
        position_error_mm: Option<f64>,
        /// Measured minus nominal diameter.
        diameter_error_mm: Option<f64>,
        verdict: Verdict,
    },
    Cutout {
        id: String,
        nominal: Position,
        measured: Option<Position>,
        max_deviation_mm: Option<f64>,
        verdict: Verdict,
    },
    Outline {
        id: String,
        max_deviation_mm: f64,
        rms_deviation_mm: f64,
        verdict: Verdict,
    },
}

impl FeatureReport {
    pub fn id(&self) -> &str {
        match self {
            FeatureReport::Hole { id, .. } | FeatureReport::Cutout { id, .. } | FeatureReport::Outline { id, .. } => id,
        }
    }

    pub fn verdict(&self) -> Verdict {
        match self {
            FeatureReport::Hole { verdict, .. }
            | FeatureReport::Cutout { verdict, .. }
            | FeatureReport::Outline { verdict, .. } => *verdict,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Extra {
    pub kind: String,
    pub x_mm: f64,
    pub y_mm: f64,
    pub d_mm: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub verdict: Verdict,
    pub pose: Pose,
    pub features: Vec<FeatureReport>,
    pub extra: Vec<Extra>,
    /// Where the backlight was clipped at white: how much of the table, and what
    /// placing the edges through it cost (absent when nothing was clipped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clipping: Option<crate::clipping::Clipping>,
}

/// Rounds to 0.1 µm (or 0.0001°).
pub fn round(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}
