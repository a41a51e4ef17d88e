import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { FASHION_MNIST_DIR, FASHION_MNIST_LABELS, loadFashionMnist } from '../../src/datasets/fashion-mnist.ts';
import { labelCounts } from '../../src/datasets/image-set.ts';

const skip = existsSync(FASHION_MNIST_DIR) ? false : `${FASHION_MNIST_DIR} missing (apt-get install dataset-fashion-mnist)`;

test('fashion-mnist: 60,000 train / 10,000 test, 28x28, values in [0, 1], labels 0..9 balanced', { skip }, () => {
  const data = loadFashionMnist();
  assert.equal(data.labelNames.length, 10);
  assert.deepEqual(data.labelNames, FASHION_MNIST_LABELS);
  assert.match(data.source, /dataset-fashion-mnist/);
  for (const [set, count] of [[data.train, 60000], [data.test, 10000]] as const) {
    assert.equal(set.count, count);
    assert.equal(set.height, 28);
    assert.equal(set.width, 28);
    assert.equal(set.images.length, count * 784);
    assert.equal(set.labels.length, count);
    let min = Infinity;
    let max = -Infinity;
    for (const v of set.images) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    assert.equal(min, 0);
    assert.equal(max, 1);
    // Each class holds exactly a tenth of each set, so every label is within 0..9.
    assert.deepEqual(labelCounts(set, 10), new Array(10).fill(count / 10));
  }
  // The dataset's own order, unshuffled: its documented first test labels.
  assert.deepEqual([...data.test.labels.subarray(0, 5)], [9, 2, 1, 1, 6]);
});

test('fashion-mnist: a missing directory says which Debian package to install', () => {
  assert.throws(() => loadFashionMnist('/nonexistent/fashion-mnist'), /apt-get install dataset-fashion-mnist/);
});
