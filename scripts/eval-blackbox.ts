/**
 * `npm run eval -- blackbox`: the black-box exercise, measured. Starts a real black-box server
 * process on the shipped MNIST model — `mnist` answering labels only (the closed API of the
 * exercise) and the same weights as `mnist-scores` answering probabilities (score-based attacks
 * need scores) — with one API key and budget per attack and the query log keeping 8-bit pixels,
 * then runs the four client attacks through HTTP alone and prints one table next to the
 * published references, the substitute's accuracy per round, and the defender's query-log
 * summary. The attacked digits are held-out test digits the model never trained on.
 * Sizes (env): EVAL_BB_SUBSTITUTE_IMAGES (1000), EVAL_BB_HSJ_IMAGES (20), EVAL_BB_SIMBA_IMAGES (50),
 * EVAL_BB_SQUARE_IMAGES (100), EVAL_BB_MAX_QUERIES (1000 per image).
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { initBackend } from '../src/backend/index.ts';
import { SqliteStore } from '../src/blackbox/sqlite-store.ts';
import { reportMarkdown as queryLogMarkdown, summarise as summariseLog } from '../src/blackbox/report.ts';
import { runClientAttack, type ClientReport, type ClientRunOptions } from '../src/client/run.ts';
import { startServer, waitReady, REPO_ROOT } from './lib/server-process.ts';
import { markdownTable } from './lib/stats.ts';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const SIZES = {
  substitute: env('EVAL_BB_SUBSTITUTE_IMAGES', 1000),
  hopskipjump: env('EVAL_BB_HSJ_IMAGES', 20),
  simba: env('EVAL_BB_SIMBA_IMAGES', 50),
  square: env('EVAL_BB_SQUARE_IMAGES', 100),
};
const MAX_QUERIES = env('EVAL_BB_MAX_QUERIES', 1000);
/** Papernot et al.'s 6,400 oracle queries to train, plus clean, adversarial and 8-bit-check queries per image. */
const SUBSTITUTE_BUDGET = 6400 + 3 * SIZES.substitute;
/** The transfer is measured after every round on this many digits (queries booked apart). */
const MEASURE_TRANSFER = env('EVAL_BB_MEASURE_TRANSFER', 200);

const REFERENCES: Record<string, string> = {
  substitute: 'Papernot et al. 2017: 84.24% misclassified by the MetaMind oracle (FGSM ε = 0.3, 6,400 queries); gradlab before: 36.6% transfer (MLP 200-200, FGSM, 4,800 queries)',
  simba: 'Guo et al. 2019 report ImageNet/Google Cloud Vision, not MNIST',
  square: 'Andriushchenko et al. 2020 report ImageNet and adversarially trained MNIST, not a standard MNIST model',
  hopskipjump: 'Chen et al. 2020 plot median L2 against queries for MNIST models (a figure, no table)',
};

