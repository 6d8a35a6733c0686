//! Edits of the configuration file made by the set-up pages: cameras and machines added,
//! changed and removed, and the file replaced atomically.
//!
//! Every edit goes through `toml_edit`, so comments, key order and formatting of the
//! rest of the file stay as the user wrote them. An edit only produces text: whether
//! the result is a valid configuration is checked by the caller with
//! `sheetsight_config::parse`, exactly as `sheetsight run` checks it.

use std::io::Write;
use std::path::Path;

use serde::Deserialize;
use sheetsight_config::MachineKind;
use toml_edit::{Array, ArrayOfTables, DocumentMut, Item, Table, Value};

/// A camera as the set-up form gives it.
#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct CameraForm {
    pub id: String,
    /// `rtsp://`, `http://` or `https://` URL.
    pub source: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// Analysis rate; the camera's own when absent.
    #[serde(default)]
    pub fps: Option<f64>,
}

/// A lamp of a machine form.
#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct LampForm {
    pub color: String,
    pub roi: Vec<[f64; 2]>,
}

/// A machine as the set-up form gives it.
#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct MachineForm {
    pub id: String,
    pub camera: String,
    pub kind: MachineKind,
    #[serde(default)]
    pub lamps: Vec<LampForm>,
    #[serde(default)]
    pub motion_roi: Option<Vec<[f64; 2]>>,
    #[serde(default)]
    pub ideal_strokes_per_hour: Option<f64>,
}

