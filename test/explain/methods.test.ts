import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.ts';
import { explainImages, type ExplainRequest } from '../../src/explain/explain.ts';
import { GradlabError } from '../../src/errors.ts';
import { convFixture, handReluNet, smoothNet } from '../helpers/tiny-models.ts';

await initBackend(process.env.GRADLAB_TEST_BACKEND === 'cpu' ? 'cpu' : 'wasm');

const image8 = (seed: number) => new Float32Array(64).map((_, i) => ((i * 13 + seed * 7) % 17) / 17);

test('gradient equals central finite differences of log p(target | x)', async () => {
  const model = smoothNet();
  const x = new Float32Array([0.1, 0.5, 0.9, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6]);
  for (const score of ['logprob', 'logit'] as const) {
    const [result] = await explainImages(model, [x], { method: 'gradient', target: 1, score });
    const f = (v: Float32Array) =>
      tf.tidy(() => {
        const logits = model.logits(tf.tensor4d(v, [1, 3, 3, 1]));
        return (score === 'logprob' ? tf.logSoftmax(logits) : logits).dataSync()[1]!;
      });
    const eps = 1e-2;
    for (let i = 0; i < 9; i++) {
      const plus = Float32Array.from(x);
      const minus = Float32Array.from(x);
      plus[i]! += eps;
      minus[i]! -= eps;
      const fd = (f(plus) - f(minus)) / (2 * eps);
      assert.ok(Math.abs(result!.map.data[i]! - fd) < 2e-3, `${score} pixel ${i}: gradient ${result!.map.data[i]} vs finite difference ${fd}`);
    }
  }
  model.dispose();
});

test('guided backprop equals the hand computation on a tiny ReLU network', async () => {
  // hidden = relu(W1ᵀ x), logits = W2ᵀ hidden; explain the logit of class 0.
  const w1 = [[1, -1], [2, 1]]; // x → hidden (rows: inputs, cols: units)
  const w2 = [[1, 2], [-3, 1]]; // hidden → logits
  const model = handReluNet(w1, w2);
  const x = new Float32Array([1, 1]); // z = [1+2, -1+1] = [3, 0]: unit 0 active, unit 1 not
  const [guided] = await explainImages(model, [x], { method: 'guided-backprop', target: 0, score: 'logit' });
  const [plain] = await explainImages(model, [x], { method: 'gradient', target: 0, score: 'logit' });
  // dy at hidden = W2[:,0] = [1, -3]; plain ReLU mask (z > 0) = [1, 0] → [1, 0]; guided also drops dy < 0 → [1, 0].
  // dx = W1 · [1, 0] = [1, 2] for both here.
  assert.deepEqual(Array.from(plain!.map.data), [1, 2]);
  assert.deepEqual(Array.from(guided!.map.data), [1, 2]);
  // Now an input where both units are active: z = [2+2, -2+1]... choose x = [0, 1]: z = [2, 1].
  const both = new Float32Array([0, 1]);
  const [g2] = await explainImages(model, [both], { method: 'guided-backprop', target: 0, score: 'logit' });
  const [p2] = await explainImages(model, [both], { method: 'gradient', target: 0, score: 'logit' });
  // Plain: dy = [1, -3], mask [1, 1] → dx = W1 · [1, -3] = [1·1 + -1·-3, 2·1 + 1·-3] = [4, -1].
  assert.deepEqual(Array.from(p2!.map.data), [4, -1]);
  // Guided: negative dy at unit 1 is dropped → [1, 0] → dx = [1, 2].
  assert.deepEqual(Array.from(g2!.map.data), [1, 2]);
  // Guided gradient passes only positive dy through the second layer too: class 1's dy = [2, 1].
  const [g3] = await explainImages(model, [both], { method: 'guided-backprop', target: 1, score: 'logit' });
  assert.deepEqual(Array.from(g3!.map.data), [2 * 1 + 1 * -1, 2 * 2 + 1 * 1]);
  model.dispose();
});

test('Grad-CAM maps are input-sized and non-negative; guided Grad-CAM is their product with guided backprop', async () => {
  const model = convFixture();
  const x = image8(1);
  const [cam] = await explainImages(model, [x], { method: 'gradcam', target: 2 });
  assert.deepEqual(cam!.map.shape, [8, 8, 1]);
  assert.ok(cam!.map.data.every((v) => v >= 0));
  assert.ok(cam!.map.data.some((v) => v > 0));
  assert.equal(cam!.layer, 'conv1');
  assert.equal(cam!.rendering, 'heat');
  const [gg] = await explainImages(model, [x], { method: 'guided-gradcam', target: 2 });
  const [gb] = await explainImages(model, [x], { method: 'guided-backprop', target: 2, score: 'logit' });
  gg!.map.data.forEach((v, i) => assert.ok(Math.abs(v - gb!.map.data[i]! * cam!.map.data[i]!) < 1e-5));
  model.dispose();
});