async function copyModel(modelsDir: string, name: string): Promise<void> {
  const target = path.join(modelsDir, name);
  await cp(path.join(REPO_ROOT, 'models/mnist'), target, { recursive: true });
  const manifestPath = path.join(target, 'manifest.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as { name: string };
  manifest.name = name;
  await writeFile(manifestPath, JSON.stringify(manifest, null, 2));
}

const fmt = (v: number | undefined, digits = 2) => (v === undefined ? '—' : Number.isFinite(v) ? v.toFixed(digits) : '∞');
const pct = (v: number | undefined) => (v === undefined ? '—' : `${(100 * v).toFixed(1)}%`);

export async function evalBlackbox(): Promise<void> {
  await initBackend('wasm');
  const work = await mkdtemp(path.join(tmpdir(), 'gradlab-eval-bb-'));
  const modelsDir = path.join(work, 'models');
  const dataDir = path.join(work, 'data');
  await copyModel(modelsDir, 'mnist');
  await copyModel(modelsDir, 'mnist-scores');
  const budgets = {
    substitute: SUBSTITUTE_BUDGET + MEASURE_TRANSFER * 10,
    // Per image: the clean label, the attack's queries, one 8-bit check of a success.
    hopskipjump: SIZES.hopskipjump * (MAX_QUERIES + 2),
    simba: SIZES.simba * (MAX_QUERIES + 2),
    square: SIZES.square * (MAX_QUERIES + 2),
  };
  const keysFile = path.join(work, 'keys.json');
  await writeFile(keysFile, JSON.stringify(Object.entries(budgets).map(([name, budget]) => ({ key: `key-${name}`, name, budget }))));
  const args = ['--mode', 'blackbox', '--models-dir', modelsDir, '--data-dir', dataDir, '--api-keys-file', keysFile, '--output', 'label', '--model-output', 'mnist-scores=probabilities', '--rate-limit', '1000000/minute', '--query-log', 'images', '--backend', 'wasm'];
  console.log(`\n## Black-box attacks on the shipped MNIST model over HTTP (npm run eval -- blackbox)\n`);
  console.log(`Server: \`gradlab ${args.join(' ').replace(work, '<tmp>').replaceAll(work, '<tmp>')}\`.\n`);
  const server = await startServer(args, { GRADLAB_LOG_LEVEL: 'info' });
  const reports: ClientReport[] = [];
  try {
    await waitReady(server.baseUrl);
    const common = { url: server.baseUrl, offset: 0, dataset: 'mnist' as const, seed: 0, maxQueries: MAX_QUERIES, basis: 'dct' as const, concurrency: 4, substitute: {}, maxBatch: 64, range: [0, 1] as [number, number] };
    const runs: ClientRunOptions[] = [
      { ...common, attack: 'substitute', model: 'mnist', key: 'key-substitute', images: SIZES.substitute, substitute: { measureTransfer: MEASURE_TRANSFER } },
      { ...common, attack: 'hopskipjump', model: 'mnist', key: 'key-hopskipjump', images: SIZES.hopskipjump, epsilon: 2 },
      { ...common, attack: 'simba', model: 'mnist-scores', key: 'key-simba', images: SIZES.simba },
      { ...common, attack: 'square', model: 'mnist-scores', key: 'key-square', images: SIZES.square },
    ];
    for (const run of runs) {
      process.stderr.write(`  ${run.attack} on ${run.images} images…\n`);
      const { report } = await runClientAttack(run);
      reports.push(report);
    }
  } finally {
    await server.stop();
  }

  const rows = reports.map((r) => {
    const s = r.summary;
    // Settings are numbers and names as the client recorded them; print them as they are.
    const setting = (key: string): string => String(r.settings[key]);
    const what =
      r.attack === 'substitute'
        ? `${setting('architecture')} substitute, ${setting('craft')} ε = ${setting('epsilon')}, L∞`
        : r.attack === 'hopskipjump'
          ? `L2, ≤ ${setting('maxQueries')} queries/image`
          : r.attack === 'simba'
            ? `SimBA-${setting('basis').toUpperCase()}, step ε = ${setting('epsilon')}, ≤ ${setting('maxQueries')} queries`
            : `L∞ ε = ${setting('epsilon')}, p_init ${setting('pInit')}, ≤ ${setting('maxQueries')} queries`;
    const success =
      r.attack === 'substitute'
        ? `${pct(s.successRate)} transfer; ${pct(s.misclassifiedRate)} misclassified`
        : r.attack === 'hopskipjump'
          ? `${pct(s.successRate)}; ${pct(s.successAtEpsilon)} with L2 ≤ 2`
          : pct(s.successRate);
    const quantized = s.successQuantized === undefined ? '—' : pct(s.successQuantized);
    return [
      r.attack,
      what,
      r.target.output === 'label' ? 'label only' : 'probabilities',
      s.attacked,
      success,
      quantized,
      r.attack === 'substitute' ? `${r.substitute!.trainingQueries} to train, 1 per image to test` : `${fmt(s.meanQueries, 0)} / ${fmt(s.medianQueries, 0)}`,
      fmt(s.medianL2),
      r.oracle.queries,
      REFERENCES[r.attack]!,
    ];
  });
  console.log(markdownTable(['attack', 'setting', 'answers', 'images', 'success', 'still succeeds as 8-bit PNG', 'queries (mean / median per success)', 'median L2', 'queries used', 'published reference'], rows));
  const sub = reports.find((r) => r.attack === 'substitute');
  if (sub?.substitute) {
    const reservoir = sub.settings.reservoir as { from: number; size: number } | undefined;
    console.log(`\nSubstitute (${sub.substitute.architecture}, 150 held-out seed digits, λ = 0.1 flipped every 3 rounds${reservoir ? `, reservoir sampling of ${reservoir.size} from round ${reservoir.from + 1}` : ''}), accuracy on 850 held-out digits and transfer to the oracle (${sub.substitute.craft} on the first ${MEASURE_TRANSFER} digits; ${sub.substitute.measurementQueries} queries booked apart) after each round:\n`);
    console.log(markdownTable(['round', 'training images', 'oracle queries', 'substitute accuracy', 'transfer'], sub.substitute.rounds.map((r) => [r.round, r.trainingSize, r.queries, pct(r.accuracy), pct(r.transfer)])));
    console.log(`\nTransfer over all ${sub.summary.attacked} digits: ${pct(sub.summary.successRate)}, beside 36.6% for gradlab's earlier MLP + FGSM substitute and Papernot et al.'s 84.24%.`);
    console.log(`\nSubstitute and oracle agree on ${pct(sub.substitute.agreement)} of the ${sub.summary.attacked} clean test digits; the oracle's clean accuracy on them is ${pct(sub.summary.cleanAccuracy)}.`);
  }
  const hsj = reports.find((r) => r.attack === 'hopskipjump');
  if (hsj) console.log(`HopSkipJump's median L2 is over all ${hsj.summary.attacked} digits at ≤ ${MAX_QUERIES} queries each (pixels in [0, 1]; a digit's own L2 norm is about 9).`);

  const store = new SqliteStore(dataDir);
  console.log(`\nThe defender's view (\`npm run blackbox:report\` on the same data dir):\n`);
  console.log(queryLogMarkdown(summariseLog(store.entries()), store.allUsed()));
  await store.close();
  await rm(work, { recursive: true, force: true });
}

if (import.meta.url === `file://${process.argv[1]}`) await evalBlackbox();
