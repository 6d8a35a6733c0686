//! `[mqtt]`: the broker SheetSight publishes to, its JSON topic prefix and Sparkplug B
//! ids.
//!
//! ```toml
//! [mqtt]
//! broker = "mqtt.local:1883"       # HOST or HOST:PORT (1883 by default), mqtt:// optional;
//!                                  # mqtts://HOST[:PORT] for TLS (8883 by default)
//! ca_file = "ca.pem"               # TLS: the CA that signed the broker's certificate
//!                                  # (PEM; default: the system's roots)
//! client_cert = "edge.pem"         # TLS: a client certificate and its key (PEM), for
//! client_key = "edge.key"          # brokers that require one
//! prefix = "sheetsight"            # JSON topics <prefix>/<machine>/state, ...
//! client_id = "sheetsight-shop1"
//! username = "shop1"               # optional
//! password = "secret"
//! sparkplug_group = "shop1"        # also publish Sparkplug B (spBv1.0/shop1/...)
//! sparkplug_node = "sheetsight"
//! sparkplug_primary_host = "scada" # optional: born only while spBv1.0/STATE/scada is
//!                                  # online; what happens meanwhile is sent to it
//!                                  # afterwards with is_historical
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::diagnostics::Checker;

const DEFAULT_PORT: u16 = 1883;
const DEFAULT_TLS_PORT: u16 = 8883;

/// TLS to a broker (`mqtts://`): the broker's certificate is verified against `ca_file`
/// or, without one, the system's roots; `client_cert` and `client_key` identify this
/// client to a broker that asks for a certificate. Files are PEM, relative to the
/// configuration file's folder.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BrokerTls {
    pub ca_file: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
}

/// Where a broker is: host, port and, for `mqtts://`, TLS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BrokerAddress {
    pub host: String,
    pub port: u16,
    pub tls: bool,
}

/// The TLS keys of a broker's section (each section declares them itself: serde's
/// `flatten` does not work with `deny_unknown_fields`).
pub(crate) struct RawTls<'a> {
    pub ca_file: &'a Option<Spanned<String>>,
    pub client_cert: &'a Option<Spanned<String>>,
    pub client_key: &'a Option<Spanned<String>>,
}

/// The TLS settings of a section whose broker is `address` (`section` names it in
/// messages): files that exist, given only with `mqtts://`, a key with its certificate.
pub(crate) fn broker_tls(
    c: &Checker<'_>,
    address: &BrokerAddress,
    raw: RawTls<'_>,
    section: &str,
) -> Option<BrokerTls> {
    let base = c.file().parent().map(Path::to_path_buf).unwrap_or_default();
    let file = |v: &Option<Spanned<String>>, key: &str| {
        v.as_ref().map(|v| {
            let path = base.join(v.get_ref());
            if !address.tls {
                c.report(v.span(), format!("{section}.{key}"), "TLS files need a TLS broker: write mqtts://HOST:PORT");
            } else if !path.is_file() {
                c.report(v.span(), format!("{section}.{key}"), format!("{} does not exist", path.display()));
            }
            path
        })
    };
    let tls = BrokerTls {
        ca_file: file(raw.ca_file, "ca_file"),
        client_cert: file(raw.client_cert, "client_cert"),
        client_key: file(raw.client_key, "client_key"),
    };
    if address.tls && tls.client_cert.is_some() != tls.client_key.is_some() {
        let span = raw.client_cert.as_ref().or(raw.client_key.as_ref()).map_or(0..0, |v| v.span());
        c.report(span, format!("{section}.client_cert"), "give client_cert and client_key together");
    }
    address.tls.then_some(tls)
}

#[derive(Clone, Debug, PartialEq)]
pub struct MqttConfig {
    pub host: String,
    pub port: u16,
    pub prefix: String,
    pub client_id: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// `None`: plain TCP.
    pub tls: Option<BrokerTls>,
    /// Sparkplug B group id; `None`: plain JSON topics only.
    pub sparkplug_group: Option<String>,
    pub sparkplug_node: String,
    /// The Sparkplug primary host application's id: the node publishes only while its
    /// `STATE` says online, and keeps what happens meanwhile for it.
    pub sparkplug_primary_host: Option<String>,
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
    sparkplug_primary_host: Option<Spanned<String>>,
    ca_file: Option<Spanned<String>>,
    client_cert: Option<Spanned<String>>,
    client_key: Option<Spanned<String>>,
}

impl RawMqtt {
    fn tls(&self) -> RawTls<'_> {
        RawTls { ca_file: &self.ca_file, client_cert: &self.client_cert, client_key: &self.client_key }
    }
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

/// HOST and PORT of `mqtt://HOST:PORT`, `HOST:PORT` or `HOST`; TLS with `mqtts://` (or
/// `ssl://`).
pub(crate) fn broker_address(c: &Checker<'_>, broker: &Spanned<String>, key: &str) -> BrokerAddress {
    let text = broker.get_ref().trim();
    let (tls, hostport) = match ["mqtts://", "ssl://"].iter().find_map(|p| text.strip_prefix(p)) {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix("mqtt://").unwrap_or(text)),
    };
    let default_port = if tls { DEFAULT_TLS_PORT } else { DEFAULT_PORT };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().ok()),
        None => (hostport, Some(default_port)),
    };
    match port.filter(|_| !host.is_empty() && !host.contains('/')) {
        Some(port) => BrokerAddress { host: host.to_string(), port, tls },
        None => {
            let message = format!(
                "`{text}` is not a broker address: write HOST or HOST:PORT, e.g. 127.0.0.1:1883 (mqtts://HOST:PORT for TLS)"
            );
            c.report(broker.span(), key, message);
            BrokerAddress { host: String::new(), port: default_port, tls }
        }
    }
}

pub(crate) fn check_mqtt(c: &Checker<'_>, raw: Option<&RawMqtt>) -> Option<MqttConfig> {
    let raw = raw?;
    let address = broker_address(c, &raw.broker, "mqtt.broker");
    let text = |v: &Option<Spanned<String>>| v.as_ref().map(|v| v.get_ref().clone());
    Some(MqttConfig {
        tls: broker_tls(c, &address, raw.tls(), "mqtt"),
        host: address.host,
        port: address.port,
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
        sparkplug_primary_host: raw.sparkplug_primary_host.as_ref().map(|h| {
            if raw.sparkplug_group.is_none() {
                c.report(
                    h.span(),
                    "mqtt.sparkplug_primary_host",
                    "a primary host needs `sparkplug_group` (Sparkplug is off without it)",
                );
            }
            topic_part(c, h, "mqtt.sparkplug_primary_host", false)
        }),
    })
}
