/**
 * The explanation driver, the same for every method: resolves the request against the method
 * specs (resolve.ts: the base method, the wrapper around it, requirements, parameters), resolves
 * the targets, computes the maps for a batch in chunks, each in one `tf.tidy`, runs the method's
 * own convergence check, and renders each map as its spec says. Used by
 * `POST /v1/models/:model/explain` and by `npm run eval -- explain`.
 */
import * as tf from '@tensorflow/tfjs';
import { Deadline } from '../deadline.ts';
import { defaultScale, inputToRgb, rgbToPng } from '../images/encode.ts';
import { overlay as overlayRgb, renderMap, type Rendering } from '../images/heatmap.ts';
import { resolveClass, topPredictions, type Prediction } from '../model/classes.ts';
import type { ImageModel } from '../model/image-model.ts';
import type { IgRule } from './integrated-gradients.ts';
import { layerWalk } from './layer-walk.ts';
import type { MethodContext } from './method.ts';
import { gradientMeter, type ExplainProgress } from './progress.ts';
import type { BaseMethod, ExplainMethod } from './registry.ts';
import { gradientsPerImage, resolveMethod } from './resolve.ts';
import type { ScoreKind } from './score.ts';
import type { Completeness } from './spec.ts';

export { BASE_METHODS, EXPLAIN_METHODS, type BaseMethod, type ExplainMethod } from './registry.ts';
export type { Completeness } from './spec.ts';
export type { ExplainProgress } from './progress.ts';

/** What to explain and how; which method takes which parameter is declared in its spec. */
export type ExplainRequest = {
  method: ExplainMethod;
  /** Class index or label; default: each image's predicted class. */
  target?: number | string;
  score?: ScoreKind;
  /** Grad-CAM: layer name; default the last convolution. */
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
};

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

export interface ExplainOptions {
  /** The request's time limit and cancellation (default: none). */
  deadline?: Deadline;
  /** Called as gradient evaluations are done; `total` is the request's declared cost. */
  onProgress?: (e: ExplainProgress) => void;
}

/** Lets the event loop run between chunks: with the work in this thread, a client that left is noticed. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Images per batched method call: about 32 MNIST-sized images, fewer for large inputs. */
function explainChunkSize(model: ImageModel): number {
  return Math.max(1, Math.min(32, Math.floor((32 * 28 * 28) / model.pixelsPerImage)));
}

/** Refuses a request that `explainImages` would refuse, before any image is decoded (an event stream checks first, so that bad input is a plain 400). */
export function checkExplainRequest(model: ImageModel, request: ExplainRequest): void {
  resolveMethod(request, { model, walk: layerWalk(model) });
  if (request.target !== undefined) resolveClass(model.manifest.labels, request.target, 'target');
}

/** Explains each image; one result per input, in order. */
export async function explainImages(model: ImageModel, inputs: Float32Array[], request: ExplainRequest, { deadline = Deadline.none(), onProgress }: ExplainOptions = {}): Promise<Explanation[]> {
  const ctx: MethodContext = { model, walk: layerWalk(model), deadline };
  const { base, wrapper, options, score, attribute } = resolveMethod(request, ctx);
  const perImage = gradientsPerImage(request);
  const meter = onProgress ? gradientMeter(perImage * inputs.length, onProgress) : undefined;
  const labels = model.manifest.labels;

  const probabilities = model.predictProbabilities(inputs);
  const targets = probabilities.map((p) => {
    if (request.target !== undefined) return resolveClass(labels, request.target, 'target');
    return topPredictions(p, labels, 1)[0]!.index;
  });

  // A wrapper's map is not the base method's attribution of x: the base's check does not apply.
  const convergence = wrapper ? undefined : base.convergence;
  const maps: { data: Float32Array; shape: number[] }[] = [];
  const completeness: (Completeness | undefined)[] = [];
  // Images go through the method in chunks: one batched gradient call per chunk is much faster
  // than one per image, memory stays bounded for large batches, and the deadline is checked
  // between chunks.
  const chunk = explainChunkSize(model);
  for (let first = 0; first < inputs.length; first += chunk) {
    if (first > 0) await nextTurn();
    deadline.check();
    const count = Math.min(chunk, inputs.length - first);
    const chunkOptions = { ...options, targets: targets.slice(first, first + count), score };
    // The chunk's share of the progress; methods that do not count as they go are counted after it.
    const progress = meter?.part(perImage * count);
    const chunkCtx = progress ? { ...ctx, progress } : ctx;
    const [map, ...measured] = tf.tidy(() => {
      const x = model.batchTensor(inputs.slice(first, first + count));
      const map = attribute(chunkCtx, x, chunkOptions);
      return [map, ...(convergence ? convergence.measure(ctx, x, map, chunkOptions) : [])];
    });
    progress?.finish();
    try {
      const data = map.dataSync() as Float32Array;
      const size = data.length / count;
      const measuredData = measured.map((t) => t.dataSync());
      for (let k = 0; k < count; k++) {
        maps.push({ data: data.slice(k * size, (k + 1) * size), shape: map.shape.slice(1) });
        completeness.push(convergence?.report(measuredData.map((values) => values[k]!)));
      }
    } finally {
      map.dispose();
      measured.forEach((t) => t.dispose());
    }
  }

  const rendering = base.rendering;
  const layer = base.explainedLayer?.(ctx, { ...options, targets, score });
  const [h, w] = model.inputShape;
  const scale = request.scale ?? defaultScale(h, w);
  return Promise.all(
    maps.map(async (map, i) => {
      let rgb = renderMap(map.data, map.shape as [number, number, number], rendering);
      if (request.overlay) rgb = overlayRgb(inputToRgb(inputs[i]!, model.inputShape, model.manifest.input.range), rgb);
      const out: Explanation = {
        method: request.method,
        ...(wrapper ? { base: base.name as BaseMethod } : {}),
        score,
        target: { index: targets[i]!, label: labels[targets[i]!]! },
        prediction: topPredictions(probabilities[i]!, labels, 5),
        map,
        rendering,
        png: await rgbToPng(rgb, scale),
      };
      if (layer !== undefined) out.layer = layer;
      if (completeness[i]) out.completeness = completeness[i];
      return out;
    }),
  );
}
