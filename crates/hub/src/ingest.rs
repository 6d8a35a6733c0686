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
    /// Copies of batches that were still waiting to be stored, dropped on arrival.
    pub copies_dropped: AtomicU64,
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
        tls: mqtt.tls.clone(),
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
    /// Its key in [`Queued`], removed once it is stored.
    key: Option<QueuedKey>,
}

/// What the dispatcher reads of a batch before a worker parses it whole.
#[derive(serde::Deserialize)]
struct BatchHead {
    epoch: String,
    #[serde(default)]
    live: bool,
    rows: Vec<(i64, serde::de::IgnoredAny)>,
}

/// A batch by shop, epoch and first sequence.
type QueuedKey = (String, String, i64);

/// The batches waiting in the workers' queues. An edge whose acknowledgement is late
/// sends its rows again; the copy of a batch still waiting is dropped on arrival, so that
/// a long queue does not grow from its own resends (the waiting one is acknowledged).
#[derive(Default)]
struct Queued(std::sync::Mutex<std::collections::HashSet<QueuedKey>>);

impl Queued {
    /// False when the same batch waits already.
    fn insert(&self, key: &QueuedKey) -> bool {
        self.0.lock().is_ok_and(|mut set| set.insert(key.clone()))
    }

    fn remove(&self, key: &QueuedKey) {
        if let Ok(mut set) = self.0.lock() {
            set.remove(key);
        }
    }
}

/// A worker's two queues: batches of edges that are up to date go first, so that a
/// crowd of edges catching up on a day of backlog does not delay today's figures.
struct WorkerQueues {
    live: mpsc::Sender<Job>,
    backlog: mpsc::Sender<Job>,
}

async fn run(db: PgDatabase, broker: Broker, options: HubOptions, stats: Arc<IngestStats>, stop: shutdown::Receiver) {
    let (client, mut seen) = match connection::connect(&broker, stop.clone()) {
        Ok(connected) => connected,
        Err(e) => {
            tracing::error!(error = %with_causes(&e), "cannot use TLS to the broker: the hub takes no batches");
            return;
        }
    };
    let state_topic = topics::sparkplug_state(&options.sparkplug_host_id);
    let queued = Arc::new(Queued::default());
    let workers: Vec<WorkerQueues> = (0..options.workers.max(1))
        .map(|_| {
            let (live, live_rx) = mpsc::channel(QUEUE_BATCHES);
            let (backlog, backlog_rx) = mpsc::channel(QUEUE_BATCHES);
            tokio::spawn(work(db.clone(), client.clone(), stats.clone(), queued.clone(), live_rx, backlog_rx));
            WorkerQueues { live, backlog }
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
                // A batch that cannot be read goes on anyway: its worker says why it is refused.
                let head = serde_json::from_slice::<BatchHead>(&payload).ok();
                let live = head.as_ref().is_some_and(|b| b.live);
                let key = head.and_then(|b| Some((shop.to_string(), b.epoch, b.rows.first()?.0)));
                if let Some(key) = &key
                    && !queued.insert(key)
                {
                    stats.copies_dropped.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let queue = if live { &worker.live } else { &worker.backlog };
                if queue.send(Job { shop: shop.to_string(), payload, key }).await.is_err() {
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

/// Batches a worker's queue holds: edges send at most a few unacknowledged batches each
/// ([`crate::uplink::UplinkOptions::window_batches`]), so this bounds the hub's memory
/// without holding up the broker's connection.
const QUEUE_BATCHES: usize = 1024;

async fn work(
    db: PgDatabase,
    client: AsyncClient,
    stats: Arc<IngestStats>,
    queued: Arc<Queued>,
    mut live: mpsc::Receiver<Job>,
    mut backlog: mpsc::Receiver<Job>,
) {
    loop {
        let job = tokio::select! {
            biased;
            Some(job) = live.recv() => job,
            Some(job) = backlog.recv() => job,
            else => return,
        };
        store_batch(&db, &client, &stats, &job).await;
        if let Some(key) = &job.key {
            queued.remove(key);
        }
    }
}

/// Stores one batch and acknowledges what is stored (nothing for a batch refused).
async fn store_batch(db: &PgDatabase, client: &AsyncClient, stats: &IngestStats, job: &Job) {
    if job.payload.len() > topics::MAX_BATCH_BYTES {
        stats.refused.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(shop = job.shop, bytes = job.payload.len(), "a batch larger than 8 MiB is refused");
        return;
    }
    let batch: Batch<'_> = match serde_json::from_slice(&job.payload) {
        Ok(b) => b,
        Err(e) => {
            stats.refused.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(shop = job.shop, error = %e, "a batch that is not one was refused");
            return;
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
            return;
        }
    };
    stats.batches.fetch_add(1, Ordering::Relaxed);
    stats.rows_stored.fetch_add(outcome.applied, Ordering::Relaxed);
    stats.duplicates.fetch_add(outcome.duplicates, Ordering::Relaxed);
    stats.quarantined.fetch_add(outcome.quarantined, Ordering::Relaxed);
    stats.gaps.fetch_add(u64::from(outcome.gap), Ordering::Relaxed);
    let ack = Ack { epoch: batch.epoch.clone(), seq: outcome.watermark, replay: outcome.gap };
    let payload = serde_json::to_vec(&ack).unwrap_or_default();
    // Never wait here for the connection's queue: the connection may itself be waiting
    // for the workers to take its messages.
    if let Err(rumqttc::ClientError::TryRequest(_)) =
        client.try_publish(topics::ack(&job.shop), QoS::AtLeastOnce, true, payload.clone())
    {
        let (client, topic) = (client.clone(), topics::ack(&job.shop));
        tokio::spawn(async move {
            if let Err(e) = client.publish(topic, QoS::AtLeastOnce, true, payload).await {
                tracing::warn!(error = %e, "cannot queue an acknowledgement; the edge will resend");
            }
        });
    }
}
