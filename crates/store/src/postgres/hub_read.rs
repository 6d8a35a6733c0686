//! What the hub's dashboard reads across shops: the shops' profiles, stroke counts of
//! long ranges (from `stroke_hour`, with only the partial hours at the ends counted in
//! `stroke`), time per state in given windows, the states open now and open alerts.
//!
//! Invariant: every function takes the shops it may read (`scope`: one shop id, or `*`
//! for a platform user) and runs in a transaction scoped to it, so row-level security
//! bounds what any query can return whatever its other arguments say.

use std::collections::BTreeMap;

use sheetsight_vision::state::MachineState;
use sqlx::PgConnection;

use super::ingest::{HOUR_MS, hour_of};
use super::{PgDatabase, PgStore, io};
use crate::profile::ShopProfile;
use crate::report::ReportHistory;
use crate::{CycleFilter, CycleRecord, Query, Store, StoreError, UnixMillis};

/// Machine, job, and the starts and ends of its cycles.
type CycleTimes = (String, Option<String>, Vec<i64>, Vec<i64>);

/// Strokes of `machine` of `shop` that ended in `start..end`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct StrokeRange {
    pub shop: String,
    pub machine: String,
    pub start: UnixMillis,
    pub end: UnixMillis,
}

/// Milliseconds a machine spent in a state inside a shop's windows.
#[derive(Clone, Debug, PartialEq)]
pub struct StateTime {
    pub shop: String,
    pub machine: String,
    pub state: MachineState,
    pub ms: i64,
}

/// A machine's state as its edge last reported it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct OpenState {
    pub shop: String,
    pub machine: String,
    pub state: MachineState,
    pub since: UnixMillis,
}

/// A shop's window: the overview measures `start..end` of it.
#[derive(Clone, Debug, PartialEq)]
pub struct ShopWindow {
    pub shop: String,
    pub start: UnixMillis,
    pub end: UnixMillis,
}

/// How far back an interval that overlaps a window may have started and still be read
/// by [`PgDatabase::state_times`]: the partitions older than this are not searched.
pub const LONGEST_INTERVAL_MS: i64 = 31 * 86_400_000;

impl PgDatabase {
    /// The latest profile of every shop in `scope` (or only of shop `only`), by shop.
    pub async fn profiles(&self, scope: &str, only: Option<&str>) -> Result<BTreeMap<String, ShopProfile>, StoreError> {
        let mut tx = self.scoped(scope).await?;
        let rows: Vec<(String, serde_json::Value)> = sqlx::query_as(
            "SELECT shop_id, profile FROM shop_profile WHERE ($1 = '*' OR shop_id = $1) \
             AND ($2::TEXT IS NULL OR shop_id = $2)",
        )
        .bind(scope)
        .bind(only)
        .fetch_all(&mut *tx)
        .await
        .map_err(io("reading the shops' profiles"))?;
        tx.commit().await.map_err(io("reading the shops' profiles"))?;
        let mut out = BTreeMap::new();
        for (shop, value) in rows {
            match serde_json::from_value::<ShopProfile>(value) {
                Ok(p) => {
                    out.insert(shop, p);
                }
                Err(e) => tracing::warn!(shop, error = %e, "a shop's profile cannot be read; it is left out"),
            }
        }
        Ok(out)
    }

    /// The shops of `scope`: id and name, by id.
    pub async fn shops_in(&self, scope: &str) -> Result<Vec<(String, String)>, StoreError> {
        sqlx::query_as("SELECT id, name FROM shop WHERE $1 = '*' OR id = $1 ORDER BY id")
            .bind(scope)
            .fetch_all(self.pool())
            .await
            .map_err(io("listing shops"))
    }

    /// The strokes of each range, in the order given.
    pub async fn count_strokes(&self, scope: &str, ranges: &[StrokeRange]) -> Result<Vec<u64>, StoreError> {
        let mut tx = self.scoped(scope).await?;
        let counts = count_strokes(&mut tx, ranges).await?;
        tx.commit().await.map_err(io("counting strokes"))?;
        Ok(counts)
    }

