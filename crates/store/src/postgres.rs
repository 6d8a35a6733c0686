//! History in PostgreSQL: the hub's database of many shops, and a single shop's store
//! when `sheetsight run` is pointed at PostgreSQL.
//!
//! [`PgDatabase`] is the connection pool and the schema (migrations in
//! `migrations/postgres`); [`PgStore`] is one shop's view of it and implements [`Store`]
//! exactly as the SQLite store does, so the same report reads either. Invariants:
//! - every statement runs in a transaction that first sets `sheetsight.shop`, and every
//!   query also names the shop: row-level security and the query agree;
//! - rows are stored only into a month's partition, created before the transaction that
//!   needs it; a time before [`EARLIEST_VALID`] or more than [`FUTURE_SLACK_MS`] ahead of
//!   the hub's clock is quarantined, never stored into the history, never an error;
//! - [`PgDatabase::ingest`] applies an edge's changes in sequence order only, and moves
//!   the edge's watermark in the same transaction: a duplicate changes nothing, a gap
//!   stops the batch there.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sheetsight_base::LockOrRecover;
use sheetsight_vision::event::{Event, LiveEvent};
use sheetsight_vision::state::MachineState;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{PgConnection, Postgres, Transaction};

use crate::outbox::{Change, CrashedRun};
use crate::rows::{
    CycleRow, HealthRow, LampRow, PresenceRow, RunRow, SafetyRow, StateRow, cycle_record, health_interval,
    lamp_interval, presence_interval, run_record, safety_record, state_interval,
};
use crate::{
    CycleFilter, CycleRecord, HealthInterval, LampInterval, PresenceInterval, Query, RunRecord, SafetyRecord,
    StateInterval, Store, StoreError, StoreErrorKind, StrokeRecord, UnixMillis,
};

/// The earliest time stored: 2015-01-01 UTC. Anything before is a clock that was never set.
pub const EARLIEST_VALID: UnixMillis = UnixMillis(1_420_070_400_000);
/// How far ahead of the hub's clock an edge's time may be: a day.
pub const FUTURE_SLACK_MS: i64 = 86_400_000;

/// The pool and the schema of a PostgreSQL history.
#[derive(Clone)]
pub struct PgDatabase {
    pool: PgPool,
    /// Months (since 1970) whose partitions exist.
    months: Arc<Mutex<BTreeSet<i64>>>,
}

/// One shop's history in a [`PgDatabase`].
#[derive(Clone)]
pub struct PgStore {
    db: PgDatabase,
    shop: Arc<str>,
}

/// What [`PgDatabase::ingest`] did with a batch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IngestOutcome {
    /// The highest contiguous sequence stored of the edge's epoch: what to acknowledge.
    pub watermark: i64,
    pub applied: u64,
    /// Rows at or below the watermark already: received before, ignored.
    pub duplicates: u64,
    /// The batch began after `watermark + 1`: something was lost or reordered, and the
    /// edge must send again from the watermark.
    pub gap: bool,
    /// Events kept in quarantine for their time.
    pub quarantined: u64,
}

/// An alert without its ids: rule, subject, message, raised, cleared, acked by, acked.
pub type AlertValues = (String, String, String, UnixMillis, Option<UnixMillis>, Option<String>, Option<UnixMillis>);

/// One edge's link as the hub sees it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct EdgeLinkRecord {
    pub shop: String,
    pub epoch: String,
    pub watermark: i64,
    pub dropped_strokes: i64,
    pub updated: UnixMillis,
}

fn io(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    StoreError::io(what)
}

