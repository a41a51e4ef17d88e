/**
 * `npm run eval -- sequences`: the sequence models' numbers, as Markdown tables.
 * 1. Hand-wired RNNs: exactness (parity on every string up to length 14, sum and comparison on
 *    random integer inputs).
 * 2. Parity: accuracy of the hand-wired and the BPTT-trained RNN on fresh random strings of
 *    length 20, 50, 100, 500 (trained on lengths ≤ 20: does it generalise?).
 * 3. char-lm: held-out bits per character next to unigram and bigram baselines (add-one smoothed,
 *    counted on the training split with the model's vocabulary).
 * 4. spam-rnn: held-out accuracy, precision, recall and F1 of the last-hidden-state readout versus
 *    max-pool and mean-pool readouts over all hidden states.
 * 5. Vanishing gradients: ‖∂L/∂h(t)‖ relative to ‖∂L/∂h(T)‖ for T = 100 (SimpleRNN, GRU, LSTM at
 *    initialisation; GRU with an open update gate; the trained parity GRU).
 * Trained models that are missing (not yet trained) are skipped with a note.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { randomInt, seededRandom } from '../src/datasets/seeded.ts';
import { loadMobyDick, loadSpamAssassin } from '../src/datasets/text-corpora.ts';
import { initBackend } from '../src/backend/index.ts';
import { fileSystemLoader } from '../src/model/fs-io.ts';
import { hiddenGradientNorms, type GradientFlowOptions } from '../src/sequence/gradient-flow.ts';
import type { EncodedSequence } from '../src/sequence/input.ts';
import { loadSequenceModelFromDir } from '../src/sequence/loader.ts';
import type { SequenceModel } from '../src/sequence/sequence-model.ts';
import { TrainedRnn } from '../src/sequence/trained-rnn.ts';
import { markdownTable } from './lib/stats.ts';
import { charLmBitsPerChar, parityAccuracy, pooledSpamMetrics, spamMetrics, type BinaryMetrics } from './lib/sequence-data.ts';

const MODELS = process.env.GRADLAB_MODELS_DIR ?? 'models';

async function tryLoad(name: string): Promise<SequenceModel | undefined> {
  const dir = path.join(MODELS, name);
  if (!existsSync(path.join(dir, 'manifest.json'))) {
    console.log(`\n(${name}: not found in ${MODELS}/; train it with npm run train:sequences -- ${name})`);
    return undefined;
  }
  return loadSequenceModelFromDir(dir);
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

function handWiredExactness(parity: SequenceModel, sum: SequenceModel, compare: SequenceModel): void {
  let strings = 0;
  let wrong = 0;
  for (let len = 1; len <= 14; len++) {
    const batch: EncodedSequence[] = [];
    for (let k = 0; k < 2 ** len; k++) {
      batch.push({ values: Float32Array.from({ length: len }, (_, i) => (k >> i) & 1), length: len, width: 1, display: [] });
    }
    parity.run(batch).forEach((u, k) => {
      let p = 0;
      for (let t = 0; t < len; t++) if (u.outputs[t] !== (p ^= (k >> t) & 1)) wrong++;
      strings++;
    });
  }
  const random = seededRandom('eval-hand-wired');
  let sumWrong = 0;
  let cmpWrong = 0;
  const trials = 200;
  for (let i = 0; i < trials; i++) {
    const len = 1 + randomInt(random, 1000);
    const xs = Float32Array.from({ length: len }, () => randomInt(random, 2001) - 1000);
    const [u] = sum.run([{ values: xs, length: len, width: 1, display: [] }]);
    let s = 0;
    for (let t = 0; t < len; t++) if (u!.outputs[t] !== (s += xs[t]!)) sumWrong++;
    const pairs = Float32Array.from({ length: 2 * len }, () => randomInt(random, 21) - 10);
    const [c] = compare.run([{ values: pairs, length: len, width: 2, display: [] }]);
    let d = 0;
    for (let t = 0; t < len; t++) if (c!.outputs[t] !== ((d += pairs[2 * t]! - pairs[2 * t + 1]!) > 0 ? 1 : 0)) cmpWrong++;
  }
  console.log('\n### Hand-wired RNNs: exactness\n');
  console.log(markdownTable(['model', 'inputs', 'wrong steps'], [
    ['rnn-parity', `all ${strings} bit strings of length 1-14, every step`, String(wrong)],
    ['rnn-sum', `${trials} random integer sequences (values -1000..1000, length 1-1000)`, String(sumWrong)],
    ['rnn-compare', `${trials} random integer pair sequences (values -10..10, length 1-1000)`, String(cmpWrong)],
  ]));
}

function parityTable(models: [string, SequenceModel][]): void {
  const lengths = [20, 50, 100, 500];
  const rows = models.map(([name, m]) => [name, ...lengths.map((len) => pct(parityAccuracy(m, len, 1000, seededRandom(`eval-parity-${len}`))))]);
  console.log('\n### Parity: accuracy of the final parity bit on 1,000 fresh random strings per length\n');
  console.log(markdownTable(['model', ...lengths.map((l) => `length ${l}`)], rows));
}

/** Add-one smoothed unigram and bigram bits per character on the held-out text. */
function ngramBaselines(vocab: string[], train: string, heldOut: string): { unigram: number; bigram: number; characters: number } {
  const index = new Map(vocab.map((c, i) => [c, i]));
  const ids = (s: string) => Int32Array.from([...s], (c) => index.get(c) ?? index.get(' ')!);
  const tr = ids(train);
  const te = ids(heldOut);
  const V = vocab.length;
  const uni = new Float64Array(V).fill(1);
  const bi = new Float64Array(V * V).fill(1);
  const rowTotals = new Float64Array(V).fill(V);
  tr.forEach((c, i) => {
    uni[c]! += 1;
    if (i > 0) {
      bi[tr[i - 1]! * V + c]! += 1;
      rowTotals[tr[i - 1]!]! += 1;
    }
  });
  const uniTotal = uni.reduce((a, b) => a + b, 0);
  // Same characters as the model scores: every held-out character after the first (the model's
  // chunks each start after a line break; the difference is a few hundred characters).
  let u = 0;
  let b = 0;
  for (let i = 1; i < te.length; i++) {
    u -= Math.log2(uni[te[i]!]! / uniTotal);
    b -= Math.log2(bi[te[i - 1]! * V + te[i]!]! / rowTotals[te[i - 1]!]!);
  }
  return { unigram: u / (te.length - 1), bigram: b / (te.length - 1), characters: te.length - 1 };
}

