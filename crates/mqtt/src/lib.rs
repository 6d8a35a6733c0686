//! SheetSight on MQTT: the plain JSON topics ([`topics`]) and Sparkplug B
//! ([`sparkplug`]), each on its own connection to the broker because each needs its
//! own last will (`<prefix>/status` = `offline`; the Sparkplug NDEATH).
//!
//! A link reconnects by itself (1 s, doubling to 30 s); at every connection it
//! publishes the current values again (JSON: retained topics; Sparkplug: a new bdSeq,
//! NBIRTH and a DBIRTH per machine). While disconnected, events are not queued: the
//! births carry the present state. Publishing never blocks the analysis: events reach
//! the links through a broadcast channel, and a full client queue drops with a warning.

use std::time::Duration;

use rumqttc::{AsyncClient, EventLoop, LastWill, MqttOptions, QoS};
use sheetsight_base::{UnixMillis, shutdown};
use sheetsight_config::MqttConfig;
use sheetsight_service::{CameraStatus, ServiceHandle};
use sheetsight_vision::event::{Event, LiveEvent};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

pub mod sparkplug;
pub mod topics;

use topics::Message;

/// Something else to publish on the JSON link: (`<prefix>/` + `subtopic`, JSON).
#[derive(Clone, Debug)]
pub struct Extra {
    pub subtopic: String,
    pub payload: serde_json::Value,
}

/// What a link speaks.
trait Protocol: Send + 'static {
    fn name(&self) -> &'static str;
    fn client_id(&self, base: &str) -> String;
    /// The last will of the next connection (called once per connection).
    fn will(&mut self) -> LastWill;
    /// Topics to subscribe to (commands).
    fn subscriptions(&self) -> Vec<String>;
    /// What to publish right after connecting.
    fn birth(&mut self, statuses: &[CameraStatus]) -> Vec<(Message, QoS)>;
    fn event(&mut self, e: &LiveEvent) -> Vec<(Message, QoS)>;
    fn extra(&mut self, e: &Extra) -> Vec<(Message, QoS)>;
    /// A command arrived: true to publish the births again.
    fn command(&mut self, topic: &str, payload: &[u8]) -> bool;
    /// A clean shutdown's last words.
    fn goodbye(&mut self) -> Vec<(Message, QoS)>;
}

struct JsonTopics {
    prefix: String,
}

impl Protocol for JsonTopics {
    fn name(&self) -> &'static str {
        "json"
    }
    fn client_id(&self, base: &str) -> String {
        base.to_string()
    }
    fn will(&mut self) -> LastWill {
        LastWill::new(topics::status_topic(&self.prefix), "offline", QoS::AtLeastOnce, true)
    }
    fn subscriptions(&self) -> Vec<String> {
        Vec::new()
    }
    fn birth(&mut self, statuses: &[CameraStatus]) -> Vec<(Message, QoS)> {
        topics::current_values(&self.prefix, statuses).into_iter().map(|m| (m, QoS::AtLeastOnce)).collect()
    }
    fn event(&mut self, e: &LiveEvent) -> Vec<(Message, QoS)> {
        topics::event_message(&self.prefix, e).map(|m| (m, QoS::AtLeastOnce)).into_iter().collect()
    }
    fn extra(&mut self, e: &Extra) -> Vec<(Message, QoS)> {
        let m = Message {
            topic: format!("{}/{}", self.prefix, e.subtopic),
            payload: e.payload.to_string().into_bytes(),
            retain: false,
        };
        vec![(m, QoS::AtLeastOnce)]
    }
    fn command(&mut self, _: &str, _: &[u8]) -> bool {
        false
    }
    fn goodbye(&mut self) -> Vec<(Message, QoS)> {
        let m = Message { topic: topics::status_topic(&self.prefix), payload: b"offline".to_vec(), retain: true };
        vec![(m, QoS::AtLeastOnce)]
    }
}

struct Sparkplug {
    group: String,
    node: String,
    bd_seq: Option<u64>,
    seq: sparkplug::Sequence,
    /// Machines born in this session (DDEATH at goodbye).
    devices: Vec<String>,
}

fn now_ms() -> u64 {
    UnixMillis::now().as_u64_or_zero()
}

impl Sparkplug {
    fn payload(&mut self, metrics: Vec<sparkplug::Metric>, with_seq: bool) -> Vec<u8> {
        use prost::Message as _;
        let p = sparkplug::Payload {
            timestamp: Some(now_ms()),
            metrics,
            seq: with_seq.then(|| self.seq.next_value()),
            ..Default::default()
        };
        p.encode_to_vec()
    }

