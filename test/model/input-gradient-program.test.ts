/**
 * The input gradient without tfjs' tape (src/model/input-gradient-program.ts): on Sequential and
 * residual models built of every layer it supports, its gradient equals the recorded gradient of
 * the same loss (log p and logit scores, plain and guided ReLUs, several images), it runs far
 * fewer kernels and no clone, and it leaks nothing; the shipped MNIST model gets it; layers it
 * does not support and probability outputs leave it undefined (the tape path stays); PGD, APGD-CE
 * and APGD-T (whose DLR loss is differentiated on the logits alone) give the same images with it
 * and without it. The unrecorded forward (ImageModel.logits) runs the program's forward, equal to
 * tfjs' predict.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { prepareAttack, runAttack } from '../../src/attacks/attack.ts';
import { initBackend } from '../../src/backend/index.ts';
import { directScoreGradient, scoreGradient } from '../../src/explain/gradient.ts';
import { guidedRelu } from '../../src/explain/guided-relu.ts';
import type { ScoreKind } from '../../src/explain/score.ts';
import { ImageModel } from '../../src/model/image-model.ts';
import { setDirectGradients } from '../../src/model/input-gradient-program.ts';
import { loadModelFromDir } from '../../src/model/loader.ts';
import { manifestFor, withSeededWeights } from '../helpers/tiny-models.ts';
import { maxRelativeError, values } from '../helpers/kernel-check.ts';

const TOLERANCE = 1e-6;
type Shape3 = [number, number, number];
type SymbolicTensor = tf.SymbolicTensor;
const apply = (layer: tf.layers.Layer, x: SymbolicTensor | SymbolicTensor[]) => layer.apply(x) as SymbolicTensor;

/** Every supported single-input layer: conv relu, max pool, conv → BN → ReLU layer (folded), average pool, depthwise linear, standalone BN, activation, flatten, dense relu, dropout, dense. */
function sequentialNet(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [12, 12, 2], filters: 6, kernelSize: 3, activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 4, kernelSize: 2, padding: 'same', useBias: false }),
      tf.layers.batchNormalization({}),
      tf.layers.reLU(),
      tf.layers.averagePooling2d({ poolSize: 2, strides: 1 }),
      tf.layers.depthwiseConv2d({ kernelSize: 2, padding: 'same' }),
      tf.layers.batchNormalization({}),
      tf.layers.activation({ activation: 'relu' }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10, activation: 'relu' }),
      tf.layers.dropout({ rate: 0.5 }),
      tf.layers.dense({ units: 4 }),
    ],
  });
}

/** A residual block (fan-out and Add), a strided conv after zero padding, max pool 'same', zero padding before a pool (ResNet's stem), global average pool. */
function residualNet(): tf.LayersModel {
  const input = tf.input({ shape: [10, 10, 3] });
  let x = apply(tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', useBias: false }), input);
  x = apply(tf.layers.batchNormalization({ epsilon: 1e-3 }), x);
  x = apply(tf.layers.activation({ activation: 'relu' }), x);
  const shortcut = x;
  let y = apply(tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }), x);
  y = apply(tf.layers.conv2d({ filters: 8, kernelSize: 1 }), y);
  x = apply(tf.layers.add(), [y, shortcut]);
  x = apply(tf.layers.reLU(), x);
  x = apply(tf.layers.zeroPadding2d({ padding: 1 }), x);
  x = apply(tf.layers.conv2d({ filters: 12, kernelSize: 3, strides: 2, padding: 'valid', activation: 'relu' }), x);
  x = apply(tf.layers.maxPooling2d({ poolSize: 2, padding: 'same' }), x);
  x = apply(tf.layers.zeroPadding2d({ padding: [[1, 0], [0, 2]] }), x);
  x = apply(tf.layers.maxPooling2d({ poolSize: 3, strides: 2 }), x);
  x = apply(tf.layers.globalAveragePooling2d({}), x);
  x = apply(tf.layers.dense({ units: 5 }), x);
  return tf.model({ inputs: input, outputs: x });
}

const withWeights = (net: tf.LayersModel) => withSeededWeights(net, 90);