    /// Time per machine and state inside `windows` (clipped to `now`), for intervals that
    /// began at most [`LONGEST_INTERVAL_MS`] before their window.
    pub async fn state_times(
        &self,
        scope: &str,
        windows: &[ShopWindow],
        now: UnixMillis,
    ) -> Result<Vec<StateTime>, StoreError> {
        let Some(earliest) = windows.iter().map(|w| w.start).min() else { return Ok(Vec::new()) };
        let mut tx = self.scoped(scope).await?;
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT w.shop, s.machine, s.state, \
                    sum(LEAST(COALESCE(s.end_ms, $4), w.b) - GREATEST(s.start_ms, w.a))::BIGINT \
             FROM unnest($1::TEXT[], $2::BIGINT[], $3::BIGINT[]) AS w(shop, a, b) \
             JOIN machine_state s ON s.shop_id = w.shop AND s.start_ms < w.b \
                  AND COALESCE(s.end_ms, $4) > w.a AND s.start_ms >= $5 \
             WHERE $6 = '*' OR w.shop = $6 \
             GROUP BY 1, 2, 3",
        )
        .bind(windows.iter().map(|w| w.shop.clone()).collect::<Vec<_>>())
        .bind(windows.iter().map(|w| w.start.0).collect::<Vec<_>>())
        .bind(windows.iter().map(|w| w.end.min(now).0).collect::<Vec<_>>())
        .bind(now)
        .bind(earliest.0 - LONGEST_INTERVAL_MS)
        .bind(scope)
        .fetch_all(&mut *tx)
        .await
        .map_err(io("summing the machines' time per state"))?;
        tx.commit().await.map_err(io("summing the machines' time per state"))?;
        Ok(rows
            .into_iter()
            .filter_map(|(shop, machine, state, ms)| {
                let state = state.parse().ok()?;
                Some(StateTime { shop, machine, state, ms: ms.max(0) })
            })
            .collect())
    }

    /// Every machine's open state in `scope` (or only in shop `only`).
    pub async fn open_states(&self, scope: &str, only: Option<&str>) -> Result<Vec<OpenState>, StoreError> {
        let mut tx = self.scoped(scope).await?;
        let rows: Vec<(String, String, String, UnixMillis)> = sqlx::query_as(
            "SELECT shop_id, machine, state, start_ms FROM machine_state \
             WHERE end_ms IS NULL AND ($1 = '*' OR shop_id = $1) AND ($2::TEXT IS NULL OR shop_id = $2) \
             ORDER BY shop_id, machine",
        )
        .bind(scope)
        .bind(only)
        .fetch_all(&mut *tx)
        .await
        .map_err(io("reading the machines' states"))?;
        tx.commit().await.map_err(io("reading the machines' states"))?;
        Ok(rows
            .into_iter()
            .filter_map(|(shop, machine, state, since)| {
                Some(OpenState { shop, machine, state: state.parse().ok()?, since })
            })
            .collect())
    }

    /// Alerts not yet acknowledged, per shop of `scope`.
    pub async fn open_alert_counts(&self, scope: &str) -> Result<BTreeMap<String, u64>, StoreError> {
        let mut tx = self.scoped(scope).await?;
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT shop_id, count(*) FROM alert WHERE acked_ms IS NULL AND ($1 = '*' OR shop_id = $1) GROUP BY 1",
        )
        .bind(scope)
        .fetch_all(&mut *tx)
        .await
        .map_err(io("counting open alerts"))?;
        tx.commit().await.map_err(io("counting open alerts"))?;
        Ok(rows.into_iter().map(|(shop, n)| (shop, n.max(0) as u64)).collect())
    }
}

