/**
 * POST /v1/models/:model/score on the hand-wired models: predictions, traces, the error cases
 * (bad symbols, pair shapes, empty and over-long sequences, images to sequence models and
 * sequences to image models), and how sequence models appear in /v1/models and /readyz.
 */
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { build } from '../helpers/build.ts';

const HAND_WIRED = ['rnn-sum', 'rnn-compare', 'rnn-parity'];

test('score: parity with trace, sum, compare', async (t) => {
  const { app } = await build(t, { sequenceModels: HAND_WIRED });
  const parity = await request(app.server).post('/v1/models/rnn-parity/score').send({ sequence: [1, 1, 0, 1], trace: true });
  assert.equal(parity.status, 200, JSON.stringify(parity.body));
  assert.equal(parity.body.model, 'rnn-parity');
  assert.deepEqual(parity.body.prediction, { label: 'odd', index: 1, probability: 1 });
  assert.deepEqual(parity.body.outputs, [1, 0, 0, 1]);
  assert.deepEqual(parity.body.hiddenUnits, ['h1 (AND)', 'h2 (OR)']);
  assert.deepEqual(parity.body.steps, [
    { t: 1, input: 1, hidden: [0, 1], output: 1 },
    { t: 2, input: 1, hidden: [1, 1], output: 0 },
    { t: 3, input: 0, hidden: [0, 0], output: 0 },
    { t: 4, input: 1, hidden: [0, 1], output: 1 },
  ]);
  const noTrace = await request(app.server).post('/v1/models/rnn-parity/score').send({ sequence: '0110' });
  assert.equal(noTrace.body.steps, undefined);
  assert.equal(noTrace.body.prediction.label, 'even');

  const sum = await request(app.server).post('/v1/models/rnn-sum/score').send({ sequence: [1, 2, 3.5, -4] });
  assert.deepEqual([sum.status, sum.body.outputs, sum.body.prediction], [200, [1, 3, 6.5, 2.5], 2.5]);

  const cmp = await request(app.server).post('/v1/models/rnn-compare/score').send({ sequence: [[1, 2], [5, 0], [0, 4]], trace: true });
  assert.equal(cmp.status, 200);
  assert.deepEqual(cmp.body.outputs, [0, 1, 0]);
  assert.deepEqual(cmp.body.steps.map((s: { hidden: number[] }) => s.hidden[0]), [-1, 4, 0]);
  assert.equal(cmp.body.prediction.label, 'first total not larger');
});

