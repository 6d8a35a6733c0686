//! The hub's dashboard and API on a real PostgreSQL (started on loopback), read through
//! real HTTP as a role that owns no table (so row-level security holds):
//! - shop a's user and token read zero rows of shop b through every route, whatever
//!   path and query they send (fuzzed), while they do read their own and a platform
//!   token reads both;
//! - the overview's figures of a shop are the shift report's over the same windows,
//!   with strokes counted in the database equal to strokes loaded one by one;
//! - the hub's report CSV of a shop is the one computed from its loaded history.

use std::net::SocketAddr;

use rand::{Rng, SeedableRng};
use sheetsight_base::shutdown;
use sheetsight_config::ServerConfig;
use sheetsight_server::auth;
use sheetsight_server::hub::HubWeb;
use sheetsight_server::hub::overview::today_windows;
use sheetsight_store::postgres::PgDatabase;
use sheetsight_store::profile::{ProfileMachine, ProfileShift, ShopProfile};
use sheetsight_store::sqlite::SqliteStore;
use sheetsight_store::{Query, Store, UnixMillis, report};
use sheetsight_testkit::postgres::Postgres;
use sheetsight_vision::event::{Event, LiveEvent};
use sheetsight_vision::state::MachineState;

/// 2026-09-02 05:00 UTC.
const T0: i64 = 1_788_325_200_000;

fn at(s: i64) -> UnixMillis {
    UnixMillis(T0 + s * 1000)
}

/// Words that exist only in shop b's rows.
const B_MARKERS: [&str; 4] = ["b-only-press", "Beta Works", "beta alarm", "P-B-77"];

/// An edge's history of a few hours: states, strokes, a job, an alert, and its
/// profile; sent through its outbox into the hub's database as `shop`.
async fn edge_into_hub(db: &PgDatabase, shop: &str, machines: &[&str], alert: &str, job: &str, seed: u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut edge = SqliteStore::open(dir.path()).await.expect("open");
    edge.enable_outbox(1 << 30).await.expect("outbox");
    let profile = ShopProfile {
        machines: machines
            .iter()
            .map(|m| ProfileMachine { id: m.to_string(), kind: None, ideal_strokes_per_hour: Some(300.0) })
            .collect(),
        shifts: vec![
            ProfileShift {
                name: "early".into(),
                start: "06:00".into(),
                end: "14:00".into(),
                days: [true; 7],
                time_zone: "Europe/Berlin".into(),
            },
            ProfileShift {
                name: "night".into(),
                start: "22:00".into(),
                end: "06:00".into(),
                days: [true; 7],
                time_zone: "Europe/Berlin".into(),
            },
        ],
    };
    edge.send_profile(&profile).await.expect("profile");
    let run = edge.begin_run(at(0), "edge").await.expect("run");
    edge.add_note(machines[0], "job", job, at(10), None, "ana", at(10)).await.expect("job");
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
    let mut t = 5;
    while t < 5 * 3600 {
        let mut events: Vec<LiveEvent> = Vec::new();
        for m in machines {
            let state = match rng.random_range(0..10) {
                0..=5 => MachineState::Executing,
                6..=8 => MachineState::NotExecuting,
                _ => MachineState::OutOfService,
            };
            events.push(Event::State { machine: m.to_string(), state, t: at(t) });
            if state == MachineState::Executing {
                for k in 0..rng.random_range(5..40) {
                    let end = t + 1 + k * 7;
                    events.push(Event::Stroke {
                        machine: m.to_string(),
                        start_t: at(end - 1),
                        end_t: at(end),
                        person_in_region: false,
                    });
                }
            }
        }
        edge.write(run, &events, at(t)).await.expect("write");
        t += rng.random_range(200..700);
    }
    edge.raise_alert("stopped", machines[0], alert, at(3600)).await.expect("alert");
    let epoch = edge.outbox_epoch().await.expect("epoch");
    let rows = edge.outbox_after(0, 1_000_000, usize::MAX).await.expect("outbox");
    let batch: Vec<(i64, &str)> = rows.iter().map(|r| (r.seq, r.body.as_str())).collect();
    let out = db.ingest(shop, &epoch, 0, &batch, UnixMillis::now()).await.expect("ingest");
    assert_eq!(out.applied as usize, rows.len(), "{out:?}");
    edge.close().await;
}