/// Counts each range: whole hours from `stroke_hour`, the parts before the first whole
/// hour and after the last from `stroke` (a range within two hours entirely from it).
async fn count_strokes(tx: &mut PgConnection, ranges: &[StrokeRange]) -> Result<Vec<u64>, StoreError> {
    // Pieces: (range index, shop, machine, start, end, from the hourly table).
    let mut exact: Vec<(usize, &str, &str, i64, i64)> = Vec::new();
    let mut hourly: Vec<(usize, &str, &str, i64, i64)> = Vec::new();
    for (i, r) in ranges.iter().enumerate() {
        let (a, b) = (r.start.0, r.end.0);
        if b <= a {
            continue;
        }
        let first_hour = hour_of(UnixMillis(a + HOUR_MS - 1));
        let last_hour = hour_of(r.end);
        if first_hour < last_hour {
            exact.push((i, &r.shop, &r.machine, a, first_hour));
            hourly.push((i, &r.shop, &r.machine, first_hour, last_hour));
            exact.push((i, &r.shop, &r.machine, last_hour, b));
        } else {
            exact.push((i, &r.shop, &r.machine, a, b));
        }
    }
    let mut counts = vec![0u64; ranges.len()];
    for (pieces, sql) in [
        (
            &exact,
            "SELECT w.i, (SELECT count(*) FROM stroke s WHERE s.shop_id = w.shop AND s.machine = w.machine \
             AND s.end_ms >= w.a AND s.end_ms < w.b) \
             FROM unnest($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::BIGINT[], $5::BIGINT[]) AS w(i, shop, machine, a, b) \
             WHERE w.b > w.a",
        ),
        (
            &hourly,
            "SELECT w.i, (SELECT coalesce(sum(h.strokes), 0)::BIGINT FROM stroke_hour h WHERE h.shop_id = w.shop \
             AND h.machine = w.machine AND h.hour_ms >= w.a AND h.hour_ms < w.b) \
             FROM unnest($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::BIGINT[], $5::BIGINT[]) AS w(i, shop, machine, a, b)",
        ),
    ] {
        if pieces.is_empty() {
            continue;
        }
        let rows: Vec<(i64, i64)> = sqlx::query_as(sql)
            .bind(pieces.iter().map(|p| p.0 as i64).collect::<Vec<_>>())
            .bind(pieces.iter().map(|p| p.1).collect::<Vec<_>>())
            .bind(pieces.iter().map(|p| p.2).collect::<Vec<_>>())
            .bind(pieces.iter().map(|p| p.3).collect::<Vec<_>>())
            .bind(pieces.iter().map(|p| p.4).collect::<Vec<_>>())
            .fetch_all(&mut *tx)
            .await
            .map_err(io("counting strokes"))?;
        for (i, n) in rows {
            if let Some(c) = usize::try_from(i).ok().and_then(|i| counts.get_mut(i)) {
                *c += n.max(0) as u64;
            }
        }
    }
    Ok(counts)
}

impl PgStore {
    /// The cycles of `f` with only what the report reads (machine, times, job), in no
    /// particular order: a month of a shop is hundreds of thousands of them.
    async fn report_cycles(&self, f: &CycleFilter) -> Result<Vec<CycleRecord>, StoreError> {
        let mut tx = self.database().scoped(self.shop_id()).await?;
        // Per machine and job, the times as two arrays: far fewer rows to decode.
        let rows: Vec<CycleTimes> = sqlx::query_as(
            "SELECT machine, job, array_agg(start_ms), array_agg(end_ms) FROM cycle WHERE shop_id = $1 \
             AND end_ms < $2 AND end_ms >= $3 AND ($4::TEXT IS NULL OR machine = $4) GROUP BY machine, job",
        )
        .bind(self.shop_id())
        .bind(f.query.to)
        .bind(f.query.from)
        .bind(&f.query.key)
        .fetch_all(&mut *tx)
        .await
        .map_err(io("reading cycles"))?;
        tx.commit().await.map_err(io("reading cycles"))?;
        let mut out = Vec::with_capacity(rows.iter().map(|r| r.2.len()).sum());
        for (machine, job, starts, ends) in rows {
            for (start, end) in starts.into_iter().zip(ends) {
                out.push(CycleRecord {
                    id: 0,
                    machine: machine.clone(),
                    start: UnixMillis(start),
                    end: UnixMillis(end),
                    strokes: 0,
                    job: job.clone(),
                    operator: None,
                });
            }
        }
        Ok(out)
    }

    /// What the shift report of `q` is computed from, with the strokes of `counted`
    /// (the keys of [`crate::report::stroke_windows`]) counted in the database instead
    /// of loaded. Standard work is kept on the edge only: the hub reports performance
    /// against the machines' ideal rates.
    pub async fn report_history(
        &self,
        q: &Query,
        counted: &[(String, UnixMillis, UnixMillis)],
    ) -> Result<ReportHistory, StoreError> {
        let cycles = CycleFilter { query: q.clone(), job: None, limit: None, offset: 0 };
        let ranges: Vec<StrokeRange> = counted
            .iter()
            .map(|(machine, start, end)| StrokeRange {
                shop: self.shop_id().to_string(),
                machine: machine.clone(),
                start: *start,
                end: *end,
            })
            .collect();
        // Four queries at once, on connections of their own: the cycles of a month take
        // the longest, and the database works on the others meanwhile.
        let (counts, states, cycles, operator_presence) = tokio::try_join!(
            self.database().count_strokes(self.shop_id(), &ranges),
            self.states(q),
            self.report_cycles(&cycles),
            self.operator_presence(q),
        )?;
        Ok(ReportHistory {
            states,
            strokes: Vec::new(),
            cycles,
            standards: Vec::new(),
            operator_presence,
            stroke_counts: Some(counted.iter().cloned().zip(counts).collect()),
        })
    }
}
