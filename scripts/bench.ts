/**
 * `npm run bench [-- section...]`: gradlab's benchmarks, each printing a Markdown table.
 * Sections: `http` (serving throughput and latency, batching on/off), `explain` (ms per image per
 * method). Default: all.
 */
import { benchExplain } from './bench-explain.ts';
import { benchHttp } from './bench-http.ts';

const SECTIONS: Record<string, () => Promise<void>> = { http: benchHttp, explain: benchExplain };

const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!SECTIONS[name]) {
    console.error(`unknown bench section '${name}' (known: ${Object.keys(SECTIONS).join(', ')})`);
    process.exit(2);
  }
}
for (const name of wanted.length ? wanted : Object.keys(SECTIONS)) await SECTIONS[name]!();
