// Contacts: find a person by email or by the start of a name (a list), list the people of a
// grade or RFM cell (the overview's grids link here); a person's page shows the profile, consent and its history,
// scores as of now (decayed), grade, RFM, segments and the timeline (filtered by kind), with
// an export and, for admins, erasure after typing the address again.  All from the admin API,
// which takes the console's session.
import { api, el, may, root, table } from "./dom.js";
import { lang, t } from "./words.js";

const PROFILE = ["email", "name", "company", "phone", "status", "topics", "grade", "rfm", "rfm_group", "source", "created_at", "updated_at"];

function searchForm(typed) {
  return el(
    "form",
    { method: "get", role: "search", id: "find", class: "find" },
    el("input", { type: "hidden", name: "lang", value: lang }),
    el("label", { for: "find-email", text: t("find_label") }),
    el("input", { type: "search", id: "find-email", name: "q", value: typed, required: true, maxlength: 320, autocomplete: "off" }),
    el("button", { type: "submit", text: t("find") }),
  );
}

// People as a list: each name opens their page.
function peopleTable(id, caption) {
  const body = el("tbody");
  const host = table(caption, [t("f_name"), t("f_email"), t("f_company"), t("f_grade"), t("f_rfm"), t("f_status")], body, { class: "numbers wide text", id });
  const add = (rows) =>
    body.append(
      ...rows.map((p) =>
        el("tr", {}, el("td", {}, el("a", { href: `?id=${encodeURIComponent(p.contact_id)}&lang=${lang}`, text: p.name || p.email })), el("td", { text: p.email }), el("td", { text: p.company }), el("td", { text: p.grade }), el("td", { text: p.rfm }), el("td", { text: p.status ? t(p.status) : "" })),
      ),
    );
  return { host, add, body };
}

async function named(main, typed, status) {
  const found = await api(`admin/contacts?name=${encodeURIComponent(typed)}`);
  const list = peopleTable("named", `${t("named")}: ${typed}`);
  list.add(found.contacts);
  main.append(el("section", { class: "panel" }, list.host));
  status.textContent = found.contacts.length ? "" : t("nobody_named");
}

