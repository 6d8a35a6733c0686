//! The Sparkplug B node: one SheetSight server's sessions with the broker, its devices
//! (the machines) and what it carries from one process to the next.
//!
//! Invariants:
//! - `bdSeq` numbers sessions. The will registered with a connection attempt carries the
//!   next number, and it becomes the session's number only once the broker has accepted
//!   the connection, so failed attempts skip nothing. The last session's number is kept
//!   in a file in the data folder ([`NodeMemory::bd_seq_file`]), so a restarted process
//!   goes on with the next one. 0 to 255, then 0 again.
//! - A machine's `Strokes` starts from every stroke stored before this process's cameras
//!   started and grows by one with every stroke event, connected or not: it never goes
//!   backwards, across restarts included (strokes lost with a killed process's last
//!   second of history aside).
//! - One metric's timestamps always grow: a value in the same millisecond as the
//!   metric's previous one is stamped a millisecond later.
//! - Births carry datatypes, DATA messages do not.
//! - With a primary host (`[mqtt] sparkplug_primary_host`), the node is born only while
//!   the host's `spBv1.0/STATE/<host>` says online (a STATE older than the last one seen
//!   is ignored), and it ends its session (DDEATHs, NDEATH, disconnect) when the host
//!   goes offline. What happened meanwhile is in the edge's outbox; after the next birth
//!   it is published as DDATA/NDATA with `is_historical` ([`crate::forward`]), in its
//!   own order and at its own times, with the `Strokes` each stroke had.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rumqttc::{LastWill, QoS};
use sheetsight_base::UnixMillis;
use sheetsight_service::{CameraStatus, MachineStatus};
use sheetsight_vision::event::{Event, LiveEvent};

use crate::sparkplug::{self, Metric};
use crate::topics::Message;
use crate::{Extra, Protocol};

/// What a Sparkplug node carries from one process to the next.
#[derive(Clone, Debug, Default)]
pub struct NodeMemory {
    /// The file that keeps the last session's `bdSeq`; `None`: not kept (it starts at 0).
    pub bd_seq_file: Option<PathBuf>,
    /// Every stroke stored per machine before this process's cameras started.
    pub stroke_totals: HashMap<String, u64>,
}

/// The counters behind a node's metrics, as events move them.
#[derive(Clone, Debug, Default)]
struct Counts {
    strokes: HashMap<String, u64>,
    /// Head counts of operator zones: (machine, zone) → people.
    operators: HashMap<(String, String), u32>,
    /// Advisory safety events per machine since the service started.
    advisories: HashMap<String, u64>,
}

impl Counts {
    fn note(&mut self, e: &LiveEvent) {
        match e {
            Event::Stroke { machine, .. } => *self.strokes.entry(machine.clone()).or_default() += 1,
            Event::Presence { zone, operator_of, people, .. } => {
                // A zone that is no longer an operator zone (or is gone) counts for nobody.
                self.operators.retain(|(_, z), _| z != zone);
                if let Some(machine) = operator_of {
                    self.operators.insert((machine.clone(), zone.clone()), *people);
                }
            }
            Event::Safety { machine, .. } => *self.advisories.entry(machine.clone()).or_default() += 1,
            _ => {}
        }
    }

    /// The head count of `machine`'s operator zones, if any is known.
    fn operator_people(&self, machine: &str) -> Option<u32> {
        let counts = self.operators.iter().filter(|((m, _), _)| m == machine).map(|(_, n)| *n);
        counts.reduce(|a, b| a + b)
    }
}

/// What a command, or the primary host's STATE, asks of the link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Command {
    Nothing,
    Rebirth,
    /// The primary host says it is online (again, or still).
    HostOnline,
    HostOffline,
}

/// A machine born in the current session.
struct Device {
    id: String,
    camera: String,
    lamps: usize,
}

pub(crate) struct Node {
    group: String,
    node: String,
    /// The current session's number, once the broker accepted it.
    bd_seq: Option<u8>,
    /// The number the next connection's will carries.
    next_bd_seq: u8,
    bd_seq_file: Option<PathBuf>,
    seq: sparkplug::Sequence,
    devices: Vec<Device>,
    /// The counters as of now.
    live: Counts,
    /// The counters as of the historical event last published.
    replay: Counts,
    /// The last timestamp sent per `device/metric` (`/metric` for the node's).
    last_ms: HashMap<String, u64>,
    /// The last timestamp sent per metric in historical DATA.
    historical_ms: HashMap<String, u64>,
    primary_host: Option<String>,
    /// The primary host's last STATE: online, and its timestamp.
    host: Option<(bool, u64)>,
    /// When the current session's births were stamped.
    born_ms: u64,
}

