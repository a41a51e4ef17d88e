/**
 * Serving under heavy load (issue #13, "freeze" and "admission control"): starts the real server
 * on the shipped models and measures, first unloaded and then while heavy clients keep the heavy
 * queue full (integrated gradients on mnist, retrying 100 ms after every refusal):
 * - the event loop's delay, p99 and max, from the server's own `perf_hooks.monitorEventLoopDelay`
 *   histogram (prom-client's `nodejs_eventloop_lag_*`, reset at every scrape of /metrics, so one
 *   scrape before and one after a phase give that phase's figures);
 * - `/healthz` latency (one probe every 20 ms), p50/p99/max;
 * - classify throughput at concurrency 8 and its p99, and its ratio to the unloaded figure;
 * - heavy requests completed and refused (429/503) during the phase.
 *
 *   npm run bench -- loaded          (BENCH_SECONDS, default 6; BENCH_SERVER_ARGS adds server flags)
 */
import sharp from 'sharp';
import { loadMnist } from '../src/datasets/mnist.ts';
import { startServer, waitReady } from './lib/server-process.ts';
import { markdownTable, median, percentile } from './lib/stats.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
// More clients than a worker plus the default heavy queue (1 + 8), so that the queue stays full.
const HEAVY_CLIENTS = Number(process.env.BENCH_HEAVY_CLIENTS ?? 12);
const HEAVY_STEPS = Number(process.env.BENCH_HEAVY_STEPS ?? 500);
const EXTRA_ARGS = (process.env.BENCH_SERVER_ARGS ?? '').split(/\s+/).filter(Boolean);

async function digitPng(i: number): Promise<string> {
  const { test } = loadMnist();
  const grey = Uint8Array.from(test.images.subarray(i * 784, (i + 1) * 784), (v) => Math.round(v * 255));
  return (await sharp(Buffer.from(grey), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer()).toString('base64');
}

async function loopLag(baseUrl: string): Promise<{ p99: number; max: number }> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const read = (name: string) => Number(text.match(new RegExp(`^${name} ([\\d.e+-]+)$`, 'm'))?.[1] ?? NaN) * 1000;
  return { p99: read('nodejs_eventloop_lag_p99_seconds'), max: read('nodejs_eventloop_lag_max_seconds') };
}

interface Phase {
  classifyRps: number;
  classifyP99: number;
  classifyErrors: number;
  health: number[];
  heavyDone: number;
  heavyRefused: number;
  heavyOther: number;
  lag: { p99: number; max: number };
}

async function phase(baseUrl: string, image: string, heavy: boolean): Promise<Phase> {
  const until = performance.now() + SECONDS * 1000;
  const controller = new AbortController();
  const classifyBody = JSON.stringify({ image, topK: 3 });
  const heavyBody = JSON.stringify({ image, method: 'integrated-gradients', steps: HEAVY_STEPS, rule: 'uniform' });
  const latencies: number[] = [];
  const health: number[] = [];
  let classifyErrors = 0;
  let heavyDone = 0;
  let heavyRefused = 0;
  let heavyOther = 0;
  const heavyClient = async () => {
    while (!controller.signal.aborted) {
      try {
        const res = await fetch(`${baseUrl}/v1/models/mnist/explain`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: heavyBody, signal: controller.signal });
        await res.arrayBuffer();
        if (res.status === 200) heavyDone++;
        else if (res.status === 429 || res.status === 503) heavyRefused++;
        else heavyOther++;
        if (res.status !== 200) await new Promise((r) => setTimeout(r, 100));
      } catch {
        // Aborted at the end of the phase.
      }
    }
  };
  const heavyClients = heavy ? Array.from({ length: HEAVY_CLIENTS }, heavyClient) : [];
  if (heavy) await new Promise((r) => setTimeout(r, 1000)); // let the heavy queue fill
  await loopLag(baseUrl); // resets the server's histogram: what follows is this phase's
  const started = performance.now();
  const end = Math.max(until, started + SECONDS * 1000);
  const classifyClient = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      const res = await fetch(`${baseUrl}/v1/models/mnist/classify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: classifyBody });
      await res.arrayBuffer();
      if (res.status === 200) latencies.push(performance.now() - t0);
      else classifyErrors++;
    }
  };
  const prober = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      await (await fetch(`${baseUrl}/healthz`)).arrayBuffer();
      health.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await Promise.all([...Array.from({ length: 8 }, classifyClient), prober()]);
  const seconds = (performance.now() - started) / 1000;
  const lag = await loopLag(baseUrl);
  controller.abort();
  await Promise.all(heavyClients);
  return { classifyRps: latencies.length / seconds, classifyP99: percentile(latencies, 99), classifyErrors, health, heavyDone, heavyRefused, heavyOther, lag };
}

export async function benchLoaded(): Promise<void> {
  const image = await digitPng(0);
  const server = await startServer(['--backend', 'wasm', ...EXTRA_ARGS]);
  const rows: (string | number)[][] = [];
  try {
    await waitReady(server.baseUrl);
    await phase(server.baseUrl, image, false); // warm-up
    const idle = await phase(server.baseUrl, image, false);
    const loaded = await phase(server.baseUrl, image, true);
    for (const [name, p] of [['unloaded', idle], [`${HEAVY_CLIENTS} heavy clients (IG ${HEAVY_STEPS} steps)`, loaded]] as const) {
      rows.push([
        name,
        p.lag.p99.toFixed(1),
        p.lag.max.toFixed(0),
        median(p.health).toFixed(1),
        percentile(p.health, 99).toFixed(1),
        Math.max(...p.health).toFixed(0),
        p.classifyRps.toFixed(0),
        `${((100 * p.classifyRps) / idle.classifyRps).toFixed(0)}%`,
        p.classifyP99.toFixed(1),
        p.classifyErrors,
        `${p.heavyDone} / ${p.heavyRefused}${p.heavyOther ? ` (+${p.heavyOther} other)` : ''}`,
      ]);
    }
  } finally {
    await server.stop();
  }
  console.log(`\n## Cheap work while heavy work is queued (mnist, wasm, ${SECONDS} s per phase${EXTRA_ARGS.length ? `, server flags: ${EXTRA_ARGS.join(' ')}` : ''})\n`);
  console.log(
    markdownTable(
      ['load', 'event loop p99 ms', 'event loop max ms', '/healthz p50 ms', '/healthz p99 ms', '/healthz max ms', 'classify req/s (c=8)', 'of unloaded', 'classify p99 ms', 'classify errors', 'heavy done / refused'],
      rows,
    ),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await benchLoaded();
