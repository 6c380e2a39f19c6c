// Small helpers: build elements (text is always set as text, never as HTML) and read the API.
import { lang } from "./words.js";

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = String(value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null && child !== false) node.append(child);
  }
  return node;
}

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

// The way from this page back to the API's root ("" on /console, "../" on /console/<page>):
// every address is relative, so the console works under API Gateway's stage path too.
export const root = document.body.dataset.root || "";

let csrf = null;

// Whether the signed-in role may act as `role` (the server checks again).
const RANK = { analyst: 0, marketer: 1, admin: 2 };
export const may = (role) => (RANK[document.body.dataset.role] ?? -1) >= RANK[role];

// Call the API (a path from its root: "admin/contacts/...", "console/api/..."); JSON back.
// A change carries the session's CSRF token, fetched once from console/me; `body` is sent as JSON.
export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") {
    csrf = csrf || (await api("console/me")).csrf_token;
    headers["X-CSRF-Token"] = csrf;
  }
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const sent = body === undefined ? undefined : JSON.stringify(body);
  const answer = await fetch(root + path, { method, credentials: "same-origin", headers, body: sent });
  if (answer.status === 401) {
    location.assign(`${root}console/sign-in?lang=${lang}`);
    throw new ApiError("signed out", 401);
  }
  const found = await answer.json().catch(() => ({}));
  if (!answer.ok) throw new ApiError(found.Message || found.message || `${answer.status}`, answer.status);
  return found;
}

export const getJSON = (path) => api(path);

// A table: a caption, a header row, the rows -- each a list of cells (text, or an element such
// as a link; the first heads its row) or a <tr> made by the caller -- or a <tbody> filled later.
export function table(caption, head, rows, attrs = {}) {
  const cell = (value, i) => el(i ? "td" : "th", i ? {} : { scope: "row" }, value instanceof Node ? value : String(value ?? ""));
  const body = rows instanceof Node ? rows : el("tbody", {}, rows.map((row) => (row instanceof Node ? row : el("tr", {}, row.map(cell)))));
  return el("table", attrs, el("caption", { text: caption }), el("thead", {}, el("tr", {}, head.map((h) => el("th", { scope: "col", text: h })))), body);
}

// A moment (ISO) in the reader's language and time zone.
export const when = (iso) => (iso ? new Date(iso).toLocaleString(lang === "ja" ? "ja-JP" : "en-GB") : "–");
