/**
 * Prometheus metrics for one app instance (its own prom-client Registry, so that several apps in
 * one test process do not collide): requests by route/model/status, request latency, inference
 * time and batch sizes per model, tfjs memory, and the process defaults.
 */
import * as tf from '@tensorflow/tfjs';
import client from 'prom-client';
import type { BatchObservation } from '../model/batcher.ts';

export class Metrics {
  readonly registry = new client.Registry();
  readonly requests: client.Counter<'method' | 'route' | 'model' | 'status'>;
  readonly latency: client.Histogram<'method' | 'route' | 'model'>;
  readonly inference: client.Histogram<'model'>;
  readonly batchSize: client.Histogram<'model'>;
  readonly imagesClassified: client.Counter<'model'>;
  readonly attackSteps: client.Counter<'model' | 'method'>;

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

  /** The dynamic batcher's observer. */
  observeBatch = (o: BatchObservation): void => {
    this.inference.observe({ model: o.model }, o.seconds);
    this.batchSize.observe({ model: o.model }, o.size);
    this.imagesClassified.inc({ model: o.model }, o.size);
  };
}
