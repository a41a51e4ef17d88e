/**
 * The explanation driver: resolves the target and the method (SmoothGrad wrapping any base
 * method), computes the maps for a batch in one `tf.tidy`, checks integrated gradients'
 * completeness, and renders each map as a PNG. Used by `POST /v1/models/:model/explain` and by
 * `npm run eval -- explain`.
 */
import * as tf from '@tensorflow/tfjs';
import { Deadline } from '../deadline.ts';
import { badParameter, GradlabError } from '../errors.ts';
import { defaultScale, inputToRgb, rgbToPng } from '../images/encode.ts';
import { overlay as overlayRgb, renderMap, type Rendering } from '../images/heatmap.ts';
import { resolveClass, topPredictions, type Prediction } from '../model/classes.ts';
import type { ImageModel } from '../model/image-model.ts';
import { gradcam, guidedGradcam } from './gradcam.ts';
import { gradient } from './gradient.ts';
import { guidedBackprop } from './guided-backprop.ts';
import { DEFAULT_IG_STEPS, integratedGradients, type IgRule } from './integrated-gradients.ts';
import { layerWalk } from './layer-walk.ts';
import type { AttributionMethod, MethodContext, MethodOptions } from './method.ts';
import { classScores, type ScoreKind } from './score.ts';
import { smoothgrad } from './smoothgrad.ts';

export const BASE_METHODS = ['gradient', 'guided-backprop', 'gradcam', 'guided-gradcam', 'integrated-gradients'] as const;
export type BaseMethod = (typeof BASE_METHODS)[number];
export const EXPLAIN_METHODS = [...BASE_METHODS, 'smoothgrad'] as const;
export type ExplainMethod = (typeof EXPLAIN_METHODS)[number];

const IMPLEMENTATIONS: Record<BaseMethod, AttributionMethod> = {
  gradient,
  'guided-backprop': guidedBackprop,
  gradcam,
  'guided-gradcam': guidedGradcam,
  'integrated-gradients': integratedGradients,
};

const RENDERING: Record<BaseMethod, Rendering> = {
  gradient: 'signed',
  'guided-backprop': 'color',
  gradcam: 'heat',
  'guided-gradcam': 'color',
  'integrated-gradients': 'signed',
};

/** Grad-CAM follows the paper and explains the pre-softmax score; the others log p(target | x). */
const DEFAULT_SCORE: Record<BaseMethod, ScoreKind> = {
  gradient: 'logprob',
  'guided-backprop': 'logprob',
  gradcam: 'logit',
  'guided-gradcam': 'logit',
  'integrated-gradients': 'logprob',
};

export interface ExplainRequest {
  method: ExplainMethod;
  /** Class index or label; default: each image's predicted class. */
  target?: number | string;
  score?: ScoreKind;
  /** Grad-CAM layer name; default the last convolution. */
  layer?: string;
  /** SmoothGrad: the wrapped method (default `gradient`), samples (default 25), noise (default 0.15), seed (default 0). */
  base?: BaseMethod;
  samples?: number;
  noise?: number;
  seed?: number;
  /** Integrated gradients: baseline image [H*W*C] (default: all pixels at the range minimum) and steps (default 64). */
  baseline?: Float32Array;
  steps?: number;
  /** Integrated gradients: `adaptive` (default) or `uniform` path points. */
  rule?: IgRule;
  /** Draw the rendering over the input image. */
  overlay?: boolean;
  /** PNG enlargement factor (default: about 224 px on the longer side). */
  scale?: number;
}

export interface Completeness {
  /** Σ attributions. */
  attributionSum: number;
  /** score(x) − score(baseline). */
  scoreDifference: number;
  /** |sum − difference| / max(|difference|, 1e-6). */
  relativeError: number;
}

export interface Explanation {
  method: ExplainMethod;
  base?: BaseMethod;
  score: ScoreKind;
  target: { index: number; label: string };
  prediction: Prediction[];
  map: { shape: number[]; data: Float32Array };
  rendering: Rendering;
  png: Buffer;
  layer?: string;
  completeness?: Completeness;
}

/** Images per batched method call: about 32 MNIST-sized images, fewer for large inputs. */
function explainChunkSize(model: ImageModel): number {
  return Math.max(1, Math.min(32, Math.floor((32 * 28 * 28) / model.pixelsPerImage)));
}

export const EXPLAIN_DEFAULTS = { samples: 25, noise: 0.15, seed: 0, steps: DEFAULT_IG_STEPS };

function checkApplicable(model: ImageModel, method: BaseMethod, ctx: MethodContext, field: string): void {
  const needsWalk = method !== 'gradient' && method !== 'integrated-gradients';
  if (!needsWalk) return;
  // Guided backprop also runs on functional graphs (residual networks) through the model's own graph.
  if (method === 'guided-backprop' && !ctx.walk?.supportsGuided && model.gradientForward()?.supportsReluSwap) return;
  if (!ctx.walk) {
    throw new GradlabError('GRADLAB_UNSUPPORTED_OPERATION', `${field}: '${method}' needs a sequential Layers model; '${model.name}' is a ${model.manifest.format} model (use gradient or integrated-gradients)`, field);
  }
  if (method.includes('guided') && !ctx.walk.supportsGuided) {
    throw new GradlabError('GRADLAB_UNSUPPORTED_OPERATION', `${field}: '${method}' needs ReLU activations that it can replace; '${model.name}' has none`, field);
  }
  if (method.includes('gradcam') && ctx.walk.lastConvIndex() < 0) {
    throw new GradlabError('GRADLAB_UNSUPPORTED_OPERATION', `${field}: '${method}' needs a convolutional layer; '${model.name}' has none`, field);
  }
}

