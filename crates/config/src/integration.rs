//! What the service offers people and other systems: the web server, MQTT, alert rules
//! and the list of downtime reasons.
//!
//! ```toml
//! [server]
//! listen = "0.0.0.0:8080"        # default 127.0.0.1:8080
//! session_hours = 12
//! max_connections = 512          # at once, from everyone
//! max_connections_per_address = 64  # raise it behind a reverse proxy (all one address)
//! header_timeout_s = 10          # a request's headers must arrive within this
//! idle_timeout_s = 60            # a connection silent this long is closed
//!
//! [mqtt]
//! broker = "mqtt.local:1883"
//! prefix = "sheetsight"          # JSON topics <prefix>/<machine>/state, ...
//! client_id = "sheetsight-shop1"
//! sparkplug_group = "shop1"      # also publish Sparkplug B (spBv1.0/shop1/...)
//! sparkplug_node = "sheetsight"
//!
//! [downtime]
//! reasons = ["Waiting for material", "Tool change", "Maintenance"]
//!
//! [alerts]
//! webhook = "http://mes.local/hooks/sheetsight"
//!
//! [[alert]]
//! name = "long-stop"
//! when = "machine_state"         # or "camera_down"
//! states = ["OutOfService", "NotExecuting"]
//! minutes = 10
//! machines = ["brake-1"]         # default: every machine (cameras: every camera)
//! ```

use std::net::SocketAddr;

use serde::Deserialize;
use sheetsight_vision::state::MachineState;
use toml::Spanned;

use crate::{ConfigError, Located, in_range, suggestion};

#[derive(Clone, Debug, PartialEq)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub session_hours: u32,
    pub max_connections: usize,
    pub max_connections_per_address: usize,
    pub header_timeout_s: f64,
    pub idle_timeout_s: f64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            session_hours: 12,
            max_connections: 512,
            max_connections_per_address: 64,
            header_timeout_s: 10.0,
            idle_timeout_s: 60.0,
        }
    }
}

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

