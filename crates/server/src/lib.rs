#![recursion_limit = "256"]
//! SheetSight's web side: the dashboard (embedded assets), the REST API under `/api/v1`
//! with its OpenAPI document, live events (SSE), camera views, the region editor,
//! alerts, users and roles, and Prometheus metrics; served through [`connections`],
//! which bounds connections and cuts off slow clients.
//!
//! The server reads the running service through a [`ServiceHandle`] and the history
//! through the [`SqliteStore`]; it never blocks the analysis (live events reach it
//! through a broadcast channel that skips for a slow reader).

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use axum::Router;
use serde::Serialize;
use sheetsight_base::RwLockOrRecover;
use sheetsight_base::shutdown;
use sheetsight_config::Config;
use sheetsight_service::ServiceHandle;
use sheetsight_store::site::{AlertRecord, NoteRecord};
use sheetsight_store::sqlite::SqliteStore;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

pub mod alerts;
pub mod api;
pub mod auth;
pub mod camera_view;
pub mod chat_robots;
pub mod clips;
pub mod connections;
pub mod error;
pub mod floor;
pub mod hub;
pub mod live;
pub mod login_limits;
pub mod metrics;
pub mod openapi;
pub mod password_check;
pub mod regions;
pub mod routes;
pub mod session;
pub mod setup;
pub mod shift_summary;
pub mod summary_picture;
pub mod ui;
pub mod users;

/// Something people or other systems did, or an alert: sent to the dashboard (SSE) and
/// to MQTT beside the analysis events.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Notice {
    /// An alert was raised, cleared or acknowledged (`change`).
    Alert { change: &'static str, alert: AlertRecord },
    /// A downtime reason or a job was given.
    Note { note: NoteRecord },
    /// Regions were edited; the cameras' analysis restarted.
    Regions { cameras: Vec<String> },
    /// An inspection station judged a part, or refused a photo.
    Station { event: sheetsight_station::StationEvent },
}

pub struct AppState {
    pub store: Arc<SqliteStore>,
    pub service: ServiceHandle,
    config: RwLock<Arc<Config>>,
    pub notices: broadcast::Sender<Notice>,
    pub floor: floor::FloorCache,
    /// Serialises rewrites of the configuration file.
    pub config_write: tokio::sync::Mutex<()>,
    pub jpegs: camera_view::JpegCache,
    pub logins: session::Logins,
    /// Shut down when the server stops: live streams end on it.
    pub stopping: shutdown::Receiver,
    /// Clips and recording status, when the service records.
    pub recording: Option<clips::RecordingAccess>,
    /// "Find lamps" jobs, by camera.
    pub find_jobs: setup::find_lamps::FindJobs,
    /// The inspection stations and the parts library, when stations are configured.
    pub stations: Option<sheetsight_station::Stations>,
}

impl AppState {
    pub fn config(&self) -> Arc<Config> {
        self.config.read_or_recover().clone()
    }

    /// Takes an edited configuration; a shop that sends to a hub sends its machines and
    /// shifts again when they changed (the outbox keeps them with the history).
    async fn set_config(&self, config: Config) {
        let profile = sheetsight_store::profile::ShopProfile::of(&config);
        let old = std::mem::replace(&mut *self.config.write_or_recover(), Arc::new(config));
        if sheetsight_store::profile::ShopProfile::of(&old) != profile
            && let Err(e) = self.store.send_profile(&profile).await
        {
            tracing::error!(error = %sheetsight_base::error::with_causes(&e), "cannot send the shop's profile to the hub");
        }
    }
}

/// What the server needs to start.
pub struct ServerOptions {
    pub listen: SocketAddr,
    pub config: Config,
    pub store: Arc<SqliteStore>,
    pub service: ServiceHandle,
    /// Alerts and notes go here too (MQTT subscribes).
    pub notices: broadcast::Sender<Notice>,
    /// Set `admin`'s password to this at start (the demo's known login); `None`: create
    /// the first admin only when there is no user.
    pub admin_password: Option<String>,
    /// The recordings, when cameras record.
    pub recording: Option<clips::RecordingAccess>,
    /// The inspection stations, when configured.
    pub stations: Option<sheetsight_station::Stations>,
}

