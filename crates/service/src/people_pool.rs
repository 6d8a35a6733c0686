//! The people workers: a few threads that run the person detector for every camera with
//! zones, apart from the cameras' own threads, so that detection never delays the lamp
//! and stroke analysis.
//!
//! Invariants: a camera has at most one look queued or running, so the queue holds at
//! most one job per camera and a look waits at most one round of the cameras; a camera
//! whose look is due while its previous one is not answered yet skips it and counts
//! the skip (it never waits); results go back to the camera's own thread, which applies
//! them in order with its analysis; the workers end when the pool is closed or dropped.
//!
//! Cameras started together are due together: a queue of one job per worker would
//! refuse most of such a burst and then stand idle until the next one.

use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use sheetsight_base::LockOrRecover;
use sheetsight_config::{PeopleConfig, ZoneConfig};
use sheetsight_monitor::people::DetectPeople;
use sheetsight_vision::YuvFrame;
use sheetsight_vision::event::{Event, LiveEvent};
use sheetsight_vision::roi::BoxPx;
use sheetsight_vision::state::MachineState;
use sheetsight_vision::zone::PersonPx;

/// Looks queued at most (one per camera; more cameras than this skip when it is full).
const MAX_QUEUED: usize = 256;

/// What came back for one look: the frame and its time, and the people or why not.
pub struct Sighting {
    pub t_s: f64,
    pub frame: Arc<YuvFrame>,
    pub people: Result<Vec<PersonPx>, String>,
}

struct Job {
    t_s: f64,
    frame: Arc<YuvFrame>,
    crop: BoxPx,
    reply: Sender<Sighting>,
}

/// The shared detector threads.
pub struct PeoplePool {
    queue: Mutex<Option<SyncSender<Job>>>,
}

impl PeoplePool {
    /// Starts `workers` threads running `detector`.
    pub fn start(detector: Arc<dyn DetectPeople>, workers: usize) -> std::io::Result<Arc<Self>> {
        let workers = workers.max(1);
        let (tx, rx) = mpsc::sync_channel::<Job>(MAX_QUEUED);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..workers {
            let (rx, detector) = (rx.clone(), detector.clone());
            std::thread::Builder::new().name(format!("people-{i}")).spawn(move || work(&rx, &*detector))?;
        }
        Ok(Arc::new(Self { queue: Mutex::new(Some(tx)) }))
    }

    /// Queues a look; false when every worker is busy (the caller counts a skip).
    fn submit(&self, job: Job) -> bool {
        let queue = self.queue.lock_or_recover();
        let Some(tx) = queue.as_ref() else { return false };
        match tx.try_send(job) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
        }
    }

    /// Stops taking jobs; the workers end after the ones queued.
    pub fn close(&self) {
        self.queue.lock_or_recover().take();
    }
}

fn work(rx: &Mutex<Receiver<Job>>, detector: &dyn DetectPeople) {
    loop {
        let job = match rx.lock_or_recover().recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| detector.detect(&job.frame, job.crop)))
            .unwrap_or_else(|_| Err("the person detector panicked".into()));
        // The camera may be gone; then nobody needs the answer.
        let _ = job.reply.send(Sighting { t_s: job.t_s, frame: job.frame, people: result });
    }
}

/// What a camera's worker needs to look for people: its zones, the settings, the pool,
/// every machine's current state, and where the pictures of safety events are kept.
#[derive(Clone)]
pub struct PeopleLink {
    pub pool: Arc<PeoplePool>,
    pub zones: Vec<ZoneConfig>,
    pub settings: PeopleConfig,
    pub states: MachineStates,
    pub safety_pictures: Option<crate::safety_pictures::SafetyPictures>,
    /// New zones for the camera (drawn in the region editor while it runs).
    pub pending_zones: PendingZones,
}

/// Zones changed while a camera runs, taken by its worker at its next frame.
pub type PendingZones = Arc<Mutex<Option<Vec<ZoneConfig>>>>;

/// The current state of every machine, written by each camera as its machines change:
/// a zone may watch the floor of a machine whose stack light another camera sees.
#[derive(Clone, Default)]
pub struct MachineStates(Arc<Mutex<HashMap<String, MachineState>>>);

