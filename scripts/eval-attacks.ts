/**
 * `npm run eval -- attacks`: white-box robustness of the shipped models on held-out images they
 * never trained on (500 per model by default, EVAL_ATTACK_IMAGES to change), untargeted attacks
 * against the true labels:
 * clean accuracy; accuracy under FGSM at ε ∈ {0.05 … 0.3}; under PGD-40 (step 0.01, random
 * start) at ε = 0.3 (MNIST) / 0.1 (Fashion); targeted PGD success (target = label + 1 mod 10);
 * C&W L2 mean distortion and success (first 100 images: it is the slow one); DeepFool's mean
 * ‖r‖₂/‖x‖₂. Next to each, the published figure it should resemble. Also writes the
 * "panda → gibbon" figure for digits: docs/images/attack-<model>.png.
 */
import { mkdir } from 'node:fs/promises';
import sharp from 'sharp';
import { prepareAttack, runAttack, type AttackRequest, type AttackRun } from '../src/attacks/attack.ts';
import { inputToRgb, rgbToPng } from '../src/images/encode.ts';
import { renderMap } from '../src/images/heatmap.ts';
import { initBackend } from '../src/backend/index.ts';
import { loadModelFromDir } from '../src/model/loader.ts';
import type { ImageModel } from '../src/model/image-model.ts';
import { availableShipped, imageAt } from './lib/shipped.ts';
import { markdownTable, mean } from './lib/stats.ts';

const IMAGES = Number(process.env.EVAL_ATTACK_IMAGES ?? 500);
const CW_IMAGES = Math.min(IMAGES, Number(process.env.EVAL_CW_IMAGES ?? 100));
const CHUNK = 100;
const FGSM_EPSILONS = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3];
const PGD_EPSILON: Record<string, number> = { mnist: 0.3, fashion: 0.1 };

