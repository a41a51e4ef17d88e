/**
 * Dynamic batching, like Triton's dynamic batcher: classify requests that arrive for one model
 * within `maxWaitMs` of each other are merged into one forward pass of up to `maxBatchSize`
 * images, and each request gets back its own slice. With batching off every request runs alone
 * (split into chunks of at most `maxBatchSize` images).
 */
import type { ImageModel } from './image-model.ts';

export interface BatchingConfig {
  enabled: boolean;
  /** Most images merged into one forward pass. */
  maxBatchSize: number;
  /** Longest a request waits for others to join its batch, in milliseconds. */
  maxWaitMs: number;
}

export interface BatchObservation {
  model: string;
  /** Images in the forward pass. */
  size: number;
  /** Requests merged into it. */
  requests: number;
  seconds: number;
}

export type BatchObserver = (observation: BatchObservation) => void;

interface Pending {
  images: Float32Array[];
  resolve: (probabilities: Float32Array[]) => void;
  reject: (err: unknown) => void;
}

export class DynamicBatcher {
  private queue: Pending[] = [];
  private queuedImages = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly model: ImageModel,
    private readonly config: BatchingConfig,
    private readonly observe: BatchObserver = () => {},
  ) {}

  /** Class probabilities for each image, computed in merged forward passes. */
  async predict(images: Float32Array[]): Promise<Float32Array[]> {
    const max = this.config.maxBatchSize;
    if (images.length <= max) return this.enqueue(images);
    const chunks: Promise<Float32Array[]>[] = [];
    for (let i = 0; i < images.length; i += max) chunks.push(this.enqueue(images.slice(i, i + max)));
    return (await Promise.all(chunks)).flat();
  }

  private enqueue(images: Float32Array[]): Promise<Float32Array[]> {
    if (!this.config.enabled) return Promise.resolve(this.run([{ images, resolve: () => {}, reject: () => {} }], true));
    return new Promise((resolve, reject) => {
      this.queue.push({ images, resolve, reject });
      this.queuedImages += images.length;
      if (this.queuedImages >= this.config.maxBatchSize) this.flush();
      else if (!this.timer) {
        this.timer = setTimeout(() => this.flush(), this.config.maxWaitMs);
      }
    });
  }

  /** Runs queued requests in batches of at most maxBatchSize images. */
  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0) {
      const batch: Pending[] = [];
      let size = 0;
      while (this.queue.length > 0 && size + this.queue[0]!.images.length <= this.config.maxBatchSize) {
        const item = this.queue.shift()!;
        size += item.images.length;
        batch.push(item);
      }
      this.queuedImages -= size;
      this.run(batch, false);
    }
  }

  /** One forward pass over the concatenated images of `batch`; returns the results when `direct`. */
  private run(batch: Pending[], direct: true): Float32Array[];
  private run(batch: Pending[], direct: false): void;
  private run(batch: Pending[], direct: boolean): Float32Array[] | void {
    const all = batch.flatMap((p) => p.images);
    const started = process.hrtime.bigint();
    let probabilities: Float32Array[];
    try {
      probabilities = this.model.predictProbabilities(all);
    } catch (err) {
      if (direct) throw err;
      for (const p of batch) p.reject(err);
      return;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.observe({ model: this.model.name, size: all.length, requests: batch.length, seconds });
    if (direct) return probabilities;
    let offset = 0;
    for (const p of batch) {
      p.resolve(probabilities.slice(offset, offset + p.images.length));
      offset += p.images.length;
    }
  }

  /** Rejects nothing and waits for nothing: flushes what is queued (used at shutdown). */
  drain(): void {
    this.flush();
  }
}