impl PgDatabase {
    /// Connects to `url` (`postgres://user:password@host:port/database`) and migrates.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let db = Self::connect(url, 16).await?;
        db.migrate().await?;
        Ok(db)
    }

    /// Connects without migrating (a role that owns no table cannot migrate).
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let what = format!("connecting to PostgreSQL at {}", redact(url));
        let options: PgConnectOptions =
            url.parse().map_err(|e| StoreError::new(StoreErrorKind::Open, what.clone(), e))?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(|e| StoreError::new(StoreErrorKind::Open, what, e))?;
        Ok(Self { pool, months: Arc::default() })
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("migrations/postgres")
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::new(StoreErrorKind::Migrate, "migrating the PostgreSQL history", e))
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The store of `shop`.
    pub fn shop(&self, shop: &str) -> PgStore {
        PgStore { db: self.clone(), shop: shop.into() }
    }

    /// A transaction that sees the rows of `shop` (`*`: every shop's).
    pub async fn scoped(&self, shop: &str) -> Result<Transaction<'static, Postgres>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(io("beginning a transaction"))?;
        sqlx::query("SELECT set_config('sheetsight.shop', $1, true)")
            .bind(shop)
            .execute(&mut *tx)
            .await
            .map_err(io("choosing the shop"))?;
        Ok(tx)
    }

    /// Creates the monthly partitions from `first`'s month to `last`'s, unless known.
    pub async fn ensure_partitions(&self, first: UnixMillis, last: UnixMillis) -> Result<(), StoreError> {
        let (a, b) = (month_index(first), month_index(last));
        let missing = {
            let known = self.months.lock_or_recover();
            (a..=b).any(|m| !known.contains(&m))
        };
        if !missing {
            return Ok(());
        }
        sqlx::query("SELECT ensure_month_partitions($1, $2)")
            .bind(first)
            .bind(last)
            .execute(&self.pool)
            .await
            .map_err(io("creating monthly partitions"))?;
        self.months.lock_or_recover().extend(a..=b);
        Ok(())
    }

    /// Drops the monthly partitions that end before `before` and hold nothing open or
    /// still inside the retention; returns how many were dropped.
    pub async fn drop_partitions_before(&self, before: UnixMillis) -> Result<i64, StoreError> {
        let (dropped,): (i32,) = sqlx::query_as("SELECT drop_partitions_before($1)")
            .bind(before)
            .fetch_one(&self.pool)
            .await
            .map_err(io("dropping old partitions"))?;
        self.months.lock_or_recover().clear();
        Ok(i64::from(dropped))
    }

    /// Adds a shop (or renames it); false when it existed already.
    pub async fn add_shop(&self, id: &str, name: &str, now: UnixMillis) -> Result<bool, StoreError> {
        // `xmax = 0`: the row was inserted, not updated.
        let (inserted,): (bool,) = sqlx::query_as(
            "INSERT INTO shop (id, name, created_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET name = $2 RETURNING (xmax = 0)",
        )
        .bind(id)
        .bind(name)
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(io("adding a shop"))?;
        Ok(inserted)
    }

    /// Every shop: id and name, by id.
    pub async fn shops(&self) -> Result<Vec<(String, String)>, StoreError> {
        sqlx::query_as("SELECT id, name FROM shop ORDER BY id").fetch_all(&self.pool).await.map_err(io("listing shops"))
    }

    /// Every edge link of `shop` (`*`: of all shops).
    pub async fn edge_links(&self, shop: &str) -> Result<Vec<EdgeLinkRecord>, StoreError> {
        let mut tx = self.scoped(shop).await?;
        let rows: Vec<(String, String, i64, i64, UnixMillis)> = sqlx::query_as(
            "SELECT shop_id, epoch, watermark, dropped_strokes, updated_ms FROM edge_link \
             WHERE $1 = '*' OR shop_id = $1 ORDER BY shop_id, updated_ms",
        )
        .bind(shop)
        .fetch_all(&mut *tx)
        .await
        .map_err(io("reading edge links"))?;
        tx.commit().await.map_err(io("reading edge links"))?;
        Ok(rows
            .into_iter()
            .map(|(shop, epoch, watermark, dropped_strokes, updated)| EdgeLinkRecord {
                shop,
                epoch,
                watermark,
                dropped_strokes,
                updated,
            })
            .collect())
    }

    /// Stores the rows `(seq, body)` of `shop`'s outbox epoch `epoch` that follow its
    /// watermark, in order, and moves the watermark past them, all in one transaction.
    /// A body that is not a change this version reads is quarantined (and counted as
    /// stored: it would never read better on a second try). `forgotten` is the highest
    /// sequence the edge deleted after an acknowledgement: a watermark below it means
    /// this database lost what it had acknowledged (restored from a backup), and since
    /// the edge cannot send it again the watermark moves up to it, loudly.
    pub async fn ingest(
        &self,
        shop: &str,
        epoch: &str,
        forgotten: i64,
        rows: &[(i64, &str)],
        now: UnixMillis,
    ) -> Result<IngestOutcome, StoreError> {
        let mut changes: Vec<(i64, Result<Change, String>)> = rows
            .iter()
            .map(|(seq, body)| (*seq, serde_json::from_str::<Change>(body).map_err(|e| e.to_string())))
            .collect();
        changes.sort_by_key(|(seq, _)| *seq);
        let times = changes.iter().filter_map(|(_, c)| c.as_ref().ok()).flat_map(change_times);
        if let Some((first, last)) = span(times.filter(|t| valid_time(*t, now))) {
            self.ensure_partitions(first, last).await?;
        }

        let mut tx = self.scoped(shop).await?;
        sqlx::query(
            "INSERT INTO edge_link (shop_id, epoch, watermark, updated_ms) VALUES ($1, $2, 0, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(shop)
        .bind(epoch)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(io("registering an edge link"))?;
        // The row lock orders the hub processes that receive batches of one edge.
        let (mut watermark,): (i64,) =
            sqlx::query_as("SELECT watermark FROM edge_link WHERE shop_id = $1 AND epoch = $2 FOR UPDATE")
                .bind(shop)
                .bind(epoch)
                .fetch_one(&mut *tx)
                .await
                .map_err(io("reading an edge's watermark"))?;
        if watermark < forgotten {
            tracing::error!(
                shop,
                epoch,
                watermark,
                forgotten,
                "the edge deleted changes this database acknowledged but does not hold (restored from a backup?): \
                 they cannot be sent again"
            );
            watermark = forgotten;
        }
        let mut outcome = IngestOutcome::default();
        let link = Link { shop, epoch, now };
        for (seq, change) in &changes {
            if *seq <= watermark {
                outcome.duplicates += 1;
                continue;
            }
            if *seq > watermark + 1 {
                outcome.gap = true;
                break;
            }
            match change {
                Ok(change) => outcome.quarantined += apply(&mut tx, &link, *seq, change).await?,
                Err(e) => {
                    let body = rows.iter().find(|r| r.0 == *seq).map_or("", |r| r.1);
                    quarantine(&mut tx, &link, *seq, &format!("not a change: {e}"), serde_json::json!(body)).await?;
                    outcome.quarantined += 1;
                }
            }
            watermark = *seq;
            outcome.applied += 1;
        }
        sqlx::query("UPDATE edge_link SET watermark = $3, updated_ms = $4 WHERE shop_id = $1 AND epoch = $2")
            .bind(shop)
            .bind(epoch)
            .bind(watermark)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(io("moving an edge's watermark"))?;
        tx.commit().await.map_err(io("committing an edge's batch"))?;
        outcome.watermark = watermark;
        Ok(outcome)
    }

    /// The watermark of `shop`'s epoch `epoch` (0 if nothing came yet).
    pub async fn watermark(&self, shop: &str, epoch: &str) -> Result<i64, StoreError> {
        let mut tx = self.scoped(shop).await?;
        let row: Option<(i64,)> = sqlx::query_as("SELECT watermark FROM edge_link WHERE shop_id = $1 AND epoch = $2")
            .bind(shop)
            .bind(epoch)
            .fetch_optional(&mut *tx)
            .await
            .map_err(io("reading an edge's watermark"))?;
        tx.commit().await.map_err(io("reading an edge's watermark"))?;
        Ok(row.map_or(0, |r| r.0))
    }
}

