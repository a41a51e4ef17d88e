/**
 * Where an input gradient's time goes, kernel by kernel (tfjs' profiler, which times each kernel
 * call on the wasm backend): the shipped MNIST network at batch 64 and the ResNet-18-shaped model
 * at batch 1, on one thread (BENCH_THREADS to change), native kernels as loaded (`--native off` is
 * GRADLAB_NATIVE=off). Prints the kernels that take most of the time, summed over their calls.
 * This is the profile that chose which ops moved into the native addon (docs/performance.md).
 *
 *   npm run bench -- profile        (BENCH_ROUNDS=5 profiled runs after 3 warm-ups)
 */
import * as tf from '@tensorflow/tfjs';
import { gradient } from '../src/explain/gradient.ts';
import { layerWalk } from '../src/explain/layer-walk.ts';
import { initBackend } from '../src/backend/index.ts';
import type { ImageModel } from '../src/model/image-model.ts';
import { loadModelFromDir } from '../src/model/loader.ts';
import { ensureResnet18 } from './lib/resnet18.ts';
import { SHIPPED, imageAt } from './lib/shipped.ts';
import { markdownTable } from './lib/stats.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const TOP = 12;

function profileOf(label: string, model: ImageModel, images: Float32Array[]): Promise<void> {
  const ctx = { model, walk: layerWalk(model) };
  const run = () => {
    const map = tf.tidy(() => gradient(ctx, model.batchTensor(images), { targets: images.map(() => 1), score: 'logprob' }));
    map.dataSync();
    map.dispose();
  };
  return (async () => {
    for (let i = 0; i < 3; i++) run();
    const byKernel = new Map<string, { ms: number; calls: number }>();
    let wall = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const t0 = performance.now();
      const info = await tf.profile(run);
      wall += performance.now() - t0;
      // customGrad ops appear as a named entry wrapping the kernels inside: count kernels only.
      for (const k of info.kernels.filter((k) => tf.getKernel(k.name, tf.getBackend()) !== undefined)) {
        const entry = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
        entry.ms += k.kernelTimeMs as number;
        entry.calls++;
        byKernel.set(k.name, entry);
      }
    }
    const rows = [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms);
    const total = rows.reduce((sum, [, v]) => sum + v.ms, 0);
    console.log(`\n${label}: ${(wall / ROUNDS).toFixed(1)} ms per profiled gradient, kernels ${(total / ROUNDS).toFixed(1)} ms\n`);
    console.log(markdownTable(['kernel', 'calls', 'ms', 'share'], rows.slice(0, TOP).map(([name, v]) =>
      [name, v.calls / ROUNDS, (v.ms / ROUNDS).toFixed(2), `${((100 * v.ms) / total).toFixed(1)}%`])));
  })();
}

export async function benchProfile(): Promise<void> {
  const threads = Number(process.env.BENCH_THREADS ?? 1);
  const backend = await initBackend('wasm', { threads, native: process.env.GRADLAB_NATIVE === 'off' ? 'off' : 'auto' });
  console.log(`## Input gradient, kernel by kernel (wasm, ${threads} thread(s), native: ${backend.native?.kernels.length ? 'on' : `off (${backend.native?.reason})`})`);
  const mnist = await loadModelFromDir(SHIPPED[0]!.dir);
  const set = SHIPPED[0]!.heldOut();
  await profileOf('MNIST CNN, batch 64', mnist, Array.from({ length: 64 }, (_, i) => imageAt(set, i)));
  mnist.dispose();
  const resnet = await loadModelFromDir(await ensureResnet18());
  const image = Float32Array.from({ length: resnet.pixelsPerImage }, (_, j) => (j * 13 % 255) / 255);
  await profileOf('ResNet-18 224², batch 1', resnet, [image]);
  resnet.dispose();
}
