/**
 * `npm run bench:peer [-- options]`: gradlab next to PyTorch on the same CPU, in one run.
 *
 * Both sides run the same networks with the same weights: the shipped MNIST CNN and a
 * ResNet-18-shaped model with seeded random weights (scripts/lib/resnet18.ts), which PyTorch
 * builds from the same tfjs files (scripts/peer/tfjs_model.py). First both are checked to agree
 * (logits, input gradients and guided-backprop maps: cosine >= 0.9999; see checkAgreement), then
 * each piece of work is timed on both sides, interleaved (gradlab, PyTorch, PyTorch, gradlab, ...),
 * and the medians and the ratio gradlab/PyTorch are printed as a Markdown table. Results and the
 * reasons behind them: docs/performance.md.
 *
 * gradlab runs its own code paths: forward = `ImageModel.predictProbabilities` (what classify
 * batches), input gradient and guided backprop = the `gradient` and `guidedBackprop` methods that
 * `explainImages` calls (score log p(target), read back to JS), PGD-10 = `runAttack` (L-inf,
 * random start, then the adversarial and 8-bit predictions). The PyTorch side (scripts/peer/peer.py)
 * does the same work as a PyTorch user would write it, in the Debian `python3-torch` package
 * (installed with apt-get if missing, with OpenBLAS), `torch.set_num_threads(2)` unless told.
 * The ResNet runs at batch 1 and 8 by default: at 64, PGD-10 takes minutes per repetition.
 *
 * Options: --quick (fewer repetitions), --resnet-batches 1,8 (default 1,8),
 *   --torch-threads 2 | 1,2 (PyTorch thread counts to compare against; default 2),
 *   --only mnist|resnet, --threads N (gradlab's wasm threads; default one per CPU),
 *   --native off (gradlab without its oneDNN kernels: the wasm-only column of README's table),
 *   --torch-channels-last (PyTorch's model and inputs in channels-last memory, NHWC like gradlab's
 *   tensors: what a PyTorch user tuning for CPU would write; by default PyTorch's NCHW, where its
 *   oneDNN convolutions reorder activations to a blocked layout and back around every call).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import * as tf from '@tensorflow/tfjs';
import { prepareAttack, runAttack } from '../src/attacks/attack.ts';
import { gradient } from '../src/explain/gradient.ts';
import { guidedBackprop } from '../src/explain/guided-backprop.ts';
import { layerWalk } from '../src/explain/layer-walk.ts';
import type { AttributionMethod, MethodContext } from '../src/explain/method.ts';
import type { ScoreKind } from '../src/explain/score.ts';
import { initBackend } from '../src/backend/index.ts';
import type { ImageModel } from '../src/model/image-model.ts';
import { loadModelFromDir } from '../src/model/loader.ts';
import { ensureResnet18 } from './lib/resnet18.ts';
import { REPO_ROOT } from './lib/server-process.ts';
import { SHIPPED, imageAt } from './lib/shipped.ts';
import { markdownTable, median } from './lib/stats.ts';

const SYSTEM_PYTHON = '/usr/bin/python3';
const WORK_DIR = path.join(REPO_ROOT, 'tmp', 'bench-peer');
const COSINE_MIN = 0.9999;
const PGD_STEPS = 10;

type Work = 'forward' | 'gradient' | 'pgd' | 'guided';
const WORK_LABEL: Record<Work, string> = {
  forward: 'forward',
  gradient: 'input gradient',
  pgd: `PGD-${PGD_STEPS}`,
  guided: 'guided backprop',
};

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const QUICK = process.argv.includes('--quick');
const RESNET_BATCHES = (option('resnet-batches') ?? '1,8').split(',').map(Number);
const TORCH_CHANNELS_LAST = process.argv.includes('--torch-channels-last');
const TORCH_THREADS = (option('torch-threads') ?? '2').split(',').map(Number);
const ONLY = option('only');
const SETTLE_MS = 30;
const GRADLAB_THREADS = option('threads') === undefined ? undefined : Number(option('threads'));
const NATIVE = option('native') === 'off' ? 'off' : 'auto';

// ---------------------------------------------------------------------------------------------
// PyTorch: installation and the peer process

function hasTorch(): boolean {
  return spawnSync(SYSTEM_PYTHON, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0;
}

/** Debian's python3-torch (and OpenBLAS: without it torch uses the reference BLAS), via apt-get. */
function ensurePyTorch(): void {
  const blas = spawnSync('sh', ['-c', 'ls /usr/lib/x86_64-linux-gnu/openblas*/libblas.so.3 /usr/lib/*/openblas*/libblas.so.3 2>/dev/null'], { encoding: 'utf8' });
  const needBlas = !blas.stdout.trim();
  if (hasTorch() && !needBlas) return;
  const packages = [...(hasTorch() ? [] : ['python3-torch']), ...(needBlas ? ['libopenblas0-openmp'] : [])];
  if (process.getuid?.() !== 0) {
    throw new Error(`bench:peer needs ${packages.join(' ')} for ${SYSTEM_PYTHON}; run: sudo apt-get install -y ${packages.join(' ')}`);
  }
  console.error(`installing ${packages.join(' ')} with apt-get (once) ...`);
  const install = () => spawnSync('apt-get', ['install', '-y', ...packages], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status;
  if (install() !== 0) {
    spawnSync('apt-get', ['update'], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (install() !== 0) throw new Error(`apt-get install -y ${packages.join(' ')} failed`);
  }
  if (!hasTorch()) throw new Error(`${SYSTEM_PYTHON} still cannot import torch after installing python3-torch`);
}

class Peer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly replies: AsyncIterator<string>;
  private stderr = '';

  constructor(env: NodeJS.ProcessEnv) {
    this.child = spawn(SYSTEM_PYTHON, [path.join(REPO_ROOT, 'scripts', 'peer', 'peer.py')], {
      cwd: REPO_ROOT,
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...env },
    });
    this.child.stderr.on('data', (d) => (this.stderr += d));
    this.replies = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  async request<T = Record<string, unknown>>(msg: { cmd: string } & Record<string, unknown>): Promise<T> {
    this.child.stdin.write(`${JSON.stringify(msg)}\n`);
    const next = await this.replies.next();
    if (next.done) throw new Error(`the PyTorch peer exited: ${this.stderr.slice(-2000)}`);
    const reply = JSON.parse(next.value) as { error?: string };
    if (reply.error) throw new Error(`PyTorch peer, ${msg.cmd}: ${reply.error}`);
    return reply as T;
  }

  async close(): Promise<void> {
    this.child.stdin.end(`${JSON.stringify({ cmd: 'quit' })}\n`);
    await new Promise((resolve) => this.child.on('exit', resolve));
  }
}

// ---------------------------------------------------------------------------------------------
// The models, inputs and gradlab's side of each piece of work

interface Subject {
  name: 'mnist' | 'resnet18';
  model: ImageModel;
  ctx: MethodContext;
  images: Float32Array[];
  /** Per image: the class explained (the clean prediction, as explainImages defaults to). */
  targets: number[];
  epsilon: number;
  stepSize: number;
}

function seededImages(count: number, size: number, seed: number): Float32Array[] {
  let s = seed >>> 0;
  return Array.from({ length: count }, () => {
    const img = new Float32Array(size);
    for (let i = 0; i < size; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      img[i] = s / 2 ** 32;
    }
    return img;
  });
}

function predicted(model: ImageModel, images: Float32Array[]): number[] {
  return model.predictProbabilities(images).map((p) => p.indexOf(Math.max(...p)));
}

function methodMap(subject: Subject, method: AttributionMethod, n: number, score: ScoreKind = 'logprob'): Float32Array {
  const map = tf.tidy(() => method(subject.ctx, subject.model.batchTensor(subject.images.slice(0, n)), { targets: subject.targets.slice(0, n), score }));
  const data = map.dataSync() as Float32Array;
  map.dispose();
  return data;
}

function supportsGuided(subject: Subject): boolean {
  return (subject.ctx.walk?.supportsGuided ?? false) || (subject.model.gradientForward()?.supportsReluSwap ?? false);
}

async function gradlabRun(subject: Subject, work: Work, n: number): Promise<void> {
  const images = subject.images.slice(0, n);
  switch (work) {
    case 'forward':
      subject.model.predictProbabilities(images);
      return;
    case 'gradient':
      methodMap(subject, gradient, n);
      return;
    case 'guided':
      methodMap(subject, guidedBackprop, n);
      return;
    case 'pgd':
      await runAttack(subject.model, images, prepareAttack(subject.model, { method: 'pgd', norm: 'linf', epsilon: subject.epsilon, stepSize: subject.stepSize, steps: PGD_STEPS, seed: 0 }, { images: images.length }));
  }
}

function inputName(subject: Subject, n: number): string {
  return `${subject.name}-${n}`;
}

async function sendInput(peer: Peer, subject: Subject, n: number): Promise<void> {
  const file = path.join(WORK_DIR, 'inputs', `${inputName(subject, n)}.f32`);
  const flat = new Float32Array(n * subject.model.pixelsPerImage);
  subject.images.slice(0, n).forEach((img, i) => flat.set(img, i * img.length));
  writeFileSync(file, Buffer.from(flat.buffer));
  await peer.request({ cmd: 'input', name: inputName(subject, n), path: file, shape: [n, ...subject.model.inputShape] });
}

// ---------------------------------------------------------------------------------------------
// Agreement

function cosine(a: Float32Array, b: Float32Array, from: number, to: number): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = from; i < to; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 && nb === 0 ? 1 : dot / Math.sqrt(na * nb);
}

