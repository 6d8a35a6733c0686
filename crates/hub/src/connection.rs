//! One reconnecting MQTT connection, its event loop driven by a task of its own.
//!
//! The task reports what matters to its owner through a channel: a session began (the
//! owner subscribes and resends then), the connection was lost, a message arrived.
//! After a failure it waits 0.5 s, doubling to [`LONGEST_WAIT`], before the next attempt.

use std::time::Duration;

use rumqttc::{AsyncClient, Event, EventLoop, LastWill, MqttOptions, Packet, QoS};
use sheetsight_base::shutdown;
use sheetsight_broker::TlsError;
use sheetsight_config::BrokerTls;
use tokio::sync::mpsc;

const FIRST_WAIT: Duration = Duration::from_millis(500);
const LONGEST_WAIT: Duration = Duration::from_secs(10);

/// What the event loop saw.
#[derive(Debug)]
pub enum Seen {
    /// A new session: subscriptions are gone with the old one.
    Connected,
    /// The connection ended; `why` is for the log.
    Lost { why: String },
    /// A message on a subscribed topic.
    Message { topic: String, payload: bytes::Bytes },
}

/// Where and as whom to connect.
#[derive(Clone, Debug)]
pub struct Broker {
    pub host: String,
    pub port: u16,
    pub client_id: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Published by the broker when the connection dies: (topic, payload), retained.
    pub will: Option<(String, Vec<u8>)>,
    /// `None`: plain TCP.
    pub tls: Option<BrokerTls>,
}

/// Connects (and keeps reconnecting) until `stop`; returns the client to publish with and
/// what the loop sees. Fails only when its TLS files cannot be used.
pub fn connect(broker: &Broker, stop: shutdown::Receiver) -> Result<(AsyncClient, mpsc::Receiver<Seen>), TlsError> {
    let mut options = MqttOptions::new(&broker.client_id, &broker.host, broker.port);
    options.set_transport(sheetsight_broker::transport(broker.tls.as_ref())?);
    options.set_keep_alive(Duration::from_secs(10));
    options.set_clean_session(true);
    options.set_max_packet_size(16 << 20, 16 << 20);
    options.set_inflight(64);
    if let Some(user) = &broker.username {
        options.set_credentials(user, broker.password.as_deref().unwrap_or(""));
    }
    if let Some((topic, payload)) = &broker.will {
        options.set_last_will(LastWill::new(topic, payload.clone(), QoS::AtLeastOnce, true));
    }
    let (client, eventloop) = AsyncClient::new(options, 256);
    let (tx, rx) = mpsc::channel(1024);
    tokio::spawn(drive(eventloop, tx, stop, format!("{}:{}", broker.host, broker.port)));
    Ok((client, rx))
}

async fn drive(mut eventloop: EventLoop, tx: mpsc::Sender<Seen>, stop: shutdown::Receiver, address: String) {
    let mut wait = FIRST_WAIT;
    let mut connected = false;
    loop {
        let polled = tokio::select! {
            _ = stop.wait() => return,
            p = eventloop.poll() => p,
        };
        let seen = match polled {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                connected = true;
                wait = FIRST_WAIT;
                Seen::Connected
            }
            Ok(Event::Incoming(Packet::Publish(p))) => Seen::Message { topic: p.topic, payload: p.payload },
            Ok(_) => continue,
            Err(e) => {
                if connected {
                    tracing::warn!(broker = %address, error = %e, "the hub's MQTT connection was lost");
                } else {
                    tracing::debug!(broker = %address, error = %e, "cannot connect to the hub's broker");
                }
                connected = false;
                let lost = Seen::Lost { why: e.to_string() };
                if tx.send(lost).await.is_err() {
                    return;
                }
                tokio::select! {
                    _ = stop.wait() => return,
                    _ = tokio::time::sleep(wait) => {}
                }
                wait = (wait * 2).min(LONGEST_WAIT);
                continue;
            }
        };
        if tx.send(seen).await.is_err() {
            return;
        }
    }
}
