//! `sheetsight bench-hub-backlog`: many edges come back at once with a day of backlog
//! each, while other shops keep sending live; through a real broker into PostgreSQL.
//!
//! Each of `--edges` edges is a real edge's outbox (SQLite) holding `--hours` of a
//! simulated 20-machine shop, sent by the edge's own link ([`uplink`]); the outboxes are
//! copies of one, each with an epoch of its own, so that preparing them takes seconds.
//! `--live` more edges store a batch of events stamped "now" every second and send it
//! the same way. The hub's ingest runs in this process, as `sheetsight hub` runs it. The
//! run ends when every backlog is acknowledged, or after `--minutes`. It prints how long
//! the drain took, the events a second stored through the broker, and how late the live
//! shops' events were stored (from being stored at the edge to being stored at the hub,
//! read from the hub's watermark every 200 ms).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use sheetsight_base::{UnixMillis, shutdown};
use sheetsight_config::{HubLinkConfig, HubMqttConfig};
use sheetsight_hub::ingest::{self, HubOptions};
use sheetsight_hub::uplink::{self, UplinkOptions, UplinkStatus};
use sheetsight_store::Store;
use sheetsight_store::postgres::PgDatabase;
use sheetsight_store::sqlite::SqliteStore;
use sheetsight_vision::event::{Event, LiveEvent};
use sheetsight_vision::state::MachineState;

use crate::live::runtime;

pub struct BacklogOptions {
    pub database: String,
    /// The broker, HOST:PORT, that lets anonymous clients in (loopback).
    pub broker: String,
    pub edges: usize,
    pub live: usize,
    pub hours: i64,
    pub minutes: u64,
}

/// One simulated edge's outbox of `hours` hours of 20 machines, in `dir`; how many events.
async fn template(dir: &std::path::Path, hours: i64) -> anyhow::Result<u64> {
    let mut edge = SqliteStore::open(dir).await.context("the template edge")?;
    edge.enable_outbox(8 << 30).await?;
    let to = UnixMillis(UnixMillis::now().0 / 60_000 * 60_000 - 600_000);
    let from = UnixMillis(to.0 - hours * 3_600_000);
    let machines: Vec<(String, Option<f64>)> = (0..20).map(|i| (format!("m{i}"), Some(400.0))).collect();
    let history = sheetsight_sim::history::past_days(&machines, from, to, &[], 3);
    let minute = |e: &LiveEvent| e.t().map_or(0, |t| t.0 / 60_000);
    let run = edge.begin_run(from, "bench").await?;
    let mut events = 0;
    for chunk in history.events.chunk_by(|a, b| minute(a) == minute(b)) {
        let heartbeat = UnixMillis((minute(&chunk[0]) + 1) * 60_000);
        edge.write(run, chunk, heartbeat).await?;
        events += chunk.len() as u64;
    }
    edge.end_run(run, to).await?;
    edge.close().await;
    Ok(events)
}

/// A copy of the template's folder with an epoch of its own.
async fn copy_edge(template: &std::path::Path, dir: &std::path::Path, k: usize) -> anyhow::Result<SqliteStore> {
    std::fs::create_dir_all(dir)?;
    for entry in std::fs::read_dir(template)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), dir.join(entry.file_name()))?;
        }
    }
    let mut store = SqliteStore::open(dir).await?;
    store.set_outbox_epoch(&format!("bench-{}-{k}", UnixMillis::now().0)).await?;
    store.enable_outbox(8 << 30).await?;
    Ok(store)
}

fn link(broker: &(String, u16), shop: String) -> HubLinkConfig {
    HubLinkConfig {
        host: broker.0.clone(),
        port: broker.1,
        shop,
        username: None,
        password: None,
        outbox_mb: 8192,
        tls: None,
        database_url: None,
    }
}

/// A live shop: a batch of state changes and strokes stamped now, every second; each
/// batch's sequence and the instant it was stored at the edge go to `written`.
async fn live_shop(
    edge: SqliteStore,
    written: Arc<std::sync::Mutex<Vec<(i64, Instant)>>>,
    stop: shutdown::Receiver,
) -> anyhow::Result<()> {
    let run = edge.begin_run(UnixMillis::now(), "bench-live").await?;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut k = 0u64;
    loop {
        tokio::select! {
            _ = stop.wait() => return Ok(()),
            _ = tick.tick() => {}
        }
        let now = UnixMillis::now();
        k += 1;
        let mut events: Vec<LiveEvent> = Vec::new();
        for m in 0..20 {
            let machine = format!("m{m}");
            if (k + m).is_multiple_of(60) {
                let state = if k % 120 < 60 { MachineState::Executing } else { MachineState::NotExecuting };
                events.push(Event::State { machine: machine.clone(), state, t: now });
            }
            events.push(Event::Stroke {
                machine,
                start_t: UnixMillis(now.0 - 500),
                end_t: now,
                person_in_region: false,
            });
        }
        edge.write(run, &events, now).await?;
        let seq = edge.outbox_status().await?.last_seq.unwrap_or(0);
        if let Ok(mut w) = written.lock() {
            w.push((seq, Instant::now()));
        }
    }
}