test('score: bad sequences are 400s naming the problem', async (t) => {
  const { app } = await build(t, { sequenceModels: HAND_WIRED, argv: ['--max-sequence-length', '8'] });
  const cases: [string, unknown, string, RegExp][] = [
    ['rnn-parity', { sequence: [0, 1, 2] }, 'sequence[2]', /2 is not a bit/],
    ['rnn-parity', { sequence: '01x' }, 'sequence[2]', /"x" is not a bit/],
    ['rnn-compare', { sequence: [[1, 2], [3]] }, 'sequence[1]', /must be a pair/],
    ['rnn-compare', { sequence: [1, 2] }, 'sequence[0]', /must be a pair/],
    ['rnn-sum', { sequence: [] }, 'sequence', /is empty/],
    ['rnn-sum', { sequence: [1, 2, 3, 4, 5, 6, 7, 8, 9] }, 'sequence', /9 steps, more than the limit of 8/],
    ['rnn-sum', { sequence: [1, 'two'] }, 'sequence[1]', /not a finite number/],
    ['rnn-sum', {}, 'sequence', /required/],
    ['rnn-sum', { sequence: [1], trace: 'yes' }, 'trace', /boolean/],
    ['rnn-sum', { sequence: [1], extra: 1 }, 'extra', /./],
    ['rnn-parity', { image: 'iVBORw0KGgo=' }, 'image', /sequence model: send 'sequence', not an image/],
  ];
  for (const [model, body, field, message] of cases) {
    const res = await request(app.server).post(`/v1/models/${model}/score`).send(body as object);
    assert.equal(res.status, 400, `${model} ${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error.code, 'GRADLAB_BAD_PARAMETER', JSON.stringify(res.body));
    assert.equal(res.body.error.field, field, JSON.stringify(res.body));
    assert.match(res.body.error.message, message);
  }
});

test('score: a sequence to an image model and an image to a sequence model are 400s; unknown models 404', async (t) => {
  const { app } = await build(t, { sequenceModels: ['rnn-parity'] });
  const toImage = await request(app.server).post('/v1/models/tiny/score').send({ sequence: [0, 1] });
  assert.equal(toImage.status, 400);
  assert.equal(toImage.body.error.code, 'GRADLAB_UNSUPPORTED_OPERATION');
  assert.equal(toImage.body.error.field, 'model');
  assert.match(toImage.body.error.message, /'tiny' is an image model/);
  const classify = await request(app.server).post('/v1/models/rnn-parity/classify').send({ image: [[0]] });
  assert.equal(classify.status, 400);
  assert.equal(classify.body.error.code, 'GRADLAB_UNSUPPORTED_OPERATION');
  assert.match(classify.body.error.message, /'rnn-parity' is a sequence model.*\/score/);
  const unknown = await request(app.server).post('/v1/models/nope/score').send({ sequence: [0] });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error.code, 'GRADLAB_UNKNOWN_MODEL');
});

test('GET /v1/models shows sequence models with their construction; /readyz lists every model', async (t) => {
  const { app } = await build(t, { sequenceModels: HAND_WIRED });
  const list = await request(app.server).get('/v1/models');
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.models.map((m: { name: string }) => m.name), ['rnn-compare', 'rnn-parity', 'rnn-sum', 'tiny']);
  const parity = await request(app.server).get('/v1/models/rnn-parity');
  assert.equal(parity.body.kind, 'sequence');
  assert.equal(parity.body.task, 'classifier');
  assert.equal(parity.body.format, 'hand-wired');
  assert.deepEqual(parity.body.labels, ['even', 'odd']);
  assert.match(parity.body.construction, /AND.*OR.*XOR/s);
  assert.deepEqual(parity.body.architecture.weights.b_h, [-1.5, -0.5]);
  assert.deepEqual(parity.body.input, { type: 'bits', encoding: 'values' });
  const ready = await request(app.server).get('/readyz');
  assert.deepEqual(ready.body.models, ['rnn-compare', 'rnn-parity', 'rnn-sum', 'tiny']);
});

test('black-box mode serves no /score and hides sequence models', async (t) => {
  const { app } = await build(t, { sequenceModels: ['rnn-parity'], argv: ['--mode', 'blackbox', '--allow-no-keys', 'yes'] });
  assert.equal((await request(app.server).post('/v1/models/rnn-parity/score').send({ sequence: [1] })).status, 404);
  const list = await request(app.server).get('/v1/models');
  assert.deepEqual(list.body.models.map((m: { name: string }) => m.name), ['tiny']);
  assert.equal((await request(app.server).get('/v1/models/rnn-parity')).status, 404);
});

const spamMissing = existsSync('models/spam-rnn/manifest.json') ? false : 'models/spam-rnn not trained yet';

test('explain on a sequence classifier: per-token gradient attribution; hand-wired models answer 400', { skip: spamMissing }, async (t) => {
  const { app } = await build(t, { sequenceModels: ['spam-rnn', 'rnn-parity'] });
  const res = await request(app.server).post('/v1/models/spam-rnn/explain')
    .send({ method: 'gradient', sequence: 'Subject: FREE money!!! Click here to claim your prize now', target: 'spam' });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.model, 'spam-rnn');
  assert.equal(res.body.target.label, 'spam');
  assert.equal(res.body.tokens[0].token, 'subject');
  assert.ok(res.body.tokens.every((x: { attribution: number; gradientNorm: number }) => Number.isFinite(x.attribution) && x.gradientNorm >= 0));
  const score = await request(app.server).post('/v1/models/spam-rnn/score').send({ sequence: 'hi bob, lunch tomorrow?' });
  assert.equal(score.status, 200);
  assert.equal(score.body.outputs.length, 5); // hi bob lunch tomorrow ?
  const bad = await request(app.server).post('/v1/models/spam-rnn/explain').send({ method: 'gradcam', sequence: 'hi' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.field, 'method');
  const hand = await request(app.server).post('/v1/models/rnn-parity/explain').send({ method: 'gradient', sequence: '0110' });
  assert.equal(hand.status, 400);
  assert.equal(hand.body.error.code, 'GRADLAB_UNSUPPORTED_OPERATION');
});