/** Explains each image; one result per input, in order. */
export async function explainImages(model: ImageModel, inputs: Float32Array[], request: ExplainRequest, deadline = Deadline.none()): Promise<Explanation[]> {
  const baseMethod: BaseMethod = request.method === 'smoothgrad' ? (request.base ?? 'gradient') : request.method;
  if (request.method !== 'smoothgrad' && request.base !== undefined) throw badParameter('base', "applies only to method 'smoothgrad'");
  const ctx: MethodContext = { model, walk: layerWalk(model) };
  checkApplicable(model, baseMethod, ctx, request.method === 'smoothgrad' ? 'base' : 'method');
  const score = request.score ?? DEFAULT_SCORE[baseMethod];
  const labels = model.manifest.labels;

  let layerIndex: number | undefined;
  if (request.layer !== undefined) {
    if (!baseMethod.includes('gradcam')) throw badParameter('layer', 'applies only to gradcam and guided-gradcam');
    layerIndex = ctx.walk!.indexOf(request.layer);
    if (layerIndex < 0) throw badParameter('layer', `no layer named '${request.layer}'; layers: ${ctx.walk!.layers.map((l) => l.name).join(', ')}`);
  }
  if (request.baseline && baseMethod !== 'integrated-gradients') throw badParameter('baseline', 'applies only to integrated-gradients');
  if (request.rule && baseMethod !== 'integrated-gradients') throw badParameter('rule', 'applies only to integrated-gradients');

  const probabilities = model.predictProbabilities(inputs);
  const targets = probabilities.map((p) => {
    if (request.target !== undefined) return resolveClass(labels, request.target, 'target');
    return topPredictions(p, labels, 1)[0]!.index;
  });

  const base = IMPLEMENTATIONS[baseMethod];
  const method = request.method === 'smoothgrad'
    ? smoothgrad(base, { samples: request.samples ?? EXPLAIN_DEFAULTS.samples, noise: request.noise ?? EXPLAIN_DEFAULTS.noise, seed: request.seed ?? EXPLAIN_DEFAULTS.seed })
    : base;
  const steps = request.steps ?? EXPLAIN_DEFAULTS.steps;

  const [h, w, c] = model.inputShape;
  const maps: { data: Float32Array; shape: number[] }[] = [];
  const completeness: (Completeness | undefined)[] = [];
  // Images go through the method in chunks: one batched gradient call per chunk is much faster
  // than one per image, memory stays bounded for large batches, and the deadline is checked
  // between chunks.
  const chunk = explainChunkSize(model);
  for (let first = 0; first < inputs.length; first += chunk) {
    deadline.check();
    const count = Math.min(chunk, inputs.length - first);
    const chunkTargets = targets.slice(first, first + count);
    const result = tf.tidy(() => {
      const x = model.batchTensor(inputs.slice(first, first + count));
      const baseline = request.baseline ? tf.tensor3d(request.baseline, [h, w, c]) : undefined;
      const options: MethodOptions = { targets: chunkTargets, score, steps, ...(request.rule ? { rule: request.rule } : {}), ...(layerIndex !== undefined ? { layerIndex } : {}), ...(baseline ? { baseline } : {}) };
      const map = method(ctx, x, options);
      if (baseMethod !== 'integrated-gradients' || request.method === 'smoothgrad') return [map];
      // Completeness: Σ attributions per image vs score(x) − score(baseline).
      const start = baseline ? baseline.expandDims(0) : tf.fill([1, h, w, c], model.manifest.input.range[0]);
      const baselineScores = classScores(model.logits(tf.tile(start, [count, 1, 1, 1]) as tf.Tensor4D), chunkTargets, score);
      const inputScores = classScores(model.logits(x), chunkTargets, score);
      return [map, tf.sum(map, [1, 2, 3]), tf.sub(inputScores, baselineScores)];
    });
    const [map, sums, differences] = result;
    const data = map!.dataSync() as Float32Array;
    const size = data.length / count;
    const sumData = sums?.dataSync();
    const diffData = differences?.dataSync();
    for (let k = 0; k < count; k++) {
      maps.push({ data: data.slice(k * size, (k + 1) * size), shape: map!.shape.slice(1) });
      if (sumData && diffData) {
        const sum = sumData[k]!;
        const diff = diffData[k]!;
        completeness.push({ attributionSum: sum, scoreDifference: diff, relativeError: Math.abs(sum - diff) / Math.max(Math.abs(diff), 1e-6) });
      } else completeness.push(undefined);
    }
    result.forEach((t) => t.dispose());
  }

  const rendering = RENDERING[baseMethod];
  const scale = request.scale ?? defaultScale(h, w);
  return Promise.all(
    maps.map(async (map, i) => {
      let rgb = renderMap(map.data, map.shape as [number, number, number], rendering);
      if (request.overlay) rgb = overlayRgb(inputToRgb(inputs[i]!, model.inputShape, model.manifest.input.range), rgb);
      const out: Explanation = {
        method: request.method,
        ...(request.method === 'smoothgrad' ? { base: baseMethod } : {}),
        score,
        target: { index: targets[i]!, label: labels[targets[i]!]! },
        prediction: topPredictions(probabilities[i]!, labels, 5),
        map,
        rendering,
        png: await rgbToPng(rgb, scale),
      };
      if (baseMethod.includes('gradcam')) out.layer = ctx.walk!.layers[layerIndex ?? ctx.walk!.lastConvIndex()]!.name;
      if (completeness[i]) out.completeness = completeness[i];
      return out;
    }),
  );
}
