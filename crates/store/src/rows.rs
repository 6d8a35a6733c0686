//! Rows as both SQL stores read them, and what they become: one place for the columns'
//! order and for turning stored text back into values.

use std::str::FromStr;

use sheetsight_vision::event::CameraHealth;
use sheetsight_vision::lamp::{LampColor, LampMode};

use crate::{
    CycleRecord, HealthInterval, Interval, LampInterval, PresenceInterval, RunRecord, SafetyRecord, StateInterval,
    StoreError, StoreErrorKind, UnixMillis, ZoneCount,
};

pub(crate) fn parse<T: FromStr<Err: std::error::Error + Send + Sync + 'static>>(s: &str) -> Result<T, StoreError> {
    s.parse().map_err(|e| StoreError::new(StoreErrorKind::Corrupt, "reading history", e))
}

/// id, started, heartbeat, stopped, stop reason, version.
pub(crate) type RunRow = (i64, UnixMillis, UnixMillis, Option<UnixMillis>, Option<String>, String);
/// machine, state, start, end.
pub(crate) type StateRow = (String, String, UnixMillis, Option<UnixMillis>);
/// machine, lamp, color, mode, start, end.
pub(crate) type LampRow = (String, i64, String, String, UnixMillis, Option<UnixMillis>);
/// camera, health, detail, start, end.
pub(crate) type HealthRow = (String, String, Option<String>, UnixMillis, Option<UnixMillis>);
/// id, machine, start, end, strokes, job, operator.
pub(crate) type CycleRow = (i64, String, UnixMillis, UnixMillis, i64, Option<String>, Option<String>);
/// zone, people, operator_of, start, end.
pub(crate) type PresenceRow = (String, i64, Option<String>, UnixMillis, Option<UnixMillis>);
/// id, zone, machine, people, t, snapshot.
pub(crate) type SafetyRow = (i64, String, String, i64, UnixMillis, Option<String>);

pub(crate) fn run_record((id, started, heartbeat, stopped, stop_reason, version): RunRow) -> RunRecord {
    RunRecord { id, started, heartbeat, stopped, stop_reason, version }
}

pub(crate) fn state_interval((key, state, start, end): StateRow) -> Result<StateInterval, StoreError> {
    Ok(Interval { key, value: parse(&state)?, start, end })
}

pub(crate) fn lamp_interval((machine, lamp, color, mode, start, end): LampRow) -> Result<LampInterval, StoreError> {
    let value: (LampColor, LampMode) = (parse(&color)?, parse(&mode)?);
    Ok(Interval { key: (machine, u32::try_from(lamp).unwrap_or(0)), value, start, end })
}

pub(crate) fn health_interval((key, health, detail, start, end): HealthRow) -> Result<HealthInterval, StoreError> {
    let health: CameraHealth = parse(&health)?;
    Ok(Interval { key, value: (health, detail), start, end })
}

pub(crate) fn cycle_record((id, machine, start, end, strokes, job, operator): CycleRow) -> CycleRecord {
    CycleRecord { id, machine, start, end, strokes: u32::try_from(strokes).unwrap_or(0), job, operator }
}

pub(crate) fn presence_interval((zone, people, operator_of, start, end): PresenceRow) -> PresenceInterval {
    Interval { key: zone, value: ZoneCount { people: u32::try_from(people).unwrap_or(0), operator_of }, start, end }
}

pub(crate) fn safety_record((id, zone, machine, people, t, snapshot): SafetyRow) -> SafetyRecord {
    SafetyRecord { id, zone, machine, people: u32::try_from(people).unwrap_or(0), t, snapshot }
}
