// Users (admins): who may sign in, their role and state; invite someone (the user pool mails
// them a temporary password), give someone another role, switch an account off or on -- each
// ends that person's sessions at once.  Below: the audit log, newest first.
import { api, el, table, when } from "./dom.js";
import { t } from "./words.js";

const ROLES = ["analyst", "marketer", "admin"];

function roles(attrs, chosen) {
  return el("select", attrs, ROLES.map((r) => el("option", { value: r, text: t(`role_${r}`), selected: r === chosen })));
}

function state(member) {
  if (!member.enabled) return t("account_off");
  return { FORCE_CHANGE_PASSWORD: t("invited"), CONFIRMED: t("active"), RESET_REQUIRED: t("reset_required") }[member.status] || member.status;
}

function auditLog() {
  const body = el("tbody");
  const more = el("button", { type: "button", id: "more-audit", text: t("more") });
  const section = el("section", { class: "panel" }, table(t("audit_title"), [t("at"), t("who"), t("change"), t("detail")], body, { class: "numbers wide text", id: "audit" }), more);
  let cursor = "";
  async function page(again) {
    if (again) {
      body.replaceChildren();
      cursor = "";
    }
    const found = await api(`console/audit?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    const detail = (d) => Object.entries(d).map(([k, v]) => `${k}: ${v}`).join(", ");
    body.append(...found.entries.map((e) => el("tr", {}, el("td", { text: when(e.at) }), el("td", { text: e.who }), el("td", { text: `${e.method} ${e.route}${e.target ? ` ${e.target}` : ""}` }), el("td", { text: detail(e.detail) }))));
    cursor = found.cursor || "";
    more.hidden = !cursor;
  }
  more.addEventListener("click", () => page(false));
  return { section, page };
}

export async function users(main) {
  const me = document.getElementById("email")?.textContent || "";
  const status = el("p", { role: "status", id: "status" });
  const email = el("input", { type: "email", id: "invite-email", name: "email", required: true, maxlength: 254, autocomplete: "off" });
  const form = el(
    "form",
    { id: "invite", class: "find" },
    el("label", { for: "invite-email", text: t("f_email") }),
    email,
    el("label", { for: "invite-role", text: t("role") }),
    roles({ id: "invite-role" }, "analyst"),
    el("button", { type: "submit", id: "invite-send", text: t("invite") }),
  );
  const body = el("tbody");
  const audit = auditLog();
  main.append(
    el("section", { class: "panel" }, el("h2", { text: t("invite_title") }), el("p", { text: t("invite_note") }), form),
    status,
    el("section", { class: "panel" }, table(t("users_title"), [t("f_email"), t("role"), t("state"), t("since"), t("account")], body, { class: "numbers wide text", id: "users" })),
    audit.section,
  );

  function say(text, failed) {
    status.textContent = text;
    status.className = failed ? "error" : "";
  }

  async function act(call, done) {
    try {
      await call();
      say(done, false);
    } catch (error) {
      say(`${t("failed_change")}: ${error.message}`, true);
    }
    await Promise.all([draw(), audit.page(true)]);
    document.body.dataset.ready = "users";
  }

  function row(member) {
    const self = member.email === me;
    const choose = roles({ id: `role-${member.email}`, "aria-label": `${t("role")}: ${member.email}`, disabled: self }, member.role);
    choose.addEventListener("change", () => act(() => api(`admin/users/${encodeURIComponent(member.email)}`, { method: "PUT", body: { role: choose.value } }), `${t("role_changed")}: ${member.email}`));
    const toggle = el("button", { type: "button", class: member.enabled ? "danger" : "", "data-email": member.email, disabled: self, text: t(member.enabled ? "switch_off" : "switch_on") });
    toggle.addEventListener("click", () => act(() => api(`admin/users/${encodeURIComponent(member.email)}`, { method: "PUT", body: { enabled: !member.enabled } }), `${t(member.enabled ? "switched_off" : "switched_on")}: ${member.email}`));
    return el("tr", { "data-email": member.email }, el("th", { scope: "row", text: member.email }), el("td", {}, choose), el("td", { text: state(member) }), el("td", { text: when(member.created_at) }), el("td", {}, self ? t("you") : toggle));
  }

  async function draw() {
    const found = await api("admin/users");
    body.replaceChildren(...found.users.map(row));
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const address = email.value.trim();
    const role = document.getElementById("invite-role").value;
    act(async () => {
      await api("admin/users", { method: "POST", body: { email: address, role } });
      email.value = "";
    }, `${t("invited_now")}: ${address}`);
  });
  try {
    await Promise.all([draw(), audit.page(true)]);
  } catch (error) {
    say(`${t("failed")}: ${error.message}`, true);
  }
  document.body.dataset.ready = "users";
}
