/**
 * The attack client against every kind of target, each a real listening server: gradlab's /v1,
 * OIP v2 (JSON and binary), KServe v1 and TF Serving's :predict (gradlab's), and a generic JSON
 * endpoint that is not gradlab at all (a node:http stub with its own request and answer shape, in
 * front of gradlab's classify) described by a config file, with pixels, base64 PNGs and multipart.
 * Every target sees the same clean labels; every report has the exact outputs (.npy equal to the
 * adversarial floats, a PNG at the model's size) and successQuantized agrees with uploading that PNG.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runClientAttack, type ClientRunOptions } from '../../src/client/run.ts';
import { writeReport } from '../../src/client/report.ts';
import { readFloat32Npy } from '../../src/client/npy.ts';
import type { TargetKind } from '../../src/client/targets/target.ts';
import { build } from '../helpers/build.ts';
import { copyMnistAs } from '../helpers/blackbox.ts';

async function tempDir(t: TestContext, prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function mnistServer(t: TestContext): Promise<string> {
  const modelsDir = await tempDir(t, 'gradlab-targets-models-');
  await copyMnistAs(modelsDir, 'mnist');
  const { app } = await build(t, { modelsDir });
  return app.listen({ port: 0, host: '127.0.0.1' });
}

const readBody = async (req: IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};

/**
 * A scoring API that is not gradlab: POST /score with `{"meta": {...}, "payload": {"img": <image>}}`
 * (JSON) or a multipart form with a `file` field; answers `{"outcome": {"scores": [...]}}` and wants
 * its own bearer token. Behind it, gradlab's classify does the work.
 */
async function stubEndpoint(t: TestContext, gradlab: string): Promise<string> {
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      if (req.headers.authorization !== 'Bearer stub-token') {
        res.writeHead(403).end(JSON.stringify({ message: 'forbidden' }));
        return;
      }
      const forward = req.headers['content-type']?.startsWith('multipart/')
        ? await fetch(`${gradlab}/v1/models/mnist/classify`, { method: 'POST', headers: { 'content-type': req.headers['content-type'] }, body: new Uint8Array(body) })
        : await fetch(`${gradlab}/v1/models/mnist/classify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image: (JSON.parse(body.toString()) as { payload: { img: unknown } }).payload.img, topK: 10 }) });
      const answer = (await forward.json()) as { predictions: { index: number; probability: number }[] };
      const scores = new Array<number>(10).fill(0);
      for (const p of answer.predictions) scores[p.index] = p.probability;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ outcome: { scores } }));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/score`;
}

const BASE: Omit<ClientRunOptions, 'url' | 'target'> = {
  attack: 'simba', model: 'mnist', images: 2, offset: 0, dataset: 'mnist', seed: 0, maxQueries: 300, epsilon: 0.3,
  basis: 'pixel', concurrency: 1, substitute: {}, maxBatch: 16, range: [0, 1],
};

test('the client attacks every target kind, with exact outputs and successQuantized checked against the saved PNG', async (t) => {
  const gradlab = await mnistServer(t);
  const stub = await stubEndpoint(t, gradlab);
  const dir = await tempDir(t, 'gradlab-targets-');
  const config = (encoding: string) => ({
    url: stub, headers: { authorization: 'Bearer stub-token' }, input: { shape: [28, 28, 1], range: [0, 1] }, classes: 10,
    request: { encoding, field: 'payload.img', body: { meta: { client: 'test' } } }, response: { probabilities: 'outcome.scores' },
  });
  const generic = async (encoding: string) => {
    const file = path.join(dir, `${encoding}.json`);
    await writeFile(file, JSON.stringify(encoding === 'multipart' ? { ...config(encoding), request: { encoding, field: 'image' } } : config(encoding)));
    return file;
  };
  const runs: [string, Partial<ClientRunOptions> & { target: TargetKind }][] = [
    ['gradlab', { target: 'gradlab', url: gradlab }],
    ['oip', { target: 'oip', url: `${gradlab}/v2/models/mnist/infer` }],
    ['oip-binary', { target: 'oip-binary', url: gradlab }],
    ['kserve', { target: 'kserve', url: `${gradlab}/v1/models/mnist:predict` }],
    ['tfserving', { target: 'tfserving', url: gradlab, hints: { inputShape: [28, 28, 1], classes: 10 } }],
    ['generic pixels', { target: 'generic', url: '', targetConfig: await generic('pixels') }],
    ['generic base64', { target: 'generic', url: '', targetConfig: await generic('base64') }],
    ['generic multipart', { target: 'generic', url: '', targetConfig: await generic('multipart') }],
  ];
  let cleanLabels: number[] | undefined;
  for (const [name, target] of runs) {
    const { report, adversarial, originals } = await runClientAttack({ ...BASE, url: '', ...target });
    assert.equal(report.target.protocol, target.target, name);
    assert.equal(report.summary.attacked + report.summary.skippedMisclassified, 2, name);
    const labels = report.images.map((i) => i.label);
    cleanLabels ??= labels;
    assert.deepEqual(labels, cleanLabels, `${name}: the same clean labels as gradlab's /v1`);
    const pixelExact = !name.startsWith('generic b') && !name.startsWith('generic m');
    if (pixelExact) assert.ok(report.summary.successes > 0, `${name}: SimBA fooled the model at least once`);
    const out = path.join(dir, name.replace(' ', '-'));
    await writeReport(out, report, originals, adversarial, [0, 1]);
    for (const img of report.images.filter((i) => i.success)) {
      assert.equal(typeof img.successQuantized, 'boolean', name);
      // The .npy holds exactly the floats the attack made; the PNG is at the model's size.
      const npy = readFloat32Npy(await readFile(path.join(out, img.files!.adversarialNpy!)));
      assert.deepEqual(npy.shape, [28, 28, 1]);
      assert.deepEqual(npy.data, adversarial.get(img.id));
      const png = await readFile(path.join(out, img.files!.adversarial!));
      const answer = await fetch(`${gradlab}/v1/models/mnist/classify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image: png.toString('base64') }) });
      const top = ((await answer.json()) as { predictions: { index: number }[] }).predictions[0]!.index;
      assert.equal(top !== img.label, img.successQuantized, `${name} image ${img.id}: successQuantized says what uploading the PNG shows`);
    }
    assert.equal(report.summary.successQuantized !== undefined, report.summary.successes > 0, name);
  }
});

test('a target that does not describe its model asks for the flags it needs; a wrong token is a clear error', async (t) => {
  const gradlab = await mnistServer(t);
  const stub = await stubEndpoint(t, gradlab);
  await assert.rejects(runClientAttack({ ...BASE, target: 'tfserving', url: `${stub.replace('/score', '')}/v1/models/x:predict` }), /--labels a,b,… or --classes N|--input-shape/);
  const dir = await tempDir(t, 'gradlab-targets-bad-');
  const file = path.join(dir, 'c.json');
  await writeFile(file, JSON.stringify({ url: stub, input: { shape: [28, 28, 1] }, classes: 10, request: { encoding: 'pixels', field: 'payload.img' }, response: { probabilities: 'outcome.scores' } }));
  await assert.rejects(runClientAttack({ ...BASE, target: 'generic', url: '', targetConfig: file }), /403.*forbidden/);
  await writeFile(file, JSON.stringify({ url: stub, input: { shape: [28, 28] }, classes: 10, request: { encoding: 'pixels', field: 'x' }, response: {} }));
  await assert.rejects(runClientAttack({ ...BASE, target: 'generic', url: '', targetConfig: file }), /'input.shape' must be \[height, width, channels\]/);
});
