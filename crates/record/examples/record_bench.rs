//! What recording costs and how fast clips come: 16 cameras of 1280x720 H.264 at 25 fps
//! recorded at their real pace for `SECONDS` (default 20, first argument), then a 60 s
//! clip cut from a recording of 90 s.
//!
//! Prints: CPU per camera (the tap, the queue, the writer thread and the index), bytes
//! written against the stream's own bytes, how soon after a picture was sent a clip
//! holds it, and the time to cut a 60 s clip.
//! `cargo run --release -p sheetsight-record --example record_bench [SECONDS]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use sheetsight_base::time::UnixMillis;
use sheetsight_config::RecordingConfig;
use sheetsight_ingest::tap::PacketTap;
use sheetsight_ingest::{Packet, Payload};
use sheetsight_media::YuvFrame;
use sheetsight_media::h264::{EncoderSettings, H264Encoder};
use sheetsight_record::catalog;
use sheetsight_record::clip::ClipMaker;
use sheetsight_record::recorder::Recorder;
use sheetsight_record::recordings_dir;
use sheetsight_store::sqlite::SqliteStore;

const CAMERAS: usize = 16;
const FPS: u32 = 25;
const W: u32 = 1280;
const H: u32 = 720;

/// One minute of pictures: a textured scene with a moving part and sensor noise.
fn encode_minute() -> Vec<(Vec<u8>, bool)> {
    let settings = EncoderSettings { fps: f64::from(FPS), idr_interval_frames: 2 * FPS, qp: 22 };
    let mut encoder = H264Encoder::new(W, H, settings).expect("encoder");
    let mut seed = 1u32;
    (0..60 * FPS)
        .map(|i| {
            let mut f = YuvFrame::filled(W, H, 100, 128, 128);
            let (y, _, _) = f.planes_mut();
            for (k, p) in y.iter_mut().enumerate() {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let (x, row) = ((k as u32) % W, (k as u32) / W);
                let texture = ((x / 16 + row / 16) % 2) as u8 * 60;
                let moving = u8::from(x.abs_diff((i * 8) % W) < 80 && row > 300 && row < 500) * 80;
                *p = 40u8
                    .saturating_add(texture)
                    .saturating_add(moving)
                    .saturating_add((seed >> 28) as u8 * u8::from(row < H / 2));
            }
            let p = encoder.encode(&f).expect("encode");
            (p.to_annex_b(), p.is_idr)
        })
        .collect()
}

fn cpu_s() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(u.ru_utime) + tv(u.ru_stime)
}

fn dir_bytes(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries.flatten().map(|e| e.metadata().map(|m| m.len()).unwrap_or(0)).sum()
}

