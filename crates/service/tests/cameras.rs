//! The service against real peers on loopback: GStreamer's RTSP server (killed and
//! restarted, with wrong passwords, wrong paths and closed ports) and HTTP cameras that
//! send truncated pictures, garbage, and then nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sheetsight_config::Config;
use sheetsight_ingest::NetworkOpener;
use sheetsight_service::Service;
use sheetsight_sim::Nuisances;
use sheetsight_store::sqlite::SqliteStore;
use sheetsight_store::{Query, Store};
use sheetsight_testkit::event_log::EventLog;
use sheetsight_testkit::http_camera::{Behaviour, HttpCamera};
use sheetsight_testkit::{RtspServer, camera_config_toml, free_port, make_video, shop_camera_video};
use sheetsight_vision::event::{CameraHealth, Event, LiveEvent};
use sheetsight_vision::state::MachineState;

/// These tests start servers, encoders and services: one at a time, so that a 2-core
/// machine running them is not so overloaded that cameras stall for lack of CPU.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A service on a configuration, with every event it sent and when it arrived.
struct Harness {
    service: Option<Service<SqliteStore>>,
    store: Arc<SqliteStore>,
    log: EventLog,
    _dir: tempfile::TempDir,
}

/// A machine with one lamp, so that the camera's health shows in a machine state.
fn camera_toml(id: &str, source: &str, extra: &str) -> String {
    format!(
        "[[camera]]\nid = \"{id}\"\nsource = \"{source}\"\n{extra}\n\n[[machine]]\nid = \"m-{id}\"\ncamera = \"{id}\"\n\
         [[machine.lamp]]\ncolor = \"green\"\nroi = [[10, 10], [30, 10], [30, 30], [10, 30]]\n\n"
    )
}

impl Harness {
    async fn start(toml: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sheetsight.toml");
        let config: Config = sheetsight_config::parse(&path, toml).expect("config");
        let store = Arc::new(SqliteStore::open(&config.storage.data_dir).await.expect("store"));
        let live = sheetsight_service::live_channel();
        let log = EventLog::spawn(live.subscribe());
        let service = Service::start(
            &config,
            Arc::new(NetworkOpener),
            store.clone(),
            "test",
            live,
            sheetsight_base::clock::real(),
        )
        .await
        .expect("service");
        Self { service: Some(service), store, log, _dir: dir }
    }

    fn service(&self) -> &Service<SqliteStore> {
        self.service.as_ref().expect("running")
    }

    fn health_events(&self, camera: &str) -> Vec<(CameraHealth, Option<String>, f64)> {
        self.log
            .events()
            .iter()
            .filter_map(|(_, e)| match e {
                Event::Health { camera: c, health, detail, t } if c == camera => {
                    Some((*health, detail.clone(), t.as_unix_s()))
                }
                _ => None,
            })
            .collect()
    }

    fn frames_decoded(&self, camera: &str) -> u64 {
        self.service().statuses().iter().find(|s| s.id == camera).map_or(0, |s| s.stats.frames_decoded)
    }

    async fn stop(&mut self) {
        if let Some(s) = self.service.take() {
            s.stop().await.expect("stop");
        }
    }
}

