//! The set-up pages' back end (admins only): cameras tested, added, changed and removed,
//! machines added and removed, and stack lights found in a camera's picture, all
//! without a restart and without editing the file by hand.
//!
//! Every change is made to the configuration file's text ([`config_file`]), checked
//! exactly as `sheetsight run` checks it (and its regions against the camera's frame
//! size when the camera streams), written atomically with a `.bak`, then applied to the
//! running service; a change that does not check is refused with the form field it
//! concerns and nothing is saved. Every change is logged with who made it.

pub mod camera_test;
pub mod config_file;
pub mod find_lamps;
pub mod shop;

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path as UrlPath, State};
use serde::{Deserialize, Serialize};
use sheetsight_config::{Config, ConfigErrors};

use crate::auth::Principal;
use crate::error::{ApiError, ApiJson, ApiQuery, ApiResult};
use crate::{AppState, Notice};
use config_file::{CameraForm, EditError, MachineForm};

/// The form field a configuration key concerns: `camera[2].source` is `source`,
/// `machine[0].lamp[1].roi` is `lamps[1]`, `machine[0].motion.roi` is `motion_roi`.
fn form_field(key: &str) -> String {
    let Some((_, rest)) = key.split_once('.') else { return key.to_string() };
    if let Some(lamp) = rest.strip_prefix("lamp[") {
        return format!("lamps[{}", lamp.split_once('.').map_or(lamp, |(l, _)| l));
    }
    match rest {
        "motion.roi" => "motion_roi".into(),
        other => other.split('.').next().unwrap_or(other).to_string(),
    }
}

/// A refused configuration: the first error with its field, every error in the message.
fn refused(errors: &ConfigErrors) -> ApiError {
    refused_in(errors, form_field)
}

/// [`refused`], with the form field of a key given by `field_of`.
fn refused_in(errors: &ConfigErrors, field_of: fn(&str) -> String) -> ApiError {
    let first = errors.first();
    let all: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.key, e.message)).collect();
    ApiError::field(field_of(&first.key), all.join("; "))
}

fn edit_error(e: EditError) -> ApiError {
    match e {
        EditError::Missing { .. } => ApiError::not_found(e.to_string()),
        other => ApiError::conflict(sheetsight_base::error::with_causes(&other)),
    }
}

/// The running configuration, if it can be changed (it was read from a file that is
/// still there; one built in code cannot be).
fn editable(state: &AppState) -> ApiResult<Arc<Config>> {
    let config = state.config();
    if !config.path.is_file() {
        return Err(ApiError::conflict(format!(
            "this configuration was not read from a file ({} is none): start `sheetsight run FILE.toml` to set up a shop",
            config.path.display()
        )));
    }
    Ok(config)
}

/// Checks `text` as `run` does, and every camera's regions against its frame size when
/// it streams; writes it over the configuration file. Nothing is written when it fails.
async fn check_and_write(state: &AppState, old: &Config, text: String) -> ApiResult<Config> {
    check_and_write_with(state, old, text, refused).await
}

/// [`check_and_write`], with the errors of a refused text made into an answer by `refuse`.
async fn check_and_write_with(
    state: &AppState,
    old: &Config,
    text: String,
    refuse: fn(&ConfigErrors) -> ApiError,
) -> ApiResult<Config> {
    let new = sheetsight_config::parse(&old.path, &text).map_err(|e| refuse(&e))?;
    for camera in &new.cameras {
        if let Some((_, frame)) = state.service.status(&camera.id).and_then(|s| s.frame) {
            new.check_frame_sizes(&camera.id, frame.width_px(), frame.height_px())
                .map_err(|e| ApiError::field(form_field(&e.key), e.message.clone()))?;
        }
    }
    let path = old.path.clone();
    match tokio::task::spawn_blocking(move || config_file::replace_file(&path, &text)).await {
        Ok(Ok(())) => Ok(new),
        Ok(Err(e)) => Err(ApiError::internal(&format!("writing {}", old.path.display()), e)),
        Err(e) => Err(ApiError::internal("writing the configuration", e)),
    }
}

/// What the set-up pages show: the configuration's file and its cameras and machines.
#[derive(Serialize)]
pub struct Setup {
    pub file: String,
    /// False for a configuration built in code (the demo).
    pub editable: bool,
    pub cameras: Vec<SetupCamera>,
    pub machines: Vec<SetupMachine>,
    pub machine_kinds: &'static [&'static str],
    pub lamp_colors: &'static [&'static str],
    /// Shifts, downtime reasons and summary times.
    pub shop: shop::ShopForm,
}

