/**
 * The graph ops gradlab's graph interpreter (graph-interpreter.ts) runs, each with plain tfjs ops
 * so that a gradient can flow through it and every ReLU can be replaced: the converter's fused
 * ops (`_FusedConv2D`, `FusedDepthwiseConv2dNative`, `_FusedMatMul`) are decomposed into the
 * convolution or product, the bias add and their activation, and a fused `Relu` goes through the
 * caller's `relu` exactly like a `Relu` node (`Relu6` as min(relu(x), 6), see relu6Through). Values equal tfjs' own executor's up to rounding.
 */
import * as tf from '@tensorflow/tfjs';
import type { ReluFn } from './feature-graph.ts';
import { relu6Through } from './activation-for-gradient.ts';
import { NodeAttrs, type GraphNodeDef } from './graph-node.ts';

type Op = (args: tf.Tensor[], a: NodeAttrs, relu: ReluFn) => tf.Tensor;
type Padding = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

function padding(a: NodeAttrs): Padding {
  const p = a.string('padding', 'VALID').toUpperCase();
  if (p === 'SAME') return 'same';
  if (p === 'VALID') return 'valid';
  const e = a.ints('explicit_paddings', []);
  return [[e[0] ?? 0, e[1] ?? 0], [e[2] ?? 0, e[3] ?? 0], [e[4] ?? 0, e[5] ?? 0], [e[6] ?? 0, e[7] ?? 0]];
}

const hw = (values: number[]): [number, number] => [values[1] ?? 1, values[2] ?? 1];
const ints = (t: tf.Tensor): number[] => Array.from(t.dataSync(), Number);

/** The activations a fused op may carry, after its BiasAdd. */
const FUSED_ACTIVATIONS = new Set(['Relu', 'Relu6', 'Elu', 'Sigmoid', 'Tanh', 'LeakyRelu', 'Prelu']);

/** Applies a fused op's `fused_ops` after its main product: BiasAdd with the next argument, then the activation. */
function fused(z: tf.Tensor, extra: tf.Tensor[], a: NodeAttrs, relu: ReluFn): tf.Tensor {
  let next = 0;
  let y = z;
  for (const op of a.strings('fused_ops')) {
    if (op === 'BiasAdd') y = tf.add(y, extra[next++]!);
    else if (op === 'Relu') y = relu(y);
    else if (op === 'Relu6') y = relu6Through(relu, y);
    else if (op === 'Elu') y = tf.elu(y);
    else if (op === 'Sigmoid') y = tf.sigmoid(y);
    else if (op === 'Tanh') y = tf.tanh(y);
    else if (op === 'LeakyRelu') y = tf.leakyRelu(y, a.float('leakyrelu_alpha', 0.2));
    else if (op === 'Prelu') y = tf.prelu(y, extra[next++]!);
  }
  return y;
}

const conv2d: Op = ([x, filter], a) =>
  tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, hw(a.ints('strides', [1, 1, 1, 1])), padding(a), 'NHWC', hw(a.ints('dilations', [1, 1, 1, 1])));
const depthwise: Op = ([x, filter], a) =>
  tf.depthwiseConv2d(x as tf.Tensor4D, filter as tf.Tensor4D, hw(a.ints('strides', [1, 1, 1, 1])), padding(a), 'NHWC', hw(a.ints('dilations', [1, 1, 1, 1])));
const matMul: Op = ([x, w], a) => tf.matMul(x!, w!, a.bool('transpose_a'), a.bool('transpose_b'));
const reduce = (fn: (x: tf.Tensor, axis: number[], keep: boolean) => tf.Tensor): Op => ([x, axis], a) => fn(x!, ints(axis!), a.bool('keep_dims'));
const pool = (fn: typeof tf.maxPool): Op => ([x], a) => fn(x as tf.Tensor4D, hw(a.ints('ksize', [1, 1, 1, 1])), hw(a.ints('strides', [1, 1, 1, 1])), padding(a) as 'same');

