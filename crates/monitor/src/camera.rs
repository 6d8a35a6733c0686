//! One camera: the analysis-rate gate and the machines it watches.

use sheetsight_base::time::StreamTime;
use sheetsight_config::{CameraConfig, Config, MachineConfig};
use sheetsight_media::{TimedFrame, YuvFrame};
use sheetsight_vision::event::Event;
use sheetsight_vision::exposure::{ExposureTracker, ExposureTuning};

use crate::machine::{MachineMonitor, MachineStatus, RegionError};

/// Runs every machine of one camera over its frames.
pub struct CameraAnalyzer {
    id: String,
    machines: Vec<MachineMonitor>,
    exposure: ExposureTracker,
    frame_interval_s: Option<f64>,
    next_due_s: f64,
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
            frame_interval_s: fps.map(|f| 1.0 / f),
            next_due_s: f64::NEG_INFINITY,
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
        if let Some(interval) = self.frame_interval_s {
            // A quarter interval of slack keeps 25 fps -> 10 fps from beating.
            if t_s < self.next_due_s - 0.25 * interval {
                self.frames_skipped += 1;
                return;
            }
            // Keep the long-run rate; after a gap, start again from this frame.
            self.next_due_s =
                if t_s - self.next_due_s > interval { t_s + interval } else { self.next_due_s + interval };
        }
        self.frames_analyzed += 1;
        let global = self.exposure.measure(t_s, image);
        for m in &mut self.machines {
            m.process(t_s, image, global, events);
        }
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
}
