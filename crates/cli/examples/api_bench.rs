//! The API under load while the service analyses N cameras (16 by default):
//!
//! - the cameras: a simulated 1280x720 10 fps shop camera, H.264 Main, served N times by
//!   GStreamer's RTSP server on loopback, analysed by the service (3 machines each);
//! - the web server on its own single-threaded runtime, so that it uses one core at most;
//! - first a paced load of `--rate` requests per second (500 by default) for the
//!   overview with an API token, each request timed from when it was due;
//! - then `wrk` (Debian's) as fast as it can, for the throughput and its percentiles.
//!
//! ```text
//! cargo run --release -p sheetsight --example api_bench -- --cameras 16 --seconds 30
//! ```
//! Needs `ffmpeg`, `wrk` and GStreamer's RTSP server (Debian packages; see `.ci/run`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use sheetsight_ingest::NetworkOpener;
use sheetsight_server::{Server, ServerOptions};
use sheetsight_service::Service;
use sheetsight_sim::Nuisances;
use sheetsight_store::sqlite::SqliteStore;
use sheetsight_testkit::event_log::EventLog;
use sheetsight_testkit::{rtsp_shop, shop_camera_video};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 16)]
    cameras: usize,
    /// Seconds of load.
    #[arg(long, default_value_t = 30)]
    seconds: u32,
    /// Concurrent connections of wrk.
    #[arg(long, default_value_t = 16)]
    connections: u32,
    /// The paced load: requests per second, each timed from when it was due.
    #[arg(long, default_value_t = 500)]
    rate: u32,
}

/// Requests at a fixed `rate` for `seconds`, latencies measured from when each request
/// was due (a late request counts its wait), sorted; and the requests that failed.
async fn paced(url: &str, token: &str, rate: u32, seconds: u32) -> (Vec<f64>, usize) {
    let client = reqwest::Client::builder().pool_max_idle_per_host(64).build().expect("client");
    let start = tokio::time::Instant::now();
    let total = rate * seconds;
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let due = start + Duration::from_secs_f64(f64::from(i) / f64::from(rate));
        tokio::time::sleep_until(due).await;
        let request = client.get(url).bearer_auth(token).send();
        tasks.push(tokio::spawn(async move {
            let ok = match request.await {
                Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                Err(_) => false,
            };
            (due.elapsed().as_secs_f64() * 1000.0, ok)
        }));
    }
    let mut latencies = Vec::new();
    let mut failed = 0;
    for t in tasks {
        match t.await {
            Ok((ms, true)) => latencies.push(ms),
            _ => failed += 1,
        }
    }
    latencies.sort_by(f64::total_cmp);
    (latencies, failed)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted.get(((sorted.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(f64::NAN)
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    // `wrk -v` prints its version and exits with 1: check only that it runs.
    let wrk_runs = std::process::Command::new("wrk").arg("-v").output().is_ok();
    assert!(wrk_runs, "this benchmark needs `wrk`: apt-get install wrk");
    let dir = tempfile::tempdir().expect("tempdir");
    let video = dir.path().join("camera.mp4");
    let file_s = f64::from(args.seconds) + 60.0;
    eprintln!("writing {file_s:.0} s of a simulated 1280x720 10 fps camera ...");
    let codec = ["-c:v", "libx264", "-profile:v", "main", "-bf", "0", "-g", "20"];
    let scene = shop_camera_video(&video, 0, (1280, 720), file_s, Nuisances::ALL, &codec);
    let config_path = dir.path().join("bench.toml");
    let _rtsp = rtsp_shop(&video, &scene, args.cameras, &config_path);
    let config = sheetsight_config::load(&config_path).expect("config");
    let store = Arc::new(SqliteStore::open(&config.storage.data_dir).await.expect("store"));
    let live = sheetsight_service::live_channel();
    let log = EventLog::spawn(live.subscribe());
    let started = Instant::now();
    let service =
        Service::start(&config, Arc::new(NetworkOpener), store.clone(), "bench", live, sheetsight_base::clock::real())
            .await
            .expect("service");
    log.wait_all_streaming(started, args.cameras, Duration::from_secs(60)).await.expect("every camera streams");
    let token = format!("sst_{}", sheetsight_server::auth::random_hex(24).expect("random"));
    store
        .put_token(&sheetsight_server::auth::digest(&token), "bench", "viewer", sheetsight_store::UnixMillis::now())
        .await
        .expect("token");

    // The web server on one thread of its own.
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let options = ServerOptions {
        listen: "127.0.0.1:0".parse().expect("addr"),
        config: config.clone(),
        store: store.clone(),
        service: service.handle(),
        notices: sheetsight_server::notice_channel(),
        admin_password: None,
        recording: None,
        stations: None,
    };
    let web = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async move {
            let server = Server::start(options).await.expect("server");
            let _ = addr_tx.send(server.addr);
            let _ = stop_rx.await;
            server.stop().await;
        });
    });
    let addr = addr_rx.recv().expect("server address");
    tokio::time::sleep(Duration::from_secs(6)).await; // today's figures computed once

    let machines = config.machines.len();
    let url = format!("http://{addr}/api/v1/overview");
    let cpu0 = cpu_s();
    let (latencies, failed) = paced(&url, &token, args.rate, args.seconds).await;
    let cpu_percent = 100.0 * (cpu_s() - cpu0) / f64::from(args.seconds);
    println!(
        "GET /api/v1/overview ({machines} machines) at {} requests/s for {} s, {} cameras analysed, server on one thread:",
        args.rate, args.seconds, args.cameras
    );
    println!(
        "  {} answered, {failed} failed; latency from when due: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.9),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN)
    );
    println!("  CPU of this process (cameras, server, load client): {cpu_percent:.0} % of one core");
    println!();
    let cpu0 = cpu_s();
    let out = tokio::process::Command::new("wrk")
        .args(["-t1", &format!("-c{}", args.connections), &format!("-d{}s", args.seconds), "--latency"])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .arg(&url)
        .output()
        .await
        .expect("run wrk");
    let cpu_percent = 100.0 * (cpu_s() - cpu0) / f64::from(args.seconds);
    let report = String::from_utf8_lossy(&out.stdout);
    println!(
        "GET /api/v1/overview as fast as wrk can ({} connections), cameras analysed, server on one thread:",
        args.connections
    );
    println!("{report}");
    println!("CPU of the SheetSight process (cameras + server) during the load: {cpu_percent:.0} % of one core");
    let statuses = service.statuses();
    println!(
        "cameras during the load: {} packets dropped, {} frames too old to analyse",
        statuses.iter().map(|s| s.packets_dropped).sum::<u64>(),
        statuses.iter().map(|s| s.stats.frames_stale).sum::<u64>()
    );
    let _ = stop_tx.send(());
    let _ = web.join();
    service.stop().await.expect("stop");
}

fn cpu_s() -> f64 {
    // SAFETY: getrusage fills the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}
