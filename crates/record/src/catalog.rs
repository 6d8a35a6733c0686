//! The recordings' index in the database, kept true to the files.
//!
//! - [`reconcile`] runs before recording starts: every segment file is indexed, a file
//!   whose last record was torn by a crash is cut back to its last whole picture, a row
//!   whose file is gone is removed and reported, damage is reported and what precedes it
//!   kept.
//! - [`run`] applies the recorders' updates and, every [`RETENTION_EVERY`], deletes the
//!   oldest segments beyond `keep_days` and beyond the byte quota `max_gb` (never an open
//!   one or one kept for a golden cycle).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sheetsight_base::LockOrRecover;
use sheetsight_base::clock::SharedClocks;
use sheetsight_base::time::UnixMillis;
use sheetsight_config::RecordingConfig;
use sheetsight_media::segment::{self, ScanFault};
use sheetsight_store::StoreError;
use sheetsight_store::recordings::SegmentRecord;
use sheetsight_store::sqlite::SqliteStore;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::SEGMENT_EXTENSION;
use crate::recorder::CatalogUpdate;

pub const RETENTION_EVERY: Duration = Duration::from_secs(30);

/// What [`reconcile`] found and did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Segment files found.
    pub files: u64,
    /// Rows added or corrected from the files (after a crash: the open segments).
    pub reindexed: u64,
    /// Files cut back to their last whole picture (torn by a crash).
    pub torn: u64,
    /// Files with damage in them; what precedes the damage is kept.
    pub damaged: Vec<String>,
    /// Rows whose file is gone.
    pub missing: Vec<String>,
    /// Files with no whole picture, removed.
    pub empty: u64,
}

fn segment_files(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let cameras = match std::fs::read_dir(dir) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for camera in cameras {
        let camera = camera?;
        if !camera.file_type()?.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(camera.path())? {
            let path = file?.path();
            if path.extension().is_some_and(|e| e == SEGMENT_EXTENSION) {
                let rel = format!(
                    "{}/{}",
                    camera.file_name().to_string_lossy(),
                    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
                );
                out.push((rel, path));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Why the catalogue could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot list the recordings in {dir}")]
    List {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Makes the index agree with the files in `dir`. Run it before any recorder starts.
pub async fn reconcile(store: &SqliteStore, dir: &Path) -> Result<ReconcileReport, CatalogError> {
    let rows: HashMap<String, SegmentRecord> =
        store.all_segments(None).await?.into_iter().map(|r| (r.file.clone(), r)).collect();
    let files = {
        let owned = dir.to_path_buf();
        tokio::task::spawn_blocking(move || segment_files(&owned))
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())))
            .map_err(|source| CatalogError::List { dir: dir.to_path_buf(), source })?
    };
    let mut report = ReconcileReport { files: files.len() as u64, ..Default::default() };
    let on_disk: std::collections::HashSet<&str> = files.iter().map(|(rel, _)| rel.as_str()).collect();
    for (file, row) in &rows {
        if !on_disk.contains(file.as_str()) {
            tracing::warn!(file = %file, "a recording's file is gone; its index row is removed");
            store.delete_segment(row.id).await?;
            report.missing.push(file.clone());
        }
    }
    for (rel, path) in files {
        let row = rows.get(&rel);
        let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if row.is_some_and(|r| !r.open && r.bytes == len) {
            continue;
        }
        let scanned = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || repair(&path)).await.unwrap_or_else(|e| Err(e.to_string()))
        };
        let (scan, torn) = match scanned {
            Ok(s) => s,
            Err(reason) => {
                tracing::warn!(file = %path.display(), %reason, "a recording file cannot be read; left alone");
                report.damaged.push(format!("{rel}: {reason}"));
                continue;
            }
        };
        report.torn += u64::from(torn);
        if let Some(fault @ ScanFault::Damaged { .. }) = &scan.fault {
            tracing::warn!(file = %path.display(), %fault, "a recording file is damaged; what precedes the damage is kept");
            report.damaged.push(format!("{rel}: {fault}"));
        }
        let Some((first_us, last_us)) = scan.span_us() else {
            let _ = std::fs::remove_file(&path);
            if let Some(r) = row {
                store.delete_segment(r.id).await?;
            }
            report.empty += 1;
            continue;
        };
        let camera = rel.split('/').next().unwrap_or_default().to_string();
        store
            .put_segment(&SegmentRecord {
                id: 0,
                camera,
                file: rel,
                codec: scan.codec.as_str().to_string(),
                start: UnixMillis(first_us.div_euclid(1_000)),
                end: UnixMillis(last_us.div_euclid(1_000)),
                frames: scan.frames.len() as u64,
                bytes: scan.valid_len,
                open: false,
                keep: false,
            })
            .await?;
        report.reindexed += 1;
    }
    Ok(report)
}

