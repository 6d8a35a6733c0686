//! Logging in and out: `POST /api/v1/login`, `POST /api/v1/logout`, `GET /api/v1/session`.
//!
//! A login passes, in this order, before its password is checked: the rate limits of its
//! client address and of the server ([`crate::login_limits::RateLimits`]), a valid user
//! name (nothing invalid is logged or counted), the lockout of that name from that
//! address ([`crate::login_limits::Lockout`], reserved before the check), and a free
//! place among the bounded password checks ([`crate::password_check`]). Refusals say
//! how long to wait (`Retry-After`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use sheetsight_store::UnixMillis;

use crate::AppState;
use crate::auth::{self, Principal, Role};
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::login_limits::{Lockout, RateLimits, Refusal};
use crate::password_check::PasswordChecker;

/// A password longer than this is refused before it is hashed.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Everything that bounds logins.
pub struct Logins {
    pub rates: RateLimits,
    pub lockout: Lockout,
    pub checker: PasswordChecker,
    /// Checked against when the name is unknown, so that timing does not tell names.
    dummy_hash: String,
}

impl Logins {
    /// The limits of the README; hashes the dummy password once (tens of ms).
    pub fn new() -> ApiResult<Self> {
        Ok(Self {
            rates: RateLimits::new(RateLimits::PER_ADDRESS, RateLimits::OVERALL, Instant::now()),
            lockout: Lockout::default(),
            checker: PasswordChecker::for_this_machine(),
            dummy_hash: auth::hash_password("not a password of anyone")?,
        })
    }
}

#[derive(Deserialize)]
pub struct Login {
    pub name: String,
    pub password: String,
}

#[derive(Serialize)]
pub struct SessionInfo {
    pub name: String,
    pub role: Role,
    pub via: &'static str,
    /// Send it as `X-CSRF-Token` with every change made through this session.
    pub csrf: Option<String>,
}

/// 429 or 503 with `Retry-After` in whole seconds.
fn refused(status: StatusCode, wait: Duration, message: String) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut response = ApiError::new(status, message).into_response();
    if let Ok(v) = seconds.max(1).to_string().parse() {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

fn refusal(r: Refusal) -> Response {
    match r {
        Refusal::Address(w) => refused(
            StatusCode::TOO_MANY_REQUESTS,
            w,
            format!("too many logins from this address: try again in {} s", w.as_secs() + 1),
        ),
        Refusal::Overall(w) => {
            refused(StatusCode::TOO_MANY_REQUESTS, w, "too many logins at this server: try again shortly".into())
        }
        Refusal::Locked(w) => refused(
            StatusCode::TOO_MANY_REQUESTS,
            w,
            format!("too many wrong passwords for this name from this address: try again in {} s", w.as_secs() + 1),
        ),
    }
}

pub async fn login(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<Login>,
) -> Response {
    match login_checked(&state, peer, body).await {
        Ok(r) | Err(r) => r,
    }
}

async fn login_checked(state: &AppState, peer: SocketAddr, body: Login) -> Result<Response, Response> {
    let user = check_login(&state.logins, peer, &body, |name| async move {
        Ok(state.store.user(&name).await?.map(|u| (u.password_hash.clone(), u)))
    })
    .await?;
    start_session(state, &user).await.map_err(IntoResponse::into_response)
}

/// Checks a login against the limits and the stored hash that `find` gives for the name
/// (with the user's record); answers the user's record, or the refusal to send.
pub async fn check_login<U, F, Fut>(logins: &Logins, peer: SocketAddr, body: &Login, find: F) -> Result<U, Response>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = ApiResult<Option<(String, U)>>>,
{
    let ip = peer.ip();
    logins.rates.take(ip, Instant::now()).map_err(refusal)?;
    // Nothing invalid reaches a log line or the lockout's map.
    auth::check_name(&body.name, "user name").map_err(IntoResponse::into_response)?;
    if body.password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::bad_request(format!("a password has at most {MAX_PASSWORD_BYTES} bytes")).into_response());
    }
    let reservation = logins.lockout.reserve(&body.name, ip, Instant::now()).map_err(refusal)?;
    let user = match find(body.name.clone()).await {
        Ok(u) => u,
        Err(e) => {
            logins.lockout.no_such_user(reservation);
            return Err(e.into_response());
        }
    };
    // Unknown names are checked against a dummy hash, so that timing does not tell names.
    let hash = user.as_ref().map_or(logins.dummy_hash.as_str(), |(hash, _)| hash.as_str());
    let verified = match logins.checker.verify(&body.password, hash).await {
        Ok(v) => v,
        Err(busy) => {
            logins.lockout.no_such_user(reservation);
            tracing::warn!(address = %ip, "login refused: {busy}");
            return Err(refused(
                StatusCode::SERVICE_UNAVAILABLE,
                Duration::from_secs(1),
                "too many logins at once: try again in a second".into(),
            ));
        }
    };
    let known = user.is_some();
    let Some((_, user)) = user.filter(|_| verified) else {
        if known {
            logins.lockout.failed(reservation, Instant::now());
        } else {
            logins.lockout.no_such_user(reservation);
        }
        // The name passed `check_name`: no control character, at most 64 bytes.
        tracing::warn!(name = %body.name, address = %ip, "failed login");
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "wrong name or password").into_response());
    };
    logins.lockout.succeeded(reservation);
    Ok(user)
}

async fn start_session(state: &AppState, user: &sheetsight_store::site::UserRecord) -> ApiResult<Response> {
    // Expired sessions go at every login.
    state.store.delete_session("", UnixMillis::now()).await?;
    let token = auth::random_hex(32)?;
    let csrf = auth::random_hex(16)?;
    let max_age_s = u64::from(state.config().server.session_hours) * 3600;
    state
        .store
        .put_session(&auth::digest(&token), &user.name, &csrf, UnixMillis::now().plus_ms(max_age_s as i64 * 1000))
        .await?;
    let role = auth::stored_role(&user.role, &format!("user `{}`", user.name))?;
    let info = SessionInfo { name: user.name.clone(), role, via: "session", csrf: Some(csrf) };
    Ok(([(header::SET_COOKIE, auth::session_cookie(Some(&token), max_age_s))], Json(info)).into_response())
}

pub async fn logout(State(state): State<Arc<AppState>>, headers: HeaderMap) -> ApiResult<Response> {
    if let Some(cookie) = auth::cookie_value(&headers, auth::SESSION_COOKIE) {
        state.store.delete_session(&auth::digest(cookie), UnixMillis::now()).await?;
    }
    Ok(([(header::SET_COOKIE, auth::session_cookie(None, 0))], StatusCode::NO_CONTENT).into_response())
}

pub async fn session(Extension(p): Extension<Principal>) -> Json<SessionInfo> {
    Json(SessionInfo { name: p.name, role: p.role, via: p.via, csrf: p.csrf })
}
