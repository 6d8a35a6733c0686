//! The parts library: a DXF drawing per part number and revision, with the options that
//! read it (those of `sheetsight inspect`: units, layers, gap tolerance, which part,
//! the sheet's thickness), kept in the store and read once into parts held here.
//!
//! Invariants: a drawing is stored only if it reads into a part with these options (a
//! broken one is refused with the reason, never stored); the held parts are the
//! store's, refreshed after each change; "the part" without a revision is its newest.
//! A folder of drawings (`[parts] folder`) is read as `<part>.dxf` or
//! `<part>_rev<revision>.dxf`, options beside it in `<same name>.toml`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use sheetsight_base::{RwLockOrRecover, UnixMillis};
use sheetsight_drawing::{LengthUnit, Part, PickOptions, material_area_mm2, pick_part};
use sheetsight_inspect::measure::MIN_COUNTED_HOLE_MM2;
use sheetsight_store::inspections::PartRecord;
use sheetsight_store::sqlite::SqliteStore;

use crate::StationError;

/// The largest drawing taken.
pub const MAX_DRAWING_BYTES: usize = 16 << 20;
/// The revision of a part whose drawing names none.
pub const NO_REVISION: &str = "-";

/// How a drawing is read, stored with it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartOptions {
    /// The drawing's unit when it does not say: mm, cm, m or in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_layers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap_tolerance_mm: Option<f64>,
    /// Which part of a drawing holding several, 1 for the largest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<usize>,
    /// The sheet's thickness (corrects the silhouette for perspective); 0 for thin.
    #[serde(default)]
    pub thickness_mm: f64,
}

impl PartOptions {
    fn pick(&self) -> Result<PickOptions, String> {
        let units = match self.units.as_deref() {
            None => None,
            Some(u) => Some(LengthUnit::parse(u).ok_or_else(|| format!("units `{u}`: give mm, cm, m or in"))?),
        };
        if !(self.thickness_mm.is_finite() && (0.0..100.0).contains(&self.thickness_mm)) {
            return Err(format!("thickness_mm must be 0 to 100 mm, not {}", self.thickness_mm));
        }
        let gap_tolerance_mm = self.gap_tolerance_mm.unwrap_or(PickOptions::default().gap_tolerance_mm);
        if !(gap_tolerance_mm.is_finite() && (0.0..=5.0).contains(&gap_tolerance_mm)) {
            return Err(format!("gap_tolerance_mm must be 0 to 5 mm, not {gap_tolerance_mm}"));
        }
        Ok(PickOptions {
            units,
            layers: self.layers.clone(),
            exclude_layers: self.exclude_layers.clone(),
            gap_tolerance_mm,
            part: self.part,
        })
    }
}

/// A drawing of the library, read.
#[derive(Debug)]
pub struct LibraryPart {
    pub record: PartRecord,
    pub part: Part,
    pub thickness_mm: f64,
}

/// A drawing read with its options: the part, its outline's signature, the warnings.
pub struct ReadDrawing {
    pub part: Part,
    pub area_mm2: f64,
    pub holes: u32,
    pub warnings: Vec<String>,
}

/// Reads a drawing's bytes with `options`; errors name `what`.
pub fn read_drawing(bytes: &[u8], options: &PartOptions, what: &str) -> Result<ReadDrawing, StationError> {
    if bytes.len() > MAX_DRAWING_BYTES {
        return Err(StationError::bad(
            what,
            format!("{} MB is more than a drawing may be ({} MB)", bytes.len() >> 20, MAX_DRAWING_BYTES >> 20),
        ));
    }
    let pick = options.pick().map_err(|m| StationError::bad(what, m))?;
    let picked = pick_part(bytes, &pick).map_err(|e| StationError::bad(what, e.to_string()))?;
    let holes = picked.part.features.iter().filter(|f| f.outline.area() >= MIN_COUNTED_HOLE_MM2).count() as u32;
    Ok(ReadDrawing { area_mm2: material_area_mm2(&picked.part), holes, part: picked.part, warnings: picked.warnings })
}

