/**
 * TF.js graph models written the way `tensorflowjs_converter` writes them (model.json with
 * `format: graph-model`, a signature, `modelTopology.node` with TensorFlow's AttrValue JSON, and
 * one little-endian weights shard), for gradlab's tests of graph models. No Python converter
 * exists here, so the graph is written by hand from seeded parameters, with what the converter
 * does to a Keras MobileNet-style network: batch norm folded into the conv before it, conv + bias
 * + ReLU fused into `_FusedConv2D`, depthwise conv into `FusedDepthwiseConv2dNative`, dense layers
 * into `_FusedMatMul`, global average pooling as `Mean`, a `Softmax` output behind `Identity`.
 *
 * `mobileParameters(seed)` gives the unfolded parameters so that tests can build the same network
 * as a sequential Layers model (the independent computation); `mobileGraph` writes the graph.
 */
import type { AttrValue, GraphNodeDef } from '../../src/model/graph-node.ts';

interface WeightEntry { name: string; shape: number[]; dtype: 'float32' | 'int32'; data: Float32Array | Int32Array }

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
export const attr = {
  ints: (values: number[]): AttrValue => ({ list: { i: values.map(String) } }),
  str: (s: string): AttrValue => ({ s: b64(s) }),
  strs: (values: string[]): AttrValue => ({ list: { s: values.map(b64) } }),
  int: (i: number): AttrValue => ({ i: String(i) }),
  bool: (b: boolean): AttrValue => ({ b }),
  float: (f: number): AttrValue => ({ f }),
  type: (t = 'DT_FLOAT'): AttrValue => ({ type: t }),
};

/** Builds one graph: placeholders, constants (the weights) and op nodes, in the converter's JSON. */
export class GraphWriter {
  readonly nodes: GraphNodeDef[] = [];
  private readonly weights: WeightEntry[] = [];

  constructor(readonly inputShape: number[]) {
    const dim = [-1, ...inputShape].map((d) => ({ size: String(d) }));
    this.nodes.push({ name: 'input', op: 'Placeholder', attr: { dtype: attr.type(), shape: { shape: { dim } } } });
  }

  constant(name: string, shape: number[], data: Float32Array | Int32Array): string {
    const dtype = data instanceof Int32Array ? 'int32' : 'float32';
    const tfType = dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT';
    this.nodes.push({ name, op: 'Const', attr: { value: { tensor: { dtype: tfType, tensorShape: { dim: shape.map((d) => ({ size: String(d) })) } } }, dtype: attr.type(tfType) } });
    this.weights.push({ name, shape, dtype, data });
    return name;
  }

  op(name: string, op: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string {
    this.nodes.push({ name, op, input: inputs, attr: { T: attr.type(), ...attrs } });
    return name;
  }

  /** model.json's object and the weights shard it names. */
  artifacts(output: string, outputShape: number[]): { modelJson: object; shard: Buffer } {
    const tensorInfo = (name: string, shape: number[]) => ({ name: `${name}:0`, dtype: 'DT_FLOAT', tensorShape: { dim: shape.map((d) => ({ size: String(d) })) } });
    const shard = Buffer.concat(this.weights.map((w) => Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength)));
    return {
      modelJson: {
        format: 'graph-model',
        generatedBy: '2.15.0',
        convertedBy: 'TensorFlow.js Converter v4.22.0 (written by scripts/lib/graph-fixture.ts)',
        signature: { inputs: { 'input:0': tensorInfo('input', [-1, ...this.inputShape]) }, outputs: { [`${output}:0`]: tensorInfo(output, [-1, ...outputShape]) } },
        modelTopology: { node: this.nodes, library: {}, versions: { producer: 1645 } },
        weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: this.weights.map(({ name, shape, dtype }) => ({ name, shape, dtype })) }],
      },
      shard,
    };
  }
}

/** Seeded values in [-scale, scale) (a linear congruential generator: the same on every machine). */
export function seededValues(n: number, seed: number, scale = 0.5, offset = 0): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = offset + (2 * (s / 2 ** 32) - 1) * scale;
  }
  return out;
}

export interface MobileParameters {
  inputShape: [number, number, number];
  classes: number;
  conv1: { kernel: Float32Array; bias: Float32Array; gamma: Float32Array; beta: Float32Array; mean: Float32Array; variance: Float32Array; epsilon: number };
  depthwise: { kernel: Float32Array; bias: Float32Array };
  pointwise: { kernel: Float32Array; bias: Float32Array };
  dense1: { kernel: Float32Array; bias: Float32Array };
  dense2: { kernel: Float32Array; bias: Float32Array };
}

export const MOBILE = { filters: 8, pointwise: 12, hidden: 16 } as const;

/** The unfolded parameters of the MobileNet-style fixture, from a seed. */
export function mobileParameters(seed = 1, inputShape: [number, number, number] = [16, 16, 3], classes = 5): MobileParameters {
  const [, , c] = inputShape;
  const { filters: f, pointwise: p, hidden: h } = MOBILE;
  let k = seed * 100;
  const v = (n: number, scale = 0.5, offset = 0) => seededValues(n, k++, scale, offset);
  return {
    inputShape,
    classes,
    conv1: { kernel: v(9 * c * f, 0.6), bias: v(f, 0.1), gamma: v(f, 0.3, 1), beta: v(f, 0.2), mean: v(f, 0.2), variance: v(f, 0.3, 0.8), epsilon: 1e-3 },
    depthwise: { kernel: v(9 * f, 0.6), bias: v(f, 0.1, 0.05) },
    pointwise: { kernel: v(f * p, 0.7), bias: v(p, 0.1, 0.05) },
    dense1: { kernel: v(p * h, 0.7), bias: v(h, 0.1, 0.05) },
    dense2: { kernel: v(h * classes, 0.7), bias: v(classes, 0.1) },
  };
}

