//! The PostgreSQL store on a real server (Debian's `postgresql`, started on loopback):
//! an edge's outbox replayed into it gives the edge's own history back, whatever the
//! order, duplicates and gaps of the batches; shops never see each other's rows; bad
//! times are quarantined; a full outbox drops strokes and keeps states; retention drops
//! whole partitions.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use sheetsight_store::outbox::{Change, OutboxRow};
use sheetsight_store::postgres::{PgDatabase, PgStore};
use sheetsight_store::sqlite::SqliteStore;
use sheetsight_store::{CycleFilter, Query, Store, UnixMillis};
use sheetsight_testkit::postgres::Postgres;
use sheetsight_vision::event::{CameraHealth, Event, LiveEvent};
use sheetsight_vision::lamp::{LampColor, LampMode};
use sheetsight_vision::state::MachineState;

/// 2026-09-02 06:00 UTC.
const T0: i64 = 1_788_328_800_000;

fn at(s: i64) -> UnixMillis {
    UnixMillis(T0 + s * 1000)
}

fn all() -> Query {
    Query { from: UnixMillis(0), to: UnixMillis(i64::MAX), key: None }
}

/// Two runs of a small shop (the first one crashes), with states, lamps, strokes,
/// cycles under a job, people and a safety event, and a month boundary crossed.
async fn scripted_edge(store: &SqliteStore) {
    let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
    let run = store.begin_run(at(0), "edge").await.expect("run");
    store.add_note("brake-1", "job", "P-100", at(5), None, "ana", at(5)).await.expect("job");
    let mut t = 10;
    for round in 0..40 {
        let mut events: Vec<LiveEvent> = Vec::new();
        for machine in ["brake-1", "laser-1"] {
            let state = if round % 3 == 0 { MachineState::NotExecuting } else { MachineState::Executing };
            events.push(Event::State { machine: machine.into(), state, t: at(t) });
            events.push(Event::Lamp {
                machine: machine.into(),
                lamp: 0,
                color: LampColor::Green,
                mode: if round % 2 == 0 { LampMode::Steady } else { LampMode::Off },
                t: at(t),
            });
            for k in 0..rng.random_range(1..6) {
                events.push(Event::Stroke {
                    machine: machine.into(),
                    start_t: at(t + k * 4),
                    end_t: at(t + k * 4 + 2),
                    person_in_region: false,
                });
            }
            events.push(Event::Cycle { machine: machine.into(), start_t: at(t), end_t: at(t + 30), strokes: 3 });
        }
        events.push(Event::Presence {
            zone: "brake-1-op".into(),
            operator_of: Some("brake-1".into()),
            people: (round % 2) as u32,
            t: at(t + 1),
        });
        events.push(Event::Health { camera: "cam1".into(), health: CameraHealth::Streaming, detail: None, t: at(t) });
        if round == 10 {
            let alert = store.raise_alert("stopped", "brake-1", "stopped for 10 min", at(t)).await.expect("alert");
            store.ack_alert(alert, "ana", at(t + 60)).await.expect("ack");
            store.clear_alert(alert, at(t + 120)).await.expect("clear");
            store.raise_alert("camera", "cam1", "no pictures", at(t + 200)).await.expect("alert");
        }
        if round == 20 {
            events.push(Event::Safety {
                zone: "brake-1-danger".into(),
                machine: "brake-1".into(),
                people: 1,
                advisory: true,
                t: at(t + 2),
                snapshot: None,
            });
        }
        store.write(run, &events, at(t + 31)).await.expect("write");
        t += 600;
    }
    // The process dies here; the next run closes what it left open at its heartbeat.
    let run = store.begin_run(at(t + 3600), "edge").await.expect("second run");
    store
        .add_note("brake-1", "reason", "Material", at(t), Some(at(t + 3600)), "ana", at(t + 3700))
        .await
        .expect("note");
    // Into the next month (October), across a partition boundary.
    let october = 2_592_000;
    store
        .write(
            run,
            &[Event::State { machine: "brake-1".into(), state: MachineState::Executing, t: at(october) }],
            at(october),
        )
        .await
        .expect("write");
    store.end_run(run, at(october + 60)).await.expect("stop");
}

/// Everything a store holds, ids aside.
async fn contents<S: Store>(store: &S) -> String {
    sheetsight_store::dump::history_text(store, &all()).await.expect("history")
}

