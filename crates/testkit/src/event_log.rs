//! Every event a service sends, with when it arrived, for tests to wait on.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sheetsight_base::LockOrRecover;
use sheetsight_vision::event::{CameraHealth, Event, LiveEvent};
use tokio::sync::broadcast;

#[derive(Clone, Default)]
pub struct EventLog(Arc<Mutex<Vec<(Instant, LiveEvent)>>>);

impl EventLog {
    /// Collects from `rx` until its sender is gone. Needs a Tokio runtime.
    pub fn spawn(mut rx: broadcast::Receiver<LiveEvent>) -> Self {
        let log = Self::default();
        let sink = log.0.clone();
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(e) => sink.lock_or_recover().push((Instant::now(), e)),
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        log
    }

    pub fn events(&self) -> MutexGuard<'_, Vec<(Instant, LiveEvent)>> {
        self.0.lock_or_recover()
    }

    /// Forgets what was collected (long runs keep memory flat).
    pub fn clear(&self) {
        self.events().clear();
    }

    /// When the first event after `after` matching `f` arrived, waiting up to `timeout`.
    pub async fn wait_for(&self, after: Instant, timeout: Duration, f: impl Fn(&LiveEvent) -> bool) -> Option<Instant> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some((at, _)) = self.events().iter().find(|(at, e)| *at >= after && f(e)) {
                return Some(*at);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Seconds from `after` until every one of `cameras` cameras has streamed again.
    pub async fn wait_all_streaming(&self, after: Instant, cameras: usize, timeout: Duration) -> Option<f64> {
        let deadline = after + timeout;
        loop {
            let streaming: std::collections::HashSet<String> = self
                .events()
                .iter()
                .filter(|(at, _)| *at >= after)
                .filter_map(|(_, e)| match e {
                    Event::Health { camera, health: CameraHealth::Streaming, .. } => Some(camera.clone()),
                    _ => None,
                })
                .collect();
            if streaming.len() >= cameras {
                return Some(after.elapsed().as_secs_f64());
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
