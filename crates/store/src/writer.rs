//! The batching writer: events in, one transaction a second out.
//!
//! Whatever reaches [`EventSink::send`] is written within one flush interval (1 s by
//! default), so a crash of the process loses at most that much. A failed write keeps its
//! events and tries again at the next tick; nothing is dropped unless the database stays
//! unwritable long enough for [`MAX_PENDING`] events to pile up.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sheetsight_vision::event::LiveEvent;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use sheetsight_base::clock::{self, SharedClocks};
use sheetsight_base::error::with_causes;

use crate::Store;

/// Events kept in memory while the database cannot be written.
pub const MAX_PENDING: usize = 1_000_000;
/// A batch this large is written at once rather than at the next tick.
const BATCH_EVENTS: usize = 2000;

/// Where the analysers send their events; cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct EventSink(mpsc::UnboundedSender<LiveEvent>);

impl EventSink {
    pub fn send(&self, event: LiveEvent) {
        if self.0.send(event).is_err() {
            tracing::error!("the history writer has stopped; an event is lost");
        }
    }
}

#[derive(Clone, Debug)]
pub struct WriterOptions {
    pub flush_interval: Duration,
    /// Closed history older than this is purged once at start and then hourly.
    pub retention: Option<Duration>,
    /// Where the time of each batch's write is counted (for metrics).
    pub timings: Arc<WriteTimings>,
    /// The wall time of heartbeats and of the retention's cut-off.
    pub clocks: SharedClocks,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self { flush_interval: Duration::from_secs(1), retention: None, timings: Arc::default(), clocks: clock::real() }
    }
}

/// Upper bounds (seconds) of the [`WriteTimings`] buckets; the last bucket is unbounded.
pub const WRITE_BUCKETS_S: [f64; 9] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0];

/// A histogram of batch write times, readable while the writer runs.
#[derive(Debug, Default)]
pub struct WriteTimings {
    /// Non-cumulative counts per bucket of [`WRITE_BUCKETS_S`], then the overflow.
    pub buckets: [AtomicU64; 10],
    pub sum_us: AtomicU64,
    pub failures: AtomicU64,
}

