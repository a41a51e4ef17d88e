/**
 * Writes the graph-model test fixture, test/fixtures/graph-mobile/ (model.json, its weights shard
 * and gradlab's manifest), from scripts/lib/graph-fixture.ts: a MobileNet-style TF.js graph model
 * in tensorflowjs_converter's format, 16×16×3 input in [0, 1], 5 classes, softmax output.
 * `npm run fixture:graph` (or `node --import tsx scripts/make-graph-fixture.ts [folder]`); the
 * output is deterministic, and test/model/graph-fixture.test.ts checks the committed copy is current.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { mobileGraph, mobileParameters } from './lib/graph-fixture.ts';

export const GRAPH_FIXTURE_DIR = 'test/fixtures/graph-mobile';

export const GRAPH_FIXTURE_MANIFEST = {
  name: 'graph-mobile',
  kind: 'image-classifier',
  format: 'graph',
  model: 'model.json',
  labels: ['zero', 'one', 'two', 'three', 'four'],
  input: { shape: [16, 16, 3], range: [0, 1] },
  output: 'probabilities',
  description: 'MobileNet-style TF.js graph model (fused conv+BN+ReLU, depthwise, pointwise, Mean, FusedMatMul, Softmax) with seeded weights, for tests',
  provenance: { dataset: 'none (seeded weights)', split: 'none', trainedBy: 'npm run fixture:graph (scripts/make-graph-fixture.ts)' },
};

/** Writes the fixture into `dir`. */
export async function writeGraphFixture(dir: string): Promise<void> {
  const { modelJson, shard } = mobileGraph(mobileParameters(1));
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'model.json'), `${JSON.stringify(modelJson, null, 1)}\n`);
  await writeFile(path.join(dir, 'group1-shard1of1.bin'), shard);
  await writeFile(path.join(dir, 'manifest.json'), `${JSON.stringify(GRAPH_FIXTURE_MANIFEST, null, 2)}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2] ?? GRAPH_FIXTURE_DIR;
  await writeGraphFixture(dir);
  console.log(`wrote ${dir}`);
}
