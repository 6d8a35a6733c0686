//! Shared by the web, API and MQTT tests: the product binary started as a process (its
//! dashboard address read from its output), and an HTTP client that logs in.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use sheetsight_base::LockOrRecover;

pub const ADMIN_PASSWORD: &str = "test-admin-password";

pub fn sheetsight() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sheetsight"))
}

/// A running `sheetsight` with its web address; killed on drop.
pub struct Proc {
    pub child: Child,
    pub addr: SocketAddr,
    pub output: std::sync::Arc<std::sync::Mutex<String>>,
}

/// Reads `stream` line by line into `output`, sending the dashboard's address when a
/// line names it.
fn drain(
    stream: impl Read + Send + 'static,
    marker: &'static str,
    tx: mpsc::Sender<SocketAddr>,
    output: std::sync::Arc<std::sync::Mutex<String>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if let Some(rest) = line.split(marker).nth(1)
                && let Some(addr) = rest.trim_start_matches("http://").split('/').next()
                && let Ok(addr) = addr.parse()
            {
                let _ = tx.send(addr);
            }
            let mut out = output.lock_or_recover();
            out.push_str(&line);
            out.push('\n');
        }
    });
}

impl Proc {
    fn spawn(mut cmd: Command) -> Self {
        Self::spawn_as(cmd.env("SHEETSIGHT_ADMIN_PASSWORD", ADMIN_PASSWORD))
    }

    /// `sheetsight run CONFIG --listen 127.0.0.1:0` without `SHEETSIGHT_ADMIN_PASSWORD`.
    pub fn run_without_admin_password(config: &Path) -> Self {
        let mut cmd = sheetsight();
        cmd.arg("run").arg(config).args(["--listen", "127.0.0.1:0"]).env_remove("SHEETSIGHT_ADMIN_PASSWORD");
        Self::spawn_as(&mut cmd)
    }

