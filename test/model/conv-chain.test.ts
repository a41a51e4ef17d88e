/**
 * A conv chain run by itself (src/model/conv-chain.ts): zero padding → strided 'valid' conv →
 * batch norm → ReLU gives tfjs-layers' `predict` values both with the padding inside the conv and
 * with the padding run as its own layer first (the tfjs-node path, whose conv gradient takes no
 * explicit padding), and leaks nothing. Chains inside whole models: gradient-forward.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.ts';
import { ConvChain, takesExplicitPadding } from '../../src/model/conv-chain.ts';
import { plainRelu } from '../../src/model/relu-for-gradient.ts';
import { withSeededWeights } from '../helpers/tiny-models.ts';
import { maxRelativeError, values } from '../helpers/kernel-check.ts';

const TOLERANCE = 1e-5;
const apply = (layer: tf.layers.Layer, x: tf.SymbolicTensor) => layer.apply(x) as tf.SymbolicTensor;

await initBackend('wasm');

const withWeights = (net: tf.LayersModel) => withSeededWeights(net, 50);

test('a chain with a zero padding gives the same values with the padding run as its own layer (tfjs-node\'s path)', () => {
  assert.equal(takesExplicitPadding('tensorflow'), false);
  assert.ok(takesExplicitPadding('wasm') && takesExplicitPadding('cpu'));
  const input = tf.input({ shape: [9, 9, 2] });
  let y = apply(tf.layers.zeroPadding2d({ padding: [[1, 2], [2, 1]] }), input);
  y = apply(tf.layers.conv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'valid', useBias: false }), y);
  y = apply(tf.layers.batchNormalization({}), y);
  y = apply(tf.layers.reLU(), y);
  const net = withWeights(tf.model({ inputs: input, outputs: y }));
  const [pad, conv, bn, relu] = net.layers.slice(1);
  const chain = new ConvChain({ pad: pad!, conv: conv!, bn: bn!, relu: relu! });
  const x = tf.tensor4d(values(2 * 9 * 9 * 2, 15), [2, 9, 9, 2]);
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    const expected = (net.predict(x) as tf.Tensor).dataSync();
    for (const explicit of [true, false]) {
      const actual = chain.apply(x, plainRelu, explicit).dataSync();
      assert.ok(maxRelativeError(actual, expected) <= TOLERANCE, `explicit padding ${explicit}`);
    }
  });
  chain.dispose();
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
  net.dispose();
});
