//! `[downtime]`: the reasons an operator picks for a stop.
//!
//! ```toml
//! [downtime]
//! reasons = ["Waiting for material", "Tool change", "Maintenance"]
//! ```

use serde::Deserialize;
use toml::Spanned;

use crate::diagnostics::Checker;

/// Longest reason, in characters.
const MAX_REASON_CHARS: usize = 80;

/// The reasons an operator picks for a stop.
#[derive(Clone, Debug, PartialEq)]
pub struct DowntimeConfig {
    pub reasons: Vec<String>,
}

impl Default for DowntimeConfig {
    fn default() -> Self {
        Self {
            reasons: [
                "Waiting for material",
                "Tool change",
                "Setup",
                "Maintenance",
                "Breakdown",
                "Break",
                "No operator",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDowntime {
    reasons: Spanned<Vec<Spanned<String>>>,
}

pub(crate) fn check_downtime(c: &Checker<'_>, raw: Option<&RawDowntime>) -> DowntimeConfig {
    let Some(raw) = raw else { return DowntimeConfig::default() };
    let mut reasons: Vec<String> = Vec::new();
    for r in raw.reasons.get_ref() {
        let text = r.get_ref().trim();
        if text.is_empty() || text.chars().count() > MAX_REASON_CHARS || reasons.iter().any(|x| x == text) {
            let message = format!("each reason must be 1-{MAX_REASON_CHARS} characters and differ");
            c.report(r.span(), "downtime.reasons", message);
        }
        reasons.push(text.to_string());
    }
    if reasons.is_empty() {
        c.report(raw.reasons.span(), "downtime.reasons", "list at least one reason");
    }
    DowntimeConfig { reasons }
}