function minCosinePerImage(a: Float32Array, b: Float32Array, n: number): number {
  const size = a.length / n;
  let min = 1;
  for (let k = 0; k < n; k++) min = Math.min(min, cosine(a, b, k * size, (k + 1) * size));
  return min;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function readF32(file: string): Float32Array {
  const bytes = readFileSync(file);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/**
 * Logits, and input gradients and guided-backprop maps per image. The per-image check uses the
 * target logit as the score: log p(target) saturates for confident images (its gradient is then
 * ~1e-7 and float32 rounding noise), so for log p the check is over the whole batch.
 */
async function checkAgreement(peer: Peer, subject: Subject, n: number): Promise<string[]> {
  const guided = supportsGuided(subject);
  const out = path.join(WORK_DIR, `check-${subject.name}`);
  await peer.request({ cmd: 'check', model: subject.name, input: inputName(subject, n), targets: subject.targets.slice(0, n), out, guided });
  const logits = tf.tidy(() => subject.model.logits(subject.model.batchTensor(subject.images.slice(0, n))));
  const ours: Record<string, Float32Array> = { logits: logits.dataSync() as Float32Array };
  logits.dispose();
  for (const score of ['logit', 'logprob'] as ScoreKind[]) {
    ours[`gradient-${score}`] = methodMap(subject, gradient, n, score);
    if (guided) ours[`guided-${score}`] = methodMap(subject, guidedBackprop, n, score);
  }
  const lines: string[] = [];
  const failures: string[] = [];
  for (const [key, mine] of Object.entries(ours)) {
    const theirs = readF32(`${out}.${key}.f32`);
    if (theirs.length !== mine.length) throw new Error(`${subject.name} ${key}: ${mine.length} values here, ${theirs.length} from PyTorch`);
    const perImage = minCosinePerImage(mine, theirs, n);
    const batch = cosine(mine, theirs, 0, mine.length);
    const checked = key.endsWith('logprob') ? batch : perImage;
    lines.push(`${subject.name} ${key} (${n} images): cosine ${batch.toFixed(7)} over the batch, min per image ${perImage.toFixed(7)}, max |difference| ${maxAbsDiff(mine, theirs).toExponential(2)}`);
    if (!(checked >= COSINE_MIN)) failures.push(`${subject.name} ${key}: cosine ${checked} < ${COSINE_MIN}`);
  }
  if (failures.length) throw new Error(`gradlab and PyTorch disagree:\n${[...lines, ...failures].join('\n')}`);
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Timing

interface Row {
  subject: Subject;
  batch: number;
  work: Work;
}

interface Timed {
  row: Row;
  gradlab: number | undefined;
  torch: Map<number, number>;
  reps: number;
}

async function timeGradlab(row: Row): Promise<number> {
  const t0 = performance.now();
  await gradlabRun(row.subject, row.work, row.batch);
  return performance.now() - t0;
}

async function timeTorch(peer: Peer, row: Row, threads: number): Promise<number> {
  if (TORCH_THREADS.length > 1) await peer.request({ cmd: 'threads', n: threads });
  const { ms } = await peer.request<{ ms: number }>({
    cmd: 'time', model: row.subject.name, input: inputName(row.subject, row.batch), work: row.work,
    targets: row.subject.targets.slice(0, row.batch), epsilon: row.subject.epsilon, step_size: row.subject.stepSize, steps: PGD_STEPS, seed: 0,
  });
  return ms;
}

/**
 * One warm-up each, then repetitions in rotating order (gradlab first, then PyTorch first, ...)
 * until a time budget per row is spent (at least 3, at most 21 repetitions), with a 30 ms pause
 * before each timed call.
 */
async function timeRow(peer: Peer, row: Row): Promise<Timed> {
  const canRun = row.work !== 'guided' || supportsGuided(row.subject);
  const sides: (() => Promise<number>)[] = [];
  const gradlabTimes: number[] = [];
  const torchTimes = new Map<number, number[]>(TORCH_THREADS.map((t) => [t, []]));
  if (canRun) sides.push(async () => timeGradlab(row));
  for (const threads of TORCH_THREADS) sides.push(async () => timeTorch(peer, row, threads));
  const warm = [];
  for (const side of sides) warm.push(await side());
  const perRound = warm.reduce((a, b) => a + b, 0);
  const budget = QUICK ? 3_000 : 12_000;
  const reps = Math.max(3, Math.min(QUICK ? 7 : 21, Math.round(budget / perRound)));
  for (let r = 0; r < reps; r++) {
    for (let k = 0; k < sides.length; k++) {
      const i = (k + r) % sides.length;
      // Both sides keep threads spinning for a moment after their work (OpenMP's active wait,
      // XNNPACK's pool): a pause lets them settle so that neither side's turn pays for the other's.
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      const ms = await sides[i]!();
      if (canRun && i === 0) gradlabTimes.push(ms);
      else torchTimes.get(TORCH_THREADS[canRun ? i - 1 : i]!)!.push(ms);
    }
  }
  return {
    row,
    gradlab: canRun ? median(gradlabTimes) : undefined,
    torch: new Map([...torchTimes].map(([t, xs]) => [t, median(xs)])),
    reps,
  };
}

function fmt(ms: number | undefined): string {
  if (ms === undefined) return 'n/a';
  return ms < 10 ? ms.toFixed(2) : ms < 1000 ? ms.toFixed(1) : ms.toFixed(0);
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  ensurePyTorch();
  mkdirSync(path.join(WORK_DIR, 'inputs'), { recursive: true });
  const backend = await initBackend('wasm', { native: NATIVE, ...(GRADLAB_THREADS ? { threads: GRADLAB_THREADS } : {}) });
  const started = Date.now();
  const loadStart = os.loadavg()[0]!;
  // OpenMP threads spin while they wait; on a machine whose cores are busy with other work that
  // makes multi-threaded PyTorch many times slower (measured: a 3x3 conv 64 -> 64 at 56x56 took
  // 64 ms with 2 spinning threads, 10 ms passive, 8 ms on 1 thread). A passive wait keeps
  // PyTorch's 2-thread numbers meaningful there; an explicit OMP_WAIT_POLICY is respected.
  const ompWait = process.env.OMP_WAIT_POLICY ?? (loadStart > 0.5 ? 'PASSIVE' : undefined);
  const peer = new Peer({ ...(ompWait ? { OMP_WAIT_POLICY: ompWait } : {}), ...(TORCH_CHANNELS_LAST ? { PEER_CHANNELS_LAST: '1' } : {}) });
  try {
    const torchInfo = spawnSync(SYSTEM_PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).stdout.trim();
    const subjects: Subject[] = [];
    if (ONLY !== 'resnet') {
      const model = await loadModelFromDir(path.join(REPO_ROOT, SHIPPED[0]!.dir));
      const set = SHIPPED[0]!.heldOut();
      const images = Array.from({ length: 64 }, (_, i) => imageAt(set, i));
      subjects.push({ name: 'mnist', model, ctx: { model, walk: layerWalk(model) }, images, targets: predicted(model, images), epsilon: 0.3, stepSize: 0.01 });
    }
    if (ONLY !== 'mnist') {
      const model = await loadModelFromDir(await ensureResnet18());
      const count = Math.max(...RESNET_BATCHES, 2);
      const images = seededImages(count, model.pixelsPerImage, 20240607);
      subjects.push({ name: 'resnet18', model, ctx: { model, walk: layerWalk(model) }, images, targets: predicted(model, images), epsilon: 8 / 255, stepSize: 2 / 255 });
    }

    const rows: Row[] = [];
    for (const subject of subjects) {
      await peer.request({ cmd: 'load', name: subject.name, dir: subject.model.source });
      const batches = subject.name === 'mnist' ? [1, 64] : RESNET_BATCHES;
      for (const n of new Set([...batches, 2])) await sendInput(peer, subject, n);
      for (const line of await checkAgreement(peer, subject, subject.name === 'mnist' ? 64 : 2)) console.error(`check: ${line}`);
      for (const batch of batches) for (const work of ['forward', 'gradient', 'pgd', 'guided'] as Work[]) rows.push({ subject, batch, work });
    }

    const results: Timed[] = [];
    for (const row of rows) {
      const timed = await timeRow(peer, row);
      results.push(timed);
      const torch = [...timed.torch].map(([t, ms]) => `PyTorch(${t}t) ${fmt(ms)} ms`).join(', ');
      console.error(`${row.subject.name} b${row.batch} ${WORK_LABEL[row.work]}: gradlab ${fmt(timed.gradlab)} ms, ${torch} (${timed.reps} reps)`);
    }

    const header = ['model', 'batch', 'work', 'gradlab (ms)'];
    for (const t of TORCH_THREADS) header.push(`PyTorch ${t} thread${t > 1 ? 's' : ''} (ms)`, `gradlab / PyTorch ${t}t`);
    header.push('reps');
    const table = results.map(({ row, gradlab, torch, reps }) => {
      const cells = [row.subject.name === 'mnist' ? 'MNIST CNN' : 'ResNet-18 224²', String(row.batch), WORK_LABEL[row.work], fmt(gradlab)];
      for (const t of TORCH_THREADS) {
        const ms = torch.get(t)!;
        cells.push(fmt(ms), gradlab === undefined ? 'n/a' : (gradlab / ms).toFixed(2));
      }
      cells.push(String(reps));
      return cells;
    });
    const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
    console.log(`\n## gradlab vs PyTorch (median ms, interleaved; ${os.cpus().length} cores, ${cpu})\n`);
    const native = backend.native?.kernels.length ? `native kernels (${backend.native.library}): ${backend.native.kernels.join(', ')}` : `no native kernels (${backend.native?.reason})`;
    console.log(`gradlab: tfjs ${tf.version.tfjs}, ${backend.name} backend, ${backend.threads} thread${backend.threads === 1 ? '' : 's'}; ${native}. PyTorch ${torchInfo} (Debian), CPU, ${TORCH_CHANNELS_LAST ? 'channels-last' : 'NCHW'} memory, OMP_WAIT_POLICY=${ompWait ?? '(default)'}.`);
    console.log(`Load average (1 min): ${loadStart.toFixed(2)} at start, ${os.loadavg()[0]!.toFixed(2)} at end; ${((Date.now() - started) / 1000).toFixed(0)} s.\n`);
    console.log(markdownTable(header, table));
    const guidedMissing = subjects.filter((s) => !supportsGuided(s)).map((s) => s.name);
    if (guidedMissing.length) console.log(`\nn/a: gradlab cannot run guided backprop on ${guidedMissing.join(', ')}.`);
  } finally {
    await peer.close();
  }
}

// Errors end the run with their message (an uncaught error would print the wasm module's source).
main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
