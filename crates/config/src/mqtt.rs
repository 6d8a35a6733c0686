//! `[mqtt]`: the broker SheetSight publishes to, its JSON topic prefix and Sparkplug B
//! ids.
//!
//! ```toml
//! [mqtt]
//! broker = "mqtt.local:1883"       # HOST or HOST:PORT (1883 by default), mqtt:// optional
//! prefix = "sheetsight"            # JSON topics <prefix>/<machine>/state, ...
//! client_id = "sheetsight-shop1"
//! username = "shop1"               # optional
//! password = "secret"
//! sparkplug_group = "shop1"        # also publish Sparkplug B (spBv1.0/shop1/...)
//! sparkplug_node = "sheetsight"
//! ```

use serde::Deserialize;
use toml::Spanned;

use crate::diagnostics::Checker;

const DEFAULT_PORT: u16 = 1883;

#[derive(Clone, Debug, PartialEq)]
pub struct MqttConfig {
    pub host: String,
    pub port: u16,
    pub prefix: String,
    pub client_id: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Sparkplug B group id; `None`: plain JSON topics only.
    pub sparkplug_group: Option<String>,
    pub sparkplug_node: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMqtt {
    broker: Spanned<String>,
    prefix: Option<Spanned<String>>,
    client_id: Option<Spanned<String>>,
    username: Option<Spanned<String>>,
    password: Option<Spanned<String>>,
    sparkplug_group: Option<Spanned<String>>,
    sparkplug_node: Option<Spanned<String>>,
}

/// A topic level or Sparkplug id: no MQTT wildcards or separators (`slashes`: a prefix
/// may hold `/` between its levels).
pub(crate) fn topic_part(c: &Checker<'_>, v: &Spanned<String>, key: &str, slashes: bool) -> String {
    let s = v.get_ref();
    let bad = s.is_empty() || s.contains(['+', '#']) || (!slashes && s.contains('/')) || s.starts_with('/');
    if bad {
        let what = if slashes { "`+`, `#` or a leading `/`" } else { "`+`, `#` or `/`" };
        c.report(v.span(), key, format!("`{s}` is not usable here: it must not be empty or hold {what}"));
    }
    s.clone()
}

/// HOST and PORT of `mqtt://HOST:PORT`, `HOST:PORT` or `HOST`.
pub(crate) fn broker_address(c: &Checker<'_>, broker: &Spanned<String>, key: &str) -> (String, u16) {
    let text = broker.get_ref().trim();
    if text.starts_with("mqtts://") || text.starts_with("ssl://") {
        c.report(broker.span(), key, "TLS to the broker is not supported yet: use mqtt://");
        return (String::new(), DEFAULT_PORT);
    }
    let hostport = text.strip_prefix("mqtt://").unwrap_or(text);
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().ok()),
        None => (hostport, Some(DEFAULT_PORT)),
    };
    match port.filter(|_| !host.is_empty() && !host.contains('/')) {
        Some(port) => (host.to_string(), port),
        None => {
            let message = format!("`{text}` is not a broker address: write HOST or HOST:PORT, e.g. 127.0.0.1:1883");
            c.report(broker.span(), key, message);
            (String::new(), DEFAULT_PORT)
        }
    }
}

pub(crate) fn check_mqtt(c: &Checker<'_>, raw: Option<&RawMqtt>) -> Option<MqttConfig> {
    let raw = raw?;
    let (host, port) = broker_address(c, &raw.broker, "mqtt.broker");
    let text = |v: &Option<Spanned<String>>| v.as_ref().map(|v| v.get_ref().clone());
    Some(MqttConfig {
        host,
        port,
        prefix: raw.prefix.as_ref().map_or_else(
            || "sheetsight".into(),
            |p| topic_part(c, p, "mqtt.prefix", true).trim_end_matches('/').to_string(),
        ),
        client_id: text(&raw.client_id).unwrap_or_else(|| "sheetsight".into()),
        username: text(&raw.username),
        password: text(&raw.password),
        sparkplug_group: raw.sparkplug_group.as_ref().map(|g| topic_part(c, g, "mqtt.sparkplug_group", false)),
        sparkplug_node: raw
            .sparkplug_node
            .as_ref()
            .map_or_else(|| "sheetsight".into(), |n| topic_part(c, n, "mqtt.sparkplug_node", false)),
    })
}
