//! The dashboard in a real browser (Debian's headless Chromium through ChromeDriver)
//! against a running demo: log in, watch the overview follow a lamp change, switch the
//! language, pick a downtime reason, draw a region and save it, read the report, and
//! look at it all on a phone-sized screen. Screenshots go to
//! `target/tmp/screenshots/`.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{ADMIN_PASSWORD, Proc};
use sheetsight_testkit::browser::Browser;
use sheetsight_testkit::fantoccini::Locator;
use sheetsight_testkit::fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};

fn shot(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots").join(name)
}

/// Records every lamp change the page shows: its frame time, when the server sent it
/// and when the tile showed it (all ms since 1970 on this machine's clock).
const WATCH_LAMPS: &str = r#"
window.__changes = [];
new MutationObserver((ms) => { for (const m of ms) { const d = m.target.dataset;
  if (m.attributeName === 'data-shown-at' && d.shownAt) window.__changes.push({
    machine: m.target.closest('[data-machine]').dataset.machine, lamp: d.lamp, mode: d.mode,
    event_t: Number(d.eventT), sent: Number(d.sentMs), shown: Number(d.shownAt),
    painted: performance.timeOrigin + performance.now() }); } })
  .observe(document.getElementById('tiles'), { subtree: true, attributes: true, attributeFilter: ['data-shown-at'] });
return true;"#;