impl MachineStates {
    /// Notes a state event.
    pub fn note(&self, event: &LiveEvent) {
        if let Event::State { machine, state, .. } = event {
            self.0.lock_or_recover().insert(machine.clone(), *state);
        }
    }

    pub fn get(&self, machine: &str) -> Option<MachineState> {
        self.0.lock_or_recover().get(machine).copied()
    }
}

/// One camera's side of the pool: submits its due frames, receives its sightings.
pub struct CameraPeople {
    pool: Arc<PeoplePool>,
    reply_tx: Sender<Sighting>,
    replies: Receiver<Sighting>,
    in_flight: bool,
}

impl CameraPeople {
    pub fn new(pool: Arc<PeoplePool>) -> Self {
        let (reply_tx, replies) = mpsc::channel();
        Self { pool, reply_tx, replies, in_flight: false }
    }

    /// Queues a look at `frame`; false (skipped) while this camera's previous look is
    /// not answered yet, or when the queue is full.
    pub fn submit(&mut self, t_s: f64, frame: Arc<YuvFrame>, crop: BoxPx) -> bool {
        if self.in_flight {
            return false;
        }
        self.in_flight = self.pool.submit(Job { t_s, frame, crop, reply: self.reply_tx.clone() });
        self.in_flight
    }

    /// The answer that came back, if any (never waits).
    pub fn try_answer(&mut self) -> Option<Sighting> {
        let answer = self.replies.try_recv().ok()?;
        self.in_flight = false;
        Some(answer)
    }

    /// Waits for the answer.
    #[cfg(test)]
    fn answer(&mut self, timeout: std::time::Duration) -> Option<Sighting> {
        let answer = self.replies.recv_timeout(timeout).ok()?;
        self.in_flight = false;
        Some(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Slow(std::time::Duration);
    impl DetectPeople for Slow {
        fn detect(&self, _: &YuvFrame, crop: BoxPx) -> Result<Vec<PersonPx>, String> {
            std::thread::sleep(self.0);
            Ok(vec![PersonPx { x0: crop.x0 as f32, y0: 0.0, x1: crop.x1 as f32, y1: 10.0 }])
        }
    }

    #[test]
    fn a_camera_with_a_look_pending_skips_and_a_burst_of_cameras_is_queued() {
        let pool = PeoplePool::start(Arc::new(Slow(std::time::Duration::from_millis(50))), 1).expect("threads");
        let frame = Arc::new(YuvFrame::filled(16, 16, 16, 128, 128));
        let crop = BoxPx { x0: 1, y0: 0, x1: 8, y1: 8 };
        // Sixteen cameras due at once: every one is queued, none refused.
        let mut cameras: Vec<CameraPeople> = (0..16).map(|_| CameraPeople::new(pool.clone())).collect();
        assert!(cameras.iter_mut().all(|c| c.submit(0.0, frame.clone(), crop)));
        // A camera whose look is still pending skips the next one (never waits).
        assert!(!cameras[15].submit(1.0, frame.clone(), crop));
        for c in &mut cameras {
            let sighting = c.answer(std::time::Duration::from_secs(10)).expect("answered");
            assert_eq!((sighting.t_s, sighting.people.expect("people").len()), (0.0, 1));
        }
        assert!(cameras[15].submit(2.0, frame.clone(), crop), "answered: it may look again");
        pool.close();
    }

    #[test]
    fn a_panicking_detector_is_an_answer_not_a_dead_worker() {
        struct Panics;
        impl DetectPeople for Panics {
            fn detect(&self, _: &YuvFrame, _: BoxPx) -> Result<Vec<PersonPx>, String> {
                panic!("model bug")
            }
        }
        let pool = PeoplePool::start(Arc::new(Panics), 1).expect("threads");
        let mut camera = CameraPeople::new(pool.clone());
        let frame = Arc::new(YuvFrame::filled(16, 16, 16, 128, 128));
        let crop = BoxPx { x0: 0, y0: 0, x1: 8, y1: 8 };
        for i in 0..2 {
            assert!(camera.submit(f64::from(i), frame.clone(), crop));
            let answer = camera.answer(std::time::Duration::from_secs(10)).expect("answer");
            assert!(answer.people.expect_err("panicked").contains("panicked"));
        }
    }
}
