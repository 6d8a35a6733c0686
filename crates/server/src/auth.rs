//! Users, roles, sessions, API tokens and CSRF protection.
//!
//! - Roles are ordered: `viewer` < `operator` < `admin`; a route names the least role it
//!   needs ([`crate::routes::ROUTES`]) and the [`authorize`] middleware enforces it
//!   before any handler runs.
//! - A browser logs in with a name and password (argon2id) and gets a session cookie
//!   (`HttpOnly`, `SameSite=Strict`); every request that changes something must carry
//!   the session's CSRF token in `X-CSRF-Token`.
//! - A program sends `Authorization: Bearer <token>`; tokens carry a role, need no CSRF
//!   token, and are stored only as SHA-256 digests.
//! - The first start creates the user `admin`, with the password from
//!   `SHEETSIGHT_ADMIN_PASSWORD` or a random one printed once.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sheetsight_store::UnixMillis;

use crate::AppState;
use crate::error::{ApiError, ApiResult};

pub const SESSION_COOKIE: &str = "sheetsight_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

sheetsight_base::named_enum! {
    /// What a user may do; each includes the ones before it.
    #[derive(PartialOrd, Ord)]
    pub enum Role("role") {
        Viewer = "viewer",
        Operator = "operator",
        Admin = "admin",
    }
}

/// Who sent a request.
#[derive(Clone, Debug, Serialize)]
pub struct Principal {
    pub name: String,
    pub role: Role,
    /// `session` (a browser) or `token` (a program).
    pub via: &'static str,
    #[serde(skip)]
    pub csrf: Option<String>,
}

/// Random bytes as hex (tokens, CSRF tokens, passwords); an error rather than a weak
/// secret when the operating system gives no randomness.
pub fn random_hex(bytes: usize) -> ApiResult<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| ApiError::internal("taking random bytes from the operating system", e))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

pub fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| ApiError::internal("taking random bytes for a salt", e))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| ApiError::internal("encoding a salt", e))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::internal("hashing a password", e))
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// Hashes off the async threads (an argon2 hash takes tens of milliseconds).
pub async fn hash_password_off_thread(password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ApiError::internal("hashing a password", e))?
}

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// A new password for the user `name`: 10 to 128 characters, not only spaces, not one
/// character repeated, not the user's name.
pub fn check_new_password(password: &str, name: &str) -> ApiResult<()> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(ApiError::bad_request(format!("a password needs at least {MIN_PASSWORD_CHARS} characters")));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(ApiError::bad_request(format!("a password has at most {MAX_PASSWORD_CHARS} characters")));
    }
    if password.trim().is_empty() {
        return Err(ApiError::bad_request("a password must not be only spaces"));
    }
    let mut distinct = password.chars().collect::<Vec<_>>();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 3 {
        return Err(ApiError::bad_request("a password needs at least three different characters"));
    }
    // What is left without the name must still be a password: `otto-otto-1` is not.
    let name = name.to_lowercase();
    let rest = if name.is_empty() { password.to_lowercase() } else { password.to_lowercase().replace(&name, "") };
    let mut left: Vec<char> = rest.chars().filter(|c| c.is_alphanumeric()).collect();
    left.sort_unstable();
    left.dedup();
    if left.len() < 3 && rest.chars().count() < chars {
        return Err(ApiError::bad_request("a password must not be made of the user's name"));
    }
    Ok(())
}

/// `s` as it may appear in a message or a log line: control characters escaped, at
/// most 40 characters.
pub fn shown(s: &str) -> String {
    const MAX_CHARS: usize = 40;
    let escaped: String = s.chars().take(MAX_CHARS).flat_map(char::escape_debug).collect();
    if s.chars().count() > MAX_CHARS { format!("{escaped}…") } else { escaped }
}

pub fn check_name(name: &str, what: &str) -> ApiResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "`{}` is not a valid {what}: use 1-64 letters, digits, - _ . @",
            shown(name)
        )))
    }
}

/// Creates `admin` if there is no user yet. Returns the password when it was generated
/// here (to be shown once).
pub async fn ensure_first_admin(state: &AppState) -> Result<Option<String>, ApiError> {
    if state.store.user_count().await? > 0 {
        return Ok(None);
    }
    let (password, generated) = match std::env::var("SHEETSIGHT_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => (random_hex(8)?, true),
    };
    check_new_password(&password, "admin")
        .map_err(|e| ApiError::bad_request(format!("SHEETSIGHT_ADMIN_PASSWORD: {}", e.message)))?;
    state.store.put_user("admin", &hash_password(&password)?, Role::Admin.as_str(), UnixMillis::now()).await?;
    tracing::info!("created the first user `admin`");
    Ok(generated.then_some(password))
}

/// Sets (or creates) `admin` with `password`.
pub async fn set_admin_password(state: &AppState, password: &str) -> Result<(), ApiError> {
    check_new_password(password, "admin")?;
    state.store.put_user("admin", &hash_password(password)?, Role::Admin.as_str(), UnixMillis::now()).await?;
    Ok(())
}

pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A role read from the history. One that is not a role (a damaged or hand-edited
/// database) grants nothing: the request fails, and the log says whose role it is.
pub fn stored_role(text: &str, whose: &str) -> ApiResult<Role> {
    text.parse().map_err(|e: sheetsight_base::named::UnknownName| {
        tracing::error!(%whose, error = %e, "a stored role is damaged; set it again (`PUT /api/v1/users`)");
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            format!("the stored role of {whose} is damaged (the server's log says more); an admin must set it again"),
        )
    })
}

