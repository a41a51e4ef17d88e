/**
 * The heavy executor that runs jobs in this thread on the registry's own models: simple to debug
 * and what tests that count tensors need, but a long job blocks the event loop while it computes
 * (`--heavy-workers 0`).
 */
import { Deadline } from '../deadline.ts';
import type { ImageModel } from '../model/image-model.ts';
import type { HeavyExecutor, JobControl } from './executor.ts';
import { runHeavyJob, type HeavyJob, type HeavyResult } from './jobs.ts';

export class InProcessExecutor implements HeavyExecutor {
  readonly description = 'in-process';
  readonly slots = 1;

  constructor(private readonly modelOf: (name: string) => ImageModel) {}

  async start(): Promise<void> {}

  submit(job: HeavyJob, control: JobControl): Promise<HeavyResult> {
    const deadline = new Deadline(control.limitMs, control.signal, control.startedAt);
    return runHeavyJob(this.modelOf(job.model), job, deadline, control.onProgress);
  }

  async close(): Promise<void> {}
}
