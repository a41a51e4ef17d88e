/**
 * Runs a TF.js graph model node by node (its nodes as the converter wrote them, its weights as
 * tfjs loaded them), with plain ops per node (graph-ops.ts), so that explanation methods get what
 * `GraphModel.execute` cannot give: every ReLU, fused ones included, replaceable by the guided
 * ReLU; an inner node's activations; and the output as a function of those activations.
 *
 * Only the nodes the output depends on run, in dependency order. A graph with an op the
 * interpreter does not know is still served (classify, gradient, attacks run through tfjs'
 * executor); it reports the op in `unsupported`, which methods that need the node-by-node run
 * turn into a 400 naming it.
 */
import * as tf from '@tensorflow/tfjs';
import type { FeatureGraph, FeatureNode, FeatureRun, FeatureRunOptions } from './feature-graph.ts';
import { dataInputs, NodeAttrs, type GraphNodeDef } from './graph-node.ts';
import { computesRelu, GRAPH_OPS, isConvOp, unsupportedReason } from './graph-ops.ts';
import { plainRelu } from './relu-for-gradient.ts';

interface Step {
  name: string;
  op: string;
  inputs: string[];
  attrs: NodeAttrs;
}

/** The nodes `output` depends on, inputs before their consumers (constants and placeholders left out). */
function executionOrder(byName: Map<string, GraphNodeDef>, output: string): GraphNodeDef[] {
  const order: GraphNodeDef[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: { name: string; expanded: boolean }[] = [{ name: output, expanded: false }];
  while (stack.length > 0) {
    const top = stack.pop()!;
    const node = byName.get(top.name);
    if (!node || state.get(top.name) === 'done') continue;
    if (top.expanded) {
      state.set(top.name, 'done');
      if (node.op !== 'Const' && node.op !== 'Placeholder') order.push(node);
      continue;
    }
    if (state.get(top.name) === 'visiting') throw new Error(`graph model: node '${top.name}' is part of a cycle`);
    state.set(top.name, 'visiting');
    stack.push({ name: top.name, expanded: true });
    for (const input of dataInputs(node)) if (state.get(input) !== 'done') stack.push({ name: input, expanded: false });
  }
  return order;
}

export class GraphInterpreter implements FeatureGraph {
  readonly nodes: FeatureNode[] = [];
  readonly hasRelu: boolean;
  readonly supportsReluSwap: boolean;
  readonly unsupported?: string;
  private readonly steps: Step[];
  private readonly constants = new Map<string, tf.Tensor>();

  /**
   * `nodes`: the model.json's `modelTopology.node`; `inputShape`: [H, W, C] (the output shapes
   * listed for `layer` come from one forward pass on zeros).
   */
  constructor(net: tf.GraphModel, nodes: GraphNodeDef[], inputShape: number[]) {
    const byName = new Map(nodes.map((n) => [n.name, n]));
    const placeholders = nodes.filter((n) => n.op === 'Placeholder');
    if (placeholders.length !== 1) this.unsupported = `the graph has ${placeholders.length} inputs; node-by-node methods need exactly one`;
    this.input = placeholders[0]?.name ?? '';
    this.output = (net.outputNodes[0] ?? '').replace(/:0$/, '');
    const order = executionOrder(byName, this.output);
    for (const [name, tensors] of Object.entries(net.weights)) if (tensors[0]) this.constants.set(name, tensors[0]);
    this.unsupported ??= order.map(unsupportedReason).find((r) => r !== undefined);
    const missing = order.flatMap(dataInputs).find((i) => !byName.has(i));
    if (missing !== undefined) this.unsupported ??= `an input '${missing}' that the graph does not define`;
    this.steps = order.map((n) => ({ name: n.name, op: n.op, inputs: dataInputs(n), attrs: new NodeAttrs(n) }));
    this.hasRelu = order.some(computesRelu);
    this.supportsReluSwap = this.hasRelu && this.unsupported === undefined;
    if (this.unsupported === undefined) {
      try {
        this.nodes = this.measureNodes(net, inputShape);
      } catch (err) {
        this.unsupported = `the node-by-node run fails (${(err as Error).message})`;
      }
    }
  }

  private readonly input: string;
  private readonly output: string;

  /**
   * Every executed node with its output shape, from one forward pass on a fixed probe image; the
   * pass must also reproduce tfjs' own executor, or the interpreter refuses to stand in for it.
   */
  private measureNodes(net: tf.GraphModel, inputShape: number[]): FeatureNode[] {
    const shapes = new Map<string, number[]>();
    const size = inputShape.reduce((a, b) => a * b, 1);
    const difference = tf.tidy(() => {
      const probe = tf.reshape(tf.sin(tf.range(0, size)), [1, ...inputShape]);
      const values = this.forEachStep(probe, tf.relu, (name, y) => {
        shapes.set(name, y.shape);
        return false;
      });
      const ours = values.get(this.output)!;
      const theirs = net.execute(probe) as tf.Tensor;
      const scale = tf.maximum(tf.max(tf.abs(theirs)), 1);
      return tf.div(tf.max(tf.abs(tf.sub(ours, theirs))), scale).dataSync()[0]!;
    });
    if (!(difference <= 1e-3)) throw new Error(`its output differs from tfjs' executor by ${difference.toExponential(2)} (relative)`);
    return this.steps.map((s) => {
      const shape = shapes.get(s.name) ?? [];
      return { name: s.name, type: s.op, outputShape: shape.map((d, i) => (i === 0 ? null : d)), conv: isConvOp(s.op) };
    });
  }

  private readonly downstreamOf = new Map<string, Set<string>>();

  /**
   * The steps the output needs once `replaced` is given: nodes that only feed `replaced` need
   * not run (a Grad-CAM head pass then costs the part of the network after the layer).
   */
  private neededWith(replaced: string): Set<string> {
    let needed = this.downstreamOf.get(replaced);
    if (needed) return needed;
    const inputsOf = new Map(this.steps.map((s) => [s.name, s.inputs]));
    needed = new Set<string>();
    const stack = [this.output];
    while (stack.length > 0) {
      const name = stack.pop()!;
      if (needed.has(name) || !inputsOf.has(name)) continue;
      needed.add(name);
      if (name !== replaced) stack.push(...inputsOf.get(name)!);
    }
    this.downstreamOf.set(replaced, needed);
    return needed;
  }

  /** Runs the steps in order; `visit` sees each output and returns true to stop; `replace` gives a step's value instead. */
  private forEachStep(x: tf.Tensor, relu: (t: tf.Tensor) => tf.Tensor, visit: (name: string, y: tf.Tensor) => boolean, replace?: { name: string; value: tf.Tensor }, needed?: Set<string>): Map<string, tf.Tensor> {
    const values = new Map<string, tf.Tensor>([[this.input, x]]);
    for (const step of this.steps) {
      if (needed && !needed.has(step.name)) continue;
      let y: tf.Tensor;
      if (replace?.name === step.name) {
        y = replace.value;
      } else {
        const args = step.inputs.map((name) => {
          const value = values.get(name) ?? this.constants.get(name);
          if (!value) throw new Error(`graph model: node '${step.name}' reads '${name}', which has no value`);
          return value;
        });
        y = GRAPH_OPS[step.op]!(args, step.attrs, relu);
      }
      values.set(step.name, y);
      if (visit(step.name, y)) break;
    }
    return values;
  }

  forward(x: tf.Tensor, { relu = plainRelu, capture, substitute }: FeatureRunOptions = {}): FeatureRun {
    if (this.unsupported !== undefined) throw new Error(`graph model: ${this.unsupported}`);
    for (const name of [capture, substitute?.name]) {
      if (name !== undefined && !this.steps.some((s) => s.name === name)) throw new Error(`graph model: no node named '${name}'`);
    }
    // Stop at the captured node when nothing downstream is wanted.
    const stopAtCapture = capture !== undefined && substitute === undefined;
    // With a substitute and no capture, only what lies between it and the output runs.
    const needed = substitute && capture === undefined ? this.neededWith(substitute.name) : undefined;
    const values = this.forEachStep(x, relu, (name) => stopAtCapture && name === capture, substitute, needed);
    return {
      ...(stopAtCapture ? {} : { output: values.get(this.output) }),
      ...(capture !== undefined ? { captured: values.get(capture) } : {}),
    };
  }
}