/// A part number or revision: 1-64 printable characters, no `/` (it goes into paths).
pub fn check_name(name: &str, what: &str) -> Result<(), StationError> {
    let ok = !name.is_empty()
        && name.chars().count() <= 64
        && name.trim() == name
        && !name.chars().any(|c| c.is_control() || c == '/' || c == '\\');
    if ok {
        Ok(())
    } else {
        Err(StationError::bad(what, format!("`{name}` is not a valid name: 1-64 characters, no `/`")))
    }
}

/// What to store.
pub struct NewDrawing<'a> {
    pub part: &'a str,
    pub revision: &'a str,
    pub file_name: &'a str,
    pub bytes: &'a [u8],
    pub options: PartOptions,
    /// `upload` or `folder`.
    pub origin: &'a str,
    pub by: &'a str,
    pub now: UnixMillis,
}

/// The library: the store's drawings, read.
pub struct Library {
    store: SqliteStore,
    parts: RwLock<Vec<Arc<LibraryPart>>>,
    /// Files of the folder already read: their size and time.
    folder_seen: std::sync::Mutex<HashMap<PathBuf, (u64, SystemTime)>>,
}

impl Library {
    /// Reads every stored drawing (one that no longer reads is logged and left out).
    pub async fn load(store: SqliteStore) -> Result<Self, StationError> {
        let library =
            Self { store, parts: RwLock::new(Vec::new()), folder_seen: std::sync::Mutex::new(HashMap::new()) };
        library.refresh().await?;
        Ok(library)
    }

    async fn refresh(&self) -> Result<(), StationError> {
        let mut parts = Vec::new();
        for (record, bytes) in self.store.parts_with_drawings().await? {
            let options: PartOptions = serde_json::from_value(record.options.clone()).unwrap_or_default();
            match read_drawing(&bytes, &options, &record.file_name) {
                Ok(read) => {
                    parts.push(Arc::new(LibraryPart { thickness_mm: options.thickness_mm, part: read.part, record }))
                }
                Err(e) => {
                    tracing::error!(part = %record.part, revision = %record.revision, error = %e, "a stored drawing no longer reads")
                }
            }
        }
        *self.parts.write_or_recover() = parts;
        Ok(())
    }

    /// Stores a drawing that reads; the warnings of reading it.
    pub async fn add(&self, d: NewDrawing<'_>) -> Result<(PartRecord, Vec<String>), StationError> {
        check_name(d.part, "the part number")?;
        check_name(d.revision, "the revision")?;
        let read = read_drawing(d.bytes, &d.options, d.file_name)?;
        let record = PartRecord {
            part: d.part.to_string(),
            revision: d.revision.to_string(),
            file_name: d.file_name.to_string(),
            options: serde_json::to_value(&d.options).unwrap_or_default(),
            area_mm2: read.area_mm2,
            holes: read.holes,
            origin: d.origin.to_string(),
            added_by: d.by.to_string(),
            added_ms: d.now,
        };
        self.store.put_part(&record, d.bytes).await?;
        self.refresh().await?;
        Ok((record, read.warnings))
    }

    pub async fn remove(&self, part: &str, revision: &str) -> Result<bool, StationError> {
        let removed = self.store.delete_part(part, revision).await?;
        self.refresh().await?;
        Ok(removed)
    }

    /// Every drawing held.
    pub fn all(&self) -> Vec<Arc<LibraryPart>> {
        self.parts.read_or_recover().clone()
    }

    /// A part's drawing: of `revision`, or its newest.
    pub fn find(&self, part: &str, revision: Option<&str>) -> Result<Arc<LibraryPart>, StationError> {
        self.parts
            .read_or_recover()
            .iter()
            .filter(|p| p.record.part == part && revision.is_none_or(|r| p.record.revision == r))
            .max_by_key(|p| p.record.added_ms)
            .cloned()
            .ok_or_else(|| StationError::UnknownPart { part: part.into(), revision: revision.map(Into::into) })
    }