/// The token of an `Authorization: Bearer` header, if there is such a header; an error
/// for one that is not `Bearer <token>`.
pub fn bearer_token(headers: &HeaderMap) -> ApiResult<Option<&str>> {
    let Some(auth) = headers.get(header::AUTHORIZATION) else { return Ok(None) };
    // The scheme is case-insensitive (RFC 9110 11.1): `bearer` is `Bearer`.
    let token = auth
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .filter(|t| !t.is_empty());
    match token {
        Some(t) => Ok(Some(t)),
        None => Err(ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "the Authorization header must be `Bearer <token>`",
        )),
    }
}

/// The principal of a request, if its cookie or token is valid.
pub async fn identify(state: &AppState, headers: &HeaderMap) -> ApiResult<Option<Principal>> {
    if let Some(token) = bearer_token(headers)? {
        let Some(t) = state.store.token(&digest(token)).await? else {
            return Err(ApiError::new(axum::http::StatusCode::UNAUTHORIZED, "unknown or revoked API token"));
        };
        let role = stored_role(&t.role, &format!("token `{}`", t.name))?;
        return Ok(Some(Principal { name: format!("token:{}", t.name), role, via: "token", csrf: None }));
    }
    let Some(cookie) = cookie_value(headers, SESSION_COOKIE) else { return Ok(None) };
    let Some(s) = state.store.session(&digest(cookie), UnixMillis::now()).await? else { return Ok(None) };
    let role = stored_role(&s.user.role, &format!("user `{}`", s.user.name))?;
    Ok(Some(Principal { name: s.user.name, role, via: "session", csrf: Some(s.csrf) }))
}

/// Enforces the role of the matched route and, for browser sessions, the CSRF token on
/// every method that changes something. Public routes pass without a lookup.
pub async fn authorize(State(state): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let path = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    let method = req.method().clone();
    let Some(route) = path.as_deref().and_then(|p| crate::routes::find(&method, p)) else {
        // Every served route is in the table; anything else is refused, not let through.
        return ApiError::new(axum::http::StatusCode::NOT_FOUND, "no such route").into_response();
    };
    // Public routes (the page, its assets, the document, the login) need nobody: no
    // session lookup, and a stale token sent along does not stand in the way.
    let Some(needed) = route.role else { return next.run(req).await };
    let principal = match identify(&state, req.headers()).await {
        Ok(Some(p)) => p,
        Ok(None) => return ApiError::unauthorized().into_response(),
        Err(e) => return e.into_response(),
    };
    if principal.role < needed {
        return ApiError::forbidden(needed.as_str(), principal.role.as_str()).into_response();
    }
    let changes = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    if changes && principal.via == "session" {
        let sent = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        if sent.is_none() || sent != principal.csrf.as_deref() {
            return ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "missing or wrong X-CSRF-Token header (GET /api/v1/session gives it)",
            )
            .into_response();
        }
    }
    req.extensions_mut().insert(principal);
    next.run(req).await
}

/// Answers of the API are never cached: some carry secrets (a new token, a CSRF token),
/// and all are live figures.
pub async fn no_store(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let mut response = next.run(req).await;
    if api {
        response.headers_mut().insert(header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    }
    response
}

/// `Set-Cookie` for a new session (or, with `None`, one that ends it).
pub fn session_cookie(token: Option<&str>, max_age_s: u64) -> String {
    named_session_cookie(SESSION_COOKIE, token, max_age_s)
}

/// [`session_cookie`] under another cookie name (the hub's, which may share a host with
/// an edge: cookies do not tell ports apart).
pub fn named_session_cookie(name: &str, token: Option<&str>, max_age_s: u64) -> String {
    match token {
        Some(t) => format!("{name}={t}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_s}"),
        None => format!("{name}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_and_tokens() {
        let hash = hash_password("correct horse battery").expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse battery!", &hash));
        assert!(!verify_password("x", "not a hash"));
        assert_ne!(hash_password("same").expect("hash"), hash_password("same").expect("hash"), "salted");
        assert_eq!(random_hex(16).expect("random").len(), 32);
        assert_eq!(digest("abc").len(), 64);
        assert!(check_new_password("short", "otto").is_err() && check_new_password("long enough!", "otto").is_ok());
        for weak in ["          ", "aaaaaaaaaaaa", "abababababab", "ottootto12", &"x1".repeat(100)] {
            assert!(check_new_password(weak, "ottootto").is_err(), "{weak}");
        }
        assert_eq!(shown("a\nb\u{1b}[2J"), "a\\nb\\u{1b}[2J");
        assert_eq!(shown(&"x".repeat(300)).chars().count(), 41);
        assert!(check_name("otto", "user name").is_ok() && check_name("a b", "user name").is_err());
    }

    #[test]
    fn roles_are_ordered_and_cookies_parsed() {
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, "a=1; sheetsight_session=tok; b=2".parse().expect("header"));
        assert_eq!(cookie_value(&headers, SESSION_COOKIE), Some("tok"));
        assert_eq!(cookie_value(&headers, "c"), None);
        assert!(session_cookie(Some("t"), 60).contains("HttpOnly; SameSite=Strict"));
    }
}
