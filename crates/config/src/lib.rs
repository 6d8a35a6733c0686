//! SheetSight's configuration: one TOML file.
//!
//! [`load`] parses and checks everything that can be checked without opening a camera;
//! [`Config::check_frame_sizes`] then checks every region against its camera's frame size
//! (known from the video's header, before any frame is decoded). Every error names the
//! file, the line and column, and the key (`machine[0].lamp[2].roi`); an unknown key
//! comes with the nearest valid key.
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

use serde::Deserialize;
use sheetsight_vision::lamp::{LampColor, LampMode};
use sheetsight_vision::roi::{PointPx, PolygonRoi};
use sheetsight_vision::state::{LampSelector, MachineState, StateRule, StateRules};
use toml::Spanned;

pub mod integration;
pub mod public_source;
pub mod shift;
pub use integration::{AlertCondition, AlertRule, AlertsConfig, DowntimeConfig, MqttConfig, ServerConfig};
use integration::{RawAlertRule, RawAlerts, RawDowntime, RawMqtt, RawServer};
use shift::RawShift;
pub use shift::{Shift, ShiftWindow};

/// A configuration error, located in its file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}:{line}:{column}: {key}: {message}")]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    /// Dotted path of the key, e.g. `machine[0].lamp[2].roi`; `-` for the file itself.
    pub key: String,
    pub message: String,
}

/// Where a camera's frames come from.
#[derive(Clone, Debug, PartialEq)]
pub enum SourceSpec {
    /// A video file or image folder (resolved against the config file's folder).
    File(PathBuf),
    /// A network camera URL (`rtsp://`, `http://`, `https://`), or `sim://` for the
    /// demo's simulated cameras.
    Url(String),
}

/// How RTP packets travel from an RTSP camera.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RtspTransport {
    /// Interleaved in the RTSP TCP connection: passes firewalls and NAT, no loss.
    #[default]
    Tcp,
    /// Separate UDP ports: less latency on a clean LAN, no reordering.
    Udp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CameraConfig {
    pub id: String,
    pub source: SourceSpec,
    /// Analysis rate; frames above it are skipped.
    pub fps: Option<f64>,
    /// Files only: start again at the end (demos, tests).
    pub loop_file: bool,
    /// RTSP only.
    pub transport: RtspTransport,
    /// Credentials given apart from the URL (they take precedence over the URL's).
    pub username: Option<String>,
    pub password: Option<String>,
    /// Frames older than this when analysis gets to them are dropped and counted.
    pub max_frame_age_ms: u64,
    /// Longest wait between reconnection attempts.
    pub retry_max_s: f64,
}

impl CameraConfig {
    /// A camera with every optional key at its default.
    pub fn new(id: impl Into<String>, source: SourceSpec, fps: Option<f64>) -> Self {
        Self {
            id: id.into(),
            source,
            fps,
            loop_file: false,
            transport: RtspTransport::Tcp,
            username: None,
            password: None,
            max_frame_age_ms: 2000,
            retry_max_s: 30.0,
        }
    }

    /// The source as it may be shown (logs, health, API): no user info, query or
    /// fragment. See [`public_source::public_form`].
    pub fn public_source(&self) -> String {
        public_source::public_form(&self.source)
    }

    /// The secrets of this camera's source, to take out of any message before it is
    /// logged or shown.
    pub fn secrets(&self) -> public_source::Secrets {
        public_source::Secrets::of(&self.source, self.username.as_deref(), self.password.as_deref())
    }
}

