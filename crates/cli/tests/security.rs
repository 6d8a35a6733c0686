//! A running `sheetsight run`, probed over real sockets as an attacker on the shop's LAN
//! would: camera secrets never reach an answer or a log line, a burst of bad logins does
//! not exhaust memory, the lockout holds per address and cannot be raced, log lines
//! cannot be forged, slow clients are cut off, files keep private modes, and the admin
//! rules (sessions end on a new password, one admin always stays) hold.
//!
//! Client addresses: Linux routes all of 127.0.0.0/8 to the loopback, so each test speaks
//! from addresses of its own (127.0.0.x) and the per-address limits are tested for real.

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::{ADMIN_PASSWORD, Api, Proc, looping_shop};
use serde_json::json;
use sheetsight_testkit::wait_until;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn loopback(last: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, last])
}

/// An HTTP client speaking from `from`.
fn client_from(from: IpAddr) -> reqwest::Client {
    reqwest::Client::builder().local_address(from).cookie_store(true).build().expect("client")
}

async fn login_from(proc: &Proc, from: IpAddr, name: &str, password: &str) -> (u16, String) {
    let r = client_from(from)
        .post(proc.url("/api/v1/login"))
        .json(&json!({"name": name, "password": password}))
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .expect("login request");
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS");
    line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("VmRSS value")
}

/// A configuration of one camera where nothing listens, with `extra` before it.
fn one_camera_shop(dir: &std::path::Path, extra: &str) -> std::path::PathBuf {
    let config = dir.join("sheetsight.toml");
    let camera =
        format!("[[camera]]\nid = \"door\"\nsource = \"rtsp://127.0.0.1:{}/live\"\n", sheetsight_testkit::free_port());
    std::fs::write(&config, format!("{extra}\n{camera}")).expect("config");
    config
}

