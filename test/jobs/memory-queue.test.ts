/**
 * The in-process job queue on its own, with a runner that the test controls: FIFO at the given
 * concurrency, a full queue refused with Retry-After, progress and state events, cancelling
 * queued and running jobs, results forgotten after their TTL, internal errors kept generic, and
 * close failing what waits and stopping what runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GradlabError, RetryableError } from '../../src/errors.ts';
import { MemoryJobQueue } from '../../src/jobs/memory-queue.ts';
import type { JobEvent, JobPayload, JobRunner } from '../../src/jobs/types.ts';

const payload = (model = 'm'): JobPayload => ({ job: { kind: 'visualize', model, request: {} }, answer: { kind: 'visualize', options: {} } });

/** A runner whose jobs finish when the test says so (or stop when their signal aborts). */
function controlledRunner() {
  const pending = new Map<string, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  const runner: JobRunner = (p, control) => new Promise((resolve, reject) => {
    control.onProgress?.({ step: 1, steps: 2, objective: 0 });
    control.signal.addEventListener('abort', () => reject(control.signal.reason instanceof Error ? control.signal.reason : new GradlabError('GRADLAB_TIMEOUT', 'cancelled')), { once: true });
    pending.set(p.job.model, { resolve, reject });
  });
  return { runner, pending };
}

const tick = () => new Promise((r) => setTimeout(r, 10));

test('FIFO at the concurrency, queue limit, progress and state events, results', async () => {
  const { runner, pending } = controlledRunner();
  const queue = new MemoryJobQueue(runner, { concurrency: 1, ttlS: 60, timeoutMs: 1000, maxQueued: 2 });
  const a = await queue.submit(payload('a'));
  assert.deepEqual({ state: a.state, attempts: a.attempts }, { state: 'queued', attempts: 0 });
  const events: JobEvent[] = [];
  queue.subscribe(a.id, (e) => events.push(e));
  await tick();
  const b = await queue.submit(payload('b'));
  await queue.submit(payload('c'));
  await assert.rejects(queue.submit(payload('d')), (err: unknown) => err instanceof RetryableError && err.code === 'GRADLAB_OVERLOADED' && err.retryAfterS > 0);
  assert.deepEqual(await queue.depth(), { queued: 2, running: 1 });
  assert.equal((await queue.get(a.id))!.state, 'running');
  assert.equal((await queue.get(b.id))!.state, 'queued');
  pending.get('a')!.resolve({ answer: 42 });
  await tick();
  assert.equal((await queue.get(b.id))!.state, 'running', 'the next job starts when a slot frees');
  const done = await queue.get(a.id);
  assert.equal(done!.state, 'succeeded');
  assert.deepEqual(done!.result, { answer: 42 });
  // The job started (and reported progress) before the subscription: a subscriber hears what follows.
  assert.deepEqual(events.map((e) => (e.type === 'state' ? e.job.state : 'progress')), ['succeeded']);
  const c = (await queue.get(b.id))!;
  const later: JobEvent[] = [];
  queue.subscribe(c.id, (e) => later.push(e));
  pending.get('b')!.resolve(1);
  await tick();
  assert.deepEqual(later.map((e) => (e.type === 'state' ? e.job.state : 'progress')), ['succeeded']);
  await queue.close();
});

test('cancel queued and running jobs; errors: coded ones kept, others generic; TTL; close', async () => {
  const { runner, pending } = controlledRunner();
  const internal: unknown[] = [];
  const queue = new MemoryJobQueue(runner, { concurrency: 1, ttlS: 0.05, timeoutMs: 1000, maxQueued: 10, onInternalError: (err) => internal.push(err) });
  const running = await queue.submit(payload('r'));
  const waiting = await queue.submit(payload('w'));
  await tick();
  assert.equal((await queue.cancel(waiting.id))!.state, 'cancelled');
  await queue.cancel(running.id);
  await tick();
  const stopped = await queue.get(running.id);
  assert.equal(stopped!.state, 'cancelled');
  assert.equal(stopped!.error!.code, 'GRADLAB_CANCELLED');
  const bad = await queue.submit(payload('bad'));
  await tick();
  pending.get('bad')!.reject(new GradlabError('GRADLAB_BAD_PARAMETER', 'target: no such class', 'target'));
  const crash = await queue.submit(payload('crash'));
  await tick();
  pending.get('crash')!.reject(new Error('secret internals at /home/x'));
  await tick();
  assert.deepEqual((await queue.get(bad.id))!.error, { code: 'GRADLAB_BAD_PARAMETER', message: 'target: no such class', field: 'target' });
  const crashed = (await queue.get(crash.id))!;
  assert.equal(crashed.error!.code, 'GRADLAB_INTERNAL');
  assert.doesNotMatch(crashed.error!.message, /secret/);
  assert.equal(internal.length, 1, 'the details go to the log');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(await queue.get(bad.id), undefined, 'forgotten after the TTL');
  assert.equal(await queue.cancel('no-such-id'), undefined);
  const last = await queue.submit(payload('last'));
  const after = await queue.submit(payload('after'));
  await tick();
  await queue.close();
  await tick();
  assert.equal((await queue.get(after.id))!.error!.code, 'GRADLAB_SHUTTING_DOWN');
  assert.equal((await queue.get(last.id))!.error!.code, 'GRADLAB_SHUTTING_DOWN');
  await assert.rejects(queue.submit(payload()), (err: unknown) => (err as GradlabError).code === 'GRADLAB_SHUTTING_DOWN');
});
