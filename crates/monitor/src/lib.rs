//! Machine monitoring: from configured cameras and machines to events.
//!
//! - [`machine`]: one machine's analyzers (stack light, motion, state rules).
//! - [`camera`]: one camera: the analysis-rate gate and every machine it watches.
//! - [`analyze`]: offline analysis of recorded video, every camera on its own thread.
//! - [`summary`]: time in each state, strokes and strokes per hour, per machine.
//! - [`evaluate`]: scores events against ground truth (lamp, state, strokes).
//! - [`jsonl`]: reading and writing events as JSON Lines.

pub mod analyze;
pub mod camera;
pub mod evaluate;
pub mod jsonl;
pub mod machine;
pub mod people;
pub mod rate;
pub mod summary;

pub use camera::CameraAnalyzer;
pub use machine::MachineMonitor;
pub use sheetsight_vision::event::{Event, LiveEvent, VideoEvent};