/// Scans a file and cuts a torn last record off; says whether it cut.
fn repair(path: &Path) -> Result<(segment::SegmentScan, bool), String> {
    let scan = segment::scan(path, false).map_err(|e| e.to_string())?;
    let torn = matches!(scan.fault, Some(ScanFault::Torn { .. }));
    if torn {
        let file = std::fs::OpenOptions::new().write(true).open(path).map_err(|e| e.to_string())?;
        file.set_len(scan.valid_len).map_err(|e| e.to_string())?;
        tracing::info!(file = %path.display(), bytes = scan.file_len - scan.valid_len, "cut a torn last picture off a recording");
    }
    Ok((scan, torn))
}

/// What retention deleted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetentionReport {
    pub deleted: u64,
    pub bytes: u64,
}

/// Deletes the oldest segments that are older than `keep_days` or beyond the quota.
pub async fn apply_retention(
    store: &SqliteStore,
    dir: &Path,
    config: &RecordingConfig,
    now: UnixMillis,
) -> Result<RetentionReport, StoreError> {
    let cutoff = UnixMillis(now.0 - i64::from(config.keep_days) * 86_400_000);
    let mut used = store.recorded_bytes().await?;
    let mut report = RetentionReport::default();
    'batches: loop {
        let oldest = store.oldest_deletable_segments(64).await?;
        if oldest.is_empty() {
            break;
        }
        for s in oldest {
            if s.end >= cutoff && used <= config.max_bytes {
                break 'batches;
            }
            match std::fs::remove_file(dir.join(&s.file)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::error!(file = %s.file, error = %e, "retention cannot delete a recording");
                    break 'batches;
                }
            }
            store.delete_segment(s.id).await?;
            used = used.saturating_sub(s.bytes);
            report.deleted += 1;
            report.bytes += s.bytes;
        }
    }
    if report.deleted > 0 {
        tracing::info!(segments = report.deleted, bytes = report.bytes, "retention deleted recordings");
    }
    Ok(report)
}

/// Cameras whose recording fails now, with the error.
pub type Failures = Arc<Mutex<BTreeMap<String, String>>>;

/// Applies the recorders' updates, and retention, until every recorder has ended.
pub async fn run(
    store: SqliteStore,
    dir: PathBuf,
    config: RecordingConfig,
    mut updates: UnboundedReceiver<CatalogUpdate>,
    failures: Failures,
    clocks: SharedClocks,
) {
    let mut retention = tokio::time::interval(RETENTION_EVERY);
    loop {
        tokio::select! {
            update = updates.recv() => match update {
                Some(update) => apply(&store, update, &failures).await,
                // Every recorder has ended: what they sent is applied.
                None => break,
            },
            _ = retention.tick() => {
                if let Err(e) = apply_retention(&store, &dir, &config, clocks.realtime()).await {
                    tracing::error!(error = %sheetsight_base::error::with_causes(&e), "recording retention failed");
                }
            }
        }
    }
}

async fn apply(store: &SqliteStore, update: CatalogUpdate, failures: &Failures) {
    match update {
        CatalogUpdate::Segment(s) => {
            let result = if !s.open && s.frames == 0 {
                store.delete_segment_file(&s.file).await
            } else {
                store.put_segment(&s).await
            };
            if let Err(e) = result {
                tracing::error!(file = %s.file, error = %sheetsight_base::error::with_causes(&e), "indexing a recording failed");
            }
        }
        CatalogUpdate::Failure { camera, error } => {
            let mut f = failures.lock_or_recover();
            match error {
                Some(e) => f.insert(camera, e),
                None => f.remove(&camera),
            };
        }
    }
}
