use super::*;
use sheetsight_vision::lamp::{LampColor, LampMode};
use sheetsight_vision::state::{LampSelector, MachineState, StateRules};

const GOOD: &str = r#"
[[camera]]
id = "cam1"
source = "video.mp4"
fps = 10

[[machine]]
id = "brake-1"
camera = "cam1"

[[machine.lamp]]
color = "red"
roi = [[10, 10], [30, 10], [30, 30], [10, 30]]

[[machine.lamp]]
color = "green"
roi = [[10, 40], [30, 40], [30, 60], [10, 60]]

[machine.motion]
roi = [[100, 100], [200, 100], [200, 150], [100, 150]]
"#;

fn setup(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("video.mp4"), b"").expect("write");
    let path = dir.path().join("sheetsight.toml");
    std::fs::write(&path, text).expect("write");
    (dir, path)
}

/// Every error of `text`.
fn errors(text: &str) -> Vec<ConfigError> {
    let (_dir, path) = setup(text);
    load(&path).expect_err("must fail").iter().cloned().collect()
}

/// The one error of `text`: a mistake gives one error, not a trail of others.
fn err(text: &str) -> ConfigError {
    let mut all = errors(text);
    assert_eq!(all.len(), 1, "one error expected: {all:#?}");
    all.remove(0)
}

#[test]
fn good_config_loads_with_default_rules() {
    let (dir, path) = setup(GOOD);
    let c = load(&path).expect("loads");
    assert_eq!(c.cameras.len(), 1);
    assert_eq!(c.cameras[0].source, SourceSpec::File(dir.path().join("video.mp4")));
    assert_eq!(c.cameras[0].fps, Some(10.0));
    assert_eq!(c.machines[0].lamps.len(), 2);
    assert_eq!(c.machines[0].lamps[1].color, LampColor::Green);
    assert!(c.machines[0].motion.is_some());
    assert_eq!(c.machines[0].rules, StateRules::default());
    c.check_frame_sizes("cam1", 640, 360).expect("fits");
    let e = c.source_error("cam1", "cannot be read");
    assert_eq!((e.line, e.column, e.key.as_str()), (4, 10, "camera[0].source"), "{e}");
}

#[test]
fn unknown_key_names_line_and_suggests() {
    let e = err(&GOOD.replace("fps = 10", "fsp = 10"));
    assert_eq!(e.line, 5, "{e}");
    assert_eq!(e.key, "camera[0].fsp", "{e}");
    assert!(e.message.contains("did you mean `fps`"), "{e}");
    let e = err(&GOOD.replace("color = \"green\"", "colour = \"green\""));
    assert_eq!(e.key, "machine[0].lamp[1].colour", "{e}");
    assert!(e.message.contains("did you mean `color`"), "{e}");
    assert_eq!(e.line, 16, "{e}");
}

#[test]
fn bad_values_are_located() {
    let e = err(&GOOD.replace("\"red\"", "\"rde\""));
    assert_eq!((e.line, e.key.as_str()), (12, "machine[0].lamp[0].color"), "{e}");
    assert!(e.message.contains("did you mean `red`"), "{e}");

    let e = err(&GOOD.replace("camera = \"cam1\"", "camera = \"cam2\""));
    assert_eq!((e.line, e.key.as_str()), (9, "machine[0].camera"), "{e}");
    assert!(e.message.contains("`cam2`") && e.message.contains("did you mean `cam1`"), "{e}");

    let e = err(&GOOD.replace("[[10, 10], [30, 10], [30, 30], [10, 30]]", "[[10, 10], [30, 10]]"));
    assert_eq!((e.line, e.key.as_str()), (13, "machine[0].lamp[0].roi"), "{e}");
    assert!(e.message.contains("at least 3 points"), "{e}");

    let e = err(&GOOD.replace("video.mp4", "missing.mp4"));
    assert_eq!((e.line, e.key.as_str()), (4, "camera[0].source"), "{e}");
    assert!(e.message.contains("missing.mp4") && e.message.contains("does not exist"), "{e}");

    let e = err(&GOOD.replace("fps = 10", "fps = 0"));
    assert_eq!((e.line, e.key.as_str()), (5, "camera[0].fps"), "{e}");

    let e = err(&GOOD.replace("fps = 10", "fps = \"ten\""));
    assert_eq!(e.line, 5, "{e}");
    assert!(e.key.contains("fps"), "{e}");
}

