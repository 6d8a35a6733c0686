//! Peers for SheetSight's integration tests, started on loopback and stopped on drop.
//!
//! A test that needs an external program fails with a message naming the Debian
//! packages to install; it never skips silently (`.ci/run` installs them).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub mod browser;
pub mod event_log;
pub mod http_camera;
pub mod mosquitto;
pub mod postgres;
pub mod tls;

/// The Debian packages of the RTSP test server.
pub const GSTREAMER_PACKAGES: &str = "gstreamer1.0-rtsp gir1.2-gst-rtsp-server-1.0 gir1.2-gstreamer-1.0 python3-gi \
     gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad \
     gstreamer1.0-plugins-ugly";

/// A free TCP port on loopback (free when asked; tests bind it soon after).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port on loopback");
    listener.local_addr().expect("local address").port()
}

/// Polls `f` every 200 ms until it gives `Ok`, and returns that; after `timeout`,
/// panics with `what` and the last `Err` (what was seen instead).
pub async fn wait_for<T, F: std::future::Future<Output = Result<T, String>>>(
    what: &str,
    timeout: Duration,
    mut f: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match f().await {
            Ok(v) => return v,
            Err(seen) => assert!(Instant::now() < deadline, "timed out waiting for {what}; {seen}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Polls `f` every 200 ms until it is true; panics after `timeout`.
pub async fn wait_until<F: std::future::Future<Output = bool>>(
    what: &str,
    timeout: Duration,
    mut f: impl FnMut() -> F,
) {
    wait_for(what, timeout, || {
        let done = f();
        async move { if done.await { Ok(()) } else { Err("not yet".into()) } }
    })
    .await
}

/// Panics with the remedy unless `program` runs.
pub fn require_program(program: &str, args: &[&str], packages: &str) {
    let ok = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "this test needs `{program}`, which is missing or broken: install the Debian packages {packages} (.ci/run does)"
    );
}

/// The repository's `tests/support` folder.
pub fn support_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/support")
}

/// Writes a test video with `ffmpeg`: `seconds` of a moving test pattern, `codec_args`
/// e.g. `["-c:v", "libx264", "-profile:v", "high"]`.
pub fn make_video(path: &Path, width_px: u32, height_px: u32, fps: u32, seconds: u32, codec_args: &[&str]) {
    require_program("ffmpeg", &["-version"], "ffmpeg");
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size={width_px}x{height_px}:rate={fps}:duration={seconds}"))
        .args(codec_args)
        .args(["-pix_fmt", "yuv420p", "-an"])
        .arg(path)
        .status()
        .expect("run ffmpeg");
    assert!(status.success(), "ffmpeg could not write {}", path.display());
}

/// GStreamer's RTSP server (Debian's), serving files or test patterns as cameras.
pub struct RtspServer {
    child: Child,
    pub port: u16,
    args: Vec<String>,
}

impl RtspServer {
    /// Starts `tests/support/rtsp_server.py` on `port` with `mount=source` pairs.
    pub fn start(port: u16, mounts: &[(&str, String)], credentials: Option<(&str, &str)>) -> Self {
        require_program(
            "/usr/bin/python3",
            &["-c", "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer"],
            GSTREAMER_PACKAGES,
        );
        let mut args: Vec<String> = mounts.iter().map(|(m, s)| format!("{m}={s}")).collect();
        if let Some((user, password)) = credentials {
            args.extend(["--user".into(), user.into(), "--password".into(), password.into()]);
        }
        let child = Self::spawn(port, &args);
        Self { child, port, args }
    }

    fn spawn(port: u16, args: &[String]) -> Child {
        let mut child = Command::new("/usr/bin/python3")
            .arg(support_dir().join("rtsp_server.py"))
            .arg(port.to_string())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the RTSP server");
        let stdout = child.stdout.take().expect("server stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read from the RTSP server");
        assert_eq!(line.trim(), "ready", "the RTSP server did not start on port {port}");
        child
    }

    /// Kills the server (as a crash or a power cut would: no goodbye to clients).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port; returns when it listens.
    pub fn restart(&mut self) -> Instant {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            // The old socket may linger a moment.
            if TcpListener::bind(("127.0.0.1", self.port)).is_ok() || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child = Self::spawn(self.port, &self.args);
        Instant::now()
    }

    pub fn url(&self, mount: &str) -> String {
        format!("rtsp://127.0.0.1:{}/{mount}", self.port)
    }
}

impl Drop for RtspServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A small JPEG picture of a flat colour.
pub fn jpeg(width_px: u32, height_px: u32, shade: u8) -> Vec<u8> {
    let image =
        image::RgbImage::from_fn(width_px, height_px, |x, y| image::Rgb([shade, (x % 256) as u8, (y % 256) as u8]));
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Jpeg).expect("encode a JPEG");
    out.into_inner()
}

/// A simulated camera of the shop (`index` 0 or 1 of `shop_specs`),
/// written as H.264 by the simulator and then re-encoded by `ffmpeg` with
/// `codec_args` (e.g. a Main or High profile with B-frames), as an IP camera would send
/// it. Returns the scene, whose machines the configuration needs.
pub fn shop_camera_video(
    path: &Path,
    index: usize,
    (width_px, height_px): (u32, u32),
    seconds: f64,
    nuisances: sheetsight_sim::Nuisances,
    codec_args: &[&str],
) -> sheetsight_sim::Scene {
    require_program("ffmpeg", &["-version"], "ffmpeg");
    let specs = sheetsight_sim::shop_specs(width_px, height_px, 10.0, seconds, 11, nuisances);
    let (_, spec) = &specs[index];
    let scene = sheetsight_sim::Scene::generate(spec);
    let baseline = path.with_extension("baseline.mp4");
    sheetsight_sim::write_video(&scene, &baseline, |_, _| {}).expect("write the simulated video");
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(&baseline)
        .args(codec_args)
        .args(["-pix_fmt", "yuv420p", "-an"])
        .arg(path)
        .status()
        .expect("run ffmpeg");
    assert!(status.success(), "ffmpeg could not re-encode {}", baseline.display());
    let _ = std::fs::remove_file(&baseline);
    scene
}

/// The configuration of a simulated camera `camera` reading `source`.
pub fn camera_config_toml(camera: &str, source: &str, scene: &sheetsight_sim::Scene) -> String {
    let toml = sheetsight_sim::config_toml(&[(camera.to_string(), source.to_string(), scene)]);
    toml.lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("\n") + "\n"
}

/// `cameras` RTSP cameras on GStreamer's server, each streaming `video` (a simulated shop
/// camera showing `scene`), and the configuration of all of them (machine ids prefixed
/// with `cNN-` to stay unique) written to `config_path`.
pub fn rtsp_shop(video: &Path, scene: &sheetsight_sim::Scene, cameras: usize, config_path: &Path) -> RtspServer {
    let mounts: Vec<(String, String)> =
        (0..cameras).map(|i| (format!("cam{i:02}"), video.display().to_string())).collect();
    let mount_refs: Vec<(&str, String)> = mounts.iter().map(|(m, s)| (m.as_str(), s.clone())).collect();
    let server = RtspServer::start(free_port(), &mount_refs, None);
    let mut toml = String::new();
    for (i, (mount, _)) in mounts.iter().enumerate() {
        let cam_toml = camera_config_toml(mount, &server.url(mount), scene);
        toml += &cam_toml.replace("[[machine]]\nid = \"", &format!("[[machine]]\nid = \"c{i:02}-"));
    }
    std::fs::write(config_path, &toml).expect("write config");
    server
}

pub use fantoccini;