fn now_ms() -> u64 {
    UnixMillis::now().as_u64_or_zero()
}

/// The last session's `bdSeq` kept in `file`, if any can be read.
fn read_bd_seq(file: &Path) -> Option<u8> {
    let text = std::fs::read_to_string(file).ok()?;
    let value = text.trim().parse().ok();
    if value.is_none() {
        tracing::warn!(file = %file.display(), "the kept Sparkplug bdSeq is not a number 0-255; starting at 0");
    }
    value
}

/// Keeps `bd_seq` in `file` (written beside it, then renamed over it).
fn write_bd_seq(file: &Path, bd_seq: u8) {
    let temporary = file.with_extension("tmp");
    let written = std::fs::write(&temporary, format!("{bd_seq}\n")).and_then(|()| std::fs::rename(&temporary, file));
    if let Err(e) = written {
        tracing::warn!(file = %file.display(), error = %e, "cannot keep the Sparkplug bdSeq; a restart begins at 0");
    }
}

impl Node {
    pub fn new(group: String, node: String, primary_host: Option<String>, memory: NodeMemory) -> Self {
        let kept = memory.bd_seq_file.as_deref().and_then(read_bd_seq);
        Self {
            group,
            node,
            bd_seq: None,
            next_bd_seq: kept.map_or(0, |b| b.wrapping_add(1)),
            bd_seq_file: memory.bd_seq_file,
            seq: sparkplug::Sequence::default(),
            devices: Vec::new(),
            live: Counts { strokes: memory.stroke_totals, ..Default::default() },
            replay: Counts::default(),
            last_ms: HashMap::new(),
            historical_ms: HashMap::new(),
            primary_host,
            host: None,
            born_ms: 0,
        }
    }

    fn host_state_topic(&self) -> Option<String> {
        self.primary_host.as_ref().map(|h| format!("{}/STATE/{h}", sparkplug::NAMESPACE))
    }

    /// The primary host's STATE (Sparkplug 3.0: `{"online": bool, "timestamp": ms}`).
    fn host_state(&mut self, payload: &[u8]) -> Command {
        #[derive(serde::Deserialize)]
        struct State {
            online: bool,
            timestamp: u64,
        }
        let Ok(state) = serde_json::from_slice::<State>(payload) else {
            let payload = String::from_utf8_lossy(payload);
            tracing::warn!(%payload, "a primary host STATE that is not {{\"online\": bool, \"timestamp\": ms}} was ignored");
            return Command::Nothing;
        };
        if self.host.is_some_and(|(_, t)| state.timestamp < t) {
            return Command::Nothing;
        }
        self.host = Some((state.online, state.timestamp));
        if state.online { Command::HostOnline } else { Command::HostOffline }
    }

    /// `m` as sent: its timestamp after the metric's previous one; no datatype in DATA.
    fn stamped(&mut self, device: Option<&str>, mut m: Metric, data: bool) -> Metric {
        let key = format!("{}/{}", device.unwrap_or(""), m.name.as_deref().unwrap_or(""));
        let last = self.last_ms.entry(key).or_insert(0);
        let t = m.timestamp.unwrap_or(0).max(*last + 1);
        *last = t;
        m.timestamp = Some(t);
        if data {
            m.datatype = None;
        }
        m
    }

    fn payload(&mut self, metrics: Vec<Metric>, with_seq: bool) -> Vec<u8> {
        use prost::Message as _;
        let p = sparkplug::Payload {
            timestamp: Some(now_ms()),
            metrics,
            seq: with_seq.then(|| self.seq.next_value()),
            ..Default::default()
        };
        p.encode_to_vec()
    }

    fn message(&mut self, kind: &str, device: Option<&str>, metrics: Vec<Metric>) -> (Message, QoS) {
        let data = kind.ends_with("DATA");
        let metrics = metrics.into_iter().map(|m| self.stamped(device, m, data)).collect();
        let topic = sparkplug::topic(&self.group, kind, &self.node, device);
        (Message { topic, payload: self.payload(metrics, true), retain: false }, QoS::AtMostOnce)
    }

