/**
 * scripts/average-models.ts: the mean of the weights, element by element in float64 stored as
 * float32; models that cannot be averaged (another architecture, not a model folder) are refused
 * with a message and exit code 2 before anything is written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { averageWeights, topologyKey } from '../../scripts/average-models.ts';
import { writeFixtureModel } from '../helpers/fixture-model.ts';

test('averageWeights is the element-wise mean, rounded once to float32', () => {
  const a = Float32Array.from([1, -2, 0.1, 3e-8]);
  const b = Float32Array.from([3, 2, 0.2, 1e-8]);
  const c = Float32Array.from([2, 0, 0.3, 2e-8]);
  const mean = averageWeights([a, b, c]);
  assert.deepEqual(Array.from(mean), [2, 0, 0.2, 2e-8].map((v) => Math.fround(v)));
  // Computed in float64: float32 sums would round 0.1 + 0.2 + 0.3 differently.
  assert.equal(mean[2], Math.fround((a[2]! + b[2]! + c[2]!) / 3));
});

const run = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'scripts/average-models.ts', ...args], { encoding: 'utf8' });

test('models of different architectures, and folders without a model, are refused before anything is written', async () => {
  const small = await writeFixtureModel('tiny', { size: 8 });
  const large = await writeFixtureModel('tiny', { size: 12 });
  const out = path.join(small.modelsDir, 'soup');
  try {
    const mismatch = run(['--out', out, small.dir, large.dir]);
    assert.equal(mismatch.status, 2);
    assert.match(mismatch.stderr, /a different topology/);
    const missing = run(['--out', out, small.dir, path.join(small.modelsDir, 'nothing')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /no model\.json \(not a model folder\)/);
    assert.equal(existsSync(out), false);
  } finally {
    await small.cleanup();
    await large.cleanup();
  }
});

test('topologies that differ only in their initialisers\' seeds compare equal; any other difference does not', () => {
  const conv = (filters: number, seed: number) => ({
    class_name: 'Sequential',
    config: { layers: [{ class_name: 'Conv2D', config: { filters, kernel_size: [3, 3], kernel_initializer: { class_name: 'HeNormal', config: { seed } }, bias_initializer: { class_name: 'Zeros', config: {} } } }] },
  });
  assert.equal(topologyKey(conv(32, 4201)), topologyKey(conv(32, 701)));
  assert.notEqual(topologyKey(conv(32, 4201)), topologyKey(conv(64, 4201)));
  assert.match(topologyKey(conv(32, 1)), /"filters":32/);
});
