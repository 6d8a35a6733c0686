//! What the web side keeps beside the history: users, their sessions and API tokens,
//! the notes people and other systems give machines (downtime reasons, jobs), and alerts.
//!
//! Secrets are never stored: passwords as argon2 PHC strings and tokens as SHA-256
//! digests, both made by the caller. Roles and note kinds are plain text checked by the
//! caller; this module stores what it is given.

use crate::outbox::Change;
use serde::Serialize;

use crate::sqlite::SqliteStore;
use crate::{StoreError, StoreErrorKind, UnixMillis};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UserRecord {
    pub name: String,
    #[serde(skip)]
    pub password_hash: String,
    pub role: String,
    pub created_ms: UnixMillis,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    pub user: UserRecord,
    pub csrf: String,
    pub expires_ms: UnixMillis,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenRecord {
    pub name: String,
    pub role: String,
    pub created_ms: UnixMillis,
}

/// A reason or a job given to a stretch of a machine's time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NoteRecord {
    pub id: i64,
    pub machine: String,
    pub kind: String,
    pub value: String,
    pub start_ms: UnixMillis,
    pub end_ms: Option<UnixMillis>,
    pub author: String,
    pub created_ms: UnixMillis,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AlertRecord {
    pub id: i64,
    pub rule: String,
    pub subject: String,
    pub message: String,
    pub raised_ms: UnixMillis,
    pub cleared_ms: Option<UnixMillis>,
    pub acked_by: Option<String>,
    pub acked_ms: Option<UnixMillis>,
}

type UserRow = (String, String, String, UnixMillis);
type NoteRow = (i64, String, String, String, UnixMillis, Option<UnixMillis>, String, UnixMillis);
type AlertRow = (i64, String, String, String, UnixMillis, Option<UnixMillis>, Option<String>, Option<UnixMillis>);

fn user(r: UserRow) -> UserRecord {
    UserRecord { name: r.0, password_hash: r.1, role: r.2, created_ms: r.3 }
}

fn note(r: NoteRow) -> NoteRecord {
    NoteRecord {
        id: r.0,
        machine: r.1,
        kind: r.2,
        value: r.3,
        start_ms: r.4,
        end_ms: r.5,
        author: r.6,
        created_ms: r.7,
    }
}

fn alert(r: AlertRow) -> AlertRecord {
    AlertRecord {
        id: r.0,
        rule: r.1,
        subject: r.2,
        message: r.3,
        raised_ms: r.4,
        cleared_ms: r.5,
        acked_by: r.6,
        acked_ms: r.7,
    }
}

impl SqliteStore {
    pub async fn user_count(&self) -> Result<i64, StoreError> {
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM app_user")
            .fetch_one(self.pool())
            .await
            .map_err(StoreError::io("counting users"))?;
        Ok(n)
    }

    /// Adds a user, or replaces the password and role of an existing one.
    pub async fn put_user(
        &self,
        name: &str,
        password_hash: &str,
        role: &str,
        now: UnixMillis,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO app_user (name, password_hash, role, created_ms) VALUES (?, ?, ?, ?) \
             ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, role = excluded.role",
        )
        .bind(name)
        .bind(password_hash)
        .bind(role)
        .bind(now)
        .execute(self.pool())
        .await
        .map_err(StoreError::io("storing a user"))?;
        Ok(())
    }

    /// The user of `name`, in any case (`Admin` finds `admin`).
    pub async fn user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        let row: Option<UserRow> =
            sqlx::query_as("SELECT name, password_hash, role, created_ms FROM app_user WHERE name = ? COLLATE NOCASE")
                .bind(name)
                .fetch_optional(self.pool())
                .await
                .map_err(StoreError::io("reading a user"))?;
        Ok(row.map(user))
    }

    pub async fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let rows: Vec<UserRow> =
            sqlx::query_as("SELECT name, password_hash, role, created_ms FROM app_user ORDER BY name")
                .fetch_all(self.pool())
                .await
                .map_err(StoreError::io("reading users"))?;
        Ok(rows.into_iter().map(user).collect())
    }

    pub async fn admin_count(&self) -> Result<i64, StoreError> {
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM app_user WHERE role = 'admin'")
            .fetch_one(self.pool())
            .await
            .map_err(StoreError::io("counting admins"))?;
        Ok(n)
    }

    /// Ends every session of `name` (its password changed).
    pub async fn delete_sessions_of(&self, name: &str) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM app_session WHERE user_name = ?")
            .bind(name)
            .execute(self.pool())
            .await
            .map_err(StoreError::io("ending a user's sessions"))?;
        Ok(done.rows_affected())
    }

    /// Deletes a user and its sessions; false if there was none.
    pub async fn delete_user(&self, name: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM app_user WHERE name = ?")
            .bind(name)
            .execute(self.pool())
            .await
            .map_err(StoreError::io("deleting a user"))?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn put_session(
        &self,
        token_hash: &str,
        user: &str,
        csrf: &str,
        expires_ms: UnixMillis,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO app_session (token_hash, user_name, csrf, expires_ms) VALUES (?, ?, ?, ?)")
            .bind(token_hash)
            .bind(user)
            .bind(csrf)
            .bind(expires_ms)
            .execute(self.pool())
            .await
            .map_err(StoreError::io("storing a session"))?;
        Ok(())
    }

    /// The session of a token that has not expired at `now`.
    pub async fn session(&self, token_hash: &str, now: UnixMillis) -> Result<Option<SessionRecord>, StoreError> {
        let row: Option<(String, String, String, UnixMillis, String, UnixMillis)> = sqlx::query_as(
            "SELECT u.name, u.password_hash, u.role, u.created_ms, s.csrf, s.expires_ms \
             FROM app_session s JOIN app_user u ON u.name = s.user_name WHERE s.token_hash = ? AND s.expires_ms > ?",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await
        .map_err(StoreError::io("reading a session"))?;
        Ok(row.map(|r| SessionRecord { user: user((r.0, r.1, r.2, r.3)), csrf: r.4, expires_ms: r.5 }))
    }

    /// Deletes one session, and every expired one.
    pub async fn delete_session(&self, token_hash: &str, now: UnixMillis) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM app_session WHERE token_hash = ? OR expires_ms <= ?")
            .bind(token_hash)
            .bind(now)
            .execute(self.pool())
            .await
            .map_err(StoreError::io("deleting a session"))?;
        Ok(())
    }

    pub async fn put_token(&self, token_hash: &str, name: &str, role: &str, now: UnixMillis) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO api_token (token_hash, name, role, created_ms) VALUES (?, ?, ?, ?)")
            .bind(token_hash)
            .bind(name)
            .bind(role)
            .bind(now)
            .execute(self.pool())
            .await
            .map_err(|e| {
                let kind = if e.as_database_error().is_some_and(|d| d.is_unique_violation()) {
                    StoreErrorKind::Conflict
                } else {
                    StoreErrorKind::Io
                };
                StoreError::new(kind, "storing an API token", e)
            })?;
        Ok(())
    }

    pub async fn token(&self, token_hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        let row: Option<(String, String, UnixMillis)> =
            sqlx::query_as("SELECT name, role, created_ms FROM api_token WHERE token_hash = ?")
                .bind(token_hash)
                .fetch_optional(self.pool())
                .await
                .map_err(StoreError::io("reading an API token"))?;
        Ok(row.map(|r| TokenRecord { name: r.0, role: r.1, created_ms: r.2 }))
    }

    pub async fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let rows: Vec<(String, String, UnixMillis)> =
            sqlx::query_as("SELECT name, role, created_ms FROM api_token ORDER BY name")
                .fetch_all(self.pool())
                .await
                .map_err(StoreError::io("reading API tokens"))?;
        Ok(rows.into_iter().map(|r| TokenRecord { name: r.0, role: r.1, created_ms: r.2 }).collect())
    }

    pub async fn delete_token(&self, name: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM api_token WHERE name = ?")
            .bind(name)
            .execute(self.pool())
            .await
            .map_err(StoreError::io("deleting an API token"))?;
        Ok(done.rows_affected() > 0)
    }

    /// Stores a note. A `job` closes the machine's open job at its start.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_note(
        &self,
        machine: &str,
        kind: &str,
        value: &str,
        start_ms: UnixMillis,
        end_ms: Option<UnixMillis>,
        author: &str,
        now: UnixMillis,
    ) -> Result<NoteRecord, StoreError> {
        let io = StoreError::io("storing a note");
        let mut tx = self.pool().begin().await.map_err(StoreError::io("storing a note"))?;
        if kind == "job" {
            sqlx::query(
                "UPDATE machine_note SET end_ms = max(start_ms, ?) WHERE machine = ? AND kind = 'job' AND end_ms IS NULL",
            )
            .bind(start_ms)
            .bind(machine)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::io("storing a note"))?;
        }
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO machine_note (machine, kind, value, start_ms, end_ms, author, created_ms) \
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(machine)
        .bind(kind)
        .bind(value)
        .bind(start_ms)
        .bind(end_ms)
        .bind(author)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::io("storing a note"))?;
        if let Some(outbox) = &self.outbox {
            let change = Change::Note {
                machine: machine.into(),
                kind: kind.into(),
                value: value.into(),
                start: start_ms,
                end: end_ms,
                author: author.into(),
                created: now,
            };
            outbox.push(&mut tx, &change, 0).await?;
        }
        tx.commit().await.map_err(io)?;
        Ok(NoteRecord {
            id,
            machine: machine.into(),
            kind: kind.into(),
            value: value.into(),
            start_ms,
            end_ms,
            author: author.into(),
            created_ms: now,
        })
    }

    /// Notes of a machine (all machines: `None`) that overlap `from..to`, oldest first.
    pub async fn notes(
        &self,
        machine: Option<&str>,
        from: UnixMillis,
        to: UnixMillis,
    ) -> Result<Vec<NoteRecord>, StoreError> {
        let rows: Vec<NoteRow> = sqlx::query_as(
            "SELECT id, machine, kind, value, start_ms, end_ms, author, created_ms FROM machine_note \
             WHERE (?1 IS NULL OR machine = ?1) AND start_ms < ?3 AND (end_ms IS NULL OR end_ms > ?2) \
             ORDER BY start_ms, id",
        )
        .bind(machine)
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::io("reading notes"))?;
        Ok(rows.into_iter().map(note).collect())
    }

    pub async fn raise_alert(
        &self,
        rule: &str,
        subject: &str,
        message: &str,
        at: UnixMillis,
    ) -> Result<i64, StoreError> {
        let io = StoreError::io("storing an alert");
        let mut tx = self.pool().begin().await.map_err(StoreError::io("storing an alert"))?;
        let (id,): (i64,) =
            sqlx::query_as("INSERT INTO alert (rule, subject, message, raised_ms) VALUES (?, ?, ?, ?) RETURNING id")
                .bind(rule)
                .bind(subject)
                .bind(message)
                .bind(at)
                .fetch_one(&mut *tx)
                .await
                .map_err(StoreError::io("storing an alert"))?;
        if let Some(outbox) = &self.outbox {
            let change =
                Change::AlertRaised { id, rule: rule.into(), subject: subject.into(), message: message.into(), at };
            outbox.push(&mut tx, &change, 0).await?;
        }
        tx.commit().await.map_err(io)?;
        Ok(id)
    }

    pub async fn clear_alert(&self, id: i64, at: UnixMillis) -> Result<(), StoreError> {
        let io = StoreError::io("clearing an alert");
        let mut tx = self.pool().begin().await.map_err(StoreError::io("clearing an alert"))?;
        let done = sqlx::query("UPDATE alert SET cleared_ms = ? WHERE id = ? AND cleared_ms IS NULL")
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::io("clearing an alert"))?;
        if let Some(outbox) = &self.outbox
            && done.rows_affected() > 0
        {
            outbox.push(&mut tx, &Change::AlertCleared { id, at }, 0).await?;
        }
        tx.commit().await.map_err(io)
    }

    /// Acknowledges an alert; false if there is no such alert or it was acknowledged.
    pub async fn ack_alert(&self, id: i64, by: &str, at: UnixMillis) -> Result<bool, StoreError> {
        let io = StoreError::io("acknowledging an alert");
        let mut tx = self.pool().begin().await.map_err(StoreError::io("acknowledging an alert"))?;
        let done = sqlx::query("UPDATE alert SET acked_by = ?, acked_ms = ? WHERE id = ? AND acked_ms IS NULL")
            .bind(by)
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::io("acknowledging an alert"))?;
        let acked = done.rows_affected() > 0;
        if let Some(outbox) = &self.outbox
            && acked
        {
            outbox.push(&mut tx, &Change::AlertAcked { id, by: by.into(), at }, 0).await?;
        }
        tx.commit().await.map_err(io)?;
        Ok(acked)
    }

    /// Alerts not yet acknowledged.
    pub async fn open_alert_count(&self) -> Result<usize, StoreError> {
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM alert WHERE acked_ms IS NULL")
            .fetch_one(self.pool())
            .await
            .map_err(StoreError::io("counting alerts"))?;
        Ok(n as usize)
    }

    pub async fn alert(&self, id: i64) -> Result<Option<AlertRecord>, StoreError> {
        let row: Option<AlertRow> = sqlx::query_as(
            "SELECT id, rule, subject, message, raised_ms, cleared_ms, acked_by, acked_ms FROM alert WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(StoreError::io("reading an alert"))?;
        Ok(row.map(alert))
    }

    /// Alerts not yet acknowledged (`unacked_only`), or all raised in `from..to`; newest first.
    pub async fn alerts(
        &self,
        unacked_only: bool,
        from: UnixMillis,
        to: UnixMillis,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<AlertRecord>, StoreError> {
        let rows: Vec<AlertRow> = sqlx::query_as(
            "SELECT id, rule, subject, message, raised_ms, cleared_ms, acked_by, acked_ms FROM alert \
             WHERE (?1 = 0 OR acked_ms IS NULL) AND raised_ms >= ?2 AND raised_ms < ?3 \
             ORDER BY raised_ms DESC, id DESC LIMIT ?4 OFFSET ?5",
        )
        .bind(unacked_only)
        .bind(from)
        .bind(to)
        .bind(limit)
        .bind(offset)
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::io("reading alerts"))?;
        Ok(rows.into_iter().map(alert).collect())
    }
}
