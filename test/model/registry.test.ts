/**
 * The registry loads image classifiers itself and other kinds (sequence models) only through the
 * loader it is given (src/http/model-registry.ts passes src/sequence/'s), so src/model/ never
 * imports src/sequence/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.ts';
import { ModelRegistry, type ResidentModel } from '../../src/model/registry.ts';
import { writeFixtureModel } from '../helpers/fixture-model.ts';

await initBackend('wasm');

const batching = { enabled: false, maxBatchSize: 1, maxWaitMs: 0 };

async function modelsWithOtherKind(t: import('node:test').TestContext): Promise<string> {
  const fixture = await writeFixtureModel('tiny');
  t.after(fixture.cleanup);
  await mkdir(path.join(fixture.modelsDir, 'other'));
  await writeFile(path.join(fixture.modelsDir, 'other', 'manifest.json'), JSON.stringify({ name: 'other', kind: 'sequence' }));
  return fixture.modelsDir;
}

test('folders of another kind load through the injected loader', async (t) => {
  const modelsDir = await modelsWithOtherKind(t);
  const before = tf.memory().numTensors;
  const events: string[] = [];
  const registry = new ModelRegistry<ResidentModel & { kind: string }>({
    modelsDir,
    batching,
    sequenceModels: {
      isModelDir: async (dir) => JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')).kind === 'sequence',
      loadFromDir: (dir) => Promise.resolve({ name: path.basename(dir), source: dir, kind: 'sequence', warmUp: () => events.push('warm'), dispose: () => events.push('dispose') }),
      checkDir: (dir) => {
        events.push(`check ${path.basename(dir)}`);
        return Promise.resolve();
      },
    },
  });
  assert.equal(await registry.checkManifests(), 2);
  assert.deepEqual(events.splice(0), ['check other'], 'the injected loader checks its own folders; no weights are loaded');
  assert.equal(tf.memory().numTensors, before);
  await registry.loadAll();
  assert.equal(registry.state, 'ready');
  assert.deepEqual(registry.names(), ['other', 'tiny']);
  assert.equal(registry.getSequence('other').kind, 'sequence');
  assert.equal(registry.get('tiny').name, 'tiny');
  assert.throws(() => registry.getSequence('tiny'), (err: Error & { hint?: unknown }) =>
    /is an image model/.test(err.message) && !err.message.includes('/v1') && (err.hint as { operation?: string }).operation === 'classify');
  registry.dispose();
  assert.deepEqual(events, ['warm', 'dispose']);
  assert.equal(tf.memory().numTensors, before, 'loading and disposing leaves no tensor behind');
});

test('without a loader every folder is an image classifier', async (t) => {
  const modelsDir = await modelsWithOtherKind(t);
  const registry = new ModelRegistry({ modelsDir, batching });
  await assert.rejects(registry.loadAll(), /field 'kind' must be 'image-classifier'/);
  assert.equal(registry.state, 'failed');
  registry.dispose();
});

test('checkManifests finds a broken manifest without loading any weights', async (t) => {
  const modelsDir = await modelsWithOtherKind(t);
  await writeFile(path.join(modelsDir, 'tiny', 'manifest.json'), JSON.stringify({ name: 'tiny', kind: 'image-classifier' }));
  const before = tf.memory().numTensors;
  const registry = new ModelRegistry({ modelsDir, batching });
  await assert.rejects(registry.checkManifests(), /manifest\.json/);
  assert.equal(tf.memory().numTensors, before);
  assert.equal(registry.state, 'loading', 'a check is not a load');
});
