//! Sparkplug B (spBv1.0) for SCADA: the protobuf payload, the topic names, and the
//! metrics of a SheetSight node.
//!
//! - The node (`[mqtt] sparkplug_node`) is the SheetSight server; each machine is a
//!   device. NBIRTH carries `bdSeq` (Int64) and `Node Control/Rebirth`; the NDEATH is the
//!   MQTT last will with the same `bdSeq`, which grows by one with every session that
//!   connected, and goes on from the last one after a restart (see [`crate::node`]).
//! - Every NBIRTH/DBIRTH/NDATA/DDATA/DDEATH carries `seq`, 0 at the NBIRTH and then
//!   one more per message, wrapping at 256.
//! - A machine's metrics follow OPC UA: `MachineryItemState/CurrentState` holds the
//!   OPC 40001-1 state name (`Executing`, ...); each lamp is an OPC 10000-200
//!   `StackElementLightType`: `Stacklight/Lamp<n>/SignalOn`, `SignalColor` (SignalColor
//!   enumeration: Red 1, Green 2, Blue 3, Yellow 4, White 7), `SignalMode`
//!   (SignalModeLight: Continuous 0, Blinking 1, Flashing 2) and, in births,
//!   `NumberInList`; a lamp not yet decided is sent as null. `Stacklight/StacklightMode`
//!   is 0 (Segmented). Lamps are numbered as OPC 10000-200 counts them, from the base
//!   upwards (`Lamp0` is the lowest), while the configuration lists them from the top:
//!   see [`number_in_list`].
//! - `Strokes` (UInt64) counts every stroke ever stored for the machine and is sent in
//!   DDATA at each stroke; `Camera/Health` is the device's camera, sent in DDATA when
//!   it changes.
//! - People (advisory, from the person detector): `Operator/People` (Int32) is the head
//!   count of the machine's operator zones, null until one is known, sent in DDATA when
//!   it changes; `Safety/Advisories` (UInt64) counts the advisory safety events of the
//!   machine since the service started, sent in DDATA with each. Neither is a safety
//!   function.
//! - Births carry each metric's datatype; DATA messages do not (the receiver knows it
//!   from the birth). Within a session, one metric's timestamps always grow.
//!
//! The protobuf messages are declared here with `prost` derives instead of generated
//! from `sparkplug_b.proto` at build time, so that building needs no `protoc`; the field
//! numbers and types are those of the Eclipse Tahu definition.

use sheetsight_vision::event::CameraHealth;
use sheetsight_vision::lamp::{LampColor, LampMode};
use sheetsight_vision::state::MachineState;

pub const NAMESPACE: &str = "spBv1.0";