#[derive(Serialize)]
pub struct SetupCamera {
    pub id: String,
    /// Without credentials.
    pub source: String,
    pub username: Option<String>,
    /// Whether a password is stored (it is never sent back).
    pub has_password: bool,
    pub fps: Option<f64>,
}

#[derive(Serialize)]
pub struct SetupMachine {
    pub id: String,
    pub camera: String,
    pub kind: Option<&'static str>,
    pub lamps: usize,
    pub motion: bool,
}

pub async fn get_setup(State(state): State<Arc<AppState>>) -> Json<Setup> {
    Json(setup_of(&state))
}

fn setup_of(state: &AppState) -> Setup {
    let config = state.config();
    Setup {
        file: config.path.display().to_string(),
        editable: editable(state).is_ok(),
        cameras: config
            .cameras
            .iter()
            .map(|c| SetupCamera {
                id: c.id.clone(),
                source: crate::camera_view::public_source(c),
                username: c.username.clone(),
                has_password: c.password.is_some(),
                fps: c.fps,
            })
            .collect(),
        machines: config
            .machines
            .iter()
            .map(|m| SetupMachine {
                id: m.id.clone(),
                camera: m.camera.clone(),
                kind: m.kind.map(|k| k.as_str()),
                lamps: m.lamps.len(),
                motion: m.motion.is_some(),
            })
            .collect(),
        machine_kinds: &sheetsight_config::MachineKind::NAMES,
        lamp_colors: &sheetsight_vision::lamp::LampColor::NAMES,
        shop: shop::view(&config),
    }
}

fn check_id(id: &str) -> ApiResult<()> {
    if sheetsight_config::is_valid_id(id) {
        Ok(())
    } else {
        Err(ApiError::field(
            "id",
            format!("`{}` cannot be an id: use 1-64 letters, digits, `-` or `_`", crate::auth::shown(id)),
        ))
    }
}

fn check_network_source(source: &str) -> ApiResult<()> {
    if ["rtsp://", "http://", "https://"].iter().any(|s| source.starts_with(s)) {
        Ok(())
    } else {
        Err(ApiError::field("source", "a camera's address starts with rtsp://, http:// or https://"))
    }
}

pub async fn add_camera(
    State(state): State<Arc<AppState>>,
    axum::Extension(p): axum::Extension<Principal>,
    ApiJson(form): ApiJson<CameraForm>,
) -> ApiResult<Json<Setup>> {
    check_id(&form.id)?;
    check_network_source(&form.source)?;
    let _guard = state.config_write.lock().await;
    let old = editable(&state)?;
    if old.camera(&form.id).is_some() {
        return Err(ApiError::field("id", format!("a camera `{}` exists already", form.id)));
    }
    let text = config_file::add_camera(old.text(), &form).map_err(edit_error)?;
    let new = check_and_write(&state, &old, text).await?;
    let Some(camera) = new.camera(&form.id).cloned() else {
        return Err(ApiError::internal("adding the camera", "it is not in the new configuration"));
    };
    let machines = new.machines_on(&camera.id).cloned().collect();
    state.set_config(new).await;
    if let Err(e) = state.service.add_camera(&camera, machines) {
        return Err(ApiError::internal("starting the camera (it is saved and starts with the next start)", e));
    }
    tracing::info!(camera = %form.id, by = %p.name, file = %old.path.display(), "camera added");
    Ok(Json(setup_of(&state)))
}

pub async fn change_camera(
    State(state): State<Arc<AppState>>,
    axum::Extension(p): axum::Extension<Principal>,
    UrlPath(id): UrlPath<String>,
    ApiJson(form): ApiJson<CameraForm>,
) -> ApiResult<Json<Setup>> {
    if form.id != id {
        return Err(ApiError::field("id", "a camera's id cannot be changed: remove it and add it again"));
    }
    check_network_source(&form.source)?;
    let _guard = state.config_write.lock().await;
    let old = editable(&state)?;
    let text = config_file::change_camera(old.text(), &id, &form).map_err(edit_error)?;
    let new = check_and_write(&state, &old, text).await?;
    let Some(camera) = new.camera(&id).cloned() else {
        return Err(ApiError::internal("changing the camera", "it is not in the new configuration"));
    };
    let machines = new.machines_on(&id).cloned().collect();
    state.set_config(new).await;
    // Reconnect with the new address: stop the old stream, start the new one.
    let _ = state.service.remove_camera(&id).await;
    if let Err(e) = state.service.add_camera(&camera, machines) {
        return Err(ApiError::internal("restarting the camera (it is saved and starts with the next start)", e));
    }
    tracing::info!(camera = %id, by = %p.name, file = %old.path.display(), "camera changed");
    Ok(Json(setup_of(&state)))
}

