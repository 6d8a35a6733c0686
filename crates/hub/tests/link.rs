//! An edge and a hub on a real Mosquitto and a real PostgreSQL, both started here on
//! loopback: history written while the broker is down arrives exactly once after it
//! comes back; killing the broker, PostgreSQL and a hub process (SIGKILL, no goodbye)
//! during a replay loses and doubles nothing; two hubs share the ingest.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use sheetsight_base::shutdown;
use sheetsight_config::{HubLinkConfig, HubMqttConfig};
use sheetsight_hub::ingest::{self, HubOptions};
use sheetsight_hub::uplink::{self, UplinkOptions};
use sheetsight_store::dump::history_text;
use sheetsight_store::postgres::PgDatabase;
use sheetsight_store::sqlite::SqliteStore;
use sheetsight_store::{Query, Store, UnixMillis};
use sheetsight_testkit::mosquitto::Mosquitto;
use sheetsight_testkit::postgres::Postgres;
use sheetsight_testkit::wait_for;
use sheetsight_vision::event::{Event, LiveEvent};
use sheetsight_vision::lamp::{LampColor, LampMode};
use sheetsight_vision::state::MachineState;

/// 2026-10-05 06:00 UTC: the simulated shop's clock.
const T0: i64 = 1_791_180_000_000;

fn all() -> Query {
    Query { from: UnixMillis(0), to: UnixMillis(i64::MAX), key: None }
}

/// A simulated shop of `machines` machines writing one batch a simulated second: state
/// and lamp changes now and then, strokes often, a cycle every 30 s.
struct Shop {
    store: SqliteStore,
    run: i64,
    t_s: i64,
    machines: usize,
    rng: rand::rngs::SmallRng,
}

impl Shop {
    async fn open(dir: &std::path::Path, machines: usize, seed: u64) -> Self {
        let mut store = SqliteStore::open(dir).await.expect("open the edge's store");
        store.enable_outbox(1 << 30).await.expect("outbox");
        let run = store.begin_run(UnixMillis(T0), "edge").await.expect("run");
        Self { store, run, t_s: 0, machines, rng: rand::rngs::SmallRng::seed_from_u64(seed) }
    }

    fn at(&self, s: i64) -> UnixMillis {
        UnixMillis(T0 + s * 1000)
    }

    /// `seconds` simulated seconds of work.
    async fn work(&mut self, seconds: i64) {
        for _ in 0..seconds {
            self.t_s += 1;
            let mut events: Vec<LiveEvent> = Vec::new();
            for m in 0..self.machines {
                let machine = format!("m{m}");
                if self.rng.random_range(0..120) == 0 || self.t_s == 1 {
                    let state = [MachineState::Executing, MachineState::NotExecuting][self.rng.random_range(0..2)];
                    events.push(Event::State { machine: machine.clone(), state, t: self.at(self.t_s) });
                    events.push(Event::Lamp {
                        machine: machine.clone(),
                        lamp: 0,
                        color: LampColor::Green,
                        mode: if state == MachineState::Executing { LampMode::Steady } else { LampMode::Off },
                        t: self.at(self.t_s),
                    });
                }
                if self.rng.random_range(0..8) == 0 {
                    events.push(Event::Stroke {
                        machine: machine.clone(),
                        start_t: UnixMillis(self.at(self.t_s).0 - 700),
                        end_t: self.at(self.t_s),
                        person_in_region: false,
                    });
                }
                if self.t_s % 30 == 0 {
                    events.push(Event::Cycle {
                        machine,
                        start_t: self.at(self.t_s - 30),
                        end_t: self.at(self.t_s),
                        strokes: 4,
                    });
                }
            }
            self.store.write(self.run, &events, self.at(self.t_s)).await.expect("write");
        }
    }
}

fn link_config(broker: &Mosquitto, shop: &str) -> HubLinkConfig {
    HubLinkConfig {
        host: "127.0.0.1".into(),
        port: broker.port,
        shop: shop.into(),
        username: None,
        password: None,
        outbox_mb: 1024,
        tls: None,
        database_url: None,
    }
}

fn hub_mqtt(broker: &Mosquitto, client_id: &str) -> HubMqttConfig {
    HubMqttConfig {
        host: "127.0.0.1".into(),
        port: broker.port,
        username: None,
        password: None,
        client_id: client_id.into(),
        tls: None,
    }
}

fn quick() -> UplinkOptions {
    UplinkOptions { ack_timeout: Duration::from_secs(3), ..UplinkOptions::default() }
}

