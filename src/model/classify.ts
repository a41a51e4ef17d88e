/**
 * Image classification: decoded model inputs → top-k labels with probabilities, through the
 * model's dynamic batcher so that concurrent requests share forward passes.
 */
import { topPredictions, type Prediction } from './classes.ts';
import type { ModelRegistry } from './registry.ts';

export type { Prediction } from './classes.ts';

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