/// Where and how long history is kept.
#[derive(Clone, Debug, PartialEq)]
pub struct StorageConfig {
    /// Folder of the database (default: `sheetsight-data` beside the config file).
    pub data_dir: PathBuf,
    /// Closed intervals older than this are deleted.
    pub retention_days: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LampConfig {
    pub color: LampColor,
    pub roi_px: Vec<PointPx>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MotionConfig {
    pub roi_px: Vec<PointPx>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MachineConfig {
    pub id: String,
    pub camera: String,
    pub lamps: Vec<LampConfig>,
    pub motion: Option<MotionConfig>,
    pub rules: StateRules,
    /// The stroke rate of this machine at full speed, for OEE's performance.
    pub ideal_strokes_per_hour: Option<f64>,
}

/// A checked configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub path: PathBuf,
    pub cameras: Vec<CameraConfig>,
    pub machines: Vec<MachineConfig>,
    pub storage: StorageConfig,
    pub shifts: Vec<Shift>,
    pub server: ServerConfig,
    pub mqtt: Option<MqttConfig>,
    pub alerts: AlertsConfig,
    pub downtime: DowntimeConfig,
    text: String,
    roi_spans: Vec<RoiSpan>,
    /// Where each camera's `source` value stands, for errors found when opening it.
    source_spans: Vec<Range<usize>>,
}

#[derive(Clone, Debug)]
struct RoiSpan {
    machine: usize,
    key: String,
    span: Range<usize>,
    points: Vec<PointPx>,
}

// ---- raw TOML shape -------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    camera: Vec<Spanned<RawCamera>>,
    #[serde(default)]
    machine: Vec<Spanned<RawMachine>>,
    storage: Option<RawStorage>,
    #[serde(default)]
    shift: Vec<Spanned<RawShift>>,
    server: Option<RawServer>,
    mqtt: Option<RawMqtt>,
    alerts: Option<RawAlerts>,
    #[serde(default)]
    alert: Vec<Spanned<RawAlertRule>>,
    downtime: Option<RawDowntime>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    data_dir: Option<Spanned<String>>,
    retention_days: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCamera {
    id: Spanned<String>,
    source: Spanned<String>,
    fps: Option<Spanned<f64>>,
    #[serde(rename = "loop")]
    loop_file: Option<Spanned<bool>>,
    transport: Option<Spanned<String>>,
    username: Option<Spanned<String>>,
    password: Option<Spanned<String>>,
    max_frame_age_ms: Option<Spanned<i64>>,
    retry_max_s: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMachine {
    id: Spanned<String>,
    camera: Spanned<String>,
    #[serde(default)]
    lamp: Vec<Spanned<RawLamp>>,
    motion: Option<Spanned<RawMotion>>,
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
    otherwise: Option<Spanned<String>>,
    ideal_strokes_per_hour: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLamp {
    color: Spanned<String>,
    roi: Spanned<Vec<[f64; 2]>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMotion {
    roi: Spanned<Vec<[f64; 2]>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    state: Spanned<String>,
    color: Option<Spanned<String>>,
    lamp: Option<Spanned<usize>>,
    mode: Spanned<Vec<Spanned<String>>>,
}

// ---- errors -----------------------------------------------------------------------

pub(crate) struct Located<'a> {
    file: &'a Path,
    text: &'a str,
}

impl Located<'_> {
    pub(crate) fn error(&self, span: Range<usize>, key: impl Into<String>, message: impl Into<String>) -> ConfigError {
        let (line, column) = line_column(self.text, span.start);
        ConfigError { file: self.file.to_path_buf(), line, column, key: key.into(), message: message.into() }
    }
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(offset, |nl| offset - nl - 1) + 1;
    (line, column)
}

/// The nearest candidate to `word`, if any is close enough to be a typo.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|&(d, c)| d <= (c.len().max(word.len()) / 2).max(1))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

pub(crate) fn suggestion<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    nearest(word, candidates).map_or(String::new(), |n| format!("; did you mean `{n}`?"))
}

/// Finds the dotted key path of a byte offset by scanning the table headers before it.
fn key_path_at(text: &str, offset: usize) -> String {
    let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut path = String::new();
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        if pos > offset {
            break;
        }
        let t = line.trim();
        if let Some(name) = t.strip_prefix("[[").and_then(|r| r.split("]]").next()) {
            let name = name.trim().to_string();
            // a new parent array element resets its children's counters
            counts.retain(|k, _| !k.starts_with(&format!("{name}.")));
            let n = *counts.entry(name.clone()).and_modify(|c| *c += 1).or_insert(0);
            path = indexed(&name, &counts, n);
        } else if let Some(name) = t.strip_prefix('[').and_then(|r| r.split(']').next()) {
            path = indexed(name.trim(), &counts, usize::MAX);
        }
        pos += line.len();
    }
    path
}

fn indexed(name: &str, counts: &std::collections::HashMap<String, usize>, last: usize) -> String {
    let parts: Vec<&str> = name.split('.').collect();
    let mut out = Vec::new();
    for i in 0..parts.len() {
        let prefix = parts[..=i].join(".");
        let idx = if i == parts.len() - 1 && last != usize::MAX { Some(last) } else { counts.get(&prefix).copied() };
        out.push(match idx {
            Some(n) => format!("{}[{n}]", parts[i]),
            None => parts[i].to_string(),
        });
    }
    out.join(".")
}

fn parse_error(loc: &Located<'_>, e: &toml::de::Error) -> ConfigError {
    let span = e.span().unwrap_or(0..0);
    let message = e.message().trim().to_string();
    let table = key_path_at(loc.text, span.start);
    // serde's wording: "unknown field `fsp`, expected one of `id`, `source`, `fps`"
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let field = rest.split('`').next().unwrap_or_default().to_string();
        let expected: Vec<&str> = rest.split('`').skip(2).step_by(2).collect();
        let key = if table.is_empty() { field.clone() } else { format!("{table}.{field}") };
        let valid =
            if expected.is_empty() { String::new() } else { format!("; valid keys here: {}", expected.join(", ")) };
        return loc.error(
            span,
            key,
            format!("unknown key `{field}`{}{valid}", suggestion(&field, expected.iter().copied())),
        );
    }
    // A bad value: the key is what stands before `=` on the value's line.
    let line_start = loc.text[..span.start.min(loc.text.len())].rfind('\n').map_or(0, |p| p + 1);
    let line = loc.text[line_start..].lines().next().unwrap_or_default();
    let key_on_line = line
        .split_once('=')
        .filter(|(k, _)| line_start + k.len() <= span.start)
        .map(|(k, _)| k.trim().trim_matches('"').to_string())
        .filter(|k| !k.is_empty() && !k.starts_with('['));
    let key = match (table.is_empty(), key_on_line) {
        (true, Some(k)) => k,
        (false, Some(k)) => format!("{table}.{k}"),
        (false, None) => table,
        (true, None) => "-".into(),
    };
    loc.error(span, key, message)
}

