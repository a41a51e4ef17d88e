/**
 * Activation maximisation ("optimizing the input"): start from seeded noise and run gradient
 * ascent on the input to maximise a class score (logit or log-probability) or a unit's activation
 * (a channel of a layer, averaged over positions or at one position). Regularisers — L2 decay
 * toward the middle of the value range, Gaussian blur every k steps, random jitter, clipping to
 * the value range — reproduce the lecture's point: plain ascent gives noise the network is
 * confident about; regularised ascent gives readable images.
 *
 * Each step moves x by learningRate × (range width) × g / rms(g) (a normalised gradient step, so
 * that the step size does not depend on the score's scale).
 */
import * as tf from '@tensorflow/tfjs';
import { Deadline } from '../deadline.ts';
import { badParameter, GradlabError } from '../errors.ts';
import { resolveClass, topPredictions, type Prediction } from '../model/classes.ts';
import type { ImageModel } from '../model/image-model.ts';
import type { FeatureGraph } from '../model/feature-graph.ts';
import { featuresOf } from './features.ts';
import { layerWalk } from './layer-walk.ts';
import { classScoreSum, type ScoreKind } from './score.ts';

export interface VisualizeRequest {
  /** Class objective: index or label. */
  target?: number | string;
  score?: ScoreKind;
  /** Unit objective: layer name, channel, optional [y, x] position (default: mean over positions). */
  layer?: string;
  channel?: number;
  position?: [number, number];
  steps?: number;
  learningRate?: number;
  l2Decay?: number;
  blurEvery?: number;
  blurSigma?: number;
  jitter?: number;
  clip?: boolean;
  seed?: number;
  snapshotEvery?: number;
}

export interface VisualizeProgress {
  step: number;
  steps: number;
  /** The objective at the start of this step. */
  objective: number;
}

export interface VisualizeOptions {
  /** The request's time limit and cancellation (default: none). */
  deadline?: Deadline;
  /** Called after every step. */
  onProgress?: (e: VisualizeProgress) => void;
}

/** Lets the event loop run between steps: with the work in this thread, a client that left is noticed. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export const VISUALIZE_DEFAULTS = { steps: 200, learningRate: 0.02, l2Decay: 0, blurEvery: 0, blurSigma: 0.5, jitter: 0, clip: true, seed: 0, score: 'logit' as ScoreKind };

export interface Snapshot {
  step: number;
  objective: number;
  image: Float32Array;
  top: Prediction;
}

export interface Visualization {
  objective: { kind: 'class'; target: { index: number; label: string }; score: ScoreKind } | { kind: 'unit'; layer: string; channel: number; position?: [number, number] };
  steps: number;
  finalObjective: number;
  image: Float32Array;
  predictions: Prediction[];
  snapshots: Snapshot[];
}

type Objective = (x: tf.Tensor4D) => tf.Scalar;

function unitObjective(model: ImageModel, features: FeatureGraph | undefined, request: VisualizeRequest): { objective: Objective; describe: Visualization['objective'] } {
  if (!features || features.unsupported !== undefined) {
    const why = features?.unsupported ?? 'its structure (shared layers, nested models or several inputs) cannot be followed layer by layer';
    throw new GradlabError('GRADLAB_UNSUPPORTED_OPERATION', `layer: unit visualisation needs a model that gradlab can run node by node; '${model.name}': ${why}`, 'layer');
  }
  const node = features.nodes.find((n) => n.name === request.layer);
  if (!node) throw badParameter('layer', `no layer named '${request.layer}'; layers: ${features.nodes.map((n) => n.name).join(', ')}`);
  if (request.channel === undefined) throw badParameter('channel', 'is required with layer');
  const shape = node.outputShape;
  const channels = shape[shape.length - 1];
  if (shape.length < 2 || typeof channels !== 'number') throw badParameter('layer', `'${request.layer}' has no channels (output shape [${shape.join(',')}])`);
  if (request.channel >= channels) throw badParameter('channel', `${request.channel} is out of range 0..${channels - 1} for layer '${request.layer}'`);
  const position = request.position;
  if (position) {
    if (shape.length !== 4) throw badParameter('position', `layer '${request.layer}' has no spatial positions`);
    const [h, w] = [shape[1]!, shape[2]!];
    if (position[0] >= h || position[1] >= w) throw badParameter('position', `[${position.join(',')}] is outside the layer's ${h}×${w} grid`);
  }
  const channel = request.channel;
  const objective: Objective = (x) => {
    const act = features.forward(x, { capture: node.name }).captured!;
    const unit = tf.gather(act, [channel], act.rank - 1);
    if (position) return tf.sum(tf.slice(unit, [0, position[0], position[1], 0], [-1, 1, 1, 1])) as tf.Scalar;
    return tf.mean(unit) as tf.Scalar;
  };
  return { objective, describe: { kind: 'unit', layer: request.layer!, channel, ...(position ? { position } : {}) } };
}

function gaussianKernel(sigma: number, channels: number): tf.Tensor4D {
  const radius = Math.max(1, Math.ceil(2 * sigma));
  const taps = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
  const total = taps.reduce((a, b) => a + b, 0);
  const k1 = taps.map((t) => t / total);
  const size = k1.length;
  const values: number[] = [];
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) for (let c = 0; c < channels; c++) values.push(k1[y]! * k1[x]!);
  return tf.tensor4d(values, [size, size, channels, 1]);
}

/** Rolls x by (dy, dx) pixels with wrap-around. */
function roll(x: tf.Tensor4D, dy: number, dx: number): tf.Tensor4D {
  const [, h, w] = x.shape;
  let y = x;
  const sy = ((dy % h) + h) % h;
  const sx = ((dx % w) + w) % w;
  if (sy) y = tf.concat([tf.slice(y, [0, h - sy, 0, 0], [-1, sy, -1, -1]), tf.slice(y, [0, 0, 0, 0], [-1, h - sy, -1, -1])], 1);
  if (sx) y = tf.concat([tf.slice(y, [0, 0, w - sx, 0], [-1, -1, sx, -1]), tf.slice(y, [0, 0, 0, 0], [-1, -1, w - sx, -1])], 2);
  return y;
}

