/**
 * `npm run average-models -- --out DIR A B [C ...]`: one model whose weights are the element-wise
 * mean of several trained models of the same architecture ("model soup", Wortsman et al. 2022;
 * weight averaging for robustness, Gowal et al. 2020). Useful when the ingredients were fine-tuned
 * from one starting point (`npm run train -- <name> --from DIR ...`), so they share a basin: the
 * average is then often better than each, and costs one file write instead of a training run.
 *
 * Refuses models whose topology (initialiser settings aside), weight names, shapes or dtypes
 * differ (float32 only). The mean is computed per weight in float64 and stored as float32. The
 * new manifest is the first ingredient's with new provenance: the command, every ingredient's
 * provenance under `averagedFrom`, and the held-out accuracy measured on the averaged model as
 * saved and loaded back (plus PGD-40 at the data set's standard ε for adversarially trained
 * ingredients, with the same seed as `npm run train`). Options: --epsilon (default 0.3 for MNIST,
 * 0.1 for Fashion-MNIST), --description TEXT (the manifest's description; default the first
 * ingredient's).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { classificationAccuracy } from '../src/datasets/accuracy.ts';
import { loadFashionMnist } from '../src/datasets/fashion-mnist.ts';
import { loadMnist } from '../src/datasets/mnist.ts';
import { describeBackend, initBackend } from '../src/backend/index.ts';
import { fileSystemLoader } from '../src/model/fs-io.ts';
import { parseImageManifest } from '../src/model/manifest.ts';
import { pgdAccuracy } from './train-adversarial.ts';

interface WeightSpec { name: string; shape: number[]; dtype: string }
interface ModelJson { modelTopology: unknown; weightsManifest: { paths: string[]; weights: WeightSpec[] }[]; [key: string]: unknown }
type Manifest = Record<string, unknown> & { name: string; provenance?: Record<string, unknown> };

/**
 * The topology as compared between ingredients: everything but the weight initialisers' settings
 * (fine-tunes with another --seed record other initialiser seeds, which never touched their
 * weights: those came from the --from model).
 */
export function topologyKey(topology: unknown): string {
  return JSON.stringify(topology, (key, value: unknown) => (key.endsWith('_initializer') ? undefined : value));
}

function fail(message: string): never {
  console.error(`average-models: ${message}\nusage: npm run average-models -- --out DIR MODEL_DIR MODEL_DIR [...] [--epsilon E] [--description TEXT]`);
  process.exit(2);
}

async function readModel(dir: string): Promise<{ json: ModelJson; weights: Float32Array; manifest: Manifest }> {
  for (const file of ['model.json', 'manifest.json']) {
    if (!existsSync(path.join(dir, file))) fail(`${dir}: no ${file} (not a model folder)`);
  }
  const json = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as ModelJson;
  const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const buffers = await Promise.all(json.weightsManifest.flatMap((g) => g.paths).map((p) => readFile(path.join(dir, p))));
  const bytes = Buffer.concat(buffers);
  return { json, manifest, weights: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4) };
}

/** Weight specs of a model.json, in file order. */
const specs = (json: ModelJson) => json.weightsManifest.flatMap((g) => g.weights);

