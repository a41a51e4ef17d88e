/**
 * A tiny, deterministic image classifier written to a temporary folder with a manifest, so that
 * route and core tests run without the shipped models: 8×8×1 input in [0, 1], a ReLU conv, max
 * pooling and a dense layer to 3 classes (logits). Weights come from a fixed seed.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { fileSystemSaver } from '../../src/model/fs-io.ts';

export const FIXTURE_LABELS = ['circle', 'square', 'triangle'];

export function buildFixtureNet(opts: { size?: number; channels?: number; classes?: number } = {}): tf.LayersModel {
  const size = opts.size ?? 8;
  const channels = opts.channels ?? 1;
  const classes = opts.classes ?? 3;
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [size, size, channels], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1), biasInitializer: 'zeros', name: 'conv1' }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2, name: 'pool1' }));
  model.add(tf.layers.flatten({ name: 'flatten' }));
  model.add(tf.layers.dense({ units: classes, kernelInitializer: init(2), name: 'logits' }));
  return model;
}

export interface FixtureFolder {
  dir: string;
  /** The parent folder (a models directory holding just this model). */
  modelsDir: string;
  cleanup: () => Promise<void>;
}

export async function writeFixtureModel(
  name = 'tiny',
  opts: { size?: number; channels?: number; manifest?: Record<string, unknown> } = {},
): Promise<FixtureFolder> {
  const modelsDir = await mkdtemp(path.join(tmpdir(), 'gradlab-models-'));
  const dir = path.join(modelsDir, name);
  const size = opts.size ?? 8;
  const channels = opts.channels ?? 1;
  const net = buildFixtureNet({ size, channels });
  await net.save(fileSystemSaver(dir));
  net.dispose();
  const manifest = {
    name,
    kind: 'image-classifier',
    format: 'layers',
    model: 'model.json',
    labels: FIXTURE_LABELS,
    input: { shape: [size, size, channels], range: [0, 1] },
    output: 'logits',
    description: 'test fixture',
    provenance: { dataset: 'none', split: 'none', trainedBy: 'test/helpers/fixture-model.ts' },
    ...opts.manifest,
  };
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return { dir, modelsDir, cleanup: () => rm(modelsDir, { recursive: true, force: true }) };
}
