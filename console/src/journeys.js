// Scenarios: the list with each one's totals, and a scenario's journey map -- its steps as a
// graph (laid out by dagre), each with who waits there now and what its mails did, the A/B
// branches and the hold-out side by side, and the day-by-day funnel.  The numbers are the
// scenario report's counters (GET admin/scenarios/<name>/report), refreshed while the page is open.
import { Graph, layout } from "@dagrejs/dagre";
import { dayChart } from "./charts.js";
import { api, el, table } from "./dom.js";
import { lang, number, t } from "./words.js";

const REFRESH_MS = 5000;
const NODE = { width: 210, height: 92 };
const CHANNEL_NODE = 330; // a step that sent on LINE or SMS: its figures per channel, in columns
const CHANNELS = ["email", "line", "sms"];
const COLUMNS = [["sent", 110], ["delivered", 180], ["failed_n", 230], ["clicked", 320]]; // word, right edge
const FUNNEL = ["entered", "sent", "opened", "clicked", "goal"];
const SVG = "http://www.w3.org/2000/svg";
const percent = (v) => (v === undefined ? "–" : `${(100 * v).toFixed(1)}%`);

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) if (value !== undefined) node.setAttribute(key, String(value));
  if (attrs.text !== undefined) node.textContent = String(attrs.text);
  node.removeAttribute("text");
  node.append(...children);
  return node;
}

const MOST = 32; // characters of a step's spec its box has room for (the whole is its tooltip)

// A step's kind in words; a `send` naming channels besides email is no mere mail.
const kindOf = (step) => t(step.kind === "send" && (step.channels || []).some((c) => c !== "email") ? "k_send_channels" : `k_${step.kind}`);
// The channels a step sent on, when one of them is LINE or SMS (a mail-only step keeps its line).
const channelsOf = (step) => {
  const used = CHANNELS.filter((c) => step.by_channel?.[c]);
  return used.some((c) => c !== "email") ? used : [];
};
// A channel's figure as shown: LINE's delivery is unknown (null: LINE sends no receipt), not 0.
const figure = (counted, word) => (counted[word] === null ? "–" : number(counted[word] || 0));
const clicks = (counted) => `${number(counted.clicked || 0)} (${percent(counted.click_rate)})`;

// What a step's box says: its id and kind, what it does, what its mails did (or, when it sent on
// LINE or SMS, each channel's figures in a row of columns), who waits there.
function lines(step) {
  const doing = (step.kind === "send" ? step.template : step.spec) || "";
  const short = doing.length > MOST ? `${doing.slice(0, MOST - 1)}…` : doing;
  const name = { text: `${step.step} · ${kindOf(step)}`, class: "name" };
  const waiting = { text: `${t("waiting_now")} ${number(step.waiting || 0)}`, class: "waiting" };
  const used = channelsOf(step);
  if (!used.length) {
    const mail = step.kind === "send" ? `${t("sent")} ${number(step.sent || 0)} · ${t("opened")} ${number(step.opened || 0)} · ${t("clicked")} ${number(step.clicked || 0)}` : "";
    return [name, { text: short }, { text: mail }, waiting];
  }
  const head = { cells: COLUMNS.map(([word, x]) => ({ text: t(word), x })), class: "head" };
  const rows = used.map((c) => {
    const counted = step.by_channel[c];
    const values = [figure(counted, "sent"), figure(counted, "delivered"), figure(counted, "failed"), clicks(counted)];
    return { text: t(`ch_${c}`), cells: COLUMNS.map(([, x], i) => ({ text: values[i], x })), class: "channel", channel: c };
  });
  return [name, { text: short }, head, ...rows, waiting];
}

function boxSize(step) {
  const used = channelsOf(step);
  return used.length ? { width: CHANNEL_NODE, height: 20 * (5 + used.length) - 8 } : NODE;
}

