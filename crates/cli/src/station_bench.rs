//! `sheetsight bench-station`: an inspection station's speed, pinned to one core.
//!
//! 1. Photo to verdict: 12 MP JPEG photos of the sample parts (shop-floor light: the
//!    backlight clipped, vignetting, dust) reach a running station, half with the part
//!    named, half matched in the library; each step's time (decode, inspect, overlay,
//!    store), the push to a listener (the dashboard's and MQTT's way), and the whole way
//!    from a hot folder's new file to the verdict heard.
//! 2. History: `--inspections` stored inspections (12 features each, 50 part numbers,
//!    4 stations, spread over a year) filtered by part and month, as the history page
//!    and the CSV export ask, and a part's control charts over 90 days.

use std::time::{Duration, Instant};

use anyhow::Context;
use sheetsight_inspect::calibrate::PlateGrid;
use sheetsight_sim::backlit;
use sheetsight_station::library::{NewDrawing, PartOptions};
use sheetsight_station::{InspectRequest, StationEvent, Stations, Trigger};
use sheetsight_store::UnixMillis;
use sheetsight_store::inspections::{FeatureMeasure, InspectionFilter, NewInspection};
use sheetsight_store::sqlite::SqliteStore;

pub struct Options {
    pub photos: usize,
    pub seed: u64,
    pub inspections: usize,
}

/// Pins this process to its first allowed CPU.
fn pin_to_one_core() -> bool {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; the calls only read and write it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return false;
        }
        let Some(first) = (0..libc::CPU_SETSIZE as usize).find(|&c| libc::CPU_ISSET(c, &set)) else { return false };
        let mut one: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(first, &mut one);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &one) == 0
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::NAN, f64::max)
}

fn jpeg(photo: &image::GrayImage) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 92).encode_image(photo).context("JPEG")?;
    Ok(bytes)
}

pub fn run(o: &Options) -> anyhow::Result<bool> {
    let pinned = pin_to_one_core();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().max_blocking_threads(1).build()?;
    runtime.block_on(async {
        println!(
            "bench-station: {}",
            if pinned { "pinned to one core" } else { "NOT pinned (sched_setaffinity failed)" }
        );
        photo_to_verdict(o).await?;
        history(o).await
    })
}

async fn photo_to_verdict(o: &Options) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let hot = dir.path().join("incoming");
    std::fs::create_dir_all(&hot)?;
    let plate = backlit::test_plate_photo(o.seed)?;
    let calibration = sheetsight_inspect::calibrate(
        &plate.photo,
        &PlateGrid::from_part(&plate.part)?,
        backlit::TEST_PLATE_THICKNESS_MM,
    )?;
    std::fs::write(dir.path().join("table.json"), serde_json::to_vec(&calibration)?)?;
    let text = "[storage]\ndata_dir = \"data\"\n\n[[station]]\nid = \"api\"\nsource = \"http://127.0.0.1:9/unused.jpg\"\n\
                calibration = \"table.json\"\n\n[[station]]\nid = \"folder\"\nfolder = \"incoming\"\ncalibration = \"table.json\"\n";
    let config = sheetsight_config::parse(&dir.path().join("bench.toml"), text)?;
    let store = SqliteStore::open(&dir.path().join("data")).await?;
    let (stations, tasks) = Stations::start(&config, store.clone(), sheetsight_base::clock::real(), None).await?;
    let camera = backlit::table_camera();
    let mut photos = Vec::new();
    let options = PartOptions { units: Some("mm".into()), ..PartOptions::default() };
    for (k, (name, bytes)) in backlit::SAMPLE_DRAWINGS.iter().enumerate() {
        let number = format!("PART-{k}");
        let add = NewDrawing {
            part: &number,
            revision: "A",
            file_name: name,
            bytes,
            options: options.clone(),
            origin: "upload",
            by: "bench",
            now: UnixMillis::now(),
        };
        stations.library().add(add).await?;
        let part = backlit::sample_part(bytes).context("a sample part")?;
        let per = o.photos.div_ceil(backlit::SAMPLE_DRAWINGS.len()).max(1);
        for case in backlit::shop_floor_cases(&part, backlit::TEST_AREA_MM, per, o.seed + k as u64, &camera) {
            photos.push((number.clone(), jpeg(&backlit::render_case(&camera, &part, &case))?));
        }
    }
    photos.truncate(o.photos.max(1));
    let mut events = stations.subscribe();
    let (mut decode, mut inspect, mut overlay, mut store_ms, mut push, mut total) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut matched = 0;
    for (i, (number, bytes)) in photos.iter().enumerate() {
        let named = i % 2 == 0;
        let request = InspectRequest {
            part: named.then(|| number.clone()),
            revision: None,
            operator: None,
            trigger: Trigger::Api,
            photo: Some(bytes.clone()),
            frame: None,
        };
        let started = Instant::now();
        let view = match stations.inspect("api", request).await {
            Ok(v) => v,
            Err(e) => {
                println!("  photo {i}: refused: {e}");
                continue;
            }
        };
        let returned = started.elapsed().as_secs_f64() * 1e3;
        // The event is sent before the answer returns: its arrival is the push.
        if let Ok(StationEvent::Inspected(_)) = events.recv().await {
            push.push((started.elapsed().as_secs_f64() * 1e3 - view.brief.timings.total_ms).max(0.0));
        }
        if !named && view.brief.part == *number {
            matched += 1;
        }
        let t = &view.brief.timings;
        decode.push(t.decode_ms);
        inspect.push(t.inspect_ms);
        overlay.push(t.overlay_ms);
        store_ms.push(t.store_ms);
        total.push(returned);
    }
    let n = total.len();
    println!(
        "photo to verdict, {n} photos of 4000x3000 px (JPEG, {:.1} MB median), shop-floor light, one core:",
        median(&mut photos.iter().map(|p| p.1.len() as f64 / 1e6).collect::<Vec<_>>())
    );
    for (what, v) in [
        ("decode", &mut decode),
        ("inspect (named or matched)", &mut inspect),
        ("overlay (draw, JPEG)", &mut overlay),
        ("store (pictures, row)", &mut store_ms),
        ("push (to the listeners)", &mut push),
        ("total", &mut total),
    ] {
        let m = max(v);
        println!("  {what:<28} median {:>7.1} ms   max {:>7.1} ms", median(v), m);
    }
    println!("  parts matched right when not named: {matched} of {}", n / 2);
    // The hot folder: from the file's arrival (renamed into the folder) to the verdict heard.
    let mut arrival = Vec::new();
    for (i, (_, bytes)) in photos.iter().enumerate().take(4) {
        let partial = hot.join(format!(".photo-{i}.jpg.partial"));
        std::fs::write(&partial, bytes)?;
        let started = Instant::now();
        std::fs::rename(&partial, hot.join(format!("photo-{i}.jpg")))?;
        loop {
            match tokio::time::timeout(Duration::from_secs(30), events.recv()).await {
                Ok(Ok(StationEvent::Inspected(v))) if v.station == "folder" => break,
                Ok(Ok(StationEvent::Refused(r))) if r.station == "folder" => anyhow::bail!("refused: {}", r.message),
                Ok(Ok(_)) => continue,
                _ => anyhow::bail!("the hot folder gave no verdict"),
            }
        }
        arrival.push(started.elapsed().as_secs_f64() * 1e3);
    }
    let m = max(&arrival);
    println!(
        "  hot folder: new file to verdict heard, median {:.0} ms, max {m:.0} ms (of it up to {} ms waiting for the file to settle and the next listing)",
        median(&mut arrival),
        (sheetsight_station::hot_folder::SETTLE + sheetsight_station::hot_folder::POLL).as_millis()
    );
    tasks.stop().await;
    store.close().await;
    Ok(())
}