    fn death(&mut self, bd_seq: u8) -> Vec<u8> {
        self.payload(vec![Metric::int64("bdSeq", i64::from(bd_seq), now_ms())], false)
    }

    fn device(&self, id: &str) -> Option<&Device> {
        self.devices.iter().find(|d| d.id == id)
    }

    fn device_birth(&mut self, cam: &CameraStatus, m: &MachineStatus, t: u64) -> (Message, QoS) {
        let strokes = self.live.strokes.get(&m.id).copied().unwrap_or(0);
        let mut metrics = vec![
            sparkplug::state_metric(m.state, t),
            Metric::int32("Stacklight/StacklightMode", Some(0), t),
            sparkplug::strokes_metric(strokes, t),
            sparkplug::health_metric(cam.health, t),
            sparkplug::operator_people_metric(self.live.operator_people(&m.id), t),
            sparkplug::safety_advisories_metric(self.live.advisories.get(&m.id).copied().unwrap_or(0), t),
        ];
        let lamps = m.lamps.len();
        for (from_top, (color, mode)) in m.lamps.iter().enumerate() {
            let number = sparkplug::number_in_list(from_top, lamps);
            metrics.extend(sparkplug::lamp_metrics(number, *color, *mode, t, true));
        }
        self.devices.push(Device { id: m.id.clone(), camera: cam.id.clone(), lamps });
        self.message("DBIRTH", Some(&m.id), metrics)
    }

    /// The metrics `e` changes, per device (`None`: the node), valued by `counts`.
    fn changes(&self, e: &LiveEvent, counts: &Counts) -> Vec<(Option<String>, Vec<Metric>)> {
        let born = |machine: &String| self.device(machine).is_some();
        match e {
            Event::State { machine, state, t } if born(machine) => {
                vec![(Some(machine.clone()), vec![sparkplug::state_metric(Some(*state), t.as_u64_or_zero())])]
            }
            Event::Lamp { machine, lamp, color, mode, t } => {
                let Some(lamps) = self.device(machine).map(|d| d.lamps) else { return Vec::new() };
                let number = sparkplug::number_in_list(*lamp, lamps);
                let metrics = sparkplug::lamp_metrics(number, *color, Some(*mode), t.as_u64_or_zero(), false);
                vec![(Some(machine.clone()), metrics)]
            }
            Event::Stroke { machine, end_t, .. } if born(machine) => {
                let strokes = counts.strokes.get(machine).copied().unwrap_or(0);
                vec![(Some(machine.clone()), vec![sparkplug::strokes_metric(strokes, end_t.as_u64_or_zero())])]
            }
            Event::Presence { operator_of: Some(machine), t, .. } if born(machine) => {
                let metric = sparkplug::operator_people_metric(counts.operator_people(machine), t.as_u64_or_zero());
                vec![(Some(machine.clone()), vec![metric])]
            }
            Event::Safety { machine, t, .. } if born(machine) => {
                let count = counts.advisories.get(machine).copied().unwrap_or(0);
                vec![(Some(machine.clone()), vec![sparkplug::safety_advisories_metric(count, t.as_u64_or_zero())])]
            }
            Event::Health { camera, health, t, .. } => {
                let t = t.as_u64_or_zero();
                let name = format!("Cameras/{camera}/Health");
                let mut out = vec![(None, vec![Metric::string(name, health.as_str(), t)])];
                for d in self.devices.iter().filter(|d| &d.camera == camera) {
                    out.push((Some(d.id.clone()), vec![sparkplug::health_metric(*health, t)]));
                }
                out
            }
            _ => Vec::new(),
        }
    }

    fn data_kind(device: &Option<String>) -> &'static str {
        if device.is_some() { "DDATA" } else { "NDATA" }
    }
}

