/**
 * Measures gradlab's native (oneDNN) kernels, in one process:
 *
 * - `--profile`: time per kernel (wall ms, summed over calls) inside whole forward passes and
 *   input gradients of the shipped MNIST CNN (batch 1 and 64) and the ResNet-18-shaped model
 *   (batch 1): which ops dominate once convolutions are native. Every wasm kernel is wrapped with a
 *   timer (nested kernels count in their caller too).
 * - `--threads`: the thread threshold in native/index.ts. ResNet-18 and MNIST convolutions run
 *   forward and backward (data) on 1 thread and on all, interleaved, after a 30 ms pause each (as a
 *   lone request meets the server); prints medians and the ratio per multiply-add count.
 *
 *   node --import tsx scripts/bench-native.ts --profile [--rounds 5] [--shapes]
 *   node --import tsx scripts/bench-native.ts --threads [--rounds 15]
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { gradient } from '../src/explain/gradient.ts';
import { layerWalk } from '../src/explain/layer-walk.ts';
import { initBackend } from '../src/backend/index.ts';
import { setNativeMinMacs } from '../src/backend/native/index.ts';
import type { ImageModel } from '../src/model/image-model.ts';
import { loadModelFromDir } from '../src/model/loader.ts';
import { ensureResnet18 } from './lib/resnet18.ts';
import { REPO_ROOT } from './lib/server-process.ts';
import { SHIPPED, imageAt } from './lib/shipped.ts';
import { markdownTable, median } from './lib/stats.ts';

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const ROUNDS = Number(arg('rounds') ?? (process.argv.includes('--profile') ? 5 : 15));
/** --shapes: one profile row per kernel and input shapes. */
const SHAPES = process.argv.includes('--shapes');
const settle = () => new Promise((resolve) => setTimeout(resolve, 30));

const backend = await initBackend('wasm');
if (!backend.native?.kernels.length) throw new Error(`native kernels are not in use: ${backend.native?.reason}`);
console.log(`${backend.native.library}; ${backend.threads} threads; native kernels: ${backend.native.kernels.join(', ')}`);

async function models(): Promise<{ name: string; model: ImageModel; images: Float32Array[] }[]> {
  const mnist = await loadModelFromDir(path.join(REPO_ROOT, SHIPPED[0]!.dir));
  const set = SHIPPED[0]!.heldOut();
  const resnet = await loadModelFromDir(await ensureResnet18());
  const noise = Array.from({ length: 1 }, () => Float32Array.from({ length: resnet.pixelsPerImage }, () => Math.random()));
  return [
    { name: 'MNIST', model: mnist, images: Array.from({ length: 64 }, (_, i) => imageAt(set, i)) },
    { name: 'ResNet-18', model: resnet, images: noise },
  ];
}

function inputGradient(model: ImageModel, images: Float32Array[]): void {
  const ctx = { model, walk: layerWalk(model) };
  const map = tf.tidy(() => gradient(ctx, model.batchTensor(images), { targets: images.map(() => 0), score: 'logprob' }));
  map.dataSync();
  map.dispose();
}

