//! People on one camera: when to look, where to look, and what the boxes mean for its
//! zones (presence, advisory safety events).
//!
//! The detector itself is injected ([`DetectPeople`]): the CLI passes the real model,
//! tests pass scripted boxes, so this module and everything above it run without one.
//! Invariants: detection runs only on cameras with zones, at most at the camera's
//! `people_fps`, on one crop covering its zones and motion regions with room above them
//! for the people standing there; a detector failure is logged and counted, never fatal.

use sheetsight_config::{CameraConfig, Config, PeopleConfig, ZoneConfig, ZoneKind};
use sheetsight_media::YuvFrame;
use sheetsight_vision::event::Event;
use sheetsight_vision::roi::{BoxPx, PointPx};
use sheetsight_vision::state::MachineState;
use sheetsight_vision::zone::{PersonPx, PresenceDebounce, SafetyGate, count_in};

pub use sheetsight_vision::zone::DetectPeople;

struct WatchedZone {
    config: ZoneConfig,
    presence: PresenceDebounce,
    safety: Option<SafetyGate>,
}

/// The zones of one camera and the rate at which people are looked for.
pub struct ZoneMonitor {
    camera: String,
    zones: Vec<WatchedZone>,
    crop: BoxPx,
    interval_s: f64,
    next_due_s: f64,
    /// Detections that failed (logged; the zones keep their last counts).
    pub failures: u64,
    /// Detections run.
    pub detections: u64,
}

impl ZoneMonitor {
    /// The zone monitor of `camera`, or `None` when it has no zones (then nobody looks
    /// for people on it).
    pub fn new(config: &Config, camera: &CameraConfig, width_px: u32, height_px: u32) -> Option<Self> {
        let zones: Vec<ZoneConfig> = config.zones_on(&camera.id).cloned().collect();
        if zones.is_empty() {
            return None;
        }
        let motion: Vec<&[PointPx]> =
            config.machines_on(&camera.id).filter_map(|m| m.motion.as_ref().map(|mo| mo.roi_px.as_slice())).collect();
        Some(Self::from_zones(&camera.id, zones, &motion, &config.people, camera.people_fps, width_px, height_px))
    }

    /// A zone monitor built in code (tests, benchmarks).
    pub fn from_zones(
        camera: &str,
        zones: Vec<ZoneConfig>,
        motion_regions: &[&[PointPx]],
        people: &PeopleConfig,
        people_fps: f64,
        width_px: u32,
        height_px: u32,
    ) -> Self {
        let polygons: Vec<&[PointPx]> =
            zones.iter().map(|z| z.roi_px.as_slice()).chain(motion_regions.iter().copied()).collect();
        let crop = crop_for(&polygons, width_px, height_px);
        let zones = zones
            .into_iter()
            .map(|config| WatchedZone {
                presence: PresenceDebounce::new(people.debounce_s),
                safety: (config.kind == ZoneKind::Danger).then(|| SafetyGate::new(people.safety_interval_s)),
                config,
            })
            .collect();
        Self {
            camera: camera.to_owned(),
            zones,
            crop,
            interval_s: 1.0 / people_fps.max(0.01),
            next_due_s: f64::NEG_INFINITY,
            failures: 0,
            detections: 0,
        }
    }

    pub fn camera(&self) -> &str {
        &self.camera
    }

    /// The part of the frame the detector is given.
    pub fn crop(&self) -> BoxPx {
        self.crop
    }

    /// Seconds between two looks for people.
    pub fn interval_s(&self) -> f64 {
        self.interval_s
    }

    /// Whether a frame at `t_s` is due for detection (and, if so, books it).
    pub fn due(&mut self, t_s: f64) -> bool {
        if t_s < self.next_due_s - 0.25 * self.interval_s {
            return false;
        }
        self.next_due_s = if t_s - self.next_due_s > self.interval_s {
            t_s + self.interval_s
        } else {
            self.next_due_s + self.interval_s
        };
        true
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
            let count = count_in(&zone.config.roi_px, people);
            if let Some((n, since_s)) = zone.presence.observe(t_s, count) {
                events.push(Event::Presence { zone: zone.config.id.clone(), people: n, t: T::from_s(since_s) });
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

/// The crop that holds every polygon, with a person's height of room above (zones are
/// floor areas: the people standing in them rise above them) and a little at the sides.
fn crop_for(polygons: &[&[PointPx]], width_px: u32, height_px: u32) -> BoxPx {
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, 0f64, 0f64);
    for p in polygons.iter().flat_map(|p| p.iter()) {
        (x0, y0, x1, y1) = (x0.min(p[0]), y0.min(p[1]), x1.max(p[0]), y1.max(p[1]));
    }
    if x0 > x1 {
        return BoxPx { x0: 0, y0: 0, x1: width_px, y1: height_px };
    }
    let (w, h) = (f64::from(width_px), f64::from(height_px));
    let above = (y1 - y0).max(0.25 * h);
    let side = 0.1 * (x1 - x0).max(0.1 * w);
    BoxPx {
        x0: (x0 - side).clamp(0.0, w) as u32,
        y0: (y0 - above).clamp(0.0, h) as u32,
        x1: (x1 + side).clamp(0.0, w).ceil() as u32,
        y1: (y1 + 0.02 * h).clamp(0.0, h).ceil() as u32,
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
        ZoneMonitor::from_zones(
            "cam1",
            vec![zone("op", OPERATOR, ZoneKind::Work), zone("danger", DANGER, ZoneKind::Danger)],
            &[],
            &people,
            1.0,
            1280,
            720,
        )
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
                Event::Presence { zone, people, t } if zone == "op" => Some((*people, t.0)),
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
    fn the_crop_covers_the_zones_with_room_above_for_people() {
        let m = monitor();
        let c = m.crop();
        assert!(c.x0 <= 300 && c.x1 >= 700 && c.y1 >= 700, "{c:?}");
        assert!(c.y0 <= 300 - 180, "room for a standing person above the zones: {c:?}");
        assert!(c.x1 <= 1280 && c.y1 <= 720);
    }
}
