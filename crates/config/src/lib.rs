//! SheetSight's configuration: one TOML file, a module per section.
//!
//! | Section | Module |
//! |---|---|
//! | `[[camera]]` | [`camera`] |
//! | `[[machine]]`, `[[machine.lamp]]`, `[machine.motion]` | [`machine`] |
//! | `[[machine.rule]]`, `otherwise` | [`state_rules`] |
//! | `[machine.cycle]` | [`cycle`] |
//! | `[storage]` | [`storage`] |
//! | `[recording]` | [`recording`] |
//! | `[[shift]]` | [`shift`] |
//! | `[server]` | [`server`] |
//! | `[mqtt]` | [`mqtt`] |
//! | `[alerts]`, `[[alert]]` | [`alerts`] |
//! | `[downtime]` | [`downtime`] |
//! | `[[zone]]`, `[people]` | [`zone`] |
//! | `[hub]` (and the hub's own file) | [`hub`] |
//! | `[[station]]`, `[parts]` | [`station`] |
//!
//! Each section's module holds its keys, their defaults and bounds, and the checks that
//! need only that section; [`references`] then checks ids and the references between
//! sections. [`parse`] touches no disk: it reports every error of the text at once
//! ([`ConfigErrors`]), each with the file, line, column and key path
//! (`machine[0].lamp[2].roi`), an unknown key or word with the nearest valid one.
//! [`load`] reads the file and also checks that file sources exist.
//! [`Config::check_frame_sizes`] then checks every region against its camera's frame
//! size, once that is known from the video's header.
//!
//! ```toml
//! [[camera]]
//! id = "cam1"
//! source = "scene_03.mp4"   # relative to this file's folder
//! fps = 10                  # optional analysis rate
//!
//! [[machine]]
//! id = "brake-1"
//! camera = "cam1"
//!
//! [[machine.lamp]]          # top to bottom
//! color = "red"
//! roi = [[10, 10], [30, 10], [30, 30], [10, 30]]
//!
//! [machine.motion]          # optional stroke counting
//! roi = [[100, 200], [300, 200], [300, 320], [100, 320]]
//!
//! [[machine.rule]]          # optional; first match wins
//! state = "OutOfService"
//! color = "red"             # or: lamp = 0
//! mode = ["steady", "blinking", "flashing"]
//! ```

use std::ops::Range;
use std::path::{Path, PathBuf};

use sheetsight_vision::roi::PolygonRoi;

mod alerts;
mod camera;
mod cycle;
mod diagnostics;
mod document;
mod downtime;
pub mod hub;
mod machine;
mod mqtt;
pub mod public_source;
mod recording;
mod references;
mod server;
pub mod shift;
mod state_rules;
mod station;
mod storage;
pub mod zone;

pub use alerts::{AlertCondition, AlertRule, AlertsConfig, Language, RobotConfig};
pub use camera::{CameraConfig, RtspTransport, SourceSpec};
pub use diagnostics::{ConfigError, ConfigErrors, is_valid_id, nearest};
pub use downtime::DowntimeConfig;
pub use hub::{HubConfig, HubLinkConfig, HubMqttConfig};
pub use machine::{LampConfig, MachineConfig, MachineKind, MotionConfig};
pub use mqtt::{BrokerTls, MqttConfig};
pub use recording::RecordingConfig;
pub use server::ServerConfig;
pub use shift::{Shift, ShiftWindow};
pub use station::{PartsConfig, StationConfig, StationSource};
pub use storage::StorageConfig;
pub use zone::{PeopleConfig, ZoneConfig, ZoneKind};

use diagnostics::Checker;
use document::Document;
use machine::RoiSpan;

/// The top-level keys of a configuration.
const SECTIONS: [&str; 15] = [
    "camera",
    "machine",
    "storage",
    "recording",
    "shift",
    "server",
    "mqtt",
    "alerts",
    "alert",
    "downtime",
    "zone",
    "people",
    "hub",
    "station",
    "parts",
];

