import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import request from 'supertest';
import { describeBackend, initBackend } from '../../src/backend/index.ts';
import { build } from '../helpers/build.ts';
import { pixelArray } from '../helpers/images.ts';

test('auto skips the native packages that are not installed, says why, and lands on wasm', async () => {
  const info = await initBackend('auto');
  assert.equal(info.name, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.equal(info.skipped.length, 2);
  assert.match(info.skipped[0]!, /^@tensorflow\/tfjs-node-gpu: /);
  assert.match(info.skipped[1]!, /^@tensorflow\/tfjs-node: /);
});

test('an explicit tensorflow backend that cannot load fails with the reason', async () => {
  await assert.rejects(initBackend('tensorflow'), /backend 'tensorflow' is unavailable: @tensorflow\/tfjs-node-gpu: .*@tensorflow\/tfjs-node: /);
});

test('classify gives the same answer on the wasm and cpu backends', async (t) => {
  const images = [pixelArray(8, 8, (y, x) => ((x * y) % 7) / 7), pixelArray(8, 8, (y) => y / 7)];
  const answers: Record<string, { index: number; probability: number }[][]> = {};
  for (const backend of ['wasm', 'cpu'] as const) {
    await t.test(backend, async (st) => {
      const { app } = await build(st, { backend });
      assert.equal(tf.getBackend(), backend);
      const before = tf.memory().numTensors;
      const res = await request(app.server).post('/v1/models/tiny/classify').send({ images });
      assert.equal(res.status, 200);
      assert.equal(tf.memory().numTensors, before);
      answers[backend] = res.body.results.map((r: { predictions: unknown }) => r.predictions);
      const models = await request(app.server).get('/v1/models');
      assert.equal(models.body.backend, backend);
    });
  }
  answers.wasm!.forEach((preds, i) =>
    preds.forEach((p, j) => {
      assert.equal(p.index, answers.cpu![i]![j]!.index);
      assert.ok(Math.abs(p.probability - answers.cpu![i]![j]!.probability) < 1e-5);
    }),
  );
});

test('explanations and attacks agree on the wasm and cpu backends', async (t) => {
  // No repeated pixel values: max-pooling ties are broken differently by the two backends.
  const image = pixelArray(8, 8, (y, x) => (Math.sin(x * 12.9898 + y * 78.233) * 43758.5453) % 1 * 0.5 + 0.5);
  const maps: Record<string, Record<string, number[]>> = {};
  for (const backend of ['wasm', 'cpu'] as const) {
    await t.test(backend, async (st) => {
      const { app } = await build(st, { backend });
      maps[backend] = {};
      for (const method of ['gradient', 'guided-backprop', 'gradcam', 'integrated-gradients']) {
        const res = await request(app.server).post('/v1/models/tiny/explain').send({ image, method, target: 1, steps: 16 });
        assert.equal(res.status, 200, res.text);
        maps[backend][method] = res.body.map.data;
      }
      const attack = await request(app.server).post('/v1/models/tiny/attack').send({ image, method: 'bim', epsilon: 0.2, steps: 5 });
      assert.equal(attack.status, 200, attack.text);
      maps[backend].bim = attack.body.adversarial.image.data;
    });
  }
  for (const method of Object.keys(maps.wasm!)) {
    const a = maps.wasm![method]!;
    const b = maps.cpu![method]!;
    const scale = Math.max(1e-6, ...b.map(Math.abs));
    // Equal up to float32 summation order. (Before gradlab replaced wasm's MaxPoolGrad, which routes
    // the gradient of an all-zero pooling window to element 0 of the tensor, Grad-CAM differed here.)
    const tolerance = 1e-4;
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) / scale < tolerance, `${method}[${i}]: wasm ${v} vs cpu ${b[i]}`));
  }
});

test("tfjs' cpu backend does not print its 'install our node backend' banner in gradlab's processes", () => {
  const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/cpu-first-tensor.ts', import.meta.url))], { encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout.trim(), '3');
  assert.doesNotMatch(child.stdout + child.stderr, /looks like you are running TensorFlow\.js in Node/);
});

test('describeBackend names the package, threads, gradlab kernels and which kernels run natively (or why none do)', () => {
  const base = { name: 'wasm', package: '@tensorflow/tfjs-backend-wasm', threads: 2, customKernels: ['Sign', 'MaxPoolGrad'], skipped: [] };
  const loaded = describeBackend({ ...base, native: { kernels: ['Conv2D', 'FusedConv2D'], library: 'oneDNN 2.6.3 (OpenMP)' } });
  assert.equal(loaded, `wasm (@tensorflow/tfjs-backend-wasm, tfjs ${tf.version.tfjs}, 2 threads; gradlab kernels: Sign, MaxPoolGrad; native kernels: Conv2D, FusedConv2D (oneDNN 2.6.3 (OpenMP)))`);
  const off = describeBackend({ ...base, threads: 1, native: { kernels: [], reason: 'turned off (--native off / GRADLAB_NATIVE=off)' } });
  assert.match(off, /, 1 thread; gradlab kernels: Sign, MaxPoolGrad; native kernels: none \(turned off/);
  assert.equal(describeBackend({ name: 'cpu', package: '@tensorflow/tfjs', customKernels: [], skipped: [] }), `cpu (@tensorflow/tfjs, tfjs ${tf.version.tfjs})`);
});
