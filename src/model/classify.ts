/**
 * Image classification: decoded model inputs → top-k labels with probabilities, through the
 * model's dynamic batcher so that concurrent requests share forward passes.
 */
import type { ModelRegistry } from './registry.ts';

export interface Prediction {
  label: string;
  index: number;
  probability: number;
}

/** The k most probable classes, highest first (ties broken by class index). */
export function topPredictions(probabilities: ArrayLike<number>, labels: string[], k: number): Prediction[] {
  const order = Array.from({ length: probabilities.length }, (_, i) => i);
  order.sort((a, b) => probabilities[b]! - probabilities[a]! || a - b);
  return order.slice(0, Math.min(k, order.length)).map((index) => ({
    label: labels[index]!,
    index,
    probability: probabilities[index]!,
  }));
}

/** Classifies already-decoded images; one prediction list per image. */
export async function classifyImages(
  registry: ModelRegistry,
  modelName: string,
  inputs: Float32Array[],
  topK: number,
): Promise<Prediction[][]> {
  const model = registry.get(modelName);
  const probabilities = await registry.batcher(modelName).predict(inputs);
  return probabilities.map((p) => topPredictions(p, model.manifest.labels, topK));
}
