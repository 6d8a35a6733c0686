//! Many shops, one hub: the edge's `[hub]` section, and the hub's own file.
//!
//! An edge (a shop's SheetSight) sends its history to a hub through an MQTT broker:
//!
//! ```toml
//! [hub]
//! broker = "hub.example.com:1883"   # HOST or HOST:PORT; mqtts://HOST:PORT for TLS
//! ca_file = "hub-ca.pem"            # TLS (optional): as in [mqtt], and client_cert,
//!                                   # client_key
//! shop = "shop-17"                  # this shop's id at the hub
//! username = "shop-17"              # optional: printed by `sheetsight hub shop add`
//! password = "…"
//! outbox_mb = 1024                  # what is kept while the hub cannot be reached
//! ```
//!
//! Or, without a broker, straight into the hub's database (a single shop keeping its
//! history in PostgreSQL, or a hub on the same LAN): `database` instead of `broker`.
//!
//! ```toml
//! [hub]
//! database = "postgres://sheetsight:secret@db.local/sheetsight"
//! shop = "shop-17"
//! ```
//!
//! The hub (`sheetsight hub hub.toml`) reads a file of its own:
//!
//! ```toml
//! [database]
//! url = "postgres://sheetsight:secret@127.0.0.1/sheetsight"
//! retention_days = 400               # whole monthly partitions are dropped after it
//!
//! [mqtt]
//! broker = "127.0.0.1:1883"         # mqtts://… and ca_file, client_cert, client_key
//!                                    # for TLS, as in a shop's [mqtt]
//! username = "hub"                   # optional
//! password = "…"
//! client_id = "sheetsight-hub-1"     # unique per hub process
//!
//! [mosquitto]                        # optional: files `hub shop add` keeps for Mosquitto
//! password_file = "/etc/mosquitto/sheetsight.passwd"
//! acl_file = "/etc/mosquitto/sheetsight.acl"
//!
//! [server]                           # optional: the hub's dashboard and API
//! listen = "0.0.0.0:8090"            # and the other keys of a shop's [server]
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::ConfigErrors;
use crate::diagnostics::{Bounds, Checker};
use crate::document::Document;
use crate::mqtt::{BrokerAddress, BrokerTls, RawTls, broker_address, broker_tls, topic_part};

fn postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

const OUTBOX_MB: Bounds<i64> = Bounds::new(1024, 1, 1 << 20);
const RETENTION_DAYS: Bounds<i64> = Bounds::new(400, 31, 36_500);

