/**
 * What every resident sequence model offers, hand-wired or trained: its manifest, its vocabulary
 * (text models), and `run`, which unrolls the network over a batch of equally long sequences and
 * returns every step's hidden state and output. Scoring, traces and explanations build on `run`.
 */
import type * as tf from '@tensorflow/tfjs';
import type { SequenceModelManifest } from './manifest.ts';
import type { EncodedSequence, Vocabulary } from './input.ts';

/** The unrolled computation for one sequence, read back from the backend. */
export interface Unrolled {
  length: number;
  /** Steps × hiddenSize: the hidden units after each step. */
  hidden: Float32Array;
  hiddenSize: number;
  /** Steps × outputSize: the output units after each step (values, logits). */
  outputs: Float32Array;
  outputSize: number;
}

/**
 * Reads hidden states [N, T, H] and outputs [N, T, O] back from the backend, disposes both, and
 * splits them into one Unrolled per sequence.
 */
export function readUnrolled(hs: tf.Tensor3D, ys: tf.Tensor3D): Unrolled[] {
  const [n, length, hiddenSize] = hs.shape;
  const outputSize = ys.shape[2];
  const hData = hs.dataSync() as Float32Array;
  const yData = ys.dataSync() as Float32Array;
  hs.dispose();
  ys.dispose();
  return Array.from({ length: n }, (_, i) => ({
    length,
    hidden: hData.slice(i * length * hiddenSize, (i + 1) * length * hiddenSize),
    hiddenSize,
    outputs: yData.slice(i * length * outputSize, (i + 1) * length * outputSize),
    outputSize,
  }));
}

export interface SequenceModel {
  readonly manifest: SequenceModelManifest;
  readonly name: string;
  /** Where the model was loaded from. */
  readonly source: string;
  readonly vocabulary?: Vocabulary;
  /** Names of the hidden units, for traces (`h1`, `h2`, ...). */
  readonly hiddenNames: string[];
  /** What the network's per-step outputs are: unit values (hand-wired) or logits (trained). */
  readonly outputKind: 'values' | 'logits';
  /** Unrolls the network over sequences that all have the same length (no tensors are left behind). */
  run(batch: EncodedSequence[]): Unrolled[];
  /** A one-line account of the architecture, for GET /v1/models. */
  architecture(): Record<string, unknown>;
  warmUp(): void;
  dispose(): void;
}

/** Rows `t` of a steps × width buffer, as plain numbers. */
export function row(buf: Float32Array, width: number, t: number): number[] {
  return Array.from(buf.subarray(t * width, (t + 1) * width));
}
