// Segments: every segment with its size now; a segment's page shows its size day by day and who
// entered and left (the console's counters, worked back from the size now), its rule as written,
// its members page by page (each opening their contact page), and an export for marketers.
import { dayChart } from "./charts.js";
import { api, el, may, root, table, when } from "./dom.js";
import { lang, number, t } from "./words.js";

const PAGE = 50;

async function list(main) {
  const found = await api("admin/segments");
  const rows = found.segments.map((s) => [el("a", { href: `?name=${encodeURIComponent(s.name)}&lang=${lang}`, text: s.name }), s.description || "", number(s.size)]);
  const head = [t("segment"), t("description"), t("size_now")];
  main.append(table(`${t("segments")} (${t("version")} ${found.version ?? "–"})`, head, rows, { class: "numbers wide", id: "segments-list" }));
  document.body.dataset.ready = "segments";
}

function members(name) {
  const body = el("tbody", {});
  const more = el("button", { type: "button", id: "more", text: t("more"), hidden: true });
  let cursor = null;
  const load = async () => {
    const page = await api(`admin/segments/${encodeURIComponent(name)}/members?limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    for (const m of page.members) {
      body.append(el("tr", {}, el("th", { scope: "row" }, el("a", { href: `${root}console/contacts?id=${encodeURIComponent(m.contact_id)}&lang=${lang}`, text: m.email })), el("td", { text: when(m.since) })));
    }
    cursor = page.next_cursor;
    more.hidden = !cursor;
  };
  more.addEventListener("click", () => load());
  const shown = table(t("members"), [t("f_email"), t("member_since")], body, { class: "numbers wide text", id: "members" });
  return { panel: el("section", { class: "panel" }, shown, more), load };
}

function exporter(name) {
  const said = el("p", { id: "export-result", role: "status" });
  const button = el("button", { type: "button", id: "export-segment", text: t("export_csv") });
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const done = await api(`admin/segments/${encodeURIComponent(name)}/export`, { method: "POST" });
      said.replaceChildren(`${number(done.rows)} ${t("rows_written")} ${done.key} `, el("a", { href: done.download, id: "export-download", text: t("download") }));
    } catch (error) {
      said.replaceChildren(el("span", { class: "error", text: error.message }));
    } finally {
      button.disabled = false;
    }
  });
  return el("div", { class: "buttons" }, button, said);
}

async function segment(main, name) {
  const query = new URLSearchParams(location.search);
  query.delete("name");
  query.delete("lang");
  const history = await api(`admin/segments/${encodeURIComponent(name)}/history?${query}`);
  const charts = el("div", { class: "charts" });
  const people = members(name);
  main.append(
    el("p", {}, el("a", { href: `?lang=${lang}`, text: t("all_segments") })),
    el("h2", { text: name }),
    el("section", { class: "cards" }, el("div", { class: "card", id: "size-now" }, el("span", { class: "label", text: t("size_now") }), el("strong", { class: "value", text: number(history.size) }))),
    charts,
    el("section", { class: "panel" }, el("h2", { text: t("rule") }), el("pre", { class: "rule", id: "rule", tabindex: "0", text: history.rule || "–" })),
    may("marketer") ? exporter(name) : null,
    people.panel,
  );
  dayChart(charts, { id: "sizes", title: t("size_by_day"), days: history.days, lines: [{ label: t("size_now"), values: history.sizes }] });
  dayChart(charts, { id: "moves", title: t("entered_left"), days: history.days, lines: [{ label: t("entered"), values: history.entered }, { label: t("left"), values: history.left, color: "#a11d1d" }] });
  await people.load();
  document.body.dataset.ready = "segment";
}

export function segments(main) {
  const name = new URLSearchParams(location.search).get("name");
  (name ? segment(main, name) : list(main)).catch((error) => main.append(el("p", { class: "error", text: `${t("failed")}: ${error.message}` })));
}
