/**
 * The epoch loop of `npm run train`, resumable: it starts from a checkpoint's progress when there
 * is one (train-checkpoint.ts), writes a checkpoint after every epoch and every few minutes within
 * one, and draws every random number from seeded generators whose states the checkpoint carries —
 * so an interrupted and resumed run takes the same batches, shifts, dropout masks and attack
 * starts as one that never stopped.
 *
 * Generators: `order` (batch order, shifts and flips: `seedrandom('train-<seed>')`, the draws the
 * plain recipes always made), `dropout` (installed as Math.random, which tfjs uses for unseeded
 * dropout masks) and `attack` (PGD random starts of the adversarial recipes).
 */
import * as tf from '@tensorflow/tfjs';
import cliProgress from 'cli-progress';
import seedrandom from 'seedrandom';
import type { ImageSet } from '../src/datasets/image-set.ts';
import { permutation, randomInt } from '../src/datasets/seeded.ts';
import { epsilonAt, pgdExamples, tradesExamples, type AdversarialRecipe } from './train-adversarial.ts';
import type { GeneratorState, TrainingProgress } from './train-checkpoint.ts';
import { copyAugmented, setLearningRate, trainStep, tradesTrainStep } from './train-model.ts';

export interface LoopOptions {
  epochs: number;
  seed: number;
  batchSize: number;
  lr: number;
  shift: number;
  flip: boolean;
  adversarial?: AdversarialRecipe;
  /** Wall minutes between checkpoints within an epoch (one is always written at an epoch's end). */
  checkpointMinutes: number;
}

type StatefulPrng = seedrandom.PRNG & { state(): GeneratorState };

const GENERATOR_SEEDS = { order: 'train', dropout: 'dropout', attack: 'attack' } as const;
type GeneratorName = keyof typeof GENERATOR_SEEDS;

function generators(seed: number, saved?: Record<string, GeneratorState>): Record<GeneratorName, StatefulPrng> {
  const make = (name: GeneratorName) =>
    seedrandom(`${GENERATOR_SEEDS[name]}-${seed}`, { state: saved?.[name] ?? true }) as StatefulPrng;
  return { order: make('order'), dropout: make('dropout'), attack: make('attack') };
}

/** Progress at the very start of a run. */
export function freshProgress(): TrainingProgress {
  return { epoch: 1, batch: 0, step: 0, order: [], lossSum: 0, correct: 0, seen: 0, epochSeconds: [], partialEpochSeconds: 0, generators: {} };
}

/**
 * Trains `model` from `progress` to the end of the run, calling `save` with the progress at each
 * checkpoint (the caller writes weights and optimiser state beside it). Math.random is seeded for
 * the length of the call and restored after, on error too.
 */
