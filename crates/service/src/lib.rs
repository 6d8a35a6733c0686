//! The long-running service: every camera supervised by its own task and analysed by its
//! own worker thread, every event stored, and a clean stop that flushes everything.
//!
//! ```text
//!  supervisor task ──packets, health──▶ worker thread ──events──▶ writer task ──▶ Store
//!  (ingest: connect,                     (decode, analyse,          (1 s batches)
//!   stall, backoff)                       NotAvailable when blind)  └──▶ broadcast (live views)
//! ```
//!
//! Cameras with zones also hand a frame now and then (`people_fps`) to the shared
//! people workers ([`people_pool`]), whose sightings come back to the camera's thread;
//! a safety event keeps its picture there ([`safety_pictures`]).
//!
//! Invariants: one camera's failure or panic never stops another; while a camera is not
//! `streaming`, every machine on it is `NotAvailable` and its lamps `unknown`; times are
//! wall-clock seconds since 1970 UTC.

pub mod people_pool;
pub mod safety_pictures;
pub mod service;
pub mod worker;

pub use people_pool::{PeopleLink, PeoplePool};
pub use safety_pictures::{SAFETY_PICTURES_FOLDER, SafetyPictures};
pub use service::{Service, ServiceError, ServiceHandle, StopReport, live_channel};
pub use sheetsight_monitor::machine::MachineStatus;
pub use worker::{CameraStatus, WorkerStats};
