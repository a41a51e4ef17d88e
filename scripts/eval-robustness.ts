/**
 * `npm run eval -- robustness`: robust accuracy of every image model present (mnist, fashion,
 * mnist-robust, fashion-robust) on its held-out split at the standard ε (MNIST 0.3, Fashion 0.1,
 * L∞), untargeted against the true labels: clean accuracy, then FGSM, PGD-40 (step 0.01, random
 * start), APGD-CE, APGD-T, FAB-T, Square and the full AutoAttack, each with its wall time, beside
 * the published MNIST rows (AutoAttack README, MNIST L∞ ε = 0.3). Each attack is run on all the
 * images on its own (AutoAttack's "individual" view); AutoAttack runs its stages on the images
 * still robust. Checks and prints that AutoAttack is never above PGD-40.
 *
 * Settings (environment): EVAL_ROBUST_IMAGES (first N held-out images, default 200: the full
 * 2,000 take hours on one CPU for a robust model), EVAL_AA_VERSION (standard | cheap, default
 * standard), EVAL_MODELS (comma-separated names), EVAL_UPDATE_MANIFESTS=1 (write the measured
 * AutoAttack accuracy into the robust models' manifests, with its image count and version).
 * Also draws docs/images/robust-gradients.png: gradient and guided-backprop maps of `mnist` and
 * `mnist-robust` on the same held-out digits, side by side.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import { prepareAttack, runAttack, type AttackRequest, type AttackRun } from '../src/attacks/attack.ts';
import { initBackend } from '../src/backend/index.ts';
import { loadFashionMnist } from '../src/datasets/fashion-mnist.ts';
import type { ImageSet } from '../src/datasets/image-set.ts';
import { loadMnist } from '../src/datasets/mnist.ts';
import { explainImages } from '../src/explain/explain.ts';
import { inputToRgb, rgbToPng } from '../src/images/encode.ts';
import type { ImageModel } from '../src/model/image-model.ts';
import { loadModelFromDir } from '../src/model/loader.ts';
import { imageAt } from './lib/shipped.ts';
import { markdownTable } from './lib/stats.ts';

const IMAGES = Number(process.env.EVAL_ROBUST_IMAGES ?? 200);
const VERSION = process.env.EVAL_AA_VERSION ?? 'standard';
const CHUNK = 100;

const MODELS: { name: string; epsilon: number; heldOut: () => ImageSet }[] = [
  { name: 'mnist', epsilon: 0.3, heldOut: () => loadMnist().test },
  { name: 'mnist-robust', epsilon: 0.3, heldOut: () => loadMnist().test },
  { name: 'fashion', epsilon: 0.1, heldOut: () => loadFashionMnist().test },
  { name: 'fashion-robust', epsilon: 0.1, heldOut: () => loadFashionMnist().test },
];

const PUBLISHED: Record<string, string> = {
  'PGD-40': 'Madry et al. 2018: 89.62% (PGD, MNIST-trained on 60,000); Wong et al. 2020 fast AT: 88.77%',
  AutoAttack: 'Madry et al. 2018: 88.43%; Wong et al. 2020 fast AT: 82.88% (AutoAttack README)',
};

/**
 * The parts of a shipped manifest.json this script reads; the rest is written back untouched.
 * train.ts always records `epochs`, and `epochsCompleted` only for a run exported unfinished.
 */
type ShippedManifest = Record<string, unknown> & {
  provenance?: Record<string, unknown> & { epochs?: number; epochsCompleted?: number };
};

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** Runs an attack over the images in chunks; the robust accuracy and per-stage accounts over all of them. */
async function attackAll(model: ImageModel, images: Float32Array[], labels: number[], request: AttackRequest) {
  const started = performance.now();
  const runs: AttackRun[] = [];
  for (let start = 0; start < images.length; start += CHUNK) {
    const chunk = images.slice(start, start + CHUNK);
    const report = await runAttack(model, chunk, prepareAttack(model, { ...request, label: labels.slice(start, start + CHUNK) }, { images: chunk.length }));
    runs.push(report.runs[0]!);
    process.stderr.write(`  ${request.method} ${start + chunk.length}/${images.length}\r`);
  }
  const results = runs.flatMap((r) => r.results);
  // Robust: correct on the clean image and no success inside the ε-ball (FAB-T's answer may lie outside it).
  const robust = results.filter((r) => !r.success && r.original.predictions[0]!.index === r.label.index);
  const stages = (runs[0]!.stages ?? []).map((stage, i) => {
    const left = runs.reduce((sum, run) => sum + run.stages![i]!.robustAccuracy * run.results.length, 0);
    return `${stage.attack} ${pct(left / results.length)}`;
  });
  const warnings = [...new Set(runs.flatMap((r) => r.warnings ?? []))];
  return { accuracy: robust.length / results.length, seconds: (performance.now() - started) / 1000, stages, warnings };
}