/** Ops by name. Ops that take constant integer arguments (axes, shapes) read them synchronously. */
export const GRAPH_OPS: Readonly<Record<string, Op>> = {
  Identity: ([x]) => x!,
  Snapshot: ([x]) => x!,
  Conv2D: conv2d,
  _FusedConv2D: (args, a, relu) => fused(conv2d(args, a, relu), args.slice(2), a, relu),
  DepthwiseConv2dNative: depthwise,
  DepthwiseConv2d: depthwise,
  FusedDepthwiseConv2dNative: (args, a, relu) => fused(depthwise(args, a, relu), args.slice(2), a, relu),
  MatMul: matMul,
  _FusedMatMul: (args, a, relu) => fused(matMul(args, a, relu), args.slice(2), a, relu),
  BiasAdd: ([x, b]) => tf.add(x!, b!),
  Add: ([x, y]) => tf.add(x!, y!),
  AddV2: ([x, y]) => tf.add(x!, y!),
  AddN: (args) => tf.addN(args),
  Sub: ([x, y]) => tf.sub(x!, y!),
  Mul: ([x, y]) => tf.mul(x!, y!),
  RealDiv: ([x, y]) => tf.div(x!, y!),
  Maximum: ([x, y]) => tf.maximum(x!, y!),
  Minimum: ([x, y]) => tf.minimum(x!, y!),
  Relu: ([x], _a, relu) => relu(x!),
  Relu6: ([x], _a, relu) => relu6Through(relu, x!),
  Elu: ([x]) => tf.elu(x!),
  Selu: ([x]) => tf.selu(x!),
  Sigmoid: ([x]) => tf.sigmoid(x!),
  Tanh: ([x]) => tf.tanh(x!),
  LeakyRelu: ([x], a) => tf.leakyRelu(x!, a.float('alpha', 0.2)),
  Softmax: ([x]) => tf.softmax(x!),
  LogSoftmax: ([x]) => tf.logSoftmax(x!),
  MaxPool: pool(tf.maxPool),
  AvgPool: pool(tf.avgPool),
  Mean: reduce((x, axis, keep) => tf.mean(x, axis, keep)),
  Max: reduce((x, axis, keep) => tf.max(x, axis, keep)),
  Sum: reduce((x, axis, keep) => tf.sum(x, axis, keep)),
  Reshape: ([x, shape]) => tf.reshape(x!, ints(shape!)),
  Squeeze: ([x], a) => tf.squeeze(x!, a.ints('squeeze_dims', []).length ? a.ints('squeeze_dims', []) : undefined),
  ExpandDims: ([x, axis]) => tf.expandDims(x!, ints(axis!)[0]),
  ConcatV2: (args, a) => tf.concat(args.slice(0, a.int('N', args.length - 1)), ints(args[a.int('N', args.length - 1)]!)[0]),
  Pad: ([x, paddings]) => tf.pad(x!, tf.tidy(() => tf.reshape(paddings!, [-1, 2]).arraySync() as [number, number][])),
  FusedBatchNorm: batchNorm,
  FusedBatchNormV3: batchNorm,
};

/** Inference batch norm as one multiply and add per channel. */
function batchNorm([x, scale, offset, mean, variance]: tf.Tensor[], a: NodeAttrs): tf.Tensor {
  const factor = tf.mul(tf.rsqrt(tf.add(variance!, a.float('epsilon', 0.001))), scale!);
  return tf.add(tf.mul(x!, factor), tf.sub(offset!, tf.mul(mean!, factor)));
}

const CONV_OPS = new Set(['Conv2D', '_FusedConv2D', 'DepthwiseConv2dNative', 'DepthwiseConv2d', 'FusedDepthwiseConv2dNative']);

export function isConvOp(op: string): boolean {
  return CONV_OPS.has(op);
}

/** Whether the node computes a ReLU or ReLU6 (a node of its own or fused), which `relu` replaces. */
export function computesRelu(node: GraphNodeDef): boolean {
  if (node.op === 'Relu' || node.op === 'Relu6') return true;
  const fused = node.op in GRAPH_OPS ? new NodeAttrs(node).strings('fused_ops') : [];
  return fused.includes('Relu') || fused.includes('Relu6');
}

/** Why the interpreter cannot run this node as tfjs would, or undefined when it can. */
export function unsupportedReason(node: GraphNodeDef): string | undefined {
  if (!(node.op in GRAPH_OPS)) return `op '${node.op}' (node '${node.name}') is not one gradlab can run node by node`;
  const a = new NodeAttrs(node);
  if (a.string('data_format', 'NHWC') !== 'NHWC') return `node '${node.name}' uses data_format ${a.string('data_format', '')}; only NHWC is supported`;
  const extra = a.strings('fused_ops').filter((op) => op !== 'BiasAdd' && !FUSED_ACTIVATIONS.has(op));
  if (extra.length > 0) return `node '${node.name}' fuses ${extra.join(', ')}, which gradlab cannot decompose`;
  if ((node.input ?? []).some((i) => /:[1-9]\d*$/.test(i))) return `node '${node.name}' reads a second output of another node, which gradlab does not follow`;
  return undefined;
}
