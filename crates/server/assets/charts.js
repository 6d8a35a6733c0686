// The dashboard's charts, drawn as SVG at the width they are shown at (again when it
// changes), so that their text keeps its size on a phone instead of shrinking with the
// picture. Labels are laid out from their measured width: axis labels are thinned to
// fit, a value is written inside or beside its bar only where it fits, long names are
// cut with "…" (the whole name is in the tooltip). A last pass drops any label that
// would still touch another; the browser test checks that none does.
"use strict";
window.SheetSightCharts = (() => {
const NS = "http://www.w3.org/2000/svg";
const svg = (tag, attrs = {}, text) => {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
};
const FONT_PX = 12;
const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"];
const color = (i) => PALETTE[i % PALETTE.length];

// Text is measured by the browser in an unseen SVG of the charts' own style, so that the
// width is that of the font actually used (a Chinese font draws digits wider).
let probe = null;
/** The width in px of `text` at the charts' font size. */
function measure(text, px = FONT_PX) {
  if (!probe || !probe.isConnected) {
    const s = svg("svg", { class: "chart-svg probe", width: 0, height: 0, "aria-hidden": "true" });
    probe = svg("text");
    s.append(probe);
    document.body.append(s);
  }
  probe.setAttribute("font-size", px);
  probe.textContent = String(text);
  return probe.getComputedTextLength();
}
/** `text` cut with "…" to at most `width` px. */
function fit(text, width) {
  text = String(text);
  if (measure(text) <= width) return text;
  let lo = 0, hi = text.length;
  while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (measure(text.slice(0, mid) + "…") <= width) lo = mid; else hi = mid - 1; }
  return lo === 0 ? "" : text.slice(0, lo) + "…";
}
const title = (node, text) => { node.append(svg("title", {}, text)); return node; };

/** Drops labels that overlap one drawn before them (priority `data-p`, lower first). */
function declutter(s) {
  const texts = [...s.querySelectorAll("text")].map((e, i) => ({ e, i, p: Number(e.dataset.p || 1) }));
  texts.sort((a, b) => a.p - b.p || a.i - b.i);
  const kept = [];
  for (const { e } of texts) {
    const r = e.getBBox();
    if (r.width === 0) continue;
    if (kept.some((k) => r.x < k.x + k.width + 2 && k.x < r.x + r.width + 2 && r.y < k.y + k.height && k.y < r.y + r.height)) e.remove();
    else kept.push(r);
  }
}

/**
 * Draws the SVG `draw(widthPx)` makes into `box` at the box's width, and again whenever
 * that changes; returns a function that draws again at the same width (after a zoom).
 */
function atWidth(box, draw) {
  let drawn = 0;
  const paint = () => {
    const s = draw(drawn);
    box.replaceChildren(s);
    declutter(s);
    box.dataset.drawnAt = String(drawn);
  };
  new ResizeObserver(() => {
    const w = Math.floor(box.clientWidth);
    if (w <= 0 || Math.abs(w - drawn) < 2) return;
    drawn = w;
    paint();
  }).observe(box);
  return () => { if (drawn > 0) paint(); };
}

/**
 * A box whose chart `draw(widthPx)` is drawn at the box's width, and again whenever that
 * changes. `legend` (optional) is HTML below it, so that it wraps instead of colliding.
 */
function chart(kind, draw, legend) {
  const box = document.createElement("div");
  box.className = "chart";
  box.dataset.chart = kind;
  atWidth(box, draw);
  if (!legend || legend.length === 0) return box;
  const wrap = document.createElement("div");
  wrap.append(box, legendOf(legend));
  return wrap;
}
function legendOf(items) {
  const l = document.createElement("div");
  l.className = "legend";
  for (const it of items) {
    const span = document.createElement("span");
    const sw = document.createElement("i");
    if (it.cls) sw.className = it.cls; else sw.style.background = it.color;
    span.append(sw, document.createTextNode(it.label));
    l.append(span);
  }
  return l;
}

/** Which of `n` evenly spaced labels of width up to `labelW` px fit `slotW` px apart: every k-th, counted from the last. */
function thin(n, slotW, labelW) {
  const k = Math.max(1, Math.ceil((labelW + 8) / Math.max(1, slotW)));
  return (i) => (n - 1 - i) % k === 0;
}

/**
 * Lines over categories (dates): `series` [{name, values: [0..1 | null]}], `labels` the
 * categories. Y is a share, 0-100 %.
 */
function lines({ series, labels, pct = (v) => (v * 100).toFixed(1) + " %" }) {
  const legend = series.map((s, i) => ({ label: s.name, color: color(i) }));
  return chart("lines", (W) => {
    const H = W < 500 ? 180 : 220, left = measure("100 %") + 10, right = 10, top = 10, bottom = FONT_PX + 12;
    const pw = W - left - right, ph = H - top - bottom, n = labels.length;
    const x = (i) => left + (n === 1 ? pw / 2 : i * pw / (n - 1));
    const y = (v) => top + (1 - v) * ph;
    const s = svg("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: "chart-svg" });
    for (const v of [0, 0.25, 0.5, 0.75, 1]) {
      s.append(svg("line", { x1: left, x2: W - right, y1: y(v), y2: y(v), class: "grid" }));
      s.append(svg("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end", class: "axis", "data-p": 0 }, `${v * 100} %`));
    }
    const labelW = Math.max(0, ...labels.map((l) => measure(l)));
    const show = thin(n, n === 1 ? pw : pw / (n - 1), labelW);
    labels.forEach((l, i) => {
      if (!show(i)) return;
      const lw = measure(l), cx = Math.min(Math.max(x(i), lw / 2 + 1), W - lw / 2 - 1);
      s.append(svg("text", { x: cx, y: H - 6, "text-anchor": "middle", class: "axis", "data-p": i === n - 1 ? -1 : 0 }, l));
    });
    series.forEach((ser, k) => {
      let run = [];
      const flush = () => { if (run.length > 1) s.append(svg("polyline", { points: run.join(" "), fill: "none", stroke: color(k), "stroke-width": 2 })); run = []; };
      ser.values.forEach((v, i) => {
        if (v === null || v === undefined) { flush(); return; }
        run.push(`${x(i)},${y(Math.min(1, v))}`);
        s.append(title(svg("circle", { cx: x(i), cy: y(Math.min(1, v)), r: 3, fill: color(k) }), `${ser.name} ${labels[i]}: ${pct(v)}`));
      });
      flush();
    });
    return s;
  }, legend);
}

/**
 * Horizontal bars, one row per item (no label can meet another row's): `rows`
 * [{label, bars: [{segments: [{value, cls | color, text?, tip}], value}]}], each row one
 * or more bars, each bar one or more stacked segments and its figure at the row's end;
 * `max` the value of a full bar.
 */
function hbars({ rows, max, legend }) {
  return chart("hbars", (W) => {
    const barH = 18, gap = 8;
    const values = rows.flatMap((r) => r.bars.map((b) => b.value || ""));
    const labelW = Math.min(Math.max(0, ...rows.map((r) => measure(r.label))) + 10, Math.round(W * 0.34));
    const valueW = Math.min(Math.max(0, ...values.map((v) => measure(v))) + 10, Math.round(W * 0.34));
    const bw = Math.max(20, W - labelW - valueW);
    let y = 4;
    const s = svg("svg", { width: W, class: "chart-svg" });
    rows.forEach((r) => {
      const h = r.bars.length * (barH + 2) - 2;
      s.append(title(svg("text", { x: 0, y: y + h / 2 + 4, class: "lbl", "data-p": 0 }, fit(r.label, labelW - 10)), r.label));
      r.bars.forEach((bar, b) => {
        let x = labelW;
        const by = y + b * (barH + 2);
        for (const seg of bar.segments) {
          const w = max > 0 ? Math.max(0, seg.value / max * bw) : 0;
          if (w <= 0) continue;
          s.append(title(svg("rect", { x, y: by, width: w, height: barH, class: seg.cls, fill: seg.color }), seg.tip || ""));
          if (seg.text && measure(seg.text) + 6 <= w) s.append(svg("text", { x: x + w / 2, y: by + barH / 2 + 4, "text-anchor": "middle", class: "inbar", "data-p": 1 }, seg.text));
          x += w;
        }
        if (bar.value) s.append(svg("text", { x: W - 2, y: by + barH / 2 + 4, "text-anchor": "end", class: "val", "data-p": 0 }, fit(bar.value, valueW - 6)));
      });
      y += h + gap;
    });
    s.setAttribute("height", y);
    s.setAttribute("viewBox", `0 0 ${W} ${y}`);
    return s;
  }, legend);
}

/** Vertical bars over categories (hours): `bars` [{label, value, tip}]; values above bars where they fit. */
function vbars({ bars }) {
  return chart("vbars", (W) => {
    const H = W < 500 ? 150 : 170, top = FONT_PX + 8, bottom = FONT_PX + 12, n = Math.max(1, bars.length);
    const slot = W / n, max = Math.max(1, ...bars.map((b) => b.value)), ph = H - top - bottom;
    const s = svg("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: "chart-svg" });
    const show = thin(n, slot, Math.max(0, ...bars.map((b) => measure(b.label))));
    bars.forEach((b, i) => {
      const h = b.value / max * ph, x = i * slot;
      s.append(title(svg("rect", { x: x + 2, y: top + ph - h, width: Math.max(1, slot - 4), height: h, class: "barfill" }), b.tip || `${b.label}: ${b.value}`));
      const v = String(b.value);
      if (b.value > 0 && measure(v) + 2 <= slot) s.append(svg("text", { x: x + slot / 2, y: top + ph - h - 4, "text-anchor": "middle", class: "val", "data-p": 1 }, v));
      const lw = measure(b.label), cx = Math.min(Math.max(x + slot / 2, lw / 2 + 1), W - lw / 2 - 1);
      if (show(i)) s.append(svg("text", { x: cx, y: H - 6, "text-anchor": "middle", class: "axis", "data-p": i === n - 1 ? -1 : 0 }, b.label));
    });
    s.append(svg("line", { x1: 0, x2: W, y1: top + ph, y2: top + ph, class: "grid" }));
    return s;
  });
}

return { lines, hbars, vbars, atWidth, measure, color };
})();
