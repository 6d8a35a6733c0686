//! People on one camera: when to look, where to look, and what the boxes mean for its
//! zones (presence, advisory safety events).
//!
//! The detector itself is injected ([`DetectPeople`]): the CLI passes the real model,
//! tests pass scripted boxes, so this module and everything above it run without one.
//! Invariants: detection runs only on cameras with zones, at most at the camera's
//! `people_fps`, on one crop covering its zones and motion regions with room above them
//! for the people standing there; a detector failure is logged and counted, never fatal.

use sheetsight_config::{CameraConfig, MachineConfig, PeopleConfig, ZoneConfig, ZoneKind};
use sheetsight_media::YuvFrame;
use sheetsight_vision::event::Event;
use sheetsight_vision::roi::{BoxPx, PolygonRoi};
use sheetsight_vision::state::MachineState;
use sheetsight_vision::zone::{PersonPx, PresenceDebounce, SafetyGate, count_in};

pub use sheetsight_vision::zone::DetectPeople;

use crate::machine::RegionError;
use crate::rate::RateGate;

struct WatchedZone {
    config: ZoneConfig,
    roi: PolygonRoi,
    presence: PresenceDebounce,
    safety: Option<SafetyGate>,
}

/// The zones of one camera and the rate at which people are looked for.
pub struct ZoneMonitor {
    camera: String,
    zones: Vec<WatchedZone>,
    crop: BoxPx,
    rate: RateGate,
    /// Detections that failed (logged; the zones keep their last counts).
    pub failures: u64,
    /// Detections run.
    pub detections: u64,
}

impl ZoneMonitor {
    /// The zone monitor of `camera` for its frame size: its `zones`, and the motion
    /// regions of its `machines` (people standing in them flag strokes). Without zones
    /// (a camera that only blurs people) it looks at the whole frame.
    pub fn new(
        camera: &CameraConfig,
        zones: Vec<ZoneConfig>,
        machines: &[MachineConfig],
        people: &PeopleConfig,
        width_px: u32,
        height_px: u32,
    ) -> Result<Self, RegionError> {
        let mut watched = Vec::with_capacity(zones.len());
        for config in zones {
            let roi = PolygonRoi::new(&config.roi_px, width_px, height_px).map_err(|source| RegionError {
                owner: format!("zone `{}`", config.id),
                region: "roi".into(),
                source,
            })?;
            watched.push(WatchedZone {
                roi,
                presence: PresenceDebounce::new(people.debounce_s),
                safety: (config.kind == ZoneKind::Danger).then(|| SafetyGate::new(people.safety_interval_s)),
                config,
            });
        }
        // The machines' regions were checked when their analysers were built.
        let motion = machines
            .iter()
            .filter_map(|m| m.motion.as_ref())
            .filter_map(|m| PolygonRoi::new(&m.roi_px, width_px, height_px).ok())
            .map(|roi| roi.bbox());
        let regions: Option<BoxPx> = watched.iter().map(|z| z.roi.bbox()).chain(motion).reduce(|a, b| a.union(&b));
        Ok(Self {
            camera: camera.id.clone(),
            zones: watched,
            crop: regions.map_or(BoxPx::whole(width_px, height_px), |b| room_for_people(b, width_px, height_px)),
            rate: RateGate::new(Some(camera.people_fps)),
            failures: 0,
            detections: 0,
        })
    }

    /// The part of the frame the detector is given.
    pub fn crop(&self) -> BoxPx {
        self.crop
    }

    /// Seconds between two looks for people.
    pub fn interval_s(&self) -> f64 {
        self.rate.interval_s().unwrap_or(0.0)
    }

    /// Whether a frame at `t_s` is due for detection (and, if so, books it).
    pub fn due(&mut self, t_s: f64) -> bool {
        self.rate.take(t_s)
    }

