//! People in zones on real footage: a camera over a footpath (OpenCV's `vtest.avi`, two
//! real frames shipped with the model), empty for 4 s, then six people; zones drawn
//! around where some of them stand. `analyze` on the frames as an image folder, and
//! `run` on the same footage from GStreamer's RTSP server.

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
        r#"{"type":"presence","zone":"operator","people":0,"t":0.0}"#,
        r#"{"type":"presence","zone":"operator","people":2,"t":4.0}"#,
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
}
