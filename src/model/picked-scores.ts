/**
 * Each image's score for one class, out of logits [N, classes], as one op with its own gradient:
 * the logit itself, or its log-probability log softmax(z)[class]. Every input gradient and
 * gradient attack ends in one of these; as tfjs ops the log-probability was about 15 kernels
 * forward and 10 backward (logSoftmax's max, subtract, exp, sum, log; the one-hot product and
 * sums), each with its bookkeeping: a visible share of a batch-1 gradient of a small network.
 *
 * Here the logits are read once and the values and gradients computed on the host, in float32 at
 * every step as tfjs computes them (Math.fround), with tfjs' formulas: log p = (z − max) −
 * log Σ exp(z − max), and the gradient dy·(onehot − exp(log p)). A confident image's log p(target)
 * is then exactly 0 where tfjs' and PyTorch's is, and its gradient the same float32 rounding
 * noise rather than a float64 value neither reference computes. A class outside [0, classes)
 * scores 0 with no gradient (tfjs' one-hot gives a zero row).
 */
import * as tf from '@tensorflow/tfjs';

export type PickedScore = 'logprob' | 'logit';

const f = Math.fround;

/** Float32 log-softmax of each row of `z` ([rows, classes] flat), as tfjs' logSoftmax computes it. */
function logSoftmaxRows(z: Float32Array, rows: number, classes: number): Float32Array {
  const out = new Float32Array(z.length);
  for (let i = 0; i < rows; i++) {
    const row = i * classes;
    let max = -Infinity;
    for (let j = 0; j < classes; j++) max = Math.max(max, z[row + j]!);
    let sum = 0;
    for (let j = 0; j < classes; j++) sum = f(sum + f(Math.exp(f(z[row + j]! - max))));
    const logSum = f(Math.log(sum));
    for (let j = 0; j < classes; j++) out[row + j] = f(f(z[row + j]! - max) - logSum);
  }
  return out;
}

const picks = (classes: number[], depth: number) => classes.map((c) => (Number.isInteger(c) && c >= 0 && c < depth ? c : -1));

/**
 * Host half of the op, for callers that hold the logits on the host (input-gradient-program.ts):
 * each row's score and, for upstream gradients `dy` [rows], ∂(Σ dy·score)/∂logits, the same
 * float32 arithmetic as the op's gradient.
 */
export function pickedScoresOnHost(
  logits: Float32Array, rows: number, depth: number, classes: number[], kind: PickedScore, dy: ArrayLike<number>,
): { scores: Float32Array; grad: Float32Array } {
  if (classes.length !== rows) throw new Error(`picked scores: ${classes.length} classes for ${rows} rows`);
  const picked = picks(classes, depth);
  const table = kind === 'logprob' ? logSoftmaxRows(logits, rows, depth) : logits;
  const scores = Float32Array.from(picked, (c, i) => (c < 0 ? 0 : table[i * depth + c]!));
  return { scores, grad: scoreGradient(picked, dy, kind === 'logprob' ? table : undefined, rows, depth) };
}

function scoreGradient(picked: number[], d: ArrayLike<number>, logp: Float32Array | undefined, rows: number, depth: number): Float32Array {
  const grad = new Float32Array(rows * depth);
  for (let i = 0; i < rows; i++) {
    const c = picked[i]!;
    for (let j = 0; j < depth; j++) {
      const own = j === c ? d[i]! : 0;
      grad[i * depth + j] = logp ? f(own - f(f(Math.exp(logp[i * depth + j]!)) * d[i]!)) : own;
    }
    // tfjs' one-hot mask gives a row outside the classes no gradient at all.
    if (c < 0 && logp) grad.fill(0, i * depth, (i + 1) * depth);
  }
  return grad;
}

/** Per-image score [N] of class classes[i] in row i of logits [N, C]. */
export function pickedScores(logits: tf.Tensor2D, classes: number[], kind: PickedScore): tf.Tensor1D {
  const [rows, depth] = logits.shape;
  if (classes.length !== rows) throw new Error(`picked scores: ${classes.length} classes for ${rows} rows`);
  const picked = picks(classes, depth);
  const op = tf.customGrad(((z: tf.Tensor2D, save: tf.GradSaveFunc) => {
    const values = z.dataSync() as Float32Array;
    const table = kind === 'logprob' ? logSoftmaxRows(values, rows, depth) : values;
    const scores = Float32Array.from(picked, (c, i) => (c < 0 ? 0 : table[i * depth + c]!));
    // The log-probabilities ride along as a tensor, so the gradient needs no second host pass.
    if (kind === 'logprob' && tf.engine().state.gradientDepth > 0) save([tf.tensor2d(table, [rows, depth])]);
    return {
      value: tf.tensor1d(scores),
      gradFunc: (dy: tf.Tensor1D, saved: tf.Tensor[]) => {
        const logp = kind === 'logprob' ? (saved[0]!.dataSync() as Float32Array) : undefined;
        return tf.tensor2d(scoreGradient(picked, dy.dataSync(), logp, rows, depth), [rows, depth]);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(logits) as tf.Tensor1D;
}
