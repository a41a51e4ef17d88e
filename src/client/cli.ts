/**
 * `gradlab-attack <substitute|simba|square|hopskipjump> --url URL --key KEY [options]`
 * (or `npm run attack -- …`): attacks a classifier behind an endpoint (gradlab, an Open Inference
 * Protocol v2 or KServe/TF Serving server, or any JSON endpoint a config describes) with HTTP alone and
 * writes report.json, report.md and the adversarial PNGs. Budget-aware: a spent budget ends the
 * run cleanly with what it got; rate limits are waited out. Progress goes to stderr.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { initBackend, BACKEND_CHOICES, type BackendChoice } from '../backend/index.ts';
import { SUBSTITUTE_DEFAULTS } from './attacks/substitute.ts';
import { CLIENT_ATTACKS, runClientAttack, type ClientAttack, type ClientRunOptions } from './run.ts';
import { DATASETS, type DatasetName } from './data.ts';
import { writeReport } from './report.ts';
import { OracleError } from './oracle.ts';
import { TARGET_KINDS, TargetError, type TargetKind } from './targets/target.ts';
import { progressDisplay, PROGRESS_STYLES, type ProgressStyle } from './progress.ts';

const USAGE = `usage: gradlab-attack <${CLIENT_ATTACKS.join('|')}> --url URL [options]

  --url URL            the endpoint: the server (http://host:8080, with --model) or the model's URL
                       (…/v1/models/m/classify, …/v2/models/m/infer, …/v1/models/m:predict)
  --model NAME         the model, when --url is the server
  --target T           the protocol: ${TARGET_KINDS.join('|')} (default gradlab; oip = Open
                       Inference Protocol v2 JSON, oip-binary = its binary tensors, kserve = KServe v1,
                       tfserving = TF Serving REST, generic = any JSON endpoint per --target-config)
  --target-config F    generic: a JSON file saying the URL, headers, where the image goes and where
                       the answer is (README: "Attack any endpoint")
  --labels A,B,…       the model's labels, when the endpoint does not say them (or --classes N)
  --classes N          how many classes, when the endpoint does not say
  --input-shape H,W,C  the model's input, when the endpoint does not say
  --header 'K: V'      a request header (repeatable), e.g. an endpoint's own authentication
  --key KEY            API key (or GRADLAB_API_KEY)
  --budget N           spend at most N queries in all (client-side cap; the server's budget also holds)
  --images N           images to attack (default 10)
  --offset N           start at this image of the attacked part of the data (default 0)
  --dataset NAME       ${DATASETS.join('|')} (default mnist): the attacker's own held-out images
  --max-queries N      per-image query cap for simba, square, hopskipjump (default 1000)
  --epsilon E          simba step (0.2) | square L∞ radius (0.3) | substitute FGSM/PGD radius (0.3) | hopskipjump L2 for "success at ε"
  --basis B            simba: pixel|dct (default dct)
  --p-init P           square: initial square area fraction (default 0.8)
  --concurrency N      hopskipjump: images attacked at once (default 4)
  --substitute A       substitute: cnn|mlp (default cnn; mlp: the paper's 200-200)
  --rounds N           substitute: training rounds (default 10)
  --lambda L           substitute: Jacobian augmentation step (default 0.1)
  --epochs N           substitute: training epochs per round (default 10)
  --craft M            substitute: pgd|fgsm|mifgsm (default pgd; the paper: fgsm)
  --reservoir R:K      substitute: from round R on, augment K random points instead of doubling
                       (default 4:800: 6,400 queries in 10 rounds; none: always double)
  --measure-transfer N substitute: measure the transfer rate after every round on N images (N more queries a round)
  --seed N             random seed (default 0)
  --batch N            most images per request (default 64)
  --range LO,HI        the value range pixels are sent in (default 0,1)
  --backend B          substitute's local training: ${BACKEND_CHOICES.join('|')} (default auto)
  --out DIR            where to write the report (default out/attack-<attack>-<time>)
  --progress STYLE     auto|bar|lines|json|none (default auto: a bar on a terminal, else a line every 2 s
                       and one for every rate-limit wait)
  --quiet              same as --progress none
  --help, -h           this text (through npx: npx gradlab-attack -- --help, or npx gradlab-attack help)`;

class UsageError extends Error {}

function parse(argv: string[]): { options: ClientRunOptions; out: string; progress: ProgressStyle; backend: BackendChoice } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      model: { type: 'string' },
      target: { type: 'string' },
      'target-config': { type: 'string' },
      labels: { type: 'string' },
      classes: { type: 'string' },
      'input-shape': { type: 'string' },
      header: { type: 'string', multiple: true },
      key: { type: 'string' },
      budget: { type: 'string' },
      images: { type: 'string' },
      offset: { type: 'string' },
      dataset: { type: 'string' },
      'max-queries': { type: 'string' },
      epsilon: { type: 'string' },
      basis: { type: 'string' },
      'p-init': { type: 'string' },
      concurrency: { type: 'string' },
      substitute: { type: 'string' },
      rounds: { type: 'string' },
      lambda: { type: 'string' },
      epochs: { type: 'string' },
      craft: { type: 'string' },
      reservoir: { type: 'string' },
      'measure-transfer': { type: 'string' },
      seed: { type: 'string' },
      batch: { type: 'string' },
      range: { type: 'string' },
      backend: { type: 'string' },
      out: { type: 'string' },
      progress: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || (positionals.length === 1 && positionals[0] === 'help')) throw new UsageError('');
  const attack = positionals[0] as ClientAttack;
  if (positionals.length !== 1 || !CLIENT_ATTACKS.includes(attack)) throw new UsageError(`name one attack: ${CLIENT_ATTACKS.join(', ')}`);
  const target = (values.target ?? 'gradlab') as TargetKind;
  if (!TARGET_KINDS.includes(target)) throw new UsageError(`--target: '${values.target}' is not one of ${TARGET_KINDS.join(', ')}`);
  if (!values.url && target !== 'generic') throw new UsageError('--url is required');
  if (target === 'generic' && !values['target-config']) throw new UsageError('--target generic needs --target-config FILE');
  const int = (name: keyof typeof values, fallback: number, min = 0): number => {
    const v = values[name];
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name}: '${String(v)}' is not a whole number ≥ ${min}`);
    return n;
  };
  const num = (name: keyof typeof values): number | undefined => {
    const v = values[name];
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!(n > 0)) throw new UsageError(`--${name}: '${String(v)}' is not a positive number`);
    return n;
  };
  const oneOf = <T extends string>(name: keyof typeof values, choices: readonly T[], fallback: T): T => {
    const v = values[name] as string | undefined;
    if (v === undefined) return fallback;
    if (!(choices as readonly string[]).includes(v)) throw new UsageError(`--${name}: '${v}' is not one of ${choices.join(', ')}`);
    return v as T;
  };
  const range = (values.range ?? '0,1').split(',').map(Number);
  if (range.length !== 2 || !(range[0]! < range[1]!)) throw new UsageError(`--range: '${values.range}' is not LO,HI`);
  const budget = values.budget !== undefined ? int('budget', 0, 1) : undefined;
  const key = values.key ?? process.env.GRADLAB_API_KEY;
  const epsilon = num('epsilon');
  const pInit = num('p-init');
  const lambda = num('lambda');
  const reservoirParts = values.reservoir === 'none' ? undefined : values.reservoir?.split(':').map(Number);
  if (reservoirParts && (reservoirParts.length !== 2 || !reservoirParts.every((n) => Number.isInteger(n) && n >= 1))) throw new UsageError(`--reservoir: '${values.reservoir}' is not ROUND:SIZE (e.g. 3:400)`);
  // `none`: double every round, as the 2017 paper does.
  const reservoir = values.reservoir === 'none' ? null : reservoirParts ? { from: reservoirParts[0]!, size: reservoirParts[1]! } : undefined;
  const shape = values['input-shape']?.split(',').map(Number);
  if (shape && (shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0))) throw new UsageError(`--input-shape: '${values['input-shape']}' is not H,W,C`);
  const headers: Record<string, string> = {};
  for (const h of values.header ?? []) {
    const colon = h.indexOf(':');
    if (colon <= 0) throw new UsageError(`--header: '${h}' is not 'Name: value'`);
    headers[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
  }
  const classes = values.classes !== undefined ? int('classes', 0, 2) : undefined;
  const hints = {
    ...(values.labels ? { labels: values.labels.split(',') } : {}),
    ...(classes !== undefined ? { classes } : {}),
    ...(shape ? { inputShape: shape as [number, number, number] } : {}),
  };
  const options: ClientRunOptions = {
    attack,
    url: values.url ?? '',
    target,
    ...(values['target-config'] ? { targetConfig: values['target-config'] } : {}),
    hints,
    ...(Object.keys(headers).length ? { headers } : {}),
    ...(values.model ? { model: values.model } : {}),
    ...(key ? { key } : {}),
    ...(budget !== undefined ? { budget } : {}),
    images: int('images', 10, 1),
    offset: int('offset', 0),
    dataset: oneOf<DatasetName>('dataset', DATASETS, 'mnist'),
    seed: int('seed', 0),
    maxQueries: int('max-queries', 1000, 2),
    ...(epsilon !== undefined ? { epsilon } : {}),
    basis: oneOf('basis', ['pixel', 'dct'] as const, 'dct'),
    ...(pInit !== undefined ? { pInit } : {}),
    concurrency: int('concurrency', 4, 1),
    substitute: {
      architecture: oneOf('substitute', ['mlp', 'cnn'] as const, SUBSTITUTE_DEFAULTS.architecture),
      rounds: int('rounds', SUBSTITUTE_DEFAULTS.rounds, 1),
      epochs: int('epochs', SUBSTITUTE_DEFAULTS.epochs, 1),
      craft: oneOf('craft', ['fgsm', 'pgd', 'mifgsm'] as const, SUBSTITUTE_DEFAULTS.craft),
      ...(lambda !== undefined ? { lambda } : {}),
      ...(reservoir !== undefined ? { reservoir } : {}),
      measureTransfer: int('measure-transfer', 0),
    },
    maxBatch: int('batch', 64, 1),
    range: range as [number, number],
  };
  const out = values.out ?? path.join('out', `attack-${attack}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const progress = values.quiet ? 'none' : oneOf<ProgressStyle>('progress', PROGRESS_STYLES, 'auto');
  return { options, out, progress, backend: oneOf<BackendChoice>('backend', BACKEND_CHOICES, 'auto') };
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parse(argv);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      if ((err as Error).message) process.stderr.write(`gradlab-attack: ${(err as Error).message}\n`);
      process.stderr.write(`${USAGE}\n`);
      return (err as Error).message ? 2 : 0;
    }
    throw err;
  }
  const { options, out } = parsed;
  // Only the substitute trains locally (tfjs); the query attacks are plain arithmetic.
  if (options.attack === 'substitute') await initBackend(parsed.backend);

  const display = progressDisplay(parsed.progress, options.attack, options.attack === 'substitute' ? 'steps' : 'images');
  try {
    const { report, adversarial, originals } = await runClientAttack(
      options,
      (e) => display.update(e),
      (message) => display.notice(message),
    );
    display.stop();
    const files = await writeReport(out, report, originals, adversarial, options.range);
    const s = report.summary;
    process.stdout.write(
      `${options.attack}: ${s.successes}/${s.attacked} succeeded (${(100 * s.successRate).toFixed(1)}%), ${report.oracle.queries} queries` +
        `${s.medianQueries !== undefined ? `, median ${s.medianQueries} per success` : ''}${s.medianL2 !== undefined ? `, median L2 ${Number.isFinite(s.medianL2) ? s.medianL2.toFixed(3) : '∞'}` : ''}` +
        `${s.successQuantized !== undefined ? `, ${(100 * s.successQuantized).toFixed(1)}% still succeed as 8-bit PNGs` : ''}` +
        `${report.stopped ? ` — stopped early: ${report.stopped}` : ''}\nreport: ${path.join(out, 'report.md')} (${files.length} files)\n`,
    );
    return 0;
  } catch (err) {
    display.stop();
    // Connection failures, refusals (401, 404) and unusable answers: one line, not a stack.
    const cause = (err as { cause?: Error }).cause;
    process.stderr.write(`gradlab-attack: ${(err as Error).message}${cause ? ` (${cause.message})` : ''}\n`);
    if (!(err instanceof OracleError || err instanceof TargetError) && process.env.GRADLAB_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    return 1;
  }
}

// Run directly (`npm run attack`); the `gradlab-attack` bin imports `main` instead.
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  process.exitCode = await main(process.argv.slice(2));
}
