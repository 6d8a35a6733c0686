//! The index of recorded video: one row per segment file, kept by the recorder and the
//! catalogue (see `sheetsight-record`). The files are the truth; these rows find them by
//! camera and time, and sum their sizes for the quota.

use serde::Serialize;

use crate::sqlite::SqliteStore;
use crate::{StoreError, UnixMillis};

/// One segment file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SegmentRecord {
    pub id: i64,
    pub camera: String,
    /// Relative to the recordings folder.
    pub file: String,
    pub codec: String,
    pub start: UnixMillis,
    pub end: UnixMillis,
    pub frames: u64,
    pub bytes: u64,
    /// Still being written.
    pub open: bool,
    /// Left out of retention.
    pub keep: bool,
}

type Row = (i64, String, String, String, UnixMillis, UnixMillis, i64, i64, bool, bool);

const COLUMNS: &str = "id, camera, file, codec, start_ms, end_ms, frames, bytes, open, keep";

fn record(r: Row) -> SegmentRecord {
    SegmentRecord {
        id: r.0,
        camera: r.1,
        file: r.2,
        codec: r.3,
        start: r.4,
        end: r.5,
        frames: u64::try_from(r.6).unwrap_or(0),
        bytes: u64::try_from(r.7).unwrap_or(0),
        open: r.8,
        keep: r.9,
    }
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl SqliteStore {
    /// Adds the row of `s.file` or updates it (`id` and `keep` are kept).
    pub async fn put_segment(&self, s: &SegmentRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO recording (camera, file, codec, start_ms, end_ms, frames, bytes, open) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (file) DO UPDATE SET \
             start_ms = excluded.start_ms, end_ms = excluded.end_ms, frames = excluded.frames, \
             bytes = excluded.bytes, open = excluded.open",
        )
        .bind(&s.camera)
        .bind(&s.file)
        .bind(&s.codec)
        .bind(s.start)
        .bind(s.end)
        .bind(count(s.frames))
        .bind(count(s.bytes))
        .bind(s.open)
        .execute(self.pool())
        .await
        .map_err(StoreError::io("indexing a recording"))?;
        Ok(())
    }

    /// The segments of `camera` that overlap `[from, to]`, oldest first.
    pub async fn segments(
        &self,
        camera: &str,
        from: UnixMillis,
        to: UnixMillis,
    ) -> Result<Vec<SegmentRecord>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM recording WHERE camera = ? AND end_ms >= ? AND start_ms <= ? ORDER BY start_ms"
        )))
        .bind(camera)
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::io("reading the recordings index"))?;
        Ok(rows.into_iter().map(record).collect())
    }

    /// Every segment of `camera` (or of all cameras), oldest first.
    pub async fn all_segments(&self, camera: Option<&str>) -> Result<Vec<SegmentRecord>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM recording WHERE ?1 IS NULL OR camera = ?1 ORDER BY start_ms"
        )))
        .bind(camera)
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::io("reading the recordings index"))?;
        Ok(rows.into_iter().map(record).collect())
    }

    /// What `camera` has recorded: the first start and the last end, if anything.
    pub async fn recorded_span(&self, camera: &str) -> Result<Option<(UnixMillis, UnixMillis)>, StoreError> {
        let row: (Option<UnixMillis>, Option<UnixMillis>) =
            sqlx::query_as("SELECT MIN(start_ms), MAX(end_ms) FROM recording WHERE camera = ?")
                .bind(camera)
                .fetch_one(self.pool())
                .await
                .map_err(StoreError::io("reading the recordings index"))?;
        Ok(row.0.zip(row.1))
    }

    /// Bytes of all recordings.
    pub async fn recorded_bytes(&self) -> Result<u64, StoreError> {
        let (n,): (Option<i64>,) = sqlx::query_as("SELECT SUM(bytes) FROM recording")
            .fetch_one(self.pool())
            .await
            .map_err(StoreError::io("reading the recordings index"))?;
        Ok(n.map_or(0, |n| u64::try_from(n).unwrap_or(0)))
    }

    /// The oldest `limit` closed segments that retention may delete.
    pub async fn oldest_deletable_segments(&self, limit: u32) -> Result<Vec<SegmentRecord>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM recording WHERE open = 0 AND keep = 0 ORDER BY start_ms LIMIT ?"
        )))
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::io("reading the recordings index"))?;
        Ok(rows.into_iter().map(record).collect())
    }

    pub async fn delete_segment(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM recording WHERE id = ?")
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(StoreError::io("deleting from the recordings index"))?;
        Ok(())
    }

    /// Removes the row of a file (one that ended empty).
    pub async fn delete_segment_file(&self, file: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM recording WHERE file = ?")
            .bind(file)
            .execute(self.pool())
            .await
            .map_err(StoreError::io("deleting from the recordings index"))?;
        Ok(())
    }

    /// Keeps the segments of `camera` that overlap `[from, to]` out of retention.
    pub async fn keep_segments(&self, camera: &str, from: UnixMillis, to: UnixMillis) -> Result<u64, StoreError> {
        let done = sqlx::query("UPDATE recording SET keep = 1 WHERE camera = ? AND end_ms >= ? AND start_ms <= ?")
            .bind(camera)
            .bind(from)
            .bind(to)
            .execute(self.pool())
            .await
            .map_err(StoreError::io("keeping recordings"))?;
        Ok(done.rows_affected())
    }
}
