//! One camera: the analysis-rate gate and the machines it watches.

use sheetsight_base::time::StreamTime;
use sheetsight_config::{CameraConfig, Config, MachineConfig};
use sheetsight_media::{TimedFrame, YuvFrame};
use sheetsight_vision::event::Event;
use sheetsight_vision::exposure::{ExposureTracker, ExposureTuning};
use sheetsight_vision::state::MachineState;
use sheetsight_vision::zone::PersonPx;

use crate::machine::{MachineMonitor, MachineStatus, RegionError};
use crate::rate::RateGate;

/// Runs every machine of one camera over its frames.
pub struct CameraAnalyzer {
    id: String,
    machines: Vec<MachineMonitor>,
    exposure: ExposureTracker,
    rate: RateGate,
    frames_analyzed: u64,
    frames_skipped: u64,
    frames_wrong_size: u64,
    last_t_s: Option<f64>,
    width_px: u32,
    height_px: u32,
}

impl CameraAnalyzer {
    /// Builds the analyzers of every machine on `camera` for its frame size.
    pub fn new(config: &Config, camera: &CameraConfig, width_px: u32, height_px: u32) -> Result<Self, RegionError> {
        let machines: Vec<MachineConfig> = config.machines_on(&camera.id).cloned().collect();
        Self::from_machines(&camera.id, camera.fps, &machines, width_px, height_px)
    }