/// An edge's link to its hub.
#[derive(Clone, Debug, PartialEq)]
pub struct HubLinkConfig {
    pub host: String,
    pub port: u16,
    pub shop: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub outbox_mb: u32,
    /// `None`: plain TCP.
    pub tls: Option<BrokerTls>,
    /// Straight into the hub's PostgreSQL instead of through a broker (`host` is empty
    /// then).
    pub database_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHubLink {
    broker: Option<Spanned<String>>,
    database: Option<Spanned<String>>,
    shop: Spanned<String>,
    username: Option<Spanned<String>>,
    password: Option<Spanned<String>>,
    outbox_mb: Option<Spanned<i64>>,
    ca_file: Option<Spanned<String>>,
    client_cert: Option<Spanned<String>>,
    client_key: Option<Spanned<String>>,
}

fn optional_text(v: &Option<Spanned<String>>) -> Option<String> {
    v.as_ref().map(|v| v.get_ref().clone())
}

pub(crate) fn check_hub_link(c: &Checker<'_>, raw: Option<&RawHubLink>) -> Option<HubLinkConfig> {
    let raw = raw?;
    let tls = RawTls { ca_file: &raw.ca_file, client_cert: &raw.client_cert, client_key: &raw.client_key };
    let (address, tls, database_url) = match (&raw.broker, &raw.database) {
        (Some(broker), None) => {
            let address = broker_address(c, broker, "hub.broker");
            let tls = broker_tls(c, &address, tls, "hub");
            (address, tls, None)
        }
        (None, Some(url)) => {
            if !postgres_url(url.get_ref()) {
                c.report(url.span(), "hub.database", "not a PostgreSQL URL: write postgres://USER:PASSWORD@HOST/DB");
            }
            for (key, value) in
                [("ca_file", tls.ca_file), ("client_cert", tls.client_cert), ("client_key", tls.client_key)]
            {
                if let Some(v) = value {
                    c.report(
                        v.span(),
                        format!("hub.{key}"),
                        "TLS files are for a broker (`mqtts://`), not for `database`",
                    );
                }
            }
            let none = BrokerAddress { host: String::new(), port: 0, tls: false };
            (none, None, Some(url.get_ref().clone()))
        }
        (Some(_), Some(url)) => {
            c.report(
                url.span(),
                "hub.database",
                "give either `broker` (through MQTT) or `database` (straight in), not both",
            );
            return None;
        }
        (None, None) => {
            c.report(
                raw.shop.span(),
                "hub.broker",
                "`[hub]` needs `broker = \"HOST:PORT\"` (or `database = \"postgres://…\"`)",
            );
            return None;
        }
    };
    Some(HubLinkConfig {
        tls,
        database_url,
        host: address.host,
        port: address.port,
        shop: topic_part(c, &raw.shop, "hub.shop", false),
        username: optional_text(&raw.username),
        password: optional_text(&raw.password),
        outbox_mb: c.bounded(raw.outbox_mb.as_ref(), OUTBOX_MB, "hub.outbox_mb") as u32,
    })
}

/// The hub's broker connection.
#[derive(Clone, Debug, PartialEq)]
pub struct HubMqttConfig {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    pub client_id: String,
    /// `None`: plain TCP.
    pub tls: Option<BrokerTls>,
}

/// The hub's configuration file.
#[derive(Clone, Debug, PartialEq)]
pub struct HubConfig {
    pub path: PathBuf,
    pub database_url: String,
    pub retention_days: u32,
    pub mqtt: HubMqttConfig,
    /// Where `hub shop add` writes Mosquitto's password and ACL files, if it does.
    pub mosquitto_password_file: Option<PathBuf>,
    pub mosquitto_acl_file: Option<PathBuf>,
    /// The dashboard and API; `None` without `[server]`.
    pub server: Option<crate::ServerConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    url: Spanned<String>,
    retention_days: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHubMqtt {
    broker: Spanned<String>,
    username: Option<Spanned<String>>,
    password: Option<Spanned<String>>,
    client_id: Option<Spanned<String>>,
    ca_file: Option<Spanned<String>>,
    client_cert: Option<Spanned<String>>,
    client_key: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMosquitto {
    password_file: Option<Spanned<String>>,
    acl_file: Option<Spanned<String>>,
}

const HUB_SECTIONS: [&str; 4] = ["database", "mqtt", "mosquitto", "server"];

/// Reads and checks a hub's configuration file.
pub fn load_hub(path: &Path) -> Result<HubConfig, ConfigErrors> {
    let text = crate::read_file(path, "the hub's configuration")?;
    parse_hub(path, &text)
}

/// Checks a hub's configuration text; relative paths are read from `path`'s folder.
pub fn parse_hub(path: &Path, text: &str) -> Result<HubConfig, ConfigErrors> {
    let c = Checker::new(path, text);
    let config = read_hub(&c, text);
    c.finish(config)
}

fn read_hub(c: &Checker<'_>, text: &str) -> Option<HubConfig> {
    let doc = Document::parse(c, text)?;
    doc.check_sections(c, &HUB_SECTIONS);
    let folder = c.file().parent().unwrap_or(Path::new("."));
    let database: Option<RawDatabase> = doc.table(c, "database");
    let mqtt: Option<RawHubMqtt> = doc.table(c, "mqtt");
    let mosquitto: Option<RawMosquitto> = doc.table(c, "mosquitto");
    let server: Option<crate::server::RawServer> = doc.table(c, "server");
    let Some(database) = database else {
        c.report(0..0, "database", "the hub needs `[database]` with `url = \"postgres://…\"`");
        return None;
    };
    let url = database.url.get_ref().clone();
    if !postgres_url(&url) {
        c.report(database.url.span(), "database.url", "not a PostgreSQL URL: write postgres://USER:PASSWORD@HOST/DB");
    }
    let Some(mqtt) = mqtt else {
        c.report(0..0, "mqtt", "the hub needs `[mqtt]` with the `broker` its edges send to");
        return None;
    };
    let address = broker_address(c, &mqtt.broker, "mqtt.broker");
    let tls = RawTls { ca_file: &mqtt.ca_file, client_cert: &mqtt.client_cert, client_key: &mqtt.client_key };
    let tls = broker_tls(c, &address, tls, "mqtt");
    let file = |v: &Option<Spanned<String>>| v.as_ref().map(|v| folder.join(v.get_ref()));
    Some(HubConfig {
        path: c.file().to_path_buf(),
        database_url: url,
        retention_days: c.bounded(database.retention_days.as_ref(), RETENTION_DAYS, "database.retention_days") as u32,
        mqtt: HubMqttConfig {
            host: address.host,
            port: address.port,
            tls,
            username: optional_text(&mqtt.username),
            password: optional_text(&mqtt.password),
            client_id: optional_text(&mqtt.client_id)
                .unwrap_or_else(|| format!("sheetsight-hub-{}", std::process::id())),
        },
        mosquitto_password_file: mosquitto.as_ref().and_then(|m| file(&m.password_file)),
        mosquitto_acl_file: mosquitto.as_ref().and_then(|m| file(&m.acl_file)),
        server: server.as_ref().map(|raw| crate::server::check_server(c, Some(raw))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hub_file_reads_with_defaults_and_names_its_mistakes() {
        let path = Path::new("/etc/sheetsight/hub.toml");
        let hub = parse_hub(
            path,
            "[database]\nurl = \"postgres://h:p@127.0.0.1/s\"\n[mqtt]\nbroker = \"127.0.0.1:1884\"\n\
             [mosquitto]\nacl_file = \"acl\"\n",
        )
        .expect("a good file");
        assert_eq!((hub.mqtt.host.as_str(), hub.mqtt.port, hub.retention_days), ("127.0.0.1", 1884, 400));
        assert_eq!(hub.mosquitto_acl_file, Some(PathBuf::from("/etc/sheetsight/acl")));
        assert_eq!(hub.server, None, "no [server]: no dashboard");
        let served = parse_hub(
            path,
            "[database]\nurl = \"postgres://h@127.0.0.1/s\"\n[mqtt]\nbroker = \"h\"\n[server]\nlisten = \"127.0.0.1:8090\"\n",
        )
        .expect("with [server]");
        assert_eq!(served.server.map(|s| s.listen.port()), Some(8090));
        let errors = parse_hub(path, "[database]\nurl = \"mysql://x\"\nretention = 3\n[mqtt]\nbroker = \"h\"\n")
            .expect_err("two mistakes");
        let text = errors.to_string();
        assert!(text.contains("retention_days") && text.contains("database.retention"), "{text}");
        let errors = parse_hub(path, "[mqtt]\nbroker = \"h\"\n").expect_err("no database");
        assert!(errors.to_string().contains("[database]"), "{errors}");
    }
}