/// Sparkplug B data types used here.
pub mod datatype {
    pub const INT32: u32 = 3;
    pub const INT64: u32 = 4;
    pub const UINT32: u32 = 7;
    pub const UINT64: u32 = 8;
    pub const BOOLEAN: u32 = 11;
    pub const STRING: u32 = 12;
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Payload {
    #[prost(uint64, optional, tag = "1")]
    pub timestamp: Option<u64>,
    #[prost(message, repeated, tag = "2")]
    pub metrics: Vec<Metric>,
    #[prost(uint64, optional, tag = "3")]
    pub seq: Option<u64>,
    #[prost(string, optional, tag = "4")]
    pub uuid: Option<String>,
    #[prost(bytes = "vec", optional, tag = "5")]
    pub body: Option<Vec<u8>>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Metric {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(uint64, optional, tag = "2")]
    pub alias: Option<u64>,
    #[prost(uint64, optional, tag = "3")]
    pub timestamp: Option<u64>,
    #[prost(uint32, optional, tag = "4")]
    pub datatype: Option<u32>,
    #[prost(bool, optional, tag = "5")]
    pub is_historical: Option<bool>,
    #[prost(bool, optional, tag = "6")]
    pub is_transient: Option<bool>,
    #[prost(bool, optional, tag = "7")]
    pub is_null: Option<bool>,
    #[prost(oneof = "Value", tags = "10, 11, 12, 13, 14, 15")]
    pub value: Option<Value>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Value {
    #[prost(uint32, tag = "10")]
    IntValue(u32),
    #[prost(uint64, tag = "11")]
    LongValue(u64),
    #[prost(float, tag = "12")]
    FloatValue(f32),
    #[prost(double, tag = "13")]
    DoubleValue(f64),
    #[prost(bool, tag = "14")]
    BooleanValue(bool),
    #[prost(string, tag = "15")]
    StringValue(String),
}

impl Metric {
    fn new(name: impl Into<String>, datatype: u32, value: Option<Value>, t_ms: u64) -> Self {
        Metric {
            name: Some(name.into()),
            timestamp: Some(t_ms),
            datatype: Some(datatype),
            is_null: value.is_none().then_some(true),
            value,
            ..Default::default()
        }
    }
    pub fn string(name: impl Into<String>, v: &str, t_ms: u64) -> Self {
        Self::new(name, datatype::STRING, Some(Value::StringValue(v.into())), t_ms)
    }
    pub fn uint64(name: impl Into<String>, v: u64, t_ms: u64) -> Self {
        Self::new(name, datatype::UINT64, Some(Value::LongValue(v)), t_ms)
    }
    /// Int64 is carried in `long_value` as its two's complement (Sparkplug's rule).
    pub fn int64(name: impl Into<String>, v: i64, t_ms: u64) -> Self {
        Self::new(name, datatype::INT64, Some(Value::LongValue(v as u64)), t_ms)
    }
    pub fn uint32(name: impl Into<String>, v: u32, t_ms: u64) -> Self {
        Self::new(name, datatype::UINT32, Some(Value::IntValue(v)), t_ms)
    }
    pub fn boolean(name: impl Into<String>, v: Option<bool>, t_ms: u64) -> Self {
        Self::new(name, datatype::BOOLEAN, v.map(Value::BooleanValue), t_ms)
    }
    /// Int32 is carried in `int_value` as its two's complement (Sparkplug's rule).
    pub fn int32(name: impl Into<String>, v: Option<i32>, t_ms: u64) -> Self {
        Self::new(name, datatype::INT32, v.map(|v| Value::IntValue(v as u32)), t_ms)
    }
}

/// `spBv1.0/<group>/<kind>/<node>[/<device>]`
pub fn topic(group: &str, kind: &str, node: &str, device: Option<&str>) -> String {
    match device {
        Some(d) => format!("{NAMESPACE}/{group}/{kind}/{node}/{d}"),
        None => format!("{NAMESPACE}/{group}/{kind}/{node}"),
    }
}

/// OPC 10000-200 SignalColor.
pub fn signal_color(c: LampColor) -> i32 {
    match c {
        LampColor::Red => 1,
        LampColor::Green => 2,
        LampColor::Blue => 3,
        LampColor::Yellow => 4,
        LampColor::White => 7,
    }
}

/// OPC 10000-200 `SignalOn` and `SignalModeLight` of a lamp's mode; `None` when unknown.
pub fn signal(mode: Option<LampMode>) -> (Option<bool>, Option<i32>) {
    match mode {
        Some(LampMode::Off) => (Some(false), Some(0)),
        Some(LampMode::Steady) => (Some(true), Some(0)),
        Some(LampMode::Blinking) => (Some(true), Some(1)),
        Some(LampMode::Flashing) => (Some(true), Some(2)),
        Some(LampMode::Unknown) | None => (None, None),
    }
}

/// OPC 10000-200's `NumberInList` of a lamp: from 0 at the base upwards. `from_top` is
/// its place in the configuration (0 at the top) of a tower of `lamps` lamps.
pub fn number_in_list(from_top: usize, lamps: usize) -> usize {
    lamps.saturating_sub(1).saturating_sub(from_top)
}

/// A lamp's metrics, named by its `NumberInList`; births also carry its colour and
/// number.
pub fn lamp_metrics(number: usize, color: LampColor, mode: Option<LampMode>, t_ms: u64, birth: bool) -> Vec<Metric> {
    let base = format!("Stacklight/Lamp{number}");
    let (on, signal_mode) = signal(mode);
    let mut out = vec![
        Metric::boolean(format!("{base}/SignalOn"), on, t_ms),
        Metric::int32(format!("{base}/SignalMode"), signal_mode, t_ms),
    ];
    if birth {
        out.push(Metric::int32(format!("{base}/SignalColor"), Some(signal_color(color)), t_ms));
        out.push(Metric::uint32(format!("{base}/NumberInList"), number as u32, t_ms));
    }
    out
}

pub fn state_metric(state: Option<MachineState>, t_ms: u64) -> Metric {
    match state {
        Some(s) => Metric::string("MachineryItemState/CurrentState", s.as_str(), t_ms),
        None => Metric::new("MachineryItemState/CurrentState", datatype::STRING, None, t_ms),
    }
}

pub fn health_metric(health: CameraHealth, t_ms: u64) -> Metric {
    Metric::string("Camera/Health", health.as_str(), t_ms)
}

pub fn strokes_metric(strokes: u64, t_ms: u64) -> Metric {
    Metric::uint64("Strokes", strokes, t_ms)
}

pub fn operator_people_metric(people: Option<u32>, t_ms: u64) -> Metric {
    Metric::int32("Operator/People", people.map(|n| i32::try_from(n).unwrap_or(i32::MAX)), t_ms)
}

pub fn safety_advisories_metric(count: u64, t_ms: u64) -> Metric {
    Metric::uint64("Safety/Advisories", count, t_ms)
}

/// The sequence counter of one node session.
#[derive(Debug, Default)]
pub struct Sequence(u64);

impl Sequence {
    /// Starts a session: the next value is 0 (the NBIRTH's).
    pub fn reset(&mut self) {
        self.0 = 0;
    }
    pub fn next_value(&mut self) -> u64 {
        let v = self.0;
        self.0 = (self.0 + 1) % 256;
        v
    }
}
