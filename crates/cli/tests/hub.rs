//! `sheetsight hub` as a shop's platform runs it: a real PostgreSQL and a real Mosquitto
//! that lets in only the credentials `hub shop add` printed, and ACLs that keep each
//! shop to its own topics. An edge's day of history arrives exactly once through a
//! `kill -9` of the hub process in the middle of its replay; shop a's credentials can
//! neither write into shop b nor read b's answers.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sheetsight_base::shutdown;
use sheetsight_config::HubLinkConfig;
use sheetsight_hub::uplink::{self, UplinkOptions};
use sheetsight_store::dump::history_text;
use sheetsight_store::postgres::PgDatabase;
use sheetsight_store::sqlite::SqliteStore;
use sheetsight_store::{Query, Store, UnixMillis};
use sheetsight_testkit::mosquitto::Mosquitto;
use sheetsight_testkit::postgres::Postgres;
use sheetsight_testkit::{free_port, wait_for};

fn sheetsight(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sheetsight")).args(args).output().expect("the binary runs")
}

fn all() -> Query {
    Query { from: UnixMillis(0), to: UnixMillis(i64::MAX), key: None }
}

/// `hub shop add`: the credentials it printed.
fn add_shop(config: &Path, id: &str) -> (String, String) {
    let out = sheetsight(&[
        "hub",
        "shop",
        "add",
        id,
        "--name",
        &format!("Shop {id}"),
        "--config",
        &config.display().to_string(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "hub shop add: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    let value = |key: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key} = \"")))
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or_else(|| panic!("no {key} in {stdout}"))
            .to_string()
    };
    assert_eq!(value("shop"), id);
    (value("username"), value("password"))
}

/// The hub's process, killed (SIGKILL) when dropped, a failed test's included.
struct HubProcess(Child);

