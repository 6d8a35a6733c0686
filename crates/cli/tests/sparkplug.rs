//! Sparkplug B as a conformance check sees it: every message of a demo run against a
//! real Mosquitto, with the broker stopped for 7 s and started again, a Rebirth NCMD, a
//! SIGKILL and a second process on the same data folder, decoded by a second
//! implementation (rust-protobuf reading `tests/sparkplug/sparkplug_b.proto` at test
//! time, not the product's `prost` types) and checked against the rules of the
//! specification that SCADA hosts and the Sparkplug TCK hold a node to.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{Got, Proc};
use protobuf::MessageDyn;
use protobuf::reflect::{FileDescriptor, MessageDescriptor, ReflectValueRef};
use rumqttc::{AsyncClient, MqttOptions, QoS};
use sheetsight_base::UnixMillis;
use sheetsight_testkit::mosquitto::Mosquitto;

const MACHINES: usize = 5;
const INT64: u32 = 4;

type Log = common::MqttLog;

fn subscribe(port: u16) -> Log {
    common::mqtt_subscriber(port, "conformance-check", "spBv1.0/#")
}

async fn wait_for(log: &Log, what: &str, timeout: Duration, f: impl Fn(&[Got]) -> bool) {
    sheetsight_testkit::wait_for(what, timeout, || {
        let got = log.lock().expect("log").clone();
        let done = f(&got);
        let kinds: Vec<String> = got.iter().rev().take(10).map(|g| g.topic.clone()).collect();
        async move { if done { Ok(()) } else { Err(format!("last topics: {kinds:?}")) } }
    })
    .await
}

/// How many times the process has logged its Sparkplug link connected.
fn sparkplug_connections(node: &Proc) -> usize {
    node.output().lines().filter(|l| l.contains("MQTT connected") && l.contains("sparkplug")).count()
}

fn kind(topic: &str) -> &str {
    topic.split('/').nth(2).unwrap_or("")
}

fn count(got: &[Got], k: &str) -> usize {
    got.iter().filter(|g| kind(&g.topic) == k).count()
}

/// A metric as decoded by the check's own decoder.
#[derive(Clone, Debug, PartialEq)]
struct Metric {
    name: String,
    timestamp: Option<u64>,
    datatype: Option<u32>,
    value: Value,
    historical: bool,
}

#[derive(Clone, Debug, PartialEq)]
enum Value {
    Int(u32),
    Long(u64),
    Bool(bool),
    Text(String),
    Null,
    Other,
}

#[derive(Clone, Debug)]
struct Message {
    topic: String,
    kind: String,
    device: Option<String>,
    received_ms: u64,
    timestamp: Option<u64>,
    seq: Option<u64>,
    metrics: Vec<Metric>,
}

impl Message {
    fn metric(&self, name: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.name == name)
    }

    fn bd_seq(&self) -> Option<u64> {
        match self.metric("bdSeq")?.value {
            Value::Long(v) => Some(v),
            _ => None,
        }
    }
}

/// Sparkplug B payloads decoded through rust-protobuf's reflection.
struct Decoder {
    payload: MessageDescriptor,
    metric: MessageDescriptor,
}

fn singular<'a>(md: &MessageDescriptor, m: &'a dyn MessageDyn, name: &str) -> Option<ReflectValueRef<'a>> {
    let field = md.field_by_name(name).unwrap_or_else(|| panic!("field {name}"));
    if field.has_field(m) { field.get_singular(m) } else { None }
}

fn as_u64(v: Option<ReflectValueRef<'_>>) -> Option<u64> {
    match v {
        Some(ReflectValueRef::U64(v)) => Some(v),
        _ => None,
    }
}

impl Decoder {
    fn new() -> Self {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sparkplug");
        let parsed = protobuf_parse::Parser::new()
            .pure()
            .include(&dir)
            .input(dir.join("sparkplug_b.proto"))
            .parse_and_typecheck()
            .expect("the check's Sparkplug B definition parses");
        let proto = parsed.file_descriptors.into_iter().next().expect("one file");
        let file = FileDescriptor::new_dynamic(proto, &[]).expect("a dynamic descriptor");
        let payload = file.message_by_package_relative_name("Payload").expect("Payload");
        let metric = file.message_by_package_relative_name("Metric").expect("Metric");
        Self { payload, metric }
    }

