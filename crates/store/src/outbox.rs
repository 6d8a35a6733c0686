//! The outbox: every change to an edge's history, in the order it was stored, until the
//! hub has acknowledged it.
//!
//! Invariants:
//! - a [`Change`] enters the outbox in the same transaction that stores it, so the
//!   outbox and the history never disagree, crash or not;
//! - its `seq` never repeats within the database's epoch: SQLite's `AUTOINCREMENT` never
//!   hands out a number again, not after rows are deleted and not after a restart; a new
//!   (wiped) database draws a new random epoch;
//! - rows leave only when every [`OutboxReader`] is past them: the hub has acknowledged
//!   them ([`SqliteStore::outbox_acknowledged`]) and, with a Sparkplug primary host
//!   configured, they were published while that host was online
//!   ([`SqliteStore::outbox_read`]); except that a full outbox turns its oldest stroke-only rows into [`Change::Dropped`]
//!   tombstones (the sequence stays contiguous, and the hub counts what was lost); states,
//!   alerts, notes, cycles and runs are never dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use serde::{Deserialize, Serialize};
use sheetsight_vision::event::LiveEvent;
use sqlx::{Sqlite, Transaction};

use crate::sqlite::SqliteStore;
use crate::{StoreError, UnixMillis};

/// Who reads the outbox. Each reader's position is kept in the database; a row leaves
/// once every reader enabled in this process is past it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutboxReader {
    /// The hub: its position is the highest sequence it acknowledged.
    Hub,
    /// A Sparkplug primary host: rows up to its position were published while it was
    /// online; those after it are sent with `is_historical` when it is back.
    Sparkplug,
}

impl OutboxReader {
    pub fn name(self) -> &'static str {
        match self {
            Self::Hub => "hub",
            Self::Sparkplug => "sparkplug",
        }
    }
}

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
    /// The shop's machines and shifts, sent at every start: the hub reads the history
    /// with them.
    Profile {
        profile: crate::profile::ShopProfile,
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

/// The last sequence handed out; 0 at first.
const LAST_SEQ_SQL: &str = "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0)";

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
                "the outbox (to the hub or the Sparkplug primary host) is full: the oldest strokes not yet sent are dropped (states, alerts and \
                 cycles are kept); is the hub or its broker reachable?"
            );
        }
        if freed < excess {
            tracing::error!(
                bytes = self.bytes.load(Ordering::Relaxed),
                max_bytes = self.max_bytes,
                "the outbox (to the hub or the Sparkplug primary host) is full and holds no strokes left to drop; it grows past its size to keep \
                 states and alerts"
            );
        }
        Ok(())
    }
}

impl SqliteStore {
    /// Puts the shop's profile into the outbox (nothing without one).
    pub async fn send_profile(&self, profile: &crate::profile::ShopProfile) -> Result<(), StoreError> {
        let Some(outbox) = &self.outbox else { return Ok(()) };
        let mut tx = self.pool().begin().await.map_err(StoreError::io("sending the shop's profile"))?;
        outbox.push(&mut tx, &Change::Profile { profile: profile.clone() }, 0).await?;
        tx.commit().await.map_err(StoreError::io("sending the shop's profile"))
    }

    /// Keeps every change from now on in the outbox, for a hub, in at most `max_bytes`
    /// (see the module's invariants).
    pub async fn enable_outbox(&mut self, max_bytes: i64) -> Result<(), StoreError> {
        self.enable_outbox_for(max_bytes, &[OutboxReader::Hub]).await
    }

    /// Keeps every change from now on in the outbox for `readers`, in at most `max_bytes`.
    /// A reader new to this database starts where the outbox is now: the hub with what is
    /// waiting (rows there were never acknowledged), Sparkplug at its end (nothing was
    /// held for a primary host). Readers no longer enabled stop holding rows.
    pub async fn enable_outbox_for(&mut self, max_bytes: i64, readers: &[OutboxReader]) -> Result<(), StoreError> {
        let io = || StoreError::io("setting up the outbox's readers");
        let mut starts = Vec::with_capacity(readers.len());
        for reader in readers {
            starts.push(match reader {
                OutboxReader::Hub => self.outbox_position(OutboxReader::Hub).await?,
                OutboxReader::Sparkplug => self.outbox_last_seq().await?,
            });
        }
        let mut tx = self.pool().begin().await.map_err(io())?;
        let names: Vec<&str> = readers.iter().map(|r| r.name()).collect();
        let known: Vec<(String,)> =
            sqlx::query_as("SELECT name FROM outbox_reader").fetch_all(&mut *tx).await.map_err(io())?;
        for (name,) in known.iter().filter(|(n,)| !names.contains(&n.as_str())) {
            sqlx::query("DELETE FROM outbox_reader WHERE name = ?").bind(name).execute(&mut *tx).await.map_err(io())?;
        }
        for (reader, start) in readers.iter().zip(starts) {
            sqlx::query("INSERT INTO outbox_reader (name, seq) VALUES (?, ?) ON CONFLICT (name) DO NOTHING")
                .bind(reader.name())
                .bind(start)
                .execute(&mut *tx)
                .await
                .map_err(io())?;
        }
        tx.commit().await.map_err(io())?;
        let (bytes,): (i64,) = sqlx::query_as("SELECT coalesce(sum(length(body)), 0) FROM outbox")
            .fetch_one(self.pool())
            .await
            .map_err(StoreError::io("sizing the outbox"))?;
        self.outbox =
            Some(Arc::new(Outbox { bytes: AtomicI64::new(bytes), max_bytes, dropped_strokes: AtomicI64::new(0) }));
        Ok(())
    }

