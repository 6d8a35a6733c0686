//! The REST API of a running `sheetsight run`, over real HTTP: every route refuses the
//! roles it must refuse, the OpenAPI document matches the routes and the answers, bad
//! requests get clear 4xx errors, credentials never leak, an external system marks jobs
//! and reasons with a token, alerts reach a webhook (retried) and are acknowledged, and
//! edited regions are saved into the configuration file with its comments.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::{ADMIN_PASSWORD, Api, Proc, looping_shop};
use serde_json::{Value, json};
use sheetsight_server::auth::Role;
use sheetsight_server::routes::ROUTES;
use sheetsight_testkit::wait_until;

const SECRET: &str = "s3cret-pass";

/// A camera with credentials in its URL, on a port where nothing listens.
fn door_camera(port: u16) -> String {
    format!("[[camera]]\nid = \"door\"\nsource = \"rtsp://operator:{SECRET}@127.0.0.1:{port}/live\"\n")
}

fn path_for(route: &str) -> String {
    let id = if route.starts_with("/api/v1/cameras/") {
        "cam1"
    } else if route.starts_with("/api/v1/stations/") {
        STATION
    } else if route.starts_with("/api/v1/inspections/") {
        "1"
    } else {
        "brake-1"
    };
    route
        .replace("{id}/ack", "999999/ack")
        .replace("{id}", id)
        .replace("{name}", "nobody")
        .replace("{file}", "app.js")
        .replace("{part}", "BR-1042")
        .replace("{revision}", "A")
}

/// The shop's inspection table (its camera and calibration are not there: it says so).
const STATION: &str = "table-1";
const STATION_CONFIG: &str =
    "\n[[station]]\nid = \"table-1\"\nsource = \"http://127.0.0.1:9/snapshot.jpg\"\ncalibration = \"table.json\"\n";

// ---- a small JSON Schema check (the subset the document uses) --------------------

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap_or_default();
            &doc["components"]["schemas"][name]
        }
        None => schema,
    }
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        _ => false,
    }
}