impl WriteTimings {
    fn record(&self, elapsed: Duration) {
        let s = elapsed.as_secs_f64();
        let i = WRITE_BUCKETS_S.iter().position(|&b| s <= b).unwrap_or(WRITE_BUCKETS_S.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriterStats {
    pub events_written: u64,
    pub batches: u64,
    pub failed_writes: u64,
    pub events_lost: u64,
}

/// Starts the writer of run `run`. It ends when every [`EventSink`] is dropped, after a
/// last flush.
pub fn spawn<S: Store>(store: Arc<S>, run: i64, options: WriterOptions) -> (EventSink, JoinHandle<WriterStats>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (EventSink(tx), tokio::spawn(write_loop(store, run, options, rx)))
}

async fn flush<S: Store>(
    store: &S,
    run: i64,
    pending: &mut Vec<LiveEvent>,
    stats: &mut WriterStats,
    timings: &WriteTimings,
    clocks: &SharedClocks,
) {
    let started = std::time::Instant::now();
    let written = store.write(run, pending, clocks.realtime()).await;
    timings.record(started.elapsed());
    match written {
        Ok(()) => {
            stats.events_written += pending.len() as u64;
            stats.batches += 1;
            pending.clear();
        }
        Err(e) => {
            stats.failed_writes += 1;
            timings.failures.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %with_causes(&e), pending = pending.len(), "cannot write history; retrying at the next tick");
            if pending.len() > MAX_PENDING {
                let lost = pending.len() - MAX_PENDING;
                pending.drain(..lost);
                stats.events_lost += lost as u64;
                tracing::error!(lost, "history kept in memory is full; the oldest events are lost");
            }
        }
    }
}

async fn purge<S: Store>(store: &S, retention: Duration, clocks: &SharedClocks) {
    let before = clocks.realtime() - retention;
    match store.purge(before).await {
        Ok(0) => {}
        Ok(rows) => tracing::info!(rows, before = %before.rfc3339(), "purged history past its retention"),
        Err(e) => tracing::error!(error = %with_causes(&e), "cannot purge old history"),
    }
}

async fn write_loop<S: Store>(
    store: Arc<S>,
    run: i64,
    options: WriterOptions,
    mut rx: mpsc::UnboundedReceiver<LiveEvent>,
) -> WriterStats {
    let mut stats = WriterStats::default();
    let mut pending = Vec::new();
    let mut tick = tokio::time::interval(options.flush_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut purge_tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            event = rx.recv() => match event {
                Some(e) => {
                    pending.push(e);
                    if pending.len() >= BATCH_EVENTS {
                        flush(&*store, run, &mut pending, &mut stats, &options.timings, &options.clocks).await;
                    }
                }
                None => break,
            },
            _ = tick.tick() => flush(&*store, run, &mut pending, &mut stats, &options.timings, &options.clocks).await,
            _ = purge_tick.tick(), if options.retention.is_some() => {
                if let Some(r) = options.retention {
                    purge(&*store, r, &options.clocks).await;
                }
            }
        }
    }
    // The last flush: try a few times, a locked database often frees within seconds.
    for _ in 0..5 {
        flush(&*store, run, &mut pending, &mut stats, &options.timings, &options.clocks).await;
        if pending.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    stats.events_lost += pending.len() as u64;
    stats
}

#[cfg(test)]
mod tests {
    //! The writer on simulated time: tokio's clock paused, wall time from
    //! [`SimulatedClocks`], and a store that records what it was asked.

    use std::sync::Mutex;

    use sheetsight_base::{LockOrRecover, SimulatedClocks, UnixMillis};
    use sheetsight_vision::state::MachineState;

    use super::*;
    use crate::{HealthInterval, LampInterval, Query, RunRecord, StateInterval, StoreError, StrokeRecord};

    const BOOT: UnixMillis = UnixMillis(1_780_000_000_000);

    /// Remembers every write (events, heartbeat) and purge; fails the first `fail_writes`.
    #[derive(Default)]
    struct Recorder {
        writes: Mutex<Vec<(usize, UnixMillis)>>,
        purges: Mutex<Vec<UnixMillis>>,
        fail_writes: Mutex<usize>,
    }

    impl Store for Recorder {
        async fn begin_run(&self, _now: UnixMillis, _version: &str) -> Result<i64, StoreError> {
            Ok(1)
        }
        async fn write(&self, _run: i64, events: &[LiveEvent], heartbeat: UnixMillis) -> Result<(), StoreError> {
            let mut fail = self.fail_writes.lock_or_recover();
            if *fail > 0 {
                *fail -= 1;
                return Err(StoreError::new(crate::StoreErrorKind::Io, "writing a batch", "disk full"));
            }
            self.writes.lock_or_recover().push((events.len(), heartbeat));
            Ok(())
        }
        async fn end_run(&self, _run: i64, _now: UnixMillis) -> Result<(), StoreError> {
            Ok(())
        }
        async fn purge(&self, before: UnixMillis) -> Result<u64, StoreError> {
            self.purges.lock_or_recover().push(before);
            Ok(0)
        }
        async fn runs(&self) -> Result<Vec<RunRecord>, StoreError> {
            Ok(Vec::new())
        }
        async fn states(&self, _q: &Query) -> Result<Vec<StateInterval>, StoreError> {
            Ok(Vec::new())
        }
        async fn lamps(&self, _q: &Query) -> Result<Vec<LampInterval>, StoreError> {
            Ok(Vec::new())
        }
        async fn health(&self, _q: &Query) -> Result<Vec<HealthInterval>, StoreError> {
            Ok(Vec::new())
        }
        async fn strokes(&self, _q: &Query) -> Result<Vec<StrokeRecord>, StoreError> {
            Ok(Vec::new())
        }
        async fn stroke_totals(&self) -> Result<Vec<(String, u64)>, StoreError> {
            Ok(Vec::new())
        }
        async fn cycles(&self, _f: &crate::CycleFilter) -> Result<Vec<crate::CycleRecord>, StoreError> {
            Ok(Vec::new())
        }
        async fn presence(&self, _q: &Query) -> Result<Vec<crate::PresenceInterval>, StoreError> {
            Ok(Vec::new())
        }
        async fn operator_presence(&self, _q: &Query) -> Result<Vec<crate::PresenceInterval>, StoreError> {
            Ok(Vec::new())
        }
        async fn safety_events(&self, _q: &Query) -> Result<Vec<crate::SafetyRecord>, StoreError> {
            Ok(Vec::new())
        }
    }

    fn event(t_s: f64) -> LiveEvent {
        LiveEvent::State { machine: "m".into(), state: MachineState::Executing, t: UnixMillis::from_unix_s(t_s) }
    }

    #[tokio::test(start_paused = true)]
    async fn heartbeats_and_retention_follow_the_injected_clock() {
        let store = Arc::new(Recorder::default());
        let options = WriterOptions {
            retention: Some(Duration::from_secs(30 * 86_400)),
            clocks: SimulatedClocks::shared(BOOT),
            ..Default::default()
        };
        let (sink, writer) = spawn(store.clone(), 1, options);
        // After the writer's first tick (at once, with nothing to write).
        tokio::time::sleep(Duration::from_millis(10)).await;
        sink.send(event(0.0));
        tokio::time::sleep(Duration::from_millis(1490)).await;
        sink.send(event(1.5));
        tokio::time::sleep(Duration::from_secs(3600)).await;
        drop(sink);
        let stats = writer.await.expect("writer ends");
        assert_eq!(stats.events_written, 2);
        let writes = store.writes.lock_or_recover().clone();
        let with_events: Vec<_> = writes.iter().filter(|w| w.0 > 0).collect();
        // Each event is written at the first tick after it arrived, stamped with the
        // simulated wall time of that tick.
        assert_eq!(with_events, [&(1, BOOT + Duration::from_secs(1)), &(1, BOOT + Duration::from_secs(2))]);
        assert!(writes.iter().all(|w| w.1 >= BOOT && w.1 <= BOOT + Duration::from_secs(3602)), "{writes:?}");
        let purges = store.purges.lock_or_recover().clone();
        // At the start, then hourly: each cuts 30 days before its own simulated now.
        let month = Duration::from_secs(30 * 86_400);
        assert_eq!(purges, [BOOT - month, BOOT + Duration::from_secs(3600) - month]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_write_keeps_its_events_for_the_next_tick() {
        let store = Arc::new(Recorder { fail_writes: Mutex::new(2), ..Default::default() });
        let timings = Arc::new(WriteTimings::default());
        let options =
            WriterOptions { clocks: SimulatedClocks::shared(BOOT), timings: timings.clone(), ..Default::default() };
        let (sink, writer) = spawn(store.clone(), 1, options);
        // The first tick (at once, nothing pending) fails; so does the one at 1 s, which
        // holds the two events; the one at 2 s writes them.
        tokio::time::sleep(Duration::from_millis(10)).await;
        sink.send(event(0.0));
        sink.send(event(0.1));
        tokio::time::sleep(Duration::from_millis(3500)).await;
        drop(sink);
        let stats = writer.await.expect("writer ends");
        assert_eq!((stats.failed_writes, stats.events_written, stats.events_lost), (2, 2, 0));
        assert_eq!(timings.failures.load(Ordering::Relaxed), 2);
        let writes = store.writes.lock_or_recover().clone();
        assert_eq!(writes.iter().find(|w| w.0 > 0), Some(&(2, BOOT + Duration::from_secs(2))), "{writes:?}");
    }
}
