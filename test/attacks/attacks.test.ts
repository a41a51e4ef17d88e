import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.ts';
import { prepareAttack, runAttack as runPlan, type AttackHooks, type AttackRequest } from '../../src/attacks/attack.ts';
import { GradlabError } from '../../src/errors.ts';
import { Deadline } from '../../src/deadline.ts';
import type { ImageModel } from '../../src/model/image-model.ts';
import { convFixture } from '../helpers/tiny-models.ts';

await initBackend(process.env.GRADLAB_TEST_BACKEND === 'cpu' ? 'cpu' : 'wasm');

/** Plans and runs a request (a planning error rejects like a failed run). */
async function runAttack(model: ImageModel, inputs: Float32Array[], request: AttackRequest, hooks?: AttackHooks) {
  return runPlan(model, inputs, prepareAttack(model, request, { images: inputs.length }), hooks);
}

const images = [1, 2, 3].map((seed) => new Float32Array(64).map((_, i) => ((i * 13 + seed * 7) % 17) / 17));

/** Every attack × norm × {untargeted, targeted} where the method allows it. */
const TABLE: { request: AttackRequest; must: boolean }[] = [
  { request: { method: 'fgsm', epsilon: 0.5 }, must: false },
  { request: { method: 'fgsm', norm: 'l2', epsilon: 4 }, must: false },
  { request: { method: 'bim', epsilon: 0.5, steps: 20 }, must: true },
  { request: { method: 'bim', norm: 'l2', epsilon: 4, steps: 20 }, must: true },
  { request: { method: 'pgd', epsilon: 0.5, steps: 20 }, must: true },
  { request: { method: 'pgd', norm: 'l2', epsilon: 4, steps: 20 }, must: true },
  { request: { method: 'mifgsm', epsilon: 0.5, steps: 20 }, must: true },
  { request: { method: 'mifgsm', norm: 'l2', epsilon: 4, steps: 20 }, must: true },
  { request: { method: 'cw', steps: 60, binarySearchSteps: 4, learningRate: 0.05 }, must: true },
  { request: { method: 'deepfool' }, must: true },
  { request: { method: 'deepfool', norm: 'linf' }, must: true },
];

for (const { request, must } of TABLE) {
  for (const targeted of [false, true]) {
    if (targeted && request.method === 'deepfool') continue;
    const name = `${request.method} ${request.norm ?? 'default norm'} ${targeted ? 'targeted' : 'untargeted'}`;
    test(name, async () => {
      const model = convFixture();
      const before = tf.memory().numTensors;
      const target = 1;
      const report = await runAttack(model, images, { ...request, seed: 3, ...(targeted ? { target } : {}) });
      assert.equal(tf.memory().numTensors, before, 'no leaked tensor');
      assert.equal(report.targeted, targeted);
      assert.equal(report.runs.length, 1);
      const run = report.runs[0]!;
      const epsilon = request.epsilon;
      for (const [i, r] of run.results.entries()) {
        const x = images[i]!;
        const adv = r.adversarial.image;
        assert.ok(adv.every((v) => v >= 0 && v <= 1), 'inside the value range');
        let linf = 0;
        let sq = 0;
        adv.forEach((v, j) => {
          linf = Math.max(linf, Math.abs(v - x[j]!));
          sq += (v - x[j]!) ** 2;
        });
        assert.ok(Math.abs(linf - r.perturbation.linf) < 1e-6 && Math.abs(Math.sqrt(sq) - r.perturbation.l2) < 1e-5, 'reported norms match the floats');
        if (epsilon !== undefined) {
          const size = report.norm === 'linf' ? linf : Math.sqrt(sq);
          assert.ok(size <= epsilon * (1 + 1e-6) + 1e-6, `inside the ε-ball: ${size} ≤ ${epsilon}`);
        }
        const top = r.adversarial.predictions[0]!.index;
        if (r.success) {
          if (targeted) assert.equal(top, target, 'a targeted success reaches the target');
          else assert.notEqual(top, r.label.index, 'an untargeted success changes the label');
        }
        if (must && !(targeted && r.label.index === target)) assert.ok(r.success, `image ${i} must be adversarial (top ${top}, label ${r.label.index})`);
      }
      assert.equal(run.successRate, run.results.filter((r) => r.success).length / run.results.length);
      model.dispose();
    });
  }
}

