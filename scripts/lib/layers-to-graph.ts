/**
 * Writes a sequential tfjs Layers model as the TF.js graph model `tensorflowjs_converter` would
 * make of the same Keras model (graph-fixture.ts's GraphWriter): conv + bias + ReLU fused into
 * `_FusedConv2D` / `FusedDepthwiseConv2dNative`, a batch norm right after a linear conv folded
 * into it, dense layers as `_FusedMatMul`, Flatten as `Reshape`, pooling as `MaxPool` / `AvgPool`
 * / `Mean`, Dropout dropped, softmax as `Softmax`. Used to show and check every method on graph
 * models of the shipped, trained networks (`npm run eval -- explain-graph`) and in tests.
 */
import * as tf from '@tensorflow/tfjs';
import { attr, GraphWriter } from './graph-fixture.ts';

type Layer = tf.layers.Layer;

const data = (t: tf.Tensor) => t.dataSync() as Float32Array;

function activationOf(layer: Layer): string {
  const a = layer.getConfig().activation;
  return typeof a === 'string' ? a : 'linear';
}

const FUSABLE: Record<string, string> = { relu: 'Relu', relu6: 'Relu6', elu: 'Elu', sigmoid: 'Sigmoid', tanh: 'Tanh' };

export function layersToGraph(net: tf.LayersModel): { modelJson: object; shard: Buffer } {
  const inputShape = net.inputs[0]!.shape.slice(1) as number[];
  const g = new GraphWriter(inputShape);
  const layers = net.layers.filter((l) => l.getClassName() !== 'InputLayer');
  let x = 'input';
  let softmaxAfter = false;
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i]!;
    const cls = layer.getClassName();
    const config = layer.getConfig();
    const name = layer.name;
    if (softmaxAfter) throw new Error(`layers-to-graph: layer '${name}' after a softmax`);
    const activation = activationOf(layer);
    const fusedActivation = activation === 'linear' || activation === 'softmax' ? [] : [FUSABLE[activation] ?? '?'];
    if (fusedActivation[0] === '?') throw new Error(`layers-to-graph: activation '${activation}' of '${name}'`);
    softmaxAfter = activation === 'softmax';
    if (cls === 'Conv2D' || cls === 'DepthwiseConv2D') {
      let [kernel, bias] = layer.getWeights().map(data);
      const filters = layer.getWeights()[0]!.shape;
      const channels = cls === 'Conv2D' ? filters[3]! : filters[2]! * filters[3]!;
      bias ??= new Float32Array(channels);
      const next = layers[i + 1];
      if (next?.getClassName() === 'BatchNormalization' && activation === 'linear') {
        const [gamma, beta, mean, variance] = next.getWeights().map(data);
        const eps = next.getConfig().epsilon as number;
        const factor = gamma!.map((v, k) => v / Math.sqrt(variance![k]! + eps));
        kernel = kernel!.map((w, k) => w * factor[k % channels]!);
        bias = bias.map((b, k) => (b - mean![k]!) * factor[k]! + beta![k]!);
        i++;
      }
      const strides = config.strides as number[];
      const dilation = config.dilationRate as number[] | number;
      const d = Array.isArray(dilation) ? dilation : [dilation, dilation];
      const fused = ['BiasAdd', ...fusedActivation];
      x = g.op(`${name}/${fusedActivation[0] ?? 'BiasAdd'}`, cls === 'Conv2D' ? '_FusedConv2D' : 'FusedDepthwiseConv2dNative',
        [x, g.constant(`${name}/kernel`, filters, kernel!), g.constant(`${name}/bias`, [channels], bias)], {
          strides: attr.ints([1, strides[0]!, strides[1]!, 1]), padding: attr.str((config.padding as string).toUpperCase()), data_format: attr.str('NHWC'),
          dilations: attr.ints([1, d[0]!, d[1]!, 1]), fused_ops: attr.strs(fused), num_args: attr.int(1),
        });
    } else if (cls === 'Dense') {
      const [kernel, bias] = layer.getWeights();
      const units = kernel!.shape[1]!;
      x = g.op(`${name}/${fusedActivation[0] ?? 'BiasAdd'}`, '_FusedMatMul', [x, g.constant(`${name}/kernel`, kernel!.shape, data(kernel!)), g.constant(`${name}/bias`, [units], bias ? data(bias) : new Float32Array(units))], {
        transpose_a: attr.bool(false), transpose_b: attr.bool(false), fused_ops: attr.strs(['BiasAdd', ...fusedActivation]), num_args: attr.int(1),
      });
    } else if (cls === 'MaxPooling2D' || cls === 'AveragePooling2D') {
      const pool = config.poolSize as number[];
      const strides = (config.strides as number[] | null) ?? pool;
      x = g.op(`${name}/${cls === 'MaxPooling2D' ? 'MaxPool' : 'AvgPool'}`, cls === 'MaxPooling2D' ? 'MaxPool' : 'AvgPool', [x], {
        ksize: attr.ints([1, pool[0]!, pool[1]!, 1]), strides: attr.ints([1, strides[0]!, strides[1]!, 1]), padding: attr.str((config.padding as string).toUpperCase()), data_format: attr.str('NHWC'),
      });
    } else if (cls === 'GlobalAveragePooling2D') {
      x = g.op(`${name}/Mean`, 'Mean', [x, g.constant(`${name}/axes`, [2], Int32Array.from([1, 2]))], { keep_dims: attr.bool(false) });
    } else if (cls === 'Flatten') {
      const size = (layer.outputShape as number[])[1]!;
      x = g.op(`${name}/Reshape`, 'Reshape', [x, g.constant(`${name}/shape`, [2], Int32Array.from([-1, size]))]);
    } else if (cls === 'ReLU' || (cls === 'Activation' && activation === 'relu')) {
      x = g.op(`${name}/Relu`, 'Relu', [x]);
    } else if (cls === 'Dropout') {
      continue;
    } else if (!(cls === 'Activation' && activation === 'softmax')) {
      throw new Error(`layers-to-graph: layer '${name}' (${cls}) is not supported`);
    }
    if (softmaxAfter) x = g.op(`${name}/Softmax`, 'Softmax', [x]);
  }
  g.op('Identity', 'Identity', [x]);
  const outputShape = (net.outputs[0]!.shape as number[]).slice(1);
  return g.artifacts('Identity', outputShape);
}
