/**
 * `npm run eval -- explain-graph`: every explanation method on graph models. Each shipped
 * (sequential Layers) model is written as the TF.js graph model tensorflowjs_converter would make
 * of it (scripts/lib/layers-to-graph.ts: fused conv+ReLU, MaxPool, Reshape, FusedMatMul) and
 * loaded like any user's graph model; for every method the table gives the largest difference
 * between its maps on the Layers model and on the graph model (relative to the map's largest
 * value, over held-out images) and the time per map on each. Writes the graph model's panel
 * (input, gradient, guided backprop, Grad-CAM, guided Grad-CAM, SmoothGrad, IG) to
 * docs/images/explain-<model>-graph.png.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index.ts';
import { explainImages, type ExplainRequest } from '../src/explain/explain.ts';
import { inputToRgb, rgbToPng } from '../src/images/encode.ts';
import type { ImageModel } from '../src/model/image-model.ts';
import { loadModelFromDir } from '../src/model/loader.ts';
import { layersToGraph } from './lib/layers-to-graph.ts';
import { availableShipped, imageAt } from './lib/shipped.ts';
import { markdownTable } from './lib/stats.ts';

const IMAGES = Number(process.env.EVAL_EXPLAIN_IMAGES ?? 20);

const METHODS: [string, ExplainRequest][] = [
  ['gradient', { method: 'gradient' }],
  ['guided-backprop', { method: 'guided-backprop' }],
  ['gradcam', { method: 'gradcam' }],
  ['guided-gradcam', { method: 'guided-gradcam' }],
  ['smoothgrad', { method: 'smoothgrad', samples: 16, noise: 0.15, seed: 1 }],
  ['integrated-gradients', { method: 'integrated-gradients', steps: 32 }],
];

/** Writes the model as a graph model next to a copy of its manifest (format: graph) and loads it. */
async function asGraphModel(model: ImageModel, dir: string): Promise<ImageModel> {
  const { modelJson, shard } = layersToGraph(model.net as tf.LayersModel);
  await writeFile(path.join(dir, 'model.json'), JSON.stringify(modelJson));
  await writeFile(path.join(dir, 'group1-shard1of1.bin'), shard);
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify({ ...model.manifest, name: `${model.name}-graph`, format: 'graph', model: 'model.json' }));
  return loadModelFromDir(dir);
}

async function timedMaps(model: ImageModel, images: Float32Array[], targets: number[], request: ExplainRequest): Promise<{ maps: Float32Array[]; ms: number }> {
  const start = performance.now();
  const maps: Float32Array[] = [];
  for (let i = 0; i < images.length; i++) maps.push((await explainImages(model, [images[i]!], { ...request, target: targets[i]! }))[0]!.map.data);
  return { maps, ms: (performance.now() - start) / images.length };
}

function relativeDifference(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 1e-12;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(a[i]!));
  }
  return diff / scale;
}

async function panel(model: ImageModel, image: Float32Array, target: number, file: string): Promise<void> {
  const [h, w] = model.inputShape;
  const tiles: Buffer[] = [await rgbToPng(inputToRgb(image, model.inputShape, model.manifest.input.range), 4)];
  for (const [, request] of METHODS) tiles.push((await explainImages(model, [image], { ...request, scale: 4, target }))[0]!.png);
  const gap = 4;
  await sharp({ create: { width: tiles.length * (w * 4 + gap) - gap, height: h * 4, channels: 3, background: '#ffffff' } })
    .composite(tiles.map((t, i) => ({ input: t, left: i * (w * 4 + gap), top: 0 })))
    .png()
    .toFile(file);
}

export async function evalExplainGraph(): Promise<void> {
  await initBackend('wasm');
  await mkdir('docs/images', { recursive: true });
  for (const shipped of availableShipped()) {
    const layers = await loadModelFromDir(shipped.dir);
    const dir = await mkdtemp(path.join(tmpdir(), 'gradlab-eval-graph-'));
    try {
      const graph = await asGraphModel(layers, dir);
      const set = shipped.heldOut();
      const images = Array.from({ length: IMAGES }, (_, i) => imageAt(set, i));
      const targets = layers.predictProbabilities(images).map((p) => p.indexOf(Math.max(...p)));
      const rows: string[][] = [];
      for (const [name, request] of METHODS) {
        const a = await timedMaps(layers, images, targets, request);
        const b = await timedMaps(graph, images, targets, request);
        const worst = Math.max(...a.maps.map((m, i) => relativeDifference(m, b.maps[i]!)));
        rows.push([name, worst.toExponential(1), a.ms.toFixed(1), b.ms.toFixed(1)]);
      }
      const nodes = graph.featureGraph()!.nodes.map((n) => `${n.name} (${n.type})`).join(', ');
      console.log(`\n## Every method on ${shipped.name} as a TF.js graph model (${IMAGES} held-out images)\n`);
      console.log(`Graph nodes: ${nodes}\n`);
      console.log(markdownTable(['method', 'max abs(layers − graph) / max abs(map)', 'ms/map layers', 'ms/map graph'], rows));
      const file = `docs/images/explain-${shipped.name}-graph.png`;
      await panel(graph, images[0]!, targets[0]!, file);
      console.log(`\nPanel: ${file} (input, ${METHODS.map(([n]) => n).join(', ')})`);
      graph.dispose();
    } finally {
      layers.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  }
}
