//! SheetSight's history: what every machine, lamp and camera did, and when.
//!
//! The service hands [`LiveEvent`]s to a [`writer`], which batches them into one transaction
//! a second; the [`Store`] turns them into intervals. Invariants of every store:
//! - each key (a machine's state, a lamp's mode, a camera's health) has at most one
//!   open interval (no end yet), which the next event of that key closes;
//! - a run records a heartbeat with every batch, so after a crash what was open is
//!   known to be true up to the heartbeat, and [`Store::begin_run`] closes it there and
//!   stores the time until the restart as `NotAvailable` (unknown, not running);
//! - times are milliseconds since 1970 UTC ([`UnixMillis`]).
//!
//! [`sqlite::SqliteStore`] is the embedded default; a PostgreSQL store fills the same
//! trait.

use std::future::Future;

use sheetsight_vision::event::{CameraHealth, LiveEvent};
use sheetsight_vision::lamp::{LampColor, LampMode};
use sheetsight_vision::state::MachineState;

pub mod cycle_stats;
pub mod data_dir;
pub mod dump;
pub mod error;
pub mod inspections;
pub mod outbox;
pub mod postgres;
pub mod profile;
pub mod recordings;
pub mod report;
mod rows;
pub mod site;
pub mod sqlite;
pub mod standards;
pub mod summary;
pub mod writer;

pub use error::{StoreError, StoreErrorKind};

pub use sheetsight_base::UnixMillis;

/// One run of the service, from start to stop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunRecord {
    pub id: i64,
    pub started: UnixMillis,
    pub heartbeat: UnixMillis,
    pub stopped: Option<UnixMillis>,
    /// `stop` (a clean shutdown) or `crash` (found open at the next start).
    pub stop_reason: Option<String>,
    pub version: String,
}

/// A stored interval of `T`; `end` is `None` while it is the current one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interval<K, T> {
    pub key: K,
    pub value: T,
    pub start: UnixMillis,
    pub end: Option<UnixMillis>,
}

pub type StateInterval = Interval<String, MachineState>;
pub type HealthInterval = Interval<String, (CameraHealth, Option<String>)>;
pub type LampInterval = Interval<(String, u32), (LampColor, LampMode)>;
/// A zone's debounced head count; the key is the zone.
pub type PresenceInterval = Interval<String, ZoneCount>;

/// How many people stood in a zone, and whose operator zone it was.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ZoneCount {
    pub people: u32,
    /// The machine whose operator zone this was when the count was stored.
    pub operator_of: Option<String>,
}

/// A stored advisory safety event (never a safety function).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SafetyRecord {
    pub id: i64,
    pub zone: String,
    pub machine: String,
    pub people: u32,
    pub t: UnixMillis,
    /// The JPEG kept for it (boxes drawn), a file name in the data folder's `safety`.
    pub snapshot: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StrokeRecord {
    pub machine: String,
    pub start: UnixMillis,
    pub end: UnixMillis,
}

/// One stored cycle of work.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CycleRecord {
    pub id: i64,
    pub machine: String,
    pub start: UnixMillis,
    pub end: UnixMillis,
    pub strokes: u32,
    /// The job (part number) the machine ran when the cycle began, if one was given.
    pub job: Option<String>,
    /// Who gave that job.
    pub operator: Option<String>,
}

/// Which cycles a listing wants: those that ended in the query's range, of its machine
/// (or all), of `job` (or any); `limit` of them (or all) after skipping `offset`, newest
/// first.
#[derive(Clone, Debug, Default)]
pub struct CycleFilter {
    pub query: Query,
    pub job: Option<String>,
    pub limit: Option<u64>,
    pub offset: u64,
}

/// Which stored rows a query wants: those overlapping `from..to`, of one key or all.
#[derive(Clone, Debug, Default)]
pub struct Query {
    pub from: UnixMillis,
    pub to: UnixMillis,
    /// A machine id (or a camera id for health); `None` for all.
    pub key: Option<String>,
}

/// Where history is kept.
pub trait Store: Send + Sync + 'static {
    /// Starts a run at `now`: first closes what a crashed run left open (at its last
    /// heartbeat, followed by `NotAvailable` until `now`). Returns the run's id.
    fn begin_run(&self, now: UnixMillis, version: &str) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// Stores a batch of events in one transaction and sets the run's heartbeat.
    fn write(
        &self,
        run: i64,
        events: &[LiveEvent],
        heartbeat: UnixMillis,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Closes every open interval at `now` and marks the run stopped.
    fn end_run(&self, run: i64, now: UnixMillis) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes closed intervals, strokes and runs that ended before `before`; returns rows deleted.
    fn purge(&self, before: UnixMillis) -> impl Future<Output = Result<u64, StoreError>> + Send;

    fn runs(&self) -> impl Future<Output = Result<Vec<RunRecord>, StoreError>> + Send;
    fn states(&self, q: &Query) -> impl Future<Output = Result<Vec<StateInterval>, StoreError>> + Send;
    fn lamps(&self, q: &Query) -> impl Future<Output = Result<Vec<LampInterval>, StoreError>> + Send;
    fn health(&self, q: &Query) -> impl Future<Output = Result<Vec<HealthInterval>, StoreError>> + Send;
    fn strokes(&self, q: &Query) -> impl Future<Output = Result<Vec<StrokeRecord>, StoreError>> + Send;

    /// Head counts of one zone (`key`) or all, ordered by zone and start.
    fn presence(&self, q: &Query) -> impl Future<Output = Result<Vec<PresenceInterval>, StoreError>> + Send;

    /// Head counts of the operator zones of one machine (`key`) or of every machine.
    fn operator_presence(&self, q: &Query) -> impl Future<Output = Result<Vec<PresenceInterval>, StoreError>> + Send;

    /// Advisory safety events of one machine (`key`) or all in the range, in time order.
    fn safety_events(&self, q: &Query) -> impl Future<Output = Result<Vec<SafetyRecord>, StoreError>> + Send;

    /// The cycles `filter` asks for, newest first.
    fn cycles(&self, filter: &CycleFilter) -> impl Future<Output = Result<Vec<CycleRecord>, StoreError>> + Send;

    /// Every stroke ever stored, per machine, sorted by machine: counted as strokes are
    /// written, and never lowered by [`Store::purge`].
    fn stroke_totals(&self) -> impl Future<Output = Result<Vec<(String, u64)>, StoreError>> + Send;
}