async function evalModel(name: string, epsilon: number, set: ImageSet): Promise<{ autoattack: number; pgd: number; count: number }> {
  const model = await loadModelFromDir(`models/${name}`);
  const count = Math.min(IMAGES, set.count);
  const images = Array.from({ length: count }, (_, i) => imageAt(set, i));
  const labels = Array.from(set.labels.subarray(0, count));
  const predicted = model.predictProbabilities(images).map((p) => p.indexOf(Math.max(...p)));
  const clean = predicted.filter((p, i) => p === labels[i]).length / count;
  const attacks: [string, AttackRequest][] = [
    ['FGSM', { method: 'fgsm', epsilon }],
    ['PGD-40', { method: 'pgd', epsilon, steps: 40, stepSize: 0.01, randomStart: true, seed: 1 }],
    ['APGD-CE', { method: 'apgd-ce', epsilon, seed: 1 }],
    ['APGD-T', { method: 'apgd-t', epsilon, seed: 1 }],
    ['FAB-T', { method: 'fab-t', epsilons: [epsilon], seed: 1 }],
    ['Square', { method: 'square', epsilon, seed: 1, queries: VERSION === 'cheap' ? 1000 : 5000 }],
    ['AutoAttack', { method: 'autoattack', epsilon, version: VERSION, seed: 1 }],
  ];
  const rows: string[][] = [['clean', pct(clean), '—', '', name === 'mnist-robust' ? 'Madry et al. 2018: 98.5%' : '']];
  const measured: Record<string, number> = {};
  let notes: string[] = [];
  for (const [label, request] of attacks) {
    const r = await attackAll(model, images, labels, request);
    measured[label] = r.accuracy;
    rows.push([`${label} ε=${epsilon}`, pct(r.accuracy), `${r.seconds.toFixed(0)} s`, r.stages.join(' → '), name.startsWith('mnist') ? PUBLISHED[label] ?? '' : '']);
    if (r.warnings.length) notes = r.warnings;
  }
  process.stderr.write('\n');
  const manifest = JSON.parse(await readFile(`models/${name}/manifest.json`, 'utf8')) as ShippedManifest;
  const epochs = manifest.provenance?.epochsCompleted !== undefined ? ` — after ${manifest.provenance.epochsCompleted} of ${manifest.provenance.epochs} epochs` : '';
  console.log(`\n## Robustness: ${name}${epochs} (first ${count} held-out images, L∞ ε=${epsilon}, AutoAttack ${VERSION})\n`);
  console.log(markdownTable(['attack', 'robust accuracy', 'wall time', 'AutoAttack stages (robust after each)', 'published (MNIST, ε=0.3)'], rows));
  const ok = measured.AutoAttack! <= measured['PGD-40']!;
  console.log(`\nAutoAttack ≤ PGD-40: ${ok ? 'yes' : 'NO'} (${pct(measured.AutoAttack!)} vs ${pct(measured['PGD-40']!)})`);
  for (const w of notes) console.log(`- warning: ${w}`);
  if (process.env.EVAL_UPDATE_MANIFESTS === '1' && name.endsWith('-robust')) {
    manifest.provenance = { ...manifest.provenance, autoAttackAccuracy: measured.AutoAttack, autoAttack: `AutoAttack ${VERSION}, L∞ ε=${epsilon}, first ${count} held-out images (npm run eval -- robustness)` };
    await writeFile(`models/${name}/manifest.json`, `${JSON.stringify(manifest, null, 2)}\n`);
  }
  model.dispose();
  return { autoattack: measured.AutoAttack!, pgd: measured['PGD-40']!, count };
}

/** Gradient and guided-backprop maps of mnist and mnist-robust on the same digits, one digit a row. */
async function gradientFigure(file: string): Promise<void> {
  const set = loadMnist().test;
  const [plain, robust] = [await loadModelFromDir('models/mnist'), await loadModelFromDir('models/mnist-robust')];
  const images = Array.from({ length: 6 }, (_, i) => imageAt(set, i));
  const scale = 4;
  const tile = 28 * scale;
  const columns: Buffer[][] = [await Promise.all(images.map((x) => rgbToPng(inputToRgb(x, [28, 28, 1], [0, 1]), scale)))];
  for (const model of [plain, robust]) {
    for (const method of ['gradient', 'guided-backprop'] as const) {
      columns.push((await explainImages(model, images, { method, scale })).map((e) => e.png));
    }
  }
  const titles = ['digit', 'mnist gradient', 'mnist guided BP', 'robust gradient', 'robust guided BP'];
  const gap = 12;
  const top = 30;
  const width = columns.length * (tile + gap);
  const height = top + images.length * (tile + gap);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="white"/>` +
    titles.map((t, i) => `<text x="${i * (tile + gap) + tile / 2}" y="20" text-anchor="middle" font-family="sans-serif" font-size="12">${t}</text>`).join('') + '</svg>';
  await sharp(Buffer.from(svg))
    .composite(columns.flatMap((col, c) => col.map((png, r) => ({ input: png, left: c * (tile + gap), top: top + r * (tile + gap) }))))
    .png()
    .toFile(file);
  plain.dispose();
  robust.dispose();
}

export async function evalRobustness(): Promise<void> {
  const backend = await initBackend('wasm');
  const only = process.env.EVAL_MODELS?.split(',').map((s) => s.trim());
  console.log(`backend: ${backend.name}, ${backend.threads ?? '?'} thread(s)`);
  for (const { name, epsilon, heldOut } of MODELS) {
    if (!existsSync(`models/${name}/manifest.json`) || (only && !only.includes(name))) continue;
    await evalModel(name, epsilon, heldOut());
  }
  if (existsSync('models/mnist-robust/manifest.json')) {
    await mkdir('docs/images', { recursive: true });
    await gradientFigure('docs/images/robust-gradients.png');
    console.log('\nFigure: docs/images/robust-gradients.png (gradient and guided-backprop maps, mnist vs mnist-robust)');
  }
}
