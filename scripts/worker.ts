/**
 * `npm run worker -- --redis-url redis://… [--models-dir DIR] [--worker-concurrency N] [--port P]`:
 * a job worker process. It loads the models, starts N heavy worker threads (one job each, so that
 * this event loop stays free to renew job locks and answer probes), takes jobs from the Redis
 * queue (src/jobs/bullmq-worker.ts) and stores each job's answer, written by the same serialiser
 * as the synchronous route (routes/job-answers.ts). It serves `/healthz`, `/readyz` (models and
 * threads ready) and `/metrics` (the job metrics, queue depth included) on `--port` (default 9090
 * here). SIGTERM drains: no new jobs, running ones finish within `--drain-ms` or are handed back
 * to the queue for another worker, then the process exits 0. Flags are the server's (see
 * `npm start -- --help`); the ones that matter here are listed above.
 */
import { createServer } from 'node:http';
import pino from 'pino';
import client from 'prom-client';
import { ConfigError, loadConfig, type Config } from '../src/config.ts';
import { initBackend } from '../src/backend/index.ts';
import { createModelRegistry } from '../src/http/model-registry.ts';
import { BullJobQueue } from '../src/jobs/bullmq-queue.ts';
import { startJobWorker } from '../src/jobs/bullmq-worker.ts';
import { JobMetrics } from '../src/jobs/metrics.ts';
import type { JobRunner } from '../src/jobs/types.ts';
import { WorkerPoolExecutor } from '../src/work/worker-pool.ts';
import { writeJobAnswer } from '../routes/job-answers.ts';

const WORKER_DEFAULT_PORT = 9090;

function refuse(message: string): never {
  process.stderr.write(`gradlab worker: ${message}\n`);
  process.exit(2);
}

const argv = process.argv.slice(2);
const portGiven = argv.includes('--port') || process.env.PORT !== undefined;
let config: Config;
try {
  config = loadConfig(portGiven ? argv : [...argv, '--port', String(WORKER_DEFAULT_PORT)]);
} catch (err) {
  if (err instanceof ConfigError) refuse(err.message);
  throw err;
}
const redisUrl = config.jobs.redisUrl;
if (!redisUrl) refuse('--redis-url / GRADLAB_REDIS_URL is required: a worker takes its jobs from Redis');
const log = pino({ level: config.logLevel, base: { role: 'worker', pid: process.pid } });

const backend = await initBackend(config.backend, { threads: 1, native: config.native });
const registry = createModelRegistry({ modelsDir: config.modelsDir, modelUrls: config.modelUrls, batching: { ...config.batching, enabled: false } });
let state: 'loading' | 'ready' | 'draining' | 'failed' = 'loading';

const metricsRegistry = new client.Registry();
client.collectDefaultMetrics({ register: metricsRegistry });
const depthQueue = new BullJobQueue(redisUrl, { ttlS: config.jobs.ttlS, attempts: config.jobs.attempts, maxQueued: config.jobs.maxQueued });
const observer = new JobMetrics(metricsRegistry, () => depthQueue);

const server = createServer((req, res) => {
  const send = (status: number, body: string, type = 'application/json') => res.writeHead(status, { 'content-type': type }).end(body);
  if (req.url === '/healthz') return send(200, JSON.stringify({ status: 'ok' }));
  if (req.url === '/readyz') return send(state === 'ready' ? 200 : 503, JSON.stringify({ status: state, models: registry.names() }));
  if (req.url === '/metrics') {
    metricsRegistry.metrics().then((text) => send(200, text, metricsRegistry.contentType), () => send(500, 'metrics failed', 'text/plain'));
    return;
  }
  send(404, JSON.stringify({ error: { code: 'GRADLAB_NOT_FOUND', message: 'a worker serves /healthz, /readyz and /metrics only' } }));
});
await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
const address = server.address() as { port: number };
log.info({ port: address.port }, `worker listening at http://${config.host}:${address.port} (/healthz, /readyz, /metrics)`);

const executor = new WorkerPoolExecutor(config.jobs.workerConcurrency, config.backend);
try {
  await registry.checkManifests();
  await registry.loadAll();
  await executor.start(registry.list().map((m) => ({ name: m.name, source: m.source })));
} catch (err) {
  state = 'failed';
  log.fatal({ err: { message: (err as Error).message } }, `model loading failed: ${(err as Error).message}`);
  process.exit(1);
}

const runner: JobRunner = async (payload, control) => {
  const result = await executor.submit(payload.job, control);
  return writeJobAnswer(registry.get(payload.job.model), result, payload.answer);
};
const worker = startJobWorker(redisUrl, runner, {
  concurrency: config.jobs.workerConcurrency,
  timeoutMs: config.jobs.timeoutMs,
  attempts: config.jobs.attempts,
  observer,
  onInternalError: (err, id) => log.error({ err, job: id }, 'job failed with an internal error'),
});
state = 'ready';
log.info({ models: registry.names(), concurrency: config.jobs.workerConcurrency, backend: backend.name }, `worker ready: ${config.jobs.workerConcurrency} job(s) at a time on ${registry.names().join(', ')}`);

const { drainMs } = config.work;
let closing = false;
async function shutdown(signal: string): Promise<void> {
  if (closing) return;
  closing = true;
  state = 'draining';
  log.info({ signal, drainMs, running: worker.running }, `draining: no new jobs; running ones may finish for ${drainMs} ms, then go back to the queue`);
  setTimeout(() => process.exit(1), drainMs + 15_000).unref();
  await worker.close(drainMs);
  await executor.close();
  await depthQueue.close();
  server.close();
  log.info('worker stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
