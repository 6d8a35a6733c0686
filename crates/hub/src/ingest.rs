//! The hub's side: edges' batches from the broker into PostgreSQL, each stored exactly
//! once, then acknowledged.
//!
//! Batches arrive through the shared subscription [`topics::SHARED_BATCHES`]; each is
//! handed to one of [`HubOptions::workers`] tasks chosen by its shop, so one process
//! stores a shop's batches in arrival order, and the database's row lock on the edge's
//! watermark orders them between processes. A batch is acknowledged only after its
//! transaction committed; one that cannot be stored is not acknowledged, and the edge
//! sends it again. The hub is a Sparkplug primary host: `spBv1.0/STATE/<host id>` says
//! `online` while it runs (retained), and its will says `offline`.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rumqttc::{AsyncClient, QoS};
use sheetsight_base::UnixMillis;
use sheetsight_base::error::with_causes;
use sheetsight_base::shutdown;
use sheetsight_config::HubMqttConfig;
use sheetsight_store::postgres::PgDatabase;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::connection::{self, Broker, Seen};
use crate::topics::{self, Ack, Batch};

#[derive(Clone, Debug)]
pub struct HubOptions {
    /// Tasks storing batches at once (each holds one database connection while it does).
    pub workers: usize,
    /// The Sparkplug primary host id this hub announces.
    pub sparkplug_host_id: String,
}

impl Default for HubOptions {
    fn default() -> Self {
        Self { workers: 4, sparkplug_host_id: "sheetsight-hub".into() }
    }
}

/// Counters of the hub's ingest, readable while it runs.
#[derive(Debug, Default)]
pub struct IngestStats {
    pub batches: AtomicU64,
    pub rows_stored: AtomicU64,
    pub duplicates: AtomicU64,
    pub gaps: AtomicU64,
    pub failures: AtomicU64,
    pub refused: AtomicU64,
    pub quarantined: AtomicU64,
}

/// Starts the hub's ingest; it ends at `stop`.
pub fn spawn(
    db: PgDatabase,
    mqtt: &HubMqttConfig,
    options: HubOptions,
    stop: shutdown::Receiver,
) -> (Arc<IngestStats>, JoinHandle<()>) {
    let stats = Arc::new(IngestStats::default());
    let state_topic = topics::sparkplug_state(&options.sparkplug_host_id);
    let broker = Broker {
        host: mqtt.host.clone(),
        port: mqtt.port,
        client_id: mqtt.client_id.clone(),
        username: mqtt.username.clone(),
        password: mqtt.password.clone(),
        will: Some((state_topic, host_state(false))),
    };
    let task = tokio::spawn(run(db, broker, options, stats.clone(), stop));
    (stats, task)
}

fn host_state(online: bool) -> Vec<u8> {
    serde_json::json!({ "online": online, "timestamp": UnixMillis::now().0 }).to_string().into_bytes()
}

struct Job {
    shop: String,
    payload: bytes::Bytes,
}

async fn run(db: PgDatabase, broker: Broker, options: HubOptions, stats: Arc<IngestStats>, stop: shutdown::Receiver) {
    let (client, mut seen) = connection::connect(&broker, stop.clone());
    let state_topic = topics::sparkplug_state(&options.sparkplug_host_id);
    let workers: Vec<mpsc::Sender<Job>> = (0..options.workers.max(1))
        .map(|_| {
            let (tx, rx) = mpsc::channel(64);
            tokio::spawn(work(db.clone(), client.clone(), stats.clone(), rx));
            tx
        })
        .collect();
    tracing::info!(broker = %format!("{}:{}", broker.host, broker.port), workers = workers.len(), "the hub takes batches");
    loop {
        let s = tokio::select! {
            _ = stop.wait() => break,
            s = seen.recv() => s,
        };
        match s {
            Some(Seen::Connected) => {
                let _ = client.subscribe(topics::SHARED_BATCHES, QoS::AtLeastOnce).await;
                let _ = client.publish(&state_topic, QoS::AtLeastOnce, true, host_state(true)).await;
            }
            Some(Seen::Message { topic, payload }) => {
                let Some(shop) = topics::shop_of_batch(&topic) else { continue };
                let mut h = DefaultHasher::new();
                shop.hash(&mut h);
                let worker = &workers[(h.finish() % workers.len() as u64) as usize];
                if worker.send(Job { shop: shop.to_string(), payload }).await.is_err() {
                    break;
                }
            }
            Some(Seen::Lost { .. }) => {}
            None => break,
        }
    }
    let _ = client.publish(&state_topic, QoS::AtLeastOnce, true, host_state(false)).await;
    let _ = client.disconnect().await;
}

async fn work(db: PgDatabase, client: AsyncClient, stats: Arc<IngestStats>, mut jobs: mpsc::Receiver<Job>) {
    while let Some(job) = jobs.recv().await {
        if job.payload.len() > topics::MAX_BATCH_BYTES {
            stats.refused.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(shop = job.shop, bytes = job.payload.len(), "a batch larger than 8 MiB is refused");
            continue;
        }
        let batch: Batch<'_> = match serde_json::from_slice(&job.payload) {
            Ok(b) => b,
            Err(e) => {
                stats.refused.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(shop = job.shop, error = %e, "a batch that is not one was refused");
                continue;
            }
        };
        let rows: Vec<(i64, &str)> = batch.rows.iter().map(|(seq, change)| (*seq, change.get())).collect();
        let stored = db.ingest(&job.shop, &batch.epoch, batch.acked, &rows, UnixMillis::now()).await;
        let outcome = match stored {
            Ok(o) => o,
            Err(e) => {
                // Not acknowledged: the edge sends it again.
                stats.failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(shop = job.shop, error = %with_causes(&e), "cannot store a batch; the edge will resend it");
                continue;
            }
        };
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats.rows_stored.fetch_add(outcome.applied, Ordering::Relaxed);
        stats.duplicates.fetch_add(outcome.duplicates, Ordering::Relaxed);
        stats.quarantined.fetch_add(outcome.quarantined, Ordering::Relaxed);
        stats.gaps.fetch_add(u64::from(outcome.gap), Ordering::Relaxed);
        let ack = Ack { epoch: batch.epoch.clone(), seq: outcome.watermark, replay: outcome.gap };
        let payload = serde_json::to_vec(&ack).unwrap_or_default();
        if let Err(e) = client.publish(topics::ack(&job.shop), QoS::AtLeastOnce, true, payload).await {
            tracing::warn!(shop = job.shop, error = %e, "cannot queue an acknowledgement; the edge will resend");
        }
    }
}