async fn history(o: &Options) -> anyhow::Result<bool> {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(dir.path()).await?;
    let year_ms = 365 * 86_400_000i64;
    let start = UnixMillis::now().plus_ms(-year_ms);
    let started = Instant::now();
    let step = year_ms / o.inspections.max(1) as i64;
    for i in 0..o.inspections {
        let part = format!("P-{:04}", (i * 7919) % 50);
        let features = (0..12)
            .map(|k| FeatureMeasure {
                feature: format!("hole-{k}"),
                kind: "hole".into(),
                position_error_mm: Some(0.01 + (i % 13) as f64 * 0.001),
                diameter_error_mm: Some(-0.005 + (i % 7) as f64 * 0.002),
                deviation_mm: None,
                verdict: "pass".into(),
            })
            .collect();
        let row = NewInspection {
            t: start.plus_ms(i as i64 * step),
            station: format!("table-{}", i % 4),
            part,
            revision: "A".into(),
            operator: Some("bench".into()),
            trigger: "folder".into(),
            verdict: if i % 17 == 0 { "fail" } else { "pass" }.into(),
            match_confidence: None,
            failed: u32::from(i % 17 == 0),
            report: "{\"verdict\":\"pass\",\"features\":[]}".repeat(20),
            overlay: Some(format!("table-{}/{i}-overlay.jpg", i % 4)),
            photo: None,
            features,
        };
        store.add_inspection(&row).await?;
    }
    println!(
        "history: {} inspections stored in {:.1} s; filtered by part and month (20 part/month pairs):",
        o.inspections,
        started.elapsed().as_secs_f64()
    );
    let month_ms = 30 * 86_400_000i64;
    let (mut page, mut csv, mut spc) = (Vec::new(), Vec::new(), Vec::new());
    let mut rows_per_month = 0;
    for k in 0..20i64 {
        let from = start.plus_ms((k % 12) * month_ms);
        let filter = InspectionFilter {
            from,
            to: from.plus_ms(month_ms),
            part: Some(format!("P-{:04}", (k * 13) % 50)),
            station: None,
            verdict: None,
            limit: Some(101),
            offset: 0,
        };
        let t = Instant::now();
        store.inspections(&filter).await?;
        page.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let all = store.inspections(&InspectionFilter { limit: None, ..filter.clone() }).await?;
        let text = sheetsight_store::inspections::csv(&all);
        std::hint::black_box(&text);
        csv.push(t.elapsed().as_secs_f64() * 1e3);
        rows_per_month = all.len();
        let t = Instant::now();
        store
            .feature_points(filter.part.as_deref().unwrap_or_default(), None, from, from.plus_ms(3 * month_ms))
            .await?;
        spc.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let pm = max(&page);
    let cm = max(&csv);
    let sm = max(&spc);
    println!(
        "  the history page (first 100, newest first)  median {:>6.2} ms   max {pm:>6.2} ms   (target <= 300 ms)",
        median(&mut page)
    );
    println!(
        "  CSV of the part's month (~{rows_per_month} rows)         median {:>6.2} ms   max {cm:>6.2} ms",
        median(&mut csv)
    );
    println!("  a part's measures over 90 days (charts)     median {:>6.2} ms   max {sm:>6.2} ms", median(&mut spc));
    store.close().await;
    Ok(pm <= 300.0)
}
