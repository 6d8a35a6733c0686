//! The dashboard's files, compiled into the binary: one HTML page, one script, one style
//! sheet, no build step and nothing fetched from elsewhere. The page logs in, then reads
//! the API and the live events like any other client.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// (name, content type, bytes) of every asset.
pub const ASSETS: &[(&str, &str, &str)] = &[
    ("app.js", "text/javascript; charset=utf-8", include_str!("../assets/app.js")),
    ("app.css", "text/css; charset=utf-8", include_str!("../assets/app.css")),
    ("i18n.js", "text/javascript; charset=utf-8", include_str!("../assets/i18n.js")),
    ("charts.js", "text/javascript; charset=utf-8", include_str!("../assets/charts.js")),
    ("reports.js", "text/javascript; charset=utf-8", include_str!("../assets/reports.js")),
    ("setup.js", "text/javascript; charset=utf-8", include_str!("../assets/setup.js")),
    ("inspection.js", "text/javascript; charset=utf-8", include_str!("../assets/inspection.js")),
];

pub const INDEX_HTML: &str = include_str!("../assets/index.html");

/// A strict policy: only this server's own scripts, styles and images.
const CSP: &str = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; \
                   connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

pub async fn index() -> Response {
    page(INDEX_HTML)
}

/// An HTML page of the binary, under the strict policy.
pub fn page(html: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        html,
    )
        .into_response()
}

pub async fn asset(file: Path<String>) -> Result<Response, ApiError> {
    asset_of(ASSETS, file).await
}

/// The asset `file` of `assets` ((name, content type, bytes)).
pub async fn asset_of(assets: &'static [(&str, &str, &str)], Path(file): Path<String>) -> Result<Response, ApiError> {
    let Some((_, content_type, body)) = assets.iter().find(|(name, _, _)| *name == file) else {
        return Err(ApiError::not_found(format!("no asset `{}`", crate::auth::shown(&file))));
    };
    Ok((
        [
            (header::CONTENT_TYPE, *content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        *body,
    )
        .into_response())
}