/// `url` without its password, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "(an unreadable URL)".into(),
    }
}

/// Months since January 1970 of `t` (UTC).
fn month_index(t: UnixMillis) -> i64 {
    use chrono::Datelike;
    let d = chrono::DateTime::from_timestamp_millis(t.0).unwrap_or_default();
    i64::from(d.year() - 1970) * 12 + i64::from(d.month0())
}

/// The earliest and latest of `times`, if any.
fn span(times: impl Iterator<Item = UnixMillis>) -> Option<(UnixMillis, UnixMillis)> {
    times.fold(None, |acc, t| Some(acc.map_or((t, t), |(a, b): (UnixMillis, UnixMillis)| (a.min(t), b.max(t)))))
}

fn valid_time(t: UnixMillis, now: UnixMillis) -> bool {
    t >= EARLIEST_VALID && t.0 <= now.0.saturating_add(FUTURE_SLACK_MS)
}

/// Every time an event stores rows at.
fn event_times(e: &LiveEvent) -> Vec<UnixMillis> {
    match e {
        Event::State { t, .. }
        | Event::Lamp { t, .. }
        | Event::Health { t, .. }
        | Event::Presence { t, .. }
        | Event::Safety { t, .. } => vec![*t],
        Event::Stroke { start_t, end_t, .. } | Event::Cycle { start_t, end_t, .. } => vec![*start_t, *end_t],
        Event::Motion { .. } | Event::MediaIssue { .. } => vec![],
    }
}

fn change_times(c: &Change) -> Vec<UnixMillis> {
    match c {
        Change::Write { events, .. } => events.iter().flat_map(event_times).collect(),
        Change::BeginRun { now, crashed, .. } => crashed.iter().map(|c| c.heartbeat).chain([*now]).collect(),
        Change::EndRun { now, .. } => vec![*now],
        Change::Note { .. }
        | Change::Dropped { .. }
        | Change::AlertRaised { .. }
        | Change::AlertCleared { .. }
        | Change::AlertAcked { .. } => vec![],
    }
}

/// Which edge a change came from.
struct Link<'a> {
    shop: &'a str,
    epoch: &'a str,
    now: UnixMillis,
}

async fn quarantine(
    tx: &mut PgConnection,
    link: &Link<'_>,
    seq: i64,
    reason: &str,
    body: serde_json::Value,
) -> Result<(), StoreError> {
    tracing::warn!(shop = link.shop, epoch = link.epoch, seq, reason, "an edge's change is quarantined");
    sqlx::query(
        "INSERT INTO quarantine (shop_id, epoch, seq, received_ms, reason, body) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(link.shop)
    .bind(link.epoch)
    .bind(seq)
    .bind(link.now)
    .bind(reason)
    .bind(sqlx::types::Json(body))
    .execute(tx)
    .await
    .map_err(io("quarantining a change"))?;
    Ok(())
}

/// The hub's run of an edge's run, created when first needed (the edge's begin may
/// have been before its outbox was).
async fn hub_run(
    tx: &mut PgConnection,
    link: &Link<'_>,
    edge_run: i64,
    started: UnixMillis,
) -> Result<i64, StoreError> {
    let found: Option<(i64,)> =
        sqlx::query_as("SELECT run_id FROM edge_run WHERE shop_id = $1 AND epoch = $2 AND edge_run = $3")
            .bind(link.shop)
            .bind(link.epoch)
            .bind(edge_run)
            .fetch_optional(&mut *tx)
            .await
            .map_err(io("finding an edge's run"))?;
    if let Some((id,)) = found {
        return Ok(id);
    }
    let id = insert_run(tx, link.shop, started, "edge").await?;
    sqlx::query("INSERT INTO edge_run (shop_id, epoch, edge_run, run_id) VALUES ($1, $2, $3, $4)")
        .bind(link.shop)
        .bind(link.epoch)
        .bind(edge_run)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(io("mapping an edge's run"))?;
    Ok(id)
}

/// Applies one change of an edge; returns how many events were quarantined.
async fn apply(tx: &mut PgConnection, link: &Link<'_>, seq: i64, change: &Change) -> Result<u64, StoreError> {
    match change {
        Change::BeginRun { run, now, version, crashed } => {
            for CrashedRun { run, heartbeat } in crashed {
                let id = hub_run(tx, link, *run, *heartbeat).await?;
                close_crashed_run(tx, link.shop, id, *heartbeat, *now).await?;
            }
            let id = hub_run(tx, link, *run, *now).await?;
            sqlx::query("UPDATE service_run SET version = $2, started_ms = $3, heartbeat_ms = $3 WHERE id = $1")
                .bind(id)
                .bind(version)
                .bind(*now)
                .execute(&mut *tx)
                .await
                .map_err(io("starting an edge's run"))?;
            Ok(0)
        }
        Change::Write { run, heartbeat, events } => {
            let (mut good, mut bad) = (Vec::with_capacity(events.len()), 0);
            for e in events {
                if event_times(e).iter().all(|t| valid_time(*t, link.now)) {
                    good.push(e.clone());
                } else {
                    quarantine(tx, link, seq, "a time before 2015 or more than a day ahead", serde_json::json!(e))
                        .await?;
                    bad += 1;
                }
            }
            let started = good.iter().flat_map(event_times).min().unwrap_or(*heartbeat);
            let id = hub_run(tx, link, *run, started).await?;
            write_events(tx, link.shop, id, &good, *heartbeat).await?;
            Ok(bad)
        }
        Change::EndRun { run, now } => {
            let id = hub_run(tx, link, *run, *now).await?;
            end_run(tx, link.shop, id, *now).await?;
            Ok(0)
        }
        Change::Note { machine, kind, value, start, end, author, created } => {
            insert_note(tx, link.shop, machine, kind, value, *start, *end, author, *created).await?;
            Ok(0)
        }
        Change::AlertRaised { id, rule, subject, message, at } => {
            sqlx::query(
                "INSERT INTO alert (shop_id, epoch, edge_id, rule, subject, message, raised_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (shop_id, epoch, edge_id) DO NOTHING",
            )
            .bind(link.shop)
            .bind(link.epoch)
            .bind(id)
            .bind(rule)
            .bind(subject)
            .bind(message)
            .bind(*at)
            .execute(&mut *tx)
            .await
            .map_err(io("storing an alert"))?;
            Ok(0)
        }
        Change::AlertCleared { id, at } => {
            sqlx::query(
                "UPDATE alert SET cleared_ms = $4 WHERE shop_id = $1 AND epoch = $2 AND edge_id = $3 \
                 AND cleared_ms IS NULL",
            )
            .bind(link.shop)
            .bind(link.epoch)
            .bind(id)
            .bind(*at)
            .execute(&mut *tx)
            .await
            .map_err(io("clearing an alert"))?;
            Ok(0)
        }
        Change::AlertAcked { id, by, at } => {
            sqlx::query(
                "UPDATE alert SET acked_by = $4, acked_ms = $5 WHERE shop_id = $1 AND epoch = $2 AND edge_id = $3 \
                 AND acked_ms IS NULL",
            )
            .bind(link.shop)
            .bind(link.epoch)
            .bind(id)
            .bind(by)
            .bind(*at)
            .execute(&mut *tx)
            .await
            .map_err(io("acknowledging an alert"))?;
            Ok(0)
        }
        Change::Dropped { strokes } => {
            tracing::warn!(shop = link.shop, strokes, "an edge dropped strokes its full outbox could not keep");
            sqlx::query(
                "UPDATE edge_link SET dropped_strokes = dropped_strokes + $3 WHERE shop_id = $1 AND epoch = $2",
            )
            .bind(link.shop)
            .bind(link.epoch)
            .bind(i64::try_from(*strokes).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await
            .map_err(io("counting dropped strokes"))?;
            Ok(0)
        }
    }
}

async fn insert_run(tx: &mut PgConnection, shop: &str, now: UnixMillis, version: &str) -> Result<i64, StoreError> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO service_run (shop_id, started_ms, heartbeat_ms, version) VALUES ($1, $2, $2, $3) RETURNING id",
    )
    .bind(shop)
    .bind(now)
    .bind(version)
    .fetch_one(tx)
    .await
    .map_err(io("starting a run"))?;
    Ok(id)
}

