//! `[[station]]`: backlit inspection tables, and `[parts]`: where the parts library's
//! drawings may also be placed as files.
//!
//! ```toml
//! [parts]
//! folder = "parts"        # optional: PART_REV.dxf (or PART.dxf) files, read at start and
//!                         # watched; drawings are also uploaded in the dashboard
//!
//! [[station]]
//! id = "table-1"
//! source = "http://192.168.1.30/snapshot.jpg"   # a snapshot URL, or a configured camera id,
//! # folder = "/srv/incoming/table-1"            # or a hot folder the camera's software writes to
//! calibration = "table-1.json"                  # from `sheetsight calibrate`
//! tolerance_mm = 0.2
//! auto = true          # inspect when a new part has lain still on the table for `still_s`
//! still_s = 1.0
//! keep_photo = true    # store the photo with the verdict, report and overlay
//! keep_days = 365      # inspections older than this are deleted with their pictures
//! ```
//!
//! A station has exactly one of `source` and `folder`. `auto` needs a `source` (a hot
//! folder's files are inspected as they arrive anyway). Paths are relative to the
//! configuration file's folder; a camera id is checked against `[[camera]]`.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::diagnostics::{Bounds, Checker};

const TOLERANCE_MM: Bounds<f64> = Bounds::new(0.2, 0.005, 50.0);
const STILL_S: Bounds<f64> = Bounds::new(1.0, 0.2, 30.0);
const KEEP_DAYS: Bounds<i64> = Bounds::new(365, 1, 36_500);

/// Where a station's photos come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StationSource {
    /// A URL answering a still picture (JPEG or PNG) to a GET.
    Snapshot(String),
    /// A configured camera's newest frame.
    Camera(String),
    /// A folder the camera's own software writes photos to.
    Folder(PathBuf),
}

#[derive(Clone, Debug, PartialEq)]
pub struct StationConfig {
    pub id: String,
    pub source: StationSource,
    pub calibration: PathBuf,
    pub tolerance_mm: f64,
    pub auto: bool,
    pub still_s: f64,
    pub keep_photo: bool,
    pub keep_days: u32,
}

/// `[parts]`: the parts library's folder, if drawings are placed as files.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PartsConfig {
    pub folder: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStation {
    id: Spanned<String>,
    pub source: Option<Spanned<String>>,
    folder: Option<Spanned<String>>,
    calibration: Spanned<String>,
    tolerance_mm: Option<Spanned<f64>>,
    auto: Option<Spanned<bool>>,
    still_s: Option<Spanned<f64>>,
    keep_photo: Option<bool>,
    keep_days: Option<Spanned<i64>>,
}

impl RawStation {
    /// The camera id `source` names, when it is not a URL.
    pub(crate) fn camera(&self) -> Option<&Spanned<String>> {
        self.source.as_ref().filter(|s| !is_url(s.get_ref()))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawParts {
    folder: Option<Spanned<String>>,
}

fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

/// A path of the file, relative ones read from the configuration file's folder.
fn relative(c: &Checker<'_>, raw: &Spanned<String>, key: &str) -> PathBuf {
    if raw.get_ref().trim().is_empty() {
        c.report(raw.span(), key, "the path is empty");
    }
    c.file().parent().map(Path::to_path_buf).unwrap_or_default().join(raw.get_ref().trim())
}

pub(crate) fn check_stations(c: &Checker<'_>, raw: &[Option<Spanned<RawStation>>]) -> Vec<StationConfig> {
    let mut stations = Vec::new();
    for (i, s) in raw.iter().enumerate() {
        let Some(s) = s else { continue };
        let (span, s) = (s.span(), s.get_ref());
        let key = |k: &str| format!("station[{i}].{k}");
        c.id(&s.id, &key("id"));
        let source = match (&s.source, &s.folder) {
            (Some(url), None) if is_url(url.get_ref()) => StationSource::Snapshot(url.get_ref().clone()),
            (Some(camera), None) => StationSource::Camera(camera.get_ref().clone()),
            (None, Some(folder)) => StationSource::Folder(relative(c, folder, &key("folder"))),
            (Some(_), Some(folder)) => {
                c.report(folder.span(), key("folder"), "give either `source` or `folder`, not both");
                continue;
            }
            (None, None) => {
                c.report(
                    span,
                    key("source"),
                    "a station needs `source` (a snapshot URL or a camera id) or `folder` (a hot folder)",
                );
                continue;
            }
        };
        let auto = s.auto.as_ref().is_some_and(|a| *a.get_ref());
        if let (Some(a), StationSource::Folder(_)) = (&s.auto, &source)
            && *a.get_ref()
        {
            c.report(
                a.span(),
                key("auto"),
                "a hot folder's photos are inspected as they arrive: `auto` needs a `source`",
            );
        }
        stations.push(StationConfig {
            id: s.id.get_ref().clone(),
            source,
            calibration: relative(c, &s.calibration, &key("calibration")),
            tolerance_mm: c.bounded(s.tolerance_mm.as_ref(), TOLERANCE_MM, &key("tolerance_mm")),
            auto,
            still_s: c.bounded(s.still_s.as_ref(), STILL_S, &key("still_s")),
            keep_photo: s.keep_photo.unwrap_or(true),
            keep_days: c.bounded(s.keep_days.as_ref(), KEEP_DAYS, &key("keep_days")) as u32,
        });
    }
    stations
}

pub(crate) fn check_parts(c: &Checker<'_>, raw: Option<&RawParts>) -> PartsConfig {
    PartsConfig { folder: raw.and_then(|r| r.folder.as_ref()).map(|f| relative(c, f, "parts.folder")) }
}