/// A port that accepts a connection and closes it at once: an HTTP client's error then
/// quotes the whole URL, query included.
async fn slamming_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            drop(s);
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn camera_secrets_never_reach_an_answer_or_a_log_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let closed = sheetsight_testkit::free_port();
    let slam = slamming_port().await;
    // User names and passwords with `/ ? # @ %`, and secrets in query strings, for HTTP
    // and RTSP; written as a user would paste them.
    let cameras = [
        ("slash", format!("http://camuser:Pa/ssW0rd@127.0.0.1:{closed}/snap.jpg")),
        ("query", format!("http://127.0.0.1:{slam}/cgi-bin/snapshot.cgi?user=admin&password=Qu3ryS3cret")),
        ("encoded", format!("rtsp://op%40erator:p%23ss%2Fw0rd@127.0.0.1:{closed}/live?token=RtspT0ken")),
        ("hash", format!("rtsp://viewer:Ha#sh3d@127.0.0.1:{closed}/s1")),
        ("at", format!("http://watch:p@ss?w0rd@127.0.0.1:{slam}/snap.jpg?key=K3yQuery")),
    ];
    let secrets = [
        "Pa/ssW0rd",
        "camuser",
        "Qu3ryS3cret",
        "op%40erator",
        "op@erator",
        "p%23ss%2Fw0rd",
        "p#ss/w0rd",
        "RtspT0ken",
        "Ha#sh3d",
        "p@ss?w0rd",
        "K3yQuery",
    ];
    let mut text = String::new();
    for (id, url) in &cameras {
        text += &format!("[[camera]]\nid = \"{id}\"\nsource = \"{url}\"\nretry_max_s = 1\n\n");
    }
    let config = dir.path().join("sheetsight.toml");
    std::fs::write(&config, text).expect("config");
    let proc = Proc::run(&config);
    let api = Api::login(proc.url(""), "admin", ADMIN_PASSWORD).await;
    // Every camera has failed at least twice (the second failure goes through the
    // retry path too).
    wait_until("every camera's failure", Duration::from_secs(60), || async {
        let (_, cams) = api.json("GET", "/api/v1/cameras", None).await;
        cams.as_array().is_some_and(|c| {
            c.len() == cameras.len() && c.iter().all(|c| c["health"] == "failed" && c["detail"].is_string())
        })
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, cams) = api.json("GET", "/api/v1/cameras", None).await;
    let shown = cams.to_string();
    let output = proc.output();
    for secret in secrets {
        assert!(!shown.contains(secret), "`{secret}` reached GET /api/v1/cameras:\n{shown}");
        assert!(!output.contains(secret), "`{secret}` reached the log:\n{output}");
    }
    // The public forms still tell which camera is which.
    let source = |id: &str| cams.as_array().and_then(|c| c.iter().find(|c| c["id"] == id)).map(|c| c["source"].clone());
    assert_eq!(source("slash"), Some(json!(format!("http://127.0.0.1:{closed}/snap.jpg"))));
    assert_eq!(source("query"), Some(json!(format!("http://127.0.0.1:{slam}/cgi-bin/snapshot.cgi"))));
    assert_eq!(source("encoded"), Some(json!(format!("rtsp://127.0.0.1:{closed}/live"))));
    assert_eq!(proc.terminate(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_bad_logins_leaves_memory_bounded_and_is_refused_beyond_the_checks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = one_camera_shop(dir.path(), "");
    let proc = Proc::run(&config);
    let pid = proc.child.id();
    // One good login first, so that the process has done everything once.
    Api::login(proc.url(""), "admin", ADMIN_PASSWORD).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before_kib = resident_kib(pid);
    // 64 parallel bad logins from 8 addresses, on names that exist and names that do
    // not (both cost a full argon2 check).
    let started = Instant::now();
    let tries = (0..64u8).map(|i| {
        let proc = &proc;
        async move {
            let name = if i % 2 == 0 { "admin".to_string() } else { format!("nobody{i}") };
            login_from(proc, loopback(10 + i % 8), &name, "wrong-password-123").await.0
        }
    });
    let statuses = futures::future::join_all(tries).await;
    let burst_s = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after_kib = resident_kib(pid);
    let count = |s: u16| statuses.iter().filter(|&&x| x == s).count();
    let (checked, limited, busy) = (count(401), count(429), count(503));
    println!(
        "burst of 64 bad logins: resident {} MiB before, {} MiB after; answered in {burst_s:.2} s ({:.0} a second); \
         401: {checked}, 429: {limited}, 503: {busy}",
        before_kib / 1024,
        after_kib / 1024,
        64.0 / burst_s
    );
    assert_eq!(checked + limited + busy, 64, "{statuses:?}");
    assert!(limited + busy > 0, "logins beyond the checks must be refused, not queued without bound: {statuses:?}");
    // The bound: at most 4 password checks at once hold 19 MiB each; the rest is slack
    // for the allocator and the answers.
    const BOUND_MIB: u64 = 4 * 19 + 48;
    assert!(
        after_kib.saturating_sub(before_kib) < BOUND_MIB * 1024,
        "resident memory grew by {} MiB (bound {BOUND_MIB} MiB)",
        (after_kib - before_kib) / 1024
    );
    // The real admin still logs in from elsewhere.
    let (status, _) = login_from(&proc, loopback(9), "admin", ADMIN_PASSWORD).await;
    assert_eq!(status, 200);
    assert_eq!(proc.terminate(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_lockout_holds_per_address_cannot_be_raced_and_cannot_forge_log_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = one_camera_shop(dir.path(), "");
    let proc = Proc::run(&config);
    let attacker = loopback(20);
    // Sixteen simultaneous wrong passwords, the name in either case: ten pass the
    // address's rate, and of those no more than five reach the check.
    let tries =
        (0..16).map(|i| login_from(&proc, attacker, if i % 2 == 0 { "ADMIN" } else { "admin" }, "guess-guess-guess"));
    let all: Vec<u16> = futures::future::join_all(tries).await.into_iter().map(|(s, _)| s).collect();
    let checked = all.iter().filter(|&&s| s == 401).count();
    assert!(checked <= 5, "{checked} wrong passwords were checked: {all:?}");
    assert!(all.iter().all(|&s| s == 401 || s == 429), "{all:?}");
    // Locked for the attacker's address, also with the right password …
    assert_eq!(login_from(&proc, attacker, "admin", ADMIN_PASSWORD).await.0, 429);
    // … but not for the admin at another machine.
    assert_eq!(login_from(&proc, loopback(21), "admin", ADMIN_PASSWORD).await.0, 200);
    // Names that do not exist count for nothing: never locked.
    for _ in 0..8 {
        assert_eq!(login_from(&proc, loopback(22), "nobody", "guess-guess-guess").await.0, 401);
    }

    // Log injection: a newline or a terminal escape in a name is refused before it is
    // logged or counted, and a huge name is not written out.
    let before = proc.output().len();
    for (i, name) in
        ["admin\nFORGED login of `admin` succeeded", "admin\u{1b}[2J\u{1b}[H", "ad\rmin"].iter().enumerate()
    {
        let (status, body) = login_from(&proc, loopback(30 + i as u8), name, "guess-guess-guess").await;
        assert_eq!(status, 400, "{body}");
        assert!(!body.contains('\u{1b}'), "{body}");
    }
    let huge = "A".repeat(250_000);
    for i in 0..20u8 {
        let (status, body) = login_from(&proc, loopback(40 + i), &huge, "guess-guess-guess").await;
        assert_eq!(status, 400);
        assert!(body.len() < 1000, "the answer repeats the name: {} bytes", body.len());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let output = proc.output();
    let written = output.len() - before;
    assert!(written < 16 * 1024, "{written} bytes of log for 23 refused logins");
    assert!(!output.lines().any(|l| l.starts_with("FORGED")), "a forged log line:\n{output}");
    assert!(!output.contains("\u{1b}[2J"), "a terminal escape reached the log");
    assert_eq!(proc.terminate(), Some(0));
}

/// Reads until the server closes the connection; `None` if it is still open after `within`.
async fn closed_within(stream: &mut tokio::net::TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        let left = within.checked_sub(started.elapsed())?;
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
            Err(_) => return None,
        }
    }
}

async fn connect_from(from: IpAddr, to: std::net::SocketAddr) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.bind(std::net::SocketAddr::new(from, 0)).expect("bind");
    socket.connect(to).await.expect("connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_clients_are_cut_off_and_connections_are_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server =
        "[server]\nheader_timeout_s = 3\nidle_timeout_s = 4\nmax_connections = 64\nmax_connections_per_address = 8\n";
    let config = one_camera_shop(dir.path(), server);
    let proc = Proc::run(&config);
    let slow = loopback(50);
    // Eight connections from one address; a slowloris sends half a request on each.
    let mut held = Vec::new();
    for _ in 0..8 {
        let mut s = connect_from(slow, proc.addr).await;
        s.write_all(b"GET /api/v1/session HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.expect("write");
        held.push(s);
    }
    // The ninth from that address is closed at once; another address is served.
    let mut ninth = connect_from(slow, proc.addr).await;
    assert!(closed_within(&mut ninth, Duration::from_secs(2)).await.is_some(), "a ninth connection was kept");
    let (status, _) = login_from(&proc, loopback(51), "admin", ADMIN_PASSWORD).await;
    assert_eq!(status, 200, "another address is served meanwhile");
    // The half-sent requests are cut off by the header timeout.
    for s in &mut held {
        let closed = closed_within(s, Duration::from_secs(15)).await;
        assert!(closed.is_some(), "a slowloris connection is still open after 15 s");
    }
    // A body that stops coming: cut off when the connection falls silent.
    let mut stalled = connect_from(loopback(52), proc.addr).await;
    stalled
        .write_all(b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"na")
        .await
        .expect("write");
    let closed = closed_within(&mut stalled, Duration::from_secs(15)).await;
    assert!(closed.is_some(), "a stalled body kept its connection for 15 s");
    // An idle keep-alive connection, after a complete request, is closed too.
    let mut idle = connect_from(loopback(53), proc.addr).await;
    idle.write_all(b"GET /api/v1/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("write");
    assert!(closed_within(&mut idle, Duration::from_secs(15)).await.is_some(), "an idle connection stayed open");
    assert_eq!(proc.terminate(), Some(0));
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_regions_keep_the_file_private_and_the_data_folder_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    let dir = tempfile::tempdir().expect("tempdir");
    let door = format!(
        "[[camera]]\nid = \"door\"\nsource = \"rtsp://operator:door-pass@127.0.0.1:{}/live\"\n\n\
         [[machine]]\nid = \"door-press\"\ncamera = \"door\"\n\n[[machine.lamp]]\ncolor = \"red\"\nroi = [[10, 10], [30, 10], [30, 30], [10, 30]]\n",
        sheetsight_testkit::free_port()
    );
    let config = looping_shop(dir.path(), &door);
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let proc = Proc::run(&config);
    let api = Api::login(proc.url(""), "admin", ADMIN_PASSWORD).await;
    let data = dir.path().join("sheetsight-data");
    assert_eq!(mode(&data), 0o700, "the data folder");
    assert_eq!(mode(&data.join("history.db")), 0o600, "the history");

    // A camera that never sent a frame: its regions cannot be checked, so none are saved.
    let (_, door_regions) = api.json("GET", "/api/v1/cameras/door/regions", None).await;
    let (status, body) = api
        .json("PUT", "/api/v1/cameras/door/regions", Some(json!({"machines": door_regions["machines"].clone()})))
        .await;
    assert_eq!(status, 409, "{body}");

    // A camera that streams: saved, and the file stays 0600.
    wait_until("cam1's first frame", Duration::from_secs(30), || async {
        let (_, cams) = api.json("GET", "/api/v1/cameras", None).await;
        cams.as_array().is_some_and(|c| c.iter().any(|c| c["id"] == "cam1" && c["frame_width_px"].is_number()))
    })
    .await;
    let (_, regions) = api.json("GET", "/api/v1/cameras/cam1/regions", None).await;
    let (status, saved) =
        api.json("PUT", "/api/v1/cameras/cam1/regions", Some(json!({"machines": regions["machines"].clone()}))).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(mode(&config), 0o600, "the saved configuration");
    assert_eq!(mode(&config.with_extension("toml.bak")), 0o600, "its backup");
    assert_eq!(proc.terminate(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_sessions_tokens_and_queries_follow_the_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = one_camera_shop(dir.path(), "");
    let proc = Proc::run(&config);
    let admin = Api::login(proc.url(""), "admin", ADMIN_PASSWORD).await;
    let user = |name: &str, password: &str, role: &str| json!({"name": name, "password": password, "role": role});

    // Weak, overlong and name-like passwords are refused.
    for weak in ["          ", "aaaaaaaaaaaa", "ababababababab", "otto-otto-otto", &"Long-pass-1".repeat(20)] {
        let (status, body) = admin.json("POST", "/api/v1/users", Some(user("otto", weak, "operator"))).await;
        assert_eq!(status, 400, "`{weak}` was accepted: {body}");
    }
    let (status, _) = admin.json("POST", "/api/v1/users", Some(user("otto", "first-pass-of-otto", "operator"))).await;
    assert_eq!(status, 201);
    // `OTTO` is `otto`: one user, whose password changes, and whose sessions end.
    let otto = Api::login(proc.url(""), "otto", "first-pass-of-otto").await;
    assert_eq!(otto.json("GET", "/api/v1/session", None).await.0, 200);
    let (status, _) = admin.json("POST", "/api/v1/users", Some(user("OTTO", "second-pass-of-otto", "operator"))).await;
    assert_eq!(status, 201);
    let (_, users) = admin.json("GET", "/api/v1/users", None).await;
    let names: Vec<&str> = users.as_array().expect("users").iter().filter_map(|u| u["name"].as_str()).collect();
    assert_eq!(names, ["admin", "otto"]);
    assert_eq!(otto.json("GET", "/api/v1/session", None).await.0, 401, "the old session ended");
    Api::login(proc.url(""), "Otto", "second-pass-of-otto").await;

    // One admin always stays.
    let (status, body) = admin.json("POST", "/api/v1/users", Some(user("admin", ADMIN_PASSWORD, "viewer"))).await;
    assert_eq!(status, 409, "the last admin demoted: {body}");
    let (status, _) = admin.json("POST", "/api/v1/users", Some(user("boss", "pass-of-the-boss", "admin"))).await;
    assert_eq!(status, 201);
    let boss = Api::login(proc.url(""), "boss", "pass-of-the-boss").await;
    assert_eq!(boss.json("DELETE", "/api/v1/users/admin", None).await.0, 204);
    let (status, body) = boss.json("POST", "/api/v1/users", Some(user("boss", "pass-of-the-boss-2", "operator"))).await;
    assert_eq!(status, 409, "{body}");

    // Tokens: shown once and never cached; `bearer` in any case; a taken name says so
    // without database text.
    let r = boss.send("POST", "/api/v1/tokens", Some(json!({"name": "mes", "role": "viewer"}))).await;
    assert_eq!(r.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    let token: serde_json::Value = r.json().await.expect("token");
    let token = token["token"].as_str().expect("token").to_string();
    let (status, body) = boss.json("POST", "/api/v1/tokens", Some(json!({"name": "mes", "role": "viewer"}))).await;
    assert_eq!(status, 409);
    assert!(!body.to_string().to_lowercase().contains("unique"), "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("exists already")), "{body}");
    let r = reqwest::Client::new()
        .get(proc.url("/api/v1/machines"))
        .header("Authorization", format!("bearer {token}"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200, "a lowercase `bearer` scheme");

    // Queries: numbers as numbers, errors in the API's format, times bounded.
    assert_eq!(boss.json("GET", "/api/v1/alerts?limit=10", None).await.0, 200);
    let (status, body) = boss.json("GET", "/api/v1/alerts?limit=ten", None).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"].is_string(), "{body}");
    // A range whose length overflows i64 (it once wrapped negative and passed the
    // 400-day check).
    let (status, body) = boss.json("GET", &format!("/api/v1/alerts?from={}&to={}", i64::MIN, i64::MAX), None).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("between 1970 and 2100")), "{body}");
    assert_eq!(proc.terminate(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_on_the_same_data_folder_stops_before_it_touches_the_history() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = one_camera_shop(dir.path(), "");
    let first = Proc::run(&config);
    let mut second = common::sheetsight()
        .arg("run")
        .arg(&config)
        .args(["--listen", "127.0.0.1:0"])
        .env("SHEETSIGHT_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("second run");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = second.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = second.kill();
            let _ = second.wait();
            panic!("a second `run` on the same data folder was still running after 30 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut second.stderr.take().expect("stderr"), &mut err).expect("stderr");
    assert!(!status.success());
    assert!(err.contains("another SheetSight") && err.contains(&first.child.id().to_string()), "{err}");
    assert_eq!(first.terminate(), Some(0));
    // The first run ended as a stop, not a crash.
    let data = dir.path().join("sheetsight-data");
    let store = sheetsight_store::sqlite::SqliteStore::open(&data).await.expect("history");
    let runs = sheetsight_store::Store::runs(&store).await.expect("runs");
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].stop_reason.as_deref(), Some("stop"), "{runs:?}");
}
