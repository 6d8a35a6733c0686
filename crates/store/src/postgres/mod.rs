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
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

use crate::{StoreError, StoreErrorKind, UnixMillis};

pub mod hub_access;
pub mod hub_read;
mod ingest;
mod shop_store;

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

pub(super) fn io(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
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
        // Every stroke partition of a month before `before`'s is gone (strokes hold no open
        // interval): so go their hourly counts.
        let mut tx = self.scoped("*").await?;
        sqlx::query("DELETE FROM stroke_hour WHERE hour_ms < $1")
            .bind(month_start(before))
            .execute(&mut *tx)
            .await
            .map_err(io("dropping old hourly stroke counts"))?;
        tx.commit().await.map_err(io("dropping old hourly stroke counts"))?;
        Ok(i64::from(dropped))
    }

    /// Adds shop `id` (named by its id) unless it exists.
    pub async fn ensure_shop(&self, id: &str, now: UnixMillis) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO shop (id, name, created_ms) VALUES ($1, $1, $2) ON CONFLICT (id) DO NOTHING")
            .bind(id)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(io("adding a shop"))?;
        Ok(())
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

/// The start of `t`'s month (UTC), in ms.
fn month_start(t: UnixMillis) -> i64 {
    use chrono::Datelike;
    let d = chrono::DateTime::from_timestamp_millis(t.0).unwrap_or_default();
    d.date_naive().with_day(1).and_then(|d| d.and_hms_opt(0, 0, 0)).map_or(t.0, |d| d.and_utc().timestamp_millis())
}

/// The earliest and latest of `times`, if any.
pub(super) fn span(times: impl Iterator<Item = UnixMillis>) -> Option<(UnixMillis, UnixMillis)> {
    times.fold(None, |acc, t| Some(acc.map_or((t, t), |(a, b): (UnixMillis, UnixMillis)| (a.min(t), b.max(t)))))
}

pub(super) fn valid_time(t: UnixMillis, now: UnixMillis) -> bool {
    t >= EARLIEST_VALID && t.0 <= now.0.saturating_add(FUTURE_SLACK_MS)
}
