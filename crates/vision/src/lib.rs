//! Pure, synchronous image and signal algorithms of SheetSight.
//!
//! Nothing here does I/O, spawns threads or knows about async: every type takes frames
//! (planar YUV 4:2:0, [`frame::YuvFrame`]) and media timestamps in seconds, and returns
//! readings. Media sources, storage and servers live in the crates above this one.
//!
//! - [`event`]: the JSON Lines events (lamp, state, stroke) of analysis and of ground truth.
//! - [`frame`]: the frame type every source produces.
//! - [`exposure`]: the camera's exposure gain and white-balance shift, from the whole
//!   picture, so that lamps are read as at one exposure.
//! - [`roi`]: polygon regions rasterised once into pixel spans, so that per-frame work
//!   scales with the pixels inside the regions, not with the frame.
//! - [`glow`]: the learnt glow of lit lamps on the other lenses of their tower.
//! - [`lamp`]: one stack-light lamp: on/off per frame, then its OPC UA signal mode.
//! - [`lamp_finder`]: stack lights found in a stretch of video, for a new user to confirm.
//! - [`occlusion`]: the guard ring around a stack light that tells "we cannot see".
//! - [`shake`]: how far camera shake has moved a stack light, in whole pixels.
//! - [`stack_light`]: a whole stack light: its lamps plus its occlusion guard.
//! - [`motion`]: activity in a region and press strokes (down and up).
//! - [`state`]: the rules that map lamp modes to an OPC UA Machinery machine state.
//! - [`cycle`]: cycles of work from strokes, state or motion.
//! - [`zone`]: people in zones (debounced), attended time, advisory safety events.

pub mod cycle;
pub mod event;
pub mod exposure;
pub mod frame;
pub mod glow;
pub mod lamp;
pub mod lamp_finder;
pub mod motion;
pub mod occlusion;
pub mod roi;
pub mod shake;
pub mod stack_light;
pub mod state;
pub mod zone;

pub use frame::YuvFrame;
