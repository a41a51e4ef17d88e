/**
 * What HTTP adds at batch 1: for the same request, the round-trip time of the real server (a
 * separate process, shipped models, fetch from here, one request at a time) against the time of
 * the core call it makes, run in this process on the already-decoded image (`explainImages`,
 * `runAttack`, the model's forward pass). The difference is what the service adds: reading the
 * body, decoding the PNG, validation, serialising the answer (floats and the map's PNG) and the
 * round trip itself. Both sides run interleaved, request by request, with the same backend and
 * thread count. The server's own account (`Server-Timing: app`) splits what is added between the
 * server's request handling and the round trip (client, loopback, connection).
 *
 * Classify is timed with dynamic batching off: with it on, a lone request also waits up to
 * --batch-max-wait-ms (default 2 ms) for others to join its forward pass, by design.
 */
import sharp from 'sharp';
import { prepareAttack, runAttack, type AttackRequest } from '../src/attacks/attack.ts';
import { explainImages, type ExplainRequest } from '../src/explain/explain.ts';
import { initBackend } from '../src/backend/index.ts';
import { loadModelFromDir } from '../src/model/loader.ts';
import { ensureResnet18 } from './lib/resnet18.ts';
import { startServer, waitReady } from './lib/server-process.ts';
import { SHIPPED, imageAt } from './lib/shipped.ts';
import { markdownTable, median } from './lib/stats.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 40);

interface Case {
  label: string;
  path: string;
  body: Record<string, unknown>;
  /** The core call, awaited: asynchronous (explain, attack) or not (classify). */
  core: () => unknown;
}

export async function benchOverhead(): Promise<void> {
  const backend = await initBackend('wasm');
  const model = await loadModelFromDir(SHIPPED[0]!.dir);
  const image = imageAt(SHIPPED[0]!.heldOut(), 0);
  const grey = Uint8Array.from(image, (v) => Math.round(v * 255));
  const png = (await sharp(Buffer.from(grey), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer()).toString('base64');
  // The core calls get the 8-bit image the server decodes from the PNG.
  const decoded = Float32Array.from(grey, (v) => v / 255);

  const explain = (method: ExplainRequest['method']): Case => ({
    label: `explain ${method}`,
    path: '/v1/models/mnist/explain',
    body: { image: png, method },
    core: () => explainImages(model, [decoded], { method }),
  });
  const pgd: AttackRequest = { method: 'pgd', epsilon: 0.3, steps: 10 };
  const cases: Case[] = [
    { label: 'classify (batching off)', path: '/v1/models/mnist/classify', body: { image: png }, core: () => model.predictProbabilities([decoded]) },
    explain('gradient'),
    explain('guided-backprop'),
    explain('gradcam'),
    { label: 'attack PGD-10', path: '/v1/models/mnist/attack', body: { image: png, ...pgd }, core: () => runAttack(model, [decoded], prepareAttack(model, pgd, { images: 1 })) },
  ];

  // A ResNet-18-shaped model (random weights, 224×224 RGB) shows the same for a model whose
  // compute is hundreds of milliseconds.
  const resnetDir = await ensureResnet18();
  const resnet = await loadModelFromDir(resnetDir);
  const rgb = Buffer.from(Uint8Array.from({ length: 224 * 224 * 3 }, (_, i) => Math.round(127.5 + 127.5 * Math.sin(i * 0.013))));
  const resnetPng = (await sharp(rgb, { raw: { width: 224, height: 224, channels: 3 } }).png().toBuffer()).toString('base64');
  const resnetInput = Float32Array.from(rgb, (v) => (v / 255) * (resnet.manifest.input.range[1] - resnet.manifest.input.range[0]) + resnet.manifest.input.range[0]);
  const resnetName = resnet.manifest.name;
  for (const encodingFormat of ['float', 'base64']) {
    cases.push({
      label: `ResNet-18 224² explain gradient (encodingFormat ${encodingFormat})`,
      path: `/v1/models/${resnetName}/explain`,
      body: { image: resnetPng, method: 'gradient', encodingFormat },
      core: () => explainImages(resnet, [resnetInput], { method: 'gradient' }),
    });
  }

  const server = await startServer(['--models-dir', 'models', '--model-url', `file://${resnetDir}`, '--batching', 'off', '--threads', String(backend.threads ?? 1)]);
  try {
    await waitReady(server.baseUrl);
    const serverMs: number[] = [];
    const http = async (c: Case) => {
      const res = await fetch(server.baseUrl + c.path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(c.body) });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`${c.path}: ${res.status} ${text}`);
      serverMs.push(Number(/app;dur=([\d.]+)/.exec(res.headers.get('server-timing') ?? '')?.[1] ?? NaN));
    };
    const rows: string[][] = [];
    for (const c of cases) {
      for (let i = 0; i < 5; i++) {
        await http(c);
        await c.core();
      }
      const httpMs: number[] = [];
      const coreMs: number[] = [];
      serverMs.length = 0;
      for (let r = 0; r < ROUNDS; r++) {
        const order = r % 2 === 0 ? ['http', 'core'] : ['core', 'http'];
        for (const side of order) {
          const t0 = performance.now();
          if (side === 'http') await http(c);
          else await c.core();
          (side === 'http' ? httpMs : coreMs).push(performance.now() - t0);
        }
      }
      const h = median(httpMs);
      const k = median(coreMs);
      rows.push([c.label, k.toFixed(2), median(serverMs).toFixed(2), h.toFixed(2), (h - k).toFixed(2), `${(((h - k) / k) * 100).toFixed(0)}%`]);
    }
    console.log(`\n## What HTTP adds at batch 1 (PNG in base64 JSON; median ms over ${ROUNDS} interleaved rounds; wasm, ${backend.threads} thread(s))\n`);
    console.log(markdownTable(['request', 'core call in-process', 'in the server (Server-Timing)', 'HTTP round trip', 'added', 'added / core'], rows));
  } finally {
    await server.stop();
  }
}