fn check(doc: &Value, schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            check(doc, s, v, at, errors);
        }
    }
    if let Some(one) = schema.get("oneOf").and_then(Value::as_array) {
        let fits = one.iter().filter(|s| {
            let mut e = Vec::new();
            check(doc, s, v, at, &mut e);
            e.is_empty()
        });
        if fits.count() == 0 {
            errors.push(format!("{at}: {v} fits none of oneOf"));
        }
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array)
        && !values.contains(v)
    {
        errors.push(format!("{at}: {v} not in {values:?}"));
    }
    match schema.get("type") {
        Some(Value::String(t)) if !type_ok(t, v) => errors.push(format!("{at}: {v} is not {t}")),
        Some(Value::Array(ts)) if !ts.iter().filter_map(Value::as_str).any(|t| type_ok(t, v)) => {
            errors.push(format!("{at}: {v} is none of {ts:?}"))
        }
        _ => {}
    }
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for r in required.iter().filter_map(Value::as_str) {
            if v.get(r).is_none() {
                errors.push(format!("{at}: `{r}` is missing"));
            }
        }
    }
    if let (Some(props), Some(obj)) = (schema.get("properties").and_then(Value::as_object), v.as_object()) {
        for (k, s) in props {
            if let Some(x) = obj.get(k) {
                check(doc, s, x, &format!("{at}.{k}"), errors);
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, x) in arr.iter().enumerate().take(20) {
            check(doc, items, x, &format!("{at}[{i}]"), errors);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_openapi_errors_and_secrets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = looping_shop(dir.path(), &(door_camera(sheetsight_testkit::free_port()) + STATION_CONFIG));
    let proc = Proc::run(&config);
    let base = proc.url("");
    let admin = Api::login(base.clone(), "admin", ADMIN_PASSWORD).await;
    for (name, role) in [("vera", "viewer"), ("otto", "operator")] {
        let (status, _) = admin
            .json("POST", "/api/v1/users", Some(json!({"name": name, "password": "password-of-a-test", "role": role})))
            .await;
        assert_eq!(status, 201, "create {name}");
    }
    let viewer = Api::login(base.clone(), "vera", "password-of-a-test").await;
    let operator = Api::login(base.clone(), "otto", "password-of-a-test").await;
    let anonymous = Api::new(base.clone());
    wait_until("an analysed frame of cam1", Duration::from_secs(60), || async {
        admin.send("GET", "/api/v1/cameras/cam1/snapshot.jpg", None).await.status() == 200
    })
    .await;

    // Every route refuses exactly the roles below its own.
    let clients = [
        (None, &anonymous),
        (Some(Role::Viewer), &viewer),
        (Some(Role::Operator), &operator),
        (Some(Role::Admin), &admin),
    ];
    for route in ROUTES.iter().filter(|r| r.path != "/api/v1/logout") {
        let path = path_for(route.path);
        for (role, client) in &clients {
            let status = client.send(route.method, &path, None).await.status().as_u16();
            let allowed = match (route.role, role) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(needed), Some(have)) => have >= &needed,
            };
            let who = role.map_or("anonymous", Role::as_str);
            if allowed {
                assert!(![401, 403].contains(&status), "{} {path} as {who}: {status}", route.method);
            } else {
                let expected = if role.is_none() { 401 } else { 403 };
                assert_eq!(status, expected, "{} {path} as {who} must be refused", route.method);
            }
        }
    }
    // A session's change without the CSRF token is refused; a token needs none.
    let mut no_csrf = Api::login(base.clone(), "otto", "password-of-a-test").await;
    no_csrf.csrf = None;
    let (status, body) = no_csrf.json("POST", "/api/v1/machines/brake-1/job", Some(json!({"job": "A-1"}))).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"]["message"].as_str().unwrap_or_default().contains("X-CSRF-Token"), "{body}");
    let (status, created) =
        admin.json("POST", "/api/v1/tokens", Some(json!({"name": "mes", "role": "operator"}))).await;
    assert_eq!(status, 201, "{created}");
    let mes = Api::with_token(base.clone(), created["token"].as_str().expect("token"));
    let (status, note) = mes.json("POST", "/api/v1/machines/brake-1/job", Some(json!({"job": "ORDER-4711"}))).await;
    assert_eq!(status, 201, "{note}");
    assert_eq!(note["author"], "token:mes");
    let (_, overview) = viewer.json("GET", "/api/v1/overview", None).await;
    let brake1 = overview["machines"].as_array().expect("machines").iter().find(|m| m["id"] == "brake-1").cloned();
    assert_eq!(brake1.expect("brake-1")["job"], "ORDER-4711", "the job shows in the overview");
    let (status, body) = mes
        .json(
            "POST",
            "/api/v1/machines/brake-1/reason",
            Some(json!({"start": "2026-01-01T00:00:00Z", "reason": "Coffee"})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"].as_str().unwrap_or_default().contains("Tool change"), "{body}");
    let (status, _) = mes
        .json(
            "POST",
            "/api/v1/machines/brake-1/reason",
            Some(json!({"start": 1_700_000_000_000i64, "reason": "Tool change"})),
        )
        .await;
    assert_eq!(status, 201);
    let bad = Api::with_token(base.clone(), "sst_not-a-token");
    assert_eq!(bad.send("GET", "/api/v1/overview", None).await.status(), 401);
    assert_eq!(bad.send("GET", "/api/v1/openapi.json", None).await.status(), 200, "public routes ignore tokens");

    // The OpenAPI document describes exactly the served routes, and real answers fit it.
    let (status, doc) = anonymous.json("GET", "/api/v1/openapi.json", None).await;
    assert_eq!(status, 200);
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(p, ops)| ops.as_object().into_iter().flatten().map(move |(m, _)| (m.to_uppercase(), p.clone())))
        .collect();
    // Asked of the running server: every documented operation is routed (answered by
    // its handler, not refused as an unknown route or method).
    let unrouted = |status: u16, body: &Value| {
        // The words of the authorisation's refusal and of the router's fallback.
        let refused = |m: &str| m == "no such route" || m.starts_with("no such page or API route");
        status == 405 || body["error"]["message"].as_str().is_some_and(refused)
    };
    for (method, path) in &documented {
        // Logging out ends the session that sends it: a throwaway one does.
        let throwaway;
        let client = if path == "/api/v1/logout" {
            throwaway = Api::login(base.clone(), "vera", "password-of-a-test").await;
            &throwaway
        } else {
            &admin
        };
        let r = client.send(method, &path_for(path), None).await;
        let status = r.status().as_u16();
        let body: Value = if path.ends_with("mjpeg") || path.ends_with("events") {
            Value::Null
        } else {
            serde_json::from_slice(&r.bytes().await.unwrap_or_default()).unwrap_or(Value::Null)
        };
        assert!(!unrouted(status, &body), "documented {method} {path} is not served: {status} {body}");
    }
    assert_eq!(documented.len(), ROUTES.len(), "each route once in the document");
    let mut errors = Vec::new();
    // A stored inspection's route is checked where inspections are made (tests/station.rs).
    for route in ROUTES.iter().filter(|r| r.method == "GET" && r.path != "/api/v1/inspections/{id}") {
        let op = &doc["paths"][route.path]["get"];
        let Some(schema) = op["responses"]["200"]["content"]["application/json"].get("schema") else { continue };
        let path = path_for(route.path);
        let (status, body) = admin.json("GET", &path, None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        check(&doc, schema, &body, &path, &mut errors);
    }
    let (status, body) = admin.json("GET", "/api/v1/nothing-here", None).await;
    assert_eq!(status, 404);
    check(&doc, &json!({"$ref": "#/components/schemas/Error"}), &body, "404", &mut errors);
    assert!(errors.is_empty(), "answers that do not fit the document:\n{}", errors.join("\n"));

    // The shift's strokes per hour add up to its strokes (on a machine that has some).
    let stroking = std::cell::RefCell::new(String::new());
    wait_until("strokes in the history", Duration::from_secs(60), || async {
        let (_, o) = viewer.json("GET", "/api/v1/overview", None).await;
        let found =
            o["machines"].as_array().into_iter().flatten().find(|m| m["strokes_today"].as_u64().unwrap_or(0) > 0);
        if let Some(id) = found.and_then(|m| m["id"].as_str()) {
            *stroking.borrow_mut() = id.to_string();
        }
        found.is_some()
    })
    .await;
    let machine = stroking.into_inner();
    let (_, figures) = viewer.json("GET", &format!("/api/v1/machines/{machine}/shift?min_minutes=0"), None).await;
    let by_hour: u64 =
        figures["strokes_by_hour"].as_array().expect("hours").iter().filter_map(|h| h["strokes"].as_u64()).sum();
    assert!(by_hour > 0, "{figures}");
    assert_eq!(Some(by_hour), figures["strokes"].as_u64(), "{figures}");

    // Bad requests: 4xx with a message that names what is wrong.
    for (path, status, words) in [
        ("/api/v1/machines/brake-1/timeline?from=yesterday", 400, "`from`"),
        ("/api/v1/machines/brake-1/stops?limit=0", 400, "`limit`"),
        ("/api/v1/machines/brake-1/timeline?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", 400, "before"),
        ("/api/v1/machines/brake-9", 404, "brake-1"),
        ("/api/v1/cameras/cam9/regions", 404, "cam1"),
        ("/api/v1/report?format=xml", 400, "csv"),
        ("/api/v1/machines/brake-1/shift?date=29.11.2026", 400, "YYYY-MM-DD"),
        ("/api/v1/machines/brake-1/shift?min_minutes=-1", 400, "`min_minutes`"),
    ] {
        let (got, body) = viewer.json("GET", path, None).await;
        assert_eq!(got, status, "{path}: {body}");
        assert!(body["error"]["message"].as_str().unwrap_or_default().contains(words), "{path}: {body}");
    }
    let huge = "x".repeat(400_000);
    let r = operator.send("POST", "/api/v1/machines/brake-1/job", Some(json!({ "job": huge }))).await;
    assert_eq!(r.status(), 413, "an oversized upload is refused");
    let r = operator
        .http
        .post(format!("{base}/api/v1/machines/brake-1/job"))
        .header("X-CSRF-Token", operator.csrf.clone().unwrap_or_default())
        .header("Content-Type", "application/json")
        .body("{\"job\": ")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.expect("an error in the API's format");
    assert!(body["error"]["message"].as_str().unwrap_or_default().contains("request body"), "{body}");

    // The camera with credentials: its password is in no answer, stream or metric.
    wait_until("the door camera's failure", Duration::from_secs(30), || async {
        let (_, cams) = admin.json("GET", "/api/v1/cameras", None).await;
        cams.as_array().is_some_and(|c| c.iter().any(|c| c["id"] == "door" && c["health"] != "connecting"))
    })
    .await;
    let mut seen = String::new();
    for route in ROUTES.iter().filter(|r| r.method == "GET" && !r.path.contains("mjpeg") && !r.path.contains("events"))
    {
        let r = admin.send("GET", &path_for(route.path), None).await;
        seen += &String::from_utf8_lossy(&r.bytes().await.unwrap_or_default());
    }
    for path in ["/api/v1/cameras/door/regions", "/api/v1/cameras/door/snapshot.jpg"] {
        seen += &admin.send("GET", path, None).await.text().await.unwrap_or_default();
    }
    let mut events = admin.send("GET", "/api/v1/events", None).await;
    let until = Instant::now() + Duration::from_secs(3);
    while let Ok(Ok(Some(chunk))) =
        tokio::time::timeout(until.saturating_duration_since(Instant::now()), events.chunk()).await
    {
        seen += &String::from_utf8_lossy(&chunk);
    }
    assert!(seen.contains("door") && seen.contains("rtsp://127.0.0.1:"), "the door camera is listed");
    for needle in [SECRET, "operator:"] {
        if let Some(at) = seen.find(needle) {
            panic!("a credential leaked: …{}…", &seen[at.saturating_sub(200)..(at + 100).min(seen.len())]);
        }
    }
    assert!(!proc.output().contains(SECRET), "a credential reached the log");

    // Logging out ends the session.
    let (status, _) = viewer.json("POST", "/api/v1/logout", None).await;
    assert_eq!(status, 204);
    assert_eq!(viewer.send("GET", "/api/v1/overview", None).await.status(), 401);
    assert_eq!(proc.terminate(), Some(0));
}

/// A webhook receiver that answers 500 to the first POST and 200 to the rest.
/// A received request: its target (path and query), the status answered, its JSON body.
type Received = (String, u16, Value);

/// An HTTP receiver on loopback: every POST's target and JSON body go to the channel,
/// answered with `answer(n, target)` (the n-th request from 1: status and JSON body).
async fn receiver(
    answer: impl Fn(usize, &str) -> (u16, &'static str) + Send + 'static,
) -> (u16, tokio::sync::mpsc::UnboundedReceiver<Received>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let request = loop {
                let Ok(k) = s.read(&mut chunk).await else { break None };
                if k == 0 {
                    break None;
                }
                buf.extend_from_slice(&chunk[..k]);
                let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
                let head = String::from_utf8_lossy(&buf[..end]).to_string();
                let len = head
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    let target = head.split_whitespace().nth(1).unwrap_or_default().to_string();
                    break Some((target, String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).to_string()));
                }
            };
            n += 1;
            let target = request.as_ref().map_or("", |r| r.0.as_str()).to_string();
            let (status, body) = answer(n, &target);
            let _ = s
                .write_all(
                    format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                )
                .await;
            if let Some((target, body)) = request {
                let _ = tx.send((target, status, serde_json::from_str(&body).unwrap_or(Value::Null)));
            }
        }
    });
    (port, rx)
}

