//! A camera's worker thread: decodes what the supervisor received, runs the camera's
//! machine analyzers, and makes the camera's health visible in the machines' states.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};

use sheetsight_base::LockOrRecover;
use sheetsight_base::clock::SharedClocks;
use sheetsight_base::time::UnixMillis;
use sheetsight_config::{CameraConfig, MachineConfig};
use sheetsight_ingest::decode::FrameDecoder;
use sheetsight_ingest::supervisor::{CameraMsg, Progress};
use sheetsight_monitor::CameraAnalyzer;
use sheetsight_monitor::machine::MachineStatus;
use sheetsight_monitor::people::ZoneMonitor;
use sheetsight_vision::YuvFrame;
use sheetsight_vision::event::{CameraHealth, Event, LiveEvent};
use sheetsight_vision::state::MachineState;
use sheetsight_vision::zone::PersonPx;

use crate::people_pool::{CameraPeople, PeopleLink};

/// Live view of one camera.
#[derive(Clone, Debug)]
pub struct CameraStatus {
    pub id: String,
    pub health: CameraHealth,
    pub detail: Option<String>,
    pub since: UnixMillis,
    pub stats: WorkerStats,
    /// Packets the supervisor dropped because this camera's worker was too far behind.
    pub packets_dropped: u64,
    pub machines: Vec<MachineStatus>,
    /// The newest analysed frame, refreshed with the status (for live views).
    pub frame: Option<(f64, Arc<YuvFrame>)>,
    /// The people of the newest sighting on a camera with zones (frame pixels).
    pub people: Option<(f64, Vec<PersonPx>)>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkerStats {
    pub frames_decoded: u64,
    pub frames_analyzed: u64,
    /// Frames older than `max_frame_age_ms` when their turn came: not analysed.
    pub frames_stale: u64,
    pub frames_wrong_size: u64,
    pub decode_errors: u64,
    pub panics: u64,
    /// CPU time this camera's thread spent decoding (not wall time: with many cameras
    /// on few cores a decode is often preempted).
    pub decode_ns: u64,
    /// CPU time this camera's thread spent analysing frames.
    pub analysis_ns: u64,
    /// Times the camera came back to `streaming` after it was lost.
    pub reconnects: u64,
    /// Looks for people answered, failed, and skipped because the camera's previous
    /// look was still pending (cameras with zones only).
    pub people_looks: u64,
    pub people_failures: u64,
    pub people_skipped: u64,
}

/// Where a worker's events go.
pub trait EventOut: Send {
    fn send(&mut self, event: LiveEvent);
}

impl<F: FnMut(LiveEvent) + Send> EventOut for F {
    fn send(&mut self, event: LiveEvent) {
        self(event)
    }
}

/// New machine settings for a running worker (regions edited while it runs).
pub type PendingMachines = Arc<Mutex<Option<Vec<MachineConfig>>>>;

pub struct Worker<O: EventOut> {
    clocks: SharedClocks,
    camera: CameraConfig,
    machines: Vec<MachineConfig>,
    pending: PendingMachines,
    streamed_before: bool,
    progress: Arc<Progress>,
    status: Arc<Mutex<CameraStatus>>,
    out: O,
    decoder: FrameDecoder,
    analyzer: Option<CameraAnalyzer>,
    health: CameraHealth,
    last_frame_t_s: Option<f64>,
    interval_s: Option<f64>,
    stats: WorkerStats,
    fatal: Option<String>,
    /// When the live status was last refreshed (it is not rebuilt for every packet).
    published: Option<std::time::Instant>,
    /// The frame to show in the next status.
    latest: Option<(f64, Arc<YuvFrame>)>,
    /// The analyser before a region edit, whose reported states the next one continues.
    previous: Option<CameraAnalyzer>,
    /// Cameras with zones: the link to the people workers, and the zones once the
    /// frame size is known.
    people: Option<(PeopleLink, CameraPeople)>,
    zones: Option<(ZoneMonitor, (u32, u32))>,
    last_people: Option<(f64, Vec<PersonPx>)>,
}

/// How often the live status is refreshed while frames flow.
const PUBLISH_INTERVAL: std::time::Duration = std::time::Duration::from_millis(200);

impl<O: EventOut> Worker<O> {
    pub fn new(
        camera: CameraConfig,
        machines: Vec<MachineConfig>,
        progress: Arc<Progress>,
        status: Arc<Mutex<CameraStatus>>,
        pending: PendingMachines,
        out: O,
        clocks: SharedClocks,
    ) -> Self {
        Self {
            clocks,
            camera,
            machines,
            pending,
            streamed_before: false,
            progress,
            status,
            out,
            decoder: FrameDecoder::new(),
            analyzer: None,
            health: CameraHealth::Connecting,
            last_frame_t_s: None,
            interval_s: None,
            stats: WorkerStats::default(),
            fatal: None,
            published: None,
            latest: None,
            previous: None,
            people: None,
            zones: None,
            last_people: None,
        }
    }