fn packet(t_s: f64, (data, key): &(Vec<u8>, bool)) -> Packet {
    Packet { t_s, payload: Payload::H264 { annex_b: data.clone().into(), key: *key } }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds: u32 = std::env::args().nth(1).map_or(Ok(20), |s| s.parse())?;
    eprintln!("encoding one minute of {W}x{H} at {FPS} fps ...");
    let minute = encode_minute();
    let stream_bytes: usize = minute.iter().map(|(d, _)| d.len()).sum();
    println!("stream: {W}x{H} at {FPS} fps, {:.2} Mbit/s", stream_bytes as f64 * 8.0 / 60.0 / 1e6);

    let data = tempfile::tempdir()?;
    let store = SqliteStore::open(data.path()).await?;
    let dir = recordings_dir(data.path());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let recorders: Vec<Recorder> =
        (0..CAMERAS).map(|c| Recorder::spawn(&format!("cam{c}"), &dir, 60, tx.clone())).collect::<Result<_, _>>()?;
    let clip_recorder = Recorder::spawn("clipcam", &dir, 60, tx.clone())?;
    drop(tx);
    let limits = RecordingConfig::default();
    let index = tokio::spawn(catalog::run(
        store.clone(),
        dir.clone(),
        limits.clone(),
        rx,
        catalog::Failures::default(),
        sheetsight_base::clock::real(),
    ));
    let maker = ClipMaker::new(store.clone(), data.path(), limits);

    // 90 s of one camera, as fast as it goes, for the clip timing.
    let t0_ms = UnixMillis::now().0 - 3_600_000;
    for i in 0..90 * FPS as usize {
        let t_s = (t0_ms as f64 + i as f64 * 1000.0 / f64::from(FPS)) / 1000.0;
        clip_recorder.tap.packet(&packet(t_s, &minute[i % minute.len()]));
        if i % 64 == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    tokio::task::spawn_blocking(move || clip_recorder.join()).await?;

    // 16 cameras at their real pace.
    let taps: Vec<Arc<dyn PacketTap>> = recorders.iter().map(|r| r.tap.clone() as Arc<dyn PacketTap>).collect();
    let cpu_before = cpu_s();
    let started = Instant::now();
    let frames = minute.clone();
    let feeder = std::thread::spawn(move || {
        for i in 0..(seconds * FPS) as usize {
            let due = started + Duration::from_secs_f64(i as f64 / f64::from(FPS));
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let t_s = sheetsight_base::time::now_unix_s();
            for tap in &taps {
                tap.packet(&packet(t_s, &frames[i % frames.len()]));
            }
        }
    });
    // Meanwhile: how soon a clip holds the newest picture.
    let mut waits_ms = Vec::new();
    tokio::time::sleep(Duration::from_secs(3)).await;
    while !feeder.is_finished() {
        let sent = UnixMillis::now();
        let asked = Instant::now();
        loop {
            match maker.camera_clip("cam0", sent.plus_ms(-5_000), sent).await {
                Ok(c) if c.to.0 >= sent.0 - 1_000 / i64::from(FPS) => break,
                _ if asked.elapsed() > Duration::from_secs(10) => break,
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
        waits_ms.push(asked.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(1_500)).await;
    }
    feeder.join().map_err(|_| "feeder panicked")?;
    let cpu_recording = cpu_s() - cpu_before;
    for r in recorders {
        tokio::task::spawn_blocking(move || r.join()).await?;
    }
    index.await?;
    let written: u64 = (0..CAMERAS).map(|c| dir_bytes(&dir.join(format!("cam{c}")))).sum();
    let fed = (0..(seconds * FPS) as usize).map(|i| minute[i % minute.len()].0.len()).sum::<usize>();
    let sent_bytes = (fed * CAMERAS) as f64;
    println!(
        "recording {CAMERAS} cameras for {seconds} s: {:.3} % of one core per camera (CPU {:.2} s in all, the clip polling included)",
        cpu_recording / f64::from(seconds) / CAMERAS as f64 * 100.0,
        cpu_recording
    );
    println!(
        "bytes written: {:.4} times the stream's own ({written} vs {sent_bytes:.0}); {:.2} GB per camera-hour",
        written as f64 / sent_bytes,
        written as f64 / CAMERAS as f64 / f64::from(seconds) * 3600.0 / 1e9
    );
    waits_ms.sort_by(f64::total_cmp);
    if let Some(last) = waits_ms.last() {
        println!(
            "a picture sent is in a clip after: median {:.0} ms, max {last:.0} ms ({} tries)",
            waits_ms[waits_ms.len() / 2],
            waits_ms.len()
        );
    }
    let mut cut_ms = Vec::new();
    let mut size = 0;
    for k in 0..5 {
        let from = UnixMillis(t0_ms + 10_000 + k * 1_000);
        let started = Instant::now();
        let clip = maker.camera_clip("clipcam", from, from.plus_ms(60_000)).await?;
        cut_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        size = clip.bytes.len();
    }
    cut_ms.sort_by(f64::total_cmp);
    println!(
        "a 60 s clip ({:.1} MB) is cut in: median {:.0} ms, max {:.0} ms",
        size as f64 / 1e6,
        cut_ms[cut_ms.len() / 2],
        cut_ms[cut_ms.len() - 1]
    );
    store.close().await;
    Ok(())
}
