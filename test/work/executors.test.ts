import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.ts';
import { loadModelFromDir } from '../../src/model/loader.ts';
import { CANCEL_CODES, cancelError } from '../../src/work/cancel.ts';
import { attackCost, explainCost, visualizeCost } from '../../src/work/cost.ts';
import type { JobControl } from '../../src/work/executor.ts';
import { InProcessExecutor } from '../../src/work/in-process.ts';
import type { HeavyJob, HeavyProgress } from '../../src/work/jobs.ts';
import { WorkerPoolExecutor } from '../../src/work/worker-pool.ts';
import { prepareAttack } from '../../src/attacks/attack.ts';
import { writeFixtureModel } from '../helpers/fixture-model.ts';

/** The answer without timings, which differ from run to run. */
const untimed = (value: unknown): unknown => JSON.parse(JSON.stringify(value, (key, v) => (key === 'elapsedMs' ? undefined : ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v)));

const control = (signal = new AbortController().signal, onProgress?: (e: HeavyProgress) => void): JobControl => ({ limitMs: 60_000, startedAt: Date.now(), signal, ...(onProgress ? { onProgress } : {}) });

test('a worker thread gives the same answers as the main thread (explain, attack with progress, visualize), and stops on cancel', async (t) => {
  // Heavy workers run one compute thread with the native kernels when built: the reference does too.
  const reference = await initBackend('wasm', { threads: 1, native: 'auto' });
  const fixture = await writeFixtureModel('tiny');
  t.after(fixture.cleanup);
  const model = await loadModelFromDir(fixture.dir);
  t.after(() => model.dispose());
  const inProcess = new InProcessExecutor(() => model);
  const pool = new WorkerPoolExecutor(1, 'wasm');
  t.after(() => pool.close());
  await pool.start([{ name: model.name, source: fixture.dir }]);
  assert.deepEqual(pool.nativeKernels, reference.native?.kernels ?? [], 'the workers run the same native kernels as this thread');
  const image = () => Float32Array.from({ length: model.pixelsPerImage }, (_, i) => (i % 7) / 7);
  const jobs: (() => HeavyJob)[] = [
    () => ({ kind: 'explain', model: model.name, inputs: [image(), image().reverse()], request: { method: 'integrated-gradients', steps: 16 } }),
    // (SmoothGrad is left out: its noise differs from one call to the next even in one thread.)
    () => ({ kind: 'explain', model: model.name, inputs: [image()], request: { method: 'guided-backprop' } }),
    () => ({ kind: 'attack', model: model.name, inputs: [image()], request: { method: 'pgd', epsilon: 0.2, steps: 5 }, plan: { images: 1 }, progressTop: true }),
    () => ({ kind: 'visualize', model: model.name, request: { target: 1, steps: 5, snapshotEvery: 2 } }),
  ];
  for (const job of jobs) {
    const tensors = tf.memory().numTensors;
    const here: HeavyProgress[] = [];
    const there: HeavyProgress[] = [];
    const local = await inProcess.submit(job(), control(undefined, (e) => here.push(e)));
    assert.equal(tf.memory().numTensors, tensors, `${job().kind}: no tensor leak`);
    const remote = await pool.submit(job(), control(undefined, (e) => there.push(e)));
    assert.deepEqual(untimed(remote), untimed(local), `${job().kind}: same answer from the worker`);
    assert.deepEqual(there, here, `${job().kind}: same progress`);
  }
  const explained = await pool.submit(jobs[0]!(), control());
  assert.ok(explained.kind === 'explain' && Buffer.isBuffer(explained.explanations[0]!.png), 'PNGs come back as Buffers');

  const controller = new AbortController();
  const long = pool.submit({ kind: 'attack', model: model.name, inputs: [image()], request: { method: 'pgd', epsilon: 0.2, steps: 1_000_000 }, plan: { images: 1 }, progressTop: false }, control(controller.signal, () => controller.abort(cancelError(CANCEL_CODES.shutdown))));
  await assert.rejects(long, (err: unknown) => (err as { code?: string }).code === 'GRADLAB_SHUTTING_DOWN');
  const after = await pool.submit(jobs[2]!(), control());
  assert.equal(after.kind, 'attack', 'the worker takes the next job');
});

test('costs: steps × samples × images for explanations, iterations × runs × images for attacks, steps for visualize', async (t) => {
  await initBackend('wasm', { threads: 1 });
  const fixture = await writeFixtureModel('tiny');
  t.after(fixture.cleanup);
  const model = await loadModelFromDir(fixture.dir);
  t.after(() => model.dispose());
  assert.equal(explainCost({ method: 'integrated-gradients', steps: 1000 }, 2), 2002);
  assert.equal(explainCost({ method: 'smoothgrad', base: 'integrated-gradients', samples: 1000, steps: 1000 }, 1), 1001 * 1000);
  assert.equal(explainCost({ method: 'gradient', base: 'gradient' }, 1), undefined, 'malformed: left to the driver to refuse');
  assert.equal(attackCost(prepareAttack(model, { method: 'pgd', epsilons: [0.1, 0.2], steps: 40 }, { images: 3 })), 2 * 40 * 3);
  assert.equal(visualizeCost({ target: 1, steps: 7 }), 7);
  assert.equal(visualizeCost({ target: 1 }), 200);
});
