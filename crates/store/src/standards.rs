//! Standard work per machine and job: the golden cycle a supervisor chose to show how
//! the part is done, the standard cycle time (the golden cycle's duration unless one is
//! given) and the standard steps in English and Chinese.
//!
//! Keyed by machine and job: one part bent on two press brakes has two standards.

use serde::Serialize;

use crate::sqlite::SqliteStore;
use crate::{StoreError, StoreErrorKind, UnixMillis};

/// Longest steps text, characters.
pub const MAX_STEPS_CHARS: usize = 4_000;

/// The standard of one machine and job.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StandardRecord {
    pub machine: String,
    pub job: String,
    /// The golden cycle, if one was marked.
    pub golden_cycle: Option<i64>,
    /// The standard cycle time, ms: the one given, else the golden cycle's duration.
    pub standard_ms: Option<i64>,
    /// Whether `standard_ms` was given (not taken from the golden cycle).
    pub standard_given: bool,
    pub steps_en: String,
    pub steps_zh: String,
    pub updated_by: String,
    pub updated_ms: UnixMillis,
}

/// What an edit of a standard sets; `None` keeps the field as it is.
#[derive(Clone, Debug, Default)]
pub struct StandardEdit {
    /// `Some(None)` goes back to the golden cycle's duration.
    pub standard_ms: Option<Option<i64>>,
    pub steps_en: Option<String>,
    pub steps_zh: Option<String>,
}

type Row = (String, String, Option<i64>, Option<i64>, Option<i64>, String, String, String, UnixMillis);

const SELECT: &str = "SELECT s.machine, s.job, s.golden_cycle, s.standard_ms, c.end_ms - c.start_ms, \
     s.steps_en, s.steps_zh, s.updated_by, s.updated_ms \
     FROM job_standard s LEFT JOIN cycle c ON c.id = s.golden_cycle";

fn record(r: Row) -> StandardRecord {
    StandardRecord {
        machine: r.0,
        job: r.1,
        golden_cycle: r.2,
        standard_ms: r.3.or(r.4),
        standard_given: r.3.is_some(),
        steps_en: r.5,
        steps_zh: r.6,
        updated_by: r.7,
        updated_ms: r.8,
    }
}

impl SqliteStore {
    /// Marks cycle `cycle` (of `machine`, run for `job`) the golden cycle of that machine
    /// and job.
    pub async fn set_golden(
        &self,
        cycle: i64,
        machine: &str,
        job: &str,
        by: &str,
        now: UnixMillis,
    ) -> Result<StandardRecord, StoreError> {
        sqlx::query(
            "INSERT INTO job_standard (machine, job, golden_cycle, updated_by, updated_ms) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (machine, job) DO UPDATE SET golden_cycle = excluded.golden_cycle, \
             updated_by = excluded.updated_by, updated_ms = excluded.updated_ms",
        )
        .bind(machine)
        .bind(job)
        .bind(cycle)
        .bind(by)
        .bind(now)
        .execute(self.pool())
        .await
        .map_err(StoreError::io("marking the golden cycle"))?;
        self.standard(machine, job)
            .await?
            .ok_or_else(|| StoreError::new(StoreErrorKind::Io, "reading a standard", "gone"))
    }

    /// Changes the standard of `machine` and `job` (creating it).
    pub async fn edit_standard(
        &self,
        machine: &str,
        job: &str,
        edit: &StandardEdit,
        by: &str,
        now: UnixMillis,
    ) -> Result<StandardRecord, StoreError> {
        let before = self.standard(machine, job).await?;
        let given = |b: &StandardRecord| b.standard_given.then_some(b.standard_ms).flatten();
        let standard_ms = edit.standard_ms.unwrap_or_else(|| before.as_ref().and_then(given));
        let steps_en =
            edit.steps_en.clone().or_else(|| before.as_ref().map(|b| b.steps_en.clone())).unwrap_or_default();
        let steps_zh =
            edit.steps_zh.clone().or_else(|| before.as_ref().map(|b| b.steps_zh.clone())).unwrap_or_default();
        sqlx::query(
            "INSERT INTO job_standard (machine, job, standard_ms, steps_en, steps_zh, updated_by, updated_ms) \
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (machine, job) DO UPDATE SET \
             standard_ms = excluded.standard_ms, steps_en = excluded.steps_en, steps_zh = excluded.steps_zh, \
             updated_by = excluded.updated_by, updated_ms = excluded.updated_ms",
        )
        .bind(machine)
        .bind(job)
        .bind(standard_ms)
        .bind(&steps_en)
        .bind(&steps_zh)
        .bind(by)
        .bind(now)
        .execute(self.pool())
        .await
        .map_err(StoreError::io("saving a standard"))?;
        self.standard(machine, job)
            .await?
            .ok_or_else(|| StoreError::new(StoreErrorKind::Io, "reading a standard", "gone"))
    }

    pub async fn standard(&self, machine: &str, job: &str) -> Result<Option<StandardRecord>, StoreError> {
        let row: Option<Row> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE s.machine = ? AND s.job = ?")))
                .bind(machine)
                .bind(job)
                .fetch_optional(self.pool())
                .await
                .map_err(StoreError::io("reading a standard"))?;
        Ok(row.map(record))
    }

    /// Every standard (of `machine`, or of all), by machine and job.
    pub async fn standards(&self, machine: Option<&str>) -> Result<Vec<StandardRecord>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE ?1 IS NULL OR s.machine = ?1 ORDER BY s.machine, s.job"
        )))
        .bind(machine)
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::io("reading standards"))?;
        Ok(rows.into_iter().map(record).collect())
    }
}
