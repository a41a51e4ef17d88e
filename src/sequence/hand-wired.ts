/**
 * Hand-wired recurrent networks (the lecture's sum, comparison and parity RNNs): weights written
 * by hand in a JSON file, run with TensorFlow.js ops so they live on the same backend as every
 * other model.
 *
 * One step, with x(t) the input, h the hidden units and y the output units:
 *   h(t) = f( W_xh x(t) + W_hh h(t−1) + W_yh y(t−1) + b_h )
 *   y(t) = g( W_hy h(t) + b_y )
 * f and g are `linear` (identity) or `threshold` (1 if the net input is > 0, else 0: the lecture's
 * binary threshold units). W_yh feeds the previous output back, which is how the parity network
 * remembers the parity so far. h(0) and y(0) are given (default zeros).
 */
import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { ManifestError } from '../model/manifest.ts';
import type { SequenceModelManifest } from './manifest.ts';
import type { EncodedSequence } from './input.ts';
import { readUnrolled, type SequenceModel, type Unrolled } from './sequence-model.ts';

export const UNIT_TYPES = ['linear', 'threshold'] as const;
export type UnitType = (typeof UNIT_TYPES)[number];

export interface HandWiredWeights {
  hiddenUnits: UnitType;
  outputUnits: UnitType;
  /** Names of the hidden units for traces, e.g. ["h1 (AND)", "h2 (OR)"]. */
  hiddenNames?: string[];
  W_xh: number[][];
  W_hh?: number[][];
  W_yh?: number[][];
  b_h?: number[];
  W_hy: number[][];
  b_y?: number[];
  h0?: number[];
  y0?: number[];
}

type Json = Record<string, unknown>;

function matrix(raw: unknown, rows: number, cols: number, field: string, file: string): number[][] {
  const ok = Array.isArray(raw) && raw.length === rows &&
    raw.every((r) => Array.isArray(r) && r.length === cols && r.every((v) => typeof v === 'number' && Number.isFinite(v)));
  if (!ok) throw new ManifestError(file, field, `must be a ${rows}x${cols} matrix of finite numbers`);
  return raw as number[][];
}

function vector(raw: unknown, n: number, field: string, file: string): number[] {
  const ok = Array.isArray(raw) && raw.length === n && raw.every((v) => typeof v === 'number' && Number.isFinite(v));
  if (!ok) throw new ManifestError(file, field, `must be an array of ${n} finite numbers`);
  return raw as number[];
}

/** Validates a weights file; shapes follow from W_xh (hidden × input) and W_hy (output × hidden). */
export function parseHandWiredWeights(raw: unknown, inputSize: number, file: string): HandWiredWeights {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ManifestError(file, '(root)', 'must be a JSON object');
  const w = raw as Json;
  for (const key of ['hiddenUnits', 'outputUnits'] as const) {
    if (!(UNIT_TYPES as readonly unknown[]).includes(w[key])) throw new ManifestError(file, key, `must be one of ${UNIT_TYPES.join(', ')}`);
  }
  const hidden = Array.isArray(w.W_xh) ? w.W_xh.length : 0;
  const outputs = Array.isArray(w.W_hy) ? w.W_hy.length : 0;
  if (hidden < 1) throw new ManifestError(file, 'W_xh', 'must have one row per hidden unit');
  if (outputs < 1) throw new ManifestError(file, 'W_hy', 'must have one row per output unit');
  const zeros = (n: number) => new Array<number>(n).fill(0);
  const zeroMatrix = (r: number, c: number) => Array.from({ length: r }, () => zeros(c));
  const names = w.hiddenNames;
  if (names !== undefined && !(Array.isArray(names) && names.length === hidden && names.every((s) => typeof s === 'string'))) {
    throw new ManifestError(file, 'hiddenNames', `must be ${hidden} strings`);
  }
  return {
    hiddenUnits: w.hiddenUnits as UnitType,
    outputUnits: w.outputUnits as UnitType,
    ...(names ? { hiddenNames: names } : {}),
    W_xh: matrix(w.W_xh, hidden, inputSize, 'W_xh', file),
    W_hh: w.W_hh === undefined ? zeroMatrix(hidden, hidden) : matrix(w.W_hh, hidden, hidden, 'W_hh', file),
    W_yh: w.W_yh === undefined ? zeroMatrix(hidden, outputs) : matrix(w.W_yh, hidden, outputs, 'W_yh', file),
    b_h: w.b_h === undefined ? zeros(hidden) : vector(w.b_h, hidden, 'b_h', file),
    W_hy: matrix(w.W_hy, outputs, hidden, 'W_hy', file),
    b_y: w.b_y === undefined ? zeros(outputs) : vector(w.b_y, outputs, 'b_y', file),
    h0: w.h0 === undefined ? zeros(hidden) : vector(w.h0, hidden, 'h0', file),
    y0: w.y0 === undefined ? zeros(outputs) : vector(w.y0, outputs, 'y0', file),
  };
}

const INPUT_WIDTH = { numbers: 1, bits: 1, pairs: 2 } as const;