    /// Builds the analyzers for machines given directly (simulated cameras, benchmarks).
    pub fn from_machines(
        id: &str,
        fps: Option<f64>,
        machines: &[MachineConfig],
        width_px: u32,
        height_px: u32,
    ) -> Result<Self, RegionError> {
        let machines =
            machines.iter().map(|m| MachineMonitor::new(m, width_px, height_px)).collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            id: id.to_string(),
            machines,
            exposure: ExposureTracker::new(ExposureTuning::default()),
            rate: RateGate::new(fps),
            frames_analyzed: 0,
            frames_skipped: 0,
            frames_wrong_size: 0,
            last_t_s: None,
            width_px,
            height_px,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Carries each machine's reported state over from `old` (see
    /// [`MachineMonitor::continue_from`]); machines new to this camera start afresh.
    pub fn continue_from(&mut self, old: &CameraAnalyzer) {
        for m in &mut self.machines {
            if let Some(o) = old.machines.iter().find(|o| o.id() == m.id()) {
                m.continue_from(o);
            }
        }
    }

    pub fn statuses(&self) -> Vec<MachineStatus> {
        self.machines.iter().map(MachineMonitor::status).collect()
    }

    pub fn frames_analyzed(&self) -> u64 {
        self.frames_analyzed
    }

    pub fn frames_skipped(&self) -> u64 {
        self.frames_skipped
    }

    /// Time of the last frame seen.
    pub fn last_t_s(&self) -> Option<f64> {
        self.last_t_s
    }

    /// Frames dropped because their size was not the camera's (regions would not fit).
    pub fn frames_wrong_size(&self) -> u64 {
        self.frames_wrong_size
    }

    /// Analyses a frame unless the rate gate skips it; appends the events.
    pub fn process<T: StreamTime>(&mut self, frame: &TimedFrame, events: &mut Vec<Event<T>>) {
        self.process_frame(frame.t_s, &frame.frame, events);
    }

    /// [`Self::process`] for a frame and its time given apart.
    pub fn process_frame<T: StreamTime>(&mut self, t_s: f64, image: &YuvFrame, events: &mut Vec<Event<T>>) {
        if image.width_px() != self.width_px || image.height_px() != self.height_px {
            self.frames_wrong_size += 1;
            return;
        }
        self.last_t_s = Some(t_s);
        if !self.rate.take(t_s) {
            self.frames_skipped += 1;
            return;
        }
        self.frames_analyzed += 1;
        let global = self.exposure.measure(t_s, image);
        for m in &mut self.machines {
            m.process(t_s, image, global, events);
        }
    }

    /// People seen at `t_s` (frame pixels), standing for `window_s` seconds: strokes
    /// of machines whose motion region they stand in are flagged.
    pub fn people_seen(&mut self, t_s: f64, people: &[PersonPx], window_s: f64) {
        for m in &mut self.machines {
            m.people_seen(t_s, people, window_s);
        }
    }

    /// A machine's current state, if it is on this camera and known.
    pub fn state_of(&self, machine: &str) -> Option<MachineState> {
        self.machines.iter().find(|m| m.id() == machine).and_then(MachineMonitor::state)
    }

    /// Per machine: strokes seen with a person in the motion region, and of those the
    /// ones left out of the counts.
    pub fn strokes_with_person(&self) -> Vec<(String, (u64, u64))> {
        self.machines.iter().map(|m| (m.id().to_owned(), m.strokes_with_person())).collect()
    }

    /// The camera cannot see (its source failed or stalled): see [`MachineMonitor::blind`].
    pub fn blind<T: StreamTime>(&mut self, t_s: f64, events: &mut Vec<Event<T>>) {
        for m in &mut self.machines {
            m.blind(t_s, events);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_gate_keeps_the_configured_fps() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("v.mp4"), b"").expect("write");
        let text = "[[camera]]\nid = \"c\"\nsource = \"v.mp4\"\nfps = 10\n[[machine]]\nid = \"m\"\ncamera = \"c\"\n[machine.motion]\nroi = [[0,0],[8,0],[8,8]]\n";
        let config = sheetsight_config::parse(&dir.path().join("x.toml"), text).expect("config");
        let mut cam = CameraAnalyzer::new(&config, &config.cameras[0], 16, 16).expect("analyzer");
        let mut events: Vec<crate::VideoEvent> = Vec::new();
        for i in 0..250 {
            let frame = TimedFrame { t_s: f64::from(i) / 25.0, frame: YuvFrame::filled(16, 16, 100, 128, 128) };
            cam.process(&frame, &mut events);
        }
        assert_eq!(cam.frames_analyzed(), 100, "10 s at 10 fps");
        assert_eq!(cam.frames_skipped(), 150);
    }

    /// A dark ram 20 px high over a light wall, `drop_px` below its rest, with noise.
    fn ram_frame(drop_px: u32, seed: u32) -> YuvFrame {
        let mut f = YuvFrame::filled(160, 120, 0, 128, 128);
        let (y, _, _) = f.planes_mut();
        let mut s = seed.wrapping_mul(2654435761) | 1;
        for row in 0..120u32 {
            for col in 0..160u32 {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                let ram = (20 + drop_px..40 + drop_px).contains(&row) && (40..120).contains(&col);
                y[(row * 160 + col) as usize] = (if ram { 50.0 } else { 150.0 } + (s % 7) as f32 - 3.0) as u8;
            }
        }
        f
    }

    /// Strokes every 10 s from 5 s for a minute; an operator reaches into the ram's
    /// region from 24 s to 27 s and stands back (below it) otherwise.
    fn strokes_with_scripted_people(ignore_when_person: bool) -> (Vec<crate::VideoEvent>, (u64, u64)) {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("v.mp4"), b"").expect("write");
        let text = format!(
            "[[camera]]\nid = \"c\"\nsource = \"v.mp4\"\nfps = 10\n[[machine]]\nid = \"m\"\ncamera = \"c\"\n\
             [machine.motion]\nroi = [[30,10],[130,10],[130,110],[30,110]]\nignore_when_person = {ignore_when_person}\n"
        );
        let config = sheetsight_config::parse(&dir.path().join("x.toml"), &text).expect("config");
        let mut cam = CameraAnalyzer::new(&config, &config.cameras[0], 160, 120).expect("analyzer");
        let mut events: Vec<crate::VideoEvent> = Vec::new();
        for i in 0..600u32 {
            let t = f64::from(i) / 10.0;
            if i % 10 == 0 {
                let reaching = (24.0..=27.0).contains(&t);
                let person = if reaching {
                    PersonPx { x0: 60.0, y0: 30.0, x1: 100.0, y1: 160.0 }
                } else {
                    PersonPx { x0: 60.0, y0: 115.0, x1: 100.0, y1: 240.0 }
                };
                cam.people_seen(t, &[person], 1.0);
            }
            let phase = (t - 5.0).rem_euclid(10.0);
            let drop = if t >= 5.0 && phase < 2.0 { (40.0 * (1.0 - (phase - 1.0).abs())).max(0.0) as u32 } else { 0 };
            cam.process_frame(t, &ram_frame(drop, i), &mut events);
        }
        let counts = cam.strokes_with_person()[0].1;
        (events, counts)
    }

    #[test]
    fn a_stroke_seen_while_a_person_stands_in_the_region_is_flagged_or_left_out() {
        let (events, counts) = strokes_with_scripted_people(false);
        let strokes: Vec<bool> = events
            .iter()
            .filter_map(|e| match e {
                Event::Stroke { person_in_region, .. } => Some(*person_in_region),
                _ => None,
            })
            .collect();
        assert_eq!(strokes, vec![false, false, true, false, false, false], "the stroke at 25 s is flagged");
        assert_eq!(counts, (1, 0));

        let (events, counts) = strokes_with_scripted_people(true);
        let strokes = events.iter().filter(|e| matches!(e, Event::Stroke { .. })).count();
        assert_eq!(strokes, 5, "ignore_when_person leaves the flagged stroke out of the counts");
        assert_eq!(counts, (1, 1));
    }
}
