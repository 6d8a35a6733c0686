//! Users and API tokens (admin only): `/api/v1/users`, `/api/v1/tokens`.
//!
//! Invariants: user names are unique whatever their case (`ADMIN` is `admin`); there is
//! always at least one admin (a change or deletion that would leave none is refused); a
//! new password ends every session of its user.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use sheetsight_store::UnixMillis;
use sheetsight_store::site::{TokenRecord, UserRecord};

use crate::AppState;
use crate::auth::{self, Principal, Role};
use crate::error::{ApiError, ApiJson, ApiResult};

pub async fn users(State(state): State<Arc<AppState>>) -> ApiResult<Json<Vec<UserRecord>>> {
    Ok(Json(state.store.users().await?))
}

#[derive(Deserialize)]
pub struct UserBody {
    pub name: String,
    pub password: String,
    pub role: String,
}

fn role(s: &str) -> ApiResult<Role> {
    s.parse()
        .map_err(|_| ApiError::bad_request(format!("`{}` is not a role: viewer, operator or admin", auth::shown(s))))
}

/// The only admin would stop being one.
fn last_admin(what: &str) -> ApiError {
    ApiError::conflict(format!("{what} would leave no admin: make another user admin first"))
}

pub async fn put_user(
    State(state): State<Arc<AppState>>,
    ApiJson(body): ApiJson<UserBody>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    auth::check_name(&body.name, "user name")?;
    auth::check_new_password(&body.password, &body.name)?;
    let role = role(&body.role)?;
    // An existing user in another case is that user: names are unique whatever their case.
    let existing = state.store.user(&body.name).await?;
    let name = existing.as_ref().map_or(body.name.clone(), |u| u.name.clone());
    if existing.as_ref().is_some_and(|u| u.role == Role::Admin.as_str())
        && role != Role::Admin
        && state.store.admin_count().await? <= 1
    {
        return Err(last_admin(&format!("making `{name}` {}", role.as_str())));
    }
    let hash = auth::hash_password_off_thread(body.password).await?;
    state.store.put_user(&name, &hash, role.as_str(), UnixMillis::now()).await?;
    if existing.is_some() {
        let ended = state.store.delete_sessions_of(&name).await?;
        tracing::info!(user = %name, role = role.as_str(), sessions_ended = ended, "user changed");
    } else {
        tracing::info!(user = %name, role = role.as_str(), "user added");
    }
    Ok((StatusCode::CREATED, Json(serde_json::json!({"name": name, "role": role}))))
}

pub async fn delete_user(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    let Some(user) = state.store.user(&name).await? else {
        return Err(ApiError::not_found(format!("no user `{}`", auth::shown(&name))));
    };
    if p.name == user.name {
        return Err(ApiError::conflict("you cannot delete yourself"));
    }
    if user.role == Role::Admin.as_str() && state.store.admin_count().await? <= 1 {
        return Err(last_admin(&format!("deleting `{}`", user.name)));
    }
    state.store.delete_user(&user.name).await?;
    tracing::info!(user = %user.name, by = %p.name, "user deleted");
    Ok(StatusCode::NO_CONTENT)
}

pub async fn tokens(State(state): State<Arc<AppState>>) -> ApiResult<Json<Vec<TokenRecord>>> {
    Ok(Json(state.store.tokens().await?))
}

#[derive(Deserialize)]
pub struct TokenBody {
    pub name: String,
    pub role: String,
}

pub async fn create_token(
    State(state): State<Arc<AppState>>,
    ApiJson(body): ApiJson<TokenBody>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    auth::check_name(&body.name, "token name")?;
    let role = role(&body.role)?;
    let token = format!("sst_{}", auth::random_hex(24)?);
    // A taken name is a 409 "storing an API token: it exists already" (ApiError's From).
    state.store.put_token(&auth::digest(&token), &body.name, role.as_str(), UnixMillis::now()).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({"name": body.name, "role": role, "token": token}))))
}

pub async fn delete_token(State(state): State<Arc<AppState>>, Path(name): Path<String>) -> ApiResult<StatusCode> {
    if state.store.delete_token(&name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no token `{}`", auth::shown(&name))))
    }
}
