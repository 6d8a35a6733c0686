//! One reconnecting connection to the broker, speaking one [`Protocol`].
//!
//! Each connection attempt gets a new client with the protocol's will. After a failure
//! the link waits 1 s, doubling to 30 s; while the broker refuses TCP connections it is
//! probed every [`PROBE_INTERVAL`], and the wait ends as soon as it accepts one. Until the
//! broker has answered a connection, nothing but the connection is polled (a dropped
//! poll would drop a connection the broker may have accepted, and it would publish the
//! will). Events that came while there was no session are noted by the protocol when
//! the next one begins, and not sent: the births carry the present. A Sparkplug node
//! with a primary host is born only once the host says it is online, ends its session
//! when the host goes offline, and has what the host missed replayed by its
//! [`Forwarder`] after each birth.

use std::time::Duration;

use rumqttc::{AsyncClient, EventLoop, MqttOptions, QoS, Transport};
use sheetsight_base::shutdown;
use sheetsight_config::MqttConfig;
use sheetsight_ingest::probe::wait_for_server;
use sheetsight_service::ServiceHandle;
use sheetsight_vision::event::LiveEvent;
use tokio::sync::broadcast;

use crate::forward::{self, Forwarder};
use crate::topics::Message;
use crate::{Command, Extra, Protocol};

/// How often a broker that refuses connections is tried again.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(250);
const FIRST_WAIT: Duration = Duration::from_secs(1);
const LONGEST_WAIT: Duration = Duration::from_secs(30);

pub(crate) struct Link {
    pub config: MqttConfig,
    pub service: ServiceHandle,
    pub events: broadcast::Receiver<LiveEvent>,
    pub stop: shutdown::Receiver,
    /// The service's events ended (it stopped): nothing more to wait for from it.
    pub events_ended: bool,
    /// What a Sparkplug primary host missed, replayed after each birth.
    pub forwarder: Option<Forwarder>,
    /// TCP, or TLS as configured (its files read once, at start).
    pub transport: Transport,
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

/// How a connection ended.
enum End {
    Stopped,
    Lost(String),
}

impl Link {
    fn broker(&self) -> String {
        format!("{}:{}", self.config.host, self.config.port)
    }

    fn options<P: Protocol>(&self, proto: &mut P) -> MqttOptions {
        let config = &self.config;
        let mut options = MqttOptions::new(proto.client_id(&config.client_id), config.host.clone(), config.port);
        options.set_keep_alive(Duration::from_secs(10));
        options.set_clean_session(true);
        options.set_last_will(proto.will());
        options.set_transport(self.transport.clone());
        if let (Some(u), Some(p)) = (&config.username, &config.password) {
            options.set_credentials(u.clone(), p.clone());
        }
        options
    }

    /// Publishes the births, and starts replaying what a primary host missed.
    async fn born<P: Protocol>(&mut self, proto: &mut P, client: &AsyncClient) {
        let births = proto.birth(&self.service.statuses());
        publish(client, proto.name(), births);
        if let Some(forwarder) = &mut self.forwarder {
            forwarder.begin(proto).await;
        }
    }

    /// Connects, reconnects and publishes until the stop signal.
    pub async fn run<P: Protocol>(mut self, mut proto: P, mut extra: broadcast::Receiver<Extra>) {
        let mut wait = FIRST_WAIT;
        let mut last_error = String::new();
        loop {
            let error = match self.session(&mut proto, &mut extra, &mut wait, &mut last_error).await {
                End::Stopped => return,
                End::Lost(error) => error,
            };
            if error != last_error {
                tracing::warn!(link = proto.name(), broker = %self.broker(), %error, retry_s = wait.as_secs_f64(), "MQTT connection lost");
                last_error = error;
            }
            let broker = self.broker();
            tokio::select! {
                _ = wait_for_server(wait, Some(&broker), PROBE_INTERVAL) => {}
                _ = self.stop.wait() => return,
            }
            wait = (wait * 2).min(LONGEST_WAIT);
        }
    }