    fn metric(&self, m: &dyn MessageDyn) -> Metric {
        let md = &self.metric;
        let name = match singular(md, m, "name") {
            Some(ReflectValueRef::String(s)) => s.to_string(),
            _ => String::new(),
        };
        let datatype = match singular(md, m, "datatype") {
            Some(ReflectValueRef::U32(v)) => Some(v),
            _ => None,
        };
        let is_null = matches!(singular(md, m, "is_null"), Some(ReflectValueRef::Bool(true)));
        let historical = matches!(singular(md, m, "is_historical"), Some(ReflectValueRef::Bool(true)));
        let value = if let Some(ReflectValueRef::U32(v)) = singular(md, m, "int_value") {
            Value::Int(v)
        } else if let Some(v) = as_u64(singular(md, m, "long_value")) {
            Value::Long(v)
        } else if let Some(ReflectValueRef::Bool(v)) = singular(md, m, "boolean_value") {
            Value::Bool(v)
        } else if let Some(ReflectValueRef::String(v)) = singular(md, m, "string_value") {
            Value::Text(v.to_string())
        } else if is_null {
            Value::Null
        } else {
            Value::Other
        };
        Metric { name, timestamp: as_u64(singular(md, m, "timestamp")), datatype, value, historical }
    }

    fn decode(&self, g: &Got) -> Message {
        let md = &self.payload;
        let p =
            md.parse_from_bytes(&g.payload).unwrap_or_else(|e| panic!("{}: not a Sparkplug B payload: {e}", g.topic));
        let metrics_field = md.field_by_name("metrics").expect("metrics");
        let list = metrics_field.get_repeated(&*p);
        let metrics = (0..list.len())
            .map(|i| match list.get(i) {
                ReflectValueRef::Message(m) => self.metric(&*m),
                other => panic!("a metric that is not a message: {other:?}"),
            })
            .collect();
        let parts: Vec<&str> = g.topic.split('/').collect();
        Message {
            topic: g.topic.clone(),
            kind: parts.get(2).map(|s| s.to_string()).unwrap_or_default(),
            device: parts.get(4).map(|s| s.to_string()),
            received_ms: g.received_ms,
            timestamp: as_u64(singular(md, &*p, "timestamp")),
            seq: as_u64(singular(md, &*p, "seq")),
            metrics,
        }
    }
}

