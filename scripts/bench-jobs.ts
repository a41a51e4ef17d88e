/**
 * Jobs across processes (issue #18): a real redis-server, one API process that runs no jobs
 * (`--run-jobs no`) and `npm run worker` processes on the shipped mnist model. Measures
 * - jobs per second with one worker and with two (BENCH_JOBS PGD attacks of BENCH_JOB_STEPS steps,
 *   all queued at once with `Prefer: respond-async`, timed from the first 202 to the last success);
 * - the API's classify latency (concurrency 4, p50/p99) unloaded and while both workers are
 *   saturated (the queue kept full), for BENCH_SECONDS each.
 * On a machine with fewer cores than processes, two workers share them: the figures say so.
 *
 *   npm run bench -- jobs
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT, startServer, waitReady } from './lib/server-process.ts';
import { markdownTable, percentile } from './lib/stats.ts';

const JOBS = Number(process.env.BENCH_JOBS ?? 16);
const JOB_STEPS = Number(process.env.BENCH_JOB_STEPS ?? 40);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const image = Array.from({ length: 28 }, (_, y) => Array.from({ length: 28 }, (_, x) => ((x - 14) ** 2 + (y - 14) ** 2 < 40 ? 1 : 0)));

function waitFor(child: ChildProcess, pattern: RegExp, what: string): Promise<string> {
  let text = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start:\n${text}`)), 120_000);
    const onData = (d: Buffer) => {
      text += d.toString();
      const match = pattern.exec(text);
      if (match) {
        clearTimeout(timer);
        resolve(match[1] ?? '');
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', () => reject(new Error(`${what} exited:\n${text}`)));
  });
}

async function startWorker(models: string, redisUrl: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/worker.ts', '--port', '0', '--host', '127.0.0.1', '--backend', 'wasm', '--models-dir', models, '--redis-url', redisUrl], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  await waitFor(child, /(worker ready)/, 'worker');
  return child;
}

async function submit(baseUrl: string): Promise<string> {
  const res = await fetch(`${baseUrl}/v1/models/mnist/attack`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', prefer: 'respond-async' },
    body: JSON.stringify({ image, method: 'pgd', epsilon: 0.1, steps: JOB_STEPS, seed: 1 }),
  });
  if (res.status !== 202) throw new Error(`submit: ${res.status} ${await res.text()}`);
  return `${baseUrl}${res.headers.get('location')}`;
}

async function finished(location: string): Promise<void> {
  for (;;) {
    const body = (await (await fetch(location)).json()) as { state: string };
    if (body.state === 'succeeded') return;
    if (body.state !== 'queued' && body.state !== 'running') throw new Error(`job ${body.state}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function jobsPerSecond(baseUrl: string): Promise<number> {
  const started = performance.now();
  const locations = await Promise.all(Array.from({ length: JOBS }, () => submit(baseUrl)));
  await Promise.all(locations.map(finished));
  return JOBS / ((performance.now() - started) / 1000);
}

async function classifyLatency(baseUrl: string): Promise<number[]> {
  const samples: number[] = [];
  const until = Date.now() + SECONDS * 1000;
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (Date.now() < until) {
      const t0 = performance.now();
      const res = await fetch(`${baseUrl}/v1/models/mnist/classify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image }) });
      await res.arrayBuffer();
      if (res.status === 200) samples.push(performance.now() - t0);
    }
  }));
  return samples;
}

export async function benchJobs(): Promise<void> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const children: ChildProcess[] = [redis];
  const dir = await mkdtemp(path.join(tmpdir(), 'gradlab-bench-jobs-'));
  try {
    await waitFor(redis, /(Ready to accept connections)/, 'redis-server');
    const redisUrl = `redis://127.0.0.1:${port}`;
    await symlink(path.join(REPO_ROOT, 'models', 'mnist'), path.join(dir, 'mnist'));
    const api = await startServer(['--models-dir', dir, '--backend', 'wasm', '--redis-url', redisUrl, '--run-jobs', 'no', '--job-queue-max', '100000']);
    children.push(api.child);
    await waitReady(api.baseUrl);
    const unloaded = await classifyLatency(api.baseUrl);
    children.push(await startWorker(dir, redisUrl));
    const one = await jobsPerSecond(api.baseUrl);
    children.push(await startWorker(dir, redisUrl));
    const two = await jobsPerSecond(api.baseUrl);
    // Saturated: more jobs queued than the workers finish during the measurement.
    const backlog = Array.from({ length: Math.ceil(two * SECONDS * 2) + 4 }, () => submit(api.baseUrl));
    const locations = await Promise.all(backlog);
    const loaded = await classifyLatency(api.baseUrl);
    await Promise.all(locations.map((l) => fetch(l, { method: 'DELETE' })));
    const fmt = (ms: number) => ms.toFixed(1);
    console.log(`\n## Jobs across processes (PGD-${JOB_STEPS} on mnist, ${JOBS} jobs per run, ${cpus().length} CPU cores)\n`);
    console.log(markdownTable(['workers', 'jobs/s', 'speed-up'], [[1, one.toFixed(2), '1.00'], [2, two.toFixed(2), (two / one).toFixed(2)]]));
    console.log('');
    console.log(markdownTable(['API classify (concurrency 4)', 'requests', 'p50 ms', 'p99 ms'], [
      ['no jobs running', unloaded.length, fmt(percentile(unloaded, 50)), fmt(percentile(unloaded, 99))],
      ['2 workers saturated', loaded.length, fmt(percentile(loaded, 50)), fmt(percentile(loaded, 99))],
    ]));
  } finally {
    for (const child of children.reverse()) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}
