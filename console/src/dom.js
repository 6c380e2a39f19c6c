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

export class ApiError extends Error {}

// GET a console API path (relative to the page, so it works under a stage path too).
export async function getJSON(path) {
  const answer = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (answer.status === 401) {
    location.assign(`console/sign-in?lang=${lang}`);
    throw new ApiError("signed out");
  }
  const body = await answer.json().catch(() => ({}));
  if (!answer.ok) throw new ApiError(body.Message || body.message || `${answer.status}`);
  return body;
}

// A table of numbers: a caption, a header row, the rows.
export function table(caption, head, rows, attrs = {}) {
  return el(
    "table",
    attrs,
    el("caption", { text: caption }),
    el("thead", {}, el("tr", {}, head.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, rows.map((row) => el("tr", {}, row.map((cell, i) => el(i ? "td" : "th", i ? { text: cell } : { scope: "row", text: cell }))))),
  );
}
