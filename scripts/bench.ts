/**
 * `npm run bench [-- section...]`: gradlab's benchmarks, each printing a Markdown table.
 * Sections: `http` (serving throughput and latency, batching on/off), `explain` (ms per image per
 * method), `attacks` (PGD-40 at batch 1 and 64 next to a forward pass), `overhead` (what HTTP adds to
 * the core call at batch 1), `loaded` (event loop, `/healthz` and classify throughput while heavy
 * work fills its queue), `heavy` (heavy workers over HTTP with native kernels on and off), `jobs`
 * (jobs/s with one and two worker processes on Redis, and classify latency while they are
 * saturated), `direct` (input gradients with and without tfjs' gradient tape). Default: all.
 */
import { benchAttacks } from './bench-attacks.ts';
import { benchDirectGradient } from './bench-direct-gradient.ts';
import { benchExplain } from './bench-explain.ts';
import { benchHeavy } from './bench-heavy.ts';
import { benchHttp } from './bench-http.ts';
import { benchJobs } from './bench-jobs.ts';
import { benchLoaded } from './bench-loaded.ts';
import { benchOverhead } from './bench-overhead.ts';

const SECTIONS: Record<string, () => Promise<void>> = { http: benchHttp, overhead: benchOverhead, explain: benchExplain, attacks: benchAttacks, loaded: benchLoaded, heavy: benchHeavy, jobs: benchJobs, direct: benchDirectGradient };

const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!SECTIONS[name]) {
    console.error(`unknown bench section '${name}' (known: ${Object.keys(SECTIONS).join(', ')})`);
    process.exit(2);
  }
}
for (const name of wanted.length ? wanted : Object.keys(SECTIONS)) await SECTIONS[name]!();