    /// The people found at `t_s`: presence changes and safety events. `state_of` gives
    /// a machine's current state (a danger zone's events need it executing).
    pub fn observe<T: sheetsight_base::time::StreamTime>(
        &mut self,
        t_s: f64,
        people: &[PersonPx],
        state_of: impl Fn(&str) -> Option<MachineState>,
        events: &mut Vec<Event<T>>,
    ) {
        self.detections += 1;
        for zone in &mut self.zones {
            let count = count_in(&zone.roi, people);
            if let Some((n, since_s)) = zone.presence.observe(t_s, count) {
                events.push(Event::Presence {
                    zone: zone.config.id.clone(),
                    operator_of: zone.config.operator_of().map(String::from),
                    people: n,
                    t: T::from_s(since_s),
                });
            }
            if let (Some(gate), Some(machine)) = (&mut zone.safety, &zone.config.machine)
                && gate.observe(t_s, count, state_of(machine))
            {
                events.push(Event::Safety {
                    zone: zone.config.id.clone(),
                    machine: machine.clone(),
                    people: count,
                    advisory: true,
                    t: T::from_s(t_s),
                    snapshot: None,
                });
            }
        }
    }

    /// Runs `detector` on `frame` if it is due, and returns the boxes it found (also
    /// given to [`Self::observe`]); `None` when not due or the detector failed.
    pub fn look<T: sheetsight_base::time::StreamTime>(
        &mut self,
        detector: &dyn DetectPeople,
        t_s: f64,
        frame: &YuvFrame,
        state_of: impl Fn(&str) -> Option<MachineState>,
        events: &mut Vec<Event<T>>,
    ) -> Option<Vec<PersonPx>> {
        if !self.due(t_s) {
            return None;
        }
        match detector.detect(frame, self.crop) {
            Ok(people) => {
                self.observe(t_s, &people, state_of, events);
                Some(people)
            }
            Err(e) => {
                self.failures += 1;
                tracing::warn!(camera = %self.camera, "person detection failed: {e}");
                None
            }
        }
    }
}

