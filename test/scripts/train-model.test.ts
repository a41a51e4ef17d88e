/**
 * The training network: at the standard widths it is exactly the architecture the shipped plain
 * models were trained with (their manifests' summary, read from disk); wider widths change only
 * the layer sizes, keep the layer names Grad-CAM relies on, and build no leaked tensor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { architectureSummary, buildModel } from '../../scripts/train-model.ts';
import { initBackend } from '../../src/backend/index.ts';

const architectureOf = (name: string) => (JSON.parse(readFileSync(`models/${name}/manifest.json`, 'utf8')) as { provenance: { architecture: string } }).provenance.architecture;

test('the standard widths build the shipped mnist and fashion networks; wider ones keep the layer names', async () => {
  await initBackend('wasm');
  const before = tf.memory().numTensors;
  const standard = buildModel(42, 10);
  assert.equal(architectureSummary(standard), architectureOf('mnist'));
  assert.equal(architectureSummary(standard), architectureOf('fashion'));
  const wide = buildModel(42, 10, { conv: [32, 64, 128], dense: 256 });
  assert.equal(architectureSummary(wide),
    'conv3x3(32)-relu, conv3x3(64)-relu, maxpool2, conv3x3(128)-relu, maxpool2, flatten, dense(256)-relu, dropout 0.3, dense(10)-linear; 914698 parameters; output: logits');
  assert.deepEqual(wide.layers.map((l) => l.name), standard.layers.map((l) => l.name));
  standard.dispose();
  wide.dispose();
  assert.equal(tf.memory().numTensors, before);
});
