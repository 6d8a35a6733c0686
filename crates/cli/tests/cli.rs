//! The `sheetsight` binary end to end: synth -> analyze -> evaluate, configuration
//! errors, a broken camera beside a good one, image folders, and the demo (cameras and
//! the simulated inspection table).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sheetsight(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sheetsight")).args(args).output().expect("the binary runs")
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

/// A small synthetic shop (two cameras, 640x360, 40 s).
fn small_shop(dir: &Path) -> PathBuf {
    let out = dir.to_str().expect("utf-8 path");
    let o =
        sheetsight(&["synth", "--out", out, "--minutes", "0.67", "--width", "640", "--height", "360", "--seed", "3"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    dir.join("sheetsight.toml")
}

#[test]
fn synth_analyze_evaluate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = small_shop(dir.path());
    let events = dir.path().join("events.jsonl");
    let o = sheetsight(&["analyze", config.to_str().expect("path"), "--events", events.to_str().expect("path")]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let summary = text(&o.stdout);
    for m in ["brake-1", "brake-2", "punch-1", "brake-3", "laser-1"] {
        assert!(summary.contains(m), "summary lists {m}:\n{summary}");
    }
    assert!(summary.contains("strokes/h"));
    let lines = std::fs::read_to_string(&events).expect("events written");
    assert!(
        lines.lines().any(|l| l.starts_with(r#"{"type":"lamp","machine":"#) && l.contains(r#""mode":"#)),
        "{lines}"
    );
    assert!(lines.lines().any(|l| l.starts_with(r#"{"type":"state","machine":"#)), "{lines}");
    assert!(
        lines.lines().any(|l| l.starts_with(r#"{"type":"stroke","machine":"#) && l.contains(r#""end_t":"#)),
        "{lines}"
    );

    let truth = dir.path().join("truth.jsonl");
    let o = sheetsight(&[
        "evaluate",
        "--truth",
        truth.to_str().expect("path"),
        "--events",
        events.to_str().expect("path"),
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let score: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json score");
    let lamp = &score["lamp"];
    let ratio = lamp["agree"].as_f64().expect("agree") / lamp["compared"].as_f64().expect("compared");
    assert!(ratio > 0.98, "lamp agreement {ratio}");
}

fn write_config(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("sheetsight.toml");
    std::fs::write(&path, body).expect("write");
    path
}

#[test]
fn configuration_errors_name_file_line_and_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = small_shop(dir.path());
    let good = std::fs::read_to_string(&config).expect("read");

    let bad = write_config(dir.path(), &good.replacen("fps = 10", "fsp = 10", 1));
    let o = sheetsight(&["analyze", bad.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.contains("sheetsight.toml:6:1: camera[0].fsp: unknown key `fsp`; did you mean `fps`?"), "{err}");

    let bad = write_config(
        dir.path(),
        &good.replacen(
            "[[machine.lamp]]\ncolor = \"red\"\nroi = [",
            "[[machine.lamp]]\ncolor = \"red\"\nroi = [[900, 10], ",
            1,
        ),
    );
    let o = sheetsight(&["analyze", bad.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.contains("machine[0].lamp[0].roi") && err.contains("outside the 640x360 frame"), "{err}");

    let bad = write_config(dir.path(), &good.replacen("cam1.mp4", "nowhere.mp4", 1));
    let o = sheetsight(&["analyze", bad.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.contains("camera[0].source") && err.contains("nowhere.mp4") && err.contains("does not exist"), "{err}");

    let bad = write_config(dir.path(), &good.replacen("camera = \"cam1\"", "camera = \"cam7\"", 1));
    let o = sheetsight(&["analyze", bad.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("no camera has the id `cam7`"), "{}", text(&o.stderr));

    let bad = write_config(dir.path(), &good.replacen("cam1.mp4", "rtsp://admin:secret@10.0.0.9/stream", 1));
    let o = sheetsight(&["analyze", bad.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("live `rtsp://` cameras"), "{}", text(&o.stderr));
    assert!(!Path::new("events.jsonl").exists(), "nothing is written before the configuration is checked");
}

#[test]
fn a_broken_camera_does_not_stop_the_others() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = small_shop(dir.path());
    let cam2 = dir.path().join("cam2.mp4");
    let bytes = std::fs::read(&cam2).expect("read");
    std::fs::write(&cam2, &bytes[..bytes.len() / 3]).expect("truncate");
    let events = dir.path().join("events.jsonl");
    let o = sheetsight(&["analyze", config.to_str().expect("path"), "--events", events.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(err.contains("camera `cam2` stopped early") && err.contains("cam2.mp4"), "{err}");
    let lines = std::fs::read_to_string(&events).expect("events written");
    assert!(
        lines.lines().any(|l| l.contains(r#""machine":"brake-1""#) && l.contains(r#""type":"state""#)),
        "cam1 was analysed"
    );
    assert!(lines.lines().any(|l| l.contains(r#""type":"media_issue","camera":"cam2""#)), "{lines}");
}

#[test]
fn image_folders_are_a_camera_source() {
    let dir = tempfile::tempdir().expect("tempdir");
    let frames = dir.path().join("frames");
    std::fs::create_dir_all(&frames).expect("mkdir");
    let (_, spec) = sheetsight_sim::shop_specs(640, 360, 10.0, 20.0, 9, sheetsight_sim::Nuisances::ALL).remove(0);
    let scene = sheetsight_sim::Scene::generate(&spec);
    let mut renderer = sheetsight_sim::Renderer::new(scene.clone());
    for i in 0..60 {
        let f = renderer.render(f64::from(i) / 10.0);
        let img = image::RgbImage::from_raw(640, 360, f.to_rgb8()).expect("size");
        let name = if i % 2 == 0 { format!("frame_{i:04}.png") } else { format!("frame_{i:04}.jpg") };
        img.save(frames.join(name)).expect("save");
    }
    std::fs::write(frames.join("frame_0030.jpg"), b"broken").expect("corrupt one frame");
    let body = sheetsight_sim::config_toml(&[("cam1".into(), "frames".into(), &scene)]);
    let config = write_config(dir.path(), &body);
    let events = dir.path().join("events.jsonl");
    let o = sheetsight(&["analyze", config.to_str().expect("path"), "--events", events.to_str().expect("path")]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("1 damaged part(s) skipped"), "{}", text(&o.stderr));
    let lines = std::fs::read_to_string(&events).expect("events");
    assert!(
        lines.contains(r#""type":"media_issue","camera":"cam1","at":"#) && lines.contains("frame_0030.jpg"),
        "{lines}"
    );
    let truth = scene.truth();
    // Every lamp that is steady or off from the start is read so within the 6 s.
    for e in &truth {
        if let sheetsight_vision::event::Event::Lamp { machine, lamp, mode, t, .. } = e
            && t.0 == 0.0
            && matches!(mode, sheetsight_vision::lamp::LampMode::Off | sheetsight_vision::lamp::LampMode::Steady)
            && !truth.iter().any(|x| matches!(x, sheetsight_vision::event::Event::Lamp { machine: m, lamp: l, t, .. } if m == machine && l == lamp && t.0 > 0.0 && t.0 < 6.0))
        {
            let want = format!(r#""machine":"{machine}","lamp":{lamp},"color":"#);
            let line = lines.lines().find(|l| l.contains(&want)).unwrap_or_else(|| panic!("no event for {machine} lamp {lamp}"));
            assert!(line.contains(&format!(r#""mode":"{}""#, mode.as_str())), "{line}");
        }
    }
}

#[test]
fn demo_runs_live_and_stops() {
    let dir = tempfile::tempdir().expect("tempdir");
    let events = dir.path().join("demo.jsonl");
    let data = dir.path().join("data");
    let o = sheetsight(&[
        "demo",
        "--duration-s",
        "8",
        "--plain",
        "--events",
        events.to_str().expect("path"),
        "--data-dir",
        data.to_str().expect("path"),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.contains("state -> "), "{out}");
    assert!(out.contains("Dashboard: http://127.0.0.1:"), "{out}");
    assert!(data.join("demo.toml").exists(), "the demo's configuration is a file");
    assert!(out.contains("camera cam1 streaming"), "{out}");
    // The history of the run, read back from the database it wrote.
    assert!(out.contains("history of this run, read back from"), "{out}");
    for m in ["brake-1", "brake-2", "punch-1", "brake-3", "laser-1"] {
        assert!(out.lines().any(|l| l.starts_with(m) && l.contains("demo")), "{m} in the history:\n{out}");
    }
    assert!(data.join("history.db").exists());
    // The backlit table beside the cameras, station table-1: each sample part as drawn
    // passes, each with a defect made on purpose fails, every verdict stored; the photos
    // were taken from the hot folder once each.
    assert!(out.contains("8 parts laid, 8 inspected at station table-1, 4 pass, 4 fail"), "{out}");
    assert!(data.join("inspection/table.json").exists());
    let done = std::fs::read_dir(data.join("inspection/incoming/done")).expect("done").count();
    assert!(done >= 8, "{done} photos filed as done");
    let log = std::fs::read_to_string(&events).expect("events");
    assert!(log.contains(r#""type":"state""#) && log.contains(r#""type":"health""#), "{log}");
    // The real footage: its six people counted in the zones by the real detector.
    assert!(
        log.contains(r#"{"type":"presence","zone":"brake-1-operator","operator_of":"brake-1","people":2"#),
        "{log}"
    );
}

#[test]
fn plate_writes_a_drawing_that_reads_back_and_refuses_what_cannot_calibrate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("plate.dxf");
    let p = path.to_str().expect("path");
    let o = sheetsight(&[
        "plate",
        "--width-mm",
        "300",
        "--height-mm",
        "200",
        "--pitch-mm",
        "20",
        "--hole-mm",
        "6",
        "-o",
        p,
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("15 x 10 holes of 6 mm"), "{}", text(&o.stdout));
    let drawing =
        sheetsight_drawing::read_dxf(&std::fs::read(&path).expect("plate.dxf"), &Default::default()).expect("reads");
    assert_eq!(drawing.curves.len(), 1 + 15 * 10 + 1);
    let o = sheetsight(&[
        "plate",
        "--width-mm",
        "300",
        "--height-mm",
        "200",
        "--pitch-mm",
        "20",
        "--hole-mm",
        "12",
        "-o",
        p,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("at most half the pitch"), "{}", text(&o.stderr));
}