/// A checked configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub path: PathBuf,
    pub cameras: Vec<CameraConfig>,
    pub machines: Vec<MachineConfig>,
    pub storage: StorageConfig,
    pub recording: RecordingConfig,
    pub shifts: Vec<Shift>,
    pub server: ServerConfig,
    pub mqtt: Option<MqttConfig>,
    pub alerts: AlertsConfig,
    pub downtime: DowntimeConfig,
    pub zones: Vec<ZoneConfig>,
    pub people: PeopleConfig,
    /// Where this shop's history is sent, if anywhere.
    pub hub: Option<HubLinkConfig>,
    /// Backlit inspection tables.
    pub stations: Vec<StationConfig>,
    pub parts: PartsConfig,
    text: String,
    roi_spans: Vec<RoiSpan>,
    /// Where each camera's `source` value stands, for errors found when opening it.
    source_spans: Vec<Range<usize>>,
}

/// Reads and checks a configuration file, and that its file sources exist.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let text = read_file(path, "the configuration")?;
    let c = Checker::new(path, &text);
    let config = read(&c, &text);
    if let Some(config) = &config {
        sources_exist(&c, config);
    }
    c.finish(config)
}

/// The text of a configuration file; `what` names it in the error.
pub(crate) fn read_file(path: &Path, what: &str) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: path.to_path_buf(),
        line: 0,
        column: 0,
        key: "-".into(),
        message: format!("cannot read {what}: {e}"),
    })
}

/// Checks configuration text; `path` is used for messages and relative paths, never
/// opened.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigErrors> {
    let c = Checker::new(path, text);
    let config = read(&c, text);
    c.finish(config)
}

/// Every section, then the references between them; `None` only when the text is not
/// TOML.
fn read(c: &Checker<'_>, text: &str) -> Option<Config> {
    let doc = Document::parse(c, text)?;
    doc.check_sections(c, &SECTIONS);
    let raw_machines = doc.array(c, "machine");
    let raw_alerts = doc.array(c, "alert");
    let raw_zones = doc.array(c, "zone");
    let raw_stations = doc.array(c, "station");
    let cameras = camera::check_cameras(c, &doc.array(c, "camera"));
    let mut machines = machine::check_machines(c, &raw_machines);
    let zones = zone::check_zones(c, &raw_zones, &mut machines.roi_spans);
    let config = Config {
        path: c.file().to_path_buf(),
        cameras: cameras.cameras,
        machines: machines.machines,
        storage: storage::check_storage(c, doc.table(c, "storage").as_ref()),
        recording: recording::check_recording(c, doc.table(c, "recording").as_ref()),
        shifts: shift::check_shifts(c, &doc.array(c, "shift")),
        server: server::check_server(c, doc.table(c, "server").as_ref()),
        mqtt: mqtt::check_mqtt(c, doc.table(c, "mqtt").as_ref()),
        alerts: alerts::check_alerts(c, doc.table(c, "alerts").as_ref(), &raw_alerts),
        downtime: downtime::check_downtime(c, doc.table(c, "downtime").as_ref()),
        zones,
        people: zone::check_people(c, doc.table(c, "people").as_ref()),
        hub: hub::check_hub_link(c, doc.table(c, "hub").as_ref()),
        stations: station::check_stations(c, &raw_stations),
        parts: station::check_parts(c, doc.table(c, "parts").as_ref()),
        text: text.to_string(),
        roi_spans: machines.roi_spans,
        source_spans: cameras.source_spans,
    };
    references::check_references(c, &doc, &raw_machines, &raw_alerts, &raw_zones, &raw_stations);
    Some(config)
}

/// Reports every file source that does not exist.
fn sources_exist(c: &Checker<'_>, config: &Config) {
    for (i, (camera, span)) in config.cameras.iter().zip(&config.source_spans).enumerate() {
        if let SourceSpec::File(file) = &camera.source
            && !file.exists()
        {
            let message =
                format!("{} does not exist (relative sources are read from the config file's folder)", file.display());
            c.report(span.clone(), format!("camera[{i}].source"), message);
        }
    }
}