struct Hub {
    _pg: Postgres,
    db: PgDatabase,
    web: HubWeb,
    stop: shutdown::Sender,
    a_token: String,
    platform_token: String,
}

async fn hub() -> Hub {
    let pg = Postgres::start();
    let owner = PgDatabase::open(&pg.url()).await.expect("open PostgreSQL");
    owner.add_shop("a", "Alpha Metal", UnixMillis::now()).await.expect("shop a");
    owner.add_shop("b", "Beta Works", UnixMillis::now()).await.expect("shop b");
    edge_into_hub(&owner, "a", &["a-press-1", "a-laser-1"], "alpha alarm", "P-A-12", 1).await;
    edge_into_hub(&owner, "b", &["b-only-press"], "beta alarm", "P-B-77", 2).await;
    pg.psql("CREATE ROLE hub LOGIN PASSWORD 'hub'; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO hub");
    let db = PgDatabase::connect(&pg.url_as("hub", "hub"), 4).await.expect("connect as hub");
    let hash = auth::hash_password("alpha-reader-pass").expect("hash");
    db.put_hub_user("ana", &hash, Some("a"), UnixMillis::now()).await.expect("user");
    let a_token = "a".repeat(8) + &auth::random_hex(16).expect("random");
    db.add_hub_token("a-erp", &auth::digest(&a_token), Some("a"), UnixMillis::now()).await.expect("token");
    let platform_token = auth::random_hex(32).expect("random");
    db.add_hub_token("platform", &auth::digest(&platform_token), None, UnixMillis::now()).await.expect("token");
    let missing = db.add_hub_token("x", "d", Some("nope"), UnixMillis::now()).await.expect_err("no such shop");
    assert_eq!(missing.kind, sheetsight_store::StoreErrorKind::NotFound);
    let (stop, stop_rx) = shutdown::channel();
    let server = ServerConfig { listen: SocketAddr::from(([127, 0, 0, 1], 0)), ..Default::default() };
    let web = HubWeb::start(db.clone(), server, stop_rx).await.expect("start the hub's web server");
    Hub { _pg: pg, db, web, stop, a_token, platform_token }
}

async fn get(client: &reqwest::Client, base: &str, path: &str, auth: &Auth) -> (u16, String) {
    let mut r = client.get(format!("{base}{path}"));
    r = match auth {
        Auth::Token(t) => r.bearer_auth(t),
        Auth::Cookie(c) => r.header("Cookie", c.as_str()),
    };
    let r = r.send().await.expect("request");
    (r.status().as_u16(), r.text().await.expect("body"))
}

enum Auth {
    Token(String),
    Cookie(String),
}