// ---- loading ----------------------------------------------------------------------

/// Reads and checks a configuration file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: path.to_path_buf(),
        line: 0,
        column: 0,
        key: "-".into(),
        message: format!("cannot read the configuration: {e}"),
    })?;
    parse(path, &text)
}

fn check_id(loc: &Located<'_>, id: &Spanned<String>, key: &str) -> Result<(), ConfigError> {
    let ok = !id.get_ref().is_empty()
        && id.get_ref().len() <= 64
        && id.get_ref().chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(loc.error(
            id.span(),
            key,
            format!("`{}` is not a valid id: use 1-64 letters, digits, `-` or `_`", id.get_ref()),
        ))
    }
}

fn check_polygon(loc: &Located<'_>, roi: &Spanned<Vec<[f64; 2]>>, key: &str) -> Result<Vec<PointPx>, ConfigError> {
    let points = roi.get_ref();
    if points.len() < 3 {
        return Err(loc.error(
            roi.span(),
            key,
            format!("a region needs at least 3 points [x, y], this one has {}", points.len()),
        ));
    }
    if let Some(p) = points.iter().find(|p| !p[0].is_finite() || !p[1].is_finite() || p[0] < 0.0 || p[1] < 0.0) {
        return Err(loc.error(
            roi.span(),
            key,
            format!("point [{}, {}] is outside the frame (negative or not a number)", p[0], p[1]),
        ));
    }
    Ok(points.clone())
}