/// The next `n` requests a receiver got, each within 20 s.
async fn receive(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Received>, n: usize, what: &str) -> Vec<Received> {
    let mut calls: Vec<Received> = Vec::new();
    while calls.len() < n {
        let call = tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .unwrap_or_else(|_| panic!("{what}: {calls:?}"))
            .expect("call");
        calls.push(call);
    }
    calls
}

/// Checks the robots' calls of one raised and acknowledged `door` alert: the target,
/// the exact body shape, the Chinese text, and the signatures recomputed here from the
/// apps' published algorithms.
fn check_robot_calls(calls: &[Received]) {
    use sheetsight_server::chat_robots::{dingtalk_sign, feishu_sign};
    let now_ms = sheetsight_base::time::UnixMillis::now().as_i64();
    for app in ["wecom", "dingtalk", "feishu"] {
        let mine: Vec<&Received> = calls.iter().filter(|c| c.0.starts_with(&format!("/{app}/"))).collect();
        assert_eq!(mine.len(), 2, "{app}: {calls:?}");
        for ((target, _, body), change) in mine.iter().zip(["告警", "告警已确认"]) {
            let text = match app {
                "wecom" => {
                    assert_eq!(target, "/wecom/send?key=k1");
                    assert_eq!(body["msgtype"], "markdown", "{body}");
                    assert_eq!(body.as_object().map(|o| o.len()), Some(2), "{body}");
                    body["markdown"]["content"].as_str().expect("content").to_string()
                }
                "dingtalk" => {
                    let (path, query) = target.split_once('?').expect("query");
                    assert_eq!(path, "/dingtalk/robot/send");
                    let q: std::collections::HashMap<String, String> =
                        url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
                    assert_eq!(q["access_token"], "t1");
                    let ts: i64 = q["timestamp"].parse().expect("timestamp in ms");
                    assert!((now_ms - ts).abs() < 3_600_000, "DingTalk refuses timestamps over an hour off: {ts}");
                    assert_eq!(q["sign"], dingtalk_sign("SECdingtalk-secret", ts), "{target}");
                    assert_eq!(body["msgtype"], "markdown", "{body}");
                    assert!(body["markdown"]["title"].as_str().is_some_and(|t| t.contains(change)), "{body}");
                    body["markdown"]["text"].as_str().expect("text").to_string()
                }
                _ => {
                    assert_eq!(target, "/feishu/hook/h1");
                    assert_eq!(body["msg_type"], "text", "{body}");
                    let ts: i64 = body["timestamp"].as_str().expect("timestamp string").parse().expect("seconds");
                    assert!((now_ms / 1000 - ts).abs() < 3600, "{body}");
                    assert_eq!(body["sign"], feishu_sign("feishu-secret", ts), "{body}");
                    body["content"]["text"].as_str().expect("text").to_string()
                }
            };
            assert!(text.contains(&format!("SheetSight {change}")), "{app}: {text}");
            assert!(text.contains("摄像头 door 已断开超过"), "{app}: {text}");
        }
        let acked = mine[1].2.to_string();
        assert!(acked.contains("确认人：admin"), "{app}: {acked}");
    }
}

