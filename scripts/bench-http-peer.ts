/**
 * gradlab's server next to a PyTorch server of the same API, over HTTP, at batch 1:
 *
 *   node --import tsx scripts/bench-http-peer.ts [--native off] [--rounds 21]
 *
 * Both serve the shipped MNIST CNN and the ResNet-18-shaped model of bench:peer
 * (scripts/lib/resnet18.ts) from the same files: gradlab's real server (`src/http/server.ts`,
 * batching off, wasm backend), and `scripts/peer/http_peer.py` (Debian's PyTorch, 2 threads,
 * the standard library's HTTP server) with the same routes and answer fields for `classify` and
 * `explain` (method gradient: the map as JSON floats and a PNG). Requests carry the image as a
 * JSON pixel array; each is sent to both servers in turn (alternating who goes first, 30 ms
 * apart), and the median round trips are printed. First the two explain maps must agree
 * (cosine ≥ 0.9999).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { ensureResnet18 } from './lib/resnet18.ts';
import { REPO_ROOT, startServer, waitReady } from './lib/server-process.ts';
import { SHIPPED, imageAt } from './lib/shipped.ts';
import { markdownTable, median } from './lib/stats.ts';

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const ROUNDS = Number(arg('rounds') ?? 21);
const NATIVE = arg('native') ?? 'auto';
const settle = () => new Promise((resolve) => setTimeout(resolve, 30));

function nested(pixels: Float32Array, h: number, w: number, c: number): number[][][] {
  return Array.from({ length: h }, (_, y) => Array.from({ length: w }, (_, x) => Array.from(pixels.subarray((y * w + x) * c, (y * w + x + 1) * c))));
}

function seeded(size: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: size }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32));
}

async function startPeer(models: Record<string, string>): Promise<{ url: string; stop: () => void }> {
  const child = spawn('/usr/bin/python3', [path.join(REPO_ROOT, 'scripts', 'peer', 'http_peer.py'), '0',
    ...Object.entries(models).map(([name, dir]) => `${name}=${dir}`)], {
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  const port = /^listening (\d+)/.exec(String(first.value))?.[1];
  if (!port) throw new Error(`the PyTorch server did not start: ${first.value}`);
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

async function post(url: string, body: string): Promise<{ ms: number; json: Record<string, unknown> }> {
  const t0 = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const json = (await res.json()) as Record<string, unknown>;
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${JSON.stringify(json).slice(0, 300)}`);
  return { ms, json };
}

function cosine(a: number[], b: number[]): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

const dir = path.join(REPO_ROOT, 'tmp', 'bench-http-peer', 'models');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const folders = { mnist: path.join(REPO_ROOT, SHIPPED[0]!.dir), resnet18: await ensureResnet18() };
for (const [name, folder] of Object.entries(folders)) symlinkSync(folder, path.join(dir, name));
// gradlab serves a model under its manifest's name; the PyTorch server uses the same names.
const served = Object.fromEntries(Object.entries(folders).map(([key, folder]) =>
  [key, (JSON.parse(readFileSync(path.join(folder, 'manifest.json'), 'utf8')) as { name: string }).name])) as Record<keyof typeof folders, string>;

const gradlab = await startServer(['--models-dir', dir, '--backend', 'wasm', '--batching', 'off', '--native', NATIVE]);
const peer = await startPeer(Object.fromEntries(Object.entries(folders).map(([key, folder]) => [served[key as keyof typeof folders], folder])));
try {
  await waitReady(gradlab.baseUrl, 300_000);
  const ready = (await (await fetch(`${gradlab.baseUrl}/readyz`)).json()) as { threads: number; nativeKernels: string[] };
  const images = {
    mnist: nested(imageAt(SHIPPED[0]!.heldOut(), 0), 28, 28, 1),
    resnet18: nested(seeded(224 * 224 * 3, 7), 224, 224, 3),
  };
  const rows: string[][] = [];
  for (const model of ['mnist', 'resnet18'] as const) {
    for (const route of ['classify', 'explain'] as const) {
      const body = JSON.stringify({ image: images[model], ...(route === 'explain' ? { method: 'gradient' } : { topK: 5 }) });
      const urls = [`${gradlab.baseUrl}/v1/models/${served[model]}/${route}`, `${peer.url}/v1/models/${served[model]}/${route}`];
      const first = await Promise.all(urls.map(async (u) => (await post(u, body)).json));
      if (route === 'explain') {
        const [a, b] = first.map((j) => ((j.map as { data: number[] }).data));
        const agreement = cosine(a!, b!);
        if (!(agreement >= 0.9999)) throw new Error(`${model} explain maps disagree: cosine ${agreement}`);
        console.error(`${model} explain: maps agree, cosine ${agreement.toFixed(7)}`);
      }
      const times: number[][] = [[], []];
      for (let r = 0; r < ROUNDS; r++) {
        for (const side of r % 2 ? [1, 0] : [0, 1]) {
          await settle();
          times[side]!.push((await post(urls[side]!, body)).ms);
        }
      }
      const [g, p] = times.map(median) as [number, number];
      rows.push([model === 'mnist' ? 'MNIST CNN' : 'ResNet-18 224²', route === 'explain' ? 'explain gradient' : 'classify', g.toFixed(2), p.toFixed(2), (g / p).toFixed(2)]);
      console.error(rows.at(-1)!.join(' | '));
    }
  }
  console.log(`\n## Over HTTP at batch 1 (median round trip, ${ROUNDS} rounds, ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(2)})\n`);
  console.log(`gradlab: wasm, ${ready.threads} threads, native kernels: ${ready.nativeKernels.length ? ready.nativeKernels.length : 'none'}. PyTorch server: scripts/peer/http_peer.py, 2 threads.\n`);
  console.log(markdownTable(['model', 'request', 'gradlab (ms)', 'PyTorch server (ms)', 'gradlab / PyTorch'], rows));
} finally {
  peer.stop();
  await gradlab.stop();
}