/// Every rule broken by the node's messages, one line each. `restart_ms`: when the
/// broker came back (a session's first messages may have come before this subscriber
/// was back); `kill_ms`: when the first process was killed.
fn check(messages: &[Message], restart_ms: u64, kill_ms: u64) -> Vec<String> {
    let mut findings = Vec::new();
    let mut restarted = false;
    let mut expected_seq: Option<u64> = None;
    let mut session_bd_seq: Option<u64> = None;
    let mut last_stamp: HashMap<(Option<String>, String), u64> = HashMap::new();
    for m in messages {
        let born = m.kind.ends_with("BIRTH");
        if !restarted && m.received_ms >= restart_ms {
            // A new session whose NBIRTH this subscriber may have missed.
            restarted = true;
            expected_seq = None;
            session_bd_seq = None;
        }
        // seq: 0 at the NBIRTH, then one more per message, wrapping at 256; NDEATH has none.
        match m.kind.as_str() {
            "NDEATH" => {
                if m.seq.is_some() {
                    findings.push(format!("{}: an NDEATH with a seq", m.topic));
                }
                if session_bd_seq.is_some() && m.bd_seq() != session_bd_seq {
                    findings.push(format!("NDEATH bdSeq {:?} after NBIRTH bdSeq {session_bd_seq:?}", m.bd_seq()));
                }
                expected_seq = None;
                // A will may end a session that was never born (a node waiting for its
                // primary host): the next NDEATH is checked against the next NBIRTH.
                session_bd_seq = None;
            }
            "NBIRTH" => {
                if m.seq != Some(0) {
                    findings.push(format!("NBIRTH with seq {:?}", m.seq));
                }
                session_bd_seq = m.bd_seq();
                expected_seq = Some(1);
            }
            _ => {
                if expected_seq.is_some() && m.seq != expected_seq {
                    findings.push(format!("{}: seq {:?}, expected {expected_seq:?}", m.topic, m.seq));
                }
                expected_seq = m.seq.map(|s| (s + 1) % 256);
            }
        }
        match m.timestamp {
            None => findings.push(format!("{}: a payload without a timestamp", m.topic)),
            Some(t) if t > m.received_ms + 1000 => findings.push(format!("{}: payload stamped in the future", m.topic)),
            Some(_) => {}
        }
        if let Some(bd) = m.metric("bdSeq")
            && bd.datatype != Some(INT64)
        {
            findings.push(format!("{}: bdSeq has datatype {:?}, not Int64", m.topic, bd.datatype));
        }
        for metric in &m.metrics {
            if born && metric.datatype.is_none() {
                findings.push(format!("{}: {} without a datatype in a birth", m.topic, metric.name));
            }
            if m.kind.ends_with("DATA") && metric.datatype.is_some() {
                findings.push(format!("{}: {} repeats its datatype in DATA", m.topic, metric.name));
            }
            let Some(t) = metric.timestamp else {
                findings.push(format!("{}: {} without a timestamp", m.topic, metric.name));
                continue;
            };
            if t > m.received_ms + 1000 {
                findings.push(format!("{}: {} stamped {} ms in the future", m.topic, metric.name, t - m.received_ms));
            }
            if metric.historical {
                if born || !m.kind.ends_with("DATA") {
                    findings.push(format!("{}: {} is historical outside DATA", m.topic, metric.name));
                }
                // Historical values carry the times they happened at.
                continue;
            }
            // A process's own metric timestamps always grow (a second process starts later).
            let key = (m.device.clone(), metric.name.clone());
            if m.kind != "NDEATH"
                && let Some(&last) = last_stamp.get(&key)
                && t <= last
                && (m.received_ms < kill_ms || last >= kill_ms)
            {
                findings.push(format!("{}: {} stamped {t}, not after {last}", m.topic, metric.name));
            }
            last_stamp.insert(key, t);
        }
    }
    findings
}

