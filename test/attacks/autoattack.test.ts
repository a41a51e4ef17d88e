import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.ts';
import { prepareAttack, runAttack as runPlan, type AttackRequest } from '../../src/attacks/attack.ts';
import { apgdCheckpoints } from '../../src/attacks/apgd-core.ts';
import { squareFraction } from '../../src/attacks/square.ts';
import { GradlabError } from '../../src/errors.ts';
import { ImageModel } from '../../src/model/image-model.ts';
import { convFixture, manifestFor } from '../helpers/tiny-models.ts';
import { buildFixtureNet, FIXTURE_LABELS } from '../helpers/fixture-model.ts';

await initBackend(process.env.GRADLAB_TEST_BACKEND === 'cpu' ? 'cpu' : 'wasm');

const images = [1, 2, 3, 4].map((seed) => new Float32Array(64).map((_, i) => ((i * 13 + seed * 7) % 17) / 17));

async function runAttack(model: ImageModel, request: AttackRequest, inputs = images) {
  return runPlan(model, inputs, prepareAttack(model, request, { images: inputs.length }));
}

function sizeOf(a: Float32Array, b: Float32Array, norm: 'linf' | 'l2'): number {
  let linf = 0;
  let sq = 0;
  a.forEach((v, i) => {
    linf = Math.max(linf, Math.abs(v - b[i]!));
    sq += (v - b[i]!) ** 2;
  });
  return norm === 'linf' ? linf : Math.sqrt(sq);
}

const TABLE: AttackRequest[] = [
  { method: 'apgd-ce', epsilon: 0.5, steps: 20 },
  { method: 'apgd-ce', norm: 'l2', epsilon: 4, steps: 20 },
  { method: 'apgd-t', epsilon: 0.5, steps: 20 },
  { method: 'apgd-t', norm: 'l2', epsilon: 4, steps: 20 },
  { method: 'fab-t', steps: 30, epsilons: [0.5] },
  { method: 'fab-t', norm: 'l2', steps: 30, epsilons: [4] },
  { method: 'square', epsilon: 0.5, queries: 300 },
  { method: 'autoattack', epsilon: 0.5, version: 'cheap', steps: 10 },
  { method: 'autoattack', norm: 'l2', epsilon: 4, steps: 10 },
];

for (const request of TABLE) {
  test(`${request.method} ${request.norm ?? 'linf'}: breaks every image of the fixture at a large ε, inside the ball and the range, no leak`, async () => {
    const model = convFixture();
    const before = tf.memory().numTensors;
    const report = await runAttack(model, { ...request, seed: 5 });
    assert.equal(tf.memory().numTensors, before, 'no leaked tensor');
    const run = report.runs[0]!;
    const epsilon = request.epsilon ?? request.epsilons![0]!;
    run.results.forEach((r, i) => {
      assert.ok(r.adversarial.image.every((v) => v >= 0 && v <= 1), 'inside the value range');
      assert.ok(sizeOf(r.adversarial.image, images[i]!, report.norm) <= epsilon * (1 + 1e-6) + 1e-6 || !r.success, 'a success is inside the ε-ball');
      assert.ok(r.success, `image ${i} must be adversarial`);
      assert.notEqual(r.adversarial.predictions[0]!.index, r.label.index);
    });
    model.dispose();
  });
}

test('apgd-ce targeted reaches the target; a tiny ε keeps every image robust and every answer in the ball', async () => {
  const model = convFixture();
  const targeted = await runAttack(model, { method: 'apgd-ce', epsilon: 0.5, steps: 20, target: 2 });
  for (const r of targeted.runs[0]!.results) if (r.label.index !== 2) assert.equal(r.adversarial.predictions[0]!.index, 2);
  const tiny = await runAttack(model, { method: 'apgd-ce', epsilon: 1e-4, steps: 10 });
  assert.equal(tiny.runs[0]!.robustAccuracy, 1);
  tiny.runs[0]!.results.forEach((r, i) => assert.ok(sizeOf(r.adversarial.image, images[i]!, 'linf') <= 1e-4 + 1e-7));
  model.dispose();
});

