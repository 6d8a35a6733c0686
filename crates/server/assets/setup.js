// The set-up page (admins): cameras added and tested, stack lights found, machines added,
// all saved into the configuration file by the server and applied without a restart.
"use strict";
(() => {
const { $, el, svg, api, t } = window.SheetSight;

// An API error as { message, field }.
async function call(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const csrf = window.SheetSight.csrf();
  if (csrf && method !== "GET") headers["X-CSRF-Token"] = csrf;
  const r = await fetch("/api/v1" + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
  const data = await r.json().catch(() => null);
  if (!r.ok) { const e = new Error((data && data.error && data.error.message) || r.statusText); e.field = data && data.error && data.error.field; throw e; }
  return data;
}

// Shows `e` next to its field in `form` (or at the form's end), clears the others.
function fieldErrors(form, e) {
  for (const s of form.querySelectorAll(".field-error")) s.textContent = "";
  if (!e) return;
  const name = (e.field || "").replace(/\[.*$/, "");
  const slot = form.querySelector(`.field-error[data-for="${name}"]`) || form.querySelector(".field-error[data-for=form]");
  slot.textContent = e.message;
}
const field = (name, label, input) => el("label", { class: "field" }, el("span", {}, label), input, el("span", { class: "field-error error", "data-for": name }));

function cameraCard(setup, rerender) {
  const form = el("form", { id: "camera-form", class: "setupform" },
    field("id", t("setup.camera.id"), el("input", { name: "id", required: true, placeholder: "cam1", pattern: "[A-Za-z0-9_-]{1,64}" })),
    field("source", t("setup.camera.url"), el("input", { name: "source", required: true, placeholder: "rtsp://192.168.1.20:554/stream1", size: 40 })),
    field("username", t("setup.camera.user"), el("input", { name: "username", autocomplete: "off" })),
    field("password", t("setup.camera.password"), el("input", { name: "password", type: "password", autocomplete: "new-password" })),
    el("div", { class: "row" },
      el("button", { type: "button", id: "camera-test", class: "secondary" }, t("setup.camera.test")),
      el("button", { id: "camera-add" }, t("setup.camera.add"))),
    el("span", { class: "field-error error", "data-for": "form" }),
    el("div", { id: "camera-test-result" }));
  const values = () => { const f = new FormData(form); return { id: f.get("id"), source: f.get("source"), username: f.get("username") || null, password: f.get("password") || null }; };
  $("#camera-test", form).addEventListener("click", async () => {
    const out = $("#camera-test-result", form); fieldErrors(form, null);
    out.replaceChildren(el("p", { class: "muted" }, t("setup.camera.testing")));
    try {
      const r = await call("POST", "/setup/cameras/test", values());
      out.replaceChildren(r.ok
        ? el("div", { class: "test ok" }, el("p", { id: "test-ok" }, `✓ ${r.codec}, ${r.width_px}×${r.height_px}${r.fps ? `, ${r.fps} fps` : ""}`), r.snapshot ? el("img", { src: r.snapshot, class: "thumb", alt: "" }) : null)
        : el("p", { class: "error", id: "test-problem", "data-problem": r.problem }, `${t("setup.problem." + r.problem)}: ${r.message}`));
    } catch (e) { fieldErrors(form, e); out.replaceChildren(); }
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault(); fieldErrors(form, null);
    try { await call("POST", "/setup/cameras", values()); rerender(); } catch (e) { fieldErrors(form, e); }
  });
  const remove = async (c) => {
    const machines = setup.machines.filter((m) => m.camera === c.id).map((m) => m.id);
    if (!confirm(`${t("setup.camera.remove")} ${c.id}?${machines.length ? "\n" + t("setup.camera.alsomachines") + " " + machines.join(", ") : ""}\n${t("setup.historystays")}`)) return;
    try { await call("DELETE", `/setup/cameras/${encodeURIComponent(c.id)}?confirm=${encodeURIComponent(c.id)}`); rerender(); } catch (e) { alert(e.message); }
  };
  return el("div", { class: "card" }, el("h2", {}, t("setup.cameras")),
    setup.cameras.length === 0 ? el("p", { class: "muted" }, t("setup.nocameras")) :
      el("table", { id: "setup-cameras" }, setup.cameras.map((c) => el("tr", { "data-camera": c.id },
        el("td", {}, el("a", { href: `#/camera/${encodeURIComponent(c.id)}` }, c.id)), el("td", { class: "muted" }, c.source),
        el("td", {}, el("button", { class: "small secondary", onclick: () => remove(c) }, t("setup.remove")))))),
    el("h3", {}, t("setup.camera.new")), form);
}

// The camera's picture with proposed towers and a motion region drawn as a rectangle.
function machineCard(setup, rerender) {
  let towers = [], chosen = null, motion = null, job = null, camera = setup.cameras[0] && setup.cameras[0].id;
  const picture = el("div", { class: "camview" });
  const progress = el("progress", { id: "find-progress", max: 1, value: 0, hidden: true });
  const findStatus = el("span", { class: "muted", id: "find-status" });
  const lampList = el("div", { id: "lamp-list" });
  const form = el("form", { id: "machine-form", class: "setupform" });
  let size = [1280, 720];
  const overlay = svg("svg", { id: "setup-overlay", preserveAspectRatio: "none" });
  const img = el("img", { alt: "" });
  picture.append(img, overlay);
  const toImage = (ev) => { const r = overlay.getBoundingClientRect(); return [Math.round((ev.clientX - r.left) / r.width * size[0]), Math.round((ev.clientY - r.top) / r.height * size[1])]; };
  const draw = () => {
    overlay.setAttribute("viewBox", `0 0 ${size[0]} ${size[1]}`);
    overlay.replaceChildren();
    towers.forEach((tw, k) => tw.lamps.forEach((l, i) => {
      const poly = svg("polygon", { points: l.roi.map((p) => p.join(",")).join(" "), class: `roi lampprop${chosen === k ? " sel" : ""}`, "data-tower": k, "data-lamp": i });
      poly.addEventListener("pointerdown", (ev) => {
        ev.preventDefault(); chosen = k; showLamps();
        const start = toImage(ev), orig = l.roi.map((p) => p.slice());
        poly.setPointerCapture(ev.pointerId);
        const move = (e2) => { const q = toImage(e2); l.roi = orig.map((p) => [p[0] + q[0] - start[0], p[1] + q[1] - start[1]]); poly.setAttribute("points", l.roi.map((p) => p.join(",")).join(" ")); };
        poly.addEventListener("pointermove", move);
        poly.addEventListener("pointerup", () => { poly.removeEventListener("pointermove", move); draw(); }, { once: true });
      });
      overlay.append(poly);
    }));
    if (motion) overlay.append(svg("polygon", { points: motion.map((p) => p.join(",")).join(" "), class: "roi motion", id: "motion-rect" }));
  };
  // A drag on the picture (outside a lamp) draws the motion region.
  overlay.addEventListener("pointerdown", (ev) => {
    if (ev.target !== overlay) return;
    ev.preventDefault(); overlay.setPointerCapture(ev.pointerId);
    const a = toImage(ev);
    const move = (e2) => { const b = toImage(e2); const [x0, x1] = [Math.min(a[0], b[0]), Math.max(a[0], b[0])], [y0, y1] = [Math.min(a[1], b[1]), Math.max(a[1], b[1])];
      motion = [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]; draw(); };
    overlay.addEventListener("pointermove", move);
    overlay.addEventListener("pointerup", () => { overlay.removeEventListener("pointermove", move); if (motion && (motion[1][0] - motion[0][0] < 4 || motion[2][1] - motion[1][1] < 4)) motion = null; draw(); }, { once: true });
  });
  const showLamps = () => {
    lampList.replaceChildren();
    if (chosen === null || !towers[chosen]) { if (towers.length) lampList.append(el("p", { class: "muted" }, t("setup.lamps.pick"))); draw(); return; }
    const tw = towers[chosen];
    lampList.append(el("p", {}, t("setup.lamps.chosen")), el("ol", {}, tw.lamps.map((l, i) => el("li", { "data-lamp": i },
      el("select", { "data-lamp-color": i, onchange: (ev) => { l.color = ev.target.value; } }, setup.lamp_colors.map((c) => el("option", { value: c, selected: c === l.color }, t("color." + c)))),
      " ", el("span", { class: "muted" }, t("evidence." + l.evidence)), " ",
      el("button", { type: "button", class: "small secondary", onclick: () => { tw.lamps.splice(i, 1); showLamps(); } }, "×")))));
    draw();
  };
  const loadPicture = () => {
    if (!camera) { picture.hidden = true; return; }
    picture.hidden = false;
    img.src = `/api/v1/cameras/${encodeURIComponent(camera)}/snapshot.jpg?${Date.now()}`;
    img.onload = () => { size = [img.naturalWidth, img.naturalHeight]; draw(); };
  };
  const find = async () => {
    towers = []; chosen = null; showLamps(); progress.hidden = false; progress.value = 0;
    findStatus.textContent = t("setup.find.watching");
    try {
      await call("POST", `/cameras/${encodeURIComponent(camera)}/find-lamps`, { watch_s: 30 });
      for (;;) {
        await new Promise((r) => { job = setTimeout(r, 500); });
        const s = await call("GET", `/cameras/${encodeURIComponent(camera)}/find-lamps`);
        progress.value = s.progress;
        if (s.state === "watching") continue;
        progress.hidden = true;
        if (s.state === "failed") { findStatus.textContent = `${t("error")}: ${s.error}`; return; }
        towers = s.towers; chosen = towers.length ? 0 : null;
        findStatus.textContent = `${towers.length} ${t("setup.find.found")} (${s.frames} ${t("setup.find.frames")})`;
        loadPicture(); showLamps(); return;
      }
    } catch (e) { progress.hidden = true; findStatus.textContent = `${t("error")}: ${e.message}`; }
  };
  const cameraSelect = el("select", { name: "camera", onchange: (ev) => { camera = ev.target.value; towers = []; chosen = null; motion = null; loadPicture(); showLamps(); } },
    setup.cameras.map((c) => el("option", { value: c.id }, c.id)));
  form.append(
    field("camera", t("setup.machine.camera"), cameraSelect),
    field("id", t("setup.machine.id"), el("input", { name: "id", required: true, placeholder: "brake-1" })),
    field("kind", t("setup.machine.kind"), el("select", { name: "kind" }, setup.machine_kinds.map((k) => el("option", { value: k }, t("kind." + k))))),
    field("ideal_strokes_per_hour", t("setup.machine.ideal"), el("input", { name: "ideal", type: "number", min: 1, step: 1, class: "narrow" })),
    el("div", { class: "row" }, el("button", { type: "button", id: "find-lamps", class: "secondary", onclick: find }, t("setup.find")), progress, findStatus),
    el("p", { class: "muted" }, t("setup.motion.hint")), picture, lampList,
    el("span", { class: "field-error error", "data-for": "lamps" }), el("span", { class: "field-error error", "data-for": "motion_roi" }),
    el("div", { class: "row" }, el("button", { id: "machine-add" }, t("setup.machine.add"))),
    el("span", { class: "field-error error", "data-for": "form" }));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault(); fieldErrors(form, null);
    const f = new FormData(form);
    const lamps = chosen === null || !towers[chosen] ? [] : towers[chosen].lamps.map((l) => ({ color: l.color, roi: l.roi }));
    const ideal = f.get("ideal");
    try {
      await call("POST", "/setup/machines", { id: f.get("id"), camera, kind: f.get("kind"), lamps, motion_roi: motion, ideal_strokes_per_hour: ideal ? Number(ideal) : null });
      rerender();
    } catch (e) { fieldErrors(form, e); }
  });
  const remove = async (m) => {
    if (!confirm(`${t("setup.machine.remove")} ${m.id}?\n${t("setup.historystays")}`)) return;
    try { await call("DELETE", `/setup/machines/${encodeURIComponent(m.id)}?confirm=${encodeURIComponent(m.id)}`); rerender(); } catch (e) { alert(e.message); }
  };
  loadPicture();
  const card = el("div", { class: "card" }, el("h2", {}, t("setup.machines")),
    setup.machines.length === 0 ? el("p", { class: "muted" }, t("setup.nomachines")) :
      el("table", { id: "setup-machines" }, setup.machines.map((m) => el("tr", { "data-machine": m.id },
        el("td", {}, el("a", { href: `#/machine/${encodeURIComponent(m.id)}` }, m.id)), el("td", {}, m.camera),
        el("td", {}, m.kind ? t("kind." + m.kind) : "–"), el("td", {}, `${m.lamps} ${t("camera.lamp")}${m.motion ? " + " + t("camera.motion") : ""}`),
        el("td", {}, el("button", { class: "small secondary", onclick: () => remove(m) }, t("setup.remove")))))),
    setup.cameras.length ? [el("h3", {}, t("setup.machine.new")), form] : null);
  return { card, stop: () => clearTimeout(job) };
}

// Shifts, downtime reasons and the summary's times.
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
function shopCard(setup, rerender) {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const shifts = (setup.shop.shifts || []).map((s) => ({ ...s }));
  const rows = el("div", { id: "shifts" });
  const drawShifts = () => rows.replaceChildren(...shifts.map((s, i) => el("div", { class: "row shift", "data-shift": i },
    el("input", { "aria-label": t("setup.shift.name"), placeholder: t("setup.shift.name"), value: s.name, class: "shiftname", oninput: (ev) => { s.name = ev.target.value; } }),
    el("input", { type: "time", "aria-label": t("setup.shift.start"), value: s.start, oninput: (ev) => { s.start = ev.target.value; } }), "–",
    el("input", { type: "time", "aria-label": t("setup.shift.end"), value: s.end, oninput: (ev) => { s.end = ev.target.value; } }),
    el("span", { class: "days" }, DAYS.map((d) => el("label", {}, el("input", { type: "checkbox", checked: s.days.length === 0 || s.days.includes(d),
      onchange: (ev) => { const on = s.days.length ? s.days : DAYS.slice(); s.days = ev.target.checked ? [...new Set([...on, d])] : on.filter((x) => x !== d); if (s.days.length === 7) s.days = []; } }), t("day." + d)))),
    el("input", { "aria-label": t("setup.shift.zone"), value: s.time_zone || zone, class: "zone", oninput: (ev) => { s.time_zone = ev.target.value; } }),
    el("button", { type: "button", class: "small secondary", onclick: () => { shifts.splice(i, 1); drawShifts(); } }, "×"),
    el("span", { class: "field-error error", "data-for": `shifts[${i}]` }))));
  drawShifts();
  const form = el("form", { id: "shop-form", class: "setupform" },
    el("h3", {}, t("setup.shifts")), el("p", { class: "muted" }, t("setup.shifts.hint")), rows,
    el("div", { class: "row" }, el("button", { type: "button", class: "small secondary", id: "shift-add", onclick: () => {
      shifts.push({ name: "", start: "08:00", end: "20:00", days: [], time_zone: zone }); drawShifts(); } }, t("setup.shift.add"))),
    field("downtime_reasons", t("setup.reasons"), el("textarea", { name: "reasons", rows: 5 }, (setup.shop.downtime_reasons || []).join("\n"))),
    field("summary_at", t("setup.summary_at"), el("input", { name: "summary_at", placeholder: "08:00, 20:00", value: (setup.shop.summary_at || []).join(", ") })),
    el("div", { class: "row" }, el("button", { id: "shop-save" }, t("camera.save")), el("span", { class: "muted saved" })),
    el("span", { class: "field-error error", "data-for": "form" }));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault(); fieldErrors(form, null);
    const f = new FormData(form);
    const list = (v, sep) => String(v).split(sep).map((x) => x.trim()).filter(Boolean);
    try {
      await call("PUT", "/setup/shop", { shifts: shifts.map((s) => ({ name: s.name.trim(), start: s.start, end: s.end, days: s.days, time_zone: s.time_zone || zone })),
        downtime_reasons: list(f.get("reasons"), "\n"), summary_at: list(f.get("summary_at"), /[,\s]+/) });
      form.querySelector(".saved").textContent = t("camera.saved");
      setTimeout(rerender, 800);
    } catch (e) { fieldErrors(form, e); }
  });
  return el("div", { class: "card", id: "shop" }, el("h2", {}, t("setup.shop")), form);
}

async function setupPage(view) {
  let stop = () => {};
  const render = async () => {
    stop();
    let setup;
    try { setup = await api("GET", "/setup"); } catch (e) { view.replaceChildren(el("p", { class: "error" }, e.message)); return; }
    const machines = machineCard(setup, render);
    stop = machines.stop;
    view.replaceChildren(
      setup.cameras.length === 0 ? el("div", { class: "card firstrun", id: "first-run" }, el("h1", {}, t("setup.welcome")),
        el("ol", {}, el("li", {}, t("setup.step1")), el("li", {}, t("setup.step2")), el("li", {}, t("setup.step3")))) : null,
      !setup.editable ? el("p", { class: "error" }, t("setup.builtin")) : null,
      cameraCard(setup, render), machines.card, setup.editable ? shopCard(setup, render) : null,
      el("p", { class: "muted" }, `${t("setup.file")}: ${setup.file}`));
  };
  await render();
  return () => stop();
}
window.SheetSight.pages.setup = { role: "admin", show: setupPage };
})();
