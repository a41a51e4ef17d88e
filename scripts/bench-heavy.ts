/**
 * Heavy work over HTTP with and without gradlab's native kernels in the heavy workers: two real
 * servers (separate processes, shipped models, one heavy worker each), identical requests sent
 * to each in turn, one at a time. With `--native auto` the worker thread runs oneDNN's kernels on
 * one thread; with `--native off` gradlab's wasm kernels. Prints median ms and the ratio.
 *
 *   npm run bench -- heavy            (BENCH_ROUNDS=15 by default)
 */
import sharp from 'sharp';
import { startServer, waitReady, type ServerProcess } from './lib/server-process.ts';
import { SHIPPED, imageAt } from './lib/shipped.ts';
import { markdownTable, median } from './lib/stats.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);

async function png(pixels: Float32Array): Promise<string> {
  const grey = Buffer.from(Uint8Array.from(pixels, (v) => Math.round(v * 255)));
  return (await sharp(grey, { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer()).toString('base64');
}

export async function benchHeavy(): Promise<void> {
  const set = SHIPPED[0]!.heldOut();
  const one = await png(imageAt(set, 0));
  const sixteen = await Promise.all(Array.from({ length: 16 }, (_, i) => png(imageAt(set, i))));
  const cases = [
    { label: 'explain integrated-gradients (1 digit, 64 steps)', path: '/v1/models/mnist/explain', body: { image: one, method: 'integrated-gradients', steps: 64 } },
    { label: 'explain smoothgrad (1 digit, 50 samples)', path: '/v1/models/mnist/explain', body: { image: one, method: 'smoothgrad', samples: 50 } },
    { label: 'attack PGD-10 (1 digit)', path: '/v1/models/mnist/attack', body: { image: one, method: 'pgd', epsilon: 0.3, steps: 10 } },
    { label: 'attack PGD-40 (16 digits)', path: '/v1/models/mnist/attack', body: { images: sixteen, method: 'pgd', epsilon: 0.3, steps: 40 } },
  ];
  const common = ['--models-dir', 'models', '--heavy-workers', '1', '--threads', '1'];
  const servers: Record<string, ServerProcess> = {};
  try {
    for (const native of ['auto', 'off']) servers[native] = await startServer([...common, '--native', native]);
    await Promise.all(Object.values(servers).map((s) => waitReady(s.baseUrl)));
    const send = async (server: ServerProcess, c: (typeof cases)[number]) => {
      const res = await fetch(server.baseUrl + c.path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(c.body) });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`${c.path}: ${res.status} ${text.slice(0, 300)}`);
    };
    const rows: string[][] = [];
    for (const c of cases) {
      const times: Record<string, number[]> = { auto: [], off: [] };
      for (const s of Object.values(servers)) await send(s, c); // warm-up
      for (let r = 0; r < ROUNDS; r++) {
        for (const native of r % 2 === 0 ? ['auto', 'off'] : ['off', 'auto']) {
          const t0 = performance.now();
          await send(servers[native]!, c);
          times[native]!.push(performance.now() - t0);
        }
      }
      const on = median(times.auto!);
      const off = median(times.off!);
      rows.push([c.label, on.toFixed(1), off.toFixed(1), (off / on).toFixed(2)]);
    }
    console.log(`\n## Heavy work over HTTP in one heavy worker: native kernels on and off (median ms over ${ROUNDS} interleaved rounds)\n`);
    console.log(markdownTable(['request', '--native auto', '--native off', 'speed-up'], rows));
  } finally {
    await Promise.all(Object.values(servers).map((s) => s.stop()));
  }
}
