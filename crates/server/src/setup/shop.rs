//! The shop's settings in the set-up page: shifts, downtime reasons and the times of the
//! shift or daily summary. Saved into the configuration file (`[[shift]]`,
//! `[downtime] reasons`, `[alerts] summary_at`) like every set-up change, and in effect
//! at once: reports, alerts and the summary read them from the running configuration.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use sheetsight_config::shift::DAY_NAMES;
use sheetsight_config::{Config, ConfigErrors};
use toml_edit::{Array, ArrayOfTables, Item, Table};

use super::config_file::{EditError, document};
use super::{Setup, check_and_write_with, edit_error, editable, refused_in, setup_of};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiJson, ApiResult};

/// A shift as the page shows and sends it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ShiftForm {
    pub name: String,
    /// `HH:MM`.
    pub start: String,
    pub end: String,
    /// `mon` ... `sun`; every day when empty.
    #[serde(default)]
    pub days: Vec<String>,
    /// IANA name; UTC when absent.
    #[serde(default)]
    pub time_zone: Option<String>,
}

/// The shop's settings; a key left out is left as it is.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct ShopForm {
    /// Empty: no shifts (whole days).
    pub shifts: Option<Vec<ShiftForm>>,
    pub downtime_reasons: Option<Vec<String>>,
    /// `HH:MM` local times; empty: no summary.
    pub summary_at: Option<Vec<String>>,
}

/// The shop's settings as configured.
pub fn view(config: &Config) -> ShopForm {
    ShopForm {
        shifts: Some(
            config
                .shifts
                .iter()
                .map(|s| ShiftForm {
                    name: s.name.clone(),
                    start: s.start.format("%H:%M").to_string(),
                    end: s.end.format("%H:%M").to_string(),
                    days: if s.days.iter().all(|d| *d) {
                        Vec::new()
                    } else {
                        DAY_NAMES.iter().zip(s.days).filter(|(_, on)| *on).map(|(d, _)| d.to_string()).collect()
                    },
                    time_zone: Some(s.time_zone.name().to_string()),
                })
                .collect(),
        ),
        downtime_reasons: Some(config.downtime.reasons.clone()),
        summary_at: Some(config.alerts.summary_at.iter().map(|t| t.format("%H:%M").to_string()).collect()),
    }
}

fn strings(items: &[String]) -> Array {
    items.iter().map(String::as_str).collect()
}

/// The text with the settings `form` gives.
pub fn edit(text: &str, form: &ShopForm) -> Result<String, EditError> {
    let mut doc = document(text)?;
    if let Some(shifts) = &form.shifts {
        doc.remove("shift");
        if !shifts.is_empty() {
            let mut all = ArrayOfTables::new();
            for s in shifts {
                let mut t = Table::new();
                t.insert("name", toml_edit::value(s.name.as_str()));
                t.insert("start", toml_edit::value(s.start.as_str()));
                t.insert("end", toml_edit::value(s.end.as_str()));
                if !s.days.is_empty() {
                    t.insert("days", toml_edit::value(strings(&s.days)));
                }
                if let Some(z) = s.time_zone.as_deref().filter(|z| !z.is_empty()) {
                    t.insert("time_zone", toml_edit::value(z));
                }
                all.push(t);
            }
            doc.insert("shift", Item::ArrayOfTables(all));
        }
    }
    let mut set = |table: &str, key: &str, value: Option<Array>| {
        if doc.get(table).is_none() {
            if value.is_none() {
                return;
            }
            doc.insert(table, Item::Table(Table::new()));
        }
        if let Some(t) = doc.get_mut(table).and_then(Item::as_table_like_mut) {
            match value {
                Some(v) => {
                    t.insert(key, toml_edit::value(v));
                }
                None => {
                    t.remove(key);
                }
            }
        }
    };
    if let Some(reasons) = &form.downtime_reasons {
        set("downtime", "reasons", Some(strings(reasons)));
    }
    if let Some(times) = &form.summary_at {
        set("alerts", "summary_at", (!times.is_empty()).then(|| strings(times)));
    }
    Ok(doc.to_string())
}

