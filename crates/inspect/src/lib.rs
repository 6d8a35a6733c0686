//! SheetSight's part inspection on a backlit table: one camera over a light table sees
//! a flat cut part's silhouette, and every hole and edge of it is compared with the DXF
//! drawing it was cut from.
//!
//! Pure and synchronous: images and drawings in, calibrations and reports out; no
//! file system, no clock. The layers, bottom up:
//! - [`table`]: the camera model of the table plane (millimetres to pixels and back);
//! - [`silhouette`]: the sub-pixel silhouette of what lies on the table;
//! - [`clipping`]: its edges placed where the backlight is clipped at white;
//! - [`calibrate`]: the camera model fitted to a photo of the calibration plate;
//! - [`chessboard`], [`circles`]: or to a photo of a printed chessboard or circle grid;
//! - [`nominal`], [`pose`]: the drawing's edges indexed, and the part's pose found;
//! - [`measure`]: every feature measured and judged, as a [`report::Report`];
//! - [`overlay`]: pictures for people (the overlay, the residual map);
//! - [`spc`]: a feature's measurements over time: control chart, capability, drift.

pub mod calibrate;
pub mod chessboard;
pub mod circles;
pub mod clipping;
pub mod fit;
pub mod html;
pub mod lattice;
pub mod lm;
pub mod measure;
pub mod nominal;
pub mod overlay;
pub mod pose;
pub mod report;
pub mod silhouette;
pub mod spc;
pub mod table;

pub use calibrate::{Calibration, CalibrationError, PlateGrid, calibrate};
pub use chessboard::{BoardSpec, calibrate_chessboard};
pub use circles::{CircleGridSpec, calibrate_circles};
pub use measure::{
    InspectError, InspectOptions, PartOutline, find_silhouette, inspect, inspect_seen, outline, outline_seen,
};
pub use report::Report;
pub use silhouette::PhotoError;
pub use table::TableModel;

/// Edges wider than this (contrast over steepest slope, 2.5 σ of a Gaussian blur) are
/// too blurred to measure to a fifth of a pixel.
pub const MAX_EDGE_WIDTH_PX: f64 = 6.0;
