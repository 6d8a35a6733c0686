//! Stations end to end on rendered photos of real drawings: a snapshot camera served on
//! loopback, a hot folder, a dead camera, an empty table; every verdict stored with its
//! pictures, every refusal stored as nothing.

use std::path::Path;
use std::time::Duration;

use sheetsight_inspect::calibrate::PlateGrid;
use sheetsight_sim::backlit;
use sheetsight_station::library::{NewDrawing, PartOptions};
use sheetsight_station::{ErrorKind, InspectRequest, StationEvent, Stations, Trigger};
use sheetsight_store::UnixMillis;
use sheetsight_store::inspections::InspectionFilter;
use sheetsight_store::sqlite::SqliteStore;
use sheetsight_testkit::http_camera::SnapshotCamera;

fn png(picture: &image::GrayImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    picture.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png).expect("png");
    bytes
}

fn request(part: Option<&str>, photo: Option<Vec<u8>>) -> InspectRequest {
    InspectRequest {
        part: part.map(Into::into),
        revision: None,
        operator: Some("li.wei".into()),
        trigger: Trigger::Api,
        photo,
        frame: None,
    }
}

async fn stored(store: &SqliteStore) -> Vec<sheetsight_store::inspections::InspectionRecord> {
    let all = InspectionFilter { from: UnixMillis(0), to: UnixMillis(i64::MAX), ..Default::default() };
    store.inspections(&all).await.expect("inspections")
}