impl HubProcess {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn start_hub(config: &Path) -> HubProcess {
    let child = Command::new(env!("CARGO_BIN_EXE_sheetsight"))
        .args(["hub", &config.display().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the hub");
    HubProcess(child)
}

/// `mosquitto_sub` for a few seconds: what it received (retained messages included).
fn subscribe(port: u16, user: &str, password: &str, topic: &str) -> String {
    let out = Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-u", user, "-P", password, "-t", topic])
        .args(["-C", "1", "-W", "3"])
        .output()
        .expect("mosquitto_sub");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_days_backlog_arrives_once_through_a_killed_hub_and_shops_stay_apart() {
    // `mosquitto_sub --help` exits with 1: check only that it runs.
    assert!(
        Command::new("mosquitto_sub").arg("--help").output().is_ok(),
        "this test needs `mosquitto_sub`: install the Debian package mosquitto-clients (.ci/run does)"
    );
    let pg = Postgres::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let web_port = free_port();
    let hub_toml = dir.path().join("hub.toml");
    std::fs::write(
        &hub_toml,
        format!(
            "[database]\nurl = \"{}\"\n[mqtt]\nbroker = \"127.0.0.1:{port}\"\nusername = \"hub\"\npassword = \"hub-secret\"\n\
             [mosquitto]\npassword_file = \"passwd\"\nacl_file = \"acl\"\n[server]\nlisten = \"127.0.0.1:{web_port}\"\n",
            pg.url()
        ),
    )
    .expect("hub.toml");
    let (user_a, password_a) = add_shop(&hub_toml, "a");
    let (user_b, password_b) = add_shop(&hub_toml, "b");
    assert_ne!(password_a, password_b);
    let settings = format!(
        // `user root`: the files are in the test's private folder, which the `mosquitto`
        // user Mosquitto otherwise switches to cannot read.
        "user root\nallow_anonymous false\npassword_file {}\nacl_file {}",
        dir.path().join("passwd").display(),
        dir.path().join("acl").display()
    );
    let broker = Mosquitto::start_on(port, &settings);
    let mut hub = start_hub(&hub_toml);

    // Shop a's edge: a simulated day of 20 machines, stored before the link starts.
    let edge_dir = tempfile::tempdir().expect("edge dir");
    let mut edge = SqliteStore::open(edge_dir.path()).await.expect("edge store");
    edge.enable_outbox(1 << 30).await.expect("outbox");
    let day_start = UnixMillis(1_790_000_000_000);
    let day_end = UnixMillis(day_start.0 + 86_400_000);
    let machines: Vec<(String, Option<f64>)> = (0..20).map(|i| (format!("m{i}"), Some(400.0))).collect();
    let history = sheetsight_sim::history::past_days(&machines, day_start, day_end, &[], 3);
    let run = edge.begin_run(day_start, "edge").await.expect("run");
    for (minute, events) in history.events.chunk_by(|a, b| minute_of(a) == minute_of(b)).enumerate() {
        let heartbeat = UnixMillis(day_start.0 + (minute as i64 + 1) * 60_000);
        edge.write(run, events, heartbeat.max(last_time(events))).await.expect("write");
    }
    edge.end_run(run, day_end).await.expect("stop");
    let total = edge.outbox_status().await.expect("status");
    assert!(total.rows > 1000, "a day's backlog: {total:?}");

    let link = HubLinkConfig {
        host: "127.0.0.1".into(),
        port,
        shop: "a".into(),
        username: Some(user_a.clone()),
        password: Some(password_a.clone()),
        outbox_mb: 1024,
        tls: None,
        database_url: None,
    };
    let (stop_tx, stop) = shutdown::channel();
    let options = UplinkOptions { ack_timeout: Duration::from_secs(3), batch_rows: 50, ..UplinkOptions::default() };
    let (status, _link) = uplink::spawn(edge.clone(), link, options, stop.clone());

    // The hub dies without a goodbye in the middle of the replay, and comes back.
    let db = PgDatabase::connect(&pg.url(), 2).await.expect("connect");
    let epoch = edge.outbox_epoch().await.expect("epoch");
    let last = total.last_seq.expect("rows");
    let at_kill = wait_for("the replay to be under way", Duration::from_secs(60), || async {
        let w = db.watermark("a", &epoch).await.map_err(|e| e.to_string())?;
        if w > 0 { Ok(w) } else { Err("nothing stored yet".into()) }
    })
    .await;
    hub.kill();
    assert!(at_kill < last, "the hub must die during the replay ({at_kill} of {last} stored)");
    let _hub = start_hub(&hub_toml);
    wait_for("the whole day at the hub", Duration::from_secs(180), || async {
        let left = edge.outbox_status().await.map_err(|e| e.to_string())?;
        if left.rows == 0 { Ok(()) } else { Err(format!("{left:?}")) }
    })
    .await;
    let hub_history = history_text(&db.shop("a"), &all()).await.expect("hub");
    assert_eq!(hub_history, history_text(&edge, &all()).await.expect("edge"), "exactly the edge's day");
    assert!(status.resends.load(std::sync::atomic::Ordering::Relaxed) >= 1, "the kill made the edge resend");

    // The shift report from the hub is the edge's own, figure for figure.
    let shop_toml = edge_config(edge_dir.path(), &machines);
    let report = |extra: &[&str]| {
        let mut args = vec!["report", shop_toml.to_str().expect("path"), "--from", "2026-09-21", "--to", "2026-09-22"];
        args.extend(["--format", "csv"]);
        args.extend(extra);
        let out = sheetsight(&args);
        assert!(out.status.success(), "report {extra:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let edge_report = report(&[]);
    assert!(edge_report.lines().count() > 20, "a report of 20 machines in several shifts:\n{edge_report}");
    assert_eq!(report(&["--hub", hub_toml.to_str().expect("path"), "--shop", "a"]), edge_report);

    // Shop a's credentials: its own acknowledgement is readable, b's is not; what it
    // publishes under b is never stored; a wrong password gets nothing at all.
    assert!(subscribe(port, &user_a, &password_a, "sheetsight/hub/v1/a/ack").contains(&epoch));
    let b_edge = tempfile::tempdir().expect("b's edge");
    let mut b = SqliteStore::open(b_edge.path()).await.expect("b's store");
    b.enable_outbox(1 << 20).await.expect("outbox");
    let b_run = b.begin_run(day_start, "b").await.expect("b run");
    b.end_run(b_run, day_end).await.expect("b stop");
    let forged = HubLinkConfig { username: Some(user_a.clone()), password: Some(password_a.clone()), ..link_b(port) };
    let (_forged_status, forged) = uplink::spawn(b.clone(), forged, UplinkOptions::default(), stop.clone());
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(db.edge_links("b").await.expect("links").is_empty(), "shop a's credentials wrote into shop b");
    assert_eq!(subscribe(port, &user_a, &password_a, "sheetsight/hub/v1/b/ack"), "", "a read b's answers");
    assert_eq!(subscribe(port, "a", "wrong", "sheetsight/hub/v1/a/ack"), "", "a wrong password was let in");
    // The same outbox with b's own credentials does arrive: the refusal above was the ACL's.
    forged.abort();
    let own = HubLinkConfig { username: Some(user_b), password: Some(password_b), ..link_b(port) };
    let (_b_status, _b_link) = uplink::spawn(b.clone(), own, UplinkOptions::default(), stop);
    wait_for("shop b's own history at the hub", Duration::from_secs(30), || async {
        let links = db.edge_links("b").await.map_err(|e| e.to_string())?;
        if links.len() == 1 { Ok(()) } else { Err(format!("{links:?}")) }
    })
    .await;

    // `sheetsight run` itself with `[hub]`: its run reaches the hub under a new epoch of
    // shop a (a new database), the dashboard's API shows the outbox, and a clean stop
    // reaches the hub as the run's end.
    let run_dir = tempfile::tempdir().expect("run dir");
    let run_toml = run_dir.path().join("shop.toml");
    std::fs::write(
        &run_toml,
        format!(
            "[[camera]]\nid = \"cam\"\nsource = \"rtsp://127.0.0.1:1/none\"\n\n[[machine]]\nid = \"m0\"\ncamera = \"cam\"\n\
             [[machine.lamp]]\ncolor = \"green\"\nroi = [[10, 10], [30, 10], [30, 30], [10, 30]]\n\n\
             [hub]\nbroker = \"127.0.0.1:{port}\"\nshop = \"a\"\nusername = \"{user_a}\"\npassword = \"{password_a}\"\n"
        ),
    )
    .expect("shop.toml");
    let edge_run = common::Proc::run(&run_toml);
    let api = common::Api::login(edge_run.url(""), "admin", common::ADMIN_PASSWORD).await;
    let (code, link) = api.json("GET", "/api/v1/hub", None).await;
    assert_eq!((code, &link["configured"], &link["shop"]), (200, &serde_json::json!(true), &serde_json::json!("a")));
    let run_epoch = link["outbox"]["epoch"].as_str().expect("epoch").to_string();
    assert_ne!(run_epoch, epoch, "a new database, a new epoch");
    wait_for("the running edge's changes at the hub", Duration::from_secs(60), || async {
        let w = db.watermark("a", &run_epoch).await.map_err(|e| e.to_string())?;
        if w >= 2 { Ok(()) } else { Err(format!("watermark {w}")) }
    })
    .await;
    assert_eq!(edge_run.terminate(), Some(0));
    let runs = db.shop("a").runs().await.expect("runs");
    assert_eq!(runs.last().and_then(|r| r.stop_reason.as_deref()), Some("stop"), "the clean stop reached the hub");
    let health = db.shop("a").health(&all()).await.expect("health");
    assert!(health.iter().any(|h| h.key == "cam"), "the camera's health reached the hub: {health:?}");

    // The hub's dashboard: a token made by `hub token add --shop a` reads the machines
    // the running edge sent (its profile), and not shop b.
    let out =
        sheetsight(&["hub", "token", "add", "a-erp", "--shop", "a", "--config", hub_toml.to_str().expect("path")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    let token = printed.lines().last().expect("the token").trim().to_string();
    let out = sheetsight(&["hub", "token", "add", "x", "--shop", "nope", "--config", hub_toml.to_str().expect("path")]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("no shop `nope`"));
    let client = reqwest::Client::new();
    let read = |path: &'static str| {
        let r = client.get(format!("http://127.0.0.1:{web_port}{path}")).bearer_auth(&token).send();
        async move {
            let r = r.await.expect("request");
            (r.status().as_u16(), r.text().await.expect("body"))
        }
    };
    let (status, machines) = read("/api/v1/shops/a/machines").await;
    assert_eq!(status, 200, "{machines}");
    let machines: serde_json::Value = serde_json::from_str(&machines).expect("json");
    assert_eq!(machines[0]["id"], "m0", "the running edge's machines: {machines}");
    assert_eq!(read("/api/v1/shops/b/machines").await.0, 404, "shop a's token reads shop b");
    let (status, page) = read("/").await;
    assert!(status == 200 && page.contains("/assets/hub.js"), "the hub's page: {status}");

    stop_tx.shut_down();
    drop(broker);
}

/// The shop's configuration: its machines (on a camera never opened here), its shifts,
/// and the data folder the edge stored into.
fn edge_config(data_dir: &Path, machines: &[(String, Option<f64>)]) -> std::path::PathBuf {
    let mut text = format!(
        "[storage]\ndata_dir = \"{}\"\n\n[[camera]]\nid = \"cam\"\nsource = \"rtsp://127.0.0.1:1/none\"\n",
        data_dir.display()
    );
    for (id, _) in machines {
        text += &format!(
            "\n[[machine]]\nid = \"{id}\"\ncamera = \"cam\"\n[[machine.lamp]]\ncolor = \"green\"\n\
             roi = [[10, 10], [30, 10], [30, 30], [10, 30]]\n"
        );
    }
    for (name, start, end) in [("early", "06:00", "14:00"), ("late", "14:00", "22:00"), ("night", "22:00", "06:00")] {
        text += &format!(
            "\n[[shift]]\nname = \"{name}\"\nstart = \"{start}\"\nend = \"{end}\"\ntime_zone = \"Asia/Shanghai\"\n"
        );
    }
    let path = data_dir.join("shop.toml");
    std::fs::write(&path, text).expect("shop.toml");
    path
}

fn link_b(port: u16) -> HubLinkConfig {
    HubLinkConfig {
        host: "127.0.0.1".into(),
        port,
        shop: "b".into(),
        username: None,
        password: None,
        outbox_mb: 1,
        tls: None,
        database_url: None,
    }
}

fn event_time(e: &sheetsight_vision::event::LiveEvent) -> UnixMillis {
    use sheetsight_vision::event::Event;
    match e {
        Event::State { t, .. } | Event::Lamp { t, .. } | Event::Health { t, .. } | Event::Presence { t, .. } => *t,
        Event::Stroke { end_t, .. } | Event::Cycle { end_t, .. } => *end_t,
        _ => UnixMillis(0),
    }
}

fn minute_of(e: &sheetsight_vision::event::LiveEvent) -> i64 {
    event_time(e).0 / 60_000
}

fn last_time(events: &[sheetsight_vision::event::LiveEvent]) -> UnixMillis {
    events.iter().map(event_time).max().unwrap_or(UnixMillis(0))
}

/// `[hub] database = "postgres://…"`: a single shop's `sheetsight run` keeps its history
/// in PostgreSQL without a broker. PostgreSQL killed for a while: the history waits in
/// the outbox and arrives afterwards; after a clean stop the database holds exactly the
/// edge's history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_shop_keeps_its_history_in_postgres_without_a_broker() {
    let mut pg = Postgres::start();
    drop(PgDatabase::open(&pg.url()).await.expect("migrate"));
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let config = dir.path().join("shop.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\ndata_dir = \"{}\"\n\n[[camera]]\nid = \"cam\"\nsource = \"rtsp://127.0.0.1:1/none\"\n\n\
             [[machine]]\nid = \"m0\"\ncamera = \"cam\"\n[[machine.lamp]]\ncolor = \"green\"\n\
             roi = [[10, 10], [30, 10], [30, 30], [10, 30]]\n\n[hub]\ndatabase = \"{}\"\nshop = \"solo\"\n",
            data.display(),
            pg.url()
        ),
    )
    .expect("shop.toml");
    let run = common::Proc::run(&config);
    let api = common::Api::login(run.url(""), "admin", common::ADMIN_PASSWORD).await;
    let (code, link) = api.json("GET", "/api/v1/hub", None).await;
    assert_eq!(code, 200, "{link}");
    assert_eq!((&link["direct"], &link["broker"]), (&serde_json::json!(true), &serde_json::Value::Null), "{link}");
    let epoch = link["outbox"]["epoch"].as_str().expect("epoch").to_string();
    let db = PgDatabase::connect(&pg.url(), 2).await.expect("connect");
    wait_for("the run's start in PostgreSQL", Duration::from_secs(30), || async {
        let w = db.watermark("solo", &epoch).await.map_err(|e| e.to_string())?;
        if w >= 2 { Ok(()) } else { Err(format!("watermark {w}")) }
    })
    .await;
    drop(db);

    // PostgreSQL is gone: the camera's health keeps changing into the outbox.
    pg.kill();
    wait_for("history waiting in the outbox", Duration::from_secs(60), || async {
        let (_, link) = api.json("GET", "/api/v1/hub", None).await;
        let rows = link["outbox"]["rows"].as_i64().unwrap_or(0);
        if rows >= 3 { Ok(()) } else { Err(format!("{link}")) }
    })
    .await;
    pg.restart();
    wait_for("the outbox drained into PostgreSQL", Duration::from_secs(90), || async {
        let (_, link) = api.json("GET", "/api/v1/hub", None).await;
        if link["outbox"]["rows"] == 0 { Ok(()) } else { Err(format!("{link}")) }
    })
    .await;
    assert_eq!(run.terminate(), Some(0), "a clean stop");

    let db = PgDatabase::connect(&pg.url(), 2).await.expect("connect again");
    let edge = SqliteStore::open(&data).await.expect("the edge's history");
    let (edge_text, hub_text) = (history_text(&edge, &all()).await, history_text(&db.shop("solo"), &all()).await);
    let edge_text = edge_text.expect("edge");
    assert_eq!(hub_text.expect("PostgreSQL"), edge_text, "PostgreSQL holds exactly the edge's history");
    assert!(edge_text.contains("stop"), "the clean stop is in both: {edge_text}");
}