/// Parses configuration text (`path` is used for messages and relative sources).
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let loc = Located { file: path, text };
    let raw: RawConfig = toml::from_str(text).map_err(|e| parse_error(&loc, &e))?;
    if raw.camera.is_empty() {
        return Err(loc.error(0..0, "camera", "no [[camera]] is configured"));
    }
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut cameras = Vec::new();
    let mut source_spans = Vec::new();
    for (i, cam) in raw.camera.iter().enumerate() {
        let cam = cam.get_ref();
        let key = |k: &str| format!("camera[{i}].{k}");
        check_id(&loc, &cam.id, &key("id"))?;
        if cameras.iter().any(|c: &CameraConfig| &c.id == cam.id.get_ref()) {
            return Err(loc.error(cam.id.span(), key("id"), format!("camera id `{}` is used twice", cam.id.get_ref())));
        }
        let src = cam.source.get_ref().trim();
        // `sim://<camera>`: a simulated camera, opened only by `sheetsight demo`.
        let schemes = ["rtsp://", "http://", "https://", "sim://"];
        let source = if schemes.iter().any(|p| src.to_ascii_lowercase().starts_with(p)) {
            SourceSpec::Url(src.to_string())
        } else if src.is_empty() {
            return Err(loc.error(cam.source.span(), key("source"), "the source is empty"));
        } else {
            let file = base.join(src);
            if !file.exists() {
                return Err(loc.error(
                    cam.source.span(),
                    key("source"),
                    format!(
                        "{} does not exist (relative sources are read from the config file's folder)",
                        file.display()
                    ),
                ));
            }
            SourceSpec::File(file)
        };
        let fps = match &cam.fps {
            Some(f) if !(f.get_ref().is_finite() && *f.get_ref() > 0.0 && *f.get_ref() <= 120.0) => {
                return Err(loc.error(
                    f.span(),
                    key("fps"),
                    format!("fps must be above 0 and at most 120, not {}", f.get_ref()),
                ));
            }
            Some(f) => Some(*f.get_ref()),
            None => None,
        };
        let is_file = matches!(source, SourceSpec::File(_));
        let is_rtsp = src.to_ascii_lowercase().starts_with("rtsp://");
        if let Some(l) = &cam.loop_file
            && !is_file
        {
            return Err(loc.error(l.span(), key("loop"), "`loop` applies to file sources only"));
        }
        let transport = match &cam.transport {
            None => RtspTransport::Tcp,
            Some(t) if !is_rtsp => {
                return Err(loc.error(t.span(), key("transport"), "`transport` applies to rtsp:// sources only"));
            }
            Some(t) => match t.get_ref().as_str() {
                "tcp" => RtspTransport::Tcp,
                "udp" => RtspTransport::Udp,
                other => {
                    return Err(loc.error(
                        t.span(),
                        key("transport"),
                        format!("unknown transport `{other}`{}; valid: tcp, udp", suggestion(other, ["tcp", "udp"])),
                    ));
                }
            },
        };
        for (k, v) in [("username", &cam.username), ("password", &cam.password)] {
            if let Some(v) = v
                && is_file
            {
                return Err(loc.error(v.span(), key(k), format!("`{k}` applies to camera URLs only")));
            }
        }
        let max_frame_age_ms =
            in_range(&loc, cam.max_frame_age_ms.as_ref(), 2000, 50..=600_000, &key("max_frame_age_ms"))? as u64;
        let retry_max_s = in_range(&loc, cam.retry_max_s.as_ref(), 30.0, 1.0..=3600.0, &key("retry_max_s"))?;
        cameras.push(CameraConfig {
            id: cam.id.get_ref().clone(),
            source,
            fps,
            loop_file: cam.loop_file.as_ref().is_some_and(|l| *l.get_ref()),
            transport,
            username: cam.username.as_ref().map(|u| u.get_ref().clone()),
            password: cam.password.as_ref().map(|p| p.get_ref().clone()),
            max_frame_age_ms,
            retry_max_s,
        });
        source_spans.push(cam.source.span());
    }

    let mut machines = Vec::new();
    let mut roi_spans = Vec::new();
    for (i, m) in raw.machine.iter().enumerate() {
        let machine_span = m.span();
        let m = m.get_ref();
        let key = |k: &str| format!("machine[{i}].{k}");
        check_id(&loc, &m.id, &key("id"))?;
        if machines.iter().any(|x: &MachineConfig| &x.id == m.id.get_ref()) {
            return Err(loc.error(m.id.span(), key("id"), format!("machine id `{}` is used twice", m.id.get_ref())));
        }
        if !cameras.iter().any(|c| &c.id == m.camera.get_ref()) {
            let ids: Vec<&str> = cameras.iter().map(|c| c.id.as_str()).collect();
            return Err(loc.error(
                m.camera.span(),
                key("camera"),
                format!(
                    "no camera has the id `{}`{}; configured cameras: {}",
                    m.camera.get_ref(),
                    suggestion(m.camera.get_ref(), ids.iter().copied()),
                    ids.join(", ")
                ),
            ));
        }
        if m.lamp.is_empty() && m.motion.is_none() {
            return Err(loc.error(
                machine_span,
                key("lamp"),
                "the machine has neither a [[machine.lamp]] nor a [machine.motion] to watch",
            ));
        }
        let mut lamps = Vec::new();
        for (k, lamp) in m.lamp.iter().enumerate() {
            let lamp = lamp.get_ref();
            let color_key = format!("machine[{i}].lamp[{k}].color");
            let color: LampColor = lamp.color.get_ref().parse().map_err(|_| {
                loc.error(
                    lamp.color.span(),
                    &color_key,
                    format!(
                        "unknown lamp colour `{}`{}; valid: red, yellow, green, blue, white",
                        lamp.color.get_ref(),
                        suggestion(lamp.color.get_ref(), LampColor::ALL.iter().map(|c| c.as_str()))
                    ),
                )
            })?;
            let roi_key = format!("machine[{i}].lamp[{k}].roi");
            let roi_px = check_polygon(&loc, &lamp.roi, &roi_key)?;
            roi_spans.push(RoiSpan { machine: i, key: roi_key, span: lamp.roi.span(), points: roi_px.clone() });
            lamps.push(LampConfig { color, roi_px });
        }
        let motion = match &m.motion {
            Some(motion) => {
                let roi_key = key("motion.roi");
                let roi_px = check_polygon(&loc, &motion.get_ref().roi, &roi_key)?;
                roi_spans.push(RoiSpan {
                    machine: i,
                    key: roi_key,
                    span: motion.get_ref().roi.span(),
                    points: roi_px.clone(),
                });
                Some(MotionConfig { roi_px })
            }
            None => None,
        };
        let rules = parse_rules(&loc, i, m, &lamps)?;
        machines.push(MachineConfig {
            id: m.id.get_ref().clone(),
            camera: m.camera.get_ref().clone(),
            lamps,
            motion,
            rules,
            ideal_strokes_per_hour: match &m.ideal_strokes_per_hour {
                Some(v) => Some(in_range(&loc, Some(v), 0.0, 1.0..=100_000.0, &key("ideal_strokes_per_hour"))?),
                None => None,
            },
        });
    }
    let storage = parse_storage(&loc, &base, raw.storage.as_ref())?;
    let shifts = shift::parse_shifts(&loc, &raw.shift)?;
    let server = integration::parse_server(&loc, raw.server.as_ref())?;
    let mqtt = integration::parse_mqtt(&loc, raw.mqtt.as_ref())?;
    let machine_ids: Vec<&str> = machines.iter().map(|m| m.id.as_str()).collect();
    let camera_ids: Vec<&str> = cameras.iter().map(|c| c.id.as_str()).collect();
    let alerts = integration::parse_alerts(&loc, raw.alerts.as_ref(), &raw.alert, &machine_ids, &camera_ids)?;
    let downtime = integration::parse_downtime(&loc, raw.downtime.as_ref())?;
    Ok(Config {
        path: path.to_path_buf(),
        cameras,
        machines,
        storage,
        shifts,
        server,
        mqtt,
        alerts,
        downtime,
        text: text.to_string(),
        roi_spans,
        source_spans,
    })
}

