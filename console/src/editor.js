// Definitions: one editor per kind (YAML, highlighted, by CodeMirror); Check shows each problem
// at its line, Apply puts the text in force as a new version; the versions are listed, each can
// be compared with the editor's text (a line diff, by jsdiff) and put back in force (roll back:
// its text becomes the newest version).  Loaded by this page only: the other pages stay light.
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { yaml } from "@codemirror/lang-yaml";
import { bracketMatching, defaultHighlightStyle, indentOnInput, syntaxHighlighting } from "@codemirror/language";
import { lintGutter, setDiagnostics } from "@codemirror/lint";
import { EditorState } from "@codemirror/state";
import { EditorView, drawSelection, highlightActiveLine, keymap, lineNumbers } from "@codemirror/view";
import { diffLines } from "diff";
import { ApiError, api, el, may, root } from "./dom.js";
import { lang, t } from "./words.js";

const KINDS = ["catalogue", "scoring", "segments", "templates", "scenarios", "forms"];
const mayChange = may("marketer");

async function put(kind, text, check) {
  const csrf = (await api("console/me")).csrf_token;
  const answer = await fetch(`${root}admin/definitions/${kind}${check ? "?check=1" : ""}`, {
    method: "PUT",
    credentials: "same-origin",
    headers: { "Content-Type": "application/yaml", "X-CSRF-Token": csrf, Accept: "application/json" },
    body: text,
  });
  const body = await answer.json().catch(() => ({}));
  if (answer.status === 400 && body.errors) return body;
  if (!answer.ok) throw new ApiError(body.Message || `${answer.status}`, answer.status);
  return body;
}

function diagnostics(view, errors) {
  const doc = view.state.doc;
  return errors.map((e) => {
    const line = doc.line(Math.min(Math.max(e.line || 1, 1), doc.lines));
    return { from: line.from, to: line.to, severity: "error", message: e.field ? `${e.field}: ${e.message}` : e.message };
  });
}

function showDiff(host, older, newer, caption) {
  const rows = diffLines(older, newer).flatMap((part) =>
    part.value.replace(/\n$/, "").split("\n").map((line) => {
      const mark = part.added ? "+" : part.removed ? "-" : " ";
      return el("div", { class: part.added ? "added" : part.removed ? "removed" : "same", text: `${mark} ${line}` });
    }),
  );
  host.replaceChildren(el("h3", { text: caption }), el("pre", { class: "diff", id: "diff", tabindex: "0", "aria-label": caption }, rows));
}

export async function definitions(main) {
  const params = new URLSearchParams(location.search);
  const kind = KINDS.includes(params.get("kind")) ? params.get("kind") : "segments";
  main.append(
    el("nav", { class: "kinds", "aria-label": t("kinds") }, el("ul", {}, KINDS.map((k) =>
      el("li", {}, el("a", { href: `?kind=${k}&lang=${lang}`, "aria-current": k === kind ? "page" : null, text: k })),
    ))),
  );
  const status = el("p", { role: "status", id: "status" });
  const problems = el("ol", { id: "problems", class: "problems" });
  const holder = el("div", { class: "editor", id: "editor", "aria-label": `${kind}.yaml` });
  const buttons = el("div", { class: "buttons" });
  const versions = el("section", { class: "panel", id: "versions" });
  const diff = el("section", { class: "panel", id: "compare" });
  main.append(el("h2", { text: `${kind}.yaml` }), holder, buttons, status, problems, versions, diff);

  let current = { text: "", version: 0, versions: [] };
  try {
    current = await api(`admin/definitions/${kind}`);
  } catch (error) {
    if (error.status !== 404) throw error;
  }
  const view = new EditorView({
    parent: holder,
    state: EditorState.create({
      doc: current.text,
      extensions: [
        lineNumbers(),
        history(),
        drawSelection(),
        indentOnInput(),
        bracketMatching(),
        highlightActiveLine(),
        syntaxHighlighting(defaultHighlightStyle),
        yaml(),
        lintGutter(),
        keymap.of([...defaultKeymap, ...historyKeymap]),
        EditorState.readOnly.of(!mayChange),
        EditorView.cspNonce.of(document.body.dataset.nonce || ""),
        EditorView.contentAttributes.of({ "aria-label": `${kind}.yaml`, "aria-multiline": "true" }),
      ],
    }),
  });

  holder.editor = view; // for scripts driving the page (the browser tests read the text from it)
  // The scrolling frame takes the keyboard too (read-only, the text has no other way to scroll).
  view.scrollDOM.setAttribute("tabindex", "0");
  view.scrollDOM.setAttribute("aria-label", `${kind}.yaml`);

  function report(answer, applied) {
    const errors = answer.errors || [];
    view.dispatch(setDiagnostics(view.state, diagnostics(view, errors)));
    problems.replaceChildren(...errors.map((e) => el("li", { "data-line": e.line ?? "", text: `${t("line")} ${e.line ?? "–"}: ${e.field ? `${e.field}: ` : ""}${e.message}` })));
    status.className = errors.length ? "error" : "ok";
    status.textContent = errors.length ? `${errors.length} ${t("problems")}` : applied ? `${t("applied")} ${answer.version}` : t("valid");
    return errors.length ? "problems" : applied ? `applied-${answer.version}` : "valid";
  }

  async function send(check, text = view.state.doc.toString()) {
    try {
      const answer = await put(kind, text, check);
      const outcome = report(answer, !check && !answer.errors);
      if (!check && !answer.errors) {
        if (text !== view.state.doc.toString()) view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
        current = await api(`admin/definitions/${kind}`);
        drawVersions();
      }
      document.body.dataset.ready = outcome; // once the page shows it all
    } catch (error) {
      status.className = "error";
      status.textContent = `${t("failed")}: ${error.message}`;
    }
  }

  function drawVersions() {
    const rows = current.versions.map((v) => {
      const compare = el("button", { type: "button", class: "link", "data-version": v.version, text: t("compare") });
      compare.addEventListener("click", async () => {
        const old = await api(`admin/definitions/${kind}/versions/${v.version}`);
        showDiff(diff, old.text, view.state.doc.toString(), `${t("version")} ${v.version} → ${t("editor_text")}`);
      });
      const cells = [el("td", { text: v.version }), el("td", { text: v.at }), el("td", { text: v.file }), el("td", {}, compare)];
      if (mayChange && v.version !== current.version) {
        const back = el("button", { type: "button", class: "link", "data-rollback": v.version, text: t("roll_back") });
        back.addEventListener("click", async () => send(false, (await api(`admin/definitions/${kind}/versions/${v.version}`)).text));
        cells.push(el("td", {}, back));
      } else cells.push(el("td", { text: v.version === current.version ? t("in_force") : "" }));
      return el("tr", { "data-version": v.version }, cells);
    });
    const head = [t("version"), t("at"), t("file"), "", ""].map((h) => el("th", { scope: "col", text: h }));
    versions.replaceChildren(el("table", { class: "numbers wide text" }, el("caption", { text: t("versions") }), el("thead", {}, el("tr", {}, head)), el("tbody", {}, rows)));
  }

  const check = el("button", { type: "button", id: "check", text: t("check") });
  check.addEventListener("click", () => send(true));
  buttons.append(check);
  if (mayChange) {
    const apply = el("button", { type: "button", id: "apply", text: t("apply") });
    apply.addEventListener("click", () => send(false));
    buttons.append(apply);
  }
  drawVersions();
  document.body.dataset.ready = "definitions";
}
