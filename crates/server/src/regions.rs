//! The region editor's back end: the lamp and motion polygons of the machines on a
//! camera and the camera's zones (where people are counted), read from the running
//! configuration and written back into its file. Zones can be redrawn, added and
//! removed; lamps are added in the file.
//!
//! A save rewrites only the `roi` values it changes (`toml_edit` keeps every comment,
//! key order and format of the rest), checks the whole new file exactly as `sheetsight
//! run` would plus every region against the camera's frame size (no save before the
//! camera's first frame), then replaces the file atomically (write beside with the old
//! file's mode, fsync, rename; the previous version stays as `.bak`) and hands the new
//! machines to the camera's worker: no restart.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path as UrlPath, State};
use serde::{Deserialize, Serialize};
use sheetsight_config::Config;
use toml_edit::{DocumentMut, Item};

use crate::setup::config_file::{polygon, replace_file};

use crate::camera_view::known_camera;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::{AppState, Notice};

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct LampRegion {
    pub index: usize,
    pub color: String,
    pub roi: Vec<[f64; 2]>,
    /// The lamp's current reading (ignored in a save).
    #[serde(default, skip_deserializing)]
    pub mode: Option<&'static str>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct MachineRegions {
    pub id: String,
    pub lamps: Vec<LampRegion>,
    pub motion: Option<Vec<[f64; 2]>>,
}

/// A zone on the camera: its floor polygon, what it is for and whose it is.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ZoneRegion {
    pub id: String,
    /// `work` or `danger`.
    pub kind: String,
    pub machine: Option<String>,
    pub roi: Vec<[f64; 2]>,
}

#[derive(Serialize)]
pub struct CameraRegions {
    pub camera: String,
    pub frame_width_px: Option<u32>,
    pub frame_height_px: Option<u32>,
    /// Saving needs the configuration to come from a file.
    pub editable: bool,
    pub machines: Vec<MachineRegions>,
    pub zones: Vec<ZoneRegion>,
    /// The camera is watched for people, so zones drawn on it count at once.
    pub people_watched: bool,
}

fn regions_of(config: &Config, state: &AppState, camera: &str) -> ApiResult<CameraRegions> {
    let status = known_camera(state, camera)?;
    let machines = config
        .machines_on(camera)
        .map(|m| {
            let live = status.machines.iter().find(|s| s.id == m.id);
            MachineRegions {
                id: m.id.clone(),
                lamps: m
                    .lamps
                    .iter()
                    .enumerate()
                    .map(|(index, l)| LampRegion {
                        index,
                        color: l.color.as_str().into(),
                        roi: l.roi_px.clone(),
                        mode: live.and_then(|s| s.lamps.get(index)).and_then(|l| l.1).map(|m| m.as_str()),
                    })
                    .collect(),
                motion: m.motion.as_ref().map(|mo| mo.roi_px.clone()),
            }
        })
        .collect();
    Ok(CameraRegions {
        camera: camera.to_string(),
        frame_width_px: status.frame.as_ref().map(|f| f.1.width_px()),
        frame_height_px: status.frame.as_ref().map(|f| f.1.height_px()),
        editable: !config.text().is_empty(),
        machines,
        zones: config
            .zones_on(camera)
            .map(|z| ZoneRegion {
                id: z.id.clone(),
                kind: z.kind.as_str().into(),
                machine: z.machine.clone(),
                roi: z.roi_px.clone(),
            })
            .collect(),
        people_watched: state.service.watches_people(camera),
    })
}

pub async fn get_regions(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
) -> ApiResult<Json<CameraRegions>> {
    Ok(Json(regions_of(&state.config(), &state, &id)?))
}

#[derive(Deserialize)]
pub struct SaveRegions {
    pub machines: Vec<MachineRegions>,
    /// Every zone the camera is to have (left out: its zones stay as they are).
    #[serde(default)]
    pub zones: Option<Vec<ZoneRegion>>,
}

