//! `sheetsight bench-hub`: how many events a second the hub stores into PostgreSQL.
//!
//! Each of `--edges` simulated edges (20 machines each: state and lamp changes, a stroke
//! every few seconds per machine, a cycle every 30 s) has its outbox rows encoded as the
//! edge encodes them; `--workers` tasks store them through [`PgDatabase::ingest`] in
//! batches of 500 rows, as the hub's workers do, for `--seconds`. The broker is not in
//! this figure: the database's side alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use sheetsight_base::UnixMillis;
use sheetsight_store::outbox::Change;
use sheetsight_store::postgres::PgDatabase;
use sheetsight_vision::event::{Event, LiveEvent};
use sheetsight_vision::state::MachineState;

use crate::live::runtime;

/// 2026-10-01 00:00 UTC: the benchmark's simulated clock starts here.
const T0: i64 = 1_790_812_800_000;

/// One simulated second of a 20-machine shop.
fn second(rng: &mut rand::rngs::SmallRng, t_s: i64) -> Vec<LiveEvent> {
    let at = |s: i64| UnixMillis(T0 + s * 1000);
    let mut events = Vec::new();
    for m in 0..20 {
        let machine = format!("m{m}");
        if rng.random_range(0..300) == 0 {
            let state = [MachineState::Executing, MachineState::NotExecuting][rng.random_range(0..2)];
            events.push(Event::State { machine: machine.clone(), state, t: at(t_s) });
        }
        if rng.random_range(0..5) == 0 {
            let end_t = at(t_s);
            events.push(Event::Stroke {
                machine: machine.clone(),
                start_t: UnixMillis(end_t.0 - 800),
                end_t,
                person_in_region: false,
            });
        }
        if t_s % 30 == 0 {
            events.push(Event::Cycle { machine, start_t: at(t_s - 30), end_t: at(t_s), strokes: 6 });
        }
    }
    events
}

pub fn run(database: &str, seconds: u64, edges: usize, workers: usize) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let db = PgDatabase::open(database).await?;
        let events = Arc::new(AtomicU64::new(0));
        let rows = Arc::new(AtomicU64::new(0));
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..workers.max(1) {
            let (db, events, rows) = (db.clone(), events.clone(), rows.clone());
            let mine: Vec<usize> = (0..edges).filter(|e| e % workers.max(1) == w).collect();
            tasks.push(tokio::spawn(async move {
                let mut state: Vec<(rand::rngs::SmallRng, i64, i64)> =
                    mine.iter().map(|e| (rand::rngs::SmallRng::seed_from_u64(*e as u64), 0, 0)).collect();
                let epoch = format!("bench-{}", UnixMillis::now().0);
                while Instant::now() < deadline {
                    for (k, e) in mine.iter().enumerate() {
                        let (rng, t_s, seq) = &mut state[k];
                        // 500 simulated seconds as the edge would send them: a row each.
                        let mut batch = Vec::with_capacity(500);
                        let mut n_events = 0;
                        for _ in 0..500 {
                            *t_s += 1;
                            *seq += 1;
                            let ev = second(rng, *t_s);
                            n_events += ev.len() as u64;
                            let change = Change::Write { run: 1, heartbeat: UnixMillis(T0 + *t_s * 1000), events: ev };
                            batch.push((*seq, serde_json::to_string(&change)?));
                        }
                        let borrowed: Vec<(i64, &str)> = batch.iter().map(|(s, b)| (*s, b.as_str())).collect();
                        db.ingest(&format!("bench-{e}"), &epoch, 0, &borrowed, UnixMillis::now()).await?;
                        events.fetch_add(n_events, Ordering::Relaxed);
                        rows.fetch_add(500, Ordering::Relaxed);
                    }
                }
                anyhow::Ok(())
            }));
        }
        for t in tasks {
            t.await??;
        }
        let elapsed = started.elapsed().as_secs_f64();
        let (events, rows) = (events.load(Ordering::Relaxed), rows.load(Ordering::Relaxed));
        println!(
            "hub ingest into PostgreSQL: {edges} edges, {workers} workers, {elapsed:.0} s: {:.0} events/s ({:.0} outbox rows/s), target 20000 events/s",
            events as f64 / elapsed,
            rows as f64 / elapsed
        );
        Ok(())
    })
}
