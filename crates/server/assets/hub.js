// The hub's page: log in, pick a shop (or all), read the overview and a shop's
// machines, report and alerts from the hub's API. No framework, nothing fetched from
// elsewhere; text goes through textContent only.
"use strict";

const TEXT = {
  en: {
    hub: "hub", logout: "Log out", "login.title": "Log in", "login.name": "Name", "login.password": "Password",
    "login.submit": "Log in", all: "All shops", shop: "Shop", availability: "Availability", oee: "OEE",
    running: "Running", standing: "Standing now", alerts: "Open alerts", heard: "Last heard", strokes: "Strokes",
    machines: "Machines", state: "State", since: "Since", report: "Shift report", from: "From", to: "To",
    show: "Show", csv: "CSV", noprofile: "no machines or shifts received yet", none: "none",
    shift: "Shift", date: "Date", machine: "Machine", raised: "Raised", message: "Message", cleared: "Cleared",
    today: "Today so far", Executing: "running", NotExecuting: "standing", OutOfService: "out of service",
    NotAvailable: "unknown", trend: "Availability by day", byreason: "Downtime by reason", shifts: "Shift against shift",
    noreason: "No reason given", nostops: "no stops", timeline: "Timeline", stops: "Stops", duration: "Duration",
    reason: "Reason",
  },
  zh: {
    hub: "中心", logout: "退出", "login.title": "登录", "login.name": "用户名", "login.password": "密码",
    "login.submit": "登录", all: "全部工厂", shop: "工厂", availability: "开动率", oee: "OEE",
    running: "运行中", standing: "当前停机", alerts: "未确认报警", heard: "最近通信", strokes: "冲次",
    machines: "设备", state: "状态", since: "开始于", report: "班次报表", from: "从", to: "到",
    show: "显示", csv: "CSV", noprofile: "尚未收到设备与班次", none: "无",
    shift: "班次", date: "日期", machine: "设备", raised: "发生", message: "内容", cleared: "解除",
    today: "今日至今", Executing: "运行", NotExecuting: "停机", OutOfService: "故障停机", NotAvailable: "未知",
    trend: "每日开动率", byreason: "停机原因", shifts: "班次对比", noreason: "未填原因", nostops: "无停机",
    timeline: "时间线", stops: "停机", duration: "时长", reason: "原因",
  },
};
let lang = (localStorage.getItem("lang") || navigator.language || "en").startsWith("zh") ? "zh" : "en";
const t = (k) => TEXT[lang][k] ?? k;
let session = null;
let timer = null;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c ?? "")));
  return e;
}

async function api(path, options = {}) {
  const headers = { "Content-Type": "application/json" };
  if (session?.csrf) headers["X-CSRF-Token"] = session.csrf;
  const r = await fetch(path, { credentials: "same-origin", headers, ...options });
  if (r.status === 401) { showLogin(); throw new Error("not logged in"); }
  if (!r.ok) {
    const body = await r.json().catch(() => ({}));
    throw new Error(body?.error?.message || r.statusText);
  }
  return r.status === 204 ? null : r.json();
}

const pct = (x) => (x == null ? "–" : (100 * x).toFixed(1) + " %");
const time = (s) => (s ? new Date(s).toLocaleString(lang === "zh" ? "zh-CN" : undefined) : "–");

function translate() {
  document.querySelectorAll("[data-i18n]").forEach((e) => (e.textContent = t(e.dataset.i18n)));
  document.getElementById("lang").textContent = lang === "zh" ? "English" : "中文";
  document.documentElement.lang = lang;
}

function showLogin() {
  session = null;
  clearInterval(timer);
  document.getElementById("login").hidden = false;
  document.getElementById("view").replaceChildren();
  document.getElementById("picker").hidden = true;
  document.getElementById("logout").hidden = true;
  document.getElementById("who").textContent = "";
}

async function start() {
  session = await api("/api/v1/session");
  document.getElementById("login").hidden = true;
  document.getElementById("logout").hidden = false;
  document.getElementById("who").textContent = session.name + (session.shop ? " · " + session.shop : "");
  const shops = await api("/api/v1/shops");
  const picker = document.getElementById("picker");
  picker.replaceChildren(
    ...(session.shop ? [] : [el("option", { value: "" }, t("all"))]),
    ...shops.map((s) => el("option", { value: s.id }, `${s.name} (${s.id})`)),
  );
  picker.hidden = false;
  picker.value = decodeURIComponent(location.hash.slice(2)) || (session.shop ?? "");
  route();
}

function route() {
  clearInterval(timer);
  const shop = document.getElementById("picker").value;
  location.hash = "#/" + encodeURIComponent(shop);
  const show = shop ? () => showShop(shop) : showOverview;
  show().catch(showError);
  timer = setInterval(() => show().catch(showError), 30000);
}

function showError(e) {
  if (session) document.getElementById("view").replaceChildren(el("p", { class: "error" }, e.message));
}

