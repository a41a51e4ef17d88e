/**
 * The forward pass of a tfjs Layers model as it should run while a gradient is being recorded.
 *
 * `model.predict` is built for inference: Keras layers call tfjs' fused ops, and a fused conv or
 * dense layer with a linear activation (conv -> batch norm -> ReLU, the ResNet/MobileNet pattern)
 * stays fused while recording. Its gradient then always computes the weight gradient too, which an
 * input gradient throws away: on ResNet-18 that was a third of the backward pass. Batch norm's
 * gradient (tfjs `FusedBatchNorm`) materialises full-size tiles and differences it never needs for
 * the input gradient. This module runs the same layers with plain ops instead, one layer at a
 * time (layer-for-gradient.ts), and runs a conv followed by its only consumer, a batch norm, as one
 * conv with the batch norm folded into its weights (batch-norm-fold.ts).
 *
 * Values are the same as `predict`'s up to float rounding (tested). `forModel` walks the model's
 * graph in its layer order (topological), so residual networks work; models with shared layers
 * or nested sub-models keep using `predict`.
 *
 * It is also the model's feature graph (feature-graph.ts): `forward` reads or replaces any
 * layer's output, so Grad-CAM and unit visualisation work on functional (residual,
 * multi-branch) models; a conv whose output is read or replaced runs unfolded in that pass.
 */
import * as tf from '@tensorflow/tfjs';
import { ConvBatchNormFold, foldableBatchNorm, foldableConv } from './batch-norm-fold.ts';
import type { FeatureGraph, FeatureNode, FeatureRun, FeatureRunOptions } from './feature-graph.ts';
import { applyLayerForGradient, hasRelu, RELU_REPLACED, type Layer, type ReluFn } from './layer-for-gradient.ts';
import { plainRelu } from './relu-for-gradient.ts';

export { applyLayerForGradient } from './layer-for-gradient.ts';

interface Step {
  layer: Layer;
  /** Keys of the tensors the layer takes (symbolic tensor ids), in order. */
  inputs: number[];
  output: number;
  /** A conv with the next step's batch norm folded in: runs both, and sets `foldedOutput`. */
  fold?: ConvBatchNormFold;
  foldedOutput?: number;
  /** A batch norm folded into the conv before it: nothing to run. */
  folded?: boolean;
}

/**
 * Marks each conv → batch-norm pair that can run as one conv: the conv (linear activation) feeds
 * only the batch norm, and its own output is not the model's. Precomputes their folded weights.
 */
function planFolds(steps: Step[], modelOutput: number): void {
  const consumers = new Map<number, number>();
  for (const step of steps) for (const id of step.inputs) consumers.set(id, (consumers.get(id) ?? 0) + 1);
  for (let i = 0; i + 1 < steps.length; i++) {
    const conv = steps[i]!;
    const bn = steps.find((s) => s.inputs.length === 1 && s.inputs[0] === conv.output);
    if (!bn || !foldableConv(conv.layer) || !foldableBatchNorm(bn.layer)) continue;
    if (consumers.get(conv.output) !== 1 || conv.output === modelOutput || conv.fold || bn.folded) continue;
    conv.fold = new ConvBatchNormFold(conv.layer, bn.layer);
    conv.fold.prepare();
    conv.foldedOutput = bn.output;
    bn.folded = true;
  }
}

