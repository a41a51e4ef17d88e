import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFile, writeFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.ts';
import { loadModelFromDir, loadModelFromUrl } from '../../src/model/loader.ts';
import { ManifestError } from '../../src/model/manifest.ts';
import { writeFixtureModel } from '../helpers/fixture-model.ts';

await initBackend('wasm');

test('loads a folder with a manifest and Layers artifacts', async (t) => {
  const fixture = await writeFixtureModel('tiny');
  t.after(fixture.cleanup);
  const before = tf.memory().numTensors;
  const model = await loadModelFromDir(fixture.dir);
  assert.equal(model.name, 'tiny');
  assert.deepEqual(model.inputShape, [8, 8, 1]);
  const probs = model.predictProbabilities([new Float32Array(64).fill(0.3)]);
  assert.equal(probs[0]!.length, 3);
  assert.ok(Math.abs(probs[0]!.reduce((a, b) => a + b, 0) - 1) < 1e-5);
  model.dispose();
  assert.equal(tf.memory().numTensors, before, 'loading, predicting and disposing leaves no tensor behind');
});

test('file:// URLs load the folder or its manifest', async (t) => {
  const fixture = await writeFixtureModel('viaurl');
  t.after(fixture.cleanup);
  for (const url of [pathToFileURL(fixture.dir).href, pathToFileURL(path.join(fixture.dir, 'manifest.json')).href]) {
    const model = await loadModelFromUrl(url);
    assert.equal(model.name, 'viaurl');
    model.dispose();
  }
});

test('http:// URLs load the manifest, model.json and weights over HTTP', async (t) => {
  const fixture = await writeFixtureModel('remote');
  t.after(fixture.cleanup);
  const requested: string[] = [];
  const server = createServer((req, res) => {
    const url = req.url ?? '';
    requested.push(url);
    // A path outside the model folder, a missing file or a failed answer: 404.
    (url.startsWith('/models/remote/') ? readFile(path.join(fixture.dir, path.basename(url))) : Promise.reject(new Error('not found')))
      .then((body) => {
        res.writeHead(200, { 'content-type': url.endsWith('.json') ? 'application/json' : 'application/octet-stream' });
        res.end(body);
      })
      .catch(() => res.writeHead(404).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const { port } = server.address() as { port: number };
  const model = await loadModelFromUrl(`http://127.0.0.1:${port}/models/remote`);
  assert.equal(model.name, 'remote');
  assert.deepEqual(requested, ['/models/remote/manifest.json', '/models/remote/model.json', '/models/remote/weights.bin']);
  const local = await loadModelFromDir(fixture.dir);
  const x = [new Float32Array(64).map((_, i) => (i % 7) / 7)];
  assert.deepEqual(model.predictProbabilities(x), local.predictProbabilities(x));
  model.dispose();
  local.dispose();
  await assert.rejects(loadModelFromUrl(`http://127.0.0.1:${port}/missing`), /HTTP 404/);
});

test('a bad manifest names the file and the field', async (t) => {
  const fixture = await writeFixtureModel('bad');
  t.after(fixture.cleanup);
  const manifestFile = path.join(fixture.dir, 'manifest.json');
  const good = JSON.parse(await readFile(manifestFile, 'utf8'));
  const cases: [Record<string, unknown>, string][] = [
    [{ ...good, kind: 'toaster' }, 'kind'],
    [{ ...good, labels: ['only-one'] }, 'labels'],
    [{ ...good, labels: ['a', 'b'] }, 'labels'],
    [{ ...good, input: { shape: [8, 8], range: [0, 1] } }, 'input.shape'],
    [{ ...good, input: { shape: [9, 9, 1], range: [0, 1] } }, 'input.shape'],
    [{ ...good, input: { shape: [8, 8, 1], range: [1, 0] } }, 'input.range'],
    [{ ...good, output: 'softmax' }, 'output'],
    [{ ...good, model: 'nope.json' }, 'model'],
    [{ ...good, provenance: { dataset: 'x' } }, 'provenance.split'],
    [{ ...good, name: 'has space' }, 'name'],
  ];
  for (const [manifest, field] of cases) {
    await writeFile(manifestFile, JSON.stringify(manifest));
    await assert.rejects(loadModelFromDir(fixture.dir), (err: Error) => {
      assert.ok(err instanceof ManifestError, `${field}: ${err.message}`);
      assert.ok(err.message.includes(manifestFile), err.message);
      assert.ok(err.message.includes(`'${field}'`), `expected field ${field} in: ${err.message}`);
      return true;
    });
  }
  await writeFile(manifestFile, '{ not json');
  await assert.rejects(loadModelFromDir(fixture.dir), /manifest\.json: field '\(root\)' is not valid JSON/);
  await rm(manifestFile);
  await assert.rejects(loadModelFromDir(fixture.dir), /manifest\.json: cannot be read/);
});

test('a graph model loads over HTTP with its topology: the graph interpreter runs on it', async (t) => {
  const { GRAPH_FIXTURE_DIR } = await import('../helpers/graph-models.ts');
  const server = createServer((req, res) => {
    const url = req.url ?? '';
    (url.startsWith('/graph/') ? readFile(path.join(GRAPH_FIXTURE_DIR, path.basename(url))) : Promise.reject(new Error('not found')))
      .then((body) => res.writeHead(200).end(body))
      .catch(() => res.writeHead(404).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const { port } = server.address() as { port: number };
  const remote = await loadModelFromUrl(`http://127.0.0.1:${port}/graph/`);
  const local = await loadModelFromDir(GRAPH_FIXTURE_DIR);
  assert.equal(remote.featureGraph()?.unsupported, undefined);
  assert.deepEqual(remote.featureGraph()!.nodes, local.featureGraph()!.nodes);
  const x = [new Float32Array(16 * 16 * 3).map((_, i) => (i % 7) / 7)];
  assert.deepEqual(remote.predictProbabilities(x), local.predictProbabilities(x));
  remote.dispose();
  local.dispose();
});