#[allow(clippy::too_many_arguments)]
async fn insert_note(
    tx: &mut PgConnection,
    shop: &str,
    machine: &str,
    kind: &str,
    value: &str,
    start: UnixMillis,
    end: Option<UnixMillis>,
    author: &str,
    created: UnixMillis,
) -> Result<i64, StoreError> {
    if kind == "job" {
        sqlx::query(
            "UPDATE machine_note SET end_ms = GREATEST(start_ms, $3) \
             WHERE shop_id = $1 AND machine = $2 AND kind = 'job' AND end_ms IS NULL",
        )
        .bind(shop)
        .bind(machine)
        .bind(start)
        .execute(&mut *tx)
        .await
        .map_err(io("storing a note"))?;
    }
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO machine_note (shop_id, machine, kind, value, start_ms, end_ms, author, created_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(shop)
    .bind(machine)
    .bind(kind)
    .bind(value)
    .bind(start)
    .bind(end)
    .bind(author)
    .bind(created)
    .fetch_one(tx)
    .await
    .map_err(io("storing a note"))?;
    Ok(id)
}

/// Closes the open interval of one key of `table` (`key_sql` names its columns after the
/// shop, bound from `key`) at `at`.
async fn close_open(
    tx: &mut PgConnection,
    sql: &'static str,
    shop: &str,
    at: UnixMillis,
    key: &[&str],
) -> Result<(), StoreError> {
    let mut q = sqlx::query(sql).bind(shop).bind(at);
    for k in key {
        q = q.bind(*k);
    }
    q.execute(tx).await.map_err(io("closing an interval"))?;
    Ok(())
}

async fn write_events(
    tx: &mut PgConnection,
    shop: &str,
    run: i64,
    events: &[LiveEvent],
    heartbeat: UnixMillis,
) -> Result<(), StoreError> {
    let mut strokes: Vec<(&str, UnixMillis, UnixMillis)> = Vec::new();
    for e in events {
        if let Event::Stroke { machine, start_t, end_t, .. } = e {
            strokes.push((machine, *start_t, *end_t));
            continue;
        }
        insert_strokes(tx, shop, run, &strokes).await?;
        strokes.clear();
        write_event(tx, shop, run, e).await?;
    }
    insert_strokes(tx, shop, run, &strokes).await?;
    sqlx::query("UPDATE service_run SET heartbeat_ms = GREATEST(heartbeat_ms, $2) WHERE id = $1")
        .bind(run)
        .bind(heartbeat)
        .execute(tx)
        .await
        .map_err(io("storing the heartbeat"))?;
    Ok(())
}

async fn write_event(tx: &mut PgConnection, shop: &str, run: i64, event: &LiveEvent) -> Result<(), StoreError> {
    let stored = io("storing an event");
    match event {
        Event::State { machine, state, t } => {
            close_open(
                tx,
                "UPDATE machine_state SET end_ms = GREATEST(start_ms, $2) \
                 WHERE shop_id = $1 AND machine = $3 AND end_ms IS NULL",
                shop,
                *t,
                &[machine],
            )
            .await?;
            sqlx::query(
                "INSERT INTO machine_state (shop_id, machine, state, start_ms, run_id) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(shop)
            .bind(machine)
            .bind(state.as_str())
            .bind(*t)
            .bind(run)
            .execute(tx)
            .await
            .map_err(stored)?;
        }
        Event::Lamp { machine, lamp, color, mode, t } => {
            close_open(
                tx,
                "UPDATE lamp_mode SET end_ms = GREATEST(start_ms, $2) \
                 WHERE shop_id = $1 AND machine = $3 AND lamp = $4::BIGINT AND end_ms IS NULL",
                shop,
                *t,
                &[machine, &lamp.to_string()],
            )
            .await?;
            sqlx::query(
                "INSERT INTO lamp_mode (shop_id, machine, lamp, color, mode, start_ms, run_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(shop)
            .bind(machine)
            .bind(i64::try_from(*lamp).unwrap_or(i64::MAX))
            .bind(color.as_str())
            .bind(mode.as_str())
            .bind(*t)
            .bind(run)
            .execute(tx)
            .await
            .map_err(stored)?;
        }
        Event::Health { camera, health, detail, t } => {
            close_open(
                tx,
                "UPDATE camera_health SET end_ms = GREATEST(start_ms, $2) \
                 WHERE shop_id = $1 AND camera = $3 AND end_ms IS NULL",
                shop,
                *t,
                &[camera],
            )
            .await?;
            sqlx::query(
                "INSERT INTO camera_health (shop_id, camera, health, detail, start_ms, run_id) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(shop)
            .bind(camera)
            .bind(health.as_str())
            .bind(detail)
            .bind(*t)
            .bind(run)
            .execute(tx)
            .await
            .map_err(stored)?;
        }
        Event::Stroke { machine, start_t, end_t, .. } => {
            insert_strokes(tx, shop, run, &[(machine, *start_t, *end_t)]).await?
        }
        Event::Cycle { machine, start_t, end_t, strokes } => {
            sqlx::query(
                "INSERT INTO cycle (shop_id, machine, start_ms, end_ms, strokes, job, operator, run_id) \
                 SELECT $1, $2, $3, $4, $5, job.value, job.author, $6 FROM (SELECT 1) one LEFT JOIN \
                 (SELECT value, author FROM machine_note WHERE shop_id = $1 AND machine = $2 AND kind = 'job' \
                  AND start_ms <= $3 AND (end_ms IS NULL OR end_ms > $3) ORDER BY start_ms DESC LIMIT 1) job ON true",
            )
            .bind(shop)
            .bind(machine)
            .bind(*start_t)
            .bind(*end_t)
            .bind(i64::from(*strokes))
            .bind(run)
            .execute(tx)
            .await
            .map_err(io("storing a cycle"))?;
        }
        Event::Presence { zone, operator_of, people, t } => {
            close_open(
                tx,
                "UPDATE zone_presence SET end_ms = GREATEST(start_ms, $2) \
                 WHERE shop_id = $1 AND zone = $3 AND end_ms IS NULL",
                shop,
                *t,
                &[zone],
            )
            .await?;
            sqlx::query(
                "INSERT INTO zone_presence (shop_id, zone, operator_of, people, start_ms, run_id) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(shop)
            .bind(zone)
            .bind(operator_of)
            .bind(i64::from(*people))
            .bind(*t)
            .bind(run)
            .execute(tx)
            .await
            .map_err(stored)?;
        }
        Event::Safety { zone, machine, people, t, snapshot, .. } => {
            sqlx::query(
                "INSERT INTO safety_event (shop_id, zone, machine, people, t_ms, snapshot, run_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(shop)
            .bind(zone)
            .bind(machine)
            .bind(i64::from(*people))
            .bind(*t)
            .bind(snapshot)
            .bind(run)
            .execute(tx)
            .await
            .map_err(io("storing a safety event"))?;
        }
        Event::Motion { .. } | Event::MediaIssue { .. } => {}
    }
    Ok(())
}

/// Strokes in multi-row statements, and the machines' running totals.
async fn insert_strokes(
    tx: &mut PgConnection,
    shop: &str,
    run: i64,
    strokes: &[(&str, UnixMillis, UnixMillis)],
) -> Result<(), StoreError> {
    // Five parameters a row, well below PostgreSQL's 65535 a statement.
    for chunk in strokes.chunks(5000) {
        let mut q =
            sqlx::QueryBuilder::<Postgres>::new("INSERT INTO stroke (shop_id, machine, start_ms, end_ms, run_id) ");
        q.push_values(chunk, |mut row, (machine, start, end)| {
            row.push_bind(shop).push_bind(*machine).push_bind(*start).push_bind(*end).push_bind(run);
        });
        q.build().execute(&mut *tx).await.map_err(io("storing strokes"))?;
    }
    let mut counts: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
    for (machine, _, _) in strokes {
        *counts.entry(machine).or_default() += 1;
    }
    for (machine, n) in counts {
        sqlx::query(
            "INSERT INTO stroke_total (shop_id, machine, strokes) VALUES ($1, $2, $3) \
             ON CONFLICT (shop_id, machine) DO UPDATE SET strokes = stroke_total.strokes + $3",
        )
        .bind(shop)
        .bind(machine)
        .bind(n)
        .execute(&mut *tx)
        .await
        .map_err(io("counting strokes"))?;
    }
    Ok(())
}

/// Closes what crashed run `id` left open: known up to its `heartbeat`, then
/// `NotAvailable` until `now` (as the SQLite store does).
async fn close_crashed_run(
    tx: &mut PgConnection,
    shop: &str,
    id: i64,
    heartbeat: UnixMillis,
    now: UnixMillis,
) -> Result<(), StoreError> {
    let crashed = io("closing a crashed run");
    let open: Vec<(String, String, UnixMillis)> = sqlx::query_as(
        "SELECT machine, state, start_ms FROM machine_state WHERE shop_id = $1 AND end_ms IS NULL AND run_id = $2",
    )
    .bind(shop)
    .bind(id)
    .fetch_all(&mut *tx)
    .await
    .map_err(io("closing a crashed run"))?;
    for (machine, state, start) in open {
        let known_until = heartbeat.max(start);
        let unknown_already = state == MachineState::NotAvailable.as_str();
        sqlx::query("UPDATE machine_state SET end_ms = $3 WHERE shop_id = $1 AND machine = $2 AND end_ms IS NULL")
            .bind(shop)
            .bind(&machine)
            .bind(if unknown_already { now.max(start) } else { known_until })
            .execute(&mut *tx)
            .await
            .map_err(io("closing a crashed run"))?;
        if !unknown_already {
            sqlx::query(
                "INSERT INTO machine_state (shop_id, machine, state, start_ms, end_ms, run_id) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(shop)
            .bind(&machine)
            .bind(MachineState::NotAvailable.as_str())
            .bind(known_until)
            .bind(now.max(known_until))
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(io("closing a crashed run"))?;
        }
    }
    for sql in [
        "UPDATE lamp_mode SET end_ms = GREATEST(start_ms, $2) WHERE shop_id = $1 AND end_ms IS NULL AND run_id = $3",
        "UPDATE camera_health SET end_ms = GREATEST(start_ms, $2) WHERE shop_id = $1 AND end_ms IS NULL AND run_id = $3",
        "UPDATE zone_presence SET end_ms = GREATEST(start_ms, $2) WHERE shop_id = $1 AND end_ms IS NULL AND run_id = $3",
    ] {
        sqlx::query(sql)
            .bind(shop)
            .bind(heartbeat)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(io("closing a crashed run"))?;
    }
    sqlx::query(
        "UPDATE service_run SET stopped_ms = GREATEST(heartbeat_ms, $2), heartbeat_ms = GREATEST(heartbeat_ms, $2), \
         stop_reason = 'crash' WHERE id = $1",
    )
    .bind(id)
    .bind(heartbeat)
    .execute(tx)
    .await
    .map_err(crashed)?;
    Ok(())
}

async fn end_run(tx: &mut PgConnection, shop: &str, run: i64, now: UnixMillis) -> Result<(), StoreError> {
    for sql in [
        "UPDATE machine_state SET end_ms = GREATEST(start_ms, $2) WHERE shop_id = $1 AND end_ms IS NULL",
        "UPDATE lamp_mode SET end_ms = GREATEST(start_ms, $2) WHERE shop_id = $1 AND end_ms IS NULL",
        "UPDATE camera_health SET end_ms = GREATEST(start_ms, $2) WHERE shop_id = $1 AND end_ms IS NULL",
        "UPDATE zone_presence SET end_ms = GREATEST(start_ms, $2) WHERE shop_id = $1 AND end_ms IS NULL",
    ] {
        sqlx::query(sql).bind(shop).bind(now).execute(&mut *tx).await.map_err(io("stopping the run"))?;
    }
    sqlx::query(
        "UPDATE service_run SET stopped_ms = $2, heartbeat_ms = GREATEST(heartbeat_ms, $2), stop_reason = 'stop' \
         WHERE id = $1",
    )
    .bind(run)
    .bind(now)
    .execute(tx)
    .await
    .map_err(io("stopping the run"))?;
    Ok(())
}

/// Rows overlapping `from..to` (bound as shop, to, from, key), of one key or all.
macro_rules! overlapping {
    ($select:literal, $key:literal, $order:literal) => {
        concat!(
            $select,
            " WHERE shop_id = $1 AND start_ms < $2 AND (end_ms IS NULL OR end_ms > $3) AND ($4::TEXT IS NULL OR ",
            $key,
            " = $4) ORDER BY ",
            $order
        )
    };
}

impl PgStore {
    pub fn shop_id(&self) -> &str {
        &self.shop
    }

    pub fn database(&self) -> &PgDatabase {
        &self.db
    }

    /// Rows of `sql` (whose parameters are shop, to, from, key) for `q`.
    async fn fetch<R>(&self, sql: &'static str, q: &Query, what: &'static str) -> Result<Vec<R>, StoreError>
    where
        R: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
    {
        let mut tx = self.db.scoped(&self.shop).await?;
        let rows = sqlx::query_as(sql)
            .bind(&*self.shop)
            .bind(q.to)
            .bind(q.from)
            .bind(&q.key)
            .fetch_all(&mut *tx)
            .await
            .map_err(io(what))?;
        tx.commit().await.map_err(io(what))?;
        Ok(rows)
    }

    /// What the shift report of `q` is computed from. Standard work is kept on the edge
    /// only: the hub reports performance against the kinds' ideal rates.
    pub async fn report_history(&self, q: &Query) -> Result<crate::report::ReportHistory, StoreError> {
        let cycles = CycleFilter { query: q.clone(), job: None, limit: None, offset: 0 };
        Ok(crate::report::ReportHistory {
            states: self.states(q).await?,
            strokes: self.strokes(q).await?,
            cycles: self.cycles(&cycles).await?,
            standards: Vec::new(),
            operator_presence: self.operator_presence(q).await?,
        })
    }

    /// Stores a note, as the edge's store does.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_note(
        &self,
        machine: &str,
        kind: &str,
        value: &str,
        start: UnixMillis,
        end: Option<UnixMillis>,
        author: &str,
        now: UnixMillis,
    ) -> Result<i64, StoreError> {
        let mut tx = self.db.scoped(&self.shop).await?;
        let id = insert_note(&mut tx, &self.shop, machine, kind, value, start, end, author, now).await?;
        tx.commit().await.map_err(io("storing a note"))?;
        Ok(id)
    }

    /// Notes (kind, machine, value, start, end) of the shop overlapping `from..to`.
    pub async fn note_values(
        &self,
        from: UnixMillis,
        to: UnixMillis,
    ) -> Result<Vec<(String, String, String, UnixMillis, Option<UnixMillis>)>, StoreError> {
        let mut tx = self.db.scoped(&self.shop).await?;
        let rows = sqlx::query_as(
            "SELECT kind, machine, value, start_ms, end_ms FROM machine_note WHERE shop_id = $1 \
             AND start_ms < $3 AND (end_ms IS NULL OR end_ms > $2) ORDER BY start_ms, machine, kind",
        )
        .bind(&*self.shop)
        .bind(from)
        .bind(to)
        .fetch_all(&mut *tx)
        .await
        .map_err(io("reading notes"))?;
        tx.commit().await.map_err(io("reading notes"))?;
        Ok(rows)
    }

    /// The shop's alerts, oldest first: (rule, subject, message, raised, cleared, acked by,
    /// acked).
    pub async fn alert_values(&self) -> Result<Vec<AlertValues>, StoreError> {
        let mut tx = self.db.scoped(&self.shop).await?;
        let rows = sqlx::query_as(
            "SELECT rule, subject, message, raised_ms, cleared_ms, acked_by, acked_ms FROM alert \
             WHERE shop_id = $1 ORDER BY raised_ms, id",
        )
        .bind(&*self.shop)
        .fetch_all(&mut *tx)
        .await
        .map_err(io("reading alerts"))?;
        tx.commit().await.map_err(io("reading alerts"))?;
        Ok(rows)
    }

    /// Quarantined events of the shop: (reason, body as JSON text).
    pub async fn quarantined(&self) -> Result<Vec<(String, String)>, StoreError> {
        let mut tx = self.db.scoped(&self.shop).await?;
        let rows = sqlx::query_as("SELECT reason, body::TEXT FROM quarantine WHERE shop_id = $1 ORDER BY id")
            .bind(&*self.shop)
            .fetch_all(&mut *tx)
            .await
            .map_err(io("reading quarantine"))?;
        tx.commit().await.map_err(io("reading quarantine"))?;
        Ok(rows)
    }

    async fn partitions_for(&self, events: &[LiveEvent], heartbeat: UnixMillis) -> Result<Vec<LiveEvent>, StoreError> {
        let now = UnixMillis::now().max(heartbeat);
        let (good, bad): (Vec<LiveEvent>, Vec<LiveEvent>) =
            events.iter().cloned().partition(|e| event_times(e).iter().all(|t| valid_time(*t, now)));
        if let Some((first, last)) = span(good.iter().flat_map(event_times)) {
            self.db.ensure_partitions(first, last).await?;
        }
        if !bad.is_empty() {
            let mut tx = self.db.scoped(&self.shop).await?;
            let link = Link { shop: &self.shop, epoch: "local", now };
            for e in &bad {
                quarantine(&mut tx, &link, 0, "a time before 2015 or more than a day ahead", serde_json::json!(e))
                    .await?;
            }
            tx.commit().await.map_err(io("quarantining events"))?;
        }
        Ok(good)
    }
}

impl Store for PgStore {
    async fn begin_run(&self, now: UnixMillis, version: &str) -> Result<i64, StoreError> {
        self.db.ensure_partitions(now, now).await?;
        let mut tx = self.db.scoped(&self.shop).await?;
        let crashed: Vec<(i64, UnixMillis)> = sqlx::query_as(
            "SELECT id, heartbeat_ms FROM service_run WHERE shop_id = $1 AND stopped_ms IS NULL ORDER BY id",
        )
        .bind(&*self.shop)
        .fetch_all(&mut *tx)
        .await
        .map_err(io("finding crashed runs"))?;
        for (id, heartbeat) in crashed {
            close_crashed_run(&mut tx, &self.shop, id, heartbeat, now).await?;
            tracing::warn!(run = id, last_heartbeat = %heartbeat.rfc3339(), "the previous run ended without a clean stop");
        }
        let run = insert_run(&mut tx, &self.shop, now, version).await?;
        tx.commit().await.map_err(io("starting a run"))?;
        Ok(run)
    }

    async fn write(&self, run: i64, events: &[LiveEvent], heartbeat: UnixMillis) -> Result<(), StoreError> {
        let events = self.partitions_for(events, heartbeat).await?;
        let mut tx = self.db.scoped(&self.shop).await?;
        write_events(&mut tx, &self.shop, run, &events, heartbeat).await?;
        tx.commit().await.map_err(io("committing events"))
    }

    async fn end_run(&self, run: i64, now: UnixMillis) -> Result<(), StoreError> {
        let mut tx = self.db.scoped(&self.shop).await?;
        end_run(&mut tx, &self.shop, run, now).await?;
        tx.commit().await.map_err(io("stopping the run"))
    }

    async fn purge(&self, before: UnixMillis) -> Result<u64, StoreError> {
        let mut deleted = 0;
        let mut tx = self.db.scoped(&self.shop).await?;
        for sql in [
            "DELETE FROM machine_state WHERE shop_id = $1 AND end_ms IS NOT NULL AND end_ms < $2",
            "DELETE FROM lamp_mode WHERE shop_id = $1 AND end_ms IS NOT NULL AND end_ms < $2",
            "DELETE FROM camera_health WHERE shop_id = $1 AND end_ms IS NOT NULL AND end_ms < $2",
            "DELETE FROM stroke WHERE shop_id = $1 AND end_ms < $2",
            "DELETE FROM zone_presence WHERE shop_id = $1 AND end_ms IS NOT NULL AND end_ms < $2",
            "DELETE FROM safety_event WHERE shop_id = $1 AND t_ms < $2",
            "DELETE FROM cycle WHERE shop_id = $1 AND end_ms < $2",
        ] {
            deleted += sqlx::query(sql)
                .bind(&*self.shop)
                .bind(before)
                .execute(&mut *tx)
                .await
                .map_err(io("purging old history"))?
                .rows_affected();
        }
        tx.commit().await.map_err(io("purging old history"))?;
        Ok(deleted)
    }

    async fn runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        let mut tx = self.db.scoped(&self.shop).await?;
        let rows: Vec<RunRow> = sqlx::query_as(
            "SELECT id, started_ms, heartbeat_ms, stopped_ms, stop_reason, version FROM service_run \
             WHERE shop_id = $1 ORDER BY id",
        )
        .bind(&*self.shop)
        .fetch_all(&mut *tx)
        .await
        .map_err(io("reading runs"))?;
        tx.commit().await.map_err(io("reading runs"))?;
        Ok(rows.into_iter().map(run_record).collect())
    }

    async fn states(&self, q: &Query) -> Result<Vec<StateInterval>, StoreError> {
        let rows: Vec<StateRow> = self
            .fetch(
                overlapping!(
                    "SELECT machine, state, start_ms, end_ms FROM machine_state",
                    "machine",
                    "machine, start_ms"
                ),
                q,
                "reading machine states",
            )
            .await?;
        rows.into_iter().map(state_interval).collect()
    }

    async fn lamps(&self, q: &Query) -> Result<Vec<LampInterval>, StoreError> {
        let rows: Vec<LampRow> = self
            .fetch(
                overlapping!(
                    "SELECT machine, lamp, color, mode, start_ms, end_ms FROM lamp_mode",
                    "machine",
                    "machine, lamp, start_ms"
                ),
                q,
                "reading lamp modes",
            )
            .await?;
        rows.into_iter().map(lamp_interval).collect()
    }

    async fn health(&self, q: &Query) -> Result<Vec<HealthInterval>, StoreError> {
        let rows: Vec<HealthRow> = self
            .fetch(
                overlapping!(
                    "SELECT camera, health, detail, start_ms, end_ms FROM camera_health",
                    "camera",
                    "camera, start_ms"
                ),
                q,
                "reading camera health",
            )
            .await?;
        rows.into_iter().map(health_interval).collect()
    }

    async fn strokes(&self, q: &Query) -> Result<Vec<StrokeRecord>, StoreError> {
        let rows: Vec<(String, UnixMillis, UnixMillis)> = self
            .fetch(
                "SELECT machine, start_ms, end_ms FROM stroke WHERE shop_id = $1 AND end_ms < $2 AND end_ms >= $3 \
                 AND ($4::TEXT IS NULL OR machine = $4) ORDER BY machine, end_ms",
                q,
                "reading strokes",
            )
            .await?;
        Ok(rows.into_iter().map(|(machine, start, end)| StrokeRecord { machine, start, end }).collect())
    }

    async fn cycles(&self, f: &CycleFilter) -> Result<Vec<CycleRecord>, StoreError> {
        let limit = f.limit.map_or(i64::MAX, |l| i64::try_from(l).unwrap_or(i64::MAX));
        let offset = i64::try_from(f.offset).unwrap_or(i64::MAX);
        let mut tx = self.db.scoped(&self.shop).await?;
        let rows: Vec<CycleRow> = sqlx::query_as(
            "SELECT id, machine, start_ms, end_ms, strokes, job, operator FROM cycle WHERE shop_id = $1 \
             AND end_ms < $2 AND end_ms >= $3 AND ($4::TEXT IS NULL OR machine = $4) \
             AND ($5::TEXT IS NULL OR job = $5) ORDER BY end_ms DESC, id DESC LIMIT $6 OFFSET $7",
        )
        .bind(&*self.shop)
        .bind(f.query.to)
        .bind(f.query.from)
        .bind(&f.query.key)
        .bind(&f.job)
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *tx)
        .await
        .map_err(io("reading cycles"))?;
        tx.commit().await.map_err(io("reading cycles"))?;
        Ok(rows.into_iter().map(cycle_record).collect())
    }

    async fn presence(&self, q: &Query) -> Result<Vec<PresenceInterval>, StoreError> {
        let rows: Vec<PresenceRow> = self
            .fetch(
                overlapping!(
                    "SELECT zone, people, operator_of, start_ms, end_ms FROM zone_presence",
                    "zone",
                    "zone, start_ms"
                ),
                q,
                "reading zone presence",
            )
            .await?;
        Ok(rows.into_iter().map(presence_interval).collect())
    }

    async fn operator_presence(&self, q: &Query) -> Result<Vec<PresenceInterval>, StoreError> {
        let rows: Vec<PresenceRow> = self
            .fetch(
                overlapping!(
                    "SELECT zone, people, operator_of, start_ms, end_ms FROM zone_presence",
                    "operator_of",
                    "zone, start_ms"
                ),
                q,
                "reading operator zone presence",
            )
            .await?;
        Ok(rows.into_iter().filter(|r| r.2.is_some()).map(presence_interval).collect())
    }

    async fn safety_events(&self, q: &Query) -> Result<Vec<SafetyRecord>, StoreError> {
        let rows: Vec<SafetyRow> = self
            .fetch(
                "SELECT id, zone, machine, people, t_ms, snapshot FROM safety_event WHERE shop_id = $1 \
                 AND t_ms < $2 AND t_ms >= $3 AND ($4::TEXT IS NULL OR machine = $4) ORDER BY t_ms, id",
                q,
                "reading safety events",
            )
            .await?;
        Ok(rows.into_iter().map(safety_record).collect())
    }

    async fn stroke_totals(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let mut tx = self.db.scoped(&self.shop).await?;
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT machine, strokes FROM stroke_total WHERE shop_id = $1 ORDER BY machine")
                .bind(&*self.shop)
                .fetch_all(&mut *tx)
                .await
                .map_err(io("reading stroke totals"))?;
        tx.commit().await.map_err(io("reading stroke totals"))?;
        Ok(rows.into_iter().map(|(machine, n)| (machine, u64::try_from(n).unwrap_or(0))).collect())
    }
}
