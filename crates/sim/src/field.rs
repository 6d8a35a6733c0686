//! The field sets: scenes drawn the way a new user's cameras would show a shop, not the
//! way the reader was developed.
//!
//! Every scene draws, from its own seed: 1280x720 or 1920x1080, 10 or 15 fps, sensor
//! noise up to sigma 6 on 8 bits, camera shake up to 3 px, light drift, room lights,
//! people, a tower per machine ([`crate::scene::TowerLook`]: lamps 6-100 px tall, with
//! and without gaps, regions tight and loose, coloured unlit lenses), a glow radius and
//! strength, a camera that re-exposes and re-balances
//! ([`crate::scene::CameraResponse`]), and its encoding: H.264 Baseline, or High with
//! B-frames, at the low bit rate of a camera on a busy network (x264 through `ffmpeg`).
//!
//! Two sets with disjoint seeds: [`SceneSet::Development`], which the reader may be
//! tuned on, and [`SceneSet::Validation`], whose seeds no tuning ever looks at; figures
//! are quoted for each apart.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::scene::{Nuisances, SceneSpec, StrokePattern};

/// Which of the two fixed sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SceneSet {
    Development,
    Validation,
}

impl SceneSet {
    /// The seed of the set's first scene; scene `i` has `first_seed + i`.
    pub fn first_seed(self) -> u64 {
        match self {
            Self::Development => 1_000,
            Self::Validation => 7_700_000,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Development => "dev",
            Self::Validation => "validation",
        }
    }
}

/// How a scene's video is compressed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Encoding {
    /// OpenH264 Constrained Baseline at a fixed quantiser, as cheap IP cameras send (no
    /// external program).
    OpenH264 { qp: u8 },
    /// x264 at an average bit rate with a camera's small buffer: Baseline (`b_frames`
    /// 0) or High with B-frames (needs `ffmpeg`).
    X264 { high: bool, b_frames: u32, bitrate_kbps: u32 },
}

impl std::fmt::Display for Encoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::OpenH264 { qp } => write!(f, "Baseline QP {qp}"),
            Self::X264 { high: false, bitrate_kbps, .. } => write!(f, "Baseline {bitrate_kbps} kbit/s"),
            Self::X264 { high: true, b_frames, bitrate_kbps } => {
                write!(f, "High, {b_frames} B, {bitrate_kbps} kbit/s")
            }
        }
    }
}

/// One scene of a field set.
#[derive(Clone, Debug)]
pub struct FieldScene {
    /// `dev-03`, `validation-17`: also the prefix of its machines' ids.
    pub id: String,
    pub spec: SceneSpec,
    pub encoding: Encoding,
}

/// Scene `index` of `set`, `duration_s` long.
pub fn field_scene(set: SceneSet, index: usize, duration_s: f64) -> FieldScene {
    let seed = set.first_seed() + index as u64;
    let mut rng = SmallRng::seed_from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let (width_px, height_px) = if rng.random_bool(0.5) { (1280, 720) } else { (1920, 1080) };
    let fps = if rng.random_bool(0.5) { 10.0 } else { 15.0 };
    let nuisances = Nuisances {
        drift: rng.random_range(0.05..0.35),
        noise_sigma: rng.random_range(0.5..6.0),
        shake_px: rng.random_range(0..=3),
        ..Nuisances::FIELD
    };
    let id = format!("{}-{index:02}", set.as_str());
    let machines =
        ["brake", "punch", "laser"].iter().map(|name| (format!("{id}-{name}"), rng.random_range(3..=5))).collect();
    let high = rng.random_bool(0.5);
    let per_720p: f64 = rng.random_range(350.0..1000.0);
    let scale = f64::from(width_px * height_px) / (1280.0 * 720.0);
    let encoding = Encoding::X264 {
        high,
        b_frames: if high { rng.random_range(2..=3) } else { 0 },
        bitrate_kbps: (per_720p * scale.sqrt()).round() as u32,
    };
    FieldScene {
        id,
        spec: SceneSpec {
            width_px,
            height_px,
            fps,
            duration_s,
            seed,
            nuisances,
            machines,
            strokes: StrokePattern::Even,
        },
        encoding,
    }
}

/// Scenes `indices` of `set`.
pub fn field_scenes(set: SceneSet, indices: std::ops::Range<usize>, duration_s: f64) -> Vec<FieldScene> {
    indices.map(|i| field_scene(set, i, duration_s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scene::Scene;

    #[test]
    fn the_sets_are_disjoint_and_cover_the_field() {
        let dev = field_scenes(SceneSet::Development, 0..24, 180.0);
        let val = field_scenes(SceneSet::Validation, 0..24, 180.0);
        assert!(dev.iter().all(|d| val.iter().all(|v| v.spec.seed != d.spec.seed)));
        let all: Vec<&FieldScene> = dev.iter().chain(&val).collect();
        for (w, fps) in [(1280, 10.0), (1280, 15.0), (1920, 10.0), (1920, 15.0)] {
            assert!(all.iter().any(|s| s.spec.width_px == w && s.spec.fps == fps), "{w} px at {fps} fps");
        }
        assert!(val.iter().any(|s| matches!(s.encoding, Encoding::X264 { high: false, .. })));
        assert!(val.iter().any(|s| matches!(s.encoding, Encoding::X264 { high: true, b_frames: 2.., .. })));
        assert!(val.iter().any(|s| s.spec.nuisances.noise_sigma > 5.0));
        let scenes: Vec<Scene> = val.iter().map(|s| Scene::generate(&s.spec)).collect();
        let radii: Vec<f64> = scenes.iter().flat_map(|s| s.machines.iter().map(|m| m.lamp_radius_px)).collect();
        assert!(radii.iter().any(|&r| r <= 4.0) && radii.iter().any(|&r| r >= 30.0), "lamp radii {radii:?}");
        let gaps: Vec<f64> = scenes.iter().flat_map(|s| s.machines.iter().map(|m| m.look.gap_px)).collect();
        assert!(gaps.contains(&0.0) && gaps.iter().any(|&g| g > 0.0));
        assert!(scenes.iter().all(|s| !s.camera.jumps.is_empty()), "every scene has exposure jumps");
    }
}
