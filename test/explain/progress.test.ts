/**
 * Explanation progress (src/explain/progress.ts and the driver's `onProgress`): counted in gradient
 * evaluations against the declared cost, for every spec alone and wrapped; integrated gradients
 * report per batched chunk of path points and SmoothGrad per sample; the maps do not change.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.ts';
import { explainImages, type ExplainProgress, type ExplainRequest } from '../../src/explain/explain.ts';
import { gradientMeter } from '../../src/explain/progress.ts';
import { BASE_SPECS, WRAPPER_SPECS } from '../../src/explain/registry.ts';
import { gradientsPerImage } from '../../src/explain/resolve.ts';
import { convFixture } from '../helpers/tiny-models.ts';

await initBackend(process.env.GRADLAB_TEST_BACKEND === 'cpu' ? 'cpu' : 'wasm');

const image = (seed: number) => new Float32Array(8 * 8).map((_, i) => ((i * 13 + seed * 7) % 17) / 17);

/** Runs an explanation, collecting its progress events; checks they only grow and end at the declared total. */
async function explainWithProgress(model: ReturnType<typeof convFixture>, inputs: Float32Array[], request: ExplainRequest) {
  const events: ExplainProgress[] = [];
  const results = await explainImages(model, inputs, request, { onProgress: (e) => events.push({ ...e }) });
  const total = gradientsPerImage(request) * inputs.length;
  assert.ok(events.length > 0, `${JSON.stringify(request)}: no progress`);
  for (const [k, e] of events.entries()) {
    assert.equal(e.total, total);
    assert.ok(e.done > (events[k - 1]?.done ?? 0) && e.done <= total, `${JSON.stringify(request)}: done ${e.done} after ${events[k - 1]?.done}, total ${total}`);
  }
  assert.equal(events.at(-1)!.done, total, `${JSON.stringify(request)}: ends at the total`);
  return { events, results };
}

test('the meter: parts are capped at their size and at what is left; finish counts the rest', () => {
  const seen: number[] = [];
  const root = gradientMeter(10, (e) => seen.push(e.done));
  const a = root.part(4);
  a.add(3);
  a.add(5); // one over its size: only 1 counts
  assert.equal(a.left, 0);
  const b = root.part(100); // at most what the root has left
  assert.equal(b.left, 6);
  b.part(2).finish();
  b.add(0);
  b.finish();
  root.add(1); // nothing left
  assert.deepEqual(seen, [3, 4, 6, 10]);
});

test('every spec, alone and wrapped, counts up to its declared cost; the maps are unchanged; no leaks', async () => {
  const model = convFixture();
  const requests: ExplainRequest[] = BASE_SPECS.flatMap((base) => [
    { method: base.name, steps: 5 } as ExplainRequest,
    ...WRAPPER_SPECS.map((w) => ({ method: w.name, [w.baseParameter]: base.name, samples: 3, seed: 1, steps: 5 }) as ExplainRequest),
  ]);
  await explainImages(model, [image(0)], { method: 'gradient' });
  const before = tf.memory().numTensors;
  for (const request of requests) {
    const { results } = await explainWithProgress(model, [image(1), image(2)], request);
    const plain = await explainImages(model, [image(1), image(2)], request);
    assert.deepEqual(results.map((r) => r.map.data), plain.map((r) => r.map.data), `${JSON.stringify(request)}: same maps`);
  }
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});

test('integrated gradients report per batched chunk of path points, both rules', async () => {
  const model = convFixture();
  // Uniform: 100 steps are 101 path points, in chunks of 32: 32, 64, 96, 101.
  const uniform = await explainWithProgress(model, [image(3)], { method: 'integrated-gradients', steps: 100, rule: 'uniform' });
  assert.deepEqual(uniform.events.map((e) => e.done), [32, 64, 96, 101]);
  // Adaptive: the same budget, spent in more, smaller batches (bisection rounds of at most 8 points).
  const adaptive = await explainWithProgress(model, [image(3)], { method: 'integrated-gradients', steps: 100 });
  assert.ok(adaptive.events.length > 4, `${adaptive.events.length} events`);
  // Two images: each image's points count, one after the other.
  const two = await explainWithProgress(model, [image(3), image(4)], { method: 'integrated-gradients', steps: 40, rule: 'uniform' });
  assert.deepEqual(two.events.map((e) => e.done), [32, 41, 73, 82]);
  model.dispose();
});

test('SmoothGrad reports per sample; a wrapped integrated gradients also within each sample', async () => {
  const model = convFixture();
  const plain = await explainWithProgress(model, [image(5)], { method: 'smoothgrad', samples: 6, seed: 2 });
  assert.deepEqual(plain.events.map((e) => e.done), [1, 2, 3, 4, 5, 6]);
  const overIg = await explainWithProgress(model, [image(5)], { method: 'smoothgrad', base: 'integrated-gradients', samples: 3, steps: 40, rule: 'uniform' });
  assert.deepEqual(overIg.events.map((e) => e.done), [32, 41, 73, 82, 114, 123]);
  model.dispose();
});

test('a batch of several chunks reports each chunk', async () => {
  const model = convFixture();
  const images = Array.from({ length: 40 }, (_, k) => image(k));
  const { events } = await explainWithProgress(model, images, { method: 'gradient' });
  assert.deepEqual(events.map((e) => e.done), [32, 40]);
  model.dispose();
});