#[test]
fn roi_outside_frame_is_caught_before_reading_frames() {
    let (_dir, path) = setup(GOOD);
    let c = load(&path).expect("loads");
    let e = c.check_frame_sizes("cam1", 150, 120).expect_err("motion roi is outside");
    assert_eq!((e.line, e.key.as_str()), (20, "machine[0].motion.roi"), "{e}");
    assert!(e.message.contains("outside the 150x120 frame"), "{e}");
}

#[test]
fn rules_are_parsed_and_checked() {
    let rules = r#"
[[machine.rule]]
state = "Executing"
lamp = 1
mode = ["steady", "blinking"]

[[machine.rule]]
state = "OutOfService"
color = "red"
mode = ["flashing"]
"#;
    let (_dir, path) = setup(&format!("{GOOD}{rules}\n"));
    let c = load(&path).expect("loads");
    let r = &c.machines[0].rules;
    assert_eq!(r.rules.len(), 2);
    assert_eq!(r.rules[0].lamps, LampSelector::Index(1));
    assert_eq!(r.rules[0].modes, vec![LampMode::Steady, LampMode::Blinking]);

    let e = err(&format!("{GOOD}{}", rules.replace("lamp = 1", "lamp = 5")));
    assert_eq!(e.key, "machine[0].rule[0].lamp", "{e}");
    let e = err(&format!("{GOOD}{}", rules.replace("\"flashing\"", "\"flashng\"")));
    assert!(e.message.contains("did you mean `flashing`"), "{e}");
    let e = err(&format!("{GOOD}{}", rules.replace("\"Executing\"", "\"Running\"")));
    assert_eq!(e.key, "machine[0].rule[0].state", "{e}");
}

#[test]
fn duplicate_ids_and_empty_machines() {
    let e = err(&format!(
        "{GOOD}\n[[machine]]\nid = \"brake-1\"\ncamera = \"cam1\"\n[machine.motion]\nroi = [[0,0],[5,0],[5,5]]\n"
    ));
    assert!(e.message.contains("used twice"), "{e}");
    let e = err(&format!("{GOOD}\n[[machine]]\nid = \"brake-2\"\ncamera = \"cam1\"\n"));
    assert!(e.message.contains("neither"), "{e}");
    let e = err("[[camera]]\nid = \"a b\"\nsource = \"video.mp4\"\n");
    assert_eq!((e.line, e.key.as_str()), (2, "camera[0].id"), "{e}");
}

#[test]
fn syntax_errors_are_located() {
    let e = err("[[camera]\nid = 1\n");
    assert_eq!(e.line, 1, "{e}");
    // An empty file is a shop not set up yet: valid, without cameras.
    let (_dir, path) = setup("");
    assert!(load(&path).expect("an empty configuration loads").cameras.is_empty());
}

const LIVE: &str = r#"
[[camera]]
id = "door"
source = "rtsp://admin:pa%40ss@192.168.1.20:554/stream1"
transport = "udp"
max_frame_age_ms = 500
retry_max_s = 10

[[camera]]
id = "gate"
source = "http://192.168.1.21/mjpeg"
username = "viewer"
password = "secret"

[[camera]]
id = "file"
source = "video.mp4"
loop = true

[storage]
data_dir = "/var/lib/sheetsight"
retention_days = 90

[[shift]]
name = "early"
start = "06:00"
end = "14:00"
days = ["mon", "tue", "wed", "thu", "friday"]
time_zone = "Europe/Berlin"

[[shift]]
name = "night"
start = "22:00"
end = "06:00"
"#;