function charLmTable(lm: SequenceModel): void {
  const data = loadMobyDick();
  const base = ngramBaselines(lm.vocabulary!.entries, data.train, data.heldOut);
  const model = charLmBitsPerChar(lm, data.heldOut, 256);
  console.log(`\n### char-lm: held-out bits per character (Moby Dick, ${data.split})\n`);
  console.log(markdownTable(['model', 'bits per character', 'perplexity', 'characters scored'], [
    ['uniform over the vocabulary', Math.log2(lm.vocabulary!.entries.length).toFixed(3), String(lm.vocabulary!.entries.length), String(base.characters)],
    ['unigram (add-one)', base.unigram.toFixed(3), (2 ** base.unigram).toFixed(2), String(base.characters)],
    ['bigram (add-one)', base.bigram.toFixed(3), (2 ** base.bigram).toFixed(2), String(base.characters)],
    ['char-lm (GRU, 256-character chunks)', model.bitsPerChar.toFixed(3), (2 ** model.bitsPerChar).toFixed(2), String(model.characters)],
  ]));
}

async function spamTable(spam: SequenceModel): Promise<void> {
  const data = loadSpamAssassin(1);
  const rows: [string, BinaryMetrics][] = [['last hidden state -> MLP (spam-rnn, served)', spamMetrics(spam, data.test)]];
  for (const readout of ['max', 'mean'] as const) {
    const file = path.join(MODELS, 'spam-rnn', 'readouts', readout, 'model.json');
    if (!existsSync(file)) continue;
    const net = await tf.loadLayersModel(fileSystemLoader(file));
    rows.push([`${readout}-pool over all hidden states -> MLP`, pooledSpamMetrics(net, spam.vocabulary!.index, data.test)]);
    net.dispose();
  }
  console.log(`\n### spam-rnn: held-out ham/spam (${data.split}; spam is the positive class)\n`);
  console.log(markdownTable(['readout', 'accuracy', 'precision', 'recall', 'F1'],
    rows.map(([name, m]) => [name, pct(m.accuracy), m.precision.toFixed(3), m.recall.toFixed(3), m.f1.toFixed(3)])));
}