/** The class or unit objective the request asks for; refuses, naming the field, one it cannot have. */
function chooseObjective(model: ImageModel, request: VisualizeRequest): { objective: Objective; describe: Visualization['objective'] } {
  if (request.layer !== undefined) {
    if (request.target !== undefined) throw badParameter('target', 'give either target (a class) or layer and channel (a unit), not both');
    return unitObjective(model, featuresOf({ model, walk: layerWalk(model) }), request);
  }
  if (request.target === undefined) throw badParameter('target', 'is required (a class index or label), or give layer and channel for a unit');
  if (request.channel !== undefined) throw badParameter('channel', 'applies only with layer');
  const labels = model.manifest.labels;
  const index = resolveClass(labels, request.target, 'target');
  const score = request.score ?? VISUALIZE_DEFAULTS.score;
  return { objective: (x) => classScoreSum(model.logits(x), [index], score), describe: { kind: 'class', target: { index, label: labels[index]! }, score } };
}

/** Refuses a request that `visualize` would refuse, before any work (an event stream checks first, so that bad input is a plain 400). */
export function checkVisualizeRequest(model: ImageModel, request: VisualizeRequest): void {
  chooseObjective(model, request);
}

export async function visualize(model: ImageModel, request: VisualizeRequest, { deadline = Deadline.none(), onProgress }: VisualizeOptions = {}): Promise<Visualization> {
  const o = { ...VISUALIZE_DEFAULTS, ...Object.fromEntries(Object.entries(request).filter(([, v]) => v !== undefined)) } as typeof VISUALIZE_DEFAULTS & VisualizeRequest;
  const labels = model.manifest.labels;
  const { objective, describe } = chooseObjective(model, request);

  const [h, w, c] = model.inputShape;
  const [lo, hi] = model.manifest.input.range;
  const width = hi - lo;
  const mid = (lo + hi) / 2;
  let random = o.seed * 9301 + 49297;
  const nextInt = (n: number) => {
    random = (random * 9301 + 49297) % 233280;
    return Math.floor((random / 233280) * n);
  };
  const kernel = o.blurEvery > 0 ? gaussianKernel(o.blurSigma, c) : undefined;
  let x = tf.tidy(() => tf.add(mid, tf.mul(tf.randomUniform([1, h, w, c], -0.05, 0.05, 'float32', o.seed), width)) as tf.Tensor4D);
  const gradOf = tf.valueAndGrad((input: tf.Tensor) => objective(input as tf.Tensor4D));
  const snapshots: Snapshot[] = [];
  let value = 0;
  try {
    for (let step = 1; step <= o.steps; step++) {
      if (step > 1) await nextTurn();
      deadline.check();
      const dy = o.jitter ? nextInt(2 * o.jitter + 1) - o.jitter : 0;
      const dx = o.jitter ? nextInt(2 * o.jitter + 1) - o.jitter : 0;
      const next = tf.tidy(() => {
        const shifted = roll(x, dy, dx);
        const { value: v, grad } = gradOf(shifted);
        value = v.dataSync()[0]!;
        const g = roll(grad as tf.Tensor4D, -dy, -dx);
        const rms = tf.sqrt(tf.add(tf.mean(tf.square(g)), 1e-12));
        let y = tf.add(x, tf.mul(tf.div(g, rms), o.learningRate * width)) as tf.Tensor4D;
        if (o.l2Decay > 0) y = tf.add(mid, tf.mul(tf.sub(y, mid), 1 - o.l2Decay)) as tf.Tensor4D;
        if (kernel && step % o.blurEvery === 0) y = tf.depthwiseConv2d(y, kernel, 1, 'same');
        if (o.clip) y = tf.clipByValue(y, lo, hi);
        return y;
      });
      x.dispose();
      x = next;
      onProgress?.({ step, steps: o.steps, objective: value });
      if (o.snapshotEvery && step % o.snapshotEvery === 0 && step < o.steps) {
        const image = x.dataSync() as Float32Array;
        snapshots.push({ step, objective: value, image: Float32Array.from(image), top: topPredictions(model.predictProbabilities([image])[0]!, labels, 1)[0]! });
      }
    }
    const image = Float32Array.from(await x.data());
    const finalObjective = tf.tidy(() => objective(x).dataSync()[0]!);
    return {
      objective: describe,
      steps: o.steps,
      finalObjective,
      image,
      predictions: topPredictions(model.predictProbabilities([image])[0]!, labels, 5),
      snapshots,
    };
  } finally {
    x.dispose();
    kernel?.dispose();
  }
}
