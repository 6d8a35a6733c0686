//! The charts in a real browser against the demo with its simulated days of history:
//! trends, Pareto of downtime, shift against shift and time in each state on the report
//! page, the last 14 days and strokes per hour on the machine page; in English and in
//! Chinese (with a CJK font installed, so the screenshots show Chinese), on a desktop and
//! a phone. No chart label may touch another or leave its chart, text is drawn at its
//! size (not shrunk with the picture), and the report prints to PDF. Screenshots and the
//! PDF go to `target/tmp/screenshots/`.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{ADMIN_PASSWORD, Proc};
use serde_json::Value;
use sheetsight_testkit::browser::{Browser, require_cjk_font};
use sheetsight_testkit::fantoccini::wd::PrintConfiguration;

fn shot(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots").join(name)
}

/// Every chart's labels, measured where the browser drew them.
const LAYOUT: &str = r#"
const out = { charts: 0, texts: 0, collisions: [], clipped: [], scaled: [], smallest_px: 99 };
for (const s of document.querySelectorAll('[data-chart] svg')) {
  out.charts++;
  const box = s.getBoundingClientRect(), vb = s.viewBox.baseVal;
  if (!vb || Math.abs(box.width - vb.width) > 2) out.scaled.push(`${s.parentNode.dataset.chart}: ${box.width} px shown for ${vb && vb.width}`);
  const rs = [...s.querySelectorAll('text')].map((e) => ({ t: e.textContent, r: e.getBoundingClientRect(),
    px: parseFloat(getComputedStyle(e).fontSize) * box.width / (vb ? vb.width : box.width) })).filter((x) => x.r.width > 0);
  out.texts += rs.length;
  for (const a of rs) {
    out.smallest_px = Math.min(out.smallest_px, a.px);
    if (a.r.left < box.left - 1 || a.r.right > box.right + 1 || a.r.top < box.top - 1 || a.r.bottom > box.bottom + 1) out.clipped.push(a.t);
  }
  for (let i = 0; i < rs.length; i++) for (let j = i + 1; j < rs.length; j++) {
    const a = rs[i].r, b = rs[j].r;
    if (a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5) out.collisions.push(`${rs[i].t} | ${rs[j].t}`);
  }
}
return out;"#;

/// What the report page's charts say.
const REPORT: &str = r#"
// A label's own text, without its tooltip (`<title>`).
const own = (e) => [...e.childNodes].filter((n) => n.nodeType === 3).map((n) => n.data).join('');
const texts = (sel) => [...document.querySelectorAll(sel)].map(own);
return {
  machines_in_legend: texts('[data-card=availability] .legend span'),
  availability_points: document.querySelectorAll('[data-card=availability] circle').length,
  availability_lines: document.querySelectorAll('[data-card=availability] polyline').length,
  oee_lines: document.querySelectorAll('[data-card=oee] polyline').length,
  reasons: texts('[data-card=pareto-reason] text.lbl'),
  reason_values: texts('[data-card=pareto-reason] text.val').length,
  machines_down: texts('[data-card=pareto-machine] text.lbl'),
  shifts: texts('[data-card=shifts] text.lbl'),
  state_rows: texts('[data-card=states] text.lbl'),
  simulated: !!document.querySelector('[data-role=simulated]'),
  x_axis: texts('[data-card=availability] text.axis'),
  // The date of the latest shift begun: a shift is dated by its start, and the demo's
  // first shift of a day starts at 08:00 UTC (before that, the night shift of the day
  // before is the latest).
  last_date_shown: texts('[data-card=availability] text.axis').map((x) => x.replace('/', '-'))
    .includes(new Date(Date.now() - 8 * 3600e3).toISOString().slice(5, 10)),
};"#;

/// A screenshot of the page's first 2400 px at `width` (the window is made that tall for
/// it, then put back to `height`).
async fn full_page_shot(browser: &Browser, name: &str, width: u32, height: u32) {
    let c = &browser.client;
    let tall = c.execute("return document.documentElement.scrollHeight", vec![]).await.expect("height");
    let tall = tall.as_u64().unwrap_or(u64::from(height)).clamp(u64::from(height), 2400) as u32;
    c.set_window_size(width, tall + 120).await.expect("tall window");
    tokio::time::sleep(Duration::from_millis(300)).await;
    browser.screenshot(&shot(name)).await;
    c.set_window_size(width, height).await.expect("window back");
}