/// Checks the robots' calls of one summary in Chinese: WeCom's Markdown then its picture
/// (Base64 of a PNG and the MD5 of the PNG, as WeCom checks it), DingTalk's signed
/// Markdown, Feishu's signed text; each names every machine.
fn check_summary_calls(calls: &[Received], machines: &[String]) {
    use md5::Digest;
    let of =
        |app: &str| calls.iter().filter(|c| c.0.starts_with(&format!("/{app}/"))).map(|c| &c.2).collect::<Vec<_>>();
    let wecom = of("wecom");
    assert_eq!(wecom.len(), 2, "{calls:?}");
    let text = wecom[0]["markdown"]["content"].as_str().expect("markdown").to_string();
    assert_eq!(wecom[1]["msgtype"], "image", "the picture after the text: {}", wecom[1]);
    let png = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        wecom[1]["image"]["base64"].as_str().expect("b64"),
    )
    .expect("base64");
    let md5: String = md5::Md5::digest(&png).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(wecom[1]["image"]["md5"], md5.as_str());
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    let dingtalk = of("dingtalk");
    assert_eq!(dingtalk.len(), 1, "{calls:?}");
    let feishu = of("feishu");
    assert_eq!(feishu.len(), 1, "{calls:?}");
    assert!(feishu[0]["sign"].is_string(), "signed: {}", feishu[0]);
    for text in [
        text,
        dingtalk[0]["markdown"]["text"].as_str().expect("md").into(),
        feishu[0]["content"]["text"].as_str().expect("t").into(),
    ] {
        assert!(text.contains("SheetSight 生产汇总"), "{text}");
        assert!(text.contains("开动率") && text.contains("全部设备"), "{text}");
        for m in machines {
            assert!(text.contains(m.as_str()), "{m} in {text}");
        }
    }
}

