/**
 * A Layers model's input gradient computed directly, without tfjs' gradient tape.
 *
 * `tf.grad` records every kernel of the forward pass on a tape, clones each tensor a gradient
 * saves (an `Identity` kernel each), wraps every custom gradient in its own bookkeeping, and
 * then walks the tape backwards. At batch 1 on a small network that bookkeeping, not the
 * arithmetic, is most of the time: the MNIST CNN's gradient was 50 kernel calls, 12 of them
 * clones and 9 reshapes. This module compiles the gradient forward's layers (gradient-forward.ts)
 * into a list of ops that each know their backward pass, runs them forward keeping the
 * activations the backward pass needs, hands the logits to the host (`head`: the loss and its
 * gradient with respect to the logits are a few numbers per image, computed there as
 * picked-scores.ts computes them) and runs the backward pass as plain kernel calls: about 20
 * calls for the MNIST CNN, the same kernels as the recorded path (fused conv + ReLU, the one-pass
 * ReLU mask, the conv's input gradient, dy · Wᵀ, MaxPoolGrad), so the values are the recorded
 * path's (tested against it).
 *
 * Supported layers (gradient-ops.ts): conv chains (conv-chain.ts) and single Conv2D /
 * DepthwiseConv2D layers with a ReLU or linear activation; Dense on [N, features] (ReLU or
 * linear); MaxPooling2D and AveragePooling2D (channels last); ZeroPadding2D; Flatten; Dropout
 * (identity at inference); ReLU layers and Activation('relu' | 'linear'); Add;
 * GlobalAveragePooling2D; an unfolded BatchNormalization.
 * Anything else, and models whose output is not logits, compile to undefined and keep the
 * recorded path. ReLUs backpropagate as `plain` or `guided` (guided backprop) masks.
 *
 * Memory: `run` must be called inside `tf.tidy` (every intermediate is the caller's scope's); it
 * returns the gradient tensor and the logits as host floats.
 */
import * as tf from '@tensorflow/tfjs';
import type { Layer } from './activation-for-gradient.ts';
import type { ConvChain } from './conv-chain.ts';
import { convOp, layerOp, type LayerOp } from './gradient-ops.ts';
import type { ReluKind } from './relu-for-gradient.ts';

/** ∂loss/∂logits [rows · classes] from the logits [rows · classes] (row-major), on the host. */
export type LogitsHead = (logits: Float32Array, rows: number, classes: number) => Float32Array;

/**
 * A per-image loss written as tfjs ops on logits, evaluated on host logits: each image's loss and
 * ∂(Σ loss)/∂logits, recorded on the small [rows, classes] tensor alone (for heads of losses
 * with no host formula: DLR, margins). Call inside `tf.tidy`.
 */
export function lossOnHostLogits(
  loss: (logits: tf.Tensor2D) => tf.Tensor1D, logits: Float32Array, rows: number, classes: number,
): { losses: Float32Array; dLogits: Float32Array } {
  const z = tf.tensor2d(logits, [rows, classes]);
  let perImage: tf.Tensor1D | undefined;
  const grad = tf.grad((input: tf.Tensor) => {
    perImage = tf.keep(loss(input as tf.Tensor2D));
    return tf.sum(perImage);
  })(z);
  try {
    return { losses: perImage!.dataSync() as Float32Array, dLogits: grad.dataSync() as Float32Array };
  } finally {
    perImage?.dispose();
  }
}

/** One step of the gradient forward, as gradient-forward.ts plans it. */
export interface ProgramStep {
  layer: Layer;
  inputs: number[];
  output: number;
  chain?: ConvChain;
  chainOutput?: number;
  inChain?: unknown;
}

/** A layer op wired into the program: the ids of its input and output tensors. */
type Op = LayerOp & { inputs: number[]; output: number };

/**
 * Whether direct programs are used where a model supports them (default on): input gradients and
 * unrecorded forward passes. Off, every gradient goes through tfjs' tape and every forward through
 * the gradient forward's layers: for comparisons (scripts/bench-direct-gradient.ts, the tests).
 */
let enabled = true;
export function setDirectGradients(on: boolean): void {
  enabled = on;
}
export function directGradientsEnabled(): boolean {
  return enabled;
}

export class InputGradientProgram {
  private constructor(
    private readonly ops: Op[],
    private readonly input: number,
    private readonly output: number,
  ) {}

  /** The program for the gradient forward's steps, or undefined if a layer is not supported. */
  static compile(steps: ProgramStep[], input: number, output: number): InputGradientProgram | undefined {
    const ops: Op[] = [];
    for (const step of steps) {
      if (step.inChain) continue;
      if (step.chain) {
        const call = step.chain.fusedCall();
        if (!call) return undefined;
        ops.push({ inputs: step.inputs, output: step.chainOutput!, ...convOp(call) });
        continue;
      }
      const op = layerOp(step.layer, step.inputs.length);
      if (!op) return undefined;
      ops.push({ inputs: step.inputs, output: step.output, ...op });
    }
    if (!ops.some((op) => op.output === output)) return undefined;
    return new InputGradientProgram(ops, input, output);
  }

  /**
   * The model's output for x, read to the host, and ∂loss/∂x where `head` gives ∂loss/∂output.
   * Call inside `tf.tidy`. `relu: 'guided'` backpropagates guided ReLU masks (guided backprop).
   */
  run(x: tf.Tensor4D, head: LogitsHead, relu: ReluKind = 'plain'): { logits: Float32Array; grad: tf.Tensor4D } {
    const values = this.forwardValues(x);
    const out = values.get(this.output)!;
    if (out.rank !== 2) throw new Error(`input gradient program: the model's output has rank ${out.rank}, expected [N, classes]`);
    const [rows, classes] = out.shape as [number, number];
    const logits = out.dataSync() as Float32Array;
    const dLogits = head(logits, rows, classes);
    const grads = new Map<number, tf.Tensor>([[this.output, tf.tensor2d(dLogits, [rows, classes])]]);
    for (let i = this.ops.length - 1; i >= 0; i--) {
      const op = this.ops[i]!;
      const dy = grads.get(op.output);
      if (!dy) continue;
      const args = op.inputs.map((id) => values.get(id)!);
      const inputGrads = op.backward(dy, args, values.get(op.output)!, relu);
      op.inputs.forEach((id, k) => {
        const g = inputGrads[k]!;
        const before = grads.get(id);
        grads.set(id, before ? tf.add(before, g) : g);
      });
    }
    return { logits, grad: (grads.get(this.input) ?? tf.zerosLike(x)) as tf.Tensor4D };
  }

  /**
   * The model's output for x alone, as the same plain kernel calls (no tape, no Layers-API
   * bookkeeping per layer): ImageModel's forward when no gradient is being recorded. Call inside `tf.tidy`.
   */
  forward(x: tf.Tensor4D): tf.Tensor {
    return this.forwardValues(x).get(this.output)!;
  }

  private forwardValues(x: tf.Tensor4D): Map<number, tf.Tensor> {
    const values = new Map<number, tf.Tensor>([[this.input, x]]);
    for (const op of this.ops) values.set(op.output, op.forward(op.inputs.map((id) => values.get(id)!)));
    return values;
  }
}