#[test]
fn live_cameras_storage_and_shifts_load() {
    let (dir, path) = setup(LIVE);
    let c = load(&path).expect("loads");
    assert_eq!(c.cameras[0].transport, RtspTransport::Udp);
    assert_eq!((c.cameras[0].max_frame_age_ms, c.cameras[0].retry_max_s), (500, 10.0));
    assert_eq!(c.cameras[1].username.as_deref(), Some("viewer"));
    assert!(c.cameras[2].loop_file);
    assert_eq!((c.cameras[1].max_frame_age_ms, c.cameras[1].retry_max_s), (2000, 30.0), "defaults");
    assert_eq!(c.storage, StorageConfig { data_dir: "/var/lib/sheetsight".into(), retention_days: 90 });
    assert_eq!(c.shifts.len(), 2);
    assert_eq!(c.shifts[0].days, [true, true, true, true, true, false, false]);
    assert_eq!(c.shifts[0].time_zone, chrono_tz::Europe::Berlin);
    assert_eq!(c.shifts[1].days, [true; 7], "every day by default");
    assert_eq!(c.shifts[1].time_zone, chrono_tz::UTC, "UTC by default");
    // Without [storage]: a folder beside the configuration.
    let (dir2, path2) = setup(GOOD);
    assert_eq!(load(&path2).expect("loads").storage.data_dir, dir2.path().join("sheetsight-data"));
    drop(dir);
}

#[test]
fn passwords_are_not_shown() {
    let (_dir, path) = setup(LIVE);
    let c = load(&path).expect("loads");
    assert_eq!(c.cameras[0].public_source(), "rtsp://192.168.1.20:554/stream1");
}

#[test]
fn live_keys_in_the_wrong_place_or_with_bad_values_are_located() {
    let e = err(&LIVE.replace("transport = \"udp\"", "transport = \"upd\""));
    assert_eq!((e.line, e.key.as_str()), (5, "camera[0].transport"), "{e}");
    assert!(e.message.contains("did you mean `udp`"), "{e}");
    let e = err(&LIVE.replace("loop = true", "loop = true\ntransport = \"tcp\""));
    assert_eq!(e.key, "camera[2].transport", "{e}");
    assert!(e.message.contains("rtsp:// sources only"), "{e}");
    let e = err(&LIVE.replace("username = \"viewer\"", "loop = true"));
    assert_eq!(e.key, "camera[1].loop", "{e}");
    let e = err(&LIVE.replace("max_frame_age_ms = 500", "max_frame_age_ms = 0"));
    assert!(e.message.contains("50 to 600000"), "{e}");
    let e = err(&LIVE.replace("retention_days = 90", "retention_days = 0"));
    assert_eq!(e.key, "storage.retention_days", "{e}");
    let e = err(&LIVE.replace("retention_days = 90", "retention = 90"));
    assert!(e.message.contains("did you mean `retention_days`"), "{e}");
}

#[test]
fn shift_errors_are_located() {
    let e = err(&LIVE.replace("\"06:00\"\nend = \"14:00\"", "\"6 am\"\nend = \"14:00\""));
    assert_eq!((e.line, e.key.as_str()), (26, "shift[0].start"), "{e}");
    assert!(e.message.contains("HH:MM"), "{e}");
    let e = err(&LIVE.replace("\"friday\"", "\"fri-day\""));
    assert_eq!(e.key, "shift[0].days", "{e}");
    let e = err(&LIVE.replace("Europe/Berlin", "Europe/Berln"));
    assert_eq!(e.key, "shift[0].time_zone", "{e}");
    assert!(e.message.contains("IANA"), "{e}");
    let e = err(&LIVE.replace("name = \"night\"", "name = \"early\""));
    assert!(e.message.contains("used twice"), "{e}");
    let e = err(&LIVE.replace("end = \"06:00\"", "end = \"22:00\""));
    assert!(e.message.contains("cannot end when it starts"), "{e}");
}

