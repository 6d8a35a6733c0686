//! Machine configurations for simulated cameras (the demo and the benchmarks).

use sheetsight_config::{LampConfig, MachineConfig, MotionConfig};
use sheetsight_sim::Scene;
use sheetsight_vision::state::StateRules;

/// The configuration a user would draw for every machine of a synthetic scene.
pub fn machine_configs(camera: &str, scene: &Scene) -> Vec<MachineConfig> {
    scene
        .machines
        .iter()
        .map(|m| MachineConfig {
            id: m.id.clone(),
            camera: camera.to_string(),
            kind: Some(sheetsight_config::MachineKind::PressBrake),
            lamps: m.colors.iter().enumerate().map(|(k, &color)| LampConfig { color, roi_px: m.lamp_roi(k) }).collect(),
            motion: Some(MotionConfig::new(m.motion_roi())),
            rules: StateRules::default(),
            ideal_strokes_per_hour: None,
            cycle: Default::default(),
        })
        .collect()
}