    /// One connection attempt and, if the broker accepts it, its session.
    async fn session<P: Protocol>(
        &mut self,
        proto: &mut P,
        extra: &mut broadcast::Receiver<Extra>,
        wait: &mut Duration,
        last_error: &mut String,
    ) -> End {
        let (client, mut eventloop) = AsyncClient::new(self.options(proto), 1024);
        // Until the broker has answered, only the connection is polled: a poll dropped
        // for another branch of the select below would drop a connection the broker may
        // already have accepted, and the broker would publish its will.
        loop {
            tokio::select! {
                _ = self.stop.wait() => return End::Stopped,
                polled = eventloop.poll() => match polled {
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) => break,
                    Ok(_) => {}
                    Err(e) => return End::Lost(e.to_string()),
                },
            }
        }
        *wait = FIRST_WAIT;
        last_error.clear();
        // What happened while there was no session is noted, not sent: the births carry
        // the present.
        while let Ok(e) = self.events.try_recv() {
            proto.note(&e);
        }
        proto.connected();
        tracing::info!(link = proto.name(), broker = %self.broker(), "MQTT connected");
        for topic in proto.subscriptions() {
            let _ = client.try_subscribe(topic, QoS::AtLeastOnce);
        }
        let mut born = proto.may_publish();
        if born {
            self.born(proto, &client).await;
        } else {
            tracing::info!(link = proto.name(), "waiting for the primary host to be online before the births");
        }
        // Cameras and machines set up while the service runs are born within 2 s.
        let mut layout = tokio::time::interval(Duration::from_secs(2));
        layout.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut forward_step = tokio::time::interval(forward::STEP_INTERVAL);
        forward_step.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let forwarding = self.forwarder.is_some();
        loop {
            tokio::select! {
                _ = forward_step.tick(), if born && forwarding => {
                    if let Some(forwarder) = &mut self.forwarder {
                        forwarder.step(&client, proto).await;
                    }
                }
                _ = layout.tick(), if born => {
                    let statuses = self.service.statuses();
                    if proto.layout_changed(&statuses) {
                        tracing::info!(link = proto.name(), "cameras or machines changed; publishing births again");
                        let births = proto.birth(&statuses);
                        publish(&client, proto.name(), births);
                    }
                }
                _ = self.stop.wait() => {
                    let out = proto.goodbye();
                    publish(&client, proto.name(), out);
                    flush_goodbye(&client, &mut eventloop).await;
                    return End::Stopped;
                }
                polled = eventloop.poll() => match polled {
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) => match proto.command(&p.topic, &p.payload) {
                        Command::Rebirth if born => {
                            tracing::info!(link = proto.name(), "rebirth requested");
                            let births = proto.birth(&self.service.statuses());
                            publish(&client, proto.name(), births);
                        }
                        Command::HostOnline if !born => {
                            tracing::info!(link = proto.name(), "the primary host is online");
                            born = true;
                            self.born(proto, &client).await;
                        }
                        Command::HostOffline if born => {
                            // Sparkplug: the node ends its session; what happens until the
                            // host is back stays in the outbox for it.
                            if let Some(forwarder) = &mut self.forwarder {
                                forwarder.hold();
                            }
                            let out = proto.goodbye();
                            publish(&client, proto.name(), out);
                            flush_goodbye(&client, &mut eventloop).await;
                            return End::Lost("the Sparkplug primary host is offline".into());
                        }
                        _ => {}
                    },
                    Ok(_) => {}
                    Err(e) => {
                        if let Some(forwarder) = &mut self.forwarder {
                            forwarder.hold();
                        }
                        return End::Lost(e.to_string());
                    }
                },
                e = self.events.recv(), if !self.events_ended => match e {
                    Ok(e) => {
                        proto.note(&e);
                        if born {
                            let out = proto.event(&e);
                            publish(&client, proto.name(), out);
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) if born => {
                        tracing::warn!(link = proto.name(), skipped = n, "MQTT fell behind the events; publishing births again");
                        let births = proto.birth(&self.service.statuses());
                        publish(&client, proto.name(), births);
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => self.events_ended = true,
                },
                x = extra.recv() => {
                    if let Ok(x) = x && born {
                        let out = proto.extra(&x);
                        publish(&client, proto.name(), out);
                    }
                }
            }
        }
    }
}