/// Opens the demo's dashboard and logs in as admin (a screenshot of the login form when
/// named), until the overview shows the five machines.
async fn log_in(browser: &Browser, demo: &Proc, screenshot: Option<&str>) {
    let form_shot = screenshot.map(shot);
    common::log_in_as_admin(browser, &demo.url("/"), form_shot.as_deref()).await;
    browser
        .wait_for(
            "five machine tiles",
            Duration::from_secs(30),
            "return document.querySelectorAll('#tiles .tile').length === 5",
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_in_a_real_browser() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let demo = Proc::demo(&data, &[]);
    let browser = Browser::start(1280, 900).await;
    let c = &browser.client;
    let js = |s: &'static str| async move { c.execute(s, vec![]).await.expect("script") };

    log_in(&browser, &demo, Some("login.png")).await;

    // The overview follows the lamps live: wait for lamp changes shown through the events.
    js(WATCH_LAMPS).await;
    browser
        .wait_for("a lamp change on the overview", Duration::from_secs(120), "return window.__changes.length >= 3")
        .await;
    browser.screenshot(&shot("overview.png")).await;
    let changes = js("return window.__changes").await;
    let changes = changes.as_array().expect("changes");
    let mut frame_to_screen = Vec::new();
    let mut server_to_screen = Vec::new();
    for ch in changes {
        let f = |k: &str| ch[k].as_f64().unwrap_or(f64::NAN);
        frame_to_screen.push(f("shown") - f("event_t"));
        server_to_screen.push(f("shown") - f("sent"));
    }
    let max = |v: &[f64]| v.iter().cloned().fold(f64::MIN, f64::max);
    eprintln!(
        "lamp changes shown: {}; frame -> screen max {:.0} ms; server -> screen max {:.0} ms",
        changes.len(),
        max(&frame_to_screen),
        max(&server_to_screen)
    );
    assert!(
        max(&frame_to_screen) < 1000.0,
        "a lamp change took longer than 1 s from its frame to the screen: {changes:?}"
    );
    // What the tile shows is what the API says (the API's live status is refreshed every
    // 200 ms, the events come at once: they agree within moments).
    let last = changes.last().expect("a change");
    let machine = last["machine"].as_str().expect("machine").to_string();
    let lamp: usize = last["lamp"].as_str().and_then(|l| l.parse().ok()).expect("lamp index");
    let agree = format!(
        "return fetch('/api/v1/machines/{machine}').then(r => r.json()).then(m => \
         m.live.lamps[{lamp}].mode === document.querySelector(\"[data-machine='{machine}'] [data-lamp='{lamp}']\").dataset.mode || null)"
    );
    browser.wait_for("the tile and the API to agree", Duration::from_secs(5), &agree).await;

    // The page weight of the overview, loaded afresh.
    c.refresh().await.expect("reload");
    browser
        .wait_for(
            "tiles after reload",
            Duration::from_secs(20),
            "return document.querySelectorAll('#tiles .tile').length === 5",
        )
        .await;
    let weight = js("const n = performance.getEntriesByType('navigation')[0]; \
        return n.transferSize + performance.getEntriesByType('resource').filter(r => !r.name.includes('/events')).reduce((s, r) => s + r.transferSize, 0)")
        .await
        .as_f64()
        .expect("bytes");
    eprintln!("overview page weight: {:.1} kB", weight / 1000.0);
    assert!(weight > 10_000.0 && weight < 300_000.0, "page weight {weight} bytes");
    // From here on (the same document: pages change by their #/ route), nothing the pages
    // do may be blocked by the server's Content-Security-Policy.
    js("window.__csp = []; document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sample)); return true").await;

    // Switch to Chinese and back.
    c.find(Locator::Css("#lang")).await.expect("lang").click().await.expect("click");
    browser
        .wait_for(
            "Chinese navigation",
            Duration::from_secs(5),
            "return document.querySelector('#nav a').textContent === '总览'",
        )
        .await;
    let states = js("return [...document.querySelectorAll('[data-role=state]')].map(e => e.textContent)").await;
    assert!(
        states
            .as_array()
            .expect("states")
            .iter()
            .all(|s| ["运行中", "待机", "故障", "不可用", "无状态"].contains(&s.as_str().unwrap_or(""))),
        "{states}"
    );
    assert_eq!(js("return document.documentElement.lang").await, "zh-CN");
    browser.screenshot(&shot("overview-zh.png")).await;
    c.find(Locator::Css("#lang")).await.expect("lang").click().await.expect("click");
    browser
        .wait_for(
            "English navigation",
            Duration::from_secs(5),
            "return document.querySelector('#nav a').textContent === 'Overview'",
        )
        .await;

    // A machine: timeline, figures, and a downtime reason in two clicks.
    c.goto(&demo.url("/#/machine/brake-1")).await.expect("machine page");
    browser
        .wait_for(
            "the timeline",
            Duration::from_secs(20),
            "return document.querySelectorAll('svg.gantt rect').length > 0",
        )
        .await;
    // It opens on the recorded span (the demo has just started): the shift began earlier.
    let opened =
        js("const g = document.querySelector('svg.gantt'); return [Number(g.dataset.from), Number(g.dataset.to)]")
            .await;
    let shift_start =
        js("return fetch('/api/v1/machines/brake-1/shift').then((r) => r.json()).then((f) => Date.parse(f.start))")
            .await;
    assert!(opened[0].as_f64() > shift_start.as_f64(), "opened on {opened}, the shift began at {shift_start}");
    let span = || js("const g = document.querySelector('svg.gantt'); return g.dataset.to - g.dataset.from");
    let span_before = span().await;
    c.find(Locator::XPath("//button[text()='Zoom out']")).await.expect("zoom").click().await.expect("click");
    let span_out = span().await;
    assert!(span_out.as_f64() > span_before.as_f64(), "zoomed out: {span_before} -> {span_out}");
    c.find(Locator::XPath("//button[text()='Zoom in']")).await.expect("zoom").click().await.expect("click");
    let span_in = span().await;
    assert!(span_in.as_f64() < span_out.as_f64(), "zoomed in: {span_out} -> {span_in}");
    // Clearing the field redraws the page with the new minimum: find the field again.
    c.find(Locator::Css("input[type=number]")).await.expect("min minutes").clear().await.expect("clear");
    browser
        .wait_for(
            "the page redrawn",
            Duration::from_secs(10),
            "return document.querySelector('input[type=number]').value === '0'",
        )
        .await;
    browser
        .wait_for(
            "a stop to explain",
            Duration::from_secs(30),
            "return document.querySelector('select[data-role=reason]') !== null",
        )
        .await;
    let select = c.find(Locator::Css("select[data-role=reason]")).await.expect("select");
    select.click().await.expect("first click");
    select.select_by_value("Tool change").await.expect("second click");
    browser
        .wait_for(
            "the reason saved",
            Duration::from_secs(10),
            "return document.querySelector('select[data-role=reason]').dataset.saved === 'Tool change'",
        )
        .await;
    let notes = browser
        .wait_for("the reason in the API", Duration::from_secs(10), "return fetch('/api/v1/machines/brake-1/notes').then(r => r.json()).then(p => p.items.some(n => n.kind === 'reason' && n.value === 'Tool change' && n.author === 'admin') || null)")
        .await;
    assert_eq!(notes, true);
    browser.screenshot(&shot("machine.png")).await;

    // The region editor: redraw a lamp region on the picture, save, and see it in the file.
    c.goto(&demo.url("/#/camera/cam1")).await.expect("camera page");
    browser
        .wait_for(
            "regions over the live view",
            Duration::from_secs(20),
            "return document.querySelectorAll('#overlay polygon').length > 3",
        )
        .await;
    browser
        .wait_for(
            "the live picture",
            Duration::from_secs(20),
            "const i = document.querySelector('.camview img'); return i.complete && i.naturalWidth > 0",
        )
        .await;
    c.find(Locator::Css("#edit-regions")).await.expect("edit").click().await.expect("click");
    c.find(Locator::Css("[data-redraw='brake-1/lamp/0']")).await.expect("redraw").click().await.expect("click");
    // WebDriver aims at the element's visible centre: show all of the picture first.
    js("document.getElementById('overlay').scrollIntoView({block: 'center'}); return true").await;
    let before =
        js("return [...document.querySelector(\"[data-region='brake-1/lamp/0']\").points].map(p => [p.x, p.y])").await;
    let (x0, y0) = (before[0][0].as_f64().expect("x"), before[0][1].as_f64().expect("y"));
    let size = js("const r = document.getElementById('overlay').getBoundingClientRect(); const v = document.getElementById('overlay').viewBox.baseVal; return [r.width, r.height, v.width, v.height]").await;
    let f = |i: usize| size[i].as_f64().expect("size");
    let (css_w, css_h, img_w, img_h) = (f(0), f(1), f(2), f(3));
    let corners = [(x0 - 4.0, y0 - 4.0), (x0 + 30.0, y0 - 4.0), (x0 + 30.0, y0 + 26.0), (x0 - 4.0, y0 + 26.0)];
    let overlay = c.find(Locator::Css("#overlay")).await.expect("overlay");
    let mut mouse = MouseActions::new("mouse".into());
    for (x, y) in corners {
        mouse = mouse
            .then(PointerAction::MoveToElement {
                element: overlay.clone(),
                duration: None,
                x: (x / img_w * css_w - css_w / 2.0).round(),
                y: (y / img_h * css_h - css_h / 2.0).round(),
            })
            .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT })
            .then(PointerAction::Up { button: MOUSE_BUTTON_LEFT });
    }
    c.perform_actions(mouse).await.expect("draw the corners");
    browser.screenshot(&shot("region-drawing.png")).await;
    c.find(Locator::Css("#draw-done")).await.expect("done").click().await.expect("click");
    c.find(Locator::Css("#save-regions")).await.expect("save").click().await.expect("click");
    browser
        .wait_for(
            "the save",
            Duration::from_secs(10),
            "return document.getElementById('edit-status').textContent.includes('Saved')",
        )
        .await;
    let after =
        js("return [...document.querySelector(\"[data-region='brake-1/lamp/0']\").points].map(p => [p.x, p.y])").await;
    let after = after.as_array().expect("points");
    assert_eq!(after.len(), 4, "{after:?}");
    // Clicks land within a pixel or two of where they were aimed (CSS px rounding).
    for (p, (x, y)) in after.iter().zip(corners) {
        let (px, py) = (p[0].as_f64().expect("x"), p[1].as_f64().expect("y"));
        assert!((px - x).abs() <= 3.0 && (py - y).abs() <= 3.0, "{p} vs ({x}, {y})");
    }
    let file = std::fs::read_to_string(data.join("demo.toml")).expect("demo.toml");
    let saved = format!("[{}, {}]", after[0][0], after[0][1]);
    assert!(file.contains(&saved), "{saved} in demo.toml:\n{file}");
    browser.screenshot(&shot("camera.png")).await;

    // The footpath camera: brake-1's zones drawn, the real people the detector found boxed
    // live and counted in the zones' labels; brake-1's tile says whether it is attended.
    c.goto(&demo.url("/#/camera/footpath")).await.expect("footpath camera page");
    browser
        .wait_for(
            "the zones and boxed people on the footpath camera",
            Duration::from_secs(60),
            "return document.querySelector('.camview img').naturalWidth === 768 \
             && document.querySelectorAll('#overlay polygon.zone').length === 2 \
             && document.querySelector('#overlay polygon.zone.danger') !== null \
             && document.querySelectorAll('#overlay rect.person').length >= 3 \
             && /^brake-1-operator: [0-9]+$/.test(document.querySelector(\"[data-label='zone/brake-1-operator']\").textContent);",
        )
        .await;
    browser.screenshot(&shot("camera-people.png")).await;
    c.goto(&demo.url("/#/")).await.expect("overview");
    browser
        .wait_for(
            "brake-1's operator zone on its tile",
            Duration::from_secs(30),
            "const a = document.querySelector(\"[data-machine='brake-1'] [data-role=attended]\"); \
             return a && /^(Attended \\([0-9]+\\)|Unattended)$/.test(a.textContent);",
        )
        .await;

    // The report, with its CSV.
    c.goto(&demo.url("/#/reports")).await.expect("reports");
    browser
        .wait_for("report rows", Duration::from_secs(20), "return document.querySelectorAll('#report tr').length >= 6")
        .await;
    let csv = js("return fetch(document.getElementById('csv').href).then(r => r.text())").await;
    assert!(csv.as_str().is_some_and(|t| t.starts_with("machine,shift,date")), "{csv}");
    browser.screenshot(&shot("reports.png")).await;

    // A phone: the overview fits the width.
    c.set_window_size(390, 844).await.expect("phone size");
    c.goto(&demo.url("/#/")).await.expect("overview");
    browser
        .wait_for(
            "tiles on a phone",
            Duration::from_secs(20),
            "return document.querySelectorAll('#tiles .tile').length === 5",
        )
        .await;
    let overflow = js("return document.documentElement.scrollWidth - window.innerWidth").await;
    assert!(overflow.as_f64().is_some_and(|o| o <= 0.0), "horizontal overflow on a phone: {overflow} px");
    browser.screenshot(&shot("phone.png")).await;
    let violations = js("return window.__csp").await;
    assert_eq!(violations, serde_json::json!([]), "blocked by the Content-Security-Policy");
    browser.close().await;

    // A browser set to Chinese gets the dashboard in Chinese at its first visit.
    let chinese = Browser::start_with_language(1280, 900, "zh-CN").await;
    chinese.client.goto(&demo.url("/")).await.expect("open the dashboard");
    chinese
        .wait_for("the Chinese login form", Duration::from_secs(20), "return !document.getElementById('login').hidden && document.querySelector('#login h1').textContent === '登录'")
        .await;
    chinese.screenshot(&shot("login-zh.png")).await;
    chinese.close().await;
    let output = demo.output();
    assert!(output.contains("SHEETSIGHT_ADMIN_PASSWORD"), "{output}");
    assert!(!output.contains(ADMIN_PASSWORD), "the demo wrote its admin password out:\n{output}");
    assert_eq!(demo.terminate(), Some(0));
}

