import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { registerThreadedWasm } from '../../src/backend/threaded-wasm.ts';

const CHILD = fileURLToPath(new URL('./fixtures/start-backend.ts', import.meta.url));

interface ChildReport { threads: number; skipped: string[]; workerBefore: string; workerAfter: string; conv: number[] }

/** Starts the backend in a fresh process (the backend is chosen once per process); it must exit by itself. */
function startIn(threads: number): ChildReport {
  const child = spawnSync(process.execPath, ['--import', 'tsx', CHILD, String(threads)], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(child.signal, null, `the process with ${threads} thread(s) did not exit by itself: ${child.stderr}`);
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout) as ChildReport;
}

async function referenceConv(): Promise<number[]> {
  await tf.setBackend('cpu');
  return tf.tidy(() => {
    const x = tf.tensor4d(Array.from({ length: 2 * 9 * 9 * 3 }, (_, i) => Math.sin(i)), [2, 9, 9, 3]);
    const w = tf.tensor4d(Array.from({ length: 3 * 3 * 3 * 16 }, (_, i) => Math.cos(i)), [3, 3, 3, 16]);
    return Array.from(tf.conv2d(x, w, 1, 'same').dataSync());
  });
}

test('two threads: XNNPACK gets a pool of 2, answers match the cpu backend, no global is left changed, the process exits', async () => {
  const two = startIn(2);
  assert.equal(two.threads, 2);
  assert.deepEqual(two.skipped, []);
  assert.equal(two.workerAfter, two.workerBefore);
  const reference = await referenceConv();
  two.conv.forEach((v, i) => assert.ok(Math.abs(v - reference[i]!) <= 1e-4 * Math.max(1, Math.abs(reference[i]!)), `conv[${i}]: ${v} vs ${reference[i]}`));
});

test('one thread uses the stock single-threaded module, with the same answers', () => {
  const one = startIn(1);
  assert.equal(one.threads, 1);
  const two = startIn(2);
  one.conv.forEach((v, i) => assert.ok(Math.abs(v - two.conv[i]!) <= 1e-4 * Math.max(1, Math.abs(v))));
});

test('registerThreadedWasm refuses thread counts outside 2..8 before touching the backend', async () => {
  for (const bad of [0, 1, 9, 2.5]) {
    await assert.rejects(registerThreadedWasm(bad), /threads must be an integer from 2 to 8/);
  }
});