test('autoattack bookkeeping: stages run on the still-robust images; robust only if every stage failed', async () => {
  const model = convFixture();
  // ε chosen so that some images fall early and (on this fixture) not all at the first stage.
  for (const epsilon of [1e-4, 0.05, 0.1, 0.5]) {
    const report = await runAttack(model, { method: 'autoattack', epsilon, version: 'cheap', steps: 10, label: [0, 1, 2, 0] });
    const run = report.runs[0]!;
    const stages = run.stages!;
    assert.deepEqual(stages.map((s) => s.attack), ['apgd-ce', 'apgd-t', 'fab-t', 'square']);
    const n = images.length;
    const clean = run.results.filter((r) => r.brokenBy === 'clean').length;
    let open = n - clean;
    for (const s of stages) {
      assert.equal(s.attacked, open, `${s.attack} attacks exactly the images still robust`);
      open -= s.broken;
      assert.equal(s.robustAccuracy, open / n, `${s.attack}: robust accuracy after the stage`);
      assert.equal(run.results.filter((r) => r.brokenBy === s.attack).length, s.broken);
    }
    for (const r of run.results) {
      assert.equal(r.brokenBy === null, r.adversarial.predictions[0]!.index === r.label.index, 'robust ⇔ no stage broke it ⇔ still correct');
      assert.equal(r.success, r.brokenBy !== null, 'misclassified (by a stage or from the start) ⇔ success');
    }
    assert.equal(run.robustAccuracy, stages.at(-1)!.robustAccuracy);
    for (let i = 1; i < stages.length; i++) assert.ok(stages[i]!.robustAccuracy <= stages[i - 1]!.robustAccuracy);
    assert.ok(run.warnings!.some((w) => w.startsWith('few classes')), 'a 3-class model is flagged for DLR');
  }
  model.dispose();
});

/** The fixture with its logits replaced: softmax (probabilities declared as logits) or noisy. */
class AlteredModel extends ImageModel {
  constructor(private readonly change: 'softmax' | 'noise') {
    super(manifestFor('altered', [8, 8, 1], FIXTURE_LABELS), buildFixtureNet(), 'memory');
  }

  override logits(x: tf.Tensor4D): tf.Tensor2D {
    const z = super.logits(x);
    return this.change === 'softmax' ? tf.softmax(z) : (tf.add(z, tf.randomNormal(z.shape, 0, 0.5)) as tf.Tensor2D);
  }
}

test('gradient-masking checks: probabilities declared as logits and a randomised model are warned about', async () => {
  for (const [change, prefix] of [['softmax', 'softmax output'], ['noise', 'randomness']] as const) {
    const model = new AlteredModel(change);
    const before = tf.memory().numTensors;
    const report = await runAttack(model, { method: 'autoattack', epsilon: 0.05, version: 'cheap', steps: 5 });
    assert.equal(tf.memory().numTensors, before);
    assert.ok(report.runs[0]!.warnings!.some((w) => w.startsWith(prefix)), `${change}: ${String(report.runs[0]!.warnings)}`);
    model.dispose();
  }
  const plain = convFixture();
  const report = await runAttack(plain, { method: 'autoattack', epsilon: 0.05, version: 'cheap', steps: 5 });
  assert.ok(!report.runs[0]!.warnings!.some((w) => w.startsWith('softmax') || w.startsWith('randomness')));
  plain.dispose();
});

test('schedules: APGD checkpoints and the Square window fraction follow the papers', () => {
  assert.deepEqual(apgdCheckpoints(100), [22, 41, 57, 70, 80, 87, 93, 99]);
  assert.equal(squareFraction(0.8, 5, 10_000), 0.8);
  assert.equal(squareFraction(0.8, 30, 10_000), 0.4);
  assert.equal(squareFraction(0.8, 100, 1000), 0.8 / 16, "1,000 of 10,000 on the paper's scale: the fifth halving");
});

test('step limit: autoattack standard is refused under a small limit, cheap fits; version is validated', () => {
  const model = convFixture();
  assert.throws(() => prepareAttack(model, { method: 'autoattack', epsilon: 0.3, version: 'standard', steps: 100 }, { images: 1, maxSteps: 1000 }), GradlabError);
  const plan = prepareAttack(model, { method: 'autoattack', epsilon: 0.3, version: 'cheap' }, { images: 1, maxSteps: 1000 });
  assert.equal(plan.runs[0]!.params.steps, 100);
  const scaled = prepareAttack(model, { method: 'autoattack', epsilon: 0.3 }, { images: 1, maxSteps: 3000 });
  assert.ok((scaled.runs[0]!.params.steps as number) < 100, 'standard defaults shrink to fit');
  assert.throws(() => prepareAttack(model, { method: 'autoattack', epsilon: 0.3, version: 'fast' }, { images: 1 }), /version/);
  model.dispose();
});
