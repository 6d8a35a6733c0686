//! The supervisor on a simulated clock, with cameras injected through `SourceOpener`:
//! a camera that hangs is stalled, then failed, then reconnected; a camera that refuses
//! is retried with growing waits.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use sheetsight_base::{SimulatedClocks, UnixMillis};
use sheetsight_config::{CameraConfig, SourceSpec};
use sheetsight_ingest::source::{LiveSource, Packet, Payload, SourceError, SourceErrorKind, SourceOpener};
use sheetsight_ingest::supervisor::{CameraMsg, Progress, WorkerLink, supervise};
use sheetsight_vision::YuvFrame;
use sheetsight_vision::event::CameraHealth;
use tokio::time::Instant;

/// The simulated wall time at which every test starts.
const BOOT: UnixMillis = UnixMillis(1_780_000_000_000);

/// Sends a frame every 100 ms; after `hang_after` frames, nothing more (but stays open).
struct FakeCamera {
    sent: usize,
    hang_after: Option<usize>,
}

impl LiveSource for FakeCamera {
    fn next(&mut self) -> BoxFuture<'_, Result<Packet, SourceError>> {
        Box::pin(async move {
            if self.hang_after.is_some_and(|n| self.sent >= n) {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            self.sent += 1;
            Ok(Packet { t_s: 0.0, payload: Payload::Raw(YuvFrame::filled(16, 16, 0, 128, 128)) })
        })
    }

    fn announced_interval_s(&self) -> Option<f64> {
        Some(0.1)
    }

    fn describe(&self) -> String {
        "fake".into()
    }
}

/// Open number `i` gets `script[i]` (the last repeats): `None` refuses.
struct FakeOpener {
    opens: AtomicUsize,
    script: Vec<Option<Option<usize>>>,
    opened_at: Mutex<Vec<Instant>>,
}

impl SourceOpener for FakeOpener {
    fn open<'a>(&'a self, _camera: &'a CameraConfig) -> BoxFuture<'a, Result<Box<dyn LiveSource>, SourceError>> {
        Box::pin(async move {
            let i = self.opens.fetch_add(1, Ordering::SeqCst);
            self.opened_at.lock().expect("lock").push(Instant::now());
            match self.script.get(i).or(self.script.last()).copied().flatten() {
                Some(hang_after) => Ok(Box::new(FakeCamera { sent: 0, hang_after }) as Box<dyn LiveSource>),
                None => Err(SourceError::new(SourceErrorKind::Refused, "wrong password")),
            }
        })
    }
}

/// Runs the supervisor for `for_s` simulated seconds; a stand-in worker "decodes" every
/// packet. Returns the health changes with the simulated seconds since the start at
/// which they arrived and the wall time (seconds since 1970) they carry, and the opener.
async fn run(script: Vec<Option<Option<usize>>>, for_s: u64) -> (Vec<(f64, CameraHealth, f64)>, Arc<FakeOpener>) {
    let opener = Arc::new(FakeOpener { opens: AtomicUsize::new(0), script, opened_at: Mutex::new(Vec::new()) });
    let progress = Arc::new(Progress::default());
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = sheetsight_base::shutdown::channel();
    let camera = CameraConfig::new("cam", SourceSpec::Url("rtsp://camera.invalid/".into()), Some(10.0));
    let clocks = SimulatedClocks::shared(BOOT);
    let link = WorkerLink { tx, progress: progress.clone(), clocks, tap: None };
    let task = tokio::spawn(supervise(camera, opener.clone(), link, stop_rx));
    let start = Instant::now();
    let mut health = Vec::new();
    while start.elapsed() < Duration::from_secs(for_s) {
        while let Ok(msg) = rx.try_recv() {
            match msg {
                CameraMsg::Packet(_) => {
                    progress.queued.fetch_sub(1, Ordering::Relaxed);
                    progress.frames_decoded.fetch_add(1, Ordering::Relaxed);
                }
                CameraMsg::Health { health: h, at, .. } => {
                    health.push((start.elapsed().as_secs_f64(), h, at.as_unix_s()))
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop_tx.shut_down();
    task.await.expect("supervisor ends on stop");
    (health, opener)
}

#[tokio::test(start_paused = true)]
async fn a_hanging_camera_is_stalled_then_failed_then_reconnected() {
    // First connection: 20 frames, then silence; the second streams on.
    let (health, opener) = run(vec![Some(Some(20)), Some(None)], 20).await;
    let kinds: Vec<CameraHealth> = health.iter().map(|h| h.1).collect();
    use CameraHealth::*;
    assert_eq!(kinds, [Connecting, Streaming, Stalled, Failed, Connecting, Streaming], "{health:?}");
    let at = |k: CameraHealth, n: usize| health.iter().filter(|h| h.1 == k).nth(n).expect("present").0;
    // Frames stop at 2.0 s; ten 100 ms intervals are under the 2 s floor: stalled at ~4 s.
    let stalled = at(Stalled, 0);
    assert!((3.9..4.3).contains(&stalled), "stalled at {stalled}");
    // The stall is dated on the simulated wall clock to when the frame after the last
    // one was due (2.1 s after the start), as the supervisor saw it: it notices decoded
    // frames at its 100 ms checks, so up to one check later.
    let (_, _, stalled_since_s) = health.iter().find(|h| h.1 == Stalled).copied().expect("stalled");
    let due_s = BOOT.as_unix_s() + 2.1;
    assert!((due_s - 0.001..=due_s + 0.101).contains(&stalled_since_s), "stalled since {stalled_since_s}, due {due_s}");
    let (connected_at, _, connected_since_s) = health[0];
    assert!((connected_since_s - (BOOT.as_unix_s() + connected_at)).abs() < 0.02, "{health:?}");
    // Failed after three times the stall time without a frame (~8 s), retried within
    // the first backoff (0.25-0.5 s).
    let failed = at(Failed, 0);
    assert!((7.9..8.3).contains(&failed), "failed at {failed}");
    let reconnected = at(Connecting, 1);
    assert!(reconnected - failed <= 0.55, "{reconnected} after {failed}");
    assert_eq!(opener.opens.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn a_refusing_camera_is_retried_with_growing_capped_waits() {
    let (health, opener) = run(vec![None], 120).await;
    assert!(health.iter().all(|h| h.1 != CameraHealth::Streaming));
    let opened = opener.opened_at.lock().expect("lock").clone();
    let waits: Vec<f64> = opened.windows(2).map(|w| (w[1] - w[0]).as_secs_f64()).collect();
    // 0.5, 1, 2, 4, 8, 16, then capped at 30 s (each 50-100 % of that).
    let nominal = [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0];
    for (w, n) in waits.iter().zip(nominal) {
        assert!(*w >= n * 0.5 - 0.01 && *w <= n + 0.01, "waited {w} s where {n} s was due: {waits:?}");
    }
    assert!(waits.len() >= 7, "{waits:?}");
    assert!(waits.iter().all(|w| *w <= 30.01), "capped: {waits:?}");
}
