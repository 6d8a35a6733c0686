//! Who may read the hub: users (argon2id password hashes), API tokens and browser
//! sessions (SHA-256 digests only), each of one shop or of the platform (`shop` `None`:
//! every shop). Hashing and digesting happen in the web server; this file stores.

use super::{PgDatabase, io};
use crate::{StoreError, StoreErrorKind, UnixMillis};

/// A principal's reach: one shop, or every shop.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct HubPrincipal {
    pub name: String,
    /// `None`: a platform user or token.
    pub shop: Option<String>,
    /// `session` or `token`.
    pub via: &'static str,
    /// The session's CSRF token.
    #[serde(skip)]
    pub csrf: Option<String>,
}

impl HubPrincipal {
    /// The `sheetsight.shop` scope of this principal: its shop, or `*`.
    pub fn scope(&self) -> &str {
        self.shop.as_deref().unwrap_or("*")
    }

    pub fn may_read(&self, shop: &str) -> bool {
        self.shop.as_deref().is_none_or(|mine| mine == shop)
    }
}

impl PgDatabase {
    /// Adds a user or sets its password and shop.
    pub async fn put_hub_user(
        &self,
        name: &str,
        password_hash: &str,
        shop: Option<&str>,
        now: UnixMillis,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO hub_user (name, password_hash, shop_id, created_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET password_hash = $2, shop_id = $3",
        )
        .bind(name)
        .bind(password_hash)
        .bind(shop)
        .bind(now)
        .execute(self.pool())
        .await
        .map_err(unknown_shop("storing a hub user"))?;
        // A new password or shop ends the user's sessions.
        sqlx::query("DELETE FROM hub_session WHERE user_name = $1")
            .bind(name)
            .execute(self.pool())
            .await
            .map_err(io("ending a hub user's sessions"))?;
        Ok(())
    }

    /// A user's password hash and shop.
    pub async fn hub_user(&self, name: &str) -> Result<Option<(String, Option<String>)>, StoreError> {
        sqlx::query_as("SELECT password_hash, shop_id FROM hub_user WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await
            .map_err(io("reading a hub user"))
    }

    /// Adds an API token (its digest) named `name`.
    pub async fn add_hub_token(
        &self,
        name: &str,
        digest: &str,
        shop: Option<&str>,
        now: UnixMillis,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO hub_token (digest, name, shop_id, created_ms) VALUES ($1, $2, $3, $4)")
            .bind(digest)
            .bind(name)
            .bind(shop)
            .bind(now)
            .execute(self.pool())
            .await
            .map_err(unknown_shop("storing a hub token"))?;
        Ok(())
    }

    /// The principal of a token digest.
    pub async fn hub_token(&self, digest: &str) -> Result<Option<HubPrincipal>, StoreError> {
        let row: Option<(String, Option<String>)> =
            sqlx::query_as("SELECT name, shop_id FROM hub_token WHERE digest = $1")
                .bind(digest)
                .fetch_optional(self.pool())
                .await
                .map_err(io("reading a hub token"))?;
        Ok(row.map(|(name, shop)| HubPrincipal { name, shop, via: "token", csrf: None }))
    }

    pub async fn add_hub_session(
        &self,
        digest: &str,
        user: &str,
        csrf: &str,
        expires: UnixMillis,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO hub_session (digest, user_name, csrf, expires_ms) VALUES ($1, $2, $3, $4)")
            .bind(digest)
            .bind(user)
            .bind(csrf)
            .bind(expires)
            .execute(self.pool())
            .await
            .map_err(io("storing a hub session"))?;
        Ok(())
    }

    /// The principal of a session digest that has not expired at `now`.
    pub async fn hub_session(&self, digest: &str, now: UnixMillis) -> Result<Option<HubPrincipal>, StoreError> {
        let row: Option<(String, Option<String>, String)> = sqlx::query_as(
            "SELECT u.name, u.shop_id, s.csrf FROM hub_session s JOIN hub_user u ON u.name = s.user_name \
             WHERE s.digest = $1 AND s.expires_ms > $2",
        )
        .bind(digest)
        .bind(now)
        .fetch_optional(self.pool())
        .await
        .map_err(io("reading a hub session"))?;
        Ok(row.map(|(name, shop, csrf)| HubPrincipal { name, shop, via: "session", csrf: Some(csrf) }))
    }

    /// Ends a session, and every expired one.
    pub async fn end_hub_session(&self, digest: &str, now: UnixMillis) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM hub_session WHERE digest = $1 OR expires_ms <= $2")
            .bind(digest)
            .bind(now)
            .execute(self.pool())
            .await
            .map_err(io("ending a hub session"))?;
        Ok(())
    }
}

/// A shop that does not exist is the caller's mistake, named as such.
fn unknown_shop(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| {
        let kind = match &e {
            sqlx::Error::Database(d) if d.is_foreign_key_violation() => StoreErrorKind::NotFound,
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreErrorKind::Conflict,
            _ => StoreErrorKind::Io,
        };
        StoreError::new(kind, what, e)
    }
}
