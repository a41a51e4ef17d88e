/**
 * A worker thread that owns its own tfjs wasm backend and a copy of one model, for
 * scripts/bench-workers.ts: it runs gradlab's own input gradient or PGD on the batch slice it is
 * sent and answers with the result and its own compute time.
 */
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { prepareAttack, runAttack } from '../../src/attacks/attack.ts';
import { gradient } from '../../src/explain/gradient.ts';
import { initBackend } from '../../src/backend/index.ts';
import type { ImageModel } from '../../src/model/image-model.ts';
import { loadModelFromDir } from '../../src/model/loader.ts';

export interface WorkerJob {
  dir: string;
  work: 'gradient' | 'pgd';
  images: Float32Array[];
  targets: number[];
  epsilon: number;
  stepSize: number;
  steps: number;
}

const models = new Map<string, ImageModel>();

async function answer(job: WorkerJob): Promise<void> {
  await initBackend('wasm');
  let model = models.get(job.dir);
  if (!model) {
    model = await loadModelFromDir(job.dir);
    models.set(job.dir, model);
  }
  const t0 = performance.now();
  let out: Float32Array;
  if (job.work === 'gradient') {
    const map = tf.tidy(() => gradient({ model: model, walk: undefined }, model.batchTensor(job.images), { targets: job.targets, score: 'logprob' }));
    out = map.dataSync() as Float32Array;
    map.dispose();
  } else {
    const report = await runAttack(model, job.images, prepareAttack(model, { method: 'pgd', epsilon: job.epsilon, stepSize: job.stepSize, steps: job.steps }, { images: job.images.length }));
    out = new Float32Array(report.runs[0]!.results.flatMap((r) => Array.from(r.adversarial.image)));
  }
  parentPort!.postMessage({ ms: performance.now() - t0, out }, [out.buffer as ArrayBuffer]);
}

// A failed job is rethrown as an uncaught exception, which the parent sees as the worker's
// 'error' event (what bench-workers' ask() waits on), rather than left as a floating rejection.
parentPort!.on('message', (job: WorkerJob) => {
  answer(job).catch((err: unknown) => setImmediate(() => {
    throw err;
  }));
});
