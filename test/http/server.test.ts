import { test } from 'node:test';
import { availableParallelism } from 'node:os';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { REPO_ROOT } from '../../scripts/lib/server-process.ts';
import { writeFixtureModel } from '../helpers/fixture-model.ts';
import { encodeGrey } from '../helpers/images.ts';
import { spawnServer, startServer, waitReady } from '../../scripts/lib/server-process.ts';

/** Runs the Docker images' HEALTHCHECK command (docker/healthcheck.mjs) against a port. */
function runHealthcheck(port: string): number | null {
  return spawnSync(process.execPath, ['docker/healthcheck.mjs'], { cwd: REPO_ROOT, env: { ...process.env, PORT: port } }).status;
}

test('a real server process: listens, becomes ready, classifies over fetch, logs JSON with request ids, stops on SIGTERM', async (t) => {
  const fixture = await writeFixtureModel('tiny');
  t.after(fixture.cleanup);
  const server = await startServer(['--models-dir', fixture.modelsDir, '--backend', 'wasm']);
  t.after(() => server.child.kill('SIGKILL'));
  await waitReady(server.baseUrl);
  const ready = await (await fetch(`${server.baseUrl}/readyz`)).json();
  const { nativeKernels, ...rest } = ready;
  assert.deepEqual(rest, { status: 'ready', backend: 'wasm', threads: Math.min(8, availableParallelism()), models: ['tiny'] });
  assert.ok(Array.isArray(nativeKernels), 'readyz lists the native kernels (none without the addon)');

  const form = new FormData();
  form.append('image', new Blob([new Uint8Array(await encodeGrey(8, 8, 'png'))], { type: 'image/png' }), 'digit.png');
  const res = await fetch(`${server.baseUrl}/v1/models/tiny/classify`, { method: 'POST', body: form, headers: { 'x-request-id': 'test-req-1' } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('server-timing') ?? '', /^app;dur=\d+\.\d\d$/);
  const body = (await res.json()) as { predictions: unknown[] };
  assert.equal(body.predictions.length, 3);

  const port = new URL(server.baseUrl).port;
  assert.equal(runHealthcheck(port), 0, 'the Docker HEALTHCHECK command passes against a ready server');

  assert.equal(await server.stop(), 0, 'graceful shutdown exits 0');
  assert.equal(runHealthcheck(port), 1, 'and fails once it is gone');
  const lines = server.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  assert.ok(lines.some((l) => l.msg?.startsWith('compute backend: wasm')), 'the backend is logged');
  assert.ok(lines.some((l) => l.reqId === 'test-req-1'), 'request logs carry the request id');
  assert.ok(lines.some((l) => l.msg?.includes('shutting down')));
  assert.ok(!server.output().includes('iVBOR'), 'no image bytes in the logs');
});

test('a bad manifest stops start-up with a message naming the file and the field', async (t) => {
  const fixture = await writeFixtureModel('broken');
  t.after(fixture.cleanup);
  const manifestFile = path.join(fixture.dir, 'manifest.json');
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
  await writeFile(manifestFile, JSON.stringify({ ...manifest, input: { ...manifest.input, range: 'wide' } }));
  const proc = spawnServer(['--port', '0', '--host', '127.0.0.1', '--models-dir', fixture.modelsDir]);
  const code = await proc.exited;
  assert.equal(code, 2);
  assert.ok(proc.output().includes(manifestFile), proc.output());
  assert.match(proc.output(), /^gradlab: a model cannot be served: .*field 'input\.range'/m, 'a plain line, not a JSON log line');
  assert.doesNotMatch(proc.output(), /Server listening/, 'it never listened');
});

test('a models folder with no model stops start-up before listening, saying so', async (t) => {
  const fixture = await writeFixtureModel('none');
  t.after(fixture.cleanup);
  await rm(fixture.dir, { recursive: true });
  const proc = spawnServer(['--port', '0', '--host', '127.0.0.1', '--models-dir', fixture.modelsDir]);
  assert.equal(await proc.exited, 2);
  assert.match(proc.output(), /gradlab: no models to serve: '.*' has no model folders/);
  assert.doesNotMatch(proc.output(), /Server listening/);
});

test('--help and -h print every flag with its variable and exit 0', () => {
  for (const flag of ['--help', '-h']) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/http/server.ts', flag], { cwd: REPO_ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    for (const [option, variable] of [['--port', 'PORT'], ['--models-dir', 'GRADLAB_MODELS_DIR'], ['--mode', 'GRADLAB_MODE'], ['--api-keys', 'GRADLAB_API_KEYS']]) {
      assert.match(r.stdout, new RegExp(`${option}\\s+${variable}\\b`));
    }
  }
});

test('SIGTERM to `npm start` stops the server itself (no orphaned node keeps answering)', async (t) => {
  const fixture = await writeFixtureModel('tiny');
  t.after(fixture.cleanup);
  const npm = spawn('npm', ['start', '--silent', '--', '--port', '0', '--host', '127.0.0.1', '--models-dir', fixture.modelsDir], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => npm.kill('SIGKILL'));
  let output = '';
  npm.stdout.on('data', (d) => (output += d));
  npm.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)));
  let baseUrl: string | undefined;
  for (let i = 0; i < 600 && !baseUrl; i++) {
    baseUrl = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
    if (!baseUrl) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(baseUrl, output);
  // The server's own pid (pino puts it on every line): killed at the end whatever happens, so that
  // a failing run does not leave an orphan holding this test's pipes open.
  const pid = Number(/"pid":(\d+)/.exec(output)?.[1]);
  t.after(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone: the expected case.
    }
  });
  await waitReady(baseUrl);
  npm.kill('SIGTERM');
  await exited;
  let answered = true;
  for (let i = 0; i < 50 && answered; i++) {
    answered = await fetch(`${baseUrl}/healthz`).then(() => true, () => false);
    if (answered) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(answered, false, 'nothing answers on the port once npm start is told to stop');
  assert.match(output, /shutting down/);
});

test('bad configuration stops start-up naming the flag', async () => {
  const proc = spawnServer(['--backend', 'quantum']);
  assert.equal(await proc.exited, 2);
  assert.match(proc.output(), /--backend \/ GRADLAB_BACKEND: 'quantum' is not one of auto, tensorflow, wasm, cpu/);
  const env = spawnServer([], { PORT: 'eighty' });
  assert.equal(await env.exited, 2);
  assert.match(env.output(), /--port \/ PORT: 'eighty' is not an integer/);
});
