import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GradlabError, RetryableError } from '../../src/errors.ts';
import { WorkClass, type RejectReason } from '../../src/work/admission.ts';

function observed() {
  const rejected: RejectReason[] = [];
  const waits: number[] = [];
  return { rejected, waits, observer: { depth: () => {}, waited: (_: string, s: number) => waits.push(s), rejected: (_: string, r: RejectReason) => rejected.push(r) } };
}

test('runs up to its concurrency, queues up to its queue size, refuses the rest at once with Retry-After', async () => {
  const o = observed();
  const work = new WorkClass({ name: 'heavy', concurrency: 2, queueSize: 1, maxQueueWaitMs: 10_000 }, o.observer);
  const a = await work.acquire();
  await work.acquire();
  const queued = work.acquire();
  assert.equal(work.queued, 1);
  await assert.rejects(work.acquire(), (err: unknown) => err instanceof RetryableError && err.code === 'GRADLAB_OVERLOADED' && err.statusCode === 503 && err.retryAfterS >= 1);
  assert.deepEqual(o.rejected, ['queue-full']);
  a();
  a(); // releasing twice gives back one slot only
  const c = await queued;
  assert.equal(work.active, 2);
  assert.equal(work.queued, 0);
  c();
  assert.equal(work.active, 1);
});

test('a request that waits longer than the queue wait is refused; one whose client leaves is dropped from the queue', async () => {
  const o = observed();
  const work = new WorkClass({ name: 'heavy', concurrency: 1, queueSize: 4, maxQueueWaitMs: 50 }, o.observer);
  const held = await work.acquire();
  const t0 = Date.now();
  await assert.rejects(work.acquire(), (err: unknown) => err instanceof GradlabError && err.code === 'GRADLAB_OVERLOADED');
  assert.ok(Date.now() - t0 >= 45);
  const gone = new AbortController();
  const leaving = work.acquire(undefined, gone.signal);
  gone.abort();
  await assert.rejects(leaving, (err: unknown) => err instanceof GradlabError && err.code === 'GRADLAB_TIMEOUT');
  assert.equal(work.queued, 0);
  assert.deepEqual(o.rejected, ['queue-wait']);
  held();
  assert.equal(work.active, 0);
});

test('one key may hold only its share (429 for it, others still admitted)', async () => {
  const work = new WorkClass({ name: 'cheap', concurrency: 1, queueSize: 3, maxQueueWaitMs: 10_000, perKeyShare: 2 });
  const first = await work.acquire('alice');
  const second = work.acquire('alice');
  await assert.rejects(work.acquire('alice'), (err: unknown) => err instanceof RetryableError && err.code === 'GRADLAB_RATE_LIMITED' && err.statusCode === 429);
  const bob = work.acquire('bob');
  first();
  (await second)();
  (await bob)();
  assert.equal(work.active, 0);
  (await work.acquire('alice'))();
});

test('close refuses queued and new work with its reason; idle resolves when running work is done', async () => {
  const work = new WorkClass({ name: 'heavy', concurrency: 1, queueSize: 2, maxQueueWaitMs: 10_000 });
  const running = await work.acquire();
  const queued = work.acquire();
  const reason = new GradlabError('GRADLAB_SHUTTING_DOWN', 'shutting down');
  let idle = false;
  const done = work.idle().then(() => (idle = true));
  work.close(reason);
  await assert.rejects(queued, (err: unknown) => err === reason);
  await assert.rejects(work.acquire(), (err: unknown) => err === reason);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(idle, false, 'work still runs');
  running();
  await done;
  assert.equal(idle, true);
});
