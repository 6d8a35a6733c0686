//! The live service's figures, against GStreamer's RTSP server on loopback:
//!
//! 1. decode cost: SheetSight's H.264 decoder and `ffmpeg -threads 1` on the same
//!    1280x720 10 fps stream, ms per frame and their ratio, measured in this run;
//! 2. N cameras (16 by default), 3 machines each, over RTSP: CPU % per camera, frames
//!    decoded against frames sent, frames dropped for lack of CPU;
//! 3. the server killed and restarted: seconds until every camera streams again;
//! 4. with `--soak-minutes M`: the process's memory each minute for M minutes.
//!
//! ```text
//! cargo run --release -p sheetsight-service --example live_bench -- --cameras 16 --seconds 60
//! ```
//! Needs `ffmpeg` and GStreamer's RTSP server (Debian packages; see `.ci/run`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use sheetsight_ingest::NetworkOpener;
use sheetsight_service::Service;
use sheetsight_sim::Nuisances;
use sheetsight_store::sqlite::SqliteStore;
use sheetsight_testkit::event_log::EventLog;
use sheetsight_testkit::{rtsp_shop, shop_camera_video};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 16)]
    cameras: usize,
    /// Seconds of streaming to measure.
    #[arg(long, default_value_t = 60.0)]
    seconds: f64,
    /// Also watch memory for this many minutes (the stream restarts at the end of its
    /// file, so the soak also goes through reconnections).
    #[arg(long, default_value_t = 0.0)]
    soak_minutes: f64,
}

fn cpu_s() -> f64 {
    // SAFETY: getrusage fills the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:").and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()))
        .unwrap_or(0)
}

/// ms per frame of SheetSight's decoder (one thread) over the whole file.
fn our_decode_ms(path: &std::path::Path) -> (f64, u64) {
    let mut source = sheetsight_media::open(path, 10.0).expect("open the video");
    let started = Instant::now();
    let mut frames = 0u64;
    while let Ok(Some(_)) = source.next_frame() {
        frames += 1;
    }
    (started.elapsed().as_secs_f64() * 1000.0 / frames.max(1) as f64, frames)
}

