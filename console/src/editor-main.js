// The definitions page's script: the editor and what it needs (kept out of the other pages').
import { definitions } from "./editor.js";

const root = document.getElementById("app");
if (root && document.body.dataset.page === "definitions") definitions(root);
