//! Store and forward for a Sparkplug primary host: what happened while the host was
//! offline (or the broker unreachable) is published to it afterwards, from the edge's
//! outbox, as DATA with `is_historical`.
//!
//! The outbox already holds every stored event in order ([`sheetsight_store::outbox`]);
//! its [`OutboxReader::Sparkplug`] position says how far the primary host has them.
//! Invariants:
//! - the position only moves past a row once its events were published to a born
//!   session: live (the row was stored while the session published, released
//!   [`DELIVERY_MARGIN`] later) or historical (handed to the client, released
//!   [`DELIVERY_MARGIN`] later while the session still stood); a session that ends
//!   releases nothing more, so the next one replays from the position: nothing is lost,
//!   and what is sent twice is marked historical and carries its original timestamp;
//! - after a birth every row after the position is replayed, up to the last row stored
//!   [`SETTLE`] after the birth (an event seen just before the birth may be stored a
//!   moment later); events after the birth were published live and are left out;
//! - replay never blocks live data: it hands at most [`MESSAGES_PER_STEP`] messages per
//!   step, and only while the client's queue takes them.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, QoS};
use sheetsight_base::error::with_causes;
use sheetsight_store::outbox::OutboxReader;
use sheetsight_store::sqlite::SqliteStore;

use crate::Protocol;
use crate::topics::Message;

/// How often the link takes a step.
pub(crate) const STEP_INTERVAL: Duration = Duration::from_millis(20);
/// How long a QoS 0 message is given to reach the broker before its row is released.
pub(crate) const DELIVERY_MARGIN: Duration = Duration::from_secs(2);
/// How long after a birth rows are still replayed.
pub(crate) const SETTLE: Duration = Duration::from_secs(3);
/// How often, while live, the rows stored so far are marked published.
const LIVE_LOOK_INTERVAL: Duration = Duration::from_secs(1);
const ROWS_PER_STEP: u32 = 64;
const MESSAGES_PER_STEP: usize = 256;

/// A replay under way.
struct Replay {
    /// The last row whose events were turned into messages.
    cursor: i64,
    /// The last row whose messages were all handed to the client.
    handed_cursor: i64,
    /// The last row to replay, fixed [`SETTLE`] after the birth.
    until: Option<i64>,
    began: Instant,
    pending: VecDeque<(Message, QoS)>,
    published: u64,
    from: i64,
}

pub(crate) struct Forwarder {
    store: SqliteStore,
    replay: Option<Replay>,
    /// (when, sequence): rows up to the sequence were handed out then.
    handed: VecDeque<(Instant, i64)>,
    last_look: Option<Instant>,
}

impl Forwarder {
    pub fn new(store: SqliteStore) -> Self {
        Self { store, replay: None, handed: VecDeque::new(), last_look: None }
    }

    /// A session was born: replays from the primary host's position.
    pub async fn begin<P: Protocol>(&mut self, proto: &mut P) {
        self.hold();
        let position = match self.store.outbox_position(OutboxReader::Sparkplug).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %with_causes(&e), "cannot read the outbox: nothing missed is sent to the primary host now");
                return;
            }
        };
        let bases = match self.store.outbox_stroke_bases(position).await {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %with_causes(&e), "cannot count the strokes in the outbox: nothing missed is sent to the primary host now");
                return;
            }
        };
        proto.start_replay(bases.into_iter().collect());
        self.replay = Some(Replay {
            cursor: position,
            handed_cursor: position,
            until: None,
            began: Instant::now(),
            pending: VecDeque::new(),
            published: 0,
            from: position,
        });
    }

    /// The session ended: nothing more is released; the next birth replays from the
    /// position.
    pub fn hold(&mut self) {
        self.replay = None;
        self.handed.clear();
        self.last_look = None;
    }

    /// Releases what the host has had for long enough, then hands the client what comes
    /// next: historical messages while replaying, or (live) marks the rows stored so far.
    pub async fn step<P: Protocol>(&mut self, client: &AsyncClient, proto: &mut P) {
        let now = Instant::now();
        let mut release = None;
        while let Some(&(at, seq)) = self.handed.front() {
            if now.duration_since(at) < DELIVERY_MARGIN {
                break;
            }
            release = Some(seq);
            self.handed.pop_front();
        }
        if let Some(seq) = release
            && let Err(e) = self.store.outbox_read(OutboxReader::Sparkplug, seq).await
        {
            tracing::warn!(error = %with_causes(&e), "cannot mark the outbox read by the primary host");
        }
        let Some(replay) = &mut self.replay else {
            if self.last_look.is_none_or(|at| now.duration_since(at) >= LIVE_LOOK_INTERVAL) {
                self.last_look = Some(now);
                match self.store.outbox_last_seq().await {
                    Ok(seq) => self.handed.push_back((now, seq)),
                    Err(e) => tracing::warn!(error = %with_causes(&e), "cannot read the outbox"),
                }
            }
            return;
        };
        let mut handed = 0;
        while let Some((m, qos)) = replay.pending.front() {
            if handed >= MESSAGES_PER_STEP
                || client.try_publish(m.topic.as_str(), *qos, m.retain, m.payload.clone()).is_err()
            {
                // The rest at the next step (a full client queue drains meanwhile).
                return;
            }
            replay.pending.pop_front();
            handed += 1;
            replay.published += 1;
        }
        if replay.handed_cursor < replay.cursor {
            replay.handed_cursor = replay.cursor;
            self.handed.push_back((now, replay.cursor));
        }
        if replay.until.is_none() && replay.began.elapsed() >= SETTLE {
            match self.store.outbox_last_seq().await {
                Ok(seq) => replay.until = Some(seq),
                Err(e) => tracing::warn!(error = %with_causes(&e), "cannot read the outbox"),
            }
        }
        if replay.until.is_some_and(|until| replay.cursor >= until) {
            tracing::info!(
                from_seq = replay.from,
                to_seq = replay.cursor,
                messages = replay.published,
                "published to the primary host what it missed (is_historical)"
            );
            self.replay = None;
            return;
        }
        let rows = match self.store.outbox_events_after(replay.cursor, ROWS_PER_STEP).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %with_causes(&e), "cannot read the outbox");
                return;
            }
        };
        for (seq, events) in rows {
            if replay.until.is_some_and(|until| seq > until) {
                break;
            }
            for e in &events {
                replay.pending.extend(proto.historical(e));
            }
            replay.cursor = seq;
        }
    }
}
