/**
 * The default heavy executor: N worker threads (heavy-worker.ts), each with its own backend and
 * copy of the models, so that explanations, visualisations and attacks never block the event
 * loop that answers health checks and classify. One job per worker at a time (the heavy work
 * class admits no more than `slots`); cancellation through a shared flag the job's Deadline reads
 * each step; a worker that dies fails its job with a 500 and is replaced.
 */
import { Worker } from 'node:worker_threads';
import type { BackendChoice, NativeMode } from '../backend/index.ts';
import { GradlabError } from '../errors.ts';
import { CANCEL_CODES, cancelError, codeOfAbort, newCancelFlag, setCancel } from './cancel.ts';
import type { HeavyExecutor, JobControl } from './executor.ts';
import type { FromWorker, ToWorker, WorkerError, WorkerSetup } from './heavy-worker.ts';
import { restoreBuffers, transferables, type HeavyJob, type HeavyProgress, type HeavyResult } from './jobs.ts';

interface Pending {
  resolve: (r: HeavyResult) => void;
  reject: (e: Error) => void;
  onProgress: ((e: HeavyProgress) => void) | undefined;
}

interface Slot {
  worker: Worker;
  busy: Pending & { id: number } | undefined;
}

/** A worker running a TypeScript entry: tsx is registered in the thread before the entry loads. */
function startWorker(setup: WorkerSetup): Worker {
  const entry = new URL('./heavy-worker.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true, workerData: setup });
}

/** The worker's error as the core error it was (codes, fields, hints survive); anything else a plain Error. */
function rebuildError(e: WorkerError): Error {
  if (e.code) return new GradlabError(e.code, e.message, e.field, e.hint);
  const err = new Error(e.message);
  if (e.stack) err.stack = e.stack;
  return err;
}

export class WorkerPoolExecutor implements HeavyExecutor {
  private readonly workers: Slot[] = [];
  private readonly waiting: { job: HeavyJob; control: JobControl; pending: Pending }[] = [];
  private setup: WorkerSetup | undefined;
  private nextId = 1;
  private closing = false;
  /** The kernels the workers run in oneDNN (from the first worker to start; all start alike). */
  nativeKernels: string[] = [];

  constructor(
    readonly slots: number,
    private readonly backend: BackendChoice,
    private readonly native: NativeMode = 'auto',
  ) {}

  get description(): string {
    return `workers:${this.slots}`;
  }

  async start(models: { name: string; source: string }[]): Promise<void> {
    this.setup = { backend: this.backend, native: this.native, models };
    await Promise.all(Array.from({ length: this.slots }, () => this.spawn()));
  }

  private spawn(): Promise<void> {
    const worker = startWorker(this.setup!);
    const slot: Slot = { worker, busy: undefined };
    return new Promise((resolve, reject) => {
      // Dying before it is ready (a model that fails to load) fails the start, not a job.
      const early = (code: number) => reject(new Error(`a heavy worker exited with code ${code} while starting`));
      worker.once('exit', early);
      worker.once('message', (m: FromWorker) => {
        worker.off('exit', early);
        if (m.type !== 'ready') {
          void worker.terminate();
          reject(new Error(`a heavy worker could not start: ${m.type === 'failed' ? m.message : m.type}`));
          return;
        }
        this.nativeKernels = m.nativeKernels;
        worker.on('message', (message: FromWorker) => this.onMessage(slot, message));
        this.workers.push(slot);
        this.dispatch();
        resolve();
      });
      worker.on('error', (err) => this.onDeath(slot, err));
      worker.on('exit', (code) => this.onDeath(slot, new Error(`the heavy worker exited with code ${code}`)));
    });
  }

  private onMessage(slot: Slot, m: FromWorker): void {
    const busy = slot.busy;
    if (!busy || !('id' in m) || m.id !== busy.id) return;
    if (m.type === 'progress') {
      busy.onProgress?.(m.event as HeavyProgress);
      return;
    }
    slot.busy = undefined;
    if (m.type === 'done') busy.resolve(restoreBuffers(m.result as HeavyResult));
    else if (m.type === 'error') busy.reject(rebuildError(m.error));
    this.dispatch();
  }

  private onDeath(slot: Slot, err: Error): void {
    const at = this.workers.indexOf(slot);
    if (at < 0) return;
    this.workers.splice(at, 1);
    slot.busy?.reject(new Error(`heavy worker failed: ${err.message}`));
    slot.busy = undefined;
    if (!this.closing) this.spawn().catch(() => undefined);
  }

  submit(job: HeavyJob, control: JobControl): Promise<HeavyResult> {
    if (this.closing) return Promise.reject(cancelError(CANCEL_CODES.shutdown));
    return new Promise((resolve, reject) => {
      this.waiting.push({ job, control, pending: { resolve, reject, onProgress: control.onProgress } });
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const slot of this.workers) {
      if (slot.busy) continue;
      const next = this.waiting.shift();
      if (!next) return;
      const { job, control, pending } = next;
      if (control.signal.aborted) {
        pending.reject(cancelError(codeOfAbort(control.signal)));
        continue;
      }
      const id = this.nextId++;
      const cancel = newCancelFlag();
      const onAbort = () => setCancel(cancel, codeOfAbort(control.signal));
      control.signal.addEventListener('abort', onAbort, { once: true });
      const settle = <T>(f: (v: T) => void) => (v: T) => {
        control.signal.removeEventListener('abort', onAbort);
        f(v);
      };
      slot.busy = { id, resolve: settle(pending.resolve), reject: settle(pending.reject), onProgress: pending.onProgress };
      const message: ToWorker = { type: 'run', id, job, cancel, limitMs: control.limitMs, startedAt: control.startedAt };
      slot.worker.postMessage(message, transferables(job));
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const w of this.waiting.splice(0)) w.pending.reject(cancelError(CANCEL_CODES.shutdown));
    const workers = this.workers.splice(0);
    for (const slot of workers) slot.busy?.reject(cancelError(CANCEL_CODES.shutdown));
    await Promise.all(workers.map((s) => s.worker.terminate()));
  }
}