/** Runs an attack over the images in chunks and concatenates the runs per ε. */
async function attackAll(model: ImageModel, images: Float32Array[], labels: number[], request: AttackRequest): Promise<AttackRun[]> {
  let merged: AttackRun[] | undefined;
  for (let start = 0; start < images.length; start += CHUNK) {
    const chunk = images.slice(start, start + CHUNK);
    const report = await runAttack(model, chunk, prepareAttack(model, { ...request, label: labels.slice(start, start + CHUNK) }, { images: chunk.length }));
    if (!merged) merged = report.runs.map((r) => ({ ...r, results: [...r.results] }));
    else report.runs.forEach((r, i) => merged![i]!.results.push(...r.results));
    process.stderr.write(`  ${request.method} ${start + chunk.length}/${images.length}\r`);
  }
  process.stderr.write('\n');
  return merged!.map((r) => ({
    ...r,
    successRate: r.results.filter((x) => x.success).length / r.results.length,
    robustAccuracy: r.results.filter((x) => x.adversarial.predictions[0]!.index === x.label.index).length / r.results.length,
  }));
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** The first correctly classified held-out image that FGSM at ε = 0.25 fools, drawn as original + perturbation = adversarial. */
async function figure(model: ImageModel, images: Float32Array[], labels: number[], file: string): Promise<void> {
  const report = await runAttack(model, images.slice(0, 50), prepareAttack(model, { method: 'fgsm', epsilon: 0.25, label: labels.slice(0, 50) }, { images: Math.min(50, images.length) }));
  const results = report.runs[0]!.results;
  const pick = Math.max(0, results.findIndex((r) => r.success && r.original.predictions[0]!.index === r.label.index));
  const r = results[pick]!;
  const image = images[pick]!;
  const scale = 6;
  const size = 28 * scale;
  const tiles = [
    await rgbToPng(inputToRgb(image, model.inputShape, model.manifest.input.range), scale),
    await rgbToPng(renderMap(r.perturbation.delta, model.inputShape, 'signed'), scale),
    await rgbToPng(inputToRgb(r.adversarial.image, model.inputShape, model.manifest.input.range), scale),
  ];
  const clean = r.original.predictions[0]!;
  const adv = r.adversarial.predictions[0]!;
  const captions = [`"${clean.label}" ${pct(clean.probability)}`, 'sign(∇x J) × ε=0.25', `"${adv.label}" ${pct(adv.probability)}`];
  const gap = 60;
  const width = 3 * size + 2 * gap;
  const height = size + 40;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="white"/>
    ${captions.map((c, i) => `<text x="${i * (size + gap) + size / 2}" y="${size + 28}" text-anchor="middle" font-family="sans-serif" font-size="18">${c}</text>`).join('')}
    <text x="${size + gap / 2}" y="${size / 2 + 10}" text-anchor="middle" font-family="sans-serif" font-size="32">+</text>
    <text x="${2 * size + 1.5 * gap}" y="${size / 2 + 10}" text-anchor="middle" font-family="sans-serif" font-size="32">=</text></svg>`;
  await sharp(Buffer.from(svg))
    .composite(tiles.map((t, i) => ({ input: t, left: i * (size + gap), top: 0 })))
    .png()
    .toFile(file);
}

/** `npm run eval -- attack-figures`: only the figures, in seconds. */
export async function evalAttackFigures(): Promise<void> {
  await initBackend('wasm');
  await mkdir('docs/images', { recursive: true });
  for (const shipped of availableShipped()) {
    const model = await loadModelFromDir(shipped.dir);
    const set = shipped.heldOut();
    const images = Array.from({ length: 50 }, (_, i) => imageAt(set, i));
    await figure(model, images, Array.from(set.labels.subarray(0, 50)), `docs/images/attack-${shipped.name}.png`);
    console.log(`Figure: docs/images/attack-${shipped.name}.png`);
    model.dispose();
  }
}

export async function evalAttacks(): Promise<void> {
  const backend = await initBackend('wasm');
  await mkdir('docs/images', { recursive: true });
  for (const shipped of availableShipped()) {
    const started = Date.now();
    const model = await loadModelFromDir(shipped.dir);
    const set = shipped.heldOut();
    const count = Math.min(IMAGES, set.count);
    const images = Array.from({ length: count }, (_, i) => imageAt(set, i));
    const labels = Array.from(set.labels.subarray(0, count));
    const predicted = model.predictProbabilities(images).map((p) => p.indexOf(Math.max(...p)));
    const clean = predicted.filter((p, i) => p === labels[i]).length / count;
    console.error(`${shipped.name}: ${count} held-out images, clean accuracy ${pct(clean)}`);

    const fgsm = await attackAll(model, images, labels, { method: 'fgsm', epsilons: FGSM_EPSILONS });
    const eps = PGD_EPSILON[shipped.name]!;
    const pgd = (await attackAll(model, images, labels, { method: 'pgd', epsilon: eps, steps: 40, stepSize: 0.01, randomStart: true, seed: 1 }))[0]!;
    const targets = labels.map((l) => (l + 1) % 10);
    let targetedHits = 0;
    for (let t = 0; t < 10; t++) {
      const idx = targets.map((x, i) => (x === t ? i : -1)).filter((i) => i >= 0);
      if (!idx.length) continue;
      const run = (await attackAll(model, idx.map((i) => images[i]!), idx.map((i) => labels[i]!), { method: 'pgd', epsilon: eps, steps: 40, stepSize: 0.01, randomStart: true, seed: 1, target: t }))[0]!;
      targetedHits += run.results.filter((r) => r.success).length;
    }
    const targetedSuccess = targetedHits / count;
    const cw = (await attackAll(model, images.slice(0, CW_IMAGES), labels.slice(0, CW_IMAGES), { method: 'cw' }))[0]!;
    const cwSuccess = cw.results.filter((r) => r.success);
    const deepfool = (await attackAll(model, images, labels, { method: 'deepfool', norm: 'l2' }))[0]!;
    const dfRatios = deepfool.results.flatMap((r, i) => (r.success ? [r.perturbation.l2 / Math.sqrt(images[i]!.reduce((s, v) => s + v * v, 0))] : []));

    const rows: string[][] = [
      ['clean accuracy', pct(clean), '—'],
      ...fgsm.map((r) => [`FGSM ε=${r.epsilon}: accuracy`, pct(r.robustAccuracy), r.epsilon === 0.25 && shipped.name === 'mnist' ? '10.6% (89.4% error, maxout net; Goodfellow 2015)' : '']),
      [`PGD-40 ε=${eps} (step 0.01, random start): accuracy`, pct(pgd.robustAccuracy), shipped.name === 'mnist' ? '≈0% for a naturally trained CNN (Madry 2018)' : ''],
      [`targeted PGD-40 ε=${eps} (target = label+1): success`, pct(targetedSuccess), ''],
      [`C&W L2 (${CW_IMAGES} images): success`, pct(cwSuccess.length / cw.results.length), '100% (Carlini & Wagner 2017)'],
      [`C&W L2: mean distortion ‖δ‖₂`, mean(cwSuccess.map((r) => r.perturbation.l2)).toFixed(2), shipped.name === 'mnist' ? '1.4–1.8 (Carlini & Wagner 2017)' : ''],
      ['DeepFool L2: success', pct(deepfool.successRate), ''],
      ['DeepFool L2: mean ‖r‖₂/‖x‖₂', mean(dfRatios).toFixed(3), shipped.name === 'mnist' ? '0.2 for LeNet on MNIST (Moosavi-Dezfooli 2016)' : ''],
    ];
    console.log(`\n## White-box attacks: ${shipped.name} (${count} held-out images, ${backend.name}, ${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
    console.log(markdownTable(['measure', 'gradlab', 'published reference'], rows));
    await figure(model, images, labels, `docs/images/attack-${shipped.name}.png`);
    console.log(`\nFigure: docs/images/attack-${shipped.name}.png (original, amplified FGSM perturbation, adversarial)`);
    model.dispose();
  }
}