/// Why an edit cannot be made to the file's text.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("the configuration file no longer parses")]
    Parse(#[source] toml_edit::TomlError),
    #[error("`{key}` in the configuration file is not a list of tables")]
    NotTables { key: &'static str },
    #[error("no {what} `{id}` in the configuration file")]
    Missing { what: &'static str, id: String },
}

/// A polygon as TOML, rounded to tenths of a pixel (whole pixels written as integers).
pub fn polygon(points: &[[f64; 2]]) -> Value {
    let mut outer = Array::new();
    for p in points {
        let mut pair = Array::new();
        for v in p {
            let rounded = (v * 10.0).round() / 10.0;
            if rounded.fract() == 0.0 && rounded.abs() < 1e9 {
                pair.push(rounded as i64);
            } else {
                pair.push(rounded);
            }
        }
        outer.push(pair);
    }
    Value::Array(outer)
}

pub(super) fn document(text: &str) -> Result<DocumentMut, EditError> {
    text.parse().map_err(EditError::Parse)
}

/// The array of tables `key`, created when the file has none.
fn tables<'d>(doc: &'d mut DocumentMut, key: &'static str) -> Result<&'d mut ArrayOfTables, EditError> {
    if doc.get(key).is_none() {
        doc.insert(key, Item::ArrayOfTables(ArrayOfTables::new()));
    }
    doc.get_mut(key).and_then(Item::as_array_of_tables_mut).ok_or(EditError::NotTables { key })
}

fn position(tables: &ArrayOfTables, id: &str) -> Option<usize> {
    tables.iter().position(|t| t.get("id").and_then(Item::as_str) == Some(id))
}

fn camera_table(form: &CameraForm) -> Table {
    let mut t = Table::new();
    t.insert("id", toml_edit::value(form.id.as_str()));
    t.insert("source", toml_edit::value(form.source.as_str()));
    if let Some(u) = form.username.as_deref().filter(|u| !u.is_empty()) {
        t.insert("username", toml_edit::value(u));
    }
    if let Some(p) = form.password.as_deref().filter(|p| !p.is_empty()) {
        t.insert("password", toml_edit::value(p));
    }
    if let Some(fps) = form.fps {
        t.insert("fps", toml_edit::value(fps));
    }
    t
}

/// The text with `form` appended as a `[[camera]]`.
pub fn add_camera(text: &str, form: &CameraForm) -> Result<String, EditError> {
    let mut doc = document(text)?;
    tables(&mut doc, "camera")?.push(camera_table(form));
    Ok(doc.to_string())
}

/// The text with camera `id`'s source, credentials and rate replaced by `form`'s (an
/// empty password in the form keeps the stored one); its other keys stay.
pub fn change_camera(text: &str, id: &str, form: &CameraForm) -> Result<String, EditError> {
    let mut doc = document(text)?;
    let cameras = tables(&mut doc, "camera")?;
    let k = position(cameras, id).ok_or_else(|| EditError::Missing { what: "camera", id: id.to_string() })?;
    let Some(table) = cameras.get_mut(k) else {
        return Err(EditError::Missing { what: "camera", id: id.to_string() });
    };
    table.insert("source", toml_edit::value(form.source.as_str()));
    match form.username.as_deref().filter(|u| !u.is_empty()) {
        Some(u) => {
            table.insert("username", toml_edit::value(u));
        }
        None => {
            table.remove("username");
        }
    }
    if let Some(p) = form.password.as_deref().filter(|p| !p.is_empty()) {
        table.insert("password", toml_edit::value(p));
    }
    match form.fps {
        Some(fps) => {
            table.insert("fps", toml_edit::value(fps));
        }
        None => {
            table.remove("fps");
        }
    }
    Ok(doc.to_string())
}

/// The text without camera `id` and without the machines on it; returns the text and
/// the machines removed.
pub fn remove_camera(text: &str, id: &str) -> Result<(String, Vec<String>), EditError> {
    let mut doc = document(text)?;
    let cameras = tables(&mut doc, "camera")?;
    let k = position(cameras, id).ok_or_else(|| EditError::Missing { what: "camera", id: id.to_string() })?;
    cameras.remove(k);
    let mut removed = Vec::new();
    if doc.get("machine").is_some() {
        let machines = tables(&mut doc, "machine")?;
        let mut k = 0;
        while k < machines.len() {
            let on_camera = machines.get(k).and_then(|t| t.get("camera")).and_then(Item::as_str) == Some(id);
            if on_camera {
                if let Some(m) = machines.get(k).and_then(|t| t.get("id")).and_then(Item::as_str) {
                    removed.push(m.to_string());
                }
                machines.remove(k);
            } else {
                k += 1;
            }
        }
    }
    Ok((doc.to_string(), removed))
}

/// How a kind of machine finds its cycles by default: `(from, gap_s, min_s)`.
///
/// A press brake bends a part in a burst of strokes with pauses to turn it; a punch
/// runs a sheet's program in one `Executing` stretch; a laser cuts a sheet in one
/// `Executing` stretch too, minutes long; a welding cell welds while its torch moves.
pub fn cycle_defaults(kind: MachineKind, has_motion: bool, has_lamps: bool) -> Option<(&'static str, f64, f64)> {
    match kind {
        MachineKind::PressBrake if has_motion => Some(("strokes", 8.0, 2.0)),
        MachineKind::Punch | MachineKind::Laser if has_lamps => Some(("state", 5.0, 10.0)),
        MachineKind::Welding if has_motion => Some(("motion", 5.0, 5.0)),
        MachineKind::Welding | MachineKind::PressBrake if has_lamps => Some(("state", 5.0, 5.0)),
        _ => None,
    }
}

/// The text with `form` appended as a `[[machine]]` with its lamps, motion region and
/// the kind's default cycle settings.
pub fn add_machine(text: &str, form: &MachineForm) -> Result<String, EditError> {
    let mut doc = document(text)?;
    let mut t = Table::new();
    t.insert("id", toml_edit::value(form.id.as_str()));
    t.insert("camera", toml_edit::value(form.camera.as_str()));
    t.insert("kind", toml_edit::value(form.kind.as_str()));
    if let Some(ideal) = form.ideal_strokes_per_hour {
        t.insert("ideal_strokes_per_hour", toml_edit::value(ideal));
    }
    if !form.lamps.is_empty() {
        let mut lamps = ArrayOfTables::new();
        for lamp in &form.lamps {
            let mut l = Table::new();
            l.insert("color", toml_edit::value(lamp.color.as_str()));
            l.insert("roi", Item::Value(polygon(&lamp.roi)));
            lamps.push(l);
        }
        t.insert("lamp", Item::ArrayOfTables(lamps));
    }
    if let Some(roi) = &form.motion_roi {
        let mut motion = Table::new();
        motion.insert("roi", Item::Value(polygon(roi)));
        t.insert("motion", Item::Table(motion));
    }
    if let Some((from, gap_s, min_s)) = cycle_defaults(form.kind, form.motion_roi.is_some(), !form.lamps.is_empty()) {
        let mut cycle = Table::new();
        cycle.insert("from", toml_edit::value(from));
        if from == "strokes" {
            cycle.insert("gap_s", toml_edit::value(gap_s));
        }
        cycle.insert("min_s", toml_edit::value(min_s));
        t.insert("cycle", Item::Table(cycle));
    }
    tables(&mut doc, "machine")?.push(t);
    Ok(doc.to_string())
}

/// The text without machine `id`.
pub fn remove_machine(text: &str, id: &str) -> Result<String, EditError> {
    let mut doc = document(text)?;
    let machines = tables(&mut doc, "machine")?;
    let k = position(machines, id).ok_or_else(|| EditError::Missing { what: "machine", id: id.to_string() })?;
    machines.remove(k);
    Ok(doc.to_string())
}

/// What a new configuration file holds before anything is set up.
pub const NEW_FILE: &str = "# SheetSight configuration. Cameras and machines are added in the dashboard\n\
# (Set-up); every section is described in the README.\n";

/// Replaces `path` with `text`: written beside it with the old file's mode and owner (it
/// may hold camera passwords: a `0600` file stays `0600`; a new file is `0600`), synced,
/// renamed over it; the old file is kept as `<name>.bak` (with its mode too).
pub fn replace_file(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("toml.saving");
    let old = std::fs::metadata(path).ok();
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
            // Never wider than the old file while it is being written.
            options.mode(old.as_ref().map_or(0o600, |m| m.permissions().mode() & 0o777));
        }
        let mut f = options.open(&tmp)?;
        if let Some(old) = &old {
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt;
                // The owner may stay only for root; the mode always (umask ignored).
                let _ = std::os::unix::fs::fchown(&f, Some(old.uid()), Some(old.gid()));
            }
            f.set_permissions(old.permissions())?;
        }
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    if path.exists() {
        std::fs::copy(path, path.with_extension("toml.bak"))?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# The shop's notes.\n[storage]\ndata_dir = \"data\" # here\n\n[[camera]]\nid = \"cam1\"\nsource = \"rtsp://cam/1\"\n\n[[machine]]\nid = \"brake-1\"\ncamera = \"cam1\"\n\n[[machine.lamp]]\ncolor = \"red\"\nroi = [[1, 1], [9, 1], [9, 9]]\n";

    fn camera(id: &str) -> CameraForm {
        CameraForm {
            id: id.into(),
            source: "rtsp://10.0.0.7:554/s1".into(),
            username: Some("viewer".into()),
            password: Some("p\"w".into()),
            fps: None,
        }
    }

    fn parse(text: &str) -> sheetsight_config::Config {
        sheetsight_config::parse(Path::new("/tmp/x.toml"), text).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    #[test]
    fn a_camera_and_a_machine_are_added_and_the_rest_stays_as_written() {
        let text = add_camera(TEXT, &camera("cam2")).expect("camera");
        let text = add_machine(
            &text,
            &MachineForm {
                id: "brake-2".into(),
                camera: "cam2".into(),
                kind: MachineKind::PressBrake,
                lamps: vec![LampForm { color: "green".into(), roi: vec![[2.0, 2.0], [8.5, 2.0], [8.0, 8.0]] }],
                motion_roi: Some(vec![[10.0, 10.0], [50.0, 10.0], [50.0, 40.0], [10.0, 40.0]]),
                ideal_strokes_per_hour: Some(600.0),
            },
        )
        .expect("machine");
        // Every line written before stays, in its order, comments included.
        let mut rest = text.lines();
        for line in TEXT.lines() {
            assert!(rest.any(|l| l == line), "`{line}` lost or moved:\n{text}");
        }
        let config = parse(&text);
        let cam2 = config.camera("cam2").expect("cam2");
        assert_eq!(cam2.password.as_deref(), Some("p\"w"));
        let m = config.machines.iter().find(|m| m.id == "brake-2").expect("brake-2");
        assert_eq!(m.kind, Some(MachineKind::PressBrake));
        assert_eq!(m.lamps[0].roi_px[1], [8.5, 2.0]);
        assert_eq!(m.cycle.source, sheetsight_vision::cycle::CycleSource::Strokes);
        assert_eq!(m.cycle.gap_s, 8.0);
        assert_eq!(m.ideal_strokes_per_hour, Some(600.0));
    }

    #[test]
    fn removing_a_camera_removes_its_machines_and_changing_it_keeps_the_password() {
        let (text, machines) = remove_camera(TEXT, "cam1").expect("removed");
        assert_eq!(machines, ["brake-1"]);
        assert!(text.contains("data_dir = \"data\" # here"), "{text}");
        let config = parse(&text);
        assert!(config.cameras.is_empty() && config.machines.is_empty());
        let mut form = camera("cam1");
        form.password = None;
        let with_password = add_camera(TEXT, &camera("cam9")).expect("added");
        let changed = change_camera(&with_password, "cam9", &form).expect("changed");
        assert_eq!(parse(&changed).camera("cam9").and_then(|c| c.password.clone()).as_deref(), Some("p\"w"));
        assert!(matches!(remove_camera(TEXT, "cam7"), Err(EditError::Missing { .. })));
        assert!(matches!(remove_machine(TEXT, "brake-9"), Err(EditError::Missing { .. })));
        assert!(parse(&remove_machine(TEXT, "brake-1").expect("removed")).machines.is_empty());
    }

    #[test]
    fn a_new_file_is_a_valid_configuration_without_cameras() {
        let config = parse(NEW_FILE);
        assert!(config.cameras.is_empty());
        let text = add_camera(NEW_FILE, &camera("cam1")).expect("added");
        assert_eq!(parse(&text).cameras.len(), 1);
    }
}