export class HandWiredRnn implements SequenceModel {
  readonly manifest: SequenceModelManifest;
  readonly source: string;
  readonly weights: HandWiredWeights;
  readonly hiddenNames: string[];
  readonly outputKind = 'values' as const;
  readonly hiddenSize: number;
  readonly outputSize: number;
  // Transposed once so that a step is row-vector × matrix: [N, in] · [in, hidden].
  private readonly t: { W_xh: tf.Tensor2D; W_hh: tf.Tensor2D; W_yh: tf.Tensor2D; b_h: tf.Tensor1D; W_hy: tf.Tensor2D; b_y: tf.Tensor1D; h0: tf.Tensor1D; y0: tf.Tensor1D };

  constructor(manifest: SequenceModelManifest, weights: HandWiredWeights, source: string) {
    this.manifest = manifest;
    this.weights = weights;
    this.source = source;
    this.hiddenSize = weights.W_xh.length;
    this.outputSize = weights.W_hy.length;
    this.hiddenNames = weights.hiddenNames ?? Array.from({ length: this.hiddenSize }, (_, i) => `h${i + 1}`);
    const T = (m: number[][]) => tf.tensor2d(m).transpose() as tf.Tensor2D;
    this.t = tf.tidy(() => ({
      W_xh: T(weights.W_xh), W_hh: T(weights.W_hh!), W_yh: T(weights.W_yh!), b_h: tf.tensor1d(weights.b_h!),
      W_hy: T(weights.W_hy), b_y: tf.tensor1d(weights.b_y!), h0: tf.tensor1d(weights.h0!), y0: tf.tensor1d(weights.y0!),
    }));
  }

  get name(): string {
    return this.manifest.name;
  }

  static async load(manifest: SequenceModelManifest, weightsFile: string, source: string): Promise<HandWiredRnn> {
    const type = manifest.input.type;
    if (!(type in INPUT_WIDTH)) throw new ManifestError(weightsFile, 'input.type', `'${type}' is not supported by hand-wired models`);
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(weightsFile, 'utf8'));
    } catch (err) {
      throw new ManifestError(weightsFile, '(root)', `cannot be read as JSON (${(err as Error).message})`);
    }
    return new HandWiredRnn(manifest, parseHandWiredWeights(raw, INPUT_WIDTH[type as keyof typeof INPUT_WIDTH], weightsFile), source);
  }

  private act(kind: UnitType, x: tf.Tensor2D): tf.Tensor2D {
    // tf.step(x) is 1 where x > 0 and 0 elsewhere: the lecture's binary threshold unit.
    return kind === 'threshold' ? tf.step(x) : x;
  }

  run(batch: EncodedSequence[]): Unrolled[] {
    const n = batch.length;
    const T = batch[0]!.length;
    const width = batch[0]!.width;
    const flat = new Float32Array(n * T * width);
    batch.forEach((s, i) => flat.set(s.values, i * T * width));
    const [hs, ys] = tf.tidy(() => {
      const w = this.t;
      const steps = tf.unstack(tf.tensor3d(flat, [n, T, width]), 1) as tf.Tensor2D[];
      let h = tf.tile(w.h0.expandDims(0), [n, 1]) as tf.Tensor2D;
      let y = tf.tile(w.y0.expandDims(0), [n, 1]) as tf.Tensor2D;
      const hiddenSteps: tf.Tensor2D[] = [];
      const outputSteps: tf.Tensor2D[] = [];
      for (const x of steps) {
        const net = tf.matMul(x, w.W_xh).add(tf.matMul(h, w.W_hh)).add(tf.matMul(y, w.W_yh)).add(w.b_h) as tf.Tensor2D;
        h = this.act(this.weights.hiddenUnits, net);
        y = this.act(this.weights.outputUnits, tf.matMul(h, w.W_hy).add(w.b_y) as tf.Tensor2D);
        hiddenSteps.push(h);
        outputSteps.push(y);
      }
      // [N, T, units]
      return [tf.stack(hiddenSteps, 1), tf.stack(outputSteps, 1)];
    });
    return readUnrolled(hs as tf.Tensor3D, ys as tf.Tensor3D);
  }

  architecture(): Record<string, unknown> {
    const { W_xh, W_hh, W_yh, b_h, W_hy, b_y, h0, y0, hiddenUnits, outputUnits } = this.weights;
    return {
      format: 'hand-wired',
      equations: [
        `h(t) = ${hiddenUnits}(W_xh x(t) + W_hh h(t-1) + W_yh y(t-1) + b_h)`,
        `y(t) = ${outputUnits}(W_hy h(t) + b_y)`,
        'threshold(a) = 1 if a > 0 else 0; linear(a) = a',
      ],
      hiddenUnits: this.hiddenNames,
      weights: { W_xh, W_hh, W_yh, b_h, W_hy, b_y, h0, y0 },
    };
  }

  warmUp(): void {
    const width = INPUT_WIDTH[this.manifest.input.type as keyof typeof INPUT_WIDTH];
    this.run([{ values: new Float32Array(width), length: 1, width, display: [0] }]);
  }

  dispose(): void {
    Object.values(this.t).forEach((t) => t.dispose());
  }
}
