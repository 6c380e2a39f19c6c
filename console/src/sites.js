// Sites: every registered site with today's rejected hits; a site's page gives the tag to put on
// every page (with a copy button), the pages the tag has reported from -- those gone quiet
// stand out -- a check of any page on demand (is the tag there, is it reporting?), and today's
// rejected hits by reason.
import { api, el, may, root, table, when } from "./dom.js";
import { lang, number, t } from "./words.js";

const QUIET_DAYS = 7; // a page with no hit for this long stands out
const total = (counts) => Object.values(counts || {}).reduce((a, b) => a + b, 0);

// The two lines of the README, with this installation's address and the site's id: the tag from
// the beacon function's own URL when the installation has one (its forms then come from the API).
function snippet(site) {
  const api = new URL(root || "./", location.href).href.replace(/\/$/, "");
  const own = document.body.dataset.tag;
  const tag = own ? `${own}/tag.js" data-api="${api}` : `${api}/tag.js`;
  const queue = 'window.sodate=window.sodate||{q:[]};["event","conversion","consent","form"].forEach(function(m){sodate[m]=sodate[m]||function(){sodate.q.push([m,arguments])}})';
  return `<script>${queue}</script>\n<script async src="${tag}" data-site="${site.site_id}"></script>`;
}

function tagPanel(site) {
  const text = snippet(site);
  const code = el("textarea", { id: "snippet", readonly: true, rows: 3, spellcheck: "false", "aria-label": t("tag_snippet") });
  code.value = text;
  const said = el("span", { id: "copied", role: "status" });
  const copy = el("button", { type: "button", id: "copy", text: t("copy") });
  copy.addEventListener("click", async () => {
    code.select();
    try {
      await navigator.clipboard.writeText(text);
      said.textContent = t("copied");
    } catch {
      said.textContent = t("copy_by_hand"); // the text is selected: Ctrl+C
    }
  });
  return el("section", { class: "panel" }, el("h2", { text: t("tag_snippet") }), el("p", { class: "note", text: t("tag_where") }), code, el("div", { class: "buttons" }, copy, said));
}

function pagesPanel(site) {
  const body = el("tbody", {});
  const more = el("button", { type: "button", id: "more-pages", text: t("more"), hidden: true });
  let cursor = null;
  const load = async () => {
    const found = await api(`admin/sites/${encodeURIComponent(site.site_id)}/pages?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    for (const page of found.pages) {
      const quiet = page.quiet_days >= QUIET_DAYS;
      body.append(el("tr", { class: quiet ? "quiet" : null, "data-path": page.path }, el("th", { scope: "row", text: page.path }), el("td", { text: number(page.hits) }), el("td", { text: when(page.last_hit) }), el("td", { text: quiet ? `${number(page.quiet_days)} ${t("days_quiet")}` : number(page.quiet_days) })));
    }
    cursor = found.next_cursor;
    more.hidden = !cursor;
  };
  more.addEventListener("click", () => load());
  const head = [t("page"), t("hits"), t("last_hit"), t("quiet_days")];
  const shown = table(t("pages_seen"), head, body, { class: "numbers wide", id: "pages" });
  return { panel: el("section", { class: "panel" }, shown, more), load };
}

function verifyPanel(site) {
  const address = el("input", { type: "url", id: "verify-url", value: `https://${site.domains[0] || ""}/`, required: true });
  const verdict = el("div", { id: "verdict", role: "status" });
  const form = el("form", { id: "verify", class: "find" }, el("label", { for: "verify-url", text: t("page_address") }), address, el("button", { type: "submit", text: t("verify") }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    verdict.replaceChildren(el("p", { text: t("loading") }));
    try {
      const found = await api(`admin/sites/${encodeURIComponent(site.site_id)}/verify`, { method: "POST", body: { url: address.value } });
      const facts = [
        [t("http_status"), String(found.http_status)],
        [t("tag_present"), found.tag_present ? t("yes") : t("no")],
        [t("site_id_matches"), found.site_id_matches ? t("yes") : t("no")],
        [t("last_hit"), when(found.last_hit)],
      ];
      verdict.replaceChildren(
        el("p", { class: found.ok ? "ok" : "bad", id: "verdict-says", text: found.ok ? t("tag_ok") : t("tag_not_ok") }),
        el("ul", { class: "problems" }, found.problems.map((p) => el("li", { text: p }))),
        table(t("verdict"), [t("what"), t("value")], facts, { class: "numbers text" }),
      );
    } catch (error) {
      verdict.replaceChildren(el("p", { class: "error", text: error.message }));
    }
  });
  return el("section", { class: "panel" }, el("h2", { text: t("verify_title") }), form, verdict);
}

async function site(main, id) {
  const found = await api(`admin/sites/${encodeURIComponent(id)}`);
  const reasons = Object.entries(found.rejected_today || {});
  const pages = pagesPanel(found);
  main.append(
    el("p", {}, el("a", { href: `?lang=${lang}`, text: t("all_sites") })),
    el("h2", { text: `${found.name} (${found.site_id})` }),
    el("p", { text: `${t("domains")}: ${found.domains.join(", ")} · ${t("consent_mode")}: ${found.consent_mode}` }),
    tagPanel(found),
    pages.panel,
    may("marketer") ? verifyPanel(found) : null,
    el("section", { class: "panel" }, reasons.length ? table(t("rejected_today"), [t("reason"), t("hits")], reasons.map(([r, n]) => [r, number(n)]), { class: "numbers", id: "rejected" }) : el("p", { id: "rejected", text: t("none_rejected") })),
  );
  await pages.load();
  document.body.dataset.ready = "site";
}

async function list(main) {
  const found = await api("admin/sites");
  const rows = found.sites.map((s) => [el("a", { href: `?id=${encodeURIComponent(s.site_id)}&lang=${lang}`, text: s.name }), s.site_id, s.domains.join(", "), s.consent_mode, number(total(s.rejected_today))]);
  const head = [t("site"), t("site_id"), t("domains"), t("consent_mode"), t("rejected_today")];
  main.append(rows.length ? table(t("sites"), head, rows, { class: "numbers wide text", id: "sites" }) : el("p", { text: t("no_sites") }));
  document.body.dataset.ready = "sites";
}

export function sites(main) {
  const id = new URLSearchParams(location.search).get("id");
  (id ? site(main, id) : list(main)).catch((error) => main.append(el("p", { class: "error", text: `${t("failed")}: ${error.message}` })));
}
