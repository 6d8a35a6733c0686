//! People in zones on real footage: a camera over a footpath (OpenCV's `vtest.avi`, two
//! real frames shipped with the model), empty for 4 s, then six people; zones drawn
//! around where some of them stand. `analyze` on the frames as an image folder, and
//! `run` on the same footage from GStreamer's RTSP server.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use sheetsight_testkit::{RtspServer, free_port, require_program};
use sheetsight_vision::event::{Event, LiveEvent};

fn sheetsight(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sheetsight")).args(args).output().expect("the binary runs")
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

/// 4 frames of an empty grey path, then 6 of the real frame with six people.
fn footage(dir: &Path) -> PathBuf {
    let frames = dir.join("frames");
    std::fs::create_dir_all(&frames).expect("mkdir");
    let people = image::load_from_memory(sheetsight_people::samples::VTEST_FRAME_300_JPEG).expect("sample decodes");
    let empty = image::RgbImage::from_pixel(people.width(), people.height(), image::Rgb([120, 120, 115]));
    for i in 0..10 {
        let path = frames.join(format!("{i:03}.png"));
        if i < 4 { empty.save(&path) } else { people.to_rgb8().save(&path) }.expect("frame written");
    }
    frames
}

const CONFIG: &str = r#"
[[camera]]
id = "path"
source = "frames"
fps = 1
people_fps = 1

[[machine]]
id = "brake-1"
camera = "path"

[[machine.lamp]]
color = "green"
roi = [[700, 20], [740, 20], [740, 60], [700, 60]]

[machine.motion]
roi = [[280, 120], [360, 120], [360, 200], [280, 200]]

[people]
debounce_s = 2

# Two people walk side by side at the right (feet near y = 233).
[[zone]]
id = "operator"
camera = "path"
roi = [[560, 200], [660, 200], [660, 260], [560, 260]]
machine = "brake-1"

# Two more further left; a fifth person just below this zone stays out of it.
[[zone]]
id = "danger"
camera = "path"
roi = [[230, 200], [335, 200], [335, 250], [230, 250]]
machine = "brake-1"
kind = "danger"
"#;

#[test]
fn analyze_counts_real_people_in_zones_with_dwell_and_attended_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    footage(dir.path());
    let config = dir.path().join("sheetsight.toml");
    std::fs::write(&config, CONFIG).expect("config written");
    let events = dir.path().join("events.jsonl");
    let summary = dir.path().join("summary.json");
    let o = sheetsight(&[
        "analyze",
        config.to_str().expect("path"),
        "--events",
        events.to_str().expect("path"),
        "--summary-json",
        summary.to_str().expect("path"),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("people looked for 10 times (0 failed)"), "{}", text(&o.stderr));
    let lines = std::fs::read_to_string(&events).expect("events written");
    let presence: Vec<&str> = lines.lines().filter(|l| l.contains(r#""type":"presence""#)).collect();
    for expected in [
        r#"{"type":"presence","zone":"operator","operator_of":"brake-1","people":0,"t":0.0}"#,
        r#"{"type":"presence","zone":"operator","operator_of":"brake-1","people":2,"t":4.0}"#,
        r#"{"type":"presence","zone":"danger","people":0,"t":0.0}"#,
        r#"{"type":"presence","zone":"danger","people":2,"t":4.0}"#,
    ] {
        assert!(presence.contains(&expected), "{expected} missing from:\n{}", presence.join("\n"));
    }
    assert_eq!(presence.len(), 4, "debounced: no flicker\n{}", presence.join("\n"));

    let stdout = text(&o.stdout);
    assert!(stdout.contains("operator") && stdout.contains("arrivals"), "{stdout}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).expect("summary written")).expect("JSON");
    let zones = summary["zones"].as_array().expect("zones listed");
    let operator = zones.iter().find(|z| z["zone"] == "operator").expect("operator zone");
    assert_eq!(operator["arrivals"], 1);
    assert!((operator["occupied_s"].as_f64().expect("number") - 6.0).abs() < 0.01, "{operator}");
    assert!((operator["person_s"].as_f64().expect("number") - 12.0).abs() < 0.01, "{operator}");
    assert!(summary["machines"][0]["attended"].is_object(), "{summary}");
}

#[test]
fn a_wrong_person_model_is_an_error_at_start_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    footage(dir.path());
    let config = dir.path().join("sheetsight.toml");
    std::fs::write(&config, CONFIG).expect("config written");
    let events = dir.path().join("events.jsonl");
    let not_a_model = dir.path().join("frames/000.png");
    let o = sheetsight(&[
        "analyze",
        config.to_str().expect("path"),
        "--events",
        events.to_str().expect("path"),
        "--model",
        not_a_model.to_str().expect("path"),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(err.contains("000.png") && err.contains("not a model tract can read as ONNX"), "{err}");
    assert!(!events.exists(), "nothing written before the model is checked");

    let missing = dir.path().join("nowhere.onnx");
    std::fs::write(&config, CONFIG.replace("debounce_s = 2", &format!("model = {:?}", missing.display().to_string())))
        .expect("config written");
    let o = sheetsight(&["analyze", config.to_str().expect("path"), "--events", events.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("nowhere.onnx"), "{}", text(&o.stderr));
}

#[test]
fn run_watches_people_live_over_rtsp_while_the_lamps_are_read() {
    require_program("ffmpeg", &["-version"], "ffmpeg");
    let dir = tempfile::tempdir().expect("tempdir");
    let frames = footage(dir.path());
    // The footage as a camera sends it: H.264 at 5 fps (each still held 1 s).
    let video = dir.path().join("path.mp4");
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-framerate", "1", "-i"])
        .arg(frames.join("%03d.png"))
        .args(["-r", "5", "-c:v", "libx264", "-profile:v", "main", "-bf", "0", "-g", "10", "-pix_fmt", "yuv420p"])
        .arg(&video)
        .status()
        .expect("run ffmpeg");
    assert!(status.success(), "ffmpeg wrote the footage");
    let server = RtspServer::start(free_port(), &[("path", video.display().to_string())], None);
    let config = dir.path().join("sheetsight.toml");
    std::fs::write(
        &config,
        CONFIG.replace("source = \"frames\"\nfps = 1", &format!("source = {:?}", server.url("path"))),
    )
    .expect("config written");
    let events = dir.path().join("events.jsonl");
    let child = Command::new(env!("CARGO_BIN_EXE_sheetsight"))
        .arg("run")
        .arg(&config)
        .arg("--events")
        .arg(&events)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sheetsight run");
    let deadline = Instant::now() + Duration::from_secs(60);
    let read = || -> Vec<LiveEvent> {
        std::fs::read_to_string(&events)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    };
    let arrived = |e: &[LiveEvent], zone_id: &str| {
        e.iter().any(|e| matches!(e, Event::Presence { zone, people: 2, .. } if zone == zone_id))
    };
    let mut seen = read();
    while !(arrived(&seen, "operator") && arrived(&seen, "danger")) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        seen = read();
    }
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().expect("wait");
    let stderr = text(&out.stderr);
    assert!(arrived(&seen, "operator") && arrived(&seen, "danger"), "presence of the two pairs:\n{seen:?}\n{stderr}");
    assert!(seen.iter().any(|e| matches!(e, Event::Lamp { .. })), "the lamps are read as ever");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    drop(server);

    // The counts were stored: dwell per zone and shift, attended time of brake-1.
    let today = chrono::Utc::now().date_naive();
    let (from, to) = ((today - chrono::Days::new(1)).to_string(), (today + chrono::Days::new(1)).to_string());
    let range = ["--from", from.as_str(), "--to", to.as_str(), "--format", "json"];
    let o = sheetsight(&[&["report", config.to_str().expect("path"), "--zones"], &range[..]].concat());
    assert!(o.status.success(), "{}", text(&o.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let operator: Vec<&serde_json::Value> =
        rows.as_array().expect("rows").iter().filter(|r| r["zone"] == "operator").collect();
    let occupied_s: f64 = operator.iter().filter_map(|r| r["occupied_s"].as_f64()).sum();
    let arrivals: u64 = operator.iter().filter_map(|r| r["arrivals"].as_u64()).sum();
    assert!(occupied_s > 0.0 && arrivals >= 1, "the operator zone's dwell was stored: {rows}");
    assert!(operator.iter().all(|r| r["operator_of"] == "brake-1"), "{rows}");
    let o = sheetsight(&[&["report", config.to_str().expect("path")], &range[..]].concat());
    assert!(o.status.success(), "{}", text(&o.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert!(rows.as_array().expect("rows").iter().any(|r| r["attended"].is_object()), "attended time: {rows}");
}

/// The demo's footpath camera over brake-1's zones, through the API: counts stored and
/// listed, dwell per zone, attended time, the "No operator" proposal on stops, and the
/// advisory safety events (brake-1 executes while real people stand in its danger zone)
/// with their pictures and alerts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_stores_people_and_raises_advisory_safety_alerts_with_a_picture() {
    let dir = tempfile::tempdir().expect("tempdir");
    let demo = common::Proc::demo(&dir.path().join("data"), &["--history-days", "0"]);
    let api = common::Api::login(demo.url(""), "admin", common::ADMIN_PASSWORD).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    let safety = loop {
        let (status, page) = api.json("GET", "/api/v1/safety?machine=brake-1", None).await;
        assert_eq!(status, 200, "{page}");
        if let Some(first) = page["items"].as_array().and_then(|i| i.first()).cloned() {
            break first;
        }
        assert!(Instant::now() < deadline, "no advisory safety event within 120 s:\n{}", demo.output());
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!((safety["zone"].as_str(), safety["advisory"].as_bool()), (Some("brake-1-back"), Some(true)), "{safety}");
    assert!(safety["note"].as_str().is_some_and(|n| n.contains("not a safety function")), "{safety}");
    let url = safety["snapshot_url"].as_str().expect("a picture was kept");
    let picture = api.send("GET", url, None).await;
    assert_eq!(picture.status(), 200);
    let picture = image::load_from_memory(&picture.bytes().await.expect("body")).expect("a JPEG").to_rgb8();
    let red = picture.pixels().filter(|p| p[0] > 180 && p[1] < 90 && p[2] < 90).count();
    assert!(red > 200, "the people are outlined in red ({red} red pixels)");
    let (_, alerts) = api.json("GET", "/api/v1/alerts", None).await;
    let advisory = alerts["items"].as_array().into_iter().flatten().find(|a| a["rule"] == "safety (advisory)");
    let advisory = advisory.unwrap_or_else(|| panic!("an advisory alert: {alerts}"));
    assert!(advisory["message"].as_str().is_some_and(|m| m.starts_with("ADVISORY:") && m.contains(url)), "{advisory}");

    let (_, zones) = api.json("GET", "/api/v1/zones", None).await;
    let ids: Vec<&str> = zones.as_array().expect("zones").iter().filter_map(|z| z["id"].as_str()).collect();
    assert_eq!(ids, ["brake-1-operator", "brake-1-back"], "{zones}");
    assert_eq!(zones[0]["operator_of"], "brake-1");
    let (_, presence) = api.json("GET", "/api/v1/presence?zone=brake-1-operator", None).await;
    let counts: Vec<u64> =
        presence["items"].as_array().expect("items").iter().filter_map(|p| p["people"].as_u64()).collect();
    assert!(counts.contains(&0) && counts.contains(&2), "the operator zone empty and with its two people: {presence}");
    let (_, dwell) = api.json("GET", "/api/v1/zones/report", None).await;
    let operator: f64 = dwell
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r["zone"] == "brake-1-operator")
        .filter_map(|r| r["occupied_s"].as_f64())
        .sum();
    assert!(operator > 0.0, "{dwell}");
    let (_, figures) = api.json("GET", "/api/v1/machines/brake-1/shift?min_minutes=0", None).await;
    assert!(figures["attended"]["executing_attended_s"].as_f64().is_some(), "{figures}");
    let stops = figures["stops"].as_array().expect("stops");
    assert!(!stops.is_empty(), "brake-1 stood at the start: {figures}");
    assert!(stops.iter().all(|s| s.get("suggested_reason").is_some()), "{figures}");

    // A zone drawn in the region editor: saved into the file and counted at once,
    // without a restart; the people standing at the left of the path are in it.
    let (status, regions) = api.json("GET", "/api/v1/cameras/footpath/regions", None).await;
    assert_eq!(status, 200, "{regions}");
    assert_eq!(regions["people_watched"], true, "{regions}");
    let mut zones = regions["zones"].as_array().expect("zones").clone();
    zones.push(serde_json::json!({
        "id": "walkway", "kind": "work", "machine": null,
        "roi": [[150, 180], [300, 180], [300, 260], [150, 260]],
    }));
    let body = serde_json::json!({"machines": regions["machines"], "zones": zones});
    let (status, saved) = api.json("PUT", "/api/v1/cameras/footpath/regions", Some(body)).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["zones"].as_array().map(Vec::len), Some(3), "{saved}");
    let file = std::fs::read_to_string(dir.path().join("data/demo.toml")).expect("demo.toml");
    assert!(file.contains("id = \"walkway\""), "{file}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, presence) = api.json("GET", "/api/v1/presence?zone=walkway", None).await;
        let counts: Vec<u64> =
            presence["items"].as_array().into_iter().flatten().filter_map(|p| p["people"].as_u64()).collect();
        if counts.iter().any(|&n| n > 0) {
            break;
        }
        assert!(Instant::now() < deadline, "nobody counted in the new zone within 60 s: {presence}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Removed again: from then on it counts nobody (its last count does not stay open).
    let body = serde_json::json!({"machines": regions["machines"], "zones": regions["zones"]});
    let (status, saved) = api.json("PUT", "/api/v1/cameras/footpath/regions", Some(body)).await;
    assert_eq!(status, 200, "{saved}");
    let file = std::fs::read_to_string(dir.path().join("data/demo.toml")).expect("demo.toml");
    assert!(!file.contains("walkway"), "{file}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, presence) = api.json("GET", "/api/v1/presence?zone=walkway", None).await;
        let last = presence["items"].as_array().and_then(|i| i.last()).cloned().unwrap_or_default();
        if last["people"] == 0 && last["end"].is_null() {
            break;
        }
        assert!(Instant::now() < deadline, "the removed zone still counts people: {presence}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // A zone outside the picture is refused, naming it; the file stays as it was.
    let outside = serde_json::json!({"machines": regions["machines"], "zones": [{
        "id": "far", "kind": "work", "machine": null, "roi": [[700, 500], [900, 500], [900, 700]]}]});
    let (status, refused) = api.json("PUT", "/api/v1/cameras/footpath/regions", Some(outside)).await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["error"]["message"].as_str().is_some_and(|m| m.contains("footpath")), "{refused}");
    assert_eq!(std::fs::read_to_string(dir.path().join("data/demo.toml")).expect("demo.toml"), file);
    assert_eq!(demo.terminate(), Some(0));
}