function map(report) {
  const graph = new Graph();
  graph.setGraph({ rankdir: "TB", nodesep: 28, ranksep: 46, marginx: 8, marginy: 8 });
  graph.setDefaultEdgeLabel(() => ({}));
  const ids = new Set(report.steps.map((s) => s.step));
  for (const step of report.steps) graph.setNode(step.step, { ...boxSize(step), step });
  for (const step of report.steps) {
    if (step.next && ids.has(step.next)) graph.setEdge(step.step, step.next, { label: "" });
    for (const [way, to] of Object.entries(step.ways || {})) {
      if (ids.has(to)) graph.setEdge(step.step, to, { label: t(`w_${way}`) === `w_${way}` ? way : t(`w_${way}`), width: 60, height: 16, labelpos: "c" });
    }
  }
  layout(graph);
  const { width, height } = graph.graph();
  const drawing = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-labelledby": "map-title", id: "map" });
  drawing.append(svg("title", { id: "map-title", text: `${t("journey_map")}: ${report.scenario}` }));
  drawing.append(svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" }, svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#555" }))));
  for (const edge of graph.edges()) {
    const { points, label, x, y } = graph.edge(edge);
    drawing.append(svg("path", { d: `M${points.map((p) => `${p.x},${p.y}`).join(" L")}`, fill: "none", stroke: "#555", "stroke-width": 1.5, "marker-end": "url(#arrow)" }));
    if (label) drawing.append(svg("text", { x, y: y + 4, "text-anchor": "middle", class: "way", text: label }));
  }
  for (const id of graph.nodes()) {
    const { x, y, width, height, step } = graph.node(id);
    const box = svg("g", { class: `step ${step.kind}${step.waiting ? " busy" : ""}`, "data-step": id, transform: `translate(${x - width / 2},${y - height / 2})` });
    box.append(svg("title", { text: `${step.step}: ${step.template || step.spec || ""}` }), svg("rect", { width, height, rx: 8 }));
    lines(step).forEach((line, i) => {
      const row = svg("g", { class: line.class, "data-channel": line.channel });
      if (line.text) row.append(svg("text", { x: 10, y: 20 + i * 20, class: line.class, text: line.text }));
      for (const cell of line.cells || []) row.append(svg("text", { x: cell.x, y: 20 + i * 20, "text-anchor": "end", text: cell.text }));
      box.append(row);
    });
    drawing.append(box);
  }
  return el("div", { class: "map" }, drawing);
}

function stepsTable(report) {
  const head = [t("step"), t("step_kind"), t("waiting_now"), t("sent"), t("opened"), t("clicked"), t("click_rate")];
  const rows = report.steps.map((s) => [s.step, kindOf(s), ...["waiting", "sent", "opened", "clicked"].map((k) => number(s[k] || 0)), percent(s.click_rate)]);
  return table(t("steps"), head, rows, { class: "numbers wide", id: "steps" });
}

// Each step's figures on each channel it used; LINE's delivery shows as unknown, and says why.
function channelsTable(report) {
  const rows = report.steps.flatMap((s) =>
    CHANNELS.filter((c) => s.by_channel?.[c]).map((c) => {
      const counted = s.by_channel[c];
      const row = [s.step, t(`ch_${c}`), figure(counted, "sent"), figure(counted, "delivered"), figure(counted, "failed"), figure(counted, "clicked"), percent(counted.click_rate)];
      return el("tr", { "data-step": s.step, "data-channel": c }, row.map((v, i) => el(i ? "td" : "th", i ? {} : { scope: "row" }, String(v))));
    }),
  );
  if (!rows.length) return null;
  const head = [t("step"), t("channel"), t("sent"), t("delivered"), t("failed_n"), t("clicked"), t("click_rate")];
  const note = rows.some((r) => r.dataset.channel === "line") ? el("p", { class: "note", id: "no-line-receipt", text: t("no_line_receipt") }) : null;
  return [table(t("by_channel"), head, el("tbody", {}, rows), { class: "numbers wide", id: "channels" }), note];
}

