/**
 * HTTP serving benchmark: starts the real server (shipped models, wasm) once with dynamic
 * batching on and once with it off, and drives `POST /v1/models/mnist/classify` with real
 * HTTP clients (fetch) at concurrency 1, 8 and 32. Prints throughput, p50/p99 latency and the
 * mean forward-pass batch size read back from /metrics, plus in-process forward-pass times.
 */
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index.ts';
import { loadModelFromDir } from '../src/model/loader.ts';
import { loadMnist } from '../src/datasets/mnist.ts';
import { startServer, waitReady } from './lib/server-process.ts';
import { markdownTable, median, percentile } from './lib/stats.ts';

const CONCURRENCY = [1, 8, 32];
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);

async function digitPngs(count: number): Promise<string[]> {
  const { test } = loadMnist();
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const grey = Uint8Array.from(test.images.subarray(i * 784, (i + 1) * 784), (v) => Math.round(v * 255));
    const png = await sharp(Buffer.from(grey), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer();
    out.push(png.toString('base64'));
  }
  return out;
}

async function metricValue(baseUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const m = text.match(new RegExp(`^${name}\\{model="mnist"\\} ([\\d.e+-]+)$`, 'm'));
  return m ? Number(m[1]) : 0;
}

async function drive(baseUrl: string, bodies: string[], concurrency: number) {
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const until = performance.now() + SECONDS * 1000;
  const worker = async () => {
    while (performance.now() < until) {
      const body = bodies[next++ % bodies.length]!;
      const t0 = performance.now();
      const res = await fetch(`${baseUrl}/v1/models/mnist/classify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await res.arrayBuffer();
      if (res.status !== 200) errors++;
      latencies.push(performance.now() - t0);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  return { requests: latencies.length, rps: latencies.length / seconds, p50: median(latencies), p99: percentile(latencies, 99), errors };
}

function forwardTimes(): Promise<string[][]> {
  return (async () => {
    await initBackend('wasm');
    const model = await loadModelFromDir('models/mnist');
    const rows: string[][] = [];
    for (const n of [1, 32]) {
      const images = Array.from({ length: n }, () => new Float32Array(784).fill(0.1));
      const times: number[] = [];
      for (let i = 0; i < 50; i++) {
        const t0 = performance.now();
        model.predictProbabilities(images);
        times.push(performance.now() - t0);
      }
      rows.push([`forward, batch ${n}`, median(times).toFixed(2), (median(times) / n).toFixed(3)]);
    }
    model.dispose();
    if (tf.memory().numTensors !== 0) throw new Error('forward benchmark leaked tensors');
    return rows;
  })();
}

export async function benchHttp(): Promise<void> {
  console.log(`\n## Serving over HTTP (mnist, JSON base64 PNG, ${SECONDS} s per row, wasm)\n`);
  const bodies = (await digitPngs(64)).map((image) => JSON.stringify({ image, topK: 3 }));
  const rows: (string | number)[][] = [];
  for (const batching of ['on', 'off']) {
    const server = await startServer(['--backend', 'wasm', '--batching', batching]);
    try {
      await waitReady(server.baseUrl);
      for (const c of CONCURRENCY) {
        await drive(server.baseUrl, bodies, c); // warm the connection pool and the code paths
        const passesBefore = await metricValue(server.baseUrl, 'gradlab_batch_size_count');
        const imagesBefore = await metricValue(server.baseUrl, 'gradlab_batch_size_sum');
        const r = await drive(server.baseUrl, bodies, c);
        const passes = (await metricValue(server.baseUrl, 'gradlab_batch_size_count')) - passesBefore;
        const images = (await metricValue(server.baseUrl, 'gradlab_batch_size_sum')) - imagesBefore;
        rows.push([batching, c, r.requests, r.rps.toFixed(0), r.p50.toFixed(1), r.p99.toFixed(1), (images / Math.max(1, passes)).toFixed(1), r.errors]);
        console.error(`batching ${batching}, concurrency ${c}: ${r.rps.toFixed(0)} req/s`);
      }
    } finally {
      await server.stop();
    }
  }
  console.log(markdownTable(['batching', 'concurrency', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'images per forward pass', 'errors'], rows));
  console.log('\nIn-process forward pass (no HTTP), median of 50:\n');
  console.log(markdownTable(['work', 'ms per call', 'ms per image'], await forwardTimes()));
}
