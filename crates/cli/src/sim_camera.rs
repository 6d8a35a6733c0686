//! Simulated IP cameras for the demo: each renders its scene in real time (or faster,
//! with `speed`), encodes it to H.264 as a camera would, and is opened through the same
//! [`SourceOpener`] interface as a real camera, so the demo runs the real service.
//!
//! A camera may be given outages: while the scene clock is inside one, the stream breaks
//! off and the camera refuses connections, as a camera on a flaky switch does.

use std::collections::HashMap;
use std::ops::Range;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use sheetsight_config::CameraConfig;
use sheetsight_ingest::source::{LiveSource, Packet, Payload, SourceError, SourceErrorKind, SourceOpener};
use sheetsight_ingest::thread_source::{PacketSender, ThreadSource};
use sheetsight_media::h264::H264Encoder;
use sheetsight_sim::{Renderer, Scene, encoder_settings};

pub struct SimulatedCamera {
    pub scene: Scene,
    /// Scene-time windows (seconds, repeating every `period_s`) in which the camera is down.
    pub outage_s: Option<(Range<f64>, f64)>,
}

impl SimulatedCamera {
    fn down_at(&self, t_s: f64) -> bool {
        self.outage_s.as_ref().is_some_and(|(window, period_s)| window.contains(&t_s.rem_euclid(*period_s)))
    }
}

pub struct SimulatedOpener {
    cameras: HashMap<String, SimulatedCamera>,
    speed: f64,
    /// Wall-clock seconds at scene time 0.
    epoch_wall_s: f64,
    epoch: Instant,
}

impl SimulatedOpener {
    pub fn new(cameras: HashMap<String, SimulatedCamera>, speed: f64) -> Self {
        Self { cameras, speed, epoch_wall_s: sheetsight_base::time::now_unix_s(), epoch: Instant::now() }
    }

    /// The scene time now.
    pub fn scene_t_s(&self) -> f64 {
        self.epoch.elapsed().as_secs_f64() * self.speed
    }

    pub fn epoch_wall_s(&self) -> f64 {
        self.epoch_wall_s
    }
}

impl SourceOpener for SimulatedOpener {
    fn open<'a>(&'a self, camera: &'a CameraConfig) -> BoxFuture<'a, Result<Box<dyn LiveSource>, SourceError>> {
        Box::pin(async move {
            // Cameras added in the dashboard are real ones.
            let simulated = matches!(&camera.source, sheetsight_config::SourceSpec::Url(u) if u.starts_with("sim://"));
            if !simulated {
                return sheetsight_ingest::NetworkOpener.open(camera).await;
            }
            let sim = self.cameras.get(&camera.id).ok_or_else(|| {
                SourceError::new(SourceErrorKind::Refused, format!("no simulated camera `{}`", camera.id))
            })?;
            let start_s = self.scene_t_s();
            if sim.down_at(start_s) {
                return Err(SourceError::new(SourceErrorKind::Unreachable, "simulated network outage"));
            }
            let scene = sim.scene.clone();
            let outage = sim.outage_s.clone();
            let (speed, epoch, epoch_wall_s) = (self.speed, self.epoch, self.epoch_wall_s);
            let description = format!("simulated camera ({}x{}, H.264)", scene.spec.width_px, scene.spec.height_px);
            let interval_s = Some(1.0 / scene.spec.fps);
            let source = ThreadSource::spawn(format!("sim-{}", camera.id), description, interval_s, move |tx| {
                let camera = SimulatedCamera { scene, outage_s: outage };
                if let Err(e) = stream(&camera, speed, epoch, epoch_wall_s, &tx) {
                    tx.send(Err(SourceError::new(SourceErrorKind::Protocol, sheetsight_base::error::with_causes(&e))));
                }
            })?;
            Ok(Box::new(source) as Box<dyn LiveSource>)
        })
    }
}

/// Renders, encodes and sends frames on the scene clock until the source is dropped.
fn stream(
    camera: &SimulatedCamera,
    speed: f64,
    epoch: Instant,
    epoch_wall_s: f64,
    tx: &PacketSender,
) -> Result<(), sheetsight_media::CodecError> {
    let scene = &camera.scene;
    let fps = scene.spec.fps;
    let mut renderer = Renderer::new(scene.clone());
    let mut encoder = H264Encoder::new(scene.spec.width_px, scene.spec.height_px, encoder_settings(scene))?;
    let mut i = (epoch.elapsed().as_secs_f64() * speed * fps).ceil() as u64;
    loop {
        let t_s = i as f64 / fps;
        let due = epoch + Duration::from_secs_f64(t_s / speed);
        let now = Instant::now();
        if let Some(wait) = due.checked_duration_since(now) {
            std::thread::sleep(wait);
        } else if now - due > Duration::from_millis(500) {
            // Behind (a loaded machine): skip ahead as a live camera would.
            i = (epoch.elapsed().as_secs_f64() * speed * fps).ceil() as u64;
            continue;
        }
        if camera.down_at(t_s) {
            tx.send(Err(SourceError::new(SourceErrorKind::Unreachable, "simulated network outage")));
            return Ok(());
        }
        let picture = encoder.encode(&renderer.render(t_s))?;
        let packet = Packet {
            t_s: epoch_wall_s + t_s,
            payload: Payload::H264 { annex_b: picture.to_annex_b().into(), key: picture.is_idr },
        };
        if !tx.send(Ok(packet)) {
            return Ok(());
        }
        i += 1;
    }
}