pub fn run(o: &BacklogOptions) -> anyhow::Result<()> {
    anyhow::ensure!(o.edges >= 1 && o.hours >= 1, "--edges and --hours must be at least 1");
    let (host, port) = o.broker.rsplit_once(':').context("--broker: give HOST:PORT")?;
    let broker = (host.to_string(), port.parse::<u16>().with_context(|| format!("--broker: `{port}` is not a port"))?);
    runtime()?.block_on(async {
        let db = PgDatabase::open(&o.database).await?;
        let work = tempfile::tempdir().context("a folder for the edges' outboxes")?;
        let started = Instant::now();
        let template_dir = work.path().join("template");
        let events_per_edge = template(&template_dir, o.hours).await?;
        let mut backlog: Vec<SqliteStore> = Vec::new();
        for k in 0..o.edges {
            backlog.push(copy_edge(&template_dir, &work.path().join(format!("edge-{k}")), k).await?);
        }
        let rows_per_edge = backlog[0].outbox_status().await?.rows;
        println!(
            "prepared {} edges × {} h backlog ({} outbox rows, {} events each) in {:.0} s",
            o.edges,
            o.hours,
            rows_per_edge,
            events_per_edge,
            started.elapsed().as_secs_f64()
        );

        let (stop_tx, stop) = shutdown::channel();
        let mqtt = HubMqttConfig {
            host: broker.0.clone(),
            port: broker.1,
            username: None,
            password: None,
            client_id: format!("sheetsight-bench-hub-{}", std::process::id()),
            tls: None,
        };
        let (stats, hub_task) = ingest::spawn(db.clone(), &mqtt, HubOptions::default(), stop.clone());

        // Live shops first: they are sending when the backlogs arrive.
        let mut live = Vec::new();
        for j in 0..o.live {
            let edge = SqliteStore::open(&work.path().join(format!("live-{j}"))).await?;
            let mut edge = edge;
            edge.enable_outbox(1 << 30).await?;
            let epoch = edge.outbox_epoch().await?;
            let written = Arc::new(std::sync::Mutex::new(Vec::new()));
            tokio::spawn(live_shop(edge.clone(), written.clone(), stop.clone()));
            let (_status, _task) = uplink::spawn(edge, link(&broker, format!("live-{j}")), UplinkOptions::default(), stop.clone());
            live.push((format!("live-{j}"), epoch, written));
        }
        tokio::time::sleep(Duration::from_secs(3)).await;

        let drain_started = Instant::now();
        let stored_before = stats.rows_stored.load(Ordering::Relaxed);
        let mut links: Vec<Arc<UplinkStatus>> = Vec::new();
        for (k, store) in backlog.iter().enumerate() {
            let (status, _task) =
                uplink::spawn(store.clone(), link(&broker, format!("backlog-{k}")), UplinkOptions::default(), stop.clone());
            links.push(status);
        }
        let last_seq = backlog[0].outbox_status().await?.last_seq.unwrap_or(0);
        // Latency of the live shops: when the hub's watermark passes a batch's sequence.
        let mut latencies: Vec<f64> = Vec::new();
        let mut next_report = Instant::now() + Duration::from_secs(30);
        let mut stored_at_report = 0;
        let deadline = drain_started + Duration::from_secs(o.minutes * 60);
        let drained = loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            for (shop, epoch, written) in &live {
                let watermark = db.watermark(shop, epoch).await?;
                let mut w = written.lock().map_err(|_| anyhow::anyhow!("a live shop's task panicked"))?;
                let arrived: Vec<(i64, Instant)> = w.iter().filter(|(seq, _)| *seq <= watermark).copied().collect();
                w.retain(|(seq, _)| *seq > watermark);
                latencies.extend(arrived.iter().map(|(_, at)| at.elapsed().as_secs_f64()));
            }
            let done = links.iter().filter(|l| l.acked.load(Ordering::Relaxed) >= last_seq).count();
            if Instant::now() >= next_report {
                next_report += Duration::from_secs(30);
                let stored = stats.rows_stored.load(Ordering::Relaxed) - stored_before;
                // The backlog's rows all hold about as many events.
                let events_per_row = events_per_edge as f64 / rows_per_edge.max(1) as f64;
                println!(
                    "  {:>4.0} s: {done}/{} edges drained, {stored} rows stored ({:.0} events/s in the last 30 s), live late at most {:.1} s so far",
                    drain_started.elapsed().as_secs_f64(),
                    o.edges,
                    (stored - stored_at_report) as f64 * events_per_row / 30.0,
                    latencies.iter().copied().fold(0.0, f64::max)
                );
                stored_at_report = stored;
            }
            if done == o.edges {
                break true;
            }
            if Instant::now() >= deadline {
                break false;
            }
        };
        let elapsed = drain_started.elapsed().as_secs_f64();
        stop_tx.shut_down();
        let _ = tokio::time::timeout(Duration::from_secs(10), hub_task).await;
        latencies.sort_by(f64::total_cmp);
        let pick = |q: f64| latencies.get(((latencies.len() as f64 - 1.0) * q) as usize).copied().unwrap_or(f64::NAN);
        let events = events_per_edge * o.edges as u64;
        println!(
            "{}: {} edges × {} h ({events} events) in {elapsed:.0} s through MQTT: {:.0} events/s; target: drained within 1800 s",
            if drained { "drained" } else { "NOT drained" },
            o.edges,
            o.hours,
            events as f64 / elapsed
        );
        println!(
            "live shops ({}): events stored at the hub after p50 {:.1} s, p99 {:.1} s, at most {:.1} s ({} batches); target under 10 s",
            o.live,
            pick(0.5),
            pick(0.99),
            latencies.last().copied().unwrap_or(f64::NAN),
            latencies.len()
        );
        println!(
            "hub: {} batches, {} copies of waiting batches dropped, {} duplicate rows, {} gaps, {} failures",
            stats.batches.load(Ordering::Relaxed),
            stats.copies_dropped.load(Ordering::Relaxed),
            stats.duplicates.load(Ordering::Relaxed),
            stats.gaps.load(Ordering::Relaxed),
            stats.failures.load(Ordering::Relaxed)
        );
        for s in backlog {
            s.close().await;
        }
        Ok(())
    })
}
