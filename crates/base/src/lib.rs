//! What every SheetSight crate above the pure image and geometry algorithms shares.
//!
//! - [`time`]: wall time as milliseconds since 1970 UTC, with the epoch in the type's
//!   name, and its RFC 3339 text;
//! - [`clock`]: where "now" comes from, injected so that tests run on simulated time;
//! - [`shutdown`]: the one signal that tells every task of a process to stop;
//! - [`error`]: an error's text with every cause, for logs and for messages kept as text;
//! - [`lock`]: a mutex lock that survives a thread that panicked while holding it;
//! - [`named`]: enums whose variants have one fixed name in text, JSON and SQL.
//!
//! Nothing here does I/O. Clocks and shutdown need `tokio` (the `runtime` feature, on
//! by default); the pure algorithm crates use the rest without it.

#[cfg(feature = "runtime")]
pub mod clock;
pub mod error;
pub mod lock;
pub mod named;
#[cfg(feature = "runtime")]
pub mod shutdown;
pub mod time;

#[cfg(feature = "runtime")]
pub use clock::{Clocks, RealClocks, SharedClocks, SimulatedClocks};
pub use lock::{LockOrRecover, RwLockOrRecover};
pub use time::UnixMillis;