#[test]
fn server_mqtt_alerts_and_downtime_load() {
    let text = format!(
        "{GOOD}\n[server]\nlisten = \"0.0.0.0:9090\"\nsession_hours = 8\n\n[mqtt]\nbroker = \"mqtt.local\"\nprefix = \"shop/a\"\nsparkplug_group = \"shop-a\"\nsparkplug_primary_host = \"scada\"\n\n[downtime]\nreasons = [\"Setup\", \"Waiting for crane\"]\n\n[alerts]\nwebhook = \"http://mes.local/hook\"\nsummary_at = [\"20:00\", \"08:00\"]\n\n[[alert]]\nname = \"long-fault\"\nwhen = \"machine_state\"\nstates = [\"OutOfService\"]\nminutes = 10\nmachines = [\"brake-1\"]\n\n[[alert]]\nname = \"camera\"\nwhen = \"camera_down\"\nminutes = 2.5\n"
    );
    let (_dir, path) = setup(&text);
    let c = load(&path).expect("loads");
    assert_eq!(c.server.listen.to_string(), "0.0.0.0:9090");
    assert_eq!(c.server.session_hours, 8);
    let mqtt = c.mqtt.expect("mqtt");
    assert_eq!((mqtt.host.as_str(), mqtt.port, mqtt.prefix.as_str()), ("mqtt.local", 1883, "shop/a"));
    assert_eq!(mqtt.sparkplug_group.as_deref(), Some("shop-a"));
    assert_eq!(mqtt.sparkplug_node, "sheetsight");
    assert_eq!(mqtt.sparkplug_primary_host.as_deref(), Some("scada"));
    assert_eq!(mqtt.tls, None, "plain TCP without mqtts://");
    assert_eq!(c.downtime.reasons, ["Setup", "Waiting for crane"]);
    assert_eq!(c.alerts.webhook.as_deref(), Some("http://mes.local/hook"));
    let t = |h| chrono::NaiveTime::from_hms_opt(h, 0, 0).expect("time");
    assert_eq!(c.alerts.summary_at, [t(8), t(20)], "in the day's order");
    assert_eq!(c.alerts.rules.len(), 2);
    assert_eq!(c.alerts.rules[0].condition, AlertCondition::MachineState { states: vec![MachineState::OutOfService] });
    assert_eq!(c.alerts.rules[0].subjects, ["brake-1"]);
    assert_eq!((c.alerts.rules[1].condition.clone(), c.alerts.rules[1].minutes), (AlertCondition::CameraDown, 2.5));
    // Without the sections: defaults.
    let (_dir, path) = setup(GOOD);
    let c = load(&path).expect("loads");
    assert_eq!(c.server.listen.to_string(), "127.0.0.1:8080");
    assert!(c.mqtt.is_none() && c.alerts.rules.is_empty() && !c.downtime.reasons.is_empty());
}