    fn spawn_as(cmd: &mut Command) -> Self {
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start sheetsight");
        let (tx, rx) = mpsc::channel();
        let output = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        drain(child.stdout.take().expect("stdout"), "Dashboard: ", tx.clone(), output.clone());
        drain(child.stderr.take().expect("stderr"), "dashboard and API at ", tx, output.clone());
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                panic!("sheetsight did not print its dashboard address:\n{}", output.lock().expect("output"));
            }
        };
        Self { child, addr, output }
    }

    /// `sheetsight run CONFIG --listen 127.0.0.1:0`.
    pub fn run(config: &Path) -> Self {
        let mut cmd = sheetsight();
        cmd.arg("run").arg(config).args(["--listen", "127.0.0.1:0"]);
        Self::spawn(cmd)
    }

    /// [`Proc::run`] logging what `log_filter` (`SHEETSIGHT_LOG`) lets through.
    pub fn run_logging(config: &Path, log_filter: &str) -> Self {
        let mut cmd = sheetsight();
        cmd.arg("run").arg(config).args(["--listen", "127.0.0.1:0"]).env("SHEETSIGHT_LOG", log_filter);
        Self::spawn(cmd)
    }

    /// `sheetsight demo --plain --listen 127.0.0.1:0 --data-dir DATA` and `extra` arguments.
    pub fn demo(data: &Path, extra: &[&str]) -> Self {
        Self::demo_logging(data, extra, "warn")
    }

    /// [`Proc::demo`] logging what `log_filter` (`SHEETSIGHT_LOG`) lets through.
    pub fn demo_logging(data: &Path, extra: &[&str], log_filter: &str) -> Self {
        let mut cmd = sheetsight();
        cmd.args(["demo", "--plain", "--listen", "127.0.0.1:0", "--data-dir"]).arg(data).args(extra);
        cmd.env("SHEETSIGHT_LOG", log_filter);
        Self::spawn(cmd)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn output(&self) -> String {
        self.output.lock().map(|o| o.clone()).unwrap_or_default()
    }

    /// SIGTERM, then the exit code.
    pub fn terminate(mut self) -> Option<i32> {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        self.child.wait().ok().and_then(|s| s.code())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A synthetic shop of two looping 640x360 file cameras, with `extra` appended to its
/// configuration.
pub fn looping_shop(dir: &Path, extra: &str) -> PathBuf {
    let out = dir.to_str().expect("utf-8 path");
    let o = sheetsight()
        .args(["synth", "--out", out, "--minutes", "1", "--width", "640", "--height", "360", "--seed", "5"])
        .output()
        .expect("synth");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let config = dir.join("sheetsight.toml");
    let text = std::fs::read_to_string(&config).expect("config").replace("fps = 10\n", "fps = 10\nloop = true\n");
    std::fs::write(&config, format!("{text}\n{extra}")).expect("write config");
    config
}

/// An HTTP client with a cookie jar; `login` keeps the CSRF token for changes.
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub csrf: Option<String>,
    pub token: Option<String>,
}

impl Api {
    pub fn new(base: String) -> Self {
        let http = reqwest::Client::builder().cookie_store(true).build().expect("client");
        Self { http, base, csrf: None, token: None }
    }

    pub fn with_token(base: String, token: &str) -> Self {
        let mut api = Self::new(base);
        api.token = Some(token.to_string());
        api
    }

    pub async fn login(base: String, name: &str, password: &str) -> Self {
        let mut api = Self::new(base);
        let r = api.send("POST", "/api/v1/login", Some(serde_json::json!({"name": name, "password": password}))).await;
        assert_eq!(r.status(), 200, "login as {name}");
        let s: serde_json::Value = r.json().await.expect("session json");
        api.csrf = s["csrf"].as_str().map(String::from);
        api
    }

    pub async fn send(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> reqwest::Response {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(c) = &self.csrf {
            req = req.header("X-CSRF-Token", c);
        }
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.timeout(Duration::from_secs(30)).send().await.expect("request")
    }

    pub async fn json(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> (u16, serde_json::Value) {
        let r = self.send(method, path, body).await;
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
    }
}

/// A message as an MQTT subscriber got it.
#[derive(Clone, Debug)]
pub struct Got {
    pub topic: String,
    pub payload: Vec<u8>,
    pub retain: bool,
    /// Wall time of its arrival, ms since 1970.
    pub received_ms: u64,
}

pub type MqttLog = std::sync::Arc<std::sync::Mutex<Vec<Got>>>;

/// A subscriber to `filter` on the broker at `port`, subscribing again after every
/// reconnection. Needs a Tokio runtime.
pub fn mqtt_subscriber(port: u16, client_id: &str, filter: &str) -> MqttLog {
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
    let log: MqttLog = std::sync::Arc::default();
    let mut options = MqttOptions::new(client_id, "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(5));
    options.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut eventloop) = AsyncClient::new(options, 100);
    let sink = log.clone();
    let filter = filter.to_string();
    tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    let _ = client.subscribe(filter.clone(), QoS::AtLeastOnce).await;
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let received_ms = sheetsight_base::UnixMillis::now().as_u64_or_zero();
                    let got =
                        Got { topic: p.topic.clone(), payload: p.payload.to_vec(), retain: p.retain, received_ms };
                    sink.lock_or_recover().push(got);
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    log
}

/// Opens `url` (a page of the dashboard) in `browser` and logs in as `admin` through the
/// login form; a screenshot of the form to `form_shot` when given.
pub async fn log_in_as_admin(browser: &sheetsight_testkit::browser::Browser, url: &str, form_shot: Option<&Path>) {
    use sheetsight_testkit::fantoccini::Locator;
    let c = &browser.client;
    c.goto(url).await.expect("open the dashboard");
    browser
        .wait_for("the login form", Duration::from_secs(20), "return !document.getElementById('login').hidden")
        .await;
    if let Some(path) = form_shot {
        browser.screenshot(path).await;
    }
    c.find(Locator::Css("#login input[name=name]")).await.expect("name").send_keys("admin").await.expect("type");
    c.find(Locator::Css("#login input[name=password]"))
        .await
        .expect("pw")
        .send_keys(ADMIN_PASSWORD)
        .await
        .expect("type");
    c.find(Locator::Css("#login button")).await.expect("submit").click().await.expect("click");
}