impl Config {
    /// A configuration built in code (simulated cameras, benchmarks): nothing to locate
    /// errors in, so region errors name only the key.
    pub fn from_parts(
        path: PathBuf,
        cameras: Vec<CameraConfig>,
        machines: Vec<MachineConfig>,
        storage: StorageConfig,
        shifts: Vec<Shift>,
    ) -> Self {
        let source_spans = vec![0..0; cameras.len()];
        Self {
            path,
            cameras,
            machines,
            storage,
            recording: RecordingConfig::default(),
            shifts,
            server: ServerConfig::default(),
            mqtt: None,
            alerts: AlertsConfig::default(),
            downtime: DowntimeConfig::default(),
            zones: Vec::new(),
            people: PeopleConfig::default(),
            hub: None,
            stations: Vec::new(),
            parts: PartsConfig::default(),
            text: String::new(),
            roi_spans: Vec::new(),
            source_spans,
        }
    }

    /// Checks that every file source exists (as [`load`] does).
    pub fn check_sources_exist(&self) -> Result<(), ConfigErrors> {
        let c = Checker::new(&self.path, &self.text);
        sources_exist(&c, self);
        c.finish(Some(()))
    }

    /// Checks every region of the machines and zones on `camera` against its frame size
    /// and rasterises it.
    pub fn check_frame_sizes(&self, camera: &str, width_px: u32, height_px: u32) -> Result<(), ConfigError> {
        let c = Checker::new(&self.path, &self.text);
        for r in &self.roi_spans {
            if r.camera != camera {
                continue;
            }
            PolygonRoi::new(&r.points, width_px, height_px)
                .map_err(|e| c.locate(r.span.clone(), &r.key, format!("{e} of camera `{camera}`")))?;
        }
        Ok(())
    }

    /// Every machine's id with its ideal strokes per hour, in the file's order.
    pub fn ideal_rates(&self) -> Vec<(String, Option<f64>)> {
        self.machines.iter().map(|m| (m.id.clone(), m.ideal_strokes_per_hour)).collect()
    }

    /// The configured shifts; without any, one shift `day` from midnight to midnight
    /// UTC, so that reports and shift figures are per whole day.
    pub fn shifts_or_whole_days(&self) -> Vec<Shift> {
        if !self.shifts.is_empty() {
            return self.shifts.clone();
        }
        Self::whole_days()
    }

    /// One shift `day` from midnight to midnight UTC, every day.
    pub fn whole_days() -> Vec<Shift> {
        vec![Shift {
            name: "day".into(),
            start: chrono::NaiveTime::MIN,
            end: chrono::NaiveTime::MIN,
            days: [true; 7],
            time_zone: shift::Tz::UTC,
        }]
    }

    /// The configuration's text as read (empty for one built in code).
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn station(&self, id: &str) -> Option<&StationConfig> {
        self.stations.iter().find(|s| s.id == id)
    }

    pub fn camera(&self, id: &str) -> Option<&CameraConfig> {
        self.cameras.iter().find(|c| c.id == id)
    }

    /// Zones on a camera's floor.
    pub fn zones_on<'a>(&'a self, camera: &'a str) -> impl Iterator<Item = &'a ZoneConfig> + 'a {
        self.zones.iter().filter(move |z| z.camera == camera)
    }

    /// Machines watched by a camera.
    pub fn machines_on<'a>(&'a self, camera: &'a str) -> impl Iterator<Item = &'a MachineConfig> + 'a {
        self.machines.iter().filter(move |m| m.camera == camera)
    }

    /// Error located at a camera's `source` key (for errors found when opening it).
    pub fn source_error(&self, camera: &str, message: impl Into<String>) -> ConfigError {
        let c = Checker::new(&self.path, &self.text);
        let index = self.cameras.iter().position(|c| c.id == camera).unwrap_or(0);
        let span = self.source_spans.get(index).cloned().unwrap_or(0..0);
        c.locate(span, format!("camera[{index}].source"), message)
    }
}

#[cfg(test)]
mod tests;