#[test]
fn server_mqtt_and_alert_errors_are_located() {
    for (extra, key, words) in [
        ("[server]\nlisten = \"localhost\"\n", "server.listen", "IP:PORT"),
        ("[mqtt]\nbroker = \"x\"\nca_file = \"ca.pem\"\n", "mqtt.ca_file", "need a TLS broker: write mqtts://"),
        ("[mqtt]\nbroker = \"mqtts://x\"\nca_file = \"ca.pem\"\n", "mqtt.ca_file", "ca.pem does not exist"),
        ("[hub]\nbroker = \"h\"\nshop = \"s\"\nclient_key = \"k\"\n", "hub.client_key", "mqtts://"),
        ("[hub]\nbroker = \"h\"\ndatabase = \"postgres://x\"\nshop = \"s\"\n", "hub.database", "not both"),
        ("[hub]\ndatabase = \"mysql://x\"\nshop = \"s\"\n", "hub.database", "not a PostgreSQL URL"),
        (
            "[hub]\ndatabase = \"postgres://x\"\nshop = \"s\"\nca_file = \"ca.pem\"\n",
            "hub.ca_file",
            "not for `database`",
        ),
        ("[hub]\nshop = \"s\"\n", "hub.broker", "or `database"),
        ("[mqtt]\nbroker = \"x:port\"\n", "mqtt.broker", "HOST:PORT"),
        ("[mqtt]\nbroker = \"x\"\nprefix = \"a/#\"\n", "mqtt.prefix", "#"),
        ("[mqtt]\nbroker = \"x\"\nsparkplug_group = \"a/b\"\n", "mqtt.sparkplug_group", "/"),
        ("[mqtt]\nbroker = \"x\"\nsparkplug_primary_host = \"h\"\n", "mqtt.sparkplug_primary_host", "sparkplug_group"),
        ("[alerts]\nwebhook = \"ftp://x\"\n", "alerts.webhook", "http://"),
        ("[alerts]\nsummary_at = [\"8 pm\"]\n", "alerts.summary_at", "`8 pm` is not a time of day (HH:MM)"),
        ("[alerts]\nsummary_at = [\"20:00\", \"20:00\"]\n", "alerts.summary_at", "given twice"),
        (
            "[[alert]]\nname = \"a\"\nwhen = \"machine_stat\"\nminutes = 1\n",
            "alert[0].when",
            "did you mean `machine_state`",
        ),
        ("[[alert]]\nname = \"a\"\nwhen = \"machine_state\"\nminutes = 1\n", "alert[0].states", "list the `states`"),
        (
            "[[alert]]\nname = \"a\"\nwhen = \"machine_state\"\nstates = [\"Running\"]\nminutes = 1\n",
            "alert[0].states",
            "unknown machine state",
        ),
        (
            "[[alert]]\nname = \"a\"\nwhen = \"machine_state\"\nstates = [\"OutOfService\"]\nminutes = 1\nmachines = [\"brake1\"]\n",
            "alert[0].machines",
            "did you mean `brake-1`",
        ),
        ("[[alert]]\nname = \"a\"\nwhen = \"camera_down\"\nminutes = 0\n", "alert[0].minutes", "above 0"),
        (
            "[[alert]]\nname = \"a\"\nwhen = \"camera_down\"\nminutes = 1\nmachines = [\"brake-1\"]\n",
            "alert[0].machines",
            "takes `cameras`",
        ),
        (
            "[[alert]]\nname = \"a\"\nwhen = \"recording_failed\"\nminutes = 1\nstates = [\"OutOfService\"]\n",
            "alert[0].states",
            "a recording_failed rule has no states",
        ),
        ("[recording]\nmax_gb = 0\n", "recording.max_gb", "0.01 to"),
        ("[recording]\nsegment_s = 1\n", "recording.segment_s", "5 to 600"),
        ("[recording]\nmax_clip_s = 1000000\n", "recording.max_clip_s", "10 to 7200"),
        (
            "[[camera]]\nid = \"cam9\"\nsource = \"http://10.0.0.9/snap.jpg\"\nrecord = true\n",
            "camera[1].record",
            "applies to rtsp://",
        ),
        ("[downtime]\nreasons = []\n", "downtime.reasons", "at least one"),
        ("[downtime]\nreasons = [\"a\", \"a\"]\n", "downtime.reasons", "differ"),
        (
            "[[machine]]\nid = \"m2\"\ncamera = \"cam1\"\nideal_strokes_per_hour = 0\n[machine.motion]\nroi = [[1, 1], [5, 1], [5, 5]]\n",
            "machine[1].ideal_strokes_per_hour",
            "1 to 100000",
        ),
    ] {
        let e = err(&format!("{GOOD}\n{extra}"));
        assert_eq!(e.key, key, "{extra}: {e}");
        assert!(e.message.contains(words), "{extra}: {e}");
        assert!(e.line > 20, "{extra}: located in the file: {e}");
    }
}

#[test]
fn every_error_of_a_file_is_reported_at_once_in_the_order_of_the_file() {
    let text = GOOD
        .replace("fps = 10", "fsp = 10\ntrnsport = \"udp\"\nmax_frame_age_ms = 0")
        .replace("\"green\"", "\"gren\"")
        .replace("camera = \"cam1\"", "camera = \"cam9\"")
        + "\n[sever]\nlisten = \"x\"\n\n[[shift]]\nname = \"a\"\nstart = \"6\"\nend = \"14:00\"\n";
    let all = errors(&text);
    let found: Vec<(usize, &str)> = all.iter().map(|e| (e.line, e.key.as_str())).collect();
    assert_eq!(
        found,
        [
            (5, "camera[0].fsp"),
            (6, "camera[0].trnsport"),
            (7, "camera[0].max_frame_age_ms"),
            (11, "machine[0].camera"),
            (18, "machine[0].lamp[1].color"),
            (24, "sever"),
            (29, "shift[0].start"),
        ],
        "{all:#?}"
    );
    assert!(all[5].message.contains("unknown section `sever`; did you mean `server`?"), "{}", all[5]);
    assert!(all[3].message.contains("`cam9`; did you mean `cam1`?"), "{}", all[3]);
    let shown = load(&setup(&text).1).expect_err("must fail").to_string();
    assert_eq!(shown.lines().count(), 8, "one line per error and a count: {shown}");
    assert!(shown.ends_with("(7 errors)"), "{shown}");
}

