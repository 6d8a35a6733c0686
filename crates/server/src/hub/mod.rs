//! The hub's dashboard and API: many shops' history in PostgreSQL, read by the platform
//! (every shop) and by each shop's own users and tokens (their shop only).
//!
//! - `GET /` the page (shop picker and all-shops overview), `/assets/*` its files;
//! - `POST /api/v1/login`, `POST /api/v1/logout`, `GET /api/v1/session`, and the
//!   OpenAPI document `GET /api/v1/openapi.json` ([`openapi`]);
//! - `GET /api/v1/overview` ([`overview`]), `GET /api/v1/shops` and the shop's own
//!   routes under `/api/v1/shops/{shop}/` ([`shops`]).
//!
//! Invariants: every API route but the login needs a principal (a session cookie
//! `sheetsight_hub_session` or `Authorization: Bearer`); a session's change needs its
//! CSRF token; every read runs in a transaction scoped to the principal's shop (or `*`
//! for the platform), so row-level security bounds it whatever the handler asked; a shop
//! the principal may not read answers exactly as a shop that does not exist (404).
//! Users and tokens are made on the hub's machine (`sheetsight hub user|token add`).

pub mod openapi;
pub mod overview;
pub mod shops;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Serialize;
use sheetsight_base::shutdown;
use sheetsight_config::ServerConfig;
use sheetsight_store::UnixMillis;
use sheetsight_store::postgres::PgDatabase;
use sheetsight_store::postgres::hub_access::HubPrincipal;
use tokio::task::JoinHandle;

use crate::error::{ApiError, ApiJson, ApiResult};
use crate::session::{Login, Logins, check_login};
use crate::{ServerError, auth, connections, ui};

/// The hub's session cookie: not the edge's, since both may be served from one host.
pub const HUB_SESSION_COOKIE: &str = "sheetsight_hub_session";

pub struct HubState {
    pub db: PgDatabase,
    pub server: ServerConfig,
    logins: Logins,
}

/// The hub's running web server.
pub struct HubWeb {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

const HUB_HTML: &str = include_str!("../../assets/hub.html");
const HUB_ASSETS: &[(&str, &str, &str)] = &[
    ("hub.js", "text/javascript; charset=utf-8", include_str!("../../assets/hub.js")),
    ("charts.js", "text/javascript; charset=utf-8", include_str!("../../assets/charts.js")),
    ("app.css", "text/css; charset=utf-8", include_str!("../../assets/app.css")),
];

pub fn router(state: Arc<HubState>) -> Router {
    let api = Router::new()
        .route("/api/v1/session", get(session))
        .route("/api/v1/logout", post(logout))
        .route("/api/v1/overview", get(overview::overview))
        .route("/api/v1/shops", get(shops::shops))
        .route("/api/v1/shops/{shop}/machines", get(shops::machines))
        .route("/api/v1/shops/{shop}/report", get(shops::report))
        .route("/api/v1/shops/{shop}/summary", get(shops::summary))
        .route("/api/v1/shops/{shop}/machines/{machine}/timeline", get(shops::timeline))
        .route("/api/v1/shops/{shop}/alerts", get(shops::alerts))
        .layer(axum::middleware::from_fn_with_state(state.clone(), authorize));
    Router::new()
        .route("/", get(|| async { ui::page(HUB_HTML) }))
        .route("/assets/{file}", get(|p| ui::asset_of(HUB_ASSETS, p)))
        .route("/api/v1/login", post(login))
        .route("/api/v1/openapi.json", get(openapi::document))
        .merge(api)
        .layer(axum::middleware::from_fn(auth::no_store))
        .layer(axum::middleware::from_fn(connections::request_deadline))
        .layer(axum::extract::DefaultBodyLimit::max(crate::api::MAX_BODY_BYTES))
        .fallback(crate::api::not_found)
        .with_state(state)
}

impl HubWeb {
    /// Binds `server.listen` and serves until `stop`.
    pub async fn start(db: PgDatabase, server: ServerConfig, stop: shutdown::Receiver) -> Result<Self, ServerError> {
        let listen = server.listen;
        let logins = Logins::new().map_err(|e| ServerError::Logins(e.message))?;
        let limits = connections::ConnectionLimits::from(&server);
        let state = Arc::new(HubState { db, server, logins });
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| ServerError::Listen { addr: listen, source })?;
        let addr = listener.local_addr().map_err(|source| ServerError::Listen { addr: listen, source })?;
        let task = tokio::spawn(connections::serve(listener, router(state), limits, stop));
        tracing::info!(%addr, "hub dashboard listening");
        Ok(Self { addr, task })
    }