/** The element-wise mean in float64, stored as float32. */
export function averageWeights(all: Float32Array[]): Float32Array {
  const out = new Float32Array(all[0]!.length);
  for (let i = 0; i < out.length; i++) {
    let sum = 0;
    for (const w of all) sum += w[i]!;
    out[i] = sum / all.length;
  }
  return out;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { out: { type: 'string' }, epsilon: { type: 'string' }, description: { type: 'string' } } });
  if (!values.out) fail('--out DIR is required');
  if (positionals.length < 2) fail('give at least two model folders');
  const models = await Promise.all(positionals.map(readModel));
  const [first] = models;
  for (const [i, m] of models.entries()) {
    if (topologyKey(m.json.modelTopology) !== topologyKey(first!.json.modelTopology)) fail(`${positionals[i]}: a different topology from ${positionals[0]}`);
    if (JSON.stringify(specs(m.json)) !== JSON.stringify(specs(first!.json))) fail(`${positionals[i]}: different weights (names, shapes or order) from ${positionals[0]}`);
    if (m.manifest.name !== first!.manifest.name) fail(`${positionals[i]}: model '${m.manifest.name}', not '${first!.manifest.name}'`);
  }
  if (specs(first!.json).some((w) => w.dtype !== 'float32')) fail('only float32 weights can be averaged');
  const averaged = averageWeights(models.map((m) => m.weights));

  const out = values.out;
  await mkdir(out, { recursive: true });
  const json: ModelJson = { ...first!.json, weightsManifest: [{ paths: ['weights.bin'], weights: specs(first!.json) }] };
  await writeFile(path.join(out, 'model.json'), JSON.stringify(json));
  await writeFile(path.join(out, 'weights.bin'), Buffer.from(averaged.buffer, averaged.byteOffset, averaged.byteLength));
  const weightBytes = (await stat(path.join(out, 'weights.bin'))).size;

  const backend = await initBackend('wasm');
  const fashion = first!.manifest.name.startsWith('fashion');
  const data = fashion ? loadFashionMnist() : loadMnist();
  const epsilon = values.epsilon === undefined ? (fashion ? 0.1 : 0.3) : Number(values.epsilon);
  if (!(epsilon > 0 && epsilon < 1)) fail('--epsilon must be in (0, 1)');
  const load = () => tf.loadLayersModel(fileSystemLoader(path.join(out, 'model.json')));
  const reloaded = await load();
  const clean = classificationAccuracy(reloaded, data.test);
  reloaded.dispose();
  console.log(`held-out accuracy (saved and reloaded): ${clean.correct}/${clean.total} = ${(clean.accuracy * 100).toFixed(2)}%`);
  const provenances = models.map((m) => m.manifest.provenance ?? {});
  const adversarial = provenances.some((p) => p.adversarialTraining !== undefined);
  const seed = (provenances[0]!.seed as number | undefined) ?? 42;
  let pgd40: ReturnType<typeof pgdAccuracy> | undefined;
  if (adversarial) {
    pgd40 = pgdAccuracy(await load(), data.test, data.labelNames.length, epsilon, 40, `eval-${seed}`);
    console.log(`held-out accuracy under PGD-40 at ε ${epsilon}: ${pgd40.correct}/${pgd40.total} = ${(pgd40.accuracy * 100).toFixed(2)}%`);
  }
  // Per-run facts of the ingredients stay with them, under averagedFrom.
  const shared = ['dataset', 'split', 'architecture', 'seed'];
  const manifest: Manifest = {
    ...first!.manifest,
    ...(values.description ? { description: values.description } : {}),
    provenance: {
      ...Object.fromEntries(shared.filter((k) => provenances[0]![k] !== undefined).map((k) => [k, provenances[0]![k]])),
      testAccuracy: clean.accuracy,
      testExamples: clean.total,
      testCorrect: clean.correct,
      trainedBy: `npm run average-models -- ${process.argv.slice(2).map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ')}`,
      averaging: `element-wise mean of the weights of ${models.length} models of the same architecture (model soup)`,
      averagedFrom: provenances.map((p) => Object.fromEntries(Object.entries(p).filter(([k]) => !['dataset', 'split', 'architecture'].includes(k) && !k.startsWith('autoAttack')))),
      ...(pgd40 ? { pgd40Accuracy: pgd40.accuracy, pgd40Correct: pgd40.correct, pgd40: `held-out accuracy under L∞ PGD-40 at ε ${epsilon} (random start, step 2.5·ε/40), seed eval-${seed}` } : {}),
      weightBytes,
      trainedAt: new Date().toISOString(),
      backend: describeBackend(backend),
    },
  };
  const manifestPath = path.join(out, 'manifest.json');
  await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  parseImageManifest(JSON.parse(await readFile(manifestPath, 'utf8')), manifestPath);
  console.log(`wrote ${out}/{model.json, weights.bin (${weightBytes} bytes), manifest.json}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
