//! The edge's side: its outbox sent to the hub, in order, until acknowledged.
//!
//! Rows are published in sequence order at QoS 1, at most [`UplinkOptions::window_rows`]
//! beyond the last acknowledgement, so that backlog and live changes share the link in
//! the order they happened and a reconnect resends at most a window. Rows leave the
//! outbox only when the hub's [`Ack`] covers them. The link resends from the last
//! acknowledgement when a session begins, when the hub reports a gap, and when no
//! acknowledgement has come for [`UplinkOptions::ack_timeout`]. Duplicates this makes are
//! harmless: the hub stores each sequence number once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, QoS};
use sheetsight_base::UnixMillis;
use sheetsight_base::error::with_causes;
use sheetsight_base::shutdown;
use sheetsight_config::HubLinkConfig;
use sheetsight_store::sqlite::SqliteStore;
use tokio::task::JoinHandle;

use crate::connection::{self, Broker, Seen};
use crate::topics::{self, Ack};

#[derive(Clone, Debug)]
pub struct UplinkOptions {
    /// How often the outbox is looked at for new rows.
    pub poll_interval: Duration,
    pub batch_rows: u32,
    pub batch_bytes: usize,
    /// Rows sent and not yet acknowledged, at most.
    pub window_rows: i64,
    /// Batches sent and not yet acknowledged, at most: with many edges catching up at
    /// once, what waits at the hub stays a few batches an edge.
    pub window_batches: usize,
    /// With rows unacknowledged this long, they are sent again.
    pub ack_timeout: Duration,
}

impl Default for UplinkOptions {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_millis(200),
            batch_rows: 500,
            batch_bytes: 256 << 10,
            window_rows: 4000,
            window_batches: 4,
            ack_timeout: Duration::from_secs(20),
        }
    }
}

/// What the link is doing, readable while it runs.
#[derive(Debug, Default)]
pub struct UplinkStatus {
    pub connected: AtomicBool,
    /// The highest sequence acknowledged by the hub.
    pub acked: AtomicI64,
    /// The highest sequence published in this session.
    pub sent: AtomicI64,
    /// When the last acknowledgement came (ms since 1970; 0: never).
    pub last_ack_ms: AtomicI64,
    pub resends: AtomicI64,
}

/// Starts the edge's link to the hub; it ends at `stop` (after handing what it can to the
/// broker: the outbox keeps everything else for the next start).
pub fn spawn(
    store: SqliteStore,
    config: HubLinkConfig,
    options: UplinkOptions,
    stop: shutdown::Receiver,
) -> (Arc<UplinkStatus>, JoinHandle<()>) {
    let status = Arc::new(UplinkStatus::default());
    let task = tokio::spawn(run(store, config, options, status.clone(), stop));
    (status, task)
}

struct Link {
    store: SqliteStore,
    shop: String,
    epoch: String,
    client: AsyncClient,
    options: UplinkOptions,
    status: Arc<UplinkStatus>,
    connected: bool,
    acked: i64,
    sent: i64,
    /// When the acknowledgement last moved, or the rows were last (re)sent.
    progress: Instant,
    /// The sequence the last replay asked for was resent from, so that the same request
    /// repeated by every batch in flight resends only once.
    replayed_from: Option<i64>,
    /// The last sequence of each batch sent and not yet acknowledged, oldest first.
    in_flight: std::collections::VecDeque<i64>,
}

async fn run(
    store: SqliteStore,
    config: HubLinkConfig,
    options: UplinkOptions,
    status: Arc<UplinkStatus>,
    stop: shutdown::Receiver,
) {
    let (epoch, forgotten) = match (store.outbox_epoch().await, store.outbox_forgotten().await) {
        (Ok(e), Ok(f)) => (e, f),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %with_causes(&e), "cannot read the outbox: nothing is sent to the hub");
            return;
        }
    };
    let broker = Broker {
        host: config.host.clone(),
        port: config.port,
        client_id: format!("sheetsight-edge-{}", config.shop),
        username: config.username.clone(),
        password: config.password.clone(),
        will: Some((topics::edge(&config.shop), b"offline".to_vec())),
        tls: config.tls.clone(),
    };
    let (client, mut seen) = match connection::connect(&broker, stop.clone()) {
        Ok(connected) => connected,
        Err(e) => {
            tracing::error!(error = %with_causes(&e), "cannot use TLS to the hub's broker: nothing is sent to the hub");
            return;
        }
    };
    tracing::info!(shop = %config.shop, broker = %format!("{}:{}", config.host, config.port), epoch = %epoch, "sending history to the hub");
    let mut link = Link {
        store,
        shop: config.shop,
        epoch,
        client,
        options,
        status,
        connected: false,
        // What left the outbox was acknowledged, in this run or an earlier one.
        acked: forgotten,
        sent: forgotten,
        progress: Instant::now(),
        replayed_from: None,
        in_flight: Default::default(),
    };
    let mut tick = tokio::time::interval(link.options.poll_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.wait() => break,
            s = seen.recv() => match s {
                Some(s) => link.seen(s).await,
                None => break,
            },
            _ = tick.tick() => link.send().await,
        }
    }
    let _ = link.client.publish(topics::edge(&link.shop), QoS::AtLeastOnce, true, "offline").await;
    let _ = link.client.disconnect().await;
}