/// Waits until the hub stored everything the edge's outbox ever held and the edge has
/// forgotten it all.
async fn wait_drained(shop: &Shop, db: &PgDatabase, id: &str, timeout: Duration) {
    let epoch = shop.store.outbox_epoch().await.expect("epoch");
    wait_for("the hub to store the whole outbox", timeout, || async {
        let status = shop.store.outbox_status().await.map_err(|e| e.to_string())?;
        let watermark = db.watermark(id, &epoch).await.map_err(|e| e.to_string())?;
        if status.rows == 0 && watermark > 0 { Ok(()) } else { Err(format!("{status:?}, hub watermark {watermark}")) }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_minutes_offline_arrive_exactly_once_after_the_broker_returns() {
    let pg = Postgres::start();
    let mut broker = Mosquitto::start();
    let db = PgDatabase::open(&pg.url()).await.expect("open PostgreSQL");
    let (stop_tx, stop) = shutdown::channel();
    let (stats, _hub) = ingest::spawn(db.clone(), &hub_mqtt(&broker, "hub-1"), HubOptions::default(), stop.clone());

    let dir = tempfile::tempdir().expect("tempdir");
    let mut shop = Shop::open(dir.path(), 20, 1).await;
    let (status, _link) = uplink::spawn(shop.store.clone(), link_config(&broker, "shop-1"), quick(), stop.clone());
    shop.work(120).await;
    wait_drained(&shop, &db, "shop-1", Duration::from_secs(60)).await;

    // The broker goes away for 30 simulated minutes of work.
    broker.stop();
    shop.work(1800).await;
    let waiting = shop.store.outbox_status().await.expect("status");
    assert!(waiting.rows >= 1800, "the outage's history waits in the outbox: {waiting:?}");
    broker.restart();
    wait_drained(&shop, &db, "shop-1", Duration::from_secs(120)).await;

    let hub = db.shop("shop-1");
    let (edge_text, hub_text) = (history_text(&shop.store, &all()).await, history_text(&hub, &all()).await);
    assert_eq!(hub_text.expect("hub"), edge_text.expect("edge"), "the hub holds exactly the edge's history");
    assert!(status.acked.load(std::sync::atomic::Ordering::Relaxed) > 0);
    assert_eq!(stats.failures.load(std::sync::atomic::Ordering::Relaxed), 0);
    stop_tx.shut_down();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_broker_database_and_a_hub_during_a_replay_loses_and_doubles_nothing() {
    let mut pg = Postgres::start();
    let mut broker = Mosquitto::start();
    let db = PgDatabase::open(&pg.url()).await.expect("open PostgreSQL");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut shop = Shop::open(dir.path(), 20, 2).await;
    // A backlog: 2 simulated hours before any hub runs.
    shop.work(7200).await;

    let (stop_a_tx, stop_a) = shutdown::channel();
    let (stop_b_tx, stop_b) = shutdown::channel();
    let (_stats_a, hub_a) = ingest::spawn(db.clone(), &hub_mqtt(&broker, "hub-a"), HubOptions::default(), stop_a);
    let (_stats_b, _hub_b) = ingest::spawn(db.clone(), &hub_mqtt(&broker, "hub-b"), HubOptions::default(), stop_b);
    let (stop_edge_tx, stop_edge) = shutdown::channel();
    let (_status, mut link) =
        uplink::spawn(shop.store.clone(), link_config(&broker, "shop-2"), quick(), stop_edge.clone());

    let epoch = shop.store.outbox_epoch().await.expect("epoch");
    let total = shop.store.outbox_status().await.expect("status").last_seq.expect("rows");
    let mut rng = rand::rngs::SmallRng::seed_from_u64(5);
    let mut mid_replay = 0;
    // Each part dies at a random moment of the replay, in turn.
    for victim in ["broker", "database", "hub", "edge"] {
        let moment = Duration::from_millis(rng.random_range(100..1500));
        tokio::time::sleep(moment).await;
        let watermark = db.watermark("shop-2", &epoch).await.unwrap_or(0);
        eprintln!("killing the {victim} at watermark {watermark} of {total}");
        mid_replay += u32::from(watermark < total);
        match victim {
            "broker" => {
                broker.stop();
                tokio::time::sleep(Duration::from_millis(500)).await;
                broker.restart();
            }
            "database" => {
                pg.kill();
                tokio::time::sleep(Duration::from_millis(500)).await;
                pg.restart();
            }
            "hub" => hub_a.abort(),
            _ => {
                // The edge dies without a goodbye; its next start opens the same file.
                link.abort();
                let reopened = SqliteStore::open(dir.path()).await.expect("reopen the edge's store");
                let restarted = uplink::spawn(reopened, link_config(&broker, "shop-2"), quick(), stop_edge.clone());
                link = restarted.1;
            }
        }
        shop.work(60).await;
    }
    assert!(mid_replay >= 3, "the parts must die while the backlog is replayed ({mid_replay} of 4 did)");
    wait_drained(&shop, &db, "shop-2", Duration::from_secs(240)).await;
    let hub = db.shop("shop-2");
    let (edge_text, hub_text) = (history_text(&shop.store, &all()).await, history_text(&hub, &all()).await);
    assert_eq!(hub_text.expect("hub"), edge_text.expect("edge"), "nothing lost, nothing doubled");
    let states = hub.states(&all()).await.expect("states");
    for w in states.windows(2).filter(|w| w[0].key == w[1].key) {
        assert!(w[0].end.is_some_and(|e| e <= w[1].start), "intervals never overlap: {:?} then {:?}", w[0], w[1]);
    }
    stop_b_tx.shut_down();
    stop_a_tx.shut_down();
    stop_edge_tx.shut_down();
}

/// The edge and the hub over TLS to a Mosquitto that asks for client certificates: the
/// history arrives exactly once; a client that trusts another CA, or shows no
/// certificate, is refused, and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_with_client_certificates_and_refused_without_the_right_ones() {
    use sheetsight_config::BrokerTls;
    use sheetsight_testkit::tls::TestPki;
    let pki_dir = tempfile::tempdir().expect("tempdir");
    let pki = TestPki::create(pki_dir.path());
    let broker = Mosquitto::start_with(&pki.mosquitto_settings(true));
    let tls = BrokerTls {
        ca_file: Some(pki.ca.clone()),
        client_cert: Some(pki.client_cert.clone()),
        client_key: Some(pki.client_key.clone()),
    };
    let pg = Postgres::start();
    let db = PgDatabase::open(&pg.url()).await.expect("open PostgreSQL");
    let (stop_tx, stop) = shutdown::channel();
    let hub = HubMqttConfig { tls: Some(tls.clone()), ..hub_mqtt(&broker, "hub-tls") };
    let (stats, _hub) = ingest::spawn(db.clone(), &hub, HubOptions::default(), stop.clone());
    let dir = tempfile::tempdir().expect("tempdir");
    let mut shop = Shop::open(dir.path(), 5, 3).await;
    let link = HubLinkConfig { tls: Some(tls.clone()), ..link_config(&broker, "shop-tls") };
    let (_status, _link) = uplink::spawn(shop.store.clone(), link, quick(), stop.clone());
    shop.work(300).await;
    wait_drained(&shop, &db, "shop-tls", Duration::from_secs(60)).await;
    let (edge_text, hub_text) =
        (history_text(&shop.store, &all()).await, history_text(&db.shop("shop-tls"), &all()).await);
    assert_eq!(hub_text.expect("hub"), edge_text.expect("edge"), "the hub holds exactly the edge's history");
    assert_eq!(stats.failures.load(std::sync::atomic::Ordering::Relaxed), 0);

    // Refused: a broker certificate from an unknown CA, or no client certificate.
    let attempt = |tls: BrokerTls| async move {
        let mut options = rumqttc::MqttOptions::new("intruder", "127.0.0.1", broker.port);
        options.set_transport(sheetsight_broker::transport(Some(&tls)).expect("usable files"));
        let (_client, mut eventloop) = rumqttc::AsyncClient::new(options, 10);
        match tokio::time::timeout(Duration::from_secs(10), eventloop.poll()).await {
            Ok(Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_)))) => Err("connected".to_string()),
            Ok(Ok(other)) => Err(format!("unexpected {other:?}")),
            Ok(Err(e)) => Ok(format!("{e:?}")),
            Err(_) => Err("no answer in 10 s".to_string()),
        }
    };
    let other_ca = attempt(BrokerTls { ca_file: Some(pki.other_ca.clone()), ..tls.clone() }).await.expect("refused");
    assert!(other_ca.contains("UnknownIssuer"), "the broker's certificate is not trusted: {other_ca}");
    let no_client_cert = BrokerTls { ca_file: Some(pki.ca.clone()), client_cert: None, client_key: None };
    let refused = attempt(no_client_cert).await.expect("refused");
    assert!(refused.contains("CertificateRequired"), "a client certificate is required: {refused}");
    eprintln!("refused: {other_ca}; {refused}");
    stop_tx.shut_down();
}
