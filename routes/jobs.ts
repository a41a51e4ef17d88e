/**
 * Jobs: `GET /v1/jobs/:id` (state, progress, and the result or error once finished),
 * `GET /v1/jobs/:id/events` (SSE: a `state` event now and at every change, throttled `progress`
 * events, then one `result` or `error` event, from any replica when the queue is in Redis) and
 * `DELETE /v1/jobs/:id` (cancel). Jobs are created by the heavy routes with
 * `Prefer: respond-async` (src/http/jobs.ts). An unknown or expired id is a 404.
 */
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { GradlabError } from '../src/errors.ts';
import type { AppContext } from '../src/http/context.ts';
import { jobBody } from '../src/http/jobs.ts';
import { openEventStream } from '../src/http/sse.ts';
import { isFinished, type JobEvent, type JobView } from '../src/jobs/types.ts';

export const JobParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }),
});

/** At most ~20 progress events a second, as for the synchronous streams. */
const PROGRESS_INTERVAL_MS = 50;
/**
 * How often an open stream also reads the job's state itself: an event missed while the
 * connection to Redis was down (a job that finished meanwhile) must not leave the stream open forever.
 */
const STATE_POLL_MS = 2_000;

const noSuchJob = (id: string) => new GradlabError('GRADLAB_NOT_FOUND', `no job '${id}': it never existed, or it finished more than --job-ttl-s seconds ago and was deleted`, 'id');

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify's async plugin form: async turns a registration error into the rejection app.register awaits
export const jobRoutes: FastifyPluginAsync<AppContext> = async (app, ctx) => {
  const jobs = ctx.jobs!;
  const find = async (id: string) => (await jobs.queue.get(id)) ?? Promise.reject(noSuchJob(id));

  app.get<{ Params: Static<typeof JobParams> }>('/v1/jobs/:id', { schema: { params: JobParams } }, async (request, reply) => {
    const view = await find(request.params.id);
    // A client polling a job that is not finished is told when to look again.
    if (!isFinished(view.state)) void reply.header('retry-after', 1);
    return jobBody(view);
  });

  app.delete<{ Params: Static<typeof JobParams> }>('/v1/jobs/:id', { schema: { params: JobParams } }, async (request) => {
    const view = await jobs.queue.cancel(request.params.id);
    if (!view) throw noSuchJob(request.params.id);
    return jobBody(view);
  });

  app.get<{ Params: Static<typeof JobParams> }>('/v1/jobs/:id/events', { schema: { params: JobParams } }, async (request, reply) => {
    const { id } = request.params;
    // Subscribed before reading the state, so that no change between the two is missed.
    const pending: JobEvent[] = [];
    let deliver: (event: JobEvent) => void = (event) => pending.push(event);
    const unsubscribe = jobs.queue.subscribe(id, (event) => deliver(event));
    let view: JobView;
    try {
      view = await find(id);
    } catch (err) {
      unsubscribe();
      throw err;
    }
    const stream = openEventStream(request, reply);
    let lastProgress = 0;
    let done = false;
    let poll: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      const finish = (final: JobView) => {
        done = true;
        if (final.state === 'succeeded') stream.send('result', final.result);
        else stream.send('error', { error: final.error ?? { code: 'GRADLAB_INTERNAL', message: 'the job failed' } });
        resolve();
      };
      let lastState = '';
      const onState = (job: JobView) => {
        if (done || (job.state === lastState && !isFinished(job.state))) return;
        lastState = job.state;
        const { result: _result, ...state } = job;
        stream.send('state', state);
        if (isFinished(job.state)) finish(job);
      };
      deliver = (event) => {
        if (done) return;
        if (event.type === 'state') return onState(event.job);
        const now = Date.now();
        if (now - lastProgress < PROGRESS_INTERVAL_MS) return;
        lastProgress = now;
        stream.send('progress', event.progress);
      };
      onState(view);
      for (const event of pending.splice(0)) deliver(event);
      if (done) return;
      poll = setInterval(() => {
        jobs.queue.get(id).then((job) => job && onState(job), () => undefined);
      }, STATE_POLL_MS);
      stream.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    clearInterval(poll);
    unsubscribe();
    stream.end();
    return reply;
  });
};
