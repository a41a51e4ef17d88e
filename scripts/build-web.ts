/**
 * Builds the lab page the way the server does at start (src/http/web-bundle.ts, in memory) and
 * prints what a browser downloads: each asset's bytes, gzipped and not. The server builds on its
 * own; this script is for the figures in the README: `node --import tsx scripts/build-web.ts`.
 */
import { webBundle } from '../src/http/web-bundle.ts';

const started = performance.now();
const bundle = await webBundle();
const ms = performance.now() - started;
let raw = 0;
let gzip = 0;
for (const [name, asset] of bundle) {
  raw += asset.body.length;
  gzip += asset.gzipBytes;
  console.log(`${name.padEnd(8)} ${String(asset.body.length).padStart(8)} bytes  ${String(asset.gzipBytes).padStart(7)} gzipped`);
}
console.log(`${'total'.padEnd(8)} ${String(raw).padStart(8)} bytes  ${String(gzip).padStart(7)} gzipped  (built in ${ms.toFixed(0)} ms; plus the HTML shell, ~0.6 kB)`);