/** conv kernel and bias with the batch norm after it folded in, as the converter does. */
export function foldBatchNorm({ kernel, bias, gamma, beta, mean, variance, epsilon }: MobileParameters['conv1']): { kernel: Float32Array; bias: Float32Array } {
  const f = gamma.length;
  const factor = gamma.map((g, i) => g / Math.sqrt(variance[i]! + epsilon));
  return { kernel: kernel.map((w, i) => w * factor[i % f]!), bias: bias.map((b, i) => (b - mean[i]!) * factor[i]! + beta[i]!) };
}

export interface MobileVariant {
  /** The activation fused into every conv and the hidden dense layer (default Relu; Relu6 as in MobileNet v2; Elu makes a model without ReLUs). */
  activation?: 'Relu' | 'Relu6' | 'Elu';
  /** An op inserted after the pooling (e.g. one the interpreter does not know). */
  extraOp?: string;
}

/** The MobileNet-style graph: folded conv+BN+ReLU, depthwise, pointwise, Mean, two FusedMatMul, Softmax. */
export function mobileGraph(p: MobileParameters, variant: MobileVariant = {}): { modelJson: object; shard: Buffer } {
  const act = variant.activation ?? 'Relu';
  const g = new GraphWriter(p.inputShape);
  const [, , c] = p.inputShape;
  const { filters: f, pointwise: pw, hidden: h } = MOBILE;
  const conv = (strides: number, fused: string[]) => ({
    strides: attr.ints([1, strides, strides, 1]), padding: attr.str('SAME'), data_format: attr.str('NHWC'),
    dilations: attr.ints([1, 1, 1, 1]), fused_ops: attr.strs(fused), num_args: attr.int(1), epsilon: attr.float(0),
  });
  const folded = foldBatchNorm(p.conv1);
  let x = g.op('conv1/Relu', '_FusedConv2D', ['input', g.constant('conv1/kernel', [3, 3, c, f], folded.kernel), g.constant('conv1/bias', [f], folded.bias)], conv(1, ['BiasAdd', act]));
  x = g.op('dw/Relu', 'FusedDepthwiseConv2dNative', [x, g.constant('dw/kernel', [3, 3, f, 1], p.depthwise.kernel), g.constant('dw/bias', [f], p.depthwise.bias)], conv(2, ['BiasAdd', act]));
  x = g.op('pw/Relu', '_FusedConv2D', [x, g.constant('pw/kernel', [1, 1, f, pw], p.pointwise.kernel), g.constant('pw/bias', [pw], p.pointwise.bias)], conv(1, ['BiasAdd', act]));
  x = g.op('gap/Mean', 'Mean', [x, g.constant('gap/axes', [2], Int32Array.from([1, 2]))], { keep_dims: attr.bool(false), Tidx: attr.type('DT_INT32') });
  if (variant.extraOp) x = g.op(`gap/${variant.extraOp}`, variant.extraOp, [x]);
  const matmul = (fused: string[]) => ({ transpose_a: attr.bool(false), transpose_b: attr.bool(false), fused_ops: attr.strs(fused), num_args: attr.int(1), epsilon: attr.float(0) });
  x = g.op('fc1/Relu', '_FusedMatMul', [x, g.constant('fc1/kernel', [pw, h], p.dense1.kernel), g.constant('fc1/bias', [h], p.dense1.bias)], matmul(['BiasAdd', act]));
  x = g.op('fc2/BiasAdd', '_FusedMatMul', [x, g.constant('fc2/kernel', [h, p.classes], p.dense2.kernel), g.constant('fc2/bias', [p.classes], p.dense2.bias)], matmul(['BiasAdd']));
  x = g.op('probabilities', 'Softmax', [x]);
  g.op('Identity', 'Identity', [x]);
  return g.artifacts('Identity', [p.classes]);
}

/** A graph with no convolution at all: flatten (Reshape), a ReLU FusedMatMul, a logits FusedMatMul. */
export function denseGraph(seed = 7, inputShape: [number, number, number] = [8, 8, 1], classes = 3): { modelJson: object; shard: Buffer } {
  const g = new GraphWriter(inputShape);
  const n = inputShape.reduce((a, b) => a * b, 1);
  const matmul = (fused: string[]) => ({ transpose_a: attr.bool(false), transpose_b: attr.bool(false), fused_ops: attr.strs(fused), num_args: attr.int(1) });
  let x = g.op('flatten/Reshape', 'Reshape', ['input', g.constant('flatten/shape', [2], Int32Array.from([-1, n]))]);
  x = g.op('hidden/Relu', '_FusedMatMul', [x, g.constant('hidden/kernel', [n, 6], seededValues(n * 6, seed)), g.constant('hidden/bias', [6], seededValues(6, seed + 1, 0.1))], matmul(['BiasAdd', 'Relu']));
  x = g.op('logits/BiasAdd', '_FusedMatMul', [x, g.constant('logits/kernel', [6, classes], seededValues(6 * classes, seed + 2)), g.constant('logits/bias', [classes], seededValues(classes, seed + 3, 0.1))], matmul(['BiasAdd']));
  g.op('Identity', 'Identity', [x]);
  return g.artifacts('Identity', [classes]);
}
