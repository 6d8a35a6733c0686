//! Applying an edge's changes to the hub's tables: [`PgDatabase::ingest`] in sequence
//! order under the edge's watermark, and the statements that store runs, events, notes
//! and alerts, shared with [`super::PgStore`]'s own writes. Invariant: every statement
//! names the shop, and a row's month partition exists before it is written.

use sheetsight_vision::event::{Event, LiveEvent};
use sheetsight_vision::state::MachineState;
use sqlx::{PgConnection, Postgres};

use super::{IngestOutcome, PgDatabase, io, span, valid_time};
use crate::outbox::{Change, CrashedRun};
use crate::{StoreError, UnixMillis};

impl PgDatabase {
    /// Stores the rows `(seq, body)` of `shop`'s outbox epoch `epoch` that follow its
    /// watermark, in order, and moves the watermark past them, all in one transaction.
    /// A body that is not a change this version reads is quarantined (and counted as
    /// stored: it would never read better on a second try). `forgotten` is the highest
    /// sequence the edge deleted after an acknowledgement: a watermark below it means
    /// this database lost what it had acknowledged (restored from a backup), and since
    /// the edge cannot send it again the watermark moves up to it, loudly.
    pub async fn ingest(
        &self,
        shop: &str,
        epoch: &str,
        forgotten: i64,
        rows: &[(i64, &str)],
        now: UnixMillis,
    ) -> Result<IngestOutcome, StoreError> {
        let mut changes: Vec<(i64, Result<Change, String>)> = rows
            .iter()
            .map(|(seq, body)| (*seq, serde_json::from_str::<Change>(body).map_err(|e| e.to_string())))
            .collect();
        changes.sort_by_key(|(seq, _)| *seq);
        let times = changes.iter().filter_map(|(_, c)| c.as_ref().ok()).flat_map(change_times);
        if let Some((first, last)) = span(times.filter(|t| valid_time(*t, now))) {
            self.ensure_partitions(first, last).await?;
        }

        let mut tx = self.scoped(shop).await?;
        sqlx::query(
            "INSERT INTO edge_link (shop_id, epoch, watermark, updated_ms) VALUES ($1, $2, 0, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(shop)
        .bind(epoch)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(io("registering an edge link"))?;
        // The row lock orders the hub processes that receive batches of one edge.
        let (mut watermark,): (i64,) =
            sqlx::query_as("SELECT watermark FROM edge_link WHERE shop_id = $1 AND epoch = $2 FOR UPDATE")
                .bind(shop)
                .bind(epoch)
                .fetch_one(&mut *tx)
                .await
                .map_err(io("reading an edge's watermark"))?;
        if watermark < forgotten {
            tracing::error!(
                shop,
                epoch,
                watermark,
                forgotten,
                "the edge deleted changes this database acknowledged but does not hold (restored from a backup?): \
                 they cannot be sent again"
            );
            watermark = forgotten;
        }
        let mut outcome = IngestOutcome::default();
        let link = Link { shop, epoch, now };
        for (seq, change) in &changes {
            if *seq <= watermark {
                outcome.duplicates += 1;
                continue;
            }
            if *seq > watermark + 1 {
                outcome.gap = true;
                break;
            }
            match change {
                Ok(change) => outcome.quarantined += apply(&mut tx, &link, *seq, change).await?,
                Err(e) => {
                    let body = rows.iter().find(|r| r.0 == *seq).map_or("", |r| r.1);
                    quarantine(&mut tx, &link, *seq, &format!("not a change: {e}"), serde_json::json!(body)).await?;
                    outcome.quarantined += 1;
                }
            }
            watermark = *seq;
            outcome.applied += 1;
        }
        sqlx::query("UPDATE edge_link SET watermark = $3, updated_ms = $4 WHERE shop_id = $1 AND epoch = $2")
            .bind(shop)
            .bind(epoch)
            .bind(watermark)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(io("moving an edge's watermark"))?;
        tx.commit().await.map_err(io("committing an edge's batch"))?;
        outcome.watermark = watermark;
        Ok(outcome)
    }
}

/// Every time an event stores rows at.
pub(super) fn event_times(e: &LiveEvent) -> Vec<UnixMillis> {
    match e {
        Event::State { t, .. }
        | Event::Lamp { t, .. }
        | Event::Health { t, .. }
        | Event::Presence { t, .. }
        | Event::Safety { t, .. } => vec![*t],
        Event::Stroke { start_t, end_t, .. } | Event::Cycle { start_t, end_t, .. } => vec![*start_t, *end_t],
        Event::Motion { .. } | Event::MediaIssue { .. } => vec![],
    }
}

pub(super) fn change_times(c: &Change) -> Vec<UnixMillis> {
    match c {
        Change::Write { events, .. } => events.iter().flat_map(event_times).collect(),
        Change::BeginRun { now, crashed, .. } => crashed.iter().map(|c| c.heartbeat).chain([*now]).collect(),
        Change::EndRun { now, .. } => vec![*now],
        Change::Note { .. }
        | Change::Profile { .. }
        | Change::Dropped { .. }
        | Change::AlertRaised { .. }
        | Change::AlertCleared { .. }
        | Change::AlertAcked { .. } => vec![],
    }
}

/// Which edge a change came from.
pub(super) struct Link<'a> {
    pub shop: &'a str,
    pub epoch: &'a str,
    pub now: UnixMillis,
}

