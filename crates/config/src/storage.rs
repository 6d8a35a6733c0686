//! `[storage]`: where history is kept and for how long.
//!
//! ```toml
//! [storage]
//! data_dir = "/var/lib/sheetsight"   # default: sheetsight-data beside this file
//! retention_days = 365               # closed intervals older than this are deleted
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::diagnostics::{Bounds, Checker};

const RETENTION_DAYS: Bounds<i64> = Bounds::new(365, 1, 36_500);
/// The data folder's name beside the configuration file when none is given.
const DEFAULT_DATA_DIR: &str = "sheetsight-data";

/// Where and how long history is kept.
#[derive(Clone, Debug, PartialEq)]
pub struct StorageConfig {
    /// Folder of the database (default: `sheetsight-data` beside the config file).
    pub data_dir: PathBuf,
    /// Closed intervals older than this are deleted.
    pub retention_days: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStorage {
    data_dir: Option<Spanned<String>>,
    retention_days: Option<Spanned<i64>>,
}

pub(crate) fn check_storage(c: &Checker<'_>, raw: Option<&RawStorage>) -> StorageConfig {
    let base = c.file().parent().map(Path::to_path_buf).unwrap_or_default();
    let data_dir = match raw.and_then(|r| r.data_dir.as_ref()) {
        Some(d) if d.get_ref().trim().is_empty() => {
            c.report(d.span(), "storage.data_dir", "the data folder is empty");
            base.join(DEFAULT_DATA_DIR)
        }
        Some(d) if d.get_ref().trim() == "." => base,
        Some(d) => base.join(d.get_ref().trim()),
        None => base.join(DEFAULT_DATA_DIR),
    };
    let retention_days =
        c.bounded(raw.and_then(|r| r.retention_days.as_ref()), RETENTION_DAYS, "storage.retention_days") as u32;
    StorageConfig { data_dir, retention_days }
}