impl Protocol for Node {
    fn name(&self) -> &'static str {
        "sparkplug"
    }
    fn client_id(&self, base: &str) -> String {
        format!("{base}-spb")
    }
    fn will(&mut self) -> LastWill {
        let payload = self.death(self.next_bd_seq);
        LastWill::new(sparkplug::topic(&self.group, "NDEATH", &self.node, None), payload, QoS::AtLeastOnce, false)
    }
    fn connected(&mut self) {
        // The host's STATE is read again in every session (it is retained), and no device
        // is born in a session before its births.
        self.host = None;
        self.devices.clear();
        let bd_seq = self.next_bd_seq;
        self.bd_seq = Some(bd_seq);
        self.next_bd_seq = bd_seq.wrapping_add(1);
        if let Some(file) = &self.bd_seq_file {
            write_bd_seq(file, bd_seq);
        }
    }
    fn subscriptions(&self) -> Vec<String> {
        let mut topics = vec![sparkplug::topic(&self.group, "NCMD", &self.node, None)];
        topics.extend(self.host_state_topic());
        topics
    }
    fn birth(&mut self, statuses: &[CameraStatus]) -> Vec<(Message, QoS)> {
        self.seq.reset();
        let t = now_ms();
        self.born_ms = t;
        let mut node = vec![
            Metric::int64("bdSeq", i64::from(self.bd_seq.unwrap_or(0)), t),
            Metric::boolean("Node Control/Rebirth", Some(false), t),
        ];
        for cam in statuses {
            node.push(Metric::string(format!("Cameras/{}/Health", cam.id), cam.health.as_str(), t));
        }
        let mut out = vec![self.message("NBIRTH", None, node)];
        self.devices.clear();
        for cam in statuses {
            for m in &cam.machines {
                out.push(self.device_birth(cam, m, t));
            }
        }
        out
    }
    fn note(&mut self, e: &LiveEvent) {
        self.live.note(e);
    }
    fn event(&mut self, e: &LiveEvent) -> Vec<(Message, QoS)> {
        let changes = self.changes(e, &self.live);
        changes
            .into_iter()
            .map(|(device, metrics)| self.message(Self::data_kind(&device), device.as_deref(), metrics))
            .collect()
    }
    fn may_publish(&self) -> bool {
        self.primary_host.is_none() || self.host.is_some_and(|(online, _)| online)
    }
    fn start_replay(&mut self, stroke_bases: HashMap<String, u64>) {
        self.replay = Counts { strokes: stroke_bases, ..self.live.clone() };
    }
    fn historical(&mut self, e: &LiveEvent) -> Vec<(Message, QoS)> {
        self.replay.note(e);
        let born_ms = self.born_ms;
        let changes = self.changes(e, &self.replay);
        let mut out = Vec::new();
        for (device, metrics) in changes {
            let metrics: Vec<Metric> = metrics
                .into_iter()
                // What happened after this session's birth was published live; the
                // advisories counted since the service started cannot be told for a past
                // moment.
                .filter(|m| m.timestamp.unwrap_or(0) <= born_ms && m.name.as_deref() != Some("Safety/Advisories"))
                .map(|mut m| {
                    let key = format!("{}/{}", device.as_deref().unwrap_or(""), m.name.as_deref().unwrap_or(""));
                    let last = self.historical_ms.entry(key).or_insert(0);
                    let t = m.timestamp.unwrap_or(0).max(*last + 1);
                    *last = t;
                    m.timestamp = Some(t);
                    m.datatype = None;
                    m.is_historical = Some(true);
                    m
                })
                .collect();
            if metrics.is_empty() {
                continue;
            }
            let topic = sparkplug::topic(&self.group, Self::data_kind(&device), &self.node, device.as_deref());
            out.push((Message { topic, payload: self.payload(metrics, true), retain: false }, QoS::AtMostOnce));
        }
        out
    }
    fn extra(&mut self, _: &Extra) -> Vec<(Message, QoS)> {
        Vec::new()
    }
    fn layout_changed(&self, statuses: &[CameraStatus]) -> bool {
        // Devices are born in the statuses' order: compare in that order.
        let now =
            statuses.iter().flat_map(|c| c.machines.iter().map(move |m| (c.id.as_str(), m.id.as_str(), m.lamps.len())));
        !now.eq(self.devices.iter().map(|d| (d.camera.as_str(), d.id.as_str(), d.lamps)))
    }
    fn command(&mut self, topic: &str, payload: &[u8]) -> Command {
        use prost::Message as _;
        if self.host_state_topic().as_deref() == Some(topic) {
            return self.host_state(payload);
        }
        if !topic.contains("/NCMD/") {
            return Command::Nothing;
        }
        let Ok(p) = sparkplug::Payload::decode(payload) else {
            tracing::warn!(topic, "an NCMD that is not a Sparkplug B payload was ignored");
            return Command::Nothing;
        };
        let rebirth = p.metrics.iter().any(|m| {
            m.name.as_deref() == Some("Node Control/Rebirth") && m.value == Some(sparkplug::Value::BooleanValue(true))
        });
        if rebirth { Command::Rebirth } else { Command::Nothing }
    }
    fn goodbye(&mut self) -> Vec<(Message, QoS)> {
        let devices: Vec<String> = self.devices.drain(..).map(|d| d.id).collect();
        let mut out: Vec<_> = devices.iter().map(|d| self.message("DDEATH", Some(d), Vec::new())).collect();
        let death = self.death(self.bd_seq.unwrap_or(0));
        let topic = sparkplug::topic(&self.group, "NDEATH", &self.node, None);
        out.push((Message { topic, payload: death, retain: false }, QoS::AtLeastOnce));
        out
    }
}

