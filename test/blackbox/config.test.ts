/** Black-box settings in the configuration: keys from the variable and a file, rates, output shapes, clear errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { tempDataDir } from '../helpers/blackbox.ts';

test('defaults: no keys, ./data, 600/minute, probabilities, labels logged', () => {
  const bb = loadConfig(['--mode', 'blackbox', '--allow-no-keys', 'yes'], {}).blackbox;
  assert.deepEqual(bb.apiKeys, []);
  assert.equal(bb.dataDir, 'data');
  assert.equal(bb.rateLimit.text, '600/minute');
  assert.deepEqual(bb.output, { kind: 'probabilities' });
  assert.equal(bb.queryLog, 'labels');
});

test('keys from GRADLAB_API_KEYS and a keys file together; flags override variables', async (t) => {
  const dir = await tempDataDir(t);
  const file = path.join(dir, 'keys.json');
  await writeFile(file, JSON.stringify([{ key: 'k3', name: 'carol', budget: 7 }]));
  const config = loadConfig(['--mode', 'blackbox', '--api-keys-file', file, '--output', 'topk:3:2', '--model-output', 'tiny=label'], {
    GRADLAB_API_KEYS: 'alice:10000,bob:500:60/minute',
    GRADLAB_OUTPUT: 'label',
    GRADLAB_DATA_DIR: '/var/lib/gradlab',
    GRADLAB_RATE_LIMIT: '10/second',
  });
  assert.deepEqual(config.blackbox.apiKeys.map((k) => [k.key, k.budget]), [['alice', 10000], ['bob', 500], ['k3', 7]]);
  assert.deepEqual(config.blackbox.output, { kind: 'topk', k: 3, decimals: 2 });
  assert.deepEqual(config.blackbox.modelOutput, { tiny: { kind: 'label' } });
  assert.equal(config.blackbox.dataDir, '/var/lib/gradlab');
  assert.equal(config.blackbox.rateLimit.max, 10);
});

test('bad black-box settings stop the start with the flag and the variable named', () => {
  const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
    [['--mode', 'blackbox'], { GRADLAB_API_KEYS: 'alice' }, /--api-keys \/ GRADLAB_API_KEYS: .*is not key:budget/],
    [['--mode', 'blackbox'], { GRADLAB_API_KEYS: 'a:1,a:2' }, /--api-keys \/ GRADLAB_API_KEYS: .*listed twice/],
    [['--mode', 'blackbox', '--api-keys-file', '/nonexistent/keys.json'], {}, /--api-keys-file \/ GRADLAB_API_KEYS_FILE: cannot read/],
    [['--mode', 'blackbox', '--rate-limit', 'lots'], {}, /--rate-limit \/ GRADLAB_RATE_LIMIT: 'lots' is not a rate/],
    [['--mode', 'blackbox', '--output', 'scores'], {}, /--output \/ GRADLAB_OUTPUT: 'scores' is not/],
    [['--mode', 'blackbox'], { GRADLAB_MODEL_OUTPUT: 'mnist' }, /--model-output \/ GRADLAB_MODEL_OUTPUT: 'mnist' is not model=shape/],
    [['--mode', 'blackbox', '--query-log', 'everything'], {}, /--query-log \/ GRADLAB_QUERY_LOG: 'everything' is not one of off, labels, images/],
    [[], { GRADLAB_API_KEYS: 'alice:5' }, /API keys apply only in black-box mode/],
  ];
  for (const [argv, env, message] of cases) assert.throws(() => loadConfig(argv, env), (err: Error) => err instanceof ConfigError && message.test(err.message), `${argv.join(',')} ${JSON.stringify(env)}`);
});
