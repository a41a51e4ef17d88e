/**
 * Server-sent events for long computations: takes over the raw response, writes `event: NAME`
 * frames, and reports when the client goes away so that the computation can stop.
 * `streamHeavyWork` is the whole answer of a heavy route (attack, explain, visualize) asked for
 * `Accept: text/event-stream`: throttled `progress` events, then one `result` event, or an `error`
 * event; refusals and bad input before the job starts stay plain JSON answers.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HeavyJob, HeavyProgress, HeavyResult } from '../work/jobs.ts';
import { errorResponse } from './error-response.ts';
import type { WorkRuntime } from './work.ts';

/** At most ~20 progress events a second: enough for a progress bar, little for the client to parse. */
const PROGRESS_INTERVAL_MS = 50;

export interface EventStream {
  send(event: string, data: unknown): void;
  end(): void;
  /** Aborted when the client disconnects. */
  signal: AbortSignal;
}

export function wantsEventStream(request: FastifyRequest): boolean {
  return /\btext\/event-stream\b/.test(request.headers.accept ?? '');
}

export function openEventStream(request: FastifyRequest, reply: FastifyReply): EventStream {
  const controller = new AbortController();
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-request-id': request.id,
  });
  res.flushHeaders?.();
  let closed = false;
  res.on('close', () => {
    closed = true;
    controller.abort();
  });
  return {
    send(event, data) {
      if (!closed) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    end() {
      if (!closed) res.end();
    },
    signal: controller.signal,
  };
}

/** An abort signal that fires when the client closes the connection before the answer is sent. */
export function clientGoneSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}

/** What a route streams: its job's progress events and how to compute the `result` event. */
export interface StreamedWork<P extends HeavyProgress> {
  /** For the log lines of a failed stream, e.g. `attack`. */
  label: string;
  model: string;
  /** The request's cost (checked against `--max-cost` before anything runs). */
  cost: number | undefined;
  /** The run's last event: always sent, whatever the throttle. */
  isLast(event: P): boolean;
  /** The `progress` event's data (default: the event as the core reported it). */
  progressData?(event: P): unknown;
  /** Sees every progress event, throttled or not (metrics). */
  onEvery?(event: P): void;
  /**
   * Computes the `result` event's data. The stream opens when the job is submitted: anything
   * thrown before (decoding, a bad baseline) is a plain JSON error answer.
   */
  run(submit: (job: HeavyJob) => Promise<HeavyResult>): Promise<unknown>;
}

/** Answers a heavy request as an event stream (see the module comment); a client that leaves stops the job. */
export async function streamHeavyWork<P extends HeavyProgress>(work: WorkRuntime, request: FastifyRequest, reply: FastifyReply, streamed: StreamedWork<P>): Promise<FastifyReply> {
  let stream: EventStream | undefined;
  let lastSent = 0;
  const onProgress = (event: HeavyProgress) => {
    // The job is the route's own: its core reports only this kind of event.
    const e = event as P;
    streamed.onEvery?.(e);
    const now = Date.now();
    if (now - lastSent < PROGRESS_INTERVAL_MS && !streamed.isLast(e)) return;
    lastSent = now;
    stream?.send('progress', streamed.progressData ? streamed.progressData(e) : e);
  };
  try {
    await work.heavyWork(request, streamed.cost, clientGoneSignal(reply), async (submit) => {
      const result = await streamed.run((job) => {
        // The stream opens once the job has its slot and its inputs: until then a refusal is a plain 4xx/5xx.
        stream ??= openEventStream(request, reply);
        return submit(job, onProgress);
      });
      (stream ??= openEventStream(request, reply)).send('result', result);
    });
  } catch (err) {
    if (!stream) throw err;
    // The same answer as the JSON error handler gives, as an `error` event (shutdown included).
    const answer = errorResponse(err, { clientGone: stream.signal.aborted });
    if (stream.signal.aborted) request.log.info({ model: streamed.model, code: answer.body.error.code }, `${streamed.label} stream: ${answer.logMessage}`);
    else request.log[answer.level]({ err, model: streamed.model }, `${streamed.label} stream: ${answer.logMessage}`);
    stream.send('error', answer.body);
  } finally {
    stream?.end();
  }
  return reply;
}
