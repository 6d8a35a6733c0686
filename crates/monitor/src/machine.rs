//! One machine's analyzers: its stack light, its motion region and its state rules.

use sheetsight_base::time::StreamTime;
use sheetsight_config::MachineConfig;
use sheetsight_vision::cycle::{Cycle, CycleTracker};
use sheetsight_vision::event::Event;
use sheetsight_vision::frame::YuvFrame;
use sheetsight_vision::lamp::{LampMode, LampTuning};
use sheetsight_vision::motion::{MotionAnalyzer, MotionTuning};
use sheetsight_vision::occlusion::GlobalLook;
use sheetsight_vision::roi::{BoxPx, PolygonRoi, RoiError};
use sheetsight_vision::stack_light::{LampSpec, StackLightReader};
use sheetsight_vision::state::{MachineState, StateRules};
use sheetsight_vision::zone::PersonPx;

/// A region of a machine or a zone does not fit the camera's frame.
#[derive(Debug, thiserror::Error)]
#[error("{owner}, {region}: {source}")]
pub struct RegionError {
    /// "machine `brake-1`" or "zone `brake-1-operator`".
    pub owner: String,
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
///
/// Events report changes only: a lamp's mode or the state is sent when it differs from
/// what was last sent, also across [`Self::blind`], after which the readers start
/// afresh and re-decide every lamp.
pub struct MachineMonitor {
    id: String,
    stack_light: Option<StackLightReader>,
    motion: Option<MotionAnalyzer>,
    /// The readers as built, restored when the camera goes blind.
    fresh: (Option<StackLightReader>, Option<MotionAnalyzer>),
    /// The last mode sent for each lamp.
    reported_modes: Vec<Option<LampMode>>,
    rules: StateRules,
    state: Option<MachineState>,
    state_since_s: f64,
    strokes: u64,
    cycles: CycleTracker,
    /// The motion region's bounding box, for telling whether a person stands in it.
    motion_bbox: Option<BoxPx>,
    ignore_when_person: bool,
    /// When a person was last seen in the motion region, and how long that sighting
    /// stands for (the time between two looks for people).
    person_in_region: Option<(f64, f64)>,
    /// Strokes seen while a person stood in the motion region (flagged), and of those
    /// the ones left out of the counts (`ignore_when_person`).
    strokes_with_person: u64,
    strokes_ignored: u64,
}

impl MachineMonitor {
    pub fn new(config: &MachineConfig, width_px: u32, height_px: u32) -> Result<Self, RegionError> {
        let region_error = |region: String| {
            let owner = format!("machine `{}`", config.id);
            move |source| RegionError { owner, region, source }
        };
        let mut lamps = Vec::new();
        for (i, lamp) in config.lamps.iter().enumerate() {
            let roi = PolygonRoi::new(&lamp.roi_px, width_px, height_px).map_err(region_error(format!("lamp {i}")))?;
            lamps.push(LampSpec { color: lamp.color, roi });
        }
        let stack_light =
            (!lamps.is_empty()).then(|| StackLightReader::new(lamps, width_px, height_px, LampTuning::default()));
        let motion_roi = match &config.motion {
            Some(m) => Some(PolygonRoi::new(&m.roi_px, width_px, height_px).map_err(region_error("motion".into()))?),
            None => None,
        };
        let motion = motion_roi.as_ref().map(|roi| MotionAnalyzer::new(roi, width_px, MotionTuning::default()));
        Ok(Self {
            id: config.id.clone(),
            fresh: (stack_light.clone(), motion.clone()),
            reported_modes: vec![None; config.lamps.len()],
            stack_light,
            motion,
            rules: config.rules.clone(),
            state: None,
            state_since_s: 0.0,
            strokes: 0,
            cycles: CycleTracker::new(config.cycle),
            motion_bbox: motion_roi.as_ref().map(PolygonRoi::bbox),
            ignore_when_person: config.motion.as_ref().is_some_and(|m| m.ignore_when_person),
            person_in_region: None,
            strokes_with_person: 0,
            strokes_ignored: 0,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The state last reported, if any.
    pub fn state(&self) -> Option<MachineState> {
        self.state
    }

    /// People seen at `t_s` (boxes in frame pixels); the sighting stands for
    /// `window_s` seconds (until the next look). A stroke overlapping it is flagged.
    pub fn people_seen(&mut self, t_s: f64, people: &[PersonPx], window_s: f64) {
        if let Some(bbox) = self.motion_bbox
            && people.iter().any(|p| p.overlaps(bbox))
        {
            self.person_in_region = Some((t_s, window_s));
        }
    }

    /// Strokes seen while a person stood in the motion region, and of those the ones
    /// left out of the counts.
    pub fn strokes_with_person(&self) -> (u64, u64) {
        (self.strokes_with_person, self.strokes_ignored)
    }

    /// Takes over what `old` (the same machine before its regions or rules changed) has
    /// reported: its state and since when, its lamps' modes and its strokes, so that the
    /// new readers send only real changes once they have decided.
    pub fn continue_from(&mut self, old: &MachineMonitor) {
        if old.reported_modes.len() == self.reported_modes.len() {
            self.reported_modes.clone_from(&old.reported_modes);
        }
        self.state = old.state;
        self.state_since_s = old.state_since_s;
        self.strokes = old.strokes;
        if old.cycles.rules() == self.cycles.rules() {
            self.cycles = old.cycles.clone();
        }
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

    /// The camera cannot see: the lamps read `unknown` and a machine with lamps is
    /// `NotAvailable` from `t_s`; the readers start afresh with the next frame.
    pub fn blind<T: StreamTime>(&mut self, t_s: f64, events: &mut Vec<Event<T>>) {
        if let Some(stack_light) = &self.stack_light {
            for (lamp, spec) in stack_light.lamps().iter().enumerate() {
                if self.reported_modes[lamp].is_some_and(|m| m != LampMode::Unknown) {
                    self.reported_modes[lamp] = Some(LampMode::Unknown);
                    events.push(Event::Lamp {
                        machine: self.id.clone(),
                        lamp,
                        color: spec.color,
                        mode: LampMode::Unknown,
                        t: T::from_s(t_s),
                    });
                }
            }
            self.set_state(Some(MachineState::NotAvailable), t_s, events);
        }
        let cycle = self.cycles.blind(t_s);
        self.push_cycle(cycle, events);
        (self.stack_light, self.motion) = self.fresh.clone();
    }

    fn set_state<T: StreamTime>(&mut self, state: Option<MachineState>, t_s: f64, events: &mut Vec<Event<T>>) {
        let Some(state) = state else { return };
        if self.state == Some(state) {
            return;
        }
        self.state = Some(state);
        self.state_since_s = t_s;
        events.push(Event::State { machine: self.id.clone(), state, t: T::from_s(t_s) });
        let cycle = self.cycles.state(state, t_s);
        self.push_cycle(cycle, events);
    }

    fn push_cycle<T: StreamTime>(&self, cycle: Option<Cycle>, events: &mut Vec<Event<T>>) {
        if let Some(c) = cycle {
            events.push(Event::Cycle {
                machine: self.id.clone(),
                start_t: T::from_s(c.start_s),
                end_t: T::from_s(c.end_s),
                strokes: c.strokes,
            });
        }
    }

    /// Processes one frame; `global` is the frame's overall look.
    pub fn process<T: StreamTime>(
        &mut self,
        t_s: f64,
        frame: &YuvFrame,
        global: GlobalLook,
        events: &mut Vec<Event<T>>,
    ) {
        let cycle = self.cycles.tick(t_s);
        self.push_cycle(cycle, events);
        if let Some(stack_light) = &mut self.stack_light {
            let changes = stack_light.process(t_s, frame, global);
            if !changes.is_empty() {
                for c in &changes {
                    if self.reported_modes[c.lamp].replace(c.mode) == Some(c.mode) {
                        continue;
                    }
                    events.push(Event::Lamp {
                        machine: self.id.clone(),
                        lamp: c.lamp,
                        color: c.color,
                        mode: c.mode,
                        t: T::from_s(t_s),
                    });
                }
                let lamps: Vec<_> = stack_light.lamps().iter().map(|l| l.color).zip(stack_light.modes()).collect();
                let state = self.rules.evaluate(&lamps);
                self.set_state(state, t_s, events);
            }
        }
        if let Some(motion) = &mut self.motion {
            let update = motion.process(t_s, frame);
            if let Some(active) = update.active_changed {
                events.push(Event::Motion { machine: self.id.clone(), active, t: T::from_s(t_s) });
                let cycle = self.cycles.motion(active, t_s);
                self.push_cycle(cycle, events);
            }
            if let Some(stroke) = update.stroke {
                let person_in_region =
                    self.person_in_region.is_some_and(|(seen_s, window_s)| seen_s + window_s >= stroke.start_s);
                self.strokes_with_person += u64::from(person_in_region);
                if person_in_region && self.ignore_when_person {
                    self.strokes_ignored += 1;
                } else {
                    self.strokes += 1;
                    events.push(Event::Stroke {
                        machine: self.id.clone(),
                        start_t: T::from_s(stroke.start_s),
                        end_t: T::from_s(stroke.end_s),
                        person_in_region,
                    });
                    let cycle = self.cycles.stroke(stroke.start_s, stroke.end_s);
                    self.push_cycle(cycle, events);
                }
            }
        }
    }
}
