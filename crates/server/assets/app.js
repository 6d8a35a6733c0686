// SheetSight dashboard: a small single-page app over the REST API and the live events.
// No framework and no build step; every view reads /api/v1 like any other client.
"use strict";
(() => {
const $ = (sel, root = document) => root.querySelector(sel);
const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids.flat()) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
};
const SVG = "http://www.w3.org/2000/svg";
const svg = (tag, attrs = {}) => { const e = document.createElementNS(SVG, tag); for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v); return e; };

// ---- language ----
let lang = localStorage.getItem("lang") || ((navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en");
const t = (k) => (window.I18N[lang] && window.I18N[lang][k]) || window.I18N.en[k] || k;
function applyI18n(root = document) {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  for (const e of root.querySelectorAll("[data-i18n]")) e.textContent = t(e.dataset.i18n);
  $("#lang").textContent = lang === "zh" ? "English" : "中文";
}
$("#lang").addEventListener("click", () => { lang = lang === "zh" ? "en" : "zh"; localStorage.setItem("lang", lang); applyI18n(); route(); });

// ---- API ----
let session = null;
async function api(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (session && session.csrf && method !== "GET") headers["X-CSRF-Token"] = session.csrf;
  const r = await fetch("/api/v1" + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
  if (r.status === 401 && path !== "/login") { showLogin(); throw new Error("login"); }
  if (r.status === 204) return null;
  const data = await r.json().catch(() => null);
  if (!r.ok) throw new Error((data && data.error && data.error.message) || r.statusText);
  return data;
}
const can = (role) => session && ["viewer", "operator", "admin"].indexOf(session.role) >= ["viewer", "operator", "admin"].indexOf(role);

// ---- formatting ----
const pct = (x) => x === null || x === undefined ? "–" : (x * 100).toFixed(1) + " %";
function dur(s) {
  s = Math.max(0, Math.round(s));
  const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, ss = s % 60;
  return h ? `${h} h ${m} min` : m ? `${m} min ${ss} s` : `${ss} s`;
}
const clock = (iso) => new Date(iso).toLocaleTimeString(lang === "zh" ? "zh-CN" : "en-GB", { hour: "2-digit", minute: "2-digit" });
const stateName = (s) => s ? t("state." + s) : t("state.none");
function showError(where, e) { if (e.message !== "login") where.replaceChildren(el("p", { class: "error" }, t("error") + ": " + e.message)); }

// ---- login ----
function showLogin() {
  session = null;
  $("#login").hidden = false; $("#view").hidden = true; $("#nav").hidden = true; $("#logout").hidden = true; $("#alerts").hidden = true;
  stopEvents();
}
$("#login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  try {
    session = await api("POST", "/login", { name: f.get("name"), password: f.get("password") });
    $("#login-error").textContent = ""; ev.target.reset(); start();
  } catch (e) { $("#login-error").textContent = t("login.wrong"); }
});
$("#logout").addEventListener("click", async () => { try { await api("POST", "/logout"); } catch (e) {} showLogin(); });

// ---- live events ----
let source = null;
const handlers = new Set();
function startEvents() {
  if (source) return;
  source = new EventSource("/api/v1/events");
  source.onopen = () => { $("#live").classList.add("on"); $("#live").dataset.i18n = "live.on"; applyI18n($("#live").parentNode); };
  source.onerror = () => { $("#live").classList.remove("on"); $("#live").dataset.i18n = "live.off"; applyI18n($("#live").parentNode); };
  for (const kind of ["lamp", "state", "stroke", "cycle", "motion", "health", "alert", "note", "regions", "station", "lagged"]) {
    source.addEventListener(kind, (m) => { const d = JSON.parse(m.data); for (const h of handlers) h(kind, d); });
  }
}
function stopEvents() { if (source) { source.close(); source = null; } }
handlers.add((kind) => { if (kind === "alert") loadAlerts(); });

// ---- alerts ----
async function loadAlerts() {
  const box = $("#alerts");
  try {
    const page = await api("GET", "/alerts?open=true&limit=20");
    box.replaceChildren(...page.items.map((a) => el("div", { class: "alert", "data-alert": a.id },
      el("span", { class: "msg" }, `⚠ ${a.message}`, el("span", { class: "muted" }, ` (${clock(new Date(a.raised_ms).toISOString())}${a.cleared_ms ? ", ✓" : ""})`)),
      can("operator") ? el("button", { class: "small", onclick: async () => { await api("POST", `/alerts/${a.id}/ack`); loadAlerts(); } }, t("alert.ack")) : null)));
    box.hidden = page.items.length === 0;
  } catch (e) { /* shown on the next event */ }
}

// ---- overview ----
let tickTimer = null;
function lampEl(l) {
  return el("div", { class: `lamp c-${l.color}`, "data-lamp": l.index, "data-mode": l.mode || "", title: `${l.color}: ${l.mode ? t("lamp." + l.mode) : "–"}` });
}
function tile(m) {
  return el("a", { class: "tile", href: `#/machine/${encodeURIComponent(m.id)}`, "data-machine": m.id, "data-state": m.state || "" },
    el("div", { class: "lamps" }, m.lamps.map(lampEl)),
    el("h2", {}, m.id),
    el("div", { class: `state st-${m.state}`, "data-role": "state" }, stateName(m.state)),
    el("div", { class: "muted" }, t("tile.for"), " ", el("span", { class: "since", "data-since": m.state ? m.state_since : null }, "–")),
    el("dl", { class: "kv" },
      el("dt", {}, t("tile.availability")), el("dd", { "data-role": "availability" }, pct(m.availability_today),
        m.watched_share_today != null && m.watched_share_today < 0.995 ? el("span", { class: "muted", "data-role": "watched" }, ` · ${t("tile.watched")} ${pct(m.watched_share_today)}`) : null),
      el("dt", {}, t("tile.strokes")), el("dd", { "data-role": "strokes" }, m.strokes_today),
      el("dt", {}, t("tile.job")), el("dd", {}, m.job || "–"),
      el("dt", {}, t("tile.camera")), el("dd", { "data-role": "camera" }, `${m.camera} · ${t("health." + m.camera_health)}`),
      m.operator_people == null ? null : el("dt", {}, t("tile.operator")),
      m.operator_people == null ? null : el("dd", { "data-role": "attended" }, attendedText(m.operator_people))));
}
// "Attended (2)" or "Unattended": who stands in the machine's operator zones now.
function attendedText(people) {
  return people > 0 ? `${t("tile.attended")} (${people})` : t("tile.unattended");
}
function tickSince() {
  for (const s of document.querySelectorAll("[data-since]")) s.textContent = dur((Date.now() - Date.parse(s.dataset.since)) / 1000);
}
async function overview(view) {
  const grid = el("div", { class: "grid", id: "tiles" });
  view.replaceChildren(grid);
  // Head counts of the operator zones: zone → [machine, people], from the zones' stored
  // counts at each load and from the presence events between loads.
  const operatorZones = new Map();
  const load = async () => {
    const [o, zones] = await Promise.all([api("GET", "/overview"), api("GET", "/zones")]);
    for (const z of zones) if (z.operator_of && z.people !== null) operatorZones.set(z.id, [z.operator_of, z.people]);
    grid.replaceChildren(...o.machines.map(tile));
    tickSince();
  };
  try { await load(); } catch (e) { return showError(view, e); }
  const onEvent = (kind, d) => {
    if (kind === "presence" && d.operator_of) {
      operatorZones.set(d.zone, [d.operator_of, d.people]);
      const tileEl = grid.querySelector(`[data-machine="${CSS.escape(d.operator_of)}"]`);
      const cell = tileEl && tileEl.querySelector("[data-role=attended]");
      if (!cell) { load().catch(() => {}); return; }
      const people = [...operatorZones.values()].filter(([m]) => m === d.operator_of).reduce((n, [, p]) => n + p, 0);
      cell.textContent = attendedText(people);
      return;
    }
    const tileEl = d.machine && grid.querySelector(`[data-machine="${CSS.escape(d.machine)}"]`);
    if (kind === "lamp" && tileEl) {
      const l = tileEl.querySelector(`[data-lamp="${d.lamp}"]`);
      if (l) { l.dataset.mode = d.mode; l.title = `${d.color}: ${t("lamp." + d.mode)}`; l.dataset.eventT = Math.round(d.t * 1000); l.dataset.sentMs = d.sent_ms; l.dataset.shownAt = Date.now(); }
    } else if (kind === "state" && tileEl) {
      tileEl.dataset.state = d.state;
      const s = tileEl.querySelector("[data-role=state]"); s.className = `state st-${d.state}`; s.textContent = stateName(d.state);
      tileEl.querySelector(".since").dataset.since = d.at; tickSince();
    } else if (kind === "stroke" && tileEl) {
      const s = tileEl.querySelector("[data-role=strokes]"); s.textContent = Number(s.textContent) + 1;
    } else if (kind === "note" || kind === "lagged" || kind === "regions" || kind === "health") { load().catch(() => {}); }
  };
  handlers.add(onEvent);
  const refresh = setInterval(() => load().catch(() => {}), 15000);
  return () => { handlers.delete(onEvent); clearInterval(refresh); };
}

// ---- machine page ----
function gantt(rows, from, to) {
  // rows: [{id, states:[{state,start,end}], highlight}]
  // Drawn at the width it is shown at (again when that changes), so that its text keeps
  // its size on a phone.
  const rowH = 26, top = 22;
  let W = 0, labelW = 110;
  const box = el("div", { class: "chart", "data-chart": "timeline" });
  // It opens on the recorded span (from the first record on), not on slivers at the end.
  const first = Math.min(...rows.flatMap((r) => r.states.map((st) => Date.parse(st.start))));
  let a = Number.isFinite(first) && first > from ? Math.max(from, Math.min(first - (to - first) * 0.03, to - 60e3)) : from, b = to;
  const draw = (width) => {
    W = width;
    labelW = Math.min(110, Math.max(...rows.map((r) => window.SheetSightCharts.measure(r.id))) + 10);
    const H = top + rows.length * rowH + 6;
    const s = svg("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: "gantt chart-svg", "data-from": a, "data-to": b });
    const x = (ms) => labelW + (Math.min(Math.max(ms, a), b) - a) / (b - a) * (W - labelW - 6);
    // Ticks far enough apart for their labels.
    const tickW = window.SheetSightCharts.measure(clock(new Date(a).toISOString())) + 12;
    const fit = Math.max(1, Math.floor((W - labelW - 6) / tickW));
    const step = [60e3, 300e3, 900e3, 1800e3, 3600e3, 7200e3, 14400e3, 28800e3].find((st) => (b - a) / st <= fit) || 28800e3;
    for (let g = Math.ceil(a / step) * step; g <= b; g += step) {
      s.append(svg("line", { x1: x(g), x2: x(g), y1: top - 4, y2: top + rows.length * rowH, stroke: "#e5e7eb" }));
      // A label is written only where the whole of it (measured, not assumed from the
      // first one) stays inside the chart.
      const label = clock(new Date(g).toISOString());
      if (x(g) + 2 + window.SheetSightCharts.measure(label) + 2 <= W) { const tx = svg("text", { x: x(g) + 2, y: 12, class: "tick" }); tx.textContent = label; s.append(tx); }
    }
    rows.forEach((r, i) => {
      const y = top + i * rowH;
      const lb = svg("text", { x: 0, y: y + 16, class: "lbl", "font-weight": r.highlight ? 700 : 400 }); lb.textContent = r.id; s.append(lb);
      for (const st of r.states) {
        const s0 = Date.parse(st.start), s1 = Date.parse(st.end);
        if (s1 <= a || s0 >= b) continue;
        const rect = svg("rect", { x: x(s0), y: y + 2, width: Math.max(0.5, x(s1) - x(s0)), height: rowH - 6, class: `fill-${st.state}` });
        const ti = svg("title"); ti.textContent = `${stateName(st.state)} ${clock(st.start)}–${clock(st.end)} (${dur((s1 - s0) / 1000)})`; rect.append(ti);
        s.append(rect);
      }
    });
    s.addEventListener("wheel", (ev) => { ev.preventDefault(); zoom(ev.deltaY < 0 ? 0.5 : 2); }, { passive: false });
    let dragX = null;
    s.addEventListener("pointerdown", (ev) => { dragX = ev.clientX; });
    s.addEventListener("pointerup", (ev) => {
      if (dragX === null) return;
      const dx = (ev.clientX - dragX) / s.getBoundingClientRect().width * (b - a) * W / (W - labelW);
      dragX = null; if (Math.abs(dx) > 1) { const span = b - a; a = Math.max(from, Math.min(to - span, a - dx)); b = a + span; redraw(); }
    });
    return s;
  };
  const zoom = (f) => { const mid = (a + b) / 2, span = Math.min(to - from, Math.max(60e3, (b - a) * f)); a = Math.max(from, mid - span / 2); b = Math.min(to, a + span); a = b - span; redraw(); };
  const redraw = window.SheetSightCharts.atWidth(box, draw);
  const legend = el("div", { class: "legend" }, ["Executing", "NotExecuting", "OutOfService", "NotAvailable"].map((s) => el("span", {}, el("i", { class: `bg-${s}` }), stateName(s))));
  const controls = el("div", { class: "row" },
    el("button", { class: "small", onclick: () => zoom(0.5) }, t("machine.zoomin")),
    el("button", { class: "small", onclick: () => zoom(2) }, t("machine.zoomout")),
    el("button", { class: "small", onclick: () => { a = from; b = to; redraw(); } }, t("machine.reset")), legend);
  return el("div", {}, controls, box);
}
function strokeBars(hours) {
  return window.SheetSightCharts.vbars({ bars: hours.map((h) => ({ label: clock(h.hour_start), value: h.strokes })) });
}
async function machinePage(view, id) {
  let range = "shift", minMinutes = 5;
  // Gives stop `s` its downtime reason (to its end, or onwards while it lasts).
  const giveReason = (s, reason) =>
    api("POST", `/machines/${encodeURIComponent(id)}/reason`, { start: s.start_ms, end: s.open ? undefined : Date.parse(s.end), reason });
  const render = async () => {
    const [fig, machines, reasons] = await Promise.all([
      api("GET", `/machines/${encodeURIComponent(id)}/shift?min_minutes=${minMinutes}`),
      api("GET", "/machines"), api("GET", "/downtime-reasons")]);
    const now = Date.now();
    const from = range === "shift" ? Date.parse(fig.start) : new Date(new Date().setHours(0, 0, 0, 0)).getTime();
    const to = range === "shift" ? Math.min(now, Date.parse(fig.end)) : now;
    const lines = await Promise.all(machines.map(async (m) => {
      const tl = await api("GET", `/machines/${encodeURIComponent(m.id)}/timeline?from=${from}&to=${Math.max(to, from + 1000)}`);
      return { id: m.id, states: tl.states, highlight: m.id === id };
    }));
    lines.sort((p, q) => (q.highlight ? 1 : 0) - (p.highlight ? 1 : 0));
    const stops = fig.stops.slice().reverse();
    view.replaceChildren(
      el("div", { class: "card" },
        el("div", { class: "row" }, el("h1", {}, id), el("span", { class: "spacer" }),
          el("button", { class: "small", onclick: () => { range = "day"; render().catch((e) => showError(view, e)); } }, t("machine.day")),
          el("button", { class: "small", onclick: () => { range = "shift"; render().catch((e) => showError(view, e)); } }, t("machine.shift"))),
        el("h2", {}, t("machine.timeline"), el("span", { class: "muted" }, ` ${fig.shift} ${fig.date}`)),
        gantt(lines, from, Math.max(to, from + 1000))),
      el("div", { class: "card" }, el("h2", {}, t("machine.figures")),
        el("div", { class: "figures" },
          el("div", { class: "figure", "data-figure": "availability" }, t("machine.availability"), el("b", {}, pct(fig.availability_seen)),
            fig.planned_s > 0 ? el("span", { class: "muted" }, `${t("tile.watched")} ${pct(1 - fig.not_available_s / fig.planned_s)}`) : null),
          el("div", { class: "figure", "data-figure": "performance" }, t("machine.performance"), el("b", {}, pct(fig.performance)), fig.performance === null && fig.executing_s > 0 ? el("small", { class: "muted" }, t("machine.noideal")) : null),
          el("div", { class: "figure", "data-figure": "quality" }, t("machine.quality"), el("b", {}, pct(fig.quality)),
            el("small", { class: "muted" }, fig.inspected ? `${fig.passed} / ${fig.inspected} ${t("machine.inspected")}` : t("machine.noinspection"))),
          el("div", { class: "figure", "data-figure": "oee" }, t("machine.oee"), el("b", {}, pct(fig.oee))),
          el("div", { class: "figure", "data-figure": "strokes" }, t("machine.strokes"), el("b", {}, fig.strokes))),
        el("h3", {}, t("machine.perhour")), strokeBars(fig.strokes_by_hour)),
      await window.SheetSight.machineHistory(id).catch((e) => el("p", { class: "error" }, e.message)),
      el("div", { class: "card" },
        el("div", { class: "row" }, el("h2", {}, t("machine.stops")), el("span", {}, t("machine.longer")),
          el("input", { type: "number", min: 0, step: 1, value: minMinutes, class: "narrow", onchange: (ev) => { minMinutes = Number(ev.target.value) || 0; render().catch((e) => showError(view, e)); } }),
          el("span", {}, t("machine.minutes"))),
        stops.length === 0 ? el("p", { class: "muted" }, t("machine.nostops")) :
        el("div", { class: "scroll" }, el("table", { id: "stops" },
          el("tr", {}, el("th", {}, t("machine.start")), el("th", {}, t("machine.duration")), el("th", {}, t("machine.reason"))),
          stops.map((s) => el("tr", { "data-stop": s.start_ms },
            el("td", {}, clock(s.start)), el("td", {}, dur(s.duration_s), s.open ? el("span", { class: "muted" }, ` (${t("machine.ongoing")})`) : null),
            el("td", {}, can("operator")
              ? el("select", { "data-role": "reason", onchange: async (ev) => {
                  ev.target.disabled = true;
                  try { await giveReason(s, ev.target.value); ev.target.dataset.saved = ev.target.value; }
                  catch (e) { alert(e.message); } finally { ev.target.disabled = false; } } },
                  el("option", { value: "", disabled: true, selected: !s.reason }, t("machine.pick")),
                  reasons.map((r) => el("option", { value: r, selected: r === s.reason }, r)))
              : (s.reason || "–"),
              // Proposed from the operator zone, never set by itself: one click confirms it.
              s.suggested_reason && !s.reason && can("operator") && reasons.includes(s.suggested_reason)
                ? el("button", { class: "small secondary", "data-role": "suggested", title: t("machine.suggestedhint"), onclick: async (ev) => {
                    ev.target.disabled = true;
                    try { await giveReason(s, s.suggested_reason); await render(); }
                    catch (e) { alert(e.message); ev.target.disabled = false; } } }, `${t("machine.suggested")}: ${s.suggested_reason}`)
                : null)))))),
      await cyclesCard(id, render),
      can("operator") ? el("form", { class: "card row", onsubmit: async (ev) => {
          ev.preventDefault(); const job = new FormData(ev.target).get("job");
          try { await api("POST", `/machines/${encodeURIComponent(id)}/job`, { job }); ev.target.reset(); } catch (e) { alert(e.message); } } },
        el("label", {}, t("machine.job"), " ", el("input", { name: "job", required: true, maxlength: 120 })), el("button", {}, t("machine.setjob"))) : null);
  };
  try { await render(); } catch (e) { showError(view, e); }
  const timer = setInterval(() => { if (!view.querySelector("select:focus")) render().catch(() => {}); }, 60000);
  return () => clearInterval(timer);
}

// ---- cycles, standards and the station page ----
const midnight = () => new Date(new Date().setHours(0, 0, 0, 0)).getTime();
const secs = (x) => x === null || x === undefined ? "–" : x.toFixed(1) + " s";
const clipUrl = (id) => `/api/v1/cycles/${id}/clip.mp4`;
async function cyclesData(id) {
  const q = `machine=${encodeURIComponent(id)}`;
  const [stats, page, standards] = await Promise.all([
    api("GET", `/cycle-stats?${q}&from=${midnight()}`), api("GET", `/cycles?${q}&limit=15`), api("GET", `/standards?${q}`)]);
  const std = (job) => standards.find((s) => s.job === job) || null;
  return { stats, cycles: page.items, standards, std };
}
async function cyclesCard(id, rerender) {
  const { stats, cycles, std } = await cyclesData(id);
  const player = el("div", { class: "player" });
  const play = (c) => player.replaceChildren(el("video", { controls: true, autoplay: true, muted: true, playsinline: true, src: clipUrl(c.id), "data-cycle": c.id }));
  const job = cycles.length ? cycles[0].job : null;
  const current = job ? std(job) : null;
  return el("div", { class: "card", id: "cycles" },
    el("div", { class: "row" }, el("h2", {}, t("cycles.title")), el("span", { class: "spacer" }),
      el("a", { href: `#/station/${encodeURIComponent(id)}`, class: "button" }, t("cycles.station"))),
    el("h3", {}, t("cycles.stats")),
    stats.length === 0 ? el("p", { class: "muted" }, t("cycles.none")) : el("div", { class: "scroll" }, el("table", { id: "cycle-stats" },
      el("tr", {}, ["machine.job", "cycles.count", "cycles.median", "cycles.p10", "cycles.p90", "cycles.standard", "cycles.over", "cycles.lost"].map((k) => el("th", {}, t(k)))),
      stats.map((r) => el("tr", {}, el("td", {}, r.job || t("cycles.nojob")), el("td", {}, r.count), el("td", {}, secs(r.median_s)),
        el("td", {}, secs(r.p10_s)), el("td", {}, secs(r.p90_s)), el("td", {}, secs(r.standard_s)),
        el("td", {}, r.over_standard_pct === null ? "–" : r.over_standard_pct.toFixed(0) + " %"), el("td", {}, r.lost_min === null ? "–" : r.lost_min.toFixed(1)))))),
    el("h3", {}, t("cycles.last")),
    cycles.length === 0 ? el("p", { class: "muted" }, t("cycles.none")) : el("div", { class: "scroll" }, el("table", { id: "cycle-list" },
      el("tr", {}, ["cycles.end", "machine.job", "cycles.time", "cycles.strokes", "", ""].map((k) => el("th", {}, k ? t(k) : ""))),
      cycles.map((c) => {
        const s = c.job ? std(c.job) : null;
        const slow = s && s.standard_ms && c.duration_s * 1000 > s.standard_ms;
        const golden = s && s.golden_cycle === c.id;
        return el("tr", { "data-cycle": c.id, class: slow ? "slow" : null },
          el("td", {}, clock(c.end)), el("td", {}, c.job || t("cycles.nojob")),
          el("td", {}, secs(c.duration_s), slow ? el("span", { class: "tag slow" }, t("cycles.slow")) : null), el("td", {}, c.strokes),
          el("td", {}, el("button", { class: "small secondary", "data-role": "play", onclick: () => play(c) }, "▶ " + t("cycles.play"))),
          el("td", {}, golden ? el("span", { class: "tag golden" }, "★ " + t("cycles.isgolden"))
            : can("operator") && c.job ? el("button", { class: "small", "data-role": "golden", onclick: async (ev) => {
                ev.target.disabled = true;
                try { await api("POST", `/cycles/${c.id}/golden`); await rerender(); } catch (e) { alert(e.message); ev.target.disabled = false; } } }, "★ " + t("cycles.golden")) : null));
      }))),
    player,
    can("operator") && job ? el("form", { class: "standard", id: "standard", onsubmit: async (ev) => {
        ev.preventDefault(); const f = new FormData(ev.target); const v = String(f.get("standard_s")).trim();
        try {
          await api("PUT", `/standards/${encodeURIComponent(id)}/${encodeURIComponent(job)}`,
            { standard_s: v === "" ? null : Number(v), steps_en: f.get("steps_en"), steps_zh: f.get("steps_zh") });
          ev.target.querySelector(".saved").textContent = t("cycles.saved");
        } catch (e) { alert(e.message); } } },
      el("h3", {}, t("cycles.edit"), " ", job),
      el("label", {}, t("cycles.standard_s"), el("input", { name: "standard_s", type: "number", min: 0.1, step: 0.1, value: current && current.standard_given ? current.standard_ms / 1000 : "" })),
      el("label", {}, t("cycles.steps_en"), el("textarea", { name: "steps_en", rows: 3, maxlength: 4000 }, current ? current.steps_en : "")),
      el("label", {}, t("cycles.steps_zh"), el("textarea", { name: "steps_zh", rows: 3, maxlength: 4000 }, current ? current.steps_zh : "")),
      el("div", { class: "row" }, el("button", {}, t("cycles.save")), el("span", { class: "saved muted" }))) : null);
}

async function stationPage(view, id) {
  document.body.classList.add("station-mode");
  let videoSrc = null;
  const render = async () => {
    const [detail, data] = await Promise.all([api("GET", `/machines/${encodeURIComponent(id)}`), cyclesData(id)]);
    const live = detail.live || {};
    const job = live.job || null;
    const s = job ? data.std(job) : null;
    const today = data.stats.reduce((n, r) => n + r.count, 0);
    const jobs = [...new Set([...data.standards.map((x) => x.job), ...data.cycles.map((c) => c.job).filter(Boolean)])];
    const steps = s ? (lang === "zh" ? (s.steps_zh || s.steps_en) : (s.steps_en || s.steps_zh)) : "";
    const src = s && s.golden_cycle ? clipUrl(s.golden_cycle) : null;
    // The looping clip is kept across refreshes, so it does not start over.
    const video = view.querySelector("video#golden");
    const golden = src && video && videoSrc === src ? video
      : src ? el("video", { id: "golden", autoplay: true, muted: true, loop: true, playsinline: true, src, "data-cycle": s.golden_cycle }) : null;
    videoSrc = src;
    view.replaceChildren(el("div", { class: "station", "data-machine": id },
      el("div", { class: "st-head" },
        el("div", {}, el("div", { class: "st-label" }, id), el("div", { class: `st-state st-${live.state || "NotAvailable"}` }, stateName(live.state))),
        el("div", { class: "st-count" }, el("div", { class: "st-label" }, t("station.today")), el("b", { id: "station-count" }, today))),
      el("div", { class: "st-job" }, el("div", { class: "st-label" }, t("station.job")),
        el("b", { id: "station-job" }, job || t("station.nojob")),
        s && s.standard_ms ? el("span", { class: "st-std" }, `${t("cycles.standard")} ${secs(s.standard_ms / 1000)}`) : null,
        can("operator") && jobs.length ? el("select", { id: "station-pick", onchange: async (ev) => {
            try { await api("POST", `/machines/${encodeURIComponent(id)}/job`, { job: ev.target.value }); await render(); } catch (e) { alert(e.message); } } },
          el("option", { value: "", selected: true, disabled: true }, t("station.pick")), jobs.map((j) => el("option", { value: j }, j))) : null),
      el("div", { class: "st-main" },
        el("div", { class: "st-video" }, el("div", { class: "st-label" }, t("station.golden")), golden || el("p", { class: "muted" }, t("station.nogolden"))),
        el("div", { class: "st-steps" }, el("div", { class: "st-label" }, t("station.steps")), el("pre", { id: "station-steps" }, steps))),
      el("div", { class: "st-last" }, el("div", { class: "st-label" }, t("station.last")),
        el("ol", { id: "station-cycles" }, data.cycles.slice(0, 8).map((c) => {
          const cs = c.job ? data.std(c.job) : null;
          const slow = cs && cs.standard_ms && c.duration_s * 1000 > cs.standard_ms;
          return el("li", { class: slow ? "slow" : "ok", "data-cycle": c.id }, el("span", {}, clock(c.end)), el("b", {}, secs(c.duration_s)),
            cs && cs.standard_ms ? el("span", { class: "muted" }, ` / ${secs(cs.standard_ms / 1000)}`) : null);
        })))));
  };
  try { await render(); } catch (e) { showError(view, e); }
  let pending = null;
  const onEvent = (kind, d) => {
    if ((kind === "cycle" || kind === "note" || kind === "state") && (d.machine === id || (d.note && d.note.machine === id)) && !pending) {
      pending = setTimeout(() => { pending = null; render().catch(() => {}); }, 1500);
    }
  };
  handlers.add(onEvent);
  const timer = setInterval(() => render().catch(() => {}), 30000);
  return () => { handlers.delete(onEvent); clearInterval(timer); if (pending) clearTimeout(pending); document.body.classList.remove("station-mode"); };
}

// ---- cameras ----
async function camerasPage(view) {
  try {
    const cams = await api("GET", "/cameras");
    view.replaceChildren(el("div", { class: "card scroll" }, el("table", {},
      el("tr", {}, el("th", {}, t("nav.cameras")), el("th", {}, t("camera.health")), el("th", {}, t("camera.frames")), el("th", {}, t("camera.dropped")), el("th", {}, t("camera.reconnects"))),
      cams.map((c) => el("tr", { "data-camera": c.id },
        el("td", {}, el("a", { href: `#/camera/${encodeURIComponent(c.id)}` }, c.id), el("div", { class: "muted" }, c.source)),
        el("td", {}, t("health." + c.health), c.detail ? el("div", { class: "muted" }, c.detail) : null),
        el("td", {}, c.frames_analyzed), el("td", {}, c.frames_stale + c.packets_dropped), el("td", {}, c.reconnects))))));
  } catch (e) { showError(view, e); }
}

async function cameraPage(view, id) {
  let regions;
  try { regions = await api("GET", `/cameras/${encodeURIComponent(id)}/regions`); } catch (e) { return showError(view, e); }
  let editing = null, drawing = null, selected = null;
  const w = regions.frame_width_px || 1280, h = regions.frame_height_px || 720;
  const img = el("img", { src: `/api/v1/cameras/${encodeURIComponent(id)}/mjpeg`, alt: t("camera.live"), width: w, height: h });
  const overlay = svg("svg", { viewBox: `0 0 ${w} ${h}`, preserveAspectRatio: "none", id: "overlay" });
  const status = el("p", { class: "muted", id: "edit-status" });
  const list = el("div", { class: "editlist" });
  let people = { boxes: [], counts: {} };
  const shapes = () => [...(editing || regions).machines.flatMap((m) => [
    ...m.lamps.map((l) => ({ key: `${m.id}/lamp/${l.index}`, label: `${m.id} ${t("camera.lamp")} ${l.index} (${l.color})`, pts: l.roi, mode: l.mode, motion: false, m: m.id, i: l.index })),
    ...(m.motion ? [{ key: `${m.id}/motion`, label: `${m.id} ${t("camera.motion")}`, pts: m.motion, motion: true, m: m.id }] : [])]),
    ...(editing || regions).zones.map((z) => ({ key: `zone/${z.id}`, label: `${t("camera.zone")} ${z.id}`, pts: z.roi, zone: z }))];
  const toImage = (ev) => { const r = overlay.getBoundingClientRect(); return [Math.round((ev.clientX - r.left) / r.width * w), Math.round((ev.clientY - r.top) / r.height * h)]; };
  const draw = () => {
    overlay.replaceChildren();
    for (const s of shapes()) {
      const kind = s.motion ? " motion" : s.zone ? ` zone ${s.zone.kind}` : "";
      const poly = svg("polygon", { points: s.pts.map((p) => p.join(",")).join(" "), class: `roi${kind}${selected === s.key ? " sel" : ""}`, "data-region": s.key });
      overlay.append(poly);
      const lb = svg("text", { x: s.pts[0][0], y: Math.max(14, s.pts[0][1] - 4), class: "roilabel", "data-label": s.key });
      lb.textContent = s.motion ? s.label : s.zone ? `${s.zone.id}${s.zone.kind === "danger" ? " ⚠" : ""}: ${people.counts[s.zone.id] ?? "–"}` : `${s.i}: ${s.mode ? t("lamp." + s.mode) : "–"}`;
      overlay.append(lb);
      if (editing && !drawing) s.pts.forEach((p, k) => {
        const c = svg("circle", { cx: p[0], cy: p[1], r: Math.max(4, w / 250), class: "vertex" });
        c.addEventListener("pointerdown", (ev) => {
          ev.preventDefault(); selected = s.key; c.setPointerCapture(ev.pointerId);
          const move = (e2) => { const q = toImage(e2); p[0] = Math.max(0, Math.min(w - 1, q[0])); p[1] = Math.max(0, Math.min(h - 1, q[1])); c.setAttribute("cx", p[0]); c.setAttribute("cy", p[1]); poly.setAttribute("points", s.pts.map((x) => x.join(",")).join(" ")); };
          c.addEventListener("pointermove", move);
          c.addEventListener("pointerup", () => { c.removeEventListener("pointermove", move); draw(); }, { once: true });
        });
        overlay.append(c);
      });
    }
    if (!editing) for (const b of people.boxes) {
      overlay.append(svg("rect", { x: b[0], y: b[1], width: b[2] - b[0], height: b[3] - b[1], class: "person", "data-person": "" }));
    }
    if (drawing && drawing.pts.length) {
      overlay.append(svg("polyline", { points: drawing.pts.map((p) => p.join(",")).join(" "), class: "roi sel", fill: "none" }));
      for (const p of drawing.pts) overlay.append(svg("circle", { cx: p[0], cy: p[1], r: Math.max(4, w / 250), class: "vertex" }));
    }
  };
  overlay.addEventListener("click", (ev) => { if (drawing) { drawing.pts.push(toImage(ev)); draw(); } });
  const controls = () => {
    list.replaceChildren();
    if (!can("admin") || !regions.editable) return;
    if (!editing) { list.append(el("button", { id: "edit-regions", onclick: startEdit }, t("camera.edit"))); return; }
    for (const s of shapes()) list.append(el("button", { class: "small", "data-redraw": s.key, onclick: () => {
      drawing = { target: s, pts: [] }; selected = s.key; status.textContent = t("camera.drawhint"); controls(); draw(); } }, `${t("camera.redraw")}: ${s.label}`));
    if (regions.people_watched) {
      for (const z of editing.zones) list.append(el("button", { class: "small secondary", "data-remove-zone": z.id, onclick: () => {
        editing.zones = editing.zones.filter((x) => x !== z); controls(); draw(); } }, `${t("camera.removezone")}: ${z.id}`));
      list.append(el("button", { class: "small", id: "add-zone", onclick: () => {
        const zoneId = (prompt(t("camera.zoneid")) || "").trim();
        if (!zoneId) return;
        const kind = confirm(t("camera.zonedanger")) ? "danger" : "work";
        const machines = editing.machines.map((m) => m.id);
        const machine = (prompt(t("camera.zonemachine"), machines[0] || "") || "").trim() || null;
        const z = { id: zoneId, kind, machine, roi: [] };
        editing.zones.push(z);
        drawing = { target: { pts: z.roi }, pts: [] }; selected = `zone/${zoneId}`; status.textContent = t("camera.drawhint"); controls(); draw();
      } }, t("camera.addzone")));
    }
    if (drawing) list.append(el("button", { id: "draw-done", onclick: () => {
      if (drawing.pts.length >= 3) { drawing.target.pts.splice(0, drawing.target.pts.length, ...drawing.pts); }
      drawing = null; status.textContent = ""; controls(); draw(); } }, t("camera.done")));
    list.append(el("button", { id: "save-regions", onclick: save }, t("camera.save")),
      el("button", { class: "secondary", onclick: () => { editing = null; drawing = null; img.src = `/api/v1/cameras/${encodeURIComponent(id)}/mjpeg`; controls(); draw(); } }, t("camera.cancel")));
  };
  function startEdit() {
    editing = JSON.parse(JSON.stringify(regions));
    img.src = `/api/v1/cameras/${encodeURIComponent(id)}/snapshot.jpg?${Date.now()}`;
    controls(); draw();
  }
  async function save() {
    try {
      const body = { machines: editing.machines.map((m) => ({ id: m.id, lamps: m.lamps.map((l) => ({ index: l.index, color: l.color, roi: l.roi })), motion: m.motion })),
        zones: editing.zones.filter((z) => z.roi.length >= 3) };
      regions = await api("PUT", `/cameras/${encodeURIComponent(id)}/regions`, body);
      editing = null; status.textContent = t("camera.saved");
      img.src = `/api/v1/cameras/${encodeURIComponent(id)}/mjpeg`;
    } catch (e) { status.textContent = t("error") + ": " + e.message; }
    controls(); draw();
  }
  const onEvent = (kind, d) => {
    if (kind === "presence") { people.counts[d.zone] = d.people; if (!editing) draw(); return; }
    if (kind !== "lamp") return;
    for (const m of regions.machines) if (m.id === d.machine && m.lamps[d.lamp]) { m.lamps[d.lamp].mode = d.mode; }
    if (!editing) draw();
  };
  handlers.add(onEvent);
  // The people of the last sighting, boxed on the live view (cameras watched for people).
  const lookForPeople = async () => {
    if (!regions.zones.length || editing) return;
    try {
      const p = await api("GET", `/cameras/${encodeURIComponent(id)}/people`);
      people.boxes = p.age_s !== null && p.age_s <= 3 ? p.boxes : [];
      draw();
    } catch (_) { /* the next poll tries again */ }
  };
  const peopleTimer = setInterval(lookForPeople, 1000);
  try {
    for (const z of await api("GET", "/zones")) if (z.camera === id && z.people !== null) people.counts[z.id] = z.people;
  } catch (_) { /* counts come with the next presence events */ }
  view.replaceChildren(el("div", { class: "card" }, el("h1", {}, id), el("div", { class: "camview" }, img, overlay), status, list));
  controls(); draw(); lookForPeople();
  return () => { handlers.delete(onEvent); clearInterval(peopleTimer); img.src = ""; };
}

// ---- users ----
async function usersPage(view) {
  const render = async () => {
    const [users, tokens] = await Promise.all([api("GET", "/users"), api("GET", "/tokens")]);
    const roleSelect = () => el("select", { name: "role" }, ["viewer", "operator", "admin"].map((r) => el("option", { value: r }, r)));
    const tokenOut = el("p", { class: "muted" });
    view.replaceChildren(
      el("div", { class: "card scroll" }, el("h1", {}, t("users.title")), el("table", {},
        users.map((u) => el("tr", {}, el("td", {}, u.name), el("td", {}, u.role),
          el("td", {}, u.name === session.name ? "" : el("button", { class: "small", onclick: async () => { await api("DELETE", `/users/${encodeURIComponent(u.name)}`); render(); } }, t("users.delete")))))),
        el("form", { class: "row", onsubmit: async (ev) => { ev.preventDefault(); const f = new FormData(ev.target);
            try { await api("POST", "/users", { name: f.get("name"), password: f.get("password"), role: f.get("role") }); render(); } catch (e) { alert(e.message); } } },
          el("input", { name: "name", placeholder: t("login.name"), required: true }), el("input", { name: "password", type: "password", placeholder: t("login.password"), minlength: 10, required: true }),
          roleSelect(), el("button", {}, t("users.add")))),
      el("div", { class: "card scroll" }, el("h2", {}, t("users.tokens")), el("table", {},
        tokens.map((k) => el("tr", {}, el("td", {}, k.name), el("td", {}, k.role),
          el("td", {}, el("button", { class: "small", onclick: async () => { await api("DELETE", `/tokens/${encodeURIComponent(k.name)}`); render(); } }, t("users.delete")))))),
        el("form", { class: "row", onsubmit: async (ev) => { ev.preventDefault(); const f = new FormData(ev.target);
            try { const r = await api("POST", "/tokens", { name: f.get("name"), role: f.get("role") }); tokenOut.replaceChildren(t("users.tokenonce"), " ", el("code", {}, r.token)); } catch (e) { alert(e.message); } } },
          el("input", { name: "name", placeholder: t("login.name"), required: true }), roleSelect(), el("button", {}, t("users.newtoken"))), tokenOut));
  };
  try { await render(); } catch (e) { showError(view, e); }
}

// ---- router ----
// Pages of the other scripts (reports.js, setup.js), by the hash's first part:
// { role, show(view, arg, query) }.
const pages = {};
// `onEvent(h)`: `h(kind, data)` hears every live event until the returned function is called.
const onEvent = (h) => { handlers.add(h); return () => handlers.delete(h); };
window.SheetSight = { $, el, svg, api, t, can, pages, pct, dur, clock, stateName, showError, onEvent, lang: () => lang, csrf: () => session && session.csrf };
let cleanup = null, visit = 0;
async function route() {
  if (!session) return;
  const mine = ++visit;
  if (cleanup) { cleanup(); cleanup = null; }
  // A fresh section per visit: a page still loading for an earlier visit draws into its
  // own section, which is no longer shown, instead of over this one.
  const view = el("section", { id: "view" });
  $("#view").replaceWith(view);
  const [path, search] = (location.hash || "#/").split("?");
  const [, page, arg] = path.split("/").map(decodeURIComponent);
  const query = new URLSearchParams(search || "");
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.getAttribute("href") === `#/${page || ""}` || (page === "machine" && a.getAttribute("href") === "#/"));
  applyI18n();
  let c;
  if (page === "machine" && arg) c = await machinePage(view, arg);
  else if (page === "station" && arg) c = await stationPage(view, arg);
  else if (page === "cameras") c = await camerasPage(view);
  else if (page === "camera" && arg) c = await cameraPage(view, arg);
  else if (page === "users" && can("admin")) c = await usersPage(view);
  else if (pages[page] && can(pages[page].role)) c = await pages[page].show(view, arg, query);
  else c = await overview(view);
  // A visit overtaken by a later one stops at once.
  if (mine !== visit) { if (typeof c === "function") c(); return; }
  cleanup = typeof c === "function" ? c : null;
}
window.addEventListener("hashchange", route);

async function start() {
  $("#login").hidden = true; $("#view").hidden = false; $("#nav").hidden = false; $("#logout").hidden = false;
  $("#nav-users").hidden = !can("admin");
  $("#nav-setup").hidden = !can("admin");
  document.body.dataset.role = session.role;
  startEvents(); loadAlerts();
  if (can("admin") && !location.hash) {
    const cams = await api("GET", "/cameras").catch(() => []);
    if (cams.length === 0) { location.hash = "#/setup"; return; }
  }
  await route();
}
setInterval(tickSince, 1000);
applyI18n();
api("GET", "/session").then((s) => { session = s; start(); }).catch(() => showLogin());
})();
