//! The one error type of storage, with a kind a caller can act on.

/// What went wrong, coarsely.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreErrorKind {
    /// The database cannot be opened or created (path, permissions, not a database).
    Open,
    /// The schema could not be brought to this version.
    Migrate,
    /// A read or write failed (disk full, locked too long, I/O).
    Io,
    /// A stored value is not one this version understands.
    Corrupt,
    /// The row exists already (a unique name taken).
    Conflict,
    /// A row it refers to does not exist (a shop that was never added).
    NotFound,
}

/// The cause of a [`StoreError`]: the database's or the file system's own error.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
#[error("{what}")]
pub struct StoreError {
    pub kind: StoreErrorKind,
    /// What was being done, e.g. `opening /var/lib/sheetsight/history.db`.
    pub what: String,
    /// Why it failed. Its text may quote the database: it goes to the log, never to an
    /// API client (the server answers with `what` alone).
    #[source]
    pub source: Cause,
}

impl StoreError {
    pub fn new(kind: StoreErrorKind, what: impl Into<String>, source: impl Into<Cause>) -> Self {
        Self { kind, what: what.into(), source: source.into() }
    }

    pub(crate) fn io(what: &str) -> impl FnOnce(sqlx::Error) -> Self + '_ {
        move |e| Self::new(StoreErrorKind::Io, what, e)
    }
}
