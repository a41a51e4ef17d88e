/**
 * Chooses the threshold in kernels/parallel.ts: the multiply-adds from which a convolution or
 * matrix product runs on XNNPACK's thread pool instead of one thread.
 *
 * In one process (the threshold can change between calls), it times the shipped MNIST model's
 * forward pass and input gradient at several batch sizes, and a ResNet-18-shaped model's at batch
 * 1, under each threshold, interleaved round by round so that the machine's drift hits all of them
 * alike, and prints medians. "one thread" never uses the pool; 0 sends every convolution and
 * matrix product to it.
 *
 * With --settle MS, each timed call comes after MS milliseconds of idle time, as a lone request
 * does on a quiet server: the pool's threads have gone to sleep by then, and waking them is part
 * of the cost.
 *
 *   node --import tsx scripts/bench-parallel.ts [--rounds 15] [--no-resnet] [--settle 30]
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { gradient } from '../src/explain/gradient.ts';
import { layerWalk } from '../src/explain/layer-walk.ts';
import { initBackend } from '../src/backend/index.ts';
import type { ImageModel } from '../src/model/image-model.ts';
import { loadModelFromDir } from '../src/model/loader.ts';
import { poolSwitch } from '../src/backend/threaded-wasm.ts';
import { ensureResnet18 } from './lib/resnet18.ts';
import { REPO_ROOT } from './lib/server-process.ts';
import { SHIPPED, imageAt } from './lib/shipped.ts';
import { markdownTable, median } from './lib/stats.ts';

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const ROUNDS = Number(arg('rounds') ?? 15);
const SETTLE_MS = Number(arg('settle') ?? 0);
const settle = () => (SETTLE_MS > 0 ? new Promise((resolve) => setTimeout(resolve, SETTLE_MS)) : Promise.resolve());
const THRESHOLDS = [Infinity, 0, 500_000, 2_000_000, 8_000_000, 32_000_000];
const label = (t: number) => (t === Infinity ? 'one thread' : t === 0 ? '0' : `${t / 1e6}M`);

const backend = await initBackend('wasm');
const pool = poolSwitch();
if (!pool) throw new Error(`no thread pool switch (backend threads: ${backend.threads}); run on a machine with 2+ CPUs`);
const chosen = pool.minMacs;

interface Row { name: string; run: () => void }
function rowsFor(model: ImageModel, name: string, images: Float32Array[], batches: number[]): Row[] {
  const ctx = { model, walk: layerWalk(model) };
  const rows: Row[] = [];
  for (const n of batches) {
    const batch = images.slice(0, n);
    rows.push({ name: `${name} b${n} forward`, run: () => void model.predictProbabilities(batch) });
    rows.push({
      name: `${name} b${n} input gradient`,
      run: () => {
        const map = tf.tidy(() => gradient(ctx, model.batchTensor(batch), { targets: batch.map(() => 0), score: 'logprob' }));
        map.dataSync();
        map.dispose();
      },
    });
  }
  return rows;
}

const mnist = await loadModelFromDir(path.join(REPO_ROOT, SHIPPED[0]!.dir));
const set = SHIPPED[0]!.heldOut();
const rows = rowsFor(mnist, 'MNIST', Array.from({ length: 64 }, (_, i) => imageAt(set, i)), [1, 8, 64]);
if (!process.argv.includes('--no-resnet')) {
  const resnet = await loadModelFromDir(await ensureResnet18());
  const image = new Float32Array(resnet.pixelsPerImage).map((_, i) => (Math.sin(i * 12.9898) + 1) / 2);
  rows.push(...rowsFor(resnet, 'ResNet-18', [image], [1]));
}

const times = rows.map(() => THRESHOLDS.map(() => [] as number[]));
for (const row of rows) { // warm-up
  for (const t of THRESHOLDS) {
    pool.minMacs = t;
    row.run();
  }
}
for (let round = 0; round < ROUNDS; round++) {
  for (const [r, row] of rows.entries()) {
    for (let k = 0; k < THRESHOLDS.length; k++) {
      const i = (k + round) % THRESHOLDS.length; // rotate which threshold goes first
      pool.minMacs = THRESHOLDS[i]!;
      await settle();
      const t0 = performance.now();
      row.run();
      times[r]![i]!.push(performance.now() - t0);
    }
  }
}
pool.minMacs = chosen;
console.log(`\nwasm, ${backend.threads} threads: median ms by threshold (multiply-adds from which an op uses the pool), ${ROUNDS} interleaved rounds, ${SETTLE_MS ? `${SETTLE_MS} ms idle before each call` : 'calls back to back'}; gradlab's default: ${label(chosen)}\n`);
console.log(markdownTable(['work', ...THRESHOLDS.map(label)], rows.map((row, r) => [row.name, ...times[r]!.map((ts) => median(ts).toFixed(2))])));
