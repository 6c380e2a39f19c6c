// Charts of day-by-day series, drawn by uPlot; each comes with its numbers as a table, for
// screen readers and for anyone who wants the figures themselves.
import uPlot from "uplot";
import { el, table } from "./dom.js";
import { lang, number, t } from "./words.js";

const PALETTE = ["#2b6e3f", "#1f5f99", "#b35c00", "#7a3e9d", "#a11d1d", "#5b5b5b", "#00807f"];
const charts = new Set();
// Counts are whole: their axis steps by 1, 2, 5, 10, ... never by 0.2.
const WHOLE = [1, 2, 5].flatMap((n) => [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7].map((p) => n * p)).sort((a, b) => a - b);

// The x axis steps by whole days (a week, a month when the range is long), never by hours, and
// says each as a date in the page's language ("12月7日", "7 Dec"): the series are days, so "12pm"
// would be a time nothing was counted at.
const DAY = 86400;
const DAY_STEPS = [1, 2, 7, 14, 28, 56, 91, 182, 364].map((n) => n * DAY);
const DATE = new Intl.DateTimeFormat(lang === "ja" ? "ja-JP" : "en-GB", { month: "short", day: "numeric", timeZone: "UTC" });

function seconds(day) {
  return Date.parse(`${day}T00:00:00Z`) / 1000;
}

// One chart: `lines` are [{label, values}] drawn as series; `references` are constant lines
// (a threshold such as the complaint limit) drawn dashed; `whole` for counts.
export function dayChart(host, { id, title, days, lines, format = number, references = [], whole = true }) {
  const figure = el("figure", { id, class: "chart" }, el("figcaption", { text: title }));
  const plot = el("div", { class: "plot", role: "img", "aria-label": title });
  figure.append(plot);
  const head = [t("day"), ...lines.map((l) => l.label)];
  const rows = days.map((day, i) => [day, ...lines.map((l) => format(l.values[i]))]);
  figure.append(el("details", {}, el("summary", { text: t("data") }), table(title, head, rows, { class: "numbers" })));
  host.append(figure);

  const series = [
    {},
    ...lines.map((line, i) => ({
      label: line.label,
      stroke: line.color || PALETTE[i % PALETTE.length],
      width: 2,
      points: { show: days.length <= 31 },
      value: (u, v) => (v == null ? "–" : format(v)),
    })),
    ...references.map((ref) => ({ label: ref.label, stroke: ref.color, dash: [6, 4], width: 1, points: { show: false } })),
  ];
  const data = [days.map(seconds), ...lines.map((l) => l.values), ...references.map((ref) => days.map(() => ref.value))];
  const options = {
    width: Math.max(plot.clientWidth || 560, 280),
    height: 220,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "UTC"),
    // The x axis spans the range's days (half a day either side), even when one day is all there is.
    scales: {
      x: { time: true, range: () => [seconds(days[0]) - DAY / 2, seconds(days[days.length - 1]) + DAY / 2] },
      y: { range: (u, min, max) => [0, Math.max(max, ...references.map((r) => r.value * 1.3), whole ? 4 : 1)] },
    },
    axes: [
      {
        incrs: DAY_STEPS,
        values: (u, ticks) => {
          const shown = ticks.map((v) => DATE.format(new Date(v * 1000)));
          plot.dataset.days = shown.join("|"); // the canvas's words, where a script can read them
          return shown;
        },
      },
      { values: (u, ticks) => ticks.map((v) => format(v)), size: 64, ...(whole ? { incrs: WHOLE } : {}) },
    ],
    series,
    legend: { live: false },
  };
  const chart = new uPlot(options, data, plot);
  charts.add({ chart, plot });
  return chart;
}

// Charts follow their column's width.
addEventListener("resize", () => {
  for (const { chart, plot } of charts) chart.setSize({ width: Math.max(plot.clientWidth, 280), height: 220 });
});
