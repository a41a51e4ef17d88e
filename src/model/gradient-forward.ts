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
 */
import * as tf from '@tensorflow/tfjs';
import { ConvBatchNormFold, foldableBatchNorm, foldableConv } from './batch-norm-fold.ts';
import { applyLayerForGradient, hasRelu, RELU_REPLACED, type Layer, type ReluFn } from './layer-for-gradient.ts';

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

/** A Layers model's graph, run layer by layer with `applyLayerForGradient`. */
export class GradientForward {
  /** Whether the model has ReLUs and every one of them goes through the `relu` given to `run`. */
  readonly supportsReluSwap: boolean;

  private constructor(
    private readonly steps: Step[],
    private readonly input: number,
    private readonly output: number,
  ) {
    const withRelu = steps.filter((s) => hasRelu(s.layer));
    this.supportsReluSwap = withRelu.length > 0 && withRelu.every((s) => RELU_REPLACED.has(s.layer.getClassName()));
  }

  /**
   * The runner for `net`, or undefined where it cannot reproduce `predict` (then use predict).
   * `foldBatchNorm: false` keeps conv and batch norm apart (for scripts/bench-fold.ts).
   */
  static forModel(net: tf.LayersModel, options: { foldBatchNorm?: boolean } = {}): GradientForward | undefined {
    if (net.inputs.length !== 1 || net.outputs.length !== 1) return undefined;
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
  run(x: tf.Tensor, relu: ReluFn = tf.relu): tf.Tensor {
    const values = new Map<number, tf.Tensor>([[this.input, x]]);
    for (const { layer, inputs, output, fold, foldedOutput, folded } of this.steps) {
      if (folded) continue;
      const args = inputs.map((id) => {
        const value = values.get(id);
        if (!value) throw new Error(`gradient forward: layer ${layer.name} runs before its input`);
        return value;
      });
      if (fold && args[0]!.rank === 4) {
        values.set(foldedOutput!, fold.apply(args[0] as tf.Tensor4D));
        continue;
      }
      values.set(output, args.length === 1 ? applyLayerForGradient(layer, args[0]!, relu) : layer.apply(args, { training: false }) as tf.Tensor);
    }
    return values.get(this.output)!;
  }
}

/** Whether a gradient is being recorded right now (tfjs' own test for fusing ops). */
export function recordingGradient(): boolean {
  return tf.engine().state.gradientDepth > 0;
}