#[test]
fn an_element_that_cannot_be_read_hides_neither_the_others_nor_their_references() {
    // camera[0]'s fps has the wrong type, so camera[0] is left out; the machine on it
    // gets no "no such camera" error, and camera[1]'s own mistake is still found.
    let text = GOOD.replace("fps = 10", "fps = \"ten\"")
        + "\n[[camera]]\nid = \"cam2\"\nsource = \"rtsp://cam\"\nloop = true\n";
    let all = errors(&text);
    let keys: Vec<&str> = all.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["camera[0].fps", "camera[1].loop"], "{all:#?}");
    // A repeated id is found even when the element holding it is left out.
    let text = GOOD.replace("fps = 10", "fps = \"ten\"") + "\n[[camera]]\nid = \"cam1\"\nsource = \"rtsp://cam\"\n";
    let keys: Vec<String> = errors(&text).into_iter().map(|e| e.key).collect();
    assert_eq!(keys, ["camera[0].fps", "camera[1].id"]);
}

#[test]
fn parsing_touches_no_disk_and_loading_checks_that_sources_exist() {
    let text = GOOD.replace("video.mp4", "missing.mp4");
    let c = parse(Path::new("/nowhere/sheetsight.toml"), &text).expect("parse does not look at the disk");
    assert_eq!(c.cameras[0].source, SourceSpec::File("/nowhere/missing.mp4".into()));
    let e = c.check_sources_exist().expect_err("the file is missing");
    assert_eq!((e.first().line, e.first().key.as_str()), (4, "camera[0].source"), "{e}");
    assert!(e.first().message.contains("does not exist"), "{e}");
    // `load` reports it together with the text's own errors.
    let keys: Vec<String> = errors(&text.replace("fps = 10", "fps = 0")).into_iter().map(|e| e.key).collect();
    assert_eq!(keys, ["camera[0].source", "camera[0].fps"]);
}

#[test]
fn cycles_default_to_strokes_with_a_motion_region_and_are_checked() {
    use sheetsight_vision::cycle::{CycleRules, CycleSource};
    let (_dir, path) = setup(GOOD);
    assert_eq!(load(&path).expect("loads").machines[0].cycle, CycleRules::default());
    let lamps_only = "[[camera]]\nid = \"cam1\"\nsource = \"video.mp4\"\n[[machine]]\nid = \"laser\"\ncamera = \"cam1\"\n[[machine.lamp]]\ncolor = \"green\"\nroi = [[1, 1], [5, 1], [5, 5]]\n";
    let (_dir, path) = setup(lamps_only);
    assert_eq!(load(&path).expect("loads").machines[0].cycle.source, CycleSource::State, "no motion region");
    let (_dir, path) = setup(&format!("{GOOD}\n[machine.cycle]\nfrom = \"motion\"\ngap_s = 8\nmin_s = 30\n"));
    let cycle = load(&path).expect("loads").machines[0].cycle;
    assert_eq!(cycle, CycleRules { source: CycleSource::Motion, gap_s: 8.0, min_s: 30.0 });

    let e = err(&format!("{lamps_only}[machine.cycle]\nfrom = \"strokes\"\n"));
    assert_eq!(e.key, "machine[0].cycle.from", "{e}");
    assert!(e.message.contains("need a [machine.motion] region"), "{e}");
    let e = err(&format!("{GOOD}\n[machine.cycle]\nfrom = \"stroke\"\n"));
    assert!(e.message.contains("did you mean `strokes`"), "{e}");
    let e = err(&format!("{GOOD}\n[machine.cycle]\ngap_s = 0\n"));
    assert_eq!(e.key, "machine[0].cycle.gap_s", "{e}");
    let e = err(&format!("{GOOD}\n[machine.cycle]\ngap = 5\n"));
    assert!(e.message.contains("did you mean `gap_s`"), "{e}");
}

