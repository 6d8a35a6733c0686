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

#[cfg(test)]
mod tests {
    /// The keys of one language's table in `i18n.js` (`"key": ...` at the start of an entry).
    fn keys(table: &str) -> std::collections::BTreeSet<String> {
        table
            .split(['{', ','])
            .filter_map(|entry| {
                let entry = entry.trim_start();
                let key = entry.strip_prefix('"')?.split('"').next()?;
                entry[key.len() + 2..].trim_start().starts_with(':').then(|| key.to_string())
            })
            .collect()
    }

    #[test]
    fn every_word_of_the_dashboard_is_in_both_languages() {
        let text = include_str!("../assets/i18n.js");
        let zh_at = text.find("\n  zh: {").expect("the Chinese table");
        let (en, zh) = (keys(&text[..zh_at]), keys(&text[zh_at..]));
        assert!(en.len() > 100 && en.contains("insp.verdict.fail"), "{} keys", en.len());
        let only_en: Vec<&String> = en.difference(&zh).collect();
        let only_zh: Vec<&String> = zh.difference(&en).collect();
        assert!(only_en.is_empty() && only_zh.is_empty(), "English only: {only_en:?}; Chinese only: {only_zh:?}");
    }
}