async fn log_in(client: &reqwest::Client, base: &str, name: &str, password: &str) -> reqwest::Response {
    client
        .post(format!("{base}/api/v1/login"))
        .json(&serde_json::json!({"name": name, "password": password}))
        .send()
        .await
        .expect("login")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shops_user_and_token_read_nothing_of_another_shop_through_any_route() {
    let hub = hub().await;
    let base = format!("http://{}", hub.web.addr);
    let client = reqwest::Client::new();

    assert_eq!(log_in(&client, &base, "ana", "wrong password!").await.status(), 401);
    let login = log_in(&client, &base, "ana", "alpha-reader-pass").await;
    assert_eq!(login.status(), 200);
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_string();
    assert!(cookie.starts_with("sheetsight_hub_session="), "{cookie}");
    let session: serde_json::Value = login.json().await.expect("json");
    assert_eq!(session["shop"], "a");

    // Positive controls: what shop a reads of its own, and what the platform reads.
    let a = Auth::Token(hub.a_token.clone());
    for (path, want) in [
        ("/api/v1/overview", "Alpha Metal"),
        ("/api/v1/shops", "Alpha Metal"),
        ("/api/v1/shops/a/machines", "a-press-1"),
        ("/api/v1/shops/a/alerts", "alpha alarm"),
        ("/api/v1/shops/a/report?from=2026-09-02&to=2026-09-02", "a-laser-1"),
    ] {
        for auth in [&a, &Auth::Cookie(cookie.clone())] {
            let (status, body) = get(&client, &base, path, auth).await;
            assert_eq!(status, 200, "{path}: {body}");
            assert!(body.contains(want), "{path} shows shop a's own `{want}`: {body}");
        }
    }
    let platform = Auth::Token(hub.platform_token.clone());
    for (path, want) in [
        ("/api/v1/overview", "Beta Works"),
        ("/api/v1/shops/b/machines", "b-only-press"),
        ("/api/v1/shops/b/alerts", "beta alarm"),
    ] {
        let (status, body) = get(&client, &base, path, &platform).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert!(body.contains(want), "the platform reads shop b: {path}: {body}");
    }
    let (status, _) = get(&client, &base, "/api/v1/overview", &Auth::Token("nope".into())).await;
    assert_eq!(status, 401, "an unknown token");
    let status = client.get(format!("{base}/api/v1/shops/b/machines")).send().await.expect("request").status();
    assert_eq!(status, 401, "nobody");

    // Fuzzed paths and queries: shop b's words never appear, nothing fails inside.
    let shops = [
        "b",
        "B",
        "%62",
        "b%00",
        "%2A",
        "*",
        "a%2F..%2Fb",
        "..%2Fb",
        "b%20",
        "b'",
        "a'%20OR%20'1'='1",
        "%2Fb",
        "a%00b",
        "a,b",
        "a%2Cb",
        "%20b",
        "b.",
        "shop-b",
        "",
    ];
    let queries = [
        "",
        "shop=b",
        "shop=*",
        "scope=*",
        "from=2026-09-01&to=2026-09-03",
        "format=csv",
        "machine=b-only-press",
        "at=1788339600000",
        "from=2026-09-02&to=2026-09-02&machine=b-only-press&format=csv",
        "limit=100000",
        "shop_id=b&sheetsight.shop=*",
        "from=1970-01-01&to=2100-01-01",
    ];
    let templates = [
        "/api/v1/overview?{q}",
        "/api/v1/shops?{q}",
        "/api/v1/shops/{s}/machines?{q}",
        "/api/v1/shops/{s}/report?{q}",
        "/api/v1/shops/{s}/summary?{q}",
        "/api/v1/shops/{s}/machines/b-only-press/timeline?{q}",
        "/api/v1/shops/{s}/machines/a-press-1/timeline?{q}",
        "/api/v1/shops/{s}/alerts?{q}",
        "/api/v1/shops/a/{s}?{q}",
        "/api/v1/shops/{s}/report/a?{q}",
        "/api/v1/session?{q}",
    ];
    let mut rng = rand::rngs::SmallRng::seed_from_u64(5);
    let mut random_shops: Vec<String> = (0..20)
        .map(|_| {
            let n = rng.random_range(1..6);
            (0..n)
                .map(|_| ["b", "%62", "*", "%2A", "'", "%00", "a", "/", "..", "%2F", ";"][rng.random_range(0..11)])
                .collect()
        })
        .collect();
    random_shops.extend(shops.iter().map(|s| s.to_string()));
    let mut requests = 0;
    for template in templates {
        for s in &random_shops {
            for q in queries {
                let path = template.replace("{s}", s).replace("{q}", q);
                for auth in [&a, &Auth::Cookie(cookie.clone())] {
                    let (status, body) = get(&client, &base, &path, auth).await;
                    requests += 1;
                    assert!(status < 500, "{path}: {status} {body}");
                    for marker in B_MARKERS {
                        // A message may quote what the request itself said, in backticks.
                        let echo = format!("`{marker}`");
                        let unquoted = if path.contains(marker) { body.replace(&echo, "") } else { body.clone() };
                        assert!(!unquoted.contains(marker), "shop a read shop b's `{marker}` through {path}: {body}");
                    }
                }
            }
        }
    }
    assert!(requests > 4000, "{requests} requests");

    // The OpenAPI document: public, every route of the page's API in it, every
    // reference resolved.
    let doc: serde_json::Value =
        client.get(format!("{base}/api/v1/openapi.json")).send().await.expect("doc").json().await.expect("json");
    for path in [
        "/api/v1/login",
        "/api/v1/logout",
        "/api/v1/session",
        "/api/v1/overview",
        "/api/v1/shops",
        "/api/v1/shops/{shop}/machines",
        "/api/v1/shops/{shop}/report",
        "/api/v1/shops/{shop}/alerts",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is described");
    }
    let text = doc.to_string();
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap_or_default();
        assert!(doc["components"]["schemas"][name].is_object(), "the schema {name} is in the document");
    }

    // Logging out ends the session.
    let out = client
        .post(format!("{base}/api/v1/logout"))
        .header("Cookie", cookie.as_str())
        .header("X-CSRF-Token", session["csrf"].as_str().expect("csrf"))
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status(), 204);
    let (status, _) = get(&client, &base, "/api/v1/overview", &Auth::Cookie(cookie.clone())).await;
    assert_eq!(status, 401, "the session ended");
    hub.stop.shut_down();
    hub.web.join().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_and_the_hubs_report_are_the_shops_report_over_the_same_windows() {
    let hub = hub().await;
    let base = format!("http://{}", hub.web.addr);
    let client = reqwest::Client::new();
    let platform = Auth::Token(hub.platform_token.clone());
    // 09:30 Berlin: the night shift from 22:00 (which began the day before) is over, the
    // early shift runs since 06:00; the history began at 07:00 Berlin.
    let moment = at(2 * 3600 + 1800);
    let (status, body) = get(&client, &base, &format!("/api/v1/overview?at={}", moment.0), &platform).await;
    assert_eq!(status, 200, "{body}");
    let overview: serde_json::Value = serde_json::from_str(&body).expect("json");
    let a = overview["shops"].as_array().expect("shops").iter().find(|s| s["shop"] == "a").expect("shop a").clone();

    // The same figures from the history loaded row by row.
    let store = hub.db.shop("a");
    let profile = hub.db.profiles("a", None).await.expect("profiles").remove("a").expect("a's profile");
    let windows = today_windows(&profile.shifts(), moment);
    assert_eq!(windows.len(), 1, "only the early shift is today's so far: {windows:?}");
    let machines: Vec<String> = profile.machines.iter().map(|m| m.id.clone()).collect();
    let (from, to) = (UnixMillis::from(windows[0].start), UnixMillis::from(windows[0].end));
    let q = Query { from, to, key: None };
    let loaded = report::ReportHistory {
        states: store.states(&q).await.expect("states"),
        strokes: store.strokes(&q).await.expect("strokes"),
        ..Default::default()
    };
    let rows = report::compute(&windows, &machines, &loaded, moment);
    let strokes: u64 = rows.iter().map(|r| r.strokes).sum();
    let executing: f64 = rows.iter().map(|r| r.executing_s).sum();
    let watched: f64 = rows.iter().map(|r| r.planned_s - r.not_available_s).sum();
    assert!(strokes > 100 && watched > 3600.0, "a real morning: {strokes} strokes, {watched} s watched");
    assert_eq!(a["strokes"].as_u64(), Some(strokes), "{a}");
    let availability = a["availability"].as_f64().expect("availability");
    assert!((availability - executing / watched).abs() < 1e-9, "{availability} vs {}", executing / watched);
    let oee = a["oee"].as_f64().expect("oee");
    let ideal_s = strokes as f64 * 3600.0 / 300.0;
    assert!((oee - ideal_s / watched).abs() < 1e-9, "{oee} vs {}", ideal_s / watched);
    assert_eq!(a["machines"], 2);
    assert_eq!(a["open_alerts"], 1);

    // The hub's report CSV of a whole day (both shifts) equals the one of the loaded rows.
    let (status, csv) =
        get(&client, &base, "/api/v1/shops/a/report?from=2026-09-01&to=2026-09-02&format=csv", &platform).await;
    assert_eq!(status, 200, "{csv}");
    let day: Vec<_> = profile
        .shifts()
        .iter()
        .flat_map(|s| {
            s.windows(
                chrono::NaiveDate::from_ymd_opt(2026, 9, 1).expect("date"),
                chrono::NaiveDate::from_ymd_opt(2026, 9, 2).expect("date"),
            )
        })
        .collect();
    let span = Query {
        from: day.iter().map(|w| UnixMillis::from(w.start)).min().expect("windows"),
        to: day.iter().map(|w| UnixMillis::from(w.end)).max().expect("windows"),
        key: None,
    };
    let loaded = report::ReportHistory {
        states: store.states(&span).await.expect("states"),
        strokes: store.strokes(&span).await.expect("strokes"),
        cycles: store
            .cycles(&sheetsight_store::CycleFilter { query: span.clone(), job: None, limit: None, offset: 0 })
            .await
            .expect("cycles"),
        operator_presence: store.operator_presence(&span).await.expect("presence"),
        ..Default::default()
    };
    // The report ends at its own "now": both are long past.
    let expected = report::csv(&report::compute(&day, &machines, &loaded, UnixMillis::now()));
    assert_eq!(csv, expected);
    assert!(csv.lines().count() > 4 && csv.contains("a-press-1"), "{csv}");

    // The charts' figures (the edge's summary) of the same days, from the same rows.
    let (status, body) = get(&client, &base, "/api/v1/shops/a/summary?from=2026-09-01&to=2026-09-02", &platform).await;
    assert_eq!(status, 200, "{body}");
    let mut got: serde_json::Value = serde_json::from_str(&body).expect("json");
    let notes = store.notes(None, span.from, span.to).await.expect("notes");
    let expected = sheetsight_store::summary::compute(&day, &profile.ideal_rates(), &loaded, &notes, UnixMillis::now());
    assert_eq!(
        (got["from"].take(), got["to"].take()),
        (serde_json::json!("2026-09-01"), serde_json::json!("2026-09-02"))
    );
    let got: serde_json::Map<_, _> = got
        .as_object()
        .expect("object")
        .clone()
        .into_iter()
        .filter(|(k, _)| !matches!(k.as_str(), "from" | "to" | "simulated_until"))
        .collect();
    let expected_json = serde_json::to_value(&expected).expect("json");
    assert!(same_figures(&serde_json::Value::Object(got.clone()), &expected_json), "{got:?}\n{expected_json}");
    assert!(expected.days.len() >= 2 && expected.all.strokes > 100, "a real summary: {expected:?}");
    hub.stop.shut_down();
    hub.web.join().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hubs_page_in_chromium_logs_in_picks_a_shop_and_shows_its_figures() {
    use sheetsight_testkit::browser::Browser;
    use sheetsight_testkit::fantoccini::Locator;
    use std::time::Duration;

    let hub = hub().await;
    let platform_hash = auth::hash_password("platform-reader-pass").expect("hash");
    hub.db.put_hub_user("olga", &platform_hash, None, UnixMillis::now()).await.expect("platform user");
    let base = format!("http://{}", hub.web.addr);
    let browser = Browser::start_with_language(1280, 900, "zh-CN").await;
    let c = &browser.client;
    // The platform: the overview lists both shops, in Chinese.
    page_login(&browser, &base, "olga", "platform-reader-pass").await;
    let rows = browser
        .wait_for(
            "the overview of both shops",
            Duration::from_secs(20),
            "const t = document.getElementById('overview'); \
             return t && t.querySelectorAll('tr[data-shop]').length === 2 ? t.innerText : null",
        )
        .await;
    let text = rows.as_str().unwrap_or_default().to_string();
    assert!(text.contains("Alpha Metal") && text.contains("Beta Works") && text.contains("开动率"), "{text}");

    // Choosing shop b in the picker shows its machines and today's report.
    c.execute(
        "const p = document.getElementById('picker'); p.value = 'b'; p.dispatchEvent(new Event('change'));",
        vec![],
    )
    .await
    .expect("pick shop b");
    let machines = browser
        .wait_for(
            "shop b's machines",
            Duration::from_secs(20),
            "const t = document.getElementById('machines'); return t ? t.innerText : null",
        )
        .await;
    assert!(machines.as_str().unwrap_or_default().contains("b-only-press"), "{machines}");
    // Its charts for the days of its history, drawn by the edge's chart code.
    c.execute(
        "const [f, t] = document.querySelectorAll('#view input[type=date]'); f.value = '2026-09-01'; t.value = '2026-09-02'; \
         [...document.querySelectorAll('#view button')].find((b) => b.textContent === '显示').click();",
        vec![],
    )
    .await
    .expect("show two days");
    let drawn = browser
        .wait_for(
            "shop b's charts",
            Duration::from_secs(20),
            "const a = document.querySelector('[data-card=availability] svg'); \
             const s = document.querySelector('[data-card=shifts] svg'); \
             return a && s ? document.querySelectorAll('[data-card] svg text').length : null",
        )
        .await;
    assert!(drawn.as_u64().unwrap_or(0) >= 4, "labelled charts: {drawn}");
    // A machine's timeline over the same days: its states as a bar, its stops listed.
    c.execute("document.querySelector('[data-machine=\"b-only-press\"]').click();", vec![])
        .await
        .expect("pick machine");
    let bars = browser
        .wait_for(
            "b-only-press's timeline",
            Duration::from_secs(20),
            "const n = document.querySelectorAll('#timeline svg rect').length; \
             return n && document.getElementById('stops') ? n : null",
        )
        .await;
    assert!(bars.as_u64().unwrap_or(0) >= 2, "states drawn: {bars}");
    let shot = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots").join("hub-shop-zh.png");
    browser.screenshot(&shot).await;
    c.find(Locator::Css("#logout")).await.expect("logout").click().await.expect("click");

    // Shop a's user: only shop a in the picker, its machines shown at once, no way to b.
    page_login(&browser, &base, "ana", "alpha-reader-pass").await;
    let machines = browser
        .wait_for(
            "shop a's machines",
            Duration::from_secs(20),
            "const t = document.getElementById('machines'); return t ? t.innerText : null",
        )
        .await;
    assert!(machines.as_str().unwrap_or_default().contains("a-press-1"), "{machines}");
    let options = c
        .execute("return [...document.querySelectorAll('#picker option')].map(o => o.value).join(',')", vec![])
        .await
        .expect("picker");
    assert_eq!(options, serde_json::json!("a"), "shop a's user picks only shop a");
    c.goto(&format!("{base}/#/b")).await.expect("type shop b's address");
    let shown = browser
        .wait_for(
            "an answer for shop b",
            Duration::from_secs(20),
            "const v = document.getElementById('view').innerText; return v.length ? v : null",
        )
        .await;
    let shown = shown.as_str().unwrap_or_default().to_string();
    assert!(!shown.contains("b-only-press") && !shown.contains("beta alarm"), "{shown}");
    browser.close().await;
    hub.stop.shut_down();
    hub.web.join().await;
}

/// `a` and `b` hold the same values, numbers equal to 1e-9 (sums in another order differ
/// in their last bit).
fn same_figures(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            (x.as_f64().unwrap_or(f64::NAN) - y.as_f64().unwrap_or(f64::NAN)).abs() < 1e-9
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_figures(x, y)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same_figures(v, w)))
        }
        _ => a == b,
    }
}

/// Opens the hub's page and logs in through its form.
async fn page_login(browser: &sheetsight_testkit::browser::Browser, base: &str, name: &str, password: &str) {
    use sheetsight_testkit::fantoccini::Locator;
    let c = &browser.client;
    c.goto(&format!("{base}/")).await.expect("open the hub's page");
    browser
        .wait_for(
            "the login form",
            std::time::Duration::from_secs(20),
            "return !document.getElementById('login').hidden",
        )
        .await;
    c.find(Locator::Css("#login input[name=name]")).await.expect("name").send_keys(name).await.expect("type");
    let password_field = c.find(Locator::Css("#login input[name=password]")).await.expect("password");
    password_field.send_keys(password).await.expect("type");
    c.find(Locator::Css("#login button")).await.expect("submit").click().await.expect("click");
}