async fn wait_for(path: &Path) {
    for _ in 0..200 {
        if path.exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{} did not appear", path.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stations_judge_store_and_refuse_as_a_shop_needs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let hot = dir.path().join("incoming");
    std::fs::create_dir_all(&hot).expect("hot folder");
    // The table, calibrated from its plate.
    let plate = backlit::test_plate_photo(5).expect("plate");
    let grid = PlateGrid::from_part(&plate.part).expect("grid");
    let calibration =
        sheetsight_inspect::calibrate(&plate.photo, &grid, backlit::TEST_PLATE_THICKNESS_MM).expect("calibrate");
    std::fs::write(dir.path().join("table.json"), serde_json::to_vec(&calibration).expect("json")).expect("write");
    // Two parts of the library; photos of the first.
    let camera = backlit::table_camera();
    let (name, dxf) = backlit::SAMPLE_DRAWINGS[0];
    let part = backlit::sample_part(dxf).expect("part");
    let cases = backlit::cases(&part, backlit::TEST_AREA_MM, 2, 11);
    let exact = png(&backlit::render_case(&camera, &part, &cases[0]));
    let defective = png(&backlit::render_case(&camera, &part, &cases[1]));
    let empty = png(&backlit::render(&camera, &[], &backlit::Lighting::default(), 3));
    let camera_at_table = SnapshotCamera::start(defective.clone());
    let text = format!(
        "[storage]\ndata_dir = \"data\"\n\n\
         [[station]]\nid = \"table-1\"\nsource = \"{}\"\ncalibration = \"table.json\"\n\n\
         [[station]]\nid = \"table-2\"\nfolder = \"incoming\"\ncalibration = \"table.json\"\nkeep_photo = false\n\n\
         [[station]]\nid = \"table-3\"\nsource = \"http://127.0.0.1:9/dead.jpg\"\ncalibration = \"table.json\"\n\n\
         [[station]]\nid = \"table-4\"\nsource = \"http://127.0.0.1:9/dead.jpg\"\ncalibration = \"missing.json\"\n",
        camera_at_table.url()
    );
    let config = sheetsight_config::parse(&dir.path().join("sheetsight.toml"), &text).expect("config");
    let store = SqliteStore::open(&data).await.expect("store");
    let (stations, tasks) =
        Stations::start(&config, store.clone(), sheetsight_base::clock::real(), None).await.expect("stations");
    let mut events = stations.subscribe();
    let options = PartOptions { units: Some("mm".into()), ..PartOptions::default() };
    for (part_no, (file_name, bytes)) in [("P-65", backlit::SAMPLE_DRAWINGS[0]), ("Y-CAR", backlit::SAMPLE_DRAWINGS[1])]
    {
        stations
            .library()
            .add(NewDrawing {
                part: part_no,
                revision: "A",
                file_name,
                bytes,
                options: options.clone(),
                origin: "upload",
                by: "admin",
                now: UnixMillis(1),
            })
            .await
            .expect("drawing");
    }
    let e = stations
        .library()
        .add(NewDrawing {
            part: "BROKEN",
            revision: "A",
            file_name: "broken.dxf",
            bytes: b"0\nSECTION\n2\nENT",
            options: options.clone(),
            origin: "upload",
            by: "admin",
            now: UnixMillis(1),
        })
        .await
        .expect_err("a broken drawing is refused");
    assert!(e.to_string().starts_with("broken.dxf: "), "{e}");
    assert_eq!(stations.library().all().len(), 2, "{name}");

    // Named part, photo given: a pass, stored with its pictures and features.
    let view = stations.inspect("table-1", request(Some("P-65"), Some(exact.clone()))).await.expect("inspected");
    assert_eq!(format!("{:?}", view.brief.verdict), "Pass", "{:?}", view.brief.failures);
    assert_eq!(
        (view.brief.part.as_str(), view.brief.revision.as_str(), view.brief.match_confidence),
        ("P-65", "A", None)
    );
    assert!(matches!(events.recv().await, Ok(StationEvent::Inspected(v)) if v.id == view.brief.id));
    let (record, report) = store.inspection(view.brief.id).await.expect("read").expect("stored");
    assert_eq!((record.verdict.as_str(), record.operator.as_deref()), ("pass", Some("li.wei")));
    assert!(report.contains("\"features\""));
    for picture in [record.overlay.as_deref(), record.photo.as_deref()] {
        let path = stations.picture_path(picture.expect("named")).expect("inside");
        assert!(path.exists(), "{}", path.display());
    }
    let points = store.feature_points("P-65", None, UnixMillis(0), UnixMillis(i64::MAX)).await.expect("points");
    assert_eq!(points.len(), view.report.features.len());

    // No part named, photo from the snapshot camera: matched, and the defect fails it.
    let view = stations.inspect("table-1", request(None, None)).await.expect("matched");
    assert_eq!(view.brief.part, "P-65");
    let confidence = view.brief.match_confidence.expect("matched, so a confidence");
    assert!(confidence > 0.8, "confidence {confidence}");
    assert_eq!(format!("{:?}", view.brief.verdict), "Fail");
    assert!(!view.brief.failures.is_empty());
    assert_eq!(stored(&store).await.len(), 2);

    // Refusals, none stored: an empty table, a dead camera, a missing calibration, an
    // unknown part, an unknown station.
    camera_at_table.set(empty.clone());
    let e = stations.inspect("table-1", request(Some("P-65"), None)).await.expect_err("empty table");
    assert_eq!(e.kind(), ErrorKind::Refused, "{e}");
    assert!(e.to_string().contains("no part in the photo"), "{e}");
    let status = stations.status("table-1").expect("status");
    assert!(matches!(&status.last, Some(StationEvent::Refused(r)) if r.message.contains("no part")));
    let e = stations.inspect("table-3", request(Some("P-65"), None)).await.expect_err("dead camera");
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(e.to_string().contains("does not answer"), "{e}");
    let e = stations.inspect("table-4", request(Some("P-65"), None)).await.expect_err("no calibration");
    assert!(e.to_string().contains("missing.json"), "{e}");
    assert!(stations.status("table-4").expect("status").problem.is_some());
    let e = stations.inspect("table-1", request(Some("NOPE"), Some(exact.clone()))).await.expect_err("unknown part");
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(
        stations.inspect("table-9", request(None, None)).await.expect_err("no station").kind(),
        ErrorKind::NotFound
    );
    let e = stations.inspect("table-1", request(None, Some(b"GIF89a...".to_vec()))).await.expect_err("not a photo");
    assert_eq!(e.kind(), ErrorKind::BadInput);
    assert_eq!(stored(&store).await.len(), 2, "no refusal is stored as a verdict");

    // The hot folder: a photo written under a temporary name and renamed, a text file.
    std::fs::write(hot.join("p1.png.partial"), &exact).expect("write");
    std::fs::rename(hot.join("p1.png.partial"), hot.join("p1.png")).expect("rename");
    std::fs::write(hot.join("notes.txt"), b"not a photo").expect("write");
    wait_for(&hot.join("done").join("p1.png")).await;
    wait_for(&hot.join("refused").join("notes.txt.txt")).await;
    let reason = std::fs::read_to_string(hot.join("refused").join("notes.txt.txt")).expect("reason");
    assert!(reason.contains("not a picture"), "{reason}");
    let all = stored(&store).await;
    assert_eq!(all.len(), 3);
    assert_eq!((all[0].station.as_str(), all[0].trigger.as_str(), all[0].part.as_str()), ("table-2", "folder", "P-65"));
    assert!(all[0].photo.is_none(), "keep_photo = false");
    let by_station = InspectionFilter {
        from: UnixMillis(0),
        to: UnixMillis(i64::MAX),
        station: Some("table-1".into()),
        verdict: Some("fail".into()),
        ..Default::default()
    };
    assert_eq!(store.inspections(&by_station).await.expect("filtered").len(), 1);
    tasks.stop().await;
}

/// `auto`: a part laid on the empty table is inspected once it has lain still, once;
/// a hand reaching in is not a part.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_inspects_a_new_part_once_it_lies_still() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plate = backlit::test_plate_photo(6).expect("plate");
    let grid = PlateGrid::from_part(&plate.part).expect("grid");
    let calibration =
        sheetsight_inspect::calibrate(&plate.photo, &grid, backlit::TEST_PLATE_THICKNESS_MM).expect("calibrate");
    std::fs::write(dir.path().join("table.json"), serde_json::to_vec(&calibration).expect("json")).expect("write");
    let camera = backlit::table_camera();
    let (file_name, dxf) = backlit::SAMPLE_DRAWINGS[3];
    let part = backlit::sample_part(dxf).expect("part");
    let case = &backlit::cases(&part, backlit::TEST_AREA_MM, 1, 17)[0];
    let laid = backlit::render_case(&camera, &part, case);
    let empty = backlit::render(&camera, &[], &backlit::Lighting::default(), 8);
    // A hand: a dark band from the border into the table, over the empty table.
    let mut hand = empty.clone();
    for y in 1400..1700 {
        for x in 0..1800 {
            hand.put_pixel(x, y, image::Luma([35]));
        }
    }
    let table = SnapshotCamera::start(png(&empty));
    let text = format!(
        "[storage]\ndata_dir = \"data\"\n\n[[station]]\nid = \"auto-1\"\nsource = \"{}\"\ncalibration = \"table.json\"\nauto = true\nstill_s = 1.0\n",
        table.url()
    );
    let config = sheetsight_config::parse(&dir.path().join("sheetsight.toml"), &text).expect("config");
    let store = SqliteStore::open(&dir.path().join("data")).await.expect("store");
    let (stations, tasks) =
        Stations::start(&config, store.clone(), sheetsight_base::clock::real(), None).await.expect("stations");
    let options = PartOptions { units: Some("mm".into()), ..PartOptions::default() };
    let add = NewDrawing {
        part: "SHIM",
        revision: "A",
        file_name,
        bytes: dxf,
        options,
        origin: "upload",
        by: "admin",
        now: UnixMillis(1),
    };
    stations.library().add(add).await.expect("drawing");
    let mut events = stations.subscribe();
    // The hand for three seconds, then the part, lying still.
    table.set(png(&hand));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(stored(&store).await.is_empty(), "a hand is not a part");
    table.set(png(&laid));
    let heard = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            if let Ok(StationEvent::Inspected(v)) = events.recv().await {
                return v;
            }
        }
    })
    .await
    .expect("an automatic inspection");
    assert_eq!((heard.part.as_str(), heard.trigger), ("SHIM", Trigger::Auto));
    // Still there: not inspected again.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(stored(&store).await.len(), 1);
    tasks.stop().await;
}
