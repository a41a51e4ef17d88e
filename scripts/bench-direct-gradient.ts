/**
 * `npm run bench -- direct`: the input gradient with and without tfjs' gradient tape
 * (src/model/input-gradient-program.ts), in one process, interleaved: the shipped MNIST model's
 * forward (classify's `predictProbabilities`: the program's forward against the layers'),
 * `gradient` explanation and PGD-10 (L∞, ε = 0.3, step 0.01, random start) at batch 1 and 64,
 * the same calls bench:peer times. Prints the medians and the ratio direct/tape. Both paths give
 * the same values (test/model/input-gradient-program.test.ts); this says what the tape costs.
 */
import * as tf from '@tensorflow/tfjs';
import { prepareAttack, runAttack } from '../src/attacks/attack.ts';
import { describeBackend, initBackend } from '../src/backend/index.ts';
import { gradient } from '../src/explain/gradient.ts';
import { layerWalk } from '../src/explain/layer-walk.ts';
import { setDirectGradients } from '../src/model/input-gradient-program.ts';
import { loadModelFromDir } from '../src/model/loader.ts';
import { SHIPPED, imageAt } from './lib/shipped.ts';
import { markdownTable, median } from './lib/stats.ts';

const SETTLE_MS = 30;

export async function benchDirectGradient(): Promise<void> {
  const backend = await initBackend('wasm');
  const model = await loadModelFromDir(SHIPPED[0]!.dir);
  const ctx = { model, walk: layerWalk(model) };
  const set = SHIPPED[0]!.heldOut();
  const rows: string[][] = [];
  for (const n of [1, 64]) {
    const images = Array.from({ length: n }, (_, i) => imageAt(set, i));
    const targets = model.predictProbabilities(images).map((p) => p.indexOf(Math.max(...p)));
    const work: [string, () => Promise<void>, number][] = [
      // Off, the forward runs the gradient forward's layers (what it ran before the program's forward).
      ['forward', () => {
        model.predictProbabilities(images);
        return Promise.resolve();
      }, n === 1 ? 400 : 60],
      ['input gradient', async () => {
        const map = tf.tidy(() => gradient(ctx, model.batchTensor(images), { targets, score: 'logprob' }));
        await map.data();
        map.dispose();
      }, n === 1 ? 200 : 30],
      ['PGD-10', async () => {
        await runAttack(model, images, prepareAttack(model, { method: 'pgd', norm: 'linf', epsilon: 0.3, stepSize: 0.01, steps: 10, seed: 0 }, { images: n }));
      }, n === 1 ? 40 : 8],
    ];
    for (const [label, run, reps] of work) {
      const times = { tape: [] as number[], direct: [] as number[] };
      for (const direct of [true, false]) {
        setDirectGradients(direct);
        await run();
      }
      for (let r = 0; r < reps; r++) {
        for (const direct of r % 2 ? [true, false] : [false, true]) {
          setDirectGradients(direct);
          await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
          const t0 = performance.now();
          await run();
          (direct ? times.direct : times.tape).push(performance.now() - t0);
        }
      }
      setDirectGradients(true);
      const [tape, direct] = [median(times.tape), median(times.direct)];
      rows.push([String(n), label, tape.toFixed(2), direct.toFixed(2), (direct / tape).toFixed(2)]);
      console.error(`direct gradient bench: batch ${n} ${label}: tape ${tape.toFixed(2)} ms, direct ${direct.toFixed(2)} ms`);
    }
  }
  model.dispose();
  console.log(`\n## Input gradients without the tape (mnist, ${describeBackend(backend)}, median ms, interleaved)\n`);
  console.log(markdownTable(['batch', 'work', 'tape (tf.grad) / layers', 'direct', 'direct / tape'], rows));
}
