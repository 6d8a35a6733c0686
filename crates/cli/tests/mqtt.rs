//! MQTT against a real broker (Mosquitto): the JSON topics and Sparkplug B of a running
//! demo, a broker restart mid-run (SheetSight reconnects, publishes its retained values
//! again and is born again with the next bdSeq), and its last wills when it is killed.

mod common;

use std::time::{Duration, Instant};

use common::{Got, Proc};
use prost::Message as _;
use rumqttc::{AsyncClient, MqttOptions, QoS};
use sheetsight_mqtt::sparkplug::{Payload, Value};
use sheetsight_testkit::mosquitto::Mosquitto;

const MACHINES: [&str; 5] = ["brake-1", "brake-2", "punch-1", "brake-3", "laser-1"];

type Log = common::MqttLog;

fn subscribe(port: u16, client_id: &str) -> Log {
    common::mqtt_subscriber(port, client_id, "#")
}

async fn wait_for(log: &Log, what: &str, timeout: Duration, f: impl Fn(&[Got]) -> bool) -> Vec<Got> {
    sheetsight_testkit::wait_for(what, timeout, || {
        let got = log.lock().expect("log").clone();
        let done = f(&got);
        async move { if done { Ok(got) } else { Err(format!("got topics: {:?}", topics(&got))) } }
    })
    .await
}

fn topics(got: &[Got]) -> Vec<&str> {
    let mut t: Vec<&str> = got.iter().map(|g| g.topic.as_str()).collect();
    t.dedup();
    t
}

fn sparkplug(got: &[Got], kind: &str) -> Vec<(String, Payload)> {
    got.iter()
        .filter(|g| g.topic.split('/').nth(2) == Some(kind))
        .map(|g| (g.topic.clone(), Payload::decode(g.payload.as_slice()).expect("a Sparkplug B payload")))
        .collect()
}

fn metric<'a>(p: &'a Payload, name: &str) -> Option<&'a sheetsight_mqtt::sparkplug::Metric> {
    p.metrics.iter().find(|m| m.name.as_deref() == Some(name))
}

fn bd_seq(p: &Payload) -> u64 {
    match metric(p, "bdSeq").and_then(|m| m.value.clone()) {
        Some(Value::LongValue(v)) => v,
        other => panic!("bdSeq: {other:?}"),
    }
}