    fn message(&mut self, kind: &str, device: Option<&str>, metrics: Vec<sparkplug::Metric>) -> (Message, QoS) {
        let topic = sparkplug::topic(&self.group, kind, &self.node, device);
        (Message { topic, payload: self.payload(metrics, true), retain: false }, QoS::AtMostOnce)
    }
}

impl Protocol for Sparkplug {
    fn name(&self) -> &'static str {
        "sparkplug"
    }
    fn client_id(&self, base: &str) -> String {
        format!("{base}-spb")
    }
    fn will(&mut self) -> LastWill {
        let bd_seq = self.bd_seq.map_or(0, |b| (b + 1) % 256);
        self.bd_seq = Some(bd_seq);
        let payload = self.payload(vec![sparkplug::Metric::uint64("bdSeq", bd_seq, now_ms())], false);
        LastWill::new(sparkplug::topic(&self.group, "NDEATH", &self.node, None), payload, QoS::AtLeastOnce, false)
    }
    fn subscriptions(&self) -> Vec<String> {
        vec![sparkplug::topic(&self.group, "NCMD", &self.node, None)]
    }
    fn birth(&mut self, statuses: &[CameraStatus]) -> Vec<(Message, QoS)> {
        self.seq.reset();
        let t = now_ms();
        let mut node = vec![
            sparkplug::Metric::uint64("bdSeq", self.bd_seq.unwrap_or(0), t),
            sparkplug::Metric::boolean("Node Control/Rebirth", Some(false), t),
        ];
        for cam in statuses {
            node.push(sparkplug::Metric::string(format!("Cameras/{}/Health", cam.id), cam.health.as_str(), t));
        }
        let mut out = vec![self.message("NBIRTH", None, node)];
        self.devices.clear();
        for cam in statuses {
            for m in &cam.machines {
                let mut metrics = vec![
                    sparkplug::state_metric(m.state, t),
                    sparkplug::Metric::int32("Stacklight/StacklightMode", Some(0), t),
                    sparkplug::Metric::uint64("Strokes", m.strokes, t),
                    sparkplug::health_metric(cam.health, t),
                ];
                for (n, (color, mode)) in m.lamps.iter().enumerate() {
                    metrics.extend(sparkplug::lamp_metrics(n, *color, *mode, t, true));
                }
                out.push(self.message("DBIRTH", Some(&m.id), metrics));
                self.devices.push(m.id.clone());
            }
        }
        out
    }
    fn event(&mut self, e: &LiveEvent) -> Vec<(Message, QoS)> {
        let t_ms = |t: UnixMillis| t.as_u64_or_zero();
        match e {
            Event::State { machine, state, t } if self.devices.contains(machine) => {
                vec![self.message("DDATA", Some(machine), vec![sparkplug::state_metric(Some(*state), t_ms(*t))])]
            }
            Event::Lamp { machine, lamp, color, mode, t } if self.devices.contains(machine) => {
                let metrics = sparkplug::lamp_metrics(*lamp, *color, Some(*mode), t_ms(*t), false);
                vec![self.message("DDATA", Some(machine), metrics)]
            }
            Event::Health { camera, health, t, .. } => {
                let name = format!("Cameras/{camera}/Health");
                vec![self.message("NDATA", None, vec![sparkplug::Metric::string(name, health.as_str(), t_ms(*t))])]
            }
            _ => Vec::new(),
        }
    }
    fn extra(&mut self, _: &Extra) -> Vec<(Message, QoS)> {
        Vec::new()
    }
    fn command(&mut self, topic: &str, payload: &[u8]) -> bool {
        use prost::Message as _;
        if !topic.contains("/NCMD/") {
            return false;
        }
        let Ok(p) = sparkplug::Payload::decode(payload) else {
            tracing::warn!(topic, "an NCMD that is not a Sparkplug B payload was ignored");
            return false;
        };
        p.metrics.iter().any(|m| {
            m.name.as_deref() == Some("Node Control/Rebirth") && m.value == Some(sparkplug::Value::BooleanValue(true))
        })
    }
    fn goodbye(&mut self) -> Vec<(Message, QoS)> {
        let devices = std::mem::take(&mut self.devices);
        let mut out: Vec<_> = devices.iter().map(|d| self.message("DDEATH", Some(d), Vec::new())).collect();
        let death = self.payload(vec![sparkplug::Metric::uint64("bdSeq", self.bd_seq.unwrap_or(0), now_ms())], false);
        let topic = sparkplug::topic(&self.group, "NDEATH", &self.node, None);
        out.push((Message { topic, payload: death, retain: false }, QoS::AtLeastOnce));
        out
    }
}

/// The running MQTT links.
pub struct MqttLinks {
    stop: shutdown::Sender,
    tasks: Vec<JoinHandle<()>>,
}