test('epsilons answer a robustness curve: success never falls as ε grows (PGD, fixed seed)', async () => {
  const model = convFixture();
  const report = await runAttack(model, images, { method: 'bim', epsilons: [0.01, 0.05, 0.2, 0.5], steps: 10 });
  assert.deepEqual(report.runs.map((r) => r.epsilon), [0.01, 0.05, 0.2, 0.5]);
  const rates = report.runs.map((r) => r.successRate);
  for (let i = 1; i < rates.length; i++) assert.ok(rates[i]! >= rates[i - 1]!, `success rates ${rates.join(',')}`);
  assert.ok(report.runs.every((r) => Math.abs(r.robustAccuracy + r.successRate - 1) < 1e-9), 'untargeted with predicted labels: robust = 1 − success');
  model.dispose();
});

test('FGSM is one PGD step of size ε without random start', async () => {
  const model = convFixture();
  const fgsm = await runAttack(model, images, { method: 'fgsm', epsilon: 0.1 });
  const pgd1 = await runAttack(model, images, { method: 'pgd', epsilon: 0.1, steps: 1, stepSize: 0.1, randomStart: false });
  fgsm.runs[0]!.results.forEach((r, i) => assert.deepEqual(r.adversarial.image, pgd1.runs[0]!.results[i]!.adversarial.image));
  model.dispose();
});

test('per-image labels, quantised success, and cancellation leave no tensor behind', async () => {
  const model = convFixture();
  const before = tf.memory().numTensors;
  const report = await runAttack(model, images, { method: 'pgd', epsilon: 0.3, steps: 10, label: ['circle', 'square', 2] });
  assert.deepEqual(report.runs[0]!.results.map((r) => r.label.index), [0, 1, 2]);
  assert.ok(report.runs[0]!.results.every((r) => typeof r.successQuantized === 'boolean'));
  const controller = new AbortController();
  let steps = 0;
  const cancelled = runAttack(model, images, { method: 'pgd', epsilon: 0.3, steps: 500 }, {
    deadline: new Deadline(60_000, controller.signal),
    onProgress: () => {
      steps++;
      if (steps === 3) controller.abort();
    },
  });
  await assert.rejects(cancelled, (e) => e instanceof GradlabError && e.code === 'GRADLAB_TIMEOUT');
  assert.equal(steps, 3, 'the attack stopped at the next step');
  await assert.rejects(runAttack(model, images, { method: 'cw', steps: 100_000 }, { deadline: new Deadline(100) }), /time limit/);
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});

test('bad parameters are 400s naming the field', async () => {
  const model = convFixture();
  const cases: [AttackRequest, string, RegExp][] = [
    [{ method: 'pgd' }, 'epsilon', /is required/],
    [{ method: 'pgd', epsilon: -0.1 }, 'epsilon', /must be positive/],
    [{ method: 'pgd', epsilon: 2 }, 'epsilon', /larger than the value range/],
    [{ method: 'pgd', epsilons: [0.1, 0] }, 'epsilons[1]', /must be positive/],
    [{ method: 'pgd', epsilon: 0.1, epsilons: [0.1] }, 'epsilons', /not both/],
    [{ method: 'cw', norm: 'linf' }, 'norm', /not supported by cw/],
    [{ method: 'deepfool', target: 1 }, 'target', /untargeted/],
    [{ method: 'fgsm', epsilon: 0.1, steps: 5 }, 'steps', /one step/],
    [{ method: 'pgd', epsilon: 0.1, target: 'hexagon' }, 'target', /unknown label/],
    [{ method: 'pgd', epsilon: 0.1, label: 9 }, 'label', /out of range/],
    [{ method: 'pgd', epsilon: 0.1, label: [0, 1] }, 'label', /2 labels for 3 images/],
    [{ method: 'bim', epsilon: 0.1, restarts: 2 }, 'restarts', /only to pgd/],
    [{ method: 'pgd', epsilon: 0.1, confidence: 2 }, 'confidence', /only to cw/],
    [{ method: 'cw', stepSize: 0.1 }, 'stepSize', /applies only to/],
    [{ method: 'cw', overshoot: 0.1 }, 'overshoot', /only to deepfool/],
  ];
  for (const [request, field, message] of cases) {
    await assert.rejects(runAttack(model, images, request), (e) => {
      assert.ok(e instanceof GradlabError, String(e));
      assert.equal(e.statusCode, 400);
      assert.equal(e.field, field, e.message);
      assert.match(e.message, message);
      return true;
    });
  }
  model.dispose();
});

