// The overview: who is on the list, what the site and the mail did day by day, who turned hot
// today, and the grade and RFM grids -- all from GET console/api/overview (counters, not scans).
import { dayChart } from "./charts.js";
import { el, getJSON, root, table } from "./dom.js";
import { lang, number, t } from "./words.js";

const percent = (v) => `${(v ?? 0).toFixed(2)}%`;
const money = (v) => new Intl.NumberFormat(lang === "ja" ? "ja-JP" : "en-GB", { maximumFractionDigits: 0 }).format(v ?? 0);

function card(id, label, value, note) {
  return el("div", { class: "card", id }, el("span", { class: "label", text: label }), el("strong", { class: "value", text: value }), note ? el("span", { class: "note", text: note }) : null);
}

function cards(data) {
  const totals = data.totals;
  const complaints = el("span", { class: data.complaints_ok ? "ok" : "bad", text: data.complaints_ok ? t("within") : t("over") });
  const rate = card("card-complaints", t("complaint_rate"), percent(data.rates.complained));
  rate.append(complaints);
  return el(
    "section",
    { class: "cards", "aria-label": t("overview") },
    card("card-contacts", t("contacts"), number(data.contacts), `${t("subscribed")} ${number(data.consent.subscribed)}`),
    card("card-pageviews", t("pageviews"), number(totals.pageviews_known + totals.pageviews_anonymous), `${t("known")} ${number(totals.pageviews_known)} / ${t("anonymous")} ${number(totals.pageviews_anonymous)}`),
    card("card-conversions", t("conversions"), number(totals.conversions), `${t("revenue")} ${money(totals.revenue)}`),
    card("card-sent", t("sent"), number(totals.mail_sent), `${t("opened")} ${percent(data.rates.opened)} · ${t("clicked")} ${percent(data.rates.clicked)}`),
    rate,
  );
}

function consent(data) {
  const states = ["subscribed", "pending", "unsubscribed", "suppressed"];
  const share = (n) => (data.contacts ? `${((100 * n) / data.contacts).toFixed(1)}%` : "–");
  const rows = states.map((s) => [t(s), number(data.consent[s]), share(data.consent[s])]);
  return el("section", { class: "panel" }, table(t("by_consent"), [t("consent"), t("contacts"), t("share")], rows, { id: "consent", class: "numbers wide" }));
}

// A grid whose cells are shaded by their share of the largest cell.
// A heat map; a cell with people links to them (the contacts page lists a cell's people).
function grid(id, caption, rowLabel, columnLabel, rows, columns, value) {
  const kind = id === "grades" ? "grade" : "rfm";
  const most = Math.max(1, ...rows.flatMap((r) => columns.map((c) => value(r, c))));
  const body = rows.map((r) =>
    el("tr", {}, el("th", { scope: "row", text: r }), columns.map((c) => {
      const n = value(r, c);
      const href = `${root}console/contacts?cell=${kind}:${r}${c}&lang=${lang}`;
      const cell = el("td", { "data-cell": `${r}${c}` }, n ? el("a", { href, text: number(n) }) : number(n));
      const share = n / most;
      cell.style.background = `rgba(43, 110, 63, ${0.08 + 0.82 * share})`;
      cell.style.color = share > 0.5 ? "#fff" : "#1a1a1a";
      return cell;
    })),
  );
  return el(
    "table",
    { id, class: "grid" },
    el("caption", { text: caption }),
    el("thead", {}, el("tr", {}, el("th", { scope: "col", text: `${rowLabel} \\ ${columnLabel}` }), columns.map((c) => el("th", { scope: "col", text: c })))),
    el("tbody", {}, body),
  );
}

function hotLeads(data) {
  const rows = data.hot_today.map((lead) => [lead.name || lead.email, lead.email, lead.company, lead.grade, `${lead.score} ${lead.value}`, lead.at.slice(11, 16)]);
  const section = el("section", { id: "hot", class: "panel" }, el("h2", { text: t("hot") }));
  section.append(rows.length ? table(t("hot"), [t("name"), t("email"), t("company"), t("grade"), t("score"), t("at")], rows, { class: "numbers wide" }) : el("p", { text: t("no_hot") }));
  return section;
}

function charts(host, data) {
  const s = data.series;
  const days = data.days;
  const first = performance.now();
  dayChart(host, { id: "chart-pageviews", title: `${t("pageviews")} (${t("per_day")})`, days, lines: [{ label: t("known"), values: s.pageviews_known }, { label: t("anonymous"), values: s.pageviews_anonymous }] });
  markFirstChart(first);
  dayChart(host, { id: "chart-conversions", title: `${t("conversions")} (${t("per_day")})`, days, lines: [{ label: t("conversions"), values: s.conversions }, { label: t("forms"), values: s.forms }] });
  dayChart(host, { id: "chart-revenue", title: `${t("revenue")} (${t("per_day")})`, days, lines: [{ label: t("revenue"), values: s.revenue }], format: money });
  const mail = ["sent", "delivered", "opened", "clicked", "bounced", "complained"];
  dayChart(host, { id: "chart-mail", title: `${t("mail")} (${t("per_day")})`, days, lines: mail.map((m) => ({ label: t(m), values: s[`mail_${m}`] })) });
  const rates = days.map((_, i) => {
    const base = s.mail_delivered[i] || s.mail_sent[i];
    return base ? Math.round((10000 * s.mail_complained[i]) / base) / 100 : 0;
  });
  dayChart(host, {
    id: "chart-complaints",
    title: `${t("complaint_rate")} (${t("per_day")})`,
    days,
    lines: [{ label: t("complaint_rate"), values: rates, color: "#a11d1d" }],
    format: percent,
    whole: false,
    references: [
      { label: t("aim"), value: data.complaint_bars.aim, color: "#b35c00" },
      { label: t("limit"), value: data.complaint_bars.limit, color: "#a11d1d" },
    ],
  });
}

function markFirstChart(started) {
  if (document.body.dataset.firstChart) return;
  performance.mark("sodate:first-chart");
  document.body.dataset.firstChart = String(Math.round(performance.now()));
  document.body.dataset.drawMs = String(Math.round(performance.now() - started));
}

export async function overview(root) {
  const status = el("p", { role: "status", id: "status", text: t("loading") });
  root.append(status);
  let data;
  try {
    data = await getJSON(`console/api/overview${location.search}`);
  } catch (error) {
    status.textContent = `${t("failed")}: ${error.message}`;
    status.className = "error";
    return;
  }
  status.textContent = `${data.from} – ${data.to}`;
  root.append(cards(data), consent(data));
  const chartHost = el("section", { class: "charts", "aria-label": t("per_day") });
  root.append(chartHost);
  charts(chartHost, data);
  root.append(hotLeads(data));
  const grids = el("section", { class: "grids" });
  root.append(grids);
  grids.append(grid("grades", t("grades"), t("profile"), t("engagement"), ["A", "B", "C", "D"], ["1", "2", "3", "4"], (r, c) => data.grades[`${r}${c}`] || 0));
  grids.append(grid("rfm", t("rfm"), t("recency"), t("frequency"), ["5", "4", "3", "2", "1"], ["1", "2", "3", "4", "5"], (r, c) => data.rfm[`${r}${c}`] || 0));
  document.body.dataset.ready = "overview";
}
