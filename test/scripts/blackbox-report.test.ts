/** `npm run blackbox:report` (SQLite, or Redis with --redis-url): finds a key by name, id or the key itself; an unknown key is an error that lists the known ones; --help exits 0. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { keyId } from '../../src/blackbox/keys.ts';
import { SqliteStore } from '../../src/blackbox/sqlite-store.ts';
import { REPO_ROOT } from '../../scripts/lib/server-process.ts';
import { tempDataDir } from '../helpers/blackbox.ts';
import { NO_REDIS, startRedis } from '../helpers/redis.ts';
import { RedisStore } from '../../src/blackbox/redis-store.ts';

const report = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'scripts/blackbox-report.ts'), ...args], { encoding: 'utf8', cwd: REPO_ROOT });

test('blackbox:report --key accepts the key itself, its shown name and its id; an unknown key says which keys exist', async (t) => {
  const dataDir = await tempDataDir(t);
  const store = new SqliteStore(dataDir);
  const id = keyId('alice');
  const shown = `key-${id.slice(0, 8)}`;
  store.record({ time: Date.now(), keyId: id, keyName: shown, model: 'mnist', count: 2, labels: ['7', '1'] });
  store.record({ time: Date.now(), keyId: keyId('t1-secret'), keyName: 'team-1', model: 'mnist', count: 1, labels: ['3'] });
  await store.close();

  for (const key of ['alice', shown, id]) {
    const r = report('--data-dir', dataDir, '--key', key);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`\\| ${shown} \\| 1 \\| 2 \\|`));
    assert.doesNotMatch(r.stdout, /team-1/);
  }
  const unknown = report('--data-dir', dataDir, '--key', 'bob');
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /--key: no key named 'bob'.*keys in it: key-[0-9a-f]{8}, team-1/);
  assert.doesNotMatch(unknown.stdout + unknown.stderr, /query log is empty|at .*\.ts:\d+/);
});

test('blackbox:report --help prints the options and exits 0; a bad flag exits 2 without a stack trace', () => {
  const help = report('--help');
  assert.equal(help.status, 0);
  for (const flag of ['--data-dir', '--key', '--since', '--json']) assert.match(help.stdout, new RegExp(flag));
  const bad = report('--nope');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /Unknown option '--nope'/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /);
});

test('blackbox:report --redis-url reads the whole deployment\'s log from Redis', { skip: NO_REDIS, timeout: 30_000 }, async (t) => {
  const redis = await startRedis(t);
  const store = new RedisStore(redis.url);
  await store.ready();
  store.record({ time: Date.now(), keyId: keyId('t1-secret'), keyName: 'team-1', model: 'mnist', count: 3, labels: ['3', '3', '4'] });
  await store.charge(keyId('t1-secret'), 3, 10);
  await store.close();
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'scripts/blackbox-report.ts'), '--redis-url', redis.url], { encoding: 'utf8', cwd: REPO_ROOT });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /## Black-box query log \(Redis redis:\/\/127\.0\.0\.1:\d+\)/);
  assert.match(r.stdout, /\| team-1 \| 1 \| 3 \|/);
});
