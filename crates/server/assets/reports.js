// The report page (trends, Pareto of downtime, shift against shift, time in each state,
// the shift table; printable) and the machine page's charts, over /api/v1/summary and
// /api/v1/report.
"use strict";
(() => {
const S = window.SheetSight;
const { el, api, t, pct, dur } = S;
const C = window.SheetSightCharts;

const isoDate = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
const daysBefore = (n) => { const d = new Date(); d.setDate(d.getDate() - n); return isoDate(d); };
const dateLabel = (iso) => iso.slice(5).replace("-", S.lang() === "zh" ? "/" : "-");
const card = (kind, heading, ...body) => el("div", { class: "card", "data-card": kind }, el("h2", {}, heading), ...body);
const STATES = [["executing_s", "Executing"], ["not_executing_s", "NotExecuting"], ["out_of_service_s", "OutOfService"], ["not_available_s", "NotAvailable"]];
const stateLegend = () => STATES.map(([, s]) => ({ label: S.stateName(s), cls: `bg-${s}` }));

/** A bar of time in each state, as shares of the planned time. */
function stateBar(totals) {
  if (!(totals.planned_s > 0)) return [];
  return STATES.map(([k, s]) => {
    const share = totals[k] / totals.planned_s;
    return { value: share, cls: `fill-${s}`, text: pct(share).replace(".0 %", " %"), tip: `${S.stateName(s)}: ${dur(totals[k])} (${pct(share)})` };
  });
}

/** A line per key over the dates of `days` ({date, ...totals} rows). */
function trend(days, keyOf, nameOf, field) {
  const dates = [...new Set(days.map((d) => d.date))].sort();
  const keys = [...new Set(days.map(keyOf))];
  const series = keys.map((k) => ({ name: nameOf(k), values: dates.map((dt) => { const r = days.find((d) => d.date === dt && keyOf(d) === k); return r ? r[field] : null; }) }));
  return C.lines({ series, labels: dates.map(dateLabel) });
}

/** A duration short enough for a phone: hours with a decimal from 1 h on. */
const span = (sec) => sec >= 3600 ? `${(sec / 3600).toFixed(1)} h` : sec >= 60 ? `${Math.round(sec / 60)} min` : `${Math.round(sec)} s`;
const share = (x) => x === null || x === undefined ? "–" : `${Math.round(x * 100)} %`;

function pareto(items, labelOf) {
  const total = items.reduce((n, d) => n + d.seconds, 0);
  if (total <= 0) return el("p", { class: "muted" }, t("charts.nostops"));
  let cumulative = 0;
  return C.hbars({
    max: Math.max(...items.map((d) => d.seconds)),
    rows: items.map((d) => {
      cumulative += d.seconds;
      return { label: labelOf(d.label), bars: [{ segments: [{ value: d.seconds, cls: "barfill", tip: `${dur(d.seconds)} · ${d.stops} ${t("charts.stops")} · Σ ${pct(cumulative / total)}` }],
        value: `${span(d.seconds)} · ${share(d.seconds / total)}` }] };
    }),
  });
}

function simulatedBanner(summary) {
  return summary.simulated_until
    ? el("p", { class: "simulated", "data-role": "simulated" }, t("charts.simulated"), " ", new Date(summary.simulated_until).toLocaleString(S.lang() === "zh" ? "zh-CN" : "en-GB"))
    : null;
}

function summaryCharts(summary) {
  const machines = summary.machines;
  const hasOee = summary.days.some((d) => d.oee !== null);
  const both = summary.shifts.some((s) => s.oee !== null);
  return [
    simulatedBanner(summary),
    card("availability", t("charts.availability"), trend(summary.days, (d) => d.machine, (m) => m, "availability")),
    card("oee", t("charts.oee"), hasOee ? trend(summary.days, (d) => d.machine, (m) => m, "oee") : el("p", { class: "muted" }, t("machine.noideal"))),
    card("states", t("charts.states"), el("p", { class: "muted" }, t("charts.states.note")), C.hbars({ max: 1, legend: stateLegend(),
      rows: machines.map((m) => ({ label: m.machine, bars: [{ segments: stateBar(m), value: pct(m.availability) }] })) })),
    el("div", { class: "cols" },
      card("pareto-reason", t("charts.byreason"), pareto(summary.downtime_by_reason, (l) => l === null ? t("charts.noreason") : l)),
      card("pareto-machine", t("charts.bymachine"), pareto(summary.downtime_by_machine, (l) => l))),
    card("shifts", t("charts.shifts"), C.hbars({ max: 1,
      legend: [{ label: t("machine.availability"), color: C.color(0) }].concat(both ? [{ label: "OEE", color: C.color(1) }] : []),
      rows: summary.shifts.map((s) => ({ label: s.shift,
        bars: [{ segments: [{ value: s.availability || 0, color: C.color(0), tip: `${t("machine.availability")} ${pct(s.availability)}` }], value: pct(s.availability) }]
          .concat(both ? [{ segments: [{ value: s.oee || 0, color: C.color(1), tip: `OEE ${pct(s.oee)}` }], value: pct(s.oee) }] : []) })) })),
  ];
}

function table(rows) {
  return rows.length === 0 ? el("p", { class: "muted" }, t("reports.none")) : el("table", { id: "report" },
    el("tr", {}, ["machine", "shift", "date", "planned", "executing", "availability", "strokes", "longest", "cycles", "lost"].map((k) => el("th", {}, t("reports." + k)))),
    rows.map((r) => el("tr", {}, el("td", {}, r.machine), el("td", {}, r.shift), el("td", {}, r.date), el("td", {}, dur(r.planned_s)),
      el("td", {}, dur(r.executing_s)), el("td", {}, pct(r.availability_seen)), el("td", {}, r.strokes), el("td", {}, dur(r.longest_stop_s)),
      el("td", {}, r.cycles), el("td", {}, r.cycle_lost_min == null ? "–" : dur(r.cycle_lost_min * 60)))));
}

async function reportsPage(view, _arg, query) {
  const from = query.get("from") || daysBefore(6), to = query.get("to") || daysBefore(0);
  const form = el("form", { class: "row noprint" },
    el("label", {}, t("reports.from"), " ", el("input", { type: "date", name: "from", value: from })),
    el("label", {}, t("reports.to"), " ", el("input", { type: "date", name: "to", value: to })),
    el("button", {}, t("reports.show")), el("a", { id: "csv", href: "#" }, t("reports.csv")),
    el("button", { type: "button", class: "secondary", id: "print", onclick: () => window.print() }, t("reports.print")),
    S.can("admin") ? el("button", { type: "button", class: "secondary", id: "send-summary", onclick: sendSummary }, t("reports.send")) : null,
    el("span", { class: "muted", id: "sent" }));
  // The summary of the chosen days, to the group robots and the webhook, now.
  async function sendSummary() {
    const f = new FormData(form), out = form.querySelector("#sent");
    const start = new Date(`${f.get("from")}T00:00:00`), end = new Date(`${f.get("to")}T00:00:00`);
    end.setDate(end.getDate() + 1);
    try {
      const r = await api("POST", "/summary/send", { from: start.toISOString(), to: new Date(Math.min(end, Date.now())).toISOString() });
      out.textContent = `${t("reports.sent")} ${[...r.robots, ...(r.webhook ? ["webhook"] : [])].join(", ") || "–"}`;
    } catch (e) { out.textContent = `${t("error")}: ${e.message}`; }
  }
  const heading = el("h1", {}, t("reports.title"));
  const out = el("div", {});
  const show = async () => {
    const f = new FormData(form), q = `from=${f.get("from")}&to=${f.get("to")}`;
    form.querySelector("#csv").href = `/api/v1/report?${q}&format=csv`;
    heading.replaceChildren(t("reports.title"), el("span", { class: "muted" }, ` ${f.get("from")} – ${f.get("to")}`));
    try {
      const [summary, rows] = await Promise.all([api("GET", `/summary?${q}`), api("GET", `/report?${q}`)]);
      out.replaceChildren(...summaryCharts(summary), card("table", t("reports.table"), el("div", { class: "scroll" }, table(rows))));
    } catch (e) { S.showError(out, e); }
  };
  form.addEventListener("submit", (ev) => { ev.preventDefault(); show(); });
  view.replaceChildren(el("div", { class: "card" }, heading, form,
    el("p", { class: "printonly muted" }, `SheetSight · ${new Date().toLocaleString(S.lang() === "zh" ? "zh-CN" : "en-GB")}`)), out);
  await show();
}
S.pages.reports = { role: "viewer", show: reportsPage };

/** The machine page's last 14 days: availability and OEE per day, time in each state per day. */
S.machineHistory = async (id) => {
  const summary = await api("GET", `/summary?machine=${encodeURIComponent(id)}&from=${daysBefore(13)}&to=${daysBefore(0)}`);
  // From the first day with any record on.
  const first = summary.days.findIndex((d) => d.watched_share > 0);
  const days = first < 0 ? [] : summary.days.slice(first);
  const hasOee = days.some((d) => d.oee !== null);
  const series = [{ name: t("machine.availability"), values: days.map((d) => d.availability) }]
    .concat(hasOee ? [{ name: "OEE", values: days.map((d) => d.oee) }] : []);
  return el("div", { class: "card", id: "history" },
    el("h2", {}, t("charts.days14")), simulatedBanner(summary),
    C.lines({ series, labels: days.map((d) => dateLabel(d.date)) }),
    el("h3", {}, t("charts.states")), el("p", { class: "muted" }, t("charts.states.note")),
    C.hbars({ max: 1, legend: stateLegend(), rows: days.slice().reverse().map((d) => ({ label: dateLabel(d.date), bars: [{ segments: stateBar(d), value: pct(d.availability) }] })) }));
};
})();