/// Why the editor's regions cannot be written into the configuration file.
#[derive(Debug, thiserror::Error)]
pub enum RewriteError {
    #[error("the configuration file no longer parses")]
    Parse(#[source] toml_edit::TomlError),
    #[error("the configuration has no [[machine]]")]
    NoMachines,
    #[error("no machine `{0}` in the configuration file")]
    UnknownMachine(String),
    #[error("machine `{machine}` is not on camera `{camera}`")]
    WrongCamera { machine: String, camera: String },
    #[error("machine `{machine}` has {in_file} lamps; the editor sent {sent} (lamps are added in the file)")]
    LampCount { machine: String, in_file: usize, sent: usize },
    #[error("machine `{machine}`: lamp {lamp} is missing")]
    MissingLamp { machine: String, lamp: usize },
    #[error("zone `{zone}` is on camera `{camera}`, not on this one")]
    ZoneOnOtherCamera { zone: String, camera: String },
    #[error("zone `{0}` is sent twice")]
    ZoneTwice(String),
    #[error("`zone` in the file is not a list of [[zone]] tables")]
    ZoneNotTables,
}

/// The configuration text with the zones of `camera` replaced by `zones`: zones in
/// both keep their place (and comments) with new values, the others are removed or
/// added at the end.
pub fn rewrite_zones(text: &str, camera: &str, zones: &[ZoneRegion]) -> Result<String, RewriteError> {
    let mut doc: DocumentMut = text.parse().map_err(RewriteError::Parse)?;
    for (k, z) in zones.iter().enumerate() {
        if zones[..k].iter().any(|o| o.id == z.id) {
            return Err(RewriteError::ZoneTwice(z.id.clone()));
        }
    }
    if doc.get("zone").is_none() {
        doc.insert("zone", Item::ArrayOfTables(toml_edit::ArrayOfTables::new()));
    }
    let Some(tables) = doc.get_mut("zone").and_then(Item::as_array_of_tables_mut) else {
        return Err(RewriteError::ZoneNotTables);
    };
    let set = |table: &mut toml_edit::Table, z: &ZoneRegion| {
        table["roi"] = Item::Value(polygon(&z.roi));
        match &z.machine {
            Some(m) => table["machine"] = toml_edit::value(m.as_str()),
            None => {
                table.remove("machine");
            }
        }
        table["kind"] = toml_edit::value(z.kind.as_str());
    };
    for table in tables.iter_mut() {
        let id = table.get("id").and_then(Item::as_str).map(String::from);
        let on = table.get("camera").and_then(Item::as_str).map(String::from);
        if let Some(z) = zones.iter().find(|z| Some(&z.id) == id.as_ref()) {
            if on.as_deref() != Some(camera) {
                return Err(RewriteError::ZoneOnOtherCamera { zone: z.id.clone(), camera: on.unwrap_or_default() });
            }
            set(table, z);
        }
    }
    tables.retain(|t| {
        t.get("camera").and_then(Item::as_str) != Some(camera)
            || zones.iter().any(|z| Some(z.id.as_str()) == t.get("id").and_then(Item::as_str))
    });
    for z in zones {
        if tables.iter().any(|t| t.get("id").and_then(Item::as_str) == Some(z.id.as_str())) {
            continue;
        }
        let mut table = toml_edit::Table::new();
        table["id"] = toml_edit::value(z.id.as_str());
        table["camera"] = toml_edit::value(camera);
        set(&mut table, z);
        tables.push(table);
    }
    if tables.is_empty() {
        doc.remove("zone");
    }
    Ok(doc.to_string())
}

/// The configuration text with the given machines' regions replaced.
pub fn rewrite(text: &str, camera: &str, machines: &[MachineRegions]) -> Result<String, RewriteError> {
    let mut doc: DocumentMut = text.parse().map_err(RewriteError::Parse)?;
    let Some(tables) = doc.get_mut("machine").and_then(Item::as_array_of_tables_mut) else {
        return Err(RewriteError::NoMachines);
    };
    for edit in machines {
        let Some(table) = tables.iter_mut().find(|t| t.get("id").and_then(Item::as_str) == Some(edit.id.as_str()))
        else {
            return Err(RewriteError::UnknownMachine(edit.id.clone()));
        };
        if table.get("camera").and_then(Item::as_str) != Some(camera) {
            return Err(RewriteError::WrongCamera { machine: edit.id.clone(), camera: camera.to_string() });
        }
        let lamp_count = table.get("lamp").and_then(Item::as_array_of_tables).map_or(0, |a| a.len());
        if edit.lamps.len() != lamp_count {
            return Err(RewriteError::LampCount {
                machine: edit.id.clone(),
                in_file: lamp_count,
                sent: edit.lamps.len(),
            });
        }
        if let Some(lamps) = table.get_mut("lamp").and_then(Item::as_array_of_tables_mut) {
            for (k, lamp) in lamps.iter_mut().enumerate() {
                let Some(new) = edit.lamps.iter().find(|l| l.index == k) else {
                    return Err(RewriteError::MissingLamp { machine: edit.id.clone(), lamp: k });
                };
                lamp["roi"] = Item::Value(polygon(&new.roi));
            }
        }
        match (&edit.motion, table.get_mut("motion").and_then(Item::as_table_like_mut)) {
            (Some(roi), Some(motion)) => {
                motion.insert("roi", Item::Value(polygon(roi)));
            }
            (Some(roi), None) => {
                let mut motion = toml_edit::Table::new();
                motion.insert("roi", Item::Value(polygon(roi)));
                table.insert("motion", Item::Table(motion));
            }
            (None, Some(_)) => {
                table.remove("motion");
            }
            (None, None) => {}
        }
    }
    Ok(doc.to_string())
}

pub async fn put_regions(
    State(state): State<Arc<AppState>>,
    axum::Extension(p): axum::Extension<crate::auth::Principal>,
    UrlPath(camera): UrlPath<String>,
    ApiJson(body): ApiJson<SaveRegions>,
) -> ApiResult<Json<CameraRegions>> {
    let status = known_camera(&state, &camera)?;
    let _guard = state.config_write.lock().await;
    let old = state.config();
    if old.text().is_empty() {
        return Err(ApiError::conflict("this configuration was not read from a file, so regions cannot be saved"));
    }
    let refused = |e: RewriteError| ApiError::bad_request(sheetsight_base::error::with_causes(&e));
    let mut text = rewrite(old.text(), &camera, &body.machines).map_err(refused)?;
    if let Some(zones) = &body.zones {
        if !zones.is_empty() && !state.service.watches_people(&camera) {
            return Err(ApiError::conflict(
                "the person detector was not started (no zone when the service started): add the first zone \
                 in the configuration file and restart, then draw the others here",
            ));
        }
        text = rewrite_zones(&text, &camera, zones).map_err(refused)?;
    }
    let new = sheetsight_config::parse(&old.path, &text).map_err(|e| ApiError::bad_request(e.to_string()))?;
    // Regions are checked against the frame size; without a frame there is nothing to
    // check them against, so nothing is saved.
    let Some((_, frame)) = &status.frame else {
        return Err(ApiError::conflict(format!(
            "camera `{camera}` has not sent a frame yet, so its regions cannot be checked against its picture: \
             save them once it streams"
        )));
    };
    new.check_frame_sizes(&camera, frame.width_px(), frame.height_px())
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let path = old.path.clone();
    let written = tokio::task::spawn_blocking(move || replace_file(&path, &text)).await;
    match written {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            return Err(ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot write {}: {e}", old.path.display()),
            ));
        }
        Err(e) => return Err(ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
    let changed = state.service.reconfigure(&old, &new);
    tracing::info!(camera = %camera, by = %p.name, file = %old.path.display(), "regions saved");
    state.set_config(new).await;
    let _ = state.notices.send(Notice::Regions { cameras: changed });
    Ok(Json(regions_of(&state.config(), &state, &camera)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const TEXT: &str = "# The shop's notes.\n[[camera]]\nid = \"cam1\"\nsource = \"rtsp://cam/1\"\n\n[[machine]]\nid = \"brake-1\" # the big one\ncamera = \"cam1\"\n\n[[machine.lamp]]\ncolor = \"red\"\nroi = [[1, 1], [9, 1], [9, 9]] # red lamp\n\n[[machine]]\nid = \"brake-2\"\ncamera = \"cam1\"\n\n[[machine.lamp]]\ncolor = \"green\"\nroi = [[1, 1], [9, 1], [9, 9]]\n";

    fn edit(lamp: Vec<[f64; 2]>, motion: Option<Vec<[f64; 2]>>) -> Vec<MachineRegions> {
        vec![MachineRegions {
            id: "brake-1".into(),
            lamps: vec![LampRegion { index: 0, color: "red".into(), roi: lamp, mode: None }],
            motion,
        }]
    }

    #[test]
    fn only_the_edited_values_change_and_comments_stay() {
        let out = rewrite(
            TEXT,
            "cam1",
            &edit(vec![[2.0, 2.0], [10.5, 2.0], [10.0, 10.0]], Some(vec![[0.0, 0.0], [5.0, 0.0], [5.0, 5.0]])),
        )
        .expect("rewrite");
        assert!(out.starts_with("# The shop's notes.\n"), "{out}");
        assert!(out.contains("id = \"brake-1\" # the big one"), "{out}");
        assert!(out.contains("roi = [[2, 2], [10.5, 2], [10, 10]]"), "{out}");
        assert!(out.contains("[machine.motion]\nroi = [[0, 0], [5, 0], [5, 5]]"), "{out}");
        // brake-2 is untouched.
        assert!(out.ends_with("[[machine.lamp]]\ncolor = \"green\"\nroi = [[1, 1], [9, 1], [9, 9]]\n"), "{out}");
        let config = sheetsight_config::parse(Path::new("/tmp/x.toml"), &out).expect("still a valid configuration");
        assert_eq!(config.machines[0].lamps[0].roi_px[1], [10.5, 2.0]);
        assert!(config.machines[0].motion.is_some() && config.machines[1].motion.is_none());
    }

    fn zone(id: &str, kind: &str, machine: Option<&str>) -> ZoneRegion {
        ZoneRegion {
            id: id.into(),
            kind: kind.into(),
            machine: machine.map(String::from),
            roi: vec![[1.0, 1.0], [8.0, 1.0], [8.0, 8.0]],
        }
    }

    #[test]
    fn zones_are_redrawn_added_and_removed_and_the_rest_stays() {
        let text = format!(
            "{TEXT}\n# where the operator stands\n[[zone]]\nid = \"op\" # front\ncamera = \"cam1\"\nroi = [[0, 0], [4, 0], [4, 4]]\n\
             machine = \"brake-1\"\n\n[[zone]]\nid = \"gone\"\ncamera = \"cam1\"\nroi = [[0, 0], [4, 0], [4, 4]]\n\n\
             [[zone]]\nid = \"elsewhere\"\ncamera = \"cam2\"\nroi = [[0, 0], [4, 0], [4, 4]]\n"
        );
        let zones = [zone("op", "work", Some("brake-1")), zone("back", "danger", Some("brake-2"))];
        let out = rewrite_zones(&text, "cam1", &zones).expect("rewrite");
        assert!(out.contains("# where the operator stands\n[[zone]]\nid = \"op\" # front"), "{out}");
        assert!(out.contains("roi = [[1, 1], [8, 1], [8, 8]]"), "{out}");
        assert!(!out.contains("\"gone\""), "a zone left out is removed: {out}");
        assert!(out.contains("id = \"elsewhere\""), "another camera's zone stays: {out}");
        assert!(out.contains("id = \"back\"\ncamera = \"cam1\""), "{out}");
        let with_cam2 = out.replace(
            "[[machine]]\nid = \"brake-1\"",
            "[[camera]]\nid = \"cam2\"\nsource = \"rtsp://cam/2\"\n\n[[machine]]\nid = \"brake-1\"",
        );
        let config = sheetsight_config::parse(Path::new("/tmp/x.toml"), &with_cam2).expect("a valid configuration");
        let ids: Vec<&str> = config.zones_on("cam1").map(|z| z.id.as_str()).collect();
        assert_eq!(ids, ["op", "back"]);
        assert_eq!(config.zones_on("cam1").nth(1).map(|z| z.kind), Some(sheetsight_config::ZoneKind::Danger));
        // All removed: no empty [[zone]] left behind.
        let none = rewrite_zones(TEXT, "cam1", &[]).expect("rewrite");
        assert_eq!(none, TEXT);
        let twice = rewrite_zones(TEXT, "cam1", &[zone("a", "work", None), zone("a", "work", None)]);
        assert!(twice.is_err_and(|e| e.to_string().contains("sent twice")));
        let other = rewrite_zones(&text, "cam1", &[zone("elsewhere", "work", None)]);
        assert!(other.is_err_and(|e| e.to_string().contains("on camera `cam2`")));
    }

    #[test]
    fn edits_that_do_not_fit_the_file_are_refused() {
        let wrong_camera = rewrite(TEXT, "cam2", &edit(vec![[2.0, 2.0], [9.0, 2.0], [9.0, 9.0]], None));
        assert!(wrong_camera.is_err_and(|e| e.to_string().contains("not on camera `cam2`")));
        let mut unknown = edit(vec![[2.0, 2.0], [9.0, 2.0], [9.0, 9.0]], None);
        unknown[0].id = "brake-9".into();
        assert!(rewrite(TEXT, "cam1", &unknown).is_err_and(|e| e.to_string().contains("no machine `brake-9`")));
        let mut extra_lamp = edit(vec![[2.0, 2.0], [9.0, 2.0], [9.0, 9.0]], None);
        let copy = extra_lamp[0].lamps[0].clone();
        extra_lamp[0].lamps.push(copy);
        assert!(rewrite(TEXT, "cam1", &extra_lamp).is_err_and(|e| e.to_string().contains("has 1 lamps")));
        assert!(rewrite("[[machine", "cam1", &[]).is_err_and(|e| matches!(e, RewriteError::Parse(_))));
    }
}