test('integrated gradients are complete within 1% at 64 steps and report it', async () => {
  const model = convFixture();
  for (const seed of [1, 2, 3]) {
    const [ig] = await explainImages(model, [image8(seed)], { method: 'integrated-gradients', target: 0, steps: 64 });
    assert.ok(ig!.completeness, 'completeness is reported');
    const { attributionSum, scoreDifference, relativeError } = ig!.completeness;
    assert.ok(relativeError < 0.01, `seed ${seed}: sum ${attributionSum} vs difference ${scoreDifference}`);
  }
  const baseline = new Float32Array(64).fill(0.5);
  // A ReLU network's gradient jumps along the path, so the error shrinks like 1/steps: a baseline
  // close to the input (small score difference) needs more steps for the same relative error.
  const [withBaseline] = await explainImages(model, [image8(4)], { method: 'integrated-gradients', baseline, steps: 256 });
  assert.ok(withBaseline!.completeness!.relativeError < 0.01, JSON.stringify(withBaseline!.completeness));
  // The textbook uniform rule converges to the same attributions.
  const [uniform] = await explainImages(model, [image8(4)], { method: 'integrated-gradients', baseline, steps: 512, rule: 'uniform' });
  const [adaptive] = await explainImages(model, [image8(4)], { method: 'integrated-gradients', baseline, steps: 512 });
  uniform!.map.data.forEach((v, i) => assert.ok(Math.abs(v - adaptive!.map.data[i]!) < 2e-3, `pixel ${i}: ${v} vs ${adaptive!.map.data[i]}`));
  await assert.rejects(explainImages(model, [image8(4)], { method: 'gradient', rule: 'uniform' }), /rule: applies only to integrated-gradients/);
  model.dispose();
});

test('SmoothGrad wraps any method: seeded, reproducible, and equal to the base with zero noise', async () => {
  const model = convFixture();
  const x = image8(5);
  const a = await explainImages(model, [x], { method: 'smoothgrad', samples: 8, noise: 0.2, seed: 3 });
  const b = await explainImages(model, [x], { method: 'smoothgrad', samples: 8, noise: 0.2, seed: 3 });
  const c = await explainImages(model, [x], { method: 'smoothgrad', samples: 8, noise: 0.2, seed: 4 });
  assert.deepEqual(a[0]!.map.data, b[0]!.map.data);
  assert.notDeepEqual(a[0]!.map.data, c[0]!.map.data);
  for (const base of ['gradient', 'guided-backprop', 'gradcam'] as const) {
    const [smooth] = await explainImages(model, [x], { method: 'smoothgrad', base, samples: 3, noise: 0, target: 1 });
    const [plain] = await explainImages(model, [x], { method: base, target: 1 });
    smooth!.map.data.forEach((v, i) => assert.ok(Math.abs(v - plain!.map.data[i]!) < 1e-5, `${base} pixel ${i}`));
    assert.equal(smooth!.base, base);
  }
  model.dispose();
});

test('a batch explains every image with its own predicted target', async () => {
  const model = convFixture();
  const inputs = [image8(1), image8(2), image8(3)];
  const batch = await explainImages(model, inputs, { method: 'gradient' });
  for (let i = 0; i < inputs.length; i++) {
    const [alone] = await explainImages(model, [inputs[i]!], { method: 'gradient' });
    assert.equal(batch[i]!.target.index, batch[i]!.prediction[0]!.index);
    assert.deepEqual(batch[i]!.map.data, alone!.map.data);
    assert.ok(batch[i]!.png.subarray(1, 4).toString() === 'PNG');
  }
  model.dispose();
});

test('no method leaks a tensor', async () => {
  const model = convFixture();
  const requests: ExplainRequest[] = [
    { method: 'gradient' },
    { method: 'guided-backprop' },
    { method: 'gradcam' },
    { method: 'guided-gradcam' },
    { method: 'integrated-gradients', steps: 40 },
    { method: 'integrated-gradients', steps: 8, baseline: new Float32Array(64).fill(1) },
    { method: 'smoothgrad', base: 'integrated-gradients', samples: 2, steps: 8 },
    { method: 'smoothgrad', base: 'guided-gradcam', samples: 2, overlay: true },
  ];
  await explainImages(model, [image8(0)], { method: 'gradient' });
  const before = tf.memory().numTensors;
  for (const r of requests) await explainImages(model, [image8(1), image8(2)], r);
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});

test('inapplicable methods and bad parameters are 400s naming the field', async () => {
  const dense = smoothNet();
  const model = convFixture();
  const x = new Float32Array(9);
  const expectError = async (m: typeof model, r: ExplainRequest, input: Float32Array, field: string, message: RegExp) => {
    await assert.rejects(explainImages(m, [input], r), (e) => {
      assert.ok(e instanceof GradlabError, String(e));
      assert.equal(e.statusCode, 400);
      assert.equal(e.field, field);
      assert.match(e.message, message);
      return true;
    });
  };
  await expectError(dense, { method: 'guided-backprop' }, x, 'method', /needs ReLU activations/);
  await expectError(dense, { method: 'gradcam' }, x, 'method', /needs a convolutional layer/);
  await expectError(dense, { method: 'smoothgrad', base: 'gradcam' }, x, 'base', /needs a convolutional layer/);
  await expectError(model, { method: 'gradcam', layer: 'nope' }, image8(0), 'layer', /no layer named 'nope'; layers with a spatial output: conv1, pool1/);
  await expectError(model, { method: 'gradcam', layer: 'logits' }, image8(0), 'layer', /no spatial output/);
  await expectError(model, { method: 'gradient', layer: 'conv1' }, image8(0), 'layer', /only to gradcam/);
  await expectError(model, { method: 'gradient', target: 3 }, image8(0), 'target', /out of range 0..2/);
  await expectError(model, { method: 'gradient', target: 'hexagon' }, image8(0), 'target', /unknown label 'hexagon'/);
  await expectError(model, { method: 'gradient', base: 'gradcam' }, image8(0), 'base', /only to method 'smoothgrad'/);
  await expectError(model, { method: 'gradient', baseline: new Float32Array(64) }, image8(0), 'baseline', /only to integrated-gradients/);
  dense.dispose();
  model.dispose();
});