fn parse_storage(loc: &Located<'_>, base: &Path, raw: Option<&RawStorage>) -> Result<StorageConfig, ConfigError> {
    let data_dir = match raw.and_then(|r| r.data_dir.as_ref()) {
        Some(d) if d.get_ref().trim().is_empty() => {
            return Err(loc.error(d.span(), "storage.data_dir", "the data folder is empty"));
        }
        Some(d) if d.get_ref().trim() == "." => base.to_path_buf(),
        Some(d) => base.join(d.get_ref().trim()),
        None => base.join("sheetsight-data"),
    };
    let retention_days =
        in_range(loc, raw.and_then(|r| r.retention_days.as_ref()), 365, 1..=36500, "storage.retention_days")? as u32;
    Ok(StorageConfig { data_dir, retention_days })
}

/// An optional number: `default` when absent, else it must lie in `range` (a NaN never does).
pub(crate) fn in_range<T: Copy + PartialOrd + std::fmt::Display>(
    loc: &Located<'_>,
    value: Option<&Spanned<T>>,
    default: T,
    range: std::ops::RangeInclusive<T>,
    key: &str,
) -> Result<T, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) if range.contains(v.get_ref()) => Ok(*v.get_ref()),
        Some(v) => {
            let name = key.rsplit('.').next().unwrap_or(key);
            Err(loc.error(
                v.span(),
                key,
                format!("{name} must be {} to {}, not {}", range.start(), range.end(), v.get_ref()),
            ))
        }
    }
}

fn parse_state(loc: &Located<'_>, s: &Spanned<String>, key: &str) -> Result<MachineState, ConfigError> {
    s.get_ref().parse().map_err(|_| {
        let names = MachineState::ALL.map(MachineState::as_str);
        loc.error(
            s.span(),
            key,
            format!(
                "unknown machine state `{}`{}; valid: {}",
                s.get_ref(),
                suggestion(s.get_ref(), names),
                names.join(", ")
            ),
        )
    })
}

