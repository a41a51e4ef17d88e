/**
 * End to end, slow (GRADLAB_SLOW_TESTS=1): a real black-box server process on the shipped MNIST
 * model with keys and small budgets, attacked by the `gradlab-attack` command; then the server is
 * killed mid-traffic and restarted, and the budget still counts every query it answered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, startServer, waitReady, type ServerProcess } from '../../scripts/lib/server-process.ts';
import { tempDataDir, twoMnistModels } from '../helpers/blackbox.ts';

const slow = { skip: process.env.GRADLAB_SLOW_TESTS ? false : 'slow end-to-end test: runs with GRADLAB_SLOW_TESTS=1 (npm run test:slow, and in .ci/run)', timeout: 150_000 };

function attackCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/gradlab-attack.mjs'), ...args, '--quiet'], { cwd: REPO_ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function start(args: string[], keys: string): Promise<ServerProcess> {
  const server = await startServer(['--mode', 'blackbox', ...args], { GRADLAB_API_KEYS: keys, GRADLAB_BACKEND: 'wasm' });
  await waitReady(server.baseUrl);
  return server;
}

const remaining = async (url: string, key: string) => Number((await fetch(`${url}/v1/models`, { headers: { 'x-api-key': key } })).headers.get('x-budget-remaining'));

test('the attack CLI against a real black-box server: reports, PNGs, a clean stop at the budget; counts survive a crash', slow, async (t) => {
  const modelsDir = await twoMnistModels(t);
  const dataDir = await tempDataDir(t);
  const out = await tempDataDir(t);
  const args = ['--models-dir', modelsDir, '--data-dir', dataDir, '--model-output', 'mnist-labels=label', '--rate-limit', '100000/minute'];
  const keys = 'student:3000,tight:50,load:1000';
  let server = await start(args, keys);
  t.after(() => server.stop());

  // Decision-based attack on label-only answers.
  const hsj = await attackCli(['hopskipjump', '--url', `${server.baseUrl}/v1/models/mnist-labels/classify`, '--key', 'student', '--images', '2', '--max-queries', '150', '--out', path.join(out, 'hsj')]);
  assert.equal(hsj.code, 0, hsj.stderr);
  const report = JSON.parse(readFileSync(path.join(out, 'hsj/report.json'), 'utf8'));
  assert.equal(report.target.output, 'label');
  assert.equal(report.summary.successes, 2);
  assert.ok(report.oracle.queries <= 2 * 150);
  assert.ok(existsSync(path.join(out, 'hsj', report.images[0].files.adversarial)));
  assert.match(readFileSync(path.join(out, 'hsj/report.md'), 'utf8'), /# gradlab-attack hopskipjump against mnist-labels/);
  assert.equal(await remaining(server.baseUrl, 'student'), 3000 - report.oracle.queries, 'the server counted what the client counted');

  // Score-based attack on a key with a budget far too small: a clean stop that keeps what it got.
  const tight = await attackCli(['simba', '--url', server.baseUrl, '--model', 'mnist', '--key', 'tight', '--images', '4', '--out', path.join(out, 'simba')]);
  assert.equal(tight.code, 0, tight.stderr);
  assert.match(tight.stdout, /stopped early: .*budget/);
  const simba = JSON.parse(readFileSync(path.join(out, 'simba/report.json'), 'utf8'));
  assert.equal(simba.oracle.queries, 50);
  assert.equal(simba.images.length, 4);
  const refused = await fetch(`${server.baseUrl}/v1/models/mnist/classify`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'tight' }, body: JSON.stringify({ image: Array.from({ length: 28 }, () => new Array(28).fill(0)) }) });
  assert.equal(refused.status, 429);
  assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'GRADLAB_BUDGET_EXHAUSTED');

  // Wrong key: one line, exit 1.
  const denied = await attackCli(['square', '--url', server.baseUrl, '--model', 'mnist', '--key', 'mallory', '--out', path.join(out, 'denied')]);
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, /401 the API key is not valid/);

  // Kill the server (SIGKILL: no shutdown) in the middle of 32 clients' traffic, restart, and compare.
  const body = JSON.stringify({ image: Array.from({ length: 28 }, (_, y) => Array.from({ length: 28 }, (_, x) => ((x + y) % 3) / 2)) });
  let answered = 0;
  let sent = 0;
  const clients = Array.from({ length: 32 }, async () => {
    for (;;) {
      sent++;
      const res = await fetch(`${server.baseUrl}/v1/models/mnist/classify`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'load' }, body }).catch(() => undefined);
      if (!res) return;
      await res.arrayBuffer().catch(() => undefined);
      if (res.status === 200) answered++;
      if (res.status === 429) return;
    }
  });
  while (answered < 150) await new Promise((r) => setTimeout(r, 10));
  server.child.kill('SIGKILL');
  await server.exited;
  await Promise.all(clients);
  server = await start(args, keys);
  const used = 1000 - (await remaining(server.baseUrl, 'load'));
  assert.ok(used >= answered, `every answered query is still counted (${used} counted, ${answered} answered)`);
  assert.ok(used <= answered + 32, `at most the requests in flight were charged without an answer (${used} counted, ${answered} answered)`);
  assert.equal(await remaining(server.baseUrl, 'tight'), 0);
  assert.ok(sent > answered);
});
