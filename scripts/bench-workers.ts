/**
 * Experiment: do two cores pay for gradient work? Worker threads that each own a wasm backend and
 * a copy of the model take half of a batch each; compared, interleaved, with the same batch on the
 * main thread (gradlab today) and on one worker (the cost of the hand-off alone). Prints median ms.
 *
 *   node --import tsx scripts/bench-workers.ts [--reps 7]
 *
 * (The threaded wasm build is not tried: under Node it only runs with patched globals; see
 * docs/performance.md.)
 */
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { prepareAttack, runAttack } from '../src/attacks/attack.ts';
import { gradient } from '../src/explain/gradient.ts';
import { initBackend } from '../src/backend/index.ts';
import { loadModelFromDir } from '../src/model/loader.ts';
import type { WorkerJob } from './lib/gradient-worker.ts';
import { ensureResnet18 } from './lib/resnet18.ts';
import { REPO_ROOT } from './lib/server-process.ts';
import { SHIPPED, imageAt } from './lib/shipped.ts';
import { markdownTable, median } from './lib/stats.ts';

const REPS = Number(process.argv[process.argv.indexOf('--reps') + 1] || 7);

/** A worker running scripts/lib/gradient-worker.ts (a TypeScript entry needs tsx registered first). */
function startWorker(): Worker {
  const entry = new URL('./lib/gradient-worker.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true });
}

function ask(worker: Worker, job: WorkerJob): Promise<{ ms: number; out: Float32Array }> {
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => reject(err);
    worker.once('error', fail);
    worker.once('message', (reply: { ms: number; out: Float32Array }) => {
      worker.off('error', fail);
      resolve(reply);
    });
    worker.postMessage(job);
  });
}

async function main(): Promise<void> {
  await initBackend('wasm');
  const workers = [startWorker(), startWorker()];
  const mnistDir = path.join(REPO_ROOT, SHIPPED[0]!.dir);
  const resnetDir = await ensureResnet18();
  const set = SHIPPED[0]!.heldOut();
  const cases = [
    { name: 'MNIST', dir: mnistDir, work: 'gradient' as const, n: 64, images: Array.from({ length: 64 }, (_, i) => imageAt(set, i)), epsilon: 0.3, stepSize: 0.01 },
    { name: 'MNIST', dir: mnistDir, work: 'pgd' as const, n: 64, images: Array.from({ length: 64 }, (_, i) => imageAt(set, i)), epsilon: 0.3, stepSize: 0.01 },
    { name: 'ResNet-18', dir: resnetDir, work: 'gradient' as const, n: 4, images: Array.from({ length: 4 }, (_, k) => new Float32Array(224 * 224 * 3).map((_, i) => ((i * 31 + k * 17) % 97) / 97)), epsilon: 8 / 255, stepSize: 2 / 255 },
  ];
  const rows: string[][] = [];
  for (const c of cases) {
    const model = await loadModelFromDir(c.dir);
    const targets = c.images.map(() => 1);
    const job = (images: Float32Array[], t: number[]): WorkerJob => ({ dir: c.dir, work: c.work, images, targets: t, epsilon: c.epsilon, stepSize: c.stepSize, steps: 10 });
    const half = c.n / 2;
    const sides: Record<string, () => Promise<unknown>> = {
      'main thread': async () => {
        if (c.work === 'gradient') {
          const g = tf.tidy(() => gradient({ model, walk: undefined }, model.batchTensor(c.images), { targets, score: 'logprob' }));
          g.dataSync();
          g.dispose();
        } else await runAttack(model, c.images, prepareAttack(model, { method: 'pgd', epsilon: c.epsilon, stepSize: c.stepSize, steps: 10 }, { images: c.images.length }));
      },
      'one worker': () => ask(workers[0]!, job(c.images, targets)),
      'two workers, half each': () => Promise.all([
        ask(workers[0]!, job(c.images.slice(0, half), targets.slice(0, half))),
        ask(workers[1]!, job(c.images.slice(half), targets.slice(half))),
      ]),
    };
    const names = Object.keys(sides);
    const times = new Map(names.map((k) => [k, [] as number[]]));
    for (const name of names) await sides[name]!(); // warm-up (workers load the model)
    for (let r = 0; r < REPS; r++) {
      for (let k = 0; k < names.length; k++) {
        const name = names[(k + r) % names.length]!;
        const t0 = performance.now();
        await sides[name]!();
        times.get(name)!.push(performance.now() - t0);
      }
    }
    const [mainMs, oneMs, twoMs] = names.map((k) => median(times.get(k)!));
    rows.push([c.name, c.work === 'gradient' ? 'input gradient' : 'PGD-10', String(c.n), mainMs!.toFixed(1), oneMs!.toFixed(1), twoMs!.toFixed(1), (mainMs! / twoMs!).toFixed(2)]);
    console.error(rows.at(-1)!.join(' | '));
    model.dispose();
  }
  await Promise.all(workers.map((w) => w.terminate()));
  console.log(`\n## Two cores with worker threads (median ms of ${REPS}, interleaved; load average ${os.loadavg()[0]!.toFixed(2)})\n`);
  console.log(markdownTable(['model', 'work', 'batch', 'main thread', 'one worker', 'two workers, half each', 'speed-up'], rows));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
