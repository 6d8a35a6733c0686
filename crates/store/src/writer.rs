//! The batching writer: events in, one transaction a second out.
//!
//! Whatever reaches [`EventSink::send`] is written within one flush interval (1 s by
//! default), so a crash of the process loses at most that much. A failed write keeps its
//! events and tries again at the next tick; nothing is dropped unless the database stays
//! unwritable long enough for [`MAX_PENDING`] events to pile up.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sheetsight_vision::event::Event;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::{Millis, Store, now_millis};

/// Events kept in memory while the database cannot be written.
pub const MAX_PENDING: usize = 1_000_000;
/// A batch this large is written at once rather than at the next tick.
const BATCH_EVENTS: usize = 2000;

/// Where the analysers send their events; cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct EventSink(mpsc::UnboundedSender<Event>);

impl EventSink {
    pub fn send(&self, event: Event) {
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
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self { flush_interval: Duration::from_secs(1), retention: None, timings: Arc::default() }
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
    pending: &mut Vec<Event>,
    stats: &mut WriterStats,
    timings: &WriteTimings,
) {
    let started = std::time::Instant::now();
    let written = store.write(run, pending, now_millis()).await;
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
            tracing::error!(error = %e, pending = pending.len(), "cannot write history; retrying at the next tick");
            if pending.len() > MAX_PENDING {
                let lost = pending.len() - MAX_PENDING;
                pending.drain(..lost);
                stats.events_lost += lost as u64;
                tracing::error!(lost, "history kept in memory is full; the oldest events are lost");
            }
        }
    }
}

async fn purge<S: Store>(store: &S, retention: Duration) {
    let before: Millis = now_millis() - retention.as_millis() as Millis;
    match store.purge(before).await {
        Ok(0) => {}
        Ok(rows) => tracing::info!(rows, before = %crate::rfc3339(before), "purged history past its retention"),
        Err(e) => tracing::error!(error = %e, "cannot purge old history"),
    }
}

async fn write_loop<S: Store>(
    store: Arc<S>,
    run: i64,
    options: WriterOptions,
    mut rx: mpsc::UnboundedReceiver<Event>,
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
                        flush(&*store, run, &mut pending, &mut stats, &options.timings).await;
                    }
                }
                None => break,
            },
            _ = tick.tick() => flush(&*store, run, &mut pending, &mut stats, &options.timings).await,
            _ = purge_tick.tick(), if options.retention.is_some() => {
                if let Some(r) = options.retention {
                    purge(&*store, r).await;
                }
            }
        }
    }
    // The last flush: try a few times, a locked database often frees within seconds.
    for _ in 0..5 {
        flush(&*store, run, &mut pending, &mut stats, &options.timings).await;
        if pending.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    stats.events_lost += pending.len() as u64;
    stats
}