impl Link {
    async fn seen(&mut self, seen: Seen) {
        match seen {
            Seen::Connected => {
                self.connected = true;
                self.status.connected.store(true, Ordering::Relaxed);
                let ack = topics::ack(&self.shop);
                let _ = self.client.subscribe(ack, QoS::AtLeastOnce).await;
                let _ = self.client.publish(topics::edge(&self.shop), QoS::AtLeastOnce, true, "online").await;
                // Whatever was in flight in the old session may be lost: from the last ack.
                self.rewind("a new session");
                self.send().await;
            }
            Seen::Lost { .. } => {
                self.connected = false;
                self.status.connected.store(false, Ordering::Relaxed);
            }
            Seen::Message { topic, payload } if topic == topics::ack(&self.shop) => {
                match serde_json::from_slice::<Ack>(&payload) {
                    Ok(ack) => self.acknowledged(ack).await,
                    Err(e) => tracing::warn!(topic, error = %e, "an acknowledgement from the hub could not be read"),
                }
            }
            Seen::Message { .. } => {}
        }
    }

    async fn acknowledged(&mut self, ack: Ack) {
        if ack.epoch != self.epoch {
            // An answer about an earlier database of this shop (wiped since).
            return;
        }
        if ack.seq > self.acked {
            match self.store.outbox_acknowledged(ack.seq).await {
                Ok(_) => {
                    self.acked = ack.seq;
                    self.sent = self.sent.max(ack.seq);
                    while self.in_flight.front().is_some_and(|last| *last <= ack.seq) {
                        self.in_flight.pop_front();
                    }
                    self.progress = Instant::now();
                    self.status.acked.store(ack.seq, Ordering::Relaxed);
                    self.status.last_ack_ms.store(UnixMillis::now().0, Ordering::Relaxed);
                }
                Err(e) => tracing::error!(error = %with_causes(&e), "cannot clear acknowledged rows from the outbox"),
            }
        }
        if ack.replay && self.sent > ack.seq && self.replayed_from != Some(ack.seq) {
            self.replayed_from = Some(ack.seq);
            self.rewind("the hub found a gap");
        }
        self.send().await;
    }

    fn rewind(&mut self, why: &str) {
        if self.sent > self.acked {
            tracing::info!(from = self.acked + 1, to = self.sent, why, "sending to the hub again");
            self.status.resends.fetch_add(1, Ordering::Relaxed);
        }
        self.sent = self.acked;
        self.in_flight.clear();
        self.progress = Instant::now();
    }

    /// Publishes rows after `sent` while the window has room.
    async fn send(&mut self) {
        if !self.connected {
            return;
        }
        if self.sent > self.acked && self.progress.elapsed() > self.options.ack_timeout {
            self.replayed_from = None;
            self.rewind("no acknowledgement came in time");
        }
        while self.sent - self.acked < self.options.window_rows && self.in_flight.len() < self.options.window_batches {
            let rows = match self.store.outbox_after(self.sent, self.options.batch_rows, self.options.batch_bytes).await
            {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::error!(error = %with_causes(&e), "cannot read the outbox");
                    return;
                }
            };
            let Some(last) = rows.last().map(|r| r.seq) else { return };
            // Well below both limits: the batch ended where the outbox does.
            let bytes: usize = rows.iter().map(|r| r.body.len()).sum();
            let live = rows.len() < self.options.batch_rows as usize / 2 && bytes < self.options.batch_bytes / 2;
            let payload = topics::encode_batch(&self.epoch, self.acked, live, &rows);
            if self.client.try_publish(topics::batch(&self.shop), QoS::AtLeastOnce, false, payload).is_err() {
                // The client's queue is full: the rest goes at the next tick.
                return;
            }
            if self.sent == self.acked {
                self.progress = Instant::now();
            }
            self.sent = last;
            self.in_flight.push_back(last);
            self.status.sent.store(last, Ordering::Relaxed);
        }
    }
}