const ZONES: &str = r#"
[people]
debounce_s = 3
workers = 2

[[zone]]
id = "brake-1-operator"
camera = "cam1"
roi = [[300, 200], [600, 200], [600, 350], [300, 350]]
machine = "brake-1"

[[zone]]
id = "brake-1-danger"
camera = "cam1"
roi = [[100, 160], [200, 160], [200, 200]]
machine = "brake-1"
kind = "danger"
"#;

#[test]
fn zones_and_people_are_read_with_their_defaults() {
    let text = format!("{}{ZONES}", GOOD.replace("fps = 10", "fps = 10\npeople_fps = 2\nprivacy = \"blur\""));
    let (_dir, path) = setup(&text);
    let c = load(&path).expect("loads");
    assert_eq!(c.zones.len(), 2);
    assert_eq!(c.zones[0].machine.as_deref(), Some("brake-1"));
    assert_eq!(c.zones[0].kind, ZoneKind::Work);
    assert_eq!(c.zones[1].kind, ZoneKind::Danger);
    assert_eq!(c.zones_on("cam1").count(), 2);
    assert_eq!((c.people.debounce_s, c.people.workers, c.people.input_px), (3.0, 2, 416));
    assert_eq!(c.people.model, None);
    assert_eq!((c.cameras[0].people_fps, c.cameras[0].privacy_blur), (2.0, true));
    let plain = load(&setup(GOOD).1).expect("loads");
    assert_eq!((plain.cameras[0].people_fps, plain.cameras[0].privacy_blur), (1.0, false));
    assert!(plain.zones.is_empty());
}

#[test]
fn a_zone_outside_the_frame_is_an_error_with_its_line() {
    let (_dir, path) = setup(&format!("{GOOD}{ZONES}"));
    let c = load(&path).expect("loads");
    c.check_frame_sizes("cam1", 640, 360).expect("fits");
    let e = c.check_frame_sizes("cam1", 640, 300).expect_err("the operator zone reaches y = 350");
    assert_eq!((e.line, e.key.as_str()), (29, "zone[0].roi"), "{e}");
    assert!(e.message.contains("outside the 640x300 frame"), "{e}");
}

#[test]
fn zone_mistakes_are_named() {
    let with = |from: &str, to: &str| format!("{GOOD}{}", ZONES.replacen(from, to, 1));
    let e = err(&with("camera = \"cam1\"", "camera = \"cam2\""));
    assert_eq!(e.key, "zone[0].camera", "{e}");
    assert!(e.message.contains("no camera has the id `cam2`"), "{e}");
    let e = err(&with("machine = \"brake-1\"", "machine = \"brake-2\""));
    assert_eq!(e.key, "zone[0].machine", "{e}");
    let e = err(&with("kind = \"danger\"", "kind = \"dangerous\""));
    assert!(e.message.contains("did you mean `danger`"), "{e}");
    let e = err(&format!("{GOOD}{}", ZONES.replace("id = \"brake-1-danger\"", "id = \"brake-1-operator\"")));
    assert!(e.message.contains("zone id `brake-1-operator` is used twice"), "{e}");
    let e = err(&format!("{GOOD}{}", ZONES.replace("machine = \"brake-1\"\nkind", "kind")));
    assert_eq!(e.key, "zone[1].machine", "{e}");
    let e = err(&with("id = \"brake-1-operator\"", "id = \"brake 1 operator\""));
    assert!(e.message.contains("not a valid id"), "{e}");
    let e = err(&with(
        "roi = [[300, 200], [600, 200], [600, 350], [300, 350]]",
        "roi = [[300, -200], [600, 200], [600, 350]]",
    ));
    assert_eq!(e.key, "zone[0].roi", "{e}");
    let e = err(&format!("{GOOD}{}", ZONES.replace("workers = 2", "input_px = 400")));
    assert!(e.message.contains("multiple of 32"), "{e}");
    let e = err(&GOOD.replace("fps = 10", "fps = 10\npeople_fps = 10"));
    assert_eq!(e.key, "camera[0].people_fps", "{e}");
    let e = err(&GOOD.replace("fps = 10", "fps = 10\nprivacy = \"blurred\""));
    assert!(e.message.contains("did you mean `blur`"), "{e}");
    let e = err(&GOOD.replace(
        "roi = [[100, 100], [200, 100], [200, 150], [100, 150]]",
        "roi = [[100, 100], [200, 100], [200, 150], [100, 150]]\nignore_when_person = 1",
    ));
    assert_eq!(e.key, "machine[0].motion.ignore_when_person", "{e}");
}