/// The generic webhook: refuses the first call (500), takes the others.
async fn webhook() -> (u16, tokio::sync::mpsc::UnboundedReceiver<Received>) {
    receiver(|n, _| if n == 1 { (500, "{}") } else { (200, "{}") }).await
}

/// The three apps' group robots, answering as each does.
async fn robots() -> (u16, tokio::sync::mpsc::UnboundedReceiver<Received>) {
    receiver(|_, target| {
        if target.starts_with("/feishu") {
            (200, r#"{"code":0,"msg":"success","data":{}}"#)
        } else {
            (200, r#"{"errcode":0,"errmsg":"ok"}"#)
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_reach_the_webhook_and_regions_are_saved_into_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (hook_port, mut hooks) = webhook().await;
    let (robot_port, mut robot_calls) = robots().await;
    let robot = format!("http://127.0.0.1:{robot_port}");
    let extra = format!(
        "{}\n[alerts]\nwebhook = \"http://127.0.0.1:{hook_port}/hook\"\nlanguage = \"zh\"\n\
         wecom = \"{robot}/wecom/send?key=k1\"\ndingtalk = \"{robot}/dingtalk/robot/send?access_token=t1\"\n\
         dingtalk_secret = \"SECdingtalk-secret\"\nfeishu = \"{robot}/feishu/hook/h1\"\nfeishu_secret = \"feishu-secret\"\n\
         summary_at = [\"20:00\", \"08:00\"]\n\n\
         [[alert]]\nname = \"door-down\"\nwhen = \"camera_down\"\ncameras = [\"door\"]\nminutes = 0.02\n",
        door_camera(sheetsight_testkit::free_port())
    );
    let config = looping_shop(dir.path(), &extra);
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(&config, format!("# The shop's own notes: this comment must survive an edit.\n{text}"))
        .expect("config");
    let proc = Proc::run(&config);
    let base = proc.url("");
    let admin = Api::login(base.clone(), "admin", ADMIN_PASSWORD).await;

    // The alert is raised, POSTed (the first attempt fails and is retried), acknowledged.
    let (_, status, first) =
        tokio::time::timeout(Duration::from_secs(30), hooks.recv()).await.expect("a webhook call").expect("body");
    assert_eq!(status, 500);
    let (_, status, second) =
        tokio::time::timeout(Duration::from_secs(10), hooks.recv()).await.expect("a retry").expect("body");
    assert_eq!(status, 200);
    assert_eq!(first, second, "the retry carries the same alert");
    assert_eq!(second["type"], "alert");
    assert_eq!(second["change"], "raised");
    assert_eq!(second["alert"]["subject"], "door");
    let id = second["alert"]["id"].as_i64().expect("alert id");
    let (_, open) = admin.json("GET", "/api/v1/alerts?open=true", None).await;
    assert!(open["items"].as_array().expect("items").iter().any(|a| a["id"] == id), "{open}");
    let (status, acked) = admin.json("POST", &format!("/api/v1/alerts/{id}/ack"), None).await;
    assert_eq!(status, 200, "{acked}");
    assert_eq!(acked["acked_by"], "admin");
    let (status, _) = admin.json("POST", &format!("/api/v1/alerts/{id}/ack"), None).await;
    assert_eq!(status, 409);
    let (_, open) = admin.json("GET", "/api/v1/alerts?open=true", None).await;
    assert!(!open["items"].as_array().expect("items").iter().any(|a| a["id"] == id), "{open}");
    // The raising and the acknowledgement reached each group robot in its own format,
    // in Chinese, signed as DingTalk and Feishu check it.
    let calls = receive(&mut robot_calls, 6, "robot calls").await;
    check_robot_calls(&calls);

    // The shift summary, sent now: each robot in its format (WeCom also gets the chart as
    // a picture with its MD5), the webhook the figures and the PNG.
    let now = chrono::Utc::now();
    let period = json!({"from": (now - chrono::Duration::minutes(30)).to_rfc3339(), "to": now.to_rfc3339()});
    let (status, sent) = admin.json("POST", "/api/v1/summary/send", Some(period)).await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["robots"], json!(["wecom", "dingtalk", "feishu"]), "{sent}");
    let machines: Vec<String> = sent["machines"]
        .as_array()
        .expect("machines")
        .iter()
        .map(|m| m["machine"].as_str().expect("id").into())
        .collect();
    assert!(!machines.is_empty(), "{sent}");
    let calls = receive(&mut robot_calls, 4, "summary calls").await;
    check_summary_calls(&calls, &machines);
    // After the alert's acknowledgement, which the webhook also hears of.
    let hook = loop {
        let (_, _, hook) =
            tokio::time::timeout(Duration::from_secs(20), hooks.recv()).await.expect("the summary").expect("body");
        if hook["type"] != "alert" {
            break hook;
        }
    };
    assert_eq!(hook["type"], "summary", "{hook}");
    assert_eq!(hook["summary"]["machines"].as_array().map(Vec::len), Some(machines.len()));
    let png = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        hook["chart_png_base64"].as_str().expect("png"),
    )
    .expect("base64");
    let picture = image::load_from_memory(&png).expect("a PNG");
    assert_eq!(picture.width(), 720);
    let shots = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&shots).expect("screenshots");
    std::fs::write(shots.join("summary-chart.png"), &png).expect("write the picture");
    for (body, field) in [
        (json!({"from": "yesterday", "to": "2026-12-04T08:00:00Z"}), "from"),
        (json!({"to": "2026-12-04T08:00:00Z"}), ""),
    ] {
        let (status, e) = admin.json("POST", "/api/v1/summary/send", Some(body)).await;
        assert_eq!(status, 400, "{e}");
        if !field.is_empty() {
            assert_eq!(e["error"]["field"], field, "{e}");
        }
    }

    // Regions: edited, checked, saved with the file's comments, applied without a restart.
    wait_until("an analysed frame of cam1", Duration::from_secs(60), || async {
        admin.send("GET", "/api/v1/cameras/cam1/snapshot.jpg", None).await.status() == 200
    })
    .await;
    let (_, regions) = admin.json("GET", "/api/v1/cameras/cam1/regions", None).await;
    assert_eq!(regions["editable"], true);
    let mut machines = regions["machines"].clone();
    let first_machine = machines[0]["id"].as_str().expect("id").to_string();
    let moved: Vec<[f64; 2]> = machines[0]["lamps"][0]["roi"]
        .as_array()
        .expect("roi")
        .iter()
        .map(|p| [p[0].as_f64().expect("x") + 2.0, p[1].as_f64().expect("y") + 1.0])
        .collect();
    machines[0]["lamps"][0]["roi"] = json!(moved);
    let (status, saved) = admin.json("PUT", "/api/v1/cameras/cam1/regions", Some(json!({"machines": machines}))).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["machines"][0]["lamps"][0]["roi"], json!(moved));
    let text = std::fs::read_to_string(&config).expect("config");
    assert!(text.starts_with("# The shop's own notes: this comment must survive an edit."), "{text}");
    let p = moved[0];
    assert!(text.contains(&format!("[{}, {}]", p[0], p[1])), "the new region is in the file:\n{text}");
    assert!(config.with_extension("toml.bak").exists(), "the previous file is kept");
    sheetsight_config::load(&config).expect("the saved file loads");

    let mut outside = machines.clone();
    outside[0]["lamps"][0]["roi"] = json!([[600, 300], [5000, 300], [5000, 340]]);
    let (status, body) = admin.json("PUT", "/api/v1/cameras/cam1/regions", Some(json!({"machines": outside}))).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap_or_default().contains("lamp[0].roi"), "{body}");
    let mut fewer = machines.clone();
    fewer[0]["lamps"].as_array_mut().expect("lamps").pop();
    let (status, body) = admin.json("PUT", "/api/v1/cameras/cam1/regions", Some(json!({"machines": fewer}))).await;
    assert_eq!(status, 400, "{body}");
    // A first zone needs the person detector, which a shop without zones did not load.
    let zone = json!([{"id": "op", "kind": "work", "machine": null, "roi": [[10, 10], [90, 10], [90, 90]]}]);
    let (status, body) =
        admin.json("PUT", "/api/v1/cameras/cam1/regions", Some(json!({"machines": machines, "zones": zone}))).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"]["message"].as_str().unwrap_or_default().contains("restart"), "{body}");
    assert_eq!(std::fs::read_to_string(&config).expect("config"), text, "a refused edit leaves the file alone");

    // The analysis runs on with the new regions.
    wait_until("states of the machine after the edit", Duration::from_secs(30), || async {
        let (_, m) = admin.json("GET", &format!("/api/v1/machines/{first_machine}"), None).await;
        m["live"]["state"].is_string() && m["live"]["lamps"][0]["mode"].is_string()
    })
    .await;
    let metrics = admin.send("GET", "/metrics", None).await.text().await.expect("metrics");
    for name in [
        "sheetsight_camera_frames_received_total{camera=\"cam1\"}",
        "sheetsight_camera_reconnects_total",
        "sheetsight_camera_decode_seconds_total",
        "sheetsight_camera_analysis_seconds_total",
        "sheetsight_machine_state{",
        "sheetsight_storage_write_seconds_bucket",
    ] {
        assert!(metrics.contains(name), "{name} in\n{metrics}");
    }
    assert_eq!(proc.terminate(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_admin_is_created_once_with_a_password_shown_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("sheetsight.toml");
    std::fs::write(&config, door_camera(sheetsight_testkit::free_port())).expect("config");
    let first = Proc::run_without_admin_password(&config);
    let line_of = |out: &str| out.lines().find(|l| l.contains("first login")).map(String::from);
    let deadline = Instant::now() + Duration::from_secs(10);
    let line = loop {
        if let Some(l) = line_of(&first.output()) {
            break l;
        }
        assert!(Instant::now() < deadline, "no first-login line:\n{}", first.output());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let password = line.split('`').nth(3).expect("the password between backquotes").to_string();
    assert!(password.len() >= 10, "{line}");
    Api::login(first.url(""), "admin", &password).await;
    let wrong = Api::new(first.url(""));
    let (status, _) =
        wrong.json("POST", "/api/v1/login", Some(json!({"name": "admin", "password": "guess-guess-guess"}))).await;
    assert_eq!(status, 401);
    assert_eq!(first.terminate(), Some(0));

    // The second start keeps the user and prints no password.
    let second = Proc::run_without_admin_password(&config);
    Api::login(second.url(""), "admin", &password).await;
    assert!(line_of(&second.output()).is_none(), "{}", second.output());
    assert!(!second.output().contains(&password));
    assert_eq!(second.terminate(), Some(0));
}