/// The regions' box with a person's height of room above (zones are floor areas: the
/// people standing in them rise above them) and a little at the sides.
fn room_for_people(b: BoxPx, width_px: u32, height_px: u32) -> BoxPx {
    let (w, h) = (f64::from(width_px), f64::from(height_px));
    let above = f64::from(b.height()).max(0.25 * h);
    let side = 0.1 * f64::from(b.width()).max(0.1 * w);
    BoxPx {
        x0: (f64::from(b.x0) - side).clamp(0.0, w) as u32,
        y0: (f64::from(b.y0) - above).clamp(0.0, h) as u32,
        x1: (f64::from(b.x1) + side).clamp(0.0, w).ceil() as u32,
        y1: (f64::from(b.y1) + 0.02 * h).clamp(0.0, h).ceil() as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sheetsight_base::time::VideoSeconds;
    use sheetsight_vision::event::VideoEvent;

    fn zone(id: &str, roi: [[f64; 2]; 4], kind: ZoneKind) -> ZoneConfig {
        ZoneConfig { id: id.into(), camera: "cam1".into(), roi_px: roi.to_vec(), machine: Some("brake-1".into()), kind }
    }

    const OPERATOR: [[f64; 2]; 4] = [[300.0, 400.0], [700.0, 400.0], [700.0, 700.0], [300.0, 700.0]];
    const DANGER: [[f64; 2]; 4] = [[300.0, 300.0], [700.0, 300.0], [700.0, 400.0], [300.0, 400.0]];

    fn person_at(x: f32, feet_y: f32) -> PersonPx {
        PersonPx { x0: x - 25.0, y0: feet_y - 150.0, x1: x + 25.0, y1: feet_y }
    }

    fn monitor() -> ZoneMonitor {
        let people = PeopleConfig { debounce_s: 2.0, safety_interval_s: 30.0, ..PeopleConfig::default() };
        let camera = CameraConfig::new("cam1", sheetsight_config::SourceSpec::File("v.mp4".into()), None);
        let zones = vec![zone("op", OPERATOR, ZoneKind::Work), zone("danger", DANGER, ZoneKind::Danger)];
        ZoneMonitor::new(&camera, zones, &[], &people, 1280, 720).expect("zones fit")
    }

    #[test]
    fn scripted_detections_become_debounced_presence_and_advisory_safety_events() {
        let mut m = monitor();
        let mut events: Vec<VideoEvent> = Vec::new();
        let executing = |_: &str| Some(MachineState::Executing);
        // Nobody for 3 s, then an operator from t = 3 on, a miss at t = 6.
        for t in 0..10 {
            let t_s = f64::from(t);
            let people = if t >= 3 && t != 6 { vec![person_at(500.0, 600.0)] } else { vec![] };
            m.observe(t_s, &people, |_| Some(MachineState::NotExecuting), &mut events);
        }
        let presence: Vec<(u32, f64)> = events
            .iter()
            .filter_map(|e| match e {
                Event::Presence { zone, people, t, .. } if zone == "op" => Some((*people, t.0)),
                _ => None,
            })
            .collect();
        assert_eq!(presence, vec![(0, 0.0), (1, 3.0)], "the miss at 6 s is no change");
        assert!(!events.iter().any(|e| matches!(e, Event::Safety { .. })));

        // Someone steps into the danger zone while the machine executes: one advisory
        // event, not one per detection.
        events.clear();
        for t in 10..20 {
            m.observe(f64::from(t), &[person_at(500.0, 350.0)], executing, &mut events);
        }
        let safety: Vec<&VideoEvent> = events.iter().filter(|e| matches!(e, Event::Safety { .. })).collect();
        assert_eq!(safety.len(), 1, "{events:?}");
        assert!(matches!(safety[0], Event::Safety { advisory: true, people: 1, t: VideoSeconds(10.0), .. }));
        // The operator left their zone for the danger zone: presence follows.
        assert!(events.iter().any(|e| matches!(e, Event::Presence { zone, people: 0, .. } if zone == "op")));
    }

    #[test]
    fn detection_is_due_at_the_people_rate_and_failures_are_counted() {
        struct Broken;
        impl DetectPeople for Broken {
            fn detect(&self, _: &YuvFrame, _: BoxPx) -> Result<Vec<PersonPx>, String> {
                Err("model exploded".into())
            }
        }
        let mut m = monitor();
        let frame = YuvFrame::filled(1280, 720, 16, 128, 128);
        let mut events: Vec<VideoEvent> = Vec::new();
        let mut looked = 0;
        for i in 0..1000 {
            // 100 s of 10 fps video, 1 fps people.
            if m.due(f64::from(i) / 10.0) {
                looked += 1;
            }
        }
        assert!((100..=101).contains(&looked), "{looked} looks in 100 s");
        assert!(m.look(&Broken, 200.0, &frame, |_| None, &mut events).is_none());
        assert_eq!((m.failures, m.detections), (1, 0));
        assert!(events.is_empty());
    }

    #[test]
    fn a_zone_outside_the_frame_is_named() {
        let camera = CameraConfig::new("cam1", sheetsight_config::SourceSpec::File("v.mp4".into()), None);
        let err = ZoneMonitor::new(
            &camera,
            vec![zone("op", OPERATOR, ZoneKind::Work)],
            &[],
            &PeopleConfig::default(),
            640,
            480,
        )
        .err()
        .expect("the zone reaches x = 700");
        assert!(err.to_string().starts_with("zone `op`, roi:"), "{err}");
    }

    #[test]
    fn the_crop_covers_the_zones_with_room_above_for_people() {
        let m = monitor();
        let c = m.crop();
        assert!(c.x0 <= 300 && c.x1 >= 700 && c.y1 >= 700, "{c:?}");
        assert!(c.y0 <= 300 - 180, "room for a standing person above the zones: {c:?}");
        assert!(c.x1 <= 1280 && c.y1 <= 720);
    }
}
