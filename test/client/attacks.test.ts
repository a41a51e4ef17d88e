/**
 * The client's attacks against a real black-box app serving the shipped MNIST model (in this
 * process, over real HTTP), with small budgets: each attack works through HTTP alone, respects
 * the output it is given, and stops cleanly when the budget is spent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { runClientAttack, type ClientRunOptions } from '../../src/client/run.ts';
import { build } from '../helpers/build.ts';
import { tempDataDir, twoMnistModels } from '../helpers/blackbox.ts';

async function server(t: Parameters<typeof build>[0], keys: string): Promise<string> {
  const modelsDir = await twoMnistModels(t);
  const { app } = await build(t, {
    modelsDir,
    argv: ['--mode', 'blackbox', '--data-dir', await tempDataDir(t), '--model-output', 'mnist-labels=label', '--rate-limit', '100000/minute'],
    env: { GRADLAB_API_KEYS: keys },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

const base = (url: string, model: string, attack: ClientRunOptions['attack'], key: string): ClientRunOptions => ({
  attack,
  url,
  model,
  key,
  images: 3,
  offset: 0,
  dataset: 'mnist',
  seed: 0,
  maxQueries: 200,
  basis: 'dct',
  concurrency: 2,
  substitute: {},
  maxBatch: 64,
  range: [0, 1],
});

test('score-based, decision-based and substitute attacks over HTTP, within budgets', async (t) => {
  const url = await server(t, 'big:100000,small:40');

  const sq = await runClientAttack(base(url, 'mnist', 'square', 'big'));
  assert.equal(sq.report.target.output, 'probabilities');
  assert.equal(sq.report.summary.attacked, 3);
  assert.ok(sq.report.summary.successes >= 2, `square: ${sq.report.summary.successes}/3`);
  for (const img of sq.report.images.filter((i) => i.success)) assert.ok(img.linf <= 0.3 + 1e-6, `L∞ ${img.linf}`);
  assert.equal(sq.report.oracle.queries, sq.report.images.reduce((n, i) => n + i.queries, 0) + sq.report.oracle.quantizedChecks, 'every query is booked to an image or to the 8-bit check');
  assert.equal(sq.report.oracle.quantizedChecks, sq.report.summary.successes, 'one 8-bit check per success');

  const hsj = await runClientAttack({ ...base(url, 'mnist-labels', 'hopskipjump', 'big'), images: 2, maxQueries: 150 });
  assert.equal(hsj.report.target.output, 'label');
  assert.equal(hsj.report.summary.successes, 2, 'HopSkipJump ends misclassified');
  assert.ok(hsj.report.images.every((i) => i.queries <= 150));
  assert.ok(hsj.adversarial.size === 2);

  await assert.rejects(runClientAttack(base(url, 'mnist-labels', 'simba', 'big')), /simba is score-based and this oracle answers labels only/);

  const subOptions = { ...base(url, 'mnist-labels', 'substitute', 'big'), images: 10, substitute: { rounds: 2, epochs: 8 } };
  const sub = await runClientAttack(subOptions);
  assert.deepEqual(sub.report.substitute!.rounds.map((r) => [r.trainingSize, r.queries]), [[150, 150], [300, 300]]);
  assert.equal(sub.report.oracle.queries, 10 + 300 + 10 + sub.report.images.filter((i) => i.success).length);
  const accuracies = sub.report.substitute!.rounds.map((r) => r.accuracy);
  assert.ok(accuracies.every((a) => a > 0.3), `the substitute learns from oracle labels: ${accuracies.join(', ')}`);
  const again = await runClientAttack(subOptions);
  assert.deepEqual(again.report.substitute!.rounds.map((r) => r.accuracy), accuracies, 'the same seed trains the same substitute');

  // 40 queries: 3 clean labels, then SimBA until the server says no more.
  const spent = await runClientAttack({ ...base(url, 'mnist', 'simba', 'small'), maxQueries: 1000 });
  assert.equal(spent.report.oracle.queries, 40);
  assert.equal(spent.report.oracle.serverRemaining, 0);
  assert.match(spent.report.stopped!, /budget/);
  assert.equal(spent.report.images.length, 3, 'the report keeps every image it had');
});
