//! SheetSight's inspection stations: backlit tables where a quality inspector lays a cut
//! part and sees its verdict.
//!
//! - [`library`]: the parts library (a drawing per part number and revision);
//! - [`photo`]: a photo's bytes to a picture, refused with the reason;
//! - [`judge`]: a photo judged against a part, or the library part it matches;
//! - [`still`]: `auto`, a new part lying still on the table;
//! - [`hot_folder`]: photos a camera's software writes, each taken once, when whole;
//! - [`stations`]: the running stations, their triggers, storage and events.

pub mod error;
pub mod hot_folder;
pub mod judge;
pub mod library;
pub mod photo;
pub mod stations;
pub mod still;

pub use error::{ErrorKind, StationError};
pub use stations::{
    InspectRequest, InspectionBrief, InspectionView, StationEvent, StationStatus, StationTasks, Stations, Trigger,
};