test('L∞ attacks move a confidently classified image: tiny gradients still give full sign steps', async () => {
  // Scale the fixture's logits up so that softmax saturates and the input gradient is ~1e-9.
  const model = convFixture();
  const net = model.net as tf.LayersModel;
  const last = net.layers[net.layers.length - 1]!;
  const [kernel, bias] = last.getWeights();
  last.setWeights([tf.mul(kernel!, 1200), tf.mul(bias!, 1200)]);
  const report = await runAttack(model, [images[0]!], { method: 'fgsm', epsilon: 0.1 });
  const r = report.runs[0]!.results[0]!;
  assert.ok(r.original.predictions[0]!.probability === 1, `saturated: ${r.original.predictions[0]!.probability}`);
  assert.ok(Math.abs(r.perturbation.linf - 0.1) < 1e-6, `FGSM moved by ε (linf ${r.perturbation.linf})`);
  model.dispose();
});

test('minimization attacks run once for a curve and are judged at every ε; fixed-ε attacks run once per ε', async () => {
  const model = convFixture();
  const counted = (request: AttackRequest) => {
    const plan = prepareAttack(model, request, { images: images.length });
    const calls = { count: 0 };
    const spec = { ...plan.spec, run: (...args: Parameters<typeof plan.spec.run>) => (calls.count++, plan.spec.run(...args)) };
    return { plan: { ...plan, spec }, calls };
  };
  const epsilons = [0.03, 0.07, 0.1, 0.5];
  for (const request of [{ method: 'cw', steps: 30, binarySearchSteps: 2, epsilons }, { method: 'deepfool', norm: 'l2', epsilons }] as AttackRequest[]) {
    const { plan, calls } = counted(request);
    const before = tf.memory().numTensors;
    const report = await runPlan(model, images, plan);
    assert.equal(tf.memory().numTensors, before);
    assert.equal(calls.count, 1, `${request.method} ran once`);
    assert.deepEqual(report.runs.map((r) => r.epsilon), epsilons);
    const first = report.runs[0]!.results;
    for (const run of report.runs) {
      run.results.forEach((r, i) => {
        assert.deepEqual(r.adversarial.image, first[i]!.adversarial.image, 'one answer for every ε');
        const adversarial = r.adversarial.predictions[0]!.index !== r.label.index;
        assert.equal(r.success, adversarial && r.perturbation.l2 <= run.epsilon! * (1 + 1e-6) + 1e-7, `${request.method} at ε ${run.epsilon}, image ${i}`);
      });
    }
    const rates = report.runs.map((r) => r.successRate);
    assert.ok(rates[0]! < rates.at(-1)!, `${request.method}: success grows with ε (${rates.join(',')})`);
  }
  const { plan, calls } = counted({ method: 'bim', epsilons: [0.1, 0.2, 0.3], steps: 3 });
  await runPlan(model, images, plan);
  assert.equal(calls.count, 3);
  model.dispose();
});