pub(super) async fn quarantine(
    tx: &mut PgConnection,
    link: &Link<'_>,
    seq: i64,
    reason: &str,
    body: serde_json::Value,
) -> Result<(), StoreError> {
    tracing::warn!(shop = link.shop, epoch = link.epoch, seq, reason, "an edge's change is quarantined");
    sqlx::query(
        "INSERT INTO quarantine (shop_id, epoch, seq, received_ms, reason, body) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(link.shop)
    .bind(link.epoch)
    .bind(seq)
    .bind(link.now)
    .bind(reason)
    .bind(sqlx::types::Json(body))
    .execute(tx)
    .await
    .map_err(io("quarantining a change"))?;
    Ok(())
}

/// The hub's run of an edge's run, created when first needed (the edge's begin may
/// have been before its outbox was).
async fn hub_run(
    tx: &mut PgConnection,
    link: &Link<'_>,
    edge_run: i64,
    started: UnixMillis,
) -> Result<i64, StoreError> {
    let found: Option<(i64,)> =
        sqlx::query_as("SELECT run_id FROM edge_run WHERE shop_id = $1 AND epoch = $2 AND edge_run = $3")
            .bind(link.shop)
            .bind(link.epoch)
            .bind(edge_run)
            .fetch_optional(&mut *tx)
            .await
            .map_err(io("finding an edge's run"))?;
    if let Some((id,)) = found {
        return Ok(id);
    }
    let id = insert_run(tx, link.shop, started, "edge").await?;
    sqlx::query("INSERT INTO edge_run (shop_id, epoch, edge_run, run_id) VALUES ($1, $2, $3, $4)")
        .bind(link.shop)
        .bind(link.epoch)
        .bind(edge_run)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(io("mapping an edge's run"))?;
    Ok(id)
}

/// Applies one change of an edge; returns how many events were quarantined.
async fn apply(tx: &mut PgConnection, link: &Link<'_>, seq: i64, change: &Change) -> Result<u64, StoreError> {
    match change {
        Change::BeginRun { run, now, version, crashed } => {
            for CrashedRun { run, heartbeat } in crashed {
                let id = hub_run(tx, link, *run, *heartbeat).await?;
                close_crashed_run(tx, link.shop, id, *heartbeat, *now).await?;
            }
            let id = hub_run(tx, link, *run, *now).await?;
            sqlx::query("UPDATE service_run SET version = $2, started_ms = $3, heartbeat_ms = $3 WHERE id = $1")
                .bind(id)
                .bind(version)
                .bind(*now)
                .execute(&mut *tx)
                .await
                .map_err(io("starting an edge's run"))?;
            Ok(0)
        }
        Change::Write { run, heartbeat, events } => {
            let (mut good, mut bad) = (Vec::with_capacity(events.len()), 0);
            for e in events {
                if event_times(e).iter().all(|t| valid_time(*t, link.now)) {
                    good.push(e.clone());
                } else {
                    quarantine(tx, link, seq, "a time before 2015 or more than a day ahead", serde_json::json!(e))
                        .await?;
                    bad += 1;
                }
            }
            let started = good.iter().flat_map(event_times).min().unwrap_or(*heartbeat);
            let id = hub_run(tx, link, *run, started).await?;
            write_events(tx, link.shop, id, &good, *heartbeat).await?;
            Ok(bad)
        }
        Change::EndRun { run, now } => {
            let id = hub_run(tx, link, *run, *now).await?;
            end_run(tx, link.shop, id, *now).await?;
            Ok(0)
        }
        Change::Note { machine, kind, value, start, end, author, created } => {
            insert_note(tx, link.shop, machine, kind, value, *start, *end, author, *created).await?;
            Ok(0)
        }
        Change::AlertRaised { id, rule, subject, message, at } => {
            sqlx::query(
                "INSERT INTO alert (shop_id, epoch, edge_id, rule, subject, message, raised_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (shop_id, epoch, edge_id) DO NOTHING",
            )
            .bind(link.shop)
            .bind(link.epoch)
            .bind(id)
            .bind(rule)
            .bind(subject)
            .bind(message)
            .bind(*at)
            .execute(&mut *tx)
            .await
            .map_err(io("storing an alert"))?;
            Ok(0)
        }
        Change::AlertCleared { id, at } => {
            sqlx::query(
                "UPDATE alert SET cleared_ms = $4 WHERE shop_id = $1 AND epoch = $2 AND edge_id = $3 \
                 AND cleared_ms IS NULL",
            )
            .bind(link.shop)
            .bind(link.epoch)
            .bind(id)
            .bind(*at)
            .execute(&mut *tx)
            .await
            .map_err(io("clearing an alert"))?;
            Ok(0)
        }
        Change::AlertAcked { id, by, at } => {
            sqlx::query(
                "UPDATE alert SET acked_by = $4, acked_ms = $5 WHERE shop_id = $1 AND epoch = $2 AND edge_id = $3 \
                 AND acked_ms IS NULL",
            )
            .bind(link.shop)
            .bind(link.epoch)
            .bind(id)
            .bind(by)
            .bind(*at)
            .execute(&mut *tx)
            .await
            .map_err(io("acknowledging an alert"))?;
            Ok(0)
        }
        Change::Profile { profile } => {
            let profile = serde_json::to_value(profile)
                .map_err(|e| StoreError::new(crate::StoreErrorKind::Corrupt, "encoding a shop's profile", e))?;
            sqlx::query(
                "INSERT INTO shop_profile (shop_id, profile, updated_ms) VALUES ($1, $2, $3) \
                 ON CONFLICT (shop_id) DO UPDATE SET profile = $2, updated_ms = $3",
            )
            .bind(link.shop)
            .bind(profile)
            .bind(link.now)
            .execute(&mut *tx)
            .await
            .map_err(io("storing a shop's profile"))?;
            Ok(0)
        }
        Change::Dropped { strokes } => {
            tracing::warn!(shop = link.shop, strokes, "an edge dropped strokes its full outbox could not keep");
            sqlx::query(
                "UPDATE edge_link SET dropped_strokes = dropped_strokes + $3 WHERE shop_id = $1 AND epoch = $2",
            )
            .bind(link.shop)
            .bind(link.epoch)
            .bind(i64::try_from(*strokes).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await
            .map_err(io("counting dropped strokes"))?;
            Ok(0)
        }
    }
}

pub(super) async fn insert_run(
    tx: &mut PgConnection,
    shop: &str,
    now: UnixMillis,
    version: &str,
) -> Result<i64, StoreError> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO service_run (shop_id, started_ms, heartbeat_ms, version) VALUES ($1, $2, $2, $3) RETURNING id",
    )
    .bind(shop)
    .bind(now)
    .bind(version)
    .fetch_one(tx)
    .await
    .map_err(io("starting a run"))?;
    Ok(id)
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn insert_note(
    tx: &mut PgConnection,
    shop: &str,
    machine: &str,
    kind: &str,
    value: &str,
    start: UnixMillis,
    end: Option<UnixMillis>,
    author: &str,
    created: UnixMillis,
) -> Result<i64, StoreError> {
    if kind == "job" {
        sqlx::query(
            "UPDATE machine_note SET end_ms = GREATEST(start_ms, $3) \
             WHERE shop_id = $1 AND machine = $2 AND kind = 'job' AND end_ms IS NULL",
        )
        .bind(shop)
        .bind(machine)
        .bind(start)
        .execute(&mut *tx)
        .await
        .map_err(io("storing a note"))?;
    }
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO machine_note (shop_id, machine, kind, value, start_ms, end_ms, author, created_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(shop)
    .bind(machine)
    .bind(kind)
    .bind(value)
    .bind(start)
    .bind(end)
    .bind(author)
    .bind(created)
    .fetch_one(tx)
    .await
    .map_err(io("storing a note"))?;
    Ok(id)
}

/// Closes the open interval of one key of `table` (`key_sql` names its columns after the
/// shop, bound from `key`) at `at`.
async fn close_open(
    tx: &mut PgConnection,
    sql: &'static str,
    shop: &str,
    at: UnixMillis,
    key: &[&str],
) -> Result<(), StoreError> {
    let mut q = sqlx::query(sql).bind(shop).bind(at);
    for k in key {
        q = q.bind(*k);
    }
    q.execute(tx).await.map_err(io("closing an interval"))?;
    Ok(())
}

pub(super) async fn write_events(
    tx: &mut PgConnection,
    shop: &str,
    run: i64,
    events: &[LiveEvent],
    heartbeat: UnixMillis,
) -> Result<(), StoreError> {
    let mut strokes: Vec<(&str, UnixMillis, UnixMillis)> = Vec::new();
    for e in events {
        if let Event::Stroke { machine, start_t, end_t, .. } = e {
            strokes.push((machine, *start_t, *end_t));
            continue;
        }
        insert_strokes(tx, shop, run, &strokes).await?;
        strokes.clear();
        write_event(tx, shop, run, e).await?;
    }
    insert_strokes(tx, shop, run, &strokes).await?;
    sqlx::query("UPDATE service_run SET heartbeat_ms = GREATEST(heartbeat_ms, $2) WHERE id = $1")
        .bind(run)
        .bind(heartbeat)
        .execute(tx)
        .await
        .map_err(io("storing the heartbeat"))?;
    Ok(())
}

async fn write_event(tx: &mut PgConnection, shop: &str, run: i64, event: &LiveEvent) -> Result<(), StoreError> {
    let stored = io("storing an event");
    match event {
        Event::State { machine, state, t } => {
            close_open(
                tx,
                "UPDATE machine_state SET end_ms = GREATEST(start_ms, $2) \
                 WHERE shop_id = $1 AND machine = $3 AND end_ms IS NULL",
                shop,
                *t,
                &[machine],
            )
            .await?;
            sqlx::query(
                "INSERT INTO machine_state (shop_id, machine, state, start_ms, run_id) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(shop)
            .bind(machine)
            .bind(state.as_str())
            .bind(*t)
            .bind(run)
            .execute(tx)
            .await
            .map_err(stored)?;
        }
        Event::Lamp { machine, lamp, color, mode, t } => {
            close_open(
                tx,
                "UPDATE lamp_mode SET end_ms = GREATEST(start_ms, $2) \
                 WHERE shop_id = $1 AND machine = $3 AND lamp = $4::BIGINT AND end_ms IS NULL",
                shop,
                *t,
                &[machine, &lamp.to_string()],
            )
            .await?;
            sqlx::query(
                "INSERT INTO lamp_mode (shop_id, machine, lamp, color, mode, start_ms, run_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(shop)
            .bind(machine)
            .bind(i64::try_from(*lamp).unwrap_or(i64::MAX))
            .bind(color.as_str())
            .bind(mode.as_str())
            .bind(*t)
            .bind(run)
            .execute(tx)
            .await
            .map_err(stored)?;
        }
        Event::Health { camera, health, detail, t } => {
            close_open(
                tx,
                "UPDATE camera_health SET end_ms = GREATEST(start_ms, $2) \
                 WHERE shop_id = $1 AND camera = $3 AND end_ms IS NULL",
                shop,
                *t,
                &[camera],
            )
            .await?;
            sqlx::query(
                "INSERT INTO camera_health (shop_id, camera, health, detail, start_ms, run_id) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(shop)
            .bind(camera)
            .bind(health.as_str())
            .bind(detail)
            .bind(*t)
            .bind(run)
            .execute(tx)
            .await
            .map_err(stored)?;
        }
        Event::Stroke { machine, start_t, end_t, .. } => {
            insert_strokes(tx, shop, run, &[(machine, *start_t, *end_t)]).await?
        }
        Event::Cycle { machine, start_t, end_t, strokes } => {
            sqlx::query(
                "INSERT INTO cycle (shop_id, machine, start_ms, end_ms, strokes, job, operator, run_id) \
                 SELECT $1, $2, $3, $4, $5, job.value, job.author, $6 FROM (SELECT 1) one LEFT JOIN \
                 (SELECT value, author FROM machine_note WHERE shop_id = $1 AND machine = $2 AND kind = 'job' \
                  AND start_ms <= $3 AND (end_ms IS NULL OR end_ms > $3) ORDER BY start_ms DESC LIMIT 1) job ON true",
            )
            .bind(shop)
            .bind(machine)
            .bind(*start_t)
            .bind(*end_t)
            .bind(i64::from(*strokes))
            .bind(run)
            .execute(tx)
            .await
            .map_err(io("storing a cycle"))?;
        }
        Event::Presence { zone, operator_of, people, t } => {
            close_open(
                tx,
                "UPDATE zone_presence SET end_ms = GREATEST(start_ms, $2) \
                 WHERE shop_id = $1 AND zone = $3 AND end_ms IS NULL",
                shop,
                *t,
                &[zone],
            )
            .await?;
            sqlx::query(
                "INSERT INTO zone_presence (shop_id, zone, operator_of, people, start_ms, run_id) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(shop)
            .bind(zone)
            .bind(operator_of)
            .bind(i64::from(*people))
            .bind(*t)
            .bind(run)
            .execute(tx)
            .await
            .map_err(stored)?;
        }
        Event::Safety { zone, machine, people, t, snapshot, .. } => {
            sqlx::query(
                "INSERT INTO safety_event (shop_id, zone, machine, people, t_ms, snapshot, run_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(shop)
            .bind(zone)
            .bind(machine)
            .bind(i64::from(*people))
            .bind(*t)
            .bind(snapshot)
            .bind(run)
            .execute(tx)
            .await
            .map_err(io("storing a safety event"))?;
        }
        Event::Motion { .. } | Event::MediaIssue { .. } => {}
    }
    Ok(())
}

/// Strokes in multi-row statements, and the machines' running totals.
async fn insert_strokes(
    tx: &mut PgConnection,
    shop: &str,
    run: i64,
    strokes: &[(&str, UnixMillis, UnixMillis)],
) -> Result<(), StoreError> {
    // Five parameters a row, well below PostgreSQL's 65535 a statement.
    for chunk in strokes.chunks(5000) {
        let mut q =
            sqlx::QueryBuilder::<Postgres>::new("INSERT INTO stroke (shop_id, machine, start_ms, end_ms, run_id) ");
        q.push_values(chunk, |mut row, (machine, start, end)| {
            row.push_bind(shop).push_bind(*machine).push_bind(*start).push_bind(*end).push_bind(run);
        });
        q.build().execute(&mut *tx).await.map_err(io("storing strokes"))?;
    }
    let mut counts: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
    for (machine, _, _) in strokes {
        *counts.entry(machine).or_default() += 1;
    }
    for (machine, n) in counts {
        sqlx::query(
            "INSERT INTO stroke_total (shop_id, machine, strokes) VALUES ($1, $2, $3) \
             ON CONFLICT (shop_id, machine) DO UPDATE SET strokes = stroke_total.strokes + $3",
        )
        .bind(shop)
        .bind(machine)
        .bind(n)
        .execute(&mut *tx)
        .await
        .map_err(io("counting strokes"))?;
    }
    let mut hours: std::collections::BTreeMap<(&str, i64), i64> = std::collections::BTreeMap::new();
    for (machine, _, end) in strokes {
        *hours.entry((machine, hour_of(*end))).or_default() += 1;
    }
    let hours: Vec<((&str, i64), i64)> = hours.into_iter().collect();
    for chunk in hours.chunks(5000) {
        let mut q =
            sqlx::QueryBuilder::<Postgres>::new("INSERT INTO stroke_hour (shop_id, machine, hour_ms, strokes) ");
        q.push_values(chunk, |mut row, ((machine, hour), n)| {
            row.push_bind(shop).push_bind(*machine).push_bind(*hour).push_bind(*n);
        });
        q.push(
            " ON CONFLICT (shop_id, machine, hour_ms) DO UPDATE SET strokes = stroke_hour.strokes + EXCLUDED.strokes",
        );
        q.build().execute(&mut *tx).await.map_err(io("counting strokes by hour"))?;
    }
    Ok(())
}

/// The start of the UTC hour of `t`, in ms.
pub(super) fn hour_of(t: UnixMillis) -> i64 {
    t.0.div_euclid(HOUR_MS) * HOUR_MS
}

pub(super) const HOUR_MS: i64 = 3_600_000;

/// Closes what crashed run `id` left open: known up to its `heartbeat`, then
/// `NotAvailable` until `now` (as the SQLite store does).
pub(super) async fn close_crashed_run(
    tx: &mut PgConnection,
    shop: &str,
    id: i64,
    heartbeat: UnixMillis,
    now: UnixMillis,
) -> Result<(), StoreError> {
    let crashed = io("closing a crashed run");
    let open: Vec<(String, String, UnixMillis)> = sqlx::query_as(
        "SELECT machine, state, start_ms FROM machine_state WHERE shop_id = $1 AND end_ms IS NULL AND run_id = $2",
    )
    .bind(shop)
    .bind(id)
    .fetch_all(&mut *tx)
    .await
    .map_err(io("closing a crashed run"))?;
    for (machine, state, start) in open {
        let known_until = heartbeat.max(start);
        let unknown_already = state == MachineState::NotAvailable.as_str();
        sqlx::query("UPDATE machine_state SET end_ms = $3 WHERE shop_id = $1 AND machine = $2 AND end_ms IS NULL")
            .bind(shop)
            .bind(&machine)
            .bind(if unknown_already { now.max(start) } else { known_until })
            .execute(&mut *tx)
            .await
            .map_err(io("closing a crashed run"))?;
        if !unknown_already {
            sqlx::query(
                "INSERT INTO machine_state (shop_id, machine, state, start_ms, end_ms, run_id) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(shop)
            .bind(&machine)
            .bind(MachineState::NotAvailable.as_str())
            .bind(known_until)
            .bind(now.max(known_until))
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(io("closing a crashed run"))?;
        }
    }
    for sql in [
        "UPDATE lamp_mode SET end_ms = GREATEST(start_ms, $2) WHERE shop_id = $1 AND end_ms IS NULL AND run_id = $3",
        "UPDATE camera_health SET end_ms = GREATEST(start_ms, $2) WHERE shop_id = $1 AND end_ms IS NULL AND run_id = $3",
        "UPDATE zone_presence SET end_ms = GREATEST(start_ms, $2) WHERE shop_id = $1 AND end_ms IS NULL AND run_id = $3",
    ] {
        sqlx::query(sql)
            .bind(shop)
            .bind(heartbeat)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(io("closing a crashed run"))?;
    }
    sqlx::query(
        "UPDATE service_run SET stopped_ms = GREATEST(heartbeat_ms, $2), heartbeat_ms = GREATEST(heartbeat_ms, $2), \
         stop_reason = 'crash' WHERE id = $1",
    )
    .bind(id)
    .bind(heartbeat)
    .execute(tx)
    .await
    .map_err(crashed)?;
    Ok(())
}

pub(super) async fn end_run(tx: &mut PgConnection, shop: &str, run: i64, now: UnixMillis) -> Result<(), StoreError> {
    for sql in [
        "UPDATE machine_state SET end_ms = GREATEST(start_ms, $2) WHERE shop_id = $1 AND end_ms IS NULL",
        "UPDATE lamp_mode SET end_ms = GREATEST(start_ms, $2) WHERE shop_id = $1 AND end_ms IS NULL",
        "UPDATE camera_health SET end_ms = GREATEST(start_ms, $2) WHERE shop_id = $1 AND end_ms IS NULL",
        "UPDATE zone_presence SET end_ms = GREATEST(start_ms, $2) WHERE shop_id = $1 AND end_ms IS NULL",
    ] {
        sqlx::query(sql).bind(shop).bind(now).execute(&mut *tx).await.map_err(io("stopping the run"))?;
    }
    sqlx::query(
        "UPDATE service_run SET stopped_ms = $2, heartbeat_ms = GREATEST(heartbeat_ms, $2), stop_reason = 'stop' \
         WHERE id = $1",
    )
    .bind(run)
    .bind(now)
    .execute(tx)
    .await
    .map_err(io("stopping the run"))?;
    Ok(())
}
