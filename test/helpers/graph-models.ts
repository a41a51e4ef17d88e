/**
 * Graph models for tests: the committed fixture (test/fixtures/graph-mobile, written by
 * scripts/make-graph-fixture.ts), variants of it written to a temporary folder, and the same
 * network as a sequential Layers model with the same (unfolded) weights, the independent
 * computation the graph interpreter's maps are checked against.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ImageModel } from '../../src/model/image-model.ts';
import { loadModelFromDir } from '../../src/model/loader.ts';
import { GRAPH_FIXTURE_DIR, GRAPH_FIXTURE_MANIFEST } from '../../scripts/make-graph-fixture.ts';
import { MOBILE, mobileParameters, type MobileParameters } from '../../scripts/lib/graph-fixture.ts';

export { GRAPH_FIXTURE_DIR, GRAPH_FIXTURE_MANIFEST };

export function loadGraphFixture(): Promise<ImageModel> {
  return loadModelFromDir(GRAPH_FIXTURE_DIR);
}

/** Writes model.json + shard + a manifest (the fixture's, with `manifest` over it) into `<modelsDir>/<name>`. */
export async function writeGraphModel(modelsDir: string, name: string, artifacts: { modelJson: object; shard: Buffer }, manifest: Record<string, unknown> = {}): Promise<string> {
  const dir = path.join(modelsDir, name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'model.json'), JSON.stringify(artifacts.modelJson));
  await writeFile(path.join(dir, 'group1-shard1of1.bin'), artifacts.shard);
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify({ ...GRAPH_FIXTURE_MANIFEST, name, ...manifest }));
  return dir;
}

/** A temporary models folder, removed by the returned function. */
export async function tempModelsDir(): Promise<{ modelsDir: string; cleanup: () => Promise<void> }> {
  const modelsDir = await mkdtemp(path.join(tmpdir(), 'gradlab-graph-'));
  return { modelsDir, cleanup: () => rm(modelsDir, { recursive: true, force: true }) };
}

/**
 * The fixture's network as a sequential Layers model: conv → batch norm → ReLU layer (the graph
 * folds these into one `_FusedConv2D`), depthwise conv + ReLU, pointwise conv + ReLU, global
 * average pooling, dense + ReLU, dense + softmax (`activation: 'relu6'`: ReLU6 throughout, as in
 * MobileNet v2). Layer names: conv1, bn1, relu1, dw, pw, gap, fc1, fc2.
 */
export function layersTwin(p: MobileParameters = mobileParameters(1), activation: 'relu' | 'relu6' = 'relu'): ImageModel {
  const [, , c] = p.inputShape;
  const { filters: f, pointwise: pw, hidden: h } = MOBILE;
  const net = tf.sequential();
  net.add(tf.layers.conv2d({ inputShape: p.inputShape, filters: f, kernelSize: 3, padding: 'same', name: 'conv1' }));
  net.add(tf.layers.batchNormalization({ epsilon: p.conv1.epsilon, name: 'bn1' }));
  net.add(tf.layers.reLU({ name: 'relu1', ...(activation === 'relu6' ? { maxValue: 6 } : {}) }));
  net.add(tf.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', activation, name: 'dw' }));
  net.add(tf.layers.conv2d({ filters: pw, kernelSize: 1, activation, name: 'pw' }));
  net.add(tf.layers.globalAveragePooling2d({ name: 'gap' }));
  net.add(tf.layers.dense({ units: h, activation, name: 'fc1' }));
  net.add(tf.layers.dense({ units: p.classes, activation: 'softmax', name: 'fc2' }));
  const set = (name: string, values: [Float32Array, number[]][]) => net.getLayer(name).setWeights(values.map(([v, s]) => tf.tensor(v, s)));
  set('conv1', [[p.conv1.kernel, [3, 3, c, f]], [p.conv1.bias, [f]]]);
  set('bn1', [[p.conv1.gamma, [f]], [p.conv1.beta, [f]], [p.conv1.mean, [f]], [p.conv1.variance, [f]]]);
  set('dw', [[p.depthwise.kernel, [3, 3, f, 1]], [p.depthwise.bias, [f]]]);
  set('pw', [[p.pointwise.kernel, [1, 1, f, pw]], [p.pointwise.bias, [pw]]]);
  set('fc1', [[p.dense1.kernel, [pw, h]], [p.dense1.bias, [h]]]);
  set('fc2', [[p.dense2.kernel, [h, p.classes]], [p.dense2.bias, [p.classes]]]);
  const manifest = { ...GRAPH_FIXTURE_MANIFEST, name: 'twin', format: 'layers' } as unknown as ImageModel['manifest'];
  return new ImageModel(manifest, net, 'memory');
}

/** Seeded images in [0, 1]. */
export function seededImages(count: number, size: number, seed: number): Float32Array[] {
  let s = seed >>> 0;
  return Array.from({ length: count }, () => Float32Array.from({ length: size }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  }));
}

/** Largest |a − b| relative to the largest |a| (or 1e-6, so that all-zero maps compare too). */
export function relativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 1e-6;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(a[i]!));
  }
  return diff / scale;
}
