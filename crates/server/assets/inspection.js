// The inspection pages over /api/v1/stations, /parts and /inspections: a table's station
// page (live: the verdict large, what failed in words, the overlay zoomable, a button
// to inspect), the inspection history with filters and CSV, the parts library (upload
// for admins) and a part's control charts.
"use strict";
(() => {
const S = window.SheetSight;
const { el, svg, api, t } = S;
const enc = encodeURIComponent;
const when = (ms) => new Date(ms).toLocaleString(S.lang() === "zh" ? "zh-CN" : "en-GB");
const mm = (v, d = 3) => v === null || v === undefined ? "–" : v.toFixed(d);
const card = (kind, heading, ...body) => el("div", { class: "card", "data-card": kind }, el("h2", {}, heading), ...body);
const verdictWord = (v) => t("insp.verdict." + v);

function tabs(active) {
  return el("nav", { class: "row tabs" }, [["inspection", "insp.history"], ["parts", "insp.library"]].map(([page, key]) =>
    el("a", { href: `#/${page}`, class: page === active ? "active" : null }, t(key))));
}

/** The verdict, large, with what failed in words. */
function verdictBlock(last) {
  if (!last) return el("div", { class: "verdict none", id: "verdict", "data-outcome": "none" }, t("insp.none"));
  if (last.outcome === "refused") {
    return el("div", { class: "verdict refused", id: "verdict", "data-outcome": "refused" },
      el("b", {}, t("insp.refused")), el("p", { id: "verdict-message" }, last.message), el("p", { class: "muted" }, when(last.t_ms)));
  }
  const pass = last.verdict === "pass";
  return el("div", { class: `verdict ${pass ? "pass" : "fail"}`, id: "verdict", "data-outcome": last.verdict, "data-inspection": last.id },
    el("b", {}, verdictWord(last.verdict)),
    el("p", {}, `${last.part} ${t("insp.rev")} ${last.revision}`,
      last.match_confidence !== null && last.match_confidence !== undefined
        ? el("span", { class: "muted", id: "verdict-match" }, ` · ${t("insp.matched")} ${Math.round(last.match_confidence * 100)} %`) : null),
    pass ? null : el("ul", { id: "verdict-failures" }, last.failures.map((f) => el("li", {}, f))),
    el("p", { class: "muted" }, `${when(last.t_ms)} · ${t("insp.trigger." + last.trigger)} · ${Math.round(last.timings.total_ms)} ms`));
}

/** The overlay: fitted to the page; a click shows it at full size where clicked. */
function overlayBlock(id) {
  const img = el("img", { src: `/api/v1/inspections/${id}/overlay.jpg`, alt: t("insp.overlay"), id: "overlay" });
  const box = el("div", { class: "overlay-box", title: t("insp.zoom") }, img);
  img.addEventListener("click", (ev) => {
    const zoomed = box.classList.toggle("zoomed");
    if (zoomed) {
      const fx = ev.offsetX / img.clientWidth, fy = ev.offsetY / img.clientHeight;
      requestAnimationFrame(() => { box.scrollLeft = fx * img.naturalWidth - box.clientWidth / 2; box.scrollTop = fy * img.naturalHeight - box.clientHeight / 2; });
    }
  });
  return box;
}

async function tablePage(view, id) {
  let chosen = "";
  const render = async () => {
    const [st, parts] = await Promise.all([api("GET", `/stations/${enc(id)}`), api("GET", "/parts")]);
    const last = st.last ? { outcome: st.last.outcome, ...st.last } : null;
    const pick = el("select", { id: "table-part", onchange: (ev) => { chosen = ev.target.value; } },
      el("option", { value: "" }, t("insp.automatch")),
      parts.map((p) => el("option", { value: `${p.part}\u0000${p.revision}`, selected: chosen === `${p.part}\u0000${p.revision}` }, `${p.part} ${t("insp.rev")} ${p.revision}`)));
    const status = el("p", { class: "error", id: "table-status" });
    const button = el("button", { id: "inspect-now", class: "big", onclick: async () => {
      button.disabled = true; status.textContent = t("insp.working");
      const [part, revision] = chosen ? chosen.split("\u0000") : [null, null];
      try { await api("POST", `/stations/${enc(id)}/inspect`, { part, revision, trigger: "button" }); status.textContent = ""; }
      catch (e) { status.textContent = e.message; }
      button.disabled = false;
      await render();
    } }, t("insp.inspect"));
    view.replaceChildren(el("div", { class: "table-station", "data-station": id },
      el("div", { class: "row" }, el("h1", {}, `${t("insp.station")} ${id}`), el("span", { class: "spacer" }),
        el("a", { href: `#/inspection?station=${enc(id)}` }, t("insp.history"))),
      st.problem ? el("p", { class: "error", id: "table-problem" }, st.problem) : null,
      S.can("operator") && st.source_kind !== "folder" ? el("div", { class: "row" }, pick, button) : null,
      st.source_kind === "folder" ? el("p", { class: "muted" }, t("insp.hotfolder"), " ", el("code", {}, st.source)) : null,
      st.auto ? el("p", { class: "muted" }, t("insp.auto")) : null,
      status,
      verdictBlock(last),
      last && last.outcome === "inspected" ? overlayBlock(last.id) : null));
  };
  try { await render(); } catch (e) { S.showError(view, e); }
  return S.onEvent((kind, d) => {
    if (kind === "station" && d.event && d.event.station === id) render().catch((e) => S.showError(view, e));
  });
}

async function historyPage(view, _arg, query) {
  const q = new URLSearchParams(query);
  const params = () => {
    const p = new URLSearchParams();
    for (const k of ["part", "station", "verdict"]) if (q.get(k)) p.set(k, q.get(k));
    // Dates are local days, whole.
    const from = q.get("from") ? new Date(q.get("from") + "T00:00") : new Date(Date.now() - 30 * 86400e3);
    const to = q.get("to") ? new Date(new Date(q.get("to") + "T00:00").getTime() + 86400e3) : new Date(Date.now() + 60e3);
    p.set("from", from.toISOString()); p.set("to", to.toISOString());
    return p;
  };
  const render = async () => {
    const p = params(); p.set("limit", "200");
    const [stations, page] = await Promise.all([api("GET", "/stations"), api("GET", `/inspections?${p}`)]);
    const csv = params(); csv.set("format", "csv");
    const field = (name, key, attrs = {}) => el("label", {}, el("span", {}, t(key)), el("input", { name, value: q.get(name) || "", ...attrs }));
    view.replaceChildren(el("div", {}, tabs("inspection"),
      card("stations", t("insp.stations"), stations.length === 0 ? el("p", { class: "muted" }, t("insp.nostations")) :
        el("div", { class: "row" }, stations.map((s) => {
          const last = s.last && s.last.outcome === "inspected" ? s.last.verdict : s.last ? "refused" : "none";
          return el("a", { class: `station-chip v-${last}`, href: `#/table/${enc(s.id)}`, "data-station": s.id }, s.id, " · ", last === "none" ? "–" : t("insp.verdict." + last));
        }))),
      card("history", t("insp.history"),
        el("form", { class: "row filters", id: "filters", onsubmit: (ev) => {
            ev.preventDefault();
            const f = new URLSearchParams(new FormData(ev.target));
            for (const [k, v] of [...f]) if (!v) f.delete(k);
            location.hash = `#/inspection?${f}`;
          } },
          field("part", "insp.part"), field("station", "insp.station"),
          el("label", {}, el("span", {}, t("insp.verdict")), el("select", { name: "verdict" },
            ["", "pass", "fail"].map((v) => el("option", { value: v, selected: (q.get("verdict") || "") === v }, v ? verdictWord(v) : t("insp.any"))))),
          field("from", "insp.from", { type: "date" }), field("to", "insp.to", { type: "date" }),
          el("button", {}, t("insp.filter")),
          el("a", { href: `/api/v1/inspections?${csv}`, id: "csv", download: "inspections.csv" }, "CSV")),
        page.items.length === 0 ? el("p", { class: "muted", id: "no-inspections" }, t("insp.empty")) :
          el("table", { id: "inspections" }, el("tr", {}, ["insp.time", "insp.station", "insp.part", "insp.verdict", "insp.failed", "insp.operator", "insp.trigger", ""].map((k) => el("th", {}, k ? t(k) : ""))),
            page.items.map((r) => el("tr", { "data-inspection": r.id, class: `v-${r.verdict}` },
              el("td", {}, when(r.t_ms)), el("td", {}, el("a", { href: `#/table/${enc(r.station)}` }, r.station)),
              el("td", {}, el("a", { href: `#/part/${enc(r.part)}` }, `${r.part} ${r.revision}`)),
              el("td", {}, verdictWord(r.verdict)), el("td", {}, r.failed), el("td", {}, r.operator || "–"),
              el("td", {}, t("insp.trigger." + r.trigger)),
              el("td", {}, el("a", { href: `/api/v1/inspections/${r.id}/overlay.jpg`, target: "_blank" }, t("insp.overlay")))))))));
  };
  try { await render(); } catch (e) { S.showError(view, e); }
  return S.onEvent((kind) => { if (kind === "station") render().catch(() => {}); });
}

async function partsPage(view) {
  const status = el("p", { class: "error", id: "upload-status" });
  const upload = () => el("form", { id: "upload", class: "row", onsubmit: async (ev) => {
      ev.preventDefault();
      const f = new FormData(ev.target);
      const file = f.get("file");
      if (!file || !file.name) { status.textContent = t("insp.nofile"); return; }
      const p = new URLSearchParams({ file_name: file.name });
      if (f.get("units")) p.set("units", f.get("units"));
      if (f.get("thickness_mm")) p.set("thickness_mm", f.get("thickness_mm"));
      const r = await fetch(`/api/v1/parts/${enc(f.get("part"))}/${enc(f.get("revision") || "-")}?${p}`, {
        method: "PUT", credentials: "same-origin", body: await file.arrayBuffer(),
        headers: { "Content-Type": "application/dxf", "X-CSRF-Token": S.csrf() || "", "Accept": "application/json" } });
      const data = await r.json().catch(() => null);
      if (!r.ok) { status.textContent = (data && data.error && data.error.message) || r.statusText; return; }
      status.textContent = data.warnings.length ? data.warnings.join("; ") : "";
      await render();
    } },
    el("input", { name: "part", placeholder: t("insp.part"), required: true }),
    el("input", { name: "revision", placeholder: t("insp.rev"), size: 4 }),
    el("input", { name: "file", type: "file", accept: ".dxf" }),
    el("select", { name: "units" }, el("option", { value: "" }, t("insp.units")), ["mm", "cm", "m", "in"].map((u) => el("option", { value: u }, u))),
    el("input", { name: "thickness_mm", type: "number", step: "0.1", min: "0", placeholder: t("insp.thickness") }),
    el("button", {}, t("insp.upload")));
  const render = async () => {
    const parts = await api("GET", "/parts");
    view.replaceChildren(el("div", {}, tabs("parts"), card("library", t("insp.library"),
      S.can("admin") ? upload() : null, status,
      parts.length === 0 ? el("p", { class: "muted" }, t("insp.nolibrary")) :
        el("table", { id: "parts" }, el("tr", {}, ["insp.part", "insp.rev", "insp.file", "insp.area", "insp.holes", "insp.added", ""].map((k) => el("th", {}, k ? t(k) : ""))),
          parts.map((p) => el("tr", { "data-part": p.part, "data-revision": p.revision },
            el("td", {}, el("a", { href: `#/part/${enc(p.part)}` }, p.part)), el("td", {}, p.revision),
            el("td", {}, el("a", { href: `/api/v1/parts/${enc(p.part)}/${enc(p.revision)}/drawing.dxf` }, p.file_name)),
            el("td", {}, `${Math.round(p.area_mm2)} mm²`), el("td", {}, p.holes), el("td", {}, `${when(p.added_ms)} · ${p.added_by}`),
            el("td", {}, S.can("admin") ? el("button", { class: "small", onclick: async () => {
              if (!confirm(`${t("insp.remove")} ${p.part} ${p.revision}?`)) return;
              await api("DELETE", `/parts/${enc(p.part)}/${enc(p.revision)}`); await render(); } }, t("insp.remove")) : null)))),
      el("p", { class: "muted" }, t("insp.folderhint")))));
  };
  try { await render(); } catch (e) { S.showError(view, e); }
}

/** An individuals chart: the points, the centre, the control limits, the tolerance. */
function controlChart(series) {
  const c = series.chart, v = c.values, n = v.length;
  const W = 640, H = 200, left = 56, right = 10, top = 10, bottom = 20;
  const lows = [Math.min(...v), c.lower_limit, c.tolerance.lower ?? c.lower_limit];
  const highs = [Math.max(...v), c.upper_limit, c.tolerance.upper];
  let lo = Math.min(...lows), hi = Math.max(...highs);
  if (hi - lo < 1e-6) { hi += 0.001; lo -= 0.001; }
  const pad = (hi - lo) * 0.08; lo -= pad; hi += pad;
  const x = (i) => left + (n === 1 ? 0 : i * (W - left - right) / (n - 1));
  const y = (val) => top + (hi - val) / (hi - lo) * (H - top - bottom);
  const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart-svg spc", width: "100%" });
  const hline = (val, cls, label) => {
    s.append(svg("line", { x1: left, x2: W - right, y1: y(val), y2: y(val), class: cls }));
    const tx = svg("text", { x: left - 4, y: y(val) + 4, "text-anchor": "end", class: "axis" }); tx.textContent = label; s.append(tx);
  };
  hline(c.centre, "centre", mm(c.centre, 4));
  hline(c.upper_limit, "limit", mm(c.upper_limit, 4));
  hline(c.lower_limit, "limit", mm(c.lower_limit, 4));
  hline(c.tolerance.upper, "tolerance", mm(c.tolerance.upper, 2));
  if (c.tolerance.lower !== null && c.tolerance.lower !== undefined) hline(c.tolerance.lower, "tolerance", mm(c.tolerance.lower, 2));
  s.append(svg("polyline", { points: v.map((val, i) => `${x(i)},${y(val)}`).join(" "), fill: "none", class: "series" }));
  v.forEach((val, i) => {
    const out = val > c.upper_limit || val < c.lower_limit;
    const dot = svg("circle", { cx: x(i), cy: y(val), r: 3, class: out ? "out" : "in" });
    const tip = svg("title"); tip.textContent = `${when(series.times[i])}: ${mm(val, 4)} mm (#${series.inspections[i]})`; dot.append(tip);
    s.append(dot);
  });
  return s;
}

async function partPage(view, part) {
  const render = async () => {
    const charts = await api("GET", `/parts/${enc(part)}/spc`);
    view.replaceChildren(el("div", {}, tabs(""), el("h1", {}, `${t("insp.spc")} ${part}`),
      el("p", { class: "muted" }, t("insp.spchint")),
      charts.length === 0 ? el("p", { class: "muted", id: "no-spc" }, t("insp.nospc")) : null,
      charts.map((ser) => card("spc", `${ser.feature} · ${t("insp.measure." + ser.measure)}`,
        el("div", { class: "row" },
          el("span", {}, `${t("insp.points")} ${ser.chart.values.length}`),
          el("span", {}, `Cp ${ser.chart.cp === null ? "–" : ser.chart.cp.toFixed(2)}`),
          el("span", { "data-cpk": ser.chart.cpk }, `Cpk ${ser.chart.cpk === null ? "–" : ser.chart.cpk.toFixed(2)}`),
          el("span", { class: "muted" }, `σ ${mm(ser.chart.sigma, 4)} mm`)),
        controlChart(ser),
        ser.alerts.length ? el("ul", { class: "spc-alerts" }, ser.alerts.map((a) => el("li", {}, a))) : el("p", { class: "muted" }, t("insp.noalerts"))))));
  };
  try { await render(); } catch (e) { S.showError(view, e); }
}

S.pages.table = { role: "viewer", show: (view, arg) => tablePage(view, arg) };
S.pages.inspection = { role: "viewer", show: historyPage };
S.pages.parts = { role: "viewer", show: partsPage };
S.pages.part = { role: "viewer", show: (view, arg) => partPage(view, arg) };
})();
