//! The one error type of stations, with a kind the API maps to a status.

use sheetsight_store::StoreError;

/// What a caller can do about a [`StationError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// No such station, part or inspection.
    NotFound,
    /// The input is not what it must be (not a picture, too large, a broken drawing).
    BadInput,
    /// The picture was taken but is no inspection: an empty table, a washed-out photo,
    /// a part that is not the drawing's. Nothing was stored.
    Refused,
    /// The station's camera or calibration cannot be used now.
    Unavailable,
    /// The station is inspecting already.
    Busy,
    /// Storing failed.
    Internal,
}

#[derive(Debug, thiserror::Error)]
pub enum StationError {
    #[error("no station `{0}`")]
    UnknownStation(String),
    #[error("no part `{part}`{} in the parts library", revision.as_ref().map(|r| format!(" revision `{r}`")).unwrap_or_default())]
    UnknownPart { part: String, revision: Option<String> },
    #[error("the parts library has no drawing to match the part against: add the part's drawing first")]
    EmptyLibrary,
    #[error("{what}: {message}")]
    BadInput { what: String, message: String },
    #[error("{0}")]
    Refused(String),
    #[error("station `{station}`: {message}")]
    Unavailable { station: String, message: String },
    #[error("station `{0}` is inspecting already; try again when it is done")]
    Busy(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
}

impl StationError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::UnknownStation(_) | Self::UnknownPart { .. } => ErrorKind::NotFound,
            Self::BadInput { .. } => ErrorKind::BadInput,
            Self::EmptyLibrary | Self::Refused(_) => ErrorKind::Refused,
            Self::Unavailable { .. } => ErrorKind::Unavailable,
            Self::Busy(_) => ErrorKind::Busy,
            Self::Store(_) | Self::Io { .. } => ErrorKind::Internal,
        }
    }

    pub(crate) fn bad(what: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadInput { what: what.into(), message: message.into() }
    }
}
