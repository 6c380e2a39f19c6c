// Builds the console's browser code into chalicelib/web/console_static: one script and one style
// sheet, minified, named by their content's hash (so they may be cached for good), each with a
// gzipped twin, and manifest.json naming them for the pages.  Run by make; nothing fetched here.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "chalicelib", "web", "console_static");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const built = await build({
  entryPoints: {
    console: join(here, "src", "main.js"),
    editor: join(here, "src", "editor-main.js"),
    "console-style": join(here, "src", "console.css"),
  },
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  legalComments: "eof",
  write: false,
  outdir: out,
  logLevel: "warning",
});

const manifest = {};
for (const file of built.outputFiles) {
  const name = file.path.split("/").pop();
  const dot = name.indexOf(".");
  const stem = name.slice(0, dot);
  const ext = name.slice(dot);
  const hash = createHash("sha256").update(file.contents).digest("hex").slice(0, 12);
  const hashed = `${stem}-${hash}${ext}`;
  writeFileSync(join(out, hashed), file.contents);
  writeFileSync(join(out, hashed + ".gz"), gzipSync(file.contents, { level: 9 }));
  manifest[stem + ext] = hashed;
}
writeFileSync(join(out, "manifest.json"), JSON.stringify(manifest, null, 1) + "\n");
const sizes = readdirSync(out).filter((n) => n.endsWith(".gz")).map((n) => `${n} ${readFileSync(join(out, n)).length} B`);
console.error(`console assets: ${sizes.join(", ")}`);