fn json(g: &Got) -> serde_json::Value {
    serde_json::from_slice(&g.payload).unwrap_or_else(|_| panic!("JSON on {}", g.topic))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_and_sparkplug_survive_a_broker_restart() {
    let mut broker = Mosquitto::start();
    let log = subscribe(broker.port, "test-subscriber");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut demo = Proc::demo(&dir.path().join("data"), &["--mqtt", &format!("127.0.0.1:{}", broker.port)]);

    // The JSON topics: availability, every machine's state and lamps, camera health.
    let got = wait_for(&log, "JSON states and Sparkplug births", Duration::from_secs(60), |g| {
        let has = |t: &str| g.iter().any(|x| x.topic == t);
        has("sheetsight/status")
            && MACHINES.iter().all(|m| has(&format!("sheetsight/{m}/state")) && has(&format!("sheetsight/{m}/lamp/0")))
            && has("sheetsight/camera/cam1/health")
            && sparkplug(g, "DBIRTH").len() >= 5
            && g.iter().any(|x| x.topic.starts_with("spBv1.0/demo/DDATA/"))
    })
    .await;
    let status = got.iter().rev().find(|g| g.topic == "sheetsight/status").expect("status");
    assert_eq!(status.payload, b"online");
    let state = got.iter().find(|g| g.topic == "sheetsight/brake-1/state").expect("state");
    let state_json = json(state);
    assert!(
        ["Executing", "NotExecuting", "OutOfService", "NotAvailable"]
            .contains(&state_json["state"].as_str().unwrap_or(""))
    );
    assert!(state_json["at"].as_str().is_some_and(|t| t.ends_with('Z')), "{state_json}");
    let lamp = json(got.iter().find(|g| g.topic == "sheetsight/brake-1/lamp/0").expect("lamp"));
    assert_eq!(lamp["color"], "red");
    // A late subscriber gets the current values at once, as retained messages, but no
    // stroke (an event, not a value): wait until a stroke has been published.
    let stroke =
        wait_for(&log, "a stroke", Duration::from_secs(60), |g| g.iter().any(|x| x.topic.ends_with("/stroke"))).await;
    let stroke = json(stroke.iter().find(|x| x.topic.ends_with("/stroke")).expect("stroke"));
    assert!(stroke["duration_s"].as_f64().is_some_and(|d| d > 0.0), "{stroke}");
    let late = subscribe(broker.port, "late-subscriber");
    let retained = wait_for(&late, "retained values", Duration::from_secs(10), |g| {
        MACHINES.iter().all(|m| g.iter().any(|x| x.topic == format!("sheetsight/{m}/state") && x.retain))
            && g.iter().any(|x| x.topic == "sheetsight/status" && x.retain && x.payload == b"online")
            && g.iter().any(|x| x.topic == "sheetsight/camera/cam2/health" && x.retain)
    })
    .await;
    assert!(!retained.iter().any(|x| x.topic.ends_with("/stroke") && x.retain), "strokes are not retained");

    // Sparkplug: NBIRTH (seq 0, bdSeq, rebirth control), a DBIRTH per machine with the
    // OPC UA metrics, then data with consecutive sequence numbers.
    let births = sparkplug(&got, "NBIRTH");
    let (topic, nbirth) = births.last().expect("NBIRTH");
    assert_eq!(topic, "spBv1.0/demo/NBIRTH/sheetsight");
    assert_eq!(nbirth.seq, Some(0));
    let first_bd_seq = bd_seq(nbirth);
    assert!(metric(nbirth, "Node Control/Rebirth").is_some());
    for (topic, dbirth) in sparkplug(&got, "DBIRTH") {
        let device = topic.rsplit('/').next().expect("device");
        assert!(MACHINES.contains(&device), "{topic}");
        for name in [
            "MachineryItemState/CurrentState",
            "Stacklight/StacklightMode",
            "Stacklight/Lamp0/SignalColor",
            "Stacklight/Lamp0/SignalOn",
            "Stacklight/Lamp0/SignalMode",
            "Strokes",
        ] {
            assert!(metric(&dbirth, name).is_some(), "{name} in the DBIRTH of {device}");
        }
    }
    let spb: Vec<Payload> = got
        .iter()
        .filter(|g| g.topic.starts_with("spBv1.0/demo/") && !g.topic.contains("/NDEATH/"))
        .map(|g| Payload::decode(g.payload.as_slice()).expect("payload"))
        .collect();
    let start = spb.iter().rposition(|p| metric(p, "bdSeq").is_some()).expect("an NBIRTH");
    for pair in spb[start..].windows(2) {
        assert_eq!(pair[1].seq, pair[0].seq.map(|s| (s + 1) % 256), "consecutive seq");
    }
    let brake1 = sparkplug(&got, "DBIRTH").into_iter().find(|(t, _)| t.ends_with("/brake-1")).expect("brake-1").1;
    // Lamps are numbered from the base (OPC 10000-200's NumberInList): brake-1's top
    // lamp, red in the configuration's first place, has the highest number.
    let top = (0..10).rev().find(|n| metric(&brake1, &format!("Stacklight/Lamp{n}/SignalColor")).is_some());
    let top = top.expect("brake-1's lamps");
    assert_eq!(
        metric(&brake1, &format!("Stacklight/Lamp{top}/SignalColor")).and_then(|m| m.value.clone()),
        Some(Value::IntValue(1)),
        "the top lamp is red: SignalColor Red (1)"
    );

    // A SCADA host asks for a rebirth (NCMD): the node is born again in the same session.
    log.lock().expect("log").clear();
    let mut options = MqttOptions::new("scada-host", "127.0.0.1", broker.port);
    options.set_keep_alive(Duration::from_secs(5));
    let (host, mut host_loop) = AsyncClient::new(options, 10);
    tokio::spawn(async move { while host_loop.poll().await.is_ok() {} });
    let rebirth = Payload {
        timestamp: Some(0),
        metrics: vec![sheetsight_mqtt::sparkplug::Metric::boolean("Node Control/Rebirth", Some(true), 0)],
        ..Default::default()
    };
    host.publish("spBv1.0/demo/NCMD/sheetsight", QoS::AtLeastOnce, false, rebirth.encode_to_vec()).await.expect("NCMD");
    let got = wait_for(&log, "the rebirth", Duration::from_secs(10), |g| sparkplug(g, "DBIRTH").len() >= 5).await;
    let (_, reborn) = sparkplug(&got, "NBIRTH").pop().expect("NBIRTH");
    assert_eq!((reborn.seq, bd_seq(&reborn)), (Some(0), first_bd_seq), "same session, sequence from 0");

    // An external system marks a job through the API: it is published too.
    let api = common::Api::login(demo.url(""), "admin", common::ADMIN_PASSWORD).await;
    let (status, _) =
        api.json("POST", "/api/v1/machines/brake-2/job", Some(serde_json::json!({"job": "ORDER-7"}))).await;
    assert_eq!(status, 201);
    let got = wait_for(&log, "the job on MQTT", Duration::from_secs(10), |g| {
        g.iter().any(|x| x.topic == "sheetsight/brake-2/job")
    })
    .await;
    let job = json(got.iter().find(|x| x.topic == "sheetsight/brake-2/job").expect("job"));
    assert_eq!(job["note"]["value"], "ORDER-7");

    // The broker restarts (forgetting every retained message): SheetSight reconnects,
    // publishes its retained values again and is born again with the next bdSeq.
    broker.restart();
    log.lock().expect("log").clear();
    let restarted = Instant::now();
    let got = wait_for(&log, "rebirth after the broker restart", Duration::from_secs(30), |g| {
        let has = |t: &str| g.iter().any(|x| x.topic == t);
        has("sheetsight/status")
            && MACHINES.iter().all(|m| has(&format!("sheetsight/{m}/state")))
            && !sparkplug(g, "NBIRTH").is_empty()
            && sparkplug(g, "DBIRTH").len() >= 5
    })
    .await;
    eprintln!("reborn {:.1} s after the broker restart", restarted.elapsed().as_secs_f64());
    let (_, nbirth) = sparkplug(&got, "NBIRTH").pop().expect("NBIRTH");
    assert_eq!(nbirth.seq, Some(0));
    assert_eq!(bd_seq(&nbirth), (first_bd_seq + 1) % 256, "a new session has the next bdSeq");

    // Killed without a goodbye: the broker publishes the last wills.
    log.lock().expect("log").clear();
    let _ = demo.child.kill();
    let got = wait_for(&log, "the last wills", Duration::from_secs(30), |g| {
        g.iter().any(|x| x.topic == "sheetsight/status" && x.payload == b"offline")
            && !sparkplug(g, "NDEATH").is_empty()
    })
    .await;
    let (_, ndeath) = sparkplug(&got, "NDEATH").pop().expect("NDEATH");
    assert_eq!(bd_seq(&ndeath), bd_seq(&nbirth), "the NDEATH names the session it ends");
    let _ = demo.child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_and_camera_health_reach_mqtt_and_a_clean_stop_says_offline() {
    let broker = Mosquitto::start();
    let log = subscribe(broker.port, "alert-subscriber");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("sheetsight.toml");
    let closed = sheetsight_testkit::free_port();
    std::fs::write(
        &config,
        format!(
            "[[camera]]\nid = \"door\"\nsource = \"rtsp://127.0.0.1:{closed}/live\"\n\n[mqtt]\nbroker = \"127.0.0.1:{}\"\nprefix = \"hall2\"\n\n[[alert]]\nname = \"door-down\"\nwhen = \"camera_down\"\nminutes = 0.02\n",
            broker.port
        ),
    )
    .expect("config");
    let run = Proc::run(&config);
    let got =
        wait_for(&log, "the alert on MQTT", Duration::from_secs(30), |g| g.iter().any(|x| x.topic == "hall2/alert"))
            .await;
    let alert = json(got.iter().find(|x| x.topic == "hall2/alert").expect("alert"));
    assert_eq!(
        (alert["change"].as_str(), alert["alert"]["subject"].as_str()),
        (Some("raised"), Some("door")),
        "{alert}"
    );
    assert_eq!(alert["alert"]["rule"], "door-down");
    let health = json(got.iter().rev().find(|x| x.topic == "hall2/camera/door/health").expect("health"));
    assert!(["connecting", "failed"].contains(&health["health"].as_str().unwrap_or("")), "{health}");
    assert!(!got.iter().any(|x| x.topic.starts_with("spBv1.0/")), "no Sparkplug without a group");
    log.lock().expect("log").clear();
    assert_eq!(run.terminate(), Some(0));
    wait_for(&log, "offline at a clean stop", Duration::from_secs(10), |g| {
        g.iter().any(|x| x.topic == "hall2/status" && x.payload == b"offline")
    })
    .await;
}

/// `[mqtt]` over TLS (`mqtts://`, the broker's CA in `ca_file`): the edge's JSON topics
/// reach a subscriber; a CA file that is not there stops the start with its name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_over_tls_and_a_missing_ca_file_named() {
    use sheetsight_testkit::tls::TestPki;
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = TestPki::create(dir.path());
    // A TLS listener for SheetSight, and a plain one on loopback for the subscriber.
    let plain = sheetsight_testkit::free_port();
    let broker = Mosquitto::start_with(&format!("{}listener {plain} 127.0.0.1\n", pki.mosquitto_settings(false)));
    let log = subscribe(plain, "tls-subscriber");
    let config = dir.path().join("sheetsight.toml");
    let closed = sheetsight_testkit::free_port();
    let write = |ca: &str| {
        let text = format!(
            "[[camera]]\nid = \"door\"\nsource = \"rtsp://127.0.0.1:{closed}/live\"\n\n[mqtt]\nbroker = \"mqtts://127.0.0.1:{}\"\nca_file = \"{ca}\"\nprefix = \"hall3\"\n",
            broker.port
        );
        std::fs::write(&config, text).expect("config");
    };
    write("nope.pem");
    let refused = common::sheetsight().arg("run").arg(&config).args(["--listen", "127.0.0.1:0"]).output().expect("run");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && stderr.contains("nope.pem") && stderr.contains("does not exist"), "{stderr}");

    write("ca.pem");
    let run = Proc::run(&config);
    wait_for(&log, "online over TLS", Duration::from_secs(30), |g| {
        g.iter().any(|x| x.topic == "hall3/status" && x.payload == b"online")
    })
    .await;
    wait_for(&log, "the camera's health over TLS", Duration::from_secs(30), |g| {
        g.iter().any(|x| x.topic == "hall3/camera/door/health")
    })
    .await;
    assert_eq!(run.terminate(), Some(0));
    wait_for(&log, "offline at a clean stop", Duration::from_secs(10), |g| {
        g.iter().any(|x| x.topic == "hall3/status" && x.payload == b"offline")
    })
    .await;
}