/// `?confirm=<id>`: a removal names what it removes twice, so that a mistyped or
/// replayed request removes nothing.
#[derive(Deserialize)]
pub struct Confirm {
    #[serde(default)]
    pub confirm: Option<String>,
}

fn confirmed(id: &str, c: &Confirm) -> ApiResult<()> {
    if c.confirm.as_deref() == Some(id) {
        Ok(())
    } else {
        Err(ApiError::field("confirm", format!("to remove `{}`, add `?confirm={0}`", crate::auth::shown(id))))
    }
}

pub async fn remove_camera(
    State(state): State<Arc<AppState>>,
    axum::Extension(p): axum::Extension<Principal>,
    UrlPath(id): UrlPath<String>,
    ApiQuery(c): ApiQuery<Confirm>,
) -> ApiResult<Json<Setup>> {
    confirmed(&id, &c)?;
    let _guard = state.config_write.lock().await;
    let old = editable(&state)?;
    let (text, machines) = config_file::remove_camera(old.text(), &id).map_err(edit_error)?;
    let new = check_and_write(&state, &old, text).await?;
    state.set_config(new).await;
    match state.service.remove_camera(&id).await {
        Ok(_) | Err(sheetsight_service::ServiceError::NoSuchCamera(_)) => {}
        Err(e) => return Err(ApiError::internal("stopping the camera", e)),
    }
    tracing::info!(camera = %id, machines = ?machines, by = %p.name, file = %old.path.display(),
        "camera removed (its history stays)");
    let _ = state.notices.send(Notice::Regions { cameras: vec![id] });
    Ok(Json(setup_of(&state)))
}

/// Applies a changed machine list to the running camera.
async fn apply_machines(state: &AppState, old: &Config, new: Config, camera: &str) {
    let changed = state.service.reconfigure(old, &new);
    state.set_config(new).await;
    if !changed.is_empty() {
        let _ = state.notices.send(Notice::Regions { cameras: vec![camera.to_string()] });
    }
}

pub async fn add_machine(
    State(state): State<Arc<AppState>>,
    axum::Extension(p): axum::Extension<Principal>,
    ApiJson(form): ApiJson<MachineForm>,
) -> ApiResult<Json<Setup>> {
    check_id(&form.id)?;
    let _guard = state.config_write.lock().await;
    let old = editable(&state)?;
    if old.machines.iter().any(|m| m.id == form.id) {
        return Err(ApiError::field("id", format!("a machine `{}` exists already", form.id)));
    }
    if old.camera(&form.camera).is_none() {
        return Err(ApiError::field("camera", format!("no camera `{}`", crate::auth::shown(&form.camera))));
    }
    if form.lamps.is_empty() && form.motion_roi.is_none() {
        return Err(ApiError::field("lamps", "a machine needs its stack light's lamps or a motion region to watch"));
    }
    let text = config_file::add_machine(old.text(), &form).map_err(edit_error)?;
    let new = check_and_write(&state, &old, text).await?;
    apply_machines(&state, &old, new, &form.camera).await;
    tracing::info!(machine = %form.id, camera = %form.camera, by = %p.name, file = %old.path.display(), "machine added");
    Ok(Json(setup_of(&state)))
}

pub async fn remove_machine(
    State(state): State<Arc<AppState>>,
    axum::Extension(p): axum::Extension<Principal>,
    UrlPath(id): UrlPath<String>,
    ApiQuery(c): ApiQuery<Confirm>,
) -> ApiResult<Json<Setup>> {
    confirmed(&id, &c)?;
    let _guard = state.config_write.lock().await;
    let old = editable(&state)?;
    let camera = old.machines.iter().find(|m| m.id == id).map(|m| m.camera.clone());
    let text = config_file::remove_machine(old.text(), &id).map_err(edit_error)?;
    let new = check_and_write(&state, &old, text).await?;
    apply_machines(&state, &old, new, camera.as_deref().unwrap_or_default()).await;
    tracing::info!(machine = %id, by = %p.name, file = %old.path.display(), "machine removed (its history stays)");
    Ok(Json(setup_of(&state)))
}

#[cfg(test)]
mod tests {
    use super::form_field;

    #[test]
    fn configuration_keys_name_their_form_fields() {
        assert_eq!(form_field("camera[2].source"), "source");
        assert_eq!(form_field("camera[0].id"), "id");
        assert_eq!(form_field("machine[0].lamp[1].roi"), "lamps[1]");
        assert_eq!(form_field("machine[0].lamp[1].color"), "lamps[1]");
        assert_eq!(form_field("machine[3].motion.roi"), "motion_roi");
        assert_eq!(form_field("machine[3].cycle.from"), "cycle");
        assert_eq!(form_field("-"), "-");
    }
}
