// The console's one script: each page says what it is (<body data-page>), this draws it.
import { contacts } from "./contacts.js";
import { imports } from "./imports.js";
import { journeys } from "./journeys.js";
import { overview } from "./overview.js";
import { segments } from "./segments.js";
import { sites } from "./sites.js";
import { users } from "./users.js";

const pages = { overview, contacts, imports, segments, scenarios: journeys, sites, users };
const root = document.getElementById("app");
const draw = pages[document.body.dataset.page];
if (root && draw) draw(root);
