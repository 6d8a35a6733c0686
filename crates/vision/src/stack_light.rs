//! A whole stack light: its lamps (top to bottom) and the occlusion guard around them.

use crate::frame::YuvFrame;
use crate::lamp::{LampColor, LampMode, LampReader, LampSample, LampTuning};
use crate::occlusion::{GlobalLook, GuardTuning, OcclusionGuard};
use crate::roi::{PolygonRoi, RegionMeans};

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
    /// Per lamp, reused every frame.
    means: Vec<RegionMeans>,
    looks_lit: Vec<bool>,
}

impl StackLightReader {
    pub fn new(lamps: Vec<LampSpec>, width_px: u32, height_px: u32, tuning: LampTuning) -> Self {
        let boxes: Vec<_> = lamps.iter().map(|l| l.roi.bbox()).collect();
        let guard = OcclusionGuard::new(&boxes, width_px, height_px, GuardTuning::default());
        let readers = lamps.iter().map(|l| LampReader::new(l.color, tuning)).collect();
        let n = lamps.len();
        Self { lamps, readers, guard, means: vec![RegionMeans::default(); n], looks_lit: vec![false; n] }
    }

    pub fn lamps(&self) -> &[LampSpec] {
        &self.lamps
    }

    pub fn guard(&self) -> &OcclusionGuard {
        &self.guard
    }

    /// Current modes, `None` while a lamp is still undecided.
    pub fn modes(&self) -> Vec<Option<LampMode>> {
        self.readers.iter().map(LampReader::mode).collect()
    }

    /// Current on/off of each lamp (last clear frame).
    pub fn lit(&self) -> Vec<Option<bool>> {
        self.readers.iter().map(LampReader::is_on).collect()
    }

    /// Processes one frame; `global` from [`crate::occlusion::global_look`].
    pub fn process(&mut self, t_s: f64, frame: &YuvFrame, global: GlobalLook) -> Vec<LampChange> {
        for (i, (spec, reader)) in self.lamps.iter().zip(&self.readers).enumerate() {
            self.means[i] = spec.roi.means(frame);
            // The guard expects each lamp's glow as this frame shows it.
            self.looks_lit[i] = reader.peek_on(self.means[i]);
        }
        let blocked = self.guard.check(t_s, frame, global, &self.looks_lit);
        let mut changes = Vec::new();
        for (i, (spec, reader)) in self.lamps.iter().zip(&mut self.readers).enumerate() {
            let sample = LampSample { t_s, means: self.means[i], blocked: blocked[i] };
            if let Some(mode) = reader.push(sample) {
                changes.push(LampChange { lamp: i, color: spec.color, mode, t_s });
            }
        }
        changes
    }
}
