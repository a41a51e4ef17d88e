/**
 * Per-token gradient attribution for trained sequence classifiers: which words or characters
 * pushed the score log p(target | sequence), read at the last step. The gradient is taken with
 * respect to what the recurrent layer reads at each step: the embedding vector (word models with
 * an Embedding) or the input vector (bits, one-hot characters). Each token gets
 *   attribution = Σ_d ∂score/∂e_d · e_d   (gradient × input: positive pushed toward the target)
 *   gradientNorm = ‖∂score/∂e‖₂           (how sensitive the score is to that step at all).
 * Hand-wired models are not explained: their threshold units have zero gradient almost everywhere.
 */
import * as tf from '@tensorflow/tfjs';
import { GradlabError } from '../errors.ts';
import { resolveClass } from '../model/classes.ts';
import { encodeSequence } from './input.ts';
import type { SequenceModel } from './sequence-model.ts';
import { TrainedRnn } from './trained-rnn.ts';

export interface SequenceExplainOptions {
  /** Class index or label; default: the predicted class. */
  target?: number | string;
  maxLength: number;
}

export interface TokenAttribution {
  token: string | number | number[];
  attribution: number;
  gradientNorm: number;
}

export interface SequenceExplanation {
  method: 'gradient';
  score: 'logprob';
  target: { label: string; index: number; probability: number };
  prediction: { label: string; index: number; probability: number };
  tokens: TokenAttribution[];
}

function resolveTarget(target: number | string | undefined, labels: string[], predicted: number): number {
  return target === undefined ? predicted : resolveClass(labels, target, 'target');
}

export function explainSequence(model: SequenceModel, raw: unknown, options: SequenceExplainOptions): SequenceExplanation {
  if (!(model instanceof TrainedRnn) || model.manifest.task !== 'classifier') {
    throw new GradlabError('GRADLAB_UNSUPPORTED_OPERATION',
      `'${model.name}' cannot be explained by gradient: only trained sequence classifiers can ` +
      '(hand-wired threshold units have zero gradient; language models are scored, not explained)', 'model',
      { kind: 'use-operation', operation: 'score', model: model.name });
  }
  const labels = model.manifest.labels!;
  const seq = encodeSequence(raw, model.manifest.input, options.maxLength, model.vocabulary);
  const layers = model.net.layers;
  const embedded = layers[0]!.getClassName() === 'Embedding';
  const T = seq.length;

  const [logitsT, inputs, grads] = tf.tidy(() => {
    const x = model.inputTensor([seq]);
    const start = embedded ? (layers[0]!.apply(x) as tf.Tensor) : x;
    const rest = embedded ? layers.slice(1) : layers;
    const forward = (e: tf.Tensor): tf.Tensor => rest.reduce((h, layer) => layer.apply(h) as tf.Tensor, e);
    const lastLogits = (e: tf.Tensor) => {
      const out = forward(e);
      const C = out.shape[2]!;
      return out.slice([0, T - 1, 0], [1, 1, C]).reshape([C]);
    };
    const logits = lastLogits(start);
    const predicted = logits.argMax().dataSync()[0]!;
    const target = resolveTarget(options.target, labels, predicted);
    const g = tf.grad((e: tf.Tensor) => tf.logSoftmax(lastLogits(e)).gather([target]).sum() as tf.Scalar)(start);
    return [logits, start, g];
  });
  const logits = Array.from(logitsT.dataSync());
  const e = inputs.dataSync();
  const g = grads.dataSync();
  tf.dispose([logitsT, inputs, grads]);

  const width = e.length / T;
  const max = Math.max(...logits);
  const z = logits.reduce((s, v) => s + Math.exp(v - max), 0);
  const p = logits.map((v) => Math.exp(v - max) / z);
  const predicted = p.indexOf(Math.max(...p));
  const target = resolveTarget(options.target, labels, predicted);
  const tokens = seq.display.map((token, t) => {
    let attribution = 0;
    let sq = 0;
    for (let d = 0; d < width; d++) {
      const gd = g[t * width + d]!;
      attribution += gd * e[t * width + d]!;
      sq += gd * gd;
    }
    return { token, attribution, gradientNorm: Math.sqrt(sq) };
  });
  return {
    method: 'gradient',
    score: 'logprob',
    target: { label: labels[target]!, index: target, probability: p[target]! },
    prediction: { label: labels[predicted]!, index: predicted, probability: p[predicted]! },
    tokens,
  };
}