    /// Reads the folder's new and changed drawings into the library; each file's error is
    /// logged and returned, and the others go on.
    pub async fn import_folder(&self, folder: &Path, now: UnixMillis) -> Vec<(PathBuf, Result<String, StationError>)> {
        let Ok(entries) = std::fs::read_dir(folder) else {
            tracing::warn!(folder = %folder.display(), "the parts folder cannot be read");
            return Vec::new();
        };
        let mut results = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.extension().is_some_and(|e| e.eq_ignore_ascii_case("dxf")) {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            let options_path = path.with_extension("toml");
            let options_time = std::fs::metadata(&options_path).and_then(|m| m.modified()).ok();
            let stamp = (meta.len(), meta.modified().ok().max(options_time).unwrap_or(SystemTime::UNIX_EPOCH));
            if self.folder_seen.lock().is_ok_and(|seen| seen.get(&path) == Some(&stamp)) {
                continue;
            }
            let result = self.import_file(&path, &options_path, now).await;
            match &result {
                Ok(name) => tracing::info!(file = %path.display(), part = %name, "drawing read into the parts library"),
                Err(e) => tracing::warn!(file = %path.display(), error = %e, "drawing not read into the parts library"),
            }
            if let Ok(mut seen) = self.folder_seen.lock() {
                seen.insert(path.clone(), stamp);
            }
            results.push((path, result));
        }
        results
    }

    async fn import_file(&self, path: &Path, options_path: &Path, now: UnixMillis) -> Result<String, StationError> {
        let what = path.display().to_string();
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| StationError::bad(&what, "the name is not UTF-8"))?;
        let (part, revision) = part_and_revision(stem);
        let bytes =
            std::fs::read(path).map_err(|source| StationError::Io { what: format!("reading {what}"), source })?;
        let options = match std::fs::read_to_string(options_path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => PartOptions::default(),
            Err(source) => {
                return Err(StationError::Io { what: format!("reading {}", options_path.display()), source });
            }
            Ok(text) => toml::from_str(&text)
                .map_err(|e| StationError::bad(options_path.display().to_string(), e.message().to_string()))?,
        };
        let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or(stem);
        self.add(NewDrawing { part, revision, file_name, bytes: &bytes, options, origin: "folder", by: "folder", now })
            .await?;
        Ok(format!("{part} rev {revision}"))
    }
}

/// `BR-1042_revB` is part `BR-1042` revision `B`; `BR-1042` has no revision.
pub fn part_and_revision(stem: &str) -> (&str, &str) {
    match stem.rsplit_once("_rev") {
        Some((part, revision)) if !part.is_empty() && !revision.is_empty() => (part, revision),
        _ => (stem, NO_REVISION),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_give_part_and_revision() {
        assert_eq!(part_and_revision("BR-1042_revB"), ("BR-1042", "B"));
        assert_eq!(part_and_revision("BR_1042_rev12"), ("BR_1042", "12"));
        assert_eq!(part_and_revision("BR-1042"), ("BR-1042", NO_REVISION));
        assert_eq!(part_and_revision("_revB"), ("_revB", NO_REVISION));
        assert!(check_name("BR-1042 Halter", "part").is_ok());
        assert!(check_name("../etc", "part").is_err() && check_name("", "part").is_err());
    }

    #[test]
    fn options_are_checked_before_the_drawing_is_read() {
        let bad = PartOptions { units: Some("furlong".into()), ..PartOptions::default() };
        let e = read_drawing(b"0\nEOF\n", &bad, "x.dxf").err().expect("bad units");
        assert!(e.to_string().contains("furlong"), "{e}");
        let e = read_drawing(b"not a drawing at all", &PartOptions::default(), "x.dxf").err().expect("broken");
        assert!(e.to_string().starts_with("x.dxf: "), "{e}");
        let json = serde_json::json!({"units": "in", "thickness_mm": 2.0});
        let o: PartOptions = serde_json::from_value(json).expect("options");
        assert_eq!((o.units.as_deref(), o.thickness_mm), (Some("in"), 2.0));
        assert!(serde_json::from_value::<PartOptions>(serde_json::json!({"thicknes_mm": 2.0})).is_err());
    }
}
