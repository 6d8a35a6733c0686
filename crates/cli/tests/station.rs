//! An inspection station in the product: `sheetsight run` with a backlit table whose
//! camera answers snapshots on loopback, a real Mosquitto, and the dashboard in a real
//! Chromium. A drawing uploaded in the browser and one through the API; inspections
//! triggered by the page's button and the API (photo given or taken); the verdict large
//! on the station page in English and Chinese; refusals (an empty table, a dead camera,
//! a photo too large) answered and stored as nothing; history filtered, CSV, overlay,
//! control charts; results on MQTT. Screenshots go to `target/tmp/screenshots/`.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{ADMIN_PASSWORD, Api, Proc, mqtt_subscriber};
use sheetsight_inspect::calibrate::PlateGrid;
use sheetsight_sim::backlit;
use sheetsight_testkit::browser::Browser;
use sheetsight_testkit::fantoccini::Locator;
use sheetsight_testkit::http_camera::SnapshotCamera;
use sheetsight_testkit::mosquitto::Mosquitto;

fn shot(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots").join(name)
}

fn png(picture: &image::GrayImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    picture.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png).expect("png");
    bytes
}

/// A raw body with a content type, as an integrator's program sends it.
async fn send_bytes(api: &Api, method: &str, path: &str, kind: &str, body: Vec<u8>) -> (u16, serde_json::Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let r = api
        .http
        .request(method, format!("{}{path}", api.base))
        .header("X-CSRF-Token", api.csrf.clone().unwrap_or_default())
        .header("Content-Type", kind)
        .body(body)
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_station_inspects_in_the_product_and_shows_it_in_a_real_browser() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = Mosquitto::start();
    let mqtt = mqtt_subscriber(broker.port, "station-test", "shop1/station/#");
    // The table, calibrated from its plate; photos of a real drawing on it.
    let plate = backlit::test_plate_photo(9).expect("plate");
    let grid = PlateGrid::from_part(&plate.part).expect("grid");
    let calibration =
        sheetsight_inspect::calibrate(&plate.photo, &grid, backlit::TEST_PLATE_THICKNESS_MM).expect("calibrate");
    std::fs::write(dir.path().join("table.json"), serde_json::to_vec(&calibration).expect("json")).expect("write");
    let camera = backlit::table_camera();
    let (p65_name, p65_dxf) = backlit::SAMPLE_DRAWINGS[0];
    let part = backlit::sample_part(p65_dxf).expect("part");
    let cases = backlit::cases(&part, backlit::TEST_AREA_MM, 2, 23);
    let exact = png(&backlit::render_case(&camera, &part, &cases[0]));
    let defective = png(&backlit::render_case(&camera, &part, &cases[1]));
    let empty = png(&backlit::render(&camera, &[], &backlit::Lighting::default(), 4));
    let table = SnapshotCamera::start(defective);
    // A synthetic shop's cameras and machines, and the table beside them.
    let config = common::looping_shop(
        dir.path(),
        &format!(
            "[mqtt]\nbroker = \"127.0.0.1:{}\"\nprefix = \"shop1\"\n\n\
             [[station]]\nid = \"table-1\"\nsource = \"{}\"\ncalibration = \"table.json\"\n\n\
             [[station]]\nid = \"table-dead\"\nsource = \"http://127.0.0.1:9/snapshot.jpg\"\ncalibration = \"table.json\"\n",
            broker.port,
            table.url()
        ),
    );
    let shop = Proc::run(&config);
    let api = Api::login(shop.url(""), "admin", ADMIN_PASSWORD).await;

    // A drawing through the API; a broken one refused with its name.
    let (status, added) = send_bytes(
        &api,
        "PUT",
        "/api/v1/parts/Y-CAR/B?units=mm&file_name=y.dxf",
        "application/dxf",
        backlit::SAMPLE_DRAWINGS[1].1.to_vec(),
    )
    .await;
    assert_eq!(status, 201, "{added}");
    assert!(added["area_mm2"].as_f64().expect("area") > 100.0, "{added}");
    let (status, e) =
        send_bytes(&api, "PUT", "/api/v1/parts/BAD/A?file_name=bad.dxf", "application/dxf", b"0\nSECTION\n".to_vec())
            .await;
    assert_eq!(status, 400, "{e}");
    assert!(e.to_string().contains("bad.dxf"), "{e}");

    // The browser: log in, upload the other drawing on the parts page.
    let browser = Browser::start(1280, 1000).await;
    let c = &browser.client;
    c.goto(&shop.url("/#/parts")).await.expect("open");
    browser
        .wait_for("the login form", Duration::from_secs(20), "return !document.getElementById('login').hidden")
        .await;
    c.find(Locator::Css("#login input[name=name]")).await.expect("name").send_keys("admin").await.expect("type");
    c.find(Locator::Css("#login input[name=password]"))
        .await
        .expect("pw")
        .send_keys(ADMIN_PASSWORD)
        .await
        .expect("type");
    c.find(Locator::Css("#login button")).await.expect("submit").click().await.expect("click");
    browser.wait_for("the upload form", Duration::from_secs(20), "return !!document.querySelector('#upload')").await;
    let drawing = dir.path().join(p65_name);
    std::fs::write(&drawing, p65_dxf).expect("drawing");
    c.find(Locator::Css("#upload input[name=part]")).await.expect("part").send_keys("P-65").await.expect("type");
    c.find(Locator::Css("#upload input[name=revision]")).await.expect("rev").send_keys("A").await.expect("type");
    c.find(Locator::Css("#upload input[name=file]"))
        .await
        .expect("file")
        .send_keys(drawing.to_str().expect("path"))
        .await
        .expect("choose the file");
    c.execute("document.querySelector('#upload select[name=units]').value = 'mm'; return true", vec![])
        .await
        .expect("units");
    c.find(Locator::Css("#upload button")).await.expect("upload").click().await.expect("click");
    browser
        .wait_for(
            "the uploaded drawing in the library",
            Duration::from_secs(20),
            "return !!document.querySelector('tr[data-part=\"P-65\"]')",
        )
        .await;
    browser.screenshot(&shot("parts-library.png")).await;

    // The station page: the button inspects with the part matched; the camera shows a
    // part with a defect.
    c.goto(&shop.url("/#/table/table-1")).await.expect("station page");
    browser
        .wait_for("the inspect button", Duration::from_secs(20), "return !!document.querySelector('#inspect-now')")
        .await;
    c.find(Locator::Css("#inspect-now")).await.expect("button").click().await.expect("click");
    browser
        .wait_for(
            "a failed verdict",
            Duration::from_secs(60),
            "return document.querySelector('#verdict').dataset.outcome === 'fail'",
        )
        .await;
    browser
        .wait_for(
            "the overlay",
            Duration::from_secs(20),
            "const i = document.querySelector('#overlay'); return !!i && i.complete && i.naturalWidth > 0",
        )
        .await;
    let words = c
        .execute("return [...document.querySelectorAll('#verdict-failures li')].map(l => l.textContent)", vec![])
        .await
        .expect("words");
    assert!(!words.as_array().expect("list").is_empty(), "what failed, in words: {words}");
    let matched =
        c.execute("return document.querySelector('#verdict-match').textContent", vec![]).await.expect("match");
    assert!(matched.as_str().unwrap_or_default().contains('%'), "{matched}");
    browser.screenshot(&shot("station-fail-en.png")).await;
    // Zoom in on the overlay, then Chinese.
    c.find(Locator::Css("#overlay")).await.expect("overlay").click().await.expect("zoom");
    browser
        .wait_for(
            "the overlay zoomed",
            Duration::from_secs(5),
            "return document.querySelector('.overlay-box').classList.contains('zoomed')",
        )
        .await;
    c.find(Locator::Css("#lang")).await.expect("lang").click().await.expect("click");
    browser
        .wait_for(
            "the verdict in Chinese",
            Duration::from_secs(20),
            "return document.querySelector('#verdict b').textContent === '不合格'",
        )
        .await;
    browser.screenshot(&shot("station-fail-zh.png")).await;

    // An empty table: refused on the page, nothing stored.
    table.set(empty.clone());
    c.find(Locator::Css("#inspect-now")).await.expect("button").click().await.expect("click");
    browser
        .wait_for(
            "the refusal",
            Duration::from_secs(60),
            "return document.querySelector('#verdict').dataset.outcome === 'refused'",
        )
        .await;
    let message =
        c.execute("return document.querySelector('#verdict-message').textContent", vec![]).await.expect("message");
    assert!(message.as_str().unwrap_or_default().contains("no part in the photo"), "{message}");
    browser.screenshot(&shot("station-refused-zh.png")).await;

    // The API: photos given, part named; refusals with their status.
    for _ in 0..3 {
        let (status, v) =
            send_bytes(&api, "POST", "/api/v1/stations/table-1/inspect?part=P-65", "image/png", exact.clone()).await;
        assert_eq!(status, 201, "{v}");
        assert_eq!(
            (v["verdict"].as_str(), v["part"].as_str(), v["revision"].as_str()),
            (Some("pass"), Some("P-65"), Some("A")),
            "{v}"
        );
        assert!(v["timings"]["total_ms"].as_f64().is_some(), "{v}");
    }
    let (status, e) =
        api.json("POST", "/api/v1/stations/table-1/inspect", Some(serde_json::json!({"part": "P-65"}))).await;
    assert_eq!(status, 422, "an empty table: {e}");
    let (status, e) =
        api.json("POST", "/api/v1/stations/table-dead/inspect", Some(serde_json::json!({"part": "P-65"}))).await;
    assert_eq!(status, 503, "a dead camera: {e}");
    let (status, e) =
        api.json("POST", "/api/v1/stations/table-1/inspect", Some(serde_json::json!({"part": "NOPE"}))).await;
    assert_eq!(status, 404, "{e}");
    let (status, _) =
        send_bytes(&api, "POST", "/api/v1/stations/table-1/inspect", "image/jpeg", vec![0xFF; 70 << 20]).await;
    assert_eq!(status, 413, "a photo over 64 MB");
    let (status, e) =
        send_bytes(&api, "POST", "/api/v1/stations/table-1/inspect", "image/png", b"not a png".to_vec()).await;
    assert_eq!(status, 400, "{e}");

    // History: four verdicts, none of the refusals; filters, CSV, pictures.
    let (status, all) = api.json("GET", "/api/v1/inspections?part=P-65", None).await;
    assert_eq!(status, 200, "{all}");
    let items = all["items"].as_array().expect("items");
    assert_eq!(items.len(), 4, "{all}");
    let (_, failed) = api.json("GET", "/api/v1/inspections?part=P-65&verdict=fail&station=table-1", None).await;
    let failed = failed["items"].as_array().expect("items").clone();
    assert_eq!(failed.len(), 1);
    assert_eq!((failed[0]["trigger"].as_str(), failed[0]["operator"].as_str()), (Some("button"), Some("admin")));
    let id = failed[0]["id"].as_i64().expect("id");
    let csv = api.send("GET", "/api/v1/inspections?format=csv&part=P-65", None).await.text().await.expect("csv");
    assert_eq!(csv.lines().count(), 5, "{csv}");
    assert!(csv.starts_with("id,time,station,part,revision"), "{csv}");
    let overlay = api.send("GET", &format!("/api/v1/inspections/{id}/overlay.jpg"), None).await;
    assert_eq!(overlay.status(), 200);
    assert!(overlay.bytes().await.expect("bytes").starts_with(&[0xFF, 0xD8]));
    let (status, detail) = api.json("GET", &format!("/api/v1/inspections/{id}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(detail["report"]["verdict"].as_str(), Some("fail"), "{detail}");
    let photo = api.send("GET", &format!("/api/v1/inspections/{id}/photo"), None).await;
    assert_eq!(photo.status(), 200);
    // The machine that cut P-65 in this shift gets its quality from them: 3 of 4 passed.
    let (_, machines) = api.json("GET", "/api/v1/machines", None).await;
    let machine = machines[0]["id"].as_str().expect("a machine").to_string();
    let (status, _) =
        api.json("POST", &format!("/api/v1/machines/{machine}/job"), Some(serde_json::json!({"job": "P-65"}))).await;
    assert_eq!(status, 201);
    let (status, fig) = api.json("GET", &format!("/api/v1/machines/{machine}/shift"), None).await;
    assert_eq!(status, 200, "{fig}");
    assert_eq!(
        (fig["inspected"].as_u64(), fig["passed"].as_u64(), fig["quality"].as_f64()),
        (Some(4), Some(3), Some(0.75)),
        "{fig}"
    );
    let other = machines[1]["id"].as_str().expect("another machine");
    let (_, fig) = api.json("GET", &format!("/api/v1/machines/{other}/shift"), None).await;
    assert_eq!((fig["inspected"].as_u64(), fig["quality"].as_f64()), (Some(0), Some(1.0)), "nothing inspected: {fig}");
    let (status, spc) = api.json("GET", "/api/v1/parts/P-65/spc", None).await;
    assert_eq!(status, 200, "{spc}");
    assert!(spc.as_array().expect("charts").iter().any(|c| c["measure"] == "diameter_error_mm"), "{spc}");

    // The history page and a part's control charts in the browser.
    c.goto(&shop.url("/#/inspection?part=P-65")).await.expect("history");
    browser
        .wait_for(
            "four rows",
            Duration::from_secs(20),
            "return document.querySelectorAll('#inspections tr[data-inspection]').length === 4",
        )
        .await;
    browser.screenshot(&shot("inspection-history-zh.png")).await;
    c.goto(&shop.url("/#/part/P-65")).await.expect("spc page");
    browser
        .wait_for(
            "control charts",
            Duration::from_secs(20),
            "return document.querySelectorAll('[data-card=spc] svg').length > 0",
        )
        .await;
    browser.screenshot(&shot("part-spc-zh.png")).await;
    browser.close().await;

    // MQTT heard every verdict and refusal of table-1.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = mqtt.lock().expect("log").clone();
    let verdicts = got.iter().filter(|g| g.topic == "shop1/station/table-1/inspection").count();
    let refusals = got.iter().filter(|g| g.topic == "shop1/station/table-1/refusal").count();
    assert_eq!(verdicts, 4, "{:?}", got.iter().map(|g| &g.topic).collect::<Vec<_>>());
    assert!(refusals >= 2, "{refusals}");
    assert_eq!(shop.terminate(), Some(0));
}
