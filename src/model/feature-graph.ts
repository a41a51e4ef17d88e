/**
 * A network as a graph of named nodes that explanation methods can run piece by piece, whatever
 * the model's format: a sequential or functional tfjs Layers model (nodes are layers) or a tfjs
 * Graph model (nodes are the converter's graph nodes). It is what lets Grad-CAM read and replace
 * an inner node's activations, guided backprop swap every ReLU (fused ones included) and unit
 * visualisation maximise an inner channel, on every kind of model.
 */
import type * as tf from '@tensorflow/tfjs';

export type ReluFn = (x: tf.Tensor) => tf.Tensor;

/** One node that `layer` may name. */
export interface FeatureNode {
  name: string;
  /** Layer class (`Conv2D`) or graph op (`_FusedConv2D`). */
  type: string;
  /** Output shape with the batch dimension as null. */
  outputShape: (number | null)[];
  /** A convolution (Grad-CAM's default layer is the last one). */
  conv: boolean;
}

export interface FeatureRunOptions {
  /** Replaces every plain ReLU, fused ones included (guided backprop's ReLU). */
  relu?: ReluFn;
  /** Also return this node's output; the run may stop once it is known. */
  capture?: string;
  /**
   * Use `value` as this node's output instead of computing it: the network's output as a
   * function of an inner node's activations (Grad-CAM's gradient).
   */
  substitute?: { name: string; value: tf.Tensor };
}

export interface FeatureRun {
  /** The network's raw output (undefined when the run stopped at the captured node). */
  output?: tf.Tensor;
  captured?: tf.Tensor;
}

export interface FeatureGraph {
  /** Every node `layer` may name, in execution order. */
  readonly nodes: readonly FeatureNode[];
  /** Whether some node computes a ReLU. */
  readonly hasRelu: boolean;
  /** Whether the graph has ReLUs and every one of them goes through `relu` (guided backprop). */
  readonly supportsReluSwap: boolean;
  /** Why the graph cannot run node by node (an op it does not know), or undefined when it can. */
  readonly unsupported?: string;
  forward(x: tf.Tensor, options?: FeatureRunOptions): FeatureRun;
}

/** The last convolution's node, or undefined. */
export function lastConvNode(graph: FeatureGraph): FeatureNode | undefined {
  for (let i = graph.nodes.length - 1; i >= 0; i--) if (graph.nodes[i]!.conv) return graph.nodes[i];
  return undefined;
}

/** Nodes with a spatial [N, H, W, C] output (what Grad-CAM may weight). */
export function spatialNodes(graph: FeatureGraph): FeatureNode[] {
  return graph.nodes.filter((n) => n.outputShape.length === 4);
}
