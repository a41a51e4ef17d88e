/**
 * The job queue's Prometheus metrics, on every process that has a queue (API replicas and
 * workers): how many jobs wait and run (read from the queue itself at scrape time, so with Redis
 * every replica reports the whole deployment's depth: the signal an autoscaler needs), how long
 * jobs waited before they started, how long they ran, and how they ended.
 */
import client from 'prom-client';
import type { JobObserver, JobQueue, JobState } from './types.ts';

export class JobMetrics implements JobObserver {
  readonly wait: client.Histogram<'kind'>;
  readonly duration: client.Histogram<'kind' | 'state'>;
  readonly finishedTotal: client.Counter<'kind' | 'state'>;

  constructor(registry: client.Registry, queue: () => JobQueue | undefined) {
    const registers = [registry];
    const buckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];
    new client.Gauge({
      name: 'gradlab_jobs_queue_depth',
      help: 'Jobs in the queue by state (queued: waiting for a worker; running), for the whole deployment when the queue is in Redis',
      labelNames: ['state'],
      registers,
      async collect() {
        const q = queue();
        if (!q) return;
        try {
          const depth = await q.depth();
          this.set({ state: 'queued' }, depth.queued);
          this.set({ state: 'running' }, depth.running);
        } catch {
          // Redis away: leave the last figures rather than fail the whole scrape.
        }
      },
    });
    this.wait = new client.Histogram({ name: 'gradlab_jobs_wait_seconds', help: 'Time jobs waited in the queue before they started, by kind', labelNames: ['kind'], buckets, registers });
    this.duration = new client.Histogram({ name: 'gradlab_jobs_duration_seconds', help: 'Time jobs ran, by kind and final state', labelNames: ['kind', 'state'], buckets, registers });
    this.finishedTotal = new client.Counter({ name: 'gradlab_jobs_finished_total', help: 'Jobs finished here, by kind and final state (failed: failures)', labelNames: ['kind', 'state'], registers });
  }

  started(kind: string, waitMs: number): void {
    this.wait.observe({ kind }, Math.max(0, waitMs) / 1000);
  }

  finished(kind: string, state: JobState, durationMs: number): void {
    this.duration.observe({ kind, state }, Math.max(0, durationMs) / 1000);
    this.finishedTotal.inc({ kind, state });
  }
}
