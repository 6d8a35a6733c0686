//! Inspections at the backlit tables, and the parts library they are judged against.
//!
//! - A part's drawing is kept per part number and revision with the options that read
//!   it (JSON, the library's business) and its outline's area and hole count, by which
//!   an unnamed part is matched. A drawing stored again under its number and revision
//!   replaces the old one.
//! - Only inspections that reached a verdict are stored. Each keeps its report JSON and
//!   its features' measures as rows (for control charts without reading every report);
//!   its pictures are files in the data folder, named here.
//! - Listings are newest first and read no report.

use serde::Serialize;

use crate::sqlite::SqliteStore;
use crate::{StoreError, UnixMillis};

/// A drawing of the parts library, without its bytes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PartRecord {
    pub part: String,
    pub revision: String,
    pub file_name: String,
    /// How the drawing is read (JSON of the library's options).
    pub options: serde_json::Value,
    pub area_mm2: f64,
    pub holes: u32,
    /// `upload` or `folder`.
    pub origin: String,
    pub added_by: String,
    pub added_ms: UnixMillis,
}

/// One feature's measures in an inspection.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FeatureMeasure {
    pub feature: String,
    /// `hole`, `cutout` or `outline`.
    pub kind: String,
    pub position_error_mm: Option<f64>,
    pub diameter_error_mm: Option<f64>,
    pub deviation_mm: Option<f64>,
    pub verdict: String,
}

/// An inspection to store.
#[derive(Clone, Debug)]
pub struct NewInspection {
    pub t: UnixMillis,
    pub station: String,
    pub part: String,
    pub revision: String,
    pub operator: Option<String>,
    pub trigger: String,
    pub verdict: String,
    pub match_confidence: Option<f64>,
    pub failed: u32,
    pub report: String,
    pub overlay: Option<String>,
    pub photo: Option<String>,
    pub features: Vec<FeatureMeasure>,
}

/// A stored inspection, without its report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InspectionRecord {
    pub id: i64,
    /// When it was inspected, ms since 1970.
    #[serde(rename = "t_ms")]
    pub t: UnixMillis,
    pub station: String,
    pub part: String,
    pub revision: String,
    pub operator: Option<String>,
    pub trigger: String,
    pub verdict: String,
    pub match_confidence: Option<f64>,
    pub failed: u32,
    pub overlay: Option<String>,
    pub photo: Option<String>,
}

/// Which inspections a listing wants: in `from..to`, of a part, a station and a verdict
/// when given; `limit` after skipping `offset`, newest first.
#[derive(Clone, Debug, Default)]
pub struct InspectionFilter {
    pub from: UnixMillis,
    pub to: UnixMillis,
    pub part: Option<String>,
    pub station: Option<String>,
    pub verdict: Option<String>,
    pub limit: Option<u64>,
    pub offset: u64,
}

/// A feature's measures in one inspection, in time order, for its control chart.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FeaturePoint {
    pub inspection: i64,
    #[serde(rename = "t_ms")]
    pub t: UnixMillis,
    pub revision: String,
    pub measure: FeatureMeasure,
}

type PartRow = (String, String, String, String, f64, i64, String, String, UnixMillis);
/// A [`PartRow`] and the drawing's bytes.
type PartRowWithDrawing = (String, String, String, String, f64, i64, String, String, UnixMillis, Vec<u8>);
type InspectionRow = (
    i64,
    UnixMillis,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<f64>,
    i64,
    Option<String>,
    Option<String>,
);

/// The columns of a [`PartRow`] (a literal: queries are static text).
macro_rules! part_columns {
    () => {
        "part, revision, file_name, options, area_mm2, holes, origin, added_by, added_ms"
    };
}

/// The columns of an [`InspectionRow`].
macro_rules! inspection_columns {
    () => {
        "id, t_ms, station, part, revision, operator, trigger, verdict, match_confidence, failed, overlay, photo"
    };
}

fn part_record(r: PartRow) -> PartRecord {
    PartRecord {
        part: r.0,
        revision: r.1,
        file_name: r.2,
        options: serde_json::from_str(&r.3).unwrap_or(serde_json::Value::Null),
        area_mm2: r.4,
        holes: r.5.max(0) as u32,
        origin: r.6,
        added_by: r.7,
        added_ms: r.8,
    }
}

fn with_drawing(r: PartRowWithDrawing) -> (PartRecord, Vec<u8>) {
    (part_record((r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8)), r.9)
}

fn inspection_record(r: InspectionRow) -> InspectionRecord {
    InspectionRecord {
        id: r.0,
        t: r.1,
        station: r.2,
        part: r.3,
        revision: r.4,
        operator: r.5,
        trigger: r.6,
        verdict: r.7,
        match_confidence: r.8,
        failed: r.9.max(0) as u32,
        overlay: r.10,
        photo: r.11,
    }
}

