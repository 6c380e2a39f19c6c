// Imports: the wizard (upload straight to the bucket with a signed form, see how the file reads,
// choose each column's field, start), the import's live progress and report with its rejected
// rows, and the history of imports.  Analysts see the history and the reports only.
import { api, el, may, root, table, when } from "./dom.js";
import { number, t } from "./words.js";

const COUNTS = ["rows", "created", "updated", "unchanged", "rejected", "duplicates", "consent_refused"];
const SKIP = "";
const POLL_MS = 700;

// Post the file with the signed form; the bar follows the bytes sent.
function send(form, file, bar) {
  return new Promise((resolve, reject) => {
    const body = new FormData();
    for (const [key, value] of Object.entries(form.fields)) body.append(key, value);
    body.append("file", file);
    const request = new XMLHttpRequest();
    request.open("POST", form.url);
    request.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) bar.value = e.loaded / e.total;
    });
    request.addEventListener("load", () => (request.status < 300 ? resolve() : reject(new Error(`${t("upload_refused")} (${request.status})`))));
    request.addEventListener("error", () => reject(new Error(t("upload_refused"))));
    request.send(body);
  });
}

function targetChoice(column, fields, index) {
  const own = column.target.startsWith("attr:") ? column.target : `attr:${column.header || `column_${index + 1}`}`;
  const options = [
    ...fields.map((f) => [f, t(`f_${f}`) === `f_${f}` ? f : `${t(`f_${f}`)} (${f})`]),
    [own, `${t("custom_attribute")} (${own.slice(5)})`],
    [SKIP, t("skip_column")],
  ];
  const chosen = column.target === "ignore" ? SKIP : column.target;
  const select = el("select", { id: `map-${index}`, "data-header": column.header, "aria-label": `${t("field_for")} ${column.header}` });
  for (const [value, label] of options) select.append(el("option", { value, text: label, selected: value === chosen }));
  return select;
}