    /// Waits until the server has stopped (after its `stop`), at most 5 s.
    pub async fn join(self) {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), self.task).await;
    }
}

/// The principal of a request: a bearer token, or a session cookie.
async fn identify(state: &HubState, headers: &HeaderMap) -> ApiResult<Option<HubPrincipal>> {
    if let Some(token) = auth::bearer_token(headers)? {
        return match state.db.hub_token(&auth::digest(token)).await? {
            Some(p) => Ok(Some(p)),
            None => Err(ApiError::new(StatusCode::UNAUTHORIZED, "unknown or revoked API token")),
        };
    }
    let Some(cookie) = auth::cookie_value(headers, HUB_SESSION_COOKIE) else { return Ok(None) };
    Ok(state.db.hub_session(&auth::digest(cookie), UnixMillis::now()).await?)
}

/// Every API route but the login needs a principal; a session's change needs its CSRF token.
async fn authorize(State(state): State<Arc<HubState>>, mut req: Request, next: Next) -> Response {
    let principal = match identify(&state, req.headers()).await {
        Ok(Some(p)) => p,
        Ok(None) => return ApiError::unauthorized().into_response(),
        Err(e) => return e.into_response(),
    };
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if changes && principal.via == "session" {
        let sent = req.headers().get(auth::CSRF_HEADER).and_then(|v| v.to_str().ok());
        if sent.is_none() || sent != principal.csrf.as_deref() {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "missing or wrong X-CSRF-Token header (GET /api/v1/session gives it)",
            )
            .into_response();
        }
    }
    req.extensions_mut().insert(principal);
    next.run(req).await
}

#[derive(Serialize)]
pub struct HubSessionInfo {
    pub name: String,
    /// `null`: a platform user, who sees every shop.
    pub shop: Option<String>,
    pub via: &'static str,
    pub csrf: Option<String>,
}

impl From<HubPrincipal> for HubSessionInfo {
    fn from(p: HubPrincipal) -> Self {
        Self { name: p.name, shop: p.shop, via: p.via, csrf: p.csrf }
    }
}

async fn login(
    State(state): State<Arc<HubState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<Login>,
) -> Response {
    let db = &state.db;
    let user = check_login(&state.logins, peer, &body, |name| async move {
        Ok(db.hub_user(&name).await?.map(|(hash, shop)| (hash, (name, shop))))
    })
    .await;
    let (name, shop) = match user {
        Ok(u) => u,
        Err(refused) => return refused,
    };
    match start_session(&state, &name, shop).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn start_session(state: &HubState, name: &str, shop: Option<String>) -> ApiResult<Response> {
    let now = UnixMillis::now();
    state.db.end_hub_session("", now).await?;
    let token = auth::random_hex(32)?;
    let csrf = auth::random_hex(16)?;
    let max_age_s = u64::from(state.server.session_hours) * 3600;
    state.db.add_hub_session(&auth::digest(&token), name, &csrf, now.plus_ms(max_age_s as i64 * 1000)).await?;
    let info = HubSessionInfo { name: name.to_string(), shop, via: "session", csrf: Some(csrf) };
    let cookie = auth::named_session_cookie(HUB_SESSION_COOKIE, Some(&token), max_age_s);
    Ok(([(header::SET_COOKIE, cookie)], Json(info)).into_response())
}

async fn logout(State(state): State<Arc<HubState>>, headers: HeaderMap) -> ApiResult<Response> {
    if let Some(cookie) = auth::cookie_value(&headers, HUB_SESSION_COOKIE) {
        state.db.end_hub_session(&auth::digest(cookie), UnixMillis::now()).await?;
    }
    let cookie = auth::named_session_cookie(HUB_SESSION_COOKIE, None, 0);
    Ok(([(header::SET_COOKIE, cookie)], StatusCode::NO_CONTENT).into_response())
}

async fn session(Extension(p): Extension<HubPrincipal>) -> Json<HubSessionInfo> {
    Json(p.into())
}

/// The answer for a shop the principal may not read, or that does not exist: the same.
pub(crate) fn no_such_shop(shop: &str) -> ApiError {
    ApiError::not_found(format!("no shop `{}`", auth::shown(shop)))
}
