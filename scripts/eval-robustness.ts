/**
 * `npm run eval -- robustness`: robust accuracy of every image model present (mnist, fashion,
 * mnist-robust, fashion-robust) on its held-out split at the standard ε (MNIST 0.3, Fashion 0.1,
 * L∞), untargeted against the true labels: clean accuracy, then FGSM, PGD-40 (step 0.01, random
 * start), APGD-CE, APGD-T, FAB-T, Square and the full AutoAttack, each with its wall time, beside
 * the published MNIST rows (AutoAttack README, MNIST L∞ ε = 0.3). Each attack is run on all the
 * images on its own (AutoAttack's "individual" view); AutoAttack runs its stages on the images
 * still robust. Checks and prints that AutoAttack is never above PGD-40.
 *
 * Settings (environment): EVAL_ROBUST_IMAGES (N held-out images, default 200: the full 2,000
 * take hours on one CPU for a robust model), EVAL_ROBUST_FROM (the first one's index, default 0),
 * EVAL_ATTACKS (comma-separated rows to run, e.g. `PGD-40,AutoAttack`; default all),
 * EVAL_PROCESSES (split the images over that many child processes of one thread each, merged into
 * one table: the 2,000 digits on both cores), EVAL_AA_VERSION (standard | cheap, default
 * standard), EVAL_MODELS (comma-separated names), EVAL_UPDATE_MANIFESTS=1 (write the measured
 * AutoAttack accuracy into the robust models' manifests, with its image count and version),
 * EVAL_MODELS_DIR (where the model folders are, default `models`: a candidate can be measured
 * before it is shipped; the gradient figure is drawn only from the shipped `models`).
 * Also draws docs/images/robust-gradients.png: gradient and guided-backprop maps of `mnist` and
 * `mnist-robust` on the same held-out digits, side by side.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
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
import { countRuns, countWarnings, mergeCounts, type AttackCounts } from './lib/attack-counts.ts';

const IMAGES = Number(process.env.EVAL_ROBUST_IMAGES ?? 200);
const FROM = Number(process.env.EVAL_ROBUST_FROM ?? 0);
const PROCESSES = Math.max(1, Number(process.env.EVAL_PROCESSES ?? 1));
const ONLY_ATTACKS = process.env.EVAL_ATTACKS?.split(',').map((s) => s.trim());
/** A child process's results go to this file as JSON instead of a printed table (EVAL_PROCESSES). */
const RESULT_FILE = process.env.EVAL_RESULT_FILE;
const VERSION = process.env.EVAL_AA_VERSION ?? 'standard';
const MODELS_DIR = process.env.EVAL_MODELS_DIR ?? 'models';
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

/** Runs an attack over the images in chunks; robust images and per-stage accounts over all of them. */
async function attackAll(model: ImageModel, images: Float32Array[], labels: number[], request: AttackRequest): Promise<AttackCounts> {
  const started = performance.now();
  const runs: AttackRun[] = [];
  for (let start = 0; start < images.length; start += CHUNK) {
    const chunk = images.slice(start, start + CHUNK);
    const report = await runAttack(model, chunk, prepareAttack(model, { ...request, label: labels.slice(start, start + CHUNK) }, { images: chunk.length }));
    runs.push(report.runs[0]!);
    process.stderr.write(`  ${request.method} ${start + chunk.length}/${images.length}\r`);
  }
  return countRuns(runs, (performance.now() - started) / 1000);
}

interface RangeResult {
  clean: number;
  total: number;
  attacks: Record<string, AttackCounts>;
}

function attackList(epsilon: number): [string, AttackRequest][] {
  const all: [string, AttackRequest][] = [
    ['FGSM', { method: 'fgsm', epsilon }],
    ['PGD-40', { method: 'pgd', epsilon, steps: 40, stepSize: 0.01, randomStart: true, seed: 1 }],
    ['APGD-CE', { method: 'apgd-ce', epsilon, seed: 1 }],
    ['APGD-T', { method: 'apgd-t', epsilon, seed: 1 }],
    ['FAB-T', { method: 'fab-t', epsilons: [epsilon], seed: 1 }],
    ['Square', { method: 'square', epsilon, seed: 1, queries: VERSION === 'cheap' ? 1000 : 5000 }],
    ['AutoAttack', { method: 'autoattack', epsilon, version: VERSION, seed: 1 }],
  ];
  if (!ONLY_ATTACKS) return all;
  const unknown = ONLY_ATTACKS.filter((a) => !all.some(([label]) => label === a));
  if (unknown.length) throw new Error(`EVAL_ATTACKS: unknown ${unknown.join(', ')} (known: ${all.map(([l]) => l).join(', ')})`);
  return all.filter(([label]) => ONLY_ATTACKS.includes(label));
}

/** Clean accuracy and every attack on held-out images [from, from + count), in this process. */
async function evalRange(name: string, epsilon: number, set: ImageSet, from: number, count: number): Promise<RangeResult> {
  const model = await loadModelFromDir(`${MODELS_DIR}/${name}`);
  const images = Array.from({ length: count }, (_, i) => imageAt(set, from + i));
  const labels = Array.from(set.labels.subarray(from, from + count));
  const predicted = model.predictProbabilities(images).map((p) => p.indexOf(Math.max(...p)));
  const clean = predicted.filter((p, i) => p === labels[i]).length;
  const attacks: Record<string, AttackCounts> = {};
  for (const [label, request] of attackList(epsilon)) attacks[label] = await attackAll(model, images, labels, request);
  process.stderr.write('\n');
  model.dispose();
  return { clean, total: count, attacks };
}

