/** The HTTP oracle against a scripted server: answer forms, books, rate limits, budgets, errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BudgetExhausted, HttpOracle, OracleError, parseTarget } from '../../src/client/oracle.ts';

type Reply = { status: number; body: unknown; headers?: Record<string, string> };

/** A fetch that answers the model description, then the scripted classify replies in order. */
function scripted(replies: Reply[], seen: { url: string; body?: unknown; headers?: unknown }[] = []): typeof fetch {
  return ((url: string, init?: RequestInit) => {
    seen.push({ url, ...(init?.body ? { body: JSON.parse(init.body as string) } : {}), headers: init?.headers });
    if (!init?.method) {
      return Promise.resolve(new Response(JSON.stringify({ name: 'm', labels: ['a', 'b', 'c', 'd'], input: { shape: [2, 2, 1] } }), { status: 200, headers: { 'x-budget-remaining': '10' } }));
    }
    const r = replies.shift()!;
    return Promise.resolve(new Response(JSON.stringify(r.body), { status: r.status, headers: r.headers ?? {} }));
  }) as typeof fetch;
}

const image = () => Float32Array.of(0.1, 0.2, 0.3, 0.123456789);

test('targets: a server and a model name, or the classify URL', () => {
  assert.deepEqual(parseTarget('http://h:1/v1/models/mnist/classify'), { base: 'http://h:1', model: 'mnist' });
  assert.deepEqual(parseTarget('http://h:1/', 'mnist'), { base: 'http://h:1', model: 'mnist' });
  assert.throws(() => parseTarget('http://h:1'), /give the model name/);
});

test('answers: full probabilities, top-k with the rest shared out, label only', async () => {
  const seen: { url: string; body?: unknown; headers?: unknown }[] = [];
  const fetcher = scripted(
    [
      { status: 200, body: { results: [{ predictions: [{ label: 'b', index: 1, probability: 0.7 }, { label: 'a', index: 0, probability: 0.2 }] }] }, headers: { 'x-budget-remaining': '9' } },
      { status: 200, body: { results: [{ predictions: [{ label: 'c', index: 2 }] }] } },
    ],
    seen,
  );
  const oracle = await HttpOracle.connect({ url: 'http://x', model: 'm', key: 'k', fetch: fetcher });
  assert.deepEqual(oracle.model, { name: 'm', labels: ['a', 'b', 'c', 'd'], inputShape: [2, 2, 1] });
  assert.equal(oracle.remaining, 10);
  const [topk] = await oracle.classify([image()]);
  assert.equal(topk!.label, 1);
  assert.deepEqual(Array.from(topk!.probabilities!, (p) => Math.round(p * 100) / 100), [0.2, 0.7, 0.05, 0.05]);
  assert.equal(oracle.remaining, 9);
  const [label] = await oracle.classify([image()]);
  assert.deepEqual(label, { label: 2 });
  assert.equal(oracle.scores, false);
  assert.equal(oracle.queries, 2);
  assert.deepEqual((seen[1]!.body as { images: unknown }).images, [[[0.1, 0.2], [0.3, 0.123457]]]);
  assert.equal((seen[1]!.headers as Record<string, string>)['x-api-key'], 'k');
});

test('rate limits are waited out; a spent budget is BudgetExhausted; a client cap is kept', async () => {
  const fetcher = scripted([
    { status: 429, body: { error: { code: 'GRADLAB_RATE_LIMITED', message: 'slow down' } }, headers: { 'retry-after': '0.05' } },
    { status: 200, body: { results: [{ predictions: [{ label: 'a', index: 0, probability: 1 }] }] } },
    { status: 429, body: { error: { code: 'GRADLAB_BUDGET_EXHAUSTED', message: 'spent' } }, headers: { 'x-budget-remaining': '0' } },
  ]);
  const notices: string[] = [];
  const oracle = await HttpOracle.connect({ url: 'http://x/v1/models/m/classify', fetch: fetcher, budget: 3, onNotice: (m) => notices.push(m) });
  await oracle.classify([image()]);
  assert.equal(oracle.requests, 2);
  assert.ok(oracle.waitedMs >= 40);
  assert.match(notices[0]!, /rate limited/);
  await assert.rejects(oracle.classify([image()]), BudgetExhausted);
  assert.equal(oracle.remaining, 0);
  const capped = await HttpOracle.connect({ url: 'http://x/v1/models/m/classify', fetch: scripted([]), budget: 2 });
  await assert.rejects(capped.classify([image(), image(), image()]), /3 queries asked with 2 left/);
  assert.equal(capped.requests, 0, 'nothing is sent that the budget cannot pay for');
});

test('refusals become OracleErrors with the server message', async () => {
  const fetcher = scripted([{ status: 400, body: { error: { code: 'GRADLAB_BAD_PIXELS', message: 'wrong shape' } } }]);
  const oracle = await HttpOracle.connect({ url: 'http://x/v1/models/m/classify', fetch: fetcher });
  await assert.rejects(oracle.classify([image()]), (err: Error) => err instanceof OracleError && /400 GRADLAB_BAD_PIXELS wrong shape/.test(err.message));
  const unauthorised = (() => Promise.resolve(new Response(JSON.stringify({ error: { code: 'GRADLAB_UNAUTHORIZED', message: 'the API key is not valid' } }), { status: 401 }))) as unknown as typeof fetch;
  await assert.rejects(HttpOracle.connect({ url: 'http://x/v1/models/m/classify', fetch: unauthorised }), /401 the API key is not valid/);
});
