//! The outbox: every change to an edge's history, in the order it was stored, until the
//! hub has acknowledged it.
//!
//! Invariants:
//! - a [`Change`] enters the outbox in the same transaction that stores it, so the
//!   outbox and the history never disagree, crash or not;
//! - its `seq` never repeats within the database's epoch: SQLite's `AUTOINCREMENT` never
//!   hands out a number again, not after rows are deleted and not after a restart; a new
//!   (wiped) database draws a new random epoch;
//! - rows leave only when the hub has acknowledged them ([`SqliteStore::outbox_acknowledged`]),
//!   except that a full outbox turns its oldest stroke-only rows into [`Change::Dropped`]
//!   tombstones (the sequence stays contiguous, and the hub counts what was lost); states,
//!   alerts, notes, cycles and runs are never dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use serde::{Deserialize, Serialize};
use sheetsight_vision::event::LiveEvent;
use sqlx::{Sqlite, Transaction};

use crate::sqlite::SqliteStore;
use crate::{StoreError, UnixMillis};

/// The default size of an edge's outbox: more than 7 days of a 20-machine shop (about
/// 20 MB a day with a stroke every 10 s on every machine).
pub const DEFAULT_OUTBOX_BYTES: i64 = 1 << 30;

/// One change to a shop's history, as the hub replays it into its own store.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Change {
    /// A run began at `now`; the crashed runs before it were closed at their heartbeat.
    BeginRun {
        run: i64,
        now: UnixMillis,
        version: String,
        crashed: Vec<CrashedRun>,
    },
    /// A batch of events of `run`, stored in one transaction.
    Write {
        run: i64,
        heartbeat: UnixMillis,
        events: Vec<LiveEvent>,
    },
    /// The run stopped cleanly at `now`.
    EndRun {
        run: i64,
        now: UnixMillis,
    },
    /// A reason or a job given to a stretch of a machine's time.
    Note {
        machine: String,
        kind: String,
        value: String,
        start: UnixMillis,
        end: Option<UnixMillis>,
        author: String,
        created: UnixMillis,
    },
    /// An alert was raised; `id` is the edge's.
    AlertRaised {
        id: i64,
        rule: String,
        subject: String,
        message: String,
        at: UnixMillis,
    },
    AlertCleared {
        id: i64,
        at: UnixMillis,
    },
    AlertAcked {
        id: i64,
        by: String,
        at: UnixMillis,
    },
    /// Strokes the edge could not keep because its outbox was full.
    Dropped {
        strokes: u64,
    },
}

/// A run found open at the next start, and the heartbeat it was closed at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrashedRun {
    pub run: i64,
    pub heartbeat: UnixMillis,
}

/// One row of the outbox as it goes on the wire: its body is the [`Change`]'s JSON as
/// stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxRow {
    pub seq: i64,
    pub body: String,
}

/// How full the outbox is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OutboxStatus {
    pub epoch: String,
    pub rows: i64,
    pub bytes: i64,
    pub max_bytes: i64,
    /// The oldest and newest sequence waiting, if any.
    pub first_seq: Option<i64>,
    pub last_seq: Option<i64>,
    /// Strokes turned into tombstones since the service started.
    pub dropped_strokes: i64,
}

/// The outbox's state in the process: its size, kept so that a full outbox is noticed
/// without summing it at every write.
#[derive(Debug)]
pub(crate) struct Outbox {
    bytes: AtomicI64,
    max_bytes: i64,
    dropped_strokes: AtomicI64,
}

/// What kind of rows a change makes: only `strokes` rows may be dropped.
const KIND_HISTORY: &str = "history";
const KIND_STROKES: &str = "strokes";
const KIND_DROPPED: &str = "dropped";

impl Outbox {
    /// Puts `change` into the outbox in `tx`; `strokes` is how many strokes it holds if it
    /// holds nothing else (and may be dropped when full), 0 otherwise.
    pub(crate) async fn push(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
        change: &Change,
        strokes: usize,
    ) -> Result<(), StoreError> {
        let body = serde_json::to_string(change)
            .map_err(|e| StoreError::new(crate::StoreErrorKind::Corrupt, "encoding an outbox change", e))?;
        let kind = if strokes > 0 { KIND_STROKES } else { KIND_HISTORY };
        sqlx::query("INSERT INTO outbox (kind, strokes, body) VALUES (?, ?, ?)")
            .bind(kind)
            .bind(strokes as i64)
            .bind(&body)
            .execute(&mut **tx)
            .await
            .map_err(StoreError::io("storing a change in the outbox"))?;
        let bytes = self.bytes.fetch_add(body.len() as i64, Ordering::Relaxed) + body.len() as i64;
        if bytes > self.max_bytes {
            self.make_room(tx, bytes - self.max_bytes).await?;
        }
        Ok(())
    }

