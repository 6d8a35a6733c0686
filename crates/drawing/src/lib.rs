//! SheetSight's part drawings: what a shop cut, read from its DXF file into flat
//! geometry in millimetres, ready to be compared with a photo of the part.
//!
//! Pure: bytes in, geometry out; no file system, no clock. Invariants of every
//! [`PartDrawing`]:
//! - coordinates are millimetres in the drawing's own frame (blocks already placed);
//! - a curve is either an exact circle or a polyline whose distance to the drawn curve
//!   is at most [`ReadOptions::chord_error_mm`];
//! - only cut geometry is kept: text, dimensions, hatches and the like are counted in
//!   [`PartDrawing::skipped`], never taken for edges.

pub mod flatten;
pub mod pick;
pub mod plate;
pub mod read;
pub mod topology;
pub mod units;

pub use pick::{PickError, PickOptions, Picked, material_area_mm2, pick_part};
pub use read::{Curve, DrawingError, PartDrawing, ReadOptions, Shape, read_dxf};
pub use topology::{Feature, FeatureKind, Gap, Loop, Part, Topology};
pub use units::LengthUnit;

/// A point in millimetres.
pub type Point = nalgebra::Point2<f64>;
