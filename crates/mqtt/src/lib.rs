//! SheetSight on MQTT: the plain JSON topics ([`topics`]) and Sparkplug B
//! ([`sparkplug`]), each on its own connection to the broker because each needs its
//! own last will (`<prefix>/status` = `offline`; the Sparkplug NDEATH).
//!
//! A link reconnects by itself (`link.rs`): after a failure it waits 1 s, doubling to
//! 30 s, and while the broker refuses connections it is probed four times a second, so
//! the link is back within a fraction of a second of the broker. At every connection it
//! publishes the current values again (JSON: retained topics; Sparkplug: NBIRTH with the
//! session's bdSeq, and a DBIRTH per machine, see [`node`]). While disconnected, events
//! are not queued: the births carry the present state. Publishing never blocks the
//! analysis: events reach the links through a broadcast channel, and a full client queue
//! drops with a warning.

use std::collections::HashMap;
use std::time::Duration;

use rumqttc::{LastWill, QoS};
use sheetsight_base::shutdown;
use sheetsight_config::MqttConfig;
use sheetsight_service::{CameraStatus, ServiceHandle};
use sheetsight_store::sqlite::SqliteStore;
use sheetsight_vision::event::LiveEvent;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

mod forward;
mod link;
pub mod node;
pub mod sparkplug;
pub mod topics;

use node::Command;
pub use node::NodeMemory;
use topics::Message;

/// Something else to publish on the JSON link: (`<prefix>/` + `subtopic`, JSON).
#[derive(Clone, Debug)]
pub struct Extra {
    pub subtopic: String,
    pub payload: serde_json::Value,
}

/// What a link speaks.
pub(crate) trait Protocol: Send + 'static {
    fn name(&self) -> &'static str;
    fn client_id(&self, base: &str) -> String;
    /// The last will of the next connection attempt (called once per attempt).
    fn will(&mut self) -> LastWill;
    /// The broker accepted the connection: a session begins.
    fn connected(&mut self) {}
    /// Topics to subscribe to (commands).
    fn subscriptions(&self) -> Vec<String>;
    /// What to publish right after connecting.
    fn birth(&mut self, statuses: &[CameraStatus]) -> Vec<(Message, QoS)>;
    /// Every event, connected or not (counters).
    fn note(&mut self, _e: &LiveEvent) {}
    /// What to publish for an event while connected.
    fn event(&mut self, e: &LiveEvent) -> Vec<(Message, QoS)>;
    fn extra(&mut self, e: &Extra) -> Vec<(Message, QoS)>;
    /// A message arrived on a subscribed topic.
    fn command(&mut self, topic: &str, payload: &[u8]) -> Command;
    /// Whether births may be published now (a Sparkplug node with a primary host waits
    /// for the host's STATE to say online).
    fn may_publish(&self) -> bool {
        true
    }
    /// Historical publishing begins after a birth: the strokes stored per machine before
    /// the first event to be replayed.
    fn start_replay(&mut self, _stroke_bases: HashMap<String, u64>) {}
    /// What to publish for an event that happened while nothing was published.
    fn historical(&mut self, _e: &LiveEvent) -> Vec<(Message, QoS)> {
        Vec::new()
    }
    /// Whether the cameras and machines now running differ from those the last births
    /// announced (set up while the service runs): true to publish the births again.
    fn layout_changed(&self, _statuses: &[CameraStatus]) -> bool {
        false
    }
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
    fn command(&mut self, _: &str, _: &[u8]) -> Command {
        Command::Nothing
    }
    fn goodbye(&mut self) -> Vec<(Message, QoS)> {
        let m = Message { topic: topics::status_topic(&self.prefix), payload: b"offline".to_vec(), retain: true };
        vec![(m, QoS::AtLeastOnce)]
    }
}

/// The running MQTT links.
pub struct MqttLinks {
    stop: shutdown::Sender,
    tasks: Vec<JoinHandle<()>>,
}

impl MqttLinks {
    /// Starts the JSON link and, with `sparkplug_group` set, the Sparkplug link.
    /// `events` is subscribed before the service started, so that no stroke goes
    /// uncounted; `memory` is what the Sparkplug node carries over from earlier processes;
    /// `outbox` is the store whose outbox keeps what a primary host missed (its
    /// [`OutboxReader::Sparkplug`](sheetsight_store::outbox::OutboxReader) enabled).
    pub fn start(
        config: &MqttConfig,
        service: ServiceHandle,
        events: broadcast::Receiver<LiveEvent>,
        extra: broadcast::Sender<Extra>,
        memory: NodeMemory,
        outbox: Option<SqliteStore>,
    ) -> Result<Self, sheetsight_broker::TlsError> {
        let transport = sheetsight_broker::transport(config.tls.as_ref())?;
        let (stop, stop_rx) = shutdown::channel();
        let json = JsonTopics { prefix: config.prefix.clone() };
        let link = |events, stop| link::Link {
            config: config.clone(),
            service: service.clone(),
            events,
            stop,
            events_ended: false,
            forwarder: None,
            transport: transport.clone(),
        };
        let mut tasks = vec![tokio::spawn(link(events.resubscribe(), stop_rx.clone()).run(json, extra.subscribe()))];
        if let Some(group) = &config.sparkplug_group {
            let host = config.sparkplug_primary_host.clone();
            let node = node::Node::new(group.clone(), config.sparkplug_node.clone(), host.clone(), memory);
            let mut link = link(events, stop_rx);
            match (host, outbox) {
                (Some(_), Some(store)) => link.forwarder = Some(forward::Forwarder::new(store)),
                (Some(host), None) => tracing::warn!(
                    %host,
                    "no outbox for the Sparkplug primary host: what happens while it is offline is not sent to it later"
                ),
                _ => {}
            }
            tasks.push(tokio::spawn(link.run(node, extra.subscribe())));
        }
        Ok(Self { stop, tasks })
    }

    /// Says goodbye (JSON `offline`, Sparkplug DDEATH/NDEATH) and disconnects.
    pub async fn stop(self) {
        self.stop.shut_down();
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
    }
}