    /// Turns the oldest stroke rows into tombstones until `excess` bytes are freed, or no
    /// stroke rows are left (then the outbox grows past its size: states and alerts are
    /// never dropped).
    async fn make_room(&self, tx: &mut Transaction<'_, Sqlite>, excess: i64) -> Result<(), StoreError> {
        let io = StoreError::io("making room in the outbox");
        let candidates: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT seq, strokes, length(body) FROM outbox WHERE kind = 'strokes' ORDER BY seq LIMIT 10000",
        )
        .fetch_all(&mut **tx)
        .await
        .map_err(io)?;
        let (mut freed, mut dropped) = (0_i64, 0_i64);
        for (seq, strokes, len) in candidates {
            if freed >= excess {
                break;
            }
            let tombstone = serde_json::to_string(&Change::Dropped { strokes: strokes as u64 })
                .map_err(|e| StoreError::new(crate::StoreErrorKind::Corrupt, "encoding a tombstone", e))?;
            sqlx::query("UPDATE outbox SET kind = ?, body = ? WHERE seq = ?")
                .bind(KIND_DROPPED)
                .bind(&tombstone)
                .bind(seq)
                .execute(&mut **tx)
                .await
                .map_err(StoreError::io("making room in the outbox"))?;
            freed += len - tombstone.len() as i64;
            dropped += strokes;
        }
        self.bytes.fetch_sub(freed, Ordering::Relaxed);
        if dropped > 0 {
            self.dropped_strokes.fetch_add(dropped, Ordering::Relaxed);
            tracing::error!(
                dropped_strokes = dropped,
                max_bytes = self.max_bytes,
                "the outbox to the hub is full: the oldest strokes not yet sent are dropped (states, alerts and \
                 cycles are kept); is the hub or its broker reachable?"
            );
        }
        if freed < excess {
            tracing::error!(
                bytes = self.bytes.load(Ordering::Relaxed),
                max_bytes = self.max_bytes,
                "the outbox to the hub is full and holds no strokes left to drop; it grows past its size to keep \
                 states and alerts"
            );
        }
        Ok(())
    }
}

impl SqliteStore {
    /// Keeps every change from now on in the outbox, for a hub, in at most `max_bytes`
    /// (see the module's invariants).
    pub async fn enable_outbox(&mut self, max_bytes: i64) -> Result<(), StoreError> {
        let (bytes,): (i64,) = sqlx::query_as("SELECT coalesce(sum(length(body)), 0) FROM outbox")
            .fetch_one(self.pool())
            .await
            .map_err(StoreError::io("sizing the outbox"))?;
        self.outbox =
            Some(Arc::new(Outbox { bytes: AtomicI64::new(bytes), max_bytes, dropped_strokes: AtomicI64::new(0) }));
        Ok(())
    }

    /// This database's epoch: drawn once when it was created.
    pub async fn outbox_epoch(&self) -> Result<String, StoreError> {
        let (epoch,): (String,) = sqlx::query_as("SELECT epoch FROM outbox_epoch")
            .fetch_one(self.pool())
            .await
            .map_err(StoreError::io("reading the outbox's epoch"))?;
        Ok(epoch)
    }

    /// Rows after `after`, oldest first: at most `max_rows`, and no more than `max_bytes`
    /// of bodies (but always at least one row if there is one).
    pub async fn outbox_after(
        &self,
        after: i64,
        max_rows: u32,
        max_bytes: usize,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT seq, body FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?")
                .bind(after)
                .bind(i64::from(max_rows))
                .fetch_all(self.pool())
                .await
                .map_err(StoreError::io("reading the outbox"))?;
        let mut total = 0;
        let mut out = Vec::with_capacity(rows.len());
        for (seq, body) in rows {
            total += body.len();
            if total > max_bytes && !out.is_empty() {
                break;
            }
            out.push(OutboxRow { seq, body });
        }
        Ok(out)
    }

    /// The highest sequence that has left the outbox (acknowledged by the hub): the one
    /// before its oldest row, or the last one handed out when it is empty; 0 at first.
    pub async fn outbox_forgotten(&self) -> Result<i64, StoreError> {
        let (forgotten,): (i64,) = sqlx::query_as(
            "SELECT coalesce((SELECT min(seq) - 1 FROM outbox), \
             (SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0)",
        )
        .fetch_one(self.pool())
        .await
        .map_err(StoreError::io("reading the outbox"))?;
        Ok(forgotten)
    }

    /// The hub stored everything up to `seq`: those rows leave the outbox.
    pub async fn outbox_acknowledged(&self, seq: i64) -> Result<u64, StoreError> {
        let freed: Vec<(i64,)> = sqlx::query_as("DELETE FROM outbox WHERE seq <= ? RETURNING length(body)")
            .bind(seq)
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::io("clearing acknowledged changes from the outbox"))?;
        if let Some(outbox) = &self.outbox {
            outbox.bytes.fetch_sub(freed.iter().map(|r| r.0).sum(), Ordering::Relaxed);
        }
        Ok(freed.len() as u64)
    }

    pub async fn outbox_status(&self) -> Result<OutboxStatus, StoreError> {
        let (rows, bytes, first_seq, last_seq): (i64, i64, Option<i64>, Option<i64>) =
            sqlx::query_as("SELECT count(*), coalesce(sum(length(body)), 0), min(seq), max(seq) FROM outbox")
                .fetch_one(self.pool())
                .await
                .map_err(StoreError::io("reading the outbox's size"))?;
        let (max_bytes, dropped_strokes) =
            self.outbox.as_ref().map_or((0, 0), |o| (o.max_bytes, o.dropped_strokes.load(Ordering::Relaxed)));
        Ok(OutboxStatus {
            epoch: self.outbox_epoch().await?,
            rows,
            bytes,
            max_bytes,
            first_seq,
            last_seq,
            dropped_strokes,
        })
    }
}