async function showOverview() {
  const o = await api("/api/v1/overview");
  const head = ["shop", "availability", "oee", "strokes", "running", "standing", "alerts", "heard"];
  const rows = o.shops.map((s) =>
    el("tr", { "data-shop": s.shop },
      el("td", {}, el("a", { href: "#/" + encodeURIComponent(s.shop) }, s.name), el("div", { class: "muted" }, s.shop)),
      el("td", {}, s.no_profile ? t("noprofile") : pct(s.availability)),
      el("td", {}, pct(s.oee)),
      el("td", {}, s.strokes),
      el("td", {}, `${s.running} / ${s.machines}`),
      el("td", {}, s.standing.length ? s.standing.map((m) => `${m.machine} (${t(m.state)} ${time(m.since)})`).join(", ") : t("none")),
      el("td", {}, s.open_alerts),
      el("td", {}, time(s.last_heard)),
    ));
  document.getElementById("view").replaceChildren(el("div", { class: "card scroll" },
    el("h2", {}, t("today")),
    el("table", { id: "overview" }, el("tr", {}, ...head.map((h) => el("th", {}, t(h)))), ...rows)));
}

async function showShop(shop) {
  const id = encodeURIComponent(shop);
  const [machines, alerts] = await Promise.all([api(`/api/v1/shops/${id}/machines`), api(`/api/v1/shops/${id}/alerts`)]);
  const today = new Date().toISOString().slice(0, 10);
  const from = el("input", { type: "date", value: today }), to = el("input", { type: "date", value: today });
  const report = el("div", { class: "scroll" });
  const charts = el("div", {});
  const timeline = el("div", { class: "card", id: "timeline", hidden: "" });
  // The chosen dates, as local midnights: from the first to the end of the last (or now).
  const range = () => {
    const a = new Date(`${from.value}T00:00:00`).getTime(), b = new Date(`${to.value}T00:00:00`).getTime() + 86400e3;
    return [a, Math.min(b, Date.now())];
  };
  const showMachine = (machine) => showTimeline(shop, machine, ...range(), timeline).catch(showError);
  const csv = el("a", { href: "#" }, t("csv"));
  const load = async () => {
    const q = `from=${from.value}&to=${to.value}`;
    csv.href = `/api/v1/shops/${id}/report?${q}&format=csv`;
    const [rows, summary] = await Promise.all([api(`/api/v1/shops/${id}/report?${q}`), api(`/api/v1/shops/${id}/summary?${q}`)]);
    charts.replaceChildren(...summaryCharts(summary));
    report.replaceChildren(el("table", { id: "report" },
      el("tr", {}, ...["machine", "shift", "date", "availability", "strokes"].map((h) => el("th", {}, t(h)))),
      ...rows.map((r) => el("tr", {}, el("td", {}, r.machine), el("td", {}, r.shift), el("td", {}, r.date),
        el("td", {}, pct(r.availability_seen)), el("td", {}, r.strokes)))));
  };
  const button = el("button", { type: "button" }, t("show"));
  button.addEventListener("click", () => load().catch(showError));
  document.getElementById("view").replaceChildren(
    el("div", { class: "card scroll" }, el("h2", {}, t("machines")),
      el("table", { id: "machines" }, el("tr", {}, ...["machine", "state", "since"].map((h) => el("th", {}, t(h)))),
        ...machines.map((m) => el("tr", {}, el("td", {}, machineButton(m.id, () => showMachine(m.id))),
          el("td", { class: "state st-" + (m.state || "NotAvailable") }, t(m.state || "NotAvailable")), el("td", {}, time(m.since)))))),
    el("div", { class: "card" }, el("h2", {}, t("report")),
      el("div", { class: "row" }, t("from"), from, t("to"), to, button, csv), report),
    timeline,
    charts,
    el("div", { class: "card scroll" }, el("h2", {}, t("alerts")),
      el("table", { id: "alerts" }, el("tr", {}, ...["raised", "message", "cleared"].map((h) => el("th", {}, t(h)))),
        ...alerts.filter((a) => !a.acked).map((a) => el("tr", {}, el("td", {}, time(a.raised)), el("td", {}, a.message),
          el("td", {}, time(a.cleared)))))),
  );
  await load();
}

/** A machine's name as a small button. */
function machineButton(text, onclick) {
  const b = el("button", { type: "button", class: "small secondary", "data-machine": text }, text);
  b.addEventListener("click", onclick);
  return b;
}

/** A machine's states from `a` to `b` (ms) as one bar, and its stops of 5 min or more
 * with the reasons given to them. */