function branchesTable(report) {
  if (!report.branches.length) return null;
  const head = [t("branch"), t("entered"), t("sent"), t("opened"), t("clicked"), t("goal"), t("goal_rate"), t("click_rate")];
  const rows = report.branches.map((b) => [b.branch.replace(">", " → "), ...["entered", "sent", "opened", "clicked", "goal"].map((k) => number(b[k] || 0)), percent(b.goal_rate), percent(b.click_rate)]);
  return table(t("branches"), head, rows, { class: "numbers wide", id: "branches" });
}

function totals(report) {
  const inside = report.steps.reduce((n, s) => n + (s.waiting || 0), 0);
  const all = report.totals;
  const card = (id, label, value) => el("div", { class: "card", id }, el("span", { class: "label", text: label }), el("strong", { class: "value", text: value }));
  return el(
    "section",
    { class: "cards", "aria-label": t("totals") },
    card("total-entered", t("entered"), number(all.entered || 0)),
    card("total-inside", t("inside_now"), number(inside)),
    card("total-sent", t("sent"), number(all.sent || 0)),
    card("total-clicked", t("clicked"), `${number(all.clicked || 0)} (${percent(all.click_rate)})`),
    card("total-goal", t("goal"), `${number(all.goal || 0)} (${percent(all.goal_rate)})`),
  );
}

function funnel(host, report) {
  if (!report.days.length) return;
  dayChart(host, {
    id: "funnel",
    title: t("funnel_by_day"),
    days: report.days.map((d) => d.day),
    lines: FUNNEL.map((k) => ({ label: t(k), values: report.days.map((d) => d[k] || 0) })),
  });
}

async function scenario(main, name) {
  const status = el("p", { id: "updated", class: "note", "aria-live": "off" });
  const body = el("div", { id: "journey" });
  main.append(el("p", {}, el("a", { href: `?lang=${lang}`, text: t("all_scenarios") })), el("h2", { text: name }), status, body);
  let shown = "";
  const draw = async () => {
    const report = await api(`admin/scenarios/${encodeURIComponent(name)}/report`);
    const stamp = `${t("updated_at")} ${new Date().toLocaleTimeString(lang === "ja" ? "ja-JP" : "en-GB")} (${t("version")} ${report.version})`;
    if (JSON.stringify(report) === shown) {
      status.textContent = stamp; // nothing moved: the page stays as it is (focus, scroll, open tables)
      return;
    }
    shown = JSON.stringify(report);
    const charts = el("div", { class: "charts" });
    body.replaceChildren(totals(report), el("section", { class: "panel" }, el("h2", { text: t("journey_map") }), map(report)), el("section", { class: "panel" }, stepsTable(report), channelsTable(report), branchesTable(report)), charts);
    funnel(charts, report);
    status.textContent = stamp;
    document.body.dataset.ready = "journey";
  };
  await draw();
  setInterval(() => draw().catch((error) => (status.textContent = `${t("failed")}: ${error.message}`)), REFRESH_MS);
}

async function list(main) {
  const found = await api("admin/scenarios");
  const head = [t("scenario"), t("steps"), t("inside_now"), t("entered"), t("sent"), t("clicked"), t("goal"), t("goal_rate")];
  const rows = found.scenarios.map((s) => [
    el("a", { href: `?name=${encodeURIComponent(s.name)}&lang=${lang}`, text: s.name }),
    ...[number(s.steps), number(s.totals.waiting || 0), number(s.totals.entered || 0), number(s.totals.sent || 0), number(s.totals.clicked || 0), number(s.totals.goal || 0), percent(s.totals.goal_rate)],
  ]);
  main.append(table(t("scenarios_in_force"), head, rows, { class: "numbers wide", id: "scenarios" }));
  document.body.dataset.ready = "journeys";
}

export function journeys(main) {
  const name = new URLSearchParams(location.search).get("name");
  (name ? scenario(main, name) : list(main)).catch((error) => main.append(el("p", { class: "error", text: `${t("failed")}: ${error.message}` })));
}
