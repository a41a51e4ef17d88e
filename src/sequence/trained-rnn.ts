/**
 * A recurrent network trained by backprop through time and saved as a tf.LayersModel
 * (`rnn-parity-trained`, `char-lm`, `spam-rnn`). The network maps a sequence to per-step logits:
 * [N, T, width] (or [N, T] ids for an Embedding) → recurrent layer with returnSequences →
 * per-step dense readout → [N, T, classes]. A second model sharing the same layers also returns
 * the recurrent layer's output, so that traces can show every hidden state.
 */
import * as tf from '@tensorflow/tfjs';
import type { SequenceModelManifest } from './manifest.ts';
import type { EncodedSequence, Vocabulary } from './input.ts';
import { readUnrolled, type SequenceModel, type Unrolled } from './sequence-model.ts';
import { registerUnpackGradient } from './unpack-gradient.ts';

const RECURRENT = new Set(['SimpleRNN', 'GRU', 'LSTM']);

export class TrainedRnn implements SequenceModel {
  readonly manifest: SequenceModelManifest;
  readonly net: tf.LayersModel;
  readonly source: string;
  readonly vocabulary?: Vocabulary;
  readonly hiddenNames: string[];
  readonly outputKind = 'logits' as const;
  /** The recurrent layer whose outputs are the hidden states. */
  readonly recurrent: tf.layers.Layer;
  private readonly inspect: tf.LayersModel;

  constructor(manifest: SequenceModelManifest, net: tf.LayersModel, source: string, vocabulary?: Vocabulary) {
    // Gradients through the recurrent layer must work for one-step sequences too.
    registerUnpackGradient();
    this.manifest = manifest;
    this.net = net;
    this.source = source;
    if (vocabulary) this.vocabulary = vocabulary;
    const recurrent = net.layers.find((l) => RECURRENT.has(l.getClassName()));
    if (!recurrent) throw new Error(`${manifest.name}: the network has no SimpleRNN, GRU or LSTM layer`);
    if (!(recurrent.getConfig() as { returnSequences?: boolean }).returnSequences) {
      throw new Error(`${manifest.name}: the recurrent layer '${recurrent.name}' must return sequences`);
    }
    this.recurrent = recurrent;
    const units = (recurrent.getConfig() as { units: number }).units;
    this.hiddenNames = Array.from({ length: units }, (_, i) => `h${i + 1}`);
    this.inspect = tf.model({ inputs: net.inputs, outputs: [recurrent.output as tf.SymbolicTensor, net.outputs[0]!] });
  }

  get name(): string {
    return this.manifest.name;
  }

  /** [N, T, width] values, or [N, T] ids for networks that start with an Embedding. */
  inputTensor(batch: EncodedSequence[]): tf.Tensor {
    const n = batch.length;
    const T = batch[0]!.length;
    const width = batch[0]!.width;
    const flat = new Float32Array(n * T * width);
    batch.forEach((s, i) => flat.set(s.values, i * T * width));
    return this.manifest.input.encoding === 'ids' ? tf.tensor2d(flat, [n, T]) : tf.tensor3d(flat, [n, T, width]);
  }

  run(batch: EncodedSequence[]): Unrolled[] {
    const [hs, ys] = tf.tidy(() => this.inspect.predict(this.inputTensor(batch)) as tf.Tensor[]) as [tf.Tensor3D, tf.Tensor3D];
    return readUnrolled(hs, ys);
  }

  architecture(): Record<string, unknown> {
    return {
      format: 'layers',
      parameters: this.net.countParams(),
      layers: this.net.layers.map((l) => {
        const c = l.getConfig() as Record<string, unknown>;
        return {
          name: l.name,
          type: l.getClassName(),
          ...(typeof c.units === 'number' ? { units: c.units } : {}),
          ...(typeof c.outputDim === 'number' ? { outputDim: c.outputDim } : {}),
          parameters: l.countParams(),
        };
      }),
    };
  }

  warmUp(): void {
    const width = this.manifest.input.encoding === 'one-hot' ? this.vocabulary!.entries.length : this.manifest.input.type === 'pairs' ? 2 : 1;
    this.run([{ values: new Float32Array(width), length: 1, width, display: [0] }]);
  }

  dispose(): void {
    this.net.dispose();
  }
}
