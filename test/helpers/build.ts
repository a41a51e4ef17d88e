/**
 * One way for tests to get an app: `build(t, overrides)` initialises the backend, loads the
 * fixture model (or the given models directory), builds the app without listening and closes it
 * in `t.after`.
 */
import { cp } from 'node:fs/promises';
import path from 'node:path';
import type { TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { initBackend, type BackendChoice } from '../../src/backend/index.ts';
import { createModelRegistry } from '../../src/http/model-registry.ts';
import { writeFixtureModel } from './fixture-model.ts';

export const TEST_BACKEND = (process.env.GRADLAB_TEST_BACKEND ?? 'wasm') as BackendChoice;

export interface BuildOptions {
  modelsDir?: string;
  argv?: string[];
  env?: NodeJS.ProcessEnv;
  backend?: BackendChoice;
  /** Shipped sequence model folders (e.g. `rnn-parity`) copied from models/ next to the fixture model. */
  sequenceModels?: string[];
}

export async function build(t: TestContext, options: BuildOptions = {}): Promise<{ app: FastifyInstance; config: Config }> {
  const backend = await initBackend(options.backend ?? TEST_BACKEND);
  let modelsDir = options.modelsDir;
  if (!modelsDir) {
    const fixture = await writeFixtureModel('tiny');
    modelsDir = fixture.modelsDir;
    t.after(fixture.cleanup);
    for (const name of options.sequenceModels ?? []) {
      await cp(path.join('models', name), path.join(modelsDir, name), { recursive: true });
    }
  }
  const config = loadConfig(['--models-dir', modelsDir, ...(options.argv ?? [])], options.env ?? {});
  const registry = createModelRegistry({ modelsDir, batching: config.batching });
  await registry.loadAll();
  const app = await buildApp({ config, registry, backend, logger: false });
  await app.ready();
  t.after(() => app.close());
  return { app, config };
}