/// ms per frame of `ffmpeg -threads 1` decoding the same file to nothing.
fn ffmpeg_decode_ms(path: &std::path::Path, frames: u64) -> f64 {
    let started = Instant::now();
    let status = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-threads", "1", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .status()
        .expect("run ffmpeg");
    assert!(status.success());
    started.elapsed().as_secs_f64() * 1000.0 / frames.max(1) as f64
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let dir = tempfile::tempdir().expect("tempdir");
    let video = dir.path().join("camera.mp4");
    let file_s = args.seconds + 30.0;
    eprintln!("writing {file_s:.0} s of a simulated 1280x720 10 fps camera (H.264 Main, as IP cameras send) ...");
    // Sensor noise, light drift and people make the stream as costly to decode as a real one.
    let codec = ["-c:v", "libx264", "-profile:v", "main", "-bf", "0", "-g", "20"];
    let scene = shop_camera_video(&video, 0, (1280, 720), file_s, Nuisances::ALL, &codec);

    let (ours_ms, frames) = our_decode_ms(&video);
    let ffmpeg_ms = ffmpeg_decode_ms(&video, frames);
    println!("decode, one thread, 1280x720 H.264 Main ({frames} frames):");
    println!("  SheetSight (OpenH264)  {ours_ms:6.2} ms/frame");
    println!("  ffmpeg -threads 1      {ffmpeg_ms:6.2} ms/frame");
    println!("  ratio                  {:6.2}", ours_ms / ffmpeg_ms);

    let config_path = dir.path().join("bench.toml");
    let mut server = rtsp_shop(&video, &scene, args.cameras, &config_path);
    let config = sheetsight_config::load(&config_path).expect("config");
    let machines = config.machines.len();
    let store = Arc::new(SqliteStore::open(&config.storage.data_dir).await.expect("store"));
    let live = sheetsight_service::live_channel();
    let log = EventLog::spawn(live.subscribe());
    let rss_before = rss_kib();
    let started = Instant::now();
    let service =
        Service::start(&config, Arc::new(NetworkOpener), store.clone(), "bench", live, sheetsight_base::clock::real())
            .await
            .expect("service");
    let up_s =
        log.wait_all_streaming(started, args.cameras, Duration::from_secs(60)).await.expect("every camera streams");
    tokio::time::sleep(Duration::from_secs(3)).await;

    let snapshot = |service: &Service<SqliteStore>| service.statuses();
    let (cpu0, t0, stats0) = (cpu_s(), Instant::now(), snapshot(&service));
    tokio::time::sleep(Duration::from_secs_f64(args.seconds)).await;
    let (cpu1, wall_s, stats1) = (cpu_s(), t0.elapsed().as_secs_f64(), snapshot(&service));
    let cpu_percent = 100.0 * (cpu1 - cpu0) / wall_s;
    let delta = |f: fn(&sheetsight_service::CameraStatus) -> u64| -> Vec<u64> {
        stats0.iter().zip(&stats1).map(|(a, b)| f(b) - f(a)).collect()
    };
    let decoded = delta(|s| s.stats.frames_decoded);
    let analysed = delta(|s| s.stats.frames_analyzed);
    let stale = delta(|s| s.stats.frames_stale);
    let dropped = delta(|s| s.packets_dropped);
    let decode_ns = delta(|s| s.stats.decode_ns);
    let expected = (10.0 * wall_s).round() as u64;
    let min_decoded = decoded.iter().copied().min().unwrap_or(0);
    let service_decode_ms = decode_ns.iter().sum::<u64>() as f64 / 1e6 / decoded.iter().sum::<u64>().max(1) as f64;
    println!();
    println!(
        "{} cameras x 1280x720 H.264 10 fps over RTSP (TCP) from loopback, {machines} machines, {wall_s:.0} s:",
        args.cameras
    );
    println!("  all streaming after    {up_s:6.2} s");
    println!(
        "  CPU, whole process     {cpu_percent:6.1} % of one core ({:.0} % of the machine's {} cores)",
        cpu_percent / num_cores() as f64,
        num_cores()
    );
    println!("  CPU per camera         {:6.1} % of one core", cpu_percent / args.cameras as f64);
    println!("  decode in the service  {service_decode_ms:6.2} ms CPU/frame (ffmpeg -threads 1 alone: {ffmpeg_ms:.2})");
    println!(
        "  frames per camera      {min_decoded} to {} decoded of ~{expected} sent; {} analysed in all",
        decoded.iter().max().unwrap_or(&0),
        analysed.iter().sum::<u64>()
    );
    println!(
        "  dropped for lack of CPU {} packets dropped, {} frames too old to analyse",
        dropped.iter().sum::<u64>(),
        stale.iter().sum::<u64>()
    );
    println!(
        "  memory                 {} MiB resident ({:.1} MiB per camera above the {} MiB before)",
        rss_kib() / 1024,
        (rss_kib().saturating_sub(rss_before)) as f64 / 1024.0 / args.cameras as f64,
        rss_before / 1024
    );

    // The server dies and comes back.
    server.kill();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let ready = server.restart();
    let back_s = log.wait_all_streaming(ready, args.cameras, Duration::from_secs(60)).await;
    println!("  server restarted: every camera streaming again {:.2} s after it listens", back_s.unwrap_or(f64::NAN));

    if args.soak_minutes > 0.0 {
        println!();
        println!(
            "soak: {} cameras for {} minutes (each stream restarts at the end of its {file_s:.0} s file)",
            args.cameras, args.soak_minutes
        );
        println!("  minute  RSS MiB  per camera MiB  frames decoded");
        let soak_start = Instant::now();
        let mut minute = 0;
        while soak_start.elapsed().as_secs_f64() < args.soak_minutes * 60.0 {
            let frames: u64 = service.statuses().iter().map(|s| s.stats.frames_decoded).sum();
            let rss = rss_kib();
            println!(
                "  {minute:6}  {:7.1}  {:14.2}  {frames}",
                rss as f64 / 1024.0,
                rss as f64 / 1024.0 / args.cameras as f64
            );
            minute += 1;
            // The bench's own event log must not grow during the soak.
            log.clear();
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        let rss = rss_kib();
        println!("  {minute:6}  {:7.1}  {:14.2}", rss as f64 / 1024.0, rss as f64 / 1024.0 / args.cameras as f64);
    }
    let report = service.stop().await.expect("stop");
    println!("stored {} events in {} batches", report.writer.events_written, report.writer.batches);
}

fn num_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