async function profile(): Promise<void> {
  const totals = new Map<string, number>();
  const counts = new Map<string, number>();
  let depth = 0;
  for (const config of tf.getKernelsForBackend('wasm')) {
    const inner = config.kernelFunc;
    tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel({
      ...config,
      kernelFunc: (args) => {
        const t0 = performance.now();
        depth++;
        try {
          return inner(args);
        } finally {
          depth--;
          const shapes = SHAPES ? ` ${Object.values(args.inputs).map((t) => (t ? `[${t.shape.join(',')}]` : '[undefined]')).join(' ')}` : '';
          const key = depth === 0 ? `${config.kernelName}${shapes}` : `  (nested) ${config.kernelName}`;
          totals.set(key, (totals.get(key) ?? 0) + performance.now() - t0);
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
      },
    });
  }
  for (const { name, model, images } of await models()) {
    for (const n of name === 'MNIST' ? [1, 64] : [1]) {
      const batch = images.slice(0, n);
      for (const [work, run] of [['forward', () => void model.predictProbabilities(batch)], ['input gradient', () => inputGradient(model, batch)]] as const) {
        run();
        totals.clear();
        counts.clear();
        const t0 = performance.now();
        for (let r = 0; r < ROUNDS; r++) run();
        const wall = (performance.now() - t0) / ROUNDS;
        const rows = [...totals].sort((a, b) => b[1] - a[1]).slice(0, 8)
          .map(([k, ms]) => [k, String(counts.get(k)! / ROUNDS), (ms / ROUNDS).toFixed(2), `${((100 * ms) / ROUNDS / wall).toFixed(0)}%`]);
        console.log(`\n### ${name} b${n} ${work}: ${wall.toFixed(1)} ms per call\n`);
        console.log(markdownTable(['kernel', 'calls', 'ms', 'share'], rows));
      }
    }
  }
}

async function threads(): Promise<void> {
  const all = backend.threads!;
  type Shape4 = [number, number, number, number];
  const shapes: { name: string; x: Shape4; f: Shape4; s: number }[] = [
    { name: 'MNIST conv1 b1', x: [1, 28, 28, 1], f: [5, 5, 1, 32], s: 1 },
    { name: 'MNIST conv2 b1', x: [1, 14, 14, 32], f: [5, 5, 32, 64], s: 1 },
    { name: 'MNIST conv2 b2', x: [2, 14, 14, 32], f: [5, 5, 32, 64], s: 1 },
    { name: 'MNIST conv2 b4', x: [4, 14, 14, 32], f: [5, 5, 32, 64], s: 1 },
    { name: 'MNIST conv2 b8', x: [8, 14, 14, 32], f: [5, 5, 32, 64], s: 1 },
    { name: 'ResNet 512@7 b1', x: [1, 7, 7, 512], f: [3, 3, 512, 512], s: 1 },
    { name: 'ResNet 256@14 b1', x: [1, 14, 14, 256], f: [3, 3, 256, 256], s: 1 },
    { name: 'ResNet 64@56 b1', x: [1, 56, 56, 64], f: [3, 3, 64, 64], s: 1 },
    { name: 'ResNet stem b1', x: [1, 224, 224, 3], f: [7, 7, 3, 64], s: 2 },
    { name: 'ResNet 1x1 128@28/2 b1', x: [1, 56, 56, 64], f: [1, 1, 64, 128], s: 2 },
    { name: 'ResNet 1x1 256@14/2 b1', x: [1, 28, 28, 128], f: [1, 1, 128, 256], s: 2 },
    { name: 'ResNet 3x3 128@28/2 b1', x: [1, 56, 56, 64], f: [3, 3, 64, 128], s: 2 },
  ];
  const rows: string[][] = [];
  for (const { name, x: xs, f: fs, s } of shapes) {
    const x = tf.randomNormal(xs) as tf.Tensor4D;
    const f = tf.randomNormal(fs) as tf.Tensor4D;
    const y = tf.conv2d(x, f, s, 'same');
    const macs = y.size * fs[0] * fs[1] * fs[2];
    const run = (threadCount: number) => {
      // The threshold decides per call; Infinity or 0 force one thread or all of them.
      setNativeMinMacs(threadCount === 1 ? Infinity : 0);
      const t0 = performance.now();
      tf.tidy(() => {
        tf.conv2d(x, f, s, 'same').dataSync();
        tf.conv2dTranspose(y, f, xs, s, 'same').dataSync();
      });
      return performance.now() - t0;
    };
    const times = new Map<number, number[]>([[1, []], [all, []]]);
    run(1);
    run(all);
    for (let r = 0; r < ROUNDS; r++) {
      for (const t of r % 2 ? [1, all] : [all, 1]) {
        await settle();
        times.get(t)!.push(run(t));
      }
    }
    const one = median(times.get(1)!);
    const many = median(times.get(all)!);
    rows.push([name, `${(macs / 1e6).toFixed(1)}M`, one.toFixed(2), many.toFixed(2), (many / one).toFixed(2)]);
    tf.dispose([x, f, y]);
  }
  console.log(markdownTable(['conv (forward + input gradient)', 'multiply-adds', '1 thread (ms)', `${all} threads (ms)`, 'ratio'], rows));
}

if (process.argv.includes('--threads')) await threads();
else await profile();
