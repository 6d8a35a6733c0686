//! `[[zone]]`: floor areas where people are counted, and `[people]`: the person detector.
//!
//! ```toml
//! [people]                    # optional; the detector runs only on cameras with zones
//! model = "other.onnx"        # default: the built-in NanoDet-g (same output contract)
//! input_px = 416              # the model's square input: 128-1024, a multiple of 32
//! min_score = 0.5             # lowest person score kept
//! debounce_s = 2              # a zone's count must hold this long before it changes
//! safety_interval_s = 60      # at most one advisory safety event per zone per interval
//! workers = 1                 # threads given to people detection (never the analysis's)
//!
//! [[zone]]
//! id = "brake-1-operator"
//! camera = "cam1"
//! roi = [[300, 200], [700, 200], [700, 700], [300, 700]]   # floor area, camera pixels
//! machine = "brake-1"         # optional: where this machine's operator stands
//! kind = "work"               # work (default) | danger
//! ```
//!
//! A zone's polygon is checked like a machine's regions: against its camera's frame size
//! once that is known ([`crate::Config::check_frame_sizes`]). A `danger` zone needs a
//! machine (its events fire while that machine executes). Cameras set `people_fps` and
//! `privacy` themselves (see [`crate::camera`]).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use sheetsight_vision::roi::PointPx;
use toml::Spanned;

use crate::diagnostics::{Bounds, Checker};
use crate::machine::RoiSpan;

const INPUT_PX: Bounds<i64> = Bounds::new(416, 128, 1024);
const MIN_SCORE: Bounds<f64> = Bounds::new(0.5, 0.05, 0.99);
const DEBOUNCE_S: Bounds<f64> = Bounds::new(2.0, 0.0, 600.0);
const SAFETY_INTERVAL_S: Bounds<f64> = Bounds::new(60.0, 1.0, 86_400.0);
const WORKERS: Bounds<i64> = Bounds::new(1, 1, 16);

/// What a zone is for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ZoneKind {
    /// Where people work: presence and dwell are counted, an operator zone makes its
    /// machine attended.
    #[default]
    Work,
    /// Where nobody should be while the machine executes: advisory safety events.
    Danger,
}

impl ZoneKind {
    pub const NAMES: [&'static str; 2] = ["work", "danger"];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Work => "work",
            Self::Danger => "danger",
        }
    }
}

impl std::str::FromStr for ZoneKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "work" => Ok(Self::Work),
            "danger" => Ok(Self::Danger),
            _ => Err(()),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ZoneConfig {
    pub id: String,
    pub camera: String,
    /// The floor area in camera pixels; a person is in it when their feet are.
    pub roi_px: Vec<PointPx>,
    pub machine: Option<String>,
    pub kind: ZoneKind,
}

impl ZoneConfig {
    /// The machine whose operator stands here: a `work` zone's machine.
    pub fn operator_of(&self) -> Option<&str> {
        self.machine.as_deref().filter(|_| self.kind == ZoneKind::Work)
    }
}

/// `[people]`: the person detector's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct PeopleConfig {
    /// Another model of the same contract; `None`: the built-in one.
    pub model: Option<PathBuf>,
    pub input_px: u32,
    pub min_score: f64,
    pub debounce_s: f64,
    pub safety_interval_s: f64,
    pub workers: usize,
}

impl Default for PeopleConfig {
    fn default() -> Self {
        Self {
            model: None,
            input_px: INPUT_PX.default as u32,
            min_score: MIN_SCORE.default,
            debounce_s: DEBOUNCE_S.default,
            safety_interval_s: SAFETY_INTERVAL_S.default,
            workers: WORKERS.default as usize,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawZone {
    id: Spanned<String>,
    pub camera: Spanned<String>,
    roi: Spanned<Vec<[f64; 2]>>,
    pub machine: Option<Spanned<String>>,
    kind: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPeople {
    model: Option<Spanned<String>>,
    input_px: Option<Spanned<i64>>,
    min_score: Option<Spanned<f64>>,
    debounce_s: Option<Spanned<f64>>,
    safety_interval_s: Option<Spanned<f64>>,
    workers: Option<Spanned<i64>>,
}

pub(crate) fn check_zones(
    c: &Checker<'_>,
    raw: &[Option<Spanned<RawZone>>],
    roi_spans: &mut Vec<RoiSpan>,
) -> Vec<ZoneConfig> {
    let mut zones = Vec::new();
    for (i, z) in raw.iter().enumerate() {
        let Some(z) = z else { continue };
        let (span, z) = (z.span(), z.get_ref());
        let key = |k: &str| format!("zone[{i}].{k}");
        c.id(&z.id, &key("id"));
        let kind = match &z.kind {
            None => Some(ZoneKind::Work),
            Some(k) => c.choice(k, &key("kind"), "zone kind", &ZoneKind::NAMES),
        };
        if kind == Some(ZoneKind::Danger) && z.machine.is_none() {
            c.report(span, key("machine"), "a danger zone needs the `machine` whose motion makes it dangerous");
        }
        let camera = z.camera.get_ref().clone();
        let Some(points) = c.polygon(&z.roi, &key("roi")) else { continue };
        roi_spans.push(RoiSpan { camera: camera.clone(), key: key("roi"), span: z.roi.span(), points: points.clone() });
        if let Some(kind) = kind {
            zones.push(ZoneConfig {
                id: z.id.get_ref().clone(),
                camera,
                roi_px: points,
                machine: z.machine.as_ref().map(|m| m.get_ref().clone()),
                kind,
            });
        }
    }
    zones
}

pub(crate) fn check_people(c: &Checker<'_>, raw: Option<&RawPeople>) -> PeopleConfig {
    let Some(raw) = raw else { return PeopleConfig::default() };
    let base = c.file().parent().map(Path::to_path_buf).unwrap_or_default();
    let input_px = c.bounded(raw.input_px.as_ref(), INPUT_PX, "people.input_px");
    if let Some(v) = &raw.input_px
        && input_px % 32 != 0
    {
        c.report(v.span(), "people.input_px", format!("the model's input must be a multiple of 32 px, not {input_px}"));
    }
    let model = raw.model.as_ref().map(|m| {
        if m.get_ref().trim().is_empty() {
            c.report(m.span(), "people.model", "the model path is empty (leave `model` out for the built-in one)");
        }
        base.join(m.get_ref().trim())
    });
    PeopleConfig {
        model,
        input_px: input_px as u32,
        min_score: c.bounded(raw.min_score.as_ref(), MIN_SCORE, "people.min_score"),
        debounce_s: c.bounded(raw.debounce_s.as_ref(), DEBOUNCE_S, "people.debounce_s"),
        safety_interval_s: c.bounded(raw.safety_interval_s.as_ref(), SAFETY_INTERVAL_S, "people.safety_interval_s"),
        workers: c.bounded(raw.workers.as_ref(), WORKERS, "people.workers") as usize,
    }
}