    /// Gives this database the epoch `epoch`: for a copy of an edge's database (a cloned
    /// disk, a benchmark's edges), which must not send under its original's epoch.
    /// Only before anything of the copy was sent.
    pub async fn set_outbox_epoch(&self, epoch: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE outbox_epoch SET epoch = ?")
            .bind(epoch)
            .execute(self.pool())
            .await
            .map_err(StoreError::io("setting the outbox's epoch"))?;
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

    /// The highest sequence the hub acknowledged: its reader's position, or (without one)
    /// the one before the outbox's oldest row, or the last one handed out when it is
    /// empty; 0 at first.
    pub async fn outbox_forgotten(&self) -> Result<i64, StoreError> {
        self.outbox_position(OutboxReader::Hub).await
    }

    /// How far `reader` has read (see [`Self::outbox_forgotten`] for a reader not set up).
    pub async fn outbox_position(&self, reader: OutboxReader) -> Result<i64, StoreError> {
        let (position,): (i64,) = sqlx::query_as(
            "SELECT coalesce((SELECT seq FROM outbox_reader WHERE name = ?), \
             (SELECT min(seq) - 1 FROM outbox), (SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0)",
        )
        .bind(reader.name())
        .fetch_one(self.pool())
        .await
        .map_err(StoreError::io("reading the outbox"))?;
        Ok(position)
    }

    /// The hub stored everything up to `seq`: those rows leave the outbox, unless another
    /// reader still needs them.
    pub async fn outbox_acknowledged(&self, seq: i64) -> Result<u64, StoreError> {
        self.outbox_read(OutboxReader::Hub, seq).await
    }

    /// `reader` needs nothing up to `seq` any more (its position never goes back): the
    /// rows every reader is past leave the outbox; how many left.
    pub async fn outbox_read(&self, reader: OutboxReader, seq: i64) -> Result<u64, StoreError> {
        let io = || StoreError::io("clearing read changes from the outbox");
        let mut tx = self.pool().begin().await.map_err(io())?;
        sqlx::query(
            "INSERT INTO outbox_reader (name, seq) VALUES (?1, ?2) \
             ON CONFLICT (name) DO UPDATE SET seq = max(seq, excluded.seq)",
        )
        .bind(reader.name())
        .bind(seq)
        .execute(&mut *tx)
        .await
        .map_err(io())?;
        let freed: Vec<(i64,)> = sqlx::query_as(
            "DELETE FROM outbox WHERE seq <= (SELECT min(seq) FROM outbox_reader) RETURNING length(body)",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(io())?;
        tx.commit().await.map_err(io())?;
        if let Some(outbox) = &self.outbox {
            outbox.bytes.fetch_sub(freed.iter().map(|r| r.0).sum(), Ordering::Relaxed);
        }
        Ok(freed.len() as u64)
    }

    /// The last sequence handed out (0 before the first).
    pub async fn outbox_last_seq(&self) -> Result<i64, StoreError> {
        let (last,): (i64,) =
            sqlx::query_as(LAST_SEQ_SQL).fetch_one(self.pool()).await.map_err(StoreError::io("reading the outbox"))?;
        Ok(last)
    }

    /// The events of the rows after `after` (oldest first, at most `max_rows` rows, each
    /// with its sequence); rows of other changes come with no events.
    pub async fn outbox_events_after(
        &self,
        after: i64,
        max_rows: u32,
    ) -> Result<Vec<(i64, Vec<LiveEvent>)>, StoreError> {
        let rows = self.outbox_after(after, max_rows, usize::MAX).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let events = match serde_json::from_str::<Change>(&row.body) {
                Ok(Change::Write { events, .. }) => events,
                Ok(_) => Vec::new(),
                Err(e) => {
                    tracing::warn!(seq = row.seq, error = %e, "an outbox row that cannot be read was skipped");
                    Vec::new()
                }
            };
            out.push((row.seq, events));
        }
        Ok(out)
    }

    /// Per machine, how many strokes were stored before the rows after `after`: every
    /// stroke ever stored less those in these rows (read in one transaction).
    pub async fn outbox_stroke_bases(&self, after: i64) -> Result<Vec<(String, u64)>, StoreError> {
        let io = || StoreError::io("counting the strokes waiting in the outbox");
        let mut tx = self.pool().begin().await.map_err(io())?;
        let totals: Vec<(String, i64)> =
            sqlx::query_as("SELECT machine, strokes FROM stroke_total").fetch_all(&mut *tx).await.map_err(io())?;
        let waiting: Vec<(String, i64)> = sqlx::query_as(
            "SELECT json_extract(e.value, '$.machine'), count(*) FROM outbox o, json_each(o.body, '$.events') e \
             WHERE o.seq > ? AND o.kind <> 'dropped' AND json_extract(e.value, '$.type') = 'stroke' GROUP BY 1",
        )
        .bind(after)
        .fetch_all(&mut *tx)
        .await
        .map_err(io())?;
        tx.commit().await.map_err(io())?;
        let waiting: std::collections::HashMap<String, i64> = waiting.into_iter().collect();
        Ok(totals
            .into_iter()
            .map(|(machine, total)| {
                let base = total - waiting.get(&machine).copied().unwrap_or(0);
                (machine, u64::try_from(base).unwrap_or(0))
            })
            .collect())
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