impl MqttLinks {
    /// Starts the JSON link and, with `sparkplug_group` set, the Sparkplug link.
    pub fn start(config: &MqttConfig, service: ServiceHandle, extra: broadcast::Sender<Extra>) -> Self {
        let (stop, stop_rx) = shutdown::channel();
        let mut tasks = vec![tokio::spawn(run_link(
            JsonTopics { prefix: config.prefix.clone() },
            config.clone(),
            service.clone(),
            extra.subscribe(),
            stop_rx.clone(),
        ))];
        if let Some(group) = &config.sparkplug_group {
            let proto = Sparkplug {
                group: group.clone(),
                node: config.sparkplug_node.clone(),
                bd_seq: None,
                seq: sparkplug::Sequence::default(),
                devices: Vec::new(),
            };
            tasks.push(tokio::spawn(run_link(proto, config.clone(), service, extra.subscribe(), stop_rx)));
        }
        Self { stop, tasks }
    }

    /// Says goodbye (JSON `offline`, Sparkplug DDEATH/NDEATH) and disconnects.
    pub async fn stop(self) {
        self.stop.shut_down();
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
    }
}

fn publish(client: &AsyncClient, link: &'static str, messages: Vec<(Message, QoS)>) {
    for (m, qos) in messages {
        if let Err(e) = client.try_publish(m.topic.as_str(), qos, m.retain, m.payload) {
            tracing::warn!(link, topic = %m.topic, error = %e, "MQTT queue full; a message was dropped");
        }
    }
}

/// Drives the event loop until the queued goodbye is out (or a short timeout).
async fn flush_goodbye(client: &AsyncClient, eventloop: &mut EventLoop) {
    let _ = client.try_disconnect();
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match eventloop.poll().await {
                Ok(rumqttc::Event::Outgoing(rumqttc::Outgoing::Disconnect)) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
}

async fn run_link<P: Protocol>(
    mut proto: P,
    config: MqttConfig,
    service: ServiceHandle,
    mut extra: broadcast::Receiver<Extra>,
    stop: shutdown::Receiver,
) {
    let mut events = service.subscribe();
    let mut wait = Duration::from_secs(1);
    let mut last_error = String::new();
    loop {
        let mut options = MqttOptions::new(proto.client_id(&config.client_id), config.host.clone(), config.port);
        options.set_keep_alive(Duration::from_secs(10));
        options.set_clean_session(true);
        options.set_last_will(proto.will());
        if let (Some(u), Some(p)) = (&config.username, &config.password) {
            options.set_credentials(u.clone(), p.clone());
        }
        let (client, mut eventloop) = AsyncClient::new(options, 1024);
        let mut connected = false;
        let error = loop {
            tokio::select! {
                _ = stop.wait() => {
                    if connected {
                        let out = proto.goodbye();
                        publish(&client, proto.name(), out);
                        flush_goodbye(&client, &mut eventloop).await;
                    }
                    return;
                }
                polled = eventloop.poll() => match polled {
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) => {
                        connected = true;
                        wait = Duration::from_secs(1);
                        last_error.clear();
                        tracing::info!(link = proto.name(), broker = %format!("{}:{}", config.host, config.port), "MQTT connected");
                        for topic in proto.subscriptions() {
                            let _ = client.try_subscribe(topic, QoS::AtLeastOnce);
                        }
                        let births = proto.birth(&service.statuses());
                        publish(&client, proto.name(), births);
                    }
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) => {
                        if proto.command(&p.topic, &p.payload) {
                            tracing::info!(link = proto.name(), "rebirth requested");
                            let births = proto.birth(&service.statuses());
                            publish(&client, proto.name(), births);
                        }
                    }
                    Ok(_) => {}
                    Err(e) => break e.to_string(),
                },
                e = events.recv() => match e {
                    Ok(e) if connected => {
                        let out = proto.event(&e);
                        publish(&client, proto.name(), out);
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(link = proto.name(), skipped = n, "MQTT fell behind the events; publishing births again");
                        if connected {
                            let births = proto.birth(&service.statuses());
                            publish(&client, proto.name(), births);
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => {}
                },
                x = extra.recv() => {
                    if let Ok(x) = x && connected {
                        let out = proto.extra(&x);
                        publish(&client, proto.name(), out);
                    }
                }
            }
        };
        if error != last_error {
            tracing::warn!(link = proto.name(), broker = %format!("{}:{}", config.host, config.port), %error, retry_s = wait.as_secs_f64(), "MQTT connection lost");
            last_error = error;
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.wait() => return,
        }
        wait = (wait * 2).min(Duration::from_secs(30));
    }
}