fn parse_rules(loc: &Located<'_>, i: usize, m: &RawMachine, lamps: &[LampConfig]) -> Result<StateRules, ConfigError> {
    let mut rules = StateRules::default();
    if let Some(o) = &m.otherwise {
        rules.otherwise = parse_state(loc, o, &format!("machine[{i}].otherwise"))?;
    }
    if m.rule.is_empty() {
        return Ok(rules);
    }
    rules.rules.clear();
    for (r, raw) in m.rule.iter().enumerate() {
        let span = raw.span();
        let raw = raw.get_ref();
        let key = |k: &str| format!("machine[{i}].rule[{r}].{k}");
        let state = parse_state(loc, &raw.state, &key("state"))?;
        let selector = match (&raw.color, &raw.lamp) {
            (Some(_), Some(l)) => {
                return Err(loc.error(l.span(), key("lamp"), "give either `color` or `lamp`, not both"));
            }
            (Some(c), None) => LampSelector::Color(c.get_ref().parse().map_err(|_| {
                loc.error(
                    c.span(),
                    key("color"),
                    format!(
                        "unknown lamp colour `{}`{}",
                        c.get_ref(),
                        suggestion(c.get_ref(), LampColor::ALL.iter().map(|c| c.as_str()))
                    ),
                )
            })?),
            (None, Some(l)) => {
                if *l.get_ref() >= lamps.len() {
                    return Err(loc.error(
                        l.span(),
                        key("lamp"),
                        format!(
                            "lamp {} does not exist: the machine has {} lamps, numbered from 0 at the top",
                            l.get_ref(),
                            lamps.len()
                        ),
                    ));
                }
                LampSelector::Index(*l.get_ref())
            }
            (None, None) => LampSelector::Any,
        };
        if let LampSelector::Color(c) = selector
            && !lamps.iter().any(|l| l.color == c)
        {
            return Err(loc.error(span, key("color"), format!("the machine has no {} lamp", c.as_str())));
        }
        if raw.mode.get_ref().is_empty() {
            return Err(loc.error(raw.mode.span(), key("mode"), "list at least one mode"));
        }
        let mut modes = Vec::new();
        for m in raw.mode.get_ref() {
            modes.push(m.get_ref().parse::<LampMode>().map_err(|_| {
                let names = LampMode::ALL.map(LampMode::as_str);
                loc.error(
                    m.span(),
                    key("mode"),
                    format!(
                        "unknown lamp mode `{}`{}; valid: {}",
                        m.get_ref(),
                        suggestion(m.get_ref(), names),
                        names.join(", ")
                    ),
                )
            })?);
        }
        rules.rules.push(StateRule { state, lamps: selector, modes });
    }
    Ok(rules)
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
            shifts,
            server: ServerConfig::default(),
            mqtt: None,
            alerts: AlertsConfig::default(),
            downtime: DowntimeConfig::default(),
            text: String::new(),
            roi_spans: Vec::new(),
            source_spans,
        }
    }

    /// Checks every region of the machines on `camera` against its frame size and
    /// rasterises it.
    pub fn check_frame_sizes(&self, camera: &str, width_px: u32, height_px: u32) -> Result<(), ConfigError> {
        let loc = Located { file: &self.path, text: &self.text };
        for r in &self.roi_spans {
            if self.machines[r.machine].camera != camera {
                continue;
            }
            PolygonRoi::new(&r.points, width_px, height_px)
                .map_err(|e| loc.error(r.span.clone(), &r.key, format!("{e} of camera `{camera}`")))?;
        }
        Ok(())
    }

    /// The configured shifts; without any, one shift `day` from midnight to midnight
    /// UTC, so that reports and shift figures are per whole day.
    pub fn shifts_or_whole_days(&self) -> Vec<Shift> {
        if !self.shifts.is_empty() {
            return self.shifts.clone();
        }
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

    pub fn camera(&self, id: &str) -> Option<&CameraConfig> {
        self.cameras.iter().find(|c| c.id == id)
    }

    /// Machines watched by a camera.
    pub fn machines_on<'a>(&'a self, camera: &'a str) -> impl Iterator<Item = &'a MachineConfig> + 'a {
        self.machines.iter().filter(move |m| m.camera == camera)
    }

    /// Error located at a camera's `source` key (for errors found when opening it).
    pub fn source_error(&self, camera: &str, message: impl Into<String>) -> ConfigError {
        let loc = Located { file: &self.path, text: &self.text };
        let index = self.cameras.iter().position(|c| c.id == camera).unwrap_or(0);
        let span = self.source_spans.get(index).cloned().unwrap_or(0..0);
        loc.error(span, format!("camera[{index}].source"), message)
    }
}

#[cfg(test)]
mod tests;
