/**
 * Substitute-attack variants against one black-box MNIST server (label-only output), side by side:
 * `node --import tsx scripts/eval-substitute.ts` with EVAL_SUB_VARIANTS="mlp:fgsm,cnn:pgd,…"
 * (architecture:craft[:rounds[:reservoirFrom:reservoirSize[:epochs]]]), EVAL_SUB_IMAGES (default 1000)
 * and EVAL_SUB_MEASURE (images to measure the transfer on after every round, default 200, 0 for
 * none). Prints, per variant, the substitute's accuracy and transfer per round, and the final
 * transfer rate, beside the 36.6% gradlab measured before and Papernot et al.'s 84.24%. Slow on
 * 2 cores: run it niced in the background.
 */
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { initBackend } from '../src/backend/index.ts';
import { runClientAttack, type ClientRunOptions } from '../src/client/run.ts';
import type { SubstituteOptions } from '../src/client/attacks/substitute.ts';
import { startServer, waitReady, REPO_ROOT } from './lib/server-process.ts';

const IMAGES = Number(process.env.EVAL_SUB_IMAGES ?? 1000);
const VARIANTS = (process.env.EVAL_SUB_VARIANTS ?? 'mlp:fgsm,cnn:pgd,cnn:pgd:10:3:400').split(',');
const MEASURE = Number(process.env.EVAL_SUB_MEASURE ?? 200);
const pct = (v: number | undefined) => (v === undefined ? '—' : `${(100 * v).toFixed(1)}%`);

await initBackend('wasm');
const work = await mkdtemp(path.join(tmpdir(), 'gradlab-eval-sub-'));
const modelsDir = path.join(work, 'models');
await cp(path.join(REPO_ROOT, 'models/mnist'), path.join(modelsDir, 'mnist'), { recursive: true });
const manifestPath = path.join(modelsDir, 'mnist', 'manifest.json');
await writeFile(manifestPath, await readFile(manifestPath, 'utf8'));
const keysFile = path.join(work, 'keys.json');
await writeFile(keysFile, JSON.stringify(VARIANTS.map((_, i) => ({ key: `key-${i}`, name: `variant-${i}`, budget: 1_000_000 }))));
const args = ['--mode', 'blackbox', '--models-dir', modelsDir, '--data-dir', path.join(work, 'data'), '--api-keys-file', keysFile, '--output', 'label', '--rate-limit', '1000000/minute', '--backend', 'wasm'];
const server = await startServer(args);
try {
  await waitReady(server.baseUrl);
  console.log(`\n## Substitute variants, ${IMAGES} MNIST test digits, label-only oracle (scripts/eval-substitute.ts)\n`);
  console.log(`| variant | training queries | substitute accuracy per round | transfer per round (${MEASURE} digits) | agreement | transfer (oracle had it right) | misclassified (Papernot) | successQuantized |`);
  console.log('|---|--:|---|---|--:|--:|--:|--:|');
  for (const [i, variant] of VARIANTS.entries()) {
    const [architecture, craft, rounds, from, size, epochs] = variant.split(':') as [SubstituteOptions['architecture'], SubstituteOptions['craft'], string | undefined, string | undefined, string | undefined, string | undefined];
    const substitute: Partial<SubstituteOptions> = {
      architecture, craft, measureTransfer: MEASURE,
      ...(rounds ? { rounds: Number(rounds) } : {}),
      reservoir: from && size ? { from: Number(from), size: Number(size) } : null,
      ...(epochs ? { epochs: Number(epochs) } : {}),
    };
    const options: ClientRunOptions = {
      attack: 'substitute', url: server.baseUrl, model: 'mnist', key: `key-${i}`, images: IMAGES, offset: 0, dataset: 'mnist', seed: 0,
      maxQueries: 1000, basis: 'dct', concurrency: 4, substitute, maxBatch: 64, range: [0, 1],
    };
    const started = Date.now();
    const { report } = await runClientAttack(options, undefined, (m) => process.stderr.write(`${m}\n`));
    const sub = report.substitute!;
    const q = report.summary.successQuantized;
    console.log(`| ${variant} | ${sub.trainingQueries} | ${sub.rounds.map((r) => pct(r.accuracy)).join(' → ')} | ${sub.rounds.map((r) => pct(r.transfer)).join(' → ')} | ${pct(sub.agreement)} | ${pct(report.summary.successRate)} | ${pct(report.summary.misclassifiedRate)} | ${pct(q)} |`);
    process.stderr.write(`  ${variant}: ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  }
  console.log('\nReferences: gradlab before (MLP 200-200, FGSM ε = 0.3): 36.6% transfer; Papernot et al. 2017: 84.24% misclassified.');
} finally {
  await server.stop();
}
