/**
 * The one place that listens: reads the configuration, chooses the backend, starts answering
 * (health at once, `/readyz` 503 until every model is warm), loads the models, and shuts down
 * gracefully on SIGTERM/SIGINT. Run with `npm start` (add flags after `--`).
 */
import { buildApp } from './app.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { initBackend } from '../backend/index.ts';
import { ModelRegistry } from '../model/registry.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.argv.slice(2));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`gradlab: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }

  const backend = await initBackend(config.backend, { threads: config.threads, native: config.native });
  const registry = new ModelRegistry({
    modelsDir: config.modelsDir,
    modelUrls: config.modelUrls,
    batching: config.batching,
    warmUpBatchSizes: [1, config.batching.maxBatchSize],
  });
  const app = await buildApp({ config, registry, backend });
  app.log.info(
    { backend: backend.name, package: backend.package, threads: backend.threads, customKernels: backend.customKernels, native: backend.native, skipped: backend.skipped },
    `compute backend: ${backend.name} (${backend.package}${backend.threads ? `, ${backend.threads} thread${backend.threads > 1 ? 's' : ''}` : ''})` +
      (backend.native ? `; native kernels: ${backend.native.kernels.length ? `${backend.native.kernels.join(', ')} (${backend.native.library})` : `none (${backend.native.reason})`}` : ''),
  );

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down: finishing requests in flight');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    await app.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  await app.listen({ port: config.port, host: config.host });
  try {
    const started = Date.now();
    await registry.loadAll();
    app.log.info(
      { models: registry.list().map((m) => m.name), ms: Date.now() - started },
      `ready: ${registry.list().length} model(s) loaded and warm`,
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