/// The report's charts show the last date of the range that has a shift on their axis.
async fn last_date_shown(browser: &Browser, page: &str) {
    let report = browser.client.execute(REPORT, vec![]).await.expect("report");
    assert_eq!(report["last_date_shown"], Value::Bool(true), "{page}: {report}");
}

fn assert_clean(layout: &Value, page: &str) {
    assert!(layout["charts"].as_u64().unwrap_or(0) >= 2, "{page}: charts missing: {layout}");
    for key in ["collisions", "clipped", "scaled"] {
        assert_eq!(layout[key], serde_json::json!([]), "{page}: {key}: {layout}");
    }
    let smallest = layout["smallest_px"].as_f64().unwrap_or(0.0);
    assert!(smallest >= 11.5, "{page}: chart text as small as {smallest} px on screen: {layout}");
}

async fn charts_drawn(browser: &Browser, what: &str, selector: &str, count: usize) {
    let script = format!(
        "const c = [...document.querySelectorAll('{selector}')]; \
         return c.length >= {count} && c.every((e) => e.querySelector('svg'))"
    );
    browser.wait_for(what, Duration::from_secs(30), &script).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charts_in_two_languages_on_desktop_and_phone() {
    require_cjk_font();
    let dir = tempfile::tempdir().expect("tempdir");
    let demo = Proc::demo(&dir.path().join("data"), &[]);
    let browser = Browser::start(1280, 900).await;
    let c = &browser.client;
    c.goto(&demo.url("/")).await.expect("open the dashboard");
    browser
        .wait_for("the login form", Duration::from_secs(20), "return !document.getElementById('login').hidden")
        .await;
    let login = format!(
        "return fetch('/api/v1/login', {{method: 'POST', headers: {{'Content-Type': 'application/json'}}, \
         body: JSON.stringify({{name: 'admin', password: '{ADMIN_PASSWORD}'}})}}).then((r) => r.status)"
    );
    assert_eq!(c.execute(&login, vec![]).await.expect("log in"), serde_json::json!(200));

    // The report page opens on the last 7 days: 6 simulated and today.
    c.goto(&demo.url("/#/reports")).await.expect("reports");
    c.refresh().await.expect("reload with the session");
    charts_drawn(&browser, "the report's charts", "[data-card] [data-chart]", 6).await;
    let report = c.execute(REPORT, vec![]).await.expect("report");
    eprintln!("report charts: {report}");
    assert_eq!(report["machines_in_legend"].as_array().map(Vec::len), Some(5), "{report}");
    assert!(report["availability_points"].as_u64().unwrap_or(0) >= 5 * 6, "a point per machine and day: {report}");
    assert!(report["availability_lines"].as_u64().unwrap_or(0) >= 5, "{report}");
    assert!(report["oee_lines"].as_u64().unwrap_or(0) >= 5, "the demo's machines have an ideal rate: {report}");
    let reasons: Vec<&str> = report["reasons"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    assert!(reasons.len() >= 4, "{report}");
    assert!(reasons.contains(&"No reason given"), "short stops have none: {report}");
    assert!(reasons.contains(&"Waiting for material"), "{report}");
    assert_eq!(report["reason_values"].as_u64(), Some(reasons.len() as u64), "every bar has its figure: {report}");
    assert_eq!(report["machines_down"].as_array().map(Vec::len), Some(5), "{report}");
    assert_eq!(report["shifts"], serde_json::json!(["day", "night"]), "{report}");
    assert_eq!(report["state_rows"].as_array().map(Vec::len), Some(5), "{report}");
    assert_eq!(report["simulated"], Value::Bool(true), "simulated days are marked on screen: {report}");
    assert!(report["x_axis"].as_array().is_some_and(|a| a.len() >= 7), "y ticks and dates: {report}");
    let layout = c.execute(LAYOUT, vec![]).await.expect("layout");
    eprintln!("report, desktop, English: {} charts, {} labels", layout["charts"], layout["texts"]);
    assert_clean(&layout, "report, desktop, English");
    assert_eq!(report["last_date_shown"], Value::Bool(true), "{report}");
    full_page_shot(&browser, "charts-report.png", 1280, 900).await;

    // An admin sends the chosen days' summary to the chat robots (the demo has none).
    c.find(sheetsight_testkit::fantoccini::Locator::Css("#send-summary"))
        .await
        .expect("send")
        .click()
        .await
        .expect("click");
    browser
        .wait_for(
            "the summary sent",
            Duration::from_secs(20),
            "return document.getElementById('sent').textContent === 'Sent to: –'",
        )
        .await;

    // Printed (the page's print style), it is a PDF of its own.
    let pdf = c.print(PrintConfiguration::default()).await.expect("print the report");
    assert!(pdf.starts_with(b"%PDF") && pdf.len() > 20_000, "{} bytes", pdf.len());
    std::fs::write(shot("report.pdf"), &pdf).expect("write the PDF");

    // The machine page: strokes per hour, the last 14 days, time in each state per day.
    c.goto(&demo.url("/#/machine/brake-1")).await.expect("machine page");
    charts_drawn(&browser, "the machine page's last 14 days", "#history [data-chart]", 2).await;
    charts_drawn(&browser, "the machine page's strokes per hour", "[data-chart=vbars]", 1).await;
    let layout = c.execute(LAYOUT, vec![]).await.expect("layout");
    assert_clean(&layout, "machine page, desktop, English");
    full_page_shot(&browser, "charts-machine.png", 1280, 900).await;

    // In Chinese.
    c.find(sheetsight_testkit::fantoccini::Locator::Css("#lang")).await.expect("lang").click().await.expect("click");
    c.goto(&demo.url("/#/reports")).await.expect("reports");
    browser
        .wait_for(
            "the Chinese report",
            Duration::from_secs(30),
            "return [...document.querySelectorAll('[data-card=pareto-reason] text.lbl')].some((e) => e.textContent.startsWith('未填原因'))",
        )
        .await;
    charts_drawn(&browser, "the Chinese charts", "[data-card] [data-chart]", 6).await;
    let layout = c.execute(LAYOUT, vec![]).await.expect("layout");
    assert_clean(&layout, "report, desktop, Chinese");
    last_date_shown(&browser, "report, desktop, Chinese").await;
    full_page_shot(&browser, "charts-report-zh.png", 1280, 900).await;

    // A phone, in Chinese: charts drawn at the phone's width, text at its size.
    c.set_window_size(390, 844).await.expect("phone size");
    c.refresh().await.expect("reload");
    charts_drawn(&browser, "the charts on a phone", "[data-card] [data-chart]", 6).await;
    let layout = c.execute(LAYOUT, vec![]).await.expect("layout");
    assert_clean(&layout, "report, phone, Chinese");
    let overflow =
        c.execute("return document.documentElement.scrollWidth - window.innerWidth", vec![]).await.expect("w");
    assert!(overflow.as_f64().is_some_and(|o| o <= 0.0), "horizontal overflow on a phone: {overflow} px");
    last_date_shown(&browser, "report, phone, Chinese").await;
    full_page_shot(&browser, "charts-report-phone-zh.png", 390, 844).await;
    c.goto(&demo.url("/#/machine/brake-1")).await.expect("machine page");
    charts_drawn(&browser, "the machine page on a phone", "#history [data-chart]", 2).await;
    charts_drawn(&browser, "strokes per hour on a phone", "[data-chart=vbars]", 1).await;
    let layout = c.execute(LAYOUT, vec![]).await.expect("layout");
    assert_clean(&layout, "machine page, phone, Chinese");
    full_page_shot(&browser, "charts-machine-phone-zh.png", 390, 844).await;
    browser.close().await;
    assert_eq!(demo.terminate(), Some(0));
}