/** The same range split over `processes` children (one thread each), their results added up. */
async function evalRangeInProcesses(name: string, from: number, count: number, processes: number): Promise<RangeResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gradlab-eval-'));
  try {
    const size = Math.ceil(count / processes);
    const parts = await Promise.all(Array.from({ length: processes }, async (_, i) => {
      const start = from + i * size;
      const n = Math.min(size, from + count - start);
      if (n <= 0) return undefined;
      const file = path.join(dir, `part-${i}.json`);
      const env = { ...process.env, EVAL_MODELS: name, EVAL_ROBUST_FROM: String(start), EVAL_ROBUST_IMAGES: String(n), EVAL_PROCESSES: '1',
        EVAL_RESULT_FILE: file, EVAL_UPDATE_MANIFESTS: '0', GRADLAB_THREADS: '1' };
      const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/eval.ts', 'robustness'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      if (code !== 0) throw new Error(`eval child for images ${start}–${start + n - 1} exited with ${code}`);
      return JSON.parse(await readFile(file, 'utf8')) as RangeResult;
    }));
    const done = parts.filter((p): p is RangeResult => p !== undefined);
    const attacks: Record<string, AttackCounts> = {};
    for (const label of Object.keys(done[0]!.attacks)) attacks[label] = mergeCounts(done.map((p) => p.attacks[label]!));
    return { clean: done.reduce((sum, p) => sum + p.clean, 0), total: done.reduce((sum, p) => sum + p.total, 0), attacks };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function evalModel(name: string, epsilon: number, set: ImageSet): Promise<void> {
  const from = Math.min(FROM, set.count);
  const count = Math.min(IMAGES, set.count - from);
  const result = PROCESSES > 1 ? await evalRangeInProcesses(name, from, count, PROCESSES) : await evalRange(name, epsilon, set, from, count);
  if (RESULT_FILE) {
    await writeFile(RESULT_FILE, JSON.stringify(result));
    return;
  }
  const rows: string[][] = [['clean', pct(result.clean / count), '—', '', name === 'mnist-robust' ? 'Madry et al. 2018: 98.5%' : '']];
  let notes: string[] = [];
  const accuracy = (label: string) => (result.attacks[label] ? result.attacks[label].robust / count : undefined);
  for (const [label, r] of Object.entries(result.attacks)) {
    const stages = r.stages.map((st) => `${st.attack} ${pct(st.left / count)}`).join(' → ');
    rows.push([`${label} ε=${epsilon}`, `${pct(r.robust / count)} (${r.robust}/${count})`, `${r.seconds.toFixed(0)} s`, stages, name.startsWith('mnist') ? PUBLISHED[label] ?? '' : '']);
    const warnings = countWarnings(r);
    if (warnings.length) notes = warnings;
  }
  const manifest = JSON.parse(await readFile(`${MODELS_DIR}/${name}/manifest.json`, 'utf8')) as ShippedManifest;
  const epochs = manifest.provenance?.epochsCompleted !== undefined ? ` — after ${manifest.provenance.epochsCompleted} of ${manifest.provenance.epochs} epochs` : '';
  const range = from === 0 ? `first ${count}` : `${count} from #${from}`;
  console.log(`\n## Robustness: ${name}${epochs} (${range} held-out images, L∞ ε=${epsilon}, AutoAttack ${VERSION}${PROCESSES > 1 ? `, ${PROCESSES} processes` : ''})\n`);
  console.log(markdownTable(['attack', 'robust accuracy', 'wall time', 'AutoAttack stages (robust after each)', 'published (MNIST, ε=0.3)'], rows));
  const aa = accuracy('AutoAttack');
  const pgd = accuracy('PGD-40');
  if (aa !== undefined && pgd !== undefined) console.log(`\nAutoAttack ≤ PGD-40: ${aa <= pgd ? 'yes' : 'NO'} (${pct(aa)} vs ${pct(pgd)})`);
  for (const w of notes) console.log(`- warning: ${w}`);
  if (process.env.EVAL_UPDATE_MANIFESTS === '1' && name.endsWith('-robust') && aa !== undefined) {
    const which = from === 0 ? `first ${count}` : `${count} (from #${from})`;
    manifest.provenance = { ...manifest.provenance, autoAttackAccuracy: aa, autoAttackCorrect: result.attacks.AutoAttack!.robust,
      autoAttack: `AutoAttack ${VERSION}, L∞ ε=${epsilon}, ${which} held-out images (npm run eval -- robustness)` };
    await writeFile(`${MODELS_DIR}/${name}/manifest.json`, `${JSON.stringify(manifest, null, 2)}\n`);
  }
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
  // Child processes (EVAL_PROCESSES) run on one thread each: GRADLAB_THREADS, as the server reads it.
  const threads = process.env.GRADLAB_THREADS ? Number(process.env.GRADLAB_THREADS) : undefined;
  const backend = await initBackend('wasm', threads ? { threads } : {});
  const only = process.env.EVAL_MODELS?.split(',').map((s) => s.trim());
  if (!RESULT_FILE) console.log(`backend: ${backend.name}, ${backend.threads ?? '?'} thread(s)`);
  for (const { name, epsilon, heldOut } of MODELS) {
    if (!existsSync(`${MODELS_DIR}/${name}/manifest.json`) || (only && !only.includes(name))) continue;
    await evalModel(name, epsilon, heldOut());
  }
  if (!RESULT_FILE && MODELS_DIR === 'models' && existsSync('models/mnist-robust/manifest.json')) {
    await mkdir('docs/images', { recursive: true });
    await gradientFigure('docs/images/robust-gradients.png');
    console.log('\nFigure: docs/images/robust-gradients.png (gradient and guided-backprop maps, mnist vs mnist-robust)');
  }
}