/// `Strokes` per device, as published, in order, with when it arrived.
fn strokes(messages: &[Message]) -> HashMap<String, Vec<(u64, u64, String)>> {
    let mut out: HashMap<String, Vec<(u64, u64, String)>> = HashMap::new();
    for m in messages {
        if let (Some(device), Some(Metric { value: Value::Long(n), .. })) = (&m.device, m.metric("Strokes")) {
            out.entry(device.clone()).or_default().push((m.received_ms, *n, m.kind.clone()));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sparkplug_message_of_a_run_with_outages_passes_the_checks() {
    let decoder = Decoder::new();
    let mut broker = Mosquitto::start();
    let log = subscribe(broker.port);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mqtt = ["--mqtt".to_string(), format!("127.0.0.1:{}", broker.port)];
    let mqtt: Vec<&str> = mqtt.iter().map(String::as_str).collect();
    let mut first = Proc::demo_logging(&data, &mqtt, "warn,sheetsight_mqtt=info");

    // Born, and some strokes counted in DDATA.
    wait_for(&log, "births and strokes in DDATA", Duration::from_secs(90), |g| {
        count(g, "DBIRTH") >= MACHINES
            && g.iter().filter(|x| kind(&x.topic) == "DDATA").any(|x| {
                let m = decoder.decode(x);
                m.metric("Strokes").is_some()
            })
    })
    .await;

    // The broker is gone for 7 s, then back: the node is connected again within a second,
    // timed by the node's own "MQTT connected" log line (this subscriber reconnects on its
    // own schedule, and the node's next DDATA may be seconds away when strokes come in
    // bursts). Its NBIRTH may come before this subscriber has subscribed again, as it may
    // for any host; a host that missed it asks for a rebirth, as below.
    let connections_before = sparkplug_connections(&first);
    broker.stop();
    tokio::time::sleep(Duration::from_secs(7)).await;
    broker.restart();
    let restarted = Instant::now();
    let restart_ms = UnixMillis::now().as_u64_or_zero();
    sheetsight_testkit::wait_until("the node connected again", Duration::from_secs(30), || {
        let connected = sparkplug_connections(&first) > connections_before;
        async move { connected }
    })
    .await;
    let reborn_s = restarted.elapsed().as_secs_f64();
    eprintln!("connected again {reborn_s:.2} s after the broker came back");
    wait_for(&log, "the node's messages after the broker came back", Duration::from_secs(30), |g| {
        g.iter().any(|x| x.received_ms >= restart_ms)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    // A SCADA host asks for a rebirth: born again in the same session.
    let mut options = MqttOptions::new("scada-host", "127.0.0.1", broker.port);
    options.set_keep_alive(Duration::from_secs(5));
    let (host, mut host_loop) = AsyncClient::new(options, 10);
    tokio::spawn(async move { while host_loop.poll().await.is_ok() {} });
    let rebirth = sheetsight_mqtt::sparkplug::Payload {
        timestamp: Some(UnixMillis::now().as_u64_or_zero()),
        metrics: vec![sheetsight_mqtt::sparkplug::Metric::boolean(
            "Node Control/Rebirth",
            Some(true),
            UnixMillis::now().as_u64_or_zero(),
        )],
        ..Default::default()
    };
    let asked_ms = UnixMillis::now().as_u64_or_zero();
    use prost::Message as _;
    host.publish("spBv1.0/demo/NCMD/sheetsight", QoS::AtLeastOnce, false, rebirth.encode_to_vec()).await.expect("NCMD");
    wait_for(&log, "the rebirth", Duration::from_secs(10), |g| {
        g.iter().any(|x| x.received_ms >= asked_ms && kind(&x.topic) == "NBIRTH")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    // A machine set up in the pages while the node runs is born (the node is born again).
    let admin = common::Api::login(first.url(""), "admin", common::ADMIN_PASSWORD).await;
    let added_ms = UnixMillis::now().as_u64_or_zero();
    let machine = serde_json::json!({"id": "weld-9", "camera": "cam1", "kind": "welding",
        "motion_roi": [[10, 10], [60, 10], [60, 60], [10, 60]]});
    let (status, r) = admin.json("POST", "/api/v1/setup/machines", Some(machine)).await;
    assert_eq!(status, 200, "{r}");
    wait_for(&log, "the new machine's DBIRTH", Duration::from_secs(10), |g| {
        g.iter().any(|x| x.received_ms >= added_ms && kind(&x.topic) == "DBIRTH" && x.topic.ends_with("/weld-9"))
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Killed: the broker publishes the NDEATH will. A second process on the same data
    // folder goes on with the next bdSeq and the stored stroke counts, then stops cleanly.
    let kill_ms = UnixMillis::now().as_u64_or_zero();
    let _ = first.child.kill();
    let _ = first.child.wait();
    wait_for(&log, "the NDEATH will", Duration::from_secs(30), |g| count(g, "NDEATH") >= 1).await;
    let second = Proc::demo(&data, &mqtt);
    wait_for(&log, "the second process's births", Duration::from_secs(60), |g| {
        let after_kill = |k: &str| g.iter().filter(|x| x.received_ms > kill_ms && kind(&x.topic) == k).count();
        after_kill("NBIRTH") >= 1 && after_kill("DBIRTH") >= MACHINES
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(second.terminate(), Some(0), "a clean stop");
    wait_for(&log, "the clean NDEATH", Duration::from_secs(10), |g| count(g, "NDEATH") >= 2).await;

    let got = log.lock().expect("log").clone();
    let messages: Vec<Message> = got.iter().map(|g| decoder.decode(g)).collect();
    let mut kinds: Vec<(String, usize)> = Vec::new();
    for m in &messages {
        match kinds.iter_mut().find(|(k, _)| *k == m.kind) {
            Some((_, n)) => *n += 1,
            None => kinds.push((m.kind.clone(), 1)),
        }
    }
    eprintln!("{} messages decoded: {kinds:?}", messages.len());
    // What the node sent (not the host's commands).
    let messages: Vec<Message> = messages.into_iter().filter(|m| !m.kind.ends_with("CMD")).collect();

    let lives: Vec<String> = messages
        .iter()
        .filter(|m| m.kind == "NBIRTH" || m.kind == "NDEATH")
        .map(|m| format!("{} {:?} at {}", m.kind, m.bd_seq(), m.received_ms))
        .collect();
    eprintln!("births and deaths (kill at {kill_ms}): {lives:?}");
    // The rules, message by message.
    let findings = check(&messages, restart_ms, kill_ms);
    assert!(findings.is_empty(), "{} findings:\n{}", findings.len(), findings.join("\n"));

    // bdSeq: one per session that connected, on from the first process to the second; a
    // rebirth keeps the session's; every NDEATH names the session it ends.
    let mut births: Vec<u64> = messages.iter().filter(|m| m.kind == "NBIRTH").filter_map(Message::bd_seq).collect();
    let rebirth = messages.iter().find(|m| m.kind == "NBIRTH" && m.received_ms >= asked_ms).and_then(Message::bd_seq);
    assert_eq!(rebirth, Some(1), "the rebirth keeps the session's bdSeq, one more than before the outage");
    births.dedup();
    assert_eq!(births, [0, 1, 2], "NBIRTH bdSeq: first session, after the broker came back, the second process");
    let deaths: Vec<u64> = messages.iter().filter(|m| m.kind == "NDEATH").filter_map(Message::bd_seq).collect();
    assert_eq!(deaths, [1, 2], "the will of the killed session, then the clean goodbye");

    // Strokes: in DDATA, never backwards, the second process going on from what was
    // stored (all but what the first one published in its last second).
    let published = strokes(&messages);
    assert!(published.values().flatten().any(|(_, _, k)| k == "DDATA"), "Strokes in DDATA: {published:?}");
    for (device, values) in &published {
        let before_kill: Vec<u64> = values.iter().filter(|(at, _, _)| *at < kill_ms).map(|(_, n, _)| *n).collect();
        assert!(before_kill.windows(2).all(|w| w[0] <= w[1]), "{device}: Strokes went backwards: {values:?}");
        let stored_for_sure = values.iter().filter(|(at, _, _)| *at + 2000 < kill_ms).map(|(_, n, _)| *n).max();
        let second_birth = values.iter().find(|(at, _, k)| *at > kill_ms && k == "DBIRTH").map(|(_, n, _)| *n);
        if let (Some(stored), Some(born)) = (stored_for_sure, second_birth) {
            assert!(born >= stored, "{device}: the second process starts at {born}, below the stored {stored}");
        }
    }

    // Lamps are numbered from the base, and say so.
    for m in messages.iter().filter(|m| m.kind == "DBIRTH") {
        for metric in m.metrics.iter().filter(|x| x.name.ends_with("/NumberInList")) {
            let number = metric.name.trim_start_matches("Stacklight/Lamp").split('/').next().expect("number");
            assert_eq!(metric.value, Value::Int(number.parse().expect("a number")), "{}", m.topic);
        }
    }
    let brake1 = messages.iter().find(|m| m.kind == "DBIRTH" && m.device.as_deref() == Some("brake-1"));
    let brake1 = brake1.expect("brake-1 born");
    let top = (0..8).rev().find(|n| brake1.metric(&format!("Stacklight/Lamp{n}/SignalColor")).is_some());
    let top = top.expect("lamps");
    let color = brake1.metric(&format!("Stacklight/Lamp{top}/SignalColor")).map(|m| m.value.clone());
    assert_eq!(color, Some(Value::Int(1)), "brake-1's top lamp (red) has the highest NumberInList");

    assert!(reborn_s < 5.0, "born again {reborn_s:.2} s after the broker came back");
}

/// A SCADA acting as primary host: its STATE (Sparkplug 3.0), retained.
async fn host_state(host: &AsyncClient, online: bool) -> u64 {
    let at = UnixMillis::now().as_u64_or_zero();
    let state = serde_json::json!({"online": online, "timestamp": at}).to_string();
    host.publish("spBv1.0/STATE/scada", QoS::AtLeastOnce, true, state).await.expect("STATE");
    at
}

/// Strokes stored by the edge with their end in `(from_ms, to_ms]`: (machine, end ms).
async fn stored_strokes(data: &Path, from_ms: u64, to_ms: u64) -> Vec<(String, u64)> {
    use sqlx::sqlite::SqliteConnectOptions;
    let options = SqliteConnectOptions::new().filename(data.join("history.db"));
    let pool = sqlx::SqlitePool::connect_with(options).await.expect("the edge's history");
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT machine, end_ms FROM stroke WHERE end_ms > ? AND end_ms <= ? ORDER BY end_ms")
            .bind(from_ms as i64)
            .bind(to_ms as i64)
            .fetch_all(&pool)
            .await
            .expect("strokes");
    pool.close().await;
    rows.into_iter().map(|(m, t)| (m, t as u64)).collect()
}

/// Waits for the NDEATH that ends the session after the host went offline at `offline_ms`
/// (a loaded machine may publish a little while it reads the STATE); when it came.
async fn session_ended(log: &Log, offline_ms: u64) -> u64 {
    let ended =
        |g: &[Got]| g.iter().find(|x| x.received_ms >= offline_ms && kind(&x.topic) == "NDEATH").map(|x| x.received_ms);
    wait_for(log, "the NDEATH after the host went offline", Duration::from_secs(10), |g| ended(g).is_some()).await;
    ended(&log.lock().expect("log")).unwrap_or(offline_ms)
}

/// Waits until `node` has logged that it published what the host missed.
async fn replayed(node: &Proc, what: &str) {
    sheetsight_testkit::wait_until(what, Duration::from_secs(60), || {
        let done = node.output().contains("what it missed");
        async move { done }
    })
    .await;
}

/// Waits until the edge has stored `n` strokes that ended after `since_ms`.
async fn strokes_after(data: &Path, since_ms: u64, n: usize) {
    sheetsight_testkit::wait_for("strokes while the host is offline", Duration::from_secs(90), || async move {
        let stored = stored_strokes(data, since_ms, u64::MAX >> 2).await.len();
        if stored >= n { Ok(()) } else { Err(format!("{stored} stored")) }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_host_offline_misses_nothing_across_a_kill() {
    let decoder = Decoder::new();
    let broker = Mosquitto::start();
    let log = subscribe(broker.port);
    let mut options = MqttOptions::new("scada", "127.0.0.1", broker.port);
    options.set_keep_alive(Duration::from_secs(5));
    let (host, mut host_loop) = AsyncClient::new(options, 10);
    tokio::spawn(async move { while host_loop.poll().await.is_ok() {} });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let args =
        ["--mqtt".to_string(), format!("127.0.0.1:{}", broker.port), "--sparkplug-primary-host".into(), "scada".into()];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let first = Proc::demo_logging(&data, &args, "warn,sheetsight_mqtt=info");

    // No STATE yet: connected, but not born.
    sheetsight_testkit::wait_until("the node connected", Duration::from_secs(90), || {
        let connected = sparkplug_connections(&first) > 0;
        async move { connected }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(count(&log.lock().expect("log"), "NBIRTH"), 0, "born before the primary host was online");

    // Online: born, and live strokes.
    let online_ms = host_state(&host, true).await;
    wait_for(&log, "births and live strokes", Duration::from_secs(60), |g| {
        g.iter().any(|x| {
            kind(&x.topic) == "DDATA" && x.received_ms > online_ms && decoder.decode(x).metric("Strokes").is_some()
        })
    })
    .await;

    // Offline for a while: the session ends and nothing is published until the host is
    // back; then what happened is published as historical data.
    let offline_1 = host_state(&host, false).await;
    let silent_1 = session_ended(&log, offline_1).await;
    strokes_after(&data, offline_1, 5).await;
    let online_1 = host_state(&host, true).await;
    replayed(&first, "the first replay").await;

    // Offline again, and the edge is killed meanwhile: a second process on the same data
    // folder waits for the host, then publishes what both processes stored.
    let offline_2 = host_state(&host, false).await;
    let silent_2 = session_ended(&log, offline_2).await;
    strokes_after(&data, offline_2, 3).await;
    let mut first = first;
    let _ = first.child.kill();
    let _ = first.child.wait();
    let killed = UnixMillis::now().as_u64_or_zero();
    let second = Proc::demo_logging(&data, &args, "warn,sheetsight_mqtt=info");
    strokes_after(&data, killed, 3).await;
    let online_2 = host_state(&host, true).await;
    replayed(&second, "the second replay").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(second.terminate(), Some(0), "a clean stop");

    let got = log.lock().expect("log").clone();
    let messages: Vec<Message> =
        got.iter().filter(|g| !g.topic.starts_with("spBv1.0/STATE/")).map(|g| decoder.decode(g)).collect();
    let findings = check(&messages, online_1, killed);
    assert!(findings.is_empty(), "{} findings:\n{}", findings.len(), findings.join("\n"));

    // Silent from the session's end until the host is back: nothing but deaths (the
    // killed process's will).
    for (from, to) in [(silent_1, online_1), (silent_2, online_2)] {
        let spoken: Vec<&str> = messages
            .iter()
            .filter(|m| m.received_ms > from && m.received_ms < to && m.kind != "NDEATH" && m.kind != "DDEATH")
            .map(|m| m.topic.as_str())
            .collect();
        assert!(spoken.is_empty(), "published while the primary host was offline: {spoken:?}");
    }

    // Every stroke stored while the host was offline reached it, historical, with the
    // time it happened; and the `Strokes` values, live and historical, leave no gap.
    let mut sent: HashMap<String, Vec<(u64, u64, bool)>> = HashMap::new();
    for m in &messages {
        if let (Some(device), Some(Metric { value: Value::Long(n), timestamp: Some(t), historical, .. })) =
            (&m.device, m.metric("Strokes"))
        {
            sent.entry(device.clone()).or_default().push((*t, *n, *historical));
        }
    }
    let mut historical = 0;
    for (from, to) in [(offline_1, online_1), (offline_2, online_2)] {
        let stored = stored_strokes(&data, from + 500, to).await;
        assert!(stored.len() >= 3, "strokes stored while the host was offline: {stored:?}");
        for (machine, end_ms) in &stored {
            let got = sent.get(machine).into_iter().flatten().find(|(t, _, _)| t.abs_diff(*end_ms) <= 1);
            assert!(
                got.is_some_and(|(_, _, h)| *h),
                "{machine}'s stroke at {end_ms} missed, or not historical: {:?}",
                got
            );
        }
        historical += stored.len();
    }
    for (device, values) in &sent {
        let mut counts: Vec<u64> = values.iter().map(|(_, n, _)| *n).collect();
        counts.sort_unstable();
        counts.dedup();
        let gaps: Vec<(u64, u64)> = counts.windows(2).filter(|w| w[1] != w[0] + 1).map(|w| (w[0], w[1])).collect();
        assert!(gaps.is_empty(), "{device}: Strokes skipped between {gaps:?}");
    }
    let count_historical = messages.iter().flat_map(|m| &m.metrics).filter(|x| x.historical).count();
    eprintln!(
        "{historical} strokes stored while the host was offline (one kill among them), all received; {count_historical} historical metrics in all"
    );
}