pub fn notice_channel() -> broadcast::Sender<Notice> {
    broadcast::channel(1024).0
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("cannot create the first user: {0}")]
    FirstAdmin(String),
    #[error("cannot prepare password checks: {0}")]
    Logins(String),
}

/// A running web server.
pub struct Server {
    pub addr: SocketAddr,
    /// The password of `admin` when this start created it with a random one (show it
    /// once).
    pub first_admin_password: Option<String>,
    pub state: Arc<AppState>,
    stop: shutdown::Sender,
    tasks: Vec<JoinHandle<()>>,
}

/// The router of every route in [`routes::ROUTES`], behind authorisation and limits.
pub fn router(state: Arc<AppState>) -> Router {
    let api = routes::ROUTES.iter().fold(Router::new(), |router, r| {
        let handler = (r.handler)();
        match routes::body_limit(r.path) {
            Some(bytes) => router.route(r.path, handler.layer(axum::extract::DefaultBodyLimit::max(bytes))),
            None => router.route(r.path, handler),
        }
    });
    api.layer(axum::middleware::from_fn_with_state(state.clone(), auth::authorize))
        .layer(axum::middleware::from_fn(auth::no_store))
        .layer(axum::middleware::from_fn(connections::request_deadline))
        .layer(axum::extract::DefaultBodyLimit::max(api::MAX_BODY_BYTES))
        .fallback(api::not_found)
        .with_state(state)
}

/// Stations' verdicts and refusals to the dashboard and MQTT (notices) and to the
/// alerts' webhook, as alerts go.
async fn station_events(
    state: Arc<AppState>,
    mut events: broadcast::Receiver<sheetsight_station::StationEvent>,
    stop: shutdown::Receiver,
) {
    loop {
        let event = tokio::select! {
            _ = stop.wait() => return,
            e = events.recv() => match e {
                Ok(e) => e,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            },
        };
        let notice = Notice::Station { event };
        if let Some(url) = state.config().alerts.webhook.clone() {
            tokio::spawn(alerts::post_webhook(url, notice.clone()));
        }
        let _ = state.notices.send(notice);
    }
}

impl Server {
    /// Binds `listen`, creates the first admin if there is no user, and serves until
    /// [`Server::stop`].
    pub async fn start(o: ServerOptions) -> Result<Self, ServerError> {
        let (stop, stop_rx) = shutdown::channel();
        let state = Arc::new(AppState {
            stopping: stop_rx.clone(),
            recording: o.recording,
            store: o.store,
            service: o.service,
            floor: floor::FloorCache::default(),
            config: RwLock::new(Arc::new(o.config)),
            notices: o.notices,
            config_write: tokio::sync::Mutex::new(()),
            jpegs: camera_view::JpegCache::default(),
            logins: session::Logins::new().map_err(|e| ServerError::Logins(e.message))?,
            find_jobs: Default::default(),
            stations: o.stations,
        });
        let first_admin_password = match &o.admin_password {
            Some(p) => {
                auth::set_admin_password(&state, p).await.map_err(|e| ServerError::FirstAdmin(e.message))?;
                None
            }
            None => auth::ensure_first_admin(&state).await.map_err(|e| ServerError::FirstAdmin(e.message))?,
        };
        let listener = tokio::net::TcpListener::bind(o.listen)
            .await
            .map_err(|source| ServerError::Listen { addr: o.listen, source })?;
        let addr = listener.local_addr().map_err(|source| ServerError::Listen { addr: o.listen, source })?;
        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(floor::refresh_loop(state.clone(), stop_rx.clone())));
        tasks.push(tokio::spawn(alerts::engine(state.clone(), stop_rx.clone())));
        tasks.push(tokio::spawn(shift_summary::scheduler(state.clone(), stop_rx.clone())));
        if let Some(stations) = &state.stations {
            tasks.push(tokio::spawn(station_events(state.clone(), stations.subscribe(), stop_rx.clone())));
        }
        let app = router(state.clone());
        let limits = connections::ConnectionLimits::from(&state.config().server);
        tasks.push(tokio::spawn(connections::serve(listener, app, limits, stop_rx.clone())));
        tracing::info!(%addr, "web server listening");
        Ok(Self { addr, first_admin_password, state, stop, tasks })
    }

    /// Stops serving (open live streams end) and waits for the server's tasks.
    pub async fn stop(self) {
        self.stop.shut_down();
        for t in self.tasks {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), t).await;
        }
    }
}