function previewPanel(shown, onStart) {
  const selects = shown.columns.map((c, i) => targetChoice(c, shown.fields, i));
  const mapping = el(
    "table",
    { class: "numbers wide text", id: "mapping" },
    el("caption", { text: t("mapping_title") }),
    el("thead", {}, el("tr", {}, [t("column"), t("samples"), t("field")].map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, shown.columns.map((c, i) => el("tr", {}, el("th", { scope: "row", text: c.header }), el("td", { text: c.samples.slice(0, 3).join(" · ") }), el("td", {}, selects[i])))),
  );
  const facts = [
    [t("file"), shown.name],
    [t("size"), `${number(shown.size)} B`],
    [t("encoding"), shown.encoding],
    [t("delimiter"), t(`delim_${shown.delimiter}`)],
    [t("mapping_from"), shown.mapping_source === "automatic" ? t("automatic") : shown.mapping_source],
  ];
  const problem = el("p", { class: "error", id: "start-problem", role: "alert" });
  const start = el("button", { type: "button", id: "start", text: t("start_import") });
  start.addEventListener("click", async () => {
    const columns = Object.fromEntries(selects.map((s) => [s.dataset.header, s.value === SKIP ? null : s.value]));
    start.disabled = true;
    problem.textContent = "";
    try {
      await onStart(columns);
    } catch (error) {
      problem.textContent = error.message;
      start.disabled = false;
    }
  });
  const head = shown.columns.map((c) => c.header);
  return el(
    "section",
    { class: "panel", id: "preview" },
    el("h2", { text: t("check_file") }),
    table(t("file_facts"), [t("what"), t("value")], facts, { class: "numbers text", id: "facts" }),
    (shown.warnings || []).length ? el("ul", { class: "warnings" }, shown.warnings.map((w) => el("li", { text: w }))) : null,
    table(t("first_rows"), head, shown.rows.map((r) => r.map((v) => v)), { class: "numbers wide text", id: "first-rows" }),
    mapping,
    el("p", { class: "note", text: `${t("mapping_saved_as")} ${shown.mapping_key}` }),
    problem,
    el("div", { class: "buttons" }, start),
  );
}

function reportPanel(name) {
  const bar = el("progress", { id: "progress", max: 1, value: 0, "aria-label": t("progress") });
  const status = el("p", { id: "import-status", "aria-live": "polite", text: t("queued") });
  const counts = el("div", { id: "report" });
  const panel = el("section", { class: "panel", id: "running" }, el("h2", { text: `${t("import_of")} ${name}` }), bar, status, counts);
  const show = (report) => {
    const done = report.bytes_total ? report.bytes_done / report.bytes_total : 0;
    bar.value = report.status === "imported" ? 1 : done;
    const left = report.seconds_left === null || report.seconds_left === undefined ? "" : ` · ${t("seconds_left")} ${number(Math.round(report.seconds_left))}`;
    const rate = report.rows_per_s ? ` · ${number(Math.round(report.rows_per_s))} ${t("rows_per_s")}` : "";
    status.textContent = `${t(`st_${report.status}`)} · ${number(report.rows || 0)} ${t("rows_read")}${rate}${left}`;
    status.className = report.status === "failed" ? "error" : "";
    counts.replaceChildren(...reportTables(name, report));
  };
  return { panel, show };
}

function reportTables(name, report) {
  const parts = [table(t("counts"), [t("what"), t("value")], COUNTS.map((k) => [t(`c_${k}`), number(report[k] || 0)]), { class: "numbers", id: "counts" })];
  const reasons = Object.entries(report.rejected_by_reason || {});
  if (reasons.length) parts.push(table(t("rejected_by_reason"), [t("reason"), t("value")], reasons.map(([k, v]) => [k, number(v)]), { class: "numbers", id: "reasons" }));
  if (report.status === "failed" && report.error) parts.push(el("p", { class: "error", id: "failure", text: `${report.error.reason}: ${report.error.message}` }));
  if (report.status !== "running" && report.rejected > 0 && may("marketer")) {
    parts.push(el("p", {}, el("a", { id: "errors-file", href: `${root}admin/imports/errors?name=${encodeURIComponent(name)}`, text: t("errors_file") })));
  }
  return parts;
}

async function follow(name, view) {
  for (;;) {
    const report = await api(`admin/imports?name=${encodeURIComponent(name)}`);
    view.show(report);
    if (report.status !== "running" && report.status !== "queued") return report;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function historyPanel(onOpen) {
  const body = el("div", { id: "history-table" }, el("p", { text: t("loading") }));
  const load = async () => {
    const found = await api("admin/imports");
    const rows = found.imports.map((i) => {
      const open = el("button", { type: "button", class: "link", text: i.name });
      open.addEventListener("click", () => onOpen(i.name));
      return [open, t(`st_${i.status}`), number(i.rows || 0), number(i.created || 0), number(i.updated || 0), number(i.rejected || 0), when(i.finished_at)];
    });
    const head = [t("file"), t("import_status"), t("c_rows"), t("c_created"), t("c_updated"), t("c_rejected"), t("finished_at")];
    body.replaceChildren(
      rows.length
        ? table(t("newest_imports"), head, rows, { class: "numbers wide", id: "history" })
        : el("p", { text: t("no_imports") }),
    );
  };
  return { panel: el("section", { class: "panel" }, el("h2", { text: t("history") }), body), load };
}

export function imports(main) {
  const stage = el("div", { id: "stage" });
  const history = historyPanel((name) => watch(name));
  const watch = async (name) => {
    const view = reportPanel(name);
    stage.replaceChildren(view.panel);
    await follow(name, view);
    await history.load();
  };
  if (may("marketer")) main.append(uploadPanel(stage, watch));
  main.append(stage, history.panel);
  history
    .load()
    .catch((error) => history.panel.append(el("p", { class: "error", text: `${t("failed")}: ${error.message}` })))
    .finally(() => (document.body.dataset.ready = "imports"));
}

function uploadPanel(stage, watch) {
  const input = el("input", { type: "file", id: "file", accept: ".csv,.tsv,.txt,text/csv", required: true });
  const bar = el("progress", { id: "upload-progress", max: 1, value: 0, hidden: true, "aria-label": t("uploading") });
  const problem = el("p", { class: "error", id: "upload-problem", role: "alert" });
  const form = el(
    "form",
    { id: "upload", class: "find" },
    el("label", { for: "file", text: t("choose_csv") }),
    input,
    el("button", { type: "submit", text: t("upload") }),
    bar,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = input.files[0];
    if (!file) return;
    problem.textContent = "";
    bar.hidden = false;
    try {
      const signed = await api("admin/imports/uploads", { method: "POST", body: { name: file.name } });
      await send(signed, file, bar);
      const shown = await api(`admin/imports/uploads/${signed.upload}`);
      stage.replaceChildren(
        previewPanel(shown, async (columns) => {
          const started = await api(`admin/imports/uploads/${signed.upload}/start`, { method: "POST", body: { columns } });
          form.reset();
          bar.hidden = true;
          await watch(started.name);
        }),
      );
    } catch (error) {
      problem.textContent = error.message;
    }
  });
  return el("section", { class: "panel", id: "new-import" }, el("h2", { text: t("new_import") }), form, problem);
}
