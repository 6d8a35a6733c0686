//! `[[machine]]`: a machine on a camera, its stack light's lamps, its stroke region and
//! the rules that turn lamps into a machine state (see [`crate::state_rules`]).
//!
//! ```toml
//! [[machine]]
//! id = "brake-1"
//! camera = "cam1"                  # the id of a [[camera]]
//! kind = "press_brake"             # optional: press_brake | punch | laser | welding | other
//! ideal_strokes_per_hour = 900     # optional, for OEE's performance
//!
//! [[machine.lamp]]                 # top to bottom
//! color = "red"
//! roi = [[10, 10], [30, 10], [30, 30], [10, 30]]
//!
//! [machine.motion]                 # optional stroke counting
//! roi = [[100, 200], [300, 200], [300, 320], [100, 320]]
//! ignore_when_person = false       # true: strokes seen while a person stands in the
//!                                  # region are not counted (they are always flagged)
//!
//! [machine.cycle]                  # optional, see [`crate::cycle`]
//! from = "strokes"
//! ```
//!
//! A machine watches at least one lamp or a motion region. Regions are checked against
//! the frame size only when it is known ([`crate::Config::check_frame_sizes`]).

use std::ops::Range;

use serde::Deserialize;
use sheetsight_vision::cycle::CycleRules;
use sheetsight_vision::lamp::LampColor;
use sheetsight_vision::roi::PointPx;
use sheetsight_vision::state::StateRules;
use toml::Spanned;

use crate::cycle::{RawCycle, check_cycle};
use crate::diagnostics::{Bounds, Checker};
use crate::state_rules::{RawRule, check_rules};

const IDEAL_STROKES_PER_HOUR: Bounds<f64> = Bounds::new(0.0, 1.0, 100_000.0);

sheetsight_base::named_enum! {
    /// What kind of machine it is: the set-up pages choose its default cycle settings
    /// from it, and the dashboard shows it.
    pub enum MachineKind("machine kind") {
        PressBrake = "press_brake",
        Punch = "punch",
        Laser = "laser",
        Welding = "welding",
        Other = "other",
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct LampConfig {
    pub color: LampColor,
    pub roi_px: Vec<PointPx>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MotionConfig {
    pub roi_px: Vec<PointPx>,
    /// Strokes counted while a person stands in the region are flagged; with this they
    /// are also left out of the counts (motion-based counting's known weakness).
    pub ignore_when_person: bool,
}

impl MotionConfig {
    pub fn new(roi_px: Vec<PointPx>) -> Self {
        Self { roi_px, ignore_when_person: false }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct MachineConfig {
    pub id: String,
    pub camera: String,
    pub kind: Option<MachineKind>,
    pub lamps: Vec<LampConfig>,
    pub motion: Option<MotionConfig>,
    pub rules: StateRules,
    /// The stroke rate of this machine at full speed, for OEE's performance.
    pub ideal_strokes_per_hour: Option<f64>,
    /// How its cycles of work are found.
    pub cycle: CycleRules,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMachine {
    pub id: Spanned<String>,
    pub camera: Spanned<String>,
    kind: Option<Spanned<String>>,
    #[serde(default)]
    lamp: Vec<Spanned<RawLamp>>,
    motion: Option<Spanned<RawMotion>>,
    #[serde(default)]
    pub rule: Vec<Spanned<RawRule>>,
    pub otherwise: Option<Spanned<String>>,
    ideal_strokes_per_hour: Option<Spanned<f64>>,
    cycle: Option<RawCycle>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLamp {
    color: Spanned<String>,
    roi: Spanned<Vec<[f64; 2]>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMotion {
    roi: Spanned<Vec<[f64; 2]>>,
    ignore_when_person: Option<Spanned<bool>>,
}

/// A region as written (a machine's or a zone's), to check against its camera's frame
/// size once that is known.
#[derive(Clone, Debug)]
pub(crate) struct RoiSpan {
    /// The camera whose frame the region is drawn on.
    pub camera: String,
    pub key: String,
    pub span: Range<usize>,
    pub points: Vec<PointPx>,
}

/// The checked machines, and their regions as written.
pub(crate) struct Machines {
    pub machines: Vec<MachineConfig>,
    pub roi_spans: Vec<RoiSpan>,
}

pub(crate) fn check_machines(c: &Checker<'_>, raw: &[Option<Spanned<RawMachine>>]) -> Machines {
    let mut out = Machines { machines: Vec::new(), roi_spans: Vec::new() };
    for (i, m) in raw.iter().enumerate() {
        let Some(m) = m else { continue };
        let machine = check_machine(c, &format!("machine[{i}]"), m, &mut out.roi_spans);
        out.machines.push(machine);
    }
    out
}

fn check_machine(c: &Checker<'_>, at: &str, m: &Spanned<RawMachine>, roi_spans: &mut Vec<RoiSpan>) -> MachineConfig {
    let machine_span = m.span();
    let m = m.get_ref();
    let key = |k: &str| format!("{at}.{k}");
    c.id(&m.id, &key("id"));
    if m.lamp.is_empty() && m.motion.is_none() {
        let message = "the machine has neither a [[machine.lamp]] nor a [machine.motion] to watch";
        c.report(machine_span, key("lamp"), message);
    }
    let mut region = |roi: &Spanned<Vec<[f64; 2]>>, key: String| {
        let points = c.polygon(roi, &key)?;
        roi_spans.push(RoiSpan { camera: m.camera.get_ref().clone(), key, span: roi.span(), points: points.clone() });
        Some(points)
    };
    let mut lamps = Vec::new();
    let mut colors = Vec::new();
    for (k, lamp) in m.lamp.iter().enumerate() {
        let lamp = lamp.get_ref();
        let color = c.choice(&lamp.color, &key(&format!("lamp[{k}].color")), "lamp colour", &LampColor::NAMES);
        let roi_px = region(&lamp.roi, key(&format!("lamp[{k}].roi")));
        colors.push(color);
        if let (Some(color), Some(roi_px)) = (color, roi_px) {
            lamps.push(LampConfig { color, roi_px });
        }
    }
    let motion = m.motion.as_ref().and_then(|motion| {
        let motion = motion.get_ref();
        let roi_px = region(&motion.roi, key("motion.roi"))?;
        Some(MotionConfig {
            roi_px,
            ignore_when_person: motion.ignore_when_person.as_ref().is_some_and(|v| *v.get_ref()),
        })
    });
    let rules = check_rules(c, at, m, &colors);
    let cycle = check_cycle(c, at, m.cycle.as_ref(), m.motion.is_some(), !m.lamp.is_empty());
    MachineConfig {
        id: m.id.get_ref().clone(),
        camera: m.camera.get_ref().clone(),
        kind: m.kind.as_ref().and_then(|k| c.choice(k, &key("kind"), "machine kind", &MachineKind::NAMES)),
        rules,
        lamps,
        motion,
        cycle,
        ideal_strokes_per_hour: m
            .ideal_strokes_per_hour
            .as_ref()
            .map(|v| c.bounded(Some(v), IDEAL_STROKES_PER_HOUR, &key("ideal_strokes_per_hour"))),
    }
}