#[derive(Clone, Debug, PartialEq)]
pub enum AlertCondition {
    /// A machine in one of `states` for longer than the rule's time, inside a shift when
    /// shifts are configured.
    MachineState { states: Vec<MachineState> },
    /// A camera not `streaming` for longer than the rule's time.
    CameraDown,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AlertRule {
    pub name: String,
    pub condition: AlertCondition,
    pub minutes: f64,
    /// Machine (or camera) ids the rule watches; empty: all.
    pub subjects: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlertsConfig {
    pub webhook: Option<String>,
    pub rules: Vec<AlertRule>,
}

/// The reasons an operator picks for a stop.
#[derive(Clone, Debug, PartialEq)]
pub struct DowntimeConfig {
    pub reasons: Vec<String>,
}

impl Default for DowntimeConfig {
    fn default() -> Self {
        Self {
            reasons: [
                "Waiting for material",
                "Tool change",
                "Setup",
                "Maintenance",
                "Breakdown",
                "Break",
                "No operator",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawServer {
    listen: Option<Spanned<String>>,
    session_hours: Option<Spanned<i64>>,
    max_connections: Option<Spanned<i64>>,
    max_connections_per_address: Option<Spanned<i64>>,
    header_timeout_s: Option<Spanned<f64>>,
    idle_timeout_s: Option<Spanned<f64>>,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAlerts {
    webhook: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAlertRule {
    name: Spanned<String>,
    when: Spanned<String>,
    states: Option<Spanned<Vec<Spanned<String>>>>,
    minutes: Spanned<f64>,
    machines: Option<Spanned<Vec<Spanned<String>>>>,
    cameras: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDowntime {
    reasons: Spanned<Vec<Spanned<String>>>,
}

pub(crate) fn parse_server(loc: &Located<'_>, raw: Option<&RawServer>) -> Result<ServerConfig, ConfigError> {
    let mut server = ServerConfig::default();
    let Some(raw) = raw else { return Ok(server) };
    if let Some(l) = &raw.listen {
        server.listen = l.get_ref().parse().map_err(|_| {
            loc.error(
                l.span(),
                "server.listen",
                format!("`{}` is not an address: write IP:PORT, e.g. 0.0.0.0:8080", l.get_ref()),
            )
        })?;
    }
    server.session_hours = in_range(loc, raw.session_hours.as_ref(), 12, 1..=24 * 90, "server.session_hours")? as u32;
    let d = ServerConfig::default();
    server.max_connections =
        in_range(loc, raw.max_connections.as_ref(), d.max_connections as i64, 1..=100_000, "server.max_connections")?
            as usize;
    server.max_connections_per_address = in_range(
        loc,
        raw.max_connections_per_address.as_ref(),
        d.max_connections_per_address as i64,
        1..=100_000,
        "server.max_connections_per_address",
    )? as usize;
    let timeout = |v: Option<&Spanned<f64>>, default: f64, key: &str| in_range(loc, v, default, 0.1..=3600.0, key);
    server.header_timeout_s = timeout(raw.header_timeout_s.as_ref(), d.header_timeout_s, "server.header_timeout_s")?;
    server.idle_timeout_s = timeout(raw.idle_timeout_s.as_ref(), d.idle_timeout_s, "server.idle_timeout_s")?;
    Ok(server)
}

/// A topic level or Sparkplug id: no MQTT wildcards or separators.
fn check_topic_part(loc: &Located<'_>, v: &Spanned<String>, key: &str, slashes: bool) -> Result<String, ConfigError> {
    let s = v.get_ref();
    let bad = s.is_empty() || s.contains(['+', '#']) || (!slashes && s.contains('/')) || s.starts_with('/');
    if bad {
        let what = if slashes { "`+`, `#` or a leading `/`" } else { "`+`, `#` or `/`" };
        return Err(loc.error(v.span(), key, format!("`{s}` is not usable here: it must not be empty or hold {what}")));
    }
    Ok(s.clone())
}

pub(crate) fn parse_mqtt(loc: &Located<'_>, raw: Option<&RawMqtt>) -> Result<Option<MqttConfig>, ConfigError> {
    let Some(raw) = raw else { return Ok(None) };
    let broker = raw.broker.get_ref().trim();
    if broker.starts_with("mqtts://") || broker.starts_with("ssl://") {
        return Err(loc.error(raw.broker.span(), "mqtt.broker", "TLS to the broker is not supported yet: use mqtt://"));
    }
    let hostport = broker.strip_prefix("mqtt://").unwrap_or(broker);
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().ok()),
        None => (hostport, Some(1883)),
    };
    let Some(port) = port.filter(|_| !host.is_empty() && !host.contains('/')) else {
        return Err(loc.error(
            raw.broker.span(),
            "mqtt.broker",
            format!("`{broker}` is not a broker address: write HOST or HOST:PORT, e.g. 127.0.0.1:1883"),
        ));
    };
    let prefix = match &raw.prefix {
        Some(p) => check_topic_part(loc, p, "mqtt.prefix", true)?.trim_end_matches('/').to_string(),
        None => "sheetsight".into(),
    };
    let sparkplug_group = match &raw.sparkplug_group {
        Some(g) => Some(check_topic_part(loc, g, "mqtt.sparkplug_group", false)?),
        None => None,
    };
    let sparkplug_node = match &raw.sparkplug_node {
        Some(n) => check_topic_part(loc, n, "mqtt.sparkplug_node", false)?,
        None => "sheetsight".into(),
    };
    Ok(Some(MqttConfig {
        host: host.to_string(),
        port,
        prefix,
        client_id: raw.client_id.as_ref().map_or_else(|| "sheetsight".into(), |c| c.get_ref().clone()),
        username: raw.username.as_ref().map(|u| u.get_ref().clone()),
        password: raw.password.as_ref().map(|p| p.get_ref().clone()),
        sparkplug_group,
        sparkplug_node,
    }))
}

pub(crate) fn parse_alerts(
    loc: &Located<'_>,
    raw: Option<&RawAlerts>,
    rules: &[Spanned<RawAlertRule>],
    machine_ids: &[&str],
    camera_ids: &[&str],
) -> Result<AlertsConfig, ConfigError> {
    let webhook = match raw.and_then(|r| r.webhook.as_ref()) {
        Some(w) if !(w.get_ref().starts_with("http://") || w.get_ref().starts_with("https://")) => {
            return Err(loc.error(w.span(), "alerts.webhook", "the webhook must be an http:// or https:// URL"));
        }
        Some(w) => Some(w.get_ref().clone()),
        None => None,
    };
    let mut out = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let rule = rule.get_ref();
        let key = |k: &str| format!("alert[{i}].{k}");
        let name = rule.name.get_ref().clone();
        if name.is_empty() || out.iter().any(|r: &AlertRule| r.name == name) {
            return Err(loc.error(rule.name.span(), key("name"), "alert names must be given and differ"));
        }
        let minutes = *rule.minutes.get_ref();
        if !(minutes.is_finite() && minutes > 0.0 && minutes <= 7.0 * 24.0 * 60.0) {
            return Err(loc.error(rule.minutes.span(), key("minutes"), "minutes must be above 0 and at most a week"));
        }
        let list = |v: &Option<Spanned<Vec<Spanned<String>>>>, what: &str, known: &[&str]| {
            let mut ids = Vec::new();
            for id in v.iter().flat_map(|l| l.get_ref()) {
                if !known.contains(&id.get_ref().as_str()) {
                    return Err(loc.error(
                        id.span(),
                        key(what),
                        format!(
                            "no {} `{}`{}",
                            what.trim_end_matches('s'),
                            id.get_ref(),
                            suggestion(id.get_ref(), known.iter().copied())
                        ),
                    ));
                }
                ids.push(id.get_ref().clone());
            }
            Ok(ids)
        };
        let (condition, subjects) = match rule.when.get_ref().as_str() {
            "machine_state" => {
                if let Some(c) = &rule.cameras {
                    return Err(loc.error(c.span(), key("cameras"), "a machine_state rule takes `machines`"));
                }
                let Some(raw_states) = &rule.states else {
                    return Err(loc.error(rule.when.span(), key("states"), "list the `states` this rule watches"));
                };
                let mut states = Vec::new();
                for s in raw_states.get_ref() {
                    states.push(s.get_ref().parse::<MachineState>().map_err(|_| {
                        let names = MachineState::ALL.map(MachineState::as_str);
                        loc.error(
                            s.span(),
                            key("states"),
                            format!("unknown machine state `{}`{}", s.get_ref(), suggestion(s.get_ref(), names)),
                        )
                    })?);
                }
                (AlertCondition::MachineState { states }, list(&rule.machines, "machines", machine_ids)?)
            }
            "camera_down" => {
                if let Some(s) = &rule.states {
                    return Err(loc.error(s.span(), key("states"), "a camera_down rule has no states"));
                }
                if let Some(m) = &rule.machines {
                    return Err(loc.error(m.span(), key("machines"), "a camera_down rule takes `cameras`"));
                }
                (AlertCondition::CameraDown, list(&rule.cameras, "cameras", camera_ids)?)
            }
            other => {
                return Err(loc.error(
                    rule.when.span(),
                    key("when"),
                    format!(
                        "unknown condition `{other}`{}; valid: machine_state, camera_down",
                        suggestion(other, ["machine_state", "camera_down"])
                    ),
                ));
            }
        };
        out.push(AlertRule { name, condition, minutes, subjects });
    }
    Ok(AlertsConfig { webhook, rules: out })
}

pub(crate) fn parse_downtime(loc: &Located<'_>, raw: Option<&RawDowntime>) -> Result<DowntimeConfig, ConfigError> {
    let Some(raw) = raw else { return Ok(DowntimeConfig::default()) };
    let mut reasons: Vec<String> = Vec::new();
    for r in raw.reasons.get_ref() {
        let text = r.get_ref().trim();
        if text.is_empty() || text.len() > 80 || reasons.iter().any(|x| x == text) {
            return Err(loc.error(r.span(), "downtime.reasons", "each reason must be 1-80 characters and differ"));
        }
        reasons.push(text.to_string());
    }
    if reasons.is_empty() {
        return Err(loc.error(raw.reasons.span(), "downtime.reasons", "list at least one reason"));
    }
    Ok(DowntimeConfig { reasons })
}
