/**
 * Prometheus metrics for one app instance (its own prom-client Registry, so that several apps in
 * one test process do not collide): requests by route/model/status, request latency, inference
 * time and batch sizes per model, tfjs memory, the work classes' queues (depth, running, wait,
 * refusals) and the process defaults (event loop delay among them).
 */
import * as tf from '@tensorflow/tfjs';
import client from 'prom-client';
import type { BatchObservation } from '../model/batcher.ts';
import type { AdmissionObserver, RejectReason } from '../work/admission.ts';

export class Metrics {
  readonly registry = new client.Registry();
  readonly requests: client.Counter<'method' | 'route' | 'model' | 'status'>;
  readonly latency: client.Histogram<'method' | 'route' | 'model'>;
  readonly inference: client.Histogram<'model'>;
  readonly batchSize: client.Histogram<'model'>;
  readonly imagesClassified: client.Counter<'model'>;
  readonly attackSteps: client.Counter<'model' | 'method'>;
  readonly queued: client.Gauge<'class'>;
  readonly running: client.Gauge<'class'>;
  readonly queueWait: client.Histogram<'class'>;
  readonly rejections: client.Counter<'class' | 'reason'>;

  constructor() {
    const registers = [this.registry];
    client.collectDefaultMetrics({ register: this.registry });
    this.requests = new client.Counter({
      name: 'gradlab_http_requests_total',
      help: 'HTTP requests answered, by method, route, model and status code',
      labelNames: ['method', 'route', 'model', 'status'],
      registers,
    });
    this.latency = new client.Histogram({
      name: 'gradlab_http_request_duration_seconds',
      help: 'Time from request to response, by method, route and model',
      labelNames: ['method', 'route', 'model'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.inference = new client.Histogram({
      name: 'gradlab_inference_seconds',
      help: 'Time of one forward pass (one merged batch), by model',
      labelNames: ['model'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.batchSize = new client.Histogram({
      name: 'gradlab_batch_size',
      help: 'Images per forward pass after dynamic batching, by model',
      labelNames: ['model'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    });
    this.imagesClassified = new client.Counter({
      name: 'gradlab_images_classified_total',
      help: 'Images classified, by model',
      labelNames: ['model'],
      registers,
    });
    this.attackSteps = new client.Counter({
      name: 'gradlab_attack_steps_total',
      help: 'Attack iterations run (each a gradient step over the request batch), by model and method',
      labelNames: ['model', 'method'],
      registers,
    });
    this.queued = new client.Gauge({ name: 'gradlab_work_queued', help: 'Requests waiting for a slot, by work class (cheap, heavy)', labelNames: ['class'], registers });
    this.running = new client.Gauge({ name: 'gradlab_work_running', help: 'Requests holding a slot, by work class', labelNames: ['class'], registers });
    this.queueWait = new client.Histogram({
      name: 'gradlab_work_queue_wait_seconds',
      help: 'Time a request waited for its slot, by work class',
      labelNames: ['class'],
      buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.rejections = new client.Counter({
      name: 'gradlab_work_rejected_total',
      help: 'Requests refused before any work, by work class and reason (queue-full, queue-wait, key-share, shutdown)',
      labelNames: ['class', 'reason'],
      registers,
    });
    new client.Gauge({
      name: 'gradlab_tfjs_tensors',
      help: 'Live tfjs tensors (tf.memory().numTensors)',
      registers,
      collect() {
        this.set(tf.memory().numTensors);
      },
    });
    new client.Gauge({
      name: 'gradlab_tfjs_bytes',
      help: 'Bytes held by live tfjs tensors (tf.memory().numBytes)',
      registers,
      collect() {
        this.set(tf.memory().numBytes);
      },
    });
  }

  /** The work classes' observer. */
  readonly admission: AdmissionObserver = {
    depth: (workClass: string, queued: number, running: number) => {
      this.queued.set({ class: workClass }, queued);
      this.running.set({ class: workClass }, running);
    },
    waited: (workClass: string, seconds: number) => this.queueWait.observe({ class: workClass }, seconds),
    rejected: (workClass: string, reason: RejectReason) => this.rejections.inc({ class: workClass, reason }),
  };

  /** The dynamic batcher's observer. */
  observeBatch = (o: BatchObservation): void => {
    this.inference.observe({ model: o.model }, o.seconds);
    this.batchSize.observe({ model: o.model }, o.size);
    this.imagesClassified.inc({ model: o.model }, o.size);
  };
}
