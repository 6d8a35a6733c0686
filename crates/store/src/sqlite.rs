//! The embedded store: one SQLite file (`history.db`) in the data folder, in WAL mode.
//!
//! WAL with `synchronous = NORMAL` keeps every committed batch through a crash of the
//! process (a power cut may lose the last batches, never the file). Migrations are the
//! numbered files in `migrations/sqlite`, applied at open.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sheetsight_vision::event::{Event, LiveEvent};
use sheetsight_vision::state::MachineState;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, Transaction};

use crate::outbox::{Change, CrashedRun};
use crate::rows::{
    CycleRow, HealthRow, LampRow, PresenceRow, RunRow, SafetyRow, StateRow, cycle_record, health_interval,
    lamp_interval, presence_interval, run_record, safety_record, state_interval,
};
use crate::{
    CycleFilter, CycleRecord, HealthInterval, LampInterval, PresenceInterval, Query, RunRecord, SafetyRecord,
    StateInterval, Store, StoreError, StoreErrorKind, StrokeRecord, UnixMillis,
};

/// The file name of the database inside the data folder.
pub const DATABASE_FILE: &str = "history.db";

/// SQLite history in one file.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    path: PathBuf,
    /// Set when a hub is configured: every change also goes to the outbox.
    pub(crate) outbox: Option<std::sync::Arc<crate::outbox::Outbox>>,
}

impl SqliteStore {
    /// Opens (creating if needed) `history.db` in `data_dir` and migrates it.
    pub async fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let path = data_dir.join(DATABASE_FILE);
        let what = format!("opening {}", path.display());
        crate::data_dir::create_private(data_dir, &path)
            .map_err(|e| StoreError::new(StoreErrorKind::Open, &what, e))?;
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| StoreError::new(StoreErrorKind::Open, &what, e))?;
        sqlx::migrate!("migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|e| StoreError::new(StoreErrorKind::Migrate, &what, e))?;
        Ok(Self { pool, path, outbox: None })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// One stored cycle by its id.
    pub async fn cycle(&self, id: i64) -> Result<Option<CycleRecord>, StoreError> {
        let row: Option<CycleRow> =
            sqlx::query_as("SELECT id, machine, start_ms, end_ms, strokes, job, operator FROM cycle WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(StoreError::io("reading a cycle"))?;
        Ok(row.map(cycle_record))
    }

    /// `PRAGMA integrity_check`: `ok` for a sound file.
    pub async fn integrity_check(&self) -> Result<String, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::io("checking the database"))?;
        Ok(rows.into_iter().map(|r| r.0).collect::<Vec<_>>().join("; "))
    }

    /// Waits for the writes to be checkpointed and closes the pool.
    pub async fn close(&self) {
        let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&self.pool).await;
        self.pool.close().await;
    }
}

/// Closes the open interval of a key at `at` and opens the next one.
async fn close_open(
    tx: &mut Transaction<'_, Sqlite>,
    sql: &'static str,
    at: UnixMillis,
    key: &[&str],
) -> Result<(), StoreError> {
    let mut q = sqlx::query(sql).bind(at);
    for k in key {
        q = q.bind(*k);
    }
    q.execute(&mut **tx).await.map_err(StoreError::io("closing an interval"))?;
    Ok(())
}

