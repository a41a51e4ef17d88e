/**
 * One resident image classifier: its manifest plus a tfjs Layers or Graph model, with the forward
 * functions every other part of gradlab builds on (logits, log-probabilities, probabilities).
 * All methods that return tensors are meant to run inside the caller's `tf.tidy`.
 */
import * as tf from '@tensorflow/tfjs';
import type { FeatureGraph } from './feature-graph.ts';
import { GradientForward, recordingGradient } from './gradient-forward.ts';
import { GraphInterpreter } from './graph-interpreter.ts';
import type { GraphNodeDef } from './graph-node.ts';
import type { ImageModelManifest } from './manifest.ts';
import { directGradientsEnabled, type LogitsHead } from './input-gradient-program.ts';
import type { ReluKind } from './relu-for-gradient.ts';

export type TfModel = tf.LayersModel | tf.GraphModel;

export class ImageModel {
  readonly manifest: ImageModelManifest;
  readonly net: TfModel;
  /** Where the model was loaded from (a folder path or a URL), for `GET /v1/models`. */
  readonly source: string;

  /** Graph models: the converter's nodes (model.json's `modelTopology.node`), for the graph interpreter. */
  private readonly graphNodes: GraphNodeDef[] | undefined;

  constructor(manifest: ImageModelManifest, net: TfModel, source: string, graphNodes?: GraphNodeDef[]) {
    this.manifest = manifest;
    this.net = net;
    this.source = source;
    this.graphNodes = graphNodes;
    // Built now, not at the first gradient: it holds folded conv weights (gradient-forward.ts), and a
    // request should not be the one to create them.
    this.gradientForward();
    // Graph models: the interpreter checks itself against tfjs' executor once, at load.
    if (net instanceof tf.GraphModel) this.featureGraph();
  }

  get name(): string {
    return this.manifest.name;
  }

  get inputShape(): [number, number, number] {
    return this.manifest.input.shape;
  }

  get pixelsPerImage(): number {
    const [h, w, c] = this.inputShape;
    return h * w * c;
  }

  /**
   * Class scores before softmax, [N, classes]. For probability-output models: log-probabilities.
   * Layers models run through the gradient forward (gradient-forward.ts: conv chains fused, batch
   * norms folded, input-only gradients) while a gradient is recorded, and through its direct
   * program's forward otherwise (falling back to the gradient forward); graph models run through the graph
   * interpreter (graph-interpreter.ts) while a gradient is recorded and tfjs' executor otherwise.
   */
  logits(x: tf.Tensor4D): tf.Tensor2D {
    const recording = recordingGradient();
    if (this.net instanceof tf.LayersModel) {
      const forward = this.gradientForward();
      // Not recorded: the direct program's forward (input-gradient-program.ts), the same kernels
      // without the Layers API's per-layer bookkeeping, where the model compiles to one.
      const program = !recording && directGradientsEnabled() ? forward?.inputGradientProgram() : undefined;
      if (program) return this.logitsFromOutput(program.forward(x));
      if (forward) return this.logitsFromOutput(forward.run(x));
    } else if (recording) {
      // Graph models: the interpreter's plain ops (tfjs' executor frees intermediate tensors
      // that a recorded gradient still needs, and fused kernels' gradients compute the filter's too).
      const features: FeatureGraph | undefined = this.featureGraph();
      if (features && features.unsupported === undefined) return this.logitsFromOutput(features.forward(x).output!);
    }
    const out = this.net.predict(x) as tf.Tensor | tf.Tensor[];
    return this.logitsFromOutput(Array.isArray(out) ? out[0]! : out);
  }

  private gradientRunner: GradientForward | null | undefined;

  /** The unfused forward for Layers models, built once; undefined for Graph models. */
  gradientForward(): GradientForward | undefined {
    if (this.gradientRunner === undefined) {
      this.gradientRunner = (this.net instanceof tf.LayersModel ? GradientForward.forModel(this.net) : undefined) ?? null;
    }
    return this.gradientRunner ?? undefined;
  }

  /**
   * ∂loss/∂x without tfjs' gradient tape (input-gradient-program.ts), where `head` turns the
   * logits [N · classes] into ∂loss/∂logits, and the logits on the host; undefined where the model
   * has no such program (graph models, unsupported layers, probability outputs) or direct
   * gradients are switched off: then record the gradient with `logits`. Call inside `tf.tidy`.
   */
  directInputGradient(x: tf.Tensor4D, head: LogitsHead, relu: ReluKind = 'plain'): { logits: Float32Array; grad: tf.Tensor4D } | undefined {
    if (!directGradientsEnabled() || this.manifest.output !== 'logits') return undefined;
    return this.gradientForward()?.inputGradientProgram()?.run(x, head, relu);
  }

  private features: FeatureGraph | null | undefined;

  /**
   * The network as named nodes that can be read, replaced and have their ReLUs swapped
   * (feature-graph.ts): the gradient forward for Layers models, the graph interpreter for graph
   * models; undefined when neither can follow the model (shared layers, unknown topology).
   */
  featureGraph(): FeatureGraph | undefined {
    if (this.features === undefined) {
      if (this.net instanceof tf.GraphModel) {
        this.features = this.graphNodes ? new GraphInterpreter(this.net, this.graphNodes, this.inputShape) : null;
      } else {
        this.features = this.gradientForward() ?? null;
      }
    }
    return this.features ?? undefined;
  }

  /** The network's raw output → logits (probability outputs become log-probabilities). */
  logitsFromOutput(y: tf.Tensor): tf.Tensor2D {
    if (this.manifest.output === 'probabilities') return tf.log(tf.maximum(y, 1e-30)) as tf.Tensor2D;
    return y as tf.Tensor2D;
  }

  /** log p(class | x), [N, classes]. */
  logProbabilities(x: tf.Tensor4D): tf.Tensor2D {
    return tf.logSoftmax(this.logits(x));
  }

  probabilities(x: tf.Tensor4D): tf.Tensor2D {
    return tf.softmax(this.logits(x));
  }

  /** Stacks flat [H*W*C] images into one [N, H, W, C] tensor. */
  batchTensor(images: Float32Array[]): tf.Tensor4D {
    const n = images.length;
    const size = this.pixelsPerImage;
    const flat = new Float32Array(n * size);
    images.forEach((img, i) => flat.set(img, i * size));
    return tf.tensor4d(flat, [n, ...this.inputShape]);
  }

  /** Class probabilities for a batch of flat images, read back as one Float32Array per image. */
  predictProbabilities(images: Float32Array[]): Float32Array[] {
    const probs = tf.tidy(() => this.probabilities(this.batchTensor(images)));
    const data = probs.dataSync() as Float32Array;
    probs.dispose();
    const classes = this.manifest.labels.length;
    return images.map((_, i) => data.slice(i * classes, (i + 1) * classes));
  }

  /** Runs one forward pass so that kernels compile and buffers are allocated before traffic. */
  warmUp(batchSizes: number[] = [1]): void {
    for (const n of batchSizes) {
      const out = tf.tidy(() => this.probabilities(tf.zeros([n, ...this.inputShape]) as tf.Tensor4D));
      out.dataSync();
      out.dispose();
    }
  }

  dispose(): void {
    this.gradientRunner?.dispose();
    this.net.dispose();
  }
}
