//! [`PgStore`]: one shop's history in the hub's database, read and written through the
//! [`Store`] trait as the edge's SQLite store is. Invariant: every query runs in a
//! transaction scoped to the shop and also names it.

use sheetsight_vision::event::LiveEvent;

use super::ingest::{Link, close_crashed_run, end_run, event_times, insert_note, insert_run, quarantine, write_events};
use super::{AlertValues, PgDatabase, PgStore, io, span, valid_time};
use crate::rows::{
    CycleRow, HealthRow, LampRow, PresenceRow, RunRow, SafetyRow, StateRow, cycle_record, health_interval,
    lamp_interval, presence_interval, run_record, safety_record, state_interval,
};
use crate::{
    CycleFilter, CycleRecord, HealthInterval, LampInterval, PresenceInterval, Query, RunRecord, SafetyRecord,
    StateInterval, Store, StoreError, StrokeRecord, UnixMillis,
};

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

    /// Notes of the shop overlapping `from..to` (of one machine, or all), as the edge
    /// lists them: the summary's stops take their reasons from them.
    pub async fn notes(
        &self,
        machine: Option<&str>,
        from: UnixMillis,
        to: UnixMillis,
    ) -> Result<Vec<crate::site::NoteRecord>, StoreError> {
        type Row = (i64, String, String, String, UnixMillis, Option<UnixMillis>, String, UnixMillis);
        let mut tx = self.db.scoped(&self.shop).await?;
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, machine, kind, value, start_ms, end_ms, author, created_ms FROM machine_note \
             WHERE shop_id = $1 AND start_ms < $3 AND (end_ms IS NULL OR end_ms > $2) \
             AND ($4::TEXT IS NULL OR machine = $4) ORDER BY start_ms, machine, kind",
        )
        .bind(&*self.shop)
        .bind(from)
        .bind(to)
        .bind(machine)
        .fetch_all(&mut *tx)
        .await
        .map_err(io("reading notes"))?;
        tx.commit().await.map_err(io("reading notes"))?;
        Ok(rows
            .into_iter()
            .map(|(id, machine, kind, value, start_ms, end_ms, author, created_ms)| crate::site::NoteRecord {
                id,
                machine,
                kind,
                value,
                start_ms,
                end_ms,
                author,
                created_ms,
            })
            .collect())
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