async function inCell(main, cell, status) {
  const [kind, code] = cell.split(":");
  const list = peopleTable("in-cell", `${t(kind === "rfm" ? "rfm" : "grades")}: ${code}`);
  const more = el("button", { type: "button", id: "more-people", text: t("more") });
  main.append(el("section", { class: "panel" }, list.host, more));
  let cursor = "";
  async function page() {
    const found = await api(`admin/contacts?cell=${encodeURIComponent(cell)}&limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    list.add(found.contacts);
    cursor = found.next_cursor || "";
    more.hidden = !cursor;
    status.textContent = list.body.children.length ? "" : t("nobody_in_cell");
  }
  more.addEventListener("click", page);
  await page();
}

function text(value) {
  if (Array.isArray(value)) return value.join(", ");
  if (value && typeof value === "object") return Object.entries(value).map(([k, v]) => `${k}: ${v}`).join(", ");
  return value === undefined || value === null || value === "" ? "–" : String(value);
}

function profile(person) {
  const rows = PROFILE.filter((k) => person[k] !== undefined).map((k) => [t(`f_${k}`), k === "status" ? t(person[k]) : text(person[k])]);
  for (const [k, v] of Object.entries(person.attrs || {})) rows.push([k, text(v)]);
  return el("section", { class: "panel", id: "profile" }, table(t("profile_title"), [t("field"), t("value")], rows, { class: "numbers wide text" }));
}

function scores(person) {
  const rows = Object.entries(person.scores || {}).map(([name, value]) => [name, value.toFixed(2)]);
  const segments = el("ul", { id: "segments" }, (person.segments || []).map((s) => el("li", { text: s })));
  return el(
    "section",
    { class: "panel", id: "scores" },
    rows.length ? table(t("scores_title"), [t("score"), t("now")], rows, { class: "numbers wide" }) : el("p", { text: t("no_scores") }),
    el("h2", { text: t("segments") }),
    (person.segments || []).length ? segments : el("p", { text: t("no_segments") }),
  );
}

function consent(history) {
  const rows = history.entries.map((e) => [e.at, e.change, e.source, t(e.status), text(e.detail)]);
  return el(
    "section",
    { class: "panel", id: "consent-history" },
    table(`${t("consent_title")}: ${t(history.status || "pending")}`, [t("at"), t("change"), t("source"), t("f_status"), t("detail")], rows, { class: "numbers wide text" }),
  );
}

function describe(hit) {
  const parts = [hit.name, hit.path || hit.url, hit.scenario, hit.step, hit.amount, hit.reason, hit.because];
  return parts.filter((p) => p).join(" · ");
}

async function timeline(host, id) {
  const section = el("section", { class: "panel", id: "timeline" }, el("h2", { text: t("timeline") }));
  const filter = el("select", { id: "kind" }, el("option", { value: "", text: t("all_kinds") }));
  const label = el("label", { for: "kind", text: t("kind") });
  const body = el("tbody");
  const more = el("button", { type: "button", id: "more", text: t("more") });
  const hits = [];
  let cursor = "";
  section.append(label, filter, table(t("timeline"), [t("at"), t("kind_column"), t("detail")], body, { class: "numbers wide text" }), more);
  host.append(section);

  function draw() {
    const kinds = [...new Set(hits.map((h) => h.kind))].sort();
    const chosen = filter.value;
    filter.replaceChildren(el("option", { value: "", text: t("all_kinds") }), ...kinds.map((k) => el("option", { value: k, text: k, selected: k === chosen })));
    body.replaceChildren(...hits.filter((h) => !chosen || h.kind === chosen).map((h) => el("tr", { "data-kind": h.kind }, el("td", { text: h.at }), el("td", { text: h.kind }), el("td", { text: describe(h) }))));
  }

  async function page() {
    const found = await api(`admin/contacts/${encodeURIComponent(id)}/timeline?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    hits.push(...found.hits);
    cursor = found.next_cursor || "";
    more.hidden = !cursor;
    draw();
  }

  filter.addEventListener("change", draw);
  more.addEventListener("click", page);
  await page();
}

function actions(host, person, status) {
  const id = person.contact_id;
  const bar = el("section", { class: "panel actions", id: "actions" });
  if (may("marketer")) bar.append(el("a", { href: `${root}admin/contacts/${encodeURIComponent(id)}/export`, download: `contact-${id}.json`, id: "export", text: t("export") }));
  if (may("admin")) {
    const confirmWith = el("input", { type: "email", id: "erase-confirm", autocomplete: "off" });
    const erase = el("button", { type: "submit", id: "erase", class: "danger", text: t("erase") });
    const form = el("form", { id: "erase-form" }, el("p", { text: t("erase_warning") }), el("label", { for: "erase-confirm", text: t("erase_type") }), confirmWith, erase);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (confirmWith.value.trim().toLowerCase() !== person.email) {
        status.textContent = t("erase_mismatch");
        status.className = "error";
        return;
      }
      try {
        const done = await api(`admin/contacts/${encodeURIComponent(id)}`, { method: "DELETE" });
        host.replaceChildren(searchForm(""), status);
        status.className = "";
        status.textContent = `${t("erased")}: ${person.email} (${done.events_deleted} ${t("entries")})`;
        document.body.dataset.ready = "erased";
      } catch (error) {
        status.textContent = `${t("failed")}: ${error.message}`;
        status.className = "error";
      }
    });
    bar.append(form);
  }
  host.append(bar);
}

export async function contacts(main) {
  const params = new URLSearchParams(location.search);
  const status = el("p", { role: "status", id: "status" });
  const typed = (params.get("q") || params.get("email") || "").trim();
  main.append(searchForm(typed), status);
  try {
    if (typed.includes("@")) {
      const found = await api(`admin/contacts?email=${encodeURIComponent(typed)}`);
      location.replace(`?id=${encodeURIComponent(found.contact_id)}&lang=${lang}`);
      return;
    }
    if (typed) await named(main, typed, status);
    if (params.get("cell")) await inCell(main, params.get("cell"), status);
    const id = params.get("id");
    if (id) {
      const [person, history] = await Promise.all([api(`admin/contacts/${encodeURIComponent(id)}`), api(`admin/contacts/${encodeURIComponent(id)}/consent`)]);
      document.title = `${person.name || person.email} · ${document.title}`;
      main.append(el("h2", { id: "person", text: person.name ? `${person.name} <${person.email}>` : person.email }));
      main.append(profile(person), scores(person), consent(history));
      actions(main, person, status);
      await timeline(main, id);
    }
  } catch (error) {
    status.textContent = error.status === 404 ? t("nobody") : `${t("failed")}: ${error.message}`;
    status.className = error.status === 404 ? "" : "error";
  }
  document.body.dataset.ready = "contacts";
}