    /// Looks for people in this camera's zones through the shared people workers.
    /// Cameras with `privacy = "blur"` are watched too (their people are blurred in
    /// every picture shown), on the whole frame when they have no zones. A camera
    /// with neither is not looked at until zones are drawn on it.
    pub fn with_people(mut self, link: PeopleLink) -> Self {
        let camera = CameraPeople::new(link.pool.clone());
        self.people = Some((link, camera));
        self
    }

    /// Runs until the supervisor hangs up.
    pub fn run(mut self, rx: Receiver<CameraMsg>) -> WorkerStats {
        // Nothing seen yet: the machines' states are unknown until the camera streams.
        let now = self.clocks.realtime();
        for m in self.machines.iter().filter(|m| !m.lamps.is_empty()) {
            self.out.send(Event::State { machine: m.id.clone(), state: MachineState::NotAvailable, t: now });
        }
        self.publish();
        for msg in rx {
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| self.handle(msg)));
            if outcome.is_err() {
                // A bug must not take the camera down: start the analysis afresh.
                self.stats.panics += 1;
                tracing::error!(camera = %self.camera.id, "analysis panicked; restarting it");
                self.decoder = FrameDecoder::new();
                self.blind(self.clocks.realtime().as_unix_s());
            }
        }
        self.stats
    }

    fn handle(&mut self, msg: CameraMsg) {
        match msg {
            CameraMsg::Health { health, detail, at } => {
                self.health = health;
                if health == CameraHealth::Streaming {
                    if self.streamed_before {
                        self.stats.reconnects += 1;
                    }
                    self.streamed_before = true;
                }
                self.out.send(Event::Health { camera: self.camera.id.clone(), health, detail: detail.clone(), t: at });
                if health != CameraHealth::Streaming {
                    self.blind(at.as_unix_s());
                }
                if health == CameraHealth::Connecting {
                    self.decoder = FrameDecoder::new();
                    self.fatal = None;
                }
                let mut status = self.status.lock_or_recover();
                status.health = health;
                status.detail = detail;
                status.since = at;
            }
            CameraMsg::Packet(packet) => {
                self.progress.queued.fetch_sub(1, Ordering::Relaxed);
                if self.fatal.is_some() {
                    return;
                }
                let started_ns = thread_cpu_ns();
                let decoded = self.decoder.decode(packet);
                self.stats.decode_ns += thread_cpu_ns().saturating_sub(started_ns);
                match decoded {
                    Ok(frames) => {
                        let due = self.published.is_none_or(|p| p.elapsed() >= PUBLISH_INTERVAL);
                        let count = frames.len();
                        for (i, (t_s, frame)) in frames.into_iter().enumerate() {
                            let started_ns = thread_cpu_ns();
                            let analysed = self.frame(t_s, &frame);
                            self.stats.analysis_ns += thread_cpu_ns().saturating_sub(started_ns);
                            if due && analysed && i + 1 == count {
                                self.latest = Some((t_s, Arc::new(frame)));
                            }
                        }
                    }
                    Err(e) => {
                        self.stats.decode_errors += 1;
                        if e.fatal {
                            tracing::error!(camera = %self.camera.id, error = %e.message, "cannot decode this camera");
                            self.fatal = Some(e.message.clone());
                            *self.progress.undecodable.lock_or_recover() = Some(e.message.clone());
                        } else if self.stats.decode_errors.is_power_of_two() {
                            tracing::warn!(camera = %self.camera.id, error = %e.message, count = self.stats.decode_errors, "corrupt frame skipped");
                        }
                        self.out.send(Event::MediaIssue {
                            camera: self.camera.id.clone(),
                            at: self.clocks.realtime().rfc3339(),
                            what: e.message,
                        });
                    }
                }
                if self.published.is_none_or(|p| p.elapsed() >= PUBLISH_INTERVAL) {
                    self.publish();
                }
            }
        }
    }

    /// Analyses one decoded frame; false when it was not (stale, camera not yet
    /// streaming, regions that do not fit).
    fn frame(&mut self, t_s: f64, frame: &YuvFrame) -> bool {
        self.stats.frames_decoded += 1;
        self.progress.frames_decoded.fetch_add(1, Ordering::Relaxed);
        if let Some(last) = self.last_frame_t_s {
            let dt = t_s - last;
            if dt > 0.0 && dt < 10.0 {
                let estimate = self.interval_s.map_or(dt, |i| 0.9 * i + 0.1 * dt);
                self.interval_s = Some(estimate);
                self.progress.frame_interval_us.store((estimate * 1e6) as u64, Ordering::Relaxed);
            }
        }
        self.last_frame_t_s = Some(t_s);
        let age_ms = (self.clocks.realtime().as_unix_s() - t_s) * 1000.0;
        if age_ms > self.camera.max_frame_age_ms as f64 {
            self.stats.frames_stale += 1;
            return false;
        }
        if self.health != CameraHealth::Streaming {
            // Frames decoded before the supervisor saw them count for health, not analysis.
            return false;
        }
        if let Some(machines) = self.pending.lock_or_recover().take() {
            tracing::info!(camera = %self.camera.id, "regions changed: the analysis starts afresh");
            self.machines = machines;
            self.previous = self.analyzer.take();
        }
        if self.analyzer.is_none() {
            match CameraAnalyzer::from_machines(
                &self.camera.id,
                self.camera.fps,
                &self.machines,
                frame.width_px(),
                frame.height_px(),
            ) {
                Ok(mut a) => {
                    if let Some(previous) = self.previous.take() {
                        a.continue_from(&previous);
                    }
                    self.analyzer = Some(a)
                }
                Err(e) => {
                    self.stats.frames_wrong_size += 1;
                    if self.stats.frames_wrong_size.is_power_of_two() {
                        tracing::error!(camera = %self.camera.id, error = %e, width_px = frame.width_px(), height_px = frame.height_px(), "the configured regions do not fit this camera's frames");
                    }
                    return false;
                }
            }
        }
        let mut events = Vec::new();
        self.look_for_people(t_s, frame, &mut events);
        let Some(analyzer) = self.analyzer.as_mut() else { return false };
        analyzer.process_frame(t_s, frame, &mut events);
        self.stats.frames_analyzed = self.stats.frames_analyzed.saturating_add(1);
        if analyzer.frames_wrong_size() > 0 {
            // The camera changed its resolution: build the analyzers for the new size.
            self.stats.frames_wrong_size += analyzer.frames_wrong_size();
            self.analyzer = None;
        }
        for e in events {
            self.out.send(e);
        }
        true
    }

    /// Applies the sightings that came back, then hands this frame to the people
    /// workers if a look is due (skipping it, counted, while the previous one is pending).
    fn look_for_people(&mut self, t_s: f64, frame: &YuvFrame, events: &mut Vec<LiveEvent>) {
        let (Some((link, camera)), Some(analyzer)) = (&mut self.people, self.analyzer.as_mut()) else { return };
        if let Some(zones) = link.pending_zones.lock_or_recover().take() {
            tracing::info!(camera = %self.camera.id, zones = zones.len(), "zones changed");
            // A zone removed counts nobody from now on (its stored count and its
            // retained MQTT topic would otherwise keep their last value).
            let now = UnixMillis::from_unix_s(t_s);
            for gone in link.zones.iter().filter(|z| !zones.iter().any(|n| n.id == z.id)) {
                events.push(Event::Presence { zone: gone.id.clone(), operator_of: None, people: 0, t: now });
            }
            link.zones = zones;
            self.zones = None;
        }
        if link.zones.is_empty() && !self.camera.privacy_blur {
            return;
        }
        let size = (frame.width_px(), frame.height_px());
        if self.zones.as_ref().is_none_or(|(_, s)| *s != size) {
            match ZoneMonitor::new(&self.camera, link.zones.clone(), &self.machines, &link.settings, size.0, size.1) {
                Ok(zones) => self.zones = Some((zones, size)),
                Err(e) => {
                    // The camera's frames are not the size the zones were drawn for:
                    // people are no longer looked for on it; the lamps go on.
                    tracing::error!(camera = %self.camera.id, error = %e, "the zones do not fit this camera's frames");
                    self.people = None;
                    return;
                }
            }
        }
        let Some((zones, _)) = self.zones.as_mut() else { return };
        while let Some(sighting) = camera.try_answer() {
            match sighting.people {
                Ok(people) => {
                    let seen_s = sighting.t_s;
                    self.stats.people_looks += 1;
                    analyzer.people_seen(seen_s, &people, zones.interval_s());
                    let first = events.len();
                    let state_of = |m: &str| analyzer.state_of(m).or_else(|| link.states.get(m));
                    zones.observe(seen_s, &people, state_of, events);
                    if let Some(pictures) = &link.safety_pictures {
                        for e in &mut events[first..] {
                            if let Event::Safety { zone, t, snapshot, .. } = e {
                                *snapshot = pictures.keep(&sighting.frame, &people, self.camera.privacy_blur, zone, *t);
                            }
                        }
                    }
                    self.last_people = Some((seen_s, people));
                }
                Err(e) => {
                    self.stats.people_failures += 1;
                    if self.stats.people_failures.is_power_of_two() {
                        tracing::warn!(camera = %self.camera.id, error = %e, count = self.stats.people_failures, "person detection failed");
                    }
                }
            }
        }
        if zones.due(t_s) && !camera.submit(t_s, Arc::new(frame.clone()), zones.crop()) {
            self.stats.people_skipped += 1;
        }
    }

    /// The camera cannot see: its machines are `NotAvailable`, their lamps `unknown`,
    /// and their readers start afresh when frames come back.
    fn blind(&mut self, t_s: f64) {
        if let Some(analyzer) = self.analyzer.as_mut().or(self.previous.as_mut()) {
            let mut events = Vec::new();
            analyzer.blind(t_s, &mut events);
            for e in events {
                self.out.send(e);
            }
        }
        self.publish();
    }

    fn publish(&mut self) {
        self.published = Some(std::time::Instant::now());
        let mut status = self.status.lock_or_recover();
        status.stats = self.stats.clone();
        if let Some(frame) = self.latest.take() {
            status.frame = Some(frame);
        }
        if let Some(people) = self.last_people.take() {
            status.people = Some(people);
        }
        status.machines = match self.analyzer.as_ref().or(self.previous.as_ref()) {
            Some(a) => a.statuses(),
            None => self
                .machines
                .iter()
                .map(|m| MachineStatus {
                    id: m.id.clone(),
                    lamps: m.lamps.iter().map(|l| (l.color, None)).collect(),
                    state: (!m.lamps.is_empty()).then_some(MachineState::NotAvailable),
                    state_since_s: status.since.as_unix_s(),
                    strokes: 0,
                    motion_active: false,
                })
                .collect(),
        };
    }
}

/// CPU time of the calling thread.
#[cfg(unix)]
fn thread_cpu_ns() -> u64 {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec we pass.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) } != 0 {
        return 0;
    }
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

#[cfg(not(unix))]
fn thread_cpu_ns() -> u64 {
    0
}
