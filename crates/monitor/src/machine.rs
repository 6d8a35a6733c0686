//! One machine's analyzers: its stack light, its motion region and its state rules.

use sheetsight_config::MachineConfig;
use sheetsight_vision::event::Event;
use sheetsight_vision::frame::YuvFrame;
use sheetsight_vision::lamp::{LampMode, LampTuning};
use sheetsight_vision::motion::{MotionAnalyzer, MotionTuning};
use sheetsight_vision::occlusion::GlobalLook;
use sheetsight_vision::roi::{PolygonRoi, RoiError};
use sheetsight_vision::stack_light::{LampSpec, StackLightReader};
use sheetsight_vision::state::{MachineState, StateRules};

/// A region of a machine does not fit the camera's frame.
#[derive(Debug, thiserror::Error)]
#[error("machine `{machine}`, {region}: {source}")]
pub struct RegionError {
    pub machine: String,
    pub region: String,
    pub source: RoiError,
}

/// Current readings of a machine, for live views.
#[derive(Clone, Debug, PartialEq)]
pub struct MachineStatus {
    pub id: String,
    pub lamps: Vec<(sheetsight_vision::lamp::LampColor, Option<LampMode>)>,
    pub state: Option<MachineState>,
    pub state_since_s: f64,
    pub strokes: u64,
    pub motion_active: bool,
}

/// All analyzers of one machine.
pub struct MachineMonitor {
    id: String,
    stack_light: Option<StackLightReader>,
    motion: Option<MotionAnalyzer>,
    rules: StateRules,
    state: Option<MachineState>,
    state_since_s: f64,
    strokes: u64,
}

impl MachineMonitor {
    pub fn new(config: &MachineConfig, width_px: u32, height_px: u32) -> Result<Self, RegionError> {
        let region_error = |region: String| {
            let machine = config.id.clone();
            move |source| RegionError { machine, region, source }
        };
        let mut lamps = Vec::new();
        for (i, lamp) in config.lamps.iter().enumerate() {
            let roi = PolygonRoi::new(&lamp.roi_px, width_px, height_px).map_err(region_error(format!("lamp {i}")))?;
            lamps.push(LampSpec { color: lamp.color, roi });
        }
        let stack_light =
            (!lamps.is_empty()).then(|| StackLightReader::new(lamps, width_px, height_px, LampTuning::default()));
        let motion = match &config.motion {
            Some(m) => {
                let roi = PolygonRoi::new(&m.roi_px, width_px, height_px).map_err(region_error("motion".into()))?;
                Some(MotionAnalyzer::new(&roi, width_px, MotionTuning::default()))
            }
            None => None,
        };
        Ok(Self {
            id: config.id.clone(),
            stack_light,
            motion,
            rules: config.rules.clone(),
            state: None,
            state_since_s: 0.0,
            strokes: 0,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn stack_light(&self) -> Option<&StackLightReader> {
        self.stack_light.as_ref()
    }

    pub fn status(&self) -> MachineStatus {
        let lamps = match &self.stack_light {
            Some(s) => s.lamps().iter().map(|l| l.color).zip(s.modes()).collect(),
            None => Vec::new(),
        };
        MachineStatus {
            id: self.id.clone(),
            lamps,
            state: self.state,
            state_since_s: self.state_since_s,
            strokes: self.strokes,
            motion_active: self.motion.as_ref().is_some_and(MotionAnalyzer::is_active),
        }
    }

    /// Marks the machine `NotAvailable` (its camera cannot see); returns the event.
    pub fn set_not_available(&mut self, t_s: f64) -> Option<Event> {
        self.set_state(Some(MachineState::NotAvailable), t_s)
    }

    fn set_state(&mut self, state: Option<MachineState>, t_s: f64) -> Option<Event> {
        let state = state?;
        if self.state == Some(state) {
            return None;
        }
        self.state = Some(state);
        self.state_since_s = t_s;
        Some(Event::State { machine: self.id.clone(), state, t: t_s })
    }

    /// Processes one frame; `global` is the frame's overall look.
    pub fn process(&mut self, t_s: f64, frame: &YuvFrame, global: GlobalLook, events: &mut Vec<Event>) {
        if let Some(stack_light) = &mut self.stack_light {
            let changes = stack_light.process(t_s, frame, global);
            if !changes.is_empty() {
                for c in &changes {
                    events.push(Event::Lamp {
                        machine: self.id.clone(),
                        lamp: c.lamp,
                        color: c.color,
                        mode: c.mode,
                        t: t_s,
                    });
                }
                let lamps: Vec<_> = stack_light.lamps().iter().map(|l| l.color).zip(stack_light.modes()).collect();
                let state = self.rules.evaluate(&lamps);
                events.extend(self.set_state(state, t_s));
            }
        }
        if let Some(motion) = &mut self.motion {
            let update = motion.process(t_s, frame);
            if let Some(active) = update.active_changed {
                events.push(Event::Motion { machine: self.id.clone(), active, t: t_s });
            }
            if let Some(stroke) = update.stroke {
                self.strokes += 1;
                events.push(Event::Stroke { machine: self.id.clone(), start_t: stroke.start_s, end_t: stroke.end_s });
            }
        }
    }
}