async fn edge_with_outbox(dir: &std::path::Path, max_bytes: i64) -> SqliteStore {
    let mut store = SqliteStore::open(dir).await.expect("open");
    store.enable_outbox(max_bytes).await.expect("outbox");
    store
}

async fn ingest_all(db: &PgDatabase, shop: &str, epoch: &str, rows: &[OutboxRow]) -> i64 {
    let batch: Vec<(i64, &str)> = rows.iter().map(|r| (r.seq, r.body.as_str())).collect();
    let out = db.ingest(shop, epoch, 0, &batch, UnixMillis::now()).await.expect("ingest");
    assert!(!out.gap, "a batch from the watermark on has no gap");
    out.watermark
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbox_replayed_in_any_order_with_duplicates_and_gaps_gives_the_edges_history() {
    let pg = Postgres::start();
    let db = PgDatabase::open(&pg.url()).await.expect("open PostgreSQL");
    let dir = tempfile::tempdir().expect("tempdir");
    let edge = edge_with_outbox(dir.path(), i64::MAX).await;
    scripted_edge(&edge).await;
    let epoch = edge.outbox_epoch().await.expect("epoch");
    let rows = edge.outbox_after(0, 100_000, usize::MAX).await.expect("outbox");
    assert!(rows.len() > 40, "every change is in the outbox: {} rows", rows.len());
    assert!(rows.windows(2).all(|w| w[1].seq == w[0].seq + 1), "a contiguous sequence");

    // Batches of 1..6 rows, each sent once or twice, in a shuffled order; the hub asks
    // for a resend from its watermark after every gap, as the edge's link does.
    let mut rng = rand::rngs::SmallRng::seed_from_u64(11);
    let mut batches: Vec<&[OutboxRow]> = Vec::new();
    let mut rest = rows.as_slice();
    while !rest.is_empty() {
        let n = rng.random_range(1..=6).min(rest.len());
        batches.push(&rest[..n]);
        rest = &rest[n..];
    }
    let mut arrivals: Vec<&[OutboxRow]> = batches.iter().flat_map(|b| [*b, *b]).collect();
    arrivals.shuffle(&mut rng);
    arrivals.truncate(arrivals.len() * 2 / 3);
    let (mut gaps, mut duplicates) = (0, 0);
    for batch in arrivals {
        let rows: Vec<(i64, &str)> = batch.iter().map(|r| (r.seq, r.body.as_str())).collect();
        let out = db.ingest("shop-a", &epoch, 0, &rows, UnixMillis::now()).await.expect("ingest");
        gaps += u32::from(out.gap);
        duplicates += out.duplicates;
    }
    assert!(gaps > 0 && duplicates > 0, "the script must exercise gaps ({gaps}) and duplicates ({duplicates})");
    // The replay the edge makes when told of the gap: everything after the watermark.
    let watermark = db.watermark("shop-a", &epoch).await.expect("watermark");
    let resend: Vec<OutboxRow> = rows.iter().filter(|r| r.seq > watermark).cloned().collect();
    let last = ingest_all(&db, "shop-a", &epoch, &resend).await;
    assert_eq!(last, rows.last().expect("rows").seq);
    // Everything sent once more changes nothing.
    ingest_all(&db, "shop-a", &epoch, &rows).await;

    let hub = db.shop("shop-a");
    assert_eq!(contents(&hub).await, contents(&edge).await, "the hub holds exactly the edge's history");
    let edge_alerts: Vec<_> = edge
        .alerts(false, UnixMillis(0), UnixMillis(i64::MAX), 100, 0)
        .await
        .expect("alerts")
        .into_iter()
        .rev()
        .map(|a| (a.rule, a.subject, a.message, a.raised_ms, a.cleared_ms, a.acked_by, a.acked_ms))
        .collect();
    assert_eq!(hub.alert_values().await.expect("alerts"), edge_alerts, "alerts, cleared and acknowledged");
    assert_eq!(edge_alerts.len(), 2);
    let notes = hub.note_values(UnixMillis(0), UnixMillis(i64::MAX)).await.expect("notes");
    assert_eq!(notes.len(), 2, "the job and the reason: {notes:?}");
    let cycles = hub.cycles(&CycleFilter { query: all(), ..CycleFilter::default() }).await.expect("cycles");
    assert!(cycles.iter().filter(|c| c.machine == "brake-1").all(|c| c.job.as_deref() == Some("P-100")));

    // The edge forgets what was acknowledged, and never reuses a sequence number.
    assert_eq!(edge.outbox_forgotten().await.expect("forgotten"), 0, "nothing acknowledged yet");
    assert_eq!(edge.outbox_acknowledged(last).await.expect("ack"), rows.len() as u64);
    assert_eq!(edge.outbox_forgotten().await.expect("forgotten"), last, "an empty outbox remembers its sequence");
    drop(edge);
    let edge = edge_with_outbox(dir.path(), i64::MAX).await;
    let run = edge.begin_run(at(9_000_000), "edge").await.expect("run");
    edge.end_run(run, at(9_000_100)).await.expect("stop");
    let more = edge.outbox_after(0, 100, usize::MAX).await.expect("outbox");
    assert_eq!(more.first().map(|r| r.seq), Some(last + 1), "the sequence goes on after a restart");
    assert_eq!(edge.outbox_forgotten().await.expect("forgotten"), last, "what left was acknowledged");
    assert_eq!(edge.outbox_epoch().await.expect("epoch"), epoch, "same database, same epoch");
    ingest_all(&db, "shop-a", &epoch, &more).await;
    assert_eq!(contents(&hub).await, contents(&edge).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shops_never_see_each_others_rows_and_bad_times_are_quarantined() {
    let pg = Postgres::start();
    let db = PgDatabase::open(&pg.url()).await.expect("open PostgreSQL");
    assert!(db.add_shop("a", "Shop A", at(0)).await.expect("add"), "a new shop");
    assert!(!db.add_shop("a", "Shop A2", at(1)).await.expect("rename"), "an existing shop is renamed, not added");
    assert_eq!(db.shops().await.expect("shops"), [("a".to_string(), "Shop A2".to_string())]);
    let shop_a: PgStore = db.shop("a");
    let shop_b = db.shop("b");
    for (shop, machine) in [(&shop_a, "brake-a"), (&shop_b, "brake-b")] {
        let run = shop.begin_run(at(0), "test").await.expect("run");
        let events = [
            Event::State { machine: machine.into(), state: MachineState::Executing, t: at(1) },
            Event::Stroke { machine: machine.into(), start_t: at(2), end_t: at(3), person_in_region: false },
            // A clock that was never set.
            Event::State { machine: machine.into(), state: MachineState::NotExecuting, t: UnixMillis(86_400_000) },
        ];
        shop.write(run, &events, at(5)).await.expect("write");
    }
    let a = contents(&shop_a).await;
    assert!(a.contains("brake-a") && !a.contains("brake-b"), "{a}");
    let b = contents(&shop_b).await;
    assert!(b.contains("brake-b") && !b.contains("brake-a"), "{b}");
    assert_eq!(shop_a.states(&all()).await.expect("states").len(), 1, "the 1970 state is not history");
    let q = shop_a.quarantined().await.expect("quarantine");
    assert_eq!(q.len(), 1, "{q:?}");
    assert!(q[0].1.contains("NotExecuting") && q[0].1.contains("brake-a"), "kept as received: {q:?}");

    // Row-level security holds without the query's own filter, for a role that owns
    // nothing: a session of shop a counts no row of b.
    pg.psql(
        "CREATE ROLE hub LOGIN PASSWORD 'hub'; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO hub",
    );
    let app = PgDatabase::connect(&pg.url_as("hub", "hub"), 2).await.expect("connect as hub");
    for table in ["machine_state", "stroke", "stroke_total", "service_run", "quarantine"] {
        let mut tx = app.scoped("a").await.expect("scoped");
        let (others,): (i64,) =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table} WHERE shop_id <> 'a'")))
                .fetch_one(&mut *tx)
                .await
                .expect("count");
        let (own,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
            .fetch_one(&mut *tx)
            .await
            .expect("count");
        assert_eq!(others, 0, "{table}: a session of shop a sees rows of other shops");
        assert!(own > 0, "{table}: shop a's own rows are visible");
    }
    let mut tx = app.pool().begin().await.expect("tx");
    let (unscoped,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM machine_state").fetch_one(&mut *tx).await.expect("count");
    assert_eq!(unscoped, 0, "a session that chose no shop sees nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_outbox_drops_strokes_keeps_states_and_the_hub_counts_the_loss() {
    let pg = Postgres::start();
    let db = PgDatabase::open(&pg.url()).await.expect("open PostgreSQL");
    let dir = tempfile::tempdir().expect("tempdir");
    let edge = edge_with_outbox(dir.path(), 20_000).await;
    let run = edge.begin_run(at(0), "edge").await.expect("run");
    let mut strokes = 0;
    for i in 0..50 {
        let mut events = vec![Event::State {
            machine: "m".into(),
            state: if i % 2 == 0 { MachineState::Executing } else { MachineState::NotExecuting },
            t: at(i * 60),
        }];
        for k in 0..5 {
            events.push(Event::Stroke {
                machine: "m".into(),
                start_t: at(i * 60 + k),
                end_t: at(i * 60 + k + 1),
                person_in_region: false,
            });
            strokes += 1;
        }
        edge.write(run, &events, at(i * 60 + 30)).await.expect("write");
    }
    let status = edge.outbox_status().await.expect("status");
    assert!(status.dropped_strokes > 0, "{status:?}");
    assert!(status.bytes <= status.max_bytes + 1_000, "held within a row of its size: {status:?}");
    let rows = edge.outbox_after(0, 100_000, usize::MAX).await.expect("outbox");
    let epoch = edge.outbox_epoch().await.expect("epoch");
    ingest_all(&db, "s", &epoch, &rows).await;
    let hub = db.shop("s");
    assert_eq!(hub.states(&all()).await.expect("states").len(), 50, "every state kept");
    let kept = hub.strokes(&all()).await.expect("strokes").len() as i64;
    let links = db.edge_links("s").await.expect("links");
    assert!(kept > 0, "the newest strokes are kept");
    assert_eq!(kept + links[0].dropped_strokes, strokes, "every stroke is either stored or counted as dropped");
    assert!(matches!(serde_json::from_str::<Change>(&rows[2].body), Ok(Change::Dropped { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_drops_whole_partitions_but_not_open_intervals() {
    let pg = Postgres::start();
    let db = PgDatabase::open(&pg.url()).await.expect("open PostgreSQL");
    let shop = db.shop("s");
    let run = shop.begin_run(at(0), "t").await.expect("run");
    let stroke = |t| Event::Stroke { machine: "m".into(), start_t: at(t), end_t: at(t + 1), person_in_region: false };
    let events = [
        Event::State { machine: "m".into(), state: MachineState::Executing, t: at(0) },
        stroke(10),
        stroke(40 * 86_400),
    ];
    shop.write(run, &events, at(40 * 86_400)).await.expect("write");
    let count = |table: &str| {
        pg.psql(&format!(
            "SELECT count(*) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = '{table}'"
        ))
    };
    assert_eq!(count("stroke"), "2", "September and October");
    // Retention up to day 35: September's strokes go, September's open state stays.
    db.drop_partitions_before(at(35 * 86_400)).await.expect("drop");
    assert_eq!(count("stroke"), "1");
    assert_eq!(count("machine_state"), "2", "the month with an open interval is kept");
    assert_eq!(shop.strokes(&all()).await.expect("strokes").len(), 1);
    assert_eq!(shop.states(&all()).await.expect("states").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_restored_from_an_older_backup_moves_past_what_the_edge_forgot() {
    let pg = Postgres::start();
    let db = PgDatabase::open(&pg.url()).await.expect("open PostgreSQL");
    let dir = tempfile::tempdir().expect("tempdir");
    let edge = edge_with_outbox(dir.path(), i64::MAX).await;
    let run = edge.begin_run(at(0), "edge").await.expect("run");
    for i in 0..6 {
        let e = Event::State { machine: "m".into(), state: MachineState::Executing, t: at(i * 10) };
        edge.write(run, &[e], at(i * 10)).await.expect("write");
    }
    // Rows 1..=4 were acknowledged by a database that has since been restored empty.
    edge.outbox_acknowledged(4).await.expect("ack");
    let forgotten = edge.outbox_forgotten().await.expect("forgotten");
    let rows = edge.outbox_after(0, 100, usize::MAX).await.expect("rows");
    let batch: Vec<(i64, &str)> = rows.iter().map(|r| (r.seq, r.body.as_str())).collect();
    let epoch = edge.outbox_epoch().await.expect("epoch");
    let stuck = db.ingest("s", &epoch, 0, &batch, UnixMillis::now()).await.expect("ingest");
    assert!(stuck.gap, "without the edge's word, rows 1..=4 are a gap");
    let out = db.ingest("s", &epoch, forgotten, &batch, UnixMillis::now()).await.expect("ingest");
    assert_eq!((out.gap, out.watermark, out.applied), (false, 7, 3), "{out:?}");
}
