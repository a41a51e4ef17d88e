/** seededNormal: the same seed gives the same noise for every seed, 0 included (tfjs alone treats 0 as "no seed"). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.ts';
import { seededNormal } from '../../src/model/seeded-noise.ts';

test('seed 0 and every other seed repeat exactly; different seeds differ; no tensor left behind', async () => {
  await initBackend('wasm');
  const before = tf.memory().numTensors;
  const draw = (seed: number) => tf.tidy(() => Array.from(seededNormal([64], 0, 1, seed).dataSync()));
  for (const seed of [0, 1, 7919, 123456]) assert.deepEqual(draw(seed), draw(seed), `seed ${seed}`);
  assert.notDeepEqual(draw(0), draw(1));
  assert.equal(tf.memory().numTensors, before);
});
