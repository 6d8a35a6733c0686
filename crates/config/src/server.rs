//! `[server]`: the web server's address, sessions and connection limits.
//!
//! ```toml
//! [server]
//! listen = "0.0.0.0:8080"              # default 127.0.0.1:8080
//! session_hours = 12
//! max_connections = 512                # at once, from everyone
//! max_connections_per_address = 64     # raise it behind a reverse proxy (all one address)
//! header_timeout_s = 10                # a request's headers must arrive within this
//! idle_timeout_s = 60                  # a connection silent this long is closed
//! ```

use std::net::SocketAddr;

use serde::Deserialize;
use toml::Spanned;

use crate::diagnostics::{Bounds, Checker};

const SESSION_HOURS: Bounds<i64> = Bounds::new(12, 1, 24 * 90);
const MAX_CONNECTIONS: Bounds<i64> = Bounds::new(512, 1, 100_000);
const MAX_CONNECTIONS_PER_ADDRESS: Bounds<i64> = Bounds::new(64, 1, 100_000);
const HEADER_TIMEOUT_S: Bounds<f64> = Bounds::new(10.0, 0.1, 3600.0);
const IDLE_TIMEOUT_S: Bounds<f64> = Bounds::new(60.0, 0.1, 3600.0);

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
            session_hours: SESSION_HOURS.default as u32,
            max_connections: MAX_CONNECTIONS.default as usize,
            max_connections_per_address: MAX_CONNECTIONS_PER_ADDRESS.default as usize,
            header_timeout_s: HEADER_TIMEOUT_S.default,
            idle_timeout_s: IDLE_TIMEOUT_S.default,
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

pub(crate) fn check_server(c: &Checker<'_>, raw: Option<&RawServer>) -> ServerConfig {
    let mut server = ServerConfig::default();
    let Some(raw) = raw else { return server };
    if let Some(l) = &raw.listen {
        match l.get_ref().parse() {
            Ok(listen) => server.listen = listen,
            Err(_) => {
                let message = format!("`{}` is not an address: write IP:PORT, e.g. 0.0.0.0:8080", l.get_ref());
                c.report(l.span(), "server.listen", message);
            }
        }
    }
    server.session_hours = c.bounded(raw.session_hours.as_ref(), SESSION_HOURS, "server.session_hours") as u32;
    server.max_connections =
        c.bounded(raw.max_connections.as_ref(), MAX_CONNECTIONS, "server.max_connections") as usize;
    server.max_connections_per_address = c.bounded(
        raw.max_connections_per_address.as_ref(),
        MAX_CONNECTIONS_PER_ADDRESS,
        "server.max_connections_per_address",
    ) as usize;
    server.header_timeout_s = c.bounded(raw.header_timeout_s.as_ref(), HEADER_TIMEOUT_S, "server.header_timeout_s");
    server.idle_timeout_s = c.bounded(raw.idle_timeout_s.as_ref(), IDLE_TIMEOUT_S, "server.idle_timeout_s");
    server
}
