//! One photo judged: against the part asked for, or else against the library part whose
//! outline matches (material area and hole count), with how sure the match is. Pure and
//! synchronous (run it off the async threads): picture in, report and overlay out.
//!
//! The match: each library part scores `exp(-½ (Δarea / 3 %)²) · 0.5^|Δholes|`; the
//! best ones are inspected in turn until one places its drawing on the part. The
//! confidence is the winner's score times its share of all scores (two parts of equal
//! outline share it, and say so).

use std::sync::Arc;
use std::time::Instant;

use image::GrayImage;
use serde::Serialize;
use sheetsight_inspect::measure::{Inspection, PartOutline};
use sheetsight_inspect::report::{FeatureReport, Verdict};
use sheetsight_inspect::{InspectError, InspectOptions, Report, TableModel};

use crate::StationError;
use crate::library::LibraryPart;

/// Relative area difference that halves a match's score, about (σ of the Gaussian).
const AREA_SIGMA: f64 = 0.03;
/// At most this many library parts are tried on one photo.
const MAX_TRIED: usize = 3;
/// A match scoring less than this is no match.
const MIN_SCORE: f64 = 0.05;

/// Which drawing to judge against.
pub enum Against {
    Part(Arc<LibraryPart>),
    /// The best match of these.
    Match(Vec<Arc<LibraryPart>>),
}

/// A judged photo.
pub struct Judged {
    pub part: Arc<LibraryPart>,
    /// Set when the part was matched, not named: 0-1.
    pub confidence: Option<f64>,
    pub inspection: Inspection,
    pub overlay_jpeg: Vec<u8>,
    pub inspect_ms: f64,
    pub overlay_ms: f64,
}

/// The scores of `parts` for an outline, best first.
pub fn rank(outline: &PartOutline, parts: &[Arc<LibraryPart>]) -> Vec<(Arc<LibraryPart>, f64)> {
    let mut scored: Vec<(Arc<LibraryPart>, f64)> = parts
        .iter()
        .map(|p| {
            let relative = (outline.area_mm2 - p.record.area_mm2) / p.record.area_mm2.max(1e-9);
            let holes = (outline.holes as i64 - i64::from(p.record.holes)).unsigned_abs() as i32;
            (p.clone(), (-0.5 * (relative / AREA_SIGMA).powi(2)).exp() * 0.5f64.powi(holes))
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    scored
}

fn refused(e: InspectError) -> StationError {
    StationError::Refused(e.to_string())
}

/// Judges `photo`.
pub fn judge(
    photo: &GrayImage,
    model: &TableModel,
    tolerance_mm: f64,
    against: Against,
) -> Result<Judged, StationError> {
    let started = Instant::now();
    let options = |p: &LibraryPart| InspectOptions { tolerance_mm, thickness_mm: p.thickness_mm };
    let (part, confidence, inspection) = match against {
        Against::Part(p) => {
            let found = sheetsight_inspect::inspect(photo, model, &p.part, &options(&p)).map_err(refused)?;
            (p, None, found)
        }
        Against::Match(parts) => {
            if parts.is_empty() {
                return Err(StationError::EmptyLibrary);
            }
            // The silhouette is found once: for the outline that ranks the library's
            // parts, and for each part tried.
            let seen = sheetsight_inspect::find_silhouette(photo, model).map_err(refused)?;
            let outline = sheetsight_inspect::outline_seen(&seen, model).map_err(refused)?;
            let ranked = rank(&outline, &parts);
            let total: f64 = ranked.iter().map(|r| r.1).sum();
            let mut last = None;
            let mut judged = None;
            for (p, score) in ranked.iter().take(MAX_TRIED).filter(|r| r.1 >= MIN_SCORE) {
                match sheetsight_inspect::inspect_seen(photo, &seen, model, &p.part, &options(p)) {
                    Ok(found) => {
                        judged = Some((p.clone(), Some(score * score / total.max(1e-12)), found));
                        break;
                    }
                    Err(e) => last = Some(e),
                }
            }
            judged.ok_or_else(|| {
                StationError::Refused(match last {
                    Some(e) => format!("no part of the library fits the part on the table: {e}"),
                    None => format!(
                        "no part of the library matches the part on the table ({:.0} mm², {} holes); choose the part number",
                        outline.area_mm2, outline.holes
                    ),
                })
            })?
        }
    };
    let inspect_ms = started.elapsed().as_secs_f64() * 1e3;
    let started = Instant::now();
    let picture = sheetsight_inspect::overlay::inspection(photo, model, &part.part, &inspection, tolerance_mm);
    let mut overlay_jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut overlay_jpeg, 88)
        .encode_image(&picture)
        .map_err(|e| StationError::Io { what: "encoding the overlay".into(), source: std::io::Error::other(e) })?;
    Ok(Judged {
        part,
        confidence,
        inspection,
        overlay_jpeg,
        inspect_ms,
        overlay_ms: started.elapsed().as_secs_f64() * 1e3,
    })
}

/// What failed, in words: one line per feature not passed and per piece of extra
/// material.
pub fn failures_in_words(report: &Report) -> Vec<String> {
    let mut words = Vec::new();
    for f in &report.features {
        match f {
            FeatureReport::Hole { id, verdict: Verdict::Missing, .. }
            | FeatureReport::Cutout { id, verdict: Verdict::Missing, .. } => words.push(format!("{id}: missing")),
            FeatureReport::Hole { id, verdict: Verdict::Fail, position_error_mm, diameter_error_mm, .. } => {
                words.push(format!(
                    "{id}: position off by {:.3} mm, diameter off by {:+.3} mm",
                    position_error_mm.unwrap_or(f64::NAN),
                    diameter_error_mm.unwrap_or(f64::NAN)
                ))
            }
            FeatureReport::Cutout { id, verdict: Verdict::Fail, max_deviation_mm, .. } => {
                words.push(format!("{id}: edge off by up to {:.3} mm", max_deviation_mm.unwrap_or(f64::NAN)))
            }
            FeatureReport::Outline { id, verdict: Verdict::Fail, max_deviation_mm, .. } => {
                words.push(format!("{id}: edge off by up to {max_deviation_mm:.3} mm"))
            }
            _ => {}
        }
    }
    for e in &report.extra {
        words.push(format!("extra {} of {:.2} mm at ({:.2}, {:.2}) mm", e.kind, e.d_mm, e.x_mm, e.y_mm));
    }
    words
}

/// How long each step took, ms.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Timings {
    /// Fetching or reading the photo.
    pub acquire_ms: f64,
    pub decode_ms: f64,
    pub inspect_ms: f64,
    pub overlay_ms: f64,
    pub store_ms: f64,
    /// From the photo's arrival to the verdict handed to the dashboard and MQTT.
    pub total_ms: f64,
}