async function showTimeline(shop, machine, a, b, box) {
  const path = `/api/v1/shops/${encodeURIComponent(shop)}/machines/${encodeURIComponent(machine)}/timeline`;
  const tl = await api(`${path}?from=${a}&to=${b}`);
  const NS = "http://www.w3.org/2000/svg";
  const W = Math.max(300, box.parentNode.clientWidth - 40), H = 44;
  const svg = document.createElementNS(NS, "svg");
  for (const [k, v] of Object.entries({ width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: "chart-svg" })) svg.setAttribute(k, v);
  const x = (ms) => ((ms - a) / Math.max(1, b - a)) * W;
  for (const s of tl.states) {
    const r = document.createElementNS(NS, "rect");
    const [s0, s1] = [Date.parse(s.start), Date.parse(s.end)];
    for (const [k, v] of Object.entries({ x: x(s0), y: 2, width: Math.max(0.5, x(s1) - x(s0)), height: 22, class: `fill-${s.state}` })) r.setAttribute(k, v);
    const title = document.createElementNS(NS, "title");
    title.textContent = `${t(s.state)} ${time(s.start)} – ${time(s.end)}`;
    r.append(title);
    svg.append(r);
  }
  for (const [ms, anchor] of [[a, "start"], [b, "end"]]) {
    const label = document.createElementNS(NS, "text");
    for (const [k, v] of Object.entries({ x: anchor === "start" ? 0 : W, y: 40, "text-anchor": anchor, class: "axis" })) label.setAttribute(k, v);
    label.textContent = time(new Date(ms).toISOString());
    svg.append(label);
  }
  const reason = (s0, s1) => tl.notes.find((n) => n.kind === "reason" && n.start_ms < s1 && (n.end_ms == null || n.end_ms > s0))?.value;
  const stops = tl.states.filter((s) => s.state !== "Executing" && Date.parse(s.end) - Date.parse(s.start) >= 300e3);
  const minutes = (s) => `${Math.round((Date.parse(s.end) - Date.parse(s.start)) / 60e3)} min`;
  box.replaceChildren(el("h2", {}, `${t("timeline")}: ${machine}`), svg,
    el("table", { id: "stops" }, el("tr", {}, ...["since", "duration", "state", "reason"].map((h) => el("th", {}, t(h)))),
      ...stops.map((s) => el("tr", {}, el("td", {}, time(s.start)), el("td", {}, minutes(s)), el("td", {}, t(s.state)),
        el("td", {}, reason(Date.parse(s.start), Date.parse(s.end)) ?? t("noreason"))))));
  box.hidden = false;
}

/** The shop's charts, drawn by the edge's chart code from the edge's summary figures. */
function summaryCharts(summary) {
  const C = window.SheetSightCharts;
  const card = (kind, heading, body) => el("div", { class: "card", "data-card": kind }, el("h2", {}, t(heading)), body);
  const dates = [...new Set(summary.days.map((d) => d.date))].sort();
  const machines = [...new Set(summary.days.map((d) => d.machine))];
  const series = machines.map((m) => ({ name: m,
    values: dates.map((date) => summary.days.find((d) => d.date === date && d.machine === m)?.availability ?? null) }));
  const total = summary.downtime_by_reason.reduce((n, d) => n + d.seconds, 0);
  const hours = (s) => `${(s / 3600).toFixed(1)} h`;
  const pareto = total > 0
    ? C.hbars({ max: Math.max(...summary.downtime_by_reason.map((d) => d.seconds)),
        rows: summary.downtime_by_reason.map((d) => ({ label: d.label ?? t("noreason"),
          bars: [{ segments: [{ value: d.seconds, cls: "barfill", tip: `${hours(d.seconds)} · ${d.stops}` }], value: hours(d.seconds) }] })) })
    : el("p", { class: "muted" }, t("nostops"));
  return [
    card("availability", "trend", dates.length ? C.lines({ series, labels: dates.map((d) => d.slice(5)) }) : el("p", { class: "muted" }, t("none"))),
    card("pareto-reason", "byreason", pareto),
    card("shifts", "shifts", C.hbars({ max: 1, rows: summary.shifts.map((s) => ({ label: s.shift,
      bars: [{ segments: [{ value: s.availability || 0, color: C.color(0), tip: pct(s.availability) }], value: pct(s.availability) }] })) })),
  ];
}

document.addEventListener("DOMContentLoaded", () => {
  translate();
  document.getElementById("lang").addEventListener("click", () => {
    lang = lang === "zh" ? "en" : "zh";
    localStorage.setItem("lang", lang);
    translate();
    if (session) route();
  });
  document.getElementById("login").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const error = document.getElementById("login-error");
    error.textContent = "";
    try {
      const r = await fetch("/api/v1/login", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ name: f.get("name"), password: f.get("password") }) });
      if (!r.ok) throw new Error((await r.json().catch(() => ({})))?.error?.message || r.statusText);
      await start();
    } catch (e) { error.textContent = e.message; }
  });
  document.getElementById("logout").addEventListener("click", async () => {
    await api("/api/v1/logout", { method: "POST" }).catch(() => {});
    showLogin();
  });
  document.getElementById("picker").addEventListener("change", route);
  window.addEventListener("hashchange", () => {
    const shop = decodeURIComponent(location.hash.slice(2));
    const picker = document.getElementById("picker");
    if (session && picker.value !== shop) { picker.value = shop; route(); }
  });
  start().catch(() => showLogin());
});
