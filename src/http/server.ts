/**
 * The one place that listens: reads the configuration, chooses the backend, starts answering
 * (health at once, `/readyz` 503 until every model is warm and the heavy workers have loaded
 * theirs), loads the models, and shuts down gracefully on SIGTERM/SIGINT: new requests get 503
 * GRADLAB_SHUTTING_DOWN, work in flight may finish for `--drain-ms`, then is stopped (its requests
 * and event streams end with that error), and the process exits 0. Run with `npm start`.
 */
import { buildApp } from './app.ts';
import { ConfigError, loadConfig, usage } from '../config.ts';
import { describeNative, initBackend } from '../backend/index.ts';
import { createModelRegistry } from './model-registry.ts';

const HELP = `usage: npm start -- [flags]   (or: node --import tsx src/http/server.ts [flags])

Serves the models under --models-dir over HTTP. Flags override environment variables, which
override defaults:

  flag                   variable                     meaning
${usage()}
  --help, -h             this text`;

/** Stops before listening with a plain message (no JSON log line, no stack) and a non-zero code. */
function refuseToStart(message: string, code = 2): never {
  process.stderr.write(`gradlab: ${message}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${HELP}\n`);
    process.exit(0);
  }
  let config;
  try {
    config = loadConfig(argv);
  } catch (err) {
    if (err instanceof ConfigError) refuseToStart(err.message);
    throw err;
  }

  const backend = await initBackend(config.backend, { threads: config.threads, native: config.native });
  const registry = createModelRegistry({
    modelsDir: config.modelsDir,
    modelUrls: config.modelUrls,
    batching: config.batching,
    warmUpBatchSizes: [1, config.batching.maxBatchSize],
  });
  // Manifests are read and checked before listening (no weights yet): a wrong one, or no model at
  // all, stops here with a plain message instead of a log line after "Server listening".
  let configured: number;
  try {
    configured = await registry.checkManifests();
  } catch (err) {
    refuseToStart(`a model cannot be served: ${(err as Error).message}`);
  }
  if (configured === 0) {
    refuseToStart(`no models to serve: '${config.modelsDir}' has no model folders (a folder with a manifest.json), and no --model-url was given`);
  }
  const app = await buildApp({ config, registry, backend });
  app.log.info(
    { backend: backend.name, package: backend.package, threads: backend.threads, customKernels: backend.customKernels, native: backend.native, skipped: backend.skipped },
    `compute backend: ${backend.name} (${backend.package}${backend.threads ? `, ${backend.threads} thread${backend.threads > 1 ? 's' : ''}` : ''})` +
      (backend.native ? `; ${describeNative(backend.native)}` : ''),
  );

  let closing = false;
  // Requests not yet answered (SSE streams, which are hijacked, are never counted as answered:
  // the flush below waits for them only up to its cap).
  let requestsOpen = 0;
  app.addHook('onRequest', (_request, _reply, done) => {
    requestsOpen++;
    done();
  });
  app.addHook('onResponse', (_request, _reply, done) => {
    requestsOpen--;
    done();
  });
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    const { drainMs } = config.work;
    app.log.info({ signal, drainMs }, `shutting down: refusing new requests, finishing requests in flight (up to ${drainMs} ms)`);
    // Past the drain, stopped work and closing take seconds at most; a hang still ends the process.
    const force = setTimeout(() => process.exit(1), drainMs + 15_000);
    force.unref();
    // Requests in flight and this process's jobs drain together, within the one drain time.
    await Promise.all([app.work.drain(drainMs), app.jobs?.drain()]);
    // Stopped work is answered (503, or an SSE error event) just after its slot frees: let those
    // answers reach their clients before the sockets are closed (at most 2 s).
    const flushUntil = Date.now() + 2_000;
    while (requestsOpen > 0 && Date.now() < flushUntil) await new Promise((resolve) => setTimeout(resolve, 20));
    await app.close();
    app.log.info('shut down');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  await app.listen({ port: config.port, host: config.host });
  try {
    const started = Date.now();
    await registry.loadAll();
    await app.work.start();
    app.log.info({ heavy: app.work.executor.description, ...(app.work.executor.nativeKernels ? { workerNativeKernels: app.work.executor.nativeKernels } : {}) }, `heavy work runs ${app.work.executor.description === 'in-process' ? 'in the main thread' : `in ${app.work.executor.slots} worker thread${app.work.executor.slots > 1 ? 's' : ''}`}`);
    const images = registry.list().length;
    const sequences = registry.listSequences().length;
    app.log.info(
      { models: registry.names(), ms: Date.now() - started },
      `ready: ${images + sequences} models loaded and warm (${images} image, ${sequences} sequence) in ${Date.now() - started} ms`,
    );
  } catch (err) {
    app.log.fatal({ err: { message: (err as Error).message } }, `model loading failed: ${(err as Error).message}`);
    await app.close();
    process.exit(1);
  }
}

main().catch((err) => {
  process.stderr.write(`gradlab: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