async fn write_event(tx: &mut Transaction<'_, Sqlite>, run: i64, event: &LiveEvent) -> Result<(), StoreError> {
    let io = StoreError::io("storing an event");
    match event {
        Event::State { machine, state, t } => {
            let at = *t;
            close_open(
                tx,
                "UPDATE machine_state SET end_ms = max(start_ms, ?) WHERE machine = ? AND end_ms IS NULL",
                at,
                &[machine],
            )
            .await?;
            sqlx::query("INSERT INTO machine_state (machine, state, start_ms, run_id) VALUES (?, ?, ?, ?)")
                .bind(machine)
                .bind(state.as_str())
                .bind(at)
                .bind(run)
                .execute(&mut **tx)
                .await
                .map_err(io)?;
        }
        Event::Lamp { machine, lamp, color, mode, t } => {
            let at = *t;
            let lamp = lamp.to_string();
            close_open(
                tx,
                "UPDATE lamp_mode SET end_ms = max(start_ms, ?) WHERE machine = ? AND lamp = ? AND end_ms IS NULL",
                at,
                &[machine, &lamp],
            )
            .await?;
            sqlx::query(
                "INSERT INTO lamp_mode (machine, lamp, color, mode, start_ms, run_id) VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(machine)
            .bind(lamp)
            .bind(color.as_str())
            .bind(mode.as_str())
            .bind(at)
            .bind(run)
            .execute(&mut **tx)
            .await
            .map_err(io)?;
        }
        Event::Health { camera, health, detail, t } => {
            let at = *t;
            close_open(
                tx,
                "UPDATE camera_health SET end_ms = max(start_ms, ?) WHERE camera = ? AND end_ms IS NULL",
                at,
                &[camera],
            )
            .await?;
            sqlx::query("INSERT INTO camera_health (camera, health, detail, start_ms, run_id) VALUES (?, ?, ?, ?, ?)")
                .bind(camera)
                .bind(health.as_str())
                .bind(detail)
                .bind(at)
                .bind(run)
                .execute(&mut **tx)
                .await
                .map_err(io)?;
        }
        Event::Stroke { machine, start_t, end_t, .. } => {
            insert_strokes(tx, run, &[(machine, *start_t, *end_t)]).await?
        }
        Event::Cycle { machine, start_t, end_t, strokes } => {
            sqlx::query(
                "INSERT INTO cycle (machine, start_ms, end_ms, strokes, job, operator, run_id) \
                 SELECT ?1, ?2, ?3, ?4, job.value, job.author, ?5 FROM (SELECT 1) LEFT JOIN \
                 (SELECT value, author FROM machine_note WHERE machine = ?1 AND kind = 'job' \
                  AND start_ms <= ?2 AND (end_ms IS NULL OR end_ms > ?2) ORDER BY start_ms DESC LIMIT 1) job",
            )
            .bind(machine)
            .bind(*start_t)
            .bind(*end_t)
            .bind(i64::from(*strokes))
            .bind(run)
            .execute(&mut **tx)
            .await
            .map_err(StoreError::io("storing a cycle"))?;
        }
        Event::Presence { zone, operator_of, people, t } => {
            // Dated when the new count was first seen, which may be before events of
            // other keys already stored: only this zone's own interval is closed.
            let at = *t;
            close_open(
                tx,
                "UPDATE zone_presence SET end_ms = max(start_ms, ?) WHERE zone = ? AND end_ms IS NULL",
                at,
                &[zone],
            )
            .await?;
            sqlx::query(
                "INSERT INTO zone_presence (zone, operator_of, people, start_ms, run_id) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(zone)
            .bind(operator_of)
            .bind(i64::from(*people))
            .bind(at)
            .bind(run)
            .execute(&mut **tx)
            .await
            .map_err(io)?;
        }
        Event::Safety { zone, machine, people, t, snapshot, .. } => {
            sqlx::query(
                "INSERT INTO safety_event (zone, machine, people, t_ms, snapshot, run_id) VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(zone)
            .bind(machine)
            .bind(i64::from(*people))
            .bind(*t)
            .bind(snapshot)
            .bind(run)
            .execute(&mut **tx)
            .await
            .map_err(StoreError::io("storing a safety event"))?;
        }
        Event::Motion { .. } | Event::MediaIssue { .. } => {}
    }
    Ok(())
}

/// Strokes (machine, start, end) in multi-row statements, and the machines' running totals.
async fn insert_strokes(
    tx: &mut Transaction<'_, Sqlite>,
    run: i64,
    strokes: &[(&str, UnixMillis, UnixMillis)],
) -> Result<(), StoreError> {
    // Four parameters a row, well below SQLite's limit of 32766 a statement.
    for chunk in strokes.chunks(1000) {
        let mut q = sqlx::QueryBuilder::<Sqlite>::new("INSERT INTO stroke (machine, start_ms, end_ms, run_id) ");
        q.push_values(chunk, |mut row, (machine, start, end)| {
            row.push_bind(*machine).push_bind(*start).push_bind(*end).push_bind(run);
        });
        q.build().execute(&mut **tx).await.map_err(StoreError::io("storing strokes"))?;
    }
    let mut counts: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
    for (machine, _, _) in strokes {
        *counts.entry(machine).or_default() += 1;
    }
    for (machine, n) in counts {
        sqlx::query(
            "INSERT INTO stroke_total (machine, strokes) VALUES (?1, ?2) \
             ON CONFLICT (machine) DO UPDATE SET strokes = strokes + ?2",
        )
        .bind(machine)
        .bind(n)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::io("counting strokes"))?;
    }
    Ok(())
}

/// Closes what crashed run `id` left open: known up to its `heartbeat`, then
/// `NotAvailable` until `now` (a machine that was `NotAvailable` simply stays so).
async fn close_crashed_run(
    tx: &mut Transaction<'_, Sqlite>,
    id: i64,
    heartbeat: UnixMillis,
    now: UnixMillis,
) -> Result<(), sqlx::Error> {
    let open: Vec<(String, String, UnixMillis)> =
        sqlx::query_as("SELECT machine, state, start_ms FROM machine_state WHERE end_ms IS NULL AND run_id = ?")
            .bind(id)
            .fetch_all(&mut **tx)
            .await?;
    for (machine, state, start) in open {
        let known_until = heartbeat.max(start);
        let unknown_already = state == MachineState::NotAvailable.as_str();
        sqlx::query("UPDATE machine_state SET end_ms = ? WHERE machine = ? AND end_ms IS NULL")
            .bind(if unknown_already { now.max(start) } else { known_until })
            .bind(&machine)
            .execute(&mut **tx)
            .await?;
        if !unknown_already {
            sqlx::query("INSERT INTO machine_state (machine, state, start_ms, end_ms, run_id) VALUES (?, ?, ?, ?, ?)")
                .bind(&machine)
                .bind(MachineState::NotAvailable.as_str())
                .bind(known_until)
                .bind(now.max(known_until))
                .bind(id)
                .execute(&mut **tx)
                .await?;
        }
    }
    for sql in [
        "UPDATE lamp_mode SET end_ms = max(start_ms, ?) WHERE end_ms IS NULL AND run_id = ?",
        "UPDATE camera_health SET end_ms = max(start_ms, ?) WHERE end_ms IS NULL AND run_id = ?",
        "UPDATE zone_presence SET end_ms = max(start_ms, ?) WHERE end_ms IS NULL AND run_id = ?",
    ] {
        sqlx::query(sql).bind(heartbeat).bind(id).execute(&mut **tx).await?;
    }
    sqlx::query("UPDATE service_run SET stopped_ms = heartbeat_ms, stop_reason = 'crash' WHERE id = ?")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Rows overlapping `from..to` (bound as to, from), of one key or all (bound twice).
macro_rules! overlapping {
    ($select:literal, $key:literal, $order:literal) => {
        concat!(
            $select,
            " WHERE start_ms < ? AND (end_ms IS NULL OR end_ms > ?) AND (? IS NULL OR ",
            $key,
            " = ?) ORDER BY ",
            $order
        )
    };
}

impl SqliteStore {
    /// Rows of `sql` (whose parameters are to, from, key, key) for `q`.
    async fn fetch<R>(&self, sql: &'static str, q: &Query, what: &'static str) -> Result<Vec<R>, StoreError>
    where
        R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + Send + Unpin,
    {
        sqlx::query_as(sql)
            .bind(q.to)
            .bind(q.from)
            .bind(&q.key)
            .bind(&q.key)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::io(what))
    }

    /// What the shift report of `q` (its machine, or all) is computed from.
    pub async fn report_history(&self, q: &Query) -> Result<crate::report::ReportHistory, StoreError> {
        let cycles = CycleFilter { query: q.clone(), job: None, limit: None, offset: 0 };
        Ok(crate::report::ReportHistory {
            states: self.states(q).await?,
            strokes: self.strokes(q).await?,
            cycles: self.cycles(&cycles).await?,
            standards: self.standards(q.key.as_deref()).await?,
            operator_presence: self.operator_presence(q).await?,
            stroke_counts: None,
        })
    }
}

impl Store for SqliteStore {
    async fn begin_run(&self, now: UnixMillis, version: &str) -> Result<i64, StoreError> {
        let io = StoreError::io("starting a run");
        let mut tx = self.pool.begin().await.map_err(io)?;
        let crashed: Vec<(i64, UnixMillis)> =
            sqlx::query_as("SELECT id, heartbeat_ms FROM service_run WHERE stopped_ms IS NULL ORDER BY id")
                .fetch_all(&mut *tx)
                .await
                .map_err(StoreError::io("finding crashed runs"))?;
        for &(id, heartbeat) in &crashed {
            close_crashed_run(&mut tx, id, heartbeat, now).await.map_err(StoreError::io("closing a crashed run"))?;
            tracing::warn!(run = id, last_heartbeat = %heartbeat.rfc3339(), "the previous run ended without a clean stop; its open intervals end at its last heartbeat and the time until now is stored as NotAvailable");
        }
        let (run,): (i64,) =
            sqlx::query_as("INSERT INTO service_run (started_ms, heartbeat_ms, version) VALUES (?, ?, ?) RETURNING id")
                .bind(now)
                .bind(now)
                .bind(version)
                .fetch_one(&mut *tx)
                .await
                .map_err(StoreError::io("starting a run"))?;
        if let Some(outbox) = &self.outbox {
            let crashed = crashed.into_iter().map(|(run, heartbeat)| CrashedRun { run, heartbeat }).collect();
            outbox.push(&mut tx, &Change::BeginRun { run, now, version: version.into(), crashed }, 0).await?;
        }
        tx.commit().await.map_err(StoreError::io("starting a run"))?;
        Ok(run)
    }

    async fn write(&self, run: i64, events: &[LiveEvent], heartbeat: UnixMillis) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(StoreError::io("storing events"))?;
        // Runs of strokes go in together; everything keeps its order.
        let mut strokes: Vec<(&str, UnixMillis, UnixMillis)> = Vec::new();
        for e in events {
            if let Event::Stroke { machine, start_t, end_t, .. } = e {
                strokes.push((machine, *start_t, *end_t));
                continue;
            }
            insert_strokes(&mut tx, run, &strokes).await?;
            strokes.clear();
            write_event(&mut tx, run, e).await?;
        }
        insert_strokes(&mut tx, run, &strokes).await?;
        sqlx::query("UPDATE service_run SET heartbeat_ms = max(heartbeat_ms, ?) WHERE id = ?")
            .bind(heartbeat)
            .bind(run)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::io("storing the heartbeat"))?;
        if let Some(outbox) = &self.outbox {
            // Strokes apart, so that a full outbox can drop them and keep the rest.
            let (strokes, others): (Vec<LiveEvent>, Vec<LiveEvent>) =
                events.iter().cloned().partition(|e| matches!(e, Event::Stroke { .. }));
            let stroke_count = strokes.len();
            for (events, stroke_count) in [(others, 0), (strokes, stroke_count)] {
                if !events.is_empty() {
                    outbox.push(&mut tx, &Change::Write { run, heartbeat, events }, stroke_count).await?;
                }
            }
        }
        tx.commit().await.map_err(StoreError::io("committing events"))
    }

    async fn end_run(&self, run: i64, now: UnixMillis) -> Result<(), StoreError> {
        let io = StoreError::io("stopping the run");
        let mut tx = self.pool.begin().await.map_err(io)?;
        for sql in [
            "UPDATE machine_state SET end_ms = max(start_ms, ?) WHERE end_ms IS NULL",
            "UPDATE lamp_mode SET end_ms = max(start_ms, ?) WHERE end_ms IS NULL",
            "UPDATE camera_health SET end_ms = max(start_ms, ?) WHERE end_ms IS NULL",
            "UPDATE zone_presence SET end_ms = max(start_ms, ?) WHERE end_ms IS NULL",
        ] {
            sqlx::query(sql).bind(now).execute(&mut *tx).await.map_err(StoreError::io("stopping the run"))?;
        }
        sqlx::query(
            "UPDATE service_run SET stopped_ms = ?, heartbeat_ms = max(heartbeat_ms, ?), stop_reason = 'stop' WHERE id = ?",
        )
        .bind(now)
        .bind(now)
        .bind(run)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::io("stopping the run"))?;
        if let Some(outbox) = &self.outbox {
            outbox.push(&mut tx, &Change::EndRun { run, now }, 0).await?;
        }
        tx.commit().await.map_err(StoreError::io("stopping the run"))
    }

    async fn purge(&self, before: UnixMillis) -> Result<u64, StoreError> {
        let mut deleted = 0;
        let mut tx = self.pool.begin().await.map_err(StoreError::io("purging old history"))?;
        for sql in [
            "DELETE FROM machine_state WHERE end_ms IS NOT NULL AND end_ms < ?",
            "DELETE FROM lamp_mode WHERE end_ms IS NOT NULL AND end_ms < ?",
            "DELETE FROM camera_health WHERE end_ms IS NOT NULL AND end_ms < ?",
            "DELETE FROM stroke WHERE end_ms < ?",
            "DELETE FROM zone_presence WHERE end_ms IS NOT NULL AND end_ms < ?",
            "DELETE FROM safety_event WHERE t_ms < ?",
            // A golden cycle stays as long as it is golden.
            "DELETE FROM cycle WHERE end_ms < ? AND id NOT IN (SELECT golden_cycle FROM job_standard \
              WHERE golden_cycle IS NOT NULL)",
        ] {
            deleted += sqlx::query(sql)
                .bind(before)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::io("purging old history"))?
                .rows_affected();
        }
        deleted += sqlx::query(
            "DELETE FROM service_run WHERE stopped_ms IS NOT NULL AND stopped_ms < ? AND id NOT IN \
             (SELECT run_id FROM machine_state UNION SELECT run_id FROM lamp_mode \
              UNION SELECT run_id FROM camera_health UNION SELECT run_id FROM stroke \
              UNION SELECT run_id FROM cycle UNION SELECT run_id FROM zone_presence \
              UNION SELECT run_id FROM safety_event)",
        )
        .bind(before)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::io("purging old history"))?
        .rows_affected();
        tx.commit().await.map_err(StoreError::io("purging old history"))?;
        Ok(deleted)
    }

    async fn runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        let rows: Vec<RunRow> = sqlx::query_as(
            "SELECT id, started_ms, heartbeat_ms, stopped_ms, stop_reason, version FROM service_run ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::io("reading runs"))?;
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
                "SELECT machine, start_ms, end_ms FROM stroke WHERE end_ms < ? AND end_ms >= ? \
                 AND (? IS NULL OR machine = ?) ORDER BY machine, end_ms",
                q,
                "reading strokes",
            )
            .await?;
        Ok(rows.into_iter().map(|(machine, start, end)| StrokeRecord { machine, start, end }).collect())
    }

    async fn cycles(&self, f: &CycleFilter) -> Result<Vec<CycleRecord>, StoreError> {
        // Only the conditions that apply, so that the (machine, end_ms) and (job, end_ms)
        // indexes serve the query.
        let mut sql = String::from(
            "SELECT id, machine, start_ms, end_ms, strokes, job, operator FROM cycle WHERE end_ms < ? AND end_ms >= ?",
        );
        if f.query.key.is_some() {
            sql += " AND machine = ?";
        }
        if f.job.is_some() {
            sql += " AND job = ?";
        }
        sql += " ORDER BY end_ms DESC, id DESC LIMIT ? OFFSET ?";
        // Built from the constant fragments above only; every value is bound.
        let mut query = sqlx::query_as::<_, CycleRow>(sqlx::AssertSqlSafe(sql)).bind(f.query.to).bind(f.query.from);
        if let Some(machine) = &f.query.key {
            query = query.bind(machine);
        }
        if let Some(job) = &f.job {
            query = query.bind(job);
        }
        let limit = f.limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
        let offset = i64::try_from(f.offset).unwrap_or(i64::MAX);
        let rows =
            query.bind(limit).bind(offset).fetch_all(&self.pool).await.map_err(StoreError::io("reading cycles"))?;
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
                "SELECT id, zone, machine, people, t_ms, snapshot FROM safety_event WHERE t_ms < ? AND t_ms >= ? \
                 AND (? IS NULL OR machine = ?) ORDER BY t_ms, id",
                q,
                "reading safety events",
            )
            .await?;
        Ok(rows.into_iter().map(safety_record).collect())
    }

    async fn stroke_totals(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as("SELECT machine, strokes FROM stroke_total ORDER BY machine")
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::io("reading stroke totals"))?;
        Ok(rows.into_iter().map(|(machine, n)| (machine, u64::try_from(n).unwrap_or(0))).collect())
    }
}
