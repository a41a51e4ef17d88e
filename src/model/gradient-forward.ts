/**
 * The forward pass of a tfjs Layers model as it should run while a gradient is being recorded.
 *
 * `model.predict` is built for inference: Keras layers call tfjs' fused ops, and a fused conv or
 * dense layer with a linear activation (conv -> batch norm -> ReLU, the ResNet/MobileNet pattern)
 * stays fused while recording. Its gradient then always computes the weight gradient too, which an
 * input gradient throws away: on ResNet-18 that was a third of the backward pass. Batch norm's
 * gradient (tfjs `FusedBatchNorm`) materialises full-size tiles and differences it never needs for
 * the input gradient. This module runs the same layers with plain ops instead, one layer at a
 * time (layer-for-gradient.ts), and runs a conv with the zero padding before it and the batch norm
 * and ReLU after it as one fused conv (conv-chain.ts). With nothing recorded the same layers run
 * without custom gradients: ImageModel's plain forward pass uses it too (faster than `predict`,
 * whose batch norms, paddings and per-layer bookkeeping it skips).
 *
 * Values are the same as `predict`'s up to float rounding (tested). `forModel` walks the model's
 * graph in its layer order (topological), so residual networks work; models with shared layers
 * or nested sub-models keep using `predict`.
 *
 * It is also the model's feature graph (feature-graph.ts): `forward` reads or replaces any
 * layer's output, so Grad-CAM and unit visualisation work on functional (residual,
 * multi-branch) models; a chain with an inner output read or replaced runs layer by layer in that
 * pass.
 */
import * as tf from '@tensorflow/tfjs';
import { foldableBatchNorm } from './batch-norm-fold.ts';
import { chainableConv, ConvChain, foldablePadding, linearConv, plainReluLayer, type ConvChainLayers } from './conv-chain.ts';
import type { FeatureGraph, FeatureNode, FeatureRun, FeatureRunOptions } from './feature-graph.ts';
import type { Layer, ReluFn } from './activation-for-gradient.ts';
import { InputGradientProgram } from './input-gradient-program.ts';
import { applyLayerForGradient, hasRelu, RELU_REPLACED } from './layer-for-gradient.ts';
import { plainRelu } from './relu-for-gradient.ts';

export { applyLayerForGradient } from './layer-for-gradient.ts';

interface Step {
  layer: Layer;
  /** Keys of the tensors the layer takes (symbolic tensor ids), in order. */
  inputs: number[];
  output: number;
  /** The first layer of a conv chain (conv-chain.ts): runs the whole chain, whose output is `chainOutput`. */
  chain?: ConvChain;
  chainOutput?: number;
  /** The outputs of every layer in the chain, its own included. */
  chainMembers?: number[];
  /** A later layer of a chain: skipped when its chain ran. */
  inChain?: Step;
}

/**
 * Finds each conv chain ([zero padding] → conv → [batch norm] → [ReLU], conv-chain.ts): a layer
 * joins only if its input's sole consumer is the next layer and no joined output is the model's.
 * Precomputes the chains' folded weights.
 */
function planChains(steps: Step[], modelOutput: number, foldBatchNorm: boolean): void {
  const consumers = new Map<number, number>();
  for (const step of steps) for (const id of step.inputs) consumers.set(id, (consumers.get(id) ?? 0) + 1);
  const producer = new Map(steps.map((s) => [s.output, s]));
  const free = (s: Step | undefined): s is Step => s !== undefined && !s.chain && !s.inChain;
  const soleConsumer = (id: number) =>
    consumers.get(id) === 1 && id !== modelOutput ? steps.find((s) => s.inputs.length === 1 && s.inputs[0] === id) : undefined;
  for (const step of steps) {
    if (!free(step) || step.inputs.length !== 1 || !chainableConv(step.layer)) continue;
    const members = [step];
    const layers: ConvChainLayers = { conv: step.layer };
    const before = producer.get(step.inputs[0]!);
    if (free(before) && before.inputs.length === 1 && soleConsumer(before.output) === step && foldablePadding(before.layer, step.layer)) {
      layers.pad = before.layer;
      members.unshift(before);
    }
    if (linearConv(step.layer)) {
      let tail = step;
      const bn = soleConsumer(tail.output);
      if (foldBatchNorm && free(bn) && foldableBatchNorm(bn.layer)) {
        layers.bn = bn.layer;
        members.push(bn);
        tail = bn;
      }
      const relu = soleConsumer(tail.output);
      if (free(relu) && plainReluLayer(relu.layer)) {
        layers.relu = relu.layer;
        members.push(relu);
      }
    }
    if (members.length === 1) continue;
    const head = members[0]!;
    head.chain = new ConvChain(layers);
    head.chain.prepare();
    head.chainOutput = members[members.length - 1]!.output;
    head.chainMembers = members.map((m) => m.output);
    for (const m of members.slice(1)) m.inChain = head;
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
    planChains(steps, output, options.foldBatchNorm !== false);
    return new GradientForward(steps, net.inputs[0]!.id, output);
  }

  private program: InputGradientProgram | null | undefined;

  /** The input gradient without tfjs' tape (input-gradient-program.ts), built once; undefined where a layer is not supported. */
  inputGradientProgram(): InputGradientProgram | undefined {
    if (this.program === undefined) this.program = InputGradientProgram.compile(this.steps, this.input, this.output) ?? null;
    return this.program ?? undefined;
  }

  /** Releases the folded conv weights. */
  dispose(): void {
    for (const step of this.steps) step.chain?.dispose();
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
    // A chain's inner outputs do not exist: a pass that reads or replaces one of them (or replaces
    // the chain's output) runs the chain's layers one by one.
    const touched = (id: number) => id === captureId || id === substituteId;
    const chainRuns = (step: Step) =>
      step.chainMembers!.every((id) => id === step.chainOutput || !touched(id)) && step.chainOutput !== substituteId;
    const ran = new Set<Step>();
    for (const step of this.steps) {
      if (step.inChain && ran.has(step.inChain)) continue;
      const { layer, inputs, output } = step;
      if (output === substituteId) {
        values.set(output, substitute!.value);
        continue;
      }
      const args = inputs.map((id) => {
        const value = values.get(id);
        if (!value) throw new Error(`gradient forward: layer ${layer.name} runs before its input`);
        return value;
      });
      if (step.chain && args[0]!.rank === 4 && chainRuns(step)) {
        values.set(step.chainOutput!, step.chain.apply(args[0] as tf.Tensor4D, relu));
        ran.add(step);
        if (step.chainOutput === captureId && stopAtCapture) break;
        continue;
      }
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
