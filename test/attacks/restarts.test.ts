import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.ts';
import { prepareAttack, runAttack, type AttackHooks, type AttackRequest } from '../../src/attacks/attack.ts';
import { RESTART_SEED_STRIDE } from '../../src/attacks/restarts.ts';
import { Deadline } from '../../src/deadline.ts';
import { GradlabError } from '../../src/errors.ts';
import type { ImageModel } from '../../src/model/image-model.ts';
import { convFixture } from '../helpers/tiny-models.ts';

await initBackend(process.env.GRADLAB_TEST_BACKEND === 'cpu' ? 'cpu' : 'wasm');

const images = [1, 2, 3, 4, 5, 6].map((seed) => new Float32Array(64).map((_, i) => ((i * 13 + seed * 7) % 17) / 17));
const attack = (model: ImageModel, request: AttackRequest, hooks?: AttackHooks) =>
  runAttack(model, images, prepareAttack(model, request, { images: images.length }), hooks);

test('restarts keep each image’s first success and take a later attempt only where there was none (seed + r·1009)', async () => {
  const model = convFixture();
  const request: AttackRequest = { method: 'pgd', epsilon: 0.15, steps: 3, seed: 5 };
  const first = (await attack(model, request)).runs[0]!.results;
  const second = (await attack(model, { ...request, seed: 5 + RESTART_SEED_STRIDE })).runs[0]!.results;
  const before = tf.memory().numTensors;
  const restarted = (await attack(model, { ...request, restarts: 2 })).runs[0]!.results;
  assert.equal(tf.memory().numTensors, before);
  // This setting mixes: some images succeed in the first attempt, some only in the second, some in neither.
  assert.ok(first.some((r, i) => !r.success && second[i]!.success), 'a second attempt adds a success');
  assert.ok(first.some((r) => r.success) && first.some((r, i) => !r.success && !second[i]!.success), 'a mix');
  restarted.forEach((r, i) => {
    const expected = first[i]!.success || !second[i]!.success ? first[i]! : second[i]!;
    assert.deepEqual(r.adversarial.image, expected.adversarial.image, `image ${i}`);
    assert.equal(r.success, first[i]!.success || second[i]!.success, `image ${i}`);
    assert.equal(r.iterations, 6, 'not every image succeeded: both attempts ran');
  });
  model.dispose();
});

test('restarts stop early once every image has succeeded', async () => {
  const model = convFixture();
  const report = await attack(model, { method: 'pgd', epsilon: 0.9, steps: 5, restarts: 4 });
  assert.ok(report.runs[0]!.results.every((r) => r.success && r.iterations === 5));
  model.dispose();
});

test('a request cancelled in the middle of restart 2 ends with GRADLAB_TIMEOUT and leaves no tensor behind', async () => {
  const model = convFixture();
  await attack(model, { method: 'pgd', epsilon: 0.001, steps: 5, restarts: 3 }); // warm up
  const before = tf.memory().numTensors;
  const controller = new AbortController();
  const seen: { step: number; steps: number }[] = [];
  const cancelled = attack(model, { method: 'pgd', epsilon: 0.001, steps: 5, restarts: 3 }, {
    deadline: new Deadline(60_000, controller.signal),
    onProgress: (e) => {
      seen.push({ step: e.step, steps: e.steps });
      if (e.step === 7) controller.abort(); // restart 2, its second step
    },
  });
  await assert.rejects(cancelled, (e) => e instanceof GradlabError && e.code === 'GRADLAB_TIMEOUT');
  assert.deepEqual(seen.map((s) => s.step), [1, 2, 3, 4, 5, 6, 7], 'steps are numbered across restarts; it stopped at the next one');
  assert.ok(seen.every((s) => s.steps === 15));
  assert.equal(tf.memory().numTensors, before, 'neither the best-so-far batch nor the attempt leaked');
  // A deadline that runs out (not a client leaving) takes the same path.
  await assert.rejects(attack(model, { method: 'pgd', epsilon: 0.001, steps: 100_000, restarts: 3 }, { deadline: new Deadline(50) }), /time limit/);
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});
