/**
 * Fashion-MNIST (Zalando Research) from the Debian package `dataset-fashion-mnist`: the four
 * gzipped idx files under /usr/share/datasets/fashion-mnist, 60,000 training and 10,000 test
 * images of 28x28 grey clothing, pixels 0..255 (light article on a dark ground), scaled here to
 * [0, 1]. The split is the dataset's own; nothing is reshuffled, so "the first 1,000 test images"
 * is a fixed, documented sample.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { ImageSet, LabelledSplit } from './image-set.ts';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_LABELS = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

const FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

// idx magic numbers: two zero bytes, the element type (0x08 = unsigned byte), the rank.
const IDX_UBYTE_RANK1 = 0x00000801;
const IDX_UBYTE_RANK3 = 0x00000803;

/** Reads `name` or `name.gz` from `dir`, gunzipping the latter. */
function readIdx(dir: string, name: string): Buffer {
  for (const [file, gzipped] of [[`${name}.gz`, true], [name, false]] as const) {
    const full = path.join(dir, file);
    if (existsSync(full)) return gzipped ? gunzipSync(readFileSync(full)) : readFileSync(full);
  }
  throw new Error(`${path.join(dir, name)}(.gz) not found: reinstall with \`apt-get install dataset-fashion-mnist\``);
}

function parseLabels(bytes: Buffer, file: string): Uint8Array {
  if (bytes.readUInt32BE(0) !== IDX_UBYTE_RANK1) throw new Error(`${file}: not an idx1 ubyte file`);
  const count = bytes.readUInt32BE(4);
  if (bytes.length !== 8 + count) throw new Error(`${file}: expected ${count} labels, file has ${bytes.length - 8} bytes`);
  const labels = new Uint8Array(bytes.subarray(8));
  for (const label of labels) if (label > 9) throw new Error(`${file}: label ${label} out of range 0..9`);
  return labels;
}

function parseImages(bytes: Buffer, labels: Uint8Array, file: string): ImageSet {
  if (bytes.readUInt32BE(0) !== IDX_UBYTE_RANK3) throw new Error(`${file}: not an idx3 ubyte file`);
  const count = bytes.readUInt32BE(4);
  const height = bytes.readUInt32BE(8);
  const width = bytes.readUInt32BE(12);
  if (bytes.length !== 16 + count * height * width) throw new Error(`${file}: size does not match ${count}x${height}x${width}`);
  if (count !== labels.length) throw new Error(`${file}: ${count} images but ${labels.length} labels`);
  const images = new Float32Array(count * height * width);
  for (let i = 0; i < images.length; i++) images[i] = bytes[16 + i]! / 255;
  return { images, labels, count, height, width };
}

/** The Debian package's version, e.g. `0.0~git20200523.55506a9-1`, or `unknown` without dpkg. */
export function fashionMnistPackageVersion(): string {
  try {
    return execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'dataset-fashion-mnist'], { encoding: 'utf8' }).trim() || 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The dataset's own 60,000 / 10,000 split, pixels scaled to [0, 1]. */
export function loadFashionMnist(dir: string = FASHION_MNIST_DIR): LabelledSplit {
  if (!existsSync(dir)) {
    throw new Error(`Fashion-MNIST not found in ${dir}: install it with \`apt-get install dataset-fashion-mnist\``);
  }
  const load = (images: string, labels: string): ImageSet =>
    parseImages(readIdx(dir, images), parseLabels(readIdx(dir, labels), labels), images);
  const train = load(FILES.trainImages, FILES.trainLabels);
  const test = load(FILES.testImages, FILES.testLabels);
  return {
    train,
    test,
    labelNames: FASHION_MNIST_LABELS,
    source: `Debian dataset-fashion-mnist ${fashionMnistPackageVersion()}`,
    split: `the dataset's own split: all ${train.count} training images (train-images-idx3-ubyte) for training, ` +
      `all ${test.count} test images (t10k-images-idx3-ubyte) held out for test; pixels / 255`,
  };
}