function imageModel(net: tf.LayersModel, shape: Shape3, output: 'logits' | 'probabilities' = 'logits'): ImageModel {
  const classes = net.outputs[0]!.shape[1]!;
  return new ImageModel({ ...manifestFor('t', shape, Array.from({ length: classes }, (_, i) => `c${i}`)), output }, net, 'memory');
}

/** The recorded (tape) gradient of the summed scores, with plain or guided ReLUs. */
function tapeGradient(model: ImageModel, x: tf.Tensor4D, targets: number[], score: ScoreKind, guided: boolean): tf.Tensor4D {
  const forward = guided
    ? (input: tf.Tensor4D) => model.logitsFromOutput(model.featureGraph()!.forward(input, { relu: guidedRelu }).output!)
    : (input: tf.Tensor4D) => model.logits(input);
  return scoreGradient(forward, x, targets, score);
}

const MODELS: { name: string; build: () => tf.LayersModel; shape: Shape3 }[] = [
  { name: 'sequential model', build: sequentialNet, shape: [12, 12, 2] },
  { name: 'residual model', build: residualNet, shape: [10, 10, 3] },
];

before(async () => {
  await initBackend('wasm');
});

for (const spec of MODELS) {
  for (const score of ['logprob', 'logit'] as ScoreKind[]) {
    for (const guided of [false, true]) {
      test(`${spec.name}, ${score}, ${guided ? 'guided' : 'plain'} ReLUs: the direct gradient equals the recorded one, with fewer kernels and no leak`, async () => {
        const model = imageModel(withWeights(spec.build()), spec.shape);
        const x = tf.tensor4d(values(3 * spec.shape.reduce((a, b) => a * b, 1), 5), [3, ...spec.shape]);
        const targets = [0, 2, 1];
        const expected = tf.tidy(() => tapeGradient(model, x, targets, score, guided));
        const before = tf.memory().numTensors;
        const direct = tf.tidy(() => directScoreGradient(model, x, targets, score, guided ? 'guided' : 'plain'));
        assert.ok(direct, 'the model compiles to a direct program');
        assert.equal(tf.memory().numTensors, before + 1, 'only the gradient is left');
        const error = maxRelativeError(await direct.data(), await expected.data());
        assert.ok(error <= TOLERANCE, `max relative error ${error}`);
        // Not a zero map that would pass by accident.
        assert.ok((await direct.abs().max().data())[0]! > 1e-4);
        const kernels = async (f: () => tf.Tensor) => {
          const profile = await tf.profile(f);
          tf.dispose(profile.result);
          return profile.kernels.map((k) => k.name);
        };
        const directKernels = await kernels(() => directScoreGradient(model, x, targets, score, guided ? 'guided' : 'plain')!);
        const tapeKernels = await kernels(() => tapeGradient(model, x, targets, score, guided));
        assert.ok(!directKernels.includes('Identity'), `the direct gradient cloned a tensor: ${directKernels.join()}`);
        assert.ok(directKernels.length < tapeKernels.length, `${directKernels.length} kernels against the tape's ${tapeKernels.length}`);
        tf.dispose([direct, expected, x]);
        model.dispose();
      });
    }
  }
}

