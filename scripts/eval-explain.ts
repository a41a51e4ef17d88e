/**
 * `npm run eval -- explain`: the model-randomisation sanity check of Adebayo et al. 2018 on the
 * shipped models. For each method, maps of the trained model are compared with maps of the same
 * model after its layers are re-initialised cumulatively from the top (logits) down; the table is
 * the mean Spearman rank correlation of |map| over held-out images. A method whose maps depend on
 * what the network learned decorrelates quickly (published: gradient and Grad-CAM); one that
 * mostly reflects the input does not (published: guided backprop).
 * Also writes PNG panels (input, gradient, guided backprop, Grad-CAM, SmoothGrad, IG) to
 * docs/images/explain-<model>.png.
 */
import { mkdir } from 'node:fs/promises';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { explainImages, type ExplainRequest } from '../src/explain/explain.ts';
import { inputToRgb, rgbToPng } from '../src/images/encode.ts';
import { visualize } from '../src/explain/visualize.ts';
import { initBackend } from '../src/backend/index.ts';
import { loadModelFromDir } from '../src/model/loader.ts';
import type { ImageModel } from '../src/model/image-model.ts';
import { availableShipped, imageAt } from './lib/shipped.ts';
import { markdownTable, mean, spearman } from './lib/stats.ts';

const IMAGES = Number(process.env.EVAL_EXPLAIN_IMAGES ?? 50);

const METHODS: [string, ExplainRequest][] = [
  ['gradient', { method: 'gradient' }],
  ['guided-backprop', { method: 'guided-backprop' }],
  ['gradcam', { method: 'gradcam' }],
  ['smoothgrad', { method: 'smoothgrad', samples: 16, noise: 0.15, seed: 1 }],
  ['integrated-gradients', { method: 'integrated-gradients', steps: 32 }],
];

/** Maps of every method for the images, targets fixed to the trained model's predictions. */
async function maps(model: ImageModel, images: Float32Array[], targets: number[]): Promise<Float32Array[][]> {
  const out: Float32Array[][] = [];
  for (const [, request] of METHODS) {
    const perImage: Float32Array[] = [];
    for (let i = 0; i < images.length; i++) {
      const [r] = await explainImages(model, [images[i]!], { ...request, target: targets[i]! });
      perImage.push(r!.map.data);
    }
    out.push(perImage);
  }
  return out;
}

function randomiseLayer(layer: tf.layers.Layer, seed: number): void {
  const weights = layer.getWeights();
  if (weights.length === 0) return;
  const fresh = weights.map((w, i) => {
    const fanIn = w.shape.length > 1 ? w.shape.slice(0, -1).reduce((a, b) => a * b, 1) : w.shape[0];
    return tf.randomNormal(w.shape, 0, Math.sqrt(2 / fanIn), 'float32', seed * 31 + i);
  });
  layer.setWeights(fresh);
  fresh.forEach((t) => t.dispose());
}

async function panel(model: ImageModel, image: Float32Array, target: number, file: string): Promise<void> {
  const [h, w] = model.inputShape;
  const tiles: Buffer[] = [await rgbToPng(inputToRgb(image, model.inputShape, model.manifest.input.range), 4)];
  for (const [, request] of METHODS) tiles.push((await explainImages(model, [image], { ...request, scale: 4, target }))[0]!.png);
  const gap = 4;
  const width = tiles.length * (w * 4 + gap) - gap;
  await sharp({ create: { width, height: h * 4, channels: 3, background: '#ffffff' } })
    .composite(tiles.map((t, i) => ({ input: t, left: i * (w * 4 + gap), top: 0 })))
    .png()
    .toFile(file);
}

/**
 * The lecture's point about optimising the input, as a picture: for every class, plain gradient
 * ascent on the logit (top row) and the same ascent with L2 decay, blur and jitter (bottom row),
 * each captioned with the network's confidence. Written to docs/images/visualize-<model>.png.
 */
async function visualizePanel(model: ImageModel, file: string): Promise<string[][]> {
  const [h, w] = model.inputShape;
  const scale = 3;
  const tile = h * scale;
  const labels = model.manifest.labels;
  const settings = [
    { name: 'plain', request: { steps: 200 } },
    { name: 'regularised', request: { steps: 200, l2Decay: 0.02, blurEvery: 4, blurSigma: 0.5, jitter: 1 } },
  ];
  const composites: sharp.OverlayOptions[] = [];
  const rows: string[][] = [];
  for (const [row, { name, request }] of settings.entries()) {
    const confidences: string[] = [name];
    for (let k = 0; k < labels.length; k++) {
      const v = await visualize(model, { target: k, seed: 1, ...request });
      const p = v.predictions.find((q) => q.index === k)!.probability;
      confidences.push(`${(100 * p).toFixed(1)}%`);
      composites.push({ input: await rgbToPng(inputToRgb(v.image, model.inputShape, model.manifest.input.range), scale), left: k * (tile + 4), top: row * (tile + 4) });
    }
    rows.push(confidences);
  }
  await sharp({ create: { width: labels.length * (w * scale + 4) - 4, height: 2 * (tile + 4) - 4, channels: 3, background: '#ffffff' } })
    .composite(composites)
    .png()
    .toFile(file);
  return rows;
}

export async function evalExplain(): Promise<void> {
  await initBackend('wasm');
  await mkdir('docs/images', { recursive: true });
  for (const shipped of availableShipped()) {
    const trained = await loadModelFromDir(shipped.dir);
    const set = shipped.heldOut();
    const images = Array.from({ length: IMAGES }, (_, i) => imageAt(set, i));
    const targets = trained.predictProbabilities(images).map((p) => p.indexOf(Math.max(...p)));
    const reference = await maps(trained, images, targets);
    await panel(trained, images[0]!, targets[0]!, `docs/images/explain-${shipped.name}.png`);

    const randomised = await loadModelFromDir(shipped.dir);
    const net = randomised.net as tf.LayersModel;
    const withWeights = net.layers.filter((l) => l.getWeights().length > 0).reverse();
    const rows: string[][] = [];
    for (let k = 0; k < withWeights.length; k++) {
      randomiseLayer(withWeights[k]!, k + 1);
      const now = await maps(randomised, images, targets);
      const cells = METHODS.map((_, m) => mean(images.map((_, i) => spearman(reference[m]![i]!.map(Math.abs), now[m]![i]!.map(Math.abs)))).toFixed(3));
      rows.push([`${withWeights.slice(0, k + 1).map((l) => l.name).join(', ')}`, ...cells]);
      console.error(`${shipped.name}: randomised down to ${withWeights[k]!.name}`);
    }
    console.log(`\n## Model-randomisation sanity check: ${shipped.name} (${IMAGES} held-out images, Spearman of |map| trained vs randomised)\n`);
    console.log(markdownTable(['layers re-initialised (top down)', ...METHODS.map(([n]) => n)], rows));
    console.log(`\nPanel: docs/images/explain-${shipped.name}.png (input, ${METHODS.map(([n]) => n).join(', ')})`);
    const vis = await visualizePanel(trained, `docs/images/visualize-${shipped.name}.png`);
    console.log(`\n## Class visualisation: ${shipped.name} (200 ascent steps on the logit from seeded noise; the network's probability for the class)\n`);
    console.log(markdownTable(['ascent', ...trained.manifest.labels], vis));
    console.log(`\nPicture: docs/images/visualize-${shipped.name}.png (top: plain, bottom: regularised)`);
    trained.dispose();
    randomised.dispose();
  }
}