#[test]
fn stations_are_read_with_their_defaults_and_sources() {
    let text = format!(
        "{GOOD}\n[parts]\nfolder = \"parts\"\n\n[[station]]\nid = \"table-1\"\nsource = \"http://10.0.0.30/snapshot.jpg\"\n\
         calibration = \"table-1.json\"\nauto = true\n\n[[station]]\nid = \"table-2\"\nsource = \"cam1\"\n\
         calibration = \"t2.json\"\ntolerance_mm = 0.1\nkeep_photo = false\n\n[[station]]\nid = \"table-3\"\n\
         folder = \"incoming\"\ncalibration = \"t3.json\"\nkeep_days = 30\n"
    );
    let (dir, path) = setup(&text);
    let c = load(&path).expect("loads");
    assert_eq!(c.parts.folder, Some(dir.path().join("parts")));
    let s = &c.stations;
    assert_eq!(s.len(), 3);
    assert_eq!(s[0].source, StationSource::Snapshot("http://10.0.0.30/snapshot.jpg".into()));
    assert!(s[0].auto && s[0].keep_photo);
    assert_eq!((s[0].tolerance_mm, s[0].still_s, s[0].keep_days), (0.2, 1.0, 365));
    assert_eq!(s[0].calibration, dir.path().join("table-1.json"));
    assert_eq!(s[1].source, StationSource::Camera("cam1".into()));
    assert!(!s[1].keep_photo && !s[1].auto);
    assert_eq!(s[2].source, StationSource::Folder(dir.path().join("incoming")));
    assert_eq!(c.station("table-3").map(|s| s.keep_days), Some(30));
}

#[test]
fn station_mistakes_are_named() {
    let e = err(&format!("{GOOD}\n[[station]]\nid = \"t\"\nsource = \"cam2\"\ncalibration = \"t.json\"\n"));
    assert_eq!(e.key, "station[0].source");
    assert!(e.message.contains("cam2") && e.message.contains("cam1"), "{e}");
    let e = err(&format!("{GOOD}\n[[station]]\nid = \"t\"\ncalibration = \"t.json\"\n"));
    assert!(e.message.contains("`source`") && e.message.contains("`folder`"), "{e}");
    let e = err(&format!(
        "{GOOD}\n[[station]]\nid = \"t\"\nsource = \"cam1\"\nfolder = \"in\"\ncalibration = \"t.json\"\n"
    ));
    assert!(e.message.contains("not both"), "{e}");
    let e = err(&format!("{GOOD}\n[[station]]\nid = \"t\"\nfolder = \"in\"\ncalibration = \"t.json\"\nauto = true\n"));
    assert_eq!(e.key, "station[0].auto");
    let e = err(&format!(
        "{GOOD}\n[[station]]\nid = \"t\"\nsource = \"cam1\"\ncalibration = \"t.json\"\ntolerance_mm = 0\n"
    ));
    assert!(e.message.contains("tolerance_mm must be"), "{e}");
    let e = err(&format!("{GOOD}\n[[station]]\nid = \"t\"\nsource = \"cam1\"\ncalibrate = \"t.json\"\n"));
    assert!(e.message.contains("calibration"), "{e}");
    let e = err(&format!(
        "{GOOD}\n[[station]]\nid = \"t\"\nsource = \"cam1\"\ncalibration = \"a.json\"\n\n[[station]]\nid = \"t\"\nsource = \"cam1\"\ncalibration = \"b.json\"\n"
    ));
    assert!(e.message.contains("used twice"), "{e}");
}
