// Copies what the /docs page loads into the gateway, which embeds it with
// go:embed (gateway/internal/gateway/docs.go): Swagger UI's prebuilt bundle
// and stylesheet from swagger-ui-dist, byte for byte as published, with its
// licence texts, and this package's src/ — the page and its init script.
//
// The page names each script and stylesheet with ?v=<first 16 hex digits of
// the file's SHA-256>; the gateway computes the same digest and lets a
// browser keep a file whose URL carries it for good (a new build is a new
// URL), while the page itself is revalidated on every load.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';

const here = (p) => new URL(p, import.meta.url);
const OUT = here('../../gateway/internal/gateway/docs/');
const DIST = 'node_modules/swagger-ui-dist/';

// What a browser loads, by the name the gateway serves it under → source.
const assets = {
  'swagger-ui-bundle.js': DIST + 'swagger-ui-bundle.js',
  'swagger-ui.css': DIST + 'swagger-ui.css',
  'init.js': 'src/init.js',
};
// Apache-2.0 asks for the licence and NOTICE beside the code; the bundle's
// first line points at the third-party notices by this name.
const legal = {
  'swagger-ui.LICENSE': DIST + 'LICENSE',
  'swagger-ui.NOTICE': DIST + 'NOTICE',
  'swagger-ui-bundle.js.LICENSE.txt': DIST + 'swagger-ui-bundle.js.LICENSE.txt',
};

// The installed package must be the pinned one (a stale node_modules would
// otherwise build something the lockfile does not describe).
const pinned = JSON.parse(readFileSync(here('package.json'))).dependencies['swagger-ui-dist'];
const installed = JSON.parse(readFileSync(here(DIST + 'package.json'))).version;
if (installed !== pinned) {
  throw new Error(`swagger-ui-dist ${installed} is installed but ${pinned} is pinned: run npm ci`);
}

const version = (b) => createHash('sha256').update(b).digest('hex').slice(0, 16);
const written = new Set();
const put = (name, bytes) => {
  writeFileSync(new URL(name, OUT), bytes);
  written.add(name);
};

const digests = {};
for (const [name, src] of Object.entries({ ...assets, ...legal })) {
  const bytes = readFileSync(here(src));
  if (name in assets) digests[name] = version(bytes);
  put(name, bytes);
}

let page = readFileSync(here('src/index.html'), 'utf8');
page = page.replace(/(src|href)="\/docs\/([^"?#]+)"/g, (_, attr, name) => {
  if (!(name in digests)) throw new Error(`src/index.html loads /docs/${name}, which the build does not ship`);
  return `${attr}="/docs/${name}?v=${digests[name]}"`;
});
for (const name of Object.keys(assets)) {
  if (!page.includes(`/docs/${name}?v=`)) throw new Error(`src/index.html does not load /docs/${name}`);
}
put('index.html', page);

// Nothing else stays in the output directory.
for (const name of readdirSync(OUT)) {
  if (!written.has(name)) rmSync(new URL(name, OUT), { recursive: true });
}
console.log(`docs: swagger-ui-dist ${installed} → ${[...written].sort().join(', ')}`);