export async function trainLoop(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  data: ImageSet,
  classes: number,
  opts: LoopOptions,
  progress: TrainingProgress,
  save: (progress: TrainingProgress) => Promise<void>,
): Promise<number[]> {
  const gen = generators(opts.seed, progress.epoch === 1 && progress.batch === 0 && progress.step === 0 ? undefined : progress.generators);
  const random = () => gen.order.quick();
  const attackRandom = () => gen.attack.quick();
  const batches = Math.ceil(data.count / opts.batchSize);
  const totalSteps = batches * opts.epochs;
  const tty = Boolean(process.stderr.isTTY);
  const bar = new cliProgress.SingleBar(
    {
      format: 'epoch {epoch}/{epochs} [{bar}] batch {value}/{total} | loss {loss} | acc {acc}{eps} | {duration_formatted} elapsed, eta {eta_formatted}',
      hideCursor: tty,
      noTTYOutput: !tty,
      notTTYSchedule: 20_000,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const size = data.height * data.width;
  const pixels = new Float32Array(opts.batchSize * size);
  const p = progress;
  const snapshot = (partialSeconds: number): TrainingProgress => ({
    ...p,
    partialEpochSeconds: partialSeconds,
    generators: { order: gen.order.state(), dropout: gen.dropout.state(), attack: gen.attack.state() },
  });
  const restoreRandom = Math.random;
  Math.random = gen.dropout;
  try {
    for (; p.epoch <= opts.epochs; p.epoch++) {
      const started = performance.now() - p.partialEpochSeconds * 1000;
      if (p.batch === 0) {
        p.order = Array.from(permutation(data.count, random));
        p.lossSum = 0;
        p.correct = 0;
        p.seen = 0;
      }
      let lastSave = performance.now();
      const fmt = (v: number) => (p.seen ? (v / p.seen).toFixed(4) : '-');
      bar.start(batches, p.batch, { epoch: p.epoch, epochs: opts.epochs, loss: fmt(p.lossSum), acc: fmt(p.correct), eps: '' });
      for (; p.batch < batches; p.batch++) {
        const b = p.batch;
        const n = Math.min(opts.batchSize, data.count - b * opts.batchSize);
        const labels = new Int32Array(n);
        for (let i = 0; i < n; i++) {
          const from = p.order[b * opts.batchSize + i]!;
          const dx = opts.shift ? randomInt(random, 2 * opts.shift + 1) - opts.shift : 0;
          const dy = opts.shift ? randomInt(random, 2 * opts.shift + 1) - opts.shift : 0;
          const flip = opts.flip && random() < 0.5;
          copyAugmented(data, from, pixels, i, dx, dy, flip);
          labels[i] = data.labels[from]!;
        }
        const clean: Float32Array = pixels.subarray(0, n * size);
        let batchPixels = clean;
        let eps = '';
        const adversarial = opts.adversarial;
        const beta = adversarial?.tradesBeta;
        if (adversarial) {
          const epsilon = epsilonAt(adversarial, p.step, batches);
          batchPixels = beta === undefined
            ? pgdExamples(model, clean, labels, classes, epsilon, adversarial.steps, attackRandom)
            : tradesExamples(model, clean, epsilon, adversarial.steps, attackRandom);
          eps = ` (${beta === undefined ? 'PGD' : 'TRADES'}-${adversarial.steps} ε ${epsilon.toFixed(3)})`;
        }
        setLearningRate(optimizer, opts.lr, p.step++, totalSteps);
        const stats = beta === undefined
          ? trainStep(model, optimizer, batchPixels, labels, classes)
          : tradesTrainStep(model, optimizer, clean, batchPixels, labels, classes, beta);
        p.lossSum += stats.loss * n;
        p.correct += stats.correct;
        p.seen += n;
        bar.update(b + 1, { loss: fmt(p.lossSum), acc: fmt(p.correct), eps });
        if (b + 1 < batches && performance.now() - lastSave > opts.checkpointMinutes * 60_000) {
          p.batch++;
          await save(snapshot((performance.now() - started) / 1000));
          p.batch--;
          lastSave = performance.now();
        }
        // Let timers run: without a TTY (a log file) the bar is redrawn by a timer, not by update().
        await new Promise((resolve) => setImmediate(resolve));
      }
      bar.stop();
      const seconds = (performance.now() - started) / 1000;
      p.epochSeconds.push(seconds);
      console.log(`epoch ${p.epoch}/${opts.epochs}: loss ${fmt(p.lossSum)}, train acc ${fmt(p.correct)}` +
        `${opts.adversarial ? (opts.adversarial.tradesBeta === undefined ? ' (on PGD examples)' : ' (clean, TRADES)') : ''}, ${seconds.toFixed(1)} s, ${tf.memory().numTensors} tensors`);
      p.batch = 0;
      p.order = [];
      p.partialEpochSeconds = 0;
      const finished = { ...snapshot(0), epoch: p.epoch + 1 };
      await save(finished);
    }
  } finally {
    Math.random = restoreRandom;
    bar.stop();
  }
  return p.epochSeconds;
}