for (const spec of MODELS) {
  test(`${spec.name}: the unrecorded forward runs the direct program, equal to tfjs' predict and the gradient forward, in fewer kernels, no leak`, async () => {
    const model = imageModel(withWeights(spec.build()), spec.shape);
    const x = tf.tensor4d(values(3 * spec.shape.reduce((a, b) => a * b, 1), 7), [3, ...spec.shape]);
    const predicted = model.net.predict(x) as tf.Tensor;
    const before = tf.memory().numTensors;
    const direct = tf.tidy(() => model.logits(x));
    assert.equal(tf.memory().numTensors, before + 1, 'only the logits are left');
    setDirectGradients(false);
    let layered: tf.Tensor;
    try {
      layered = tf.tidy(() => model.logits(x));
    } finally {
      setDirectGradients(true);
    }
    assert.ok(maxRelativeError(await direct.data(), await predicted.data()) <= TOLERANCE);
    assert.ok(maxRelativeError(await direct.data(), await layered.data()) <= TOLERANCE);
    // The program's forward is what ran (not the layers' forward by another name) ...
    const program = model.gradientForward()!.inputGradientProgram()!;
    const forward = program.forward.bind(program);
    let calls = 0;
    program.forward = (input) => (calls++, forward(input));
    tf.dispose(tf.tidy(() => model.logits(x)));
    assert.equal(calls, 1);
    // ... but not while a gradient is recorded (the tape needs the layers' recorded ops).
    tf.dispose(tf.grad((input: tf.Tensor) => tf.sum(model.logits(input as tf.Tensor4D)))(x));
    assert.equal(calls, 1);
    const kernelCount = async (f: () => tf.Tensor) => {
      const profile = await tf.profile(f);
      tf.dispose(profile.result);
      return profile.kernels.length;
    };
    const directKernels = await kernelCount(() => model.logits(x));
    const layerKernels = await kernelCount(() => model.gradientForward()!.run(x));
    assert.ok(directKernels <= layerKernels, `${directKernels} kernels against the layers' ${layerKernels}`);
    tf.dispose([direct, layered, predicted, x]);
    model.dispose();
  });
}

test('the shipped MNIST model has a direct gradient equal to the recorded one', async () => {
  const model = await loadModelFromDir('models/mnist');
  const x = tf.tensor4d(values(2 * 784, 3).map((v) => Math.abs(v) % 1), [2, 28, 28, 1]);
  const expected = tf.tidy(() => tapeGradient(model, x, [3, 8], 'logprob', false));
  const direct = tf.tidy(() => directScoreGradient(model, x, [3, 8], 'logprob'));
  assert.ok(direct);
  assert.ok(maxRelativeError(await direct.data(), await expected.data()) <= TOLERANCE);
  tf.dispose([direct, expected, x]);
  model.dispose();
});

test('unsupported layers and probability outputs have no direct gradient (the tape path stays)', () => {
  const relu6 = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 2, kernelSize: 3, activation: 'relu6' }), tf.layers.flatten(), tf.layers.dense({ units: 3 })] });
  const tanh = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [6, 6, 1] }), tf.layers.dense({ units: 3, activation: 'tanh' })] });
  const softmax = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [6, 6, 1] }), tf.layers.dense({ units: 3, activation: 'softmax' })] });
  const x = tf.zeros([1, 6, 6, 1]) as tf.Tensor4D;
  for (const [model, why] of [
    [imageModel(relu6, [6, 6, 1]), 'relu6'],
    [imageModel(tanh, [6, 6, 1]), 'tanh'],
    [imageModel(softmax, [6, 6, 1], 'probabilities'), 'probability output'],
  ] as const) {
    const before = tf.memory().numTensors;
    assert.equal(tf.tidy(() => directScoreGradient(model, x, [0], 'logprob')), undefined, why);
    assert.equal(tf.memory().numTensors, before);
    model.dispose();
  }
  x.dispose();
});

for (const method of ['pgd', 'apgd-ce', 'apgd-t'] as const) {
  test(`${method} finds the same images with and without the direct gradient`, async () => {
    const model = await loadModelFromDir('models/mnist');
    const images = [0, 1, 2].map((s) => values(784, 20 + s).map((v) => Math.abs(v) % 1));
    const attack = async () => {
      const result = await runAttack(model, images, prepareAttack(model, { method, norm: 'linf', epsilon: 0.1, steps: 5, seed: 3 }, { images: images.length }));
      // Everything but the timings.
      return JSON.parse(JSON.stringify(result, (key, value: unknown) => (key === 'elapsedMs' ? undefined : value))) as unknown;
    };
    const before = tf.memory().numTensors;
    const direct = await attack();
    // The attack moved every image (not a no-op that would compare equal).
    const linf = (direct as { runs: { results: { perturbation: { linf: number } }[] }[] }).runs[0]!.results.map((r) => r.perturbation.linf);
    assert.ok(linf.every((d) => d > 0.01), `L-inf perturbations ${linf.join()}`);
    setDirectGradients(false);
    try {
      const recorded = await attack();
      assert.deepEqual(direct, recorded);
    } finally {
      setDirectGradients(true);
    }
    assert.equal(tf.memory().numTensors, before);
    model.dispose();
  });
}