/// Standard work in a real browser against the demo (which records its cameras, runs a
/// job on every machine and makes its first cycle golden): the machine page lists
/// cycles and plays one; a cycle is made golden in one click; the station page loops the
/// golden cycle's clip (its time advances) and seeks in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn station_page_plays_the_golden_cycle_in_a_real_browser() {
    let dir = tempfile::tempdir().expect("tempdir");
    let demo = Proc::demo(&dir.path().join("data"), &[]);
    let api = common::Api::login(demo.url(""), "admin", ADMIN_PASSWORD).await;
    // The first golden cycle of any machine, once stored.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let (machine, golden) = loop {
        let (_, standards) = api.json("GET", "/api/v1/standards", None).await;
        let found = standards
            .as_array()
            .into_iter()
            .flatten()
            .find_map(|s| Some((s["machine"].as_str()?.to_string(), s["golden_cycle"].as_i64()?)));
        if let Some(f) = found {
            break f;
        }
        assert!(std::time::Instant::now() < deadline, "no golden cycle within 120 s: {standards}\n{}", demo.output());
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let browser = Browser::start(1280, 900).await;
    let c = &browser.client;
    log_in(&browser, &demo, None).await;

    // The station page: the golden cycle's clip loops, its time advances, it seeks.
    c.goto(&demo.url(&format!("/#/station/{machine}"))).await.expect("station page");
    let playing = format!(
        "const v = document.querySelector('video#golden'); \
         return v && v.dataset.cycle === '{golden}' && v.readyState >= 2 && v.currentTime > 0.5 ? v.currentTime : null;"
    );
    browser.wait_for("the golden cycle playing on the station page", Duration::from_secs(30), &playing).await;
    let seek = "const v = document.querySelector('video#golden'); v.pause(); v.currentTime = 1.5; return true;";
    c.execute(seek, vec![]).await.expect("seek");
    browser
        .wait_for(
            "the clip seeked to 1.5 s",
            Duration::from_secs(20),
            "const v = document.querySelector('video#golden'); return !v.seeking && Math.abs(v.currentTime - 1.5) < 0.05;",
        )
        .await;
    let job = c.find(Locator::Css("#station-job")).await.expect("job").text().await.expect("text");
    assert!(job.starts_with("DEMO-"), "{job}");
    let steps = c.find(Locator::Css("#station-steps")).await.expect("steps").text().await.expect("text");
    assert!(steps.contains("back gauge"), "{steps}");
    browser.screenshot(&shot("station.png")).await;

    // The machine page: cycles listed, one played, another made golden in one click.
    // A finished cycle with a job that is not the golden one is waited for through the
    // API (the demo finishes one every few tens of seconds), then the page is opened once.
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    let other = loop {
        let (_, page) = api.json("GET", &format!("/api/v1/cycles?machine={machine}&limit=15"), None).await;
        let found = page["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["job"].is_string())
            .filter_map(|c| c["id"].as_i64())
            .find(|&id| id != golden);
        if let Some(id) = found {
            break id;
        }
        assert!(std::time::Instant::now() < deadline, "no second cycle within 180 s: {page}\n{}", demo.output());
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    c.goto(&demo.url(&format!("/#/machine/{machine}"))).await.expect("machine page");
    let golden_button = format!("#cycle-list tr[data-cycle='{other}'] button[data-role=golden]");
    browser
        .wait_for(
            "the second cycle's golden button",
            Duration::from_secs(30),
            &format!("return document.querySelector(\"{golden_button}\") !== null;"),
        )
        .await;
    c.find(Locator::Css("#cycle-list button[data-role=play]")).await.expect("play").click().await.expect("click");
    browser
        .wait_for(
            "a cycle's clip playing on the machine page",
            Duration::from_secs(30),
            "const v = document.querySelector('.player video'); return v && v.currentTime > 0.3;",
        )
        .await;
    c.find(Locator::Css(&golden_button)).await.expect("golden button").click().await.expect("click");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (_, standards) = api.json("GET", &format!("/api/v1/standards?machine={machine}"), None).await;
        if standards.as_array().into_iter().flatten().any(|s| s["golden_cycle"].as_i64() == Some(other)) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "cycle {other} was not made golden: {standards}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    browser.screenshot(&shot("machine-cycles.png")).await;
    browser.close().await;
    assert_eq!(demo.terminate(), Some(0));
}
