//! The live service's figures, against GStreamer's RTSP server on loopback:
//!
//! 1. decode cost: SheetSight's H.264 decoder and `ffmpeg -threads 1` on the same
//!    1280x720 10 fps stream, ms per frame and their ratio, measured in this run;
//! 2. N cameras (16 by default), 3 machines each, over RTSP: CPU % per camera, frames
//!    decoded against frames sent, frames dropped for lack of CPU;
//! 3. the server killed and restarted: seconds until every camera streams again;
//! 4. with `--soak-minutes M`: the process's memory each minute for M minutes;
//! 5. with `--record`: every camera also recorded (as received): the recorder threads'
//!    CPU per camera and the bytes written per camera-hour against the stream's own;
//! 6. with `--people`: every camera has a floor zone, and the built-in person detector
//!    looks at it once a second in the shared people workers (`--people-workers`,
//!    `--people-input-px`): looks answered and skipped, the people threads' CPU, and
//!    whether any lamp frame was dropped for it.
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
    /// Record every camera too.
    #[arg(long)]
    record: bool,
    /// Give every camera a zone over its floor: the built-in person detector runs on it
    /// at 1 fps in the shared people workers (`--people-workers` threads).
    #[arg(long)]
    people: bool,
    #[arg(long, default_value_t = 1)]
    people_workers: usize,
    /// The person model's input size with `--people`.
    #[arg(long, default_value_t = 416)]
    people_input_px: u32,
}

/// CPU seconds of this process's threads whose name starts with `prefix`.
fn threads_cpu_s(prefix: &str) -> f64 {
    // SAFETY: sysconf only reads its argument.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return 0.0 };
    tasks
        .flatten()
        .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.starts_with(prefix)))
        .filter_map(|t| std::fs::read_to_string(t.path().join("stat")).ok())
        .map(|stat| {
            // After the command name in parentheses: fields 14 and 15 are utime and stime.
            let rest = stat.rsplit_once(')').map_or("", |r| r.1);
            let f: Vec<&str> = rest.split_whitespace().collect();
            let field = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
            (field(11) + field(12)) / ticks
        })
        .sum()
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
    let mut config = sheetsight_config::load(&config_path).expect("config");
    for camera in &mut config.cameras {
        camera.record = args.record;
    }
    let machines = config.machines.len();
    let people = if args.people {
        for camera in &config.cameras {
            config.zones.push(sheetsight_config::ZoneConfig {
                id: format!("{}-floor", camera.id),
                camera: camera.id.clone(),
                roi_px: vec![[200.0, 450.0], [1080.0, 450.0], [1080.0, 700.0], [200.0, 700.0]],
                machine: None,
                kind: sheetsight_config::ZoneKind::Work,
            });
        }
        config.people.workers = args.people_workers;
        config.people.input_px = args.people_input_px;
        let detector = sheetsight_people::PersonDetector::builtin(config.people.input_px).expect("built-in model");
        let model = sheetsight_people::PeopleModel { detector, options: Default::default() };
        Some(sheetsight_service::PeoplePool::start(Arc::new(model), args.people_workers).expect("people workers"))
    } else {
        None
    };
    let store = Arc::new(SqliteStore::open(&config.storage.data_dir).await.expect("store"));
    let live = sheetsight_service::live_channel();
    let log = EventLog::spawn(live.subscribe());
    let rss_before = rss_kib();
    let started = Instant::now();
    let clocks = sheetsight_base::clock::real();
    let recording =
        sheetsight_record::Recording::start(&config, (*store).clone(), clocks.clone()).await.expect("recording");
    let recorders = recording.status_source();
    let service = Service::start_with_taps(
        &config,
        Arc::new(NetworkOpener),
        store.clone(),
        "bench",
        live,
        clocks,
        recording.taps(),
        people,
    )
    .await
    .expect("service");
    let up_s =
        log.wait_all_streaming(started, args.cameras, Duration::from_secs(60)).await.expect("every camera streams");
    tokio::time::sleep(Duration::from_secs(3)).await;

    let snapshot = |service: &Service<SqliteStore>| service.statuses();
    // What reaches the files: each picture and its record header.
    let header = sheetsight_media::segment::RECORD_HEADER_LEN;
    let written = || recorders.statuses().iter().map(|r| r.bytes_written + header * r.pictures_written).sum::<u64>();
    let received = || recorders.statuses().iter().map(|r| r.bytes_written).sum::<u64>();
    let (rec_cpu0, written0, received0) = (threads_cpu_s("rec-"), written(), received());
    let (cpu0, t0, stats0) = (cpu_s(), Instant::now(), snapshot(&service));
    let people_cpu0 = threads_cpu_s("people-");
    tokio::time::sleep(Duration::from_secs_f64(args.seconds)).await;
    let (cpu1, wall_s, stats1) = (cpu_s(), t0.elapsed().as_secs_f64(), snapshot(&service));
    let (rec_cpu_s, written_bytes, received_bytes) =
        (threads_cpu_s("rec-") - rec_cpu0, written() - written0, received() - received0);
    let cpu_percent = 100.0 * (cpu1 - cpu0) / wall_s;
    let delta = |f: fn(&sheetsight_service::CameraStatus) -> u64| -> Vec<u64> {
        stats0.iter().zip(&stats1).map(|(a, b)| f(b) - f(a)).collect()
    };
    let decoded = delta(|s| s.stats.frames_decoded);
    let analysed = delta(|s| s.stats.frames_analyzed);
    let stale = delta(|s| s.stats.frames_stale);
    let people_looks = delta(|s| s.stats.people_looks);
    let people_skipped = delta(|s| s.stats.people_skipped);
    let people_cpu_s = threads_cpu_s("people-") - people_cpu0;
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
    if args.people {
        println!(
            "  people (1 fps a camera) {} looks answered of {} due, {} skipped (previous look still pending); people threads {:.1} % of one core (input {} px, {} worker(s))",
            people_looks.iter().sum::<u64>(),
            (wall_s * args.cameras as f64).round(),
            people_skipped.iter().sum::<u64>(),
            100.0 * people_cpu_s / wall_s,
            args.people_input_px,
            args.people_workers
        );
    }
    if args.record {
        let stream_mbit_s = std::fs::metadata(&video).map(|m| m.len()).unwrap_or(0) as f64 * 8.0 / file_s / 1e6;
        let per_camera_hour = written_bytes as f64 / args.cameras as f64 / wall_s * 3600.0;
        println!(
            "  recording              {:6.3} % of one core per camera (the recorder threads), {:.2} GB per camera-hour written",
            100.0 * rec_cpu_s / wall_s / args.cameras as f64,
            per_camera_hour / 1e9
        );
        println!(
            "  recorded bytes         {:6.4} times the stream's own as received ({:.2} Mbit/s per camera; the MP4 file served: {stream_mbit_s:.2})",
            written_bytes as f64 / received_bytes.max(1) as f64,
            received_bytes as f64 * 8.0 / args.cameras as f64 / wall_s / 1e6
        );
    }
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
    recording.stop().await;
    println!("stored {} events in {} batches", report.writer.events_written, report.writer.batches);
}

fn num_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