#[cfg(test)]
mod tests {
    use prost::Message as _;
    use sheetsight_vision::event::CameraHealth;
    use sheetsight_vision::lamp::{LampColor, LampMode};
    use sheetsight_vision::state::MachineState;

    use super::*;
    use crate::sparkplug::{Payload, Value, datatype};

    fn statuses() -> Vec<CameraStatus> {
        let machine = MachineStatus {
            id: "brake-1".into(),
            lamps: vec![(LampColor::Red, Some(LampMode::Off)), (LampColor::Yellow, None), (LampColor::Green, None)],
            state: Some(MachineState::Executing),
            state_since_s: 0.0,
            strokes: 4,
            motion_active: false,
        };
        vec![CameraStatus {
            id: "cam1".into(),
            health: CameraHealth::Streaming,
            detail: None,
            since: UnixMillis(0),
            stats: Default::default(),
            packets_dropped: 0,
            machines: vec![machine],
            frame: None,
            people: None,
        }]
    }

    fn node(memory: NodeMemory) -> Node {
        Node::new("g".into(), "n".into(), None, memory)
    }

    fn decode(m: &(Message, QoS)) -> Payload {
        Payload::decode(m.0.payload.as_slice()).expect("payload")
    }

    fn metric<'a>(p: &'a Payload, name: &str) -> &'a Metric {
        p.metrics.iter().find(|m| m.name.as_deref() == Some(name)).unwrap_or_else(|| panic!("{name} in {p:?}"))
    }

    fn bd_seq_of_will(n: &mut Node) -> (u64, Option<u32>) {
        let will = n.will();
        let p = Payload::decode(will.message).expect("will");
        let m = metric(&p, "bdSeq");
        match m.value {
            Some(Value::LongValue(v)) => (v, m.datatype),
            ref other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_machine_set_up_while_running_is_born_again() {
        let mut n = node(NodeMemory::default());
        let mut now = statuses();
        n.connected();
        let births = n.birth(&now);
        assert!(!n.layout_changed(&now), "as born");
        let second = MachineStatus { id: "brake-2".into(), ..now[0].machines[0].clone() };
        now[0].machines.push(second);
        assert!(n.layout_changed(&now), "a machine added");
        let again = n.birth(&now);
        assert_eq!(again.len(), births.len() + 1, "NBIRTH and a DBIRTH per machine");
        assert!(!n.layout_changed(&now));
        now[0].machines[1].lamps.pop();
        assert!(n.layout_changed(&now), "a lamp removed");
        now[0].machines.clear();
        n.birth(&now);
        assert!(!n.layout_changed(&now));
    }

    #[test]
    fn bd_seq_counts_sessions_not_attempts_and_goes_on_after_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("bdseq");
        let memory = NodeMemory { bd_seq_file: Some(file.clone()), ..Default::default() };
        let mut n = node(memory.clone());
        assert_eq!(bd_seq_of_will(&mut n), (0, Some(datatype::INT64)), "Int64, from 0 without a kept value");
        n.connected();
        // The broker goes away; three attempts fail before one connects.
        for _ in 0..3 {
            assert_eq!(bd_seq_of_will(&mut n).0, 1, "a failed attempt uses up no number");
        }
        n.connected();
        let birth = n.birth(&statuses());
        assert_eq!(metric(&decode(&birth[0]), "bdSeq").value, Some(Value::LongValue(1)));
        // A new process goes on from the kept number.
        let mut again = node(memory);
        assert_eq!(bd_seq_of_will(&mut again).0, 2);
        std::fs::write(&file, "255\n").expect("write");
        assert_eq!(bd_seq_of_will(&mut node(NodeMemory { bd_seq_file: Some(file), ..Default::default() })).0, 0);
    }

    #[test]
    fn strokes_go_on_from_the_stored_total_and_count_while_disconnected() {
        let totals = HashMap::from([("brake-1".to_string(), 1000)]);
        let mut n = node(NodeMemory { stroke_totals: totals, ..Default::default() });
        let stroke = LiveEvent::Stroke {
            machine: "brake-1".into(),
            start_t: UnixMillis(5),
            end_t: UnixMillis(9),
            person_in_region: false,
        };
        n.note(&stroke);
        n.note(&stroke);
        n.connected();
        let births = n.birth(&statuses());
        let dbirth = decode(&births[1]);
        assert_eq!(metric(&dbirth, "Strokes").value, Some(Value::LongValue(1002)));
        n.note(&stroke);
        let data = n.event(&stroke);
        let ddata = decode(&data[0]);
        assert_eq!(data[0].0.topic, "spBv1.0/g/DDATA/n/brake-1");
        assert_eq!(metric(&ddata, "Strokes").value, Some(Value::LongValue(1003)));
        assert_eq!(metric(&ddata, "Strokes").datatype, None, "DATA does not repeat the datatype");
    }

    #[test]
    fn operator_zones_add_up_and_advisories_are_counted_on_the_machine() {
        let mut n = node(NodeMemory::default());
        n.connected();
        let births = n.birth(&statuses());
        let dbirth = decode(&births[1]);
        assert_eq!(metric(&dbirth, "Operator/People").is_null, Some(true), "no count known yet");
        assert_eq!(metric(&dbirth, "Safety/Advisories").value, Some(Value::LongValue(0)));
        let presence = |zone: &str, operator_of: Option<&str>, people| LiveEvent::Presence {
            zone: zone.into(),
            operator_of: operator_of.map(String::from),
            people,
            t: UnixMillis(20),
        };
        let mut sent = |e: LiveEvent| {
            n.note(&e);
            n.event(&e)
        };
        sent(presence("op-a", Some("brake-1"), 1));
        let data = sent(presence("op-b", Some("brake-1"), 2));
        assert_eq!(data[0].0.topic, "spBv1.0/g/DDATA/n/brake-1");
        assert_eq!(metric(&decode(&data[0]), "Operator/People").value, Some(Value::IntValue(3)), "both zones");
        assert!(sent(presence("walkway", None, 4)).is_empty(), "not an operator zone");
        sent(presence("op-b", None, 0));
        let data = sent(presence("op-a", Some("brake-1"), 1));
        assert_eq!(metric(&decode(&data[0]), "Operator/People").value, Some(Value::IntValue(1)), "op-b removed");
        let safety = LiveEvent::Safety {
            zone: "back".into(),
            machine: "brake-1".into(),
            people: 1,
            advisory: true,
            t: UnixMillis(30),
            snapshot: None,
        };
        sent(safety.clone());
        let data = sent(safety);
        assert_eq!(metric(&decode(&data[0]), "Safety/Advisories").value, Some(Value::LongValue(2)));
    }

    #[test]
    fn lamps_are_numbered_from_the_base_and_health_reaches_the_devices() {
        let mut n = node(NodeMemory::default());
        n.connected();
        let births = n.birth(&statuses());
        let dbirth = decode(&births[1]);
        // Configured top to bottom: red, yellow, green. The base lamp (green) is Lamp0.
        assert_eq!(metric(&dbirth, "Stacklight/Lamp0/SignalColor").value, Some(Value::IntValue(2)));
        assert_eq!(metric(&dbirth, "Stacklight/Lamp2/SignalColor").value, Some(Value::IntValue(1)));
        assert_eq!(metric(&dbirth, "Stacklight/Lamp2/NumberInList").value, Some(Value::IntValue(2)));
        assert_eq!(metric(&dbirth, "Stacklight/Lamp2/SignalColor").datatype, Some(datatype::INT32));
        let red_on = LiveEvent::Lamp {
            machine: "brake-1".into(),
            lamp: 0,
            color: LampColor::Red,
            mode: LampMode::Steady,
            t: UnixMillis(2_000),
        };
        let ddata = decode(&n.event(&red_on)[0]);
        assert_eq!(metric(&ddata, "Stacklight/Lamp2/SignalOn").value, Some(Value::BooleanValue(true)));
        // Two health changes in one millisecond: the second is stamped a millisecond later,
        // on the node and on the device.
        // (After the birth's own timestamps, which are now.)
        let t = UnixMillis::now().plus_ms(60_000);
        let health = |h| LiveEvent::Health { camera: "cam1".into(), health: h, detail: None, t };
        let first = n.event(&health(CameraHealth::Failed));
        let second = n.event(&health(CameraHealth::Connecting));
        assert_eq!(first.len(), 2, "NDATA and the machine's DDATA");
        assert_eq!(second[1].0.topic, "spBv1.0/g/DDATA/n/brake-1");
        let stamp = |m: &(Message, QoS), name: &str| metric(&decode(m), name).timestamp;
        let t_ms = t.as_u64_or_zero();
        assert_eq!(stamp(&first[0], "Cameras/cam1/Health"), Some(t_ms));
        assert_eq!(stamp(&second[0], "Cameras/cam1/Health"), Some(t_ms + 1));
        assert_eq!(stamp(&second[1], "Camera/Health"), Some(t_ms + 1));
        let device_health = metric(&decode(&second[1]), "Camera/Health").value.clone();
        assert_eq!(device_health, Some(Value::StringValue("connecting".into())));
    }

    #[test]
    fn with_a_primary_host_it_is_born_only_while_the_host_is_online_and_replays_the_past() {
        let totals = HashMap::from([("brake-1".to_string(), 10)]);
        let mut n = Node::new(
            "g".into(),
            "n".into(),
            Some("scada".into()),
            NodeMemory { stroke_totals: totals, ..Default::default() },
        );
        n.connected();
        assert!(!n.may_publish(), "no STATE seen yet");
        assert!(n.subscriptions().contains(&"spBv1.0/STATE/scada".to_string()));
        let state = |online: bool, t: u64| format!(r#"{{"online": {online}, "timestamp": {t}}}"#).into_bytes();
        assert_eq!(n.command("spBv1.0/STATE/scada", &state(true, 100)), Command::HostOnline);
        assert!(n.may_publish());
        assert_eq!(n.command("spBv1.0/STATE/scada", &state(false, 50)), Command::Nothing, "older than the last");
        assert_eq!(n.command("spBv1.0/STATE/scada", b"ONLINE"), Command::Nothing, "not Sparkplug 3.0");
        assert_eq!(n.command("spBv1.0/STATE/other", &state(false, 200)), Command::Nothing, "another host");
        assert!(n.may_publish());
        n.birth(&statuses());
        // 7 strokes were stored before the replayed rows: the first replayed is the 8th.
        n.start_replay(HashMap::from([("brake-1".to_string(), 7)]));
        let stroke = |end_ms| LiveEvent::Stroke {
            machine: "brake-1".into(),
            start_t: UnixMillis(end_ms - 500),
            end_t: UnixMillis(end_ms),
            person_in_region: false,
        };
        let past = n.historical(&stroke(5_000));
        assert_eq!(past[0].0.topic, "spBv1.0/g/DDATA/n/brake-1");
        let m = metric(&decode(&past[0]), "Strokes").clone();
        assert_eq!(
            (m.value, m.timestamp, m.is_historical, m.datatype),
            (Some(Value::LongValue(8)), Some(5_000), Some(true), None)
        );
        let again = n.historical(&stroke(5_000));
        assert_eq!(metric(&decode(&again[0]), "Strokes").timestamp, Some(5_001), "one metric's times grow");
        let after_birth = UnixMillis::now().plus_ms(60_000).0;
        assert!(n.historical(&stroke(after_birth)).is_empty(), "published live, not replayed");
        // The live count is apart from the replay's.
        assert_eq!(n.live.strokes.get("brake-1"), Some(&10));
        assert_eq!(n.command("spBv1.0/STATE/scada", &state(false, 300)), Command::HostOffline);
        assert!(!n.may_publish());
        n.connected();
        assert!(!n.may_publish(), "every session reads the host's STATE again");
    }
}
