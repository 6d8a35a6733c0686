//! Setting up a shop without a text editor: `sheetsight run` on a configuration file that
//! does not exist yet, then, in a real browser (Chromium), a camera (GStreamer's RTSP
//! server) tested and added, its lamps found and accepted, a machine added with a
//! motion region, and its state seen on the overview, with no restart; the saved file
//! loads as `run` loads it. Bad input and roles are checked through the API.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{ADMIN_PASSWORD, Api, Proc};
use serde_json::{Value, json};
use sheetsight_testkit::browser::Browser;
use sheetsight_testkit::fantoccini::Locator;
use sheetsight_testkit::fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use sheetsight_testkit::{RtspServer, free_port, shop_camera_video, wait_until};

fn shot(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots").join(name)
}

/// A simulated shop camera (three machines with stack lights) served over RTSP.
fn shop_camera(dir: &std::path::Path, credentials: Option<(&str, &str)>) -> (RtspServer, sheetsight_sim::Scene) {
    let video = dir.join("shop.mp4");
    let scene = shop_camera_video(
        &video,
        0,
        (1280, 720),
        150.0,
        sheetsight_sim::Nuisances { people: false, ..sheetsight_sim::Nuisances::ALL },
        &["-c:v", "libx264", "-profile:v", "main", "-bf", "2", "-g", "40", "-crf", "26"],
    );
    let server = RtspServer::start(free_port(), &[("shop", video.display().to_string())], credentials);
    (server, scene)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_shop_is_set_up_in_the_browser_without_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (rtsp, scene) = shop_camera(dir.path(), None);
    let config = dir.path().join("shop.toml");
    assert!(!config.exists());
    let proc = Proc::run_logging(&config, "warn,sheetsight_server=info");
    assert!(config.exists(), "run creates the missing configuration");
    let browser = Browser::start(1280, 1000).await;
    let c = &browser.client;
    let mut clicks = 0;
    let started = Instant::now();

    common::log_in_as_admin(&browser, &proc.url("/"), None).await;
    clicks += 3;
    // No camera yet: the first-run guide.
    browser
        .wait_for("the first-run guide", Duration::from_secs(20), "return !!document.getElementById('first-run')")
        .await;
    browser.screenshot(&shot("setup-first-run.png")).await;

    // A camera: typed, tested (its first picture), added.
    let form = |name: &str| Locator::Css(Box::leak(format!("#camera-form input[name={name}]").into_boxed_str()));
    c.find(form("id")).await.expect("id").send_keys("cam1").await.expect("type");
    c.find(form("source")).await.expect("url").send_keys(&rtsp.url("shop")).await.expect("type");
    c.find(Locator::Css("#camera-test")).await.expect("test").click().await.expect("click");
    clicks += 3;
    browser.wait_for("the camera test", Duration::from_secs(30), "return !!document.getElementById('test-ok')").await;
    let tested = c.execute("return document.getElementById('test-ok').textContent", vec![]).await.expect("text");
    assert!(tested.as_str().is_some_and(|s| s.contains("H.264") && s.contains("1280×720")), "{tested}");
    browser.screenshot(&shot("setup-camera-tested.png")).await;
    c.find(Locator::Css("#camera-add")).await.expect("add").click().await.expect("click");
    clicks += 1;
    browser
        .wait_for(
            "the camera in the list",
            Duration::from_secs(20),
            "return !!document.querySelector('[data-camera=cam1]')",
        )
        .await;

    // Its lamps, found and accepted.
    wait_until("the camera's first analysed picture", Duration::from_secs(60), || async {
        c.execute("return fetch('/api/v1/cameras/cam1/snapshot.jpg').then(r => r.status === 200)", vec![])
            .await
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    })
    .await;
    c.find(Locator::Css("#find-lamps")).await.expect("find").click().await.expect("click");
    clicks += 1;
    browser
        .wait_for(
            "the proposed stack lights",
            Duration::from_secs(90),
            "return document.querySelectorAll('#setup-overlay .lampprop').length > 0 && document.getElementById('find-progress').hidden",
        )
        .await;
    browser.screenshot(&shot("setup-lamps-found.png")).await;

    // The machine: named, a box dragged over its ram, added.
    let truth = &scene.machines[0];
    c.find(Locator::Css("#machine-form input[name=id]")).await.expect("id").send_keys("brake-1").await.expect("type");
    clicks += 1;
    let size = c
        .execute(
            "const r = document.getElementById('setup-overlay').getBoundingClientRect(); return [r.width, r.height];",
            vec![],
        )
        .await
        .expect("size");
    let (css_w, css_h) = (size[0].as_f64().expect("w"), size[1].as_f64().expect("h"));
    let (img_w, img_h) = (f64::from(scene.spec.width_px), f64::from(scene.spec.height_px));
    let motion = truth.motion_roi();
    let at = |p: [f64; 2]| ((p[0] / img_w * css_w - css_w / 2.0).round(), (p[1] / img_h * css_h - css_h / 2.0).round());
    let overlay = c.find(Locator::Css("#setup-overlay")).await.expect("overlay");
    let (x0, y0) = at(motion[0]);
    let (x1, y1) = at(motion[2]);
    let drag = MouseActions::new("mouse".into())
        .then(PointerAction::MoveToElement { element: overlay.clone(), duration: None, x: x0, y: y0 })
        .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT })
        .then(PointerAction::MoveToElement {
            element: overlay.clone(),
            duration: Some(Duration::from_millis(200)),
            x: x1,
            y: y1,
        })
        .then(PointerAction::Up { button: MOUSE_BUTTON_LEFT });
    c.perform_actions(drag).await.expect("drag the motion box");
    clicks += 1;
    browser.wait_for("the motion box", Duration::from_secs(5), "return !!document.getElementById('motion-rect')").await;
    browser.screenshot(&shot("setup-machine.png")).await;
    c.find(Locator::Css("#machine-add")).await.expect("add").click().await.expect("click");
    clicks += 1;
    browser
        .wait_for(
            "the machine in the list",
            Duration::from_secs(20),
            "return !!document.querySelector('[data-machine=brake-1]')",
        )
        .await;

    // Its state on the overview, without a restart.
    c.goto(&proc.url("/#/")).await.expect("overview");
    clicks += 1;
    browser
        .wait_for(
            "brake-1's state on the overview",
            Duration::from_secs(60),
            "const t = document.querySelector('.tile[data-machine=brake-1]'); return !!t && t.dataset.state !== ''",
        )
        .await;
    let elapsed = started.elapsed();
    browser.screenshot(&shot("setup-overview.png")).await;
    eprintln!(
        "from an empty configuration to a monitored machine: {:.0} s, {clicks} clicks and typed fields",
        elapsed.as_secs_f64()
    );
    assert!(elapsed < Duration::from_secs(180), "took {elapsed:?}");

    // The file the pages wrote loads as `run` loads it, with what was accepted.
    let saved = sheetsight_config::load(&config).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(saved.cameras.len(), 1);
    let m = saved.machines.iter().find(|m| m.id == "brake-1").expect("brake-1 saved");
    assert_eq!(m.kind, Some(sheetsight_config::MachineKind::PressBrake));
    assert!(m.motion.is_some());
    assert_eq!(m.lamps.len(), truth.lamp_centers_px.len(), "{:?}", m.lamps);
    for (lamp, (&(cx, cy), &color)) in m.lamps.iter().zip(truth.lamp_centers_px.iter().zip(&truth.colors)) {
        assert_eq!(lamp.color, color);
        let inside =
            lamp.roi_px.iter().all(|p| ((p[0] - cx).powi(2) + (p[1] - cy).powi(2)).sqrt() <= truth.lamp_radius_px);
        assert!(inside, "the region {:?} is not inside the lens at ({cx}, {cy})", lamp.roi_px);
    }
    assert!(config.with_extension("toml.bak").exists(), "the previous file is kept");

    // The shop's settings in the same page: a shift added and a downtime reason typed.
    c.goto(&proc.url("/#/setup")).await.expect("set-up");
    browser
        .wait_for("the shop's settings", Duration::from_secs(20), "return !!document.getElementById('shop-form')")
        .await;
    c.find(Locator::Css("#shift-add")).await.expect("add a shift").click().await.expect("click");
    c.find(Locator::Css("#shifts .shiftname")).await.expect("name").send_keys("day").await.expect("type");
    c.find(Locator::Css("#shop-form textarea[name=reasons]"))
        .await
        .expect("reasons")
        .send_keys("\nCrane busy")
        .await
        .expect("type");
    browser.screenshot(&shot("setup-shop.png")).await;
    c.find(Locator::Css("#shop-save")).await.expect("save").click().await.expect("click");
    browser
        .wait_for(
            "the settings saved",
            Duration::from_secs(10),
            "return document.querySelector('#shop-form .saved').textContent !== ''",
        )
        .await;
    let saved = sheetsight_config::load(&config).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(saved.shifts.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["day"]);
    assert_eq!(saved.downtime.reasons.last().map(String::as_str), Some("Crane busy"));
    let log = proc.output();
    for change in ["camera added", "machine added", "shop settings changed"] {
        assert!(
            log.lines().any(|l| l.contains(change) && l.contains("admin")),
            "`{change}` by admin is not logged:\n{log}"
        );
    }
    browser.close().await;
    drop(proc);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_set_up_input_is_refused_next_to_its_field_and_nothing_is_saved() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (rtsp, scene) = shop_camera(dir.path(), Some(("viewer", "right-password")));
    let config = dir.path().join("shop.toml");
    let proc = Proc::run(&config);
    let admin = Api::login(proc.url(""), "admin", ADMIN_PASSWORD).await;
    let camera = |id: &str, source: String, password: &str| json!({"id": id, "source": source, "username": "viewer", "password": password});
    // The camera test says what failed.
    let dead = format!("rtsp://127.0.0.1:{}/shop", free_port());
    for (source, password, problem) in
        [(dead.clone(), "right-password", "unreachable"), (rtsp.url("shop"), "wrong", "refused")]
    {
        let (status, r) =
            admin.json("POST", "/api/v1/setup/cameras/test", Some(camera("cam1", source, password))).await;
        assert_eq!(status, 200, "{r}");
        assert_eq!(r["ok"], false, "{r}");
        assert_eq!(r["problem"], problem, "{r}");
    }
    let (_, r) = admin
        .json("POST", "/api/v1/setup/cameras/test", Some(camera("cam1", rtsp.url("shop"), "right-password")))
        .await;
    assert_eq!(r["ok"], true, "{r}");
    let (status, _) =
        admin.json("POST", "/api/v1/setup/cameras", Some(camera("cam1", rtsp.url("shop"), "right-password"))).await;
    assert_eq!(status, 200);
    let before = std::fs::read(&config).expect("saved");
    let refused = |r: &Value, field: &str, words: &str| {
        assert_eq!(r["error"]["field"], field, "{r}");
        assert!(r["error"]["message"].as_str().unwrap_or_default().contains(words), "{r}");
    };
    let (status, r) =
        admin.json("POST", "/api/v1/setup/cameras", Some(camera("cam1", rtsp.url("shop"), "right-password"))).await;
    assert_eq!(status, 400);
    refused(&r, "id", "exists already");
    let (status, r) = admin.json("POST", "/api/v1/setup/cameras", Some(camera("cam 2!", rtsp.url("shop"), ""))).await;
    assert_eq!(status, 400);
    refused(&r, "id", "cannot be an id");
    let (status, r) = admin.json("POST", "/api/v1/setup/cameras", Some(camera("cam2", "ftp://x".into(), ""))).await;
    assert_eq!(status, 400);
    refused(&r, "source", "rtsp://");
    // A region outside the frame, once the camera streams.
    wait_until("cam1's first picture", Duration::from_secs(60), || async {
        admin.send("GET", "/api/v1/cameras/cam1/snapshot.jpg", None).await.status() == 200
    })
    .await;
    let w = f64::from(scene.spec.width_px);
    let machine = json!({"id": "brake-1", "camera": "cam1", "kind": "press_brake",
        "lamps": [{"color": "red", "roi": [[w - 5.0, 10.0], [w + 40.0, 10.0], [w + 40.0, 40.0]]}]});
    let (status, r) = admin.json("POST", "/api/v1/setup/machines", Some(machine)).await;
    assert_eq!(status, 400);
    refused(&r, "lamps[0]", "frame");
    let (status, r) = admin
        .json(
            "POST",
            "/api/v1/setup/machines",
            Some(json!({"id": "brake-1", "camera": "cam9", "kind": "punch", "lamps": []})),
        )
        .await;
    assert_eq!(status, 400);
    refused(&r, "camera", "cam9");
    let (status, r) = admin.json("DELETE", "/api/v1/setup/cameras/cam1", None).await;
    assert_eq!(status, 400);
    refused(&r, "confirm", "?confirm=cam1");
    // The shop's settings: each wrong value next to its field.
    for (shop, field, words) in [
        (
            json!({"shifts": [{"name": "day", "start": "08:00", "end": "20:00"}, {"name": "night", "start": "25:00", "end": "08:00"}]}),
            "shifts[1]",
            "25:00",
        ),
        (
            json!({"shifts": [{"name": "day", "start": "08:00", "end": "20:00", "time_zone": "Mars/Olympus"}]}),
            "shifts[0]",
            "Mars/Olympus",
        ),
        (json!({"downtime_reasons": []}), "downtime_reasons", "at least one"),
        (json!({"summary_at": ["8 pm"]}), "summary_at", "HH:MM"),
    ] {
        let (status, r) = admin.json("PUT", "/api/v1/setup/shop", Some(shop)).await;
        assert_eq!(status, 400, "{r}");
        refused(&r, field, words);
    }
    assert_eq!(std::fs::read(&config).expect("file"), before, "nothing refused was saved");
    // Saved, they are in effect at once (the reasons to pick) and in the file.
    let shop = json!({"shifts": [{"name": "day", "start": "08:00", "end": "20:00", "time_zone": "Asia/Shanghai"},
                                 {"name": "night", "start": "20:00", "end": "08:00", "time_zone": "Asia/Shanghai"}],
                      "downtime_reasons": ["换模", "Waiting for material"], "summary_at": ["20:00", "08:00"]});
    let (status, r) = admin.json("PUT", "/api/v1/setup/shop", Some(shop)).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["shop"]["summary_at"], json!(["08:00", "20:00"]), "{r}");
    let (_, reasons) = admin.json("GET", "/api/v1/downtime-reasons", None).await;
    assert_eq!(reasons, json!(["换模", "Waiting for material"]));
    let (_, setup) = admin.json("GET", "/api/v1/setup", None).await;
    let names: Vec<&str> =
        setup["shop"]["shifts"].as_array().expect("shifts").iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(names, ["day", "night"], "{setup}");
    let saved = sheetsight_config::load(&config).expect("the saved file loads as run loads it");
    assert_eq!(saved.shifts.len(), 2);
    assert_eq!(saved.shifts[0].time_zone.name(), "Asia/Shanghai");
    let before = std::fs::read(&config).expect("saved");
    // Only admins change the set-up.
    let (status, _) = admin
        .json(
            "POST",
            "/api/v1/users",
            Some(json!({"name": "otto", "password": "password-of-a-test", "role": "operator"})),
        )
        .await;
    assert_eq!(status, 201);
    let operator = Api::login(proc.url(""), "otto", "password-of-a-test").await;
    let (status, _) = operator.json("POST", "/api/v1/setup/cameras", Some(camera("cam2", rtsp.url("shop"), ""))).await;
    assert_eq!(status, 403);
    let (status, _) = operator.json("PUT", "/api/v1/setup/shop", Some(json!({"summary_at": []}))).await;
    assert_eq!(status, 403);
    assert_eq!(std::fs::read(&config).expect("file"), before, "nothing refused was saved");
    // Removing the camera stops it; its history stays.
    let (status, r) = admin.json("DELETE", "/api/v1/setup/cameras/cam1?confirm=cam1", None).await;
    assert_eq!(status, 200, "{r}");
    let (_, cams) = admin.json("GET", "/api/v1/cameras", None).await;
    assert_eq!(cams.as_array().map(Vec::len), Some(0), "{cams}");
    assert!(sheetsight_config::load(&config).expect("loads").cameras.is_empty());
    drop(proc);
}
