/**
 * Issue #12, item 3: a black-box server without keys used to start as an open API, silently, and
 * the client's GRADLAB_API_KEY set instead of the server's GRADLAB_API_KEYS produced exactly that.
 * Now it refuses to start (exit 2, a plain message) unless the operator opts out loudly, and the
 * start-up log says the mode, the number of keys and how answers are shaped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnServer, startServer } from '../../scripts/lib/server-process.ts';
import { writeFixtureModel } from '../helpers/fixture-model.ts';
import { tempDataDir } from '../helpers/blackbox.ts';

test('black-box mode without keys refuses to start; the singular variable is named', { timeout: 60_000 }, async (t) => {
  const fixture = await writeFixtureModel('tiny');
  t.after(fixture.cleanup);
  const args = ['--mode', 'blackbox', '--models-dir', fixture.modelsDir, '--port', '0', '--host', '127.0.0.1'];
  const none = spawnServer(args, { GRADLAB_API_KEYS: '', GRADLAB_API_KEY: '' });
  assert.equal(await none.exited, 2);
  assert.match(none.output(), /black-box mode needs API keys .*--allow-no-keys yes/);
  const slip = spawnServer(args, { GRADLAB_API_KEYS: '', GRADLAB_API_KEY: 'alice' });
  assert.equal(await slip.exited, 2);
  assert.match(slip.output(), /GRADLAB_API_KEY is set, but it is the client's variable: the server reads its keys from --api-keys \/ GRADLAB_API_KEYS/);
});

test('the start-up log says the mode, the keys and the shaping; an open server is a warning', { timeout: 120_000 }, async (t) => {
  const fixture = await writeFixtureModel('tiny');
  t.after(fixture.cleanup);
  const common = ['--mode', 'blackbox', '--models-dir', fixture.modelsDir, '--backend', 'wasm', '--data-dir', await tempDataDir(t)];
  const keyed = await startServer([...common, '--output', 'topk:2'], { GRADLAB_API_KEYS: 'alice:10,bob:5' });
  t.after(() => keyed.stop());
  assert.match(keyed.output(), /mode: blackbox, 2 API keys, answers: topk:2, query log: labels/);
  await keyed.stop();
  const open = await startServer([...common, '--allow-no-keys', 'yes'], { GRADLAB_API_KEYS: '' });
  t.after(() => open.stop());
  assert.match(open.output(), /"level":40,.*mode: blackbox WITHOUT API KEYS \(--allow-no-keys yes\): open to anyone/);
});