function gradientTable(trained?: SequenceModel): void {
  const T = 100;
  const steps = [1, 10, 25, 50, 75, 90, 99, 100];
  const seeds = [1, 2, 3];
  const base: Omit<GradientFlowOptions, 'cell' | 'seed'> = { length: T, units: 32, inputSize: 8, batch: 16 };
  const configs: [string, (seed: number) => GradientFlowOptions][] = [
    ['SimpleRNN (tanh), init', (seed) => ({ ...base, cell: 'simple-rnn', seed })],
    ['GRU, init', (seed) => ({ ...base, cell: 'gru', seed })],
    ['GRU, init, update-gate bias +3', (seed) => ({ ...base, cell: 'gru', seed, updateGateBias: 3 })],
    ['LSTM, init (forget-gate bias 1)', (seed) => ({ ...base, cell: 'lstm', seed })],
  ];
  if (trained instanceof TrainedRnn) {
    const [kernel, recurrentKernel, bias] = trained.recurrent.getWeights() as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
    const units = recurrentKernel.shape[0];
    configs.push([`GRU trained (rnn-parity-trained, bit inputs)`, (seed) => ({
      length: T, units, inputSize: 1, batch: 16, cell: 'gru', seed, inputs: 'bits', weights: { kernel, recurrentKernel, bias },
    })]);
  }
  const rows = configs.map(([name, make]) => {
    // Geometric mean over seeds of ‖∂L/∂h(t)‖ / ‖∂L/∂h(T)‖.
    const logs = new Array<number>(T).fill(0);
    for (const seed of seeds) {
      const n = hiddenGradientNorms(make(seed));
      n.forEach((v, t) => {
        logs[t]! += Math.log10(v / n[T - 1]!) / seeds.length;
      });
    }
    return [name, ...steps.map((t) => `${(10 ** logs[t - 1]!).toExponential(1)}`)];
  });
  console.log(`\n### Vanishing gradients: ‖∂L/∂h(t)‖ / ‖∂L/∂h(${T})‖, loss at step ${T} (32 units unless trained; geometric mean of 3 seeds × 16 sequences)\n`);
  console.log(markdownTable(['network', ...steps.map((t) => `t=${t}`)], rows));
}

export async function evalSequences(): Promise<void> {
  const backend = await initBackend('wasm');
  console.log(`## Sequence models (backend: ${backend.name})`);
  const [sum, compare, parity] = [await tryLoad('rnn-sum'), await tryLoad('rnn-compare'), await tryLoad('rnn-parity')];
  if (sum && compare && parity) handWiredExactness(parity, sum, compare);
  const trainedParity = await tryLoad('rnn-parity-trained');
  parityTable([...(parity ? [['rnn-parity (hand-wired)', parity] as [string, SequenceModel]] : []),
    ...(trainedParity ? [['rnn-parity-trained (GRU, BPTT on lengths 2-20)', trainedParity] as [string, SequenceModel]] : [])]);
  const lm = await tryLoad('char-lm');
  if (lm) charLmTable(lm);
  const spam = await tryLoad('spam-rnn');
  if (spam) await spamTable(spam);
  gradientTable(trainedParity);
  for (const m of [sum, compare, parity, trainedParity, lm, spam]) m?.dispose();
}