fn is_health(camera: &'static str, health: CameraHealth) -> impl Fn(&LiveEvent) -> bool {
    move |e| matches!(e, Event::Health { camera: c, health: h, .. } if c == camera && *h == health)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtsp_main_and_high_profile_come_back_within_5_s_of_the_server() {
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (main, high) = (dir.path().join("main.mp4"), dir.path().join("high.mp4"));
    let port = free_port();
    let url = |mount: &str| format!("rtsp://127.0.0.1:{port}/{mount}");
    // Two simulated shop cameras with stack lights, re-encoded as Main and as High with B-frames.
    let main_args = ["-c:v", "libx264", "-profile:v", "main", "-g", "20"];
    let high_args = ["-c:v", "libx264", "-profile:v", "high", "-bf", "3", "-g", "20"];
    let main_scene = shop_camera_video(&main, 0, (640, 360), 120.0, Nuisances::NONE, &main_args);
    let high_scene = shop_camera_video(&high, 1, (640, 360), 120.0, Nuisances::NONE, &high_args);
    let toml =
        camera_config_toml("main", &url("main"), &main_scene) + &camera_config_toml("high", &url("high"), &high_scene);
    let mut server =
        RtspServer::start(port, &[("main", main.display().to_string()), ("high", high.display().to_string())], None);
    let mut h = Harness::start(&toml).await;
    let t0 = Instant::now();
    for cam in ["main", "high"] {
        assert!(
            h.log.wait_for(t0, Duration::from_secs(20), is_health(cam, CameraHealth::Streaming)).await.is_some(),
            "{cam} streams"
        );
    }
    // Every machine's lamps have been read: each is in a state other than NotAvailable.
    let machines: Vec<(String, &str)> = h
        .service()
        .statuses()
        .iter()
        .flat_map(|c| c.machines.iter().map(|m| (m.id.clone(), if c.id == "main" { "main" } else { "high" })))
        .collect();
    assert!(machines.len() >= 4, "{machines:?}");
    let current_state = |machine: &str| {
        h.log.events().iter().rev().find_map(|(_, e)| match e {
            Event::State { machine: m, state, .. } if m == machine => Some(*state),
            _ => None,
        })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while machines.iter().any(|(m, _)| current_state(m).is_none_or(|s| s == MachineState::NotAvailable)) {
        assert!(Instant::now() < deadline, "machines still without a state: {machines:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for cam in ["main", "high"] {
        assert!(h.frames_decoded(cam) >= 10, "{cam}: {} frames decoded", h.frames_decoded(cam));
    }

    // The server dies: both cameras fail, their machines become NotAvailable at that moment.
    let killed = Instant::now();
    server.kill();
    for cam in ["main", "high"] {
        let lost = |e: &LiveEvent| matches!(e, Event::Health { camera, health, .. } if camera == cam && *health != CameraHealth::Streaming);
        assert!(
            h.log.wait_for(killed, Duration::from_secs(15), lost).await.is_some(),
            "{cam} notices the server is gone"
        );
    }
    // The worker sends a camera's health, then its machines' states: wait until the log has both.
    for (machine, _) in &machines {
        let machine = machine.clone();
        let blind = move |e: &LiveEvent| matches!(e, Event::State { machine: m, state: MachineState::NotAvailable, .. } if *m == machine);
        assert!(h.log.wait_for(killed, Duration::from_secs(5), blind).await.is_some(), "{machines:?}: NotAvailable");
    }
    {
        let events = h.log.events();
        for (machine, cam) in &machines {
            let lost_t = events.iter().find_map(|(at, e)| match e {
                Event::Health { camera, health, t, .. }
                    if *at >= killed && camera == cam && *health != CameraHealth::Streaming =>
                {
                    Some(*t)
                }
                _ => None,
            });
            let blind_t = events.iter().find_map(|(at, e)| match e {
                Event::State { machine: m, state: MachineState::NotAvailable, t } if *at >= killed && m == machine => {
                    Some(*t)
                }
                _ => None,
            });
            assert!(lost_t.is_some());
            assert_eq!(lost_t, blind_t, "{machine}: NotAvailable from the moment camera {cam} is lost");
        }
    }

    // Down for a while (the cameras back off), then back: streaming within 5 s of the server.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let ready = server.restart();
    for cam in ["main", "high"] {
        let back = h.log.wait_for(ready, Duration::from_secs(20), is_health(cam, CameraHealth::Streaming)).await;
        let back_s = back.map(|b| b.duration_since(ready).as_secs_f64());
        eprintln!("{cam}: streaming again {back_s:?} s after the server came back");
        assert!(back_s.is_some_and(|s| s < 5.0), "{cam}: back after {back_s:?} s");
    }
    h.stop().await;

    // Stored: health intervals with the outage, the machine NotAvailable over it.
    let all = Query { from: sheetsight_store::UnixMillis::EPOCH, to: sheetsight_store::UnixMillis::MAX, key: None };
    let health = h.store.health(&all).await.expect("health");
    for cam in ["main", "high"] {
        let kinds: Vec<CameraHealth> = health.iter().filter(|i| i.key == cam).map(|i| i.value.0).collect();
        assert!(kinds.contains(&CameraHealth::Failed) || kinds.contains(&CameraHealth::Stalled), "{cam}: {kinds:?}");
        assert_eq!(kinds.iter().filter(|k| **k == CameraHealth::Streaming).count(), 2, "{cam}: {kinds:?}");
        assert!(health.iter().filter(|i| i.key == cam).all(|i| i.end.is_some()), "closed at the stop");
    }
    let states = h.store.states(&all).await.expect("states");
    assert!(states.iter().all(|s| s.end.is_some()));
    assert_eq!(h.store.integrity_check().await.expect("check"), "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_explained_retried_with_backoff_and_leave_other_cameras_alone() {
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
    let server = RtspServer::start(free_port(), &[("cam", "testsrc:320x240@10".into())], Some(("operator", "s3cret")));
    let closed_port = free_port();
    let base = format!("rtsp://127.0.0.1:{}", server.port);
    let toml = camera_toml("good", &format!("{base}/cam"), "username = \"operator\"\npassword = \"s3cret\"")
        + &camera_toml("inurl", &format!("rtsp://operator:s3cret@127.0.0.1:{}/cam", server.port), "")
        + &camera_toml("badpass", &format!("rtsp://operator:hunter2@127.0.0.1:{}/cam", server.port), "")
        + &camera_toml("badpath", &format!("{base}/nope"), "username = \"operator\"\npassword = \"s3cret\"")
        + &camera_toml("closed", &format!("rtsp://127.0.0.1:{closed_port}/cam"), "");
    let mut h = Harness::start(&toml).await;
    let t0 = Instant::now();
    for cam in ["good", "inurl"] {
        let ok = h.log.wait_for(t0, Duration::from_secs(20), is_health(cam, CameraHealth::Streaming)).await;
        assert!(ok.is_some(), "{cam}: {:?}", h.health_events(cam));
    }
    tokio::time::sleep(Duration::from_secs(10)).await;
    let good_frames = h.frames_decoded("good");
    assert!(good_frames >= 50, "the good camera keeps streaming: {good_frames} frames");
    for (cam, expected) in [
        ("badpass", "refused the user name or password"),
        ("badpath", "no stream at this path"),
        ("closed", "cannot connect"),
    ] {
        let events = h.health_events(cam);
        let failures: Vec<&String> =
            events.iter().filter(|e| e.0 == CameraHealth::Failed).filter_map(|e| e.1.as_ref()).collect();
        assert!(!failures.is_empty(), "{cam}: {events:?}");
        assert!(failures[0].contains(expected), "{cam}: {}", failures[0]);
        for text in &failures {
            assert!(!text.contains("hunter2") && !text.contains("s3cret"), "a password in a message: {text}");
        }
        let attempts = events.iter().filter(|e| e.0 == CameraHealth::Connecting).count();
        // 0.5 + 1 + 2 + 4 s of nominal backoff (each 50-100 %) fit in ~10 s: 3 to 7 attempts.
        assert!((2..=8).contains(&attempts), "{cam}: {attempts} attempts in 10 s");
        assert!(events.iter().all(|e| e.0 != CameraHealth::Streaming), "{cam} never streams");
        assert_eq!(h.frames_decoded(cam), 0);
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mjpeg_truncated_picture_then_garbage_then_hang_is_survived() {
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
    let camera = HttpCamera::start(vec![Behaviour::TruncatedGarbageHang, Behaviour::Good], false, 10.0);
    let mut h = Harness::start(&camera_toml("mjpeg", &camera.url(), "fps = 10")).await;
    let t0 = Instant::now();
    let streaming = h.log.wait_for(t0, Duration::from_secs(10), is_health("mjpeg", CameraHealth::Streaming)).await;
    assert!(streaming.is_some(), "{:?}", h.health_events("mjpeg"));
    let corrupt = |e: &LiveEvent| matches!(e, Event::MediaIssue { camera, what, .. } if camera == "mjpeg" && what.contains("JPEG"));
    assert!(h.log.wait_for(t0, Duration::from_secs(10), corrupt).await.is_some(), "the truncated picture is reported");
    // Garbage, then silence: stalled after ten frame intervals (at least 2 s), then
    // dropped and reconnected; the second connection is good.
    let stalled = h.log.wait_for(t0, Duration::from_secs(15), is_health("mjpeg", CameraHealth::Stalled)).await;
    assert!(stalled.is_some(), "{:?}", h.health_events("mjpeg"));
    let failed = h.log.wait_for(t0, Duration::from_secs(20), is_health("mjpeg", CameraHealth::Failed)).await;
    assert!(failed.is_some(), "{:?}", h.health_events("mjpeg"));
    let back = h
        .log
        .wait_for(failed.expect("failed"), Duration::from_secs(15), is_health("mjpeg", CameraHealth::Streaming))
        .await;
    assert!(back.is_some(), "{:?}", h.health_events("mjpeg"));
    assert!(camera.connections.load(std::sync::atomic::Ordering::SeqCst) >= 2);
    // The second connection streams on (the live status is refreshed every 200 ms).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let stats = h.service().statuses()[0].stats.clone();
    assert!(stats.decode_errors >= 1 && stats.frames_decoded >= 20, "{stats:?}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jpeg_snapshots_are_polled_at_the_camera_fps() {
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
    let camera = HttpCamera::start(vec![Behaviour::Good], true, 1.0);
    let mut h = Harness::start(&camera_toml("snap", &camera.url(), "fps = 5")).await;
    let t0 = Instant::now();
    assert!(h.log.wait_for(t0, Duration::from_secs(10), is_health("snap", CameraHealth::Streaming)).await.is_some());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let frames = h.frames_decoded("snap");
    let requests = camera.connections.load(std::sync::atomic::Ordering::SeqCst) as u64;
    // 5 per second for 3 s: allow a loaded machine to fall well behind, but not to stop.
    assert!((6..=20).contains(&frames), "{frames} snapshots in 3 s at 5 fps");
    assert!(requests >= frames, "one request per snapshot: {requests} for {frames}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtp_jpeg_over_tcp_and_h264_over_udp() {
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
    let server = RtspServer::start(
        free_port(),
        &[("jpeg", "jpeg:320x240@10".into()), ("h264", "testsrc:320x240@10".into())],
        None,
    );
    let toml =
        camera_toml("jpeg", &server.url("jpeg"), "") + &camera_toml("udp", &server.url("h264"), "transport = \"udp\"");
    let mut h = Harness::start(&toml).await;
    let t0 = Instant::now();
    for cam in ["jpeg", "udp"] {
        let ok = h.log.wait_for(t0, Duration::from_secs(20), is_health(cam, CameraHealth::Streaming)).await;
        assert!(ok.is_some(), "{cam}: {:?}", h.health_events(cam));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    for cam in ["jpeg", "udp"] {
        assert!(h.frames_decoded(cam) >= 10, "{cam}: {}", h.frames_decoded(cam));
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h265_is_decoded_through_ffmpeg() {
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let video = dir.path().join("cam.h265.mp4");
    make_video(&video, 640, 360, 10, 60, &["-c:v", "libx265", "-x265-params", "log-level=error", "-tag:v", "hvc1"]);
    let server = RtspServer::start(free_port(), &[("hevc", video.display().to_string())], None);
    let mut h = Harness::start(&camera_toml("hevc", &server.url("hevc"), "")).await;
    let t0 = Instant::now();
    let ok = h.log.wait_for(t0, Duration::from_secs(20), is_health("hevc", CameraHealth::Streaming)).await;
    assert!(ok.is_some(), "{:?}", h.health_events("hevc"));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(h.frames_decoded("hevc") >= 10, "{}", h.frames_decoded("hevc"));
    h.stop().await;
}
