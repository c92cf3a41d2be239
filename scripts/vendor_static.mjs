// Copy the front-end files the pages use from node_modules into the git-ignored
// fengchao/static/vendor/ folder. Third-party code is installed from npm, never committed.
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";

const files = {
  "bootstrap/dist/css/bootstrap.min.css": "bootstrap/bootstrap.min.css",
  "bootstrap/dist/js/bootstrap.bundle.min.js": "bootstrap/bootstrap.bundle.min.js",
  "htmx.org/dist/htmx.min.js": "htmx/htmx.min.js",
  "@alpinejs/csp/dist/cdn.min.js": "alpine/alpine-csp.min.js",
  "echarts/dist/echarts.min.js": "echarts/echarts.min.js",
  "leaflet/dist/leaflet.js": "leaflet/leaflet.js",
  "leaflet/dist/leaflet.css": "leaflet/leaflet.css",
  "leaflet/dist/images": "leaflet/images",
};

const target = join("fengchao", "static", "vendor");
rmSync(target, { recursive: true, force: true });
for (const [source, destination] of Object.entries(files)) {
  const to = join(target, destination);
  mkdirSync(dirname(to), { recursive: true });
  cpSync(join("node_modules", source), to, { recursive: true });
}
console.log(`vendored ${Object.keys(files).length} front-end files into ${target}`);
