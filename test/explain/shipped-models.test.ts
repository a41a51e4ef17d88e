import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { explainImages } from '../../src/explain/explain.ts';
import { initBackend } from '../../src/backend/index.ts';
import { loadModelFromDir } from '../../src/model/loader.ts';
import { SHIPPED, imageAt } from '../../scripts/lib/shipped.ts';

await initBackend('wasm');

for (const shipped of SHIPPED) {
  test(`${shipped.name}: integrated gradients complete within 1% at 64 steps; every method applies; no leaks`, async () => {
    const model = await loadModelFromDir(shipped.dir);
    const set = shipped.heldOut();
    const images = [0, 1, 2, 3].map((i) => imageAt(set, i));
    const before = tf.memory().numTensors;
    const ig = await explainImages(model, images, { method: 'integrated-gradients', steps: 64 });
    for (const r of ig) {
      assert.ok(r.completeness!.relativeError < 0.01, `${shipped.name}: ${JSON.stringify(r.completeness)}`);
    }
    const cam = await explainImages(model, images, { method: 'gradcam' });
    for (const r of cam) {
      assert.deepEqual(r.map.shape, [28, 28, 1]);
      assert.ok(r.map.data.every((v) => v >= 0));
    }
    for (const method of ['gradient', 'guided-backprop', 'guided-gradcam'] as const) {
      const [r] = await explainImages(model, [images[0]!], { method });
      assert.ok(r!.map.data.some((v) => v !== 0), method);
    }
    assert.equal(tf.memory().numTensors, before);
    model.dispose();
  });
}
