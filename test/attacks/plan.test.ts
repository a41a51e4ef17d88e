import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.ts';
import { prepareAttack, runAttack, type AttackRequest } from '../../src/attacks/attack.ts';
import { GradlabError } from '../../src/errors.ts';
import { convFixture } from '../helpers/tiny-models.ts';

await initBackend(process.env.GRADLAB_TEST_BACKEND === 'cpu' ? 'cpu' : 'wasm');

const images = [1, 2].map((seed) => new Float32Array(64).map((_, i) => ((i * 13 + seed * 7) % 17) / 17));

function refusal(run: () => unknown, field: string): string {
  try {
    run();
  } catch (e) {
    assert.ok(e instanceof GradlabError && e.statusCode === 400, String(e));
    assert.equal(e.field, field, e.message);
    return e.message;
  }
  assert.fail(`no error for ${field}`);
}

test('a plan has the norm, the ε, the parameters with defaults and the resolved classes', () => {
  const model = convFixture();
  const plan = prepareAttack(model, { method: 'bim', epsilons: [0.1, 0.2], target: 'square', label: [0, 'circle'] }, { images: 2 });
  assert.equal(plan.norm, 'linf');
  assert.deepEqual(plan.runs.map((r) => [r.epsilon, r.judgedAt, r.params]), [
    [0.1, [0.1], { steps: 10, stepSize: 0.2 * 0.1, randomStart: false, momentum: 0 }],
    [0.2, [0.2], { steps: 10, stepSize: 0.2 * 0.2, randomStart: false, momentum: 0 }],
  ]);
  assert.deepEqual([plan.target, plan.labels, plan.seed], [1, [0, 0], 0]);
  const cw = prepareAttack(model, { method: 'cw', epsilons: [0.5, 1, 2], confidence: 1 }, { images: 2 });
  assert.equal(cw.norm, 'l2');
  assert.deepEqual(cw.runs, [{ epsilon: undefined, judgedAt: [0.5, 1, 2], params: { steps: 100, binarySearchSteps: 5, initialConst: 1, learningRate: 0.1, confidence: 1 } }]);
  model.dispose();
});

test('messages come from the specs and name neither HTTP paths nor CLI flags', () => {
  const model = convFixture();
  const plan = (request: AttackRequest, maxSteps?: number) => () => prepareAttack(model, request, { images: 2, ...(maxSteps ? { maxSteps } : {}) });
  const messages = [
    refusal(plan({ method: 'deepfool', norm: 'l2', target: 0 }), 'target'),
    refusal(plan({ method: 'cw', norm: 'linf' }), 'norm'),
    refusal(plan({ method: 'mifgsm', epsilon: 0.1, restarts: 2 }), 'restarts'),
    refusal(plan({ method: 'deepfool', learningRate: 0.1 }), 'learningRate'),
    refusal(plan({ method: 'pgd', epsilon: 0.1, restarts: 0 }), 'restarts'),
    refusal(plan({ method: 'cw', binarySearchSteps: 21 }), 'binarySearchSteps'),
    refusal(plan({ method: 'pgd', epsilon: 0.1, steps: 1200 }, 1000), 'steps'),
  ];
  assert.match(messages[0]!, /deepfool is untargeted; use fgsm, bim, pgd, mifgsm, cw or apgd-ce for a targeted attack/);
  assert.match(messages[1]!, /'linf' is not supported by cw \(supported: l2\)/);
  assert.match(messages[2]!, /restarts: applies only to pgd/);
  assert.match(messages[3]!, /learningRate: applies only to cw/);
  assert.match(messages[4]!, /must be ≥ 1/);
  assert.match(messages[5]!, /must be ≤ 20/);
  assert.equal(messages[6], 'steps: 1200 is over the configured maximum of 1000');
  for (const m of messages) assert.doesNotMatch(m, /--|\/v1\//, m);
  model.dispose();
});

test('max steps: explicit values over the limit are refused naming the field (restarts and binary search multiply)', () => {
  const model = convFixture();
  const options = { images: 2, maxSteps: 100, maxStepsName: '--max-steps' };
  assert.equal(refusal(() => prepareAttack(model, { method: 'pgd', epsilon: 0.1, steps: 60, restarts: 2 }, options), 'steps'), 'steps: 120 is over the configured maximum of 100 (--max-steps)');
  assert.match(refusal(() => prepareAttack(model, { method: 'cw', binarySearchSteps: 5 }, options), 'binarySearchSteps'), /500 is over/);
  assert.match(refusal(() => prepareAttack(model, { method: 'pgd', epsilon: 0.1, restarts: 3 }, options), 'restarts'), /120 is over/);
  assert.match(refusal(() => prepareAttack(model, { method: 'cw', steps: 30 }, options), 'steps'), /150 is over/);
  // At the limit is fine.
  assert.equal(prepareAttack(model, { method: 'pgd', epsilon: 0.1, steps: 50, restarts: 2 }, options).runs[0]!.params.steps, 50);
  model.dispose();
});

test('max steps: defaults over the limit are scaled down to fit; without a limit they stay', async () => {
  const model = convFixture();
  const params = (request: AttackRequest, maxSteps?: number) => prepareAttack(model, request, { images: 2, ...(maxSteps ? { maxSteps } : {}) }).runs[0]!.params;
  assert.deepEqual([params({ method: 'cw' }).steps, params({ method: 'cw' }).binarySearchSteps], [100, 5]);
  assert.deepEqual([params({ method: 'cw' }, 1000).steps, params({ method: 'cw' }, 1000).binarySearchSteps], [100, 5]);
  assert.deepEqual([params({ method: 'cw' }, 100).steps, params({ method: 'cw' }, 100).binarySearchSteps], [20, 5]);
  assert.deepEqual([params({ method: 'cw' }, 3).steps, params({ method: 'cw' }, 3).binarySearchSteps], [1, 3]);
  assert.equal(params({ method: 'pgd', epsilon: 0.1 }, 10).steps, 10);
  assert.equal(params({ method: 'pgd', epsilon: 0.1 }, 10).stepSize, 0.1 / 30, 'the step size stays the default');
  assert.equal(params({ method: 'deepfool' }, 7).steps, 7);
  // The answer's iterations say what ran: ⌊12 / 5⌋ = 2 Adam steps × 5 binary-search steps.
  const plan = prepareAttack(model, { method: 'cw' }, { images: 2, maxSteps: 12 });
  const before = tf.memory().numTensors;
  const report = await runAttack(model, images, plan);
  assert.equal(tf.memory().numTensors, before);
  assert.ok(report.runs[0]!.results.every((r) => r.iterations === 10), report.runs[0]!.results.map((r) => r.iterations).join(','));
  model.dispose();
});
