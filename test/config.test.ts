import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { ConfigError, loadConfig } from '../src/config.ts';

test('defaults', () => {
  const c = loadConfig([], {});
  assert.equal(c.port, 8080);
  assert.equal(c.backend, 'auto');
  assert.equal(c.mode, 'whitebox');
  assert.equal(c.modelsDir, 'models');
  assert.deepEqual(c.batching, { enabled: true, maxBatchSize: 32, maxWaitMs: 2 });
  assert.equal(c.limits.maxBatchSize, 64);
  assert.equal(c.threads, Math.min(8, availableParallelism()));
});

test('--threads / GRADLAB_THREADS sets the wasm thread count, 1 to 8', () => {
  assert.equal(loadConfig([], { GRADLAB_THREADS: '1' }).threads, 1);
  assert.equal(loadConfig(['--threads', '4'], { GRADLAB_THREADS: '1' }).threads, 4);
  for (const bad of ['0', '9', 'two', '1.5']) {
    assert.throws(
      () => loadConfig(['--threads', bad], {}),
      (e) => e instanceof ConfigError && e.message.includes(`--threads / GRADLAB_THREADS: '${bad}' is not an integer between 1 and 8`),
    );
  }
});

test('flags override environment variables, which override defaults', () => {
  const env = { PORT: '9000', GRADLAB_BACKEND: 'cpu', GRADLAB_BATCHING: 'off', GRADLAB_MODEL_URLS: 'file:///a, http://h/m' };
  const fromEnv = loadConfig([], env);
  assert.equal(fromEnv.port, 9000);
  assert.equal(fromEnv.backend, 'cpu');
  assert.equal(fromEnv.batching.enabled, false);
  assert.deepEqual(fromEnv.modelUrls, ['file:///a', 'http://h/m']);
  const fromFlags = loadConfig(['--port', '7000', '--backend=wasm', '--model-url', 'https://x/y'], env);
  assert.equal(fromFlags.port, 7000);
  assert.equal(fromFlags.backend, 'wasm');
  assert.deepEqual(fromFlags.modelUrls, ['file:///a', 'http://h/m', 'https://x/y']);
});

test('bad values fail naming the flag and the variable', () => {
  const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
    [['--port', '-1'], {}, /--port \/ PORT/],
    [[], { GRADLAB_MAX_BATCH_SIZE: '0' }, /--max-batch-size \/ GRADLAB_MAX_BATCH_SIZE: '0'/],
    [['--mode', 'grey'], {}, /--mode \/ GRADLAB_MODE: 'grey' is not one of whitebox, blackbox/],
    [['--model-url', 'ftp://x'], {}, /not a file:\/\/, http:\/\/ or https:\/\/ URL/],
    [['--colour', 'red'], {}, /unknown flag '--colour'/],
    [['--port'], {}, /flag '--port' needs a value/],
    [['stray'], {}, /unexpected argument 'stray'/],
  ];
  for (const [argv, env, message] of cases) {
    assert.throws(() => loadConfig(argv, env), (e) => e instanceof ConfigError && message.test(e.message));
  }
});

test('--trust-proxy / GRADLAB_TRUST_PROXY: false by default, true, a hop count or addresses; anything else is refused by name', () => {
  assert.equal(loadConfig([], {}).trustProxy, false);
  assert.equal(loadConfig(['--trust-proxy', 'true'], {}).trustProxy, true);
  assert.equal(loadConfig([], { GRADLAB_TRUST_PROXY: '1' }).trustProxy, 1);
  assert.deepEqual(loadConfig(['--trust-proxy', '10.0.0.0/8, 127.0.0.1,::1'], {}).trustProxy, ['10.0.0.0/8', '127.0.0.1', '::1']);
  for (const bad of ['0', '17', 'yes', 'proxy.example', '10.0.0.0/8,nope']) {
    assert.throws(() => loadConfig(['--trust-proxy', bad], {}), (e) => e instanceof ConfigError && /--trust-proxy \/ GRADLAB_TRUST_PROXY/.test(e.message), bad);
  }
});
