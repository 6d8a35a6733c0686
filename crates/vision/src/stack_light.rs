//! A whole stack light: its lamps (top to bottom), the glow between them and the
//! occlusion guard around them.
//!
//! Per frame: the tower's shake is measured ([`crate::shake::ShakeTracker`]) and each
//! lamp region is read where the tower now is; its look is taken to the camera's
//! reference exposure
//! ([`at_reference_exposure`]), scored, and its neighbours' learnt glow taken out
//! ([`crate::glow::GlowModel`]); the guard says which lamps something stands in front
//! of; each lamp's reader then decides on/off and its mode.

use crate::frame::YuvFrame;
use crate::glow::{GlowModel, GlowTuning};
use crate::lamp::{LampColor, LampMode, LampReader, LampSample, LampTuning};
use crate::occlusion::{GlobalLook, GuardTuning, OcclusionGuard};
use crate::roi::{PolygonRoi, RegionMeans};
use crate::shake::ShakeTracker;

/// A region's look as the camera would show it at its reference exposure and white
/// balance: luma above black divided by the exposure gain, chroma with the balance's
/// shift taken out, then divided by the gain. An unlit lens (it reflects the room) then
/// keeps its look whatever the camera does; a lit lens (it shines) also through room
/// light switches. The sensor's range is the reference's too: a lit lens that clips
/// was brighter than it shows, so a rising exposure does not make it darker (between
/// [`KNEE_LUMA`] and white its luma is kept as seen), and a falling one that brings it
/// out of clipping does not make it brighter than white.
pub fn at_reference_exposure(means: RegionMeans, global: GlobalLook) -> RegionMeans {
    let gain = global.exposure_gain.max(0.05);
    let mut luma = 16.0 + (means.luma - 16.0) / gain;
    if gain > 1.0 {
        let clipped = ((means.luma - KNEE_LUMA) / (235.0 - KNEE_LUMA)).clamp(0.0, 1.0);
        luma += clipped * (means.luma - luma);
    } else {
        luma = luma.min(means.luma.max(235.0));
    }
    RegionMeans { luma, u: (means.u - global.chroma_shift.0) / gain, v: (means.v - global.chroma_shift.1) / gain }
}

/// Region luma from which a lens counts as (partly) clipped.
pub const KNEE_LUMA: f32 = 200.0;

/// One lamp of a stack light as configured.
#[derive(Clone, Debug)]
pub struct LampSpec {
    pub color: LampColor,
    pub roi: PolygonRoi,
}

/// A lamp's mode changed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LampChange {
    pub lamp: usize,
    pub color: LampColor,
    pub mode: LampMode,
    pub t_s: f64,
}

/// Reads every lamp of one stack light.
#[derive(Clone, Debug)]
pub struct StackLightReader {
    lamps: Vec<LampSpec>,
    readers: Vec<LampReader>,
    guard: OcclusionGuard,
    glow: GlowModel,
    shake: Option<ShakeTracker>,
    /// Per lamp, reused every frame.
    scores: Vec<f32>,
    chroma: Vec<(f32, f32)>,
    was_dark: Vec<bool>,
    levels: Vec<(Option<f32>, Option<f32>)>,
    corrected: Vec<f32>,
    looks_lit: Vec<bool>,
    /// The guard blocked some lamp in the last frame.
    any_blocked: bool,
}

impl StackLightReader {
    pub fn new(lamps: Vec<LampSpec>, width_px: u32, height_px: u32, tuning: LampTuning) -> Self {
        let boxes: Vec<_> = lamps.iter().map(|l| l.roi.bbox()).collect();
        let guard = OcclusionGuard::new(&boxes, width_px, height_px, GuardTuning::default());
        let shake = ShakeTracker::new(&boxes, width_px, height_px);
        let readers = lamps.iter().map(|l| LampReader::new(l.color, tuning)).collect();
        let colors: Vec<(f32, f32)> = lamps.iter().map(|l| l.color.chroma_direction()).collect();
        let n = lamps.len();
        Self {
            lamps,
            readers,
            guard,
            glow: GlowModel::new(&colors, GlowTuning::default()),
            shake,
            scores: vec![0.0; n],
            chroma: vec![(0.0, 0.0); n],
            was_dark: vec![false; n],
            levels: vec![(None, None); n],
            corrected: vec![0.0; n],
            looks_lit: vec![false; n],
            any_blocked: false,
        }
    }

    pub fn lamps(&self) -> &[LampSpec] {
        &self.lamps
    }

    pub fn guard(&self) -> &OcclusionGuard {
        &self.guard
    }

    /// Each lamp's score in the last frame, and the same with the glow taken out; for
    /// diagnosis.
    pub fn last_scores(&self) -> (&[f32], &[f32]) {
        (&self.scores, &self.corrected)
    }

    /// Current modes, `None` while a lamp is still undecided.
    pub fn modes(&self) -> Vec<Option<LampMode>> {
        self.readers.iter().map(LampReader::mode).collect()
    }

    /// Current on/off of each lamp (last clear frame).
    pub fn lit(&self) -> Vec<Option<bool>> {
        self.readers.iter().map(LampReader::is_on).collect()
    }

    /// Processes one frame; `global` from [`crate::exposure::ExposureTracker::measure`]
    /// (or [`crate::occlusion::global_look`] for a camera of fixed exposure).
    pub fn process(&mut self, t_s: f64, frame: &YuvFrame, global: GlobalLook) -> Vec<LampChange> {
        let (dx, dy) = self.shake.as_mut().map_or((0, 0), |s| s.measure(frame));
        for (i, (spec, reader)) in self.lamps.iter().zip(&self.readers).enumerate() {
            let means = at_reference_exposure(spec.roi.means_shifted(frame, dx, dy), global);
            self.scores[i] = reader.score(means);
            self.chroma[i] = (means.u, means.v);
            // While something stands in front of the tower, its moves are no glow.
            self.was_dark[i] = reader.is_on() == Some(false) && !self.any_blocked;
            self.levels[i] = reader.levels();
        }
        self.glow.correct(&self.scores, &self.chroma, &self.was_dark, &self.levels, &mut self.corrected);
        for (i, reader) in self.readers.iter().enumerate() {
            // The guard expects each lamp's glow as this frame shows it.
            self.looks_lit[i] = reader.peek_on(self.corrected[i]);
        }
        let blocked = self.guard.check(t_s, frame, global, &self.looks_lit);
        self.any_blocked = blocked.iter().any(|&b| b);
        let mut changes = Vec::new();
        for i in 0..self.readers.len() {
            let brightest_other = (0..self.levels.len())
                .filter(|&j| j != i)
                .filter_map(|j| self.levels[j].1)
                .fold(None, |m: Option<f32>, l| Some(m.map_or(l, |m| m.max(l))));
            self.readers[i].set_tower_lit(brightest_other);
        }
        for (i, (spec, reader)) in self.lamps.iter().zip(&mut self.readers).enumerate() {
            let sample = LampSample { t_s, score: self.corrected[i], blocked: blocked[i] };
            if let Some(mode) = reader.push(sample) {
                changes.push(LampChange { lamp: i, color: spec.color, mode, t_s });
            }
        }
        changes
    }
}
