/**
 * The vanishing-gradient picture: how large ∂L/∂h(t), the gradient of a loss at the last step
 * with respect to the hidden state at step t, is for a SimpleRNN, a GRU and an LSTM unrolled over
 * a long sequence. Backprop through time multiplies one Jacobian ∂h(t)/∂h(t−1) per step; for a
 * tanh SimpleRNN their product shrinks geometrically, while the gated cells' additive paths
 * (GRU: z·h(t−1); LSTM: f·c(t−1)) carry it further.
 *
 * How: every hidden state gets a zero perturbation δ(t) added after its cell step; the gradient of
 * the loss with respect to δ(t) is exactly ∂L/∂h(t). Weights follow the Keras/tfjs defaults
 * (Glorot-uniform input kernels, orthogonal recurrent kernels, zero biases, LSTM forget bias 1),
 * seeded. The loss is the softmax cross-entropy of a dense readout of h(T) against random labels.
 */
import * as tf from '@tensorflow/tfjs';

export const CELLS = ['simple-rnn', 'gru', 'lstm'] as const;
export type Cell = (typeof CELLS)[number];

export interface GradientFlowOptions {
  cell: Cell;
  length: number;
  units: number;
  inputSize: number;
  batch: number;
  seed: number;
  /** GRU only: a constant added to the update gate's bias (z near 1 keeps h(t−1), the memory path). */
  updateGateBias?: number;
  /** Trained weights in the tfjs layer layout (kernel [in, k·units], recurrentKernel [units, k·units], bias [k·units]). */
  weights?: { kernel: tf.Tensor2D; recurrentKernel: tf.Tensor2D; bias: tf.Tensor1D };
  /** Inputs: standard normal values (default) or random bits. */
  inputs?: 'normal' | 'bits';
}

const GATES: Record<Cell, number> = { 'simple-rnn': 1, gru: 3, lstm: 4 };

/** Mean over the batch of ‖∂L/∂h(t)‖₂ for t = 1..length. Leaves no tensors behind. */
export function hiddenGradientNorms(o: GradientFlowOptions): number[] {
  const norms = tf.tidy(() => {
    const k = GATES[o.cell];
    const H = o.units;
    const W = o.weights?.kernel ?? tf.initializers.glorotUniform({ seed: o.seed }).apply([o.inputSize, k * H]) as tf.Tensor2D;
    const U = o.weights?.recurrentKernel ?? tf.concat(Array.from({ length: k }, (_, i) =>
      tf.initializers.orthogonal({ seed: o.seed + 1 + i, gain: 1 }).apply([H, H]) as tf.Tensor2D), 1) as tf.Tensor2D;
    const b = o.weights?.bias ?? (o.cell === 'lstm'
      ? tf.concat([tf.zeros([H]), tf.ones([H]), tf.zeros([2 * H])]) // Keras unitForgetBias: gates i, f, c, o
      : o.cell === 'gru' && o.updateGateBias
        ? tf.concat([tf.fill([H], o.updateGateBias), tf.zeros([2 * H])]) // gate order z, r, h
        : tf.zeros([k * H]));
    const readout = tf.initializers.glorotUniform({ seed: o.seed + 9 }).apply([H, 10]) as tf.Tensor2D;
    const x = o.inputs === 'bits'
      ? tf.randomUniform([o.length, o.batch, o.inputSize], 0, 2, 'int32', o.seed + 11).toFloat()
      : tf.randomNormal([o.length, o.batch, o.inputSize], 0, 1, 'float32', o.seed + 11);
    const labels = tf.oneHot(tf.randomUniform([o.batch], 0, 10, 'int32', o.seed + 12), 10);
    const xs = tf.unstack(x) as tf.Tensor2D[];

    const loss = (delta: tf.Tensor): tf.Scalar => {
      const deltas = tf.unstack(delta) as tf.Tensor2D[];
      let h = tf.zeros([o.batch, H]) as tf.Tensor2D;
      let c = tf.zeros([o.batch, H]) as tf.Tensor2D;
      for (let t = 0; t < o.length; t++) {
        const xw = tf.matMul(xs[t]!, W).add(b) as tf.Tensor2D;
        if (o.cell === 'simple-rnn') {
          h = tf.tanh(xw.add(tf.matMul(h, U))) as tf.Tensor2D;
        } else if (o.cell === 'gru') {
          const [xz, xr, xh] = tf.split(xw, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
          const [uz, ur, uh] = tf.split(U, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
          const z = tf.sigmoid(xz.add(tf.matMul(h, uz)));
          const r = tf.sigmoid(xr.add(tf.matMul(h, ur)));
          const hh = tf.tanh(xh.add(tf.matMul(r.mul(h), uh)));
          h = z.mul(h).add(tf.onesLike(z).sub(z).mul(hh)) as tf.Tensor2D;
        } else {
          const [gi, gf, gc, go] = tf.split<tf.Tensor2D>(xw.add(tf.matMul(h, U)), 4, 1);
          c = tf.sigmoid(gf!).mul(c).add(tf.sigmoid(gi!).mul(tf.tanh(gc!))) as tf.Tensor2D;
          h = tf.sigmoid(go!).mul(tf.tanh(c)) as tf.Tensor2D;
        }
        h = h.add(deltas[t]!);
      }
      return tf.losses.softmaxCrossEntropy(labels, tf.matMul(h, readout)) as tf.Scalar;
    };
    const g = tf.grad(loss)(tf.zeros([o.length, o.batch, H])); // [T, B, H]
    return tf.mean(tf.norm(g, 'euclidean', 2), 1); // [T]
  });
  const out = Array.from(norms.dataSync());
  norms.dispose();
  return out;
}