/// The form field a configuration key concerns: `shift[1].start` is `shifts[1]`.
fn shop_field(key: &str) -> String {
    if let Some(rest) = key.strip_prefix("shift[") {
        return format!("shifts[{}", rest.split_once('.').map_or(rest, |(i, _)| i));
    }
    match key {
        "downtime.reasons" => "downtime_reasons".into(),
        "alerts.summary_at" => "summary_at".into(),
        other => other.to_string(),
    }
}

fn refused(errors: &ConfigErrors) -> ApiError {
    refused_in(errors, shop_field)
}

/// `PUT /api/v1/setup/shop`.
pub async fn change(
    State(state): State<Arc<AppState>>,
    axum::Extension(p): axum::Extension<Principal>,
    ApiJson(form): ApiJson<ShopForm>,
) -> ApiResult<Json<Setup>> {
    if let Some(reasons) = &form.downtime_reasons
        && reasons.is_empty()
    {
        return Err(ApiError::field("downtime_reasons", "give at least one downtime reason"));
    }
    let _guard = state.config_write.lock().await;
    let old = editable(&state)?;
    let text = edit(old.text(), &form).map_err(edit_error)?;
    let new = check_and_write_with(&state, &old, text, refused).await?;
    state.set_config(new).await;
    tracing::info!(by = %p.name, file = %old.path.display(),
        shifts = form.shifts.is_some(), reasons = form.downtime_reasons.is_some(), summary_at = form.summary_at.is_some(),
        "shop settings changed");
    Ok(Json(setup_of(&state)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_replace_their_keys_and_keep_the_rest() {
        let text = "# our shop\n[downtime]\nreasons = [\"Setup\"] # short list\n\n[[shift]]\nname = \"early\"\nstart = \"06:00\"\nend = \"14:00\"\n";
        let form = ShopForm {
            shifts: Some(vec![
                ShiftForm {
                    name: "day".into(),
                    start: "08:00".into(),
                    end: "20:00".into(),
                    days: vec!["mon".into()],
                    time_zone: Some("Asia/Shanghai".into()),
                },
                ShiftForm {
                    name: "night".into(),
                    start: "20:00".into(),
                    end: "08:00".into(),
                    days: vec![],
                    time_zone: None,
                },
            ]),
            downtime_reasons: Some(vec!["换模".into(), "Waiting for material".into()]),
            summary_at: Some(vec!["20:00".into()]),
        };
        let out = edit(text, &form).expect("edit");
        assert!(out.starts_with("# our shop\n"), "{out}");
        assert!(!out.contains("early"), "{out}");
        let doc: toml_edit::DocumentMut = out.parse().expect("toml");
        assert_eq!(doc["shift"].as_array_of_tables().map(|a| a.len()), Some(2), "{out}");
        assert_eq!(doc["shift"][0]["time_zone"].as_str(), Some("Asia/Shanghai"));
        assert!(doc["shift"][1].get("days").is_none(), "every day: no key");
        assert_eq!(doc["downtime"]["reasons"][0].as_str(), Some("换模"));
        assert_eq!(doc["alerts"]["summary_at"][0].as_str(), Some("20:00"));
        // No shifts and no summary: the keys go.
        let out = edit(&out, &ShopForm { shifts: Some(vec![]), summary_at: Some(vec![]), ..Default::default() })
            .expect("edit");
        let doc: toml_edit::DocumentMut = out.parse().expect("toml");
        assert!(doc.get("shift").is_none() && doc["alerts"].get("summary_at").is_none(), "{out}");
        assert_eq!(doc["downtime"]["reasons"].as_array().map(|a| a.len()), Some(2), "left as it was");
        assert_eq!(shop_field("shift[1].start"), "shifts[1]");
        assert_eq!(shop_field("alerts.summary_at"), "summary_at");
    }
}