impl SqliteStore {
    /// Stores a drawing (replacing the one of the same part number and revision).
    pub async fn put_part(&self, record: &PartRecord, dxf: &[u8]) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO part_drawing (part, revision, file_name, dxf, options, area_mm2, holes, origin, added_by, \
             added_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (part, revision) DO UPDATE SET \
             file_name = excluded.file_name, dxf = excluded.dxf, options = excluded.options, \
             area_mm2 = excluded.area_mm2, holes = excluded.holes, origin = excluded.origin, \
             added_by = excluded.added_by, added_ms = excluded.added_ms",
        )
        .bind(&record.part)
        .bind(&record.revision)
        .bind(&record.file_name)
        .bind(dxf)
        .bind(record.options.to_string())
        .bind(record.area_mm2)
        .bind(i64::from(record.holes))
        .bind(&record.origin)
        .bind(&record.added_by)
        .bind(record.added_ms)
        .execute(self.pool())
        .await
        .map_err(StoreError::io("storing a part's drawing"))?;
        Ok(())
    }

    /// Every drawing of the library, by part number and revision.
    pub async fn parts(&self) -> Result<Vec<PartRecord>, StoreError> {
        let rows: Vec<PartRow> =
            sqlx::query_as(concat!("SELECT ", part_columns!(), " FROM part_drawing ORDER BY part, revision"))
                .fetch_all(self.pool())
                .await
                .map_err(StoreError::io("reading the parts library"))?;
        Ok(rows.into_iter().map(part_record).collect())
    }

    /// Every drawing of the library with its bytes, by part number and revision.
    pub async fn parts_with_drawings(&self) -> Result<Vec<(PartRecord, Vec<u8>)>, StoreError> {
        let rows: Vec<PartRowWithDrawing> =
            sqlx::query_as(concat!("SELECT ", part_columns!(), ", dxf FROM part_drawing ORDER BY part, revision"))
                .fetch_all(self.pool())
                .await
                .map_err(StoreError::io("reading the parts library"))?;
        Ok(rows.into_iter().map(with_drawing).collect())
    }

    /// One drawing with its bytes.
    pub async fn part(&self, part: &str, revision: &str) -> Result<Option<(PartRecord, Vec<u8>)>, StoreError> {
        let row: Option<PartRowWithDrawing> = sqlx::query_as(concat!(
            "SELECT ",
            part_columns!(),
            ", dxf FROM part_drawing WHERE part = ? AND revision = ?"
        ))
        .bind(part)
        .bind(revision)
        .fetch_optional(self.pool())
        .await
        .map_err(StoreError::io("reading a part's drawing"))?;
        Ok(row.map(with_drawing))
    }

    /// Deletes a drawing; whether there was one. Its inspections stay.
    pub async fn delete_part(&self, part: &str, revision: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM part_drawing WHERE part = ? AND revision = ?")
            .bind(part)
            .bind(revision)
            .execute(self.pool())
            .await
            .map_err(StoreError::io("deleting a part's drawing"))?;
        Ok(done.rows_affected() > 0)
    }

    /// Stores an inspection with its features in one transaction; its id.
    pub async fn add_inspection(&self, i: &NewInspection) -> Result<i64, StoreError> {
        let what = "storing an inspection";
        let mut tx = self.pool().begin().await.map_err(StoreError::io(what))?;
        let id: (i64,) = sqlx::query_as(
            "INSERT INTO inspection (t_ms, station, part, revision, operator, trigger, verdict, match_confidence, \
             failed, report, overlay, photo) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(i.t)
        .bind(&i.station)
        .bind(&i.part)
        .bind(&i.revision)
        .bind(&i.operator)
        .bind(&i.trigger)
        .bind(&i.verdict)
        .bind(i.match_confidence)
        .bind(i64::from(i.failed))
        .bind(&i.report)
        .bind(&i.overlay)
        .bind(&i.photo)
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::io(what))?;
        for f in &i.features {
            sqlx::query(
                "INSERT OR REPLACE INTO inspection_feature (inspection, feature, kind, position_error_mm, \
                 diameter_error_mm, deviation_mm, verdict) VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(id.0)
            .bind(&f.feature)
            .bind(&f.kind)
            .bind(f.position_error_mm)
            .bind(f.diameter_error_mm)
            .bind(f.deviation_mm)
            .bind(&f.verdict)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::io(what))?;
        }
        tx.commit().await.map_err(StoreError::io(what))?;
        Ok(id.0)
    }

    /// The inspections `filter` asks for, newest first.
    pub async fn inspections(&self, filter: &InspectionFilter) -> Result<Vec<InspectionRecord>, StoreError> {
        let sql = concat!(
            "SELECT ",
            inspection_columns!(),
            " FROM inspection WHERE t_ms >= ?1 AND t_ms < ?2 \
             AND (?3 IS NULL OR part = ?3) AND (?4 IS NULL OR station = ?4) AND (?5 IS NULL OR verdict = ?5) \
             ORDER BY t_ms DESC, id DESC LIMIT ?6 OFFSET ?7"
        );
        let rows: Vec<InspectionRow> = sqlx::query_as(sql)
            .bind(filter.from)
            .bind(filter.to)
            .bind(&filter.part)
            .bind(&filter.station)
            .bind(&filter.verdict)
            .bind(filter.limit.map_or(-1, |l| l.min(i64::MAX as u64) as i64))
            .bind(filter.offset.min(i64::MAX as u64) as i64)
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::io("reading inspections"))?;
        Ok(rows.into_iter().map(inspection_record).collect())
    }

    /// One inspection with its report JSON.
    pub async fn inspection(&self, id: i64) -> Result<Option<(InspectionRecord, String)>, StoreError> {
        let sql = concat!("SELECT ", inspection_columns!(), ", report FROM inspection WHERE id = ?");
        let row: Option<sqlx::sqlite::SqliteRow> = sqlx::query(sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::io("reading an inspection"))?;
        let Some(row) = row else { return Ok(None) };
        use sqlx::Row;
        let get = |e: sqlx::Error| StoreError::io("reading an inspection")(e);
        let record = inspection_record((
            row.try_get(0).map_err(get)?,
            row.try_get(1).map_err(get)?,
            row.try_get(2).map_err(get)?,
            row.try_get(3).map_err(get)?,
            row.try_get(4).map_err(get)?,
            row.try_get(5).map_err(get)?,
            row.try_get(6).map_err(get)?,
            row.try_get(7).map_err(get)?,
            row.try_get(8).map_err(get)?,
            row.try_get(9).map_err(get)?,
            row.try_get(10).map_err(get)?,
            row.try_get(11).map_err(get)?,
        ));
        Ok(Some((record, row.try_get(12).map_err(get)?)))
    }

    /// Every measure of a part's features (or of one feature) in `from..to`, oldest first.
    pub async fn feature_points(
        &self,
        part: &str,
        feature: Option<&str>,
        from: UnixMillis,
        to: UnixMillis,
    ) -> Result<Vec<FeaturePoint>, StoreError> {
        type Row = (i64, UnixMillis, String, String, String, Option<f64>, Option<f64>, Option<f64>, String);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT i.id, i.t_ms, i.revision, f.feature, f.kind, f.position_error_mm, f.diameter_error_mm, \
             f.deviation_mm, f.verdict FROM inspection i JOIN inspection_feature f ON f.inspection = i.id \
             WHERE i.part = ?1 AND i.t_ms >= ?2 AND i.t_ms < ?3 AND (?4 IS NULL OR f.feature = ?4) \
             ORDER BY i.t_ms, i.id",
        )
        .bind(part)
        .bind(from)
        .bind(to)
        .bind(feature)
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::io("reading a part's measures"))?;
        Ok(rows
            .into_iter()
            .map(|r| FeaturePoint {
                inspection: r.0,
                t: r.1,
                revision: r.2,
                measure: FeatureMeasure {
                    feature: r.3,
                    kind: r.4,
                    position_error_mm: r.5,
                    diameter_error_mm: r.6,
                    deviation_mm: r.7,
                    verdict: r.8,
                },
            })
            .collect())
    }

    /// Passed and inspected counts of a part in `from..to`.
    pub async fn inspected_counts(
        &self,
        part: &str,
        from: UnixMillis,
        to: UnixMillis,
    ) -> Result<(u64, u64), StoreError> {
        let row: (i64, i64) = sqlx::query_as(
            "SELECT COALESCE(SUM(verdict = 'pass'), 0), COUNT(*) FROM inspection WHERE part = ? AND t_ms >= ? AND t_ms < ?",
        )
        .bind(part)
        .bind(from)
        .bind(to)
        .fetch_one(self.pool())
        .await
        .map_err(StoreError::io("counting inspections"))?;
        Ok((row.0.max(0) as u64, row.1.max(0) as u64))
    }

    /// Deletes a station's inspections older than `before`; the picture files they named
    /// (for the caller to delete).
    pub async fn purge_inspections(&self, station: &str, before: UnixMillis) -> Result<Vec<String>, StoreError> {
        let what = "deleting old inspections";
        let files: Vec<(Option<String>, Option<String>)> =
            sqlx::query_as("DELETE FROM inspection WHERE station = ? AND t_ms < ? RETURNING overlay, photo")
                .bind(station)
                .bind(before)
                .fetch_all(self.pool())
                .await
                .map_err(StoreError::io(what))?;
        Ok(files.into_iter().flat_map(|(o, p)| [o, p]).flatten().collect())
    }
}

/// CSV of inspections with a header row; times RFC 3339 UTC.
pub fn csv(rows: &[InspectionRecord]) -> String {
    use crate::report::csv_field;
    let mut out = String::from("id,time,station,part,revision,operator,trigger,verdict,match_confidence,failed\n");
    for r in rows {
        out += &format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
            r.id,
            r.t.rfc3339(),
            csv_field(&r.station),
            csv_field(&r.part),
            csv_field(&r.revision),
            csv_field(r.operator.as_deref().unwrap_or("")),
            r.trigger,
            r.verdict,
            r.match_confidence.map_or(String::new(), |c| format!("{c:.3}")),
            r.failed
        );
    }
    out
}
