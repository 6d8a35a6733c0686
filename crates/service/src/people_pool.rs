//! The people workers: a few threads that run the person detector for every camera with
//! zones, apart from the cameras' own threads, so that detection never delays the lamp
//! and stroke analysis.
//!
//! Invariants: the queue holds at most one job per worker; a camera whose look is due
//! while the queue is full skips it and counts the skip (never waits); results go back
//! to the camera's own thread, which applies them in order with its analysis; the
//! workers end when the last handle to the pool is dropped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use sheetsight_base::LockOrRecover;
use sheetsight_config::{PeopleConfig, ZoneConfig};
use sheetsight_monitor::people::DetectPeople;
use sheetsight_vision::YuvFrame;
use sheetsight_vision::roi::BoxPx;
use sheetsight_vision::zone::PersonPx;

/// What came back for one look: the frame's time and the people, or why not.
pub type Sighting = (f64, Result<Vec<PersonPx>, String>);

struct Job {
    t_s: f64,
    frame: Arc<YuvFrame>,
    crop: BoxPx,
    reply: Sender<Sighting>,
}

/// The shared detector threads.
pub struct PeoplePool {
    queue: Mutex<Option<SyncSender<Job>>>,
    /// Inference time spent by the workers, for the CPU figures.
    pub busy_ns: Arc<AtomicU64>,
}

impl PeoplePool {
    /// Starts `workers` threads running `detector`.
    pub fn start(detector: Arc<dyn DetectPeople>, workers: usize) -> std::io::Result<Arc<Self>> {
        let workers = workers.max(1);
        let (tx, rx) = mpsc::sync_channel::<Job>(workers);
        let rx = Arc::new(Mutex::new(rx));
        let busy_ns = Arc::new(AtomicU64::new(0));
        for i in 0..workers {
            let (rx, detector, busy) = (rx.clone(), detector.clone(), busy_ns.clone());
            std::thread::Builder::new().name(format!("people-{i}")).spawn(move || work(&rx, &*detector, &busy))?;
        }
        Ok(Arc::new(Self { queue: Mutex::new(Some(tx)), busy_ns }))
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

fn work(rx: &Mutex<Receiver<Job>>, detector: &dyn DetectPeople, busy_ns: &AtomicU64) {
    loop {
        let job = match rx.lock_or_recover().recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        let started = std::time::Instant::now();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| detector.detect(&job.frame, job.crop)))
            .unwrap_or_else(|_| Err("the person detector panicked".into()));
        busy_ns.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        // The camera may be gone; then nobody needs the answer.
        let _ = job.reply.send((job.t_s, result));
    }
}

/// What a camera's worker needs to look for people: its zones, the settings, the pool.
#[derive(Clone)]
pub struct PeopleLink {
    pub pool: Arc<PeoplePool>,
    pub zones: Vec<ZoneConfig>,
    pub settings: PeopleConfig,
}

/// One camera's side of the pool: submits its due frames, receives its sightings.
pub struct CameraPeople {
    pool: Arc<PeoplePool>,
    reply_tx: Sender<Sighting>,
    pub replies: Receiver<Sighting>,
}

impl CameraPeople {
    pub fn new(pool: Arc<PeoplePool>) -> Self {
        let (reply_tx, replies) = mpsc::channel();
        Self { pool, reply_tx, replies }
    }

    /// Queues a look at `frame`; false when the workers are all busy.
    pub fn submit(&self, t_s: f64, frame: Arc<YuvFrame>, crop: BoxPx) -> bool {
        self.pool.submit(Job { t_s, frame, crop, reply: self.reply_tx.clone() })
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
    fn a_full_pool_refuses_instead_of_waiting_and_answers_in_order() {
        let pool = PeoplePool::start(Arc::new(Slow(std::time::Duration::from_millis(300))), 1).expect("threads");
        let camera = CameraPeople::new(pool.clone());
        let frame = Arc::new(YuvFrame::filled(16, 16, 16, 128, 128));
        let crop = BoxPx { x0: 1, y0: 0, x1: 8, y1: 8 };
        let accepted: Vec<bool> = (0..6).map(|i| camera.submit(f64::from(i), frame.clone(), crop)).collect();
        // One running, one queued: the rest are refused at once.
        assert!(accepted[0] && accepted[1], "{accepted:?}");
        assert!(accepted.iter().filter(|a| **a).count() <= 3, "{accepted:?}");
        let first = camera.replies.recv().expect("answer");
        assert_eq!(first.0, 0.0);
        assert_eq!(first.1.expect("people").len(), 1);
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
        let camera = CameraPeople::new(pool.clone());
        let frame = Arc::new(YuvFrame::filled(16, 16, 16, 128, 128));
        let crop = BoxPx { x0: 0, y0: 0, x1: 8, y1: 8 };
        for i in 0..2 {
            while !camera.submit(f64::from(i), frame.clone(), crop) {
                std::thread::yield_now();
            }
            let (_, answer) = camera.replies.recv().expect("answer");
            assert!(answer.expect_err("panicked").contains("panicked"));
        }
    }
}