const CONV_LAYERS = new Set(['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'Conv2DTranspose']);

function featureNode(layer: Layer): FeatureNode {
  const shape = layer.outputShape;
  const cls = layer.getClassName();
  return { name: layer.name, type: cls, outputShape: (Array.isArray(shape[0]) ? shape[0] : shape) as (number | null)[], conv: CONV_LAYERS.has(cls) };
}

/** A Layers model's graph, run layer by layer with `applyLayerForGradient`. */
export class GradientForward implements FeatureGraph {
  /** Whether the model has ReLUs and every one of them goes through the `relu` given to `run`. */
  readonly supportsReluSwap: boolean;
  readonly hasRelu: boolean;
  readonly nodes: FeatureNode[];
  /** Layer name → the id of its output tensor. */
  private readonly outputOf: Map<string, number>;

  private constructor(
    private readonly steps: Step[],
    private readonly input: number,
    private readonly output: number,
  ) {
    const withRelu = steps.filter((s) => hasRelu(s.layer));
    this.hasRelu = withRelu.length > 0;
    this.nodes = steps.map((s) => featureNode(s.layer));
    this.outputOf = new Map(steps.map((s) => [s.layer.name, s.output]));
    this.supportsReluSwap = withRelu.length > 0 && withRelu.every((s) => RELU_REPLACED.has(s.layer.getClassName()));
  }

  /**
   * The runner for `net`, or undefined where it cannot reproduce `predict` (then use predict).
   * `foldBatchNorm: false` keeps conv and batch norm apart (for scripts/bench-fold.ts).
   */
  static forModel(net: tf.LayersModel, options: { foldBatchNorm?: boolean } = {}): GradientForward | undefined {
    // Several outputs: the first is the classifier's (as `predict`'s first output is in ImageModel).
    if (net.inputs.length !== 1) return undefined;
    const steps: Step[] = [];
    for (const layer of net.layers) {
      if (layer.getClassName() === 'InputLayer') continue;
      // Shared layers (several call sites) and nested models have no single wiring to follow.
      if (layer.inboundNodes.length !== 1 || layer instanceof tf.LayersModel) return undefined;
      const node = layer.inboundNodes[0]!;
      if (node.outputTensors.length !== 1) return undefined;
      steps.push({ layer, inputs: node.inputTensors.map((t) => t.id), output: node.outputTensors[0]!.id });
    }
    const output = net.outputs[0]!.id;
    if (options.foldBatchNorm !== false) planFolds(steps, output);
    return new GradientForward(steps, net.inputs[0]!.id, output);
  }

  /** Releases the folded conv weights. */
  dispose(): void {
    for (const step of this.steps) step.fold?.dispose();
  }

  /** The model's output for x; every plain ReLU goes through `relu`. */
  run(x: tf.Tensor, relu: ReluFn = plainRelu): tf.Tensor {
    return this.forward(x, { relu }).output!;
  }

  /** The feature-graph run: optionally reads one layer's output or replaces it by a given value. */
  forward(x: tf.Tensor, { relu = plainRelu, capture, substitute }: FeatureRunOptions = {}): FeatureRun {
    const captureId = capture === undefined ? undefined : this.outputOf.get(capture);
    const substituteId = substitute === undefined ? undefined : this.outputOf.get(substitute.name);
    if (capture !== undefined && captureId === undefined) throw new Error(`gradient forward: no layer named '${capture}'`);
    if (substitute !== undefined && substituteId === undefined) throw new Error(`gradient forward: no layer named '${substitute.name}'`);
    const stopAtCapture = captureId !== undefined && substituteId === undefined;
    const values = new Map<number, tf.Tensor>([[this.input, x]]);
    // A folded conv's own output does not exist: a pass that reads or replaces the conv's or the
    // batch norm's output runs the pair unfolded.
    const touched = (id: number | undefined) => id !== undefined && (id === captureId || id === substituteId);
    const unfolded = new Set<number>();
    for (const { layer, inputs, output, fold, foldedOutput, folded } of this.steps) {
      if (folded && !unfolded.has(output)) continue;
      const useFold = fold !== undefined && !touched(output) && !touched(foldedOutput);
      if (fold && !useFold) unfolded.add(foldedOutput!);
      if (output === substituteId) {
        values.set(output, substitute!.value);
        continue;
      }
      const args = inputs.map((id) => {
        const value = values.get(id);
        if (!value) throw new Error(`gradient forward: layer ${layer.name} runs before its input`);
        return value;
      });
      if (useFold && args[0]!.rank === 4) {
        values.set(foldedOutput!, fold.apply(args[0] as tf.Tensor4D));
        continue;
      }
      if (fold) unfolded.add(foldedOutput!);
      values.set(output, args.length === 1 ? applyLayerForGradient(layer, args[0]!, relu) : layer.apply(args, { training: false }) as tf.Tensor);
      if (output === captureId && stopAtCapture) break;
    }
    return {
      ...(stopAtCapture ? {} : { output: values.get(this.output)! }),
      ...(captureId !== undefined ? { captured: values.get(captureId) } : {}),
    };
  }
}

/** Whether a gradient is being recorded right now (tfjs' own test for fusing ops). */
export function recordingGradient(): boolean {
  return tf.engine().state.gradientDepth > 0;
}
