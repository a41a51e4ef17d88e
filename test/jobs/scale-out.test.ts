/**
 * Issue #18's end-to-end checks with real processes on a real redis-server: three black-box API
 * replicas share one budget exactly under 64 concurrent clients; SIGKILL of a replica mid-traffic
 * charges nothing twice and loses no answered query from the shared log; Redis stopped means 503
 * on every replica, and they recover once it is back. Jobs: an API replica that runs no jobs and
 * two `npm run worker` processes; SIGKILL of the worker running a job still ends with that job
 * succeeded once, on the other worker. Spawning five processes that each load a model takes a
 * while on a small machine: run with GRADLAB_SLOW_TESTS=1 (CI sets it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { RedisStore } from '../../src/blackbox/redis-store.ts';
import { keyId } from '../../src/blackbox/keys.ts';
import { BULL_PREFIX, QUEUE_NAME } from '../../src/jobs/redis-names.ts';
import { REPO_ROOT, startServer, waitReady, type ServerProcess } from '../../scripts/lib/server-process.ts';
import { NO_REDIS, startRedis } from '../helpers/redis.ts';
import { tempDataDir } from '../helpers/blackbox.ts';

const slow = process.env.GRADLAB_SLOW_TESTS === '1';
const image = Array.from({ length: 28 }, (_, y) => Array.from({ length: 28 }, (_, x) => ((x - 14) ** 2 + (y - 14) ** 2 < 40 ? 1 : 0)));
type After = { after: (f: () => unknown) => void };

async function mnistOnly(t: After): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'gradlab-scaleout-'));
  await symlink(path.join(REPO_ROOT, 'models', 'mnist'), path.join(dir, 'mnist'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function api(t: After, args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  const server = await startServer(['--backend', 'wasm', '--threads', '1', '--heavy-workers', '1', ...args], env);
  t.after(() => server.child.kill('SIGKILL'));
  return server;
}

/** `npm run worker` as a child process; resolves once it is ready, with its metrics address. */
async function worker(t: After, args: string[]): Promise<{ pid: number; baseUrl: string; kill: () => void; output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/worker.ts', '--port', '0', '--host', '127.0.0.1', '--backend', 'wasm', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  let text = '';
  child.stdout.on('data', (d) => (text += d));
  child.stderr.on('data', (d) => (text += d));
  const until = Date.now() + 120_000;
  while (!/worker ready/.test(text)) {
    if (child.exitCode !== null || Date.now() > until) throw new Error(`worker did not start:\n${text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const baseUrl = /worker listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(text)![1]!;
  return { pid: child.pid!, baseUrl, kill: () => child.kill('SIGKILL'), output: () => text };
}

const classify = (server: ServerProcess, key: string) =>
  fetch(`${server.baseUrl}/v1/models/mnist/classify`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify({ image }) });

test('three black-box replicas on one Redis: exact budget, SIGKILL mid-traffic, Redis stopped and restarted', { skip: (!slow && 'set GRADLAB_SLOW_TESTS=1') || NO_REDIS, timeout: 300_000 }, async (t) => {
  const redis = await startRedis(t);
  const models = await mnistOnly(t);
  const env = { GRADLAB_API_KEYS: 'alice:20,bob:40,carol:1000' };
  const replicas = await Promise.all([0, 1, 2].map(async () => api(t, ['--mode', 'blackbox', '--models-dir', models, '--redis-url', redis.url, '--data-dir', await tempDataDir(t), '--rate-limit', '10000/minute'], env)));
  await Promise.all(replicas.map((r) => waitReady(r.baseUrl)));
  const store = new RedisStore(redis.url);
  t.after(() => store.close());
  await store.ready();

  const answers = await Promise.all(Array.from({ length: 64 }, (_, i) => classify(replicas[i % 3]!, 'alice')));
  assert.equal(answers.filter((a) => a.status === 200).length, 20, answers.map((a) => a.status).join(','));
  assert.ok(answers.every((a) => a.status === 200 || a.status === 429));
  assert.equal(await store.used(keyId('alice')), 20);

  // 64 clients on bob (budget 40); replica 0 is killed while they are in flight.
  const inFlight = Array.from({ length: 64 }, (_, i) => classify(replicas[i % 3]!, 'bob').then((r) => r.status, () => 'lost' as const));
  await new Promise((r) => setTimeout(r, 30));
  replicas[0]!.child.kill('SIGKILL');
  const statuses = await Promise.all(inFlight);
  const answered = statuses.filter((s) => s === 200).length;
  const lost = statuses.filter((s) => s === 'lost').length;
  const used = await store.used(keyId('bob'));
  assert.ok(used <= 40, `never over the budget (${used})`);
  assert.ok(used >= answered, 'every answered query is charged');
  assert.ok(used - answered <= lost, `at most the lost requests are charged without an answer (used ${used}, answered ${answered}, lost ${lost})`);
  // A replica killed between writing a query's log entry and sending its answer leaves an entry
  // whose client saw the connection drop: logged queries lie between the answered ones and those
  // plus the lost ones, and each of them was charged.
  const logged = (await store.entries({ key: keyId('bob') })).length;
  assert.ok(logged >= answered, `every answered query is in the shared log (logged ${logged}, answered ${answered})`);
  assert.ok(logged - answered <= lost && logged <= used, `only lost queries are logged without an answer, and every logged one is charged (logged ${logged}, answered ${answered}, lost ${lost}, used ${used})`);

  const survivors = replicas.slice(1);
  await redis.stop();
  for (const r of survivors) {
    const res = await classify(r, 'carol');
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'GRADLAB_STORE_UNAVAILABLE');
  }
  await redis.restart();
  for (const r of survivors) {
    const until = Date.now() + 20_000;
    let status = 0;
    while (status !== 200 && Date.now() < until) {
      status = (await classify(r, 'carol')).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(status, 200, 'recovered by itself');
  }
});

test('SIGKILL of the worker running a job: the other worker runs it again and it succeeds once', { skip: (!slow && 'set GRADLAB_SLOW_TESTS=1') || NO_REDIS, timeout: 300_000 }, async (t) => {
  const redis = await startRedis(t);
  const models = await mnistOnly(t);
  const front = await api(t, ['--models-dir', models, '--redis-url', redis.url, '--run-jobs', 'no', '--max-steps', '100000', '--max-cost', '10000000']);
  const workers = await Promise.all([worker(t, ['--models-dir', models, '--redis-url', redis.url]), worker(t, ['--models-dir', models, '--redis-url', redis.url])]);
  await waitReady(front.baseUrl);
  const accepted = await fetch(`${front.baseUrl}/v1/models/mnist/attack`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', prefer: 'respond-async' },
    body: JSON.stringify({ image, method: 'pgd', epsilon: 0.1, steps: 600, seed: 1 }),
  });
  assert.equal(accepted.status, 202);
  const location = `${front.baseUrl}${accepted.headers.get('location')}`;
  const queue = new Queue(QUEUE_NAME, { connection: { host: '127.0.0.1', port: redis.port }, prefix: BULL_PREFIX });
  t.after(() => queue.close());
  const id = location.split('/').pop()!;
  let runner: string | undefined;
  const until = Date.now() + 60_000;
  while (!runner && Date.now() < until) {
    const job = await queue.getJob(id);
    if (job?.processedBy && (job.progress as { step?: number } | undefined)?.step) runner = job.processedBy;
    else await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(runner, 'a worker took the job and reported progress');
  const victim = workers.find((w) => runner.endsWith(`:${w.pid}`))!;
  const survivor = workers.find((w) => w !== victim)!;
  victim.kill();
  const deadline = Date.now() + 120_000;
  let body: { state: string; attempts: number; result?: { iterations: number } } = { state: 'queued', attempts: 0 };
  while (!['succeeded', 'failed', 'cancelled'].includes(body.state) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    body = (await (await fetch(location)).json()) as typeof body;
  }
  assert.equal(body.state, 'succeeded', JSON.stringify(body).slice(0, 500));
  assert.equal(body.attempts, 2, 'run again once, after its worker died');
  assert.equal(body.result!.iterations, 600);
  assert.ok((await queue.getJob(id))!.processedBy!.endsWith(`:${survivor.pid}`), 'finished by the other worker');
  const metrics = await (await fetch(`${survivor.baseUrl}/metrics`)).text();
  assert.match(metrics, /gradlab_jobs_finished_total\{kind="attack",state="succeeded"\} 1/);
});
