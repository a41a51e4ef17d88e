/**
 * The one error mapping (src/http/error-response.ts): GradlabErrors with their hints in HTTP words,
 * Fastify/plugin errors, unknown errors (generic 500, details only in the log), a client that went
 * away (info, not error); and the JSON error handler and the registry's hint end to end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { Deadline } from '../../src/deadline.ts';
import { badParameter, GradlabError } from '../../src/errors.ts';
import { errorResponse, INTERNAL_MESSAGE } from '../../src/http/error-response.ts';
import { ModelRegistry } from '../../src/model/registry.ts';
import { build } from '../helpers/build.ts';

test('a GradlabError keeps its status, code, field and message; 4xx log at debug, 5xx at error', () => {
  const bad = errorResponse(badParameter('topK', 'must be at least 1'));
  assert.deepEqual(bad, {
    status: 400,
    body: { error: { code: 'GRADLAB_BAD_PARAMETER', message: 'topK: must be at least 1', field: 'topK' } },
    level: 'debug',
    logMessage: 'topK: must be at least 1',
  });
  const notReady = errorResponse(new GradlabError('GRADLAB_NOT_READY', 'models are still loading'));
  assert.equal(notReady.status, 503);
  assert.equal(notReady.level, 'error');
  assert.deepEqual(notReady.body, { error: { code: 'GRADLAB_NOT_READY', message: 'models are still loading' } });
});

test('core hints become routes and flags only here', () => {
  const registry = new ModelRegistry({ batching: { enabled: false, maxBatchSize: 1, maxWaitMs: 0 } });
  registry.addSequence({ name: 'seq', source: 'memory', warmUp() {}, dispose() {} });
  let thrown: unknown;
  try {
    registry.get('seq');
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown instanceof GradlabError);
  assert.doesNotMatch(thrown.message, /\/v1/, 'the core message names no route');
  const answer = errorResponse(thrown);
  assert.equal(answer.status, 400);
  assert.equal(answer.body.error.message, "'seq' is a sequence model: it takes a sequence, not an image; use POST /v1/models/seq/score");
  assert.equal(answer.body.error.field, 'model');

  const deadline = new Deadline(-1);
  assert.throws(() => deadline.check(), (err: Error) => !err.message.includes('--'));
  try {
    deadline.check();
  } catch (err) {
    const timeout = errorResponse(err);
    assert.equal(timeout.status, 503);
    assert.equal(timeout.body.error.code, 'GRADLAB_TIMEOUT');
    assert.equal(timeout.body.error.message, 'the computation ran past the time limit of -1 ms; ask for fewer steps or samples, or raise --request-timeout-ms');
  }
});

test('Fastify and plugin errors map to gradlab codes, naming the field', () => {
  const validation = Object.assign(new Error('body/image/0 must be array'), {
    validation: [{ instancePath: '/images/2', params: {}, message: 'must be array', keyword: 'type', schemaPath: '#' }],
    validationContext: 'body',
  });
  assert.deepEqual(errorResponse(validation).body, { error: { code: 'GRADLAB_BAD_PARAMETER', message: 'images[2]: must be array', field: 'images[2]' } });
  const tooLarge = Object.assign(new Error('Request body is too large'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 });
  const answer = errorResponse(tooLarge);
  assert.equal(answer.status, 413);
  assert.equal(answer.body.error.code, 'GRADLAB_TOO_LARGE');
  assert.equal(answer.level, 'debug');
});

test('unknown errors are a generic 500: details only in the log', () => {
  for (const thrown of [new TypeError('tensor 0x7f internals'), 'a string', undefined, { statusCode: 500 }]) {
    const answer = errorResponse(thrown);
    assert.equal(answer.status, 500);
    assert.deepEqual(answer.body, { error: { code: 'GRADLAB_INTERNAL', message: INTERNAL_MESSAGE } });
    assert.equal(answer.level, 'error');
    assert.doesNotMatch(JSON.stringify(answer.body), /0x7f|string/);
  }
});

test('a client that disconnected is not a server error', () => {
  const controller = new AbortController();
  controller.abort();
  const deadline = new Deadline(60_000, controller.signal);
  let thrown: unknown;
  try {
    deadline.check();
  } catch (err) {
    thrown = err;
  }
  assert.equal(errorResponse(thrown).level, 'error', 'without the context it looks like a 503');
  const gone = errorResponse(thrown, { clientGone: true });
  assert.equal(gone.level, 'info');
  assert.match(gone.logMessage, /client disconnected/);
  assert.equal(errorResponse(new Error('write after end'), { clientGone: true }).level, 'info');
});

test('the JSON error handler answers with the hint in HTTP words', async (t) => {
  const { app } = await build(t, { sequenceModels: ['rnn-parity'] });
  const res = await request(app.server).post('/v1/models/rnn-parity/classify').send({ image: [[0]] });
  assert.equal(res.status, 400);
  assert.deepEqual(res.body, {
    error: {
      code: 'GRADLAB_UNSUPPORTED_OPERATION',
      message: "'rnn-parity' is a sequence model: it takes a sequence, not an image; use POST /v1/models/rnn-parity/score",
      field: 'model',
    },
  });
  const back = await request(app.server).post('/v1/models/tiny/score').send({ sequence: [1, 0] });
  assert.equal(back.body.error.message, "'tiny' is an image model: it takes an image, not a sequence; use POST /v1/models/tiny/classify");
});
