/**
 * A ResNet-18-shaped image classifier (He et al. 2016; torchvision's layout) as a tfjs Layers
 * model with seeded random weights, saved once as a gradlab model folder (manifest.json,
 * model.json, weights.bin) so that gradlab loads it like any user model and the PyTorch peer
 * benchmark (scripts/peer/) builds the same network from the same files.
 *
 * Layout: 224×224×3 in [0, 1] → 7×7/2 conv 64 → BN → ReLU → 3×3/2 max-pool → 4 stages of two
 * basic blocks (64, 128, 256, 512 channels; stages 2–4 start with stride 2 and a 1×1/2 conv + BN
 * shortcut) → global average pool → dense 1000 (logits). Convolutions have no bias and are
 * followed by batch norm. Strided 3×3/7×7 convs and the max-pool use an explicit symmetric
 * ZeroPadding2D + 'valid' (as Keras' own ResNets do) so that the arithmetic equals PyTorch's
 * `padding=k//2`; tfjs 'same' would pad asymmetrically for even inputs.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import seedrandom from 'seedrandom';
import { fileSystemSaver } from '../../src/model/fs-io.ts';
import { REPO_ROOT } from './server-process.ts';

/** Bump when the architecture or the weight recipe changes, so stale folders are not reused. */
const VERSION = 'v1';
export const RESNET18_DIR = path.join(REPO_ROOT, 'tmp', 'bench-peer', `resnet18-${VERSION}`);
const CLASSES = 1000;

type SymbolicTensor = tf.SymbolicTensor;

function convBn(x: SymbolicTensor, name: string, filters: number, kernel: number, stride: number, relu: boolean): SymbolicTensor {
  let y = x;
  let padding: 'same' | 'valid' = 'same';
  if (stride > 1 && kernel > 1) {
    y = tf.layers.zeroPadding2d({ padding: Math.floor(kernel / 2), name: `${name}_pad` }).apply(y) as SymbolicTensor;
    padding = 'valid';
  }
  y = tf.layers.conv2d({ filters, kernelSize: kernel, strides: stride, padding, useBias: false, name }).apply(y) as SymbolicTensor;
  y = tf.layers.batchNormalization({ epsilon: 1e-5, name: `${name}_bn` }).apply(y) as SymbolicTensor;
  return relu ? (tf.layers.activation({ activation: 'relu', name: `${name}_relu` }).apply(y) as SymbolicTensor) : y;
}

function basicBlock(x: SymbolicTensor, name: string, filters: number, stride: number): SymbolicTensor {
  const inChannels = x.shape[3]!;
  let y = convBn(x, `${name}_conv1`, filters, 3, stride, true);
  y = convBn(y, `${name}_conv2`, filters, 3, 1, false);
  const shortcut = stride !== 1 || inChannels !== filters ? convBn(x, `${name}_down`, filters, 1, stride, false) : x;
  const sum = tf.layers.add({ name: `${name}_add` }).apply([y, shortcut]) as SymbolicTensor;
  return tf.layers.activation({ activation: 'relu', name: `${name}_relu` }).apply(sum) as SymbolicTensor;
}

/** The architecture with tfjs' default initial weights. */
export function resnet18Architecture(): tf.LayersModel {
  const input = tf.input({ shape: [224, 224, 3], name: 'image' });
  let x = convBn(input, 'stem', 64, 7, 2, true);
  x = tf.layers.zeroPadding2d({ padding: 1, name: 'stem_pool_pad' }).apply(x) as SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'valid', name: 'stem_pool' }).apply(x) as SymbolicTensor;
  [64, 128, 256, 512].forEach((filters, stage) => {
    x = basicBlock(x, `s${stage + 1}b1`, filters, stage === 0 ? 1 : 2);
    x = basicBlock(x, `s${stage + 1}b2`, filters, 1);
  });
  x = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(x) as SymbolicTensor;
  const logits = tf.layers.dense({ units: CLASSES, name: 'logits' }).apply(x) as SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits, name: 'resnet18' });
}

/**
 * Seeded weights that keep activations in a sane range: He-normal convs, dense with std
 * 1/sqrt(fan_in), batch-norm statistics near identity but not exactly (so the BN arithmetic is
 * exercised), small biases.
 */
function seededWeights(model: tf.LayersModel, seed: string): tf.Tensor[] {
  const random = seedrandom(seed);
  const normal = () => {
    const u = 1 - random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  };
  const uniform = (lo: number, hi: number) => lo + (hi - lo) * random();
  return model.weights.map((w) => {
    const n = w.shape.reduce((a, b) => a! * b!, 1)!;
    const values = new Float32Array(n);
    const name = w.originalName;
    let fill: () => number;
    if (name.endsWith('/kernel')) {
      const fanIn = w.shape.slice(0, -1).reduce((a, b) => a! * b!, 1)!;
      const std = (name.startsWith('logits') ? 1 : Math.SQRT2) / Math.sqrt(fanIn);
      fill = () => std * normal();
    } else if (name.endsWith('/gamma')) fill = () => uniform(0.4, 0.8);
    else if (name.endsWith('/beta') || name.endsWith('/bias')) fill = () => uniform(-0.05, 0.05);
    else if (name.endsWith('/moving_mean')) fill = () => uniform(-0.1, 0.1);
    else if (name.endsWith('/moving_variance')) fill = () => uniform(0.6, 1.4);
    else throw new Error(`resnet18: no weight recipe for ${name}`);
    for (let i = 0; i < n; i++) values[i] = fill();
    return tf.tensor(values, w.shape as number[]);
  });
}

/** Writes the model folder unless it exists; returns its path. Same seed, same bytes. */
export async function ensureResnet18(dir = RESNET18_DIR): Promise<string> {
  if (existsSync(path.join(dir, 'manifest.json'))) return dir;
  const model = resnet18Architecture();
  const weights = seededWeights(model, `gradlab-resnet18-${VERSION}`);
  model.setWeights(weights);
  tf.dispose(weights);
  await mkdir(dir, { recursive: true });
  await model.save(fileSystemSaver(dir));
  model.dispose();
  const manifest = {
    name: 'resnet18-random',
    kind: 'image-classifier',
    description: 'ResNet-18-shaped network with seeded random weights, for speed comparisons only',
    format: 'layers',
    model: 'model.json',
    labels: Array.from({ length: CLASSES }, (_, i) => `class_${i}`),
    input: { shape: [224, 224, 3], range: [0, 1] },
    output: 'logits',
    provenance: { dataset: 'none (random weights)', split: 'none', trainedBy: 'scripts/lib/resnet18.ts (not trained)' },
  };
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return dir;
}
