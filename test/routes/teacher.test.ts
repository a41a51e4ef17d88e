/**
 * routes/teacher.ts: the teacher's query-log view exists only in black-box mode with an admin key,
 * answers only that key, and reports what the keys really did (budget used, queries over time,
 * the report's summary).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { build } from '../helpers/build.ts';
import { tempDataDir, twoMnistModels } from '../helpers/blackbox.ts';

const ADMIN = 'admin-key-for-the-teacher';

test('no admin key: no teacher view (a plain 404)', async (t) => {
  const { app } = await build(t, { modelsDir: await twoMnistModels(t), argv: ['--mode', 'blackbox', '--data-dir', await tempDataDir(t)], env: { GRADLAB_API_KEYS: 'alice:10' } });
  const answer = await app.inject({ url: '/admin/usage', headers: { authorization: `Bearer ${ADMIN}` } });
  assert.equal(answer.statusCode, 404);
  assert.doesNotMatch((await app.inject('/')).body, /gradlab-teacher/);
});

test('an admin key shorter than 16 characters is refused at start', async (t) => {
  await assert.rejects(build(t, { argv: ['--mode', 'blackbox', '--admin-key', 'short'], env: { GRADLAB_API_KEYS: 'alice:10' } }), /--admin-key.*16 characters/);
});

test('with an admin key: 401 without it, then each key with its budget, timeline and summary', async (t) => {
  const { app } = await build(t, {
    modelsDir: await twoMnistModels(t),
    argv: ['--mode', 'blackbox', '--data-dir', await tempDataDir(t), '--admin-key', ADMIN],
    env: { GRADLAB_API_KEYS: 'alice:10,bob:5' },
  });
  assert.match((await app.inject('/')).body, /<meta name="gradlab-teacher" content="on">/);
  for (const authorization of [undefined, 'Bearer alice', `Bearer ${ADMIN}x`]) {
    const refused = await app.inject({ url: '/admin/usage', headers: authorization ? { authorization } : {} });
    assert.equal(refused.statusCode, 401, String(authorization));
    assert.equal(refused.json().error.code, 'GRADLAB_UNAUTHORIZED');
  }
  const digit = await readFile('docs/examples/digit-7.png');
  for (let i = 0; i < 3; i++) {
    const answer = await app.inject({ method: 'POST', url: '/v1/models/mnist/classify', headers: { 'x-api-key': 'alice' }, payload: { image: digit.toString('base64') } });
    assert.equal(answer.statusCode, 200);
  }
  const usage = await app.inject({ url: '/admin/usage', headers: { authorization: `Bearer ${ADMIN}` } });
  assert.equal(usage.statusCode, 200);
  const report = usage.json();
  assert.equal(report.keys.length, 2);
  const [alice, bob] = report.keys;
  assert.deepEqual([alice.used, alice.budget, alice.remaining], [3, 10, 7]);
  assert.equal(alice.timeline.reduce((a: number, b: number) => a + b, 0), 3);
  assert.equal(alice.summary.queries, 3);
  assert.deepEqual(alice.summary.labels, [['7', 3]]);
  assert.deepEqual([bob.used, bob.remaining, bob.summary], [0, 5, undefined]);
  assert.ok(!JSON.stringify(report).includes('alice'), 'the report never shows a key itself');
});
